//! Search every field of every entry: the URL, header names and values, cookies, query
//! and form parameters, request and response bodies (base64 and `Content-Encoding`
//! undone with [`har::http::decode_content`]). A search streams over the file on its own
//! thread (entries parsed on workers, as the index is built), publishing the matching
//! entries as they are found; the table filters on them (`search=` in a rows query) and
//! the page shows them arriving. Memory: the hits (an entry number and a field mask
//! each), bounded by the index.
//!
//! A plain-text search reads only the entries whose JSON could hold the text: those
//! where it appears as written, those with base64 bodies, and (when the text has a
//! character JSON writers escape) those with escapes. A regex search parses every entry.

use crate::index::Index;
use regex::Regex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// Bodies are decoded up to this size for searching.
pub const MAX_DECODED: u64 = 64 << 20;
/// Searches kept per file (the newest).
const KEEP: usize = 4;

/// The fields a hit was found in (a bit each, in this order).
pub const FIELDS: [&str; 8] = [
    "url",
    "request header",
    "response header",
    "cookie",
    "query",
    "form",
    "request body",
    "response body",
];

/// What to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle {
    pub text: String,
    pub regex: bool,
}

/// One search over one file, running or finished.
#[derive(Debug)]
pub struct Search {
    pub needle: Needle,
    /// Matching entries in file order, with their field masks.
    hits: RwLock<Vec<(u32, u16)>>,
    done: AtomicBool,
    cancelled: AtomicBool,
    watchers: AtomicUsize,
    scanned: AtomicU64,
    error: Mutex<Option<String>>,
    started: Instant,
    /// Milliseconds to the first hit and to the end.
    first_ms: Mutex<Option<f64>>,
    total_ms: Mutex<Option<f64>>,
}

/// How far a search has come.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Progress {
    pub count: usize,
    pub scanned: u64,
    pub done: bool,
    pub cancelled: bool,
    pub error: Option<String>,
    #[serde(rename = "firstMs")]
    pub first_ms: Option<f64>,
    pub ms: Option<f64>,
}

impl Search {
    pub fn progress(&self) -> Progress {
        Progress {
            count: self.hits.read().unwrap().len(),
            scanned: self.scanned.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Acquire),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            error: self.error.lock().unwrap().clone(),
            first_ms: *self.first_ms.lock().unwrap(),
            ms: *self.total_ms.lock().unwrap(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Hits from position `from` on.
    pub fn hits_from(&self, from: usize) -> Vec<(u32, u16)> {
        let h = self.hits.read().unwrap();
        h.get(from..).map_or(Vec::new(), <[_]>::to_vec)
    }

    /// The matching entries so far (sorted).
    pub fn entries(&self) -> Vec<u32> {
        self.hits.read().unwrap().iter().map(|h| h.0).collect()
    }

    pub fn len(&self) -> usize {
        self.hits.read().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stop the search (it keeps what it found).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Someone follows the search; when the last [`Watch`] goes before the end, the
    /// search stops.
    pub fn watch(self: &Arc<Search>) -> Watch {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        Watch(self.clone())
    }
}

/// A follower of a [`Search`] (the page's open stream).
pub struct Watch(pub Arc<Search>);

impl Drop for Watch {
    fn drop(&mut self) {
        if self.0.watchers.fetch_sub(1, Ordering::Relaxed) == 1 && !self.0.is_done() {
            self.0.cancel();
        }
    }
}

/// The field mask names of `mask`.
pub fn field_names(mask: u16) -> Vec<&'static str> {
    FIELDS
        .iter()
        .enumerate()
        .filter(|(k, _)| mask & (1 << k) != 0)
        .map(|(_, n)| *n)
        .collect()
}

struct Matcher {
    re: Regex,
    /// For a plain text: the text on the raw JSON, and whether escapes may hide it.
    pre: Option<(regex::bytes::Regex, bool)>,
}

impl Matcher {
    fn new(n: &Needle) -> Result<Matcher, String> {
        let pattern = if n.regex {
            n.text.clone()
        } else {
            regex::escape(&n.text)
        };
        let re = regex::RegexBuilder::new(&pattern)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("bad regex: {e}"))?;
        let pre = if n.regex {
            None
        } else {
            let b = regex::bytes::RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .build()
                .map_err(|e| e.to_string())?;
            let escapable = n
                .text
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || " -_.:,;=+!@#$%()[]{}|~'`*?^".contains(c)));
            Some((b, escapable))
        };
        Ok(Matcher { re, pre })
    }

    /// Whether the entry's JSON may hold a match at all.
    fn may_match(&self, raw: &[u8]) -> bool {
        match &self.pre {
            None => true,
            Some((b, escapable)) => {
                b.is_match(raw)
                    || memchr::memmem::find(raw, b"base64").is_some()
                    || (*escapable && memchr::memchr(b'\\', raw).is_some())
            }
        }
    }

    /// The fields of the entry that match (a mask over [`FIELDS`]).
    fn fields(&self, raw: &har::RawEntry<'_>) -> Result<u16, har::ReadError> {
        if !self.may_match(raw.bytes) {
            return Ok(0);
        }
        let tree = raw.parse_lite()?;
        let v = har::EntryView(har::Obj::of(Some(&tree)));
        let m = |s: &str| self.re.is_match(s);
        let nv = |n: har::NameValues<'_, _>| n.iter().any(|(a, b)| m(a) || m(b));
        let req = v.request();
        let resp = v.response();
        let mut mask = 0u16;
        let mut set = |k: usize, yes: bool| {
            if yes {
                mask |= 1 << k
            }
        };
        set(0, req.url().is_some_and(m));
        set(1, nv(req.headers()));
        set(2, nv(resp.headers()));
        set(
            3,
            req.cookies()
                .chain(resp.cookies())
                .any(|c| c.name().is_some_and(m) || c.value().is_some_and(m)),
        );
        set(4, nv(req.query_string()));
        let pd = req.post_data();
        set(5, pd.as_ref().is_some_and(|p| nv(p.params())));
        set(6, pd.as_ref().and_then(|p| p.text()).is_some_and(m));
        let content = resp.content();
        if let Some(text) = content.text() {
            let found = if content.is_base64() {
                let bytes = har::http::base64_bytes(text).unwrap_or_default();
                let enc = resp.headers().get("content-encoding").unwrap_or("");
                let bytes = match har::http::decode_content(enc, &bytes, MAX_DECODED) {
                    Ok(d) if !enc.trim().is_empty() => d,
                    _ => bytes,
                };
                m(&String::from_utf8_lossy(&bytes))
            } else {
                m(text)
            };
            set(7, found);
        }
        Ok(mask)
    }
}

