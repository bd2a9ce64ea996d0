//! The one-pass index of a HAR file: per entry, its place in the file (byte offset and
//! length) and the few summary fields the request table shows, sorts and filters on.
//! Bodies are never kept: details are read back from the file on demand
//! ([`Index::entry_bytes`]).
//!
//! Indexing runs on a background thread and publishes rows in batches, so the first
//! rows of a 1 GB file can be shown while the rest is still being read.

use crate::ViewError;
use har::{EntryView, Obj};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// Resource types as the viewer's filter names them (DevTools' groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    Document,
    Xhr,
    Script,
    Stylesheet,
    Image,
    Font,
    Media,
    WebSocket,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Document,
        Kind::Xhr,
        Kind::Script,
        Kind::Stylesheet,
        Kind::Image,
        Kind::Font,
        Kind::Media,
        Kind::WebSocket,
        Kind::Other,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Kind::Document => "document",
            Kind::Xhr => "xhr",
            Kind::Script => "script",
            Kind::Stylesheet => "stylesheet",
            Kind::Image => "image",
            Kind::Font => "font",
            Kind::Media => "media",
            Kind::WebSocket => "websocket",
            Kind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s).or(match s {
            "fetch" => Some(Kind::Xhr),
            "css" => Some(Kind::Stylesheet),
            "js" => Some(Kind::Script),
            "ws" => Some(Kind::WebSocket),
            "doc" => Some(Kind::Document),
            "img" => Some(Kind::Image),
            _ => None,
        })
    }
    /// From Chrome's `_resourceType` (or hark's guess from the MIME type).
    fn of_resource_type(t: &str) -> Kind {
        match t {
            "document" => Kind::Document,
            "xhr" | "fetch" | "eventsource" | "preflight" => Kind::Xhr,
            "script" => Kind::Script,
            "stylesheet" => Kind::Stylesheet,
            "image" => Kind::Image,
            "font" => Kind::Font,
            "media" | "texttrack" => Kind::Media,
            "websocket" => Kind::WebSocket,
            _ => Kind::Other,
        }
    }
}

pub const FLAG_FAILED: u8 = 1;
pub const FLAG_BLOCKED: u8 = 2;

/// What the index keeps of one entry (about 100 bytes plus the URL).
#[derive(Clone, Debug)]
pub struct Row {
    /// Byte offset of the entry's `{` in the (uncompressed) file.
    pub offset: u64,
    /// Length of the entry's JSON in bytes.
    pub len: u32,
    pub status: i32,
    /// `startedDateTime` in ms since the epoch (NaN when missing or unreadable).
    pub start: f64,
    pub time: f32,
    /// blocked, dns, connect, ssl, send, wait, receive (negative: did not happen).
    pub timings: [f32; 7],
    /// Bytes on the wire, -1 when unknown.
    pub transferred: i64,
    /// `content.size`, -1 when unknown.
    pub decoded: i64,
    pub method: u32,
    pub domain: u32,
    pub mime: u32,
    /// Index into [`State::page_ids`], `u32::MAX` without a pageref.
    pub page: u32,
    pub kind: Kind,
    pub flags: u8,
    /// The resource type as DevTools (and `hark summary`) names it
    /// ([`har::http::resource_type`]), interned in [`State::types`].
    pub rtype: u32,
    /// Who started the request (Chrome's `_initiator`, in short), in [`State::initiators`].
    pub initiator: u32,
    /// Chrome's `_priority` (`VeryHigh` … `VeryLow`), in [`State::priorities`].
    pub priority: u32,
    pub url: Box<str>,
    /// Why it failed (`net::ERR_…`), when it did.
    pub error: Option<Box<str>>,
}

