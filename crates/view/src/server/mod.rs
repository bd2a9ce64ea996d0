//! The HTTP side: a JSON API over a [`Library`] of indexed files and the embedded web
//! assets, with a strict Content-Security-Policy on every response and a Host check
//! against DNS rebinding.
//!
//! Routes (`{id}` is a file of the library, `{n}` an entry index):
//!
//! | route | answer |
//! |---|---|
//! | `/` , `/app.js`, `/style.css`, … | the viewer (embedded) |
//! | `/api/files` | the files: id, name, entries, indexing state |
//! | `/api/files/{id}/summary` | counts, bytes, page timings, status classes, types |
//! | `/api/files/{id}/rows?offset&limit&q&regex&status&type&domain&method&min_time&min_size&errors&sort&desc&group&search&search_regex&ids&from&to` | one window of the filtered, sorted table |
//! | `/api/files/{id}/entries/{n}` | one entry's details |
//! | `/api/files/{id}/entries/{n}/raw` | the entry's JSON as written in the file |
//! | `/api/files/{id}/entries/{n}/image` | the response body, for PNG/JPEG/GIF/WebP/AVIF/ICO only |
//! | `/api/files/{id}/entries/{n}/preview` | a document previewing the response (image, font, audio/video, HTML), for a sandboxed frame only: its own policy (`sandbox`, no scripts, nothing loaded) |
//! | `/api/files/{id}/overview?bins` | requests started per time bin over the whole capture, errors per bin, the pages' load events |
//! | `/api/files/{id}/findings` | `diagnose`'s findings and sign-in flows and `check`'s lint: `{"state": "pending" \| "done" \| "failed", "findings", "flows"}` |
//! | `/api/files/{id}/search?text&regex` | a search of every field, streamed as newline-delimited JSON (see docs/view.md) |
//! | `/api/compare?a&b&show&offset&limit` | files `a` and `b` paired as `hark diff` pairs them, each pair same, changed, only in A or only in B (`show=all\|changed\|a\|b`) |
//! | `/api/compare/pair?a&b&k` | pair `k` with its changed response headers and JSON fields |
//! | `/api/config` | what this viewer offers: `{"catalog": title or null, "maxUpload": bytes (0: no upload)}` |
//! | `GET /api/catalog` | the host's items (a capture service's jobs), when it gave a [`Catalog`] |
//! | `POST /api/catalog/{id}/open` | add the item's HAR (as far as it has come) to the library: `{"file": id}` |
//! | `POST /api/upload?name=` | a HAR (or `.har.gz`) as the request body, streamed to a temporary file and indexed: `{"file": id}` |
//!
//! Every `POST` needs the header `X-Hark-Upload: 1`: a page on another site cannot send it
//! without a CORS preflight, which the viewer never grants.

mod assets;
mod catalog;
mod compare;
mod files;
mod search;
mod upload;

pub use files::{row_json, summary_json};

use crate::{Library, ViewError};
use assets::{asset, index_html};
use axum::body::Body;
use axum::extract::{Request, State as S};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use catalog::{catalog_list, catalog_open, config};
use files::{entry, files, image, overview, preview, raw, rows, summary};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use upload::{upload, Uploads};

/// The policy on every response: nothing from the HAR can run, nothing loads from
/// elsewhere.
/// Frames: only the viewer's own previews (`/entries/{n}/preview`, sandboxed).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Which `Host` headers are answered.
#[derive(Clone, Debug)]
pub enum HostCheck {
    /// Only `127.0.0.1:port`, `localhost:port` and `[::1]:port` (DNS rebinding cannot
    /// reach the server through another name).
    Loopback(u16),
    /// Any host (`--listen` on another address).
    Any,
    /// An address, not a name: any IP literal or `localhost`, with this port. Off
    /// loopback this still keeps DNS rebinding out (a rebound name is a name).
    Address(u16),
}