enum Stop {
    Read(har::ReadError),
    Cancelled,
}

impl From<har::ReadError> for Stop {
    fn from(e: har::ReadError) -> Stop {
        Stop::Read(e)
    }
}

impl Index {
    /// The search for `needle`: the one running or finished (unless it was cancelled),
    /// or a new one started on its own thread.
    pub fn search(self: &Arc<Index>, needle: &Needle) -> Result<Arc<Search>, crate::ViewError> {
        let mut list = self.searches.lock().unwrap();
        if let Some(s) = list
            .iter()
            .find(|s| s.needle == *needle && !s.cancelled.load(Ordering::Relaxed))
        {
            return Ok(s.clone());
        }
        let matcher = Matcher::new(needle).map_err(crate::ViewError::BadQuery)?;
        let search = Arc::new(Search {
            needle: needle.clone(),
            hits: RwLock::new(Vec::new()),
            done: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
            watchers: AtomicUsize::new(0),
            scanned: AtomicU64::new(0),
            error: Mutex::new(None),
            started: Instant::now(),
            first_ms: Mutex::new(None),
            total_ms: Mutex::new(None),
        });
        list.retain(|s| !s.cancelled.load(Ordering::Relaxed));
        list.push(search.clone());
        while list.len() > KEEP {
            list.remove(0);
        }
        let s = search.clone();
        let path = self.path().to_path_buf();
        let name = self.name.clone();
        std::thread::Builder::new()
            .name("hark-view-search".into())
            .spawn(move || run(&s, &path, &name, matcher))
            .map_err(|e| crate::ViewError::Index(format!("cannot start a search: {e}")))?;
        Ok(search)
    }

    /// The search for `needle` if there is one (running or finished).
    pub fn find_search(&self, needle: &Needle) -> Option<Arc<Search>> {
        self.searches
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.needle == *needle)
            .cloned()
    }
}

fn run(s: &Search, path: &std::path::Path, name: &str, matcher: Matcher) {
    let result = (|| -> Result<(), Stop> {
        let source = har::Source::open(&path.to_string_lossy())?;
        let reader = har::HarReader::new(source)?;
        let matcher = Arc::new(matcher);
        let threads = har::default_threads();
        har::fold(
            reader,
            threads,
            move |raw| Ok((raw.index as u32, matcher.fields(&raw)?)),
            |(i, mask): (u32, u16)| {
                if s.cancelled.load(Ordering::Relaxed) {
                    return Err(Stop::Cancelled);
                }
                s.scanned.fetch_add(1, Ordering::Relaxed);
                if mask != 0 {
                    let mut h = s.hits.write().unwrap();
                    if h.is_empty() {
                        *s.first_ms.lock().unwrap() =
                            Some(s.started.elapsed().as_secs_f64() * 1000.0);
                    }
                    h.push((i, mask));
                }
                Ok(())
            },
        )?;
        Ok(())
    })();
    if let Err(Stop::Read(e)) = result {
        *s.error.lock().unwrap() = Some(format!("{name}: {e}"));
    }
    *s.total_ms.lock().unwrap() = Some(s.started.elapsed().as_secs_f64() * 1000.0);
    s.done.store(true, Ordering::Release);
}
