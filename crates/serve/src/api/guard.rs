//! The rule for every state-changing request (`POST`, `PUT`, `PATCH`, `DELETE`) to the API,
//! against cross-site requests a web page could make without a CORS preflight:
//!
//! - a foreign `Origin` (not this service's own `Host`, or `null`) or a `Sec-Fetch-Site`
//!   other than `same-origin`/`none` is refused with 403;
//! - a body must be JSON: `text/plain`, `multipart/form-data` and
//!   `application/x-www-form-urlencoded` (the "simple" types a form or a `no-cors` fetch can
//!   send) are refused with 415, and so is a body with no `Content-Type`. The BrowserMob
//!   endpoints its clients call with form bodies ([`FORM_ENDPOINTS`]: all `PUT`, which a
//!   page can never send cross-site without a preflight) take forms. `POST /proxy` takes
//!   its parameters in the query string, as BrowserMob's Python client sends them.

use super::ApiError;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The `PUT` endpoints of BrowserMob's API that its clients call with form bodies.
const FORM_ENDPOINTS: &[&str] = &["/har", "/har/pageRef", "/blacklist", "/whitelist", "/limit"];

fn takes_forms(method: &Method, path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/proxy/") else {
        return false;
    };
    let Some((port, tail)) = rest.split_once('/') else {
        return false;
    };
    method == Method::PUT
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && FORM_ENDPOINTS.contains(&format!("/{tail}").as_str())
}

/// Why a request is refused as cross-site, if it is ([`har::http::cross_site`]).
/// `own` is the request's `Host` (or HTTP/2's `:authority`).
fn cross_site(headers: &HeaderMap, own: Option<&str>) -> Option<String> {
    har::http::cross_site(|h| headers.get(h).and_then(|v| v.to_str().ok()), own)
}

/// Why the request's body type is refused, if it is ([`har::http::refused_body_type`]).
fn bad_body(method: &Method, path: &str, headers: &HeaderMap) -> Option<String> {
    har::http::refused_body_type(
        |h| headers.get(h).and_then(|v| v.to_str().ok()),
        takes_forms(method, path),
    )
}

pub(super) async fn guard(req: Request, next: Next) -> Response {
    let m = req.method();
    if !(m == Method::POST || m == Method::PUT || m == Method::PATCH || m == Method::DELETE) {
        return next.run(req).await;
    }
    let own = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if let Some(why) = cross_site(req.headers(), own.as_deref()) {
        return ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "refused: a cross-site request ({why}) may not change this service; \
                 scripts and tools send no Origin"
            ),
        )
        .into_response();
    }
    if let Some(why) = bad_body(m, req.uri().path(), req.headers()) {
        return ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "refused: {why}; send a JSON body with Content-Type: application/json \
                 (curl --json '{{...}}'), since a web page can send the other types to any site"
            ),
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn origins_and_fetch_sites() {
        let own = Some("127.0.0.1:7171");
        assert_eq!(cross_site(&h(&[]), own), None);
        assert_eq!(
            cross_site(&h(&[("origin", "http://127.0.0.1:7171")]), own),
            None
        );
        assert_eq!(
            cross_site(&h(&[("sec-fetch-site", "same-origin")]), own),
            None
        );
        for bad in [
            h(&[("origin", "https://evil.example")]),
            h(&[("origin", "null")]),
            h(&[("origin", "http://127.0.0.1:7172")]),
            h(&[("sec-fetch-site", "cross-site")]),
            h(&[("sec-fetch-site", "same-site")]),
        ] {
            assert!(cross_site(&bad, own).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn forms_only_where_browsermob_sends_them() {
        let form = h(&[("content-type", "application/x-www-form-urlencoded")]);
        assert!(bad_body(&Method::PUT, "/proxy/8081/har", &form).is_none());
        assert!(bad_body(&Method::PUT, "/proxy/8081/har/pageRef", &form).is_none());
        assert!(bad_body(&Method::POST, "/proxy", &form).is_some());
        assert!(bad_body(&Method::POST, "/v1/jobs", &form).is_some());
        assert!(bad_body(&Method::POST, "/proxy/8081/headers", &form).is_some());
        let text = h(&[("content-type", "text/plain;charset=UTF-8")]);
        assert!(bad_body(&Method::PUT, "/proxy/8081/har", &text).is_some());
        let json = h(&[("content-type", "application/json; charset=utf-8")]);
        assert!(bad_body(&Method::POST, "/v1/jobs", &json).is_none());
        assert!(bad_body(&Method::POST, "/v1/jobs/x/stop", &h(&[])).is_none());
        assert!(bad_body(&Method::POST, "/v1/jobs", &h(&[("content-length", "2")])).is_some());
    }
}
