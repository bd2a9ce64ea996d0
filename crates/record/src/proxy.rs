//! The proxy: absolute-form HTTP requests and CONNECT tunnels (TLS intercepted with a
//! leaf from the local CA, or passed through untouched), HTTP/1.1 and HTTP/2 on both
//! sides, WebSocket upgrades. Every exchange, failed ones included, goes to the sink.

use crate::body::{Pending, ReqCapture, ReqTee, RespTee, Sink, Throttle, Throttled};
use crate::ca::{Ca, Resolver};
use crate::entry::{ms, Captured, Exchange, RequestInfo, ResponseInfo};
use crate::tunnel::Prefixed;
use crate::upstream::{self, BoxError, Failure, Key, Pool, Sender, Setup, Tls, UpBody};
use crate::ws;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// How the proxy behaves.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Directory of the local CA (created on first use).
    pub ca_dir: PathBuf,
    /// Extra PEM files of trusted upstream CAs.
    pub upstream_ca: Vec<PathBuf>,
    pub insecure_upstream: bool,
    /// Hosts whose CONNECT tunnels are relayed untouched (pinned apps).
    pub passthrough: Vec<String>,
    /// Bytes of each body kept in the entry; the rest is counted and marked cut.
    pub max_body: usize,
    /// Connecting, waiting for response headers, and silence between body chunks.
    pub upstream_timeout: Duration,
}

pub(crate) struct Shared {
    pub cfg: Config,
    pub ca: Arc<Ca>,
    pub tls: Tls,
    pub sink: Sink,
    pub inflight: Arc<AtomicUsize>,
    /// Per-request rules of an embedding service (`hark serve`); `None` for `hark record`.
    pub policy: Option<Arc<dyn Policy>>,
    /// Set to true when recording stops: open WebSockets are then recorded as they are.
    pub closing: tokio::sync::watch::Sender<bool>,
}

/// What a [`Policy`] decides for one request.
#[derive(Clone, Debug, Default)]
pub struct Decision {
    /// Answer the client with this status (empty body) without going upstream; the
    /// request is not recorded (BrowserMob's blacklist/whitelist).
    pub answer: Option<u16>,
    /// Wait this long before going upstream (BrowserMob's `latency` limit).
    pub delay: Duration,
    /// Whose request this is: set on the entry ([`Exchange::tag`]); from
    /// [`Policy::connect`], it holds for every request in the tunnel.
    pub tag: Option<Arc<str>>,
    /// Request headers to set (`Some`) or remove (`None`) before the request goes
    /// upstream; the entry records the request as sent, with these edits.
    pub headers: Vec<(http::HeaderName, Option<HeaderValue>)>,
    /// Bandwidth limit on the request body going upstream (BrowserMob's `upstreamKbps`).
    pub upstream: Option<Arc<Throttle>>,
    /// Bandwidth limit on the response body going to the client (`downstreamKbps`).
    pub downstream: Option<Arc<Throttle>>,
}

/// Apply a [`Decision`]'s header edits to a recorded header list (names compared
/// without case).
fn edit_list(list: &mut Vec<(String, String)>, edits: &[(http::HeaderName, Option<HeaderValue>)]) {
    for (k, v) in edits {
        list.retain(|(n, _)| !n.eq_ignore_ascii_case(k.as_str()));
        if let Some(v) = v {
            list.push((
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ));
        }
    }
}

/// Per-request rules for a proxy hosted by a service (see [`crate::spawn_proxy`]):
/// called once per request, before it is recorded or sent upstream, with the full URL.
/// It may add or change request headers (they are recorded as sent).
/// An `answer` of 407 goes out with `Proxy-Authenticate: Basic realm="hark"`.
pub trait Policy: Send + Sync {
    /// `tag` is what [`Policy::connect`] decided for the tunnel the request came through.
    fn request(
        &self,
        tag: Option<&Arc<str>>,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
    ) -> Decision;
    /// A `CONNECT`, before it is answered: `answer` refuses it, `tag` tags the tunnel.
    fn connect(&self, _authority: &str, _headers: &HeaderMap) -> Decision {
        Decision::default()
    }
}

