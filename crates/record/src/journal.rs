//! The durable journal: every finished exchange is appended at once with one `write()`
//! (the page cache survives `kill -9`), as a record
//! `[len u32 LE][crc32 u32 LE][start µs u64 LE][entry JSON, compact]` where the CRC covers
//! the start time and the JSON. A torn last record (a crash mid-write) fails its length
//! or checksum and is dropped. [`finish`] turns a journal into a HAR sorted by start time,
//! streaming: memory is 16 bytes per entry for the sort, plus one entry.

use crate::error::RecordError;
use har::{HarWriter, Output, Style};
use serde_json::{json, Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 16] = b"hark-journal-v1\n";

/// Appends records. Cheap to call from one thread; see [`crate::proxy`] for the writer task.
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    count: u64,
    buf: Vec<u8>,
}

impl JournalWriter {
    /// Create (or truncate) the journal at `path`.
    pub fn create(path: &Path) -> Result<JournalWriter, RecordError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(RecordError::io(path))?;
        file.write_all(MAGIC).map_err(RecordError::io(path))?;
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
            count: 0,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Append one entry (compact JSON) with one `write()`.
    pub fn append(&mut self, start_us: u64, entry_json: &[u8]) -> Result<(), RecordError> {
        self.buf.clear();
        encode(&mut self.buf, start_us, entry_json);
        self.file
            .write_all(&self.buf)
            .map_err(RecordError::io(&self.path))?;
        self.count += 1;
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sync(&self) -> Result<(), RecordError> {
        self.file.sync_data().map_err(RecordError::io(&self.path))
    }
}

/// Encode one record onto `out`.
pub fn encode(out: &mut Vec<u8>, start_us: u64, entry_json: &[u8]) {
    let start = start_us.to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&start);
    h.update(entry_json);
    out.extend_from_slice(&((entry_json.len() + 8) as u32).to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&start);
    out.extend_from_slice(entry_json);
}

/// What reading a journal found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scan {
    /// Complete, checked records.
    pub entries: u64,
    /// Bytes at the end that did not form a complete, checked record (a torn write).
    pub dropped_bytes: u64,
}

struct Index {
    start_us: u64,
    offset: u64,
    len: u32,
}

fn scan(path: &Path) -> Result<(Vec<Index>, Scan), RecordError> {
    let file = File::open(path).map_err(RecordError::io(path))?;
    let total = file.metadata().map_err(RecordError::io(path))?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 16];
    if r.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Err(RecordError::NotJournal {
            path: path.to_path_buf(),
        });
    }
    let mut index = Vec::new();
    let mut pos = MAGIC.len() as u64;
    let mut buf = Vec::new();
    loop {
        let mut head = [0u8; 8];
        if read_full(&mut r, &mut head).map_err(RecordError::io(path))? < 8 {
            break;
        }
        let len = u32::from_le_bytes(head[..4].try_into().unwrap());
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap());
        if len < 8 || pos + 8 + u64::from(len) > total {
            break;
        }
        buf.resize(len as usize, 0);
        if read_full(&mut r, &mut buf).map_err(RecordError::io(path))? < buf.len() {
            break;
        }
        if crc32fast::hash(&buf) != crc {
            break;
        }
        let start_us = u64::from_le_bytes(buf[..8].try_into().unwrap());
        index.push(Index {
            start_us,
            offset: pos + 8 + 8,
            len: len - 8,
        });
        pos += 8 + u64::from(len);
    }
    let scan = Scan {
        entries: index.len() as u64,
        dropped_bytes: total - pos,
    };
    Ok((index, scan))
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

/// The `log` header hark writes.
pub fn header(comment: Option<&str>) -> har::model::Header {
    let mut log = Map::new();
    log.insert("version".into(), json!("1.2"));
    log.insert(
        "creator".into(),
        json!({"name": "hark", "version": env!("CARGO_PKG_VERSION")}),
    );
    log.insert("pages".into(), json!([]));
    if let Some(c) = comment {
        log.insert("comment".into(), json!(c));
    }
    let entries_at = 3;
    har::model::Header {
        log,
        entries_at,
        has_entries: true,
        outer: Map::new(),
        log_at: 0,
    }
}

/// Turn the journal at `path` into a HAR at `dest` (`-` for standard output), entries
/// sorted by start time; written atomically. Returns what was read.
pub fn finish(path: &Path, dest: &str, style: Style) -> Result<Scan, RecordError> {
    let (mut index, scan) = scan(path)?;
    index.sort_by_key(|i| i.start_us);
    let comment = (scan.dropped_bytes > 0).then(|| {
        format!(
            "recovered from {}: {} bytes of a torn last record dropped",
            path.display(),
            scan.dropped_bytes
        )
    });
    let path_str = path.to_string_lossy().into_owned();
    let out = Output::create(dest, &[&path_str])?;
    let head = header(comment.as_deref());
    let mut w = HarWriter::new(out, style);
    let file = File::open(path).map_err(RecordError::io(path))?;
    let dest_err = RecordError::io(dest);
    let run = (|| -> io::Result<()> {
        w.begin(&head)?;
        let mut buf = Vec::new();
        for i in &index {
            buf.resize(i.len as usize, 0);
            read_at(&file, &mut buf, i.offset)?;
            let v: Value = serde_json::from_slice(&buf)?;
            w.raw_entry(&v)?;
        }
        w.end(&head)
    })();
    run.map_err(dest_err)?;
    w.into_inner().commit()?;
    Ok(scan)
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, offset)
}

#[cfg(not(unix))]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut f = f;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_record_is_dropped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let mut w = JournalWriter::create(&p).unwrap();
        w.append(2, br#"{"n":2}"#).unwrap();
        w.append(1, br#"{"n":1}"#).unwrap();
        drop(w);
        // A torn third record: a header and half a body.
        let mut rec = Vec::new();
        encode(&mut rec, 3, br#"{"n":3,"pad":"xxxxxxxx"}"#);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&rec[..rec.len() / 2]).unwrap();
        drop(f);
        let out = dir.path().join("o.har");
        let s = finish(&p, out.to_str().unwrap(), Style::Compact).unwrap();
        assert_eq!(s.entries, 2);
        assert_eq!(s.dropped_bytes, (rec.len() / 2) as u64);
        let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let e = v["log"]["entries"].as_array().unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0]["n"], 1, "sorted by start time");
        assert!(v["log"]["comment"].as_str().unwrap().contains("torn"));
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let mut w = JournalWriter::create(&p).unwrap();
        w.append(1, br#"{"n":1}"#).unwrap();
        w.append(2, br#"{"n":2}"#).unwrap();
        drop(w);
        let mut bytes = std::fs::read(&p).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        let (idx, s) = scan(&p).unwrap();
        assert_eq!(idx.len(), 1);
        assert_eq!(s.entries, 1);
        assert!(s.dropped_bytes > 0);
    }

    #[test]
    fn not_a_journal_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        std::fs::write(&p, b"{}").unwrap();
        assert!(matches!(scan(&p), Err(RecordError::NotJournal { .. })));
    }
}
