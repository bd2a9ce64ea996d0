//! The second pass's search for the values the first pass found: every value and its
//! encoded forms as digests behind six-byte windows ([`Known`]: a fixed size per
//! pattern whatever the value's length; in memory while few, else on disk behind a
//! filter and an index, see [`crate::spill`]), and the prefilters that let most entries
//! be copied through without being parsed (windows in the raw bytes, escapes that
//! could hide one, base64 content decoded).

use crate::found::{halves, keyed};
use crate::spill::{Budget, Fields, FieldsMut, Record, Sorter, Table, TableWriter};
use crate::text::{self, decode_base64, unreserved};
use crate::{EntrySet, Error, Mode, Sanitizer, Secrets};
use aho_corasick::{AhoCorasick, MatchKind};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::hash::Hasher;
use std::ops::Range;
use std::sync::{Arc, OnceLock, RwLock};

/// The bytes of a window: six URL-unreserved characters of a pattern.
const W: usize = 6;

/// How a pattern's replacement is spelled: the value's placeholder as is, or encoded
/// like the pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Form {
    Plain,
    Pct,
    DoublePct,
    B64Std,
    B64Url,
}

const FORMS: [Form; 5] = [
    Form::Plain,
    Form::Pct,
    Form::DoublePct,
    Form::B64Std,
    Form::B64Url,
];

/// How a value's replacement is made (the value's text is not kept; a JWT's redacted
/// form is made again from the text matched, when it is replaced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Rep {
    /// `[redacted: kind #n]`, the number looked up by the digest of kind and value
    /// (see [`Numbers`](crate::Numbers)).
    Numbered,
    /// `[redacted: kind #…]` with the value's keyed hash (`--hash-key`).
    Hash,
    /// A JWT: its header and safe claims kept, rendered from the matched text.
    Jwt,
    /// Rendered from the value's text, kept aside (a JWT spelled with other
    /// characters: rare).
    Value,
    /// A replacement text kept aside, as it is.
    Text,
    /// Nothing (`--remove`).
    Empty,
}

const REPS: [Rep; 6] = [
    Rep::Numbered,
    Rep::Hash,
    Rep::Jwt,
    Rep::Value,
    Rep::Text,
    Rep::Empty,
];

/// The kinds of values, by number, for patterns that name theirs in 16 bits.
fn kinds() -> &'static RwLock<Vec<&'static str>> {
    static KINDS: OnceLock<RwLock<Vec<&'static str>>> = OnceLock::new();
    KINDS.get_or_init(|| RwLock::new(Vec::new()))
}

fn kind_id(kind: &'static str) -> u32 {
    if let Some(i) = kinds()
        .read()
        .ok()
        .and_then(|k| k.iter().position(|&x| x == kind))
    {
        return i as u32;
    }
    let mut k = kinds().write().unwrap_or_else(|e| e.into_inner());
    match k.iter().position(|&x| x == kind) {
        Some(i) => i as u32,
        None => {
            k.push(kind);
            (k.len() - 1).min(u16::MAX as usize) as u32
        }
    }
}

fn kind_name(id: u32) -> &'static str {
    kinds()
        .read()
        .ok()
        .and_then(|k| k.get(id as usize).copied())
        .unwrap_or("secret")
}

/// One pattern: a value or one of its encoded forms, known by its digest only
/// (40 bytes), with what its replacement needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pat {
    /// Its window's key ([`window_key`], 48 bits) in the high bits, where the window
    /// starts in the pattern in the low 16.
    key: u64,
    digest: u64,
    len: u32,
    /// [`Form`] (3 bits), [`Rep`] (3 bits), kind (16 bits, from bit 8).
    meta: u32,
    /// [`Rep::Numbered`]: the digest of kind and value; [`Rep::Hash`]: the hash;
    /// [`Rep::Value`], [`Rep::Text`]: the index of the text kept aside.
    val: [u64; 2],
}

impl Pat {
    fn window(&self) -> u64 {
        self.key >> 16
    }
    fn off(&self) -> usize {
        (self.key & 0xffff) as usize
    }
    pub(crate) fn form(&self) -> Form {
        FORMS[(self.meta & 7) as usize]
    }
    fn rep(&self) -> Rep {
        REPS[((self.meta >> 3) & 7) as usize]
    }
    fn kind(&self) -> &'static str {
        kind_name(self.meta >> 8)
    }
    /// Where the pattern would be in `text` with its window at `i`, if it fits there.
    fn span(&self, text: &[u8], i: usize) -> Option<Range<usize>> {
        let start = i.checked_sub(self.off())?;
        let end = start + self.len as usize;
        (end <= text.len()).then_some(start..end)
    }
    /// Where the pattern is in `text` with its window at `i`, if it is: it fits, and the
    /// bytes there have its digest.
    fn at(&self, text: &[u8], i: usize) -> Option<Range<usize>> {
        self.span(text, i)
            .filter(|r| digest_bytes(&text[r.clone()]) == self.digest)
    }
    /// Whether every byte of the pattern is URL-unreserved (see [`LITERAL`]).
    fn literal(&self) -> bool {
        self.meta & LITERAL != 0
    }
}

