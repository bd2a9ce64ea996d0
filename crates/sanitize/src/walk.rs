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
                "startedDateTime" | "time" | "timings" => {}
                _ => self.walk(v, loc::OTHER, t),
            }
        }
    }

    /// Sanitize the log's fields other than entries (pages, comments, …).
    pub fn header(&self, header: &mut Header, t: &mut Tally) {
        for (k, v) in header.log.iter_mut() {
            if k != "version" && k != "creator" && k != "browser" {
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
                for (k, x) in o.iter_mut() {
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
        if depth < 4 && (trimmed.starts_with('{') || trimmed.starts_with('[')) {
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
                "status" | "statusText" | "httpVersion" | "headersSize" | "bodySize" => {}
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
        let base64 = o.get("encoding").and_then(Value::as_str) == Some("base64");
        let skip = mime_matches(&mime, &self.skip);
        self.string_field(o, "text", |s| {
            if !base64 {
                return self.body_skip(s, &mime, loc::CONTENT, t, skip);
            }
            let bytes = decode_base64(s)?;
            match String::from_utf8(bytes) {
                Ok(text) => self
                    .body_skip(&text, &mime, loc::CONTENT, t, skip)
                    .map(|n| STANDARD.encode(n)),
                Err(e) => {
                    let bytes = e.into_bytes();
                    self.binary(&bytes, t).map(|n| STANDARD.encode(n))
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

    /// Binary content: only values already known are replaced.
    pub(crate) fn binary(&self, b: &[u8], t: &mut Tally) -> Option<Vec<u8>> {
        if t.known_absent {
            return None;
        }
        let k = self.known.as_ref().filter(|k| k.may_occur(b))?;
        let mut out = Vec::new();
        let mut last = 0;
        for m in k.ac.find_iter(b) {
            out.extend_from_slice(&b[last..m.start()]);
            let (r, kind) = &k.repl[m.pattern().as_usize()];
            out.extend_from_slice(r.as_bytes());
            t.report.add(kind, loc::CONTENT);
            last = m.end();
        }
        if last == 0 {
            return None;
        }
        out.extend_from_slice(&b[last..]);
        Some(out)
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
        let trimmed = s.trim_start();
        if !skip && (m.contains("json") || trimmed.starts_with('{') || trimmed.starts_with('[')) {
            if let Ok(r) = json::scrub(self, s, location, t, 1) {
                return r;
            }
        }
        if !skip && m.contains("x-www-form-urlencoded") && !s.contains('\n') {
            return self.query(s, location, t);
        }
        self.text(s, location, t, false, skip)
    }
}
