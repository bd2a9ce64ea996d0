//! What is kept of an entry: a compact digest for every entry (key, status, time and
//! two fingerprints), and the details (headers, JSON leaves with short previews) only
//! for the pairs whose fingerprints differ.

use crate::pair::{glob, key_of, KeyOptions};
use har::{EntryView, Json, JsonObject, Kind};
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash, Hasher};

/// Response headers that change on every run, ignored by default.
pub const VOLATILE_HEADERS: &[&str] = &[
    "date",
    "age",
    "etag",
    "last-modified",
    "expires",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "x-request-id",
    "request-id",
    "x-correlation-id",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amz-id-2",
    "x-amzn-trace-id",
    "x-cloud-trace-context",
    "traceparent",
    "tracestate",
    "b3",
    "x-b3-*",
    "x-trace-id",
    "x-span-id",
    "x-datadog-*",
    "cf-ray",
    "x-runtime",
    "x-response-time",
    "server-timing",
    "x-served-by",
    "x-timer",
    "x-cache",
    "x-cache-hits",
    "x-envoy-upstream-service-time",
    "report-to",
    "nel",
    "via",
];

/// The most JSON leaves kept with their previews per body (beyond, they still count in
/// the fingerprint).
pub const MAX_LEAVES: usize = 1000;
/// Characters of a value shown.
const PREVIEW: usize = 80;

/// What decides what is compared.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub key: KeyOptions,
    /// Header names or globs ignored (with [`VOLATILE_HEADERS`] unless `strict_headers`).
    pub ignore_headers: Vec<String>,
    pub strict_headers: bool,
    /// JSON paths or globs ignored (`$.meta.requestId`, `$.items[*].updated`).
    pub ignore_fields: Vec<String>,
    /// Compare bodies that are not JSON too (their text, volatile tokens masked).
    pub text_bodies: bool,
}

impl Settings {
    fn header_ignored(&self, name: &str) -> bool {
        name.starts_with(':')
            || (!self.strict_headers && VOLATILE_HEADERS.iter().any(|p| glob(p, name)))
            || self.ignore_headers.iter().any(|p| glob(p, name))
    }
    fn field_ignored(&self, path: &str) -> bool {
        self.ignore_fields
            .iter()
            .any(|p| glob(&normal_path(p), &normal_path(path)))
    }
}

fn normal_path(p: &str) -> String {
    let p = p.strip_prefix('$').unwrap_or(p);
    let p = p.strip_prefix('.').unwrap_or(p);
    p.to_string()
}

/// Every entry: its pairing key, status, time and two fingerprints of what is compared
/// — `fp` with volatile values masked, `raw` without.
#[derive(Clone, Debug)]
pub struct Compact {
    pub key: String,
    pub status: i64,
    pub time: f64,
    pub fp: u64,
    pub raw: u64,
}

/// One JSON leaf: its path, whether its value looks volatile, a hash and a preview.
#[derive(Clone, Debug)]
pub struct Leaf {
    pub volatile: bool,
    pub hash: u64,
    pub preview: String,
}

#[derive(Clone, Debug)]
pub enum Body {
    None,
    Json(BTreeMap<String, Leaf>),
    Text { len: usize, hash: u64 },
}

/// What a changed pair is compared on.
#[derive(Clone, Debug)]
pub struct Detail {
    pub url: String,
    /// Lower-case name → (masked value, value as sent).
    pub headers: BTreeMap<String, (String, String)>,
    pub body: Body,
}

fn hasher() -> foldhash::fast::FoldHasher<'static> {
    foldhash::fast::FixedState::with_seed(0x4841524b).build_hasher()
}

fn hash_of(x: impl Hash) -> u64 {
    let mut h = hasher();
    x.hash(&mut h);
    h.finish()
}

pub fn preview(s: &str) -> String {
    if s.chars().count() <= PREVIEW {
        return s.to_string();
    }
    let mut out: String = s.chars().take(PREVIEW).collect();
    out.push('…');
    out
}

/// Does a string look like a value that changes on every run: a timestamp, an id, a
/// token, a nonce?
pub fn volatile_text(s: &str) -> bool {
    use surface::shape::Shape;
    let t = s.trim();
    match surface::shape::shape(t) {
        Some(Shape::Uuid | Shape::Hex | Shape::Date | Shape::Token) => true,
        Some(Shape::Int) => t.len() >= 9,
        _ => t.len() >= 20 && har::http::parse_http_date(t).is_some(),
    }
}

