//! One flat row per entry: the columns of `--to jsonl` and `--to parquet`
//! (documented in docs/export.md; [`COLUMNS`] lists them in order).

use har::{EntryView, Json};
use serde::Serialize;

/// A name and a value (a header, a cookie).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

/// The flat row of one entry. Field names are the column names.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Row {
    /// The file the entry came from, as named on the command line.
    pub source: String,
    /// The entry's index in that file (0-based).
    pub entry: i64,
    pub page: Option<String>,
    /// `startedDateTime` in microseconds since the Unix epoch, UTC.
    pub started: Option<i64>,
    pub method: String,
    pub url: String,
    pub scheme: Option<String>,
    pub host: Option<String>,
    /// Written or implied by the scheme.
    pub port: Option<i32>,
    pub path: Option<String>,
    pub query: Option<String>,
    /// `hark surface`'s templated path (`/users/{userId}`), when templating ran.
    pub template: Option<String>,
    pub status: Option<i32>,
    pub status_text: Option<String>,
    /// One spelling (`HTTP/1.1`, `HTTP/2`, `HTTP/3`, …).
    pub http_version: Option<String>,
    pub request_mime: Option<String>,
    /// The response's `content.mimeType` as recorded.
    pub mime: Option<String>,
    /// `_resourceType`, or guessed from the MIME type and URL.
    pub resource_type: String,
    pub request_headers: Vec<NameValue>,
    pub request_cookies: Vec<NameValue>,
    pub response_headers: Vec<NameValue>,
    pub response_cookies: Vec<NameValue>,
    pub request_headers_size: Option<i64>,
    pub request_body_size: Option<i64>,
    pub response_headers_size: Option<i64>,
    pub response_body_size: Option<i64>,
    /// `content.size`: the decoded body.
    pub content_size: Option<i64>,
    /// `_transferSize`, or headers + body size.
    pub transfer_size: Option<i64>,
    /// The entry's `time` (ms).
    pub time: Option<f64>,
    pub blocked: Option<f64>,
    pub dns: Option<f64>,
    pub connect: Option<f64>,
    pub ssl: Option<f64>,
    pub send: Option<f64>,
    pub wait: Option<f64>,
    pub receive: Option<f64>,
    pub server_ip: Option<String>,
    pub connection: Option<String>,
    /// Why the request failed (`_error`, `_failureText`, status 0), else null.
    pub error: Option<String>,
    /// With `--bodies`: `postData.text`.
    pub request_body: Option<String>,
    /// With `--bodies`: `content.text`, as recorded.
    pub response_body: Option<String>,
    /// With `--bodies`: `content.encoding` (`base64` for binary bodies).
    pub response_body_encoding: Option<String>,
}

/// The column names in order (the same as [`Row`]'s fields).
pub const COLUMNS: &[&str] = &[
    "source",
    "entry",
    "page",
    "started",
    "method",
    "url",
    "scheme",
    "host",
    "port",
    "path",
    "query",
    "template",
    "status",
    "status_text",
    "http_version",
    "request_mime",
    "mime",
    "resource_type",
    "request_headers",
    "request_cookies",
    "response_headers",
    "response_cookies",
    "request_headers_size",
    "request_body_size",
    "response_headers_size",
    "response_body_size",
    "content_size",
    "transfer_size",
    "time",
    "blocked",
    "dns",
    "connect",
    "ssl",
    "send",
    "wait",
    "receive",
    "server_ip",
    "connection",
    "error",
    "request_body",
    "response_body",
    "response_body_encoding",
];

fn nv<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<NameValue> {
    it.map(|(n, v)| NameValue {
        name: n.to_string(),
        value: v.to_string(),
    })
    .collect()
}

/// Negative sizes and phases are HAR's "unknown": null.
fn known_i(v: Option<i64>) -> Option<i64> {
    v.filter(|x| *x >= 0)
}
fn known_f(v: Option<f64>) -> Option<f64> {
    v.filter(|x| *x >= 0.0 && x.is_finite())
}

