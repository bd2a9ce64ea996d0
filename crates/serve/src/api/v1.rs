//! `/v1/...`: jobs made, listed, stopped and deleted, their pages, their HAR (streamed,
//! optionally sanitized) and the viewer link.

use super::har_stream::{stream_har, wants_gzip};
use super::{json_ok, parse_bool, parse_json, ApiError, Res, Svc};
use crate::jobs::{BlacklistRule, Capture, Kind, NewJob, Page, State, Whitelist};
use crate::Service;
use axum::body::Body;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A job as the API shows it (with its shared-port proxy URL when there is one).
fn job_json(svc: &Service, job: &crate::Job) -> Value {
    let mut v = job.view();
    if let (Some(addr), Some(o)) = (svc.shared_addr.get(), v.as_object_mut()) {
        if job.state() == State::Running {
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

pub(super) async fn create_job(AxState(svc): Svc, body: Bytes) -> Res {
    let c: CreateJob = parse_json(&body)?;
    let job = svc.create(NewJob {
        name: c.name.unwrap_or_default(),
        tags: c.tags,
        kind: Kind::Job,
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

pub(super) async fn list_jobs(AxState(svc): Svc) -> Res {
    let jobs: Vec<Value> = svc.jobs().iter().map(|j| job_json(&svc, j)).collect();
    let entries: u64 = jobs.iter().filter_map(|j| j["entries"].as_u64()).sum();
    let bytes: u64 = jobs.iter().filter_map(|j| j["bytes"].as_u64()).sum();
    Ok(json_ok(
        json!({"jobs": jobs, "entries": entries, "bytes": bytes}),
    ))
}

pub(super) async fn get_job(AxState(svc): Svc, Path(id): Path<String>) -> Res {
    let job = job_by_id(&svc, &id)?;
    Ok(json_ok(job_json(&svc, &job)))
}

pub(super) async fn stop_job(AxState(svc): Svc, Path(id): Path<String>) -> Res {
    let job = job_by_id(&svc, &id)?;
    job.stop(State::Stopped).await?;
    let _ = svc.enforce_retention().await;
    Ok(json_ok(job_json(&svc, &job)))
}

pub(super) async fn delete_job(AxState(svc): Svc, Path(id): Path<String>) -> Res {
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

pub(super) async fn add_page(AxState(svc): Svc, Path(id): Path<String>, body: Bytes) -> Res {
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
pub(super) async fn job_view(AxState(svc): Svc, Path(id): Path<String>) -> Res {
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
    super::built(
        Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, &url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"url": url}).to_string())),
    )
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

pub(super) async fn job_har(
    AxState(svc): Svc,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
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
    Ok(stream_har(
        &svc,
        &job,
        sanitize,
        style,
        wants_gzip(&headers),
    )?)
}
