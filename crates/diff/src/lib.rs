//! `hark diff`: pair the entries of two HAR files (method + templated path, in order of
//! occurrence: [`pair()`]) and say what changed — endpoints that appeared or disappeared,
//! statuses, response headers (volatile ones ignored), JSON bodies by path (values that
//! look like timestamps, ids or tokens on both sides *vary*, they do not change), and
//! timings per endpoint (median, p95) beyond a threshold.
//!
//! Memory is bounded by the number of entries times a few dozen bytes, not by the files:
//! the first file is read into [`digest::Compact`]s (key, status, time, fingerprints);
//! the second is paired against them as it streams; only pairs whose fingerprints
//! differ are compared in detail (at most [`Options::max_details`] per endpoint), the
//! first file being read a second time for those entries alone.

pub mod digest;
pub mod pair;

pub use digest::{Settings, VOLATILE_HEADERS};
pub use pair::{glob, key, key_of, pair, template_path, KeyOptions, Pair, Pairer};

pub use digest::Detail;
use digest::{Body, Compact};
use har::{EntryView, HarReader, ReadError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] ReadError),
}

#[derive(Clone, Debug)]
pub struct Options {
    pub settings: Settings,
    /// A timing change is reported when an endpoint's median (from [`MIN_SAMPLES`]
    /// requests on each side) or p95 (from [`MIN_SAMPLES_P95`]) moved by more than this
    /// many milliseconds *and* at least doubled or halved.
    pub timing_threshold_ms: f64,
    /// Pairs compared in detail per endpoint (the others are counted).
    pub max_details: usize,
    pub threads: usize,
    /// Only these entries of the first file (by index) take part (`hark replay`: the
    /// ones it sent); `None`: all.
    pub a_only: Option<Arc<HashSet<usize>>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            settings: Settings::default(),
            timing_threshold_ms: 500.0,
            max_details: 20,
            threads: 2,
            a_only: None,
        }
    }
}

