//! The HTTP API: `/v1/...` (jobs) and BrowserMob Proxy's `/proxy/...`. Every error is a
//! JSON body `{"error": "..."}` with a 4xx (the request) or 5xx (the disk) status.

use crate::jobs::{BlacklistRule, Capture, CreateError, NewJob, Page, State, Whitelist};
use crate::{now_ms, ServeError, Service};
use axum::body::Body;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub const OPENAPI: &str = include_str!("openapi.json");

pub struct ApiError(StatusCode, String);

impl ApiError {
    fn bad(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
    fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::NOT_FOUND, msg.into())
    }
}

impl From<ServeError> for ApiError {
    fn from(e: ServeError) -> Self {
        let status = if e.is_disk_full() {
            StatusCode::INSUFFICIENT_STORAGE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        ApiError(status, e.to_string())
    }
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::Invalid(m) => ApiError::bad(m),
            CreateError::PortTaken(m) => ApiError(StatusCode::CONFLICT, m),
            CreateError::Serve(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({"error": self.1}))).into_response()
    }
}

type Res = Result<Response, ApiError>;
type Svc = AxState<Arc<Service>>;

fn json_ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// The whole API on one router.
pub fn router(svc: Arc<Service>) -> Router {
    Router::new()
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/jobs", get(list_jobs).post(create_job))
        .route("/v1/jobs/{id}", get(get_job).delete(delete_job))
        .route("/v1/jobs/{id}/stop", post(stop_job))
        .route("/v1/jobs/{id}/pages", post(add_page))
        .route("/v1/jobs/{id}/network.har", get(job_har))
        .route("/v1/jobs/{id}/view", get(job_view))
        .route("/proxy", get(bmp_list).post(bmp_create))
        .route("/proxy/{port}", axum::routing::delete(bmp_delete))
        .route("/proxy/{port}/har", get(bmp_har).put(bmp_new_har))
        .route("/proxy/{port}/har/pageRef", put(bmp_new_page))
        .route(
            "/proxy/{port}/blacklist",
            get(bmp_blacklist_get)
                .put(bmp_blacklist_put)
                .delete(bmp_blacklist_clear),
        )
        .route(
            "/proxy/{port}/whitelist",
            get(bmp_whitelist_get)
                .put(bmp_whitelist_put)
                .delete(bmp_whitelist_clear),
        )
        .route("/proxy/{port}/headers", post(bmp_headers))
        .route("/proxy/{port}/limit", get(bmp_limit_get).put(bmp_limit_put))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(svc.clone(), auth))
        .with_state(svc)
}

async fn auth(AxState(svc): Svc, req: Request, next: Next) -> Response {
    if let Some(token) = &svc.opts.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let ok = given.is_some_and(|g| har::http::same_secret(g.as_bytes(), token.as_bytes()));
        if !ok {
            let msg = if given.is_none() {
                "missing bearer token: send Authorization: Bearer <token> (printed by hark serve at start)"
            } else {
                "wrong bearer token"
            };
            let mut r = ApiError(StatusCode::UNAUTHORIZED, msg.into()).into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().unwrap());
            return r;
        }
    }
    next.run(req).await
}

