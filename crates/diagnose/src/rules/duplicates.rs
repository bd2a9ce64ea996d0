//! The same request (method, URL, body, page) fired again within a second.

use super::{shown, Context, Findings, Rule};
use crate::util::human_ms;
use crate::Digest;
use check::Examples;
use har::Severity;
use std::collections::HashMap;

/// Distinct requests remembered (only those of the last second matter).
const MAX_DUP_KEYS: usize = 50_000;

#[derive(Default)]
pub struct Duplicates {
    /// Request key → when it was last sent, and its entry.
    last: HashMap<u64, (f64, usize)>,
    cleared: bool,
    dups: Examples,
    example: Option<String>,
}

impl Rule for Duplicates {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let e = d.view();
        let url = e.request().url().unwrap_or("");
        if e.response().status().unwrap_or(0) <= 0 || d.cached || har::http::is_static(&d.kind, url)
        {
            return;
        }
        let Some(start) = d.started_ms else { return };
        let i = d.index;
        match self.last.get_mut(&d.dup_key) {
            Some((last, first)) => {
                if start - *last < 1000.0 && start >= *last {
                    self.dups.add(*first);
                    self.dups.add(i);
                    self.example.get_or_insert_with(|| {
                        format!(
                            "{} (entries {first} and {i}, {} apart)",
                            shown(d),
                            human_ms(start - *last)
                        )
                    });
                }
                *last = start;
                *first = i;
            }
            None => {
                if self.last.len() >= MAX_DUP_KEYS {
                    // Only requests of the last second can be duplicated.
                    self.last.retain(|_, (last, _)| *last > start - 1000.0);
                    if self.last.len() >= MAX_DUP_KEYS {
                        self.last.clear();
                        self.cleared = true;
                    }
                }
                self.last.insert(d.dup_key, (start, i));
            }
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        if self.cleared {
            out.cap(format!(
                "duplicate requests: more than {MAX_DUP_KEYS} distinct requests within a second; earlier ones forgotten"
            ));
        }
        out.add(
            "duplicate-request",
            Severity::Info,
            "The same request sent twice within a second".into(),
            format!("{}.", self.example.unwrap_or_default()),
            "A double-fired handler or a retry: make the call once (or make it idempotent).",
            self.dups,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn a_request_repeated_within_a_second() {
        // digest(i) starts at i × 100 ms (within the first second for i < 10).
        let ds = [
            digest(0, "https://a.example/api", 200, &[]),
            digest(1, "https://a.example/api", 200, &[]),
            digest(2, "https://a.example/api", 200, &[]),
            digest(3, "https://a.example/other", 200, &[]),
        ];
        let out = run(Duplicates::default(), &ds);
        assert_eq!(out.len(), 1);
        // Each index listed once, each repeat counted.
        assert_eq!(
            (out[0].entries.as_slice(), out[0].count),
            (&[0, 1, 2][..], 4)
        );
    }
}
