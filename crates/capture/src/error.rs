//! Typed errors of a capture. The library never prints and never exits.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// No Chromium-family browser where one was looked for.
    #[error(
        "no Chromium-family browser found (looked for {}); give one with --browser PATH \
         (or chrome, chromium, edge, brave), or attach to a running one with --connect",
        looked.join(", ")
    )]
    NoBrowser { looked: Vec<String> },
    #[error("starting {}: {source}", path.display())]
    Launch {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The browser started but never said where its DevTools endpoint is.
    #[error("{} did not open its DevTools endpoint: {detail}", path.display())]
    NoEndpoint { path: PathBuf, detail: String },
    /// Nothing (or no DevTools endpoint) answers at the address given to --connect.
    #[error(
        "{url}: {detail} (start the browser with --remote-debugging-port=PORT and give \
         --connect http://127.0.0.1:PORT)"
    )]
    NotAnswering { url: String, detail: String },
    #[error("the DevTools WebSocket {url}: {detail}")]
    WebSocket { url: String, detail: String },
    /// The browser does not know a method capture needs.
    #[error("{product} is too old for hark capture: it does not support {method} ({message}); use a current Chrome, Chromium, Edge or Brave")]
    TooOld {
        product: String,
        method: String,
        message: String,
    },
    #[error("DevTools {method}: {message}")]
    Protocol { method: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A journal with records is where a new one would go (left by a crash?).
    #[error(
        "{} exists (left by a crash?): turn it into a HAR with `hark capture --recover {} -o FILE`, \
         or delete it, or give another --journal",
        path.display(),
        path.display()
    )]
    JournalExists { path: PathBuf },
    #[error(transparent)]
    Record(#[from] record::RecordError),
    #[error("starting the runtime")]
    Runtime(#[source] std::io::Error),
}
