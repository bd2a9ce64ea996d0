//! What the first pass hands the second: the values found, and which entries it
//! changed or saw a detector match in.

use crate::known::Gathered;
use crate::spill::{Budget, Fields, FieldsMut, Record, Sorter, Table, TableWriter};
use crate::{Error, Report};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Arc, OnceLock};

/// A hasher keyed with this process's random keys: the digests of values (and the
/// window keys, see `known`) that the tables keep, in memory and in their temporary
/// files, cannot be tried against guesses by anyone without the keys, which never
/// leave memory.
pub(crate) fn keyed() -> impl Hasher {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    STATE.get_or_init(RandomState::new).build_hasher()
}

/// A 128-bit digest of a value of a kind (two keyed SipHash runs): what the numbering
/// keeps instead of the value itself.
pub(crate) fn digest(kind: &str, value: &str) -> u128 {
    let half = |seed: u8| {
        let mut h = keyed();
        seed.hash(&mut h);
        kind.hash(&mut h);
        value.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

/// A 128-bit digest as two `u64`s (the high first), as records and tables keep it.
pub(crate) fn halves(d: u128) -> [u64; 2] {
    [(d >> 64) as u64, d as u64]
}

/// A value's number: its digest (of kind and value) and the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Numbered([u64; 2], u32);

impl Record for Numbered {
    const SIZE: usize = 20;
    type Key = [u64; 2];
    fn key(&self) -> [u64; 2] {
        self.0
    }
    fn put(&self, o: &mut [u8]) {
        FieldsMut(o).digest(self.0).u32(self.1);
    }
    fn get(b: &[u8]) -> Numbered {
        let mut f = Fields(b);
        Numbered(f.digest(), f.u32())
    }
}

/// A value met: its digest, when (the count of values met before), its kind. Sorted by
/// digest then time, or (as [`ByTime`]) by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Met([u64; 2], u64, u16);

impl Record for Met {
    const SIZE: usize = 26;
    type Key = [u64; 2];
    fn key(&self) -> [u64; 2] {
        self.0
    }
    fn put(&self, o: &mut [u8]) {
        FieldsMut(o).digest(self.0).u64(self.1).u16(self.2);
    }
    fn get(b: &[u8]) -> Met {
        let mut f = Fields(b);
        Met(f.digest(), f.u64(), f.u16())
    }
}

/// [`Met`] sorted by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ByTime(Met);

impl PartialOrd for ByTime {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for ByTime {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.0 .1, self.0 .0).cmp(&(o.0 .1, o.0 .0))
    }
}
impl Record for ByTime {
    const SIZE: usize = 26;
    type Key = u64;
    fn key(&self) -> u64 {
        self.0 .1
    }
    fn put(&self, o: &mut [u8]) {
        self.0.put(o)
    }
    fn get(b: &[u8]) -> ByTime {
        ByTime(Met::get(b))
    }
}

/// A digest alone (to count distinct values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Digest(pub(crate) [u64; 2]);

impl Record for Digest {
    const SIZE: usize = 16;
    type Key = [u64; 2];
    fn key(&self) -> [u64; 2] {
        self.0
    }
    fn put(&self, o: &mut [u8]) {
        FieldsMut(o).digest(self.0);
    }
    fn get(b: &[u8]) -> Digest {
        Digest(Fields(b).digest())
    }
}

/// Digests seen lately, to skip most repeats: a direct-mapped table (a digest evicts
/// the one in its slot). `false` only for a digest put in before and still there; a
/// repeat that was evicted is taken for new, which costs a record, never a wrong answer.
pub(crate) struct Recent(Vec<u128>, usize);

impl Recent {
    /// `slots` slots (rounded up to a power of two), made when first used.
    pub(crate) fn new(slots: usize) -> Recent {
        Recent(Vec::new(), slots.max(1).next_power_of_two())
    }
    /// Whether `d` is new lately (and remember it).
    pub(crate) fn insert(&mut self, d: u128) -> bool {
        if self.0.is_empty() {
            self.0 = vec![0; self.1];
        }
        // Digests are keyed hashes: their low bits are as good as any.
        let slot = (d as usize) & (self.0.len() - 1);
        // 0 marks an empty slot: the digest 0 is always taken for new.
        if self.0[slot] == d && d != 0 {
            return false;
        }
        self.0[slot] = d;
        true
    }
}

/// Distinct digests counted within a fixed memory budget.
pub(crate) struct Distinct {
    recent: Recent,
    sorter: Sorter<Digest>,
}

impl Distinct {
    pub(crate) fn new(budget: Budget) -> Distinct {
        Distinct {
            recent: Recent::new(budget.recent),
            sorter: Sorter::new(budget.run),
        }
    }
    /// `d` met; whether it is new lately (not necessarily ever).
    pub(crate) fn insert(&mut self, d: u128) -> Result<bool, Error> {
        if !self.recent.insert(d) {
            return Ok(false);
        }
        self.sorter.push(Digest(halves(d))).map_err(Error::Spill)?;
        Ok(true)
    }
    pub(crate) fn count(self) -> Result<u64, Error> {
        let mut n = 0;
        let mut last = None;
        for d in self.sorter.finish().map_err(Error::Spill)? {
            let d = d.map_err(Error::Spill)?;
            if last != Some(d) {
                n += 1;
                last = Some(d);
            }
        }
        Ok(n)
    }
}

/// The first pass's numbering, within a fixed memory budget: each value met (its
/// digest, when, its kind) is recorded, repeats met lately skipped; [`Numbering::finish`]
/// sorts them by digest (the first meeting of each kept), then by time, numbers them in
/// that order per kind, and sorts the numbers by digest into the [`Numbers`] table.
pub(crate) struct Numbering {
    met: Sorter<Met>,
    recent: Recent,
    time: u64,
    kinds: Vec<&'static str>,
    budget: Budget,
}

impl Numbering {
    pub(crate) fn new(budget: Budget) -> Numbering {
        Numbering {
            met: Sorter::new(budget.run),
            recent: Recent::new(budget.recent),
            time: 0,
            kinds: Vec::new(),
            budget,
        }
    }

    /// The value with this [`digest`] of `kind` met (numbered at its first meeting).
    pub(crate) fn assign(&mut self, d: u128, kind: &'static str) -> Result<(), Error> {
        if !self.recent.insert(d) {
            return Ok(());
        }
        let k = match self.kinds.iter().position(|&x| x == kind) {
            Some(i) => i,
            None => {
                self.kinds.push(kind);
                self.kinds.len() - 1
            }
        };
        self.met
            .push(Met(halves(d), self.time, k as u16))
            .map_err(Error::Spill)?;
        self.time += 1;
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<Numbers, Error> {
        let Numbering {
            met, kinds, budget, ..
        } = self;
        let io = Error::Spill;
        // The first meeting of each value, in time order.
        let mut by_time = Sorter::new(budget.run);
        let mut last = None;
        for m in met.finish().map_err(io)? {
            let m = m.map_err(io)?;
            if last != Some(m.0) {
                last = Some(m.0);
                by_time.push(ByTime(m)).map_err(io)?;
            }
        }
        let mut next = vec![0u32; kinds.len()];
        let mut count = 0;
        let mut numbered = Sorter::new(budget.run);
        for m in by_time.finish().map_err(io)? {
            let ByTime(Met(d, _, k)) = m.map_err(io)?;
            let n = &mut next[k as usize];
            *n += 1;
            numbered.push(Numbered(d, *n)).map_err(io)?;
            count += 1;
        }
        let mut table = TableWriter::new(budget.numbers, budget, Some(count));
        for n in numbered.finish().map_err(io)? {
            table.push(n.map_err(io)?).map_err(io)?;
        }
        Ok(Numbers {
            table: Arc::new(table.finish().map_err(io)?),
            extra: HashMap::new(),
            next: kinds.into_iter().zip(next).collect(),
        })
    }
}

/// The number each distinct value of each kind gets in the placeholders
/// (`[redacted: oauth state #2]`), in the order the first pass met them: a digest per
/// value (never the value), a counter per kind. The first pass's numbers are a table
/// (`Numbering`: in memory while few, else on disk); values given later
/// ([`Secrets::add`]) are numbered on from there.
#[derive(Clone)]
pub struct Numbers {
    table: Arc<Table<Numbered>>,
    extra: HashMap<[u64; 2], u32>,
    next: HashMap<&'static str, u32>,
}

impl Default for Numbers {
    fn default() -> Numbers {
        Numbers {
            table: Arc::new(Table::empty()),
            extra: HashMap::new(),
            next: HashMap::new(),
        }
    }
}

impl std::fmt::Debug for Numbers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Numbers")
            .field("len", &self.len())
            .field("on_disk", &self.table.on_disk())
            .finish()
    }
}