/// An entry that could not be read, skipped.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    pub entry: usize,
    pub line: u64,
    pub error: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Side {
    pub file: String,
    pub entries: usize,
    pub skipped: Vec<Skipped>,
    /// Entries left out by [`Options::a_only`].
    pub left_out: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusChange {
    pub from: i64,
    pub to: i64,
    pub count: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// A header or JSON field that changed, with the first values seen and how many pairs.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub name: String,
    pub kind: ChangeKind,
    pub a: Option<String>,
    pub b: Option<String>,
    pub count: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    pub a_median_ms: f64,
    pub a_p95_ms: f64,
    pub b_median_ms: f64,
    pub b_p95_ms: f64,
    /// Beyond the threshold: a change.
    pub changed: bool,
}

/// One endpoint (pairing key) and what changed there.
#[derive(Clone, Debug, Serialize)]
pub struct Endpoint {
    pub key: String,
    /// The first URL seen for it.
    pub example: String,
    pub a_count: u32,
    pub b_count: u32,
    pub appeared: u32,
    pub disappeared: u32,
    pub status: Vec<StatusChange>,
    pub headers: Vec<Change>,
    pub body: Vec<Change>,
    /// JSON paths whose values differ but look like timestamps, ids or tokens on both
    /// sides (from the pairs compared in detail).
    pub varies: Vec<String>,
    /// Pairs that differ only in such values.
    pub varying_pairs: u32,
    /// Changed pairs not compared in detail (beyond `max_details`).
    pub undetailed: u32,
    pub timing: Option<Timing>,
    /// Anything here a change (not only variation)?
    pub changed: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub a: Side,
    pub b: Side,
    pub paired: usize,
    /// Anything meaningful changed (the exit status).
    pub changed: bool,
    /// Every endpoint, in order of first appearance (A, then B).
    pub endpoints: Vec<Endpoint>,
}

enum Item {
    Entry(Compact, Option<Detail>),
    Skipped(Skipped),
}

fn read_item(raw: &har::RawEntry<'_>, s: &Settings, detail: bool) -> Item {
    match raw.parse_lite() {
        Ok(tree) => {
            let (c, d) = digest::digest(EntryView(har::Obj::of(Some(&tree))), s, detail);
            Item::Entry(c, d)
        }
        Err(e) => Item::Skipped(Skipped {
            entry: raw.index,
            line: raw.pos.line,
            error: e.to_string(),
        }),
    }
}

#[derive(Default)]
struct Acc {
    key: String,
    example: String,
    a_times: Vec<f32>,
    b_times: Vec<f32>,
    appeared: u32,
    disappeared: u32,
    status: BTreeMap<(i64, i64), u32>,
    headers: BTreeMap<String, Change>,
    body: BTreeMap<String, Change>,
    varies: std::collections::BTreeSet<String>,
    varying_pairs: u32,
    detailed: usize,
    undetailed: u32,
}

struct Keys {
    ids: HashMap<String, u32>,
    acc: Vec<Acc>,
}

impl Keys {
    fn id(&mut self, key: &str) -> u32 {
        if let Some(&i) = self.ids.get(key) {
            return i;
        }
        let i = self.acc.len() as u32;
        self.ids.insert(key.to_string(), i);
        self.acc.push(Acc {
            key: key.to_string(),
            ..Acc::default()
        });
        i
    }
}

struct ASlot {
    key: u32,
    status: i64,
    fp: u64,
    raw: u64,
}

/// Compare `b` with the file `open_a` opens (called once, and a second time when some
/// pairs differ).
pub fn diff(
    open_a: &dyn Fn() -> Result<HarReader, ReadError>,
    b: HarReader,
    opts: &Options,
) -> Result<Report, Error> {
    let settings = Arc::new(opts.settings.clone());
    let mut keys = Keys {
        ids: HashMap::new(),
        acc: Vec::new(),
    };
    let reader = open_a()?;
    let mut side_a = Side {
        file: reader.name().to_string(),
        ..Side::default()
    };
    // Pass 1: the first file, compact.
    let mut a: Vec<Option<ASlot>> = Vec::new();
    let s = settings.clone();
    har::fold(
        reader,
        opts.threads,
        move |raw| Ok(read_item(&raw, &s, false)),
        |item| -> Result<(), Error> {
            side_a.entries += 1;
            if opts.a_only.as_ref().is_some_and(|o| !o.contains(&a.len())) {
                side_a.left_out += 1;
                a.push(None);
                return Ok(());
            }
            match item {
                Item::Entry(c, _) => {
                    let k = keys.id(&c.key);
                    let acc = &mut keys.acc[k as usize];
                    acc.a_times.push(c.time as f32);
                    a.push(Some(ASlot {
                        key: k,
                        status: c.status,
                        fp: c.fp,
                        raw: c.raw,
                    }));
                }
                Item::Skipped(sk) => {
                    side_a.skipped.push(sk);
                    a.push(None);
                }
            }
            Ok(())
        },
    )?;
    // Keyed by the keys' ids (an entry that could not be read: `None`, never taken).
    let mut pairer = Pairer::new(a.iter().map(|slot| slot.as_ref().map(|s| s.key)));
    // Pass 2: the second file, paired as it comes.
    let mut side_b = Side {
        file: b.name().to_string(),
        ..Side::default()
    };
    let mut wanted: HashMap<usize, Detail> = HashMap::new();
    let mut paired = 0;
    let s = settings.clone();
    har::fold(
        b,
        opts.threads,
        move |raw| Ok(read_item(&raw, &s, true)),
        |item| -> Result<(), Error> {
            side_b.entries += 1;
            let (c, d) = match item {
                Item::Entry(c, d) => (c, d),
                Item::Skipped(sk) => {
                    side_b.skipped.push(sk);
                    return Ok(());
                }
            };
            let k = keys.id(&c.key);
            let acc = &mut keys.acc[k as usize];
            acc.b_times.push(c.time as f32);
            let d = d.expect("details asked for");
            if acc.example.is_empty() {
                acc.example = d.url.clone();
            }
            let Some(i) = pairer.take(&Some(k)) else {
                acc.appeared += 1;
                return Ok(());
            };
            paired += 1;
            let slot = a[i].as_ref().expect("a read entry");
            if slot.status != c.status {
                *acc.status.entry((slot.status, c.status)).or_default() += 1;
            }
            if slot.fp != c.fp {
                if acc.detailed < opts.max_details {
                    acc.detailed += 1;
                    wanted.insert(i, d);
                } else {
                    acc.undetailed += 1;
                }
            } else if slot.raw != c.raw {
                acc.varying_pairs += 1;
            }
            Ok(())
        },
    )?;
    for i in pairer.unpaired() {
        if let Some(slot) = &a[i] {
            keys.acc[slot.key as usize].disappeared += 1;
        }
    }
    // Pass 3: the first file again, details of the entries whose pair differs.
    if !wanted.is_empty() {
        let want: Arc<HashSet<usize>> = Arc::new(wanted.keys().copied().collect());
        let s = settings.clone();
        har::fold(
            open_a()?,
            opts.threads,
            move |raw| {
                Ok(if want.contains(&raw.index) {
                    Some((raw.index, read_item(&raw, &s, true)))
                } else {
                    None
                })
            },
            |item| -> Result<(), Error> {
                let Some((i, Item::Entry(_, Some(da)))) = item else {
                    return Ok(());
                };
                let (Some(db), Some(slot)) = (wanted.remove(&i), a[i].as_ref()) else {
                    return Ok(());
                };
                let acc = &mut keys.acc[slot.key as usize];
                if acc.example.is_empty() {
                    acc.example = da.url.clone();
                }
                compare(&da, &db, acc);
                Ok(())
            },
        )?;
    }
    // The report.
    let mut changed_any = false;
    let mut endpoints = Vec::new();
    for acc in keys.acc {
        let timing = timing(&acc.a_times, &acc.b_times, opts.timing_threshold_ms);
        let changed = acc.appeared > 0
            || acc.disappeared > 0
            || !acc.status.is_empty()
            || !acc.headers.is_empty()
            || !acc.body.is_empty()
            || acc.undetailed > 0
            || timing.as_ref().is_some_and(|t| t.changed);
        changed_any |= changed;
        endpoints.push(Endpoint {
            key: acc.key,
            example: acc.example,
            a_count: acc.a_times.len() as u32,
            b_count: acc.b_times.len() as u32,
            appeared: acc.appeared,
            disappeared: acc.disappeared,
            status: acc
                .status
                .into_iter()
                .map(|((from, to), count)| StatusChange { from, to, count })
                .collect(),
            headers: acc.headers.into_values().collect(),
            body: acc.body.into_values().collect(),
            varies: acc.varies.into_iter().collect(),
            varying_pairs: acc.varying_pairs,
            undetailed: acc.undetailed,
            timing,
            changed,
        });
    }
    changed_any |= side_a.skipped.len() != side_b.skipped.len();
    Ok(Report {
        a: side_a,
        b: side_b,
        paired,
        changed: changed_any,
        endpoints,
    })
}

fn note(list: &mut Vec<Change>, name: &str, a: Option<&str>, b: Option<&str>) {
    let kind = match (a, b) {
        (Some(_), None) => ChangeKind::Removed,
        (None, Some(_)) => ChangeKind::Added,
        _ => ChangeKind::Changed,
    };
    list.push(Change {
        name: name.to_string(),
        kind,
        a: a.map(digest::preview),
        b: b.map(digest::preview),
        count: 1,
    });
}

/// What differs between the details of one pair: response headers (volatile ones left
/// out as [`Settings`] says), JSON fields by path (or the body as a whole), and the JSON
/// paths whose values differ but look volatile on both sides.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PairChanges {
    pub headers: Vec<Change>,
    pub body: Vec<Change>,
    pub varies: Vec<String>,
}

