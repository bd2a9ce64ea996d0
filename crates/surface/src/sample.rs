//! What the fold needs of one entry, computed on a worker thread from either tree.

use crate::schema::Schema;
use har::{EntryView, Json};
use serde::Serialize;

/// Where a parameter is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Loc {
    Path,
    Query,
    Header,
    Cookie,
    Form,
    Multipart,
    Json,
}

impl Loc {
    pub fn as_str(self) -> &'static str {
        match self {
            Loc::Path => "path",
            Loc::Query => "query",
            Loc::Header => "header",
            Loc::Cookie => "cookie",
            Loc::Form => "form",
            Loc::Multipart => "multipart",
            Loc::Json => "json",
        }
    }
}

/// A credential seen on a request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "scheme", content = "name", rename_all = "kebab-case")]
pub enum Auth {
    Bearer,
    BearerJwt,
    Basic,
    SessionCookie(String),
    ApiKeyHeader(String),
    ApiKeyQuery(String),
}

impl Auth {
    pub fn text(&self) -> String {
        match self {
            Auth::Bearer => "bearer".into(),
            Auth::BearerJwt => "bearer (JWT)".into(),
            Auth::Basic => "basic".into(),
            Auth::SessionCookie(n) => format!("cookie {n}"),
            Auth::ApiKeyHeader(n) => format!("api key header {n}"),
            Auth::ApiKeyQuery(n) => format!("api key query {n}"),
        }
    }
}

/// One observed parameter.
#[derive(Clone, Debug)]
pub struct Observed {
    pub loc: Loc,
    pub name: String,
    pub ty: &'static str,
    pub format: Option<&'static str>,
    pub example: Option<String>,
}

/// Example values with secrets redacted ([`secrets::Redactor`]), at most 80 characters.
#[derive(Default)]
pub struct Cleaner {
    redactor: secrets::Redactor,
}

impl Cleaner {
    pub fn new() -> Cleaner {
        Cleaner::default()
    }

    /// `value` of a field called `name`, with secrets replaced by `[redacted: kind]`.
    pub fn clean(&self, name: &str, value: &str) -> String {
        self.redactor.redact(name, value).chars().take(80).collect()
    }

    /// Whether a query parameter `name=value` carries a secret, judged by its value
    /// too: a JWT or a value one of [`secrets::Detectors`] confirms (an API key, a
    /// card), or under a credential name (`password`, `api_key`, `access_token`) a
    /// value that [could be a credential](secrets::could_be_credential) (`token_ready=1`
    /// is not); under a weak name (`key`, `code`, `pin`) only one that
    /// [looks generated](secrets::looks_random).
    pub fn url_secret(&self, name: &str, value: &str) -> bool {
        let v = value.trim();
        if v.is_empty() {
            return false;
        }
        if secrets::jwt_like(v) || self.redactor.redact("", v) != v {
            return true;
        }
        // The same judgement as `hark sanitize`'s name rules (one home: crates/secrets).
        match self.redactor.names().classify(name) {
            Some((kind, secrets::Strength::Strong)) => secrets::could_be_credential(kind, v),
            Some((_, secrets::Strength::Weak)) => secrets::looks_random(v),
            None if is_api_key(name) => secrets::could_be_credential("api key", v),
            None => false,
        }
    }
}

/// One entry, reduced to what the fold reads.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub index: usize,
    pub method: String,
    pub scheme: String,
    /// `host` or `host:port`.
    pub host: String,
    pub segments: Vec<String>,
    /// Each segment as an example value, sanitized.
    pub segment_examples: Vec<String>,
    pub params: Vec<Observed>,
    pub auth: Vec<Auth>,
    pub status: Option<i64>,
    pub response_type: Option<String>,
    pub request_type: Option<String>,
    pub request_json: Option<Schema>,
    pub response_json: Option<Schema>,
    /// The response's shape: status class, media type and JSON structure hashed (the
    /// evidence that two paths are one resource).
    pub response_shape: u64,
    /// A GraphQL operation (`query GetUser`) or JSON-RPC method (`rpc user.get`): its
    /// own row under the one HTTP path.
    pub operation: Option<String>,
    /// A top-level document (its host is in the default scope).
    pub document: bool,
    pub static_asset: bool,
    /// The request's URL (findings point at it).
    pub url: String,
    /// The entry's first line in the HAR file (0: unknown).
    pub line: u64,
    /// Its column on that line (compact HARs are one line).
    pub column: u64,
    /// Passive rules this exchange matches.
    pub hits: Vec<crate::rules::Hit>,
}

/// Request headers every client sends: not parameters of the application.
const STANDARD: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "connection",
    "content-length",
    "content-type",
    "cookie",
    "host",
    "origin",
    "pragma",
    "referer",
    "user-agent",
    "upgrade-insecure-requests",
    "authorization",
    "if-none-match",
    "if-modified-since",
    "priority",
    "dnt",
    "te",
    "range",
    "if-range",
    "keep-alive",
    "purpose",
    "x-requested-with",
    "access-control-request-method",
    "access-control-request-headers",
    "expect",
    "content-encoding",
    "via",
    "forwarded",
];

