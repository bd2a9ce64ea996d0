//! The second pass's search for the values the first pass found: every value and its
//! encoded forms ([`Sanitizer::set_secrets`]) as digests behind six-byte windows
//! ([`Known`]: memory per value fixed, whatever its length), and the prefilters that let
//! most entries be copied through without being parsed (windows in the raw bytes,
//! escapes that could hide one, base64 content decoded).

use crate::found::digest;
use crate::text::{self, decode_base64, unreserved};
use crate::{EntrySet, Error, Mode, Sanitizer, Secrets};
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
#[repr(u8)]
pub(crate) enum Form {
    Plain,
    Pct,
    DoublePct,
    B64Std,
    B64Url,
}

/// How a value's replacement is made; the value's text is not kept (a JWT's redacted
/// form is made again from the text matched, when it is replaced).
#[derive(Clone, Debug)]
pub(crate) enum Rep {
    /// `[redacted: kind #n]`, the number still to be looked up by this digest of kind
    /// and value (see [`Numbers`](crate::Numbers)) when armed.
    Digest([u64; 2]),
    /// `[redacted: kind #n]` (`0`: `[redacted: kind]`).
    Numbered(u32),
    /// `[redacted: kind #…]` with the value's keyed hash (`--hash-key`).
    Hash(u64),
    /// A JWT: its header and safe claims kept, rendered from the matched text.
    Jwt,
    /// The value itself, until armed (a JWT spelled with other characters: rare).
    Value(Box<str>),
    /// The replacement as it is.
    Text(Box<str>),
}

/// One pattern: a value or one of its encoded forms, known by its digest only
/// (24 bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pat {
    /// Its window (six bytes as a little-endian number) in the low 48 bits, where the
    /// window starts in the pattern in the high 16.
    key: u64,
    digest: u64,
    len: u32,
    /// Index in [`Known::values`] (low 29 bits) and [`Form`] (high 3).
    value_form: u32,
}

const WINDOW_BITS: u64 = (1 << 48) - 1;

impl Pat {
    fn window(&self) -> u64 {
        self.key & WINDOW_BITS
    }
    fn off(&self) -> usize {
        (self.key >> 48) as usize
    }
    fn value(&self) -> u32 {
        self.value_form & ((1 << 29) - 1)
    }
    fn form(&self) -> Form {
        [
            Form::Plain,
            Form::Pct,
            Form::DoublePct,
            Form::B64Std,
            Form::B64Url,
        ][(self.value_form >> 29) as usize]
    }
}

/// The known values, in a structure whose size does not depend on their text: per
/// pattern a 64-bit digest, its length, and one *window* (its last run of six
/// URL-unreserved bytes, the most random end of tokens that share a prefix), in a table
/// sorted by window behind a bit filter. A text is searched by looking its six-byte
/// windows up; a candidate is confirmed by the digest of the bytes where the pattern
/// would be. Patterns without such a window (rare: values with spaces or punctuation
/// every few characters) go to a small Aho-Corasick automaton.
pub(crate) struct Known {
    /// Per value: how its replacement is made, and its kind.
    pub(crate) values: Vec<(Rep, &'static str)>,
    /// Sorted by window; patterns of one window in the order added.
    pats: Vec<Pat>,
    filter: Vec<u64>,
    /// log2 of the filter's bits: about 32 per window, 64 KiB to 4 MiB.
    filter_bits: u32,
    /// The patterns without a window, and theirs.
    loose: Option<(AhoCorasick, Vec<Pat>)>,
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
        b.values = values
            .into_iter()
            .map(|(r, k)| (Rep::Text(r.into()), k))
            .collect();
        b.finish()
    }
}

/// Patterns gathered one at a time, their text not kept (only where a pattern has no
/// window). A pattern added twice is found twice, and the first added wins (see
/// [`Known::find`]). The first pass gathers each value's patterns as it meets the value
/// ([`Builder::add_value`]), so no value's text outlives its entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct Builder {
    pats: Vec<Pat>,
    loose_pats: Vec<String>,
    loose: Vec<Pat>,
    values: Vec<(Rep, &'static str)>,
}

