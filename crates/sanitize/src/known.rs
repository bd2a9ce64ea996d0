//! The second pass's search for the values the first pass found: one Aho-Corasick
//! automaton over every value and its encoded forms ([`Sanitizer::set_secrets`]), and
//! the prefilters that let most entries be copied through without being parsed
//! (anchors in the raw bytes, escapes that could hide one, base64 content decoded).

use crate::text::{self, decode_base64, unreserved};
use crate::{EntrySet, Error, Sanitizer, Secrets};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::collections::HashMap;

pub(crate) struct Known {
    pub(crate) ac: AhoCorasick,
    /// Per pattern: replacement and kind.
    pub(crate) repl: Vec<(String, &'static str)>,
    /// `None` if a pattern has no anchor (then any text may hold one).
    pub(crate) anchors: Option<Anchors>,
}

impl Known {
    /// Whether a pattern may occur in `text` (`false`: certainly not).
    pub(crate) fn may_occur(&self, text: &[u8]) -> bool {
        self.anchors.as_ref().is_none_or(|a| a.may_occur(text))
    }
}

/// The patterns' *anchors*: their runs of URL-unreserved characters (`A-Za-z0-9-._~`,
/// at least three (two if a pattern has no longer run), at most the last 16 of a run,
/// the three longest of a pattern). A text
/// that lacks one of a pattern's anchors does not hold the pattern. Those characters
/// are written as they are by JSON (at any nesting depth) and by percent- and
/// form-encoding, so a pattern found in any decoded string of an entry leaves its
/// anchors in the entry's raw bytes too — unless the bytes spell such a character
/// otherwise (`\u0041`, `%41`, double `%25` encoding) or hold base64 content, which
/// [`raw_needs_decoding`] reports.
pub(crate) struct Anchors {
    /// The distinct anchors (a small DFA).
    pub(crate) ac: AhoCorasick,
    /// Per anchor: the patterns that need it.
    pub(crate) users: Vec<Vec<u32>>,
    /// Per pattern: its anchors.
    pub(crate) needs: Vec<Vec<u32>>,
}

impl Anchors {
    /// `None` when a pattern has no run of two unreserved characters.
    pub(crate) fn new<'a>(
        patterns: impl Iterator<Item = &'a str>,
    ) -> Result<Option<Anchors>, Error> {
        let mut ids: HashMap<&[u8], u32> = HashMap::new();
        let mut runs_of: Vec<&[u8]> = Vec::new();
        let mut needs = Vec::new();
        for p in patterns {
            let mut runs = runs(p);
            // Short anchors match often: three characters or more where there are.
            let min = if runs.iter().any(|r| r.len() >= 3) {
                3
            } else {
                2
            };
            runs.retain(|r| r.len() >= min);
            if runs.is_empty() {
                return Ok(None);
            }
            for r in runs.iter_mut() {
                *r = &r[r.len().saturating_sub(16)..];
            }
            runs.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            runs.dedup();
            runs.truncate(3);
            let need: Vec<u32> = runs
                .into_iter()
                .map(|r| {
                    *ids.entry(r).or_insert_with(|| {
                        runs_of.push(r);
                        runs_of.len() as u32 - 1
                    })
                })
                .collect();
            needs.push(need);
        }
        let mut users = vec![Vec::new(); runs_of.len()];
        for (p, need) in needs.iter().enumerate() {
            for &r in need {
                users[r as usize].push(p as u32);
            }
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&runs_of)
            .map_err(|e| Error::Automaton(e.to_string()))?;
        Ok(Some(Anchors { ac, users, needs }))
    }

    /// Whether every anchor of some pattern occurs in `text`.
    pub(crate) fn may_occur(&self, text: &[u8]) -> bool {
        let mut seen: Vec<u64> = Vec::new();
        let has = |seen: &Vec<u64>, r: u32| {
            seen.get(r as usize / 64)
                .is_some_and(|w| w & (1 << (r % 64)) != 0)
        };
        for m in self.ac.find_overlapping_iter(text) {
            let r = m.pattern().as_u32();
            if has(&seen, r) {
                continue;
            }
            if seen.is_empty() {
                seen.resize(self.users.len().div_ceil(64), 0);
            }
            seen[r as usize / 64] |= 1 << (r % 64);
            for &p in &self.users[r as usize] {
                if self.needs[p as usize].iter().all(|&n| has(&seen, n)) {
                    return true;
                }
            }
        }
        false
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
        let mut pats: HashMap<String, (String, &'static str)> = HashMap::new();
        let mut add = |p: String, r: String, k: &'static str| {
            if !p.is_empty() {
                pats.entry(p).or_insert((r, k));
            }
        };
        for (v, kind) in &secrets.values {
            let r = self.render(kind, v);
            let enc = text::pct_encode(v);
            if enc != *v {
                add(enc.clone(), text::pct_encode(&r), kind);
                // Encoded twice (`%253D`).
                add(
                    text::pct_encode(&enc),
                    text::pct_encode(&text::pct_encode(&r)),
                    kind,
                );
                if v.contains(' ') {
                    add(text::form_encode(v), text::pct_encode(&r), kind);
                }
                // Lower-case hex, as some encoders write it.
                let lower = text::pct_lower(&enc);
                if lower != enc {
                    add(lower, text::pct_encode(&r), kind);
                }
            }
            if v.contains('%') {
                if let Some(d) = text::pct_decode(v, false) {
                    if d != *v && d.len() >= 6 {
                        add(d, r.clone(), kind);
                    }
                }
            }
            if v.len() >= 8 {
                add(STANDARD_NO_PAD.encode(v), STANDARD_NO_PAD.encode(&r), kind);
                add(URL_SAFE_NO_PAD.encode(v), URL_SAFE_NO_PAD.encode(&r), kind);
            }
            // JSON-escaped form, for text that embeds JSON (`\/`, `\u0026` …).
            let esc = serde_json::to_string(v).unwrap_or_default();
            let esc = &esc[1..esc.len().saturating_sub(1).max(1)];
            if esc != v {
                add(esc.to_string(), r.clone(), kind);
            }
            add(v.clone(), r, kind);
        }
        self.fast = secrets.touched.as_ref().map(|touched| FastPath {
            touched: touched.clone(),
            detected: secrets.detected.clone(),
        });
        if pats.is_empty() {
            self.known = None;
            return Ok(());
        }
        let mut list: Vec<(String, (String, &'static str))> = pats.into_iter().collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        // Any part of a run is an anchor too: the last 16 bytes (the most random end
        // of tokens that share a prefix, such as JWTs) keep the automaton small
        // enough for a DFA.
        let anchors = Anchors::new(list.iter().map(|(p, _)| p.as_str()))?;
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(list.iter().map(|(p, _)| p.as_bytes()))
            .map_err(|e| Error::Automaton(e.to_string()))?;
        self.known = Some(Known {
            ac,
            repl: list.into_iter().map(|(_, r)| r).collect(),
            anchors,
        });
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
        if !self.raw_prefilter || k.anchors.is_none() || escapes_need_decoding(bytes) {
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

/// The maximal runs of URL-unreserved characters in `p`.
pub(crate) fn runs(p: &str) -> Vec<&[u8]> {
    let b = p.as_bytes();
    let mut out = Vec::new();
    let mut start = None;
    for i in 0..=b.len() {
        match (b.get(i).is_some_and(|&c| unreserved(c)), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(&b[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    out
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
