//! Jobs: each one a hosted recording proxy with its own journal, pages, capture options
//! and per-request rules, and a `job.json` (written with temp + rename) that lets the
//! service come back with its jobs after a restart.

use crate::store::{self, Journal};
use crate::{now_ms, Options, ServeError};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use record::entry::Exchange;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

/// What a job keeps of each exchange.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Capture {
    pub headers: bool,
    pub cookies: bool,
    /// Request and response bodies (text).
    pub content: bool,
    /// Binary response bodies (base64) too.
    pub binary_content: bool,
    /// Bytes of each body kept (the rest is counted and marked cut).
    pub max_body_bytes: Option<usize>,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            headers: true,
            cookies: true,
            content: true,
            binary_content: true,
            max_body_bytes: None,
        }
    }
}

impl Capture {
    /// BrowserMob's defaults for a new HAR: nothing but the exchange itself.
    pub fn browsermob() -> Self {
        Capture {
            headers: false,
            cookies: false,
            content: false,
            binary_content: false,
            max_body_bytes: None,
        }
    }

    fn apply(&self, e: &mut Value) {
        for side in ["request", "response"] {
            let Some(m) = e.get_mut(side).and_then(Value::as_object_mut) else {
                continue;
            };
            if !self.headers {
                m.insert("headers".into(), json!([]));
            }
            if !self.cookies {
                m.insert("cookies".into(), json!([]));
            }
        }
        if !self.content {
            if let Some(pd) = e
                .pointer_mut("/request/postData")
                .and_then(Value::as_object_mut)
            {
                pd.remove("text");
                pd.remove("params");
                pd.remove("_encoding");
            }
        }
        if let Some(c) = e
            .pointer_mut("/response/content")
            .and_then(Value::as_object_mut)
        {
            let binary = c.get("encoding").and_then(Value::as_str) == Some("base64");
            if !self.content || (binary && !self.binary_content) {
                c.remove("text");
                c.remove("encoding");
            }
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlacklistRule {
    /// Regular expression matched against the whole URL.
    pub regex: String,
    /// Status answered instead of going upstream.
    pub status: u16,
    /// Regular expression matched against the method (all methods if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Whitelist {
    /// Regular expressions; a URL matching none of them is answered with `status`.
    pub regex: Vec<String>,
    pub status: u16,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub id: String,
    pub title: String,
    pub started_ms: f64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    Stopped,
    /// The service stopped (or died) while the job was running.
    Interrupted,
}

/// Everything about a job that is kept in `job.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `job` (made with `POST /v1/jobs`) or `browsermob` (`POST /proxy`).
    pub kind: String,
    pub created: String,
    pub created_ms: f64,
    pub state: State,
    #[serde(default)]
    pub stopped: Option<String>,
    pub proxy: Option<String>,
    pub capture: Capture,
    /// Recording on (BrowserMob: after `PUT /proxy/{port}/har`).
    pub recording: bool,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub blacklist: Vec<BlacklistRule>,
    #[serde(default)]
    pub whitelist: Option<Whitelist>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub latency_ms: u64,
    /// Bandwidth limits in KiB/s (BrowserMob's `upstreamKbps`/`downstreamKbps`, which
    /// BrowserMob also counts in units of 1024 bytes per second); 0 is no limit.
    #[serde(default)]
    pub upstream_kbps: u64,
    #[serde(default)]
    pub downstream_kbps: u64,
    #[serde(default)]
    pub pages: Vec<Page>,
    #[serde(default)]
    pub error: Option<String>,
    /// Entries when the job stopped (running jobs count live).
    #[serde(default)]
    pub entries: u64,
}

/// The rules compiled for the proxy's per-request policy.
#[derive(Default)]
struct Rules {
    scope: Vec<Regex>,
    blacklist: Vec<(Regex, u16, Option<Regex>)>,
    whitelist: Option<(Vec<Regex>, u16)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    latency: Duration,
    /// Shared by every request of the job, as BrowserMob limits the whole proxy.
    upstream: Option<Arc<record::Throttle>>,
    downstream: Option<Arc<record::Throttle>>,
}

fn compile(p: &str) -> Result<Regex, String> {
    Regex::new(p).map_err(|e| format!("bad regular expression {p:?}: {e}"))
}

impl Rules {
    fn from_meta(m: &Meta) -> Result<Rules, String> {
        let mut r = Rules {
            latency: Duration::from_millis(m.latency_ms),
            upstream: record::Throttle::new(m.upstream_kbps.saturating_mul(1024)),
            downstream: record::Throttle::new(m.downstream_kbps.saturating_mul(1024)),
            ..Rules::default()
        };
        for s in &m.scope {
            r.scope.push(compile(s)?);
        }
        for b in &m.blacklist {
            if !(100..=599).contains(&b.status) {
                return Err(format!(
                    "blacklist status {} is not an HTTP status",
                    b.status
                ));
            }
            let method = b.method.as_deref().map(compile).transpose()?;
            r.blacklist.push((compile(&b.regex)?, b.status, method));
        }
        if let Some(w) = &m.whitelist {
            if !(100..=599).contains(&w.status) {
                return Err(format!(
                    "whitelist status {} is not an HTTP status",
                    w.status
                ));
            }
            let list = w
                .regex
                .iter()
                .map(|s| compile(s))
                .collect::<Result<_, _>>()?;
            r.whitelist = Some((list, w.status));
        }
        for (k, v) in &m.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("bad header name {k:?}"))?;
            let value =
                HeaderValue::from_str(v).map_err(|_| format!("bad value for header {k:?}"))?;
            r.headers.push((name, value));
        }
        Ok(r)
    }
}

