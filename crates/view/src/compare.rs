//! Two files side by side (`hark view A --compare B`): their entries paired as `hark
//! diff` pairs them ([`diff::pair()`]: method + templated path, in order of occurrence),
//! each pair marked the same, changed (status, or a response header or JSON field that
//! is not volatile), or only in one file.
//!
//! Computed over the two indexes: the keys come from the rows (method and URL), so the
//! pairs are there at once ([`compare`], a pair with another status already changed);
//! then [`Comparison::finish`] reads each file once more for a fingerprint per entry
//! ([`diff::digest::digest`], volatile values masked, 8 bytes kept per entry) and marks
//! the pairs whose responses differ. Memory is bounded by the indexes, never by the
//! files. What changed in one pair is read back on demand ([`pair_changes`]), as details
//! are.

use crate::index::Index;
use crate::ViewError;
use diff::digest::{self, Settings};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What a pair is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PairState {
    /// Same status, and nothing but volatile values (timestamps, ids, tokens) differ.
    Same,
    Changed,
    OnlyA,
    OnlyB,
}

impl PairState {
    pub fn name(self) -> &'static str {
        match self {
            PairState::Same => "same",
            PairState::Changed => "changed",
            PairState::OnlyA => "onlyA",
            PairState::OnlyB => "onlyB",
        }
    }
}

/// One row of the comparison.
#[derive(Clone, Copy, Debug)]
pub struct PairRow {
    pub a: Option<u32>,
    pub b: Option<u32>,
    /// Into [`Comparison::keys`].
    pub key: u32,
    pub state: PairState,
}

/// How far the comparison of the responses has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Pairs known; only those with another status are marked changed yet.
    Pairing,
    /// Every pair's responses compared.
    Done,
    /// A file could not be read again (the states stay as the statuses say).
    Failed(String),
}

/// Two files compared.
#[derive(Debug)]
pub struct Comparison {
    pub a: Arc<Index>,
    pub b: Arc<Index>,
    /// Pairing keys (`GET /api/items/{itemId}`), each once.
    pub keys: Vec<String>,
    /// The second file's order, then what only the first has (as `hark diff` pairs).
    pub pairs: RwLock<Vec<PairRow>>,
    pub progress: RwLock<Progress>,
}

/// Which pairs to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    All,
    Changed,
    OnlyA,
    OnlyB,
}

impl Show {
    pub fn parse(s: &str) -> Result<Show, ViewError> {
        Ok(match s {
            "" | "all" => Show::All,
            "changed" => Show::Changed,
            "a" | "onlyA" => Show::OnlyA,
            "b" | "onlyB" => Show::OnlyB,
            _ => {
                return Err(ViewError::BadQuery(format!(
                    "show: {s:?} is not one of all, changed, a, b"
                )))
            }
        })
    }
    pub fn admits(self, s: PairState) -> bool {
        match self {
            Show::All => true,
            Show::Changed => s == PairState::Changed,
            Show::OnlyA => s == PairState::OnlyA,
            Show::OnlyB => s == PairState::OnlyB,
        }
    }
}

