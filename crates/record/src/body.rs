//! Bodies that stream through the proxy untouched while a copy (up to the cap) is kept
//! for the entry. The response side finishes the exchange when its body ends, fails,
//! stalls past the upstream timeout, or is dropped by a client that went away.

use crate::entry::{ms, Captured, Exchange};
use crate::upstream::{BoxError, Key, Pool, Upstream};
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Where finished exchanges go (the journal writer).
pub type Sink = Arc<dyn Fn(Exchange) + Send + Sync>;

/// The request body as it was sent upstream, shared with the response side.
#[derive(Debug)]
pub struct ReqCapture {
    pub body: Captured,
    /// When the last byte of the body was handed to the upstream connection.
    pub done: Option<Instant>,
}

pub type SharedReq = Arc<Mutex<ReqCapture>>;

pub struct ReqTee<B> {
    inner: B,
    cap: SharedReq,
}

impl<B> ReqTee<B> {
    pub fn new(inner: B, cap: SharedReq) -> Self {
        ReqTee { inner, cap }
    }
}

impl<B> Body for ReqTee<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    this.cap.lock().unwrap().body.push(d);
                }
                Poll::Ready(Some(Ok(f)))
            }
            Poll::Ready(None) => {
                this.cap.lock().unwrap().done = Some(Instant::now());
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Pending => Poll::Pending,
        }
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The state needed to finish an exchange once the response body is over.
pub struct Pending {
    pub exchange: Exchange,
    pub req: SharedReq,
    pub headers_at: Instant,
    pub sink: Sink,
    /// An HTTP/1.1 upstream connection to give back to the pool once the body is read.
    pub give_back: Option<(Arc<Pool>, Key, Upstream)>,
    /// Becomes true when recording stops: a body still streaming is then recorded as far
    /// as it came (a long poll, server-sent events).
    pub closing: tokio::sync::watch::Receiver<bool>,
}

impl Pending {
    fn finish(mut self, error: Option<String>) {
        let now = Instant::now();
        self.exchange.phases.receive = ms(now - self.headers_at);
        if let Ok(mut r) = self.req.lock() {
            self.exchange.request_body = std::mem::take(&mut r.body);
        }
        if error.is_some() {
            self.exchange.error = error;
        } else if let Some((pool, key, up)) = self.give_back.take() {
            pool.put(key, up);
        }
        (self.sink)(self.exchange);
    }
}

pub struct RespTee<B> {
    inner: B,
    pending: Option<Box<Pending>>,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    closing: Pin<Box<dyn Future<Output = ()> + Send + Sync>>,
}

impl<B: Body> RespTee<B> {
    pub fn new(inner: B, pending: Pending, idle: Duration) -> Self {
        // A body known to be empty may never be polled: the exchange is over already.
        let mut rx = pending.closing.clone();
        let closing = Box::pin(async move {
            let _ = rx.wait_for(|c| *c).await;
        });
        let pending = if inner.is_end_stream() {
            pending.finish(None);
            None
        } else {
            Some(Box::new(pending))
        };
        RespTee {
            inner,
            pending,
            closing,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl<B> Body for RespTee<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display + Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) => {
                if let (Some(d), Some(p)) = (f.data_ref(), this.pending.as_mut()) {
                    p.exchange.response_body.push(d);
                }
                if this.inner.is_end_stream() {
                    // The last data frame: hyper may not poll again for the end.
                    if let Some(p) = this.pending.take() {
                        p.finish(None);
                    }
                } else {
                    let deadline = tokio::time::Instant::now() + this.idle;
                    this.timer.as_mut().reset(deadline);
                }
                Poll::Ready(Some(Ok(f)))
            }
            Poll::Ready(None) => {
                if let Some(p) = this.pending.take() {
                    p.finish(None);
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                if let Some(p) = this.pending.take() {
                    let got = p.exchange.response_body.total;
                    let code = if e.to_string().contains("reset") {
                        "ERR_CONNECTION_RESET"
                    } else {
                        "ERR_CONTENT_LENGTH_MISMATCH"
                    };
                    p.finish(Some(format!(
                        "net::{code} (upstream failed after {got} body bytes: {e})"
                    )));
                }
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Pending => {
                if this.pending.is_some() && this.closing.as_mut().poll(cx).is_ready() {
                    if let Some(mut p) = this.pending.take() {
                        p.exchange
                            .extra
                            .push(("_openWhenRecordingStopped", true.into()));
                        p.finish(None);
                    }
                    return Poll::Pending;
                }
                if this.timer.as_mut().poll(cx).is_ready() {
                    let idle = this.idle;
                    if let Some(p) = this.pending.take() {
                        let got = p.exchange.response_body.total;
                        p.finish(Some(format!(
                            "net::ERR_TIMED_OUT (upstream sent nothing for {idle:?} after {got} body bytes)"
                        )));
                    }
                    return Poll::Ready(Some(Err(format!("upstream stalled for {idle:?}").into())));
                }
                Poll::Pending
            }
        }
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for RespTee<B> {
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            // hyper may never poll a body it knows is empty; an HTTP/2 client may reset
            // a stream once it has every byte (a redirect's empty body) before the
            // upstream's end-of-stream arrives. Neither is a client gone mid-body.
            let got = p.exchange.response_body.total;
            let complete = p.exchange.response.as_ref().is_some_and(|r| {
                let empty_status =
                    r.status == 204 || r.status == 304 || (100..200).contains(&r.status);
                let declared = crate::entry::header(&r.headers, "content-length")
                    .and_then(|v| v.trim().parse::<u64>().ok());
                (got == 0 && empty_status) || declared == Some(got)
            });
            if complete {
                p.finish(None);
            } else {
                p.finish(Some(format!(
                    "net::ERR_ABORTED (client went away after {got} body bytes)"
                )));
            }
        }
    }
}

use std::future::Future;

/// A bandwidth limit shared by every body it is given to (BrowserMob's
/// `upstreamKbps`/`downstreamKbps`, per proxy): data frames are held back so that the
/// bytes passed on never exceed `bytes_per_sec` on average.
#[derive(Debug)]
pub struct Throttle {
    bytes_per_sec: f64,
    /// When the bytes already let through will have been sent at the limit.
    free_at: Mutex<Instant>,
}

impl Throttle {
    /// `None` for a limit of zero (no limit).
    pub fn new(bytes_per_sec: u64) -> Option<Arc<Throttle>> {
        (bytes_per_sec > 0).then(|| {
            Arc::new(Throttle {
                bytes_per_sec: bytes_per_sec as f64,
                free_at: Mutex::new(Instant::now()),
            })
        })
    }