impl Row {
    pub fn failed(&self) -> bool {
        self.flags & FLAG_FAILED != 0
    }
    pub fn blocked(&self) -> bool {
        self.flags & FLAG_BLOCKED != 0
    }
    /// 4xx/5xx, failed or blocked.
    pub fn is_error(&self) -> bool {
        self.status >= 400 || self.failed() || self.blocked()
    }
    pub fn end(&self) -> f64 {
        self.start + (self.time.max(0.0) as f64)
    }
    /// The URL after the host: path, query and fragment.
    pub fn path(&self) -> &str {
        let u = &self.url[..];
        let rest = match u.find("://") {
            Some(i) => &u[i + 3..],
            None => return u,
        };
        match rest.find(['/', '?', '#']) {
            Some(j) => &rest[j..],
            None => "/",
        }
    }
}

/// Strings seen many times (methods, domains, MIME types, page ids), stored once.
#[derive(Default, Debug)]
pub struct Strings {
    map: HashMap<Box<str>, u32>,
    list: Vec<Box<str>>,
}

impl Strings {
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.into());
        self.map.insert(s.into(), i);
        i
    }
    pub fn get(&self, i: u32) -> &str {
        self.list.get(i as usize).map_or("", |s| s)
    }
    pub fn find(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A page of the HAR (`log.pages[]`), with its timings.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PageInfo {
    pub id: String,
    pub title: String,
    /// ms since the epoch.
    pub start: Option<f64>,
    #[serde(rename = "onContentLoad")]
    pub on_content_load: Option<f64>,
    #[serde(rename = "onLoad")]
    pub on_load: Option<f64>,
}

/// Everything the index knows, behind one lock.
#[derive(Default, Debug)]
pub struct State {
    pub rows: Vec<Row>,
    pub methods: Strings,
    pub domains: Strings,
    pub mimes: Strings,
    /// Page ids in the order met (from `log.pages` first, then entries' pagerefs).
    pub page_ids: Strings,
    pub types: Strings,
    pub initiators: Strings,
    pub priorities: Strings,
    pub pages: Vec<PageInfo>,
    pub done: bool,
    pub error: Option<String>,
    pub creator: String,
    /// Seconds the indexing took, once done.
    pub seconds: Option<f64>,
}

/// One indexed HAR file.
pub struct Index {
    pub name: String,
    path: PathBuf,
    /// Keeps a spooled copy (stdin, gzip) alive as long as the index.
    spool: Mutex<Option<tempfile::TempPath>>,
    pub file_size: u64,
    pub state: RwLock<State>,
    pub(crate) cache: Mutex<Option<crate::query::Cached>>,
    /// `diagnose`'s findings and flows, once the pass after indexing has run.
    pub findings: RwLock<crate::findings::Findings>,
    /// Recent searches over the file's entries ([`crate::search`]).
    pub(crate) searches: Mutex<Vec<Arc<crate::search::Search>>>,
    bytes_read: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("name", &self.name).finish()
    }
}

/// Summary fields computed on a worker thread (no interning yet).
struct Pre {
    offset: u64,
    len: u32,
    status: i32,
    start: f64,
    time: f32,
    timings: [f32; 7],
    transferred: i64,
    decoded: i64,
    method: String,
    domain: String,
    mime: String,
    page: Option<String>,
    kind: Kind,
    flags: u8,
    rtype: String,
    initiator: String,
    priority: String,
    url: Box<str>,
    error: Option<Box<str>>,
}

/// URLs longer than this are cut in the index (the details pane shows the whole URL).
pub const MAX_URL: usize = 4096;

pub fn host_of(url: &str) -> &str {
    let Some(i) = url.find("://") else {
        return "";
    };
    let rest = &url[i + 3..];
    let auth = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    host
}

fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn pre(raw: &har::RawEntry<'_>) -> Result<Pre, har::ReadError> {
    let tree = raw.parse_lite()?;
    let v = EntryView(Obj::of(Some(&tree)));
    let req = v.request();
    let resp = v.response();
    let url = req.url().unwrap_or("");
    let t = v.timings();
    let ph = |x: Option<f64>| x.map_or(-1.0, |x| x as f32);
    let failure = har::http::failure(v);
    let mut flags = 0;
    if let Some(f) = &failure {
        flags |= FLAG_FAILED;
        if f.to_ascii_uppercase().contains("BLOCKED") {
            flags |= FLAG_BLOCKED;
        }
    }
    if v.fields().has("_blocked") || resp.0.str("_blockedReason").is_some() {
        flags |= FLAG_BLOCKED;
    }
    let rtype = har::http::resource_type(v);
    let kind = Kind::of_resource_type(&rtype);
    let mime = resp.content().mime_type().unwrap_or("");
    let mime = mime.split(';').next().unwrap_or("").trim();
    Ok(Pre {
        offset: raw.pos.offset,
        len: raw.bytes.len() as u32,
        status: resp
            .status()
            .unwrap_or(0)
            .clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        start: v.started_ms().unwrap_or(f64::NAN),
        time: v.time().map_or(-1.0, |x| x as f32),
        timings: [
            ph(t.blocked),
            ph(t.dns),
            ph(t.connect),
            ph(t.ssl),
            ph(t.send),
            ph(t.wait),
            ph(t.receive),
        ],
        transferred: resp.transfer_size().unwrap_or(-1),
        decoded: resp.content().size().filter(|s| *s >= 0).unwrap_or(-1),
        method: req.method().unwrap_or("").to_string(),
        domain: host_of(url).to_ascii_lowercase(),
        mime: mime.to_ascii_lowercase(),
        page: v.pageref().map(str::to_string),
        kind,
        flags,
        rtype,
        initiator: initiator_short(v.fields().obj("_initiator")),
        priority: v.fields().str("_priority").unwrap_or("").to_string(),
        url: clip(url, MAX_URL).into(),
        error: failure.map(|f| f.into_boxed_str()),
    })
}

/// Chrome's `_initiator` as DevTools' Initiator column shows it: the script or document
/// (its file name and line) that started the request, else its type (`parser`, `other`…).
pub fn initiator_short<J: har::Json>(o: Obj<'_, J>) -> String {
    let frame = o
        .obj("stack")
        .arr("callFrames")
        .first()
        .map(|f| Obj::of(Some(f)));
    let (url, line) = match o.str("url").filter(|u| !u.is_empty()) {
        Some(u) => (Some(u), o.num("lineNumber")),
        None => match frame {
            Some(f) => (f.str("url").filter(|u| !u.is_empty()), f.num("lineNumber")),
            None => (None, None),
        },
    };
    match url {
        Some(u) => {
            let path = u.split(['?', '#']).next().unwrap_or(u);
            let name = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path);
            let name = clip(name, 200);
            match line {
                // Chrome's line numbers count from 0; DevTools shows them from 1.
                Some(l) if l >= 0.0 => format!("{name}:{}", l as u64 + 1),
                _ => name.to_string(),
            }
        }
        None => clip(o.str("type").unwrap_or(""), 40).to_string(),
    }
}

fn page_infos(header: &har::model::Header) -> Vec<PageInfo> {
    header
        .pages()
        .iter()
        .map(|p| {
            let page = har::Page(Obj::of(Some(p)));
            PageInfo {
                id: page.id().unwrap_or("").to_string(),
                title: page.title().unwrap_or("").to_string(),
                start: page.started_date_time().and_then(har::time::parse_ms),
                on_content_load: page.on_content_load().filter(|x| *x >= 0.0),
                on_load: page.on_load().filter(|x| *x >= 0.0),
            }
        })
        .collect()
}

