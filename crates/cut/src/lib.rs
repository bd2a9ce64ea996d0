//! `cut` — cut and combine HAR files, streaming: [`filter`] (keep the entries that match,
//! and the pages that still have entries), [`merge()`] (a k-way merge by start time, page
//! ids made unique, each entry's file of origin in `_hark.source`), [`split()`] (by page,
//! host, count or size).
//!
//! Pages are written after the entries (a key order HAR allows), so that which pages to
//! keep is known when they are written: one pass, memory bounded by the pages and a
//! few entries whatever the file's size.

pub mod filter;
pub mod glob;
pub mod merge;
pub mod split;

pub use filter::Filter;
pub use merge::{merge, MergeReport};
pub use split::{split, By, Part};

use har::{Header, Object};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(String),
}

/// `header` with `pages` (all of `pages`, or none before they are known) just after
/// `entries`, the other fields in their places: the header to begin a writer with, and
/// — once the pages to keep are known — to end it with.
pub fn pages_after_entries(header: &Header, pages: Vec<Value>) -> Header {
    let mut before = Object::new();
    let mut after = Object::new();
    for (i, (k, v)) in header.log.iter().enumerate() {
        if k == "pages" {
            continue;
        }
        if i < header.entries_at {
            before.insert(k.clone(), v.clone());
        } else {
            after.insert(k.clone(), v.clone());
        }
    }
    let entries_at = before.len();
    let mut log = before;
    log.insert("pages".into(), Value::Array(pages));
    for (k, v) in after {
        log.insert(k, v);
    }
    Header {
        log,
        entries_at,
        has_entries: true,
        outer: header.outer.clone(),
        log_at: header.log_at,
    }
}

/// The pages of `header` whose id `keep` says to keep, in order.
pub fn pages_where(header: &Header, keep: impl Fn(&str) -> bool) -> Vec<Value> {
    header
        .pages()
        .iter()
        .filter(|p| p.get("id").and_then(Value::as_str).is_some_and(&keep))
        .cloned()
        .collect()
}