    pub fn bytes_per_sec(&self) -> u64 {
        self.bytes_per_sec as u64
    }

    /// Book `n` bytes; returns when they may go out.
    fn reserve(&self, n: usize) -> Instant {
        let now = Instant::now();
        let mut free_at = self.free_at.lock().unwrap();
        let start = (*free_at).max(now);
        *free_at = start + Duration::from_secs_f64(n as f64 / self.bytes_per_sec);
        // The frame goes out once the bytes before it are through; its own bytes
        // delay the next one.
        start
    }
}

/// A body whose data goes out at the pace of a [`Throttle`], in pieces of at most a
/// tenth of a second's worth (at least 1 KiB), so that no piece waits long enough to
/// look like a stalled upstream.
pub struct Throttled<B> {
    inner: B,
    throttle: Arc<Throttle>,
    /// Data taken from `inner` and not yet let through.
    held: Bytes,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The piece the timer is for.
    due: Option<Bytes>,
}

impl<B> Throttled<B> {
    pub fn new(inner: B, throttle: Arc<Throttle>) -> Self {
        Throttled {
            inner,
            throttle,
            held: Bytes::new(),
            timer: None,
            due: None,
        }
    }

    fn piece(&self) -> usize {
        ((self.throttle.bytes_per_sec / 10.0) as usize).max(1024)
    }
}

impl<B> Body for Throttled<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        loop {
            if let Some(t) = this.timer.as_mut() {
                if t.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.timer = None;
                if let Some(d) = this.due.take() {
                    return Poll::Ready(Some(Ok(Frame::data(d))));
                }
            }
            if !this.held.is_empty() {
                let n = this.held.len().min(this.piece());
                let d = this.held.split_to(n);
                let at = this.throttle.reserve(n);
                if at <= Instant::now() {
                    return Poll::Ready(Some(Ok(Frame::data(d))));
                }
                this.due = Some(d);
                this.timer = Some(Box::pin(tokio::time::sleep_until(at.into())));
                continue;
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(f))) => match f.into_data() {
                    Ok(d) => this.held = d,
                    Err(f) => return Poll::Ready(Some(Ok(f))),
                },
                other => return other,
            }
        }
    }
    fn is_end_stream(&self) -> bool {
        self.held.is_empty() && self.due.is_none() && self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        let mut h = self.inner.size_hint();
        let extra = (self.held.len() + self.due.as_ref().map_or(0, |d| d.len())) as u64;
        h.set_lower(h.lower() + extra);
        if let Some(u) = h.upper() {
            h.set_upper(u + extra);
        }
        h
    }
}