impl Numbers {
    /// Number the value with this [`digest`] of `kind`, if it has none yet.
    pub(crate) fn assign(&mut self, digest: u128, kind: &'static str) {
        if self.of_digest(digest).is_some() {
            return;
        }
        let n = self.next.entry(kind).or_insert(0);
        *n += 1;
        self.extra.insert(halves(digest), *n);
    }
    /// The number of `value` as a `kind`, if the first pass met it.
    pub fn get(&self, kind: &str, value: &str) -> Option<u32> {
        self.of_digest(digest(kind, value))
    }
    /// The number of the value of a kind with this [`digest`].
    pub(crate) fn of_digest(&self, d: u128) -> Option<u32> {
        self.of_halves(halves(d))
    }
    /// [`Numbers::of_digest`] with the digest as [`halves`].
    pub(crate) fn of_halves(&self, h: [u64; 2]) -> Option<u32> {
        if let Some(n) = self.extra.get(&h) {
            return Some(*n);
        }
        let mut n = None;
        self.table.with_key(h, |r| n = Some(r.1));
        n
    }
    pub fn len(&self) -> usize {
        self.table.len() + self.extra.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether the table is on disk.
    #[cfg(test)]
    pub(crate) fn on_disk(&self) -> bool {
        self.table.on_disk()
    }
    /// The error of a lookup on disk that failed, if one did.
    pub(crate) fn failed(&self) -> Option<String> {
        self.table.failed()
    }
}

/// Values found by the first pass, each with its kind. Within a fixed memory budget
/// (tables on disk past it), and one bit per entry.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// Values to search for given by their text ([`Secrets::add`]; the first pass
    /// gathers its own as digests instead).
    pub values: HashMap<String, &'static str>,
    /// The values the first pass found, as patterns (their text not kept).
    pub(crate) gathered: Option<Arc<Gathered>>,
    /// How many distinct values the first pass found.
    pub(crate) distinct: u64,
    /// Set by the first pass (`collect`): the entries in which the first pass redacted (or
    /// remembered) something, one bit per entry. The second pass copies the other
    /// entries through untouched unless one of the values occurs in their bytes; with
    /// `None` it sanitizes every entry.
    pub touched: Option<EntrySet>,
    /// Set by the first pass (`collect`): the entries in which a detector matched. The second pass
    /// runs the detectors only there (elsewhere they would match nothing again: they
    /// see the same strings).
    pub detected: EntrySet,
    /// The number of every value redacted, per kind (see [`Numbers`]).
    pub numbers: Numbers,
}