pub(crate) fn is_session_cookie(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["sess", "sid", "auth", "token", "jwt", "login", "remember"]
        .iter()
        .any(|w| n.contains(w))
}

fn is_api_key(name: &str) -> bool {
    let n = secrets::names::normalize(name);
    n.contains("apikey") || n == "key" || n == "accesstoken" || n.ends_with("apitoken")
}

fn value_type(v: &str) -> (&'static str, Option<&'static str>) {
    match crate::shape::shape(v) {
        Some(s) => s.openapi(),
        None if v == "true" || v == "false" => ("boolean", None),
        None => ("string", None),
    }
}

pub(crate) fn urldecode(s: &str) -> String {
    har::pct::decode_lossy(s, true)
}

impl Sample {
    pub fn of<J: Json>(e: EntryView<'_, J>, clean: &Cleaner) -> Sample {
        let req = e.request();
        let res = e.response();
        let mut s = Sample {
            method: req.method().unwrap_or("GET").to_ascii_uppercase(),
            status: res.status().filter(|s| *s > 0),
            ..Sample::default()
        };
        s.url = clean_url(req.url().unwrap_or(""), clean);
        s.hits = crate::rules::check(e, &|n, v| clean.url_secret(n, v));
        let Some(url) = req.url().and_then(|u| url::Url::parse(u).ok()) else {
            return s;
        };
        s.scheme = url.scheme().to_string();
        s.host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return s,
        };
        let path = url.path();
        s.segments = path
            .split('/')
            .filter(|x| !x.is_empty())
            .map(urldecode)
            .collect();
        s.segment_examples = s
            .segments
            .iter()
            // By value only (detectors, JWTs): the segment before (`users`) names a
            // resource, not a secret. Only segments that may be parameters need one.
            .map(|seg| {
                if may_be_param(seg) {
                    clean.clean("", seg)
                } else {
                    String::new()
                }
            })
            .collect();
        let last = s.segments.last().map(String::as_str).unwrap_or("");
        let rtype = e.resource_type().unwrap_or_default();
        let res_mime = res
            .content()
            .mime_type()
            .map(har::http::mime_essence)
            .filter(|m| !m.is_empty());
        s.static_asset = har::http::is_static_kind(&rtype) || har::http::is_static_file_name(last);
        let dest = req.headers().get("sec-fetch-dest");
        s.document = rtype == "document"
            || dest == Some("document")
            || (rtype.is_empty()
                && dest.is_none()
                && s.method == "GET"
                && res_mime.as_deref() == Some("text/html"));
        s.response_type = res_mime.clone();
        let obs = |loc, name: &str, v: &str| {
            let (ty, format) = value_type(v);
            Observed {
                loc,
                name: name.to_string(),
                ty,
                format,
                example: Some(clean.clean(name, v)),
            }
        };
        if let Some(q) = url.query_pairs().find(|(n, _)| n == "query") {
            // GraphQL over GET: `?query=…&operationName=…`.
            let name = url
                .query_pairs()
                .find(|(n, _)| n == "operationName")
                .map(|x| x.1.into_owned());
            s.operation = graphql(&q.1, name.as_deref());
        }
        for (n, v) in url.query_pairs() {
            if is_api_key(&n) {
                s.auth.push(Auth::ApiKeyQuery(n.to_string()));
            }
            s.params.push(obs(Loc::Query, &n, &v));
        }
        let mut header_names = std::collections::HashSet::new();
        for (n, v) in req.headers().iter() {
            let l = n.to_ascii_lowercase();
            if l == "authorization" {
                let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
                if scheme.eq_ignore_ascii_case("bearer") {
                    let token = rest.trim();
                    s.auth.push(
                        if secrets::jwt_like(token.strip_prefix("Bearer ").unwrap_or(token)) {
                            Auth::BearerJwt
                        } else {
                            Auth::Bearer
                        },
                    );
                } else if scheme.eq_ignore_ascii_case("basic") {
                    s.auth.push(Auth::Basic);
                }
                continue;
            }
            if l == "cookie" {
                for (cn, cv) in har::http::cookie_pairs(v) {
                    if cn.is_empty() {
                        continue;
                    }
                    if is_session_cookie(cn) {
                        s.auth.push(Auth::SessionCookie(cn.to_string()));
                    }
                    s.params.push(obs(Loc::Cookie, cn, cv));
                }
                continue;
            }
            if l.starts_with(':') || l.starts_with("sec-") || STANDARD.contains(&l.as_str()) {
                continue;
            }
            if is_api_key(&l) {
                s.auth.push(Auth::ApiKeyHeader(l.clone()));
            }
            // The fold keeps at most MAX_PARAMS per endpoint: more are not looked at.
            if header_names.len() < crate::MAX_PARAMS && header_names.insert(l.clone()) {
                s.params.push(obs(Loc::Header, &l, v));
            }
        }
        s.auth.sort();
        s.auth.dedup();
        if req.post_data().is_none() {
            // Browsers leave out some bodies (multipart with files): the type still tells.
            s.request_type = req
                .headers()
                .get("content-type")
                .map(har::http::mime_essence)
                .filter(|m| !m.is_empty());
        }
        if let Some(pd) = req.post_data() {
            let m = pd
                .mime_type()
                .map(har::http::mime_essence)
                .unwrap_or_default();
            let text = pd.text().unwrap_or("");
            if !m.is_empty() {
                s.request_type = Some(m.clone());
            }
            if m.contains("json") || (m.is_empty() && text.trim_start().starts_with('{')) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
                    s.operation = operation(&v);
                    s.request_json = Some(Schema::of(&v, 0, &|n, v| clean.clean(n, v)));
                }
            } else if m == "application/x-www-form-urlencoded" {
                for (n, v) in url::form_urlencoded::parse(text.as_bytes()) {
                    s.params.push(obs(Loc::Form, &n, &v));
                }
            } else if m.starts_with("multipart/") {
                let params = pd.params();
                if !params.is_empty() {
                    for (n, v) in params.iter() {
                        s.params.push(obs(Loc::Multipart, n, v));
                    }
                } else {
                    for name in multipart_names(text) {
                        s.params.push(Observed {
                            loc: Loc::Multipart,
                            name,
                            ty: "string",
                            format: None,
                            example: None,
                        });
                    }
                }
            }
        }
        if res_mime.as_deref().is_some_and(|m| m.contains("json")) {
            let c = res.content();
            if let Some(t) = c.text().filter(|t| t.len() < 1 << 20 && !c.is_base64()) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(t) {
                    s.response_json = Some(Schema::of(&v, 0, &|n, v| clean.clean(n, v)));
                }
            }
        }
        s.response_shape = {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            s.status.map(|x| x / 100).hash(&mut h);
            s.response_type.hash(&mut h);
            if let Some(j) = &s.response_json {
                j.hash_shape(&mut h, 4);
            }
            h.finish()
        };
        s
    }
}

