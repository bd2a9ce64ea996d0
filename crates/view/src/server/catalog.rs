//! `/api/config` and the host's catalog (`/api/catalog`, `/api/catalog/{id}/open`).

use super::{not_found, App};
use crate::ViewError;
use axum::extract::{Path, State as S};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(super) async fn config(S(app): S<App>) -> Response {
    axum::Json(json!({
        "catalog": app.catalog.as_ref().map(|c| c.title().to_string()),
        "maxUpload": app.max_upload,
    }))
    .into_response()
}

pub(super) fn no_catalog() -> Response {
    not_found("this viewer has no catalog (it lists jobs when hark serve runs it)")
}

pub(super) async fn catalog_list(S(app): S<App>) -> Response {
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

pub(super) async fn catalog_open(
    S(app): S<App>,
    Path(id): Path<String>,
) -> Result<Response, ViewError> {
    let Some(c) = app.catalog.clone() else {
        return Ok(no_catalog());
    };
    let lib = app.lib.clone();
    let file = tokio::task::spawn_blocking(move || c.open(&id, &lib))
        .await
        .map_err(|e| ViewError::Index(e.to_string()))??;
    Ok(axum::Json(json!({"file": file})).into_response())
}