/// A pattern's flag (in `meta`, bit 6): its bytes are all URL-unreserved, so they are
/// written as they are at any depth of JSON, percent- or form-encoding. Such a pattern
/// is in a decoded string of raw bytes (without the escapes of
/// [`escapes_need_decoding`]) only where its very bytes are in the raw bytes.
const LITERAL: u32 = 1 << 6;

impl Record for Pat {
    const SIZE: usize = 40;
    type Key = u64;
    fn key(&self) -> u64 {
        self.window()
    }
    fn put(&self, o: &mut [u8]) {
        let mut f = FieldsMut(o);
        f.u64(self.key)
            .u64(self.digest)
            .u32(self.len)
            .u32(self.meta);
        f.digest(self.val);
    }
    fn get(b: &[u8]) -> Pat {
        let mut f = Fields(b);
        Pat {
            key: f.u64(),
            digest: f.u64(),
            len: f.u32(),
            meta: f.u32(),
            val: f.digest(),
        }
    }
}

/// A pattern and the order it was added in, sorted by window (then length and digest,
/// so equal patterns meet and the first added is kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Added(Pat, u64);

impl Added {
    fn order(&self) -> (u64, u32, u64, u64) {
        (self.0.key, self.0.len, self.0.digest, self.1)
    }
}
impl PartialOrd for Added {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Added {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.order().cmp(&o.order())
    }
}
impl Record for Added {
    const SIZE: usize = 48;
    type Key = u64;
    fn key(&self) -> u64 {
        self.0.window()
    }
    fn put(&self, o: &mut [u8]) {
        self.0.put(&mut o[..Pat::SIZE]);
        FieldsMut(&mut o[Pat::SIZE..]).u64(self.1);
    }
    fn get(b: &[u8]) -> Added {
        Added(Pat::get(b), Fields(&b[Pat::SIZE..]).u64())
    }
}

