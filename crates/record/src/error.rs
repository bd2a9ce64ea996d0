//! Typed errors of the recorder. The library never prints and never exits.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("certificate authority in {dir}: {msg}")]
    Ca { dir: PathBuf, msg: String },
    #[error("{path}: no certificate found in the file")]
    NoCertificate { path: PathBuf },
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("{path}: not a hark journal (bad magic)")]
    NotJournal { path: PathBuf },
    /// Writing a HAR to a stream (an HTTP response, a buffer) failed.
    #[error("writing the HAR: {0}")]
    Write(#[source] io::Error),
    #[error(transparent)]
    Output(#[from] har::OutputError),
    /// A journal with records is where a new one would go (left by a crash?).
    #[error(
        "{} exists (left by a crash?): turn it into a HAR with `hark record --recover {} -o FILE`, \
         or delete it, or give another --journal",
        path.display(),
        path.display()
    )]
    JournalExists { path: PathBuf },
    /// A page marker could not be made (`--page`).
    #[error("page marker: {0}")]
    Page(String),
    #[error("starting the runtime")]
    Runtime(#[source] io::Error),
}

impl RecordError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> RecordError {
        let path = path.into();
        move |source| RecordError::Io { path, source }
    }
}
