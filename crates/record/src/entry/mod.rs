//! An exchange as the proxy saw it, and the HAR entry built from it: headers as
//! received, cookies, query string, form params, bodies (text as text, binary as
//! base64, decoded size and `compression`), timings, failures as status-0 entries.

mod content;
pub mod fields;

pub use fields::header;

use base64::Engine;
use fields::{headers_json, pairs_json, query_string, request_cookies, response_cookies};
use serde_json::{json, Map, Value};

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
    /// The phases as HAR `timings`, `-1` kept as is.
    pub fn timings(&self) -> har::Timings {
        har::Timings {
            blocked: Some(self.blocked),
            dns: Some(self.dns),
            connect: Some(self.connect),
            ssl: Some(self.ssl),
            send: Some(self.send),
            wait: Some(self.wait),
            receive: Some(self.receive),
        }
    }

    /// The entry's `time`: [`har::Timings::total`] (every phase that happened, `ssl`
    /// not counted twice: it is inside `connect`).
    pub fn total(&self) -> f64 {
        // `+ 0.0`: a sum of no phases is -0.0, and the entry says 0.
        self.timings().total() + 0.0
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
    /// The protocol the upstream answered in (`""` when no HTTP went upstream, as for a
    /// passed-through tunnel). The entry's `httpVersion` is the client's; this one is
    /// written as `response._upstreamHttpVersion`.
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
                let params = pairs_json(url::form_urlencoded::parse(&body.bytes));
                pd.insert("params".into(), params);
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
        // One protocol per entry, the client's (what a browser records is what the page
        // saw); the upstream's goes in `_upstreamHttpVersion`.
        let client = self.request.http_version;
        let (status, text, version, headers, hsize) = match &self.response {
            Some(r) if !failed => (
                r.status,
                r.status_text.as_str(),
                client,
                &r.headers[..],
                r.headers_size,
            ),
            // A failure after the headers came: what was received stays, the status is 0
            // as browsers record a failed request.
            Some(r) => (0, "", client, &r.headers[..], r.headers_size),
            None => (0, "", "", &[][..], -1),
        };
        o.insert("status".into(), json!(status));
        o.insert("statusText".into(), json!(text));
        o.insert("httpVersion".into(), json!(version));
        if let Some(r) = self
            .response
            .as_ref()
            .filter(|r| !r.http_version.is_empty())
        {
            o.insert("_upstreamHttpVersion".into(), json!(r.http_version));
        }
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
        assert_eq!(resp["httpVersion"], "HTTP/1.1");
        assert_eq!(resp["_upstreamHttpVersion"], "HTTP/1.1");
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
    fn one_protocol_per_entry_the_clients_with_the_upstreams_beside_it() {
        let mut e = ex();
        e.request.http_version = "h2";
        e.response = Some(ResponseInfo {
            status: 200,
            status_text: "OK".into(),
            http_version: "HTTP/1.0",
            headers: Vec::new(),
            headers_size: 17,
        });
        let v = e.to_json();
        assert_eq!(v["request"]["httpVersion"], "h2");
        assert_eq!(v["response"]["httpVersion"], "h2");
        assert_eq!(v["response"]["_upstreamHttpVersion"], "HTTP/1.0");
        // No response at all: "" as Chrome writes for a failed request.
        e.response = None;
        e.error = Some("net::ERR_CONNECTION_REFUSED".into());
        let v = e.to_json();
        assert_eq!(v["response"]["httpVersion"], "");
        assert!(v["response"].get("_upstreamHttpVersion").is_none());
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
    fn a_decoded_body_stops_at_the_cap_and_is_marked() {
        use std::io::Write;
        for enc in ["gzip", "deflate"] {
            let zeros = vec![0u8; 1 << 20];
            let wire = if enc == "gzip" {
                let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                z.write_all(&zeros).unwrap();
                z.finish().unwrap()
            } else {
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                z.write_all(&zeros).unwrap();
                z.finish().unwrap()
            };
            let mut e = ex();
            e.response_body = Captured::new(4096);
            e.response_body.push(&wire);
            assert!(!e.response_body.truncated(), "the wire bytes fit the cap");
            e.response = Some(ResponseInfo {
                status: 200,
                status_text: "OK".into(),
                http_version: "HTTP/1.1",
                headers: vec![
                    ("content-type".into(), "application/octet-stream".into()),
                    ("content-encoding".into(), enc.into()),
                ],
                headers_size: 10,
            });
            let v = e.to_json();
            let c = &v["response"]["content"];
            assert_eq!(c["size"], 4096, "{enc}");
            assert_eq!(c["_truncated"], true, "{enc}");
            assert!(c.get("compression").is_none(), "{enc}");
            assert!(
                c["comment"]
                    .as_str()
                    .unwrap()
                    .contains("4096 bytes decoded"),
                "{enc}"
            );
        }
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

    #[test]
    fn no_phase_is_a_time_of_zero_not_minus_zero() {
        let v = ex().to_json();
        assert_eq!(serde_json::to_string(&v["time"]).unwrap(), "0.0");
    }

    #[test]
    fn set_cookie_fields_in_har_order() {
        let h = vec![(
            "set-cookie".to_string(),
            "a=1; SameSite=Lax; Secure; Max-Age=9; Domain=x.test; Path=/p; \
             Expires=Sun, 06-Nov-1994 08:49:37 GMT; HttpOnly"
                .to_string(),
        )];
        assert_eq!(
            fields::response_cookies(&h).to_string(),
            r#"[{"name":"a","value":"1","path":"/p","domain":"x.test","expires":"1994-11-06T08:49:37.000Z","_maxAge":"9","httpOnly":true,"secure":true,"sameSite":"Lax"}]"#
        );
    }
}