/// Copy standard input or a gzip file to a temporary file that can be seeked; with
/// `max`, refuse (413) once the copy, inflated, would pass `max` bytes.
fn spool(path: &str, max: Option<u64>) -> Result<Option<tempfile::TempPath>, ViewError> {
    let io = |e: std::io::Error| ViewError::Io {
        file: path.to_string(),
        error: e,
    };
    let mut input: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let mut f = File::open(path).map_err(io)?;
        let mut magic = [0u8; 2];
        let n = f.read(&mut magic).map_err(io)?;
        if n < 2 || magic != [0x1f, 0x8b] {
            return Ok(None);
        }
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        Box::new(f)
    };
    // Stdin may be gzip too: peek at its first bytes.
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        let n = input.read(&mut head[got..]).map_err(io)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let chained = std::io::Cursor::new(head[..got].to_vec()).chain(input);
    let reader: Box<dyn Read> = if got == 2 && head == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(chained))
    } else {
        Box::new(chained)
    };
    let mut tmp = tempfile::NamedTempFile::new().map_err(io)?;
    let limit = max.map_or(u64::MAX, |m| m.saturating_add(1));
    let n = std::io::copy(&mut reader.take(limit), tmp.as_file_mut()).map_err(io)?;
    if let Some(m) = max.filter(|m| n > *m) {
        return Err(ViewError::Upload(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the file inflates to more than this viewer accepts ({m} bytes; see --max-upload)"
            ),
        ));
    }
    Ok(Some(tmp.into_temp_path()))
}

impl Index {
    /// Open `path` (`-` for standard input; gzip is uncompressed to a temporary file
    /// first, since the viewer needs to seek), check that it is a HAR, and index it on
    /// a background thread. Returns as soon as the header has been read: rows appear
    /// in [`Index::state`] as they are indexed.
    pub fn open(path: &str, threads: usize) -> Result<Arc<Index>, ViewError> {
        let name = if path == "-" { "<stdin>" } else { path };
        Index::open_named(path, name, threads)
    }

    /// [`Index::open`], with `name` shown (in the viewer and in errors) for the file.
    pub fn open_named(path: &str, name: &str, threads: usize) -> Result<Arc<Index>, ViewError> {
        Index::open_limited(path, name, threads, None)
    }

    /// [`Index::open_named`], refusing a gzip file (or standard input) that inflates
    /// past `max_inflated` bytes (the viewer's upload cap applies to what is indexed,
    /// not to the compressed bytes received).
    pub fn open_limited(
        path: &str,
        name: &str,
        threads: usize,
        max_inflated: Option<u64>,
    ) -> Result<Arc<Index>, ViewError> {
        let spooled = spool(path, max_inflated)?;
        let real: PathBuf = match &spooled {
            Some(t) => t.to_path_buf(),
            None => PathBuf::from(path),
        };
        let source = har::Source::open(&real.to_string_lossy()).map_err(|e| rename(e, name))?;
        let file_size = source.len.unwrap_or(0);
        let bytes_read = source.progress.clone();
        let reader = har::HarReader::new(source).map_err(|e| rename(e, name))?;
        let idx = Arc::new(Index {
            name: name.to_string(),
            path: real,
            spool: Mutex::new(spooled),
            file_size,
            state: RwLock::new(State::default()),
            cache: Mutex::new(None),
            findings: RwLock::new(Default::default()),
            searches: Mutex::new(Vec::new()),
            bytes_read,
        });
        {
            let mut st = idx.state.write().unwrap();
            st.creator = reader.header().producer();
            st.pages = page_infos(reader.header());
            for p in st.pages.clone() {
                st.page_ids.id(&p.id);
            }
        }
        let bg = idx.clone();
        std::thread::Builder::new()
            .name("hark-view-index".into())
            .spawn(move || bg.run(reader, threads))
            .map_err(|e| ViewError::Io {
                file: name.to_string(),
                error: e,
            })?;
        Ok(idx)
    }

    /// Open and index completely before returning (tests, small files).
    pub fn open_blocking(path: &str) -> Result<Arc<Index>, ViewError> {
        let idx = Index::open(path, 1)?;
        idx.wait();
        if let Some(e) = idx.state.read().unwrap().error.clone() {
            return Err(ViewError::Index(e));
        }
        Ok(idx)
    }

