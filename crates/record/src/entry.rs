//! An exchange as the proxy saw it, and the HAR entry built from it: headers as
//! received, cookies, query string, form params, bodies (text as text, binary as
//! base64, decoded size and `compression`), timings, failures as status-0 entries.

use base64::Engine;
use serde_json::{json, Map, Value};
use std::io::Read;

/// A body as captured: the first `cap` bytes kept, every byte counted.
#[derive(Debug, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub total: u64,
    pub cap: usize,
}

impl Captured {
    pub fn new(cap: usize) -> Captured {
        Captured {
            bytes: Vec::new(),
            total: 0,
            cap,
        }
    }
    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let room = self.cap.saturating_sub(self.bytes.len());
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    pub fn truncated(&self) -> bool {
        (self.bytes.len() as u64) < self.total
    }
}

/// The seven HAR phases in milliseconds, `-1` where a phase did not happen.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    pub blocked: f64,
    pub dns: f64,
    pub connect: f64,
    pub ssl: f64,
    pub send: f64,
    pub wait: f64,
    pub receive: f64,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            blocked: -1.0,
            dns: -1.0,
            connect: -1.0,
            ssl: -1.0,
            send: 0.0,
            wait: 0.0,
            receive: 0.0,
        }
    }
}

impl Phases {
    /// The entry's `time`: every phase that happened, `ssl` not counted twice (it is
    /// inside `connect`).
    pub fn total(&self) -> f64 {
        [
            self.blocked,
            self.dns,
            self.connect,
            self.send,
            self.wait,
            self.receive,
        ]
        .iter()
        .filter(|v| **v >= 0.0)
        .sum()
    }
}

pub fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

#[derive(Debug, Default)]
pub struct RequestInfo {
    pub method: String,
    pub url: String,
    pub http_version: &'static str,
    pub headers: Vec<(String, String)>,
    pub headers_size: i64,
}

#[derive(Debug, Default)]
pub struct ResponseInfo {
    pub status: u16,
    pub status_text: String,
    pub http_version: &'static str,
    pub headers: Vec<(String, String)>,
    pub headers_size: i64,
}

/// Everything recorded about one exchange.
#[derive(Debug)]
pub struct Exchange {
    /// Epoch microseconds when the request arrived.
    pub start_us: u64,
    pub request: RequestInfo,
    pub request_body: Captured,
    pub response: Option<ResponseInfo>,
    pub response_body: Captured,
    pub phases: Phases,
    pub server_ip: Option<String>,
    pub connection: Option<String>,
    /// Set when the exchange failed: Chrome-style `net::ERR_…` code and detail.
    pub error: Option<String>,
    /// `_webSocketMessages` for an upgraded exchange.
    pub ws_messages: Option<Vec<Value>>,
    pub ws_truncated: bool,
    /// Custom fields added at the end of the entry (`_bytesSent`, …).
    pub extra: Vec<(&'static str, Value)>,
    /// Whose exchange this is, when a [`crate::Policy`] said so (hark serve's shared
    /// port: the job named in `Proxy-Authorization`). Not part of the entry.
    pub tag: Option<std::sync::Arc<str>>,
}

impl Exchange {
    pub fn new(start_us: u64, request: RequestInfo, cap: usize) -> Exchange {
        Exchange {
            tag: None,
            start_us,
            request,
            request_body: Captured::new(cap),
            response: None,
            response_body: Captured::new(cap),
            phases: Phases::default(),
            server_ip: None,
            connection: None,
            error: None,
            ws_messages: None,
            ws_truncated: false,
            extra: Vec::new(),
        }
    }

    /// The HAR entry.
    pub fn to_json(&self) -> Value {
        let mut e = Map::new();
        e.insert(
            "startedDateTime".into(),
            json!(har::time::format_ms(self.start_us as f64 / 1000.0)),
        );
        e.insert("time".into(), json!(round3(self.phases.total())));
        e.insert("request".into(), self.request_json());
        e.insert("response".into(), self.response_json());
        e.insert("cache".into(), json!({}));
        let p = &self.phases;
        e.insert(
            "timings".into(),
            json!({
                "blocked": round3(p.blocked), "dns": round3(p.dns), "connect": round3(p.connect),
                "ssl": round3(p.ssl), "send": round3(p.send.max(0.0)), "wait": round3(p.wait.max(0.0)),
                "receive": round3(p.receive.max(0.0)),
            }),
        );
        if let Some(ip) = &self.server_ip {
            e.insert("serverIPAddress".into(), json!(ip));
        }
        if let Some(c) = &self.connection {
            e.insert("connection".into(), json!(c));
        }
        if let Some(m) = &self.ws_messages {
            e.insert("_resourceType".into(), json!("websocket"));
            e.insert("_webSocketMessages".into(), Value::Array(m.clone()));
            if self.ws_truncated {
                e.insert("_webSocketMessagesTruncated".into(), json!(true));
            }
        }
        for (k, v) in &self.extra {
            e.insert((*k).into(), v.clone());
        }
        Value::Object(e)
    }

