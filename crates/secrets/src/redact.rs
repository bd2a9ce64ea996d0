//! Secrets in short values (examples in a report) replaced by `[redacted: kind]`.

use crate::{Detectors, Names};
use std::borrow::Cow;

/// The text that stands for a redacted value of `kind`: `[redacted: kind]`.
pub fn placeholder(kind: &str) -> String {
    format!("[redacted: {kind}]")
}

/// Shaped like a JWT: starts with `eyJ` (a base64url JSON object) and has three
/// dot-separated parts. Not decoded.
pub fn jwt_like(v: &str) -> bool {
    v.starts_with("eyJ") && v.split('.').count() == 3
}

/// Whether `v`, found under a credential-like name for `kind`, could be a credential:
/// not empty, a boolean or `null`; for kinds other than passwords, cards and personal
/// data, not a small integer (up to 4 digits) or a short enum-like word (lower-case
/// letters, `_`, `-`, up to 12: `ready`, `required`, `bearer`).
pub fn could_be_credential(kind: &str, v: &str) -> bool {
    let t = v.trim();
    if t.is_empty()
        || ["true", "false", "null", "undefined", "none", "nil"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
    {
        return false;
    }
    if matches!(kind, "password" | "card" | "pii" | "email" | "custom") {
        return true;
    }
    let small_int = t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit());
    let word = t.len() <= 12
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-');
    !(small_int || word)
}

/// Exactly one of hark's placeholders (`[redacted: oauth state #2]`,
/// `[redacted: cookie #3fa9c0d1e2b3a4f5]`): a kind of lower-case letters, spaces and
/// dashes, an optional number. A value that merely starts like one is not.
pub fn is_placeholder(v: &str) -> bool {
    let Some(inner) = v
        .strip_prefix("[redacted: ")
        .and_then(|r| r.strip_suffix(']'))
    else {
        return false;
    };
    let (kind, num) = match inner.split_once(" #") {
        Some((k, n)) => (k, Some(n)),
        None => (inner, None),
    };
    !kind.is_empty()
        && kind.len() <= 40
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b' ' || b == b'-')
        && num.is_none_or(|n| {
            !n.is_empty() && n.len() <= 16 && n.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// A value that looks generated: long enough, no spaces, letters and digits.
pub fn looks_random(v: &str) -> bool {
    let n = v.len();
    if n < 8 || v.contains(char::is_whitespace) || is_placeholder(v) {
        return false;
    }
    let digit = v.bytes().any(|b| b.is_ascii_digit());
    let alpha = v.bytes().any(|b| b.is_ascii_alphabetic());
    let upper = v.bytes().any(|b| b.is_ascii_uppercase());
    let lower = v.bytes().any(|b| b.is_ascii_lowercase());
    (digit && alpha) || (n >= 16 && upper && lower)
}

/// The built-in name rules and detectors, to redact values shown as examples.
pub struct Redactor {
    names: Names,
    detectors: Option<Detectors>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor {
            names: Names::default(),
            detectors: Detectors::new(&[], &[]).ok(),
        }
    }

    /// The name rules it applies.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// `value` of a field called `name` (`""`: judge by the value alone): a
    /// [`placeholder`] when the name is credential-like or the value a JWT (also after
    /// `Bearer `), else the value with every detector match replaced by one.
    pub fn redact<'a>(&self, name: &str, value: &'a str) -> Cow<'a, str> {
        if let Some((kind, _)) = self.names.classify(name) {
            return Cow::Owned(placeholder(kind));
        }
        if jwt_like(value.strip_prefix("Bearer ").unwrap_or(value)) {
            return Cow::Owned(placeholder("jwt"));
        }
        let mut found = Vec::new();
        if let Some(d) = &self.detectors {
            d.find(value, &mut found);
        }
        if found.is_empty() {
            return Cow::Borrowed(value);
        }
        let mut out = String::new();
        let mut at = 0;
        for (r, kind, _) in found {
            if r.start < at {
                continue;
            }
            out.push_str(&value[at..r.start]);
            out.push_str(&placeholder(kind));
            at = r.end;
        }
        out.push_str(&value[at..]);
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_jwts_and_detector_matches() {
        let r = Redactor::new();
        assert_eq!(r.redact("password", "hunter2"), "[redacted: password]");
        assert_eq!(r.redact("", "Bearer eyJa.eyJb.c"), "[redacted: jwt]");
        assert_eq!(
            r.redact("", "mail jane.doe@example.com now"),
            "mail [redacted: email] now"
        );
        assert!(matches!(r.redact("page", "2"), Cow::Borrowed("2")));
        assert!(jwt_like("eyJa.b.c") && !jwt_like("eyJa.b") && !jwt_like("xeyJ.a.b"));
    }
}
