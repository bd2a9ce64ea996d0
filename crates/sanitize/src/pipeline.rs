//! The two passes over a file: `collect` gathers the values, `rewrite` replaces
//! every copy; [`run`] is both, as `hark sanitize` and `hark serve` use them.

use crate::found::Recent;
use crate::found::{digest, Distinct, Edits, EntrySet, Numbering, Secrets, Tally};
use crate::known::{Gathering, Patterns};
use crate::{Error, Options, Report, Sanitizer};
use har::{HarReader, HarWriter, Style};
use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Which pass asks for the input (each reads it once, from the start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// The first: the values are collected.
    Scan,
    /// The second: every copy is replaced (and written, unless auditing).
    Write,
}

/// Sanitize one HAR: the first pass (`collect`) finds the values, they are armed
/// ([`Sanitizer::set_secrets`]), the second pass (`rewrite`) replaces every copy and
/// writes the result to `out` — or nowhere with `None`, an audit (`--check`).
///
/// `open` is called once per pass and must give the same HAR from its start each time
/// (a stream is read twice through a [`crate::Spool`]). The report counts the second
/// pass, with the distinct values of the first.
pub fn run<W, E>(
    opts: &Options,
    mut open: impl FnMut(Pass) -> Result<HarReader, E>,
    threads: usize,
    style: Style,
    out: Option<&mut HarWriter<W>>,
) -> Result<Report, E>
where
    W: Write,
    E: From<Error>,
{
    let mut s = Sanitizer::new(opts.clone())?;
    let first = Arc::new(s.fresh());
    let (secrets, found, seen) = collect(first, open(Pass::Scan)?, threads, style)?;
    s.arm(secrets)?;
    let mut report = rewrite(Arc::new(s), open(Pass::Write)?, threads, style, seen, out)?;
    report.distinct_values = found.distinct_values;
    Ok(report)
}

/// The layout of the HAR `reader` reads, for an output that keeps it: compact when its
/// first entry (or, with none, its log fields) holds no line break, else pretty. Reads
/// the first entry only.
pub fn layout(mut reader: HarReader) -> Result<Style, Error> {
    let pretty = match reader.next_raw()? {
        Some(raw) => memchr::memchr(b'\n', raw.bytes).is_some(),
        None => reader
            .raw_fields()
            .iter()
            .any(|f| memchr::memchr(b'\n', &f.bytes).is_some()),
    };
    Ok(if pretty {
        Style::Pretty
    } else {
        Style::Compact
    })
}

/// What the second pass takes from the first besides the values: which entries are
/// already in the output's layout, and what was read, to check that the second pass
/// reads the same file.
#[derive(Clone, Debug, Default)]
pub(crate) struct Seen {
    /// The entries whose bytes are already in the output style's layout (written as
    /// they are, or as edited, instead of transcoded).
    pub(crate) verbatim: EntrySet,
    /// What the first pass read ([`Shape::of`]).
    pub(crate) shape: Shape,
}

/// How many entries a reader handed out and how many bytes it took from the file, once
/// it is done: the second pass relies on the first pass's findings entry by entry, so a
/// file that changes between them (a recording still being written) must not be
/// sanitized with them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    entries: usize,
    bytes: u64,
}

impl Shape {
    fn of(reader: &HarReader) -> Shape {
        Shape {
            entries: reader.entries_read(),
            bytes: reader.progress().0,
        }
    }
}

