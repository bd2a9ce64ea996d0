//! `hark check`'s quality lint: can this HAR serve its purpose? Validation (is it HAR
//! 1.2?) lives in `har::validate`; this crate looks at the file as a whole, the way a
//! support engineer would: was the log preserved across the login, were cookies and
//! auth headers stripped at export, was it served from cache, are bodies missing, are
//! the timings possible, are entries in order.
//!
//! It is a fold: [`Linter::add`] takes the [`Facts`] of each entry once, in file order,
//! and keeps only counters, a few examples and 8-byte hashes of URLs; [`Linter::finish`]
//! gives the findings. [`run`] is the whole of `hark check` on one file: validation,
//! the lint and the verdict.

use har::Severity;
use serde::Serialize;

mod examples;
mod facts;
mod groups;
mod lint;
mod producer;
mod report;
pub use examples::Examples;
pub use facts::{
    cache_use_view, from_cache, from_cache_view, is_document, is_document_view, sizes_swapped_view,
    CacheUse, Facts,
};
pub use groups::{generic_path, Group, Groups};
pub use lint::Linter;
pub use producer::Producer;
pub use report::{run, Counts, FileReport, Options, Unreadable, Verdict};

/// How many entry indexes a finding lists (the count says how many there were).
pub const MAX_LISTED: usize = 20;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `log-not-preserved`.
    pub code: &'static str,
    pub severity: Severity,
    /// One line saying what is wrong.
    pub title: String,
    /// The evidence, in words.
    pub detail: String,
    /// What to do about it.
    pub advice: String,
    /// The first entries concerned (at most [`MAX_LISTED`]).
    pub entries: Vec<usize>,
    /// How many entries are concerned in all.
    pub count: usize,
}

impl Finding {
    /// A finding about the entries of `examples` (its list and count).
    pub fn new(
        code: &'static str,
        severity: Severity,
        title: String,
        detail: String,
        advice: String,
        examples: Examples,
    ) -> Finding {
        Finding {
            code,
            severity,
            title,
            detail,
            advice,
            entries: examples.list,
            count: examples.count,
        }
    }
}

/// A URL shown in a finding without its query values, which may be secrets.
pub fn redact_query(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut parsed) => {
            let names: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
            if names.is_empty() {
                parsed.set_fragment(None);
                return parsed.to_string();
            }
            let q = names
                .iter()
                .map(|k| format!("{k}=…"))
                .collect::<Vec<_>>()
                .join("&");
            parsed.set_query(None);
            parsed.set_fragment(None);
            format!("{parsed}?{q}")
        }
        Err(_) => u.split('?').next().unwrap_or(u).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_never_reach_a_finding() {
        assert_eq!(
            redact_query("https://app.example/callback?code=SECRET&state=abc#frag"),
            "https://app.example/callback?code=…&state=…"
        );
        assert_eq!(
            redact_query("https://app.example/a#b"),
            "https://app.example/a"
        );
        assert_eq!(redact_query("not a url?token=x"), "not a url");
    }
}
