//! The viewer's page and assets, embedded in the binary.

use super::not_found;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

pub(super) const INDEX_HTML: &str = include_str!("../../web/index.html");
pub(super) const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "table.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/table.js"),
    ),
    (
        "details.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/details.js"),
    ),
    (
        "compare.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/compare.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/dom.js"),
    ),
    (
        "highlight.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/highlight.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../web/favicon.svg"),
    ),
];

pub(super) async fn index_html() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        INDEX_HTML,
    )
        .into_response()
}

pub(super) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, text)) => ([(header::CONTENT_TYPE, *mime)], *text).into_response(),
        None => not_found("no such asset"),
    }
}