fn refusal(status: u16) -> Response<UpBody> {
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    if status == 407 {
        r.headers_mut().insert(
            header::PROXY_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"hark\""),
        );
    }
    r
}

#[derive(Clone)]
struct Tunnel {
    https: bool,
    host: String,
    port: u16,
}

#[derive(Clone)]
struct Conn {
    shared: Arc<Shared>,
    tunnel: Option<Tunnel>,
    pool: Arc<Pool>,
    client_h2: bool,
    /// The tunnel's tag (from [`Policy::connect`]).
    tag: Option<Arc<str>>,
    /// What the client's HTTP/1.1 connection read, to find request heads as sent.
    tap: Option<crate::tap::Shared>,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// An exchange that reaches the sink whatever happens: if the handler is dropped (the
/// client went away before the response), it is recorded as aborted.
struct Guard {
    ex: Option<Exchange>,
    sink: Sink,
}

impl Guard {
    fn fail(mut self, f: &Failure) {
        if let Some(mut ex) = self.ex.take() {
            set_setup(&mut ex, &f.setup);
            ex.error = Some(f.text());
            (self.sink)(ex);
        }
    }
    fn take(mut self) -> Exchange {
        self.ex
            .take()
            .expect("guard holds its exchange until taken")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut ex) = self.ex.take() {
            ex.error = Some("net::ERR_ABORTED (client went away before the response)".into());
            (self.sink)(ex);
        }
    }
}

fn set_setup(ex: &mut Exchange, s: &Setup) {
    ex.phases.blocked = s.blocked;
    ex.phases.dns = s.dns;
    ex.phases.connect = s.connect;
    ex.phases.ssl = s.ssl;
}

pub(crate) async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                // Out of file descriptors and the like: back off, keep serving.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let conn = Conn {
            shared: shared.clone(),
            tunnel: None,
            pool: Arc::new(Pool::default()),
            client_h2: false,
            tag: None,
            tap: None,
        };
        tokio::spawn(serve_h1(tcp, conn));
    }
}

async fn serve_h1<I>(io: I, mut conn: Conn)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (io, tap) = crate::tap::Tap::new(io);
    conn.tap = Some(tap);
    let svc = service_fn(move |req| handle(conn.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
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

fn text_response(status: StatusCode, text: String) -> Response<UpBody> {
    let mut r = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|e| -> BoxError { match e {} })
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn empty() -> UpBody {
    Empty::<Bytes>::new()
        .map_err(|e| -> BoxError { match e {} })
        .boxed()
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "h2",
        Version::HTTP_3 => "h3",
        _ => "",
    }
}

fn header_list(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn head_size(first_line_len: usize, h: &HeaderMap) -> i64 {
    let mut n = first_line_len + 2 + 2;
    for (k, v) in h {
        n += k.as_str().len() + 2 + v.len() + 2;
    }
    n as i64
}

/// Hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1), plus the names
/// listed in `Connection`.
fn strip_hop(h: &mut HeaderMap, keep_upgrade: bool) {
    let listed: Vec<String> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in listed {
        if keep_upgrade && name == "upgrade" {
            continue;
        }
        h.remove(name.as_str());
    }
    for name in [
        "proxy-connection",
        "proxy-authorization",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
    ] {
        h.remove(name);
    }
    if !keep_upgrade {
        h.remove(header::CONNECTION);
        h.remove(header::UPGRADE);
    }
}

fn split_authority(a: &str, default_port: u16) -> (String, u16) {
    if let Some(rest) = a.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once(']') {
            let port = p.trim_start_matches(':').parse().unwrap_or(default_port);
            return (format!("[{h}]"), port);
        }
    }
    match a.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
            (h.to_string(), p.parse().unwrap_or(default_port))
        }
        _ => (a.to_string(), default_port),
    }
}