pub struct Job {
    pub id: String,
    dir: PathBuf,
    meta: Mutex<Meta>,
    rules: RwLock<Rules>,
    journal: Mutex<Option<Journal>>,
    proxy: Mutex<Option<record::Hosted>>,
    /// Exchanges that could not be written (disk full, ...).
    lost: AtomicU64,
}

/// A job's own proxy port. With a service token (`--token`, or any listen address
/// beyond loopback) every request and `CONNECT` must carry `Proxy-Authorization: Basic`
/// with the token as password (any user name); the header is not recorded.
struct JobPolicy {
    job: Weak<Job>,
    token: Option<record::ProxyToken>,
}

impl record::Policy for JobPolicy {
    fn request(
        &self,
        tag: Option<&Arc<str>>,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
    ) -> record::Decision {
        let Some(job) = self.job.upgrade() else {
            return record::Decision::default();
        };
        if let Some(t) = &self.token {
            // Requests inside a tunnel were authorised by its CONNECT.
            let in_tunnel = tag.is_some_and(|t| &**t == record::TUNNEL_OK);
            if !in_tunnel && !t.accepts(headers) {
                return record::Decision {
                    answer: Some(407),
                    ..record::Decision::default()
                };
            }
        }
        if job.state() != State::Running {
            // A connection kept alive past the job's stop gets nothing more through.
            return record::Decision {
                answer: Some(503),
                ..record::Decision::default()
            };
        }
        let mut d = job.decide(method, url);
        if self.token.is_some() {
            d.headers.push((http::header::PROXY_AUTHORIZATION, None));
        }
        d
    }

    fn connect(&self, _authority: &str, headers: &HeaderMap) -> record::Decision {
        match &self.token {
            None => record::Decision::default(),
            Some(t) if t.accepts(headers) => record::Decision {
                tag: Some(Arc::from(record::TUNNEL_OK)),
                ..record::Decision::default()
            },
            Some(_) => record::Decision {
                answer: Some(407),
                ..record::Decision::default()
            },
        }
    }
}

/// The shared port's policy: the job comes from the tunnel's tag or the request's
/// `Proxy-Authorization` (removed, so it is not recorded), then that job's rules apply.
struct SharedPolicy(Weak<Service>);

impl record::Policy for SharedPolicy {
    fn request(
        &self,
        tag: Option<&Arc<str>>,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
    ) -> record::Decision {
        let refuse = record::Decision {
            answer: Some(407),
            ..record::Decision::default()
        };
        let Some(svc) = self.0.upgrade() else {
            return refuse;
        };
        let job = match tag {
            Some(t) => svc.job(t).filter(|j| j.state() == State::Running),
            None => svc.job_of(headers),
        };
        let Some(job) = job else { return refuse };
        let mut d = job.decide(method, url);
        d.tag = Some(Arc::from(job.id.as_str()));
        // The job's credentials are not recorded.
        d.headers.push((http::header::PROXY_AUTHORIZATION, None));
        d
    }