/// Calls `f(i, key)` for each `i` where six URL-unreserved bytes start in `text` — the
/// only places a window can be — with their [`window_key`], until `f` says `true`
/// (then `true`).
fn each_window(text: &[u8], mut f: impl FnMut(usize, u64) -> bool) -> bool {
    let mut run = 0;
    // The last six bytes as a little-endian number (the first in the low byte).
    let mut w = 0u64;
    for (i, &c) in text.iter().enumerate() {
        if unreserved(c) {
            w = w >> 8 | u64::from(c) << 40;
            run += 1;
            if run >= W && f(i + 1 - W, window_key(w)) {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// A window's key: its six bytes mixed with this process's random keys (48 bits), so
/// the tables — on disk too — hold no fragment of a value.
fn window_key(w: u64) -> u64 {
    let (k1, k2) = window_keys();
    (w ^ k1).wrapping_mul(k2) >> 16
}

fn window_keys() -> (u64, u64) {
    static KEYS: OnceLock<(u64, u64)> = OnceLock::new();
    *KEYS.get_or_init(|| {
        let mut a = keyed();
        a.write_u8(1);
        let mut b = keyed();
        b.write_u8(2);
        (a.finish(), b.finish() | 1)
    })
}

/// A 64-bit digest of a pattern's bytes, keyed like [`window_key`] (a candidate must
/// also have its length and its window where the pattern has them).
pub(crate) fn digest_bytes(b: &[u8]) -> u64 {
    let mut h = keyed();
    h.write(b);
    h.finish()
}

/// Which windows a pattern table holds, 20 bits per pattern, three bits set in one
/// 64-bit word: a window that is not there is ruled out with one memory read.
struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    fn new(n: usize) -> Bloom {
        Bloom {
            words: vec![0; (n * 20 / 64).max(1 << 10)],
        }
    }
    fn at(&self, k: u64) -> (usize, u64) {
        let i = ((u128::from(k) * self.words.len() as u128) >> 48) as usize;
        let m = 1u64 << (k & 63) | 1u64 << ((k >> 6) & 63) | 1u64 << ((k >> 12) & 63);
        (i, m)
    }
    fn insert(&mut self, k: u64) {
        let (i, m) = self.at(k);
        self.words[i] |= m;
    }
    fn may_hold(&self, k: u64) -> bool {
        let (i, m) = self.at(k);
        self.words[i] & m == m
    }
}

/// Patterns gathered one at a time, their text not kept (only where a pattern has no
/// window), sorted within a fixed memory budget ([`Sorter`]). A pattern added twice is
/// kept once, the first added (see [`Known::find`]). The first pass gathers each value's
/// patterns as it meets the value ([`Patterns::of`]), so no value's text
/// outlives its entry.
pub(crate) struct Gathering {
    sorter: Sorter<Added>,
    added: u64,
    loose_pats: Vec<String>,
    loose: Vec<Pat>,
    /// Texts kept aside ([`Rep::Value`], [`Rep::Text`]), numbered from `aside_base`.
    aside: Vec<Box<str>>,
    aside_base: usize,
    budget: Budget,
}

impl Gathering {
    /// Texts kept aside are numbered from `aside_base` (after another table's).
    pub(crate) fn new(aside_base: usize, budget: Budget) -> Gathering {
        Gathering {
            budget,
            sorter: Sorter::new(budget.run),
            added: 0,
            loose_pats: Vec::new(),
            loose: Vec::new(),
            aside: Vec::new(),
            aside_base,
        }
    }

    /// A value's patterns, made by [`Patterns::of`] (on any thread), added in the order
    /// this is called.
    pub(crate) fn add_patterns(&mut self, p: Patterns) -> Result<(), Error> {
        let Patterns {
            mut windowed,
            mut loose,
            aside,
        } = p;
        if let Some(t) = aside {
            let i = self.aside(&t);
            windowed.iter_mut().for_each(|p| p.val[0] = i);
            loose.iter_mut().for_each(|(_, p)| p.val[0] = i);
        }
        self.push(windowed, loose)
    }

    fn push(&mut self, windowed: Vec<Pat>, loose: Vec<(String, Pat)>) -> Result<(), Error> {
        for p in windowed {
            self.sorter
                .push(Added(p, self.added))
                .map_err(Error::Spill)?;
            self.added += 1;
        }
        for (t, p) in loose {
            self.loose_pats.push(t);
            self.loose.push(p);
        }
        Ok(())
    }

    fn aside(&mut self, t: &str) -> u64 {
        self.aside.push(t.into());
        (self.aside_base + self.aside.len() - 1) as u64
    }

    #[cfg(test)]
    fn add(&mut self, p: &str, meta: u32, val: [u64; 2]) -> Result<(), Error> {
        let mut ps = Patterns::default();
        ps.add(p, meta, val);
        self.push(ps.windowed, ps.loose)
    }

    /// The patterns sorted into their table (on disk past the budget's `patterns`), behind a
    /// filter of their windows.
    pub(crate) fn finish(self) -> Result<Gathered, Error> {
        let Gathering {
            sorter,
            added,
            loose_pats,
            loose,
            aside,
            aside_base,
            budget,
        } = self;
        let mut bloom = Bloom::new(added as usize);
        let mut w = TableWriter::new(budget.patterns, budget, Some(added as usize));
        let mut last: Option<Pat> = None;
        for a in sorter.finish().map_err(Error::Spill)? {
            let Added(p, _) = a.map_err(Error::Spill)?;
            // Equal patterns are adjacent, the first added first: it is the one kept.
            if last.is_some_and(|l| (l.key, l.len, l.digest) == (p.key, p.len, p.digest)) {
                continue;
            }
            last = Some(p);
            bloom.insert(p.window());
            w.push(p).map_err(Error::Spill)?;
        }
        let table = w.finish().map_err(Error::Spill)?;
        let cores = (loose_pats.len() <= MAX_CORES)
            .then(|| loose_pats.iter().map(|t| Core::of(t)).collect())
            .flatten();
        let loose = if loose_pats.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&loose_pats)
                .map_err(|e| Error::Automaton(e.to_string()))?;
            Some((ac, loose))
        };
        Ok(Gathered {
            table,
            bloom,
            loose,
            cores,
            aside,
            aside_base,
        })
    }
}

/// A value's patterns, made where the value was found (a worker thread), added to a
/// [`Gathering`] in the order values are met.
#[derive(Debug, Default)]
pub(crate) struct Patterns {
    windowed: Vec<Pat>,
    loose: Vec<(String, Pat)>,
    /// The text kept aside for [`Rep::Value`]; its index is set when added.
    aside: Option<Box<str>>,
}

impl Patterns {
    /// A value of `kind` and its encoded forms (URL-encoded once and twice, form- and
    /// lower-case-encoded, percent-decoded, base64 both ways, JSON-escaped), replaced as
    /// `s` renders the value.
    pub(crate) fn of(s: &Sanitizer, v: &str, kind: &'static str) -> Patterns {
        let mut ps = Patterns::default();
        let (rep, val) = ps.rep(s, kind, v);
        let meta = (rep as u32) << 3 | kind_id(kind) << 8;
        let mut add = |p: &str, form: Form| ps.add(p, meta | form as u32, val);
        let enc = text::pct_encode(v);
        if enc != *v {
            add(&enc, Form::Pct);
            // Encoded twice (`%253D`).
            add(&text::pct_encode(&enc), Form::DoublePct);
            if v.contains(' ') {
                add(&text::form_encode(v), Form::Pct);
            }
            // Lower-case hex, as some encoders write it.
            let lower = text::pct_lower(&enc);
            if lower != enc {
                add(&lower, Form::Pct);
            }
        }
        if v.contains('%') {
            if let Some(d) = text::pct_decode(v, false) {
                if d != *v && d.len() >= 6 {
                    add(&d, Form::Plain);
                }
            }
        }
        if v.len() >= 8 {
            let std = STANDARD_NO_PAD.encode(v);
            let url = URL_SAFE_NO_PAD.encode(v);
            add(&std, Form::B64Std);
            // The same text added again would never be the one found (the first wins).
            if url != std {
                add(&url, Form::B64Url);
            }
        }
        // JSON-escaped form, for text that embeds JSON (`\/`, `\u0026` …).
        // (Only `"`, `\\` and control characters are escaped.)
        if v.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            let esc = serde_json::to_string(v).unwrap_or_default();
            let esc = &esc[1..esc.len().saturating_sub(1).max(1)];
            if esc != v {
                add(esc, Form::Plain);
            }
        }
        add(v, Form::Plain);
        ps
    }

    /// How `value` of `kind` will be replaced in the second pass (see [`Rep`]).
    ///
    /// Shaped like a JWT is enough for [`Rep::Jwt`] (not decoding it here saves most of
    /// the work): one that does not decode is rendered, when replaced, exactly as
    /// [`Rep::Numbered`] or [`Rep::Hash`] would render it.
    fn rep(&mut self, s: &Sanitizer, kind: &'static str, v: &str) -> (Rep, [u64; 2]) {
        match &s.mode {
            Mode::Remove => (Rep::Empty, [0, 0]),
            _ if jwt_shaped(v) => {
                if v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
                {
                    (Rep::Jwt, [0, 0])
                } else {
                    self.aside = Some(v.into());
                    (Rep::Value, [0, 0])
                }
            }
            Mode::Placeholder => (Rep::Numbered, halves(crate::found::digest(kind, v))),
            Mode::Hash(key) => (Rep::Hash, [Sanitizer::hmac64(key, v), 0]),
        }
    }

    fn add(&mut self, p: &str, meta: u32, val: [u64; 2]) {
        let b = p.as_bytes();
        if b.is_empty() {
            return;
        }
        // The last window (the most random end of tokens that share a prefix), found
        // from the end.
        let off = (0..=b.len().saturating_sub(W))
            .rev()
            .find(|&o| b.len() >= o + W && b[o..o + W].iter().all(|&c| unreserved(c)))
            .filter(|&o| o <= u16::MAX as usize);
        let key = off.map_or(0, |o| {
            let mut w = [0u8; 8];
            w[..W].copy_from_slice(&b[o..o + W]);
            window_key(u64::from_le_bytes(w)) << 16 | o as u64
        });
        let literal = if b.iter().all(|&c| unreserved(c)) {
            LITERAL
        } else {
            0
        };
        let pat = Pat {
            key,
            digest: digest_bytes(b),
            len: b.len() as u32,
            meta: meta | literal,
            val,
        };
        match off {
            Some(_) => self.windowed.push(pat),
            None => self.loose.push((p.to_string(), pat)),
        }
    }
}