/// Compare the details of one pair (what `hark diff` counts per endpoint, and the
/// viewer's compare mode shows per pair). Each change has `count` 1.
pub fn compare_pair(a: &Detail, b: &Detail) -> PairChanges {
    let mut out = PairChanges::default();
    for (name, (ma, va)) in &a.headers {
        match b.headers.get(name) {
            Some((mb, _)) if mb == ma => {}
            Some((_, vb)) => note(&mut out.headers, name, Some(va), Some(vb)),
            None => note(&mut out.headers, name, Some(va), None),
        }
    }
    for (name, (_, vb)) in &b.headers {
        if !a.headers.contains_key(name) {
            note(&mut out.headers, name, None, Some(vb));
        }
    }
    match (&a.body, &b.body) {
        (Body::Json(la), Body::Json(lb)) => {
            for (path, x) in la {
                match lb.get(path) {
                    Some(y) if x.hash == y.hash => {}
                    Some(y) if x.volatile && y.volatile => out.varies.push(path.clone()),
                    Some(y) => note(&mut out.body, path, Some(&x.preview), Some(&y.preview)),
                    None => note(&mut out.body, path, Some(&x.preview), None),
                }
            }
            for (path, y) in lb {
                if !la.contains_key(path) {
                    note(&mut out.body, path, None, Some(&y.preview));
                }
            }
        }
        (Body::Text { len: l1, hash: h1 }, Body::Text { len: l2, hash: h2 }) => {
            if h1 != h2 {
                note(
                    &mut out.body,
                    "(body)",
                    Some(&format!("{l1} bytes")),
                    Some(&format!("{l2} bytes")),
                );
            }
        }
        (Body::None, Body::None) => {}
        (x, y) => {
            let kind = |b: &Body| match b {
                Body::None => "no body".to_string(),
                Body::Json(_) => "JSON".to_string(),
                Body::Text { len, .. } => format!("{len} bytes"),
            };
            note(&mut out.body, "(body)", Some(&kind(x)), Some(&kind(y)));
        }
    }
    out
}

