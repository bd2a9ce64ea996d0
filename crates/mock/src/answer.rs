//! A recorded response as it is sent again: status, headers without hop-by-hop ones,
//! the body decoded (base64) with `Content-Length` true to it and no
//! `Content-Encoding` (the HAR holds the body uncompressed), Set-Cookie and redirects
//! as recorded.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// Headers never replayed: hop-by-hop ones, and what the body sent decides.
const DROPPED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
];

/// The recorded answer of an entry (its JSON bytes), for a request with `method`.
pub fn answer(entry: &[u8], method: &str) -> Response<Full<Bytes>> {
    let tree = match har::lite::parse(entry) {
        Ok(t) => t,
        Err(e) => {
            return text(
                StatusCode::BAD_GATEWAY,
                format!("hark mock: unreadable entry: {e:?}\n"),
            )
        }
    };
    let e = har::EntryView(har::Obj::of(Some(&tree)));
    let resp = e.response();
    let status = resp
        .status()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| s.as_u16() >= 200);
    let Some(status) = status else {
        let why = har::http::failure(e).unwrap_or_else(|| "no response".into());
        return text(
            StatusCode::BAD_GATEWAY,
            format!("hark mock: the recorded request got no response ({why})\n"),
        );
    };
    let content = resp.content();
    let mut warning = None;
    let body: Vec<u8> = match content.bytes() {
        Some(b) => b.into_owned(),
        None if content.is_base64() => {
            warning = Some("recorded body is not valid base64: sent as recorded");
            content.text().unwrap_or("").as_bytes().to_vec()
        }
        None => Vec::new(),
    };
    let no_body = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let mut out = Response::builder().status(status);
    for (n, v) in resp.headers().iter() {
        let lower = n.to_ascii_lowercase();
        if lower.starts_with(':') || DROPPED.contains(&lower.as_str()) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            out = out.header(name, value);
        }
    }
    if let Some(w) = warning {
        out = out.header("x-hark-mock-warning", w);
    }
    if !no_body {
        out = out.header(http::header::CONTENT_LENGTH, body.len());
    }
    let body = if no_body || method.eq_ignore_ascii_case("HEAD") {
        Bytes::new()
    } else {
        Bytes::from(body)
    };
    out.body(Full::new(body))
        .unwrap_or_else(|e| text(StatusCode::BAD_GATEWAY, format!("hark mock: {e}\n")))
}

pub fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn faithful_answers() {
        let entry =
            br#"{"request":{"method":"GET","url":"http://h/x"},"response":{"status":200,"headers":[
            {"name":"Content-Encoding","value":"gzip"},{"name":"Content-Length","value":"3"},
            {"name":"Transfer-Encoding","value":"chunked"},{"name":"Set-Cookie","value":"a=1"},
            {"name":"Set-Cookie","value":"b=2"},{"name":"Content-Type","value":"text/plain"}],
            "content":{"mimeType":"text/plain","text":"aGVsbG8=","encoding":"base64"}}}"#;
        let r = super::answer(entry, "GET");
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("content-encoding").is_none());
        assert!(r.headers().get("transfer-encoding").is_none());
        assert_eq!(r.headers()["content-length"], "5");
        assert_eq!(r.headers().get_all("set-cookie").iter().count(), 2);
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello");
        let failed = br#"{"request":{"method":"GET","url":"http://h/x"},"response":{"status":0,"headers":[],"content":{},"_error":"net::ERR_CONNECTION_REFUSED"}}"#;
        assert_eq!(super::answer(failed, "GET").status(), 502);
    }
}
