//! The HTTP API: `/v1/...` (jobs) and BrowserMob Proxy's `/proxy/...`. Every error is a
//! JSON body `{"error": "..."}` with a 4xx (the request) or 5xx (the disk) status.

mod bmp;
mod guard;
mod har_stream;
mod page;
mod v1;
mod viewer;

pub use viewer::{router_with_viewer, spawn_viewer, ViewerOptions};

use crate::jobs::CreateError;
use crate::{ServeError, Service};
use axum::extract::{Request, State as AxState};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;

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

/// A response from a builder; a header the builder refused is a 500, never a panic.
fn built(r: Result<Response, axum::http::Error>) -> Res {
    r.map_err(|e| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("building the response: {e}"),
        )
    })
}

fn json_ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// The whole API on one router.
pub fn router(svc: Arc<Service>) -> Router {
    Router::new()
        .route("/", get(page::api_page))
        .route("/api.css", get(page::api_css))
        // Browsers ask for it with the page: nothing, rather than a 404 in their console.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/jobs", get(v1::list_jobs).post(v1::create_job))
        .route("/v1/jobs/{id}", get(v1::get_job).delete(v1::delete_job))
        .route("/v1/jobs/{id}/stop", post(v1::stop_job))
        .route("/v1/jobs/{id}/pages", post(v1::add_page))
        .route("/v1/jobs/{id}/network.har", get(v1::job_har))
        // Sauce Labs' path, for scripts written against it.
        .route("/v1/rdc/jobs/{id}/network.har", get(v1::job_har))
        .route("/v1/jobs/{id}/view", get(v1::job_view))
        .route("/proxy", get(bmp::bmp_list).post(bmp::bmp_create))
        .route("/proxy/{port}", axum::routing::delete(bmp::bmp_delete))
        .route("/proxy/{port}/har", get(bmp::bmp_har).put(bmp::bmp_new_har))
        .route("/proxy/{port}/har/pageRef", put(bmp::bmp_new_page))
        .route(
            "/proxy/{port}/blacklist",
            get(bmp::bmp_blacklist_get)
                .put(bmp::bmp_blacklist_put)
                .delete(bmp::bmp_blacklist_clear),
        )
        .route(
            "/proxy/{port}/whitelist",
            get(bmp::bmp_whitelist_get)
                .put(bmp::bmp_whitelist_put)
                .delete(bmp::bmp_whitelist_clear),
        )
        .route("/proxy/{port}/headers", post(bmp::bmp_headers))
        .route(
            "/proxy/{port}/limit",
            get(bmp::bmp_limit_get).put(bmp::bmp_limit_put),
        )
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(svc.clone(), auth))
        .layer(middleware::from_fn(guard::guard))
        .with_state(svc)
}

async fn auth(AxState(svc): Svc, req: Request, next: Next) -> Response {
    if let Some(token) = &svc.opts.token {
        let headers = req.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        // Sauce Labs' clients send Basic credentials: any user, the token as password.
        let mut basic = record::basic_credentials_in(headers, header::AUTHORIZATION)
            .map(|(_, pw)| pw)
            .peekable();
        let given = bearer.is_some() || basic.peek().is_some();
        let same = |g: &str| har::http::same_secret(g.as_bytes(), token.as_bytes());
        let ok = bearer.is_some_and(same) || basic.any(|pw| same(&pw));
        if !ok {
            let msg = if !given {
                "missing token: send Authorization: Bearer <token> (printed by hark serve at \
                 start), or Basic credentials with the token as password (curl -u any:<token>; \
                 a browser asks for them)"
            } else {
                "wrong token"
            };
            let mut r = ApiError(StatusCode::UNAUTHORIZED, msg.into()).into_response();
            let h = r.headers_mut();
            h.insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            h.append(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"hark serve\""),
            );
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

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::bad(format!("bad JSON body: {e}")))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" | "" => Some(false),
        _ => None,
    }
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
    let hosts = view::HostCheck::for_addr(addr);
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
    let r = view::serve(listener, app, svc.opts.header_timeout, stop).await;
    retention.abort();
    svc.shutdown().await;
    r
}
