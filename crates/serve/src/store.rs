//! One job's journal on disk: records in `hark record`'s journal format
//! (`record::journal`), appended with one `write()` each. Unlike `hark record`'s writer,
//! a failed append (disk full) is rolled back to the last whole record, so later
//! appends never follow a torn one: a job is never corrupt, whatever the disk does.
//! Reading takes a length snapshot, so a journal still being appended to can be read.

use crate::ServeError;
use har::{HarWriter, Style};
use serde_json::{json, Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

pub struct Journal {
    file: File,
    path: PathBuf,
    len: u64,
    count: u64,
    buf: Vec<u8>,
}

impl Journal {
    /// Create (or truncate) the journal at `path`.
    pub fn create(path: &Path) -> Result<Journal, ServeError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(ServeError::io(path))?;
        file.write_all(record::journal::MAGIC)
            .map_err(ServeError::io(path))?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            len: record::journal::MAGIC.len() as u64,
            count: 0,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Append one entry; on failure the file is cut back to the last whole record.
    pub fn append(&mut self, start_us: u64, entry_json: &[u8]) -> Result<(), ServeError> {
        self.buf.clear();
        record::journal::encode(&mut self.buf, start_us, entry_json);
        if let Err(e) = self.file.write_all(&self.buf) {
            self.rollback();
            return Err(ServeError::io(&self.path)(e));
        }
        self.len += self.buf.len() as u64;
        self.count += 1;
        Ok(())
    }

    /// Cut the file back to the last whole record (after a failed write).
    fn rollback(&mut self) {
        use std::io::Seek;
        let _ = self.file.set_len(self.len);
        let _ = self.file.seek(io::SeekFrom::Start(self.len));
    }

    /// Bytes of whole records (and the magic).
    pub fn bytes(&self) -> u64 {
        self.len
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sync(&self) -> Result<(), ServeError> {
        self.file.sync_data().map_err(ServeError::io(&self.path))
    }
}

/// A checked record of a journal.
pub struct Index {
    pub start_us: u64,
    pub offset: u64,
    pub len: u32,
}

/// What reading a journal found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scan {
    pub entries: u64,
    /// Bytes at the end (within the snapshot) that were not a whole, checked record.
    pub dropped_bytes: u64,
    /// Bytes of whole records (and the magic).
    pub good_len: u64,
}

/// Read the checked records in the first `limit` bytes of the journal (all of it for
/// `None`); a torn or corrupt record ends the scan.
pub fn scan(path: &Path, limit: Option<u64>) -> Result<(Vec<Index>, Scan), ServeError> {
    let file = File::open(path).map_err(ServeError::io(path))?;
    let size = file.metadata().map_err(ServeError::io(path))?.len();
    let total = limit.map_or(size, |l| l.min(size));
    let mut r = BufReader::with_capacity(1 << 20, file.take(total));
    let mut magic = [0u8; 16];
    if r.read_exact(&mut magic).is_err() || &magic != record::journal::MAGIC {
        return Err(ServeError::NotJournal(path.to_path_buf()));
    }
    let mut index = Vec::new();
    let mut pos = magic.len() as u64;
    let mut buf = Vec::new();
    loop {
        let mut head = [0u8; 8];
        if read_full(&mut r, &mut head).map_err(ServeError::io(path))? < 8 {
            break;
        }
        let len = u32::from_le_bytes(head[..4].try_into().unwrap());
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap());
        if len < 8 || pos + 8 + u64::from(len) > total {
            break;
        }
        buf.resize(len as usize, 0);
        if read_full(&mut r, &mut buf).map_err(ServeError::io(path))? < buf.len() {
            break;
        }
        if crc32fast::hash(&buf) != crc {
            break;
        }
        index.push(Index {
            start_us: u64::from_le_bytes(buf[..8].try_into().unwrap()),
            offset: pos + 16,
            len: len - 8,
        });
        pos += 8 + u64::from(len);
    }
    let s = Scan {
        entries: index.len() as u64,
        dropped_bytes: total - pos,
        good_len: pos,
    };
    Ok((index, s))
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::Seek;
    let mut f = f;
    f.seek(io::SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

/// The HAR `log` header: pages (as given) and an optional comment.
pub fn header(pages: Vec<Value>, comment: Option<String>) -> har::model::Header {
    let mut log = Map::new();
    log.insert("version".into(), json!("1.2"));
    log.insert(
        "creator".into(),
        json!({"name": "hark", "version": env!("CARGO_PKG_VERSION")}),
    );
    log.insert("pages".into(), Value::Array(pages));
    if let Some(c) = comment {
        log.insert("comment".into(), json!(c));
    }
    har::model::Header {
        log,
        entries_at: 3,
        has_entries: true,
        outer: Map::new(),
        log_at: 0,
    }
}

/// Write the HAR of the journal (its first `limit` bytes) to `out`, entries sorted by
/// start time, one entry in memory at a time. `comment` goes into `log.comment`
/// (with a note on a torn last record, if any).
pub fn write_har<W: Write>(
    path: &Path,
    limit: Option<u64>,
    pages: Vec<Value>,
    comment: Option<String>,
    style: Style,
    out: W,
) -> Result<(Scan, W), ServeError> {
    let (mut index, s) = scan(path, limit)?;
    index.sort_by_key(|i| i.start_us);
    let mut notes: Vec<String> = comment.into_iter().collect();
    if s.dropped_bytes > 0 {
        notes.push(format!(
            "{} bytes of a torn last record dropped (the service stopped mid-write)",
            s.dropped_bytes
        ));
    }
    let head = header(pages, (!notes.is_empty()).then(|| notes.join("; ")));
    let file = File::open(path).map_err(ServeError::io(path))?;
    let mut w = HarWriter::new(out, style);
    let run = (|| -> io::Result<()> {
        w.begin(&head)?;
        let mut buf = Vec::new();
        for i in &index {
            buf.resize(i.len as usize, 0);
            read_at(&file, &mut buf, i.offset)?;
            w.serialized_entry_json(&buf, style)?;
        }
        w.end(&head)
    })();
    run.map_err(ServeError::Stream)?;
    Ok((s, w.into_inner()))
}

/// Entries are stored compact; pretty output re-indents them.
trait EntryBytes {
    fn serialized_entry_json(&mut self, json: &[u8], style: Style) -> io::Result<()>;
}

impl<W: Write> EntryBytes for HarWriter<W> {
    fn serialized_entry_json(&mut self, json: &[u8], style: Style) -> io::Result<()> {
        match style {
            Style::Compact => self.serialized_entry(json),
            _ => {
                let v: Value = serde_json::from_slice(json)?;
                self.raw_entry(&v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_append_is_rolled_back_and_later_appends_are_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal");
        let mut j = Journal::create(&p).unwrap();
        j.append(2, br#"{"n":2}"#).unwrap();
        // A failed write() leaves part of a record behind; append rolls it back.
        j.file.write_all(b"\x40\x00\x00\x00garbage").unwrap();
        j.rollback();
        j.append(1, br#"{"n":1}"#).unwrap();
        let (idx, s) = scan(&p, None).unwrap();
        assert_eq!(idx.len(), 2);
        assert_eq!(s.dropped_bytes, 0);
        let (_, out) = write_har(&p, None, vec![], None, Style::Compact, Vec::new()).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["log"]["entries"][0]["n"], 1, "sorted by start time");
        assert_eq!(v["log"]["entries"][1]["n"], 2);
    }

    #[test]
    fn write_to_a_full_disk_is_an_error_not_a_torn_record() {
        // /dev/full fails every write with ENOSPC.
        if !Path::new("/dev/full").exists() {
            panic!("/dev/full is needed for this test");
        }
        let mut j = Journal {
            file: OpenOptions::new().write(true).open("/dev/full").unwrap(),
            path: "/dev/full".into(),
            len: 16,
            count: 0,
            buf: Vec::new(),
        };
        let e = j.append(1, b"{}").unwrap_err();
        assert!(e.is_disk_full(), "{e}");
        assert_eq!(j.count(), 0);
    }

    #[test]
    fn a_snapshot_ignores_what_was_appended_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal");
        let mut j = Journal::create(&p).unwrap();
        j.append(1, br#"{"n":1}"#).unwrap();
        let snap = j.bytes();
        j.append(2, br#"{"n":2}"#).unwrap();
        let (idx, s) = scan(&p, Some(snap)).unwrap();
        assert_eq!(idx.len(), 1);
        assert_eq!(s.dropped_bytes, 0);
        // Half a record past the snapshot is a torn tail, and is dropped.
        let (idx, s) = scan(&p, Some(snap + 5)).unwrap();
        assert_eq!(idx.len(), 1);
        assert_eq!(s.dropped_bytes, 5);
    }
}
