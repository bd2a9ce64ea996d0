//! `hark-view`: the web HAR viewer.
//!
//! [`Index`] reads a HAR once, on a background thread, keeping per entry only its byte
//! offset and length in the file and a few summary fields ([`index::Row`]); details are
//! read back from the file on demand. [`Library`] holds any number of indexed files
//! (`hark view` has one or several, a capture service would add its jobs' files), and
//! [`server::router`] serves the viewer and its JSON API over a library.
//!
//! The web assets (plain ES modules and CSS in `web/`) are embedded in the binary: no
//! build step, nothing loaded from the network.

pub mod compare;
pub mod details;
pub mod findings;
pub mod index;
pub mod query;
pub mod search;
pub mod server;

pub use index::{Index, Kind, Row};
pub use query::{Item, Matched, Query};
pub use server::{
    bind, router, router_with, serve, url_for, Catalog, CatalogItem, Config, HostCheck, CSP,
    DEFAULT_HEADER_TIMEOUT, DEFAULT_PORT,
};

use std::sync::{Arc, RwLock};

/// Why a file cannot be viewed. The message is complete in itself (file, place, cause):
/// no source chain, so that `{:#}` does not repeat the cause.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("{0}")]
    Read(har::ReadError),
    #[error("{file}: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{0}")]
    Index(String),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        error: std::io::Error,
    },
    #[error("{0}")]
    BadQuery(String),
    #[error("no entry {0}")]
    NoEntry(usize),
    #[error("no file {0}")]
    NoFile(usize),
    #[error("{0}")]
    NoItem(String),
    /// An upload refused or failed, with the HTTP status to answer.
    #[error("{1}")]
    Upload(axum::http::StatusCode, String),
}

impl From<har::ReadError> for ViewError {
    fn from(e: har::ReadError) -> ViewError {
        ViewError::Read(e)
    }
}

/// The files a viewer shows, by id (their order of addition).
#[derive(Default, Debug)]
pub struct Library {
    files: RwLock<Vec<Arc<Index>>>,
}

impl Library {
    pub fn new() -> Library {
        Library::default()
    }
    /// Add an indexed (or indexing) file; returns its id.
    pub fn add(&self, idx: Arc<Index>) -> usize {
        let mut f = self.files.write().unwrap();
        f.push(idx);
        f.len() - 1
    }
    /// Put `idx` in place of file `id` (a newer snapshot of the same capture); false when
    /// there is no such file.
    pub fn replace(&self, id: usize, idx: Arc<Index>) -> bool {
        let mut f = self.files.write().unwrap();
        match f.get_mut(id) {
            Some(slot) => {
                *slot = idx;
                true
            }
            None => false,
        }
    }
    pub fn get(&self, id: usize) -> Option<Arc<Index>> {
        self.files.read().unwrap().get(id).cloned()
    }
    pub fn files(&self) -> Vec<Arc<Index>> {
        self.files.read().unwrap().clone()
    }
}
