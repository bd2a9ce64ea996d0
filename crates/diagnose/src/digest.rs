//! What the folds need of one entry, extracted on a worker thread from either tree
//! (the borrowed lite tree in `analyze`, serde_json's model in tests) so that only a
//! small owned value travels to the folding thread: the readings every fold repeats
//! (parsed URL, resource type, failure, cache, origin, duplicate key) computed once, and
//! a pruned copy of the entry with only the fields and headers the folds read (bodies
//! only where a fold looks at them, and then clipped).

use crate::util;
use har::{Entry, EntryView, Json, JsonObject, Kind, Obj};
use serde_json::{Map, Value};

/// Request headers the folds read by name.
const REQUEST_HEADERS: [&str; 9] = [
    "origin",
    "referer",
    "sec-fetch-mode",
    "sec-fetch-site",
    "access-control-request-method",
    "authorization",
    "cookie",
    "upgrade",
    "accept",
];
/// Response headers the folds read by name.
const RESPONSE_HEADERS: [&str; 17] = [
    "access-control-allow-origin",
    "www-authenticate",
    "location",
    "content-encoding",
    "set-cookie",
    "date",
    "cache-control",
    "expires",
    "etag",
    "last-modified",
    "age",
    "x-cache",
    "x-cache-status",
    "cf-cache-status",
    "via",
    "content-length",
    "upgrade",
];
/// The most of a response body the folds read (token responses: 256 KiB).
const BODY_KEPT: usize = 256 * 1024;

/// One entry as the folds see it. Build with [`Digest::of`] (or [`Digest::of_entry`]).
#[derive(Clone, Debug)]
pub struct Digest {
    pub index: usize,
    /// The entry pruned to what the folds read (see the module doc): `entry.view()`.
    pub entry: Entry,
    pub url: Option<url::Url>,
    /// [`har::http::resource_type`].
    pub kind: String,
    /// [`har::http::failure`].
    pub failure: Option<String>,
    /// [`check::from_cache_view`]: served by the browser's cache or revalidated.
    pub cached: bool,
    /// [`check::cache_use_view`].
    pub cache: check::CacheUse,
    pub started_ms: Option<f64>,
    /// The origin named by the `Origin` header (not `null`) or the `Referer`.
    pub header_origin: Option<String>,
    /// [`crate::rules::cors::needs_preflight`] on the full header list.
    pub needs_preflight: bool,
    /// Size of all request headers (`name: value\r\n`).
    pub request_headers_len: usize,
    /// Hash of method, URL, request body and page (duplicate detection).
    pub dup_key: u64,
    /// The request's form fields for a POST ([`util::form`]), else empty.
    pub form: Vec<(String, String)>,
}

impl Digest {
    /// The digest of one entry in either tree.
    pub fn of<J: Json>(index: usize, e: EntryView<'_, J>) -> Digest {
        let req = e.request();
        let url_s = req.url().unwrap_or("");
        let method = req.method().unwrap_or("GET");
        let h = req.headers();
        let header_origin = match h.get("origin").filter(|o| *o != "null" && !o.is_empty()) {
            Some(o) => Some(o.to_string()),
            None => h
                .get("referer")
                .and_then(|r| url::Url::parse(r).ok())
                .map(|r| r.origin().ascii_serialization()),
        };
        let body = req.post_data().and_then(|p| p.text()).unwrap_or("");
        let post = method.eq_ignore_ascii_case("POST");
        Digest {
            index,
            entry: Entry {
                index,
                value: prune(e),
            },
            url: url::Url::parse(url_s).ok(),
            kind: har::http::resource_type(e),
            failure: har::http::failure(e),
            cached: check::from_cache_view(e),
            cache: check::cache_use_view(e),
            started_ms: e.started_ms(),
            header_origin,
            needs_preflight: crate::rules::cors::needs_preflight(e),
            request_headers_len: h.iter().map(|(n, v)| n.len() + v.len() + 4).sum(),
            dup_key: util::hash(&(method, url_s, body, e.pageref())),
            form: if post { util::form(e) } else { Vec::new() },
        }
    }

    /// The digest of a parsed entry.
    pub fn of_entry(e: &Entry) -> Digest {
        Digest::of(e.index, e.view())
    }

    pub fn view(&self) -> EntryView<'_> {
        self.entry.view()
    }
}

