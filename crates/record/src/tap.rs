//! HTTP/1.1 heads as they were on the wire. hyper parses header names into lower-case
//! `HeaderName`s and groups repeated names, so the bytes a connection reads are tapped
//! (the last 16 to 32 KiB) and each head is found again there: names keep their case, headers
//! their order, and `headersSize` is the head's real size. When a head is not found (cut
//! out of the window by a large body), hyper's parsed headers are used instead.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

const WINDOW: usize = 16 * 1024;

#[derive(Default, Debug)]
pub struct Window {
    data: Vec<u8>,
}

pub type Shared = Arc<Mutex<Window>>;

impl Window {
    fn push(&mut self, b: &[u8]) {
        if b.len() >= WINDOW {
            self.data.clear();
            self.data.extend_from_slice(&b[b.len() - WINDOW..]);
            return;
        }
        self.data.extend_from_slice(b);
        if self.data.len() > 2 * WINDOW {
            let cut = self.data.len() - WINDOW;
            self.data.drain(..cut);
        }
    }

    /// The first head whose start line begins with `prefix` and satisfies `start`
    /// (searched anywhere: after a body the next head follows without a line break);
    /// it and everything before it are consumed. Returns the headers and the head's size.
    fn take(
        &mut self,
        prefix: &[u8],
        start: impl Fn(&[u8]) -> bool,
    ) -> Option<(Vec<(String, String)>, usize)> {
        let d = &self.data;
        let mut from = 0;
        while let Some(i) = find(&d[from..], prefix) {
            let at = from + i;
            let line_end = at + find(&d[at..], b"\r\n")?;
            if !start(&d[at..line_end]) {
                from = at + 1;
                continue;
            }
            let end = at + find(&d[at..], b"\r\n\r\n")? + 4;
            let head = &d[at..end];
            let mut headers = Vec::new();
            for line in head.split(|b| *b == b'\n').skip(1) {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                let colon = line.iter().position(|b| *b == b':')?;
                let name = String::from_utf8_lossy(&line[..colon]).into_owned();
                let value = String::from_utf8_lossy(&line[colon + 1..])
                    .trim()
                    .to_string();
                headers.push((name, value));
            }
            let size = head.len();
            self.data.drain(..end);
            return Some((headers, size));
        }
        None
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::find(h, n)
}

/// The head of the next request with this method.
pub fn request_head(w: &Shared, method: &str) -> Option<(Vec<(String, String)>, usize)> {
    let prefix = format!("{method} ");
    w.lock().unwrap().take(prefix.as_bytes(), |line| {
        line.windows(7).any(|x| x == b"HTTP/1.")
    })
}

/// The head of the next response with this (final) status.
pub fn response_head(w: &Shared, status: u16) -> Option<(Vec<(String, String)>, usize)> {
    let code = status.to_string();
    w.lock().unwrap().take(b"HTTP/1.", |line| {
        line.len() >= 12 && &line[9..12] == code.as_bytes()
    })
}

/// An I/O stream whose reads are copied into a [`Window`].
pub struct Tap<T> {
    inner: T,
    window: Shared,
}

impl<T> Tap<T> {
    pub fn new(inner: T) -> (Tap<T>, Shared) {
        let window = Shared::default();
        (
            Tap {
                inner,
                window: window.clone(),
            },
            window,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tap<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                this.window.lock().unwrap().push(new);
            }
        }
        r
    }
}

crate::tunnel::delegate_async_write!(Tap);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_keep_case_order_and_repeats_and_bodies_are_skipped() {
        let w = Shared::default();
        let mut g = w.lock().unwrap();
        g.push(b"POST http://a/x HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nSet-Thing: a\r\nX-One: 2\r\nContent-Length: 4\r\n\r\nbody");
        g.push(b"GET http://a/y HTTP/1.1\r\nHOST: a\r\n\r\n");
        drop(g);
        let (h, size) = request_head(&w, "POST").unwrap();
        let names: Vec<&str> = h.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["Host", "X-One", "Set-Thing", "X-One", "Content-Length"]
        );
        assert_eq!(h[3].1, "2");
        assert_eq!(size, 90);
        let (h, _) = request_head(&w, "GET").unwrap();
        assert_eq!(h[0].0, "HOST");
        assert!(request_head(&w, "GET").is_none());
    }

    #[test]
    fn interim_responses_are_skipped() {
        let w = Shared::default();
        w.lock()
            .unwrap()
            .push(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /n\r\n\r\n");
        let (h, _) = response_head(&w, 201).unwrap();
        assert_eq!(h, [("Location".to_string(), "/n".to_string())]);
    }
}
