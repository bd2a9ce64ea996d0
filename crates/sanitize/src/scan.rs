//! The first pass over the borrowed `har::lite` tree: the same walk as
//! [`Sanitizer::entry`] (same order, same leaf functions, same counts and values
//! remembered), reading instead of rewriting, so no owned `serde_json::Value` is built
//! for every entry. The differential test `first_pass_on_lite_equals_value_walk`
//! compares both on the corpus.

use crate::memo::{At, Leaf};
use crate::{loc, mime_matches, Sanitizer, Tally};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use har::{Lite, LiteObject};

/// An object's pairs as serde_json (with `preserve_order`) holds them: a repeated key
/// keeps its first position and takes its last value (then edits cannot stand for the
/// rewriting walk: see [`Edits`](crate::found::Edits)).
fn pairs<'t, 'a>(o: &'t LiteObject<'a>, t: &mut Tally) -> Pairs<'t, 'a> {
    let v = &o.0;
    // Small objects (every object of a HAR's own structure) without a repeated key,
    // the usual case, are read as they are. Keys are told apart by their length and
    // first bytes first.
    if v.len() <= 16 {
        let mut marks = [0u64; 16];
        for (m, (k, _)) in marks.iter_mut().zip(v) {
            let b = k.as_bytes();
            let mut w = [0u8; 8];
            let n = b.len().min(7);
            w[..n].copy_from_slice(&b[..n]);
            w[7] = b.len() as u8;
            *m = u64::from_le_bytes(w);
        }
        let repeated =
            (1..v.len()).any(|i| (0..i).any(|j| marks[j] == marks[i] && v[j].0 == v[i].0));
        if !repeated {
            return Pairs::Direct(v.iter());
        }
    } else if v.len() <= 1024 {
        // Larger ones (WebPageTest's entries have a hundred `_` fields): a hash table
        // of their indexes, open addressing.
        use std::hash::BuildHasher;
        const N: usize = 2048;
        let mut table = [u32::MAX; N];
        let hasher = foldhash::fast::FixedState::default();
        let repeated = v.iter().enumerate().any(|(i, (k, _))| {
            let mut h = hasher.hash_one(k.as_bytes()) as usize;
            loop {
                let slot = &mut table[h % N];
                if *slot == u32::MAX {
                    *slot = i as u32;
                    return false;
                }
                if v[*slot as usize].0 == *k {
                    return true;
                }
                h = h.wrapping_add(1);
            }
        });
        if !repeated {
            return Pairs::Direct(v.iter());
        }
    }
    let mut out: Vec<(&str, &Lite)> = Vec::with_capacity(v.len());
    for (k, v) in v {
        match out.iter_mut().find(|(n, _)| *n == k.as_ref()) {
            Some(slot) => {
                slot.1 = v;
                if let Some(e) = &mut t.edits {
                    e.failed = true;
                }
            }
            None => out.push((k.as_ref(), v)),
        }
    }
    Pairs::Built(out.into_iter())
}