/// Per entry: status and fingerprint (volatile values masked), `None` when unreadable.
fn fingerprints(idx: &Index, threads: usize) -> Result<Vec<Option<(i64, u64)>>, ViewError> {
    let source = har::Source::open(&idx.path().to_string_lossy())?;
    let reader = har::HarReader::new(source)?;
    let settings = Arc::new(Settings::default());
    let mut out: Vec<Option<(i64, u64)>> = vec![None; idx.len()];
    har::fold(
        reader,
        threads,
        move |raw| {
            Ok((
                raw.index,
                raw.parse_lite().ok().map(|tree| {
                    let (c, _) =
                        digest::digest(har::EntryView(har::Obj::of(Some(&tree))), &settings, false);
                    (c.status, c.fp)
                }),
            ))
        },
        |(i, fp): (usize, Option<(i64, u64)>)| -> Result<(), har::ReadError> {
            if let Some(slot) = out.get_mut(i) {
                *slot = fp;
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// Pair `a` and `b` (waiting until both are indexed), from their indexes alone: a pair
/// is changed when its statuses differ, same otherwise, until [`Comparison::finish`].
pub fn compare(a: Arc<Index>, b: Arc<Index>) -> Comparison {
    a.wait();
    b.wait();
    let opts = diff::KeyOptions::default();
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut keys: Vec<String> = Vec::new();
    let mut key_ids = |idx: &Index| -> Vec<u32> {
        let st = idx.state.read().unwrap();
        // Templating a path is the costly part, and paths repeat (with other queries):
        // each (method, path) is templated once per file.
        let mut seen: HashMap<(u32, &str), u32> = HashMap::new();
        st.rows
            .iter()
            .map(|r| {
                let path = r.path();
                let path = path.split(['?', '#']).next().unwrap_or(path);
                if let Some(&i) = seen.get(&(r.method, path)) {
                    return i;
                }
                let k = diff::key(st.methods.get(r.method), &r.url, opts);
                let i = match ids.get(&k) {
                    Some(&i) => i,
                    None => {
                        let i = keys.len() as u32;
                        keys.push(k.clone());
                        ids.insert(k, i);
                        i
                    }
                };
                seen.insert((r.method, path), i);
                i
            })
            .collect()
    };
    let (ka, kb) = (key_ids(&a), key_ids(&b));
    let status = |idx: &Index| -> Vec<i32> {
        let st = idx.state.read().unwrap();
        st.rows
            .iter()
            .map(|r| if r.failed() { 0 } else { r.status })
            .collect()
    };
    let (sta, stb) = (status(&a), status(&b));
    let pairs = diff::pair(&ka, &kb)
        .into_iter()
        .map(|p| {
            let state = match (p.a, p.b) {
                (Some(i), Some(j)) if sta[i] != stb[j] => PairState::Changed,
                (Some(_), Some(_)) => PairState::Same,
                (Some(_), None) => PairState::OnlyA,
                _ => PairState::OnlyB,
            };
            let key = match (p.a, p.b) {
                (Some(i), _) => ka[i],
                (None, Some(j)) => kb[j],
                (None, None) => 0,
            };
            PairRow {
                a: p.a.map(|i| i as u32),
                b: p.b.map(|j| j as u32),
                key,
                state,
            }
        })
        .collect();
    Comparison {
        a,
        b,
        keys,
        pairs: RwLock::new(pairs),
        progress: RwLock::new(Progress::Pairing),
    }
}

/// How many of `pairs` are in each state: same, changed, only in A, only in B.
pub fn count(pairs: &[PairRow]) -> [usize; 4] {
    let mut n = [0; 4];
    for p in pairs {
        n[p.state as usize] += 1;
    }
    n
}

impl Show {
    /// How many pairs this shows, of `counts` ([`count`]).
    pub fn total(self, counts: [usize; 4]) -> usize {
        match self {
            Show::All => counts.iter().sum(),
            Show::Changed => counts[1],
            Show::OnlyA => counts[2],
            Show::OnlyB => counts[3],
        }
    }
}

impl Comparison {
    /// How many pairs of each state: same, changed, only in A, only in B.
    pub fn counts(&self) -> [usize; 4] {
        count(&self.pairs.read().unwrap())
    }

    /// Compare the responses of every pair (one more pass over each file): a pair is
    /// changed when its status or its fingerprint differs, as `hark diff` decides.
    pub fn finish(&self, threads: usize) {
        let fps =
            fingerprints(&self.a, threads).and_then(|fa| Ok((fa, fingerprints(&self.b, threads)?)));
        let (fa, fb) = match fps {
            Ok(f) => f,
            Err(e) => {
                *self.progress.write().unwrap() = Progress::Failed(e.to_string());
                return;
            }
        };
        for p in self.pairs.write().unwrap().iter_mut() {
            if let (Some(i), Some(j)) = (p.a, p.b) {
                let same = match (fa.get(i as usize), fb.get(j as usize)) {
                    (Some(Some(x)), Some(Some(y))) => x == y,
                    _ => false,
                };
                p.state = if same {
                    PairState::Same
                } else {
                    PairState::Changed
                };
            }
        }
        *self.progress.write().unwrap() = Progress::Done;
    }

    pub fn done(&self) -> bool {
        *self.progress.read().unwrap() != Progress::Pairing
    }
}

/// What changed in one pair: its headers and JSON fields, read back from both files.
pub fn pair_changes(c: &Comparison, p: &PairRow) -> Result<diff::PairChanges, ViewError> {
    let (Some(i), Some(j)) = (p.a, p.b) else {
        return Ok(diff::PairChanges::default());
    };
    let settings = Settings::default();
    let detail = |idx: &Index, n: usize| -> Result<diff::Detail, ViewError> {
        let bytes = idx.entry_bytes(n)?;
        let tree = har::lite::parse(&bytes).map_err(|e| {
            ViewError::Index(format!("{}: log.entries[{n}]: {}", idx.name, e.message))
        })?;
        let (_, d) = digest::digest(har::EntryView(har::Obj::of(Some(&tree))), &settings, true);
        Ok(d.expect("details asked for"))
    };
    let da = detail(&c.a, i as usize)?;
    let db = detail(&c.b, j as usize)?;
    Ok(diff::compare_pair(&da, &db))
}
