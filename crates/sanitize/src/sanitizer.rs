//! The rules compiled ([`Sanitizer::new`]) and the decisions every walk shares: which
//! names and values are sensitive, what replaces a value ([`Sanitizer::render`]: a
//! placeholder, a keyed hash, a JWT with its safe claims), and which values are
//! remembered for the second pass.

use crate::found::{digest, Numbers, Tally};
use crate::known::{FastPath, Known};
use crate::rules::{self, Names, Strength};
use crate::{Error, Mode, Options};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use regex::RegexSet;
pub(crate) use secrets::{could_be_credential, is_placeholder, looks_random};

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

/// The rules compiled, ready to run on entries from many threads.
pub struct Sanitizer {
    pub(crate) names: Names,
    pub(crate) detectors: secrets::Detectors,
    pub(crate) keep_values: Option<RegexSet>,
    pub(crate) mode: Mode,
    pub(crate) drop: Vec<String>,
    pub(crate) skip: Vec<String>,
    pub(crate) known: Option<Known>,
    pub(crate) fast: Option<FastPath>,
    /// The first pass's numbering of the values (armed by [`Sanitizer::set_secrets`]).
    pub(crate) numbers: Numbers,
    /// Whether [`Sanitizer::known_absent`] may answer `true` (the raw-bytes
    /// prefilter); off only in tests, as the reference it is compared with.
    pub(crate) raw_prefilter: bool,
    /// How much of the values found is kept in memory (see [`crate::spill`]).
    pub(crate) budget: crate::spill::Budget,
    /// This sanitizer among all of the process (see [`crate::memo`]).
    pub(crate) serial: u64,
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
            numbers: Numbers::default(),
            raw_prefilter: true,
            budget: crate::spill::Budget::default(),
            serial: crate::memo::serial(),
        })
    }

    /// A sanitizer with the same rules, nothing armed: what [`Sanitizer::new`] gives
    /// for the same options, without compiling the detectors again.
    pub(crate) fn fresh(&self) -> Sanitizer {
        Sanitizer {
            names: self.names.clone(),
            detectors: self.detectors.clone(),
            keep_values: self.keep_values.clone(),
            mode: self.mode.clone(),
            drop: self.drop.clone(),
            skip: self.skip.clone(),
            known: None,
            fast: None,
            numbers: Numbers::default(),
            raw_prefilter: self.raw_prefilter,
            budget: self.budget,
            serial: crate::memo::serial(),
        }
    }

    pub(crate) fn hmac_hex(key: &[u8], v: &str) -> String {
        format!("{:016x}", Self::hmac64(key, v))
    }

    /// The first 64 bits of HMAC-SHA256(key, v), big-endian.
    pub(crate) fn hmac64(key: &[u8], v: &str) -> u64 {
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("any key length");
        m.update(v.as_bytes());
        let out = m.finalize().into_bytes();
        u64::from_be_bytes(out[..8].try_into().expect("8 bytes"))
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
            Mode::Placeholder => match self.numbers.get(kind, value) {
                Some(n) => format!("[redacted: {kind} #{n}]"),
                None => format!("[redacted: {kind}]"),
            },
            Mode::Hash(key) => format!("[redacted: {kind} #{}]", Self::hmac_hex(key, value)),
            Mode::Remove => String::new(),
        }
    }

    /// A JWT keeps its header and the claims in [`SAFE_CLAIMS`]; personal claims and the
    /// signature go (`header.claims.redacted`).
    pub(crate) fn redact_jwt(&self, v: &str) -> Option<String> {
        let (h, rest) = v.split_once('.')?;
        let (_, sig) = rest.split_once('.')?;
        if !h.starts_with("eyJ") || sig.contains('.') {
            return None;
        }
        let mut kept = jwt::decode(v).ok()?.claims;
        kept.retain(|k, _| SAFE_CLAIMS.contains(&k.as_str()));
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&kept).unwrap_or_default());
        let sig = match &self.mode {
            Mode::Hash(key) => format!("redacted{}", Self::hmac_hex(key, v)),
            _ => match self.numbers.get("jwt", v) {
                Some(n) => format!("redacted{n}"),
                None => "redacted".to_string(),
            },
        };
        Some(format!("{h}.{payload}.{sig}"))
    }

    /// Whether the second pass may write a changed entry by splicing its changed
    /// strings into its bytes ([`crate::found::Edits`]): not when items or fields are
    /// removed (`--remove`, `--drop-content`), nor in tests' reference runs.
    pub(crate) fn edits_allowed(&self) -> bool {
        self.raw_prefilter && !matches!(self.mode, Mode::Remove) && self.drop.is_empty()
    }

    pub(crate) fn keep_value(&self, v: &str) -> bool {
        v.is_empty()
            || is_placeholder(v)
            || self.keep_values.as_ref().is_some_and(|k| k.is_match(v))
    }

    /// A JWT as [`Sanitizer::redact_jwt`] leaves one: only [`SAFE_CLAIMS`] and a
    /// signature `redacted` (and a number or hash). Anything else that merely says
    /// `redacted` is checked like any JWT.
    pub(crate) fn sanitized_jwt(v: &str) -> bool {
        let Some(sig) = v.rsplit('.').next() else {
            return false;
        };
        let Some(tail) = sig.strip_prefix("redacted") else {
            return false;
        };
        if !tail.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        jwt::decode(v).is_ok_and(|j| j.claims.keys().all(|k| SAFE_CLAIMS.contains(&k.as_str())))
    }

    /// Redact `value` found as `kind` at `location`: count it, remember it for the
    /// second pass, return its replacement (`None`: keep it).
    pub(crate) fn redact(
        &self,
        kind: &'static str,
        value: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<String> {
        if self.keep_value(value) {
            return None;
        }
        if value.contains(".redacted") && Self::sanitized_jwt(value) {
            return None;
        }
        t.report.add(kind, location);
        if !t.numbered {
            t.seen.push((digest(kind, value), kind));
        }
        if !t.numbered && secrets::jwt_like(value) {
            // A JWT's signature carries the number (as a `jwt`, whatever it was found as).
            t.seen.push((digest("jwt", value), "jwt"));
        }
        remember(value, kind, t);
        if t.dry {
            // The first pass counts and remembers; its replacements are never written.
            return Some(String::new());
        }
        Some(self.render(kind, value))
    }

    /// A cookie's value is redacted unless it is plainly a setting (`theme=dark`,
    /// `consent=all`, `lang=en-US`: a short word without digits) and its name is not
    /// sensitive (`csrftoken`, `session` … are always redacted).
    pub(crate) fn cookie(
        &self,
        name: &str,
        v: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<String> {
        let word = v.len() <= 12
            && v.bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_');
        let small_number = v.len() <= 4 && v.bytes().all(|b| b.is_ascii_digit());
        match self.names.classify(name) {
            None if word || small_number => return self.text(v, location, t, false, false),
            Some((kind, _)) if !v.is_empty() && !could_be_credential(kind, v) => {
                t.report.kept(name, location);
                return self.text(v, location, t, false, false);
            }
            _ => {}
        }
        self.redact("cookie", v, location, t)
    }

    /// Whether a value of `kind` under a name of `strength` is to be redacted.
    pub(crate) fn applies(&self, kind: &str, strength: Strength, v: &str) -> bool {
        match strength {
            Strength::Strong => could_be_credential(kind, v),
            Strength::Weak => looks_random(v),
        }
    }

    /// The kind to redact `value` of a field called `name` as, if any. A credential-like
    /// name whose value cannot be a credential (`token_ready=1`, `"secret": false`) is
    /// kept, and listed in the report by name and location.
    pub(crate) fn classify(
        &self,
        name: &str,
        value: &str,
        location: &'static str,
        t: &mut Tally,
    ) -> Option<&'static str> {
        let (kind, strength) = self.names.classify(name)?;
        if self.applies(kind, strength, value) {
            return Some(kind);
        }
        if strength == Strength::Strong && !value.trim().is_empty() {
            t.report.kept(name, location);
        }
        None
    }
}

/// Remember a value for the second pass, if it is distinctive enough to be searched
/// for everywhere (short or common values are redacted only where they were found).
pub(crate) fn remember(value: &str, kind: &'static str, t: &mut Tally) {
    if !t.numbered && distinctive(value) {
        crate::memo::effect();
        t.found.push((value.to_string(), kind));
    }
}

pub(crate) fn distinctive(v: &str) -> bool {
    let n = v.chars().count();
    if !(6..=64 * 1024).contains(&n) || is_placeholder(v) {
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