/// `eyJ…` and three parts: what [`Sanitizer::redact_jwt`] checks before decoding.
fn jwt_shaped(v: &str) -> bool {
    v.split_once('.').is_some_and(|(h, rest)| {
        h.starts_with("eyJ")
            && rest
                .split_once('.')
                .is_some_and(|(_, sig)| !sig.contains('.'))
    })
}

/// A table of patterns made by [`Gathering::finish`].
pub(crate) struct Gathered {
    table: Table<Pat>,
    bloom: Bloom,
    /// The patterns without a window, and theirs.
    loose: Option<(AhoCorasick, Vec<Pat>)>,
    /// The same patterns by their runs of unreserved bytes, when there are few enough
    /// to look each up in a text (see [`Core`]).
    cores: Option<Vec<Core>>,
    aside: Vec<Box<str>>,
    aside_base: usize,
}

impl std::fmt::Debug for Gathered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gathered")
            .field("patterns", &self.table.len())
            .field("on_disk", &self.table.on_disk())
            .finish()
    }
}

impl Gathered {
    pub(crate) fn is_empty(&self) -> bool {
        self.table.len() == 0 && self.loose.is_none()
    }

    /// Whether the table is on disk.
    #[cfg(test)]
    pub(crate) fn on_disk(&self) -> bool {
        self.table.on_disk()
    }

    /// The number of texts kept aside (the next table's are numbered after them).
    pub(crate) fn aside_end(&self) -> usize {
        self.aside_base + self.aside.len()
    }

    fn with_window(&self, k: u64, f: impl FnMut(&Pat)) {
        if self.bloom.may_hold(k) {
            self.table.with_key(k, f);
        }
    }

