//! The web viewer (crates/view) over the service's jobs: a catalog of the jobs, on the
//! API port at `/view/` and on its own listener (`--view`).

use super::router;
use crate::jobs::State;
use crate::Service;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;

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
                let m = j.meta();
                let (entries, size) = j.totals();
                let state = m.state;
                (
                    m.created_ms,
                    view::CatalogItem {
                        id: m.id,
                        name: m.name,
                        state: state.as_str().to_string(),
                        live: state == State::Running,
                        entries,
                        size,
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
        let entries = job.totals().0;
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
/// same library as `/view/` on the API port. Call before [`serve_with_viewer`](super::serve_with_viewer) so that
/// `GET /v1/jobs/{id}/view` sends clients here.
pub fn spawn_viewer(
    svc: &Arc<Service>,
    listener: tokio::net::TcpListener,
    addr: std::net::SocketAddr,
    opts: ViewerOptions,
) {
    let hosts = view::HostCheck::for_addr(addr);
    let app = viewer_router(svc, hosts, &opts, format!("http://{addr}"));
    let header_timeout = svc.opts.header_timeout;
    tokio::spawn(async move {
        let _ = view::serve(listener, app, header_timeout, std::future::pending()).await;
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
    let hosts = view::HostCheck::for_addr(addr);
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
            .unwrap_or_else(|e| {
                axum::response::IntoResponse::into_response(super::ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    e.to_string(),
                ))
            });
    }
    next.run(req).await
}
