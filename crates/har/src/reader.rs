//! The streaming HAR reader: the log's header first, then entries one at a time.

use crate::error::{json_error_at, Pos, ReadError};
use crate::model::{Entry, Header};
use crate::scan::{describe, ScanError, Scanner};
use crate::source::Source;
use serde::Deserialize;
use serde_json::Value;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Top { first: bool },
    Log { first: bool },
    Entries { first: bool },
    Done,
}

/// A field of the header as it was read: its JSON path, where it starts, and its bytes
/// (kept so validation can point at a line and column inside it).
#[derive(Clone, Debug)]
pub struct RawField {
    pub path: String,
    pub pos: Pos,
    pub bytes: Vec<u8>,
}

/// Reads a HAR file in one pass with memory bounded by its largest entry.
///
/// ```no_run
/// # fn main() -> Result<(), har::ReadError> {
/// let mut reader = har::HarReader::new(har::Source::open("site.har")?)?;
/// println!("made by {}", reader.header().producer());
/// while let Some(entry) = reader.next_entry()? {
///     println!("{} {}", entry.request().method().unwrap_or("?"), entry.request().url().unwrap_or("?"));
/// }
/// # Ok(()) }
/// ```
pub struct HarReader {
    scan: Scanner<Box<dyn Read + Send>>,
    name: Arc<str>,
    header: Header,
    raw_fields: Vec<RawField>,
    phase: Phase,
    seen_log: bool,
    index: usize,
    buf: Vec<u8>,
    progress: Arc<AtomicU64>,
    len: Option<u64>,
}

/// One entry's bytes as they stand in the file, before parsing.
#[derive(Debug)]
pub struct RawEntry<'a> {
    pub index: usize,
    /// Where the entry's opening brace is.
    pub pos: Pos,
    pub bytes: &'a [u8],
    pub file: &'a Arc<str>,
}

impl RawEntry<'_> {
    pub fn path(&self) -> String {
        format!("log.entries[{}]", self.index)
    }
    /// Parse the entry. A syntax error says where (absolute line:column) and in which entry.
    pub fn parse(&self) -> Result<Entry, ReadError> {
        let value = parse_value(self.bytes, self.pos, self.file, || self.path())?;
        Ok(Entry {
            index: self.index,
            value,
        })
    }
}

impl RawEntry<'_> {
    /// The absolute position of byte `offset` of this entry.
    pub fn position_of(&self, offset: usize) -> Pos {
        let before = &self.bytes[..offset.min(self.bytes.len())];
        let lines = memchr::memchr_iter(b'\n', before).count() as u64;
        let col = match memchr::memrchr(b'\n', before) {
            Some(nl) => (before.len() - nl) as u64,
            None => before.len() as u64 + 1,
        };
        let mut p = self.pos.advance(lines + 1, col);
        p.offset = self.pos.offset + before.len() as u64;
        p
    }

    /// The entry as a borrowed, read-only tree ([`crate::lite`]): several times cheaper
    /// than [`RawEntry::parse`], for reading.
    pub fn parse_lite(&self) -> Result<crate::lite::Lite<'_>, ReadError> {
        crate::lite::parse(self.bytes).map_err(|e| self.syntax(e))
    }

    /// [`RawEntry::parse_lite`], and which of the transcoder's layouts the entry's bytes
    /// already have ([`crate::lite::Layout`]): in a style the layout
    /// [`is`](crate::lite::Layout::is), [`RawEntry::transcode`] would copy them unchanged.
    pub fn parse_lite_with_layout(
        &self,
    ) -> Result<(crate::lite::Lite<'_>, crate::lite::Layout), ReadError> {
        crate::lite::parse_with_layout(self.bytes, 3).map_err(|e| self.syntax(e))
    }

    /// The entry re-serialised in `style` without building a model: strings and
    /// numbers are copied as written (see [`crate::transcode`]). Pretty output is
    /// indented for the entry's place in the document, for
    /// [`crate::HarWriter::serialized_entry`].
    pub fn transcode(&self, style: crate::Style) -> Result<Vec<u8>, ReadError> {
        let mut out = Vec::with_capacity(self.bytes.len());
        crate::transcode::transcode(self.bytes, style, 3, &mut out).map_err(|e| self.syntax(e))?;
        Ok(out)
    }

    /// A syntax error in the entry's bytes, where it is in the file.
    fn syntax(&self, e: crate::transcode::TranscodeError) -> ReadError {
        ReadError::Syntax {
            file: self.file.clone(),
            pos: self.position_of(e.offset),
            path: self.path(),
            message: e.message,
        }
    }
}