/// First pass: every sensitive value in the file, what a sanitized copy would count, and
/// what the second pass needs besides ([`Seen`]).
pub(crate) fn collect(
    s: Arc<Sanitizer>,
    reader: HarReader,
    threads: usize,
    style: Style,
) -> Result<(Secrets, Report, Seen), Error> {
    let mut secrets = Secrets::default();
    let mut report = Report::default();
    let s2 = s.clone();
    let mut touched = EntrySet::default();
    let mut seen = Seen::default();
    // Each value met is numbered, and each distinct one (by a digest of its text) has
    // its patterns gathered as met; all within a fixed memory budget (see `spill`).
    let mut numbering = Numbering::new(s.budget);
    let mut gathering = Gathering::new(0, s.budget);
    let mut distinct = Distinct::new(s.budget);
    let gather = |numbering: &mut Numbering,
                  gathering: &mut Gathering,
                  distinct: &mut Distinct,
                  f: Found|
     -> Result<(), Error> {
        numbering.assign(f.of_kind, f.kind)?;
        if distinct.insert(f.value)? {
            // Without patterns, the worker made them for an earlier entry: added then.
            if let Some(p) = f.patterns {
                gathering.add_patterns(p)?;
            }
        }
        Ok(())
    };
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let budget = s.budget;
    // The borrowed tree: nothing is rewritten in this pass (see `scan`).
    let reader = har::fold(
        reader,
        threads,
        move |raw| {
            raw.parse_lite_with_layout().map(|(e, layout)| {
                let mut t = Tally {
                    dry: true,
                    ..Tally::default()
                };
                s2.scan_entry(&e, &mut t);
                let found = prepare(&s2, run, budget, std::mem::take(&mut t.found));
                (raw.index, layout.is(style), t, found)
            })
        },
        |(index, as_is, et, found): (usize, bool, Tally, Vec<Found>)| -> Result<(), Error> {
            if et.report.total() > 0 || !found.is_empty() {
                touched.insert(index);
            }
            if as_is {
                seen.verbatim.insert(index);
            }
            if et.detector_hit {
                secrets.detected.insert(index);
            }
            report.merge(&et.report);
            for (d, k) in et.seen {
                numbering.assign(d, k)?;
            }
            for f in found {
                gather(&mut numbering, &mut gathering, &mut distinct, f)?;
            }
            Ok(())
        },
    )?;
    if reader.header().outer.contains_key("log") {
        return Err(Error::DuplicateLog(reader.name().to_string()));
    }
    seen.shape = Shape::of(&reader);
    // The log's fields, those after the entries too, once they are all read.
    let mut t = Tally::default();
    let mut header = reader.header().clone();
    s.header(&mut header, &mut t);
    for (d, k) in t.seen {
        numbering.assign(d, k)?;
    }
    for (v, kind) in t.found {
        gather(
            &mut numbering,
            &mut gathering,
            &mut distinct,
            Found::of(&s, v, kind, |_| true),
        )?;
    }
    // The numbering (with the distinct count after it) on a thread of its own while the
    // patterns' table is built here: both sort what the pass recorded, each within its
    // own budget, and neither needs the other. Their memory adds up instead of one
    // after the other: the numbering's two sorts and table take 10 MiB at most.
    let (numbers, gathered) = std::thread::scope(|scope| {
        let numbered = scope.spawn(move || -> Result<_, Error> {
            let numbers = numbering.finish()?;
            Ok((numbers, distinct.count()?))
        });
        let gathered = gathering.finish();
        let numbered = numbered
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (numbered, gathered)
    });
    (secrets.numbers, secrets.distinct) = numbers?;
    secrets.gathered = Some(Arc::new(gathered?));
    report.distinct_values = secrets.len() as u64;
    secrets.touched = Some(touched);
    Ok((secrets, report, seen))
}

/// A value found in an entry, made ready for the numbering and the table by the worker
/// that found it.
struct Found {
    kind: &'static str,
    /// Its digest as a value of its kind (numbered), and as a text (distinct values).
    of_kind: u128,
    value: u128,
    /// Its patterns, unless this thread made them for an earlier entry of this run.
    patterns: Option<Patterns>,
}

impl Found {
    /// `v` of `kind`, with its patterns if `make(its digest)` says so.
    fn of(s: &Sanitizer, v: String, kind: &'static str, make: impl FnOnce(u128) -> bool) -> Found {
        let value = digest("", &v);
        Found {
            kind,
            of_kind: digest(kind, &v),
            value,
            patterns: make(value).then(|| Patterns::of(s, &v, kind)),
        }
    }
}

/// Runs of the first pass in this process: a worker's memory of the values it made
/// patterns for belongs to one.
static RUNS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The values this thread made patterns for lately (by digest), in run `.0`.
    static MADE: RefCell<Option<(u64, Recent)>> = const { RefCell::new(None) };
}

