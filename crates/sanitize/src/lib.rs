//! `sanitize` — redact secrets from HAR files so they can be shared.
//!
//! Values are *replaced* (a placeholder that names the kind, a keyed hash, or nothing
//! with [`Mode::Remove`]); headers, cookies, query and form parameters stay in place.
//! Sensitive values are found by name (headers, cookies, query, form fields, JSON keys
//! at any depth), by shape ([`secrets::detect`]: vendor keys, JWTs, PEM keys, cards, e-mail) and
//! then replaced **everywhere** they occur, also URL-encoded or base64-encoded: a first
//! pass ([`collect`]) gathers the values, a second ([`rewrite`]) replaces every copy with
//! one Aho-Corasick automaton. Both passes stream; memory grows with the number of
//! distinct secrets, not with the file.
//!
//! Structured bodies are parsed, not regexed: JSON is rewritten token by token (the rest
//! of the text is kept byte for byte), form bodies and query strings pair by pair, base64
//! bodies are decoded, sanitized and encoded again.

mod json;
pub mod report;
pub mod rules;
mod scan;
mod text;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use har::{HarReader, HarWriter, Header, Style};
use hmac::{Hmac, Mac};
use regex::RegexSet;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

pub use report::Report;
pub use rules::{mime_matches, RulesFile};

use rules::{Names, Strength};

/// How a sensitive value is replaced.
#[derive(Clone, Debug, Default)]
pub enum Mode {
    /// `[redacted: cookie]`: the field stays and says what it held.
    #[default]
    Placeholder,
    /// `[redacted: cookie #3fa9…]`: HMAC-SHA256 with this key, so one value maps to one
    /// token in every file sanitized with the same key.
    Hash(Vec<u8>),
    /// Empty values; name/value entries (headers, cookies, query, params) whose name is
    /// sensitive are deleted.
    Remove,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub mode: Mode,
    pub rules: RulesFile,
    /// MIME types (or aliases: `html`, `js`, `css`, `image`, `font`, …) whose response
    /// content is dropped.
    pub drop_content: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("rules file: {0}")]
    Rules(String),
    #[error("rule {name:?}: {source}")]
    Pattern {
        name: String,
        #[source]
        source: regex::Error,
    },
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error(transparent)]
    Output(#[from] har::OutputError),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("building the search automaton: {0}")]
    Automaton(String),
}

/// Parse a rules file (TOML, see docs/sanitize.md).
pub fn parse_rules(text: &str) -> Result<RulesFile, Error> {
    toml::from_str(text).map_err(|e| Error::Rules(e.to_string()))
}

/// Where a value was found, for the report.
pub mod loc {
    pub const URL: &str = "request.url";
    pub const REQ_HEADERS: &str = "request.headers";
    pub const REQ_COOKIES: &str = "request.cookies";
    pub const QUERY: &str = "request.queryString";
    pub const POST: &str = "request.postData";
    pub const RESP_HEADERS: &str = "response.headers";
    pub const RESP_COOKIES: &str = "response.cookies";
    pub const CONTENT: &str = "response.content";
    pub const REDIRECT: &str = "response.redirectURL";
    pub const OTHER: &str = "entry (other fields)";
    pub const LOG: &str = "log (pages, comments)";
}

/// Claims of a JWT that say what the token is, not who it is for.
const SAFE_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "auth_time",
    "scope",
    "scp",
    "azp",
    "client_id",
    "cid",
    "amr",
    "acr",
    "typ",
    "token_use",
    "token_type",
    "ver",
    "grant_type",
    "roles",
];

/// Values found by the first pass, each with its kind. Grows with distinct secrets only
/// (and one bit per entry).
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    pub values: HashMap<String, &'static str>,
    /// Set by [`collect`]: the entries in which the first pass redacted (or
    /// remembered) something, one bit per entry. The second pass copies the other
    /// entries through untouched unless one of the values occurs in their bytes; with
    /// `None` it sanitizes every entry.
    pub touched: Option<EntrySet>,
    /// Set by [`collect`]: the entries in which a detector matched. The second pass
    /// runs the detectors only there (elsewhere they would match nothing again: they
    /// see the same strings).
    pub detected: EntrySet,
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
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    pub fn add(&mut self, value: String, kind: &'static str) {
        self.values.entry(value).or_insert(kind);
    }
}

