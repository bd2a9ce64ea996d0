//! One entry's validation: request, response, cookies, sizes, timings and URLs.

use super::path::{Path, ROOT};
use super::report::{describe_str, describe_value};
use super::report::{Kind, Reporter, Req};
use super::{MinusOne, Problem, Severity, Validator, COOKIE_FIELDS};
use crate::error::Pos;
use crate::json::{Json, JsonObject, Kind as JsonKind};

impl Validator {
    /// Validate one entry. `raw` and `start` are the entry's bytes and position, used to
    /// give each problem its line and column.
    pub fn entry<J: Json>(
        &self,
        index: usize,
        value: &J,
        raw: &[u8],
        start: Pos,
        out: &mut Vec<Problem>,
    ) {
        let base = format!("log.entries[{index}]");
        let mut w = Reporter {
            validator_id: self.id,
            out,
            entry: Some(index),
            base: &base,
            raw,
            start: Some(start),
        };
        let root = ROOT;
        let Some(e) = value.as_object() else {
            w.report(
                Severity::Error,
                "wrong-type",
                &root,
                format!("expected an entry object, found {}", describe_value(value)),
            );
            return;
        };
        w.known(
            e,
            &root,
            &[
                "pageref",
                "startedDateTime",
                "time",
                "request",
                "response",
                "cache",
                "timings",
                "serverIPAddress",
                "connection",
                "comment",
            ],
        );
        w.str_field(e, "pageref", &root, Req::Optional);
        w.date_field(e, "startedDateTime", &root);
        w.num_field(e, "time", &root, Kind::Num, Req::Required, MinusOne::No);
        if let Some(r) = w
            .field(e, "request", &root, Kind::Obj, Req::Required)
            .and_then(Json::as_object)
        {
            request(&mut w, r, &root.k("request"));
        }
        if let Some(r) = w
            .field(e, "response", &root, Kind::Obj, Req::Required)
            .and_then(Json::as_object)
        {
            response(&mut w, r, &root.k("response"));
        }
        if let Some(c) = w
            .field(
                e,
                "cache",
                &root,
                Kind::Obj,
                Req::Quirk("some producers omit it"),
            )
            .and_then(Json::as_object)
        {
            let cp = root.k("cache");
            for k in ["beforeRequest", "afterRequest"] {
                if let Some(ce) = w
                    .field(c, k, &cp, Kind::Obj, Req::Optional)
                    .and_then(Json::as_object)
                {
                    let kp = cp.k(k);
                    w.str_field(ce, "expires", &kp, Req::Optional);
                    w.str_field(
                        ce,
                        "lastAccess",
                        &kp,
                        Req::Quirk("Firefox writes other fields here"),
                    );
                    w.str_field(
                        ce,
                        "eTag",
                        &kp,
                        Req::Quirk("Firefox writes other fields here"),
                    );
                    w.num_field(
                        ce,
                        "hitCount",
                        &kp,
                        Kind::Int,
                        Req::Quirk("Firefox writes other fields here"),
                        MinusOne::No,
                    );
                    w.str_field(ce, "comment", &kp, Req::Optional);
                    w.known(
                        ce,
                        &kp,
                        &["expires", "lastAccess", "eTag", "hitCount", "comment"],
                    );
                }
            }
            w.str_field(c, "comment", &cp, Req::Optional);
            w.known(c, &cp, &["beforeRequest", "afterRequest", "comment"]);
        }
        if let Some(t) = w
            .field(e, "timings", &root, Kind::Obj, Req::Required)
            .and_then(Json::as_object)
        {
            let tp = root.k("timings");
            for k in ["blocked", "dns", "connect", "ssl"] {
                w.num_field(t, k, &tp, Kind::Num, Req::Optional, MinusOne::Allowed);
            }
            for k in ["send", "wait", "receive"] {
                w.num_field(
                    t,
                    k,
                    &tp,
                    Kind::Num,
                    Req::Quirk("Firefox writes `timings: {}` for some entries"),
                    MinusOne::Quirk("some producers write -1 for a phase that did not happen"),
                );
            }
            w.str_field(t, "comment", &tp, Req::Optional);
            w.known(
                t,
                &tp,
                &[
                    "blocked", "dns", "connect", "ssl", "send", "wait", "receive", "comment",
                ],
            );
        }
        w.str_field(e, "serverIPAddress", &root, Req::Optional);
        match e.get("connection") {
            Some(v) if v.kind() == JsonKind::Number => w.report(
                Severity::Warning,
                "wrong-type",
                &root.k("connection"),
                "a number where HAR 1.2 wants a string (the connection id or port)".into(),
            ),
            _ => {
                w.str_field(e, "connection", &root, Req::Optional);
            }
        }
        w.str_field(e, "comment", &root, Req::Optional);
    }
}

