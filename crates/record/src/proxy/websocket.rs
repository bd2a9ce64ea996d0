//! WebSocket upgrades: the upgrade goes upstream on its own HTTP/1.1 connection; after
//! the 101 the bytes are relayed and the messages recorded.

use super::wire::{empty, head_size, reason_phrase, response_info, strip_hop, text_response};
use super::{relay_or_stop, set_setup, Conn, Guard, Shared};
use crate::body::{Pending, ReqCapture, RespTee};
use crate::entry::{ms, Captured, Exchange};
use crate::upstream::{self, Failure, Key, Sender, Setup, UpBody, Upstream};
use crate::ws;
use http::{header, HeaderValue, Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A WebSocket upgrade: its own upstream HTTP/1.1 connection; after the 101, bytes are
/// relayed and the messages recorded; the entry is written when the socket closes.
pub(super) async fn websocket(
    conn: Conn,
    req: Request<Incoming>,
    client_up: hyper::upgrade::OnUpgrade,
    mut guard: Guard,
    key: Key,
    path: String,
) -> Response<UpBody> {
    let sh = conn.shared.clone();
    if let Some(ex) = guard.ex.as_mut() {
        // As browsers show a WebSocket: ws:// or wss://.
        let url = &mut ex.request.url;
        if let Some(rest) = url.strip_prefix("http") {
            *url = format!("ws{rest}");
        }
    }
    let (mut parts, _body) = req.into_parts();
    strip_hop(&mut parts.headers, true);
    parts
        .headers
        .insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    parts.version = Version::HTTP_11;
    parts.uri = path.parse::<Uri>().unwrap_or_default();
    let sent = send_upgrade(&sh, &mut guard, &key, parts).await;
    let (up, mut resp, t_send, t_headers) = match sent {
        Ok(x) => x,
        Err((status, f)) => {
            let text = format!("hark: {}\n", f.text());
            guard.fail(&f);
            return text_response(status, text);
        }
    };
    let mut ex = guard.take();
    ex.phases.wait = ms(t_headers - t_send);
    let status_text = reason_phrase(resp.extensions(), resp.status());
    ex.response = Some(response_info(
        &up,
        resp.status(),
        status_text.clone(),
        resp.version(),
        resp.headers(),
        || head_size(8 + 1 + 3 + 1 + status_text.len(), resp.headers()),
    ));
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        // Refused upgrade: an ordinary response.
        let (rparts, rbody) = resp.into_parts();
        let pending = Pending {
            exchange: ex,
            req: Arc::new(Mutex::new(ReqCapture {
                body: Captured::new(0),
                done: None,
            })),
            headers_at: t_headers,
            sink: sh.sink.clone(),
            give_back: None,
            closing: sh.closing.subscribe(),
        };
        return Response::from_parts(
            rparts,
            RespTee::new(rbody, pending, sh.cfg.upstream_timeout).boxed(),
        );
    }
    let up_upgrade = hyper::upgrade::on(&mut resp);
    let mut client_resp = Response::new(empty());
    *client_resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *client_resp.headers_mut() = resp.headers().clone();
    tokio::spawn(relay(sh, ex, client_up, up_upgrade));
    client_resp
}

/// Relay the upgraded connections both ways, recording the messages, until both sides
/// close (or recording stops); then the exchange goes to the sink.
async fn relay(
    sh: Arc<Shared>,
    mut ex: Exchange,
    client_up: hyper::upgrade::OnUpgrade,
    up_upgrade: hyper::upgrade::OnUpgrade,
) {
    let cap = sh.cfg.max_body;
    let (c, u) = tokio::join!(client_up, up_upgrade);
    let msgs = Arc::new(Mutex::new(ws::Messages {
        cap,
        ..Default::default()
    }));
    let t = Instant::now();
    if let (Ok(c), Ok(u)) = (c, u) {
        let (cr, cw) = tokio::io::split(TokioIo::new(c));
        let (ur, uw) = tokio::io::split(TokioIo::new(u));
        let a = ws::pump(cr, uw, ws::Parser::new(true, msgs.clone()));
        let b = ws::pump(ur, cw, ws::Parser::new(false, msgs.clone()));
        // A socket still open when recording stops is recorded with what it carried
        // so far (the journal is closed right after).
        relay_or_stop(&sh, &mut ex, async { tokio::join!(a, b) }).await;
    } else {
        ex.error = Some("net::ERR_ABORTED (WebSocket upgrade did not complete)".into());
    }
    ex.phases.receive = ms(t.elapsed());
    let mut m = msgs.lock().unwrap();
    ex.ws_messages = Some(std::mem::take(&mut m.list));
    ex.ws_truncated = m.truncated;
    drop(m);
    (sh.sink)(ex);
}

/// Connect upstream (HTTP/1.1 only) and send the upgrade request; the entry gets the
/// connection's setup. A failure is the status to answer and what to record.
async fn send_upgrade(
    sh: &Shared,
    guard: &mut Guard,
    key: &Key,
    parts: http::request::Parts,
) -> Result<(Upstream, Response<Incoming>, Instant, Instant), (StatusCode, Failure)> {
    let timeout = sh.cfg.upstream_timeout;
    let (mut up, setup) =
        match tokio::time::timeout(timeout, upstream::connect_h1(key, &sh.tls)).await {
            Ok(Ok(x)) => x,
            Ok(Err(f)) => return Err((StatusCode::BAD_GATEWAY, f)),
            Err(_) => {
                let f = Failure {
                    code: "ERR_CONNECTION_TIMED_OUT",
                    detail: format!("{}:{}", key.host, key.port),
                    setup: Setup::NONE,
                };
                return Err((StatusCode::GATEWAY_TIMEOUT, f));
            }
        };
    if let Some(ex) = guard.ex.as_mut() {
        set_setup(ex, &setup);
        ex.server_ip = Some(up.ip.to_string());
        ex.connection = Some(up.id.to_string());
    }
    let Sender::H1(s) = &mut up.sender else {
        unreachable!("connect_h1 offers http/1.1 only")
    };
    let t_send = Instant::now();
    let res =
        tokio::time::timeout(timeout, s.send_request(Request::from_parts(parts, empty()))).await;
    let t_headers = Instant::now();
    match res {
        Ok(Ok(r)) => Ok((up, r, t_send, t_headers)),
        Ok(Err(e)) => Err((
            StatusCode::BAD_GATEWAY,
            Failure {
                code: "ERR_CONNECTION_RESET",
                detail: e.to_string(),
                setup,
            },
        )),
        Err(_) => Err((
            StatusCode::GATEWAY_TIMEOUT,
            Failure {
                code: "ERR_TIMED_OUT",
                detail: "no response to the WebSocket upgrade".into(),
                setup,
            },
        )),
    }
}
