//! Opening inputs: a path, `-` for standard input, or `@example` for the built-in
//! recording.

use anyhow::Result;

/// A login flow (home page, form login, OAuth authorize → callback → token, API calls)
/// recorded with Chromium against the local site in testdata/site.
pub const EXAMPLE: &[u8] = include_bytes!("../../../testdata/har/example-login.chromium.har");
pub const EXAMPLE_NAME: &str = "@example";

pub fn open(name: &str) -> Result<har::Source, har::ReadError> {
    if name == EXAMPLE_NAME {
        return Ok(har::Source::from_bytes(EXAMPLE_NAME, EXAMPLE));
    }
    har::Source::open(name)
}

pub fn reader(name: &str) -> Result<har::HarReader, har::ReadError> {
    har::HarReader::new(open(name)?)
}
