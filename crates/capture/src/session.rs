//! A capture from start to journal: connect (starting the browser or attaching to one),
//! auto-attach to every target with flattened sessions, follow the Network and Page
//! domains, append each finished request to the journal, and stop on the signal, on idle,
//! or when the browser goes away.

use crate::browser::{self, Browser, LaunchOptions};
use crate::cdp::{self, CallError, Cdp, Event};
use crate::network::{Request, Socket};
use crate::CaptureError;
use record::journal::JournalWriter;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where the browser comes from.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start one (fresh profile) and open `url` in its first tab.
    Launch {
        options: LaunchOptions,
        url: Option<String>,
    },
    /// Attach to a running one: `http://HOST:PORT` (its `--remote-debugging-port`) or
    /// the `ws://` URL of the browser.
    Connect(String),
}

/// What to capture, and where to.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    /// Keep the browser's cache (by default it is disabled, as DevTools' *Disable cache*).
    pub cache: bool,
    /// Stop once no request has been in flight for this long (after the first one).
    pub until_idle: Option<Duration>,
    /// The journal; the pages go beside it ([`pages_path`]).
    pub journal: PathBuf,
}

/// Where the capture is, once it is connected.
#[derive(Debug, Clone)]
pub struct Started {
    /// The browser's DevTools WebSocket.
    pub endpoint: String,
    /// `Chrome/131.0…` as the browser names itself.
    pub product: String,
}

/// What a capture did.
#[derive(Debug, Clone)]
pub struct Captured {
    pub entries: u64,
    pub pages: usize,
    /// Requests still without a response when the capture stopped (not written).
    pub unfinished: usize,
    pub product: String,
    /// Why it stopped.
    pub stopped: Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Signal,
    Idle,
    BrowserGone,
}

/// The pages of a capture, beside its journal: `JOURNAL.pages` (a JSON array, replaced
/// whenever a page starts or is timed, before an entry names it).
pub use record::journal::pages_path;

struct Sess {
    kind: String,
    target_id: String,
    parent: Option<String>,
    page: Option<usize>,
}

struct Page {
    wall_ms: f64,
    start_ts: f64,
    title: String,
    main: String,
    on_content_load: f64,
    on_load: f64,
}

/// A body (and request body) fetched for a finished request.
struct Fetched {
    key: String,
    body: Option<Value>,
    post: Option<String>,
    /// Whether it was fetched (counted in `State::fetching`).
    fetched: bool,
}

struct State {
    cdp: Arc<Cdp>,
    sessions: HashMap<String, Sess>,
    reqs: HashMap<String, Request>,
    stash_req: HashMap<String, Vec<Value>>,
    stash_resp: HashMap<String, Vec<Value>>,
    sockets: HashMap<String, Socket>,
    pages: Vec<Page>,
    pages_path: PathBuf,
    journal: JournalWriter,
    observer: Option<record::Observer>,
    fetching: usize,
    fetched: mpsc::UnboundedSender<Fetched>,
    last_activity: Instant,
    /// epoch seconds − monotonic seconds, from the latest `requestWillBeSent`.
    wall_offset: f64,
    cache: bool,
    navigate: Option<String>,
    error: Option<CaptureError>,
}

/// Run a capture until `stop` resolves, idle, or the browser goes; the journal is then
/// complete (turn it into the HAR with [`crate::finish`]). `started` is called once
/// connected. Builds its own (single-threaded) Tokio runtime.
pub fn run(
    opts: Options,
    started: impl FnOnce(&Started),
    stop: impl std::future::Future<Output = ()>,
    observer: Option<record::Observer>,
) -> Result<Captured, CaptureError> {
    if let Err(record::RecordError::JournalExists { path }) =
        record::check_journal_free(&opts.journal)
    {
        return Err(CaptureError::JournalExists { path });
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CaptureError::Runtime)?;
    rt.block_on(capture(opts, started, stop, observer))
}

