//! `hark-record`: a recording proxy for HTTP/1.1, HTTP/2, HTTPS (intercepted with a
//! local CA) and WebSocket. Every finished exchange is appended to a durable journal at
//! once; [`journal::finish`] turns the journal into a HAR (after a clean stop, or after
//! a crash). See docs/record.md.
//!
//! Modules, one job each: [`ca`] (the local CA and leaf certificates), [`upstream`]
//! (connections with measured DNS/connect/TLS, pooled), `body` (bodies streamed and
//! captured), [`entry`] (HAR entries), [`ws`] (WebSocket frames), [`journal`] (the
//! crash-safe store), [`pages`] (a page per navigation), [`marks`] (pages named while
//! recording), `proxy` (the server itself), [`Session`] (`hark record` from start
//! to HAR).

mod auth;
mod body;
pub mod ca;
pub mod entry;
mod error;
pub mod journal;
pub mod marks;
pub mod pages;
mod proxy;
mod session;
mod tap;
pub mod tunnel;
pub mod upstream;
pub mod ws;

pub use auth::{basic_credentials, basic_credentials_in, ProxyToken, TUNNEL_OK};
pub use body::Sink;
pub use body::Throttle;
pub use error::RecordError;
pub use proxy::{accept, Config, Decision, Policy};
pub use session::{check_journal_free, journal_for, Recorded, Session};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A bound proxy, ready to run.
pub struct Recorder {
    listener: std::net::TcpListener,
    cfg: Config,
    ca: Arc<ca::Ca>,
    tls: upstream::Tls,
    journal: journal::JournalWriter,
    policy: Option<Arc<dyn Policy>>,
    recorded: Arc<std::sync::atomic::AtomicU64>,
    observer: Option<Observer>,
    marks: marks::Marks,
    token: Option<String>,
}

/// One finished exchange, as a live log shows it (the library prints nothing: a caller
/// that wants lines gives [`Recorder::on_exchange`] a function).
#[derive(Debug, Clone)]
pub struct Event {
    /// Epoch milliseconds when the request arrived.
    pub start_ms: f64,
    pub method: String,
    pub url: String,
    /// 0 for a failure (see `error`).
    pub status: u16,
    /// Response body bytes on the wire (0 when none came).
    pub bytes: u64,
    /// The entry's `time`, in milliseconds.
    pub time_ms: f64,
    /// What the client spoke (`HTTP/1.1`, `h2`).
    pub http_version: &'static str,
    /// The entry's `response._error`.
    pub error: Option<String>,
    /// Whether it went to the journal (false: it could not be written).
    pub recorded: bool,
}

/// Called with every finished exchange, on the proxy's threads: it must be quick (hand
/// the event to a channel).
pub type Observer = Arc<dyn Fn(Event) + Send + Sync>;

impl Event {
    fn of(ex: &entry::Exchange, recorded: bool) -> Event {
        Event {
            start_ms: ex.start_us as f64 / 1000.0,
            method: ex.request.method.clone(),
            url: ex.request.url.clone(),
            status: match (&ex.response, &ex.error) {
                (Some(r), None) => r.status,
                _ => 0,
            },
            bytes: ex.response_body.total,
            time_ms: ex.phases.total(),
            http_version: ex.request.http_version,
            error: ex.error.clone(),
            recorded,
        }
    }
}

/// What a run recorded.
#[derive(Debug, Clone, Copy)]
pub struct RunStats {
    /// Exchanges appended to the journal.
    pub entries: u64,
    /// Exchanges still in flight when the run stopped (not recorded).
    pub unfinished: usize,
}