pub(super) fn request<O: JsonObject>(w: &mut Reporter<'_>, r: &O, p: &Path<'_>) {
    if let Some(m) = w
        .field(r, "method", p, Kind::Str, Req::Required)
        .and_then(Json::as_str)
    {
        if m.is_empty() {
            w.report(
                Severity::Warning,
                "empty-value",
                &p.k("method"),
                "empty method".into(),
            );
        }
    }
    if let Some(u) = w
        .field(r, "url", p, Kind::Str, Req::Required)
        .and_then(Json::as_str)
    {
        match url_problem(u) {
            Some((Severity::Error, msg)) => {
                w.report(Severity::Error, "invalid-url", &p.k("url"), msg)
            }
            Some((sev, msg)) => w.report(sev, "url-fragment", &p.k("url"), msg),
            None => {}
        }
    }
    w.str_field(r, "httpVersion", p, Req::Required);
    cookies(w, r, p);
    w.name_values(r, "headers", p, Req::Required, &[]);
    w.name_values(
        r,
        "queryString",
        p,
        Req::Quirk("Firefox and Insomnia omit it"),
        &[],
    );
    if let Some(pd) = w
        .field(r, "postData", p, Kind::Obj, Req::Optional)
        .and_then(Json::as_object)
    {
        let pp = p.k("postData");
        w.str_field(pd, "mimeType", &pp, Req::Quirk("some producers omit it"));
        w.name_values(
            pd,
            "params",
            &pp,
            Req::Optional,
            &["fileName", "contentType"],
        );
        w.str_field(pd, "text", &pp, Req::Optional);
        w.str_field(pd, "comment", &pp, Req::Optional);
        w.known(pd, &pp, &["mimeType", "params", "text", "comment"]);
    }
    sizes_and_comment(w, r, p, "some producers omit it");
    w.known(
        r,
        p,
        &[
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "postData",
            "headersSize",
            "bodySize",
            "comment",
        ],
    );
}

/// `headersSize`, `bodySize` and `comment`, which requests and responses share.
pub(super) fn sizes_and_comment<O: JsonObject>(
    w: &mut Reporter<'_>,
    r: &O,
    p: &Path<'_>,
    headers_size_quirk: &'static str,
) {
    w.num_field(
        r,
        "headersSize",
        p,
        Kind::Int,
        Req::Quirk(headers_size_quirk),
        MinusOne::Allowed,
    );
    w.num_field(
        r,
        "bodySize",
        p,
        Kind::Int,
        Req::Quirk("some producers omit it"),
        MinusOne::Allowed,
    );
    w.str_field(r, "comment", p, Req::Optional);
}

pub(super) fn cookies<O: JsonObject>(w: &mut Reporter<'_>, obj: &O, p: &Path<'_>) {
    let Some(items) = w
        .field(
            obj,
            "cookies",
            p,
            Kind::Arr,
            Req::Quirk("some producers omit it"),
        )
        .and_then(Json::as_array)
    else {
        return;
    };
    let cp = p.k("cookies");
    for (i, c) in items.iter().enumerate() {
        let ip = cp.i(i);
        let Some(o) = c.as_object() else {
            w.report(
                Severity::Error,
                "wrong-type",
                &ip,
                format!("expected a cookie object, found {}", describe_value(c)),
            );
            continue;
        };
        w.str_field(o, "name", &ip, Req::Required);
        w.str_field(o, "value", &ip, Req::Required);
        w.str_field(o, "path", &ip, Req::Optional);
        w.str_field(o, "domain", &ip, Req::Optional);
        if let Some(s) = o.get("expires").and_then(Json::as_str) {
            if !s.is_empty() && crate::time::parse_ms(s).is_none() {
                w.report(
                    Severity::Warning,
                    "invalid-date",
                    &ip.k("expires"),
                    format!("expected an ISO 8601 date-time, found {}", describe_str(s)),
                );
            }
        } else {
            w.str_field(o, "expires", &ip, Req::Optional);
        }
        w.field(o, "httpOnly", &ip, Kind::Bool, Req::Optional);
        w.field(o, "secure", &ip, Kind::Bool, Req::Optional);
        w.str_field(o, "comment", &ip, Req::Optional);
        w.known(o, &ip, COOKIE_FIELDS);
    }
}

