//! One HTTP request through the proxy, in steps: where it goes ([`Route`]), what the
//! [`Policy`](super::Policy) says ([`Rules`]), the request as the client sent it
//! ([`request_info`]), the upstream exchange ([`exchange`]) and the response handed back
//! with the exchange recorded when its body ends.

use super::wire::{
    futures_either, head_size, header_list, reason_phrase, refusal, response_info, split_authority,
    strip_hop, text_response, version_str, FORWARD_ONLY,
};
use super::{edit_list, now_us, set_setup, Conn, Guard};
use crate::body::{Pending, ReqCapture, ReqTee, RespTee, SharedReq, Throttle, Throttled};
use crate::entry::{ms, Captured, Exchange, RequestInfo};
use crate::upstream::{Failure, Key, Sender, UpBody, Upstream};
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a request goes, and its URL as recorded.
struct Route {
    https: bool,
    host: String,
    port: u16,
    /// `host`, or `host:port` when the port is not the scheme's default.
    host_port: String,
    /// Path and query (`/` when empty).
    path: String,
    url: String,
}

impl Route {
    fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }
}

/// A request the proxy answers itself.
enum Answer {
    /// A plain-text explanation.
    Text(StatusCode, &'static str),
    /// Refused by the policy with this status.
    Refused(u16),
}

impl Answer {
    fn response(self) -> Response<UpBody> {
        match self {
            Answer::Text(status, text) => text_response(status, text.into()),
            Answer::Refused(status) => refusal(status),
        }
    }
}

/// What the policy decided for a request that goes upstream.
#[derive(Default)]
struct Rules {
    delay: Duration,
    tag: Option<Arc<str>>,
    edits: Vec<(http::HeaderName, Option<HeaderValue>)>,
    up_limit: Option<Arc<Throttle>>,
    down_limit: Option<Arc<Throttle>>,
}

pub(super) async fn handle(
    conn: Conn,
    mut req: Request<Incoming>,
) -> Result<Response<UpBody>, Infallible> {
    if req.method() == Method::CONNECT && conn.tunnel.is_none() {
        return Ok(super::connect::connect(conn, req).await);
    }
    if conn.tunnel.is_none() && req.uri().scheme().is_none() {
        if let Some(c) = &conn.shared.control {
            return Ok(c.serve(req).await);
        }
    }
    let start_us = now_us();
    let route = match route(&conn, &req) {
        Ok(r) => r,
        Err(answer) => return Ok(answer.response()),
    };
    let rules = match apply_policy(&conn, &mut req, &route.url) {
        Ok(r) => r,
        Err(answer) => return Ok(answer.response()),
    };
    let sh = conn.shared.clone();
    let info = request_info(&conn, &req, &route, &rules.edits);
    sh.inflight.fetch_add(1, Ordering::Relaxed);
    let mut ex = Exchange::new(start_us, info, sh.cfg.max_body);
    ex.tag = rules.tag.clone();
    let guard = Guard {
        ex: Some(ex),
        sink: sh.sink.clone(),
    };
    let key = Key {
        https: route.https,
        host: route.host.clone(),
        port: route.port,
    };
    let is_ws = req.version() != Version::HTTP_2
        && req
            .headers()
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_ws {
        let client_up = hyper::upgrade::on(&mut req);
        return Ok(super::websocket::websocket(conn, req, client_up, guard, key, route.path).await);
    }
    Ok(exchange(conn, req, route, rules, guard, key).await)
}

/// The target of a request: the tunnel's, or the absolute-form URL's (anything else is
/// answered 400: this is a forward proxy).
fn route(conn: &Conn, req: &Request<Incoming>) -> Result<Route, Answer> {
    let (https, host, port) = match &conn.tunnel {
        Some(t) => (t.https, t.host.clone(), t.port),
        None => {
            let uri = req.uri();
            let https = match uri.scheme_str() {
                Some("http") => false,
                Some("https") => true,
                _ => return Err(Answer::Text(StatusCode::BAD_REQUEST, FORWARD_ONLY)),
            };
            let Some(auth) = uri.authority() else {
                return Err(Answer::Text(
                    StatusCode::BAD_REQUEST,
                    "request URL without a host\n",
                ));
            };
            let (h, p) = split_authority(auth.as_str(), if https { 443 } else { 80 });
            (https, h, p)
        }
    };
    let default_port = if https { 443 } else { 80 };
    let host_port = if port == default_port {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    let mut r = Route {
        https,
        host,
        port,
        host_port,
        path,
        url: String::new(),
    };
    r.url = format!("{}://{}{}", r.scheme(), r.host_port, r.path);
    Ok(r)
}

/// The target's `host[:port]` when an absolute-form request's `Host` header says
/// something else (or is missing); `None` inside a tunnel, where `Host` is the authority.
fn absolute_form_host<'a>(conn: &Conn, req: &'a Request<Incoming>) -> Option<&'a str> {
    if conn.tunnel.is_some() || req.version() == Version::HTTP_2 {
        return None;
    }
    let target = req.uri().authority()?.as_str();
    // Credentials in the URL are not part of Host.
    let target = target.rsplit('@').next().unwrap_or(target);
    let given = req.headers().get(header::HOST).map(|v| v.as_bytes());
    (given.is_none_or(|g| !g.eq_ignore_ascii_case(target.as_bytes()))).then_some(target)
}

