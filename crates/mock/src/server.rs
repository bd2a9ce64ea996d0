//! The listener: origin-form requests, absolute-form proxy requests and `CONNECT`
//! tunnels (TLS terminated with a leaf from hark's CA, ALPN h2 or http/1.1; plain HTTP
//! served as it comes).

use crate::answer::{answer, text};
use crate::matcher::normal_host;
use crate::{Delay, Incoming, Mock, Outcome};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use record::ca::{Ca, Resolver};
use record::tunnel::Prefixed;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// The largest request body read for matching.
pub const MAX_BODY: usize = 64 << 20;

#[derive(Clone)]
struct Conn {
    mock: Arc<Mock>,
    ca: Option<Arc<Ca>>,
    /// Inside a CONNECT tunnel: the normalised target host.
    tunnel: Option<String>,
    /// Inside a CONNECT tunnel whose TLS was terminated.
    tls: bool,
}

/// Serve `listener` until `stop` resolves. `ca` intercepts CONNECT tunnels' TLS (without
/// one, a TLS tunnel is refused).
pub async fn serve(
    mock: Arc<Mock>,
    ca: Option<Arc<Ca>>,
    listener: tokio::net::TcpListener,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        let tcp = tokio::select! {
            _ = &mut stop => return,
            tcp = record::accept(&listener) => tcp,
        };
        let conn = Conn {
            mock: mock.clone(),
            ca: ca.clone(),
            tunnel: None,
            tls: false,
        };
        tokio::spawn(serve_h1(tcp, conn));
    }
}

async fn serve_h1<I>(io: I, conn: Conn)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| handle(conn.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades()
        .await;
}

async fn serve_h2<I>(io: I, conn: Conn)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req| handle(conn.clone(), req));
    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(io), svc)
        .await;
}

async fn handle(
    conn: Conn,
    mut req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == Method::CONNECT {
        let Some(auth) = req.uri().authority().map(|a| a.as_str().to_string()) else {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                "CONNECT without host:port\n".into(),
            ));
        };
        tokio::spawn(async move {
            if let Ok(up) = hyper::upgrade::on(req).await {
                tunnel(conn, TokioIo::new(up), auth).await;
            }
        });
        return Ok(Response::new(Full::default()));
    }
    let host = match req.uri().authority() {
        Some(a) => Some(normal_host(
            req.uri().scheme_str() == Some("https"),
            a.as_str(),
        )),
        None => conn.tunnel.clone(),
    };
    let https = req.uri().scheme_str() == Some("https") || conn.tls;
    let method = req.method().as_str().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    let ws_key = req
        .headers()
        .get(http::header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|_| {
            req.headers()
                .get(http::header::UPGRADE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
        });
    let upgrade = ws_key.as_ref().map(|_| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                format!("hark mock: cannot read the request body: {e}\n"),
            ))
        }
    };
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let incoming = Incoming {
        method: &method,
        host,
        target: &target,
        headers,
        content_type,
        body: &body,
    };
    let mock = &conn.mock;
    match mock.find(&incoming) {
        Outcome::Hit(i) => {
            if let Delay::Factor(f) = mock.opts.delay {
                let ms = (mock.index.recs[i].time as f64 * f).clamp(0.0, 600_000.0);
                tokio::time::sleep(Duration::from_micros((ms * 1000.0) as u64)).await;
            }
            Ok(match mock.index.entry_bytes(i) {
                Ok(bytes) => match (ws_key, upgrade) {
                    (Some(key), Some(on)) => crate::ws::accept(&bytes, &key, on)
                        .unwrap_or_else(|| answer(&bytes, &method)),
                    _ => answer(&bytes, &method),
                },
                Err(e) => text(StatusCode::BAD_GATEWAY, format!("hark mock: {e}\n")),
            })
        }
        Outcome::Miss(_) if mock.client.is_some() => {
            Ok(forward(mock, https, &incoming, &parts.headers).await)
        }
        Outcome::Miss(miss) => {
            let mut body = serde_json::to_vec_pretty(&serde_json::json!({
                "error": "hark mock: no recorded answer for this request",
                "request": format!("{} {}", miss.method, miss.url),
                "closest": miss.closest,
                "differences": miss.differences,
            }))
            .unwrap_or_default();
            body.push(b'\n');
            let mut r = Response::new(Full::new(Bytes::from(body)));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            r.headers_mut()
                .insert("x-hark-mock", http::HeaderValue::from_static("miss"));
            Ok(r)
        }
    }
}

