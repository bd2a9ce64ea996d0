//! A stream read twice.

use har::{HarReader, ReadError, Source, TempGuard};
use std::io::Write;

/// Standard input (or any stream) copied to a temporary file, so it can be read twice.
/// The file is removed when this is dropped, and listed for a signal handler to remove
/// ([`har::remove_temp_files`]) while it exists.
pub struct Spool {
    file: tempfile::NamedTempFile,
    _guard: TempGuard,
}

impl Spool {
    pub fn from_reader(mut r: impl std::io::Read) -> std::io::Result<Spool> {
        let mut file = tempfile::NamedTempFile::new()?;
        let _guard = TempGuard::register(file.path());
        std::io::copy(&mut r, &mut file)?;
        file.flush()?;
        Ok(Spool { file, _guard })
    }
    pub fn path(&self) -> &std::path::Path {
        self.file.path()
    }
    /// The copy, read from its start (named by its path in errors).
    pub fn reader(&self) -> Result<HarReader, ReadError> {
        self.reader_with(|s| s)
    }
    /// [`Spool::reader`], the [`Source`] set up by `f` first (e.g. [`Source::max_entry`]).
    pub fn reader_with(&self, f: impl FnOnce(Source) -> Source) -> Result<HarReader, ReadError> {
        HarReader::new(f(Source::open(&self.path().to_string_lossy())?))
    }
}