/// An owned copy of any JSON value.
fn owned<J: Json>(v: &J) -> Value {
    match v.kind() {
        Kind::Null => Value::Null,
        Kind::Bool => Value::Bool(v.as_bool().unwrap_or(false)),
        Kind::Number => v
            .number_text()
            .and_then(|t| t.parse::<serde_json::Number>().ok())
            .map_or(Value::Null, Value::Number),
        Kind::String => Value::String(v.as_str().unwrap_or("").to_string()),
        Kind::Array => Value::Array(v.as_array().unwrap_or(&[]).iter().map(owned).collect()),
        Kind::Object => {
            let mut m = Map::new();
            if let Some(o) = v.as_object() {
                for k in o.keys() {
                    if let Some(x) = o.get(k) {
                        m.insert(k.to_string(), owned(x));
                    }
                }
            }
            Value::Object(m)
        }
    }
}

fn copy<J: Json>(from: Obj<'_, J>, keys: &[&str], to: &mut Map<String, Value>) {
    for k in keys {
        if let Some(v) = from.get(k) {
            to.insert((*k).to_string(), owned(v));
        }
    }
}

/// The `{name, value}` pairs whose name (any case) is in `names`.
fn headers<J: Json>(list: &[J], names: &[&str]) -> Value {
    Value::Array(
        list.iter()
            .filter(|h| {
                Obj::of(Some(*h))
                    .str("name")
                    .is_some_and(|n| names.iter().any(|w| w.eq_ignore_ascii_case(n)))
            })
            .map(|h| {
                let o = Obj::of(Some(h));
                let mut m = Map::new();
                copy(o, &["name", "value"], &mut m);
                Value::Object(m)
            })
            .collect(),
    )
}

/// The entry with only what the folds read.
fn prune<J: Json>(e: EntryView<'_, J>) -> Value {
    let f = e.fields();
    let mut m = Map::new();
    copy(
        f,
        &[
            "startedDateTime",
            "time",
            "pageref",
            "_resourceType",
            "_error",
            "_failureText",
            "_fetchType",
            "timings",
        ],
        &mut m,
    );
    let rq = f.obj("request");
    let mut r = Map::new();
    copy(rq, &["method", "url", "httpVersion"], &mut r);
    r.insert(
        "headers".into(),
        headers(rq.arr("headers"), &REQUEST_HEADERS),
    );
    // Query parameters that may hold a JWT (the auth fold reads only those).
    let q: Vec<Value> = rq
        .arr("queryString")
        .iter()
        .filter(|p| {
            Obj::of(Some(*p))
                .str("value")
                .is_some_and(|v| v.starts_with("ey"))
        })
        .map(owned)
        .collect();
    if !q.is_empty() {
        r.insert("queryString".into(), Value::Array(q));
    }
    m.insert("request".into(), Value::Object(r));

    let rs = f.obj("response");
    let mut s = Map::new();
    copy(
        rs,
        &[
            "status",
            "statusText",
            "httpVersion",
            "redirectURL",
            "headersSize",
            "bodySize",
            "_transferSize",
            "_error",
            "_failureText",
        ],
        &mut s,
    );
    s.insert(
        "headers".into(),
        headers(rs.arr("headers"), &RESPONSE_HEADERS),
    );
    let content = rs.obj("content");
    let mut c = Map::new();
    copy(content, &["size", "mimeType", "encoding"], &mut c);
    // Bodies are read for HTTP errors and for POST answers (token endpoints) only.
    let status = rs.int("status").unwrap_or(0);
    let post = rq
        .str("method")
        .is_some_and(|m| m.eq_ignore_ascii_case("POST"));
    if status >= 400 || post {
        if let Some(t) = content.str("text") {
            let base64 = content
                .str("encoding")
                .is_some_and(|x| x.eq_ignore_ascii_case("base64"));
            if base64 {
                // util::body_text decodes at most BODY_KEPT bytes' worth.
                if t.len() <= BODY_KEPT * 4 / 3 + 4 {
                    c.insert("text".into(), Value::from(t));
                }
            } else {
                let mut cut = t.len().min(BODY_KEPT);
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                c.insert("text".into(), Value::from(&t[..cut]));
            }
        }
    }
    s.insert("content".into(), Value::Object(c));
    m.insert("response".into(), Value::Object(s));
    Value::Object(m)
}
