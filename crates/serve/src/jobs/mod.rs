//! Jobs: each one a hosted recording proxy with its own journal, pages, capture options
//! and per-request rules, and a `job.json` (written with temp + rename) that lets the
//! service come back with its jobs after a restart.
//!
//! [`meta`] (what `job.json` keeps), [`rules`] (the per-request policy), [`service`] (the
//! jobs together); a [`Job`] itself here.

mod meta;
mod rules;
mod service;

pub use meta::{BlacklistRule, Capture, Kind, Meta, Page, State, Whitelist};
pub use service::{CreateError, NewJob, Service, ViewHook};

use crate::{now_ms, ServeError};
use meta::save_meta;
use record::entry::Exchange;
use record::journal::JournalWriter;
use rules::Rules;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub struct Job {
    pub id: String,
    dir: PathBuf,
    meta: Mutex<Meta>,
    rules: RwLock<Rules>,
    journal: Mutex<Option<JournalWriter>>,
    proxy: Mutex<Option<record::Hosted>>,
    /// Exchanges that could not be written (disk full, ...).
    lost: AtomicU64,
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

    /// Entries recorded and bytes of the journal, now.
    pub fn totals(&self) -> (u64, u64) {
        let m = self.meta();
        self.counts(&m)
    }

    pub fn bytes(&self) -> u64 {
        self.totals().1
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
            let page =
                record::marks::current(&m.pages, |p| p.started_ms, start_ms).map(|p| p.id.clone());
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
            Some(
                record::journal::write_har(
                    &path,
                    limit,
                    pages,
                    None,
                    har::Style::Compact,
                    Vec::new(),
                )?
                .1,
            )
        } else {
            None
        };
        *j = Some(JournalWriter::create(&path)?);
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
        next.recording = false;
        next.stopped = Some(har::time::format_ms(now_ms()));
        self.save(&next)?;
        *m = next;
        Ok(())
    }
}
