//! What the proxy says and reads on the wire: plain-text answers, HTTP version
//! spellings, header lists and head sizes, hop-by-hop headers, `host:port`.

use crate::entry::ResponseInfo;
use crate::upstream::{BoxError, UpBody, Upstream};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode, Version};
use http_body_util::{BodyExt, Empty, Full};

/// What the proxy answers to a request that is not for it to forward (origin form, no
/// tunnel); `hark record`'s own endpoints say theirs after it.
pub(super) const FORWARD_ONLY: &str = "hark record is a forward proxy: configure it as the \
     HTTP(S) proxy (absolute-form requests and CONNECT)\n";

/// An answer of the proxy's own, with a body of type `content_type`.
pub(super) fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<UpBody> {
    let mut r = Response::new(
        Full::new(body.into())
            .map_err(|e| -> BoxError { match e {} })
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub(super) fn text_response(status: StatusCode, text: String) -> Response<UpBody> {
    response(status, "text/plain; charset=utf-8", text)
}

pub(super) fn empty() -> UpBody {
    Empty::<Bytes>::new()
        .map_err(|e| -> BoxError { match e {} })
        .boxed()
}

pub(super) fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "h2",
        Version::HTTP_3 => "h3",
        _ => "",
    }
}

pub(super) fn header_list(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

pub(super) fn head_size(first_line_len: usize, h: &HeaderMap) -> i64 {
    let mut n = first_line_len + 2 + 2;
    for (k, v) in h {
        n += k.as_str().len() + 2 + v.len() + 2;
    }
    n as i64
}

/// Hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1), plus the names
/// listed in `Connection`.
pub(super) fn strip_hop(h: &mut HeaderMap, keep_upgrade: bool) {
    let listed: Vec<String> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in listed {
        if keep_upgrade && name == "upgrade" {
            continue;
        }
        h.remove(name.as_str());
    }
    for name in [
        "proxy-connection",
        "proxy-authorization",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
    ] {
        h.remove(name);
    }
    if !keep_upgrade {
        h.remove(header::CONNECTION);
        h.remove(header::UPGRADE);
    }
}

pub(super) fn split_authority(a: &str, default_port: u16) -> (String, u16) {
    if let Some(rest) = a.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once(']') {
            let port = p.trim_start_matches(':').parse().unwrap_or(default_port);
            return (format!("[{h}]"), port);
        }
    }
    match a.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
            (h.to_string(), p.parse().unwrap_or(default_port))
        }
        _ => (a.to_string(), default_port),
    }
}

/// Tiny either-future so both senders' futures fit one `match`.
pub(super) mod futures_either {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub enum Either<A, B> {
        Left(A),
        Right(B),
    }
    pub use Either::{Left, Right};

    impl<A, B, T> Future for Either<A, B>
    where
        A: Future<Output = T> + Unpin,
        B: Future<Output = T> + Unpin,
    {
        type Output = T;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            match self.get_mut() {
                Either::Left(a) => Pin::new(a).poll(cx),
                Either::Right(b) => Pin::new(b).poll(cx),
            }
        }
    }
}

/// The answer to a request the policy refused (407 asks for Basic credentials).
pub(super) fn refusal(status: u16) -> Response<UpBody> {
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    if status == 407 {
        r.headers_mut().insert(
            header::PROXY_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"hark\""),
        );
    }
    r
}

/// The reason phrase as the server sent it (its canonical one when hyper kept none).
pub(super) fn reason_phrase(ext: &http::Extensions, status: StatusCode) -> String {
    ext.get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string())
}

/// The response head as recorded: the headers as the upstream connection read them
/// (with their size) when it was tapped, else as hyper parsed them (`fallback_size`).
pub(super) fn response_info(
    up: &Upstream,
    status: StatusCode,
    status_text: String,
    version: Version,
    headers: &HeaderMap,
    fallback_size: impl FnOnce() -> i64,
) -> ResponseInfo {
    let (headers, headers_size) = up
        .tap
        .as_ref()
        .and_then(|t| crate::tap::response_head(t, status.as_u16()))
        .map(|(h, n)| (h, n as i64))
        .unwrap_or_else(|| (header_list(headers), fallback_size()));
    ResponseInfo {
        status: status.as_u16(),
        status_text,
        http_version: version_str(version),
        headers,
        headers_size,
    }
}
