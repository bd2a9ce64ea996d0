//! The leaves of the walk: URLs (userinfo, path, query, fragment), query strings and
//! form bodies pair by pair, and free text, where known values and detector matches
//! are replaced.

use crate::found::Tally;
use crate::sanitizer::remember;
use crate::{text, Mode, Sanitizer};

impl Sanitizer {
    /// A URL: userinfo, path, query (by name), fragment.
    pub(crate) fn url(&self, u: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let (base, frag) = match u.find('#') {
            Some(i) => (&u[..i], Some(&u[i + 1..])),
            None => (u, None),
        };
        let (pre, query) = match base.find('?') {
            Some(i) => (&base[..i], Some(&base[i + 1..])),
            None => (base, None),
        };
        let mut changed = false;
        let mut out = String::with_capacity(u.len());
        // scheme://[userinfo@]host/path
        let mut rest = pre;
        if let Some(i) = pre.find("://") {
            let auth_start = i + 3;
            let auth_end = pre[auth_start..]
                .find('/')
                .map_or(pre.len(), |j| auth_start + j);
            let authority = &pre[auth_start..auth_end];
            out.push_str(&pre[..auth_start]);
            if let Some(at) = authority.rfind('@') {
                let ui = &authority[..at];
                let dec = text::pct_decode(ui, false).unwrap_or_else(|| ui.to_string());
                let split = dec
                    .split_once(':')
                    .filter(|_| !crate::sanitizer::is_placeholder(&dec));
                if let Some((user, pass)) = split {
                    remember(user, "pii", t);
                    remember(pass, "password", t);
                }
                match self.redact("userinfo", &dec, location, t) {
                    Some(r) => {
                        changed = true;
                        out.push_str(&text::pct_encode(&r));
                    }
                    None => out.push_str(ui),
                }
                out.push_str(&authority[at..]);
            } else {
                out.push_str(authority);
            }
            rest = &pre[auth_end..];
        }
        // A part's new text where there is one, else the part as written.
        let mut put = |out: &mut String, new: Option<String>, old: &str| match new {
            Some(r) => {
                changed = true;
                out.push_str(&r);
            }
            None => out.push_str(old),
        };
        put(&mut out, self.text(rest, location, t, true, false), rest);
        if let Some(q) = query {
            out.push('?');
            put(&mut out, self.query(q, location, t), q);
        }
        if let Some(f) = frag {
            out.push('#');
            let r = if f.contains('=') {
                self.query(f, location, t)
            } else {
                self.text(f, location, t, true, false)
            };
            put(&mut out, r, f);
        }
        changed.then_some(out)
    }

    /// `a=1&b=2` (query strings and form bodies; `;` separates pairs too): sensitive
    /// names by name, every value scanned (a URL or query inside, also encoded twice);
    /// only changed pairs are re-encoded.
    pub(crate) fn query(&self, q: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        self.query_at(q, location, t, 0)
    }

    fn query_at(
        &self,
        q: &str,
        location: &'static str,
        t: &mut Tally,
        depth: usize,
    ) -> Option<String> {
        let mut changed = false;
        let remove = matches!(self.mode, Mode::Remove);
        let mut parts: Vec<String> = Vec::new();
        for piece in q.split_inclusive(['&', ';']) {
            let (pair, sep) = match piece.strip_suffix(['&', ';']) {
                Some(p) => (p, &piece[p.len()..]),
                None => (piece, ""),
            };
            let pair_out = |parts: &mut Vec<String>, p: String| parts.push(p + sep);
            let Some((k, v)) = pair.split_once('=') else {
                match self.text(pair, location, t, true, false) {
                    Some(r) => {
                        changed = true;
                        pair_out(&mut parts, r);
                    }
                    None => pair_out(&mut parts, pair.to_string()),
                }
                continue;
            };
            let name = text::pct_decode(k, true).unwrap_or_else(|| k.to_string());
            let val = text::pct_decode(v, true).unwrap_or_else(|| v.to_string());
            let new = match self.classify(&name, &val, location, t) {
                Some(kind) => match self.redact(kind, &val, location, t) {
                    Some(_) if remove => {
                        changed = true;
                        continue;
                    }
                    Some(r) => Some(text::pct_encode(&r)),
                    None => None,
                },
                None => self
                    .nested(&val, location, t, depth)
                    .map(|r| text::form_encode(&r)),
            };
            match new {
                Some(n) => {
                    changed = true;
                    pair_out(&mut parts, format!("{k}={n}"));
                }
                None => pair_out(&mut parts, pair.to_string()),
            }
        }
        changed.then(|| parts.concat())
    }

