//! The second pass's search for the values the first pass found: every value and its
//! encoded forms ([`Sanitizer::set_secrets`]) as digests behind six-byte windows
//! ([`Known`]: memory per value fixed, whatever its length), and the prefilters that let
//! most entries be copied through without being parsed (windows in the raw bytes,
//! escapes that could hide one, base64 content decoded).

use crate::text::{self, decode_base64, unreserved};
use crate::{EntrySet, Error, Sanitizer, Secrets};
use aho_corasick::{AhoCorasick, MatchKind};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::hash::{DefaultHasher, Hasher};
use std::ops::Range;

/// The bytes of a window: six URL-unreserved characters of a pattern.
const W: usize = 6;

/// How a pattern's replacement is spelled: the value's placeholder as is, or encoded
/// like the pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    Plain,
    Pct,
    DoublePct,
    B64Std,
    B64Url,
}

/// One pattern: a value or one of its encoded forms, known by its digest only.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pat {
    digest: u64,
    len: u32,
    /// Index in [`Known::values`].
    value: u32,
    form: Form,
    /// Where its window starts.
    off: u16,
}

/// The known values, in a structure whose size does not depend on their text: per
/// pattern a 128-bit digest, its length, and one *window* (its last run of six
/// URL-unreserved bytes, the most random end of tokens that share a prefix) in a sorted
/// table behind a bit filter. A text is searched by looking its six-byte windows up;
/// a candidate is confirmed by the digest of the bytes where the pattern would be.
/// Patterns without such a window (rare: values with spaces or punctuation every few
/// characters) go to a small Aho-Corasick automaton.
pub(crate) struct Known {
    /// Per value: its placeholder (or redacted JWT) and kind.
    pub(crate) values: Vec<(String, &'static str)>,
    pats: Vec<Pat>,
    /// (window as a number, pattern), sorted.
    windows: Vec<(u64, u32)>,
    filter: Vec<u64>,
    /// log2 of the filter's bits: about 32 per window, 64 KiB to 4 MiB.
    filter_bits: u32,
    /// The patterns without a window, and theirs.
    loose: Option<(AhoCorasick, Vec<u32>)>,
}

fn window_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w[..W].copy_from_slice(&b[i..i + W]);
    u64::from_le_bytes(w)
}