impl Builder {
    pub(crate) fn is_empty(&self) -> bool {
        self.pats.is_empty() && self.loose.is_empty()
    }

    /// The number of values added.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// A value of `kind` and its encoded forms (URL-encoded once and twice, form- and
    /// lower-case-encoded, percent-decoded, base64 both ways, JSON-escaped), replaced as
    /// `s` renders the value.
    pub(crate) fn add_value(&mut self, s: &Sanitizer, v: &str, kind: &'static str) {
        let id = self.values.len() as u32;
        self.values.push((s.rep(kind, v), kind));
        let enc = text::pct_encode(v);
        if enc != *v {
            self.add(&enc, id, Form::Pct);
            // Encoded twice (`%253D`).
            self.add(&text::pct_encode(&enc), id, Form::DoublePct);
            if v.contains(' ') {
                self.add(&text::form_encode(v), id, Form::Pct);
            }
            // Lower-case hex, as some encoders write it.
            let lower = text::pct_lower(&enc);
            if lower != enc {
                self.add(&lower, id, Form::Pct);
            }
        }
        if v.contains('%') {
            if let Some(d) = text::pct_decode(v, false) {
                if d != *v && d.len() >= 6 {
                    self.add(&d, id, Form::Plain);
                }
            }
        }
        if v.len() >= 8 {
            let std = STANDARD_NO_PAD.encode(v);
            let url = URL_SAFE_NO_PAD.encode(v);
            self.add(&std, id, Form::B64Std);
            // The same text added again would never be the one found (the first wins).
            if url != std {
                self.add(&url, id, Form::B64Url);
            }
        }
        // JSON-escaped form, for text that embeds JSON (`\/`, `\u0026` …).
        // (Only `"`, `\\` and control characters are escaped.)
        if v.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            let esc = serde_json::to_string(v).unwrap_or_default();
            let esc = &esc[1..esc.len().saturating_sub(1).max(1)];
            if esc != v {
                self.add(esc, id, Form::Plain);
            }
        }
        self.add(v, id, Form::Plain);
    }

    /// The values' replacements made final with the numbering `s` is armed with.
    pub(crate) fn render(&mut self, s: &Sanitizer) {
        for (rep, kind) in &mut self.values {
            match rep {
                Rep::Digest([hi, lo]) => {
                    let d = (u128::from(*hi) << 64) | u128::from(*lo);
                    *rep = Rep::Numbered(s.numbers.of_digest(d).unwrap_or(0));
                }
                Rep::Value(v) => *rep = Rep::Text(s.render(kind, v).into()),
                _ => {}
            }
        }
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
        let key = off.map_or(0, |o| window_at(b, o) | (o as u64) << 48);
        let pat = Pat {
            key,
            digest: digest_bytes(b),
            len: b.len() as u32,
            value_form: value | (form as u32) << 29,
        };
        match off {
            Some(_) => self.pats.push(pat),
            None => {
                self.loose_pats.push(p.to_string());
                self.loose.push(pat);
            }
        }
    }

    pub(crate) fn finish(self) -> Result<Known, Error> {
        let Builder {
            mut pats,
            loose_pats,
            loose,
            values,
        } = self;
        // Stable: the patterns of one window stay in the order added.
        pats.sort_by_key(Pat::window);
        let filter_bits = (pats.len().max(1) * 32)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(19, 25);
        let mut filter = vec![0u64; (1usize << filter_bits) / 64];
        for p in &pats {
            let i = filter_index(p.window(), filter_bits);
            filter[i / 64] |= 1 << (i % 64);
        }
        let loose = if loose_pats.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&loose_pats)
                .map_err(|e| Error::Automaton(e.to_string()))?;
            Some((ac, loose))
        };
        Ok(Known {
            values,
            pats,
            filter,
            filter_bits,
            loose,
        })
    }
}