fn parse_value(
    bytes: &[u8],
    pos: Pos,
    file: &Arc<str>,
    path: impl Fn() -> String,
) -> Result<Value, ReadError> {
    let parse = |bytes: &[u8]| {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        // The scanner already limited nesting to scan::MAX_DEPTH.
        de.disable_recursion_limit();
        Value::deserialize(&mut de).and_then(|v| de.end().map(|()| v))
    };
    let mut parsed = parse(bytes);
    // serde_json refuses lone surrogate escapes, which JSON.parse accepts: read them as
    // U+FFFD (`\ufffd` has the same length, so every byte offset stays).
    if parsed.is_err() {
        if let Some(fixed) = crate::transcode::lone_surrogates_replaced(bytes) {
            parsed = parse(&fixed);
        }
    }
    parsed.map_err(|e| {
        let (pos, message) = json_error_at(&e, pos);
        ReadError::Syntax {
            file: file.clone(),
            pos,
            path: path(),
            message,
        }
    })
}

impl HarReader {
    /// Read up to the first entry. Fails if the input is not a JSON object with a `log`
    /// object (or `log.entries` is there but not an array).
    pub fn new(source: Source) -> Result<HarReader, ReadError> {
        let mut scan = Scanner::new(source.reader);
        if let Some(max) = source.max_entry {
            scan.max_value = usize::try_from(max).unwrap_or(usize::MAX);
        }
        let mut r = HarReader {
            scan,
            name: source.name,
            header: Header::default(),
            raw_fields: Vec::new(),
            phase: Phase::Top { first: true },
            seen_log: false,
            index: 0,
            buf: Vec::with_capacity(64 * 1024),
            progress: source.progress,
            len: source.len,
        };
        r.scan.skip_bom().map_err(|e| r.scan_err(e, ""))?;
        match r.scan.peek().map_err(|e| r.scan_err(e, ""))? {
            Some(b'{') => r.scan.bump(),
            Some(b) => {
                return Err(r.not_har(
                    "",
                    format!(
                        "expected a JSON object ({{\"log\": …}}), found {}",
                        describe(b)
                    ),
                ))
            }
            None => return Err(r.not_har("", "the input is empty".into())),
        }
        r.run_header()?;
        Ok(r)
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The log's fields other than entries. Fields that come after `entries` in the
    /// file are added once the last entry has been read.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header fields with their raw bytes and positions, for validation.
    pub fn raw_fields(&self) -> &[RawField] {
        &self.raw_fields
    }

    /// Number of entries handed out so far.
    pub fn entries_read(&self) -> usize {
        self.index
    }

    /// Bytes taken from the underlying file so far, and its length when known.
    pub fn progress(&self) -> (u64, Option<u64>) {
        (self.progress.load(Ordering::Relaxed), self.len)
    }

    pub fn progress_counter(&self) -> Arc<AtomicU64> {
        self.progress.clone()
    }

    /// Whether the whole input has been read (after the last entry).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    fn scan_err(&self, e: ScanError, path: &str) -> ReadError {
        match e {
            ScanError::Io(source) => ReadError::Io {
                file: self.name.clone(),
                source,
            },
            ScanError::Syntax { pos, message } => ReadError::Syntax {
                file: self.name.clone(),
                pos,
                path: display_path(path),
                message,
            },
        }
    }