/// Ask the policy (if any) about the request and apply its header edits; a refusal is
/// the answer to send.
fn apply_policy(conn: &Conn, req: &mut Request<Incoming>, url: &str) -> Result<Rules, Answer> {
    let mut rules = Rules {
        tag: conn.tag.clone(),
        ..Rules::default()
    };
    // RFC 9112 §3.2.2: for an absolute-form target the proxy ignores the client's `Host`
    // and sends the target's (the policy's own edits still win).
    if let Some(target) = absolute_form_host(conn, req) {
        if let Ok(v) = HeaderValue::from_str(target) {
            rules.edits.push((header::HOST, Some(v)));
        }
    }
    if let Some(p) = &conn.shared.policy {
        let d = p.request(conn.tag.as_ref(), req.method(), url, req.headers());
        if let Some(status) = d.answer {
            return Err(Answer::Refused(status));
        }
        rules.delay = d.delay;
        if d.tag.is_some() {
            rules.tag = d.tag;
        }
        rules.edits.extend(d.headers);
        rules.up_limit = d.upstream;
        rules.down_limit = d.downstream;
    }
    for (k, v) in &rules.edits {
        match v {
            Some(v) => {
                req.headers_mut().insert(k.clone(), v.clone());
            }
            None => {
                req.headers_mut().remove(k);
            }
        }
    }
    Ok(rules)
}

/// The request as the client sent it: the head the connection read when it was tapped
/// (with the policy's edits), else hyper's headers (HTTP/2 with its pseudo-headers).
fn request_info(
    conn: &Conn,
    req: &Request<Incoming>,
    route: &Route,
    edits: &[(http::HeaderName, Option<HeaderValue>)],
) -> RequestInfo {
    let version = req.version();
    let mut headers = Vec::with_capacity(req.headers().len() + 4);
    let headers_size = if version == Version::HTTP_2 {
        let authority = req
            .uri()
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| route.host_port.clone());
        headers.push((":method".to_string(), req.method().to_string()));
        headers.push((":authority".to_string(), authority));
        headers.push((":scheme".to_string(), route.scheme().to_string()));
        headers.push((":path".to_string(), route.path.clone()));
        -1
    } else {
        let target = if conn.tunnel.is_some() {
            route.path.len()
        } else {
            req.uri().to_string().len()
        };
        head_size(
            req.method().as_str().len() + 1 + target + 1 + 8,
            req.headers(),
        )
    };
    let raw = match (&conn.tap, version) {
        (Some(tap), Version::HTTP_10 | Version::HTTP_11) => {
            crate::tap::request_head(tap, req.method().as_str())
        }
        _ => None,
    };
    let headers_size = match raw {
        Some((raw, size)) => {
            headers.extend(raw);
            edit_list(&mut headers, edits);
            size as i64
        }
        None => {
            headers.extend(header_list(req.headers()));
            headers_size
        }
    };
    RequestInfo {
        method: req.method().to_string(),
        url: route.url.clone(),
        http_version: version_str(version),
        headers,
        headers_size,
    }
}

