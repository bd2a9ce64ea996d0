//! The rewriting walk over one entry (a `serde_json::Value`): each part of the request
//! and response by what it is (headers, cookies, query, bodies, content), everything
//! else as free text. [`crate::scan`] is the same walk reading a borrowed tree.

use crate::found::Tally;
use crate::rules::mime_matches;
use crate::sanitizer::remember;
use crate::text::decode_base64;
use crate::{json, loc, Mode, Sanitizer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use har::Header;
use serde_json::{Map, Value};

/// The `mimeType` of a `postData` or `content` object (empty when there is none).
fn mime_type(o: &Map<String, Value>) -> String {
    o.get("mimeType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// How deep JSON inside JSON strings is followed.
const MAX_NESTING: usize = 32;

/// An anti-XSSI guard before a JSON body (`)]}'`, `)]}',`, `while(1);`, `for(;;);`) and
/// the rest.
fn xssi_split(s: &str) -> (&str, &str) {
    for g in [")]}',", ")]}'", "while(1);", "for(;;);"] {
        if let Some(rest) = s.strip_prefix(g) {
            return (g, rest);
        }
    }
    ("", s)
}

/// The value of `key="…"` (or `key=…`) in a header such as `Content-Disposition`.
fn header_param<'a>(h: &'a str, key: &str) -> Option<&'a str> {
    let lower = h.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(key) {
        let at = from + i;
        from = at + key.len();
        let before_ok = at == 0 || matches!(lower.as_bytes()[at - 1], b' ' | b';' | b'\t');
        let rest = &h[at + key.len()..];
        let Some(rest) = rest.strip_prefix('=').filter(|_| before_ok) else {
            continue;
        };
        return Some(match rest.strip_prefix('"') {
            Some(q) => &q[..q.find('"').unwrap_or(q.len())],
            None => rest.split([';', '\r', '\n']).next().unwrap_or("").trim(),
        });
    }
    None
}

fn printable(c: u8) -> bool {
    (0x20..0x7f).contains(&c) || c == b'\t'
}

/// The maximal runs of at least 8 printable ASCII bytes (and tabs) in `b`, in order, as
/// (start, end). Every such run covers a position `p` with `p % 8 == 7`, so only those
/// bytes are looked at until one is printable; its run is then found around it.
fn printable_runs(b: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut p = 7;
    std::iter::from_fn(move || {
        while p < b.len() {
            if !printable(b[p]) {
                p += 8;
                continue;
            }
            let mut start = p;
            while start > 0 && printable(b[start - 1]) {
                start -= 1;
            }
            let mut end = p + 1;
            while end < b.len() && printable(b[end]) {
                end += 1;
            }
            // The first position ≥ end with `p % 8 == 7` (b[end] is not printable).
            p = end | 7;
            if end - start >= 8 {
                return Some((start, end));
            }
        }
        None
    })
}

/// What becomes of one `{name, value}` item.
enum Item {
    Keep,
    Set(String),
    Delete,
}

impl Item {
    /// The item's new value, if any; with `delete`, a changed item goes instead.
    fn of(new: Option<String>, delete: bool) -> Item {
        match new {
            Some(_) if delete => Item::Delete,
            Some(n) => Item::Set(n),
            None => Item::Keep,
        }
    }
}

impl Sanitizer {
    /// Sanitize one entry in place.
    pub fn entry(&self, value: &mut Value, t: &mut Tally) {
        t.report.entries += 1;
        let Some(obj) = value.as_object_mut() else {
            return;
        };
        for (k, v) in obj.iter_mut() {
            match k.as_str() {
                "request" => self.request(v, t),
                "response" => self.response(v, t),
                "startedDateTime" | "time" => {}
                _ => self.walk(v, loc::OTHER, t),
            }
        }
    }

    /// Sanitize the log's fields other than entries (pages, comments, …).
    pub fn header(&self, header: &mut Header, t: &mut Tally) {
        for (k, v) in header.log.iter_mut() {
            if k != "version" {
                self.walk(v, loc::LOG, t);
            }
        }
        for (_, v) in header.outer.iter_mut() {
            self.walk(v, loc::LOG, t);
        }
    }

    /// Every string below `v`, as free text (or a URL, or JSON).
    pub(crate) fn walk(&self, v: &mut Value, location: &'static str, t: &mut Tally) {
        match v {
            Value::String(s) => {
                if let Some(n) = self.auto(s, location, t, 0) {
                    *s = n;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.walk(x, location, t)),
            Value::Object(o) => {
                let frame = o.get("opcode").and_then(Value::as_u64) == Some(2);
                if let (true, Some(Value::String(data))) = (frame, o.get("data")) {
                    if let Some(n) = self.binary_frame(data, location, t) {
                        o.insert("data".into(), Value::String(n));
                    }
                }
                for (k, x) in o.iter_mut() {
                    if frame && k == "data" {
                        continue;
                    }
                    if let Value::String(s) = &*x {
                        if let Some(kind) = self.classify(k, s, location, t) {
                            if let Some(n) = self.redact(kind, s, location, t) {
                                *x = Value::String(n);
                            }
                            continue;
                        }
                    }
                    self.walk(x, location, t);
                }
            }
            _ => {}
        }
    }

    /// A string of unknown meaning: a URL, JSON, or text.
    pub(crate) fn auto(
        &self,
        s: &str,
        location: &'static str,
        t: &mut Tally,
        depth: usize,
    ) -> Option<String> {
        let trimmed = s.trim_start();
        if (s.starts_with("https://")
            || s.starts_with("http://")
            || s.starts_with("wss://")
            || s.starts_with("ws://"))
            && !s.contains(char::is_whitespace)
        {
            return self.url(s, location, t);
        }
        if depth < MAX_NESTING && (trimmed.starts_with('{') || trimmed.starts_with('[')) {
            if let Ok(r) = json::scrub(self, s, location, t, depth + 1) {
                return r;
            }
        }
        self.text(s, location, t, false, false)
    }

    pub(crate) fn string_field(
        &self,
        o: &mut Map<String, Value>,
        key: &str,
        f: impl FnOnce(&str) -> Option<String>,
    ) {
        if let Some(Value::String(s)) = o.get(key) {
            if let Some(n) = f(s) {
                o.insert(key.to_string(), Value::String(n));
            }
        }
    }

    pub(crate) fn request(&self, v: &mut Value, t: &mut Tally) {
        let Some(o) = v.as_object_mut() else {
            return self.walk(v, loc::OTHER, t);
        };
        for (k, x) in o.iter_mut() {
            match k.as_str() {
                "url" => {
                    if let Value::String(s) = x {
                        if let Some(n) = self.url(s, loc::URL, t) {
                            *s = n;
                        }
                    }
                }
                "headers" => self.headers(x, loc::REQ_HEADERS, t),
                "cookies" => self.cookies(x, loc::REQ_COOKIES, t),
                "queryString" => self.name_values(x, loc::QUERY, t),
                "postData" => self.post_data(x, t),
                "method" | "httpVersion" | "headersSize" | "bodySize" => {}
                _ => self.walk(x, loc::OTHER, t),
            }
        }
    }

    pub(crate) fn response(&self, v: &mut Value, t: &mut Tally) {
        let Some(o) = v.as_object_mut() else {
            return self.walk(v, loc::OTHER, t);
        };
        for (k, x) in o.iter_mut() {
            match k.as_str() {
                "headers" => self.headers(x, loc::RESP_HEADERS, t),
                "cookies" => self.cookies(x, loc::RESP_COOKIES, t),
                "content" => self.content(x, t),
                "redirectURL" => {
                    if let Value::String(s) = x {
                        if let Some(n) = self.url(s, loc::REDIRECT, t) {
                            *s = n;
                        }
                    }
                }
                "status" | "httpVersion" | "headersSize" | "bodySize" => {}
                _ => self.walk(x, loc::OTHER, t),
            }
        }
    }

    /// `headers[]`, `cookies[]`, `queryString[]` and `postData.params[]`: `f` decides
    /// what becomes of each item with a string value; anything else is walked.
    fn name_values_with(
        &self,
        v: &mut Value,
        location: &'static str,
        t: &mut Tally,
        mut f: impl FnMut(&str, &str, &mut Tally) -> Item,
    ) {
        let Value::Array(items) = v else {
            return self.walk(v, location, t);
        };
        items.retain_mut(|x| {
            let Some(o) = x.as_object_mut() else {
                return true;
            };
            // The item's other fields (`comment`, `path`, `domain`, `fileName` …).
            for (k, x) in o.iter_mut() {
                if k != "name" && k != "value" {
                    self.walk(x, location, t);
                }
            }
            let item = {
                let name = o.get("name").and_then(Value::as_str).unwrap_or("");
                let Some(Value::String(val)) = o.get("value") else {
                    return true;
                };
                f(name, val, t)
            };
            match item {
                Item::Keep => true,
                Item::Set(n) => {
                    o.insert("value".into(), Value::String(n));
                    true
                }
                Item::Delete => false,
            }
        });
    }

    pub(crate) fn headers(&self, v: &mut Value, location: &'static str, t: &mut Tally) {
        let remove = matches!(self.mode, Mode::Remove);
        self.name_values_with(v, location, t, |name, val, t| {
            let name = name.trim().to_ascii_lowercase();
            let kept = self.names.is_kept(&name);
            let (new, sensitive) = match name.as_str() {
                _ if kept => (self.text(val, location, t, false, false), false),
                "cookie" => (self.cookie_header(val, location, t), true),
                "set-cookie" => (self.set_cookie(val, location, t), true),
                "authorization" | "proxy-authorization" => (self.auth(val, location, t), true),
                "location" | "referer" | "content-location" | "origin" | "refresh" => {
                    (self.url(val, location, t), false)
                }
                _ => match self.classify(&name, val, location, t) {
                    Some(kind) => (self.redact(kind, val, location, t), true),
                    None => (self.text(val, location, t, false, false), false),
                },
            };
            Item::of(new, remove && sensitive)
        });
    }

    /// `Authorization` and `Proxy-Authorization`: the scheme stays.
    pub(crate) fn auth(&self, v: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let trimmed = v.trim();
        let Some((scheme, creds)) = trimmed.split_once(' ') else {
            return self.redact("token", trimmed, location, t);
        };
        let creds = creds.trim();
        let (kind, creds_r) = if scheme.eq_ignore_ascii_case("basic") {
            if let Some((u, p)) = secrets::basic_credentials(creds) {
                remember(&u, "pii", t);
                remember(&p, "password", t);
            }
            (
                "basic credentials",
                self.redact("basic credentials", creds, location, t),
            )
        } else if scheme.eq_ignore_ascii_case("bearer") {
            ("token", self.redact("token", creds, location, t))
        } else {
            (
                "credentials",
                self.redact("credentials", creds, location, t),
            )
        };
        let _ = kind;
        creds_r.map(|r| format!("{scheme} {r}"))
    }

    // `cookie_header` and `set_cookie` are the sanitizer's only cookie parsing, and the
    // one place that finds where cookie values are: they rewrite a value in place and
    // keep every other byte of the header as written, which `har::http::cookie_pairs`
    // and `SetCookie::parse` (trimmed slices, attributes read) cannot give back.

    /// A `Cookie` header: each `name=value` pair's value, by the cookie rules.
    pub(crate) fn cookie_header(
        &self,
        v: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<String> {
        let mut changed = false;
        let parts: Vec<String> = v
            .split(';')
            .map(|p| match p.split_once('=') {
                Some((n, val)) if !self.names.is_kept(n.trim()) => {
                    match self.cookie(n.trim(), val.trim(), location, t) {
                        Some(r) => {
                            changed = true;
                            let lead = &val[..val.len() - val.trim_start().len()];
                            format!("{n}={lead}{r}")
                        }
                        None => p.to_string(),
                    }
                }
                _ => match self.text(p, location, t, false, false) {
                    Some(r) => {
                        changed = true;
                        r
                    }
                    None => p.to_string(),
                },
            })
            .collect();
        changed.then(|| parts.join(";"))
    }

    /// One or more `Set-Cookie` values (browsers join them with newlines): the value
    /// goes, the attributes stay.
    pub(crate) fn set_cookie(
        &self,
        v: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<String> {
        let mut changed = false;
        let lines: Vec<String> = v
            .split('\n')
            .map(|line| {
                let (first, attrs) = match line.find(';') {
                    Some(i) => (&line[..i], &line[i..]),
                    None => (line, ""),
                };
                match first.split_once('=') {
                    Some((n, val)) if !self.names.is_kept(n.trim()) => {
                        match self.cookie(n.trim(), val.trim(), location, t) {
                            Some(r) => {
                                changed = true;
                                format!("{n}={r}{attrs}")
                            }
                            None => line.to_string(),
                        }
                    }
                    _ => line.to_string(),
                }
            })
            .collect();
        changed.then(|| lines.join("\n"))
    }

    pub(crate) fn cookies(&self, v: &mut Value, location: &'static str, t: &mut Tally) {
        let remove = matches!(self.mode, Mode::Remove);
        self.name_values_with(v, location, t, |name, val, t| {
            if self.names.is_kept(name) {
                return Item::of(self.text(val, location, t, false, false), false);
            }
            let sensitive = self.names.classify(name).is_some();
            let new = self.cookie(name, val, location, t);
            Item::of(new, remove && (sensitive || !val.is_empty()))
        });
    }

    /// `queryString[]` and `postData.params[]`.
    pub(crate) fn name_values(&self, v: &mut Value, location: &'static str, t: &mut Tally) {
        let remove = matches!(self.mode, Mode::Remove);
        self.name_values_with(v, location, t, |name, val, t| {
            let (new, sensitive) = match self.classify(name, val, location, t) {
                Some(kind) => (self.redact(kind, val, location, t), true),
                None => (self.auto(val, location, t, 0), false),
            };
            Item::of(new, remove && sensitive)
        });
    }

    pub(crate) fn post_data(&self, v: &mut Value, t: &mut Tally) {
        let Some(o) = v.as_object_mut() else {
            return self.walk(v, loc::POST, t);
        };
        let mime = mime_type(o);
        for (k, x) in o.iter_mut() {
            match k.as_str() {
                "params" => self.name_values(x, loc::POST, t),
                "text" => {
                    if let Value::String(s) = x {
                        if let Some(n) = self.body(s, &mime, loc::POST, t) {
                            *s = n;
                        }
                    }
                }
                "mimeType" => {}
                _ => self.walk(x, loc::POST, t),
            }
        }
    }

    pub(crate) fn content(&self, v: &mut Value, t: &mut Tally) {
        let Some(o) = v.as_object_mut() else {
            return self.walk(v, loc::CONTENT, t);
        };
        let mime = mime_type(o);
        if o.contains_key("text") && mime_matches(&mime, &self.drop) {
            o.shift_remove("text");
            o.shift_remove("encoding");
            o.insert(
                "comment".into(),
                Value::String(format!("content removed by hark sanitize ({mime})")),
            );
            t.report.add("dropped content", loc::CONTENT);
            return;
        }
        let base64 = o
            .get("encoding")
            .and_then(Value::as_str)
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
        let skip = mime_matches(&mime, &self.skip);
        self.string_field(o, "text", |s| {
            if !base64 {
                return self.body_skip(s, &mime, loc::CONTENT, t, skip);
            }
            // Invalid base64 is scanned as it is.
            let Some(bytes) = decode_base64(s) else {
                return self.body_skip(s, &mime, loc::CONTENT, t, skip);
            };
            match String::from_utf8(bytes) {
                Ok(text) => self
                    .body_skip(&text, &mime, loc::CONTENT, t, skip)
                    .map(|n| STANDARD.encode(n)),
                Err(e) => {
                    let bytes = e.into_bytes();
                    self.binary(&bytes, loc::CONTENT, t)
                        .map(|n| STANDARD.encode(n))
                }
            }
        });
        for (k, x) in o.iter_mut() {
            if !matches!(
                k.as_str(),
                "text" | "mimeType" | "encoding" | "size" | "compression"
            ) {
                self.walk(x, loc::CONTENT, t);
            }
        }
    }

    /// Binary content (protobuf, gRPC, binary frames): scanned as bytes, each run of
    /// at least 8 printable ASCII characters as text (known values and detectors).
    pub(crate) fn binary(
        &self,
        b: &[u8],
        location: &'static str,
        t: &mut Tally,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut last = 0;
        for (start, end) in printable_runs(b) {
            let run = std::str::from_utf8(&b[start..end]).expect("ASCII");
            if let Some(n) = self.text(run, location, t, false, false) {
                out.extend_from_slice(&b[last..start]);
                out.extend_from_slice(n.as_bytes());
                last = end;
            }
        }
        if last == 0 {
            return None;
        }
        out.extend_from_slice(&b[last..]);
        Some(out)
    }

    /// A WebSocket message (`_webSocketMessages[]`): a binary frame (`opcode` 2) holds
    /// base64, decoded and scanned as bytes. Text frames are walked as any string.
    pub(crate) fn binary_frame(
        &self,
        data: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<String> {
        match decode_base64(data) {
            Some(bytes) => self.binary(&bytes, location, t).map(|n| STANDARD.encode(n)),
            None => self.text(data, location, t, false, false),
        }
    }

    pub(crate) fn body(
        &self,
        s: &str,
        mime: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<String> {
        self.body_skip(s, mime, location, t, false)
    }

    /// A request or response body: JSON and form bodies are parsed; anything else (or
    /// anything that does not parse) is scanned as text.
    pub(crate) fn body_skip(
        &self,
        s: &str,
        mime: &str,
        location: &'static str,
        t: &mut Tally,
        skip: bool,
    ) -> Option<String> {
        let m = mime.to_ascii_lowercase();
        let (guard, rest) = xssi_split(s);
        let trimmed = rest.trim_start();
        if !skip && (m.contains("json") || trimmed.starts_with('{') || trimmed.starts_with('[')) {
            if let Ok(r) = json::scrub(self, rest, location, t, 1) {
                return r.map(|r| format!("{guard}{r}"));
            }
        }
        if !skip && m.contains("multipart/") {
            if let Some(r) = self.multipart(s, mime, location, t) {
                return r;
            }
        }
        if !skip && m.contains("x-www-form-urlencoded") {
            let body = s.trim_end_matches(['\r', '\n']);
            if !body.contains('\n') {
                return self.query(body, location, t).map(|r| r + &s[body.len()..]);
            }
        }
        if !skip && (m.contains("xml") || trimmed.starts_with("<?xml")) {
            let elems = self.xml(s, location, t);
            let cur = elems.as_deref().unwrap_or(s);
            return self.text(cur, location, t, false, false).or(elems);
        }
        self.text(s, location, t, false, skip)
    }

    /// A `multipart/*` body (Chromium exports it with empty `params`): each part's
    /// value by its `name` (or as a body of its own type), its headers (file name) as
    /// text. `None` when it is not multipart after all.
    pub(crate) fn multipart(
        &self,
        s: &str,
        mime: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<Option<String>> {
        let boundary = header_param(mime, "boundary")
            .map(str::to_string)
            .or_else(|| {
                let first = s.trim_start().lines().next()?;
                first.strip_prefix("--").map(|b| b.trim_end().to_string())
            })
            .filter(|b| !b.is_empty())?;
        let delim = format!("--{boundary}");
        if !s.contains(&delim) {
            return None;
        }
        let mut changed = false;
        let mut out = String::with_capacity(s.len());
        for (i, seg) in s.split(delim.as_str()).enumerate() {
            if i > 0 {
                out.push_str(&delim);
            }
            // The preamble and the closing `--`.
            if i == 0 || seg.starts_with("--") {
                out.push_str(seg);
                continue;
            }
            let split = seg
                .find("\r\n\r\n")
                .map(|j| (j, 4))
                .or_else(|| seg.find("\n\n").map(|j| (j, 2)));
            let Some((j, sep)) = split else {
                match self.text(seg, location, t, false, false) {
                    Some(r) => {
                        changed = true;
                        out.push_str(&r);
                    }
                    None => out.push_str(seg),
                }
                continue;
            };
            let (heads, rest) = (&seg[..j + sep], &seg[j + sep..]);
            let value = rest
                .strip_suffix("\r\n")
                .or_else(|| rest.strip_suffix('\n'))
                .unwrap_or(rest);
            let tail = &rest[value.len()..];
            let name = header_param(heads, "name").unwrap_or("").to_string();
            let ctype = heads
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-type")
                        .then(|| v.trim())
                })
                .unwrap_or("text/plain")
                .to_string();
            let new_heads = self.text(heads, location, t, false, false);
            let new_value = match self.classify(&name, value, location, t) {
                Some(kind) => self.redact(kind, value, location, t),
                None => self.body(value, &ctype, location, t),
            };
            changed |= new_heads.is_some() || new_value.is_some();
            out.push_str(new_heads.as_deref().unwrap_or(heads));
            out.push_str(new_value.as_deref().unwrap_or(value));
            out.push_str(tail);
        }
        Some(changed.then_some(out))
    }

    /// XML: the text of each element whose (local) name is credential-like
    /// (`<Password>…</Password>`, `<ns:ClientSecret>…`), by the name rules. `None`
    /// when nothing changed.
    pub(crate) fn xml(&self, s: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let mut out = String::new();
        let mut last = 0;
        let mut from = 0;
        while let Some(i) = s[from..].find('<') {
            let open = from + i;
            from = open + 1;
            let Some(close) = s[open..].find('>').map(|j| open + j) else {
                break;
            };
            let tag = &s[open + 1..close];
            if tag.starts_with(['/', '?', '!']) || tag.ends_with('/') {
                continue;
            }
            let qname = tag.split_whitespace().next().unwrap_or("");
            let local = qname.rsplit(':').next().unwrap_or(qname);
            let body_start = close + 1;
            let end_tag = format!("</{qname}>");
            let Some(end) = s[body_start..].find(&end_tag).map(|j| body_start + j) else {
                continue;
            };
            let value = &s[body_start..end];
            if value.contains('<') {
                continue;
            }
            if let Some(kind) = self.classify(local, value.trim(), location, t) {
                if let Some(r) = self.redact(kind, value.trim(), location, t) {
                    out.push_str(&s[last..body_start]);
                    out.push_str(&r);
                    last = end;
                }
            }
            from = end;
        }
        if last == 0 {
            return None;
        }
        out.push_str(&s[last..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runs as found byte by byte (the former scan), on runs of every length at
    /// every offset and on pseudo-random bytes.
    #[test]
    fn printable_runs_as_byte_by_byte() {
        let reference = |b: &[u8]| {
            let mut runs = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if !printable(b[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < b.len() && printable(b[i]) {
                    i += 1;
                }
                if i - start >= 8 {
                    runs.push((start, i));
                }
            }
            runs
        };
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for lead in 0..20 {
            for len in 0..30 {
                for tail in [0, 1, 9] {
                    let mut v = vec![0u8; lead];
                    v.extend(std::iter::repeat_n(b'a', len));
                    v.extend(std::iter::repeat_n(0xffu8, tail));
                    v.extend(b"\tabcdefgh\x01xyz");
                    cases.push(v);
                }
            }
        }
        let mut seed = 3u64;
        for n in 0..300 {
            let v: Vec<u8> = (0..n * 7)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let r = (seed >> 33) as u8;
                    // Mostly printable, so that long runs occur.
                    if r.is_multiple_of(5) {
                        r
                    } else {
                        b'a' + r % 26
                    }
                })
                .collect();
            cases.push(v);
        }
        for c in &cases {
            assert_eq!(printable_runs(c).collect::<Vec<_>>(), reference(c), "{c:?}");
        }
    }
}
