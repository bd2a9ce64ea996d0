//! The streaming HAR writer: header, then entries one at a time, then whatever followed
//! the entries in the source. Pretty output matches `JSON.stringify(har, null, 2)`.

use crate::model::{Entry, Header, Object};
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Value;
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// Two-space indentation, like the browsers' exports.
    #[default]
    Pretty,
    /// No white space at all.
    Compact,
}

/// serde_json's pretty formatter, but starting at a given depth so that values nested in
/// the streamed document are indented where they stand.
struct Indented {
    level: usize,
    has_value: bool,
}

fn indent<W: ?Sized + Write>(w: &mut W, level: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = b"                                                                ";
    let mut n = level * 2;
    while n > 0 {
        let k = n.min(SPACES.len());
        w.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

impl Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.level)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.level)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.level)?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.level)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[derive(Debug, PartialEq)]
enum State {
    Start,
    Entries {
        count: usize,
    },
    /// The header had no `entries`: it is written only if an entry comes.
    NoEntriesYet {
        log_fields: bool,
    },
    Finished,
}

/// Writes a HAR document piece by piece. Call [`HarWriter::begin`], then
/// [`HarWriter::entry`] for each entry, then [`HarWriter::end`] with the complete header
/// (a reader learns fields that follow `entries` only at the end).
pub struct HarWriter<W: Write> {
    out: W,
    style: Style,
    state: State,
}

impl<W: Write> HarWriter<W> {
    pub fn new(out: W, style: Style) -> Self {
        HarWriter {
            out,
            style,
            state: State::Start,
        }
    }

    fn value(&mut self, v: &Value, level: usize) -> io::Result<()> {
        match self.style {
            Style::Compact => v.serialize(&mut serde_json::Serializer::with_formatter(
                &mut self.out,
                CompactFormatter,
            )),
            Style::Pretty => v.serialize(&mut serde_json::Serializer::with_formatter(
                &mut self.out,
                Indented {
                    level,
                    has_value: false,
                },
            )),
        }
        .map_err(io::Error::from)
    }

    /// Write `"key": ` at `level` (1-based nesting of the object holding it).
    fn key(&mut self, key: &str, first: bool, level: usize) -> io::Result<()> {
        match self.style {
            Style::Compact => {
                if !first {
                    self.out.write_all(b",")?;
                }
                serde_json::to_writer(&mut self.out, key)?;
                self.out.write_all(b":")
            }
            Style::Pretty => {
                self.out.write_all(if first { b"\n" } else { b",\n" })?;
                indent(&mut self.out, level)?;
                serde_json::to_writer(&mut self.out, key)?;
                self.out.write_all(b": ")
            }
        }
    }

    fn fields(
        &mut self,
        obj: &Object,
        range: std::ops::Range<usize>,
        level: usize,
        mut first: bool,
    ) -> io::Result<bool> {
        for (k, v) in obj.iter().skip(range.start).take(range.len()) {
            self.key(k, first, level)?;
            self.value(v, level)?;
            first = false;
        }
        Ok(first)
    }

    /// Everything up to the opening bracket of `entries`.
    pub fn begin(&mut self, header: &Header) -> io::Result<()> {
        assert_eq!(self.state, State::Start, "begin() called twice");
        self.out.write_all(b"{")?;
        let log_at = header.log_at.min(header.outer.len());
        let first = self.fields(&header.outer, 0..log_at, 1, true)?;
        self.key("log", first, 1)?;
        self.out.write_all(b"{")?;
        let at = header.entries_at.min(header.log.len());
        let first = self.fields(&header.log, 0..at, 2, true)?;
        if header.has_entries {
            self.open_entries(first)?;
        } else {
            // Lossless: a file without `entries` is written without it, unless an
            // entry is added.
            self.state = State::NoEntriesYet { log_fields: !first };
        }
        Ok(())
    }

    fn open_entries(&mut self, first: bool) -> io::Result<()> {
        self.key("entries", first, 2)?;
        self.out.write_all(b"[")?;
        self.state = State::Entries { count: 0 };
        Ok(())
    }

    pub fn entry(&mut self, entry: &Entry) -> io::Result<()> {
        self.raw_entry(&entry.value)
    }

    pub fn raw_entry(&mut self, value: &Value) -> io::Result<()> {
        self.separator()?;
        self.value(value, 3)?;
        self.bump();
        Ok(())
    }

    /// Write an entry already serialised by [`entry_bytes`] with this writer's style
    /// (e.g. on another thread).
    pub fn serialized_entry(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.separator()?;
        self.out.write_all(bytes)?;
        self.bump();
        Ok(())
    }

    fn separator(&mut self) -> io::Result<()> {
        if let State::NoEntriesYet { log_fields } = self.state {
            self.open_entries(!log_fields)?;
        }
        let State::Entries { count } = self.state else {
            panic!("entry() outside begin()/end()");
        };
        match self.style {
            Style::Compact if count > 0 => self.out.write_all(b","),
            Style::Compact => Ok(()),
            Style::Pretty => {
                self.out.write_all(if count > 0 { b",\n" } else { b"\n" })?;
                indent(&mut self.out, 3)
            }
        }
    }

    fn bump(&mut self) {
        if let State::Entries { count } = &mut self.state {
            *count += 1;
        }
    }

    /// Close `entries`, write the fields that followed it, close the document and flush.
    pub fn end(&mut self, header: &Header) -> io::Result<()> {
        let first_after = match self.state {
            State::Entries { count } => {
                if self.style == Style::Pretty && count > 0 {
                    self.out.write_all(b"\n")?;
                    indent(&mut self.out, 2)?;
                }
                self.out.write_all(b"]")?;
                false
            }
            State::NoEntriesYet { log_fields } => !log_fields,
            _ => panic!("end() without begin()"),
        };
        let at = header.entries_at.min(header.log.len());
        let none_written = self.fields(&header.log, at..header.log.len(), 2, first_after)?;
        if self.style == Style::Pretty && !none_written {
            self.out.write_all(b"\n")?;
            indent(&mut self.out, 1)?;
        }
        self.out.write_all(b"}")?;
        let log_at = header.log_at.min(header.outer.len());
        self.fields(&header.outer, log_at..header.outer.len(), 1, false)?;
        if self.style == Style::Pretty {
            self.out.write_all(b"\n")?;
        }
        self.out.write_all(b"}")?;
        if self.style == Style::Pretty {
            self.out.write_all(b"\n")?;
        }
        self.out.flush()?;
        self.state = State::Finished;
        Ok(())
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// An entry's JSON as [`HarWriter`] would write it in `style` (pretty output indented
/// for its place in the document), for [`HarWriter::serialized_entry`].
pub fn entry_bytes(value: &Value, style: Style) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let result = match style {
        Style::Compact => value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            CompactFormatter,
        )),
        Style::Pretty => value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            Indented {
                level: 3,
                has_value: false,
            },
        )),
    };
    result.expect("serialising a JSON value into memory cannot fail");
    out
}