async fn fallback(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no such endpoint: {} {} (see /v1/openapi.json)",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

// ---- /v1 ----

/// A job as the API shows it (with its shared-port proxy URL when there is one).
fn job_json(svc: &Service, job: &crate::Job) -> Value {
    let mut v = job.view();
    if let (Some(addr), Some(o)) = (svc.shared_addr.get(), v.as_object_mut()) {
        if o.get("state").and_then(Value::as_str) == Some("running") {
            // The password is the service's token when it has one (the caller of this
            // API has presented it already), else anything.
            let password = svc.opts.token.as_deref().unwrap_or("x");
            o.insert(
                "sharedProxy".into(),
                json!(format!("http://{}:{password}@{addr}", job.id)),
            );
        }
    }
    v
}

fn job_by_id(svc: &Service, id: &str) -> Result<Arc<crate::Job>, ApiError> {
    if !crate::valid_id(id) {
        return Err(ApiError::bad(format!(
            "invalid job id {id:?}: ids are 1-64 characters a-z 0-9"
        )));
    }
    svc.job(id)
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("bad JSON body: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct CreateJob {
    name: Option<String>,
    tags: Vec<String>,
    capture: Capture,
    scope: Vec<String>,
    blacklist: Vec<BlacklistRule>,
    whitelist: Option<Whitelist>,
    headers: BTreeMap<String, String>,
    latency_ms: u64,
    upstream_kbps: u64,
    downstream_kbps: u64,
    port: u16,
}

async fn create_job(AxState(svc): Svc, body: Bytes) -> Res {
    let c: CreateJob = parse_json(&body)?;
    let job = svc.create(NewJob {
        name: c.name.unwrap_or_default(),
        tags: c.tags,
        kind: "job",
        capture: c.capture,
        recording: true,
        scope: c.scope,
        blacklist: c.blacklist,
        whitelist: c.whitelist,
        headers: c.headers,
        latency_ms: c.latency_ms,
        upstream_kbps: c.upstream_kbps,
        downstream_kbps: c.downstream_kbps,
        port: c.port,
    })?;
    Ok((StatusCode::CREATED, axum::Json(job_json(&svc, &job))).into_response())
}

async fn list_jobs(AxState(svc): Svc) -> Res {
    let jobs: Vec<Value> = svc.jobs().iter().map(|j| job_json(&svc, j)).collect();
    let entries: u64 = jobs.iter().filter_map(|j| j["entries"].as_u64()).sum();
    let bytes: u64 = jobs.iter().filter_map(|j| j["bytes"].as_u64()).sum();
    Ok(json_ok(
        json!({"jobs": jobs, "entries": entries, "bytes": bytes}),
    ))
}

async fn get_job(AxState(svc): Svc, Path(id): Path<String>) -> Res {
    let job = job_by_id(&svc, &id)?;
    Ok(json_ok(job_json(&svc, &job)))
}

async fn stop_job(AxState(svc): Svc, Path(id): Path<String>) -> Res {
    let job = job_by_id(&svc, &id)?;
    job.stop(State::Stopped).await?;
    let _ = svc.enforce_retention().await;
    Ok(json_ok(job_json(&svc, &job)))
}

async fn delete_job(AxState(svc): Svc, Path(id): Path<String>) -> Res {
    job_by_id(&svc, &id)?;
    svc.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct NewPage {
    id: Option<String>,
    title: Option<String>,
}

async fn add_page(AxState(svc): Svc, Path(id): Path<String>, body: Bytes) -> Res {
    let job = job_by_id(&svc, &id)?;
    let p: NewPage = parse_json(&body)?;
    if job.state() != State::Running {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!("job {id} is not running"),
        ));
    }
    let page = job.add_page(p.id, p.title)?;
    Ok((StatusCode::CREATED, axum::Json(page_json(&page))).into_response())
}

fn page_json(p: &Page) -> Value {
    json!({"id": p.id, "title": p.title, "startedDateTime": har::time::format_ms(p.started_ms)})
}

/// Open the job's HAR (a snapshot, for a running job) in the web viewer: 303 to it.
async fn job_view(AxState(svc): Svc, Path(id): Path<String>) -> Res {
    let job = job_by_id(&svc, &id)?;
    let s = svc.clone();
    let url = tokio::task::spawn_blocking(move || s.open_in_viewer(&job))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let Some(url) = url else {
        return Err(ApiError::not_found(
            "no viewer: start hark serve with --view ADDR (e.g. --view 127.0.0.1:7172)",
        ));
    };
    Ok(Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, &url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"url": url}).to_string()))
        .unwrap())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HarQuery {
    sanitize: Option<String>,
    pretty: Option<String>,
}

fn flag(v: &Option<String>, name: &str) -> Result<bool, ApiError> {
    match v.as_deref() {
        None => Ok(false),
        Some(s) => parse_bool(s)
            .ok_or_else(|| ApiError::bad(format!("{name}: expected true/false or 1/0, got {s:?}"))),
    }
}

