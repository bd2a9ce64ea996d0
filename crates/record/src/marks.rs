//! Page markers: pages named while recording, by the person or the test script
//! (`hark record --page NAME`, then `POST /pages` to the proxy's own address). A marker
//! starts a page at the moment it is made. Once a recording has one, its pages are its
//! markers (instead of a page per navigation, [`crate::pages`]), and each entry belongs to
//! the page current when it started ([`current`]; entries before the first marker to the
//! first page, as the capture service does).
//!
//! Markers are kept beside the journal in `JOURNAL.pages` ([`crate::journal::pages_path`],
//! a JSON array of HAR `page` objects, replaced whole before the marker is confirmed), so
//! a crash keeps them as it keeps the entries.

use crate::RecordError;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The markers of one recording.
pub struct Marks {
    path: PathBuf,
    pages: Mutex<Vec<Value>>,
    observer: Option<Observer>,
}

/// Called with each new marker (its HAR `page` object), for a live log; it must be quick.
pub type Observer = std::sync::Arc<dyn Fn(&Value) + Send + Sync>;

/// Why a marker was not made.
#[derive(Debug, thiserror::Error)]
pub enum MarkError {
    #[error("a page with id {0:?} exists")]
    Duplicate(String),
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] RecordError),
}

impl Marks {
    /// The markers of the recording whose journal is `journal` (a new recording: a file
    /// of markers left beside a journal that had no records is removed).
    pub fn create(journal: &Path) -> Result<Marks, RecordError> {
        let path = crate::journal::pages_path(journal);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(RecordError::io(&path)(e))
            }
            _ => {}
        }
        Ok(Marks {
            path,
            pages: Mutex::default(),
            observer: None,
        })
    }

    /// Call `f` with every new marker.
    pub fn on_add(&mut self, f: Observer) {
        self.observer = Some(f);
    }

    /// Start a page now, titled `title` (default: its id), with id `id` (default
    /// `page_N`). Returns the HAR `page` object.
    pub fn add(&self, title: Option<&str>, id: Option<&str>) -> Result<Value, MarkError> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0);
        self.add_at(now_ms, title, id)
    }

    fn add_at(&self, ms: f64, title: Option<&str>, id: Option<&str>) -> Result<Value, MarkError> {
        if title.is_some_and(|t| t.len() > 1000) || id.is_some_and(|i| i.len() > 200) {
            return Err(MarkError::Invalid(
                "a page title is at most 1000 bytes and an id 200",
            ));
        }
        if id.is_some_and(|i| i.trim().is_empty()) {
            return Err(MarkError::Invalid("a page id may not be empty"));
        }
        let mut pages = self.pages.lock().unwrap();
        let id = match id {
            Some(i) => i.to_string(),
            None => {
                // `page_N`, past any id a caller chose.
                let mut n = pages.len() + 1;
                while pages.iter().any(|p| p["id"] == format!("page_{n}")) {
                    n += 1;
                }
                format!("page_{n}")
            }
        };
        if pages.iter().any(|p| p["id"] == id.as_str()) {
            return Err(MarkError::Duplicate(id));
        }
        let page = json!({
            "startedDateTime": har::time::format_ms(ms),
            "id": id,
            "title": title.map(str::trim).filter(|t| !t.is_empty()).unwrap_or(&id),
            "pageTimings": {},
        });
        let mut next = pages.clone();
        next.push(page.clone());
        self.save(&next)?;
        *pages = next;
        if let Some(f) = &self.observer {
            f(&page);
        }
        Ok(page)
    }

    /// The markers so far, as HAR `page` objects.
    pub fn list(&self) -> Vec<Value> {
        self.pages.lock().unwrap().clone()
    }

    fn save(&self, pages: &[Value]) -> Result<(), RecordError> {
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let bytes = serde_json::to_vec(pages).expect("pages serialise");
        std::fs::write(&tmp, bytes).map_err(RecordError::io(&tmp))?;
        std::fs::rename(&tmp, &self.path).map_err(RecordError::io(&self.path))
    }
}

/// The page current at `t` (epoch ms): the last of `pages` (in start order) started at or
/// before it, else the first.
pub fn current<T>(pages: &[T], started_ms: impl Fn(&T) -> f64, t: f64) -> Option<&T> {
    pages
        .iter()
        .rev()
        .find(|p| started_ms(p) <= t)
        .or(pages.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_numbered_kept_and_found_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("out.har.journal");
        std::fs::write(crate::journal::pages_path(&j), b"[{\"id\":\"stale\"}]").unwrap();
        let m = Marks::create(&j).unwrap();
        assert!(
            crate::journal::read_pages(&j).is_empty(),
            "a stale file is removed"
        );
        m.add_at(1000.0, Some(" Sign in "), None).unwrap();
        m.add_at(2000.0, None, Some("checkout")).unwrap();
        m.add_at(3000.0, Some("Pay"), None).unwrap();
        assert!(matches!(
            m.add_at(4000.0, None, Some("checkout")),
            Err(MarkError::Duplicate(_))
        ));
        let kept = crate::journal::read_pages(&j);
        assert_eq!(kept, m.list());
        let ids: Vec<_> = kept.iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["page_1", "checkout", "page_3"]);
        assert_eq!(kept[0]["title"], "Sign in");
        assert_eq!(kept[1]["title"], "checkout");
        let at = |t| {
            current(
                &kept,
                |p| har::time::parse_ms(p["startedDateTime"].as_str().unwrap()).unwrap(),
                t,
            )
            .map(|p| p["id"].as_str().unwrap())
        };
        assert_eq!(at(500.0), Some("page_1"));
        assert_eq!(at(2000.0), Some("checkout"));
        assert_eq!(at(2999.9), Some("checkout"));
        assert_eq!(at(9000.0), Some("page_3"));
        assert_eq!(current::<Value>(&[], |_| 0.0, 1.0), None);
    }
}