    fn connect(&self, _authority: &str, headers: &HeaderMap) -> record::Decision {
        let job = self.0.upgrade().and_then(|svc| svc.job_of(headers));
        match job {
            Some(j) => record::Decision {
                tag: Some(Arc::from(j.id.as_str())),
                ..record::Decision::default()
            },
            None => record::Decision {
                answer: Some(407),
                ..record::Decision::default()
            },
        }
    }
}

impl Job {
    /// The job's rules for one request (blacklist, whitelist, headers, latency, bandwidth).
    fn decide(&self, method: &Method, url: &str) -> record::Decision {
        let mut d = record::Decision::default();
        let r = self.rules.read().unwrap();
        if let Some((list, status)) = &r.whitelist {
            if !list.iter().any(|re| re.is_match(url)) {
                d.answer = Some(*status);
                return d;
            }
        }
        for (re, status, m) in &r.blacklist {
            if re.is_match(url) && m.as_ref().is_none_or(|m| m.is_match(method.as_str())) {
                d.answer = Some(*status);
                return d;
            }
        }
        for (k, v) in &r.headers {
            d.headers.push((k.clone(), Some(v.clone())));
        }
        d.delay = r.latency;
        d.upstream = r.upstream.clone();
        d.downstream = r.downstream.clone();
        d
    }
}