/// A set of entry indexes (one bit each).
#[derive(Clone, Debug, Default)]
pub struct EntrySet(Vec<u64>);

impl EntrySet {
    pub fn insert(&mut self, i: usize) {
        let w = i / 64;
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (i % 64);
    }
    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    /// How many indexes are in the set.
    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

impl Secrets {
    pub fn len(&self) -> usize {
        self.values.len() + self.distinct as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn add(&mut self, value: String, kind: &'static str) {
        self.numbers.assign(digest(kind, &value), kind);
        self.values.entry(value).or_insert(kind);
    }
}

/// Per-worker results: report counts and (in the first pass) the values found.
#[derive(Debug, Default)]
pub struct Tally {
    pub report: Report,
    pub found: Vec<(String, &'static str)>,
    /// Every value redacted, as a 128-bit digest and its kind, in the order met (numbered
    /// in that order by the first pass).
    pub seen: Vec<(u128, &'static str)>,
    /// No known value occurs in this entry (see [`Sanitizer::known_absent`](crate::Sanitizer::known_absent)): its
    /// strings need not be searched for them.
    pub known_absent: bool,
    /// The detectors matched nothing in this entry in the first pass: they would match
    /// nothing again (they see the same strings), so they are not run.
    pub detected_nothing: bool,
    /// A detector matched in this entry.
    pub detector_hit: bool,
    /// In the second pass's edit path: the strings of the entry's raw bytes that change.
    pub(crate) edits: Option<Edits>,
    /// The first pass: what is redacted is counted and remembered, and replaced by an
    /// empty text (never written) instead of its placeholder.
    pub(crate) dry: bool,
    /// The second pass: the values are numbered already, what is redacted is not
    /// recorded in `seen`.
    pub(crate) numbered: bool,
}

/// The replacements of one entry's strings, located in its raw bytes, collected by the
/// scan of the borrowed tree ([`Sanitizer::scan_entry`](crate::Sanitizer::scan_entry))
/// so a changed entry can be written by splicing them into its bytes instead of
/// parsing, rewriting and serialising it. A string without escapes is a slice of the
/// bytes; one with escapes is found by its escaped text between quotes, which must
/// occur exactly once. `failed` when the splice would not give what the rewriting walk
/// gives: a key is repeated, fields are removed.
#[derive(Debug, Default)]
pub(crate) struct Edits {
    base: usize,
    len: usize,
    list: Vec<(usize, usize, String)>,
    /// Strings with escapes: (their text as JSON, quotes included), new text.
    escaped: Vec<(String, String)>,
    pub(crate) failed: bool,
}

impl Edits {
    pub(crate) fn new(bytes: &[u8]) -> Edits {
        Edits {
            base: bytes.as_ptr() as usize,
            len: bytes.len(),
            ..Edits::default()
        }
    }

    /// `leaf` (a string of the tree over the raw bytes) becomes `new`.
    pub(crate) fn push(&mut self, leaf: &str, new: String) {
        let p = leaf.as_ptr() as usize;
        if p >= self.base && p + leaf.len() <= self.base + self.len {
            let start = p - self.base;
            self.list.push((start, start + leaf.len(), new));
        } else {
            let quoted = serde_json::to_string(leaf).unwrap_or_default();
            self.escaped.push((quoted, new));
        }
    }

    /// The raw bytes with every edit made (each string's new text JSON-escaped), or
    /// `None` when an edit cannot be placed for certain.
    pub(crate) fn apply(mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        if self.failed {
            return None;
        }
        for (quoted, new) in std::mem::take(&mut self.escaped) {
            let q = quoted.as_bytes();
            let at = memchr::memmem::find(bytes, q)?;
            if memchr::memmem::find(&bytes[at + 1..], q).is_some() {
                return None;
            }
            self.list.push((at + 1, at + q.len() - 1, new));
        }
        self.list.sort_unstable_by_key(|e| e.0);
        let mut out = Vec::with_capacity(bytes.len() + 64 * self.list.len());
        let mut last = 0;
        for (start, end, new) in &self.list {
            if *start < last {
                return None;
            }
            out.extend_from_slice(&bytes[last..*start]);
            let esc = serde_json::to_string(new).unwrap_or_default();
            out.extend_from_slice(&esc.as_bytes()[1..esc.len() - 1]);
            last = *end;
        }
        out.extend_from_slice(&bytes[last..]);
        Some(out)
    }
}