impl Row {
    /// The row of entry `index` of `source`; bodies only when `bodies`.
    pub fn of<J: Json>(e: EntryView<'_, J>, source: &str, index: usize, bodies: bool) -> Row {
        let req = e.request();
        let res = e.response();
        let url_text = req.url().unwrap_or("");
        let parsed = url::Url::parse(url_text).ok();
        let request_cookies = {
            let listed = nv(req
                .cookies()
                .map(|c| (c.name().unwrap_or(""), c.value().unwrap_or(""))));
            if listed.is_empty() {
                nv(req
                    .headers()
                    .get_all("cookie")
                    .flat_map(har::http::cookie_pairs))
            } else {
                listed
            }
        };
        let response_cookies = {
            let listed = nv(res
                .cookies()
                .map(|c| (c.name().unwrap_or(""), c.value().unwrap_or(""))));
            if listed.is_empty() {
                res.headers()
                    .get_all("set-cookie")
                    .flat_map(|v| v.split('\n'))
                    .map(har::http::SetCookie::parse)
                    .filter(|c| c.has_eq)
                    .map(|c| NameValue {
                        name: c.name.to_string(),
                        value: c.value.to_string(),
                    })
                    .collect()
            } else {
                listed
            }
        };
        let t = e.timings();
        let content = res.content();
        let transfer = known_i(res.transfer_size()).or_else(|| {
            let (h, b) = (known_i(res.headers_size()), known_i(res.body_size()));
            (h.is_some() || b.is_some()).then(|| h.unwrap_or(0) + b.unwrap_or(0))
        });
        Row {
            source: source.to_string(),
            entry: index as i64,
            page: e.pageref().map(str::to_string),
            started: e
                .started_date_time()
                .and_then(har::time::parse_ms)
                .map(|ms| (ms * 1000.0).round() as i64),
            method: req.method().unwrap_or("").to_string(),
            url: url_text.to_string(),
            scheme: parsed.as_ref().map(|u| u.scheme().to_string()),
            host: parsed
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_string)),
            port: parsed
                .as_ref()
                .and_then(|u| u.port_or_known_default().map(i32::from)),
            path: parsed.as_ref().map(|u| u.path().to_string()),
            query: parsed.as_ref().and_then(|u| u.query().map(str::to_string)),
            template: None,
            status: res.status().and_then(|s| i32::try_from(s).ok()),
            status_text: res.status_text().map(str::to_string),
            http_version: res
                .http_version()
                .or(req.http_version())
                .filter(|v| !v.is_empty())
                .map(har::http::http_version),
            request_mime: req
                .post_data()
                .and_then(|p| p.mime_type().map(str::to_string)),
            mime: content.mime_type().map(str::to_string),
            resource_type: har::http::resource_type(e),
            request_headers: nv(req.headers().iter()),
            request_cookies,
            response_headers: nv(res.headers().iter()),
            response_cookies,
            request_headers_size: known_i(req.headers_size()),
            request_body_size: known_i(req.body_size()),
            response_headers_size: known_i(res.headers_size()),
            response_body_size: known_i(res.body_size()),
            content_size: known_i(content.size()),
            transfer_size: transfer,
            time: known_f(e.time()),
            blocked: known_f(t.blocked),
            dns: known_f(t.dns),
            connect: known_f(t.connect),
            ssl: known_f(t.ssl),
            send: known_f(t.send),
            wait: known_f(t.wait),
            receive: known_f(t.receive),
            server_ip: e.server_ip_address().map(str::to_string),
            connection: e.fields().str("connection").map(str::to_string),
            error: har::http::failure(e),
            request_body: bodies
                .then(|| req.post_data().and_then(|p| p.text().map(str::to_string)))
                .flatten(),
            response_body: bodies.then(|| content.text().map(str::to_string)).flatten(),
            response_body_encoding: bodies
                .then(|| content.encoding().map(str::to_string))
                .flatten(),
        }
    }

    /// Approximate bytes held (for sizing row groups).
    pub fn weight(&self) -> usize {
        let lists: usize = [
            &self.request_headers,
            &self.request_cookies,
            &self.response_headers,
            &self.response_cookies,
        ]
        .iter()
        .flat_map(|l| l.iter())
        .map(|p| p.name.len() + p.value.len() + 16)
        .sum();
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        256 + lists
            + self.url.len()
            + opt(&self.request_body)
            + opt(&self.response_body)
            + opt(&self.error)
    }
}