async fn handle(conn: Conn, mut req: Request<Incoming>) -> Result<Response<UpBody>, Infallible> {
    if req.method() == Method::CONNECT && conn.tunnel.is_none() {
        return Ok(connect(conn, req).await);
    }
    let start_us = now_us();
    let sh = conn.shared.clone();
    let (https, host, port) = match &conn.tunnel {
        Some(t) => (t.https, t.host.clone(), t.port),
        None => {
            let uri = req.uri();
            let https = match uri.scheme_str() {
                Some("http") => false,
                Some("https") => true,
                _ => {
                    return Ok(text_response(
                        StatusCode::BAD_REQUEST,
                        "hark record is a forward proxy: configure it as the HTTP(S) proxy \
                         (absolute-form requests and CONNECT)\n"
                            .into(),
                    ))
                }
            };
            let Some(auth) = uri.authority() else {
                return Ok(text_response(
                    StatusCode::BAD_REQUEST,
                    "request URL without a host\n".into(),
                ));
            };
            let (h, p) = split_authority(auth.as_str(), if https { 443 } else { 80 });
            (https, h, p)
        }
    };
    let scheme = if https { "https" } else { "http" };
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
    let url = format!("{scheme}://{host_port}{path}");
    let mut delay = Duration::ZERO;
    let mut tag = conn.tag.clone();
    let mut edits = Vec::new();
    let (mut up_limit, mut down_limit) = (None, None);
    if let Some(p) = &sh.policy {
        let d = p.request(conn.tag.as_ref(), req.method(), &url, req.headers());
        if let Some(status) = d.answer {
            return Ok(refusal(status));
        }
        delay = d.delay;
        if d.tag.is_some() {
            tag = d.tag;
        }
        edits = d.headers;
        up_limit = d.upstream;
        down_limit = d.downstream;
    }
    for (k, v) in &edits {
        match v {
            Some(v) => {
                req.headers_mut().insert(k.clone(), v.clone());
            }
            None => {
                req.headers_mut().remove(k);
            }
        }
    }

    // The request as the client sent it.
    let version = req.version();
    let mut headers = Vec::with_capacity(req.headers().len() + 4);
    let headers_size = if version == Version::HTTP_2 {
        let authority = req
            .uri()
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| host_port.clone());
        headers.push((":method".to_string(), req.method().to_string()));
        headers.push((":authority".to_string(), authority));
        headers.push((":scheme".to_string(), scheme.to_string()));
        headers.push((":path".to_string(), path.clone()));
        -1
    } else {
        let target = if conn.tunnel.is_some() {
            path.len()
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
            edit_list(&mut headers, &edits);
            size as i64
        }
        None => {
            headers.extend(header_list(req.headers()));
            headers_size
        }
    };
    let info = RequestInfo {
        method: req.method().to_string(),
        url,
        http_version: version_str(version),
        headers,
        headers_size,
    };
    sh.inflight.fetch_add(1, Ordering::Relaxed);
    let mut ex = Exchange::new(start_us, info, sh.cfg.max_body);
    ex.tag = tag;
    let mut guard = Guard {
        ex: Some(ex),
        sink: sh.sink.clone(),
    };
    let key = Key {
        https,
        host: host.clone(),
        port,
    };
    let is_ws = version != Version::HTTP_2
        && req
            .headers()
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_ws {
        let client_up = hyper::upgrade::on(&mut req);
        return Ok(websocket(conn, req, client_up, guard, key, path).await);
    }

    let (mut parts, body) = req.into_parts();
    strip_hop(&mut parts.headers, false);
    let cap = Arc::new(Mutex::new(ReqCapture {
        body: Captured::new(sh.cfg.max_body),
        done: None,
    }));
    let body_empty = body.is_end_stream();
    let tee: UpBody = match up_limit {
        // Inside the tee: the body counts as sent when the limit lets it through.
        Some(t) => ReqTee::new(Throttled::new(body, t), cap.clone()).boxed(),
        None => ReqTee::new(body, cap.clone()).boxed(),
    };

    let timeout = sh.cfg.upstream_timeout;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
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
            return Ok(text_response(status, text));
        }
    };
    if let Some(ex) = guard.ex.as_mut() {
        set_setup(ex, &setup);
        ex.server_ip = Some(up.ip.to_string());
        ex.connection = Some(up.id.to_string());
    }
    let host_value = HeaderValue::from_str(&host_port).ok();
    if up.is_h2() {
        parts.version = Version::HTTP_2;
        parts.uri = format!("{scheme}://{host_port}{path}")
            .parse::<Uri>()
            .unwrap_or_default();
        parts.headers.remove(header::HOST);
    } else {
        parts.version = Version::HTTP_11;
        parts.uri = path.parse::<Uri>().unwrap_or_default();
        if !parts.headers.contains_key(header::HOST) {
            if let Some(h) = host_value {
                parts.headers.insert(header::HOST, h);
            }
        }
    }
    let up_req = Request::from_parts(parts, tee);
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
            return Ok(text_response(status, text));
        }
    };
    let (mut rparts, rbody) = resp.into_parts();
    // HTTP/2 has no reason phrase: "" as browsers write it.
    let status_text = if rparts.version == Version::HTTP_2 {
        String::new()
    } else {
        rparts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .unwrap_or_else(|| rparts.status.canonical_reason().unwrap_or("").to_string())
    };
    let rversion = rparts.version;
    let rheaders_size = if rversion == Version::HTTP_2 {
        -1
    } else {
        head_size(8 + 1 + 3 + 1 + status_text.len(), &rparts.headers)
    };
    let (rheaders, rheaders_size) = up
        .tap
        .as_ref()
        .and_then(|t| crate::tap::response_head(t, rparts.status.as_u16()))
        .map(|(h, n)| (h, n as i64))
        .unwrap_or_else(|| (header_list(&rparts.headers), rheaders_size));
    let mut ex = guard.take();
    ex.phases.send = send;
    ex.phases.wait = wait;
    ex.response = Some(ResponseInfo {
        status: rparts.status.as_u16(),
        status_text,
        http_version: version_str(rversion),
        headers: rheaders,
        headers_size: rheaders_size,
    });
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
    let body = match down_limit {
        // Inside the tee: the exchange ends when the client is given the last byte.
        Some(t) => RespTee::new(Throttled::new(rbody, t), pending, timeout).boxed(),
        None => RespTee::new(rbody, pending, timeout).boxed(),
    };
    Ok(Response::from_parts(rparts, body))
}