/// What comes through a CONNECT tunnel: TLS with a leaf for the host, or plain HTTP.
fn tunnel<I>(conn: Conn, io: I, auth: String) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::pin(tunnel_inner(conn, io, auth))
}

async fn tunnel_inner<I>(mut conn: Conn, mut io: I, auth: String)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = vec![0u8; 4096];
    let n = match io.read(&mut buf).await {
        Ok(0) | Err(_) => return,
        Ok(n) => n,
    };
    buf.truncate(n);
    let is_tls = buf[0] == 0x16;
    let io = Prefixed::new(buf, io);
    let bare = auth
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|c| c.is_ascii_digit()))
        .map_or(auth.as_str(), |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if !is_tls {
        conn.tunnel = Some(normal_host(false, &auth));
        serve_h1(io, conn).await;
        return;
    }
    let Some(ca) = conn.ca.clone() else { return };
    conn.tunnel = Some(normal_host(true, &auth));
    conn.tls = true;
    let Some(acceptor) = (Resolver { ca, fallback: bare }).acceptor() else {
        return;
    };
    let Ok(tls) = acceptor.accept(io).await else {
        return;
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    if h2 {
        serve_h2(tls, conn).await;
    } else {
        serve_h1(tls, conn).await;
    }
}

/// `--passthrough`: send a miss to the real server, answer with what it said, keep the
/// exchange.
async fn forward(
    mock: &Mock,
    https: bool,
    req: &Incoming<'_>,
    headers: &http::HeaderMap,
) -> Response<Full<Bytes>> {
    let base = match (&req.host, &mock.opts.host) {
        (Some(h), _) => format!("{}://{h}", if https { "https" } else { "http" }),
        (None, Some(h)) if h.contains("://") => h.trim_end_matches('/').to_string(),
        (None, Some(h)) => format!("http://{h}"),
        (None, None) => {
            return text(
                StatusCode::BAD_GATEWAY,
                "hark mock: no recorded answer, and no host to forward an origin-form request to (--host)\n".into(),
            )
        }
    };
    let Ok(url) = url::Url::parse(&format!("{base}{}", req.target)) else {
        return text(
            StatusCode::BAD_REQUEST,
            "hark mock: bad request target\n".into(),
        );
    };
    let job = replay::Job {
        method: req.method.to_string(),
        url,
        headers: headers
            .iter()
            .filter(|(n, _)| !replay::dropped_header(n.as_str()))
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        cookie: headers
            .get(http::header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: req.body.to_vec(),
    };
    let Some(client) = &mock.client else {
        return text(
            StatusCode::BAD_GATEWAY,
            "hark mock: no passthrough\n".into(),
        );
    };
    let ex = client.send(job).await;
    mock.keep_forwarded(ex.to_json());
    let Some(resp) = ex.response.as_ref().filter(|_| ex.error.is_none()) else {
        return text(
            StatusCode::BAD_GATEWAY,
            format!(
                "hark mock: forwarding failed: {}\n",
                ex.error.as_deref().unwrap_or("no response")
            ),
        );
    };
    let mut out = Response::builder().status(resp.status);
    for (n, v) in &resp.headers {
        let l = n.to_ascii_lowercase();
        if replay::dropped_header(&l) && l != "cookie" {
            continue;
        }
        out = out.header(n.as_str(), v.as_str());
    }
    let body = ex.response_body.bytes.clone();
    out = out.header(http::header::CONTENT_LENGTH, body.len());
    out.body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|e| text(StatusCode::BAD_GATEWAY, format!("hark mock: {e}\n")))
}