impl Job {
    fn paths(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("job.json"), self.dir.join("journal"))
    }

    pub fn meta(&self) -> Meta {
        self.meta.lock().unwrap().clone()
    }

    /// Write `job.json` (temp file, fsync, rename).
    fn save(&self, m: &Meta) -> Result<(), ServeError> {
        save_meta(&self.dir, m)
    }

    /// The JSON the API shows for the job.
    pub fn view(&self) -> Value {
        let m = self.meta();
        let (entries, bytes) = self.counts(&m);
        let mut v = serde_json::to_value(&m).expect("meta serialises");
        let o = v.as_object_mut().unwrap();
        o.insert("entries".into(), json!(entries));
        o.insert("bytes".into(), json!(bytes));
        o.insert("lost".into(), json!(self.lost.load(Ordering::Relaxed)));
        o.insert(
            "har".into(),
            json!(format!("/v1/jobs/{}/network.har", m.id)),
        );
        v
    }

    fn counts(&self, m: &Meta) -> (u64, u64) {
        if let Some(j) = self.journal.lock().unwrap().as_ref() {
            return (j.count(), j.bytes());
        }
        let bytes = std::fs::metadata(self.dir.join("journal"))
            .map(|md| md.len())
            .unwrap_or(0);
        (m.entries, bytes)
    }

    pub fn bytes(&self) -> u64 {
        let m = self.meta();
        self.counts(&m).1
    }

    pub fn state(&self) -> State {
        self.meta.lock().unwrap().state
    }

    fn sink(self: &Arc<Self>) -> record::Sink {
        let weak = Arc::downgrade(self);
        Arc::new(move |ex: Exchange| {
            let Some(job) = weak.upgrade() else { return };
            job.record(ex);
        })
    }

    fn record(&self, ex: Exchange) {
        let (capture, pageref) = {
            let m = self.meta.lock().unwrap();
            if !m.recording {
                return;
            }
            let start_ms = ex.start_us as f64 / 1000.0;
            // The page current when the request started (the first page for earlier ones).
            let page = m
                .pages
                .iter()
                .rev()
                .find(|p| p.started_ms <= start_ms)
                .or(m.pages.first())
                .map(|p| p.id.clone());
            (m.capture.clone(), page)
        };
        {
            let r = self.rules.read().unwrap();
            if !r.scope.is_empty() && !r.scope.iter().any(|re| re.is_match(&ex.request.url)) {
                return;
            }
        }
        let mut v = ex.to_json();
        capture.apply(&mut v);
        if let (Some(p), Some(o)) = (pageref, v.as_object_mut()) {
            o.insert("pageref".into(), json!(p));
        }
        let bytes = serde_json::to_vec(&v).expect("an entry serialises");
        let mut j = self.journal.lock().unwrap();
        let Some(j) = j.as_mut() else { return };
        if let Err(e) = j.append(ex.start_us, &bytes) {
            self.lost.fetch_add(1, Ordering::Relaxed);
            let mut m = self.meta.lock().unwrap();
            if m.error.is_none() {
                m.error = Some(format!("exchanges not recorded: {e}"));
            }
        }
    }

    /// The HAR's pages as HAR `page` objects.
    pub fn har_pages(&self) -> Vec<Value> {
        self.meta
            .lock()
            .unwrap()
            .pages
            .iter()
            .map(|p| {
                json!({
                    "startedDateTime": har::time::format_ms(p.started_ms),
                    "id": p.id,
                    "title": p.title,
                    "pageTimings": {},
                })
            })
            .collect()
    }

    /// What a download needs: the journal path, the bytes of whole records now (a
    /// snapshot; `None` for a journal nobody writes), pages and a comment.
    pub fn har_source(&self) -> (PathBuf, Option<u64>, Vec<Value>, Option<String>) {
        let limit = self.journal.lock().unwrap().as_ref().map(|j| j.bytes());
        let m = self.meta();
        let comment = match m.state {
            State::Interrupted => Some(format!(
                "job {} was interrupted: the service stopped while it was running",
                m.id
            )),
            _ => None,
        };
        (self.paths().1, limit, self.har_pages(), comment)
    }

    /// Add a page; later requests get its id as `pageref`.
    pub fn add_page(&self, id: Option<String>, title: Option<String>) -> Result<Page, ServeError> {
        let mut m = self.meta.lock().unwrap();
        let id = id.unwrap_or_else(|| format!("page_{}", m.pages.len() + 1));
        let page = Page {
            title: title.unwrap_or_else(|| id.clone()),
            id,
            started_ms: now_ms(),
        };
        let mut next = m.clone();
        next.pages.push(page.clone());
        self.save(&next)?;
        *m = next;
        Ok(page)
    }

    /// Change the rules (validated and compiled first; nothing changes on error).
    pub fn update(&self, f: impl FnOnce(&mut Meta)) -> Result<Result<(), String>, ServeError> {
        let mut m = self.meta.lock().unwrap();
        let mut next = m.clone();
        f(&mut next);
        let rules = match Rules::from_meta(&next) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        self.save(&next)?;
        *m = next;
        *self.rules.write().unwrap() = rules;
        Ok(Ok(()))
    }

    /// BrowserMob's "new HAR": a fresh journal and first page, new capture options;
    /// returns the previous HAR (if one was being recorded).
    pub fn new_har(&self, capture: Capture, page: Page) -> Result<Option<Vec<u8>>, ServeError> {
        let (path, _, pages, _) = self.har_source();
        let mut j = self.journal.lock().unwrap();
        let was = self.meta.lock().unwrap().recording;
        let previous = if was {
            let limit = j.as_ref().map(|j| j.bytes());
            Some(store::write_har(&path, limit, pages, None, har::Style::Compact, Vec::new())?.1)
        } else {
            None
        };
        *j = Some(Journal::create(&path)?);
        let mut m = self.meta.lock().unwrap();
        let mut next = m.clone();
        next.recording = true;
        next.capture = capture;
        next.pages = vec![page];
        next.error = None;
        self.save(&next)?;
        *m = next;
        Ok(previous)
    }

    /// Stop the proxy (the port is released), wait for exchanges in flight, close the
    /// journal. `state` is `Stopped` or `Interrupted`.
    pub async fn stop(&self, state: State) -> Result<(), ServeError> {
        let hosted = self.proxy.lock().unwrap().take();
        if let Some(h) = hosted {
            h.stop(Duration::from_secs(2)).await;
        }
        let journal = self.journal.lock().unwrap().take();
        let mut m = self.meta.lock().unwrap();
        if m.state != State::Running {
            return Ok(());
        }
        let mut next = m.clone();
        if let Some(j) = &journal {
            next.entries = j.count();
            if let Err(e) = j.sync() {
                next.error.get_or_insert(e.to_string());
            }
        }
        next.state = state;
        next.stopped = Some(har::time::format_ms(now_ms()));
        self.save(&next)?;
        *m = next;
        Ok(())
    }
}