/// Tiny either-future so both senders' futures fit one `match`.
mod futures_either {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub enum Either<A, B> {
        Left(A),
        Right(B),
    }
    pub use Either::{Left, Right};

    impl<A, B, T> Future for Either<A, B>
    where
        A: Future<Output = T> + Unpin,
        B: Future<Output = T> + Unpin,
    {
        type Output = T;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            match self.get_mut() {
                Either::Left(a) => Pin::new(a).poll(cx),
                Either::Right(b) => Pin::new(b).poll(cx),
            }
        }
    }
}

async fn connect(mut conn: Conn, req: Request<Incoming>) -> Response<UpBody> {
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
    let n = match io.read(&mut buf).await {
        Ok(0) | Err(_) => return,
        Ok(n) => n,
    };
    buf.truncate(n);
    let is_tls = buf[0] == 0x16;
    let io = Prefixed::new(buf, io);
    if !is_tls {
        let conn = Conn {
            tunnel: Some(Tunnel {
                https: false,
                host,
                port,
            }),
            pool: Arc::new(Pool::default()),
            ..conn
        };
        serve_h1(io, conn).await;
        return;
    }
    let sh = conn.shared.clone();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(builder) =
        rustls::ServerConfig::builder_with_provider(provider).with_safe_default_protocol_versions()
    else {
        return;
    };
    let mut sc = builder
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver {
            ca: sh.ca.clone(),
            fallback: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        }));
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let start_us = now_us();
    let t = Instant::now();
    let tls = match tokio_rustls::TlsAcceptor::from(Arc::new(sc))
        .accept(io)
        .await
    {
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
    let conn = Conn {
        tunnel: Some(Tunnel {
            https: true,
            host,
            port,
        }),
        pool: Arc::new(Pool::default()),
        client_h2: h2,
        tap: None,
        ..conn
    };
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
        let mut closing = sh.closing.subscribe();
        tokio::select! {
            (sent, received) = async {
                tokio::join!(crate::tunnel::relay(cr, uw), crate::tunnel::relay(ur, cw))
            } => {
                ex.extra.push(("_bytesSent", sent.into()));
                ex.extra.push(("_bytesReceived", received.into()));
            }
            _ = closing.wait_for(|c| *c) => {
                ex.extra.push(("_openWhenRecordingStopped", true.into()));
            }
        }
        ex.phases.receive = ms(t.elapsed());
        ex.extra.push(("_passthrough", true.into()));
        ex.response = Some(ResponseInfo {
            status: 200,
            status_text: "Connection Established".into(),
            http_version: "HTTP/1.1",
            headers: Vec::new(),
            headers_size: -1,
        });
        (sh.sink)(ex);
    });
    Response::new(empty())
}