impl HostCheck {
    /// What a server listening on `addr` answers: loopback names for its port when it
    /// listens on loopback, any host otherwise.
    pub fn for_addr(addr: std::net::SocketAddr) -> HostCheck {
        if addr.ip().is_loopback() {
            HostCheck::Loopback(addr.port())
        } else {
            HostCheck::Any
        }
    }

    pub fn allows(&self, host: Option<&str>) -> bool {
        match self {
            HostCheck::Any => true,
            HostCheck::Address(port) => {
                let Some(h) = host else { return false };
                let (name, p) = match h.rsplit_once(':') {
                    Some((n, p)) if !p.contains(']') => (n, p.parse::<u16>().ok()),
                    _ => (h, Some(80)),
                };
                let name = name.trim_start_matches('[').trim_end_matches(']');
                p == Some(*port)
                    && (name.eq_ignore_ascii_case("localhost")
                        || name.parse::<std::net::IpAddr>().is_ok())
            }
            HostCheck::Loopback(port) => {
                let Some(h) = host else { return false };
                let h = h.to_ascii_lowercase();
                ["127.0.0.1", "localhost", "[::1]"]
                    .iter()
                    .any(|n| h == format!("{n}:{port}") || (*port == 80 && h == *n))
            }
        }
    }
}

/// Items a host program offers to open in the viewer (a capture service's jobs). The
/// page lists them (refreshing the list while it is open) and opens one in a click.
pub trait Catalog: Send + Sync {
    /// What the list is called on the page (e.g. `Jobs`).
    fn title(&self) -> &str;
    /// The items, newest first or in the order the host prefers.
    fn list(&self) -> Vec<CatalogItem>;
    /// Add item `id`'s HAR (for a live item: as far as it has come) to `lib`; returns the
    /// file id. Called on a blocking thread. [`ViewError::NoItem`] when there is no such
    /// item.
    fn open(&self, id: &str, lib: &Library) -> Result<usize, ViewError>;
}

/// One line of a [`Catalog`].
#[derive(Clone, Debug, Serialize)]
pub struct CatalogItem {
    pub id: String,
    pub name: String,
    /// e.g. `running`, `stopped`, `interrupted`.
    pub state: String,
    /// Still growing: opening it again shows newer entries.
    pub live: bool,
    pub entries: u64,
    /// Bytes (of the journal or file behind the item).
    pub size: u64,
    /// ISO 8601.
    pub created: String,
}

/// How [`router_with`] serves: the Host check, an optional catalog, uploads, a token.
#[derive(Clone)]
pub struct Config {
    pub hosts: HostCheck,
    pub catalog: Option<Arc<dyn Catalog>>,
    /// Largest upload in bytes; 0: no uploads.
    pub max_upload: u64,
    /// Where uploads are stored (created if missing); a temporary directory removed
    /// with the router when `None`.
    pub upload_dir: Option<std::path::PathBuf>,
    /// Required on every request when set: `Authorization: Bearer <token>`, or the
    /// cookie that a link with `?token=<token>` sets.
    pub token: Option<String>,
}

impl Config {
    pub fn new(hosts: HostCheck) -> Config {
        Config {
            hosts,
            catalog: None,
            max_upload: DEFAULT_MAX_UPLOAD,
            upload_dir: None,
            token: None,
        }
    }
}

/// Default cap on an upload: 2 GiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 2 << 30;
const COOKIE: &str = "hark_view_token";

/// Comparisons computed, by (file a, file b).
type Compares = std::collections::HashMap<(usize, usize), Arc<crate::compare::Comparison>>;

#[derive(Clone)]
struct App {
    lib: Arc<Library>,
    hosts: HostCheck,
    catalog: Option<Arc<dyn Catalog>>,
    max_upload: u64,
    uploads: Arc<Uploads>,
    token: Option<Arc<str>>,
    /// Comparisons computed (`/api/compare`), by (file a, file b).
    compares: Arc<std::sync::Mutex<Compares>>,
    /// Held while a comparison's pairs are made.
    making: Arc<tokio::sync::Mutex<()>>,
}

