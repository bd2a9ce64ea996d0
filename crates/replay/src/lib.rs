//! `hark replay`: send the requests of a recording again — to a new base URL, or to the
//! recorded hosts when the user says so — and write what came back as a new HAR with
//! real timings (each exchange becomes an entry through `record`'s own
//! [`record::entry::Exchange`], connections through [`record::upstream`]).
//!
//! Requests go in recorded order, or up to `concurrency` at a time (entries still
//! written in recorded order), at most `rate` a second; a cookie jar carries the
//! cookies the new responses set (a login flow continues); `headers` override recorded
//! ones; methods other than GET, HEAD and OPTIONS are sent only when `unsafe_methods`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use record::entry::{ms, Exchange, RequestInfo, ResponseInfo};
use record::upstream::{Key, Pool, Sender, Tls};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error("bad target {0:?}: an http:// or https:// URL")]
    Target(String),
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error("cannot write the HAR: {0}")]
    Write(std::io::Error),
}

/// Where requests go.
#[derive(Clone, Debug)]
pub enum Target {
    /// This base URL's scheme, host and port (and path prefix), the recorded path and query.
    Base(url::Url),
    /// The recorded URLs as they are.
    RecordedHosts,
}

impl Target {
    /// A base URL: `http://127.0.0.1:3000`, `https://staging.example.com/prefix`.
    pub fn base(s: &str) -> Result<Target, Error> {
        match url::Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Ok(Target::Base(u))
            }
            _ => Err(Error::Target(s.to_string())),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub target: Target,
    pub concurrency: usize,
    /// Requests per second at most.
    pub rate: Option<f64>,
    /// Headers set on every request (replacing recorded ones of the same name).
    pub headers: Vec<(String, String)>,
    /// URL globs: only these / not these.
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub unsafe_methods: bool,
    pub timeout: Duration,
    /// Accept any server certificate.
    pub insecure: bool,
}

/// What replay did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub sent: usize,
    pub failed: usize,
    /// Not sent: a method other than GET/HEAD/OPTIONS without `unsafe_methods`.
    pub skipped_unsafe: usize,
    /// Not sent: `only`/`skip`.
    pub filtered: usize,
    /// Entries that could not be read.
    pub unreadable: usize,
    /// The recorded entries sent (their indexes), in order.
    #[serde(skip)]
    pub sent_entries: Vec<usize>,
}

/// Headers never copied from the recording.
const DROPPED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "cookie",
];

/// Cookies by host, as the new responses set them.
#[derive(Default)]
struct Jar {
    by_host: BTreeMap<String, BTreeMap<String, String>>,
}

impl Jar {
    fn take(&mut self, host: &str, headers: &[(String, String)]) {
        for (n, v) in headers {
            if n.eq_ignore_ascii_case("set-cookie") {
                let c = har::http::SetCookie::parse(v);
                if c.name.is_empty() {
                    continue;
                }
                let host = c
                    .domain
                    .map(|d| d.trim_start_matches('.').to_ascii_lowercase())
                    .unwrap_or_else(|| host.to_string());
                self.by_host
                    .entry(host)
                    .or_default()
                    .insert(c.name.to_string(), c.value.to_string());
            }
        }
    }