/// Names whose values are ids, timestamps or tokens whatever they look like.
fn volatile_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    name.ends_with("Id")
        || name.ends_with("ID")
        || l == "id"
        || l.ends_with("_id")
        || l.ends_with("-id")
        || l.ends_with("_at")
        || name.ends_with("At")
        || [
            "token",
            "nonce",
            "csrf",
            "uuid",
            "timestamp",
            "time",
            "date",
            "created",
            "updated",
            "expires",
            "signature",
            "etag",
            "ts",
        ]
        .iter()
        .any(|w| l.ends_with(w))
}

/// A header value with its volatile tokens (nonces, ids, hashes) replaced by `*`.
pub fn mask(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut tok = String::new();
    let flush = |tok: &mut String, out: &mut String| {
        if !tok.is_empty() {
            out.push_str(if volatile_text(tok) { "*" } else { tok });
            tok.clear();
        }
    };
    for c in v.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+') {
            tok.push(c);
        } else {
            flush(&mut tok, &mut out);
            out.push(c);
        }
    }
    flush(&mut tok, &mut out);
    out
}

/// URLs in a value with their ports masked (`http://h:*/x`): two runs of a site on
/// different ports compare equal unless hosts are part of the pairing.
pub fn mask_ports(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find("://") {
        let (head, after) = rest.split_at(i + 3);
        out.push_str(head);
        let end = after
            .find(['/', '?', '#', ' ', ',', ';', '"'])
            .unwrap_or(after.len());
        let auth = &after[..end];
        match auth.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) => {
                out.push_str(h);
                out.push_str(":*");
            }
            _ => out.push_str(auth),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Read one entry: its compact digest, and its details when `detail`.
pub fn digest<J: Json>(
    e: EntryView<'_, J>,
    s: &Settings,
    detail: bool,
) -> (Compact, Option<Detail>) {
    let resp = e.response();
    let status = resp.status().unwrap_or(0);
    let mut fp = hasher();
    let mut raw = hasher();
    // Headers, by name, several values joined in order.
    let mut headers: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (n, v) in resp.headers().iter() {
        let name = n.to_ascii_lowercase();
        if s.header_ignored(&name) {
            continue;
        }
        // Cookies are compared by name and attributes, never by value.
        let shown = if name == "set-cookie" {
            let c = har::http::SetCookie::parse(v);
            let mut t = c.name.to_string();
            let attrs = v.split(';').skip(1).filter(|a| {
                let a = a.trim().to_ascii_lowercase();
                !a.starts_with("expires") && !a.starts_with("max-age")
            });
            for a in attrs {
                t.push(';');
                t.push_str(a);
            }
            t
        } else {
            v.to_string()
        };
        let masked = if name == "set-cookie" {
            shown.clone()
        } else if s.key.with_host {
            mask(&shown)
        } else {
            mask(&mask_ports(&shown))
        };
        let slot = headers.entry(name).or_default();
        if !slot.0.is_empty() {
            slot.0.push('\n');
            slot.1.push('\n');
        }
        slot.0.push_str(&masked);
        slot.1.push_str(&shown);
    }
    for (n, (m, v)) in &headers {
        (n, m).hash(&mut fp);
        (n, v).hash(&mut raw);
    }
    // The body.
    let content = resp.content();
    let mime = har::http::mime_essence(content.mime_type().unwrap_or(""));
    let bytes = content.bytes();
    let is_json = mime.ends_with("json") || mime.ends_with("+json");
    let mut body = Body::None;
    if let Some(b) = bytes.as_deref().filter(|b| !b.is_empty()) {
        let parsed = if is_json {
            har::lite::parse(b).ok()
        } else {
            None
        };
        if let Some(tree) = parsed {
            let mut leaves = BTreeMap::new();
            let mut w = Walk {
                s,
                fp: &mut fp,
                raw: &mut raw,
                leaves: detail.then_some(&mut leaves),
            };
            w.value(&tree, "$".to_string(), "");
            body = Body::Json(leaves);
        } else if s.text_bodies {
            let text = String::from_utf8_lossy(b);
            let h = hash_of(mask(&text));
            h.hash(&mut fp);
            hash_of(b).hash(&mut raw);
            body = Body::Text {
                len: b.len(),
                hash: h,
            };
        }
    }
    let compact = Compact {
        key: key_of(e, s.key),
        status,
        time: e.time().unwrap_or(0.0),
        fp: fp.finish(),
        raw: raw.finish(),
    };
    let detail = detail.then(|| Detail {
        url: e.request().url().unwrap_or("").to_string(),
        headers,
        body,
    });
    (compact, detail)
}

struct Walk<'a, 'h> {
    s: &'a Settings,
    fp: &'a mut foldhash::fast::FoldHasher<'h>,
    raw: &'a mut foldhash::fast::FoldHasher<'h>,
    leaves: Option<&'a mut BTreeMap<String, Leaf>>,
}

impl Walk<'_, '_> {
    fn value<J: Json>(&mut self, v: &J, path: String, name: &str) {
        if self.s.field_ignored(&path) {
            return;
        }
        match v.kind() {
            Kind::Object => {
                let o = v.as_object().expect("an object");
                if o.is_empty() {
                    return self.leaf(path, "{}", false);
                }
                for k in o.keys() {
                    if let Some(child) = o.get(k) {
                        self.value(child, format!("{path}.{k}"), k);
                    }
                }
            }
            Kind::Array => {
                let a = v.as_array().expect("an array");
                if a.is_empty() {
                    return self.leaf(path, "[]", false);
                }
                for (i, child) in a.iter().enumerate() {
                    self.value(child, format!("{path}[{i}]"), name);
                }
            }
            Kind::String => {
                let t = v.as_str().unwrap_or("");
                let vol = volatile_text(t) || (!t.is_empty() && volatile_name(name));
                self.leaf(path, &format!("{t:?}"), vol);
            }
            Kind::Number => {
                let t = v.number_text().unwrap_or_default();
                let int_digits = t
                    .trim_start_matches('-')
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count();
                let vol = int_digits >= 10 || volatile_name(name);
                self.leaf(path, &t, vol);
            }
            Kind::Bool => self.leaf(
                path,
                if v.as_bool() == Some(true) {
                    "true"
                } else {
                    "false"
                },
                false,
            ),
            Kind::Null => self.leaf(path, "null", false),
        }
    }

    fn leaf(&mut self, path: String, text: &str, volatile: bool) {
        let h = hash_of(text);
        path.hash(self.fp);
        if volatile {
            "*".hash(self.fp);
        } else {
            h.hash(self.fp);
        }
        (&path, h).hash(self.raw);
        if let Some(leaves) = self.leaves.as_deref_mut() {
            if leaves.len() < MAX_LEAVES {
                leaves.insert(
                    path,
                    Leaf {
                        volatile,
                        hash: h,
                        preview: preview(text),
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_values() {
        assert!(volatile_text("2026-12-06T21:05:11.123Z"));
        assert!(volatile_text("9b2f0c8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"));
        assert!(volatile_text(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk"
        ));
        assert!(volatile_text("1733519111"));
        assert!(!volatile_text("active"));
        assert!(!volatile_text("42"));
        assert!(!volatile_text("Acme Projects"));
        assert_eq!(
            mask("script-src 'nonce-a8Fk2mQ9xZ' 'self'; max-age=3600"),
            "script-src '*' 'self'; max-age=3600"
        );
        assert_eq!(
            mask_ports("http://127.0.0.1:4100/cb?x=1, https://a.org/"),
            "http://127.0.0.1:*/cb?x=1, https://a.org/"
        );
    }

    #[test]
    fn fingerprints_ignore_volatile_values_only() {
        let a = har::lite::parse(br#"{"request":{"method":"GET","url":"http://h/api/x"},"response":{"status":200,"headers":[{"name":"Date","value":"Sun, 06 Dec 2026 21:05:11 GMT"},{"name":"X-Kind","value":"a"}],"content":{"mimeType":"application/json","text":"{\"id\":7,\"at\":\"2026-12-06T21:05:11Z\",\"name\":\"x\"}"}}}"#).unwrap();
        let b = har::lite::parse(br#"{"request":{"method":"GET","url":"http://h/api/x"},"response":{"status":200,"headers":[{"name":"Date","value":"Sun, 06 Dec 2026 21:06:00 GMT"},{"name":"X-Kind","value":"a"}],"content":{"mimeType":"application/json","text":"{\"id\":8,\"at\":\"2026-12-06T21:06:00Z\",\"name\":\"x\"}"}}}"#).unwrap();
        let c = har::lite::parse(br#"{"request":{"method":"GET","url":"http://h/api/x"},"response":{"status":200,"headers":[],"content":{"mimeType":"application/json","text":"{\"id\":8,\"at\":\"2026-12-06T21:06:00Z\",\"name\":\"y\"}"}}}"#).unwrap();
        let s = Settings::default();
        let view = |t| EntryView(har::Obj::of(Some(t)));
        let (da, _) = digest(view(&a), &s, false);
        let (db, _) = digest(view(&b), &s, false);
        let (dc, detail) = digest(view(&c), &s, true);
        assert_eq!(da.fp, db.fp);
        assert_ne!(da.raw, db.raw);
        assert_ne!(db.fp, dc.fp);
        let Some(Detail {
            body: Body::Json(leaves),
            ..
        }) = detail
        else {
            panic!("json details")
        };
        assert!(leaves["$.id"].volatile && !leaves["$.name"].volatile);
    }
}
