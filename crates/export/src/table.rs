//! Rows out: JSON lines ([`Jsonl`]) or Parquet ([`Parquet`]), behind one [`RowSink`].
//!
//! Parquet is written with the low-level column writer of the Apache `parquet` crate
//! (no Arrow: a fraction of the compile time). Rows are buffered column by column and
//! written as a row group every [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] bytes,
//! whichever comes first, so memory is bounded by one row group. Strings are
//! dictionary-encoded (falling back to plain where a dictionary grows past its page
//! limit) and pages Snappy-compressed.

use crate::row::{NameValue, Row};
use crate::Error;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::io::Write;
use std::sync::Arc;

/// Where rows go.
pub trait RowSink {
    fn add(&mut self, row: &Row) -> Result<(), Error>;
}

/// One JSON object per line, the columns in [`crate::row::COLUMNS`] order.
pub struct Jsonl<W: Write> {
    out: W,
}

impl<W: Write> Jsonl<W> {
    pub fn new(out: W) -> Self {
        Jsonl { out }
    }
    /// Flush and hand the writer back.
    pub fn finish(mut self) -> Result<W, Error> {
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> RowSink for Jsonl<W> {
    fn add(&mut self, row: &Row) -> Result<(), Error> {
        serde_json::to_writer(&mut self.out, row).map_err(std::io::Error::from)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }
}

/// Rows per row group at most.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Buffered bytes (about) per row group at most.
pub const ROW_GROUP_BYTES: usize = 24 * 1024 * 1024;

/// The Parquet schema (docs/export.md explains each column).
pub const SCHEMA: &str = "message har_entry {
  required binary source (STRING);
  required int64 entry;
  optional binary page (STRING);
  optional int64 started (TIMESTAMP(MICROS,true));
  required binary method (STRING);
  required binary url (STRING);
  optional binary scheme (STRING);
  optional binary host (STRING);
  optional int32 port;
  optional binary path (STRING);
  optional binary query (STRING);
  optional binary template (STRING);
  optional int32 status;
  optional binary status_text (STRING);
  optional binary http_version (STRING);
  optional binary request_mime (STRING);
  optional binary mime (STRING);
  required binary resource_type (STRING);
  required group request_headers (LIST) { repeated group list { required group element { required binary name (STRING); required binary value (STRING); } } }
  required group request_cookies (LIST) { repeated group list { required group element { required binary name (STRING); required binary value (STRING); } } }
  required group response_headers (LIST) { repeated group list { required group element { required binary name (STRING); required binary value (STRING); } } }
  required group response_cookies (LIST) { repeated group list { required group element { required binary name (STRING); required binary value (STRING); } } }
  optional int64 request_headers_size;
  optional int64 request_body_size;
  optional int64 response_headers_size;
  optional int64 response_body_size;
  optional int64 content_size;
  optional int64 transfer_size;
  optional double time;
  optional double blocked;
  optional double dns;
  optional double connect;
  optional double ssl;
  optional double send;
  optional double wait;
  optional double receive;
  optional binary server_ip (STRING);
  optional binary connection (STRING);
  optional binary error (STRING);
  optional binary request_body (STRING);
  optional binary response_body (STRING);
  optional binary response_body_encoding (STRING);
}";

/// Strings back to back in one buffer (8 bytes of overhead each, not an allocation):
/// turned into `ByteArray`s a few thousand at a time when the row group is written.
#[derive(Default)]
struct Strings {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Strings {
    fn push(&mut self, s: &str) {
        self.data.extend_from_slice(s.as_bytes());
        self.ends.push(self.data.len());
    }
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }
    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }
}

/// Levels (and the values they define) per `write_batch` call.
const CHUNK: usize = 4096;

/// Write `s` with its levels (max definition level 1) in chunks, each ending at a record
/// boundary (repetition level 0).
fn write_strings(
    w: &mut parquet::column::writer::ColumnWriterImpl<'_, ByteArrayType>,
    s: &Strings,
    defs: Option<&[i16]>,
    reps: Option<&[i16]>,
) -> Result<(), Error> {
    let levels = defs.map_or(s.ends.len(), <[i16]>::len);
    let (mut level, mut value) = (0, 0);
    let mut vals = Vec::with_capacity(CHUNK);
    while level < levels {
        let mut end = (level + CHUNK).min(levels);
        if let Some(r) = reps {
            while end < levels && r[end] != 0 {
                end += 1;
            }
        }
        let n = match defs {
            Some(d) => d[level..end].iter().filter(|x| **x == 1).count(),
            None => end - level,
        };
        vals.clear();
        vals.extend((value..value + n).map(|i| ByteArray::from(s.get(i).to_vec())));
        w.write_batch(
            &vals,
            defs.map(|d| &d[level..end]),
            reps.map(|r| &r[level..end]),
        )?;
        level = end;
        value += n;
    }
    Ok(())
}

