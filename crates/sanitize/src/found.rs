//! What the first pass hands the second: the values found, and which entries it
//! changed or saw a detector match in.

use crate::known::Builder;
use crate::Report;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// A 128-bit digest of a value of a kind (two SipHash runs): what the numbering keeps
/// instead of the value itself.
pub(crate) fn digest(kind: &str, value: &str) -> u128 {
    let half = |seed: u8| {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        kind.hash(&mut h);
        value.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

fn halves(d: u128) -> [u64; 2] {
    [(d >> 64) as u64, d as u64]
}

/// The number each distinct value of each kind gets in the placeholders
/// (`[redacted: oauth state #2]`), in the order the first pass met them: a digest per
/// value (never the value), a counter per kind.
#[derive(Clone, Debug, Default)]
pub struct Numbers {
    /// By digest, as two halves (24 bytes a slot, where a `u128` key takes 32).
    of: HashMap<[u64; 2], u32>,
    next: HashMap<&'static str, u32>,
}

impl Numbers {
    /// Number the value with this [`digest`] of `kind`, if it has none yet.
    pub(crate) fn assign(&mut self, digest: u128, kind: &'static str) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.of.entry(halves(digest)) {
            let n = self.next.entry(kind).or_insert(0);
            *n += 1;
            e.insert(*n);
        }
    }
    /// The number of `value` as a `kind`, if the first pass met it.
    pub fn get(&self, kind: &str, value: &str) -> Option<u32> {
        self.of_digest(digest(kind, value))
    }
    /// The number of the value of a kind with this [`digest`].
    pub(crate) fn of_digest(&self, d: u128) -> Option<u32> {
        self.of.get(&halves(d)).copied()
    }
    pub fn len(&self) -> usize {
        self.of.len()
    }
    pub fn is_empty(&self) -> bool {
        self.of.is_empty()
    }
}

/// Values found by the first pass, each with its kind. Grows with distinct secrets only
/// (a fixed size per value, and one bit per entry).
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// Values to search for given by their text ([`Secrets::add`]; the first pass
    /// gathers its own as digests instead).
    pub values: HashMap<String, &'static str>,
    /// The values the first pass found, as patterns (their text not kept), in the
    /// order met.
    pub(crate) gathered: Builder,
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
}

impl Secrets {
    pub fn len(&self) -> usize {
        self.values.len() + self.gathered.len()
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
