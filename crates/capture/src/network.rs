//! One request as the Network domain tells it, and the HAR entries made from it: every
//! hop of a redirect chain an entry; the headers as sent and received (with `Cookie`,
//! `Set-Cookie` and `Authorization`) from the `…ExtraInfo` events; bodies fetched
//! before the browser drops them; timings per phase from the resource timing; the
//! DevTools custom fields (`_initiator`, `_priority`, `_resourceType`, `_fromCache`,
//! `_transferSize`, `_error`, `_webSocketMessages`, `_eventSourceMessages`).
//!
//! Times: CDP `timestamp`s are monotonic seconds, `wallTime` epoch seconds; the
//! difference of the two, taken at each `requestWillBeSent`, turns one into the other.

use base64::Engine;
use record::entry::fields::{
    headers_json, pairs_json, query_string, request_cookies, response_cookies,
};
use record::entry::header;
use serde_json::{json, Map, Value};

/// A CDP `Headers` object as a list (a value with newlines is several headers, as CDP
/// joins repeated ones, `Set-Cookie` above all).
pub fn header_list(h: Option<&Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(o) = h.and_then(Value::as_object) {
        for (k, v) in o {
            let v = v.as_str().unwrap_or("");
            for part in v.split('\n') {
                out.push((k.clone(), part.to_string()));
            }
        }
    }
    out
}