fn save_meta(dir: &Path, m: &Meta) -> Result<(), ServeError> {
    use std::io::Write;
    let tmp = dir.join("job.json.tmp");
    let dest = dir.join("job.json");
    let bytes = serde_json::to_vec_pretty(m).expect("meta serialises");
    let mut f = std::fs::File::create(&tmp).map_err(ServeError::io(&tmp))?;
    let w = f.write_all(&bytes).and_then(|_| f.sync_data());
    if let Err(e) = w {
        let _ = std::fs::remove_file(&tmp);
        return Err(ServeError::io(&tmp)(e));
    }
    std::fs::rename(&tmp, &dest).map_err(ServeError::io(&dest))
}

/// What `POST /v1/jobs` (or `POST /proxy`) asks for.
#[derive(Clone, Debug, Default)]
pub struct NewJob {
    pub name: String,
    pub tags: Vec<String>,
    pub kind: &'static str,
    pub capture: Capture,
    pub recording: bool,
    pub scope: Vec<String>,
    pub blacklist: Vec<BlacklistRule>,
    pub whitelist: Option<Whitelist>,
    pub headers: BTreeMap<String, String>,
    pub latency_ms: u64,
    pub upstream_kbps: u64,
    pub downstream_kbps: u64,
    /// Port for the proxy (0: any free port).
    pub port: u16,
}

/// Why a job could not be made.
#[derive(Debug)]
pub enum CreateError {
    /// The request is wrong (bad regex, port taken): 400/409.
    Invalid(String),
    PortTaken(String),
    Serve(ServeError),
}

impl From<ServeError> for CreateError {
    fn from(e: ServeError) -> Self {
        CreateError::Serve(e)
    }
}

/// The web viewer (crates/view) a job's HAR can be opened in: its library and address.
pub struct ViewHook {
    pub lib: Arc<view::Library>,
    /// The jobs, as the viewer's page lists them (shared by every listener of the viewer).
    pub catalog: Arc<dyn view::Catalog>,
    /// e.g. `http://127.0.0.1:7172`
    pub base: String,
}

pub struct Service {
    pub opts: Options,
    pub view: std::sync::OnceLock<ViewHook>,
    /// The shared proxy port (`--shared-proxy`), where `Proxy-Authorization: Basic
    /// base64(JOBID:anything)` (`JOBID:TOKEN` when the service has a token) says which
    /// job a request belongs to.
    pub shared_addr: std::sync::OnceLock<SocketAddr>,
    shared: Mutex<Option<record::Hosted>>,
    ca: Arc<record::ca::Ca>,
    tls: record::upstream::Tls,
    jobs: Mutex<BTreeMap<String, Arc<Job>>>,
    /// BrowserMob proxy port → job id.
    bmp: Mutex<BTreeMap<u16, String>>,
}