/// A buffered leaf column: values, and definition/repetition levels where needed.
enum Col {
    Str {
        vals: Strings,
        defs: Option<Vec<i16>>,
    },
    I64 {
        vals: Vec<i64>,
        defs: Option<Vec<i16>>,
    },
    I32 {
        vals: Vec<i32>,
        defs: Vec<i16>,
    },
    F64 {
        vals: Vec<f64>,
        defs: Vec<i16>,
    },
    /// One leaf (name or value) of a list<struct<name, value>>.
    List {
        vals: Strings,
        defs: Vec<i16>,
        reps: Vec<i16>,
    },
}

impl Col {
    fn clear(&mut self) {
        match self {
            Col::Str { vals, defs } => {
                vals.clear();
                if let Some(d) = defs {
                    d.clear()
                }
            }
            Col::I64 { vals, defs } => {
                vals.clear();
                if let Some(d) = defs {
                    d.clear()
                }
            }
            Col::I32 { vals, defs } => {
                vals.clear();
                defs.clear()
            }
            Col::F64 { vals, defs } => {
                vals.clear();
                defs.clear()
            }
            Col::List { vals, defs, reps } => {
                vals.clear();
                defs.clear();
                reps.clear()
            }
        }
    }
}

/// The buffered row group: one [`Col`] per leaf, in schema order.
struct Buffer {
    cols: Vec<Col>,
    rows: usize,
    bytes: usize,
    at: usize,
}

impl Buffer {
    fn next(&mut self) -> &mut Col {
        let c = &mut self.cols[self.at];
        self.at += 1;
        c
    }
    fn req_str(&mut self, s: &str) {
        if let Col::Str { vals, .. } = self.next() {
            vals.push(s);
        }
    }
    fn opt_str(&mut self, s: Option<&str>) {
        if let Col::Str {
            vals,
            defs: Some(d),
        } = self.next()
        {
            d.push(s.is_some() as i16);
            if let Some(s) = s {
                vals.push(s);
            }
        }
    }
    fn i64(&mut self, v: Option<i64>) {
        if let Col::I64 { vals, defs } = self.next() {
            if let Some(d) = defs {
                d.push(v.is_some() as i16);
            }
            if let Some(v) = v {
                vals.push(v);
            }
        }
    }
    fn i32(&mut self, v: Option<i32>) {
        if let Col::I32 { vals, defs } = self.next() {
            defs.push(v.is_some() as i16);
            if let Some(v) = v {
                vals.push(v);
            }
        }
    }
    fn f64(&mut self, v: Option<f64>) {
        if let Col::F64 { vals, defs } = self.next() {
            defs.push(v.is_some() as i16);
            if let Some(v) = v {
                vals.push(v);
            }
        }
    }
    fn list(&mut self, items: &[NameValue]) {
        for pick in [0, 1] {
            if let Col::List { vals, defs, reps } = self.next() {
                if items.is_empty() {
                    defs.push(0);
                    reps.push(0);
                }
                for (i, p) in items.iter().enumerate() {
                    defs.push(1);
                    reps.push((i > 0) as i16);
                    vals.push(if pick == 0 { &p.name } else { &p.value });
                }
            }
        }
    }

    fn push(&mut self, r: &Row) {
        self.at = 0;
        self.req_str(&r.source);
        self.i64(Some(r.entry));
        self.opt_str(r.page.as_deref());
        self.i64(r.started);
        self.req_str(&r.method);
        self.req_str(&r.url);
        self.opt_str(r.scheme.as_deref());
        self.opt_str(r.host.as_deref());
        self.i32(r.port);
        self.opt_str(r.path.as_deref());
        self.opt_str(r.query.as_deref());
        self.opt_str(r.template.as_deref());
        self.i32(r.status);
        self.opt_str(r.status_text.as_deref());
        self.opt_str(r.http_version.as_deref());
        self.opt_str(r.request_mime.as_deref());
        self.opt_str(r.mime.as_deref());
        self.req_str(&r.resource_type);
        self.list(&r.request_headers);
        self.list(&r.request_cookies);
        self.list(&r.response_headers);
        self.list(&r.response_cookies);
        for v in [
            r.request_headers_size,
            r.request_body_size,
            r.response_headers_size,
            r.response_body_size,
            r.content_size,
            r.transfer_size,
        ] {
            self.i64(v);
        }
        for v in [
            r.time, r.blocked, r.dns, r.connect, r.ssl, r.send, r.wait, r.receive,
        ] {
            self.f64(v);
        }
        for v in [
            &r.server_ip,
            &r.connection,
            &r.error,
            &r.request_body,
            &r.response_body,
            &r.response_body_encoding,
        ] {
            self.opt_str(v.as_deref());
        }
        debug_assert_eq!(self.at, self.cols.len());
        self.rows += 1;
        self.bytes += r.weight();
    }
}

/// Rows to a Parquet file.
pub struct Parquet<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    buf: Buffer,
    max_rows: usize,
}