    fn not_har(&self, path: &str, message: String) -> ReadError {
        ReadError::NotHar {
            file: self.name.clone(),
            pos: self.scan.position(),
            path: display_path(path),
            message,
        }
    }

    fn peek(&mut self, path: &str) -> Result<Option<u8>, ReadError> {
        self.scan.peek().map_err(|e| self.scan_err(e, path))
    }

    fn read_key(&mut self, path: &str) -> Result<String, ReadError> {
        match self.peek(path)? {
            Some(b'"') => {}
            Some(b) => {
                return Err(ReadError::Syntax {
                    file: self.name.clone(),
                    pos: self.scan.position(),
                    path: display_path(path),
                    message: format!("expected a string key, found {}", describe(b)),
                })
            }
            None => return Err(self.truncated(path)),
        }
        let pos = self
            .scan
            .capture(&mut self.buf)
            .map_err(|e| self.scan_err(e, path))?;
        let key: Value = parse_value(&self.buf, pos, &self.name, || display_path(path))?;
        Ok(key.as_str().unwrap_or_default().to_string())
    }

    fn truncated(&self, path: &str) -> ReadError {
        ReadError::Syntax {
            file: self.name.clone(),
            pos: self.scan.position(),
            path: display_path(path),
            message: "the input ends here (the file is truncated)".into(),
        }
    }

    fn expect(&mut self, b: u8, what: &str, path: &str) -> Result<(), ReadError> {
        self.scan
            .expect(b, what)
            .map_err(|e| self.scan_err(e, path))
    }

    fn read_value(&mut self, path: &str) -> Result<(Pos, Value), ReadError> {
        let pos = self
            .scan
            .capture(&mut self.buf)
            .map_err(|e| self.scan_err(e, path))?;
        let v = parse_value(&self.buf, pos, &self.name, || path.to_string())?;
        Ok((pos, v))
    }

    /// Separator handling shared by the top-level and `log` objects: returns false at
    /// the closing brace (consumed), true when a key follows.
    fn next_key(&mut self, first: bool, path: &str) -> Result<bool, ReadError> {
        match self.peek(path)? {
            Some(b'}') => {
                self.scan.bump();
                Ok(false)
            }
            Some(b',') if !first => {
                self.scan.bump();
                Ok(true)
            }
            Some(_) if first => Ok(true),
            Some(b) => Err(ReadError::Syntax {
                file: self.name.clone(),
                pos: self.scan.position(),
                path: display_path(path),
                message: format!("expected ',' or '}}' after a value, found {}", describe(b)),
            }),
            None => Err(self.truncated(path)),
        }
    }

    /// Read header fields until the entries array opens or the input ends.
    fn run_header(&mut self) -> Result<(), ReadError> {
        loop {
            match self.phase {
                Phase::Entries { .. } | Phase::Done => return Ok(()),
                Phase::Top { first } => {
                    if !self.next_key(first, "")? {
                        if !self.seen_log {
                            return Err(self.not_har(
                                "",
                                "no \"log\" object: this JSON is not a HAR file".into(),
                            ));
                        }
                        if let Some(b) = self.peek("")? {
                            return Err(ReadError::Syntax {
                                file: self.name.clone(),
                                pos: self.scan.position(),
                                path: String::new(),
                                message: format!(
                                    "unexpected {} after the end of the HAR object",
                                    describe(b)
                                ),
                            });
                        }
                        self.phase = Phase::Done;
                        continue;
                    }
                    let key = self.read_key("")?;
                    self.expect(b':', "':' after a key", &key)?;
                    self.phase = Phase::Top { first: false };
                    if key == "log" && !self.seen_log {
                        match self.peek("log")? {
                            Some(b'{') => self.scan.bump(),
                            Some(b) => {
                                return Err(self.not_har(
                                    "log",
                                    format!("expected an object, found {}", describe(b)),
                                ))
                            }
                            None => return Err(self.truncated("log")),
                        }
                        self.seen_log = true;
                        self.header.log_at = self.header.outer.len();
                        self.phase = Phase::Log { first: true };
                    } else {
                        let (_, v) = self.read_value(&key)?;
                        self.header.outer.insert(key, v);
                    }
                }
                Phase::Log { first } => {
                    if !self.next_key(first, "log")? {
                        if !self.header.has_entries {
                            self.header.entries_at = self.header.log.len();
                        }
                        self.phase = Phase::Top { first: false };
                        continue;
                    }
                    let key = self.read_key("log")?;
                    let path = format!("log.{key}");
                    self.expect(b':', "':' after a key", &path)?;
                    self.phase = Phase::Log { first: false };
                    if key == "entries" && !self.header.has_entries {
                        match self.peek(&path)? {
                            Some(b'[') => self.scan.bump(),
                            Some(b) => {
                                return Err(self.not_har(
                                    &path,
                                    format!("expected an array of entries, found {}", describe(b)),
                                ))
                            }
                            None => return Err(self.truncated(&path)),
                        }
                        self.header.has_entries = true;
                        self.header.entries_at = self.header.log.len();
                        self.phase = Phase::Entries { first: true };
                    } else {
                        let (pos, v) = self.read_value(&path)?;
                        self.raw_fields.push(RawField {
                            path,
                            pos,
                            bytes: self.buf.clone(),
                        });
                        self.header.log.insert(key, v);
                    }
                }
            }
        }
    }

