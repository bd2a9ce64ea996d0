//! The durable journal: every finished exchange is appended at once with one `write()`
//! (the page cache survives `kill -9`), as a record
//! `[len u32 LE][crc32 u32 LE][start µs u64 LE][entry JSON, compact]` where the CRC covers
//! the start time and the JSON. A torn last record (a crash mid-write) fails its length
//! or checksum and is dropped; a failed append (disk full) is cut back at once, so later
//! appends never follow a torn record. [`write_har`] turns a journal — or the first bytes
//! of one still being appended to — into a HAR sorted by start time, streaming: memory is
//! 16 bytes per entry for the sort, plus one entry. [`finish`] does it into a file,
//! atomically. `hark record` and `hark serve` (one journal per job) share all of this.

use crate::error::RecordError;
use har::{HarWriter, Output, Style};
use serde_json::{json, Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 16] = b"hark-journal-v1\n";

/// Appends records. Cheap to call from one thread; see `crate::proxy` for the writer task.
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    /// Bytes of whole records (and the magic).
    len: u64,
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
            len: MAGIC.len() as u64,
            count: 0,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Append one entry (compact JSON) with one `write()`; on failure the file is cut
    /// back to the last whole record.
    pub fn append(&mut self, start_us: u64, entry_json: &[u8]) -> Result<(), RecordError> {
        self.buf.clear();
        encode(&mut self.buf, start_us, entry_json);
        if let Err(e) = self.file.write_all(&self.buf) {
            self.rollback();
            return Err(RecordError::io(&self.path)(e));
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

    /// Bytes of whole records (and the magic): a snapshot for [`write_har`].
    pub fn bytes(&self) -> u64 {
        self.len
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
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Scan {
    /// Complete, checked records.
    pub entries: u64,
    /// Bytes at the end (within the snapshot) that did not form a complete, checked
    /// record (a torn write).
    pub dropped_bytes: u64,
    /// Damaged stretches before the end (a flipped byte, a bad sector) skipped: reading
    /// went on at the next checked record after each. One damaged record each when its
    /// length was intact.
    pub damaged: u64,
    /// Bytes in those damaged stretches.
    pub damaged_bytes: u64,
    /// Bytes of whole records (and the magic), up to the last checked record.
    pub good_len: u64,
}

/// Where a checked record's entry is.
#[derive(Debug, Clone, Copy)]
pub struct Index {
    pub start_us: u64,
    pub offset: u64,
    pub len: u32,
}

/// Read the checked records in the first `limit` bytes of the journal (all of it for
/// `None`). A record that fails its length or checksum is skipped: reading resumes at
/// the next place where a checked record starts (a header whose length fits, whose entry
/// begins with `{` and whose CRC matches), so one damaged record loses only itself. A
/// damaged stretch with no checked record after it is a torn tail.
pub fn scan(path: &Path, limit: Option<u64>) -> Result<(Vec<Index>, Scan), RecordError> {
    let file = File::open(path).map_err(RecordError::io(path))?;
    let size = file.metadata().map_err(RecordError::io(path))?.len();
    let total = limit.map_or(size, |l| l.min(size));
    scan_file(&file, total).map_err(|e| match e {
        ScanError::NotJournal => RecordError::NotJournal {
            path: path.to_path_buf(),
        },
        ScanError::Io(e) => RecordError::io(path)(e),
    })
}

#[doc(hidden)]
pub enum ScanError {
    NotJournal,
    Io(io::Error),
}

/// [`scan`] over the first `total` bytes of any reader with positional reads (the
/// journal fuzz target drives it on memory).
#[doc(hidden)]
pub fn scan_file<F: ReadAt + ?Sized>(
    file: &F,
    total: u64,
) -> Result<(Vec<Index>, Scan), ScanError> {
    let mut magic = [0u8; 16];
    if total < MAGIC.len() as u64 || file.pread(&mut magic, 0).is_err() || &magic != MAGIC {
        return Err(ScanError::NotJournal);
    }
    let mut index = Vec::new();
    let mut scan = Scan::default();
    let mut pos = MAGIC.len() as u64;
    let mut buf = Vec::new();
    while pos < total {
        if let Some(i) = record_at(file, pos, total, &mut buf).map_err(ScanError::Io)? {
            pos = i.offset + u64::from(i.len);
            index.push(i);
            continue;
        }
        match resync(file, pos + 1, total, &mut buf).map_err(ScanError::Io)? {
            Some(next) => {
                scan.damaged += 1;
                scan.damaged_bytes += next - pos;
                pos = next;
            }
            None => {
                scan.dropped_bytes = total - pos;
                break;
            }
        }
    }
    scan.entries = index.len() as u64;
    scan.good_len = total - scan.dropped_bytes;
    Ok((index, scan))
}

/// The checked record at `pos`, if there is one.
fn record_at<F: ReadAt + ?Sized>(
    file: &F,
    pos: u64,
    total: u64,
    buf: &mut Vec<u8>,
) -> io::Result<Option<Index>> {
    let mut head = [0u8; 8];
    if pos + 8 > total {
        return Ok(None);
    }
    file.pread(&mut head, pos)?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if len < 9 || pos + 8 + u64::from(len) > total {
        return Ok(None);
    }
    buf.resize(len as usize, 0);
    file.pread(buf, pos + 8)?;
    if buf[8] != b'{' || crc32fast::hash(buf) != crc {
        return Ok(None);
    }
    let mut start = [0u8; 8];
    start.copy_from_slice(&buf[..8]);
    Ok(Some(Index {
        start_us: u64::from_le_bytes(start),
        offset: pos + 16,
        len: len - 8,
    }))
}

/// The first place at or after `from` where a checked record starts, looking at 64 KiB
/// at a time (a candidate needs a `{` where its entry would begin before its CRC is
/// checked).
fn resync<F: ReadAt + ?Sized>(
    file: &F,
    from: u64,
    total: u64,
    buf: &mut Vec<u8>,
) -> io::Result<Option<u64>> {
    const WINDOW: u64 = 64 * 1024;
    let mut win = vec![0u8; WINDOW as usize + 17];
    let mut at = from;
    while at + 17 <= total {
        let n = (total - at).min(WINDOW + 17) as usize;
        file.pread(&mut win[..n], at)?;
        for k in 0..n.saturating_sub(16) {
            if win[k + 16] != b'{' {
                continue;
            }
            let len = u32::from_le_bytes([win[k], win[k + 1], win[k + 2], win[k + 3]]);
            let p = at + k as u64;
            if len < 9 || p + 8 + u64::from(len) > total {
                continue;
            }
            if record_at(file, p, total, buf)?.is_some() {
                return Ok(Some(p));
            }
        }
        at += (n as u64).saturating_sub(16).max(1);
    }
    Ok(None)
}

/// Positional reads: a file, or bytes in memory.
#[doc(hidden)]
pub trait ReadAt {
    fn pread(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for File {
    fn pread(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        har::read_exact_at(self, buf, offset)
    }
}

impl ReadAt for [u8] {
    fn pread(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match self.get(start..).and_then(|r| r.get(..buf.len())) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

/// Where the pages of the journal at `journal` are kept: `JOURNAL.pages` (a JSON array
/// of HAR `page` objects: `hark record`'s page markers, a capture's pages).
pub fn pages_path(journal: &Path) -> PathBuf {
    let mut p = journal.as_os_str().to_owned();
    p.push(".pages");
    PathBuf::from(p)
}

/// The pages kept beside `journal` ([`pages_path`]; none when there is no file or it
/// is not a JSON array; only its objects).
pub fn read_pages(journal: &Path) -> Vec<Value> {
    std::fs::read(pages_path(journal))
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<Value>>(&b).ok())
        .map(|v| v.into_iter().filter(Value::is_object).collect())
        .unwrap_or_default()
}

/// The `log` header hark writes: `pages` as given, and an optional comment.
pub fn header(pages: Vec<Value>, comment: Option<&str>) -> har::model::Header {
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

/// Write the HAR of the journal at `path` (its first `limit` bytes: a snapshot of one
/// still being appended to) to `out`, entries sorted by start time, one entry in memory
/// at a time. `comment` goes into `log.comment`, with a note on a torn last record if
/// one was dropped. Errors writing to `out` are [`RecordError::Write`].
pub fn write_har<W: Write>(
    path: &Path,
    limit: Option<u64>,
    pages: Vec<Value>,
    comment: Option<String>,
    style: Style,
    out: W,
) -> Result<(Scan, W), RecordError> {
    write(path, limit, Some(pages), comment, style, out)
}

/// How the entries get their pages.
enum Paging {
    /// Pages given (entries keep the `pageref` they were recorded with).
    Given,
    /// Page markers ([`crate::marks`]): an entry without `pageref` gets the page current
    /// when it started; each marker's start (epoch microseconds) and id.
    Marked(Vec<(u64, String)>),
    /// A page per navigation ([`crate::pages`]).
    Navigations(crate::pages::Pager),
}

/// [`write_har`]; `pages: None` takes the page markers kept beside the journal
/// ([`crate::marks`]) or, without any, makes a page per navigation ([`crate::pages`]),
/// read in a first pass over the entries.
fn write<W: Write>(
    path: &Path,
    limit: Option<u64>,
    pages: Option<Vec<Value>>,
    comment: Option<String>,
    style: Style,
    out: W,
) -> Result<(Scan, W), RecordError> {
    let (mut index, scan) = scan(path, limit)?;
    index.sort_by_key(|i| i.start_us);
    let mut notes: Vec<String> = comment.into_iter().collect();
    if scan.damaged > 0 {
        notes.push(format!(
            "{} damaged record(s) of {} skipped ({} bytes): the entries after them are kept",
            scan.damaged,
            path.display(),
            scan.damaged_bytes
        ));
    }
    if scan.dropped_bytes > 0 {
        notes.push(format!(
            "{} bytes of a torn last record of {} dropped",
            scan.dropped_bytes,
            path.display()
        ));
    }
    let file = File::open(path).map_err(RecordError::io(path))?;
    let mut buf = Vec::new();
    let (pages, paging) = match pages {
        Some(p) => (p, Paging::Given),
        None => {
            let marks = read_pages(path);
            if marks.is_empty() {
                let mut pager = crate::pages::Pager::default();
                for i in &index {
                    buf.resize(i.len as usize, 0);
                    har::read_exact_at(&file, &mut buf, i.offset).map_err(RecordError::io(path))?;
                    // The borrowed tree: bodies are not copied to find the pages.
                    if let Ok(tree) = har::lite::parse(&buf) {
                        pager.push(har::EntryView(har::Obj::of(Some(&tree))));
                    } else {
                        pager.push(har::EntryView(har::Obj::<Value>::empty()));
                    }
                }
                (pager.pages(), Paging::Navigations(pager))
            } else {
                let starts = marks
                    .iter()
                    .map(|p| {
                        let ms = p["startedDateTime"]
                            .as_str()
                            .and_then(har::time::parse_ms)
                            .unwrap_or(0.0);
                        let id = p["id"].as_str().unwrap_or_default().to_string();
                        ((ms * 1000.0) as u64, id)
                    })
                    .collect();
                (marks, Paging::Marked(starts))
            }
        }
    };
    // The `pageref` to give the `n`-th entry (in start order), stored as `stored`.
    let page_of = |n: usize, i: &Index, stored: &[u8]| -> Option<String> {
        match &paging {
            Paging::Given => None,
            Paging::Navigations(pager) => pager.page_of(n),
            Paging::Marked(starts) => {
                // An entry recorded with a page (a capture's journal) keeps it.
                let has_page = har::lite::parse(stored)
                    .ok()
                    .is_some_and(|t| har::Obj::of(Some(&t)).has("pageref"));
                if has_page {
                    return None;
                }
                crate::marks::current(starts, |(s, _)| *s as f64, i.start_us as f64)
                    .map(|(_, id)| id.clone())
            }
        }
    };
    let head = header(
        pages,
        (!notes.is_empty()).then(|| notes.join("; ")).as_deref(),
    );
    let mut w = HarWriter::new(out, style);
    let run = (|| -> io::Result<()> {
        w.begin(&head)?;
        for (n, i) in index.iter().enumerate() {
            buf.resize(i.len as usize, 0);
            har::read_exact_at(&file, &mut buf, i.offset)?;
            let page = page_of(n, i, &buf);
            match (style, &page) {
                // Entries are stored compact: copied as they are.
                (Style::Compact, None) => w.serialized_entry(&buf)?,
                // `{"pageref":"page_N",` spliced in front of the stored object's fields.
                (Style::Compact, Some(p)) if buf.len() > 2 && buf[0] == b'{' => {
                    let mut e = Vec::with_capacity(buf.len() + 32);
                    e.extend_from_slice(b"{\"pageref\":");
                    e.extend_from_slice(&serde_json::to_vec(&p)?);
                    e.push(b',');
                    e.extend_from_slice(&buf[1..]);
                    w.serialized_entry(&e)?
                }
                _ => {
                    let mut v: Value = serde_json::from_slice(&buf)?;
                    if let (Some(p), Some(o)) = (page, v.as_object_mut()) {
                        o.insert("pageref".into(), json!(p));
                    }
                    w.raw_entry(&v)?;
                }
            }
        }
        w.end(&head)
    })();
    run.map_err(RecordError::Write)?;
    Ok((scan, w.into_inner()))
}

/// Turn the journal at `path` into a HAR at `dest` (`-` for standard output), entries
/// sorted by start time, its page markers ([`crate::marks`]) or else a page per
/// navigation ([`crate::pages`]) as pages; written atomically.
/// Returns what was read.
pub fn finish(path: &Path, dest: &str, style: Style) -> Result<Scan, RecordError> {
    let path_str = path.to_string_lossy().into_owned();
    let out = Output::create(dest, &[&path_str])?;
    let (scan, out) = write(path, None, None, None, style, out).map_err(|e| match e {
        RecordError::Write(source) => RecordError::Io {
            path: dest.into(),
            source,
        },
        e => e,
    })?;
    out.commit()?;
    Ok(scan)
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
        let (idx, s) = scan(&p, None).unwrap();
        assert_eq!(idx.len(), 1);
        assert_eq!(s.entries, 1);
        assert!(s.dropped_bytes > 0);
    }

    #[test]
    fn a_damaged_record_mid_journal_loses_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let mut w = JournalWriter::create(&p).unwrap();
        let mut at = Vec::new();
        for n in 0..50u64 {
            at.push(w.bytes());
            w.append(
                n,
                format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(n as usize)).as_bytes(),
            )
            .unwrap();
        }
        drop(w);
        let clean = std::fs::read(&p).unwrap();
        // A flipped byte in the body of record 20, then in the length of record 30.
        for (rec, off) in [(20usize, 20u64), (30, 0)] {
            let mut bytes = clean.clone();
            bytes[(at[rec] + off) as usize] ^= 0x40;
            std::fs::write(&p, &bytes).unwrap();
            let (idx, s) = scan(&p, None).unwrap();
            assert_eq!(s.entries, 49, "record {rec}");
            assert_eq!(s.damaged, 1);
            assert_eq!(s.damaged_bytes, at[rec + 1] - at[rec]);
            assert_eq!(s.dropped_bytes, 0);
            assert!(idx.iter().all(|i| i.start_us != rec as u64));
        }
        // The magic is the one thing that must be intact.
        assert!(matches!(
            scan_file(&clean[..10], 10),
            Err(ScanError::NotJournal)
        ));
        let (idx, _) = scan_file(&clean[..], clean.len() as u64).ok().unwrap();
        assert_eq!(idx.len(), 50);
    }

    #[test]
    fn not_a_journal_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        std::fs::write(&p, b"{}").unwrap();
        assert!(matches!(
            scan(&p, None),
            Err(RecordError::NotJournal { .. })
        ));
    }

    #[test]
    fn failed_append_is_rolled_back_and_later_appends_are_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal");
        let mut j = JournalWriter::create(&p).unwrap();
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
        assert!(
            Path::new("/dev/full").exists(),
            "/dev/full is needed for this test"
        );
        let mut j = JournalWriter {
            file: OpenOptions::new().write(true).open("/dev/full").unwrap(),
            path: "/dev/full".into(),
            len: 16,
            count: 0,
            buf: Vec::new(),
        };
        let e = j.append(1, b"{}").unwrap_err();
        match e {
            RecordError::Io { source, .. } => assert_eq!(source.raw_os_error(), Some(libc::ENOSPC)),
            e => panic!("{e}"),
        }
        assert_eq!(j.count(), 0);
    }

    #[test]
    fn a_snapshot_ignores_what_was_appended_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal");
        let mut j = JournalWriter::create(&p).unwrap();
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

    #[test]
    fn pretty_and_compact_hars_hold_the_same_entries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal");
        let mut j = JournalWriter::create(&p).unwrap();
        j.append(1, br#"{"n":1,"s":"a\u00e9"}"#).unwrap();
        j.append(2, br#"{"n":2}"#).unwrap();
        let page = json!({"id": "page_1", "title": "t"});
        let (_, c) = write_har(
            &p,
            None,
            vec![page.clone()],
            Some("c".into()),
            Style::Compact,
            Vec::new(),
        )
        .unwrap();
        let (_, q) = write_har(
            &p,
            None,
            vec![page],
            Some("c".into()),
            Style::Pretty,
            Vec::new(),
        )
        .unwrap();
        let c: Value = serde_json::from_slice(&c).unwrap();
        let q: Value = serde_json::from_slice(&q).unwrap();
        assert_eq!(c, q);
        assert_eq!(c["log"]["pages"][0]["id"], "page_1");
        assert_eq!(c["log"]["comment"], "c");
        assert_eq!(c["log"]["entries"][0]["s"], "a\u{e9}");
    }
}