    /// The Cookie header for `host`: the recorded pairs, with the jar's values instead
    /// where it has them, and the jar's others added.
    fn header(&self, host: &str, recorded: Option<&str>) -> Option<String> {
        let mut pairs: Vec<(String, String)> = recorded
            .map(|r| {
                har::http::cookie_pairs(r)
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        for (domain, cookies) in &self.by_host {
            if host == domain || host.ends_with(&format!(".{domain}")) {
                for (n, v) in cookies {
                    match pairs.iter_mut().find(|(pn, _)| pn == n) {
                        Some(p) => p.1 = v.clone(),
                        None => pairs.push((n.clone(), v.clone())),
                    }
                }
            }
        }
        if pairs.is_empty() {
            return None;
        }
        Some(
            pairs
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// One request to send.
#[derive(Clone, Debug)]
pub struct Job {
    pub method: String,
    pub url: url::Url,
    /// Headers as sent (no `Host`, `Content-Length` or `Cookie`: those are added).
    pub headers: Vec<(String, String)>,
    pub cookie: Option<String>,
    pub body: Vec<u8>,
}

/// Headers a request never forwards (hop-by-hop ones, and those the client sets).
pub fn dropped_header(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.starts_with(':') || DROPPED.contains(&l.as_str())
}

fn glob_any(globs: &[String], s: &str) -> bool {
    globs.iter().any(|g| diff::glob(g, s))
}

fn build(e: &har::Entry, opts: &Options) -> Result<Job, String> {
    let req = e.request();
    let method = req.method().unwrap_or("GET").to_ascii_uppercase();
    let recorded = req.url().ok_or("no URL")?;
    let rec_url = url::Url::parse(recorded).map_err(|err| format!("{recorded}: {err}"))?;
    let url = match &opts.target {
        Target::RecordedHosts => rec_url.clone(),
        Target::Base(base) => {
            let mut u = base.clone();
            let prefix = base.path().trim_end_matches('/');
            u.set_path(&format!("{prefix}{}", rec_url.path()));
            u.set_query(rec_url.query());
            u
        }
    };
    let mut headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter(|(n, _)| !dropped_header(n))
        .filter(|(n, _)| !opts.headers.iter().any(|(o, _)| o.eq_ignore_ascii_case(n)))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    headers.extend(opts.headers.iter().cloned());
    let cookie = req.headers().get("cookie").map(str::to_string);
    let body = req
        .post_data()
        .map(|p| match p.text() {
            Some(t) => t.as_bytes().to_vec(),
            None => p
                .params()
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
        })
        .unwrap_or_default();
    Ok(Job {
        method,
        url,
        headers,
        cookie,
        body,
    })
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Sends requests upstream through `record`'s connections and measures them as
/// `hark record` does; shared by `hark replay` and `hark mock --passthrough`.
pub struct Client {
    pool: Pool,
    tls: Tls,
    timeout: Duration,
    jar: Option<Mutex<Jar>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .field("cookies", &self.jar.is_some())
            .finish()
    }
}

impl Client {
    /// A client; with `cookies`, a jar carries the cookies answers set.
    pub fn new(insecure: bool, timeout: Duration, cookies: bool) -> Result<Client, Error> {
        Ok(Client {
            pool: Pool::default(),
            tls: record::upstream::tls_config(&[], insecure)?,
            timeout,
            jar: cookies.then(|| Mutex::new(Jar::default())),
        })
    }

    /// Send one request; the exchange as `hark record` would have recorded it.
    pub async fn send(&self, job: Job) -> Exchange {
        send_inner(self, job).await
    }
}

async fn send_inner(c: &Client, job: Job) -> Exchange {
    let (pool, tls, timeout) = (&c.pool, &c.tls, c.timeout);
    let https = job.url.scheme() == "https";
    let host = job.url.host_str().unwrap_or("").to_string();
    let port = job.url.port_or_known_default().unwrap_or(80);
    let authority = match job.url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let mut headers = job.headers.clone();
    headers.insert(0, ("Host".into(), authority.clone()));
    let cookie = match &c.jar {
        Some(jar) => jar.lock().unwrap().header(&host, job.cookie.as_deref()),
        None => job.cookie.clone(),
    };
    if let Some(cookie) = cookie {
        headers.push(("Cookie".into(), cookie));
    }
    if !job.body.is_empty() {
        headers.push(("Content-Length".into(), job.body.len().to_string()));
    }
    let info = RequestInfo {
        method: job.method.clone(),
        url: job.url.to_string(),
        http_version: "HTTP/1.1",
        headers: headers.clone(),
        headers_size: -1,
    };
    let mut ex = Exchange::new(now_us(), info, usize::MAX);
    ex.request_body.push(&job.body);
    let key = Key {
        https,
        host: host.clone(),
        port,
    };
    let (mut up, setup) = match pool.get(&key, tls, false, timeout).await {
        Ok(x) => x,
        Err(f) => {
            ex.error = Some(f.text());
            return ex;
        }
    };
    ex.phases.blocked = setup.blocked;
    ex.phases.dns = setup.dns;
    ex.phases.connect = setup.connect;
    ex.phases.ssl = setup.ssl;
    ex.server_ip = Some(up.ip.to_string());
    let path = match job.url.query() {
        Some(q) => format!("{}?{q}", job.url.path()),
        None => job.url.path().to_string(),
    };
    let mut rb = http::Request::builder()
        .method(job.method.as_str())
        .uri(path);
    for (n, v) in &headers {
        rb = rb.header(n.as_str(), v.as_str());
    }
    let body: record::upstream::UpBody = Full::new(Bytes::from(job.body))
        .map_err(|e| match e {})
        .boxed();
    let req = match rb.body(body) {
        Ok(r) => r,
        Err(e) => {
            ex.error = Some(format!("net::ERR_INVALID_ARGUMENT ({e})"));
            return ex;
        }
    };
    let t_send = Instant::now();
    let res = match &mut up.sender {
        Sender::H1(s) => tokio::time::timeout(timeout, s.send_request(req)).await,
        Sender::H2(s) => tokio::time::timeout(timeout, s.send_request(req)).await,
    };
    let t_head = Instant::now();
    ex.phases.send = 0.0;
    ex.phases.wait = ms(t_head - t_send);
    let resp = match res {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            ex.error = Some(format!("net::ERR_EMPTY_RESPONSE ({e})"));
            return ex;
        }
        Err(_) => {
            ex.error = Some("net::ERR_TIMED_OUT (no answer in time)".into());
            return ex;
        }
    };
    let status = resp.status();
    let rheaders: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if let Some(jar) = &c.jar {
        jar.lock().unwrap().take(&host, &rheaders);
    }
    ex.response = Some(ResponseInfo {
        status: status.as_u16(),
        status_text: status.canonical_reason().unwrap_or("").to_string(),
        http_version: if up.is_h2() { "HTTP/2" } else { "HTTP/1.1" },
        headers: rheaders,
        headers_size: -1,
    });
    match tokio::time::timeout(timeout, resp.into_body().collect()).await {
        Ok(Ok(b)) => ex.response_body.push(&b.to_bytes()),
        Ok(Err(e)) => ex.error = Some(format!("net::ERR_CONNECTION_RESET ({e})")),
        Err(_) => ex.error = Some("net::ERR_TIMED_OUT (body not complete in time)".into()),
    }
    ex.phases.receive = ms(t_head.elapsed());
    if ex.error.is_none() {
        pool.put(key, up);
    }
    ex
}

/// Replay `reader`'s entries; each new entry (a HAR entry as JSON) goes to `out` in
/// recorded order.
pub async fn replay(
    mut reader: har::HarReader,
    opts: &Options,
    mut out: impl FnMut(serde_json::Value) -> Result<(), Error>,
) -> Result<Stats, Error> {
    let client = Arc::new(Client::new(opts.insecure, opts.timeout, true)?);
    let mut stats = Stats::default();
    let mut window: std::collections::VecDeque<tokio::task::JoinHandle<Exchange>> =
        std::collections::VecDeque::new();
    let started = Instant::now();
    let concurrency = opts.concurrency.max(1);
    while let Some(e) = reader.next_entry()? {
        let index = e.index;
        let Ok(job) = build(&e, opts) else {
            stats.unreadable += 1;
            continue;
        };
        if !matches!(job.method.as_str(), "GET" | "HEAD" | "OPTIONS") && !opts.unsafe_methods {
            stats.skipped_unsafe += 1;
            continue;
        }
        let u = job.url.as_str();
        if (!opts.only.is_empty() && !glob_any(&opts.only, u)) || glob_any(&opts.skip, u) {
            stats.filtered += 1;
            continue;
        }
        if let Some(rate) = opts.rate.filter(|r| *r > 0.0) {
            let due = Duration::from_secs_f64(stats.sent as f64 / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        while window.len() >= concurrency {
            let ex = window.pop_front().expect("a task").await;
            finish(ex, &mut stats, &mut out)?;
        }
        stats.sent += 1;
        stats.sent_entries.push(index);
        let c = client.clone();
        window.push_back(tokio::spawn(async move { c.send(job).await }));
        if concurrency == 1 {
            // In order: the next request sees this one's cookies.
            let ex = window.pop_front().expect("a task").await;
            finish(ex, &mut stats, &mut out)?;
        }
    }
    while let Some(h) = window.pop_front() {
        finish(h.await, &mut stats, &mut out)?;
    }
    Ok(stats)
}

fn finish(
    ex: Result<Exchange, tokio::task::JoinError>,
    stats: &mut Stats,
    out: &mut impl FnMut(serde_json::Value) -> Result<(), Error>,
) -> Result<(), Error> {
    match ex {
        Ok(ex) => {
            if ex.error.is_some() {
                stats.failed += 1;
            }
            out(ex.to_json())
        }
        Err(_) => {
            stats.failed += 1;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Jar;

    #[test]
    fn the_jar_replaces_recorded_values_and_adds_its_own() {
        let mut jar = Jar::default();
        jar.take(
            "app.example.com",
            &[
                ("Set-Cookie".into(), "sid=new; Path=/; HttpOnly".into()),
                ("set-cookie".into(), "pref=1; Domain=.example.com".into()),
                ("X-Other".into(), "a=b".into()),
            ],
        );
        assert_eq!(
            jar.header("app.example.com", Some("sid=old; theme=dark"))
                .as_deref(),
            Some("sid=new; theme=dark; pref=1")
        );
        assert_eq!(
            jar.header("api.example.com", None).as_deref(),
            Some("pref=1")
        );
        assert_eq!(jar.header("other.org", None), None);
    }
}