    fn entry_path(&self) -> String {
        format!("log.entries[{}]", self.index)
    }

    /// Consume the separator before the next entry. False after the last entry (the rest
    /// of the header has then been read too).
    fn before_entry(&mut self) -> Result<bool, ReadError> {
        let Phase::Entries { first } = self.phase else {
            return Ok(false);
        };
        let peeked = match self.scan.peek() {
            Ok(b) => b,
            Err(e) => return Err(self.scan_err(e, &self.entry_path())),
        };
        match peeked {
            Some(b']') => {
                self.scan.bump();
                self.phase = Phase::Log { first: false };
                self.run_header()?;
                return Ok(false);
            }
            Some(b',') if !first => self.scan.bump(),
            Some(_) if first => {}
            Some(b) => {
                return Err(ReadError::Syntax {
                    file: self.name.clone(),
                    pos: self.scan.position(),
                    path: "log.entries".into(),
                    message: format!(
                        "expected ',' or ']' after entry {}, found {}",
                        self.index.saturating_sub(1),
                        describe(b)
                    ),
                })
            }
            None => return Err(self.truncated(&self.entry_path())),
        }
        Ok(true)
    }

    /// The next entry's bytes, or None after the last one (the rest of the header has
    /// then been read too).
    pub fn next_raw(&mut self) -> Result<Option<RawEntry<'_>>, ReadError> {
        if !self.before_entry()? {
            return Ok(None);
        }
        let pos = match self.scan.capture(&mut self.buf) {
            Ok(p) => p,
            Err(e) => return Err(self.scan_err(e, &self.entry_path())),
        };
        self.phase = Phase::Entries { first: false };
        let index = self.index;
        self.index += 1;
        Ok(Some(RawEntry {
            index,
            pos,
            bytes: &self.buf,
            file: &self.name,
        }))
    }

    /// Like [`HarReader::next_raw`], but appends the entry's bytes to `out` (saving a
    /// copy when entries are gathered into batches) and returns its index and position.
    pub fn next_raw_append(
        &mut self,
        out: &mut Vec<u8>,
    ) -> Result<Option<(usize, Pos)>, ReadError> {
        if !self.before_entry()? {
            return Ok(None);
        }
        let pos = match self.scan.capture_append(out) {
            Ok(p) => p,
            Err(e) => return Err(self.scan_err(e, &self.entry_path())),
        };
        self.phase = Phase::Entries { first: false };
        let index = self.index;
        self.index += 1;
        Ok(Some((index, pos)))
    }

    /// The next entry, parsed.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, ReadError> {
        match self.next_raw()? {
            Some(raw) => raw.parse().map(Some),
            None => Ok(None),
        }
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.to_string()
    }
}
