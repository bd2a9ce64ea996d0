//! `export` — HAR entries in other shapes: code that sends each request again
//! ([`mod@code`]: curl, HTTPie, Python `requests`, JavaScript `fetch`, k6) and one flat row
//! per entry ([`row`]) written as JSON lines or Parquet ([`table`]), so DuckDB, Spark,
//! Trino or DataFusion query many HARs at once. The schema is in docs/export.md.
//!
//! Everything streams over `har::fold`: each entry becomes a [`code::Request`] or a
//! [`row::Row`] on the workers and is written in file order; memory is bounded by one
//! Parquet row group.

pub mod code;
pub mod row;
pub mod table;

pub use code::{CodeWriter, Lang, Request};
pub use row::{NameValue, Row, COLUMNS};
pub use table::{Jsonl, Parquet, RowSink};

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// Maps a method and URL to a templated path (`/users/{userId}`): `hark surface`'s.
pub type Templates = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

/// Every entry of `reader` as a snippet to `w`; `source` names the file in the comments.
pub fn code<W: std::io::Write>(
    reader: har::HarReader,
    threads: usize,
    source: &str,
    w: &mut CodeWriter<W>,
) -> Result<usize, Error> {
    let mut n = 0;
    let source = source.to_string();
    har::fold(
        reader,
        threads,
        |raw| {
            let tree = raw.parse_lite()?;
            Ok((
                raw.index,
                Request::of(har::EntryView(har::Obj::of(Some(&tree)))),
            ))
        },
        |(index, req)| -> Result<(), Error> {
            w.entry(&format!("{source} entry {index}"), &req)?;
            n += 1;
            Ok(())
        },
    )?;
    Ok(n)
}

/// Every entry of `reader` as a [`Row`] into `sink`. `source` fills the `source`
/// column; `templates`, when given, the `template` one.
pub fn rows(
    reader: har::HarReader,
    threads: usize,
    source: &str,
    bodies: bool,
    templates: Option<Templates>,
    sink: &mut dyn RowSink,
) -> Result<usize, Error> {
    let mut n = 0;
    let src: Arc<str> = source.into();
    har::fold(
        reader,
        threads,
        move |raw| {
            let tree = raw.parse_lite()?;
            let e = har::EntryView(har::Obj::of(Some(&tree)));
            let mut row = Row::of(e, &src, raw.index, bodies);
            if let Some(t) = &templates {
                row.template = t(&row.method, &row.url);
            }
            Ok(row)
        },
        |row| -> Result<(), Error> {
            sink.add(&row)?;
            n += 1;
            Ok(())
        },
    )?;
    Ok(n)
}
