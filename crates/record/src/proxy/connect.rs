//! `CONNECT`: tunnels whose TLS is intercepted with a leaf from the local CA (or served
//! as plain HTTP/1.1), and `--passthrough` tunnels relayed untouched.

use super::wire::{empty, header_list, refusal, split_authority, text_response, version_str};
use super::{now_us, relay_or_stop, serve_h1, serve_h2, Conn};
use crate::ca::Resolver;
use crate::entry::{ms, Exchange, RequestInfo, ResponseInfo};
use crate::tunnel::Prefixed;
use crate::upstream::UpBody;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

pub(super) async fn connect(mut conn: Conn, req: Request<Incoming>) -> Response<UpBody> {
    let Some(auth) = req.uri().authority().map(|a| a.as_str().to_string()) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            "CONNECT without host:port\n".into(),
        );
    };
    if let Some(p) = &conn.shared.policy {
        let d = p.connect(&auth, req.headers());
        if let Some(status) = d.answer {
            return refusal(status);
        }
        conn.tag = d.tag;
    }
    let (host, port) = split_authority(&auth, 443);
    let sh = conn.shared.clone();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let pass = sh
        .cfg
        .passthrough
        .iter()
        .any(|p| p.eq_ignore_ascii_case(bare) || p.eq_ignore_ascii_case(&auth));
    if pass {
        return passthrough(conn, req, host, port).await;
    }
    tokio::spawn(async move {
        if let Ok(up) = hyper::upgrade::on(req).await {
            intercept(conn, TokioIo::new(up), host, port).await;
        }
    });
    Response::new(empty())
}

/// Serve what comes through a CONNECT tunnel: TLS is terminated with a leaf from the
/// local CA (ALPN h2 or http/1.1), anything else is served as plain HTTP/1.1.
fn intercept<I>(
    conn: Conn,
    io: I,
    host: String,
    port: u16,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::pin(intercept_inner(conn, io, host, port))
}

async fn intercept_inner<I>(conn: Conn, mut io: I, host: String, port: u16)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = vec![0u8; 4096];
    let timeout = conn.shared.cfg.header_timeout;
    let n = match tokio::time::timeout(timeout, io.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) | Err(_) => return,
        Ok(Ok(n)) => n,
    };
    buf.truncate(n);
    let is_tls = buf[0] == 0x16;
    let io = Prefixed::new(buf, io);
    if !is_tls {
        serve_h1(io, conn.into_tunnel(false, host, port, false)).await;
        return;
    }
    let sh = conn.shared.clone();
    let Some(acceptor) = (Resolver {
        ca: sh.ca.clone(),
        fallback: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    })
    .acceptor() else {
        return;
    };
    let start_us = now_us();
    let t = Instant::now();
    let accept = acceptor.accept(io);
    let handshake = tokio::time::timeout(timeout, accept)
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no handshake within {timeout:?} (--header-timeout)"),
            ))
        });
    let tls = match handshake {
        Ok(s) => s,
        Err(e) => {
            // The client refused hark's certificate (CA not trusted, pinning) or spoke
            // something else: record it, the user needs to know.
            let info = RequestInfo {
                method: "CONNECT".into(),
                url: format!("https://{host}:{port}/"),
                http_version: "HTTP/1.1",
                headers: Vec::new(),
                headers_size: -1,
            };
            sh.inflight.fetch_add(1, Ordering::Relaxed);
            let mut ex = Exchange::new(start_us, info, 0);
            ex.tag = conn.tag.clone();
            ex.phases.ssl = ms(t.elapsed());
            ex.phases.connect = ex.phases.ssl;
            ex.error = Some(format!(
                "net::ERR_SSL_PROTOCOL_ERROR (client TLS handshake with hark failed: {e}; \
                 does the client trust hark's CA? see `hark ca`)"
            ));
            (sh.sink)(ex);
            return;
        }
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let conn = conn.into_tunnel(true, host, port, h2);
    if h2 {
        serve_h2(tls, conn).await;
    } else {
        serve_h1(tls, conn).await;
    }
}

/// `--passthrough`: connect first, then relay bytes untouched; one CONNECT entry with
/// the byte counts.
async fn passthrough(
    conn: Conn,
    req: Request<Incoming>,
    host: String,
    port: u16,
) -> Response<UpBody> {
    let sh = conn.shared.clone();
    let start_us = now_us();
    let info = RequestInfo {
        method: "CONNECT".into(),
        url: format!("https://{host}:{port}/"),
        http_version: version_str(req.version()),
        headers: header_list(req.headers()),
        headers_size: -1,
    };
    sh.inflight.fetch_add(1, Ordering::Relaxed);
    let mut ex = Exchange::new(start_us, info, 0);
    ex.tag = conn.tag.clone();
    let t = Instant::now();
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tcp = match tokio::time::timeout(
        sh.cfg.upstream_timeout,
        tokio::net::TcpStream::connect((bare.as_str(), port)),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            ex.phases.connect = ms(t.elapsed());
            ex.error = Some(format!("net::ERR_CONNECTION_FAILED ({host}:{port}: {e})"));
            (sh.sink)(ex);
            return text_response(
                StatusCode::BAD_GATEWAY,
                format!("hark: {host}:{port}: {e}\n"),
            );
        }
        Err(_) => {
            ex.phases.connect = ms(t.elapsed());
            ex.error = Some(format!("net::ERR_CONNECTION_TIMED_OUT ({host}:{port})"));
            (sh.sink)(ex);
            return text_response(
                StatusCode::GATEWAY_TIMEOUT,
                format!("hark: {host}:{port}: timed out\n"),
            );
        }
    };
    ex.phases.connect = ms(t.elapsed());
    ex.server_ip = tcp.peer_addr().ok().map(|a| a.ip().to_string());
    tokio::spawn(async move {
        let Ok(up) = hyper::upgrade::on(req).await else {
            (sh.sink)(ex);
            return;
        };
        let t = Instant::now();
        // Bytes are counted even when a side ends with an error (a reset at close).
        let (cr, cw) = tokio::io::split(TokioIo::new(up));
        let (ur, uw) = tcp.into_split();
        let both =
            async { tokio::join!(crate::tunnel::relay(cr, uw), crate::tunnel::relay(ur, cw)) };
        relay_or_stop(&sh, &mut ex, both).await;
        ex.phases.receive = ms(t.elapsed());
        ex.extra.push(("_passthrough", true.into()));
        ex.response = Some(ResponseInfo {
            status: 200,
            status_text: "Connection Established".into(),
            // Hark's own answer: no HTTP went upstream.
            http_version: "",
            headers: Vec::new(),
            headers_size: -1,
        });
        (sh.sink)(ex);
    });
    Response::new(empty())
}
