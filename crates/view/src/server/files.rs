//! The library's files as JSON: the list, a file's summary, a window of its rows, one
//! entry's details, its raw JSON and its image.

use super::{not_found, App};
use crate::index::{Index, Row, State};
use crate::query::{Item, Query};
use crate::ViewError;
use axum::body::Body;
use axum::extract::{Path, Query as Q, State as S};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn file(app: &App, id: usize) -> Result<Arc<Index>, ViewError> {
    app.lib.get(id).ok_or(ViewError::NoFile(id))
}

pub(super) async fn files(S(app): S<App>) -> Response {
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

pub(super) async fn summary(S(app): S<App>, Path(id): Path<usize>) -> Result<Response, ViewError> {
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

pub(super) fn flag(m: &HashMap<String, String>, k: &str) -> bool {
    m.get(k)
        .is_some_and(|v| v == "1" || v == "true" || v == "on")
}

pub(super) fn num<T: std::str::FromStr>(
    m: &HashMap<String, String>,
    k: &str,
) -> Result<Option<T>, ViewError> {
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
            search: s("search"),
            search_regex: flag(m, "search_regex"),
            from: num(m, "from")?,
            to: num(m, "to")?,
            ids: s("ids"),
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
        "type": st.types.get(r.rtype),
        "kind": r.kind.name(),
        "initiator": st.initiators.get(r.initiator),
        "priority": st.priorities.get(r.priority),
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

pub(super) async fn rows(
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
    let report = match &*f.findings.read().unwrap() {
        crate::findings::Findings::Done(r) => Some(r.clone()),
        _ => None,
    };
    let search = (!q.search.is_empty())
        .then(|| {
            f.find_search(&crate::search::Needle {
                text: q.search.clone(),
                regex: q.search_regex,
            })
        })
        .flatten()
        .map(|s| s.progress());
    let st = f.state.read().unwrap();
    let items: Vec<Value> = m
        .items
        .iter()
        .skip(offset)
        .take(limit)
        .map(|it| match *it {
            Item::Row(i) => match st.rows.get(i as usize) {
                Some(r) => {
                    let mut v = row_json(&st, i, r);
                    if let Some(rep) = &report {
                        let titles = rep.titles_of(i);
                        if !titles.is_empty() {
                            v["marks"] = json!(titles);
                            v["markSeverity"] = json!(rep.severity_of(i));
                        }
                    }
                    v
                }
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
        "search": search,
        "findings": report.is_some(),
    }))
    .into_response())
}

pub(super) async fn entry(
    S(app): S<App>,
    Path((id, n)): Path<(usize, usize)>,
) -> Result<Response, ViewError> {
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

pub(super) async fn raw(
    S(app): S<App>,
    Path((id, n)): Path<(usize, usize)>,
) -> Result<Response, ViewError> {
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

pub(super) async fn image(
    S(app): S<App>,
    Path((id, n)): Path<(usize, usize)>,
) -> Result<Response, ViewError> {
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

/// The overview strip: requests started per time bin over the whole capture (and how
/// many of them are errors), with the pages' load events.
pub(super) async fn overview(
    S(app): S<App>,
    Path(id): Path<usize>,
    Q(params): Q<HashMap<String, String>>,
) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let bins: usize = num(&params, "bins")?.unwrap_or(200).clamp(1, 2000);
    let st = f.state.read().unwrap();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for r in st.rows.iter().filter(|r| !r.start.is_nan()) {
        lo = lo.min(r.start);
        hi = hi.max(r.end());
    }
    if lo > hi {
        return Ok(
            axum::Json(json!({"origin": null, "end": null, "bins": [], "errors": []}))
                .into_response(),
        );
    }
    let span = (hi - lo).max(1.0);
    let mut counts = vec![0u32; bins];
    let mut errors = vec![0u32; bins];
    for r in st.rows.iter().filter(|r| !r.start.is_nan()) {
        let b = (((r.start - lo) / span) * bins as f64).floor() as usize;
        let b = b.min(bins - 1);
        counts[b] += 1;
        if r.is_error() {
            errors[b] += 1;
        }
    }
    Ok(axum::Json(json!({
        "origin": lo,
        "end": hi,
        "bins": counts,
        "errors": errors,
        "pages": st.pages,
        "done": st.done,
    }))
    .into_response())
}

/// The response previewed: a document for a sandboxed frame (see
/// [`crate::details::preview`]), under its own policy.
pub(super) async fn preview(
    S(app): S<App>,
    Path((id, n)): Path<(usize, usize)>,
) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let bytes = f.entry_bytes(n)?;
    match crate::details::preview(&bytes) {
        Some((mime, doc)) => Ok((
            [
                (header::CONTENT_TYPE, mime.as_str()),
                (header::CONTENT_SECURITY_POLICY, crate::details::PREVIEW_CSP),
                (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
            ],
            Body::from(doc),
        )
            .into_response()),
        None => Ok(not_found("this response has no preview")),
    }
}