    /// A decoded query value: a URL, a query (`a=1&b=2`), a value encoded once more
    /// (decoded and re-encoded, up to three times), or text.
    fn nested(
        &self,
        val: &str,
        location: &'static str,
        t: &mut Tally,
        depth: usize,
    ) -> Option<String> {
        if val.starts_with("http://") || val.starts_with("https://") {
            return self.url(val, location, t);
        }
        if depth < 3 && val.contains('%') && text::pct_decode(val, false).is_some_and(|d| d != val)
        {
            // The text as it is first (the detectors see it encoded), then decoded.
            let cur = self.text(val, location, t, false, false);
            let base = cur.as_deref().unwrap_or(val);
            let Some(d2) = text::pct_decode(base, false) else {
                return cur;
            };
            return match self.nested(&d2, location, t, depth + 1) {
                Some(r) => Some(text::pct_encode(&r)),
                None => cur,
            };
        }

        if depth < 3
            && val.contains('=')
            && (val.contains('&') || depth > 0)
            && !val.contains(char::is_whitespace)
        {
            return self.query_at(val, location, t, depth + 1);
        }
        self.text(val, location, t, false, false)
    }

    /// Free text: known values (second pass) and detector matches are replaced.
    /// `in_url`: replacements are percent-encoded.
    pub(crate) fn text(
        &self,
        s: &str,
        location: &'static str,
        t: &mut Tally,
        in_url: bool,
        no_detect: bool,
    ) -> Option<String> {
        if s.len() < 6 {
            return None;
        }
        enum Hit {
            Known(crate::known::Pat),
            Found(&'static str, secrets::Check),
        }
        let mut hits: Vec<(std::ops::Range<usize>, Hit)> = Vec::new();
        if let Some(k) = self.known.as_ref().filter(|_| !t.known_absent) {
            for (r, p) in k.find(s.as_bytes()) {
                hits.push((r, Hit::Known(p)));
            }
        }
        if !no_detect && !t.detected_nothing {
            let mut found = Vec::new();
            self.detectors.find(s, &mut found);
            if !found.is_empty() {
                crate::memo::effect();
                t.detector_hit = true;
            }
            for (r, kind, check) in found {
                hits.push((r, Hit::Found(kind, check)));
            }
        }
        if hits.is_empty() {
            return None;
        }
        hits.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        let mut changed = false;
        for (r, hit) in hits {
            if r.start < last || !s.is_char_boundary(r.start) || !s.is_char_boundary(r.end) {
                continue;
            }
            let value = &s[r.clone()];
            let rep = match hit {
                Hit::Known(p) => {
                    let k = self.known.as_ref().expect("known");
                    if self.keep_value(value) {
                        continue;
                    }
                    let (rep, kind) = self.replacement(k, &p, value);
                    t.report.add(kind, location);
                    rep
                }
                Hit::Found(kind, check) => {
                    if check == secrets::Check::Basic {
                        if let Some((u, p)) = secrets::basic_credentials(value) {
                            remember(&u, "pii", t);
                            remember(&p, "password", t);
                        }
                    }
                    if kind == "userinfo" {
                        if let Some((u, p)) = value.split_once(':') {
                            remember(u, "pii", t);
                            remember(p, "password", t);
                        }
                    }
                    match self.redact(kind, value, location, t) {
                        Some(r) => r,
                        None => continue,
                    }
                }
            };
            out.push_str(&s[last..r.start]);
            if in_url {
                out.push_str(&text::pct_encode_keep_pct(&rep));
            } else {
                out.push_str(&rep);
            }
            last = r.end;
            changed = true;
        }
        if !changed {
            return None;
        }
        out.push_str(&s[last..]);
        Some(out)
    }
}