    fn request_json(&self) -> Value {
        let r = &self.request;
        let mut o = Map::new();
        o.insert("method".into(), json!(r.method));
        o.insert("url".into(), json!(r.url));
        o.insert("httpVersion".into(), json!(r.http_version));
        o.insert("cookies".into(), request_cookies(&r.headers));
        o.insert("headers".into(), headers_json(&r.headers));
        o.insert("queryString".into(), query_string(&r.url));
        let body = &self.request_body;
        if body.total > 0 {
            let mime = header(&r.headers, "content-type").unwrap_or("");
            let mut pd = Map::new();
            pd.insert("mimeType".into(), json!(mime));
            if mime
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
            {
                let params: Vec<Value> = url::form_urlencoded::parse(&body.bytes)
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect();
                pd.insert("params".into(), Value::Array(params));
            }
            match std::str::from_utf8(&body.bytes) {
                Ok(t) => {
                    pd.insert("text".into(), json!(t));
                }
                Err(_) => {
                    pd.insert("text".into(), json!(b64(&body.bytes)));
                    pd.insert("_encoding".into(), json!("base64"));
                }
            }
            if body.truncated() {
                pd.insert("_truncated".into(), json!(true));
                pd.insert(
                    "comment".into(),
                    json!(format!(
                        "body cut by hark after {} of {} bytes",
                        body.bytes.len(),
                        body.total
                    )),
                );
            }
            o.insert("postData".into(), Value::Object(pd));
        }
        o.insert("headersSize".into(), json!(r.headers_size));
        o.insert("bodySize".into(), json!(body.total));
        Value::Object(o)
    }

    fn response_json(&self) -> Value {
        let failed = self.error.is_some();
        let mut o = Map::new();
        let (status, text, version, headers, hsize) = match &self.response {
            Some(r) if !failed => (
                r.status,
                r.status_text.as_str(),
                r.http_version,
                &r.headers[..],
                r.headers_size,
            ),
            // A failure after the headers came: what was received stays, the status is 0
            // as browsers record a failed request.
            Some(r) => (0, "", r.http_version, &r.headers[..], r.headers_size),
            None => (0, "", "", &[][..], -1),
        };
        o.insert("status".into(), json!(status));
        o.insert("statusText".into(), json!(text));
        o.insert("httpVersion".into(), json!(version));
        o.insert("cookies".into(), response_cookies(headers));
        o.insert("headers".into(), headers_json(headers));
        o.insert("content".into(), self.content_json(headers));
        let location = header(headers, "location").unwrap_or("");
        o.insert("redirectURL".into(), json!(location));
        o.insert("headersSize".into(), json!(hsize));
        let body_size: i64 = if self.response.is_none() {
            -1
        } else {
            self.response_body.total as i64
        };
        o.insert("bodySize".into(), json!(body_size));
        if let Some(e) = &self.error {
            o.insert("_error".into(), json!(e));
        }
        Value::Object(o)
    }

