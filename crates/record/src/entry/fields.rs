//! Header lists as HAR name/value arrays, the query string, and cookies (read with
//! [`har::http`]).

use har::http::SetCookie;
use serde_json::{json, Map, Value};

/// The first header called `name` (without case).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of the headers called `name` (without case).
fn headers_named<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Name/value pairs as a HAR array (`headers`, `queryString`, `params`).
pub fn pairs_json<K: AsRef<str>, V: AsRef<str>>(pairs: impl Iterator<Item = (K, V)>) -> Value {
    Value::Array(
        pairs
            .map(|(n, v)| json!({"name": n.as_ref(), "value": v.as_ref()}))
            .collect(),
    )
}

pub fn headers_json(h: &[(String, String)]) -> Value {
    pairs_json(h.iter().map(|(n, v)| (n, v)))
}

pub fn query_string(url: &str) -> Value {
    let q = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(""))
        .unwrap_or("");
    pairs_json(url::form_urlencoded::parse(q.as_bytes()))
}

/// The request's `Cookie` headers as HAR cookies.
pub fn request_cookies(h: &[(String, String)]) -> Value {
    pairs_json(headers_named(h, "cookie").flat_map(har::http::cookie_pairs))
}

/// The response's `Set-Cookie` headers as HAR cookies: `name`, `value`, then `path`,
/// `domain`, `expires` (ISO 8601, when it is a date), `_maxAge`, `httpOnly`, `secure`
/// and `sameSite` when the header has them.
pub fn response_cookies(h: &[(String, String)]) -> Value {
    Value::Array(
        headers_named(h, "set-cookie")
            .map(|v| set_cookie_json(&SetCookie::parse(v)))
            .collect(),
    )
}

fn set_cookie_json(c: &SetCookie<'_>) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(c.name));
    o.insert("value".into(), json!(c.value));
    if let Some(p) = c.path {
        o.insert("path".into(), json!(p));
    }
    if let Some(d) = c.domain {
        o.insert("domain".into(), json!(d));
    }
    if let Some(ms) = c.expires_ms() {
        o.insert("expires".into(), json!(har::time::format_ms(ms)));
    }
    if let Some(a) = c.max_age {
        o.insert("_maxAge".into(), json!(a));
    }
    if c.http_only {
        o.insert("httpOnly".into(), json!(true));
    }
    if c.secure {
        o.insert("secure".into(), json!(true));
    }
    if let Some(s) = c.same_site {
        o.insert("sameSite".into(), json!(s));
    }
    Value::Object(o)
}