    fn holds(&self, k: u64) -> bool {
        let mut any = false;
        self.with_window(k, |_| any = true);
        any
    }
}

/// At most this many patterns without a window are looked up one by one by
/// [`Known::absent_from`] (more: it rules nothing out).
const MAX_CORES: usize = 16;

/// A pattern without a window, as its runs of unreserved bytes, in order. Every
/// unreserved byte of a decoded string (JSON escapes at any depth, percent- and
/// form-encoding) is that same byte in the raw bytes, in the same order (the escapes that
/// spell one otherwise, [`escapes_need_decoding`], are ruled out before): where a decoded
/// string holds the pattern, the raw bytes hold each run as it is, one after the other.
struct Core(Vec<Box<[u8]>>);

impl Core {
    /// `None` for a text without an unreserved byte.
    fn of(t: &str) -> Option<Core> {
        let runs: Vec<Box<[u8]>> = t
            .as_bytes()
            .split(|&c| !unreserved(c))
            .filter(|r| !r.is_empty())
            .map(Box::from)
            .collect();
        (!runs.is_empty()).then_some(Core(runs))
    }

    /// Whether the pattern may be in a decoded string of `text`, raw bytes without the
    /// escapes of [`escapes_need_decoding`]: its runs are there in order.
    fn may_be_in(&self, text: &[u8]) -> bool {
        let mut at = 0;
        self.0
            .iter()
            .all(|r| match memchr::memmem::find(&text[at..], r) {
                Some(j) => {
                    at += j + r.len();
                    true
                }
                None => false,
            })
    }
}

/// The known values: the first pass's table of patterns, then that of the values given
/// by their text ([`Secrets::values`]). A text is searched by looking its six-byte
/// windows up (a filter, then the table); a candidate is confirmed by the digest of the
/// bytes where the pattern would be. Patterns without such a window (rare: values with
/// spaces or punctuation every few characters) go to a small Aho-Corasick automaton.
pub(crate) struct Known {
    sets: Vec<Arc<Gathered>>,
    /// This set of tables among all of the process (what [`CLEAN`] is for).
    serial: u64,
}

/// Slots of [`CLEAN`] per thread (8 bytes each: 128 KiB).
const CLEAN_SLOTS: usize = 1 << 14;

thread_local! {
    /// Strings in which [`Known`] `.0` certainly has no pattern, whatever surrounds them
    /// (see [`Known::absent_from`]), by a 64-bit digest of their bytes and length
    /// (per-process random seed, as [`crate::memo`]'s): most strings of a capture repeat
    /// (URLs, headers, bodies), and each is searched once. Direct-mapped, fixed size.
    static CLEAN: std::cell::RefCell<crate::memo::Slots<u64>> = const { std::cell::RefCell::new(crate::memo::Slots::new()) };
}