async fn capture(
    opts: Options,
    started: impl FnOnce(&Started),
    stop: impl std::future::Future<Output = ()>,
    observer: Option<record::Observer>,
) -> Result<Captured, CaptureError> {
    let (ws_url, mut product, browser, navigate): (String, String, Option<Browser>, _) =
        match &opts.target {
            Target::Launch { options, url } => {
                let b = browser::launch(options).await?;
                (b.ws_url.clone(), String::new(), Some(b), url.clone())
            }
            Target::Connect(endpoint) => {
                let (ws, product) =
                    cdp::discover(endpoint)
                        .await
                        .map_err(|detail| CaptureError::NotAnswering {
                            url: endpoint.clone(),
                            detail,
                        })?;
                (ws, product, None, None)
            }
        };
    let (cdp, mut events) =
        cdp::connect(&ws_url)
            .await
            .map_err(|detail| CaptureError::WebSocket {
                url: ws_url.clone(),
                detail,
            })?;
    if let Ok(v) = cdp.call(None, "Browser.getVersion", json!({})).await {
        if let Some(p) = v.get("product").and_then(Value::as_str) {
            product = p.to_string();
        }
    }
    let pages_path = pages_path(&opts.journal);
    let journal = JournalWriter::create(&opts.journal)?;
    let (fetched_tx, mut fetched_rx) = mpsc::unbounded_channel();
    let mut st = State {
        cdp: cdp.clone(),
        sessions: HashMap::new(),
        reqs: HashMap::new(),
        stash_req: HashMap::new(),
        stash_resp: HashMap::new(),
        sockets: HashMap::new(),
        pages: Vec::new(),
        pages_path,
        journal,
        observer,
        fetching: 0,
        fetched: fetched_tx,
        last_activity: Instant::now(),
        wall_offset: f64::NAN,
        cache: opts.cache,
        navigate,
        error: None,
    };
    st.save_pages()?;
    // Every page, and (through each page's own auto-attach) every iframe and worker.
    let auto = json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true});
    if let Err(e) = cdp.call(None, "Target.setAutoAttach", auto).await {
        return Err(match e {
            CallError::Protocol {
                code: -32601,
                message,
            } => CaptureError::TooOld {
                product,
                method: "Target.setAutoAttach (flatten)".into(),
                message,
            },
            e => CaptureError::Protocol {
                method: "Target.setAutoAttach".into(),
                message: e.to_string(),
            },
        });
    }
    started(&Started {
        endpoint: ws_url.clone(),
        product: product.clone(),
    });
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let stopped;
    loop {
        tokio::select! {
            _ = &mut stop => { stopped = Stop::Signal; break; }
            ev = events.recv() => match ev {
                Some(ev) => st.event(ev),
                None => { stopped = Stop::BrowserGone; break; }
            },
            Some(f) = fetched_rx.recv() => st.done(f),
            _ = tick.tick() => {
                if let Some(d) = opts.until_idle {
                    if st.journal.count() > 0 && st.reqs.is_empty() && st.fetching == 0
                        && st.last_activity.elapsed() >= d {
                        stopped = Stop::Idle;
                        break;
                    }
                }
            }
        }
        if let Some(e) = st.error.take() {
            return Err(e);
        }
    }
    // Bodies being fetched are waited for (a little); events keep coming meanwhile.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while st.fetching > 0 {
        tokio::select! {
            Some(f) = fetched_rx.recv() => st.done(f),
            Some(ev) = events.recv() => st.event(ev),
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    // Open WebSockets are recorded as they are; requests with a response but no end
    // (a stream still open) too, without a body.
    let sockets: Vec<_> = st.sockets.drain().map(|(_, s)| s).collect();
    for s in sockets.iter().filter(|s| s.response.is_some()) {
        let (start, e) = s.entry();
        st.append(start, e);
    }
    let open: Vec<String> = st.reqs.keys().cloned().collect();
    let mut unfinished = 0;
    for k in open {
        let req = st.reqs.remove(&k).expect("a key of the map");
        if req.has_response() {
            for (start, e) in req.entries(None, None) {
                st.append(start, e);
            }
        } else {
            unfinished += 1;
        }
    }
    st.journal.sync()?;
    if let Some(e) = st.error.take() {
        return Err(e);
    }
    if let Some(b) = browser {
        if stopped != Stop::BrowserGone {
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                cdp.call(None, "Browser.close", json!({})),
            )
            .await;
        }
        b.close(Duration::from_secs(5)).await;
    }
    Ok(Captured {
        entries: st.journal.count(),
        pages: st.pages.len(),
        unfinished,
        product,
        stopped,
    })
}

fn key(session: &Option<String>, p: &Value) -> String {
    format!(
        "{}|{}",
        session.as_deref().unwrap_or(""),
        p.get("requestId").and_then(Value::as_str).unwrap_or("")
    )
}