/// One pair's changes counted into its endpoint (the first values seen are kept).
fn compare(a: &Detail, b: &Detail, acc: &mut Acc) {
    let c = compare_pair(a, b);
    for (list, map) in [(c.headers, &mut acc.headers), (c.body, &mut acc.body)] {
        for ch in list {
            map.entry(ch.name.clone())
                .or_insert(Change { count: 0, ..ch })
                .count += 1;
        }
    }
    acc.varies.extend(c.varies);
}

/// Timings per side from which an endpoint's median is compared.
pub const MIN_SAMPLES: usize = 3;
/// Timings per side from which an endpoint's p95 is compared.
pub const MIN_SAMPLES_P95: usize = 20;

fn quantile(sorted: &[f32], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64
}

fn timing(a: &[f32], b: &[f32], threshold: f64) -> Option<Timing> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let sort = |v: &[f32]| {
        let mut v = v.to_vec();
        v.sort_by(f32::total_cmp);
        v
    };
    let (sa, sb) = (sort(a), sort(b));
    let t = Timing {
        a_median_ms: quantile(&sa, 0.5),
        a_p95_ms: quantile(&sa, 0.95),
        b_median_ms: quantile(&sb, 0.5),
        b_p95_ms: quantile(&sb, 0.95),
        changed: false,
    };
    // One or two timings are noise (a cold connection, a busy machine): medians count
    // from MIN_SAMPLES on each side, p95s from MIN_SAMPLES_P95.
    let moved = |x: f64, y: f64| (y - x).abs() > threshold && y.max(x) > 2.0 * y.min(x);
    let n = a.len().min(b.len());
    Some(Timing {
        changed: (n >= MIN_SAMPLES && moved(t.a_median_ms, t.b_median_ms))
            || (n >= MIN_SAMPLES_P95 && moved(t.a_p95_ms, t.b_p95_ms)),
        ..t
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn timings_need_samples_and_a_real_move() {
        let one = super::timing(&[10.0], &[900.0], 500.0).unwrap();
        assert!(!one.changed, "one request each is noise");
        let slow = super::timing(&[10.0, 12.0, 11.0], &[900.0, 950.0, 990.0], 500.0).unwrap();
        assert!(slow.changed);
        assert_eq!(slow.b_median_ms, 950.0);
        let same = super::timing(&[600.0, 610.0, 620.0], &[800.0, 810.0, 820.0], 100.0).unwrap();
        assert!(!same.changed, "not doubled");
    }
}
