//! One job's journal on disk: `hark record`'s journal (`record::journal`: records appended
//! with one `write()` each, a failed append cut back to the last whole record so a job is
//! never corrupt whatever the disk does, and readable from a length snapshot while it is
//! still being appended to), with the service's error type.

use crate::ServeError;
use har::Style;
pub use record::journal::{Index, JournalWriter as Journal, Scan};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// The checked records in the first `limit` bytes of the journal (all of it for `None`).
pub fn scan(path: &Path, limit: Option<u64>) -> Result<(Vec<Index>, Scan), ServeError> {
    Ok(record::journal::scan(path, limit)?)
}

/// Write the HAR of the journal (its first `limit` bytes) to `out`; see
/// [`record::journal::write_har`].
pub fn write_har<W: Write>(
    path: &Path,
    limit: Option<u64>,
    pages: Vec<Value>,
    comment: Option<String>,
    style: Style,
    out: W,
) -> Result<(Scan, W), ServeError> {
    Ok(record::journal::write_har(
        path, limit, pages, comment, style, out,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_reported_as_such() {
        // /dev/full fails every write with ENOSPC: the API answers 507 for it.
        assert!(Path::new("/dev/full").exists(), "/dev/full is needed");
        let e = match Journal::create(Path::new("/dev/full")) {
            Err(e) => ServeError::from(e),
            Ok(_) => panic!("writing to /dev/full succeeded"),
        };
        assert!(e.is_disk_full(), "{e}");
        let other = ServeError::from(
            Journal::create(Path::new("/nonexistent/dir/j"))
                .err()
                .unwrap(),
        );
        assert!(!other.is_disk_full(), "{other}");
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        std::fs::write(&p, b"{}").unwrap();
        let e = scan(&p, None).err().unwrap();
        assert!(e.to_string().contains("not a hark journal"), "{e}");
    }
}