async fn job_har(
    AxState(svc): Svc,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Res {
    let job = job_by_id(&svc, &id)?;
    let q = HarQuery {
        sanitize: q.get("sanitize").cloned(),
        pretty: q.get("pretty").cloned(),
    };
    let sanitize = flag(&q.sanitize, "sanitize")?;
    let style = if flag(&q.pretty, "pretty")? {
        har::Style::Pretty
    } else {
        har::Style::Compact
    };
    Ok(stream_har(&svc, &job, sanitize, style)?)
}

/// The job's HAR as a streamed (chunked) response, written on a blocking thread.
fn stream_har(
    svc: &Service,
    job: &crate::Job,
    sanitize: bool,
    style: har::Style,
) -> Result<Response, ServeError> {
    let (path, limit, pages, comment) = job.har_source();
    // Fail before streaming when the journal cannot be read at all.
    crate::store::scan(&path, Some(16))?;
    let tmp_dir = svc.opts.data.join("tmp");
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let out = ChanWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let r = if sanitize {
            sanitized(&path, limit, pages, comment, style, &tmp_dir, out)
        } else {
            crate::store::write_har(&path, limit, pages, comment, style, out)
                .and_then(|(_, mut w)| w.flush().map_err(ServeError::Stream))
        };
        if let Err(e) = r {
            // Mid-stream: the connection is cut so the client sees an incomplete body.
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let name = format!("attachment; filename=\"{}.har\"", job.id);
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_DISPOSITION, name)
        .body(Body::new(ChanBody(rx)))
        .unwrap())
}

/// `?sanitize=1`: the HAR goes to a temporary file, then through `hark sanitize`'s two
/// passes (values found in the first are replaced everywhere in the second).
fn sanitized(
    path: &std::path::Path,
    limit: Option<u64>,
    pages: Vec<Value>,
    comment: Option<String>,
    style: har::Style,
    tmp_dir: &std::path::Path,
    out: ChanWriter,
) -> Result<(), ServeError> {
    std::fs::create_dir_all(tmp_dir).map_err(ServeError::io(tmp_dir))?;
    let tmp = tempfile::NamedTempFile::new_in(tmp_dir).map_err(ServeError::io(tmp_dir))?;
    let f = tmp.reopen().map_err(ServeError::io(tmp.path()))?;
    let (_, mut f) = crate::store::write_har(
        path,
        limit,
        pages,
        comment,
        har::Style::Compact,
        std::io::BufWriter::new(f),
    )?;
    f.flush().map_err(ServeError::Stream)?;
    drop(f);
    let serr = |e: &dyn std::fmt::Display| ServeError::Sanitize(e.to_string());
    let p = tmp
        .path()
        .to_str()
        .ok_or_else(|| serr(&"temporary path is not UTF-8"))?;
    let open = || {
        har::Source::open(p)
            .and_then(har::HarReader::new)
            .map_err(|e| serr(&e))
    };
    let opts = sanitize::Options::default();
    let threads = 2;
    let first = sanitize::Sanitizer::new(opts.clone()).map_err(|e| serr(&e))?;
    let (secrets, _) =
        sanitize::collect(Arc::new(first), open()?, threads).map_err(|e| serr(&e))?;
    let mut s = sanitize::Sanitizer::new(opts).map_err(|e| serr(&e))?;
    s.set_secrets(&secrets).map_err(|e| serr(&e))?;
    let mut w = har::HarWriter::new(out, style);
    sanitize::rewrite(Arc::new(s), open()?, threads, style, Some(&mut w)).map_err(|e| serr(&e))?;
    w.into_inner().flush().map_err(ServeError::Stream)
}

const CHUNK: usize = 256 * 1024;

/// Bytes written on a blocking thread, handed to the response body in chunks.
struct ChanWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for ChanWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