impl Known {
    /// The patterns whose window is `w`.
    fn with_window(&self, w: u64) -> &[Pat] {
        let i = filter_index(w, self.filter_bits);
        if self.filter[i / 64] & (1 << (i % 64)) == 0 {
            return &[];
        }
        let lo = self.pats.partition_point(|p| p.window() < w);
        let hi = lo + self.pats[lo..].partition_point(|p| p.window() == w);
        &self.pats[lo..hi]
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
        let mut hits: Vec<(Range<usize>, &Pat)> = Vec::new();
        for i in 0..(text.len() + 1).saturating_sub(W) {
            for p in self.with_window(window_at(text, i)) {
                let Some(start) = i.checked_sub(p.off()) else {
                    continue;
                };
                let end = start + p.len as usize;
                if end <= text.len() && digest_bytes(&text[start..end]) == p.digest {
                    hits.push((start..end, p));
                }
            }
        }
        if let Some((ac, pats)) = &self.loose {
            for m in ac.find_iter(text) {
                hits.push((m.range(), &pats[m.pattern().as_usize()]));
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
            out.push((r, p.value(), p.form()));
        }
        out
    }
}

impl Sanitizer {
    /// How `value` of `kind` will be replaced in the second pass (see [`Rep`]).
    pub(crate) fn rep(&self, kind: &'static str, v: &str) -> Rep {
        match &self.mode {
            Mode::Remove => Rep::Text("".into()),
            _ if Self::is_jwt(v) => {
                if v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
                {
                    Rep::Jwt
                } else {
                    Rep::Value(v.into())
                }
            }
            Mode::Placeholder => {
                let d = digest(kind, v);
                Rep::Digest([(d >> 64) as u64, d as u64])
            }
            Mode::Hash(key) => Rep::Hash(Self::hmac64(key, v)),
        }
    }

    /// The replacement of `matched`, a match of `value` in `form`, and the value's kind.
    pub(crate) fn replacement(
        &self,
        k: &Known,
        value: u32,
        form: Form,
        matched: &str,
    ) -> (String, &'static str) {
        let (rep, kind) = &k.values[value as usize];
        let r = match rep {
            Rep::Numbered(0) | Rep::Digest(_) => format!("[redacted: {kind}]"),
            Rep::Numbered(n) => format!("[redacted: {kind} #{n}]"),
            Rep::Hash(h) => format!("[redacted: {kind} #{h:016x}]"),
            Rep::Text(t) => t.to_string(),
            Rep::Value(v) => self.render(kind, v),
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
        self.arm_values(secrets.gathered.clone(), secrets)
    }

    /// [`Sanitizer::set_secrets`] taking the first pass's result, whose numbering is
    /// moved, not copied.
    pub(crate) fn arm(&mut self, mut secrets: Secrets) -> Result<(), Error> {
        self.numbers = std::mem::take(&mut secrets.numbers);
        let b = std::mem::take(&mut secrets.gathered);
        self.arm_values(b, &secrets)
    }

    /// The values of `secrets` (numbered by `self.numbers`) armed for the second pass:
    /// those the first pass gathered (in the order met), then those of
    /// [`Secrets::values`] in a fixed order (the first value to claim a pattern keeps it).
    fn arm_values(&mut self, b: Builder, secrets: &Secrets) -> Result<(), Error> {
        let mut b = b;
        let mut sorted: Vec<(&String, &&'static str)> = secrets.values.iter().collect();
        sorted.sort();
        for (v, kind) in sorted {
            b.add_value(self, v, kind);
        }
        b.render(self);
        self.fast = secrets.touched.as_ref().map(|touched| FastPath {
            touched: touched.clone(),
            detected: secrets.detected.clone(),
        });
        if b.is_empty() {
            self.known = None;
            return Ok(());
        }
        self.known = Some(b.finish()?);
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