/// The viewer's routes over `lib`, with no catalog and the default upload cap.
pub fn router(lib: Arc<Library>, hosts: HostCheck) -> Router {
    router_with(lib, Config::new(hosts))
}

/// The viewer's routes over `lib` as `cfg` says.
pub fn router_with(lib: Arc<Library>, cfg: Config) -> Router {
    let app = App {
        lib,
        hosts: cfg.hosts,
        catalog: cfg.catalog,
        max_upload: cfg.max_upload,
        uploads: Arc::new(Uploads {
            dir: cfg.upload_dir,
            temp: Default::default(),
            n: Default::default(),
        }),
        token: cfg.token.map(Arc::from),
        compares: Default::default(),
        making: Default::default(),
    };
    Router::new()
        .route("/", get(index_html))
        .route("/{asset}", get(asset))
        .route("/api/files", get(files))
        .route("/api/files/{id}/summary", get(summary))
        .route("/api/files/{id}/rows", get(rows))
        .route("/api/files/{id}/entries/{n}", get(entry))
        .route("/api/files/{id}/entries/{n}/raw", get(raw))
        .route("/api/files/{id}/entries/{n}/image", get(image))
        .route("/api/files/{id}/entries/{n}/preview", get(preview))
        .route("/api/files/{id}/findings", get(search::findings))
        .route("/api/files/{id}/overview", get(overview))
        .route("/api/files/{id}/search", get(search::search))
        .route("/api/compare", get(compare::pairs))
        .route("/api/compare/pair", get(compare::pair))
        .route("/api/config", get(config))
        .route("/api/catalog", get(catalog_list))
        .route("/api/catalog/{id}/open", post(catalog_open))
        .route("/api/upload", post(upload))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// `hark view`'s port when none is given.
pub const DEFAULT_PORT: u16 = 7172;

/// Listen on `ip:port`; without a port, on [`DEFAULT_PORT`], or on any free port when
/// that one is taken.
pub async fn bind(
    ip: std::net::IpAddr,
    port: Option<u16>,
) -> Result<tokio::net::TcpListener, ViewError> {
    use tokio::net::TcpListener;
    let at = |p: u16| std::net::SocketAddr::new(ip, p);
    let bind_err = |addr: String| move |error| ViewError::Bind { addr, error };
    match port {
        Some(p) => TcpListener::bind(at(p))
            .await
            .map_err(bind_err(at(p).to_string())),
        None => match TcpListener::bind(at(DEFAULT_PORT)).await {
            Ok(l) => Ok(l),
            Err(_) => TcpListener::bind(at(0))
                .await
                .map_err(bind_err(ip.to_string())),
        },
    }
}

/// The URL to show for a viewer listening on `addr` (`127.0.0.1` for loopback and
/// unspecified addresses).
pub fn url_for(addr: std::net::SocketAddr) -> String {
    let ip = addr.ip();
    let shown = if ip.is_unspecified() || ip.is_loopback() {
        "127.0.0.1".to_string()
    } else if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    format!("http://{shown}:{}/", addr.port())
}

/// How long a connection may take to send a request's headers (`--header-timeout`),
/// counted from when the server starts waiting for them: a client that connects and
/// sends nothing, or its headers a byte at a time, is dropped, and so is a keep-alive
/// connection idle that long between requests.
pub const DEFAULT_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Serve `app` on `listener` until `shutdown` completes (then let the requests in
/// progress finish), dropping connections that do not send a request's headers within
/// `header_timeout` (see [`DEFAULT_HEADER_TIMEOUT`]). Every hark listener built on axum
/// (the viewer, `hark serve`'s API) is served here.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(_) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(tcp), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

async fn guard(S(app): S<App>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let mut resp = if !app.hosts.allows(host.as_deref()) {
        (
            StatusCode::FORBIDDEN,
            "hark view answers only to 127.0.0.1 and localhost (Host header refused)\n",
        )
            .into_response()
    } else if let Some(r) = check_token(&app, &req) {
        r
    } else if req.method() != axum::http::Method::GET
        && req.method() != axum::http::Method::HEAD
        && req
            .headers()
            .get("x-hark-upload")
            .is_none_or(|v| v.as_bytes() != b"1")
    {
        (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": "refused: a POST to the viewer needs the header X-Hark-Upload: 1 (cross-site requests cannot send it)"})),
        )
            .into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Only previews may be framed (by the viewer itself, sandboxed): they say so.
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        "Cross-Origin-Resource-Policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// A request extension a host sets when it nests the viewer under a prefix (e.g.
/// `MountedAt("/view")`): redirects then keep the prefix.
#[derive(Clone, Copy, Debug)]
pub struct MountedAt(pub &'static str);

/// `None` when the request may go on; otherwise the answer (401, or the redirect that
/// turns `?token=` into a cookie).
fn check_token(app: &App, req: &Request) -> Option<Response> {
    let token = app.token.as_deref()?;
    let ok = |g: &str| har::http::same_secret(g.trim().as_bytes(), token.as_bytes());
    let h = req.headers();
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(ok) {
        return None;
    }
    let cookie = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .any(ok);
    if cookie {
        return None;
    }
    let uri = req.uri();
    let given = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .map(str::to_string)
    });
    if given.as_deref().is_some_and(ok) {
        // The path the client asked for (with the prefix, when the viewer is nested).
        let path = match req.extensions().get::<MountedAt>() {
            Some(m) => format!("{}{}", m.0, uri.path()),
            None => uri.path().to_string(),
        };
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::SEE_OTHER;
        r.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_str(&path).unwrap_or(HeaderValue::from_static("/")),
        );
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
        )) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return Some(r);
    }
    Some(
        (
            StatusCode::UNAUTHORIZED,
            "this viewer needs its token: open the link with ?token=<token> that hark printed, or send Authorization: Bearer <token>\n",
        )
            .into_response(),
    )
}