/// A WebSocket upgrade: its own upstream HTTP/1.1 connection; after the 101, bytes are
/// relayed and the messages recorded; the entry is written when the socket closes.
async fn websocket(
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
    let (mut up, setup) =
        match tokio::time::timeout(sh.cfg.upstream_timeout, upstream::connect_h1(&key, &sh.tls))
            .await
        {
            Ok(Ok(x)) => x,
            Ok(Err(f)) => {
                let text = format!("hark: {}\n", f.text());
                guard.fail(&f);
                return text_response(StatusCode::BAD_GATEWAY, text);
            }
            Err(_) => {
                let f = Failure {
                    code: "ERR_CONNECTION_TIMED_OUT",
                    detail: format!("{}:{}", key.host, key.port),
                    setup: Setup {
                        blocked: 0.0,
                        dns: -1.0,
                        connect: -1.0,
                        ssl: -1.0,
                    },
                };
                let text = format!("hark: {}\n", f.text());
                guard.fail(&f);
                return text_response(StatusCode::GATEWAY_TIMEOUT, text);
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
    let res = tokio::time::timeout(
        sh.cfg.upstream_timeout,
        s.send_request(Request::from_parts(parts, empty())),
    )
    .await;
    let t_headers = Instant::now();
    let mut resp = match res {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let f = Failure {
                code: "ERR_CONNECTION_RESET",
                detail: e.to_string(),
                setup,
            };
            let text = format!("hark: {}\n", f.text());
            guard.fail(&f);
            return text_response(StatusCode::BAD_GATEWAY, text);
        }
        Err(_) => {
            let f = Failure {
                code: "ERR_TIMED_OUT",
                detail: "no response to the WebSocket upgrade".into(),
                setup,
            };
            let text = format!("hark: {}\n", f.text());
            guard.fail(&f);
            return text_response(StatusCode::GATEWAY_TIMEOUT, text);
        }
    };
    let mut ex = guard.take();
    ex.phases.wait = ms(t_headers - t_send);
    let status_text = resp
        .extensions()
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .unwrap_or_else(|| resp.status().canonical_reason().unwrap_or("").to_string());
    let (rheaders, rsize) = up
        .tap
        .as_ref()
        .and_then(|t| crate::tap::response_head(t, resp.status().as_u16()))
        .map(|(h, n)| (h, n as i64))
        .unwrap_or_else(|| {
            (
                header_list(resp.headers()),
                head_size(8 + 1 + 3 + 1 + status_text.len(), resp.headers()),
            )
        });
    ex.response = Some(ResponseInfo {
        status: resp.status().as_u16(),
        status_text: status_text.clone(),
        http_version: version_str(resp.version()),
        headers: rheaders,
        headers_size: rsize,
    });
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
    let cap = sh.cfg.max_body;
    tokio::spawn(async move {
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
            let mut closing = sh.closing.subscribe();
            tokio::select! {
                (sent, received) = async { tokio::join!(a, b) } => {
                    ex.extra.push(("_bytesSent", sent.into()));
                    ex.extra.push(("_bytesReceived", received.into()));
                }
                _ = closing.wait_for(|c| *c) => {
                    ex.extra.push(("_openWhenRecordingStopped", true.into()));
                }
            }
        } else {
            ex.error = Some("net::ERR_ABORTED (WebSocket upgrade did not complete)".into());
        }
        ex.phases.receive = ms(t.elapsed());
        let mut m = msgs.lock().unwrap();
        ex.ws_messages = Some(std::mem::take(&mut m.list));
        ex.ws_truncated = m.truncated;
        drop(m);
        (sh.sink)(ex);
    });
    client_resp
}