impl State {
    fn event(&mut self, ev: Event) {
        let Event {
            method,
            params: p,
            session,
        } = ev;
        if method.starts_with("Network.") {
            self.last_activity = Instant::now();
        }
        let k = key(&session, &p);
        let ts = p.get("timestamp").and_then(Value::as_f64).unwrap_or(-1.0);
        match method.as_str() {
            "Target.attachedToTarget" => self.attached(session, &p),
            "Network.requestWillBeSent" => self.request(session, k, &p),
            "Network.requestWillBeSentExtraInfo" => match self.reqs.get_mut(&k) {
                Some(r) => r.req_extra.push(p),
                None => self.stash_req.entry(k).or_default().push(p),
            },
            "Network.responseReceivedExtraInfo" => match self.reqs.get_mut(&k) {
                Some(r) => r.resp_extra.push(p),
                None => self.stash_resp.entry(k).or_default().push(p),
            },
            "Network.responseReceived" => {
                if let Some(r) = self.reqs.get_mut(&k) {
                    r.response(&p);
                }
                if let Some(page) = self.pages.iter_mut().rev().find(|pg| pg.main == k) {
                    if let Some(u) = p.pointer("/response/url").and_then(Value::as_str) {
                        page.title = u.to_string();
                    }
                }
            }
            "Network.dataReceived" => {
                if let Some(r) = self.reqs.get_mut(&k) {
                    r.data_len += p.get("dataLength").and_then(Value::as_u64).unwrap_or(0);
                }
            }
            "Network.requestServedFromCache" => {
                if let Some(r) = self.reqs.get_mut(&k) {
                    r.from_memory = true;
                }
            }
            "Network.resourceChangedPriority" => {
                if let (Some(r), Some(np)) = (
                    self.reqs.get_mut(&k),
                    p.get("newPriority").and_then(Value::as_str),
                ) {
                    r.priority = np.to_string();
                }
            }
            "Network.eventSourceMessageReceived" => {
                let time = self.wall(ts);
                if let Some(r) = self.reqs.get_mut(&k) {
                    r.sse.push(json!({
                        "time": time, "eventName": p.get("eventName"),
                        "eventId": p.get("eventId"), "data": p.get("data"),
                    }));
                }
            }
            "Network.loadingFinished" => {
                if let Some(r) = self.reqs.get_mut(&k) {
                    r.finished(&p);
                    self.fetch(session, k, &p);
                }
            }
            "Network.loadingFailed" => {
                if let Some(r) = self.reqs.get_mut(&k) {
                    r.failed(&p);
                    // Failed after its response came (aborted mid-stream): what the
                    // browser kept of the body is fetched too.
                    if r.has_response() {
                        self.fetch(session, k, &p);
                        return;
                    }
                    self.done(Fetched {
                        key: k,
                        body: None,
                        post: None,
                        fetched: false,
                    });
                }
            }
            "Network.webSocketCreated" => {
                let page = self.page_of(session.as_deref());
                self.sockets.insert(
                    k,
                    Socket {
                        page,
                        url: p.get("url").and_then(Value::as_str).unwrap_or("").into(),
                        initiator: p.get("initiator").cloned().unwrap_or(Value::Null),
                        ts: -1.0,
                        wall: self.wall(self.now_ts()),
                        request: None,
                        response: None,
                        response_ts: -1.0,
                        messages: Vec::new(),
                    },
                );
            }
            "Network.webSocketWillSendHandshakeRequest" => {
                if let Some(s) = self.sockets.get_mut(&k) {
                    s.ts = ts;
                    s.wall = p.get("wallTime").and_then(Value::as_f64).unwrap_or(s.wall);
                    s.request = p.get("request").cloned();
                }
            }
            "Network.webSocketHandshakeResponseReceived" => {
                if let Some(s) = self.sockets.get_mut(&k) {
                    s.response_ts = ts;
                    s.response = p.get("response").cloned();
                }
            }
            "Network.webSocketFrameSent" | "Network.webSocketFrameReceived" => {
                let time = self.wall(ts);
                if let Some(s) = self.sockets.get_mut(&k) {
                    let r = p.get("response").cloned().unwrap_or(Value::Null);
                    s.messages.push(json!({
                        "type": if method.ends_with("Sent") { "send" } else { "receive" },
                        "time": time,
                        "opcode": r.get("opcode"),
                        "data": r.get("payloadData"),
                    }));
                }
            }
            "Network.webSocketClosed" => {
                // The handshake's extra-info events had no request to go with.
                self.stash_req.remove(&k);
                self.stash_resp.remove(&k);
                if let Some(s) = self.sockets.remove(&k) {
                    let (start, e) = s.entry();
                    self.append(start, e);
                }
            }
            "Page.domContentEventFired" | "Page.loadEventFired" => {
                let load = method == "Page.loadEventFired";
                if let Some(i) = session
                    .as_deref()
                    .and_then(|s| self.sessions.get(s))
                    .and_then(|s| s.page)
                {
                    let pg = &mut self.pages[i];
                    let ms = ((ts - pg.start_ts) * 1000.0 * 1000.0).round() / 1000.0;
                    if load {
                        pg.on_load = ms;
                    } else {
                        pg.on_content_load = ms;
                    }
                    if let Err(e) = self.save_pages() {
                        self.error.get_or_insert(e);
                    }
                }
            }
            _ => {}
        }
    }

