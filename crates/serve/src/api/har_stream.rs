//! A job's HAR as a streamed (chunked) response: written from the journal on a blocking
//! thread, in chunks through a channel; `?sanitize=1` through `hark sanitize`'s passes.

use crate::{ServeError, Service};
use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The job's HAR as a streamed (chunked) response, written on a blocking thread.
pub(super) fn stream_har(
    svc: &Service,
    job: &crate::Job,
    sanitize: bool,
    style: har::Style,
) -> Result<Response, ServeError> {
    let (path, limit, pages, comment) = job.har_source();
    // Fail before streaming when the journal cannot be read at all.
    record::journal::scan(&path, Some(16))?;
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
            record::journal::write_har(&path, limit, pages, comment, style, out)
                .map_err(ServeError::from)
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
    let (_, mut f) = record::journal::write_har(
        path,
        limit,
        pages,
        comment,
        har::Style::Compact,
        std::io::BufWriter::new(f),
    )?;
    f.flush().map_err(ServeError::Stream)?;
    drop(f);
    let mut w = har::HarWriter::new(out, style);
    let p = tmp.path().to_str().ok_or_else(|| {
        ServeError::io(tmp_dir)(std::io::Error::other("temporary path is not UTF-8"))
    })?;
    let open = |_| {
        har::Source::open(p)
            .and_then(har::HarReader::new)
            .map_err(sanitize::Error::from)
    };
    sanitize::pipeline::run(&sanitize::Options::default(), open, 2, style, Some(&mut w))?;
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