impl Known {
    /// `list`'s patterns (pattern, value, form), value `i` replaced by `values[i]`'s
    /// text; the first of equal patterns kept.
    #[cfg(test)]
    pub(crate) fn build(
        list: Vec<(String, u32, Form)>,
        values: Vec<(String, &'static str)>,
    ) -> Result<Known, Error> {
        let mut g = Gathering::new(0, Budget::default());
        let ids: Vec<u64> = values.iter().map(|(t, _)| g.aside(t)).collect();
        for (p, value, form) in list {
            let meta =
                form as u32 | (Rep::Text as u32) << 3 | kind_id(values[value as usize].1) << 8;
            g.add(&p, meta, [ids[value as usize], 0])?;
        }
        Ok(Known {
            sets: vec![Arc::new(g.finish()?)],
            serial: crate::memo::serial(),
        })
    }

    /// Whether a pattern may occur in `text` (`false`: certainly not): one of the
    /// windows is there. Every pattern's window is made of characters that JSON (at any
    /// depth) and percent- or form-encoding write as they are, so a pattern in any
    /// decoded string of an entry leaves its window in the entry's raw bytes too —
    /// unless the bytes spell such a character otherwise (`\u0041`, `%41`) or hold
    /// base64 content, which [`raw_needs_decoding`] reports. A pattern without a window
    /// may occur where its runs of unreserved bytes are ([`Core`]); with more than
    /// [`MAX_CORES`] such patterns, always `true`.
    pub(crate) fn may_occur(&self, text: &[u8]) -> bool {
        self.loose_may_be_in(text) || each_window(text, |_, k| self.sets.iter().any(|g| g.holds(k)))
    }

    /// Whether a pattern without a window may be in a decoded string of `text` (see
    /// [`Core`]); `true` when there are too many such patterns to look each up.
    fn loose_may_be_in(&self, text: &[u8]) -> bool {
        self.sets.iter().any(|g| {
            g.loose.is_some()
                && g.cores
                    .as_ref()
                    .is_none_or(|cores| cores.iter().any(|c| c.may_be_in(text)))
        })
    }

    /// Whether no pattern occurs in any decoded string of `text`, raw bytes without the
    /// escapes of [`escapes_need_decoding`] (`false`: perhaps one does). Like
    /// [`Known::may_occur`], but where a window is there, the pattern is confirmed or
    /// ruled out by the digest of the bytes where it would be, when those are the
    /// bytes any decoded string has there: always for a [`LITERAL`] pattern, and for
    /// another when no escape (`%`, `\`, `+`) is near enough to change them. Else it
    /// counts as there.
    pub(crate) fn absent_from(&self, text: &[u8]) -> bool {
        if self.loose_may_be_in(text) {
            return false;
        }
        CLEAN.with(|c| {
            let mut c = c.borrow_mut();
            let clean = c.for_scope(self.serial, CLEAN_SLOTS);
            // Windows are unreserved bytes: none spans a quote, so the text is searched
            // string by string (a pattern's bytes are read in the whole text).
            let mut from = 0;
            for to in memchr::memchr_iter(b'"', text).chain([text.len()]) {
                let (a, seg) = (from, &text[from..to]);
                from = to + 1;
                if seg.len() < W {
                    continue;
                }
                let d = crate::memo::hash_bytes(seg).max(1);
                let slot = &mut clean[d as usize & (CLEAN_SLOTS - 1)];
                if *slot == d {
                    continue;
                }
                // Whether every pattern with a window here was ruled out by the bytes
                // of this string alone: a pattern of unreserved bytes cannot span a
                // quote, another is read (with the escapes before it) within the string.
                let mut local = true;
                let there = each_window(seg, |j, k| {
                    let i = a + j;
                    let mut there = false;
                    for g in &self.sets {
                        g.with_window(k, |p| {
                            if there {
                                return;
                            }
                            let (off, len) = (p.off(), p.len as usize);
                            there = p.span(text, i).is_some_and(|r| {
                                digest_bytes(&text[r.clone()]) == p.digest
                                    || !p.literal() && escape_near(text, r)
                            });
                            if !p.literal() && (j < off + 2 || j + len - off > seg.len()) {
                                local = false;
                            }
                        });
                        if there {
                            break;
                        }
                    }
                    there
                });
                if there {
                    return false;
                }
                if local {
                    *slot = d;
                }
            }
            true
        })
    }

    /// Whether [`Known::may_occur`] can rule anything out: every pattern has a window,
    /// or few enough have none to be looked up one by one.
    pub(crate) fn anchored(&self) -> bool {
        self.sets
            .iter()
            .all(|g| g.loose.is_none() || g.cores.is_some())
    }

    /// Every occurrence of a pattern in `text`, leftmost first, the longest at one
    /// start, none overlapping: (range, pattern).
    pub(crate) fn find(&self, text: &[u8]) -> Vec<(Range<usize>, Pat)> {
        let mut hits: Vec<(Range<usize>, Pat)> = Vec::new();
        each_window(text, |i, k| {
            for g in &self.sets {
                g.with_window(k, |p| {
                    if let Some(r) = p.at(text, i) {
                        hits.push((r, *p));
                    }
                });
            }
            false
        });
        for g in &self.sets {
            if let Some((ac, pats)) = &g.loose {
                for m in ac.find_iter(text) {
                    hits.push((m.range(), pats[m.pattern().as_usize()]));
                }
            }
        }
        hits.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut out = Vec::new();
        let mut last = 0;
        for (r, p) in hits {
            if r.start < last {
                continue;
            }
            last = r.end;
            out.push((r, p));
        }
        out
    }

    /// The error of a lookup on disk that failed, if one did (lookups found nothing
    /// since: what was made with them is not to be trusted).
    pub(crate) fn failed(&self) -> Option<String> {
        self.sets.iter().find_map(|g| g.table.failed())
    }

    fn aside(&self, i: u64) -> &str {
        let i = i as usize;
        self.sets
            .iter()
            .find(|g| (g.aside_base..g.aside_end()).contains(&i))
            .map_or("", |g| &g.aside[i - g.aside_base])
    }
}

impl Sanitizer {
    /// The replacement of `matched`, a match of pattern `p`, and the value's kind.
    pub(crate) fn replacement(&self, k: &Known, p: &Pat, matched: &str) -> (String, &'static str) {
        let kind = p.kind();
        let form = p.form();
        let r = match p.rep() {
            Rep::Numbered => match self.numbers.of_halves(p.val) {
                Some(n) => format!("[redacted: {kind} #{n}]"),
                None => format!("[redacted: {kind}]"),
            },
            Rep::Hash => format!("[redacted: {kind} #{:016x}]", p.val[0]),
            Rep::Text => k.aside(p.val[0]).to_string(),
            Rep::Empty => String::new(),
            Rep::Value => self.render(kind, k.aside(p.val[0])),
            Rep::Jwt => match decode_form(form, matched) {
                Some(v) => self.render(kind, &v),
                None => format!("[redacted: {kind}]"),
            },
        };
        let r = match form {
            Form::Plain => r,
            Form::Pct => text::pct_encode(&r),
            Form::DoublePct => text::pct_encode(&text::pct_encode(&r)),
            Form::B64Std => STANDARD_NO_PAD.encode(&r),
            Form::B64Url => URL_SAFE_NO_PAD.encode(&r),
        };
        (r, kind)
    }
}

/// The value a match in `form` spells (for [`Rep::Jwt`]: the forms of a JWT).
fn decode_form(form: Form, m: &str) -> Option<String> {
    match form {
        Form::Plain => Some(m.to_string()),
        Form::Pct => text::pct_decode(m, false),
        Form::DoublePct => text::pct_decode(&text::pct_decode(m, false)?, false),
        Form::B64Std => String::from_utf8(STANDARD_NO_PAD.decode(m).ok()?).ok(),
        Form::B64Url => String::from_utf8(URL_SAFE_NO_PAD.decode(m).ok()?).ok(),
    }
}

/// What the second pass needs to copy an entry through without parsing it: the entries
/// the first pass changed (the others are copied unless a known value may occur in
/// their bytes, see [`Known::may_occur`]).
pub(crate) struct FastPath {
    pub(crate) touched: EntrySet,
    pub(crate) detected: EntrySet,
}

impl Sanitizer {
    /// Arm the second pass: every value in `secrets` (and its URL-encoded, form-encoded
    /// and base64 forms) is replaced wherever it occurs.
    pub fn set_secrets(&mut self, secrets: &Secrets) -> Result<(), Error> {
        self.numbers = secrets.numbers.clone();
        self.arm_values(secrets)
    }