    fn content_json(&self, headers: &[(String, String)]) -> Value {
        let body = &self.response_body;
        let mut c = Map::new();
        // No Content-Type: "x-unknown", as Chrome writes it.
        let mime = header(headers, "content-type").unwrap_or("x-unknown");
        let encoding = header(headers, "content-encoding")
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty() && e != "identity");
        let (decoded, decode_note) = match &encoding {
            Some(enc) if !body.bytes.is_empty() => match decode(enc, &body.bytes) {
                Ok(d) => (Some(d), None),
                Err(msg) => (None, Some(msg)),
            },
            _ => (None, None),
        };
        let data: &[u8] = decoded.as_deref().unwrap_or(&body.bytes);
        let size = if decoded.is_some() || body.truncated() {
            data.len() as u64
        } else {
            body.total
        };
        c.insert("size".into(), json!(size));
        if decoded.is_some() && !body.truncated() {
            c.insert("compression".into(), json!(size as i64 - body.total as i64));
        }
        c.insert("mimeType".into(), json!(mime));
        if !data.is_empty() {
            if har::http::is_textual(mime) || har::http::is_unknown_mime(mime) {
                if let Ok(t) = std::str::from_utf8(data) {
                    c.insert("text".into(), json!(t));
                } else {
                    c.insert("text".into(), json!(b64(data)));
                    c.insert("encoding".into(), json!("base64"));
                }
            } else {
                c.insert("text".into(), json!(b64(data)));
                c.insert("encoding".into(), json!("base64"));
            }
        }
        let mut notes = Vec::new();
        if body.truncated() {
            c.insert("_truncated".into(), json!(true));
            notes.push(format!(
                "body cut by hark after {} of {} bytes on the wire",
                body.bytes.len(),
                body.total
            ));
        }
        if let Some(n) = decode_note {
            notes.push(format!("kept as received ({n})"));
        }
        if !notes.is_empty() {
            c.insert("comment".into(), json!(notes.join("; ")));
        }
        Value::Object(c)
    }
}

fn round3(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else {
        (v * 1000.0).round() / 1000.0
    }
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn headers_json(h: &[(String, String)]) -> Value {
    Value::Array(
        h.iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

fn query_string(url: &str) -> Value {
    let q = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(""))
        .unwrap_or("");
    Value::Array(
        url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect(),
    )
}

fn request_cookies(h: &[(String, String)]) -> Value {
    let mut out = Vec::new();
    for (_, v) in h.iter().filter(|(n, _)| n.eq_ignore_ascii_case("cookie")) {
        for part in v.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (n, val) = part.split_once('=').unwrap_or((part, ""));
            out.push(json!({"name": n.trim(), "value": val.trim()}));
        }
    }
    Value::Array(out)
}

fn response_cookies(h: &[(String, String)]) -> Value {
    let mut out = Vec::new();
    for (_, v) in h
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
    {
        let mut parts = v.split(';');
        let first = parts.next().unwrap_or("").trim();
        let (n, val) = first.split_once('=').unwrap_or((first, ""));
        let mut c = Map::new();
        c.insert("name".into(), json!(n.trim()));
        c.insert("value".into(), json!(val.trim()));
        for attr in parts {
            let attr = attr.trim();
            let (k, av) = attr.split_once('=').unwrap_or((attr, ""));
            let av = av.trim();
            match k.trim().to_ascii_lowercase().as_str() {
                "path" => {
                    c.insert("path".into(), json!(av));
                }
                "domain" => {
                    c.insert("domain".into(), json!(av));
                }
                "expires" => {
                    if let Some(t) = http_date_iso(av) {
                        c.insert("expires".into(), json!(t));
                    }
                }
                "max-age" => {
                    c.insert("_maxAge".into(), json!(av));
                }
                "httponly" => {
                    c.insert("httpOnly".into(), json!(true));
                }
                "secure" => {
                    c.insert("secure".into(), json!(true));
                }
                "samesite" => {
                    c.insert("sameSite".into(), json!(av));
                }
                _ => {}
            }
        }
        out.push(Value::Object(c));
    }
    Value::Array(out)
}

/// `Wed, 21 Oct 2015 07:28:00 GMT` (and the `-` separated variant) as ISO 8601.
fn http_date_iso(s: &str) -> Option<String> {
    let s = s.replace('-', " ");
    let parts: Vec<&str> = s.split_whitespace().collect();
    // [Day,] DD Mon YYYY HH:MM:SS GMT
    let p = if parts.len() >= 5 && parts[0].ends_with(',') {
        &parts[1..]
    } else {
        &parts[..]
    };
    if p.len() < 4 {
        return None;
    }
    let d: u32 = p[0].parse().ok()?;
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let m = months
        .iter()
        .position(|x| p[1].to_ascii_lowercase().starts_with(x))?
        + 1;
    let mut y: u32 = p[2].parse().ok()?;
    if y < 100 {
        y += if y < 70 { 2000 } else { 1900 };
    }
    let t: Vec<u32> = p[3].split(':').filter_map(|x| x.parse().ok()).collect();
    if t.len() != 3 {
        return None;
    }
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        t[0], t[1], t[2]
    ))
}

