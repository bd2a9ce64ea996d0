//! A per-thread memo of the strings that a leaf of the walk leaves alone.
//!
//! Most strings of a capture repeat from entry to entry (URLs, `User-Agent`, `Accept`,
//! `Referer`, header names, the same script or style sheet). A leaf of the walk
//! (a header, a cookie, a query or form pair, a JSON field, a URL, a body) is a pure
//! function of its text, its context (which leaf, name, location, MIME type) and the
//! entry's flags ([`Tally`]'s `dry`, `numbered`, `known_absent`, `detected_nothing`),
//! given one [`Sanitizer`] armed once. When such a call changes nothing and has no
//! effect at all (nothing counted, kept, remembered, no detector match: see
//! [`effect`]), a 128-bit digest of its inputs goes into a fixed-size direct-mapped
//! table (one per thread, [`SLOTS`] slots of 16 bytes), and the next call with the
//! same inputs returns `None` at once. A call that changes or records anything is
//! always run. So the memo can only skip work whose result is known to be "nothing",
//! and its memory is fixed whatever the file.
//!
//! A slot holds a 64-bit foldhash digest (per-process random seed) of every input with
//! its length, and the lengths of the value and the name: a wrong hit needs two
//! different calls with equal lengths and equal 64-bit digests (about 2^-64 a lookup).

use crate::{Sanitizer, Tally};
use std::cell::{Cell, RefCell};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

/// Slots per thread (16 bytes each: 512 KiB).
pub(crate) const SLOTS: usize = 1 << 15;

/// Which leaf a memoized call is (part of the digest).
#[derive(Clone, Copy)]
pub(crate) enum Leaf {
    Header,
    Cookie,
    NameValue,
    Field,
    Auto,
    Url,
    Body,
    Content,
}

/// Where a memoized call is: the leaf, its location, the name the value is under and
/// any other context (a body's MIME type), as far as the leaf reads them.
pub(crate) struct At<'a>(pub Leaf, pub &'static str, pub &'a str, pub &'a str);

static SEED: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// A number no other [`Sanitizer`] of this process has.
pub(crate) fn serial() -> u64 {
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
thread_local! {
    /// Tests: the memo off (the reference it is compared with), and its hits.
    pub(crate) static OFF: Cell<bool> = const { Cell::new(false) };
    pub(crate) static HITS: Cell<u64> = const { Cell::new(0) };
}

thread_local! {
    static EFFECTS: Cell<u64> = const { Cell::new(0) };
    static TABLE: RefCell<Slots<u128>> = const { RefCell::new(Slots::new()) };
}

/// Something a leaf did besides returning a new text (a value counted, kept,
/// remembered, a detector match): such a call is never memoized.
pub(crate) fn effect() {
    EFFECTS.with(|e| e.set(e.get().wrapping_add(1)));
}

fn effects() -> u64 {
    EFFECTS.with(Cell::get)
}

/// A per-thread direct-mapped table of digests, valid for one scope (a [`Sanitizer`]
/// with its armed values, or a [`Known`](crate::known::Known)): emptied when used for
/// another. 0 marks an empty slot.
pub(crate) struct Slots<T> {
    scope: u64,
    slots: Vec<T>,
}

impl<T: Copy + Default> Slots<T> {
    pub(crate) const fn new() -> Slots<T> {
        Slots {
            scope: 0,
            slots: Vec::new(),
        }
    }

    /// The `n` slots of `scope`.
    pub(crate) fn for_scope(&mut self, scope: u64, n: usize) -> &mut [T] {
        if self.scope != scope || self.slots.len() != n {
            self.slots.clear();
            self.slots.resize(n, T::default());
            self.scope = scope;
        }
        &mut self.slots
    }
}

/// A slot's content for these inputs: a 64-bit foldhash digest (per-process random
/// seed) of all of them with their lengths, and the lengths of the value and the name.
fn digest(location: &'static str, name: &str, extra: &str, value: &str, flags: u8) -> u128 {
    let mut h = SEED.build_hasher();
    // `location` is a literal: its address and length say which one.
    h.write_u64((location.as_ptr() as u64) ^ u64::from(flags) << 56);
    h.write_u64((location.len() as u64) << 32 ^ extra.len() as u64);
    h.write(extra.as_bytes());
    h.write(name.as_bytes());
    h.write(value.as_bytes());
    let lens = (value.len() as u64) << 32 | name.len() as u64;
    // Never 0 (an empty slot).
    (u128::from(h.finish()) << 64 | u128::from(lens)).max(1)
}

/// A 64-bit digest of `b` and its length (per-process random seed).
pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = SEED.build_hasher();
    h.write_usize(b.len());
    h.write(b);
    h.finish()
}

impl Sanitizer {
    /// What the memo's slots are valid for: this sanitizer with the values armed in it
    /// (arming, [`Sanitizer::set_secrets`], gives it a new serial).
    fn memo_scope(&self) -> u64 {
        self.serial
    }

    /// `f(t)`, the leaf `at` on `value` — or `None` at once when the same call left
    /// everything alone before.
    pub(crate) fn memo(
        &self,
        t: &mut Tally,
        at: At<'_>,
        value: &str,
        f: impl FnOnce(&mut Tally) -> Option<String>,
    ) -> Option<String> {
        let At(leaf, location, name, extra) = at;
        #[cfg(test)]
        if OFF.with(Cell::get) {
            return f(t);
        }
        let flags = (leaf as u8) << 4
            | u8::from(t.dry)
            | u8::from(t.numbered) << 1
            | u8::from(t.known_absent) << 2
            | u8::from(t.detected_nothing) << 3;
        let d = digest(location, name, extra, value, flags);
        let scope = self.memo_scope();
        let slot = ((d >> 64) as usize) & (SLOTS - 1);
        let hit = TABLE.with(|tb| tb.borrow_mut().for_scope(scope, SLOTS)[slot] == d);
        if hit {
            #[cfg(test)]
            HITS.with(|h| h.set(h.get() + 1));
            return None;
        }
        let before = effects();
        let r = f(t);
        if r.is_none() && effects() == before {
            TABLE.with(|tb| tb.borrow_mut().for_scope(scope, SLOTS)[slot] = d);
        }
        r
    }
}