impl Recorder {
    /// Load (or create) the CA, open the journal and bind the listener.
    pub fn bind(cfg: Config, journal_path: &Path) -> Result<Recorder, RecordError> {
        let ca = Arc::new(ca::Ca::load_or_create(&cfg.ca_dir)?);
        let tls = upstream::tls_config(&cfg.upstream_ca, cfg.insecure_upstream)?;
        let listener =
            std::net::TcpListener::bind(cfg.listen).map_err(|source| RecordError::Listen {
                addr: cfg.listen.to_string(),
                source,
            })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| RecordError::Listen {
                addr: cfg.listen.to_string(),
                source,
            })?;
        let journal = journal::JournalWriter::create(journal_path)?;
        let marks = marks::Marks::create(journal_path)?;
        Ok(Recorder {
            listener,
            cfg,
            ca,
            tls,
            journal,
            policy: None,
            recorded: Arc::default(),
            observer: None,
            marks,
            token: None,
        })
    }

    /// Require proxy authentication with `token` as the password ([`ProxyToken`]); the
    /// proxy's own endpoints (page markers) then want it too.
    pub fn with_token(mut self, token: &str) -> Recorder {
        self.token = Some(token.to_string());
        self.with_policy(Arc::new(ProxyToken::new(token)))
    }

    /// Start a page now, titled `title` ([`marks`]): `hark record --page NAME`. Later
    /// ones come from `POST /pages` to the proxy.
    pub fn mark_page(&self, title: &str) -> Result<serde_json::Value, marks::MarkError> {
        self.marks.add(Some(title), None)
    }

    /// Call `f` with every finished exchange (a live log).
    pub fn on_exchange(&mut self, f: Observer) {
        self.observer = Some(f);
    }

    /// Call `f` with every page marker made ([`marks`]), for the live log.
    pub fn on_page(&mut self, f: marks::Observer) {
        self.marks.on_add(f);
    }

    /// Per-request rules, e.g. [`ProxyToken`] for a proxy reachable from elsewhere.
    pub fn with_policy(mut self, policy: Arc<dyn Policy>) -> Recorder {
        self.policy = Some(policy);
        self
    }

    /// Exchanges written to the journal so far (for a live count).
    pub fn recorded(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.recorded.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener")
    }

    pub fn ca_cert_path(&self) -> PathBuf {
        self.ca.cert_path()
    }

    /// Serve until `stop` resolves, then wait up to `grace` for exchanges in flight and
    /// close the journal. Must run inside a Tokio runtime.
    pub async fn run(
        self,
        stop: impl std::future::Future<Output = ()>,
        grace: Duration,
    ) -> Result<RunStats, RecordError> {
        let Recorder {
            listener,
            cfg,
            ca,
            tls,
            journal,
            policy,
            recorded,
            observer,
            marks,
            token,
        } = self;
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|source| RecordError::Listen {
                addr: cfg.listen.to_string(),
                source,
            })?;
        // Each finished exchange is appended with one write() before the last bytes of
        // its response are handed to the client: once a client has seen an exchange
        // end, it is in the page cache and survives `kill -9` of the proxy.
        let journal = Arc::new(Mutex::new(journal));
        let failed: Arc<Mutex<Option<RecordError>>> = Arc::default();
        let inflight = Arc::new(AtomicUsize::new(0));
        let (sink_journal, sink_failed, sink_inflight) =
            (journal.clone(), failed.clone(), inflight.clone());
        let sink: body::Sink = Arc::new(move |ex: entry::Exchange| {
            let json = serde_json::to_vec(&ex.to_json()).expect("an entry serialises");
            let r = sink_journal.lock().unwrap().append(ex.start_us, &json);
            let ok = r.is_ok();
            match r {
                Ok(()) => {
                    recorded.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    sink_failed.lock().unwrap().get_or_insert(e);
                }
            }
            if let Some(f) = &observer {
                f(Event::of(&ex, ok));
            }
            sink_inflight.fetch_sub(1, Ordering::Relaxed);
        });
        let shared = Arc::new(proxy::Shared {
            cfg,
            ca,
            tls,
            sink,
            inflight: inflight.clone(),
            policy,
            control: Some(Arc::new(proxy::Control {
                marks,
                token: token.map(ProxyToken::new),
            })),
            closing: tokio::sync::watch::channel(false).0,
        });
        let server = tokio::spawn(proxy::serve(listener, shared.clone()));
        stop.await;
        server.abort();
        let unfinished = drain(&inflight, &shared, grace).await;
        if let Some(e) = failed.lock().unwrap().take() {
            return Err(e);
        }
        let journal = journal.lock().unwrap();
        journal.sync()?;
        Ok(RunStats {
            entries: journal.count(),
            unfinished,
        })
    }
}

/// A proxy hosted by a service (`hark serve`): many in one process share one loaded CA
/// and one upstream TLS configuration, and each hands its finished exchanges to its own
/// sink (instead of a journal) after its own per-request [`Policy`].
pub struct Hosted {
    task: tokio::task::JoinHandle<()>,
    inflight: Arc<AtomicUsize>,
    shared: Arc<proxy::Shared>,
}

/// Serve `listener` as a recording proxy until [`Hosted::stop`]. `cfg.listen`, `ca_dir`,
/// `upstream_ca` and `insecure_upstream` are not used (the listener, `ca` and `tls` are
/// given). Must be called inside a Tokio runtime.
pub fn spawn_proxy(
    listener: tokio::net::TcpListener,
    cfg: Config,
    ca: Arc<ca::Ca>,
    tls: &upstream::Tls,
    sink: Sink,
    policy: Option<Arc<dyn Policy>>,
) -> Hosted {
    let inflight = Arc::new(AtomicUsize::new(0));
    let counter = inflight.clone();
    let sink: Sink = Arc::new(move |ex: entry::Exchange| {
        sink(ex);
        counter.fetch_sub(1, Ordering::Relaxed);
    });
    let shared = Arc::new(proxy::Shared {
        cfg,
        ca,
        tls: upstream::Tls {
            h1: tls.h1.clone(),
            h2: tls.h2.clone(),
        },
        sink,
        inflight: inflight.clone(),
        policy,
        control: None,
        closing: tokio::sync::watch::channel(false).0,
    });
    Hosted {
        task: tokio::spawn(proxy::serve(listener, shared.clone())),
        inflight,
        shared,
    }
}

impl Hosted {
    /// Exchanges started and not yet handed to the sink.
    pub fn inflight(&self) -> usize {
        self.inflight.load(Ordering::Relaxed)
    }

    /// Stop accepting (the port is released at once), then wait up to `grace` for
    /// exchanges in flight. Returns how many were still unfinished.
    pub async fn stop(self, grace: Duration) -> usize {
        let Hosted {
            task,
            inflight,
            shared,
        } = self;
        task.abort();
        let _ = task.await;
        drain(&inflight, &shared, grace).await
    }
}

/// Wait up to `grace` for exchanges in flight; then have open WebSockets recorded as
/// they are (up to 1 s more). Returns how many exchanges were still unfinished.
async fn drain(inflight: &AtomicUsize, shared: &proxy::Shared, grace: Duration) -> usize {
    let wait = |limit: Duration| async move {
        let deadline = tokio::time::Instant::now() + limit;
        while inflight.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    wait(grace).await;
    if inflight.load(Ordering::Relaxed) > 0 {
        shared.closing.send_replace(true);
        wait(Duration::from_secs(1)).await;
    }
    inflight.load(Ordering::Relaxed)
}