/// Undo `Content-Encoding` (a list, applied in order). A cut body decodes as far as it
/// goes.
fn decode(encodings: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut cur = data.to_vec();
    for enc in encodings.split(',').rev() {
        let enc = enc.trim();
        let mut out = Vec::new();
        let res = match enc {
            "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&cur[..]).read_to_end(&mut out),
            "deflate" => {
                // Servers send zlib-wrapped or raw deflate under this name.
                let r = flate2::read::ZlibDecoder::new(&cur[..]).read_to_end(&mut out);
                if r.is_err() {
                    out.clear();
                    flate2::read::DeflateDecoder::new(&cur[..]).read_to_end(&mut out)
                } else {
                    r
                }
            }
            "br" => {
                brotli_decompressor::Decompressor::new(&cur[..], 64 * 1024).read_to_end(&mut out)
            }
            other => return Err(format!("content-encoding {other} is not decoded by hark")),
        };
        if let Err(e) = res {
            if out.is_empty() {
                return Err(format!("{enc} body does not decode: {e}"));
            }
        }
        cur = out;
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex() -> Exchange {
        Exchange::new(
            1_700_000_000_000_000,
            RequestInfo {
                method: "POST".into(),
                url: "http://a.test/login?next=%2Fhome&x=1".into(),
                http_version: "HTTP/1.1",
                headers: vec![
                    ("Host".into(), "a.test".into()),
                    (
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ),
                    ("Cookie".into(), "a=1; b=2".into()),
                ],
                headers_size: 100,
            },
            4,
        )
    }

    #[test]
    fn form_params_cookies_query_and_a_cut_body() {
        let mut e = ex();
        e.request_body = Captured::new(1000);
        e.request_body.push(b"user=al%20ice&pw=x");
        e.response = Some(ResponseInfo {
            status: 302,
            status_text: "Found".into(),
            http_version: "HTTP/1.1",
            headers: vec![
                ("Location".into(), "/home".into()),
                (
                    "Set-Cookie".into(),
                    "sid=abc; Path=/; HttpOnly; Expires=Wed, 21 Oct 2037 07:28:00 GMT".into(),
                ),
            ],
            headers_size: 80,
        });
        e.response_body.push(b"redirecting");
        let v = e.to_json();
        let req = &v["request"];
        assert_eq!(req["queryString"][0]["value"], "/home");
        assert_eq!(req["cookies"][1]["name"], "b");
        assert_eq!(req["postData"]["params"][0]["value"], "al ice");
        let resp = &v["response"];
        assert_eq!(resp["redirectURL"], "/home");
        assert_eq!(resp["cookies"][0]["httpOnly"], true);
        assert_eq!(resp["cookies"][0]["expires"], "2037-10-21T07:28:00.000Z");
        // Cut at 4 bytes, 11 counted; no content-type: still a mimeType.
        assert_eq!(resp["content"]["size"], 4);
        assert_eq!(resp["content"]["_truncated"], true);
        assert_eq!(resp["content"]["mimeType"], "x-unknown");
        assert_eq!(resp["bodySize"], 11);
    }

    #[test]
    fn gzip_is_decoded_with_compression() {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let text = "hello hello hello hello hello hello hello hello".repeat(20);
        z.write_all(text.as_bytes()).unwrap();
        let gz = z.finish().unwrap();
        let mut e = ex();
        e.response_body = Captured::new(1 << 20);
        e.response_body.push(&gz);
        e.response = Some(ResponseInfo {
            status: 200,
            status_text: "OK".into(),
            http_version: "HTTP/1.1",
            headers: vec![
                ("content-type".into(), "text/plain".into()),
                ("content-encoding".into(), "gzip".into()),
            ],
            headers_size: 10,
        });
        let v = e.to_json();
        let c = &v["response"]["content"];
        assert_eq!(c["text"], text);
        assert_eq!(c["size"], text.len());
        assert_eq!(c["compression"], text.len() as i64 - gz.len() as i64);
        assert_eq!(v["response"]["bodySize"], gz.len());
    }

    #[test]
    fn failure_is_status_zero_with_error_and_time_skips_ssl() {
        let mut e = ex();
        e.error = Some("net::ERR_CONNECTION_REFUSED".into());
        e.phases = Phases {
            blocked: 0.5,
            dns: -1.0,
            connect: 3.0,
            ssl: 2.0,
            send: 0.0,
            wait: 0.0,
            receive: 0.0,
        };
        let v = e.to_json();
        assert_eq!(v["response"]["status"], 0);
        assert_eq!(v["response"]["_error"], "net::ERR_CONNECTION_REFUSED");
        assert_eq!(v["response"]["content"]["mimeType"], "x-unknown");
        assert_eq!(v["time"], 3.5);
    }
}