impl<W: Write + Send> Parquet<W> {
    pub fn new(out: W) -> Result<Self, Error> {
        let schema = Arc::new(parquet::schema::parser::parse_message_type(SCHEMA)?);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(ROW_GROUP_ROWS)
            .set_created_by(format!("hark {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(out, schema.clone(), Arc::new(props))?;
        let descr = writer.schema_descr();
        let mut cols = Vec::new();
        for c in descr.columns() {
            let list = c.max_rep_level() > 0;
            let optional = c.max_def_level() > 0;
            use parquet::basic::Type as T;
            cols.push(match c.physical_type() {
                _ if list => Col::List {
                    vals: Strings::default(),
                    defs: vec![],
                    reps: vec![],
                },
                T::BYTE_ARRAY => Col::Str {
                    vals: Strings::default(),
                    defs: optional.then(Vec::new),
                },
                T::INT64 => Col::I64 {
                    vals: vec![],
                    defs: optional.then(Vec::new),
                },
                T::INT32 => Col::I32 {
                    vals: vec![],
                    defs: vec![],
                },
                _ => Col::F64 {
                    vals: vec![],
                    defs: vec![],
                },
            });
        }
        Ok(Parquet {
            max_rows: ROW_GROUP_ROWS,
            writer,
            buf: Buffer {
                cols,
                rows: 0,
                bytes: 0,
                at: 0,
            },
        })
    }

    /// At most `rows` rows per row group (default [`ROW_GROUP_ROWS`]).
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.clamp(1, ROW_GROUP_ROWS);
        self
    }

    /// Write the last row group and the footer, and hand the writer back.
    pub fn finish(mut self) -> Result<W, Error> {
        self.flush_group()?;
        let mut out = self.writer.into_inner()?;
        out.flush()?;
        Ok(out)
    }

    fn flush_group(&mut self) -> Result<(), Error> {
        if self.buf.rows == 0 {
            return Ok(());
        }
        let mut rg = self.writer.next_row_group()?;
        let mut i = 0;
        while let Some(mut col) = rg.next_column()? {
            match &self.buf.cols[i] {
                Col::Str { vals, defs } => {
                    write_strings(col.typed::<ByteArrayType>(), vals, defs.as_deref(), None)?;
                }
                Col::I64 { vals, defs } => {
                    col.typed::<Int64Type>()
                        .write_batch(vals, defs.as_deref(), None)?;
                }
                Col::I32 { vals, defs } => {
                    col.typed::<Int32Type>()
                        .write_batch(vals, Some(defs), None)?;
                }
                Col::F64 { vals, defs } => {
                    col.typed::<DoubleType>()
                        .write_batch(vals, Some(defs), None)?;
                }
                Col::List { vals, defs, reps } => {
                    write_strings(col.typed::<ByteArrayType>(), vals, Some(defs), Some(reps))?;
                }
            }
            col.close()?;
            i += 1;
        }
        rg.close()?;
        for c in &mut self.buf.cols {
            c.clear();
        }
        self.buf.rows = 0;
        self.buf.bytes = 0;
        Ok(())
    }
}

impl<W: Write + Send> RowSink for Parquet<W> {
    fn add(&mut self, row: &Row) -> Result<(), Error> {
        self.buf.push(row);
        if self.buf.rows >= self.max_rows || self.buf.bytes >= ROW_GROUP_BYTES {
            self.flush_group()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn row(i: usize) -> Row {
        Row {
            source: "t.har".into(),
            entry: i as i64,
            method: "GET".into(),
            url: format!("https://a.test/{i}"),
            status: (!i.is_multiple_of(3)).then_some(200),
            resource_type: "fetch".into(),
            // 0, 1, 2 … 4 headers: empty lists and records across chunk boundaries.
            request_headers: (0..i % 5)
                .map(|k| NameValue {
                    name: format!("h{k}"),
                    value: format!("{i}-{k}"),
                })
                .collect(),
            ..Row::default()
        }
    }

    #[test]
    fn row_groups_and_chunks_round_trip() {
        let mut p = Parquet::new(Vec::new()).unwrap().with_row_group_rows(3000);
        for i in 0..7001 {
            p.add(&row(i)).unwrap();
        }
        let bytes = p.finish().unwrap();
        let r = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(r.metadata().num_row_groups(), 3);
        assert_eq!(r.metadata().file_metadata().num_rows(), 7001);
        for (i, rec) in r.get_row_iter(None).unwrap().enumerate() {
            let text = rec.unwrap().to_string();
            let want = row(i);
            assert!(text.contains(&format!("entry: {i},")), "{text}");
            let headers = want.request_headers.len();
            assert_eq!(text.matches("{name: \"h").count(), headers, "{text}");
            if let Some(h) = want.request_headers.last() {
                assert!(text.contains(&format!("value: \"{}\"", h.value)), "{text}");
            }
            assert_eq!(
                text.contains("status: 200"),
                want.status.is_some(),
                "{text}"
            );
        }
    }
}