fn not_found(msg: &str) -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"error": msg}))).into_response()
}

impl IntoResponse for ViewError {
    fn into_response(self) -> Response {
        let code = match self {
            ViewError::BadQuery(_) => StatusCode::BAD_REQUEST,
            ViewError::NoEntry(_) | ViewError::NoFile(_) | ViewError::NoItem(_) => {
                StatusCode::NOT_FOUND
            }
            ViewError::Upload(code, _) => code,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (code, axum::Json(json!({"error": self.to_string()}))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_host_checks_for_addresses() {
        let a = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
        assert_eq!(url_for(a("0.0.0.0:7172")), "http://127.0.0.1:7172/");
        assert_eq!(url_for(a("[::1]:80")), "http://127.0.0.1:80/");
        assert_eq!(url_for(a("10.0.0.2:1")), "http://10.0.0.2:1/");
        assert_eq!(url_for(a("[fe80::1]:1")), "http://[fe80::1]:1/");
        assert!(matches!(
            HostCheck::for_addr(a("127.0.0.1:5")),
            HostCheck::Loopback(5)
        ));
        assert!(matches!(
            HostCheck::for_addr(a("0.0.0.0:5")),
            HostCheck::Any
        ));
        let h = HostCheck::Address(5);
        for ok in ["192.168.1.9:5", "[fe80::1]:5", "localhost:5", "127.0.0.1:5"] {
            assert!(h.allows(Some(ok)), "{ok}");
        }
        for bad in [
            "evil.example:5",
            "192.168.1.9:6",
            "192.168.1.9",
            "[::1]",
            "x",
        ] {
            assert!(!h.allows(Some(bad)), "{bad}");
        }
        assert!(!h.allows(None));
    }
}