    fn run(&self, reader: har::HarReader, threads: usize) {
        let t0 = Instant::now();
        let name: Arc<str> = Arc::from(self.name.as_str());
        let mut batch: Vec<Pre> = Vec::with_capacity(4096);
        let mut last_flush = Instant::now();
        let read = har::fold(
            reader,
            threads,
            |raw| pre(&raw),
            |p| {
                batch.push(p);
                // Publish early and often at first (so the first rows show at once), then
                // in larger batches.
                if batch.len() >= 50_000 || last_flush.elapsed().as_millis() >= 150 {
                    self.publish(&mut batch);
                    last_flush = Instant::now();
                }
                Ok::<(), har::ReadError>(())
            },
        );
        self.publish(&mut batch);
        let (header_pages, error) = match read {
            Ok(r) => (Some(page_infos(r.header())), None),
            Err(e) => (None, Some(rename(e, &name).to_string())),
        };
        let mut st = self.state.write().unwrap();
        if let Some(pages) = header_pages {
            // Pages written after the entries are only known now.
            if pages.len() > st.pages.len() {
                for p in &pages {
                    st.page_ids.id(&p.id);
                }
                st.pages = pages;
            }
        }
        st.error = error;
        st.done = true;
        st.seconds = Some(t0.elapsed().as_secs_f64());
        drop(st);
        // The findings: a second pass, right after the first (the file is in the page
        // cache now), on the same thread.
        let found = crate::findings::analyze(&self.path, &self.name, threads);
        *self.findings.write().unwrap() = found;
    }

    fn publish(&self, batch: &mut Vec<Pre>) {
        if batch.is_empty() {
            return;
        }
        let mut st = self.state.write().unwrap();
        st.rows.reserve(batch.len());
        for p in batch.drain(..) {
            let row = Row {
                offset: p.offset,
                len: p.len,
                status: p.status,
                start: p.start,
                time: p.time,
                timings: p.timings,
                transferred: p.transferred,
                decoded: p.decoded,
                method: st.methods.id(&p.method),
                domain: st.domains.id(&p.domain),
                mime: st.mimes.id(&p.mime),
                page: p.page.as_deref().map_or(u32::MAX, |id| st.page_ids.id(id)),
                kind: p.kind,
                flags: p.flags,
                rtype: st.types.id(&p.rtype),
                initiator: st.initiators.id(&p.initiator),
                priority: st.priorities.id(&p.priority),
                url: p.url,
                error: p.error,
            };
            st.rows.push(row);
        }
    }

    /// Block until the background indexing has finished.
    pub fn wait(&self) {
        loop {
            if self.state.read().unwrap().done {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Bytes of the file read so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The counter behind [`Index::bytes_read`], for a progress bar.
    pub fn progress_counter(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.bytes_read.clone()
    }

    pub fn len(&self) -> usize {
        self.state.read().unwrap().rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The JSON bytes of entry `i`, read back from the file at its offset.
    pub fn entry_bytes(&self, i: usize) -> Result<Vec<u8>, ViewError> {
        let (offset, len) = {
            let st = self.state.read().unwrap();
            let r = st.rows.get(i).ok_or(ViewError::NoEntry(i))?;
            (r.offset, r.len)
        };
        let io = |e| ViewError::Io {
            file: self.name.clone(),
            error: e,
        };
        let mut f = File::open(&self.path).map_err(io)?;
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf).map_err(io)?;
        Ok(buf)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Remove the temporary copy made of standard input or a gzip file, if any (also
    /// done when the index is dropped). Details cannot be read after this.
    pub fn close(&self) {
        drop(self.spool.lock().unwrap().take());
    }
}

/// Name errors after the file the user gave, not the temporary copy.
fn rename(e: har::ReadError, name: &str) -> har::ReadError {
    let file: Arc<str> = Arc::from(name);
    match e {
        har::ReadError::Io { source, .. } => har::ReadError::Io { file, source },
        har::ReadError::Syntax {
            pos, path, message, ..
        } => har::ReadError::Syntax {
            file,
            pos,
            path,
            message,
        },
        har::ReadError::NotHar {
            pos, path, message, ..
        } => har::ReadError::NotHar {
            file,
            pos,
            path,
            message,
        },
    }
}
