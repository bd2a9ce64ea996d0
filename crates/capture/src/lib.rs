//! `hark-capture`: a HAR from a Chromium-family browser (Chrome, Chromium, Edge, Brave)
//! over the Chrome DevTools Protocol, started by hark or already running. What DevTools
//! would export, with the settings support pages ask for by hand (log preserved, cache
//! disabled, sensitive data kept), written through `hark record`'s crash-safe journal.
//! See docs/capture.md.
//!
//! Modules: [`browser`] (finding and starting one), [`cdp`] (the small CDP client),
//! [`network`] (requests → HAR entries), [`session`] (a capture from start to journal),
//! and [`finish`] (journal + pages → HAR).

pub mod browser;
pub mod cdp;
mod error;
pub mod network;
pub mod session;

pub use error::CaptureError;
pub use session::{pages_path, run, Captured, Options, Started, Stop, Target};

use std::path::Path;

/// Turn a capture's journal (and its pages, beside it) into the HAR at `dest`, entries
/// by start time; written atomically. Also what `--recover` does after a crash.
pub fn finish(
    journal: &Path,
    dest: &str,
    style: har::Style,
) -> Result<record::journal::Scan, CaptureError> {
    let pages = record::journal::read_pages(journal);
    let j = journal.to_string_lossy().into_owned();
    let out = har::Output::create(dest, &[&j]).map_err(record::RecordError::from)?;
    let (scan, out) = record::journal::write_har(journal, None, pages, None, style, out).map_err(
        |e| match e {
            record::RecordError::Write(source) => CaptureError::Io {
                path: dest.into(),
                source,
            },
            e => e.into(),
        },
    )?;
    out.commit().map_err(record::RecordError::from)?;
    Ok(scan)
}

/// Remove a finished capture's journal and pages file.
pub fn remove_journal(journal: &Path) {
    let _ = std::fs::remove_file(journal);
    let _ = std::fs::remove_file(pages_path(journal));
}