/// The values found in an entry, with their digests, and their patterns unless this
/// thread made them for an earlier entry of the same run (entries reach the first
/// pass's fold in order, and a thread takes its entries in order, so that entry's were
/// added first).
fn prepare(
    s: &Sanitizer,
    run: u64,
    budget: crate::spill::Budget,
    found: Vec<(String, &'static str)>,
) -> Vec<Found> {
    MADE.with(|m| {
        let mut m = m.borrow_mut();
        if m.as_ref().is_none_or(|(r, _)| *r != run) {
            *m = Some((run, Recent::new(budget.recent)));
        }
        let (_, made) = m.as_mut().expect("set above");
        found
            .into_iter()
            .map(|(v, kind)| Found::of(s, v, kind, |d| made.insert(d)))
            .collect()
    })
}

/// Second pass: sanitize every entry (with the secrets of the first pass armed by
/// [`Sanitizer::set_secrets`]) and write them to `out` (or nowhere, for an audit).
/// The entries the first pass found already in `style`'s layout ([`Seen::verbatim`],
/// checked on the same bytes) are written as they are, or as edited, not transcoded.
/// Fails if the entries read are not those the first pass read ([`Seen::shape`]).
pub(crate) fn rewrite<W: Write>(
    s: Arc<Sanitizer>,
    reader: HarReader,
    threads: usize,
    style: Style,
    seen: Seen,
    mut out: Option<&mut HarWriter<W>>,
) -> Result<Report, Error> {
    let Seen { verbatim, shape } = seen;
    let mut report = Report::default();
    let mut t = Tally::default();
    let mut header = reader.header().clone();
    s.header(&mut header, &mut Tally::default());
    if let Some(w) = out.as_deref_mut() {
        w.begin(&header)?;
    }
    let write = out.is_some();
    let s2 = s.clone();
    let reader = har::fold(
        reader,
        threads,
        move |raw| {
            let untouched = s2
                .fast
                .as_ref()
                .is_some_and(|f| !f.touched.contains(raw.index));
            // Exact where the entry may be copied through; in an entry the first pass
            // changed, its own values are most likely there (the first window will do).
            let known_absent = s2.known_absent_by(raw.bytes, untouched);
            let as_is = verbatim.contains(raw.index);
            if untouched && known_absent {
                let bytes = if !write {
                    Vec::new()
                } else if as_is {
                    raw.bytes.to_vec()
                } else {
                    raw.transcode(style)?
                };
                let report = Report {
                    entries: 1,
                    ..Report::default()
                };
                return Ok((bytes, report));
            }
            let detected_nothing = s2.detected_nothing(raw.index);
            // The edit path: the borrowed tree scanned, the changed strings spliced into
            // the raw bytes, re-serialised token by token (as `fmt`); the full path
            // (parse, rewrite, serialise) when edits cannot stand for it.
            if s2.edits_allowed() && !json_escapes(raw.bytes) {
                let lite = raw.parse_lite()?;
                let mut t = Tally {
                    known_absent,
                    detected_nothing,
                    numbered: true,
                    edits: Some(Edits::new(raw.bytes)),
                    ..Tally::default()
                };
                s2.scan_entry(&lite, &mut t);
                let edits = t.edits.take();
                // Every changed string counts a value in the report: with none, the
                // bytes are written as they are (unless a repeated key sends the entry
                // down the full path).
                let unchanged = t.report.total() == 0 && edits.as_ref().is_some_and(|e| !e.failed);
                let spliced = match edits {
                    Some(_) if unchanged => Some(std::borrow::Cow::Borrowed(raw.bytes)),
                    Some(e) => e.apply(raw.bytes).map(std::borrow::Cow::Owned),
                    None => None,
                };
                if let Some(spliced) = spliced {
                    if !write {
                        return Ok((Vec::new(), t.report));
                    }
                    // Edits change only strings' text, each written as JSON: the layout
                    // stays the original's.
                    if as_is {
                        return Ok((spliced.into_owned(), t.report));
                    }
                    let mut out = Vec::with_capacity(spliced.len());
                    if har::transcode::transcode(&spliced, style, 3, &mut out).is_ok() {
                        return Ok((out, t.report));
                    }
                }
            }
            raw.parse().map(|mut e| {
                let mut t = Tally {
                    known_absent,
                    detected_nothing,
                    numbered: true,
                    ..Tally::default()
                };
                s2.entry(&mut e.value, &mut t);
                let bytes = if write {
                    har::entry_bytes(&e.value, style)
                } else {
                    Vec::new()
                };
                (bytes, t.report)
            })
        },
        |(bytes, r): (Vec<u8>, Report)| -> Result<(), Error> {
            if let Some(e) = s.lookup_failed() {
                return Err(Error::Spill(std::io::Error::other(e)));
            }
            report.merge(&r);
            if let Some(w) = out.as_deref_mut() {
                w.serialized_entry(&bytes)?;
            }
            Ok(())
        },
    )?;
    let read = Shape::of(&reader);
    if read != shape {
        let what = if read.entries == shape.entries {
            format!("{} bytes, not {}", read.bytes, shape.bytes)
        } else {
            format!("{} entries, not {}", read.entries, shape.entries)
        };
        return Err(Error::Changed(reader.name().to_string(), what));
    }
    let mut header = reader.header().clone();
    s.header(&mut header, &mut t);
    report.merge(&t.report);
    if let Some(w) = out {
        w.end(&header)?;
    }
    Ok(report)
}

/// Whether raw JSON holds an escape that serialising a parsed copy would spell
/// otherwise (`\u0041`, `\/`): strings are copied as written by the edit path.
fn json_escapes(b: &[u8]) -> bool {
    memchr::memmem::find(b, b"\\u").is_some() || memchr::memmem::find(b, b"\\/").is_some()
}