fn filter_index(w: u64, bits: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// A 64-bit digest of a pattern's bytes (a candidate must also have its length and its
/// window where the pattern has them).
pub(crate) fn digest_bytes(b: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(b);
    h.finish()
}

impl Known {
    /// `list`'s patterns (pattern, value, form), the first of equal ones kept.
    #[cfg(test)]
    pub(crate) fn build(
        list: Vec<(String, u32, Form)>,
        values: Vec<(String, &'static str)>,
    ) -> Result<Known, Error> {
        let mut b = Builder::default();
        for (p, value, form) in list {
            b.add(&p, value, form);
        }
        b.finish(values)
    }
}

/// Patterns gathered one at a time, their text not kept (only where a pattern has no
/// window). A pattern added twice is found twice, and the first added wins (see
/// [`Known::find`]).
#[derive(Default)]
pub(crate) struct Builder {
    pats: Vec<Pat>,
    windows: Vec<(u64, u32)>,
    loose_pats: Vec<String>,
    loose_ids: Vec<u32>,
}

impl Builder {
    pub(crate) fn is_empty(&self) -> bool {
        self.pats.is_empty()
    }

    pub(crate) fn add(&mut self, p: &str, value: u32, form: Form) {
        let b = p.as_bytes();
        if b.is_empty() {
            return;
        }
        let off = (0..=b.len().saturating_sub(W))
            .rev()
            .find(|&o| b.len() >= o + W && b[o..o + W].iter().all(|&c| unreserved(c)))
            .filter(|&o| o <= u16::MAX as usize);
        let id = self.pats.len() as u32;
        match off {
            Some(o) => self.windows.push((window_at(b, o), id)),
            None => {
                self.loose_pats.push(p.to_string());
                self.loose_ids.push(id);
            }
        }
        self.pats.push(Pat {
            digest: digest_bytes(b),
            len: b.len() as u32,
            value,
            form,
            off: off.unwrap_or(0) as u16,
        });
    }

    pub(crate) fn finish(self, values: Vec<(String, &'static str)>) -> Result<Known, Error> {
        let Builder {
            mut pats,
            mut windows,
            loose_pats,
            loose_ids,
        } = self;
        pats.shrink_to_fit();
        windows.shrink_to_fit();
        windows.sort_unstable();
        let filter_bits = (windows.len().max(1) * 32)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(19, 25);
        let mut filter = vec![0u64; (1usize << filter_bits) / 64];
        for &(w, _) in &windows {
            let i = filter_index(w, filter_bits);
            filter[i / 64] |= 1 << (i % 64);
        }
        let loose = if loose_pats.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&loose_pats)
                .map_err(|e| Error::Automaton(e.to_string()))?;
            Some((ac, loose_ids))
        };
        Ok(Known {
            values,
            pats,
            windows,
            filter,
            filter_bits,
            loose,
        })
    }
}

impl Known {
    /// The patterns whose window is `w`.
    fn with_window(&self, w: u64) -> &[(u64, u32)] {
        let i = filter_index(w, self.filter_bits);
        if self.filter[i / 64] & (1 << (i % 64)) == 0 {
            return &[];
        }
        let lo = self.windows.partition_point(|&(x, _)| x < w);
        let hi = lo + self.windows[lo..].partition_point(|&(x, _)| x == w);
        &self.windows[lo..hi]
    }

    /// Whether a pattern may occur in `text` (`false`: certainly not): one of the
    /// windows is there. Every pattern's window is made of characters that JSON (at any
    /// depth) and percent- or form-encoding write as they are, so a pattern in any
    /// decoded string of an entry leaves its window in the entry's raw bytes too —
    /// unless the bytes spell such a character otherwise (`\u0041`, `%41`) or hold
    /// base64 content, which [`raw_needs_decoding`] reports. With patterns that have no
    /// window, always `true` unless `text` is searched exactly.
    pub(crate) fn may_occur(&self, text: &[u8]) -> bool {
        if self.loose.is_some() {
            return true;
        }
        (0..(text.len() + 1).saturating_sub(W))
            .any(|i| !self.with_window(window_at(text, i)).is_empty())
    }

    /// Whether [`Known::may_occur`] can rule anything out.
    pub(crate) fn anchored(&self) -> bool {
        self.loose.is_none()
    }

    /// Every occurrence of a pattern in `text`, leftmost first, the longest at one
    /// start, none overlapping: (range, value, form).
    pub(crate) fn find(&self, text: &[u8]) -> Vec<(Range<usize>, u32, Form)> {
        let mut hits: Vec<(Range<usize>, u32)> = Vec::new();
        for i in 0..(text.len() + 1).saturating_sub(W) {
            for &(_, id) in self.with_window(window_at(text, i)) {
                let p = &self.pats[id as usize];
                let Some(start) = i.checked_sub(p.off as usize) else {
                    continue;
                };
                let end = start + p.len as usize;
                if end <= text.len() && digest_bytes(&text[start..end]) == p.digest {
                    hits.push((start..end, id));
                }
            }
        }
        if let Some((ac, ids)) = &self.loose {
            for m in ac.find_iter(text) {
                hits.push((m.range(), ids[m.pattern().as_usize()]));
            }
        }
        hits.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut out = Vec::new();
        let mut last = 0;
        for (r, id) in hits {
            if r.start < last {
                continue;
            }
            last = r.end;
            let p = &self.pats[id as usize];
            out.push((r, p.value, p.form));
        }
        out
    }

    /// The replacement of a match of `value` in `form`, and the value's kind.
    pub(crate) fn replacement(&self, value: u32, form: Form) -> (String, &'static str) {
        let (r, kind) = &self.values[value as usize];
        let rep = match form {
            Form::Plain => r.clone(),
            Form::Pct => text::pct_encode(r),
            Form::DoublePct => text::pct_encode(&text::pct_encode(r)),
            Form::B64Std => STANDARD_NO_PAD.encode(r),
            Form::B64Url => URL_SAFE_NO_PAD.encode(r),
        };
        (rep, kind)
    }
}

/// What the second pass needs to copy an entry through without parsing it: the entries
/// the first pass changed (the others are copied unless a known value may occur in
/// their bytes, see [`Known::anchors`]).
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

    /// The values of `secrets` (numbered by `self.numbers`) armed for the second pass.
    fn arm_values(&mut self, secrets: &Secrets) -> Result<(), Error> {
        let mut values: Vec<(String, &'static str)> = Vec::with_capacity(secrets.values.len());
        let mut b = Builder::default();
        // In a fixed order: the first value to claim a pattern keeps it.
        let mut sorted: Vec<(&String, &&'static str)> = secrets.values.iter().collect();
        sorted.sort();
        for (v, kind) in sorted {
            let id = values.len() as u32;
            values.push((self.render(kind, v), kind));
            let enc = text::pct_encode(v);
            if enc != *v {
                b.add(&enc, id, Form::Pct);
                // Encoded twice (`%253D`).
                b.add(&text::pct_encode(&enc), id, Form::DoublePct);
                if v.contains(' ') {
                    b.add(&text::form_encode(v), id, Form::Pct);
                }
                // Lower-case hex, as some encoders write it.
                let lower = text::pct_lower(&enc);
                if lower != enc {
                    b.add(&lower, id, Form::Pct);
                }
            }
            if v.contains('%') {
                if let Some(d) = text::pct_decode(v, false) {
                    if d != *v && d.len() >= 6 {
                        b.add(&d, id, Form::Plain);
                    }
                }
            }
            if v.len() >= 8 {
                b.add(&STANDARD_NO_PAD.encode(v), id, Form::B64Std);
                b.add(&URL_SAFE_NO_PAD.encode(v), id, Form::B64Url);
            }
            // JSON-escaped form, for text that embeds JSON (`\/`, `\u0026` …).
            let esc = serde_json::to_string(v).unwrap_or_default();
            let esc = &esc[1..esc.len().saturating_sub(1).max(1)];
            if esc != v {
                b.add(esc, id, Form::Plain);
            }
            b.add(v, id, Form::Plain);
        }
        self.fast = secrets.touched.as_ref().map(|touched| FastPath {
            touched: touched.clone(),
            detected: secrets.detected.clone(),
        });
        if b.is_empty() {
            self.known = None;
            return Ok(());
        }
        self.known = Some(b.finish(values)?);
        Ok(())
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
        let Some(k) = &self.known else {
            return true;
        };
        if !self.raw_prefilter || !k.anchored() || escapes_need_decoding(bytes) {
            return false;
        }
        if k.may_occur(bytes) {
            return false;
        }
        if memchr::memmem::find(bytes, b"_webSocketMessages").is_some() {
            return false; // binary frames are decoded
        }
        !has_base64_marker(bytes) || base64_content_clear(k, bytes)
    }
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
    memchr::memmem::find(b, b"_webSocketMessages").is_some()
        || memchr::memmem::find_iter(b, b"64\"")
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
    !raw_needs_decoding(&decoded) && !k.may_occur(&decoded)
}
