//! What a request is matched on, the same for a recorded request and a live one: the
//! query as sorted pairs (ignored names left out), the body as a canonical form (JSON
//! structurally with keys sorted and ignored fields left out, form fields sorted,
//! GraphQL by `operationName` and `variables`, anything else byte for byte), and the
//! headers the user asked to match.

use diff::glob;
use har::{Json, JsonObject, Kind};
use std::hash::{BuildHasher, Hash, Hasher};

/// The rules of matching.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Query parameter names (globs) left out of matching.
    pub ignore_query: Vec<String>,
    /// JSON paths (globs: `$.requestedAt`, `$.items[*].ts`) left out of body matching.
    pub ignore_body_fields: Vec<String>,
    /// Request headers that must match too (names, lower case).
    pub match_headers: Vec<String>,
}

fn hasher() -> foldhash::fast::FoldHasher<'static> {
    foldhash::fast::FixedState::with_seed(0x6d6f636b).build_hasher()
}

/// Query pairs of a URL or a request target, decoded.
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let q = url.split('#').next().unwrap_or("");
    let Some((_, q)) = q.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (
                har::pct::decode_lossy(n, true),
                har::pct::decode_lossy(v, true),
            )
        })
        .collect()
}

/// The path of a URL or request target (no query, no fragment), `/` when empty.
pub fn path_of(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            match after.find(['/', '?', '#']) {
                Some(j) if after.as_bytes()[j] == b'/' => &after[j..],
                _ => "/",
            }
        }
        None => url,
    };
    let p = rest.split(['?', '#']).next().unwrap_or("/");
    if p.is_empty() {
        "/"
    } else {
        p
    }
}

/// `host[:port]` lower case, the scheme's default port left out.
pub fn normal_host(scheme_https: bool, authority: &str) -> String {
    let a = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let a = a.to_ascii_lowercase();
    let default = if scheme_https { ":443" } else { ":80" };
    a.strip_suffix(default).map(str::to_string).unwrap_or(a)
}

/// The normalised host of an absolute URL, or "".
pub fn host_of_url(url: &str) -> String {
    let https = url.len() > 5 && url[..6].eq_ignore_ascii_case("https:");
    normal_host(https, diff::pair::host_of(url))
}

impl Rules {
    pub fn query_ignored(&self, name: &str) -> bool {
        self.ignore_query.iter().any(|p| glob(p, name))
    }

    fn field_ignored(&self, path: &str) -> bool {
        self.ignore_body_fields.iter().any(|p| {
            let p = p.strip_prefix('$').unwrap_or(p);
            glob(p, path.strip_prefix('$').unwrap_or(path))
        })
    }

    /// The query's fingerprint: kept pairs, sorted.
    pub fn query_hash(&self, pairs: &[(String, String)]) -> u64 {
        let mut kept: Vec<&(String, String)> = pairs
            .iter()
            .filter(|(n, _)| !self.query_ignored(n))
            .collect();
        kept.sort();
        let mut h = hasher();
        kept.hash(&mut h);
        h.finish()
    }

    /// The fingerprint of the headers that must match.
    pub fn headers_hash<'a>(&self, headers: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
        if self.match_headers.is_empty() {
            return 0;
        }
        let mut kept: Vec<(String, &str)> = headers
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .filter(|(n, _)| self.match_headers.iter().any(|p| glob(p, n)))
            .collect();
        kept.sort();
        let mut h = hasher();
        kept.hash(&mut h);
        h.finish()
    }

    /// The body's fingerprint (0 for no body).
    pub fn body_hash(&self, mime: &str, body: &[u8]) -> u64 {
        if body.is_empty() {
            return 0;
        }
        let mut h = hasher();
        match self.body_form(mime, body) {
            BodyForm::Fields(fields) => {
                1u8.hash(&mut h);
                fields.hash(&mut h);
            }
            BodyForm::Bytes => {
                2u8.hash(&mut h);
                body.hash(&mut h);
            }
        }
        h.finish()
    }

    /// The body as sorted (path, value) fields, when it is JSON or a form.
    pub fn body_form(&self, mime: &str, body: &[u8]) -> BodyForm {
        let essence = har::http::mime_essence(mime);
        let looks_json = essence.contains("json")
            || essence.contains("graphql")
            || body
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'{' || *b == b'[');
        if looks_json {
            if let Ok(tree) = har::lite::parse(body) {
                let mut out = Vec::new();
                // GraphQL: the operation and its variables, not the query's text.
                let gql = tree
                    .as_object()
                    .filter(|o| o.contains_key("operationName") && o.contains_key("query"));
                if let Some(o) = gql {
                    for k in ["operationName", "variables"] {
                        if let Some(v) = o.get(k) {
                            self.flatten(v, format!("$.{k}"), &mut out);
                        }
                    }
                } else {
                    self.flatten(&tree, "$".into(), &mut out);
                }
                out.sort();
                return BodyForm::Fields(out);
            }
        }
        if essence == "application/x-www-form-urlencoded" {
            if let Ok(text) = std::str::from_utf8(body) {
                let mut out: Vec<(String, String)> = query_pairs(&format!("?{text}"))
                    .into_iter()
                    .map(|(n, v)| (format!("$.{n}"), v))
                    .filter(|(n, _)| !self.field_ignored(n))
                    .collect();
                out.sort();
                return BodyForm::Fields(out);
            }
        }
        BodyForm::Bytes
    }

    fn flatten<J: Json>(&self, v: &J, path: String, out: &mut Vec<(String, String)>) {
        if self.field_ignored(&path) {
            return;
        }
        match v.kind() {
            Kind::Object => {
                let o = v.as_object().expect("an object");
                if o.is_empty() {
                    return out.push((path, "{}".into()));
                }
                for k in o.keys() {
                    if let Some(c) = o.get(k) {
                        self.flatten(c, format!("{path}.{k}"), out);
                    }
                }
            }
            Kind::Array => {
                let a = v.as_array().expect("an array");
                if a.is_empty() {
                    return out.push((path, "[]".into()));
                }
                for (i, c) in a.iter().enumerate() {
                    self.flatten(c, format!("{path}[{i}]"), out);
                }
            }
            Kind::String => out.push((path, format!("{:?}", v.as_str().unwrap_or("")))),
            Kind::Number => {
                let t = match v.as_f64() {
                    Some(f) => format!("{f}"),
                    None => v.number_text().unwrap_or_default().into_owned(),
                };
                out.push((path, t))
            }
            Kind::Bool => out.push((path, format!("{}", v.as_bool() == Some(true)))),
            Kind::Null => out.push((path, "null".into())),
        }
    }
}