/// Send the request upstream (on a pooled connection) and hand the response back; the
/// exchange is recorded when the client has the last byte of the body, or now if it
/// failed.
async fn exchange(
    conn: Conn,
    req: Request<Incoming>,
    route: Route,
    rules: Rules,
    mut guard: Guard,
    key: Key,
) -> Response<UpBody> {
    let sh = conn.shared.clone();
    let (mut parts, body) = req.into_parts();
    strip_hop(&mut parts.headers, false);
    let cap: SharedReq = Arc::new(Mutex::new(ReqCapture {
        body: Captured::new(sh.cfg.max_body),
        done: None,
    }));
    let body_empty = body.is_end_stream();
    let tee: UpBody = match rules.up_limit {
        // Inside the tee: the body counts as sent when the limit lets it through.
        Some(t) => ReqTee::new(Throttled::new(body, t), cap.clone()).boxed(),
        None => ReqTee::new(body, cap.clone()).boxed(),
    };

    let timeout = sh.cfg.upstream_timeout;
    if !rules.delay.is_zero() {
        tokio::time::sleep(rules.delay).await;
    }
    let (mut up, setup) = match conn.pool.get(&key, &sh.tls, conn.client_h2, timeout).await {
        Ok(x) => x,
        Err(f) => {
            let status = if f.code.contains("TIMED_OUT") {
                StatusCode::GATEWAY_TIMEOUT
            } else {
                StatusCode::BAD_GATEWAY
            };
            let text = format!("hark: {}\n", f.text());
            guard.fail(&f);
            return text_response(status, text);
        }
    };
    if let Some(ex) = guard.ex.as_mut() {
        set_setup(ex, &setup);
        ex.server_ip = Some(up.ip.to_string());
        ex.connection = Some(up.id.to_string());
    }
    upstream_target(&mut parts, &route, up.is_h2());
    let up_req = Request::from_parts(parts, tee);
    let sent = send(&mut up, up_req, timeout, &cap, body_empty, &route.host_port).await;
    let Sent {
        got,
        t_headers,
        send,
        wait,
    } = sent;
    let resp = match got {
        Ok(r) => r,
        Err((status, code, detail)) => {
            let f = Failure {
                code,
                detail,
                setup,
            };
            let text = format!("hark: {}\n", f.text());
            if let Some(ex) = guard.ex.as_mut() {
                ex.phases.send = send;
                ex.phases.wait = wait;
                ex.request_body = std::mem::take(&mut cap.lock().unwrap().body);
            }
            guard.fail(&f);
            return text_response(status, text);
        }
    };
    let mut ex = guard.take();
    ex.phases.send = send;
    ex.phases.wait = wait;
    let upstream = Answered {
        up,
        key,
        t_headers,
        down_limit: rules.down_limit,
    };
    respond(&conn, resp, ex, cap, upstream)
}

/// What the response came over.
struct Answered {
    up: Upstream,
    key: Key,
    /// When its headers came.
    t_headers: Instant,
    /// Bandwidth limit towards the client.
    down_limit: Option<Arc<Throttle>>,
}