/// A segment that is an id by its value, or may become a parameter by its siblings'
/// evidence (a slug, a locale code).
pub(crate) fn may_be_param(seg: &str) -> bool {
    crate::shape::shape(seg).is_some() || crate::shape::is_slug(seg) || crate::shape::is_locale(seg)
}

/// The GraphQL operation or JSON-RPC method a request body calls (of a batch, the
/// first).
pub fn operation(v: &serde_json::Value) -> Option<String> {
    let v = match v {
        serde_json::Value::Array(a) => a.first()?,
        v => v,
    };
    let o = v.as_object()?;
    if let (Some(_), Some(m)) = (o.get("jsonrpc"), o.get("method").and_then(|m| m.as_str())) {
        return Some(format!("rpc {m}"));
    }
    let q = o.get("query").and_then(|q| q.as_str())?;
    graphql(q, o.get("operationName").and_then(|n| n.as_str()))
}

/// `query GetUser` from a GraphQL document (and its `operationName`, which picks one
/// of several); an anonymous operation is named after its first field (`query user`).
pub fn graphql(doc: &str, name: Option<&str>) -> Option<String> {
    // Skip comments and find the operation's keyword or its selection set.
    let text: String = doc
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let word = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let t = text.trim_start();
    for kind in ["query", "mutation", "subscription"] {
        if let Some(rest) = t.strip_prefix(kind) {
            if rest.starts_with(|c: char| c.is_whitespace() || c == '{' || c == '(') {
                let n = name
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| word(rest));
                let n = if n.is_empty() {
                    word(rest.split_once('{')?.1)
                } else {
                    n
                };
                return Some(format!("{kind} {n}"));
            }
        }
    }
    let body = t.strip_prefix('{')?;
    let n = name
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| word(body));
    (!n.is_empty()).then(|| format!("query {n}"))
}

/// `url` with the values of secret query parameters replaced (findings show it).
fn clean_url(url: &str, clean: &Cleaner) -> String {
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, frag) = rest
        .split_once('#')
        .map_or((rest, None), |(q, f)| (q, Some(f)));
    let parts: Vec<String> = query
        .split('&')
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let (dk, dv) = (urldecode(k), urldecode(v));
            let c = clean.clean(&dk, &dv);
            if c.contains("[redacted: ") && c != dv {
                format!("{k}={c}")
            } else {
                part.to_string()
            }
        })
        .collect();
    let mut out = format!("{base}?{}", parts.join("&"));
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The part names of a multipart body (`Content-Disposition: form-data; name="x"`).
fn multipart_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.to_ascii_lowercase();
        if !l.starts_with("content-disposition:") {
            continue;
        }
        if let Some(i) = l.find(" name=\"") {
            let rest = &line[i + 7..];
            if let Some(j) = rest.find('"') {
                let n = rest[..j].to_string();
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}
