//! A job's HAR as a streamed (chunked) response: written from the journal on a blocking
//! thread, in chunks through a channel; `?sanitize=1` through `hark sanitize`'s passes;
//! gzipped when the client's `Accept-Encoding` takes it.

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
    gzip: bool,
) -> Result<Response, ServeError> {
    let (path, limit, pages, comment) = job.har_source();
    // Fail before streaming when the journal cannot be read at all.
    record::journal::scan(&path, Some(16))?;
    let tmp_dir = svc.opts.data.join("tmp");
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let chan = ChanWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let out = if gzip {
            Out::Gzip(flate2::write::GzEncoder::new(
                chan,
                flate2::Compression::fast(),
            ))
        } else {
            Out::Plain(chan)
        };
        let r = if sanitize {
            sanitized(&path, limit, pages, comment, style, &tmp_dir, out)
        } else {
            record::journal::write_har(&path, limit, pages, comment, style, out)
                .map_err(ServeError::from)
                .and_then(|(_, w)| w.finish())
        };
        if let Err(e) = r {
            // Mid-stream: the connection is cut so the client sees an incomplete body.
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let name = format!("attachment; filename=\"{}.har\"", job.id);
    let mut r = Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_DISPOSITION, name)
        .header(header::VARY, "Accept-Encoding");
    if gzip {
        r = r.header(header::CONTENT_ENCODING, "gzip");
    }
    r.body(Body::new(ChanBody(rx)))
        .map_err(|e| ServeError::Stream(std::io::Error::other(e)))
}

/// Whether the request's `Accept-Encoding` takes gzip.
pub(super) fn wants_gzip(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| har::http::accepts_encoding(v, "gzip"))
}

/// Where the HAR goes: the response, gzipped or not.
enum Out {
    Plain(ChanWriter),
    Gzip(flate2::write::GzEncoder<ChanWriter>),
}

impl Out {
    /// Flush the last bytes (and gzip's trailer).
    fn finish(self) -> Result<(), ServeError> {
        let mut w = match self {
            Out::Plain(w) => w,
            Out::Gzip(g) => g.finish().map_err(ServeError::Stream)?,
        };
        w.flush().map_err(ServeError::Stream)
    }
}

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::Plain(w) => w.write(b),
            Out::Gzip(w) => w.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::Plain(w) => w.flush(),
            Out::Gzip(w) => w.flush(),
        }
    }
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
    out: Out,
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
    w.into_inner().finish()
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
