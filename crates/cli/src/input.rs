//! Opening inputs: a path, `-` for standard input, or `@example` for the built-in
//! recording.

use anyhow::Result;

/// A login flow (home page, form login, OAuth authorize → callback → token, API calls)
/// recorded with Chromium against the local site in testdata/site.
pub const EXAMPLE: &[u8] = include_bytes!("../../../testdata/har/example-login.chromium.har");
pub const EXAMPLE_NAME: &str = "@example";

/// `--max-entry`: the largest entry (or header field) read, uncompressed; `None`: no limit.
static MAX_ENTRY: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();

/// The default `--max-entry`: far above the entries browsers write, low enough that a
/// decompression bomb stops at ~160 MB of memory (reading one entry takes about 2.5
/// times its size at its peak: the buffer grows by doubling).
pub const DEFAULT_MAX_ENTRY: &str = "64M";

/// Set `--max-entry` (0: no limit), once, before anything is read.
pub fn set_max_entry(bytes: u64) {
    let _ = MAX_ENTRY.set((bytes > 0).then_some(bytes));
}

pub fn max_entry() -> Option<u64> {
    MAX_ENTRY.get().copied().flatten()
}

/// `source` with the `--max-entry` limit when it is gzip-compressed: only there can a few
/// bytes of input become gigabytes of JSON. (A plain file's largest entry is bounded by
/// the file itself, so big plain HARs read as before.)
pub fn limited(source: har::Source) -> har::Source {
    if source.gzip {
        source.max_entry(max_entry())
    } else {
        source
    }
}

pub fn open(name: &str) -> Result<har::Source, har::ReadError> {
    if name == EXAMPLE_NAME {
        return Ok(har::Source::from_bytes(EXAMPLE_NAME, EXAMPLE));
    }
    Ok(limited(har::Source::open(name)?))
}

pub fn reader(name: &str) -> Result<har::HarReader, har::ReadError> {
    har::HarReader::new(open(name)?)
}
