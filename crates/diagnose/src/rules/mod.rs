//! The diagnosis as a set of rules. Each rule looks at every entry once, in file order
//! ([`Rule::entry`], given the entry's [`Digest`] and a [`Context`]), keeps bounded
//! state, and adds its findings at the end ([`Rule::finish`]).
//!
//! Traffic rules (failures, CORS, HTTP errors, slow phases, redirects, mixed content,
//! duplicates, compression, caching, header sizes) add their findings when they
//! finish. Sign-in rules (the cookie jar, JWTs, the OAuth / OIDC / SAML flows, clock
//! skew) note most of theirs as they see them, in [`Context::noted`]: a code noted again
//! adds its entries to the first note's finding.

use crate::{Digest, Flow};
use check::{Examples, Finding};
use har::Severity;

pub mod caching;
pub mod clock_skew;
pub mod compression;
pub mod cookies;
pub mod cors;
pub mod duplicates;
pub mod failures;
pub mod flows;
pub mod header_size;
pub mod http_errors;
pub mod jwt;
pub mod mixed_content;
pub mod redirects;
pub mod slow;

pub(crate) use failures::too_many_redirects;

/// One rule of the diagnosis; see the module docs.
pub trait Rule {
    /// Look at one entry (file order).
    fn entry(&mut self, d: &Digest, cx: &mut Context<'_>);
    /// Add the findings, and the limits of state that were reached.
    fn finish(self: Box<Self>, out: &mut Findings);
}

/// What every rule may know of an entry beyond its digest.
pub struct Context<'a> {
    /// The origin of the page that made the request: its `Origin` or `Referer`
    /// header, else the origin of its page's document (as known before this entry).
    pub origin: Option<&'a str>,
    /// The request failed because CORS refused it ([`cors::is_cors_failure`]).
    pub cors_failed: bool,
    /// Findings noted while the entries are read, in the order first noted.
    pub noted: &'a mut Findings,
}

/// Findings, flows and the limits reached, as the rules add them.
#[derive(Default)]
pub struct Findings {
    pub(crate) list: Vec<Finding>,
    pub(crate) caps: Vec<String>,
    pub(crate) flows: Vec<Flow>,
    pub(crate) flows_not_shown: usize,
}

impl Findings {
    /// Add a finding.
    pub fn push(&mut self, f: Finding) {
        self.list.push(f);
    }

    /// Add a finding about the entries of `examples`, if there are any.
    pub fn add(
        &mut self,
        code: &'static str,
        severity: Severity,
        title: String,
        detail: String,
        advice: &str,
        examples: Examples,
    ) {
        if !examples.is_empty() {
            self.push(Finding::new(
                code,
                severity,
                title,
                detail,
                advice.into(),
                examples,
            ));
        }
    }

    /// Note `entries` under `code`: the first note of a code makes the finding
    /// (`make` gives its title, detail and advice); later ones add their entries and
    /// raise its severity.
    pub fn note(
        &mut self,
        code: &'static str,
        severity: Severity,
        entries: &[usize],
        make: impl FnOnce() -> (String, String, &'static str),
    ) {
        let at = match self.list.iter().position(|f| f.code == code) {
            Some(k) => {
                self.list[k].severity = self.list[k].severity.max(severity);
                k
            }
            None => {
                let (title, detail, advice) = make();
                self.list.push(Finding::new(
                    code,
                    severity,
                    title,
                    detail,
                    advice.into(),
                    Examples::default(),
                ));
                self.list.len() - 1
            }
        };
        let f = &mut self.list[at];
        let mut ex = Examples {
            list: std::mem::take(&mut f.entries),
            count: f.count,
        };
        for i in entries {
            ex.add(*i);
        }
        (f.entries, f.count) = (ex.list, ex.count);
    }

    /// A limit of state that was reached, in words.
    pub fn cap(&mut self, what: String) {
        self.caps.push(what);
    }

    /// Add `other`'s findings and limits after these.
    pub(crate) fn append(&mut self, other: Findings) {
        self.list.extend(other.list);
        self.caps.extend(other.caps);
    }
}

/// `METHOD url` with query values hidden: how findings show a request.
pub(crate) fn shown(d: &Digest) -> String {
    let req = d.entry.request();
    format!(
        "{} {}",
        req.method().unwrap_or("GET"),
        check::redact_query(req.url().unwrap_or(""))
    )
}

/// `s` when `n` is not 1.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The findings of one rule alone over `digests` (origins from their headers).
    pub(crate) fn run(rule: impl Rule + 'static, digests: &[Digest]) -> Vec<Finding> {
        let mut rule: Box<dyn Rule> = Box::new(rule);
        let mut out = Findings::default();
        for d in digests {
            let mut cx = Context {
                origin: d.header_origin.as_deref(),
                cors_failed: false,
                noted: &mut out,
            };
            rule.entry(d, &mut cx);
        }
        rule.finish(&mut out);
        out.list
    }
}