/// Per-worker results: report counts and (in the first pass) the values found.
#[derive(Debug, Default)]
pub struct Tally {
    pub report: Report,
    pub found: Vec<(String, &'static str)>,
    /// No known value occurs in this entry (see [`Sanitizer::known_absent`]): its
    /// strings need not be searched for them.
    pub known_absent: bool,
    /// The detectors matched nothing in this entry in the first pass: they would match
    /// nothing again (they see the same strings), so they are not run.
    pub detected_nothing: bool,
    /// A detector matched in this entry.
    pub detector_hit: bool,
}

struct Known {
    ac: AhoCorasick,
    /// Per pattern: replacement and kind.
    repl: Vec<(String, &'static str)>,
    /// `None` if a pattern has no anchor (then any text may hold one).
    anchors: Option<Anchors>,
}

impl Known {
    /// Whether a pattern may occur in `text` (`false`: certainly not).
    fn may_occur(&self, text: &[u8]) -> bool {
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
struct Anchors {
    /// The distinct anchors (a small DFA).
    ac: AhoCorasick,
    /// Per anchor: the patterns that need it.
    users: Vec<Vec<u32>>,
    /// Per pattern: its anchors.
    needs: Vec<Vec<u32>>,
}

impl Anchors {
    /// `None` when a pattern has no run of two unreserved characters.
    fn new<'a>(patterns: impl Iterator<Item = &'a str>) -> Result<Option<Anchors>, Error> {
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
    fn may_occur(&self, text: &[u8]) -> bool {
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
struct FastPath {
    touched: EntrySet,
    detected: EntrySet,
}

/// The rules compiled, ready to run on entries from many threads.
pub struct Sanitizer {
    names: Names,
    detectors: secrets::Detectors,
    keep_values: Option<RegexSet>,
    mode: Mode,
    drop: Vec<String>,
    skip: Vec<String>,
    known: Option<Known>,
    fast: Option<FastPath>,
    /// Whether [`Sanitizer::known_absent`] may answer `true` (the raw-bytes
    /// prefilter); off only in tests, as the reference it is compared with.
    raw_prefilter: bool,
}

impl Sanitizer {
    pub fn new(opts: Options) -> Result<Sanitizer, Error> {
        let r = opts.rules;
        let mut names = Names::default();
        names.add = r.names.redact.iter().map(|n| rules::normalize(n)).collect();
        names.keep = r.names.keep.iter().map(|n| rules::normalize(n)).collect();
        for p in &r.patterns {
            regex::Regex::new(&p.regex).map_err(|source| Error::Pattern {
                name: p.name.clone(),
                source,
            })?;
        }
        let extra: Vec<(String, String)> = r
            .patterns
            .iter()
            .map(|p| (p.name.clone(), p.regex.clone()))
            .collect();
        let detectors =
            secrets::Detectors::new(&r.detectors.off, &extra).map_err(|source| Error::Pattern {
                name: "built-in detectors".into(),
                source,
            })?;
        let keep_values = if r.values.keep.is_empty() {
            None
        } else {
            Some(
                RegexSet::new(&r.values.keep).map_err(|source| Error::Pattern {
                    name: "values.keep".into(),
                    source,
                })?,
            )
        };
        let mut drop = opts.drop_content;
        drop.extend(r.content.drop);
        Ok(Sanitizer {
            names,
            detectors,
            keep_values,
            mode: opts.mode,
            drop,
            skip: r.content.skip,
            known: None,
            fast: None,
            raw_prefilter: true,
        })
    }

    /// Arm the second pass: every value in `secrets` (and its URL-encoded, form-encoded
    /// and base64 forms) is replaced wherever it occurs.
    pub fn set_secrets(&mut self, secrets: &Secrets) -> Result<(), Error> {
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
        memchr::memmem::find(bytes, b"\"base64\"").is_none() || base64_content_clear(k, bytes)
    }

    fn hmac_hex(key: &[u8], v: &str) -> String {
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("any key length");
        m.update(v.as_bytes());
        let out = m.finalize().into_bytes();
        out[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The text that replaces `value` of `kind`.
    pub fn render(&self, kind: &str, value: &str) -> String {
        if let Mode::Remove = self.mode {
            return String::new();
        }
        if let Some(j) = self.redact_jwt(value) {
            return j;
        }
        match &self.mode {
            Mode::Placeholder => format!("[redacted: {kind}]"),
            Mode::Hash(key) => format!("[redacted: {kind} #{}]", Self::hmac_hex(key, value)),
            Mode::Remove => String::new(),
        }
    }

    /// A JWT keeps its header and the claims in [`SAFE_CLAIMS`]; personal claims and the
    /// signature go (`header.claims.redacted`).
    fn redact_jwt(&self, v: &str) -> Option<String> {
        let (h, rest) = v.split_once('.')?;
        let (_, sig) = rest.split_once('.')?;
        if !h.starts_with("eyJ") {
            return None;
        }
        if sig.starts_with("redacted") {
            return Some(v.to_string());
        }
        let jwt = jwt::decode(v).ok()?;
        let kept: Map<String, Value> = jwt
            .claims
            .iter()
            .filter(|(k, _)| SAFE_CLAIMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&kept).unwrap_or_default());
        let sig = match &self.mode {
            Mode::Hash(key) => format!("redacted{}", Self::hmac_hex(key, v)),
            _ => "redacted".to_string(),
        };
        Some(format!("{h}.{payload}.{sig}"))
    }

    fn keep_value(&self, v: &str) -> bool {
        v.is_empty()
            || v.starts_with("[redacted")
            || self.keep_values.as_ref().is_some_and(|k| k.is_match(v))
    }

    /// Redact `value` found as `kind` at `location`: count it, remember it for the
    /// second pass, return its replacement (`None`: keep it).
    fn redact(
        &self,
        kind: &'static str,
        value: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<String> {
        if self.keep_value(value) {
            return None;
        }
        if value.contains(".redacted") && self.redact_jwt(value).as_deref() == Some(value) {
            return None;
        }
        t.report.add(kind, location);
        remember(value, kind, t);
        Some(self.render(kind, value))
    }

    /// A cookie's value is redacted unless it is plainly a setting (`theme=dark`,
    /// `consent=all`, `lang=en-US`: a short word without digits) and its name is not
    /// sensitive (`csrftoken`, `session` … are always redacted).
    fn cookie(&self, name: &str, v: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let word = v.len() <= 12
            && v.bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_');
        let small_number = v.len() <= 4 && v.bytes().all(|b| b.is_ascii_digit());
        if (word || small_number) && self.names.classify(name).is_none() {
            return self.text(v, location, t, false, false);
        }
        self.redact("cookie", v, location, t)
    }

    /// Whether a value under a name of `strength` is to be redacted.
    fn applies(&self, strength: Strength, v: &str) -> bool {
        match strength {
            Strength::Strong => !v.is_empty(),
            Strength::Weak => looks_random(v),
        }
    }

    fn classify(&self, name: &str, value: &str) -> Option<&'static str> {
        let (kind, strength) = self.names.classify(name)?;
        self.applies(strength, value).then_some(kind)
    }

    /// Sanitize one entry in place.
    pub fn entry(&self, value: &mut Value, t: &mut Tally) {
        t.report.entries += 1;
        let Some(obj) = value.as_object_mut() else {
            return;
        };
        for (k, v) in obj.iter_mut() {
            match k.as_str() {
                "request" => self.request(v, t),
                "response" => self.response(v, t),
                "startedDateTime" | "time" | "timings" => {}
                _ => self.walk(v, loc::OTHER, t),
            }
        }
    }

    /// Sanitize the log's fields other than entries (pages, comments, …).
    pub fn header(&self, header: &mut Header, t: &mut Tally) {
        for (k, v) in header.log.iter_mut() {
            if k != "version" && k != "creator" && k != "browser" {
                self.walk(v, loc::LOG, t);
            }
        }
        for (_, v) in header.outer.iter_mut() {
            self.walk(v, loc::LOG, t);
        }
    }

    /// Every string below `v`, as free text (or a URL, or JSON).
    fn walk(&self, v: &mut Value, location: &'static str, t: &mut Tally) {
        match v {
            Value::String(s) => {
                if let Some(n) = self.auto(s, location, t, 0) {
                    *s = n;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.walk(x, location, t)),
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if let (Value::String(s), Some(kind)) =
                        (&*x, x.as_str().and_then(|s| self.classify(k, s)))
                    {
                        if let Some(n) = self.redact(kind, s, location, t) {
                            *x = Value::String(n);
                        }
                        continue;
                    }
                    self.walk(x, location, t);
                }
            }
            _ => {}
        }
    }

    /// A string of unknown meaning: a URL, JSON, or text.
    fn auto(&self, s: &str, location: &'static str, t: &mut Tally, depth: usize) -> Option<String> {
        let trimmed = s.trim_start();
        if (s.starts_with("https://")
            || s.starts_with("http://")
            || s.starts_with("wss://")
            || s.starts_with("ws://"))
            && !s.contains(char::is_whitespace)
        {
            return self.url(s, location, t);
        }
        if depth < 4 && (trimmed.starts_with('{') || trimmed.starts_with('[')) {
            if let Ok(r) = json::scrub(self, s, location, t, depth + 1) {
                return r;
            }
        }
        self.text(s, location, t, false, false)
    }

    fn string_field(
        &self,
        o: &mut Map<String, Value>,
        key: &str,
        f: impl FnOnce(&str) -> Option<String>,
    ) {
        if let Some(Value::String(s)) = o.get(key) {
            if let Some(n) = f(s) {
                o.insert(key.to_string(), Value::String(n));
            }
        }
    }

    fn request(&self, v: &mut Value, t: &mut Tally) {
        let Some(o) = v.as_object_mut() else {
            return self.walk(v, loc::OTHER, t);
        };
        for (k, x) in o.iter_mut() {
            match k.as_str() {
                "url" => {
                    if let Value::String(s) = x {
                        if let Some(n) = self.url(s, loc::URL, t) {
                            *s = n;
                        }
                    }
                }
                "headers" => self.headers(x, loc::REQ_HEADERS, t),
                "cookies" => self.cookies(x, loc::REQ_COOKIES, t),
                "queryString" => self.name_values(x, loc::QUERY, t),
                "postData" => self.post_data(x, t),
                "method" | "httpVersion" | "headersSize" | "bodySize" => {}
                _ => self.walk(x, loc::OTHER, t),
            }
        }
    }

    fn response(&self, v: &mut Value, t: &mut Tally) {
        let Some(o) = v.as_object_mut() else {
            return self.walk(v, loc::OTHER, t);
        };
        for (k, x) in o.iter_mut() {
            match k.as_str() {
                "headers" => self.headers(x, loc::RESP_HEADERS, t),
                "cookies" => self.cookies(x, loc::RESP_COOKIES, t),
                "content" => self.content(x, t),
                "redirectURL" => {
                    if let Value::String(s) = x {
                        if let Some(n) = self.url(s, loc::REDIRECT, t) {
                            *s = n;
                        }
                    }
                }
                "status" | "statusText" | "httpVersion" | "headersSize" | "bodySize" => {}
                _ => self.walk(x, loc::OTHER, t),
            }
        }
    }

    fn headers(&self, v: &mut Value, location: &'static str, t: &mut Tally) {
        let Value::Array(items) = v else {
            return self.walk(v, location, t);
        };
        let remove = matches!(self.mode, Mode::Remove);
        items.retain_mut(|h| {
            let Some(o) = h.as_object_mut() else {
                return true;
            };
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let Some(Value::String(val)) = o.get("value") else {
                return true;
            };
            let kept = self.names.is_kept(&name);
            let (new, sensitive) = match name.as_str() {
                _ if kept => (self.text(val, location, t, false, false), false),
                "cookie" => (self.cookie_header(val, location, t), true),
                "set-cookie" => (self.set_cookie(val, location, t), true),
                "authorization" | "proxy-authorization" => (self.auth(val, location, t), true),
                "location" | "referer" | "content-location" | "origin" | "refresh" => {
                    (self.url(val, location, t), false)
                }
                _ => match self.classify(&name, val) {
                    Some(kind) => (self.redact(kind, val, location, t), true),
                    None => (self.text(val, location, t, false, false), false),
                },
            };
            if remove && sensitive && new.is_some() {
                return false;
            }
            if let Some(n) = new {
                o.insert("value".into(), Value::String(n));
            }
            true
        });
    }

    /// `Authorization` and `Proxy-Authorization`: the scheme stays.
    fn auth(&self, v: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let trimmed = v.trim();
        let Some((scheme, creds)) = trimmed.split_once(' ') else {
            return self.redact("token", trimmed, location, t);
        };
        let creds = creds.trim();
        let (kind, creds_r) = if scheme.eq_ignore_ascii_case("basic") {
            if let Some((u, p)) = secrets::basic_credentials(creds) {
                remember(&u, "pii", t);
                remember(&p, "password", t);
            }
            (
                "basic credentials",
                self.redact("basic credentials", creds, location, t),
            )
        } else if scheme.eq_ignore_ascii_case("bearer") {
            ("token", self.redact("token", creds, location, t))
        } else {
            (
                "credentials",
                self.redact("credentials", creds, location, t),
            )
        };
        let _ = kind;
        creds_r.map(|r| format!("{scheme} {r}"))
    }

    fn cookie_header(&self, v: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let mut changed = false;
        let parts: Vec<String> = v
            .split(';')
            .map(|p| match p.split_once('=') {
                Some((n, val)) if !self.names.is_kept(n.trim()) => {
                    match self.cookie(n.trim(), val.trim(), location, t) {
                        Some(r) => {
                            changed = true;
                            let lead = &val[..val.len() - val.trim_start().len()];
                            format!("{n}={lead}{r}")
                        }
                        None => p.to_string(),
                    }
                }
                _ => match self.text(p, location, t, false, false) {
                    Some(r) => {
                        changed = true;
                        r
                    }
                    None => p.to_string(),
                },
            })
            .collect();
        changed.then(|| parts.join(";"))
    }

    /// One or more `Set-Cookie` values (browsers join them with newlines): the value
    /// goes, the attributes stay.
    fn set_cookie(&self, v: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let mut changed = false;
        let lines: Vec<String> = v
            .split('\n')
            .map(|line| {
                let (first, attrs) = match line.find(';') {
                    Some(i) => (&line[..i], &line[i..]),
                    None => (line, ""),
                };
                match first.split_once('=') {
                    Some((n, val)) if !self.names.is_kept(n.trim()) => {
                        match self.cookie(n.trim(), val.trim(), location, t) {
                            Some(r) => {
                                changed = true;
                                format!("{n}={r}{attrs}")
                            }
                            None => line.to_string(),
                        }
                    }
                    _ => line.to_string(),
                }
            })
            .collect();
        changed.then(|| lines.join("\n"))
    }

    fn cookies(&self, v: &mut Value, location: &'static str, t: &mut Tally) {
        let Value::Array(items) = v else {
            return self.walk(v, location, t);
        };
        let remove = matches!(self.mode, Mode::Remove);
        items.retain_mut(|c| {
            let Some(o) = c.as_object_mut() else {
                return true;
            };
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let Some(Value::String(val)) = o.get("value") else {
                return true;
            };
            if self.names.is_kept(&name) {
                if let Some(n) = self.text(val, location, t, false, false) {
                    o.insert("value".into(), Value::String(n));
                }
                return true;
            }
            let sensitive = self.names.classify(&name).is_some();
            match self.cookie(&name, val, location, t) {
                Some(_) if remove && (sensitive || !val.is_empty()) => false,
                Some(n) => {
                    o.insert("value".into(), Value::String(n));
                    true
                }
                None => true,
            }
        });
    }

    /// `queryString[]` and `postData.params[]`.
    fn name_values(&self, v: &mut Value, location: &'static str, t: &mut Tally) {
        let Value::Array(items) = v else {
            return self.walk(v, location, t);
        };
        let remove = matches!(self.mode, Mode::Remove);
        items.retain_mut(|p| {
            let Some(o) = p.as_object_mut() else {
                return true;
            };
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let Some(Value::String(val)) = o.get("value") else {
                return true;
            };
            let (new, sensitive) = match self.classify(&name, val) {
                Some(kind) => (self.redact(kind, val, location, t), true),
                None => (self.auto(val, location, t, 0), false),
            };
            if remove && sensitive && new.is_some() {
                return false;
            }
            if let Some(n) = new {
                o.insert("value".into(), Value::String(n));
            }
            true
        });
    }

    fn post_data(&self, v: &mut Value, t: &mut Tally) {
        let Some(o) = v.as_object_mut() else {
            return self.walk(v, loc::POST, t);
        };
        let mime = o
            .get("mimeType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        for (k, x) in o.iter_mut() {
            match k.as_str() {
                "params" => self.name_values(x, loc::POST, t),
                "text" => {
                    if let Value::String(s) = x {
                        if let Some(n) = self.body(s, &mime, loc::POST, t) {
                            *s = n;
                        }
                    }
                }
                "mimeType" => {}
                _ => self.walk(x, loc::POST, t),
            }
        }
    }

    fn content(&self, v: &mut Value, t: &mut Tally) {
        let Some(o) = v.as_object_mut() else {
            return self.walk(v, loc::CONTENT, t);
        };
        let mime = o
            .get("mimeType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if o.contains_key("text") && mime_matches(&mime, &self.drop) {
            o.shift_remove("text");
            o.shift_remove("encoding");
            o.insert(
                "comment".into(),
                Value::String(format!("content removed by hark sanitize ({mime})")),
            );
            t.report.add("dropped content", loc::CONTENT);
            return;
        }
        let base64 = o.get("encoding").and_then(Value::as_str) == Some("base64");
        let skip = mime_matches(&mime, &self.skip);
        self.string_field(o, "text", |s| {
            if !base64 {
                return self.body_skip(s, &mime, loc::CONTENT, t, skip);
            }
            let bytes = decode_base64(s)?;
            match String::from_utf8(bytes) {
                Ok(text) => self
                    .body_skip(&text, &mime, loc::CONTENT, t, skip)
                    .map(|n| STANDARD.encode(n)),
                Err(e) => {
                    let bytes = e.into_bytes();
                    self.binary(&bytes, t).map(|n| STANDARD.encode(n))
                }
            }
        });
        for (k, x) in o.iter_mut() {
            if !matches!(
                k.as_str(),
                "text" | "mimeType" | "encoding" | "size" | "compression"
            ) {
                self.walk(x, loc::CONTENT, t);
            }
        }
    }

    /// Binary content: only values already known are replaced.
    fn binary(&self, b: &[u8], t: &mut Tally) -> Option<Vec<u8>> {
        if t.known_absent {
            return None;
        }
        let k = self.known.as_ref().filter(|k| k.may_occur(b))?;
        let mut out = Vec::new();
        let mut last = 0;
        for m in k.ac.find_iter(b) {
            out.extend_from_slice(&b[last..m.start()]);
            let (r, kind) = &k.repl[m.pattern().as_usize()];
            out.extend_from_slice(r.as_bytes());
            t.report.add(kind, loc::CONTENT);
            last = m.end();
        }
        if last == 0 {
            return None;
        }
        out.extend_from_slice(&b[last..]);
        Some(out)
    }

    fn body(&self, s: &str, mime: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        self.body_skip(s, mime, location, t, false)
    }

    /// A request or response body: JSON and form bodies are parsed; anything else (or
    /// anything that does not parse) is scanned as text.
    fn body_skip(
        &self,
        s: &str,
        mime: &str,
        location: &'static str,
        t: &mut Tally,
        skip: bool,
    ) -> Option<String> {
        let m = mime.to_ascii_lowercase();
        let trimmed = s.trim_start();
        if !skip && (m.contains("json") || trimmed.starts_with('{') || trimmed.starts_with('[')) {
            if let Ok(r) = json::scrub(self, s, location, t, 1) {
                return r;
            }
        }
        if !skip && m.contains("x-www-form-urlencoded") && !s.contains('\n') {
            return self.query(s, location, t);
        }
        self.text(s, location, t, false, skip)
    }

    /// A URL: userinfo, path, query (by name), fragment.
    fn url(&self, u: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let (base, frag) = match u.find('#') {
            Some(i) => (&u[..i], Some(&u[i + 1..])),
            None => (u, None),
        };
        let (pre, query) = match base.find('?') {
            Some(i) => (&base[..i], Some(&base[i + 1..])),
            None => (base, None),
        };
        let mut changed = false;
        let mut out = String::with_capacity(u.len());
        // scheme://[userinfo@]host/path
        let mut rest = pre;
        if let Some(i) = pre.find("://") {
            let auth_start = i + 3;
            let auth_end = pre[auth_start..]
                .find('/')
                .map_or(pre.len(), |j| auth_start + j);
            let authority = &pre[auth_start..auth_end];
            out.push_str(&pre[..auth_start]);
            if let Some(at) = authority.rfind('@') {
                let ui = &authority[..at];
                let dec = text::pct_decode(ui, false).unwrap_or_else(|| ui.to_string());
                if let Some((user, pass)) = dec.split_once(':') {
                    remember(user, "pii", t);
                    remember(pass, "password", t);
                }
                match self.redact("userinfo", &dec, location, t) {
                    Some(r) => {
                        changed = true;
                        out.push_str(&text::pct_encode(&r));
                    }
                    None => out.push_str(ui),
                }
                out.push_str(&authority[at..]);
            } else {
                out.push_str(authority);
            }
            rest = &pre[auth_end..];
        }
        match self.text(rest, location, t, true, false) {
            Some(r) => {
                changed = true;
                out.push_str(&r);
            }
            None => out.push_str(rest),
        }
        if let Some(q) = query {
            out.push('?');
            match self.query(q, location, t) {
                Some(r) => {
                    changed = true;
                    out.push_str(&r);
                }
                None => out.push_str(q),
            }
        }
        if let Some(f) = frag {
            out.push('#');
            let r = if f.contains('=') {
                self.query(f, location, t)
            } else {
                self.text(f, location, t, true, false)
            };
            match r {
                Some(r) => {
                    changed = true;
                    out.push_str(&r);
                }
                None => out.push_str(f),
            }
        }
        changed.then_some(out)
    }

    /// `a=1&b=2` (query strings and form bodies): sensitive names by name, every value
    /// scanned; only changed pairs are re-encoded.
    fn query(&self, q: &str, location: &'static str, t: &mut Tally) -> Option<String> {
        let mut changed = false;
        let remove = matches!(self.mode, Mode::Remove);
        let mut parts: Vec<String> = Vec::new();
        for pair in q.split('&') {
            let Some((k, v)) = pair.split_once('=') else {
                match self.text(pair, location, t, true, false) {
                    Some(r) => {
                        changed = true;
                        parts.push(r);
                    }
                    None => parts.push(pair.to_string()),
                }
                continue;
            };
            let name = text::pct_decode(k, true).unwrap_or_else(|| k.to_string());
            let val = text::pct_decode(v, true).unwrap_or_else(|| v.to_string());
            let new = match self.classify(&name, &val) {
                Some(kind) => match self.redact(kind, &val, location, t) {
                    Some(_) if remove => {
                        changed = true;
                        continue;
                    }
                    Some(r) => Some(text::pct_encode(&r)),
                    None => None,
                },
                None => {
                    let r = if val.starts_with("http://") || val.starts_with("https://") {
                        self.url(&val, location, t)
                    } else {
                        self.text(&val, location, t, false, false)
                    };
                    r.map(|r| text::form_encode(&r))
                }
            };
            match new {
                Some(n) => {
                    changed = true;
                    parts.push(format!("{k}={n}"));
                }
                None => parts.push(pair.to_string()),
            }
        }
        changed.then(|| parts.join("&"))
    }

    /// Free text: known values (second pass) and detector matches are replaced.
    /// `in_url`: replacements are percent-encoded.
    fn text(
        &self,
        s: &str,
        location: &'static str,
        t: &mut Tally,
        in_url: bool,
        no_detect: bool,
    ) -> Option<String> {
        if s.len() < 6 {
            return None;
        }
        enum Hit {
            Known(usize),
            Found(&'static str, secrets::Check),
        }
        let mut hits: Vec<(std::ops::Range<usize>, Hit)> = Vec::new();
        if let Some(k) =
            (self.known.as_ref()).filter(|k| !t.known_absent && k.may_occur(s.as_bytes()))
        {
            for m in k.ac.find_iter(s) {
                hits.push((m.range(), Hit::Known(m.pattern().as_usize())));
            }
        }
        if !no_detect && !t.detected_nothing {
            let mut found = Vec::new();
            self.detectors.find(s, &mut found);
            t.detector_hit |= !found.is_empty();
            for (r, kind, check) in found {
                hits.push((r, Hit::Found(kind, check)));
            }
        }
        if hits.is_empty() {
            return None;
        }
        hits.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        let mut changed = false;
        for (r, hit) in hits {
            if r.start < last || !s.is_char_boundary(r.start) || !s.is_char_boundary(r.end) {
                continue;
            }
            let value = &s[r.clone()];
            let rep = match hit {
                Hit::Known(i) => {
                    let k = self.known.as_ref().expect("known");
                    let (rep, kind) = &k.repl[i];
                    if self.keep_value(value) {
                        continue;
                    }
                    t.report.add(kind, location);
                    rep.clone()
                }
                Hit::Found(kind, check) => {
                    if check == secrets::Check::Basic {
                        if let Some((u, p)) = secrets::basic_credentials(value) {
                            remember(&u, "pii", t);
                            remember(&p, "password", t);
                        }
                    }
                    if kind == "userinfo" {
                        if let Some((u, p)) = value.split_once(':') {
                            remember(u, "pii", t);
                            remember(p, "password", t);
                        }
                    }
                    match self.redact(kind, value, location, t) {
                        Some(r) => r,
                        None => continue,
                    }
                }
            };
            out.push_str(&s[last..r.start]);
            if in_url {
                out.push_str(&text::pct_encode_keep_pct(&rep));
            } else {
                out.push_str(&rep);
            }
            last = r.end;
            changed = true;
        }
        if !changed {
            return None;
        }
        out.push_str(&s[last..]);
        Some(out)
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The maximal runs of URL-unreserved characters in `p`.
fn runs(p: &str) -> Vec<&[u8]> {
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
fn raw_needs_decoding(b: &[u8]) -> bool {
    escapes_need_decoding(b) || memchr::memmem::find(b, b"\"base64\"").is_some()
}

/// [`raw_needs_decoding`] without the base64 content: escapes only.
fn escapes_need_decoding(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(j) = memchr::memchr2(b'\\', b'%', &b[i..]) {
        let at = i + j;
        let next = b.get(at + 1).copied();
        if b[at] == b'\\' {
            if matches!(next, Some(b'u' | b'/')) {
                return true;
            }
        } else if let (Some(h), Some(l)) = (next, b.get(at + 2).copied()) {
            if let (Some(h), Some(l)) = (text::hexval(h), text::hexval(l)) {
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
fn base64_content_clear(k: &Known, bytes: &[u8]) -> bool {
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
    if c.get("encoding").and_then(|e| e.as_str()) != Some("base64") {
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

/// Remember a value for the second pass, if it is distinctive enough to be searched
/// for everywhere (short or common values are redacted only where they were found).
fn remember(value: &str, kind: &'static str, t: &mut Tally) {
    if distinctive(value) {
        t.found.push((value.to_string(), kind));
    }
}

fn distinctive(v: &str) -> bool {
    let n = v.chars().count();
    if !(6..=64 * 1024).contains(&n) || v.starts_with("[redacted") {
        return false;
    }
    let digit = v.bytes().any(|b| b.is_ascii_digit());
    let alpha = v.bytes().any(|b| b.is_ascii_alphabetic());
    if !alpha {
        // Numbers: only long ones (cards, phone numbers), not ids or timestamps.
        return n >= 13 && !v.bytes().all(|b| b.is_ascii_digit()) || n >= 15;
    }
    if v.bytes().all(|b| b.is_ascii_lowercase()) && n < 12 {
        return false; // an ordinary word
    }
    n >= 8 || digit
}

/// A value that looks generated: long enough, no spaces, letters and digits.
fn looks_random(v: &str) -> bool {
    let n = v.len();
    if n < 8 || v.contains(char::is_whitespace) || v.starts_with("[redacted") {
        return false;
    }
    let digit = v.bytes().any(|b| b.is_ascii_digit());
    let alpha = v.bytes().any(|b| b.is_ascii_alphabetic());
    let upper = v.bytes().any(|b| b.is_ascii_uppercase());
    let lower = v.bytes().any(|b| b.is_ascii_lowercase());
    (digit && alpha) || (n >= 16 && upper && lower)
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok().or_else(|| {
        let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        STANDARD
            .decode(&clean)
            .ok()
            .or_else(|| STANDARD_NO_PAD.decode(clean.trim_end_matches('=')).ok())
    })
}

/// Standard input (or any stream) copied to a temporary file, so it can be read twice.
/// The file is removed when this is dropped.
pub struct Spool(tempfile::NamedTempFile);

impl Spool {
    pub fn from_reader(mut r: impl std::io::Read) -> std::io::Result<Spool> {
        let mut f = tempfile::NamedTempFile::new()?;
        std::io::copy(&mut r, &mut f)?;
        f.flush()?;
        Ok(Spool(f))
    }
    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

/// First pass: every sensitive value in the file, and what a sanitized copy would count.
pub fn collect(
    s: Arc<Sanitizer>,
    reader: HarReader,
    threads: usize,
) -> Result<(Secrets, Report), Error> {
    let mut secrets = Secrets::default();
    let mut report = Report::default();
    let mut t = Tally::default();
    let mut header = reader.header().clone();
    s.header(&mut header, &mut t);
    let s2 = s.clone();
    // The borrowed tree: nothing is rewritten in this pass (see `scan`).
    let mut it = har::par_entries(reader, threads, move |raw| {
        raw.parse_lite().map(|e| {
            let mut t = Tally::default();
            s2.scan_entry(&e, &mut t);
            (raw.index, t)
        })
    });
    let mut touched = EntrySet::default();
    for r in it.by_ref() {
        let (index, et) = r??;
        if et.report.total() > 0 || !et.found.is_empty() {
            touched.insert(index);
        }
        if et.detector_hit {
            secrets.detected.insert(index);
        }
        report.merge(&et.report);
        for (v, k) in et.found {
            secrets.add(v, k);
        }
    }
    if let Some(reader) = it.into_reader() {
        let mut header = reader.header().clone();
        s.header(&mut header, &mut t);
    }
    for (v, k) in t.found {
        secrets.add(v, k);
    }
    report.distinct_values = secrets.len() as u64;
    secrets.touched = Some(touched);
    Ok((secrets, report))
}

/// Second pass: sanitize every entry (with the secrets of the first pass armed by
/// [`Sanitizer::set_secrets`]) and write them to `out` (or nowhere, for an audit).
pub fn rewrite<W: Write>(
    s: Arc<Sanitizer>,
    reader: HarReader,
    threads: usize,
    style: Style,
    mut out: Option<&mut HarWriter<W>>,
) -> Result<Report, Error> {
    let mut report = Report::default();
    let mut t = Tally::default();
    let mut header = reader.header().clone();
    s.header(&mut header, &mut Tally::default());
    if let Some(w) = out.as_deref_mut() {
        w.begin(&header)?;
    }
    let write = out.is_some();
    let s2 = s.clone();
    let mut it = har::par_entries(reader, threads, move |raw| {
        let known_absent = s2.known_absent(raw.bytes);
        if s2
            .fast
            .as_ref()
            .is_some_and(|f| !f.touched.contains(raw.index))
            && known_absent
        {
            let bytes = if write {
                raw.transcode(style)?
            } else {
                Vec::new()
            };
            let report = Report {
                entries: 1,
                ..Report::default()
            };
            return Ok((bytes, report));
        }
        let detected_nothing = s2.detected_nothing(raw.index);
        raw.parse().map(|mut e| {
            let mut t = Tally {
                known_absent,
                detected_nothing,
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
    });
    for r in it.by_ref() {
        let (bytes, r) = r??;
        report.merge(&r);
        if let Some(w) = out.as_deref_mut() {
            w.serialized_entry(&bytes)?;
        }
    }
    let reader = it.into_reader();
    if let Some(reader) = reader {
        let mut header = reader.header().clone();
        s.header(&mut header, &mut t);
        report.merge(&t.report);
        if let Some(w) = out {
            w.end(&header)?;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