pub(super) fn response<O: JsonObject>(w: &mut Reporter<'_>, r: &O, p: &Path<'_>) {
    if let Some(s) = w.num_field(
        r,
        "status",
        p,
        Kind::Int,
        Req::Required,
        MinusOne::Quirk("Playwright writes -1 for a request that failed"),
    ) {
        if s > 999.0 {
            w.report(
                Severity::Error,
                "out-of-range",
                &p.k("status"),
                format!("status {s} is not an HTTP status code"),
            );
        }
    }
    w.str_field(r, "statusText", p, Req::Required);
    w.str_field(r, "httpVersion", p, Req::Required);
    cookies(w, r, p);
    w.name_values(r, "headers", p, Req::Required, &[]);
    if let Some(c) = w
        .field(r, "content", p, Kind::Obj, Req::Required)
        .and_then(Json::as_object)
    {
        let cp = p.k("content");
        w.num_field(
            c,
            "size",
            &cp,
            Kind::Int,
            Req::Quirk("Firefox and mitmproxy omit it on some responses"),
            MinusOne::Quirk("Firefox and Playwright write -1 when they do not know"),
        );
        if let Some(n) = c
            .get("compression")
            .filter(|v| v.kind() == JsonKind::Number)
        {
            if n.as_f64().is_some_and(|v| v < 0.0) {
                w.report(
                    Severity::Warning,
                    "out-of-range",
                    &cp.k("compression"),
                    format!(
                        "negative compression {} (Safari and chrome-har-capturer write these)",
                        n.number_text().unwrap_or_default()
                    ),
                );
            }
        } else {
            w.field(c, "compression", &cp, Kind::Num, Req::Optional);
        }
        w.str_field(
            c,
            "mimeType",
            &cp,
            Req::Quirk("mitmproxy omits it on some responses"),
        );
        w.str_field(c, "text", &cp, Req::Optional);
        w.str_field(c, "encoding", &cp, Req::Optional);
        w.str_field(c, "comment", &cp, Req::Optional);
        w.known(
            c,
            &cp,
            &[
                "size",
                "compression",
                "mimeType",
                "text",
                "encoding",
                "comment",
            ],
        );
    }
    w.str_field(r, "redirectURL", p, Req::Quirk("some producers omit it"));
    sizes_and_comment(w, r, p, "Firefox omits it on some responses");
    w.known(
        r,
        p,
        &[
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
            "comment",
        ],
    );
}

/// What is wrong with a request URL, if anything: not absolute (error), or carrying a
/// fragment (warning: HAR 1.2 says fragments are not included).
pub fn url_problem(u: &str) -> Option<(Severity, String)> {
    let scheme_end = u.find(':');
    let valid_scheme = scheme_end.is_some_and(|i| {
        i > 0
            && u.as_bytes()[0].is_ascii_alphabetic()
            && u[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    if !valid_scheme {
        return Some((
            Severity::Error,
            format!("not an absolute URL: {}", describe_str(u)),
        ));
    }
    let scheme = u[..scheme_end.unwrap()].to_ascii_lowercase();
    if matches!(scheme.as_str(), "http" | "https" | "ws" | "wss") {
        let rest = &u[scheme.len() + 1..];
        let host_ok = rest.strip_prefix("//").is_some_and(|r| {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.starts_with(':')
        });
        if !host_ok {
            return Some((
                Severity::Error,
                format!("{scheme} URL without a host: {}", describe_str(u)),
            ));
        }
        if u.contains('#') {
            return Some((
                Severity::Warning,
                "the URL has a fragment (#…); HAR 1.2 URLs exclude fragments".into(),
            ));
        }
    }
    None
}