/// The response as recorded, and handed to the client through a tee that records the
/// exchange when the body ends (and gives an HTTP/1.1 connection back to the pool).
fn respond(
    conn: &Conn,
    resp: Response<Incoming>,
    mut ex: Exchange,
    cap: SharedReq,
    upstream: Answered,
) -> Response<UpBody> {
    let sh = &conn.shared;
    let Answered {
        up,
        key,
        t_headers,
        down_limit,
    } = upstream;
    let (mut rparts, rbody) = resp.into_parts();
    // HTTP/2 has no reason phrase: "" as browsers write it.
    let status_text = if rparts.version == Version::HTTP_2 {
        String::new()
    } else {
        reason_phrase(&rparts.extensions, rparts.status)
    };
    let rversion = rparts.version;
    ex.response = Some(response_info(
        &up,
        rparts.status,
        status_text.clone(),
        rversion,
        &rparts.headers,
        || {
            if rversion == Version::HTTP_2 {
                -1
            } else {
                head_size(8 + 1 + 3 + 1 + status_text.len(), &rparts.headers)
            }
        },
    ));
    let give_back = match up.sender {
        Sender::H1(_) => Some((conn.pool.clone(), key, up)),
        Sender::H2(_) => None,
    };
    let pending = Pending {
        exchange: ex,
        req: cap,
        headers_at: t_headers,
        sink: sh.sink.clone(),
        give_back,
        closing: sh.closing.subscribe(),
    };
    strip_hop(&mut rparts.headers, false);
    rparts.version = if conn.client_h2 {
        Version::HTTP_2
    } else {
        Version::HTTP_11
    };
    let timeout = sh.cfg.upstream_timeout;
    let body = match down_limit {
        // Inside the tee: the exchange ends when the client is given the last byte.
        Some(t) => RespTee::new(Throttled::new(rbody, t), pending, timeout).boxed(),
        None => RespTee::new(rbody, pending, timeout).boxed(),
    };
    Response::from_parts(rparts, body)
}

/// The request line for the upstream connection: absolute URI without `Host` for
/// HTTP/2, origin form with `Host` for HTTP/1.1.
fn upstream_target(parts: &mut http::request::Parts, route: &Route, h2: bool) {
    if h2 {
        parts.version = Version::HTTP_2;
        parts.uri = format!("{}://{}{}", route.scheme(), route.host_port, route.path)
            .parse::<Uri>()
            .unwrap_or_default();
        parts.headers.remove(header::HOST);
    } else {
        parts.version = Version::HTTP_11;
        parts.uri = route.path.parse::<Uri>().unwrap_or_default();
        if !parts.headers.contains_key(header::HOST) {
            if let Ok(h) = HeaderValue::from_str(&route.host_port) {
                parts.headers.insert(header::HOST, h);
            }
        }
    }
}

/// The response headers (or why none came), when they came, and the `send` and `wait`
/// phases.
struct Sent {
    got: Result<Response<Incoming>, (StatusCode, &'static str, String)>,
    t_headers: Instant,
    send: f64,
    wait: f64,
}

/// Send the request and wait for the response headers; `send` ends when the request
/// body has gone (`cap.done`), `wait` then.
async fn send(
    up: &mut Upstream,
    up_req: Request<UpBody>,
    timeout: Duration,
    cap: &SharedReq,
    body_empty: bool,
    host_port: &str,
) -> Sent {
    let t_send = Instant::now();
    let fut = match &mut up.sender {
        Sender::H1(s) => futures_either::Left(Box::pin(s.send_request(up_req))),
        Sender::H2(s) => futures_either::Right(Box::pin(s.send_request(up_req))),
    };
    let res = tokio::time::timeout(timeout, fut).await;
    let t_headers = Instant::now();
    let done = cap.lock().unwrap().done;
    let (send, wait) = match done {
        Some(d) if !body_empty && d <= t_headers => (ms(d - t_send), ms(t_headers - d)),
        Some(_) if !body_empty => (ms(t_headers - t_send), 0.0),
        _ => (0.0, ms(t_headers - t_send)),
    };
    // A failure: the client's status, Chrome's code and the detail.
    let got = match res {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => {
            let code = if e.is_canceled() || e.is_incomplete_message() {
                "ERR_EMPTY_RESPONSE"
            } else {
                "ERR_CONNECTION_RESET"
            };
            let detail = format!("{host_port}: {e}");
            Err((StatusCode::BAD_GATEWAY, code, detail))
        }
        Err(_) => {
            let detail = format!("{host_port}: no response headers within {timeout:?}");
            Err((StatusCode::GATEWAY_TIMEOUT, "ERR_TIMED_OUT", detail))
        }
    };
    Sent {
        got,
        t_headers,
        send,
        wait,
    }
}
