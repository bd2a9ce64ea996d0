//! A stream read twice.

use har::{HarReader, ReadError, Source};
use std::io::Write;

/// Standard input (or any stream) copied to a temporary file, so it can be read twice.
/// The file is removed when this is dropped.
pub struct Spool(tempfile::NamedTempFile);

impl Spool {
    pub fn from_reader(mut r: impl std::io::Read) -> std::io::Result<Spool> {
        let mut f = tempfile::NamedTempFile::new()?;
        std::io::copy(&mut r, &mut f)?;
        f.flush()?;
        Ok(Spool(f))
    }
    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
    /// The copy, read from its start (named by its path in errors).
    pub fn reader(&self) -> Result<HarReader, ReadError> {
        HarReader::new(Source::open(&self.path().to_string_lossy())?)
    }
}