/// What [`pairs`] gives: an object's own pairs, or those made unique.
enum Pairs<'t, 'a> {
    Direct(std::slice::Iter<'t, (std::borrow::Cow<'a, str>, Lite<'a>)>),
    Built(std::vec::IntoIter<(&'t str, &'t Lite<'a>)>),
}

impl<'t, 'a> Iterator for Pairs<'t, 'a> {
    type Item = (&'t str, &'t Lite<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Pairs::Direct(i) => i.next().map(|(k, v)| (k.as_ref(), v)),
            Pairs::Built(i) => i.next(),
        }
    }
}

/// Record that the string `leaf` (of the tree being scanned) becomes `new`.
fn edit(t: &mut Tally, leaf: &str, new: Option<String>) {
    if let (Some(e), Some(n)) = (&mut t.edits, new) {
        e.push(leaf, n);
    }
}

/// The value under `key` (its last occurrence, as serde_json keeps).
fn get<'t, 'a>(o: &'t LiteObject<'a>, key: &str) -> Option<&'t Lite<'a>> {
    o.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn get_str<'t>(o: &'t LiteObject<'_>, key: &str) -> Option<&'t str> {
    match get(o, key) {
        Some(Lite::String(s)) => Some(s),
        _ => None,
    }
}

impl Sanitizer {
    /// [`Sanitizer::entry`] on a borrowed tree: counts and remembers what it would
    /// redact, changes nothing.
    pub fn scan_entry(&self, value: &Lite<'_>, t: &mut Tally) {
        t.report.entries += 1;
        let Lite::Object(obj) = value else {
            return;
        };
        for (k, v) in pairs(obj, t) {
            match k {
                "request" => self.scan_request(v, t),
                "response" => self.scan_response(v, t),
                "startedDateTime" | "time" => {}
                _ => self.scan_walk(v, loc::OTHER, t),
            }
        }
    }

    fn scan_walk(&self, v: &Lite<'_>, location: &'static str, t: &mut Tally) {
        match v {
            Lite::String(s) => {
                let n = self.memo(t, At(Leaf::Auto, location, "", ""), s, |t| {
                    self.auto(s, location, t, 0)
                });
                edit(t, s, n);
            }
            Lite::Array(a) => a.iter().for_each(|x| self.scan_walk(x, location, t)),
            Lite::Object(o) => {
                let frame =
                    matches!(get(o, "opcode"), Some(Lite::Number(n)) if n.parse::<u64>() == Ok(2));
                if let (true, Some(data)) = (frame, get_str(o, "data")) {
                    let n = self.binary_frame(data, location, t);
                    edit(t, data, n);
                }
                for (k, x) in pairs(o, t) {
                    if frame && k == "data" {
                        continue;
                    }
                    if let Lite::String(s) = x {
                        // A string field: by its name, else as a string of the walk.
                        let n = self.memo(t, At(Leaf::Field, location, k, ""), s, |t| {
                            match self.classify(k, s, location, t) {
                                Some(kind) => self.redact(kind, s, location, t),
                                None => self.auto(s, location, t, 0),
                            }
                        });
                        edit(t, s, n);
                        continue;
                    }
                    self.scan_walk(x, location, t);
                }
            }
            _ => {}
        }
    }

    fn scan_request(&self, v: &Lite<'_>, t: &mut Tally) {
        let Lite::Object(o) = v else {
            return self.scan_walk(v, loc::OTHER, t);
        };
        for (k, x) in pairs(o, t) {
            match k {
                "url" => {
                    if let Lite::String(s) = x {
                        let n = self.memo(t, At(Leaf::Url, loc::URL, "", ""), s, |t| {
                            self.url(s, loc::URL, t)
                        });
                        edit(t, s, n);
                    }
                }
                "headers" => self.scan_headers(x, loc::REQ_HEADERS, t),
                "cookies" => self.scan_cookies(x, loc::REQ_COOKIES, t),
                "queryString" => self.scan_name_values(x, loc::QUERY, t),
                "postData" => self.scan_post_data(x, t),
                "method" | "httpVersion" | "headersSize" | "bodySize" => {}
                _ => self.scan_walk(x, loc::OTHER, t),
            }
        }
    }

    fn scan_response(&self, v: &Lite<'_>, t: &mut Tally) {
        let Lite::Object(o) = v else {
            return self.scan_walk(v, loc::OTHER, t);
        };
        for (k, x) in pairs(o, t) {
            match k {
                "headers" => self.scan_headers(x, loc::RESP_HEADERS, t),
                "cookies" => self.scan_cookies(x, loc::RESP_COOKIES, t),
                "content" => self.scan_content(x, t),
                "redirectURL" => {
                    if let Lite::String(s) = x {
                        let n = self.memo(t, At(Leaf::Url, loc::REDIRECT, "", ""), s, |t| {
                            self.url(s, loc::REDIRECT, t)
                        });
                        edit(t, s, n);
                    }
                }
                "status" | "httpVersion" | "headersSize" | "bodySize" => {}
                _ => self.scan_walk(x, loc::OTHER, t),
            }
        }
    }

    /// [`Sanitizer::name_values_with`] on a borrowed tree: `f` sees each item with a
    /// string value; anything else is walked.
    fn scan_name_values_with(
        &self,
        v: &Lite<'_>,
        location: &'static str,
        t: &mut Tally,
        mut f: impl FnMut(&str, &str, &mut Tally) -> Option<String>,
    ) {
        let Lite::Array(items) = v else {
            return self.scan_walk(v, location, t);
        };
        for x in items {
            let Lite::Object(o) = x else {
                continue;
            };
            for (k, x) in pairs(o, t) {
                if k != "name" && k != "value" {
                    self.scan_walk(x, location, t);
                }
            }
            let name = get_str(o, "name").unwrap_or("");
            let Some(val) = get_str(o, "value") else {
                continue;
            };
            let n = f(name, val, t);
            edit(t, val, n);
        }
    }

    fn scan_headers(&self, v: &Lite<'_>, location: &'static str, t: &mut Tally) {
        self.scan_name_values_with(v, location, t, |name, val, t| {
            self.memo(t, At(Leaf::Header, location, name, ""), val, |t| {
                self.header_value(name, val, location, t)
            })
        });
    }

    /// One header's value, by its name.
    fn header_value(
        &self,
        name: &str,
        val: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<String> {
        let name = name.trim().to_ascii_lowercase();
        let kept = self.names.is_kept(&name);
        match name.as_str() {
            _ if kept => self.text(val, location, t, false, false),
            "cookie" => self.cookie_header(val, location, t),
            "set-cookie" => self.set_cookie(val, location, t),
            "authorization" | "proxy-authorization" => self.auth(val, location, t),
            "location" | "referer" | "content-location" | "origin" | "refresh" => {
                self.url(val, location, t)
            }
            _ => match self.classify(&name, val, location, t) {
                Some(kind) => self.redact(kind, val, location, t),
                None => self.text(val, location, t, false, false),
            },
        }
    }

    fn scan_cookies(&self, v: &Lite<'_>, location: &'static str, t: &mut Tally) {
        self.scan_name_values_with(v, location, t, |name, val, t| {
            self.memo(t, At(Leaf::Cookie, location, name, ""), val, |t| {
                if self.names.is_kept(name) {
                    self.text(val, location, t, false, false)
                } else {
                    self.cookie(name, val, location, t)
                }
            })
        });
    }

    fn scan_name_values(&self, v: &Lite<'_>, location: &'static str, t: &mut Tally) {
        self.scan_name_values_with(v, location, t, |name, val, t| {
            self.memo(
                t,
                At(Leaf::NameValue, location, name, ""),
                val,
                |t| match self.classify(name, val, location, t) {
                    Some(kind) => self.redact(kind, val, location, t),
                    None => self.auto(val, location, t, 0),
                },
            )
        });
    }

    fn scan_post_data(&self, v: &Lite<'_>, t: &mut Tally) {
        let Lite::Object(o) = v else {
            return self.scan_walk(v, loc::POST, t);
        };
        let mime = get_str(o, "mimeType").unwrap_or("");
        for (k, x) in pairs(o, t) {
            match k {
                "params" => self.scan_name_values(x, loc::POST, t),
                "text" => {
                    if let Lite::String(s) = x {
                        let n = self.memo(t, At(Leaf::Body, loc::POST, "", mime), s, |t| {
                            self.body(s, mime, loc::POST, t)
                        });
                        edit(t, s, n);
                    }
                }
                "mimeType" => {}
                _ => self.scan_walk(x, loc::POST, t),
            }
        }
    }

    fn scan_content(&self, v: &Lite<'_>, t: &mut Tally) {
        let Lite::Object(o) = v else {
            return self.scan_walk(v, loc::CONTENT, t);
        };
        let mime = get_str(o, "mimeType").unwrap_or("");
        if get(o, "text").is_some() && mime_matches(mime, &self.drop) {
            t.report.add("dropped content", loc::CONTENT);
            if let Some(e) = &mut t.edits {
                e.failed = true; // fields removed: not an edit of strings
            }
            return;
        }
        let base64 =
            get_str(o, "encoding").is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
        let skip = mime_matches(mime, &self.skip);
        if let Some(s) = get_str(o, "text") {
            let how = match (base64, skip) {
                (false, false) => "",
                (false, true) => "s",
                (true, false) => "b",
                (true, true) => "bs",
            };
            let n = self.memo(t, At(Leaf::Content, loc::CONTENT, how, mime), s, |t| {
                self.content_text(s, mime, base64, skip, t)
            });
            edit(t, s, n);
        }
        for (k, x) in pairs(o, t) {
            if !matches!(k, "text" | "mimeType" | "encoding" | "size" | "compression") {
                self.scan_walk(x, loc::CONTENT, t);
            }
        }
    }

    /// `content.text`, base64 decoded when it says so.
    fn content_text(
        &self,
        s: &str,
        mime: &str,
        base64: bool,
        skip: bool,
        t: &mut Tally,
    ) -> Option<String> {
        if !base64 {
            self.body_skip(s, mime, loc::CONTENT, t, skip)
        } else if let Some(bytes) = crate::text::decode_base64(s) {
            match String::from_utf8(bytes) {
                Ok(text) => self
                    .body_skip(&text, mime, loc::CONTENT, t, skip)
                    .map(|n| STANDARD.encode(n)),
                Err(e) => self
                    .binary(&e.into_bytes(), loc::CONTENT, t)
                    .map(|n| STANDARD.encode(n)),
            }
        } else {
            self.body_skip(s, mime, loc::CONTENT, t, skip)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`pairs`] gives what serde_json keeps (first position, last value) and flags a
    /// repeated key, for small and large objects alike.
    #[test]
    fn pairs_as_serde_json_keeps_them() {
        for n in [0usize, 1, 2, 15, 16, 17, 40, 300] {
            for repeat in [None, Some(0), Some(n / 2), Some(n.saturating_sub(1))] {
                if n == 0 && repeat.is_some() {
                    continue;
                }
                let mut keys: Vec<String> = (0..n).map(|i| format!("_k{i}")).collect();
                if let Some(r) = repeat {
                    keys.push(format!("_k{r}"));
                }
                let body: Vec<String> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("\"{k}\": {i}"))
                    .collect();
                let json = format!("{{{}}}", body.join(", "));
                let lite = har::lite::parse(json.as_bytes()).unwrap();
                let Lite::Object(o) = &lite else { panic!() };
                let mut t = Tally {
                    edits: Some(crate::found::Edits::new(json.as_bytes())),
                    ..Tally::default()
                };
                let got: Vec<(String, String)> = pairs(o, &mut t)
                    .map(|(k, v)| (k.to_string(), format!("{v:?}")))
                    .collect();
                let reference: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&json).unwrap();
                let want: Vec<(String, String)> = reference
                    .iter()
                    .map(|(k, v)| (k.clone(), format!("{:?}", Lite::Number(&v.to_string()))))
                    .collect();
                assert_eq!(got, want, "{n} keys, {repeat:?} repeated");
                assert_eq!(t.edits.unwrap().failed, repeat.is_some(), "{n} {repeat:?}");
            }
        }
    }
}
