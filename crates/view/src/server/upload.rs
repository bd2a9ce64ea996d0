//! `POST /api/upload`: a HAR (or `.har.gz`) streamed to a file in the upload directory
//! and added to the library.

use super::App;
use crate::index::Index;
use crate::ViewError;
use axum::extract::{Query as Q, Request, State as S};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The upload directory (ours, made at the first upload and removed on drop, when the
/// host gave none) and a counter for file names.
pub(super) struct Uploads {
    pub(super) dir: Option<std::path::PathBuf>,
    pub(super) temp: std::sync::OnceLock<tempfile::TempDir>,
    pub(super) n: std::sync::atomic::AtomicUsize,
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

/// A file name for an upload: the last path component of `name`, tame characters only.
pub(super) fn upload_name(name: Option<&String>) -> String {
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

pub(super) async fn upload(
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
    let total = receive(req, out, app.max_upload, too_big, io).await?;
    if total == 0 {
        return Err(ViewError::Upload(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{name}: empty file"),
        ));
    }
    let p = path.to_string_lossy().into_owned();
    let shown = name.clone();
    let max = app.max_upload;
    let idx = tokio::task::spawn_blocking(move || index_upload(&p, &shown, max))
        .await
        .map_err(|e| ViewError::Index(e.to_string()))?
        .map_err(|e| match e {
            ViewError::Upload(..) => e,
            e => ViewError::Upload(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("not a HAR file: {e}"),
            ),
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

/// Stream the request body to `out` (on a blocking thread), up to `max` bytes; returns
/// how many were written.
async fn receive(
    req: Request,
    out: std::fs::File,
    max: u64,
    too_big: impl Fn() -> ViewError,
    io: impl Fn(std::io::Error) -> ViewError,
) -> Result<u64, ViewError> {
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
        if total > max {
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
    Ok(total)
}

/// Index an uploaded file, waiting for its first entry (or its end) so that a file that
/// is not a HAR is refused to the uploader.
fn index_upload(p: &str, shown: &str, max: u64) -> Result<Arc<Index>, ViewError> {
    let idx = Index::open_limited(p, shown, 2, Some(max))?;
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