/// A body as matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyForm {
    /// JSON leaves or form fields: (path, value), sorted.
    Fields(Vec<(String, String)>),
    /// Compared byte for byte.
    Bytes,
}

/// What differs between two sorted field lists, said briefly (at most `max` items).
pub fn field_differences(
    recorded: &[(String, String)],
    got: &[(String, String)],
    what: &str,
    max: usize,
) -> Vec<String> {
    use std::collections::BTreeMap;
    let r: BTreeMap<&str, &str> = recorded
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let g: BTreeMap<&str, &str> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let mut out = Vec::new();
    for (k, v) in &r {
        match g.get(k) {
            Some(w) if w == v => {}
            Some(w) => out.push(format!("{what} {k}: recorded {v}, got {w}")),
            None => out.push(format!("{what} {k}: recorded {v}, missing")),
        }
    }
    for (k, w) in &g {
        if !r.contains_key(k) {
            out.push(format!("{what} {k}: not recorded, got {w}"));
        }
    }
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_match_structurally_and_ignore_fields() {
        let r = Rules::default();
        let a = r.body_hash("application/json", br#"{"a":1,"b":[1,2],"c":"x"}"#);
        let b = r.body_hash("application/json", br#"{ "c":"x", "b":[1,2], "a":1.0 }"#);
        assert_eq!(a, b);
        let c = r.body_hash("application/json", br#"{"a":1,"b":[2,1],"c":"x"}"#);
        assert_ne!(a, c);
        let r2 = Rules {
            ignore_body_fields: vec!["$.at".into()],
            ..Rules::default()
        };
        assert_eq!(
            r2.body_hash("application/json", br#"{"x":1,"at":"2026-01-01"}"#),
            r2.body_hash("application/json", br#"{"x":1,"at":"2027-02-02"}"#)
        );
    }

    #[test]
    fn graphql_by_operation_and_variables() {
        let r = Rules::default();
        let a = r.body_hash(
            "application/json",
            br#"{"operationName":"Me","query":"query Me { me { id } }","variables":{"x":1}}"#,
        );
        let b = r.body_hash(
            "application/json",
            br#"{"query":"query Me {\n me { id }\n}","operationName":"Me","variables":{"x":1}}"#,
        );
        assert_eq!(a, b);
    }

    #[test]
    fn forms_and_queries() {
        let r = Rules {
            ignore_query: vec!["cb".into(), "_*".into()],
            ..Rules::default()
        };
        assert_eq!(
            r.query_hash(&query_pairs("/x?b=2&a=1&cb=99&_t=1")),
            r.query_hash(&query_pairs("http://h/x?a=1&b=2"))
        );
        assert_eq!(
            r.body_hash("application/x-www-form-urlencoded", b"a=1&b=x+y"),
            r.body_hash("application/x-www-form-urlencoded", b"b=x%20y&a=1")
        );
        assert_eq!(path_of("http://h:1"), "/");
        assert_eq!(path_of("http://h:1/a/b?x"), "/a/b");
        assert_eq!(path_of("/a?x"), "/a");
        assert_eq!(host_of_url("https://Example.org:443/x"), "example.org");
        assert_eq!(host_of_url("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
    }
}
