//! A search as the page follows it, and a file's findings.
//!
//! `GET /api/files/{id}/search?text=&regex=1` answers with newline-delimited JSON, one
//! line as soon as there is something new: `{"hits": [[entry, ["url", …]], …],
//! "progress": {…}}`, the last with `"progress": {"done": true, …}`. Closing the
//! connection cancels the search (when no one else follows it).

use super::files::{file, flag};
use super::App;
use crate::findings::Findings;
use crate::search::{field_names, Needle};
use crate::ViewError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Path, Query as Q, State as S};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A body fed line by line from a channel.
struct Lines(tokio::sync::mpsc::Receiver<Bytes>);

impl HttpBody for Lines {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|o| o.map(|b| Ok(http_body::Frame::data(b))))
    }
}

pub(super) async fn search(
    S(app): S<App>,
    Path(id): Path<usize>,
    Q(params): Q<HashMap<String, String>>,
) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let text = params.get("text").cloned().unwrap_or_default();
    if text.is_empty() {
        return Err(ViewError::BadQuery("search: no text".into()));
    }
    let needle = Needle {
        text,
        regex: flag(&params, "regex"),
    };
    let s = f.search(&needle)?;
    let watch = s.watch();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    tokio::spawn(async move {
        let s = watch.0.clone();
        let mut sent = 0;
        loop {
            let done = s.is_done();
            let hits = s.hits_from(sent);
            if !hits.is_empty() || done {
                sent += hits.len();
                let list: Vec<_> = hits
                    .iter()
                    .map(|(i, m)| json!([i, field_names(*m)]))
                    .collect();
                let mut line = serde_json::to_vec(&json!({"hits": list, "progress": s.progress()}))
                    .unwrap_or_default();
                line.push(b'\n');
                if tx.send(Bytes::from(line)).await.is_err() {
                    break; // the page went away: `watch` is dropped, the search stops
                }
                if done {
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(if sent == 0 {
                10
            } else {
                50
            }))
            .await;
        }
        drop(watch);
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::new(Lines(rx)),
    )
        .into_response())
}

pub(super) async fn findings(S(app): S<App>, Path(id): Path<usize>) -> Result<Response, ViewError> {
    let f = file(&app, id)?;
    let v = match &*f.findings.read().unwrap() {
        Findings::Pending => json!({"state": "pending"}),
        Findings::Failed(e) => json!({"state": "failed", "error": e}),
        Findings::Done(r) => {
            let mut v = r.json.clone();
            v["state"] = json!("done");
            v
        }
    };
    Ok(axum::Json(v).into_response())
}
