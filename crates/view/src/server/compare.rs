//! Two files compared: the pairs (a window of them, filtered), and what changed in one.

use super::files::{file, num, row_json};
use super::App;
use crate::compare::{compare, count, pair_changes, Comparison, PairRow, Progress, Show};
use crate::ViewError;
use axum::extract::{Query as Q, State as S};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The comparison of files `a` and `b`, computed once (again when either file was
/// replaced by a newer snapshot).
async fn comparison(
    app: &App,
    params: &HashMap<String, String>,
) -> Result<Arc<Comparison>, ViewError> {
    let need = |k: &str| -> Result<usize, ViewError> {
        num(params, k)?.ok_or_else(|| ViewError::BadQuery(format!("{k}: a file id is needed")))
    };
    let (ia, ib) = (need("a")?, need("b")?);
    let (fa, fb) = (file(app, ia)?, file(app, ib)?);
    let cached = || {
        app.compares
            .lock()
            .unwrap()
            .get(&(ia, ib))
            .filter(|c| Arc::ptr_eq(&c.a, &fa) && Arc::ptr_eq(&c.b, &fb))
            .cloned()
    };
    if let Some(c) = cached() {
        return Ok(c);
    }
    // One comparison made at a time: a second request for the same files waits for it.
    let _making = app.making.lock().await;
    if let Some(c) = cached() {
        return Ok(c);
    }
    let (fa, fb) = (fa.clone(), fb.clone());
    let c = tokio::task::spawn_blocking(move || Arc::new(compare(fa, fb)))
        .await
        .map_err(|e| ViewError::Index(e.to_string()))?;
    // The responses compared in the background; the answers say when it is done.
    let bg = c.clone();
    std::thread::spawn(move || bg.finish(har::default_threads()));
    let mut cache = app.compares.lock().unwrap();
    // A few comparisons are kept (each is a few bytes per entry).
    if cache.len() >= 8 {
        cache.clear();
    }
    cache.insert((ia, ib), c.clone());
    Ok(c)
}

fn side(c: &Comparison, a: bool) -> Value {
    let f = if a { &c.a } else { &c.b };
    json!({"name": f.name, "entries": f.len()})
}

fn pair_json(c: &Comparison, k: usize, p: &PairRow) -> Value {
    let row = |idx: &crate::Index, i: Option<u32>| match i {
        Some(i) => {
            let st = idx.state.read().unwrap();
            st.rows
                .get(i as usize)
                .map_or(Value::Null, |r| row_json(&st, i, r))
        }
        None => Value::Null,
    };
    json!({
        "k": k,
        "key": c.keys.get(p.key as usize),
        "state": p.state.name(),
        "a": row(&c.a, p.a),
        "b": row(&c.b, p.b),
    })
}

/// `GET /api/compare?a=&b=&show=all|changed|a|b&offset=&limit=`
pub(super) async fn pairs(
    S(app): S<App>,
    Q(params): Q<HashMap<String, String>>,
) -> Result<Response, ViewError> {
    let c = comparison(&app, &params).await?;
    let show = Show::parse(params.get("show").map_or("", |s| s.as_str()))?;
    let offset: usize = num(&params, "offset")?.unwrap_or(0);
    let limit: usize = num(&params, "limit")?.unwrap_or(500).min(2000);
    // One read of the pairs for all of the answer (a second read while this one is held
    // could wait behind the background pass's write for ever).
    let pairs = c.pairs.read().unwrap();
    let counts = count(&pairs);
    let items: Vec<Value> = pairs
        .iter()
        .enumerate()
        .filter(|(_, p)| show.admits(p.state))
        .skip(offset)
        .take(limit)
        .map(|(k, p)| pair_json(&c, k, p))
        .collect();
    let [same, changed, only_a, only_b] = counts;
    let progress = c.progress.read().unwrap().clone();
    let (done, error) = match progress {
        Progress::Pairing => (false, None),
        Progress::Done => (true, None),
        Progress::Failed(e) => (true, Some(e)),
    };
    Ok(axum::Json(json!({
        "done": done,
        "error": error,
        "a": side(&c, true),
        "b": side(&c, false),
        "counts": {"pairs": pairs.len(), "same": same, "changed": changed, "onlyA": only_a, "onlyB": only_b},
        "total": show.total(counts),
        "offset": offset,
        "items": items,
    }))
    .into_response())
}

/// `GET /api/compare/pair?a=&b=&k=`: one pair, with its changed headers and JSON fields.
pub(super) async fn pair(
    S(app): S<App>,
    Q(params): Q<HashMap<String, String>>,
) -> Result<Response, ViewError> {
    let c = comparison(&app, &params).await?;
    let k: usize =
        num(&params, "k")?.ok_or_else(|| ViewError::BadQuery("k: a pair is needed".into()))?;
    let p = *c
        .pairs
        .read()
        .unwrap()
        .get(k)
        .ok_or_else(|| ViewError::NoItem(format!("no pair {k}")))?;
    let c2 = c.clone();
    let changes = tokio::task::spawn_blocking(move || pair_changes(&c2, &p))
        .await
        .map_err(|e| ViewError::Index(e.to_string()))??;
    let mut v = pair_json(&c, k, &p);
    v["headers"] = json!(changes.headers);
    v["body"] = json!(changes.body);
    v["varies"] = json!(changes.varies);
    Ok(axum::Json(v).into_response())
}