impl Service {
    /// Load the CA and the jobs in the data directory (a job that was running is marked
    /// interrupted, its journal kept as it is).
    pub fn open(opts: Options) -> Result<Service, ServeError> {
        let jobs_dir = opts.data.join("jobs");
        std::fs::create_dir_all(&jobs_dir).map_err(ServeError::io(&jobs_dir))?;
        let ca = Arc::new(record::ca::Ca::load_or_create(&opts.ca_dir)?);
        let tls = record::upstream::tls_config(&opts.upstream_ca, opts.insecure_upstream)?;
        let mut jobs = BTreeMap::new();
        let rd = std::fs::read_dir(&jobs_dir).map_err(ServeError::io(&jobs_dir))?;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !crate::valid_id(&name) {
                continue;
            }
            let dir = e.path();
            let Ok(bytes) = std::fs::read(dir.join("job.json")) else {
                continue; // a job whose creation did not finish
            };
            let Ok(mut m) = serde_json::from_slice::<Meta>(&bytes) else {
                continue;
            };
            if m.id != name {
                continue;
            }
            let journal = dir.join("journal");
            if m.state == State::Running {
                m.state = State::Interrupted;
                m.stopped = Some(har::time::format_ms(now_ms()));
                m.entries = store::scan(&journal, None)
                    .map(|(_, s)| s.entries)
                    .unwrap_or(0);
                save_meta(&dir, &m)?;
            }
            let rules = Rules::from_meta(&m).unwrap_or_default();
            jobs.insert(
                name.clone(),
                Arc::new(Job {
                    id: name,
                    dir,
                    meta: Mutex::new(m),
                    rules: RwLock::new(rules),
                    journal: Mutex::new(None),
                    proxy: Mutex::new(None),
                    lost: AtomicU64::new(0),
                }),
            );
        }
        // Snapshots opened in the viewer by an earlier run.
        let _ = std::fs::remove_dir_all(opts.data.join("tmp"));
        Ok(Service {
            view: std::sync::OnceLock::new(),
            shared_addr: std::sync::OnceLock::new(),
            shared: Mutex::new(None),
            opts,
            ca,
            tls,
            jobs: Mutex::new(jobs),
            bmp: Mutex::new(BTreeMap::new()),
        })
    }

    /// Write a snapshot of the job's HAR and add it to the viewer's library; returns the
    /// viewer's URL of it. Blocking (writes the HAR).
    pub fn open_in_viewer(&self, job: &Job) -> Result<Option<String>, ServeError> {
        let Some(v) = self.view.get() else {
            return Ok(None);
        };
        let id = self.snapshot_into(job, &v.lib)?;
        Ok(Some(format!("{}/#file={id}", v.base)))
    }

    /// Write the job's HAR as far as it has come to a file under `tmp/view/` and add it
    /// to `lib`; returns its id there.
    pub fn snapshot_into(&self, job: &Job, lib: &view::Library) -> Result<usize, ServeError> {
        Ok(lib.add(self.snapshot(job)?))
    }

    /// Write the job's HAR as far as it has come to a file under `tmp/view/` and index it.
    pub fn snapshot(&self, job: &Job) -> Result<Arc<view::Index>, ServeError> {
        let dir = self
            .opts
            .data
            .join("tmp")
            .join("view")
            .join(crate::random_id(12));
        std::fs::create_dir_all(&dir).map_err(ServeError::io(&dir))?;
        let m = job.meta();
        let name: String = m
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let file = dir.join(format!(
            "{}{}{}.har",
            name,
            if name.is_empty() { "" } else { "-" },
            m.id
        ));
        let (path, limit, pages, comment) = job.har_source();
        let out = std::fs::File::create(&file).map_err(ServeError::io(&file))?;
        let (_, mut w) = store::write_har(
            &path,
            limit,
            pages,
            comment,
            har::Style::Compact,
            std::io::BufWriter::new(out),
        )?;
        std::io::Write::flush(&mut w).map_err(ServeError::Stream)?;
        let p = file.to_string_lossy().into_owned();
        let shown = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.clone());
        view::Index::open_named(&p, &shown, 2).map_err(|e| ServeError::Listen(e.to_string()))
    }

    pub fn job(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap().get(id).cloned()
    }

    pub fn jobs(&self) -> Vec<Arc<Job>> {
        self.jobs.lock().unwrap().values().cloned().collect()
    }

    pub fn bmp_job(&self, port: u16) -> Option<Arc<Job>> {
        let id = self.bmp.lock().unwrap().get(&port).cloned()?;
        self.job(&id)
    }

    pub fn bmp_ports(&self) -> Vec<u16> {
        self.bmp.lock().unwrap().keys().copied().collect()
    }

    /// Make a job: its directory, `job.json`, journal and proxy. Must be called inside
    /// the Tokio runtime.
    pub fn create(&self, n: NewJob) -> Result<Arc<Job>, CreateError> {
        let created_ms = now_ms();
        let mut meta = Meta {
            id: String::new(),
            name: n.name,
            tags: n.tags,
            kind: n.kind.into(),
            created: har::time::format_ms(created_ms),
            created_ms,
            state: State::Running,
            stopped: None,
            proxy: None,
            capture: n.capture,
            recording: n.recording,
            scope: n.scope,
            blacklist: n.blacklist,
            whitelist: n.whitelist,
            headers: n.headers,
            latency_ms: n.latency_ms,
            upstream_kbps: n.upstream_kbps,
            downstream_kbps: n.downstream_kbps,
            pages: Vec::new(),
            error: None,
            entries: 0,
        };
        let rules = Rules::from_meta(&meta).map_err(CreateError::Invalid)?;
        let bind = SocketAddr::new(self.opts.listen.ip(), n.port);
        let listener = std::net::TcpListener::bind(bind)
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(|e| CreateError::PortTaken(format!("cannot listen on {bind}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CreateError::PortTaken(e.to_string()))?;
        meta.proxy = Some(addr.to_string());
        let jobs_dir = self.opts.data.join("jobs");
        let (id, dir) = loop {
            let id = crate::random_id(12);
            let dir = jobs_dir.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => break (id, dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(ServeError::io(&dir)(e).into()),
            }
        };
        meta.id = id.clone();
        let made = (|| -> Result<Journal, ServeError> {
            let j = Journal::create(&dir.join("journal"))?;
            save_meta(&dir, &meta)?;
            Ok(j)
        })();
        let journal = match made {
            Ok(j) => j,
            Err(e) => {
                // Never leave half a job behind.
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e.into());
            }
        };
        let job = Arc::new(Job {
            id: id.clone(),
            dir,
            meta: Mutex::new(meta),
            rules: RwLock::new(rules),
            journal: Mutex::new(Some(journal)),
            proxy: Mutex::new(None),
            lost: AtomicU64::new(0),
        });
        let cfg = record::Config {
            listen: addr,
            ca_dir: self.opts.ca_dir.clone(),
            upstream_ca: self.opts.upstream_ca.clone(),
            insecure_upstream: self.opts.insecure_upstream,
            passthrough: Vec::new(),
            max_body: job
                .meta()
                .capture
                .max_body_bytes
                .unwrap_or(self.opts.max_body),
            upstream_timeout: self.opts.upstream_timeout,
        };
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| CreateError::PortTaken(e.to_string()))?;
        let policy: Arc<dyn record::Policy> = Arc::new(JobPolicy {
            job: Arc::downgrade(&job),
            token: self.opts.token.as_deref().map(record::ProxyToken::new),
        });
        let hosted = record::spawn_proxy(
            listener,
            cfg,
            self.ca.clone(),
            &self.tls,
            job.sink(),
            Some(policy),
        );
        *job.proxy.lock().unwrap() = Some(hosted);
        self.jobs.lock().unwrap().insert(id, job.clone());
        if n.kind == "browsermob" {
            self.bmp.lock().unwrap().insert(addr.port(), job.id.clone());
        }
        Ok(job)
    }

    /// Stop a BrowserMob proxy (the job and its HAR stay).
    pub async fn close_bmp(&self, port: u16) -> Result<bool, ServeError> {
        let id = self.bmp.lock().unwrap().remove(&port);
        let Some(job) = id.and_then(|id| self.job(&id)) else {
            return Ok(false);
        };
        job.stop(State::Stopped).await?;
        Ok(true)
    }

    /// Stop a job and delete its directory.
    pub async fn delete(&self, id: &str) -> Result<bool, ServeError> {
        let Some(job) = self.job(id) else {
            return Ok(false);
        };
        job.stop(State::Stopped).await?;
        self.bmp.lock().unwrap().retain(|_, j| j != id);
        std::fs::remove_dir_all(&job.dir).map_err(ServeError::io(&job.dir))?;
        self.jobs.lock().unwrap().remove(id);
        Ok(true)
    }

    /// Serve the shared proxy port on `listener`: each request (or CONNECT tunnel) must
    /// name a running job as the user of `Proxy-Authorization: Basic` (with the service's
    /// token as password, if it has one), else 407.
    pub fn start_shared(
        self: &Arc<Self>,
        listener: std::net::TcpListener,
    ) -> Result<SocketAddr, ServeError> {
        let addr = listener
            .local_addr()
            .map_err(|e| ServeError::Listen(e.to_string()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ServeError::Listen(e.to_string()))?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| ServeError::Listen(e.to_string()))?;
        let weak = Arc::downgrade(self);
        let sink: record::Sink = Arc::new(move |ex: Exchange| {
            let Some(svc) = weak.upgrade() else { return };
            let Some(job) = ex.tag.as_deref().and_then(|t| svc.job(t)) else {
                return;
            };
            if job.state() == State::Running {
                job.record(ex);
            }
        });
        let cfg = record::Config {
            listen: addr,
            ca_dir: self.opts.ca_dir.clone(),
            upstream_ca: self.opts.upstream_ca.clone(),
            insecure_upstream: self.opts.insecure_upstream,
            passthrough: Vec::new(),
            max_body: self.opts.max_body,
            upstream_timeout: self.opts.upstream_timeout,
        };
        let policy: Arc<dyn record::Policy> = Arc::new(SharedPolicy(Arc::downgrade(self)));
        let hosted = record::spawn_proxy(
            listener,
            cfg,
            self.ca.clone(),
            &self.tls,
            sink,
            Some(policy),
        );
        *self.shared.lock().unwrap() = Some(hosted);
        let _ = self.shared_addr.set(addr);
        Ok(addr)
    }

    /// The running job named by a `Proxy-Authorization: Basic` header (whose password
    /// must be the service's token, if it has one).
    fn job_of(&self, headers: &HeaderMap) -> Option<Arc<Job>> {
        record::basic_credentials(headers).find_map(|(user, password)| {
            let token_ok = self
                .opts
                .token
                .as_ref()
                .is_none_or(|t| har::http::same_secret(password.as_bytes(), t.as_bytes()));
            if !token_ok || !crate::valid_id(&user) {
                return None;
            }
            self.job(&user).filter(|j| j.state() == State::Running)
        })
    }

    /// Stop every running job (service shutdown): they are marked interrupted.
    pub async fn shutdown(&self) {
        let shared = self.shared.lock().unwrap().take();
        if let Some(h) = shared {
            h.stop(Duration::from_secs(2)).await;
        }
        for job in self.jobs() {
            if job.state() == State::Running {
                let _ = job.stop(State::Interrupted).await;
            }
        }
    }

    /// Delete stopped jobs older than `--max-age`, then the oldest stopped jobs while all
    /// jobs together are over `--max-size`. Returns the ids deleted.
    pub async fn enforce_retention(&self) -> Vec<String> {
        let mut deleted = Vec::new();
        let now = now_ms();
        let mut jobs: Vec<(f64, u64, String, State)> = self
            .jobs()
            .iter()
            .map(|j| {
                let m = j.meta();
                (m.created_ms, j.bytes(), m.id, m.state)
            })
            .collect();
        jobs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut total: u64 = jobs.iter().map(|j| j.1).sum();
        for (created, bytes, id, state) in jobs {
            if state == State::Running {
                continue;
            }
            let too_old = self
                .opts
                .max_age
                .is_some_and(|age| now - created > age.as_secs_f64() * 1000.0);
            let too_big = self.opts.max_size.is_some_and(|max| total > max);
            if (too_old || too_big) && self.delete(&id).await.unwrap_or(false) {
                total -= bytes;
                deleted.push(id);
            }
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_options_strip_what_is_not_kept() {
        let entry = json!({
            "request": {"headers": [{"name": "a", "value": "b"}], "cookies": [{"name": "c", "value": "d"}],
                        "postData": {"mimeType": "text/plain", "text": "hi"}},
            "response": {"headers": [{"name": "a", "value": "b"}], "cookies": [],
                         "content": {"size": 3, "mimeType": "image/png", "text": "AAAA", "encoding": "base64"}}
        });
        let mut e = entry.clone();
        Capture::default().apply(&mut e);
        assert_eq!(e, entry, "everything kept by default");
        let mut e = entry.clone();
        Capture {
            binary_content: false,
            ..Capture::default()
        }
        .apply(&mut e);
        assert!(e["response"]["content"].get("text").is_none());
        assert_eq!(e["request"]["postData"]["text"], "hi");
        let mut e = entry.clone();
        Capture::browsermob().apply(&mut e);
        assert_eq!(e["request"]["headers"], json!([]));
        assert_eq!(e["request"]["cookies"], json!([]));
        assert!(e["request"]["postData"].get("text").is_none());
        assert_eq!(e["response"]["content"]["size"], 3);
        assert_eq!(e["response"]["content"]["mimeType"], "image/png");
    }
}