struct ChanBody(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl hyper::body::Body for ChanBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        match self.0.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(hyper::body::Frame::data(b)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

// ---- BrowserMob Proxy ----

/// Form fields (BrowserMob clients send `application/x-www-form-urlencoded` bodies) and
/// query parameters, merged.
fn form(q: &HashMap<String, String>, body: &[u8]) -> HashMap<String, String> {
    let mut m = q.clone();
    for (k, v) in url::form_urlencoded::parse(body) {
        m.insert(k.into_owned(), v.into_owned());
    }
    m
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

fn bool_field(f: &HashMap<String, String>, name: &str, default: bool) -> Result<bool, ApiError> {
    match f.get(name) {
        None => Ok(default),
        Some(v) => parse_bool(v)
            .ok_or_else(|| ApiError::bad(format!("{name}: expected true or false, got {v:?}"))),
    }
}

fn num_field<T: std::str::FromStr>(
    f: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match f.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad(format!("{name}: expected a number, got {v:?}"))),
    }
}

fn bmp_port(svc: &Service, port: &str) -> Result<Arc<crate::Job>, ApiError> {
    let p: u16 = port
        .parse()
        .map_err(|_| ApiError::bad(format!("invalid proxy port {port:?}")))?;
    svc.bmp_job(p)
        .ok_or_else(|| ApiError::not_found(format!("no proxy on port {p}")))
}

async fn bmp_create(
    AxState(svc): Svc,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Res {
    let f = form(&q, &body);
    let port = num_field::<u16>(&f, "port")?.unwrap_or(0);
    // trustAllServers: BrowserMob's switch for not verifying upstream certificates.
    if bool_field(&f, "trustAllServers", false)? && !svc.opts.insecure_upstream {
        return Err(ApiError::bad(
            "trustAllServers=true: start hark serve with --insecure-upstream to allow it",
        ));
    }
    let job = svc.create(NewJob {
        name: format!(
            "browsermob proxy {}",
            if port == 0 {
                "".into()
            } else {
                port.to_string()
            }
        )
        .trim()
        .to_string(),
        kind: "browsermob",
        capture: Capture::browsermob(),
        recording: false,
        port,
        ..NewJob::default()
    })?;
    let addr: std::net::SocketAddr = job.meta().proxy.unwrap().parse().unwrap();
    Ok(json_ok(json!({"port": addr.port()})))
}

async fn bmp_list(AxState(svc): Svc) -> Res {
    let list: Vec<Value> = svc
        .bmp_ports()
        .into_iter()
        .map(|p| json!({"port": p}))
        .collect();
    Ok(json_ok(json!({"proxyList": list})))
}

async fn bmp_delete(AxState(svc): Svc, Path(port): Path<String>) -> Res {
    let job = bmp_port(&svc, &port)?;
    let p: u16 = port.parse().unwrap();
    svc.close_bmp(p).await?;
    let _ = job;
    let _ = svc.enforce_retention().await;
    Ok(StatusCode::OK.into_response())
}

async fn bmp_new_har(
    AxState(svc): Svc,
    Path(port): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Res {
    let job = bmp_port(&svc, &port)?;
    let f = form(&q, &body);
    let capture = Capture {
        headers: bool_field(&f, "captureHeaders", false)?,
        cookies: bool_field(&f, "captureCookies", false)?,
        content: bool_field(&f, "captureContent", false)?,
        binary_content: bool_field(&f, "captureBinaryContent", false)?,
        max_body_bytes: None,
    };
    let id = f
        .get("initialPageRef")
        .cloned()
        .unwrap_or_else(|| "Page 0".into());
    let title = f
        .get("initialPageTitle")
        .cloned()
        .unwrap_or_else(|| id.clone());
    let page = Page {
        id,
        title,
        started_ms: now_ms(),
    };
    match job.new_har(capture, page)? {
        Some(prev) => Ok(([(header::CONTENT_TYPE, "application/json")], prev).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

async fn bmp_new_page(
    AxState(svc): Svc,
    Path(port): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Res {
    let job = bmp_port(&svc, &port)?;
    if !job.meta().recording {
        return Err(ApiError::not_found(format!(
            "no HAR on proxy {port}: PUT /proxy/{port}/har first"
        )));
    }
    let f = form(&q, &body);
    let n = job.meta().pages.len();
    let id = f
        .get("pageRef")
        .cloned()
        .unwrap_or_else(|| format!("Page {n}"));
    let title = f.get("pageTitle").cloned();
    job.add_page(Some(id), title)?;
    Ok(StatusCode::OK.into_response())
}

async fn bmp_har(AxState(svc): Svc, Path(port): Path<String>) -> Res {
    let job = bmp_port(&svc, &port)?;
    if !job.meta().recording {
        return Err(ApiError::not_found(format!(
            "no HAR on proxy {port}: PUT /proxy/{port}/har first"
        )));
    }
    Ok(stream_har(&svc, &job, false, har::Style::Compact)?)
}

fn rules_update(job: &crate::Job, f: impl FnOnce(&mut crate::jobs::Meta)) -> Res {
    match job.update(f)? {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(e) => Err(ApiError::bad(e)),
    }
}

/// The `regex` and `status` every blacklist and whitelist call carries.
fn rule_fields(f: &HashMap<String, String>) -> Result<(String, u16), ApiError> {
    let regex = f
        .get("regex")
        .cloned()
        .ok_or_else(|| ApiError::bad("regex: required"))?;
    let status = num_field::<u16>(f, "status")?
        .ok_or_else(|| ApiError::bad("status: required (the HTTP status to answer with)"))?;
    Ok((regex, status))
}

async fn bmp_blacklist_put(
    AxState(svc): Svc,
    Path(port): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Res {
    let job = bmp_port(&svc, &port)?;
    let f = form(&q, &body);
    let (regex, status) = rule_fields(&f)?;
    let method = f.get("method").cloned().filter(|m| !m.is_empty());
    rules_update(&job, |m| {
        m.blacklist.push(BlacklistRule {
            regex,
            status,
            method,
        })
    })
}

async fn bmp_blacklist_get(AxState(svc): Svc, Path(port): Path<String>) -> Res {
    let job = bmp_port(&svc, &port)?;
    let list: Vec<Value> = job
        .meta()
        .blacklist
        .iter()
        .map(|b| json!({"urlPattern": b.regex, "statusCode": b.status, "httpMethodPattern": b.method}))
        .collect();
    Ok(json_ok(Value::Array(list)))
}

async fn bmp_blacklist_clear(AxState(svc): Svc, Path(port): Path<String>) -> Res {
    let job = bmp_port(&svc, &port)?;
    rules_update(&job, |m| m.blacklist.clear())
}

async fn bmp_whitelist_put(
    AxState(svc): Svc,
    Path(port): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Res {
    let job = bmp_port(&svc, &port)?;
    let f = form(&q, &body);
    let (regex, status) = rule_fields(&f)?;
    // BrowserMob: a comma-separated list of regular expressions.
    let list: Vec<String> = regex
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    rules_update(&job, |m| {
        m.whitelist = Some(Whitelist {
            regex: list,
            status,
        })
    })
}

async fn bmp_whitelist_get(AxState(svc): Svc, Path(port): Path<String>) -> Res {
    let job = bmp_port(&svc, &port)?;
    let list = job.meta().whitelist.map(|w| w.regex).unwrap_or_default();
    Ok(json_ok(json!(list)))
}

async fn bmp_whitelist_clear(AxState(svc): Svc, Path(port): Path<String>) -> Res {
    let job = bmp_port(&svc, &port)?;
    rules_update(&job, |m| m.whitelist = None)
}

async fn bmp_headers(AxState(svc): Svc, Path(port): Path<String>, body: Bytes) -> Res {
    let job = bmp_port(&svc, &port)?;
    let v: Value = parse_json(&body)?;
    let Value::Object(o) = v else {
        return Err(ApiError::bad(
            "expected a JSON object of header names to values",
        ));
    };
    let mut h = BTreeMap::new();
    for (k, v) in o {
        let v = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        h.insert(k, v);
    }
    rules_update(&job, |m| m.headers.extend(h))
}

async fn bmp_limit_put(
    AxState(svc): Svc,
    Path(port): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Res {
    let job = bmp_port(&svc, &port)?;
    let f = form(&q, &body);
    for k in ["upstreamMaxKB", "downstreamMaxKB", "maxBitsPerSecond"] {
        if num_field::<u64>(&f, k)?.unwrap_or(0) > 0 {
            return Err(ApiError(
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "{k} is not supported by hark serve \
                     (latency, upstreamKbps and downstreamKbps are)"
                ),
            ));
        }
    }
    let latency = num_field::<u64>(&f, "latency")?;
    let up = num_field::<u64>(&f, "upstreamKbps")?;
    let down = num_field::<u64>(&f, "downstreamKbps")?;
    rules_update(&job, |m| {
        if let Some(l) = latency {
            m.latency_ms = l;
        }
        if let Some(u) = up {
            m.upstream_kbps = u;
        }
        if let Some(d) = down {
            m.downstream_kbps = d;
        }
    })
}

async fn bmp_limit_get(AxState(svc): Svc, Path(port): Path<String>) -> Res {
    let job = bmp_port(&svc, &port)?;
    let m = job.meta();
    Ok(json_ok(json!({
        "latency": m.latency_ms,
        "upstreamKbps": m.upstream_kbps,
        "downstreamKbps": m.downstream_kbps,
    })))
}

/// The service's jobs as the viewer's catalog: listed on its page, opened in one click
/// (a snapshot of the HAR as far as the job has come).
struct JobCatalog {
    svc: std::sync::Weak<Service>,
    /// Job id → (file id, entries, state) of its last snapshot: opening a job that has
    /// not changed since shows that snapshot again; one that has changed gets a new
    /// snapshot in the same file id.
    opened: std::sync::Mutex<HashMap<String, (usize, u64, State)>>,
}

impl view::Catalog for JobCatalog {
    fn title(&self) -> &str {
        "Jobs"
    }

    fn list(&self) -> Vec<view::CatalogItem> {
        let Some(svc) = self.svc.upgrade() else {
            return Vec::new();
        };
        let mut jobs: Vec<(f64, view::CatalogItem)> = svc
            .jobs()
            .iter()
            .map(|j| {
                let v = j.view();
                let m = j.meta();
                let state = m.state;
                (
                    m.created_ms,
                    view::CatalogItem {
                        id: m.id,
                        name: m.name,
                        state: serde_json::to_value(state)
                            .ok()
                            .and_then(|s| s.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        live: state == State::Running,
                        entries: v["entries"].as_u64().unwrap_or(0),
                        size: v["bytes"].as_u64().unwrap_or(0),
                        created: m.created,
                    },
                )
            })
            .collect();
        // Newest first.
        jobs.sort_by(|a, b| b.0.total_cmp(&a.0));
        jobs.into_iter().map(|(_, i)| i).collect()
    }

    fn open(&self, id: &str, lib: &view::Library) -> Result<usize, view::ViewError> {
        let svc = self
            .svc
            .upgrade()
            .ok_or_else(|| view::ViewError::Index("the service is stopping".into()))?;
        let job = (crate::valid_id(id).then(|| svc.job(id)).flatten())
            .ok_or_else(|| view::ViewError::NoItem(format!("no job {id}")))?;
        let mut opened = self.opened.lock().unwrap();
        let entries = job.view()["entries"].as_u64().unwrap_or(0);
        let state = job.state();
        let known = opened.get(id).copied();
        if let Some((file, n, st)) = known {
            if n == entries && st == state && lib.get(file).is_some() {
                return Ok(file);
            }
        }
        let idx = svc
            .snapshot(&job)
            .map_err(|e| view::ViewError::Index(format!("job {id}: {e}")))?;
        // A newer snapshot takes the place of the job's previous one (same file id, one
        // line in the file menu per job).
        let file = match known {
            Some((file, _, _)) if lib.replace(file, idx.clone()) => file,
            _ => lib.add(idx),
        };
        opened.insert(id.to_string(), (file, entries, state));
        Ok(file)
    }
}

/// How `hark serve` runs the viewer.
pub struct ViewerOptions {
    /// Largest upload (bytes); 0: no uploads.
    pub max_upload: u64,
    /// Required when the viewer listens beyond loopback (a `?token=` link sets a cookie).
    pub token: Option<String>,
}

/// The viewer over the service's library (made at the first call; `base` says where
/// `GET /v1/jobs/{id}/view` sends the client), as a router for one listener.
fn viewer_router(
    svc: &Arc<Service>,
    hosts: view::HostCheck,
    opts: &ViewerOptions,
    base: String,
) -> Router {
    let hook = svc.view.get_or_init(|| crate::ViewHook {
        lib: Arc::new(view::Library::new()),
        catalog: Arc::new(JobCatalog {
            svc: Arc::downgrade(svc),
            opened: Default::default(),
        }),
        base,
    });
    let cfg = view::Config {
        hosts,
        catalog: Some(hook.catalog.clone()),
        max_upload: opts.max_upload,
        upload_dir: Some(svc.opts.data.join("tmp").join("uploads")),
        token: opts.token.clone(),
    };
    view::router_with(hook.lib.clone(), cfg)
}

/// Serve the web viewer (crates/view) on its own `listener` too (`--view ADDR`), over the
/// same library as `/view/` on the API port. Call before [`serve_with_viewer`] so that
/// `GET /v1/jobs/{id}/view` sends clients here.
pub fn spawn_viewer(
    svc: &Arc<Service>,
    listener: tokio::net::TcpListener,
    addr: std::net::SocketAddr,
    opts: ViewerOptions,
) {
    let hosts = if addr.ip().is_loopback() {
        view::HostCheck::Loopback(addr.port())
    } else {
        view::HostCheck::Any
    };
    let app = viewer_router(svc, hosts, &opts, format!("http://{addr}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// The API with the viewer mounted at `/view/` (its page lists the jobs, opens any of
/// them, takes uploads). The viewer has its own Host check and its own token rule (the
/// API's token, by bearer or by the cookie a `/view/?token=` link sets), not the API's.
pub fn router_with_viewer(
    svc: Arc<Service>,
    addr: std::net::SocketAddr,
    opts: &ViewerOptions,
) -> Router {
    let hosts = if addr.ip().is_loopback() {
        view::HostCheck::Loopback(addr.port())
    } else {
        view::HostCheck::Any
    };
    let viewer = viewer_router(&svc, hosts, opts, "/view".into());
    Router::new()
        .nest_service("/view", viewer)
        .merge(router(svc))
        .layer(middleware::from_fn(view_slash))
}

/// `/view` → `/view/` (the page's paths are relative to it).
async fn view_slash(mut req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/view/") {
        req.extensions_mut()
            .insert(view::server::MountedAt("/view"));
    }
    if req.uri().path() == "/view" {
        let q = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        return Response::builder()
            .status(StatusCode::PERMANENT_REDIRECT)
            .header(header::LOCATION, format!("/view/{q}"))
            .body(Body::empty())
            .unwrap();
    }
    next.run(req).await
}

/// Serve the API on `listener` until `stop` resolves, then stop the jobs (marked
/// interrupted: their HARs stay). Retention runs at start and every minute.
pub async fn serve(
    svc: Arc<Service>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(svc.clone());
    serve_app(svc, listener, app, stop).await
}

/// [`serve`], with the viewer at `/view/` on the same port ([`router_with_viewer`]).
pub async fn serve_with_viewer(
    svc: Arc<Service>,
    listener: tokio::net::TcpListener,
    opts: ViewerOptions,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let app = router_with_viewer(svc.clone(), addr, &opts);
    serve_app(svc, listener, app, stop).await
}

async fn serve_app(
    svc: Arc<Service>,
    listener: tokio::net::TcpListener,
    app: Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // On loopback, only requests for this port by a loopback name are answered: a web
    // page that rebinds its own name to 127.0.0.1 (DNS rebinding) must not read jobs' HARs.
    let addr = listener.local_addr()?;
    let hosts = if addr.ip().is_loopback() {
        view::HostCheck::Loopback(addr.port())
    } else {
        view::HostCheck::Any
    };
    let app = app.layer(middleware::from_fn(move |req: Request, next: Next| {
        let hosts = hosts.clone();
        async move {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
                // HTTP/2 carries it as the `:authority`.
                .or_else(|| req.uri().authority().map(|a| a.to_string()));
            if !hosts.allows(host.as_deref()) {
                return ApiError(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Host {:?} is not this service: on loopback it answers only \
                         127.0.0.1:{port}, localhost:{port} and [::1]:{port} (against DNS rebinding)",
                        host.unwrap_or_default(),
                        port = addr.port()
                    ),
                )
                .into_response();
            }
            next.run(req).await
        }
    }));
    let ret = svc.clone();
    let retention = tokio::spawn(async move {
        loop {
            ret.enforce_retention().await;
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
    });
    let r = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await;
    retention.abort();
    svc.shutdown().await;
    r
}

#[allow(dead_code)]
fn _assert_send(h: HeaderMap) -> HeaderMap {
    h
}
