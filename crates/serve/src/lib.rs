//! `hark-serve`: a capture service. Each job is a recording proxy (`hark-record`) on its
//! own port, with its own journal under the data directory, its pages and capture
//! options; its HAR is served over HTTP while it runs, after it stops, and after the
//! service restarts. The BrowserMob Proxy REST API is served on the same port, each
//! BrowserMob proxy being a job. See docs/serve.md.
//!
//! Modules: `jobs` (a job, its `job.json`, its rules; the service of jobs), [`api`] (the
//! HTTP API: `/v1/...` and BrowserMob's `/proxy/...`), [`Launch`] (`hark serve` from start
//! to stop). A job's journal is
//! `hark record`'s ([`record::journal`]).

pub mod api;
mod jobs;
mod launch;

pub use jobs::{Capture, Job, Kind, Service, State, ViewHook};
pub use launch::{default_data_dir, token_for, Launch, Started};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the API listens; proxies bind to the same IP address.
    pub listen: SocketAddr,
    /// The data directory (`jobs/<id>/job.json`, `jobs/<id>/journal`).
    pub data: PathBuf,
    /// Bearer token required on every API call (required when `listen` is not loopback).
    pub token: Option<String>,
    /// Stopped jobs older than this are deleted.
    pub max_age: Option<Duration>,
    /// When all jobs together take more than this many bytes, the oldest stopped ones are deleted.
    pub max_size: Option<u64>,
    pub ca_dir: PathBuf,
    pub upstream_ca: Vec<PathBuf>,
    pub insecure_upstream: bool,
    /// Default body cap per job (a job may set its own).
    pub max_body: usize,
    pub upstream_timeout: Duration,
    /// How long a client of the API, the viewer or a job's proxy may take to send a
    /// request's headers (also how long an idle keep-alive connection stays open).
    pub header_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the HAR: {0}")]
    Stream(#[source] std::io::Error),
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error("sanitize: {0}")]
    Sanitize(#[from] sanitize::Error),
    #[error("{0}")]
    Listen(String),
    /// The operating system gave no randomness for an id or a token.
    #[error("no randomness from the operating system for an id or a token: {0}")]
    Random(String),
    #[error("opening {}", data.display())]
    Open {
        data: PathBuf,
        #[source]
        source: Box<ServeError>,
    },
    /// `what` says which listener (empty for the API's).
    #[error("cannot listen on {addr}{what}")]
    Bind {
        addr: SocketAddr,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("serving the API")]
    Serving(#[source] std::io::Error),
    #[error("starting the runtime")]
    Runtime(#[source] std::io::Error),
}

impl ServeError {
    pub fn io(path: impl AsRef<Path>) -> impl FnOnce(std::io::Error) -> ServeError {
        let path = path.as_ref().to_path_buf();
        move |source| ServeError::Io { path, source }
    }

    fn bind(addr: SocketAddr, what: &'static str) -> impl FnOnce(std::io::Error) -> ServeError {
        move |source| ServeError::Bind { addr, what, source }
    }

    /// The disk (or the quota) is full: the API answers 507.
    pub fn is_disk_full(&self) -> bool {
        let e = match self {
            ServeError::Io { source, .. }
            | ServeError::Stream(source)
            | ServeError::Record(record::RecordError::Io { source, .. })
            | ServeError::Record(record::RecordError::Write(source)) => source,
            _ => return false,
        };
        matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
    }
}

/// `n` random characters from `[a-z0-9]`, from the operating system's randomness
/// (job ids, temporary names, the API token). Fails rather than make a guessable value
/// when the system has none to give.
pub fn random_id(n: usize) -> Result<String, ServeError> {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; n * 2];
    getrandom::getrandom(&mut bytes).map_err(|e| ServeError::Random(e.to_string()))?;
    let mut out = String::with_capacity(n);
    for pair in bytes.chunks(2) {
        // 36 does not divide 65536: reject nothing, the bias (< 0.1%) is harmless for ids.
        let v = u16::from_le_bytes([pair[0], pair[1]]) as usize;
        out.push(ALPHA[v % ALPHA.len()] as char);
    }
    Ok(out)
}

/// Job ids as the service makes them: what a URL may name before the disk is touched.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

pub(crate) fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as f64 / 1000.0)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_reported_as_such() {
        use record::journal::JournalWriter;
        // /dev/full fails every write with ENOSPC: the API answers 507 for it.
        assert!(Path::new("/dev/full").exists(), "/dev/full is needed");
        let e = match JournalWriter::create(Path::new("/dev/full")) {
            Err(e) => ServeError::from(e),
            Ok(_) => panic!("writing to /dev/full succeeded"),
        };
        assert!(e.is_disk_full(), "{e}");
        let other = ServeError::from(
            JournalWriter::create(Path::new("/nonexistent/dir/j"))
                .err()
                .unwrap(),
        );
        assert!(!other.is_disk_full(), "{other}");
    }

    #[test]
    fn ids_are_valid_and_traversal_is_not() {
        for _ in 0..100 {
            assert!(valid_id(&random_id(12).unwrap()));
        }
        for bad in ["", "..", "../x", "a/b", "A", "a.b", "a%2f", &"a".repeat(65)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
