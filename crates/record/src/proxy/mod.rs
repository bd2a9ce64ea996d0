//! The proxy: absolute-form HTTP requests and CONNECT tunnels (TLS intercepted with a
//! leaf from the local CA, or passed through untouched), HTTP/1.1 and HTTP/2 on both
//! sides, WebSocket upgrades. Every exchange, failed ones included, goes to the sink.

mod connect;
mod control;
mod handle;
mod websocket;
mod wire;

use crate::body::{Sink, Throttle};
use crate::ca::Ca;
use crate::entry::Exchange;
use crate::upstream::{Failure, Pool, Setup, Tls};
pub(crate) use control::Control;
use http::{HeaderMap, HeaderValue, Method};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncWrite};

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
    /// How long a client may take to send a request's headers, counted from when the
    /// proxy starts waiting for them (also an idle keep-alive connection's life, the
    /// first bytes and TLS handshake in a CONNECT tunnel, and HTTP/2's keep-alive ping).
    pub header_timeout: Duration,
}

pub(crate) struct Shared {
    pub cfg: Config,
    pub ca: Arc<Ca>,
    pub tls: Tls,
    pub sink: Sink,
    pub inflight: Arc<AtomicUsize>,
    /// Per-request rules: an embedding service's (`hark serve`), or `hark record
    /// --token`'s proxy authentication.
    pub policy: Option<Arc<dyn Policy>>,
    /// The proxy's own endpoints (`hark record`'s page markers); `None` in a service,
    /// whose API is elsewhere.
    pub control: Option<Arc<Control>>,
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

impl Decision {
    /// Answer the client with `status` without going upstream (see [`Decision::answer`]).
    pub fn answer(status: u16) -> Decision {
        Decision {
            answer: Some(status),
            ..Decision::default()
        }
    }
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

impl Conn {
    /// The connection for what comes through this one's CONNECT tunnel to `host:port`:
    /// its own upstream pool; the tap is set by [`serve_h1`].
    fn into_tunnel(self, https: bool, host: String, port: u16, client_h2: bool) -> Conn {
        Conn {
            tunnel: Some(Tunnel { https, host, port }),
            pool: Arc::new(Pool::default()),
            client_h2,
            tap: None,
            ..self
        }
    }
}

/// Wait until both directions of a relay end (their byte counts go on the entry), or
/// until recording stops (the entry says it was still open).
async fn relay_or_stop(
    sh: &Shared,
    ex: &mut Exchange,
    both: impl std::future::Future<Output = (u64, u64)>,
) {
    let mut closing = sh.closing.subscribe();
    tokio::select! {
        (sent, received) = both => {
            ex.extra.push(("_bytesSent", sent.into()));
            ex.extra.push(("_bytesReceived", received.into()));
        }
        _ = closing.wait_for(|c| *c) => {
            ex.extra.push(("_openWhenRecordingStopped", true.into()));
        }
    }
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

/// The next connection on `listener`, with Nagle off. Accept errors (out of file
/// descriptors and the like) are waited out: back off 5 ms, try again.
pub async fn accept(listener: &tokio::net::TcpListener) -> tokio::net::TcpStream {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                let _ = tcp.set_nodelay(true);
                return tcp;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

pub(crate) async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let tcp = accept(&listener).await;
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
    let timeout = conn.shared.cfg.header_timeout;
    let svc = service_fn(move |req| handle::handle(conn.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .keep_alive(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeout)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades()
        .await;
}

async fn serve_h2<I>(io: I, conn: Conn)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let timeout = conn.shared.cfg.header_timeout;
    let svc = service_fn(move |req| handle::handle(conn.clone(), req));
    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(timeout)
        .keep_alive_timeout(timeout)
        .serve_connection(TokioIo::new(io), svc)
        .await;
}
