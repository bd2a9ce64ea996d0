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
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let conn = Conn {
            mock: mock.clone(),
            ca: ca.clone(),
            tunnel: None,
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
    req: Request<hyper::body::Incoming>,
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
    let method = req.method().as_str().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
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
                Ok(bytes) => answer(&bytes, &method),
                Err(e) => text(StatusCode::BAD_GATEWAY, format!("hark mock: {e}\n")),
            })
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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(builder) =
        rustls::ServerConfig::builder_with_provider(provider).with_safe_default_protocol_versions()
    else {
        return;
    };
    let mut sc = builder
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver { ca, fallback: bare }));
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let Ok(tls) = tokio_rustls::TlsAcceptor::from(Arc::new(sc))
        .accept(io)
        .await
    else {
        return;
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    if h2 {
        serve_h2(tls, conn).await;
    } else {
        serve_h1(tls, conn).await;
    }
}