fn f(v: &Value, k: &str) -> f64 {
    v.get(k).and_then(Value::as_f64).unwrap_or(-1.0)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// One hop: the request as the page sent it, and (for a redirect) the response that
/// sent it on.
#[derive(Debug)]
pub struct Hop {
    pub request: Value,
    /// Monotonic seconds when it was issued, and its epoch seconds.
    pub ts: f64,
    pub wall: f64,
    pub response: Option<Value>,
    /// Whether `response` has a `responseReceivedExtraInfo`.
    pub response_extra: bool,
    /// When it ended (the next hop, or the end of the request).
    pub end_ts: f64,
}

/// Everything known about a request so far.
#[derive(Debug)]
pub struct Request {
    pub page: Option<String>,
    pub hops: Vec<Hop>,
    pub req_extra: Vec<Value>,
    pub resp_extra: Vec<Value>,
    pub resource_type: String,
    pub initiator: Value,
    pub priority: String,
    pub from_memory: bool,
    pub data_len: u64,
    pub encoded_len: f64,
    pub failed: Option<Value>,
    pub sse: Vec<Value>,
}

impl Request {
    pub fn new(p: &Value, page: Option<String>) -> Request {
        let req = p.get("request").cloned().unwrap_or(Value::Null);
        Request {
            page,
            priority: s(&req, "initialPriority").to_string(),
            hops: vec![Hop {
                request: req,
                ts: f(p, "timestamp"),
                wall: f(p, "wallTime"),
                response: None,
                response_extra: false,
                end_ts: -1.0,
            }],
            req_extra: Vec::new(),
            resp_extra: Vec::new(),
            resource_type: s(p, "type").to_string(),
            initiator: p.get("initiator").cloned().unwrap_or(Value::Null),
            from_memory: false,
            data_len: 0,
            encoded_len: -1.0,
            failed: None,
            sse: Vec::new(),
        }
    }

    /// A `requestWillBeSent` with a `redirectResponse`: the current hop ends with it
    /// and a new one starts.
    pub fn redirect(&mut self, p: &Value) {
        let ts = f(p, "timestamp");
        if let Some(cur) = self.hops.last_mut() {
            cur.response = p.get("redirectResponse").cloned();
            cur.response_extra = p
                .get("redirectHasExtraInfo")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            cur.end_ts = ts;
        }
        self.hops.push(Hop {
            request: p.get("request").cloned().unwrap_or(Value::Null),
            ts,
            wall: f(p, "wallTime"),
            response: None,
            response_extra: false,
            end_ts: -1.0,
        });
    }

    pub fn response(&mut self, p: &Value) {
        if let Some(cur) = self.hops.last_mut() {
            cur.response = p.get("response").cloned();
            cur.response_extra = p
                .get("hasExtraInfo")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        if let Some(t) = p.get("type").and_then(Value::as_str) {
            self.resource_type = t.to_string();
        }
    }

    pub fn finished(&mut self, p: &Value) {
        if let Some(cur) = self.hops.last_mut() {
            cur.end_ts = f(p, "timestamp");
        }
        self.encoded_len = f(p, "encodedDataLength");
    }

    pub fn failed(&mut self, p: &Value) {
        if let Some(cur) = self.hops.last_mut() {
            cur.end_ts = f(p, "timestamp");
        }
        self.failed = Some(p.clone());
    }

    /// Whether the last hop has a response (something to fetch a body of).
    pub fn has_response(&self) -> bool {
        self.hops.last().is_some_and(|h| h.response.is_some())
    }

    /// The entries, one per hop; `body` is `Network.getResponseBody`'s answer for the
    /// last hop, `post` the request body when the event did not carry it. Each comes
    /// with its start in epoch microseconds.
    pub fn entries(&self, body: Option<&Value>, post: Option<&str>) -> Vec<(u64, Value)> {
        let mut extra = self.resp_extra.iter();
        let n = self.hops.len();
        self.hops
            .iter()
            .enumerate()
            .map(|(i, hop)| {
                let last = i + 1 == n;
                let resp_extra = if hop.response_extra {
                    extra.next()
                } else {
                    None
                };
                let e = self.entry(
                    hop,
                    self.req_extra.get(i),
                    resp_extra,
                    last.then_some(body).flatten(),
                    if last { post } else { None },
                    last,
                );
                ((hop.wall.max(0.0) * 1e6) as u64, e)
            })
            .collect()
    }

    fn entry(
        &self,
        hop: &Hop,
        req_extra: Option<&Value>,
        resp_extra: Option<&Value>,
        body: Option<&Value>,
        post: Option<&str>,
        last: bool,
    ) -> Value {
        let r = &hop.request;
        let resp = hop.response.as_ref();
        let failure = if last { self.failed.as_ref() } else { None };
        let version = resp
            .map(|x| s(x, "protocol"))
            .filter(|p| !p.is_empty() && *p != "data" && *p != "blob")
            .map(har::http::http_version)
            .unwrap_or_else(|| "HTTP/1.1".into());
        // Request: the headers as sent (ExtraInfo), else as the page asked.
        let mut req_headers = header_list(req_extra.and_then(|x| x.get("headers")));
        if req_headers.is_empty() {
            req_headers = header_list(resp.and_then(|x| x.get("requestHeaders")));
        }
        if req_headers.is_empty() {
            req_headers = header_list(r.get("headers"));
        }
        let url = format!("{}{}", s(r, "url"), s(r, "urlFragment"));
        let mut rq = Map::new();
        rq.insert("method".into(), json!(s(r, "method")));
        rq.insert("url".into(), json!(url));
        rq.insert("httpVersion".into(), json!(version));
        rq.insert("cookies".into(), request_cookies(&req_headers));
        rq.insert("headers".into(), headers_json(&req_headers));
        rq.insert("queryString".into(), query_string(&url));
        let post_text = r.get("postData").and_then(Value::as_str).or(post);
        let mut body_size = 0usize;
        if let Some(text) = post_text {
            let mime = header(&req_headers, "content-type").unwrap_or("");
            let mut pd = Map::new();
            pd.insert("mimeType".into(), json!(mime));
            if mime
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
            {
                pd.insert(
                    "params".into(),
                    pairs_json(url::form_urlencoded::parse(text.as_bytes())),
                );
            }
            pd.insert("text".into(), json!(text));
            body_size = text.len();
            rq.insert("postData".into(), Value::Object(pd));
        }
        let req_headers_size = resp
            .and_then(|x| x.get("requestHeadersText"))
            .and_then(Value::as_str)
            .map_or(-1, |t| t.len() as i64);
        rq.insert("headersSize".into(), json!(req_headers_size));
        rq.insert("bodySize".into(), json!(body_size));

        // Response: the headers as received (ExtraInfo: with Set-Cookie), else as given.
        let mut rs = Map::new();
        let mut resp_headers = header_list(resp_extra.and_then(|x| x.get("headers")));
        if resp_headers.is_empty() {
            resp_headers = header_list(resp.and_then(|x| x.get("headers")));
        }
        let status = resp.map_or(0.0, |x| f(x, "status").max(0.0)) as i64;
        rs.insert("status".into(), json!(status));
        rs.insert(
            "statusText".into(),
            json!(resp.map_or("", |x| s(x, "statusText"))),
        );
        rs.insert(
            "httpVersion".into(),
            json!(if resp.is_some() { version.as_str() } else { "" }),
        );
        rs.insert("cookies".into(), response_cookies(&resp_headers));
        rs.insert("headers".into(), headers_json(&resp_headers));
        let mime = resp
            .map(|x| s(x, "mimeType"))
            .filter(|m| !m.is_empty())
            .unwrap_or("x-unknown");
        let mut content = Map::new();
        let mut size = self.data_len as i64;
        let mut text_fields = Map::new();
        if let Some(b) = body {
            let raw = s(b, "body");
            let b64 = b.get("base64Encoded").and_then(Value::as_bool) == Some(true);
            if b64 {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .unwrap_or_default();
                size = bytes.len() as i64;
                match std::str::from_utf8(&bytes) {
                    Ok(t) if har::http::is_textual(mime) => {
                        text_fields.insert("text".into(), json!(t));
                    }
                    _ => {
                        text_fields.insert("text".into(), json!(raw));
                        text_fields.insert("encoding".into(), json!("base64"));
                    }
                }
            } else {
                size = raw.len() as i64;
                text_fields.insert("text".into(), json!(raw));
            }
        }
        if !last {
            size = 0;
        }
        content.insert("size".into(), json!(size));
        content.insert("mimeType".into(), json!(mime));
        content.extend(text_fields);
        rs.insert("content".into(), Value::Object(content));
        rs.insert(
            "redirectURL".into(),
            json!(header(&resp_headers, "location").unwrap_or("")),
        );
        let resp_headers_size = resp_extra
            .and_then(|x| x.get("headersText"))
            .and_then(Value::as_str)
            .or_else(|| {
                resp.and_then(|x| x.get("headersText"))
                    .and_then(Value::as_str)
            })
            .map_or(-1, |t| t.len() as i64);
        rs.insert("headersSize".into(), json!(resp_headers_size));
        let transfer = if last {
            self.encoded_len
        } else {
            resp.map_or(-1.0, |x| f(x, "encodedDataLength"))
        };
        let body_on_wire = match (transfer >= 0.0, resp_headers_size >= 0) {
            _ if resp.is_none() => -1,
            (true, true) => (transfer as i64 - resp_headers_size).max(0),
            _ if last => size.max(0),
            _ => 0,
        };
        rs.insert("bodySize".into(), json!(body_on_wire));
        if transfer >= 0.0 {
            rs.insert("_transferSize".into(), json!(transfer as i64));
        }
        if resp
            .and_then(|x| x.get("fromServiceWorker"))
            .and_then(Value::as_bool)
            == Some(true)
        {
            rs.insert("_fetchedViaServiceWorker".into(), json!(true));
        }
        if let Some(fl) = failure {
            let mut err = s(fl, "errorText").to_string();
            if let Some(b) = fl.get("blockedReason").and_then(Value::as_str) {
                err = format!("{err} (blocked: {b})");
            }
            if let Some(c) = fl.get("corsErrorStatus") {
                err = format!("{err} (CORS error: {})", s(c, "corsError"));
            }
            rs.insert("_error".into(), json!(err));
        }

        let timings = timings(hop, resp);
        let time: f64 = ["blocked", "dns", "connect", "send", "wait", "receive"]
            .iter()
            .map(|k| timings[*k].as_f64().unwrap_or(-1.0).max(0.0))
            .sum();

        let mut e = Map::new();
        if let Some(p) = &self.page {
            e.insert("pageref".into(), json!(p));
        }
        e.insert(
            "startedDateTime".into(),
            json!(har::time::format_ms(hop.wall * 1000.0)),
        );
        e.insert("time".into(), json!(round3(time)));
        e.insert("request".into(), Value::Object(rq));
        e.insert("response".into(), Value::Object(rs));
        e.insert("cache".into(), json!({}));
        e.insert("timings".into(), timings);
        if let Some(ip) = resp
            .map(|x| s(x, "remoteIPAddress"))
            .filter(|i| !i.is_empty())
        {
            e.insert(
                "serverIPAddress".into(),
                json!(ip.trim_start_matches('[').trim_end_matches(']')),
            );
        }
        if let Some(c) = resp.and_then(|x| x.get("connectionId")) {
            let c = c.to_string();
            if c != "0" {
                e.insert("connection".into(), json!(c));
            }
        }
        e.insert("_initiator".into(), self.initiator.clone());
        e.insert("_priority".into(), json!(self.priority));
        e.insert(
            "_resourceType".into(),
            json!(resource_type(&self.resource_type)),
        );
        if resp
            .and_then(|x| x.get("fromDiskCache"))
            .and_then(Value::as_bool)
            == Some(true)
        {
            e.insert("_fromCache".into(), json!("disk"));
        } else if self.from_memory && last {
            e.insert("_fromCache".into(), json!("memory"));
        }
        if last && !self.sse.is_empty() {
            e.insert(
                "_eventSourceMessages".into(),
                Value::Array(self.sse.clone()),
            );
        }
        Value::Object(e)
    }
}

/// The phases of a hop in milliseconds from its resource timing (`requestTime`, and
/// offsets from it), its issue time and its end: queueing and stalls are `blocked`,
/// `ssl` lies inside `connect`, `wait` ends with the response headers.
fn timings(hop: &Hop, resp: Option<&Value>) -> Value {
    let end = |from_ts: f64| {
        if hop.end_ts >= 0.0 && from_ts >= 0.0 {
            ((hop.end_ts - from_ts) * 1000.0).max(0.0)
        } else {
            0.0
        }
    };
    let Some(t) = resp.and_then(|r| r.get("timing")).filter(|t| t.is_object()) else {
        // No timing (a failure before any response, a cached or data: response):
        // the whole time is waiting.
        return json!({"blocked": -1, "dns": -1, "connect": -1, "ssl": -1,
                      "send": 0, "wait": round3(end(hop.ts)), "receive": 0});
    };
    let base = f(t, "requestTime");
    let queued = if base >= hop.ts && hop.ts >= 0.0 {
        (base - hop.ts) * 1000.0
    } else {
        0.0
    };
    let first = ["dnsStart", "connectStart", "sendStart"]
        .iter()
        .map(|k| f(t, k))
        .find(|v| *v >= 0.0)
        .unwrap_or(0.0);
    let span = |a: &str, b: &str| {
        let (x, y) = (f(t, a), f(t, b));
        if x >= 0.0 && y >= x {
            y - x
        } else {
            -1.0
        }
    };
    let send_start = f(t, "sendStart").max(0.0);
    let send_end = f(t, "sendEnd").max(send_start);
    let headers_end = f(t, "receiveHeadersEnd").max(send_end);
    let receive = (end(base) - headers_end).max(0.0);
    json!({
        "blocked": round3(queued + first),
        "dns": round3(span("dnsStart", "dnsEnd")),
        "connect": round3(span("connectStart", "connectEnd")),
        "ssl": round3(span("sslStart", "sslEnd")),
        "send": round3(send_end - send_start),
        "wait": round3(headers_end - send_end),
        "receive": round3(receive),
    })
}

fn round3(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else {
        (v * 1000.0).round() / 1000.0
    }
}

/// A CDP resource type as DevTools writes `_resourceType`.
pub fn resource_type(t: &str) -> String {
    match t {
        "CSPViolationReport" => "csp-violation-report".into(),
        "SignedExchange" => "signed-exchange".into(),
        "" => "other".into(),
        t => t.to_ascii_lowercase(),
    }
}

/// A WebSocket: its handshake and its messages.
#[derive(Debug)]
pub struct Socket {
    pub page: Option<String>,
    pub url: String,
    pub initiator: Value,
    pub ts: f64,
    pub wall: f64,
    pub request: Option<Value>,
    pub response: Option<Value>,
    pub response_ts: f64,
    pub messages: Vec<Value>,
}

impl Socket {
    pub fn entry(&self) -> (u64, Value) {
        let resp = self.response.as_ref();
        let mut req_headers = header_list(resp.and_then(|r| r.get("requestHeaders")));
        if req_headers.is_empty() {
            req_headers = header_list(self.request.as_ref().and_then(|r| r.get("headers")));
        }
        let resp_headers = header_list(resp.and_then(|r| r.get("headers")));
        let wait = if self.response_ts >= self.ts && self.ts >= 0.0 {
            (self.response_ts - self.ts) * 1000.0
        } else {
            0.0
        };
        let status = resp.map_or(0.0, |r| f(r, "status").max(0.0)) as i64;
        let e = json!({
            "pageref": self.page,
            "startedDateTime": har::time::format_ms(self.wall * 1000.0),
            "time": round3(wait),
            "request": {
                "method": "GET", "url": self.url, "httpVersion": "HTTP/1.1",
                "cookies": request_cookies(&req_headers), "headers": headers_json(&req_headers),
                "queryString": query_string(&self.url),
                "headersSize": resp.and_then(|r| r.get("requestHeadersText")).and_then(Value::as_str).map_or(-1, |t| t.len() as i64),
                "bodySize": 0,
            },
            "response": {
                "status": status, "statusText": resp.map_or("", |r| s(r, "statusText")),
                "httpVersion": if resp.is_some() { "HTTP/1.1" } else { "" },
                "cookies": response_cookies(&resp_headers), "headers": headers_json(&resp_headers),
                "content": {"size": 0, "mimeType": "x-unknown"},
                "redirectURL": "",
                "headersSize": resp.and_then(|r| r.get("headersText")).and_then(Value::as_str).map_or(-1, |t| t.len() as i64),
                "bodySize": 0,
            },
            "cache": {},
            "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": round3(wait), "receive": 0},
            "_initiator": self.initiator,
            "_resourceType": "websocket",
            "_webSocketMessages": self.messages,
        });
        let mut e = e;
        if self.page.is_none() {
            e.as_object_mut().unwrap().remove("pageref");
        }
        ((self.wall.max(0.0) * 1e6) as u64, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_chain_is_an_entry_per_hop_with_the_headers_as_sent() {
        let mut r = Request::new(
            &json!({"requestId": "1", "timestamp": 10.0, "wallTime": 1_700_000_000.0, "type": "Document",
                    "request": {"url": "http://a.test/login", "method": "POST", "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                                "postData": "user=jane&password=x", "initialPriority": "VeryHigh"},
                    "initiator": {"type": "other"}}),
            Some("page_1".into()),
        );
        r.req_extra.push(json!({"headers": {"Cookie": "sid=1", "Content-Type": "application/x-www-form-urlencoded"}}));
        r.resp_extra.push(
            json!({"headers": {"Location": "/app", "Set-Cookie": "sid=2; HttpOnly\ntheme=dark"},
                                 "headersText": "HTTP/1.1 302 Found\r\n\r\n"}),
        );
        r.redirect(&json!({"timestamp": 10.1, "wallTime": 1_700_000_000.1, "redirectHasExtraInfo": true,
            "redirectResponse": {"status": 302, "statusText": "Found", "headers": {"Location": "/app"}, "protocol": "http/1.1",
                "remoteIPAddress": "127.0.0.1", "connectionId": 7, "encodedDataLength": 40,
                "timing": {"requestTime": 10.001, "dnsStart": -1, "dnsEnd": -1, "connectStart": 0.5, "connectEnd": 1.5,
                           "sslStart": -1, "sslEnd": -1, "sendStart": 2.0, "sendEnd": 2.5, "receiveHeadersEnd": 50.0}},
            "request": {"url": "http://a.test/app", "method": "GET", "headers": {}}}));
        r.response(&json!({"type": "Document", "hasExtraInfo": false,
            "response": {"status": 200, "statusText": "OK", "headers": {"Content-Type": "text/html"}, "mimeType": "text/html", "protocol": "h2"}}));
        r.finished(&json!({"timestamp": 10.3, "encodedDataLength": 500}));
        let es = r.entries(
            Some(&json!({"body": "PGI+aGk8L2I+", "base64Encoded": true})),
            None,
        );
        assert_eq!(es.len(), 2);
        let (start, a) = &es[0];
        assert_eq!(*start, 1_700_000_000_000_000);
        assert_eq!(a["request"]["cookies"][0]["name"], "sid");
        assert_eq!(a["request"]["postData"]["params"][0]["value"], "jane");
        assert_eq!(a["response"]["status"], 302);
        assert_eq!(a["response"]["redirectURL"], "/app");
        assert_eq!(a["response"]["cookies"].as_array().unwrap().len(), 2);
        assert_eq!(a["response"]["bodySize"], 40 - 22);
        assert_eq!(a["timings"]["connect"], 1.0);
        assert_eq!(a["timings"]["wait"], 47.5);
        assert_eq!(a["serverIPAddress"], "127.0.0.1");
        assert_eq!(a["connection"], "7");
        assert_eq!(a["_priority"], "VeryHigh");
        let b = &es[1].1;
        assert_eq!(b["request"]["url"], "http://a.test/app");
        assert_eq!(b["response"]["httpVersion"], "HTTP/2");
        assert_eq!(b["response"]["content"]["text"], "<b>hi</b>");
        assert_eq!(b["response"]["content"]["size"], 9);
        assert_eq!(b["_resourceType"], "document");
        assert_eq!(b["pageref"], "page_1");
    }
}