    /// [`Sanitizer::set_secrets`] taking the first pass's result, whose numbering is
    /// moved, not copied.
    pub(crate) fn arm(&mut self, mut secrets: Secrets) -> Result<(), Error> {
        self.numbers = std::mem::take(&mut secrets.numbers);
        self.arm_values(&secrets)
    }

    /// The values of `secrets` (numbered by `self.numbers`) armed for the second pass:
    /// those the first pass gathered (in the order met), then those of
    /// [`Secrets::values`] in a fixed order (the first value to claim a pattern keeps it).
    fn arm_values(&mut self, secrets: &Secrets) -> Result<(), Error> {
        // What the memo of unchanged strings knew is for the values armed before.
        self.serial = crate::memo::serial();
        let mut sets = Vec::new();
        if let Some(g) = secrets.gathered.as_ref().filter(|g| !g.is_empty()) {
            sets.push(g.clone());
        }
        if !secrets.values.is_empty() {
            let base = secrets.gathered.as_ref().map_or(0, |g| g.aside_end());
            let mut own = Gathering::new(base, self.budget);
            let mut sorted: Vec<(&String, &&'static str)> = secrets.values.iter().collect();
            sorted.sort();
            for (v, kind) in sorted {
                own.add_patterns(Patterns::of(self, v, kind))?;
            }
            let own = own.finish()?;
            if !own.is_empty() {
                sets.push(Arc::new(own));
            }
        }
        self.fast = secrets.touched.as_ref().map(|touched| FastPath {
            touched: touched.clone(),
            detected: secrets.detected.clone(),
        });
        self.known = if sets.is_empty() {
            None
        } else {
            Some(Known {
                sets,
                serial: crate::memo::serial(),
            })
        };
        Ok(())
    }

    /// Why a lookup in a table on disk failed, if one did: what the second pass made
    /// since is not to be trusted.
    pub(crate) fn lookup_failed(&self) -> Option<String> {
        self.known
            .as_ref()
            .and_then(|k| k.failed())
            .or_else(|| self.numbers.failed())
    }

    /// Whether the entry `index` with these raw bytes comes out of [`Sanitizer::entry`]
    /// unchanged, so it can be copied through (re-serialised token by token) without
    /// being parsed: the first pass changed nothing in it and no known value can occur
    /// in it. Conservative: `false` whenever in doubt.
    pub fn untouched(&self, index: usize, bytes: &[u8]) -> bool {
        self.fast
            .as_ref()
            .is_some_and(|f| !f.touched.contains(index))
            && self.known_absent(bytes)
    }

    /// Whether no detector matched in entry `index` in the first pass (see
    /// [`Secrets::detected`]).
    pub fn detected_nothing(&self, index: usize) -> bool {
        self.fast
            .as_ref()
            .is_some_and(|f| !f.detected.contains(index))
    }

    /// Whether no known value can occur in any (decoded) string of the entry with
    /// these raw bytes. Conservative: `false` whenever in doubt.
    ///
    /// Base64 response content is decoded here (as [`Sanitizer::entry`] decodes it)
    /// and checked like the raw bytes, so such entries are copied through too when
    /// nothing in them can change.
    pub fn known_absent(&self, bytes: &[u8]) -> bool {
        self.known_absent_by(bytes, true)
    }

    /// [`Sanitizer::known_absent`]; with `exact` false, a window of a pattern is taken
    /// for the pattern ([`Known::may_occur`]: quicker where one is likely there).
    pub(crate) fn known_absent_by(&self, bytes: &[u8], exact: bool) -> bool {
        let Some(k) = &self.known else {
            return true;
        };
        if !self.raw_prefilter || !k.anchored() || escapes_need_decoding(bytes) {
            return false;
        }
        let absent = if exact {
            k.absent_from(bytes)
        } else {
            !k.may_occur(bytes)
        };
        if !absent {
            return false;
        }
        if memchr::memmem::find(bytes, b"_webSocketMessages").is_some() {
            return false; // binary frames are decoded
        }
        !has_base64_encoding(bytes) || base64_content_clear(k, bytes)
    }
}

/// Whether a pattern could be in a decoded string at `span` of `text` ([`Pat::span`])
/// spelled otherwise than by the raw bytes there: an escape (`%XX`, `\\x`, `+`: `\\u`
/// is ruled out before) starts in them or reaches into them from the two bytes before.
/// Else each byte of the pattern there would be the raw byte as it is.
fn escape_near(text: &[u8], span: Range<usize>) -> bool {
    text[span.start.saturating_sub(2)..span.end]
        .iter()
        .any(|&b| matches!(b, b'%' | b'\\' | b'+'))
}

/// Whether raw entry bytes may hide an unreserved character behind an encoding the
/// sanitizer decodes: a JSON `\u` escape (at any nesting depth the bytes hold `\u`),
/// `\/`, a percent escape of an unreserved character or of `%` itself, or base64
/// content.
pub(crate) fn raw_needs_decoding(b: &[u8]) -> bool {
    escapes_need_decoding(b) || has_base64_marker(b)
}

/// Whether raw bytes may hold base64 the sanitizer decodes: an `encoding` of `"base64"`
/// in any case (`"Base64"`, `"BASE64"`), or WebSocket messages (binary frames).
pub(crate) fn has_base64_marker(b: &[u8]) -> bool {
    memchr::memmem::find(b, b"_webSocketMessages").is_some() || has_base64_encoding(b)
}

/// Whether raw bytes hold the string `"base64"` in any case (an `encoding`).
fn has_base64_encoding(b: &[u8]) -> bool {
    memchr::memmem::find_iter(b, b"64\"")
        .any(|i| i >= 5 && b[i - 5] == b'"' && b[i - 4..i].eq_ignore_ascii_case(b"base"))
}

/// [`raw_needs_decoding`] without the base64 content: escapes only.
pub(crate) fn escapes_need_decoding(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(j) = memchr::memchr2(b'\\', b'%', &b[i..]) {
        let at = i + j;
        let next = b.get(at + 1).copied();
        if b[at] == b'\\' {
            if matches!(next, Some(b'u' | b'/')) {
                return true;
            }
        } else if let (Some(h), Some(l)) = (next, b.get(at + 2).copied()) {
            if let (Some(h), Some(l)) = (har::pct::hexval(h), har::pct::hexval(l)) {
                let c = h * 16 + l;
                if unreserved(c) || c == b'%' {
                    return true;
                }
            }
        }
        i = at + 1;
    }
    false
}

/// For an entry whose raw bytes hold no anchor of a known value and no escape that
/// hides one: whether its base64 response content (the only base64 that
/// [`Sanitizer::entry`] decodes: `response.content` with `"encoding": "base64"`),
/// decoded, holds none either and no escape or base64 marker of its own. `false`
/// when in doubt (the entry is not a JSON object, the text is not a string, …).
pub(crate) fn base64_content_clear(k: &Known, bytes: &[u8]) -> bool {
    use har::{Json, JsonObject, Kind};
    let Ok(tree) = har::lite::parse(bytes) else {
        return false;
    };
    let Some(content) = tree
        .as_object()
        .and_then(|e| e.get("response"))
        .and_then(|r| r.as_object())
        .and_then(|r| r.get("content"))
    else {
        return true;
    };
    let Some(c) = content.as_object() else {
        return true;
    };
    if !c
        .get("encoding")
        .and_then(|e| e.as_str())
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"))
    {
        return true;
    }
    let Some(text) = c.get("text") else {
        return true;
    };
    if text.kind() != Kind::String {
        return false;
    }
    let Some(decoded) = decode_base64(text.as_str().unwrap_or("")) else {
        return true; // left as it is by the full path
    };
    !raw_needs_decoding(&decoded) && k.absent_from(&decoded)
}
