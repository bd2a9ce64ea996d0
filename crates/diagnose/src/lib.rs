//! What went wrong in a HAR, in words.
//!
//! Three streaming folds, each fed every entry once in file order
//! (`entry(&har::Entry)`) and closed with `finish()`; each keeps only counters, top-N
//! lists, a few examples per finding and small per-endpoint / per-flow / per-cookie
//! state with fixed caps, so memory does not grow with the file:
//!
//! - [`Summary`]: requests by status class, type, domain, method and HTTP version,
//!   bytes, pages, the slowest and largest requests, the errors.
//! - [`Diagnoser`]: findings (each with a severity, the entries, the evidence and what
//!   to do) about failures, HTTP errors, slow phases, redirects, CORS, mixed content,
//!   duplicates, compression, caching, header sizes; and the sign-in flows
//!   (OAuth 2.0 / OpenID Connect / SAML) with their failures, expired JWTs, cookies that
//!   were not sent back and clock skew.
//!
//! [`analyze`] runs both (and `hark check`'s [`check::Linter`]) over a reader, parsing
//! on worker threads.

mod auth;
mod network;
pub mod summary;
pub mod util;

pub use auth::{Flow, Step, TokenInfo, MAX_FLOWS};
pub use check::Finding;
pub use summary::{Report as SummaryReport, Summary};

use har::{Entry, Header, Severity};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] har::ReadError),
}

/// The findings and flows of one HAR.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Diagnosis {
    /// Most severe first, then in order of the first entry concerned.
    pub findings: Vec<Finding>,
    pub flows: Vec<Flow>,
    /// Flows beyond [`MAX_FLOWS`], counted but not kept.
    pub flows_not_shown: usize,
}

impl Diagnosis {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// The fold behind `hark diagnose`.
#[derive(Default)]
pub struct Diagnoser {
    network: network::Network,
    auth: auth::Auth,
}

impl Diagnoser {
    pub fn new() -> Diagnoser {
        Diagnoser::default()
    }

    pub fn entry(&mut self, e: &Entry) {
        let cors_failed = util::failure(e).is_some_and(|f| {
            let origin = network::page_origin(e, self.network.origins());
            network::is_cors_failure(&f, e, origin.as_deref())
        });
        self.network.entry(e);
        self.auth.entry(e, cors_failed);
    }

    pub fn finish(self) -> Diagnosis {
        let mut findings = self.network.finish();
        let (auth, flows, dropped) = self.auth.finish();
        findings.extend(auth);
        sort(&mut findings);
        Diagnosis {
            findings,
            flows,
            flows_not_shown: dropped,
        }
    }
}

/// Most severe first, then by first entry.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.entries.first().cmp(&b.entries.first()))
    });
}

/// What [`analyze`] found.
pub struct Analysis {
    pub header: Header,
    pub entries: usize,
    pub summary: Option<SummaryReport>,
    /// `hark check`'s quality lint.
    pub lint: Vec<Finding>,
    pub diagnosis: Option<Diagnosis>,
}

/// Which folds [`analyze`] runs.
#[derive(Clone, Copy, Debug)]
pub struct Want {
    pub summary: bool,
    pub diagnose: bool,
}

/// Read every entry of `reader` (parsed on `threads` workers, folded in order) and run
/// the folds asked for. The lint runs with `diagnose`.
pub fn analyze(reader: har::HarReader, threads: usize, want: Want) -> Result<Analysis, Error> {
    let mut linter = want.diagnose.then(|| check::Linter::new(reader.header()));
    let producer = linter.as_ref().map(|l| l.producer());
    let mut summary = want.summary.then(Summary::new);
    let mut diag = want.diagnose.then(Diagnoser::new);
    let mut it = har::par_entries(reader, threads, move |raw| {
        let e = raw.parse()?;
        let facts = producer.map(|p| check::Facts::of(&e, p));
        Ok::<_, har::ReadError>((e, facts))
    });
    let mut entries = 0;
    for item in it.by_ref() {
        let (e, facts) = item??;
        entries += 1;
        if let Some(s) = &mut summary {
            s.entry(&e);
        }
        if let Some(d) = &mut diag {
            d.entry(&e);
        }
        if let (Some(l), Some(f)) = (&mut linter, facts) {
            l.add(f);
        }
    }
    let reader = it
        .into_reader()
        .expect("the reader is returned after the last entry");
    let header = reader.header().clone();
    Ok(Analysis {
        entries,
        summary: summary.map(|s| s.finish(&header)),
        lint: linter.map(|l| l.finish(&header)).unwrap_or_default(),
        diagnosis: diag.map(Diagnoser::finish),
        header,
    })
}
