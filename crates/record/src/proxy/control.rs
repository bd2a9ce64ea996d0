//! Requests to the proxy itself (origin form, not through a tunnel): `hark record`'s page
//! markers ([`crate::marks`]).
//!
//! - `GET /pages`: the markers so far, a JSON array of HAR `page` objects;
//! - `POST /pages` with a JSON body `{"title": "Checkout"}` (optional `"id"`): a page
//!   starts now; 201 with its `page` object.
//!
//! A web page could send requests here too (the proxy listens on loopback, which browsers
//! reach directly), so the rule of hark's other local APIs holds: a cross-site `Origin` or
//! `Sec-Fetch-Site` gets 403 and a body that is not JSON 415 ([`har::http::cross_site`],
//! [`har::http::refused_body_type`]). With `--token`, the token is required as the
//! password of `Authorization: Basic` (`curl -u hark:TOKEN`) or `Proxy-Authorization`,
//! or as `Authorization: Bearer TOKEN`.

use super::wire::{response, text_response, FORWARD_ONLY};
use crate::marks::{MarkError, Marks};
use crate::upstream::UpBody;
use crate::ProxyToken;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};

/// The proxy's own endpoints: the markers, and the token that guards them.
pub struct Control {
    pub marks: Marks,
    pub token: Option<ProxyToken>,
}

const MAX_BODY: usize = 64 * 1024;

fn json_response(status: StatusCode, v: &Value) -> Response<UpBody> {
    let body = serde_json::to_vec(v).expect("JSON serialises");
    response(status, "application/json", body)
}

fn error(status: StatusCode, msg: String) -> Response<UpBody> {
    json_response(status, &json!({ "error": msg }))
}

impl Control {
    fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(t) = &self.token else {
            return true;
        };
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.trim().split_once(' '))
            .any(|(s, cred)| s.eq_ignore_ascii_case("bearer") && t.is(cred.trim()));
        bearer
            || t.accepts(headers)
            || crate::basic_credentials_in(headers, header::AUTHORIZATION).any(|(_, p)| t.is(&p))
    }

    pub(super) async fn serve(&self, req: Request<Incoming>) -> Response<UpBody> {
        let path = req.uri().path();
        if path != "/pages" && path != "/pages/" {
            return text_response(
                StatusCode::BAD_REQUEST,
                format!(
                    "{}; its own endpoints are GET and POST /pages\n",
                    FORWARD_ONLY.trim_end()
                ),
            );
        }
        if !self.authorised(req.headers()) {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "give the recording's token: curl -u hark:TOKEN".into(),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"hark\""),
            );
            return r;
        }
        match *req.method() {
            Method::GET | Method::HEAD => json_response(StatusCode::OK, &json!(self.marks.list())),
            Method::POST => self.add(req).await,
            _ => {
                let mut r = error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "GET /pages lists the pages, POST /pages starts one".into(),
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
                r
            }
        }
    }

    async fn add(&self, req: Request<Incoming>) -> Response<UpBody> {
        let h = req.headers();
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
        let own = get("host");
        if let Some(why) = har::http::cross_site(get, own) {
            return error(
                StatusCode::FORBIDDEN,
                format!("refused: a cross-site request ({why}) may not mark pages"),
            );
        }
        if let Some(why) = har::http::refused_body_type(get, false) {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "refused: {why}; send JSON: curl --json '{{\"title\":\"Checkout\"}}' \
                     http://HOST:PORT/pages"
                ),
            );
        }
        let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("a page marker is at most {MAX_BODY} bytes of JSON"),
                )
            }
        };
        let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
            }
        };
        let field = |k: &str| match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("{k:?} must be a string")),
        };
        let (title, id) = match (v.is_object(), field("title"), field("id")) {
            (true, Ok(t), Ok(i)) => (t, i),
            (false, _, _) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "body: a JSON object such as {\"title\": \"Checkout\"}".into(),
                )
            }
            (_, Err(e), _) | (_, _, Err(e)) => return error(StatusCode::BAD_REQUEST, e),
        };
        match self.marks.add(title, id) {
            Ok(page) => json_response(StatusCode::CREATED, &page),
            Err(e @ MarkError::Duplicate(_)) => error(StatusCode::CONFLICT, e.to_string()),
            Err(e @ MarkError::Invalid(_)) => error(StatusCode::BAD_REQUEST, e.to_string()),
            Err(e @ MarkError::Store(_)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}