    /// Monotonic seconds as epoch seconds.
    fn wall(&self, ts: f64) -> f64 {
        if self.wall_offset.is_nan() {
            now_epoch()
        } else {
            ts + self.wall_offset
        }
    }

    fn now_ts(&self) -> f64 {
        if self.wall_offset.is_nan() {
            -1.0
        } else {
            now_epoch() - self.wall_offset
        }
    }

    fn attached(&mut self, parent: Option<String>, p: &Value) {
        let Some(sid) = p.get("sessionId").and_then(Value::as_str) else {
            return;
        };
        let info = p.get("targetInfo").cloned().unwrap_or(Value::Null);
        let kind = info
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        self.sessions.insert(
            sid.to_string(),
            Sess {
                kind: kind.clone(),
                target_id: info
                    .get("targetId")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
                parent,
                page: None,
            },
        );
        let navigate = if kind == "page" {
            self.navigate.take()
        } else {
            None
        };
        let cdp = self.cdp.clone();
        let sid = sid.to_string();
        let cache = self.cache;
        tokio::spawn(async move {
            let s = Some(sid.as_str());
            let network = matches!(
                kind.as_str(),
                "page" | "iframe" | "worker" | "shared_worker" | "service_worker"
            );
            if network {
                let _ = cdp
                    .call(
                        s,
                        "Network.enable",
                        json!({"maxTotalBufferSize": 256 << 20, "maxResourceBufferSize": 64 << 20,
                               "maxPostDataSize": 16 << 20}),
                    )
                    .await;
                if !cache {
                    let _ = cdp
                        .call(
                            s,
                            "Network.setCacheDisabled",
                            json!({"cacheDisabled": true}),
                        )
                        .await;
                }
            }
            if matches!(kind.as_str(), "page" | "iframe") {
                let _ = cdp.call(s, "Page.enable", json!({})).await;
            }
            if network {
                let _ = cdp
                    .call(
                        s,
                        "Target.setAutoAttach",
                        json!({"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true}),
                    )
                    .await;
            }
            let _ = cdp
                .call(s, "Runtime.runIfWaitingForDebugger", json!({}))
                .await;
            if let Some(url) = navigate {
                let _ = cdp.call(s, "Page.navigate", json!({"url": url})).await;
            }
        });
    }

    /// The page a request of `session` belongs to: its own, else its parent's.
    fn page_of<'a>(&'a self, mut session: Option<&'a str>) -> Option<String> {
        while let Some(s) = session.and_then(|s| self.sessions.get(s)) {
            if let Some(p) = s.page {
                return Some(page_id(p));
            }
            session = s.parent.as_deref();
        }
        None
    }

    fn request(&mut self, session: Option<String>, k: String, p: &Value) {
        let ts = p.get("timestamp").and_then(Value::as_f64).unwrap_or(-1.0);
        if let Some(w) = p.get("wallTime").and_then(Value::as_f64) {
            self.wall_offset = w - ts;
        }
        if p.get("redirectResponse").is_some() {
            if let Some(r) = self.reqs.get_mut(&k) {
                r.redirect(p);
                return;
            }
        }
        let rid = p.get("requestId").and_then(Value::as_str).unwrap_or("");
        let is_nav = p.get("type").and_then(Value::as_str) == Some("Document")
            && p.get("loaderId").and_then(Value::as_str) == Some(rid);
        if let Some(s) = session.as_deref().and_then(|s| self.sessions.get_mut(s)) {
            let main = p.get("frameId").and_then(Value::as_str) == Some(s.target_id.as_str());
            if is_nav && main && s.kind == "page" {
                s.page = Some(self.pages.len());
                self.pages.push(Page {
                    wall_ms: self.wall(ts) * 1000.0,
                    start_ts: ts,
                    title: p
                        .pointer("/request/url")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    main: k.clone(),
                    on_content_load: -1.0,
                    on_load: -1.0,
                });
                if let Err(e) = self.save_pages() {
                    self.error.get_or_insert(e);
                }
            }
        }
        let page = self.page_of(session.as_deref());
        let mut r = Request::new(p, page);
        if let Some(x) = self.stash_req.remove(&k) {
            r.req_extra = x;
        }
        if let Some(x) = self.stash_resp.remove(&k) {
            r.resp_extra = x;
        }
        self.reqs.insert(k, r);
    }

    /// Fetch the body (and the request body when the event did not carry it) of a
    /// request that ended; its entries are written when they come ([`State::done`]).
    fn fetch(&mut self, session: Option<String>, k: String, p: &Value) {
        let Some(r) = self.reqs.get(&k) else {
            return;
        };
        let want_post = r.hops.last().is_some_and(|h| {
            h.request.get("hasPostData").and_then(Value::as_bool) == Some(true)
                && h.request.get("postData").is_none()
        });
        let rid = p
            .get("requestId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let cdp = self.cdp.clone();
        let tx = self.fetched.clone();
        self.fetching += 1;
        tokio::spawn(async move {
            let s = session.as_deref();
            let body = cdp
                .call(s, "Network.getResponseBody", json!({"requestId": rid}))
                .await
                .ok();
            let post = if want_post {
                cdp.call(s, "Network.getRequestPostData", json!({"requestId": rid}))
                    .await
                    .ok()
                    .and_then(|v| v.get("postData").and_then(Value::as_str).map(String::from))
            } else {
                None
            };
            let _ = tx.send(Fetched {
                key: k,
                body,
                post,
                fetched: true,
            });
        });
    }

    /// A request is over (its body fetched, or it failed): its entries go to the journal.
    fn done(&mut self, f: Fetched) {
        if f.fetched {
            self.fetching -= 1;
        }
        let Some(r) = self.reqs.remove(&f.key) else {
            return;
        };
        for (start, e) in r.entries(f.body.as_ref(), f.post.as_deref()) {
            self.append(start, e);
        }
    }

    fn append(&mut self, start_us: u64, e: Value) {
        let json = serde_json::to_vec(&e).expect("an entry serialises");
        let ok = match self.journal.append(start_us, &json) {
            Ok(()) => true,
            Err(err) => {
                self.error.get_or_insert(err.into());
                false
            }
        };
        if let Some(o) = &self.observer {
            o(event_of(&e, start_us, ok));
        }
    }

    fn save_pages(&self) -> Result<(), CaptureError> {
        let pages: Vec<Value> = self
            .pages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "startedDateTime": har::time::format_ms(p.wall_ms),
                    "id": page_id(i),
                    "title": p.title,
                    "pageTimings": {"onContentLoad": p.on_content_load, "onLoad": p.on_load},
                })
            })
            .collect();
        let tmp = self.pages_path.with_extension("pages.tmp");
        let io = |source| CaptureError::Io {
            path: self.pages_path.clone(),
            source,
        };
        std::fs::write(&tmp, serde_json::to_vec(&pages).expect("pages serialise")).map_err(io)?;
        std::fs::rename(&tmp, &self.pages_path).map_err(io)
    }
}

fn page_id(i: usize) -> String {
    format!("page_{}", i + 1)
}

fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The live log's view of an entry.
fn event_of(e: &Value, start_us: u64, recorded: bool) -> record::Event {
    let s = |p: &str| e.pointer(p).and_then(Value::as_str).unwrap_or("");
    let status = e
        .pointer("/response/status")
        .and_then(Value::as_u64)
        .unwrap_or(0) as u16;
    let error = e
        .pointer("/response/_error")
        .and_then(Value::as_str)
        .map(String::from);
    record::Event {
        start_ms: start_us as f64 / 1000.0,
        method: s("/request/method").to_string(),
        url: s("/request/url").to_string(),
        status: if error.is_some() { 0 } else { status },
        bytes: e
            .pointer("/response/_transferSize")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        time_ms: e.get("time").and_then(Value::as_f64).unwrap_or(0.0),
        http_version: match s("/response/httpVersion") {
            "HTTP/2" => "h2",
            "HTTP/3" => "h3",
            "HTTP/1.0" => "HTTP/1.0",
            "" => "",
            _ => "HTTP/1.1",
        },
        error,
        recorded,
    }
}
