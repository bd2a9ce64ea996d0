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
//! | `/api/files/{id}/rows?offset&limit&q&regex&status&type&domain&method&min_time&min_size&errors&sort&desc&group` | one window of the filtered, sorted table |
//! | `/api/files/{id}/entries/{n}` | one entry's details |
//! | `/api/files/{id}/entries/{n}/raw` | the entry's JSON as written in the file |
//! | `/api/files/{id}/entries/{n}/image` | the response body, for PNG/JPEG/GIF/WebP/AVIF/ICO only |
//! | `/api/config` | what this viewer offers: `{"catalog": title or null, "maxUpload": bytes (0: no upload)}` |
//! | `GET /api/catalog` | the host's items (a capture service's jobs), when it gave a [`Catalog`] |
//! | `POST /api/catalog/{id}/open` | add the item's HAR (as far as it has come) to the library: `{"file": id}` |
//! | `POST /api/upload?name=` | a HAR (or `.har.gz`) as the request body, streamed to a temporary file and indexed: `{"file": id}` |
//!
//! Every `POST` needs the header `X-Hark-Upload: 1`: a page on another site cannot send it
//! without a CORS preflight, which the viewer never grants.

use crate::index::{Index, Row, State};
use crate::query::{Item, Query};
use crate::{Library, ViewError};
use axum::body::Body;
use axum::extract::{Path, Query as Q, Request, State as S};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The policy on every response: nothing from the HAR can run, nothing loads from
/// elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Which `Host` headers are answered.
#[derive(Clone, Debug)]
pub enum HostCheck {
    /// Only `127.0.0.1:port`, `localhost:port` and `[::1]:port` (DNS rebinding cannot
    /// reach the server through another name).
    Loopback(u16),
    /// Any host (`--listen` on another address).
    Any,
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

#[derive(Clone)]
struct App {
    lib: Arc<Library>,
    hosts: HostCheck,
    catalog: Option<Arc<dyn Catalog>>,
    max_upload: u64,
    uploads: Arc<Uploads>,
    token: Option<Arc<str>>,
}

/// The upload directory (ours, made at the first upload and removed on drop, when the
/// host gave none) and a counter for file names.
struct Uploads {
    dir: Option<std::path::PathBuf>,
    temp: std::sync::OnceLock<tempfile::TempDir>,
    n: std::sync::atomic::AtomicUsize,
}

impl Uploads {
    fn dir(&self) -> std::io::Result<std::path::PathBuf> {
        if let Some(d) = &self.dir {
            std::fs::create_dir_all(d)?;
            return Ok(d.clone());
        }
        if let Some(t) = self.temp.get() {
            return Ok(t.path().to_path_buf());
        }
        let t = tempfile::Builder::new().prefix("hark-view-").tempdir()?;
        Ok(self.temp.get_or_init(|| t).path().to_path_buf())
    }
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
        .route("/api/config", get(config))
        .route("/api/catalog", get(catalog_list))
        .route("/api/catalog/{id}/open", post(catalog_open))
        .route("/api/upload", post(upload))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Serve `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
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
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
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

async fn config(S(app): S<App>) -> Response {
    axum::Json(json!({
        "catalog": app.catalog.as_ref().map(|c| c.title().to_string()),
        "maxUpload": app.max_upload,
    }))
    .into_response()
}

fn no_catalog() -> Response {
    not_found("this viewer has no catalog (it lists jobs when hark serve runs it)")
}

async fn catalog_list(S(app): S<App>) -> Response {
    let Some(c) = app.catalog.clone() else {
        return no_catalog();
    };
    match tokio::task::spawn_blocking(move || c.list()).await {
        Ok(items) => {
            axum::Json(json!({"title": app.catalog.as_ref().map(|c| c.title()), "items": items}))
                .into_response()
        }
        Err(e) => ViewError::Index(e.to_string()).into_response(),
    }
}

async fn catalog_open(S(app): S<App>, Path(id): Path<String>) -> Result<Response, ViewError> {
    let Some(c) = app.catalog.clone() else {
        return Ok(no_catalog());
    };
    let lib = app.lib.clone();
    let file = tokio::task::spawn_blocking(move || c.open(&id, &lib))
        .await
        .map_err(|e| ViewError::Index(e.to_string()))??;
    Ok(axum::Json(json!({"file": file})).into_response())
}

/// A file name for an upload: the last path component of `name`, tame characters only.
fn upload_name(name: Option<&String>) -> String {
    let base = name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or("").to_string())
        .unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    let clean = clean.trim().trim_start_matches('.').to_string();
    if clean.is_empty() {
        "upload.har".into()
    } else {
        clean
    }
}

async fn upload(
    S(app): S<App>,
    Q(params): Q<HashMap<String, String>>,
    req: Request,
) -> Result<Response, ViewError> {
    if app.max_upload == 0 {
        return Err(ViewError::Upload(
            StatusCode::FORBIDDEN,
            "uploads are off (--max-upload 0)".into(),
        ));
    }
    let too_big = || {
        ViewError::Upload(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the file is larger than this viewer accepts ({} bytes; see --max-upload)",
                app.max_upload
            ),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.max_upload) {
        return Err(too_big());
    }
    let name = upload_name(params.get("name"));
    let n = app
        .uploads
        .n
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let io = |e: std::io::Error| ViewError::Io {
        file: name.clone(),
        error: e,
    };
    let dir = app.uploads.dir().map_err(io)?;
    let path = dir.join(format!("{n}-{}", name.replace(['/', '\\'], "_")));
    // Removed on any early return; kept once indexed.
    let guard = tempfile::TempPath::try_from_path(&path).map_err(io)?;
    let out = std::fs::File::create(&path).map_err(io)?;
    // The body goes to the file chunk by chunk, written on a blocking thread.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(8);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        while let Some(chunk) = rx.blocking_recv() {
            out.write_all(&chunk)?;
        }
        out.flush()
    });
    let mut body = req.into_body();
    let mut total = 0u64;
    let mut failed = None;
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                failed = Some(ViewError::Upload(
                    StatusCode::BAD_REQUEST,
                    format!("reading the upload: {e}"),
                ));
                break;
            }
        };
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        total += chunk.len() as u64;
        if total > app.max_upload {
            failed = Some(too_big());
            break;
        }
        if tx.send(chunk).await.is_err() {
            break; // the writer failed: its error is below
        }
    }
    drop(tx);
    let written = writer.await.map_err(|e| ViewError::Index(e.to_string()))?;
    if let Some(e) = failed {
        return Err(e);
    }
    written.map_err(io)?;
    if total == 0 {
        return Err(ViewError::Upload(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{name}: empty file"),
        ));
    }
    let p = path.to_string_lossy().into_owned();
    let shown = name.clone();
    let idx = tokio::task::spawn_blocking(move || -> Result<Arc<Index>, ViewError> {
        let idx = Index::open_named(&p, &shown, 2)?;
        // A file that is not a HAR past its header fails at its first entry: wait for
        // that (or the end) so the error goes back to the uploader.
        for _ in 0..400 {
            let st = idx.state.read().unwrap();
            if st.done || !st.rows.is_empty() {
                break;
            }
            drop(st);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let st = idx.state.read().unwrap();
        if let (Some(e), true) = (&st.error, st.rows.is_empty()) {
            return Err(ViewError::Index(e.clone()));
        }
        drop(st);
        Ok(idx)
    })
    .await
    .map_err(|e| ViewError::Index(e.to_string()))?
    .map_err(|e| {
        ViewError::Upload(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("not a HAR file: {e}"),
        )
    })?;
    // The file stays while the viewer runs (the index reads entries from it).
    let _ = guard.keep();
    let entries = idx.state.read().unwrap().rows.len();
    let file = app.lib.add(idx);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"file": file, "name": name, "bytes": total, "entries": entries})),
    )
        .into_response())
}

const INDEX_HTML: &str = include_str!("../web/index.html");
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/app.js"),
    ),
    (
        "table.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/table.js"),
    ),
    (
        "details.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/details.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/dom.js"),
    ),
    (
        "highlight.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/highlight.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../web/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../web/favicon.svg"),
    ),
];

async fn index_html() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        INDEX_HTML,
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, text)) => ([(header::CONTENT_TYPE, *mime)], *text).into_response(),
        None => not_found("no such asset"),
    }
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

fn file(app: &App, id: usize) -> Result<Arc<Index>, ViewError> {
    app.lib.get(id).ok_or(ViewError::NoFile(id))
}

async fn files(S(app): S<App>) -> Response {
    let list: Vec<Value> = app
        .lib
        .files()
        .iter()
        .enumerate()
        .map(|(id, f)| {
            let st = f.state.read().unwrap();
            json!({"id": id, "name": f.name, "size": f.file_size, "entries": st.rows.len(), "done": st.done, "error": st.error})
        })
        .collect();
    axum::Json(list).into_response()
}

async fn summary(S(app): S<App>, Path(id): Path<usize>) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let st = f.state.read().unwrap();
    Ok(axum::Json(summary_json(&f, &st)).into_response())
}

/// The summary bar's figures over all rows indexed so far.
pub fn summary_json(f: &Index, st: &State) -> Value {
    let mut transferred = 0i64;
    let mut decoded = 0i64;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut status: [usize; 7] = [0; 7];
    let mut types: HashMap<&'static str, usize> = HashMap::new();
    let mut domains: HashMap<u32, usize> = HashMap::new();
    let mut errors = 0;
    for r in &st.rows {
        transferred += r.transferred.max(0);
        decoded += r.decoded.max(0);
        if !r.start.is_nan() {
            lo = lo.min(r.start);
            hi = hi.max(r.end());
        }
        let class = if r.failed() || r.status <= 0 {
            0
        } else {
            (r.status / 100).clamp(1, 6) as usize
        };
        status[class] += 1;
        *types.entry(r.kind.name()).or_default() += 1;
        *domains.entry(r.domain).or_default() += 1;
        if r.is_error() {
            errors += 1;
        }
    }
    let mut doms: Vec<(u32, usize)> = domains.into_iter().collect();
    doms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let doms: Vec<Value> = doms
        .iter()
        .take(300)
        .map(|(d, n)| json!([st.domains.get(*d), n]))
        .collect();
    let methods: Vec<&str> = (0..st.methods.len() as u32)
        .map(|i| st.methods.get(i))
        .collect();
    let first = st.pages.first();
    let axis = (lo <= hi).then_some((lo, hi));
    json!({
        "name": f.name,
        "size": f.file_size,
        "bytesRead": f.bytes_read(),
        "creator": st.creator,
        "done": st.done,
        "error": st.error,
        "seconds": st.seconds,
        "requests": st.rows.len(),
        "errors": errors,
        "transferred": transferred,
        "decoded": decoded,
        "origin": axis.map(|a| a.0),
        "finish": axis.map(|a| a.1 - a.0),
        "onContentLoad": first.and_then(|p| p.on_content_load),
        "onLoad": first.and_then(|p| p.on_load),
        "status": {
            "1xx": status[1], "2xx": status[2], "3xx": status[3], "4xx": status[4],
            "5xx": status[5], "other": status[6], "failed": status[0],
        },
        "types": types,
        "pages": st.pages,
        "domains": doms,
        "methods": methods,
    })
}

fn flag(m: &HashMap<String, String>, k: &str) -> bool {
    m.get(k)
        .is_some_and(|v| v == "1" || v == "true" || v == "on")
}

fn num<T: std::str::FromStr>(m: &HashMap<String, String>, k: &str) -> Result<Option<T>, ViewError> {
    match m.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ViewError::BadQuery(format!("{k}: not a number: {v:?}"))),
    }
}

impl Query {
    /// From URL query parameters (the names of the fields; booleans as `1`/`true`).
    pub fn from_params(m: &HashMap<String, String>) -> Result<Query, ViewError> {
        let s = |k: &str| m.get(k).cloned().unwrap_or_default();
        Ok(Query {
            q: s("q"),
            regex: flag(m, "regex"),
            status: s("status"),
            types: s("type"),
            domain: s("domain"),
            method: s("method"),
            min_time: num(m, "min_time")?,
            min_size: num(m, "min_size")?,
            errors: flag(m, "errors"),
            sort: s("sort"),
            desc: flag(m, "desc"),
            group: flag(m, "group"),
        })
    }
}

/// One row as the table shows it.
pub fn row_json(st: &State, i: u32, r: &Row) -> Value {
    json!({
        "i": i,
        "status": r.status,
        "method": st.methods.get(r.method),
        "domain": st.domains.get(r.domain),
        "path": r.path(),
        "url": &*r.url,
        "type": r.kind.name(),
        "mime": st.mimes.get(r.mime),
        "transferred": r.transferred,
        "decoded": r.decoded,
        "start": if r.start.is_nan() { Value::Null } else { json!(r.start) },
        "time": r.time,
        "timings": r.timings,
        "failed": r.failed(),
        "blocked": r.blocked(),
        "error": r.error.as_deref(),
        "page": if r.page == u32::MAX { Value::Null } else { json!(st.page_ids.get(r.page)) },
    })
}

async fn rows(
    S(app): S<App>,
    Path(id): Path<usize>,
    Q(params): Q<HashMap<String, String>>,
) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let q = Query::from_params(&params)?;
    let offset: usize = num(&params, "offset")?.unwrap_or(0);
    let limit: usize = num(&params, "limit")?.unwrap_or(100).min(2000);
    let t0 = std::time::Instant::now();
    let m = f.query(&q)?;
    let took = t0.elapsed().as_secs_f64() * 1000.0;
    let st = f.state.read().unwrap();
    let items: Vec<Value> = m
        .items
        .iter()
        .skip(offset)
        .take(limit)
        .map(|it| match *it {
            Item::Row(i) => match st.rows.get(i as usize) {
                Some(r) => row_json(&st, i, r),
                None => Value::Null,
            },
            Item::Page(p) => {
                let info = st.pages.iter().find(|pg| pg.id == st.page_ids.get(p));
                json!({
                    "pageHeader": true,
                    "id": if p == u32::MAX { Value::Null } else { json!(st.page_ids.get(p)) },
                    "title": info.map_or(if p == u32::MAX { "(no page)" } else { st.page_ids.get(p) }, |i| i.title.as_str()),
                    "start": info.and_then(|i| i.start),
                    "onContentLoad": info.and_then(|i| i.on_content_load),
                    "onLoad": info.and_then(|i| i.on_load),
                })
            }
        })
        .collect();
    Ok(axum::Json(json!({
        "indexed": st.rows.len(),
        "done": st.done,
        "total": m.items.len(),
        "matched": m.rows,
        "axis": m.axis.map(|(a, b)| json!({"origin": a, "end": b})),
        "offset": offset,
        "items": items,
        "ms": took,
    }))
    .into_response())
}

async fn entry(S(app): S<App>, Path((id, n)): Path<(usize, usize)>) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let bytes = tokio::task::spawn_blocking({
        let f = f.clone();
        move || f.entry_bytes(n)
    })
    .await
    .map_err(|e| ViewError::Index(e.to_string()))??;
    let v = crate::details::details(n, &bytes)
        .map_err(|e| ViewError::Index(format!("{}: log.entries[{n}]: {}", f.name, e.message)))?;
    Ok(axum::Json(v).into_response())
}

async fn raw(S(app): S<App>, Path((id, n)): Path<(usize, usize)>) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let bytes = f.entry_bytes(n)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'",
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

async fn image(S(app): S<App>, Path((id, n)): Path<(usize, usize)>) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let bytes = f.entry_bytes(n)?;
    match crate::details::image(&bytes) {
        Some((mime, data)) => Ok((
            [
                (header::CONTENT_TYPE, mime),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "sandbox; default-src 'none'",
                ),
                (header::CONTENT_DISPOSITION, "inline"),
            ],
            Body::from(data),
        )
            .into_response()),
        None => Ok(not_found("this response is not an image the viewer shows")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_are_tame() {
        let n = |s: &str| upload_name(Some(&s.to_string()));
        assert_eq!(n("a.har"), "a.har");
        assert_eq!(n("../../etc/passwd"), "passwd");
        assert_eq!(n("C:\\Users\\me\\x.har.gz"), "x.har.gz");
        assert_eq!(n(".."), "upload.har");
        assert_eq!(n(".hidden.har"), "hidden.har");
        assert_eq!(n("a\nb\u{7}.har"), "ab.har");
        assert_eq!(upload_name(None), "upload.har");
        assert!(n(&"x".repeat(500)).len() <= 120);
    }
}
