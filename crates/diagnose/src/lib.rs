//! What went wrong in a HAR, in words.
//!
//! Three streaming folds, each fed every entry once in file order (`entry(&Digest)`:
//! a small owned extract of the entry, computed on a worker thread from the borrowed
//! lite tree by [`Digest::of`]) and closed with `finish()`; each keeps only counters, top-N
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

mod digest;
mod flow;
pub mod rules;
pub mod summary;
pub mod util;

pub use check::Finding;
pub use digest::Digest;
pub use flow::{Flow, Outcome, Protocol, Step, StepKind, TokenInfo};
pub use rules::flows::MAX_FLOWS;
pub use summary::{Report as SummaryReport, Summary};

use har::{EntryView, Header, Obj, Severity};
use serde::Serialize;
use std::collections::HashMap;

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
    /// The state limits that were reached (memory is bounded; past a limit some
    /// findings may be incomplete), in words. Empty when none was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caps_reached: Vec<String>,
}

impl Diagnosis {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Pages seen: the origin of each page's document, for the requests that follow.
#[derive(Default)]
struct PageOrigins {
    origins: HashMap<String, String>,
    capped: bool,
}

/// Pages whose origin is kept.
const MAX_PAGES: usize = 5000;

impl PageOrigins {
    /// The origin of the page that made the request: its `Origin` or `Referer`
    /// header, else its page's document's.
    fn of<'a>(&'a self, d: &'a Digest) -> Option<&'a str> {
        if let Some(o) = &d.header_origin {
            return Some(o);
        }
        d.view()
            .pageref()
            .and_then(|p| self.origins.get(p))
            .map(String::as_str)
    }

    fn add(&mut self, d: &Digest) {
        if d.kind != "document" {
            return;
        }
        if let (Some(p), Some(u)) = (d.view().pageref(), &d.url) {
            if self.origins.len() < MAX_PAGES || self.origins.contains_key(p) {
                self.origins
                    .insert(p.to_string(), u.origin().ascii_serialization());
            } else {
                self.capped = true;
            }
        }
    }
}

/// The fold behind `hark diagnose`: the [`rules`], fed every entry in file order.
///
/// The order of the rules is the order of their findings before [`sort`] (which is
/// stable: findings of the same severity and first entry keep it) and the order of
/// the limits reported. Traffic rules come first, then the sign-in rules, whose
/// findings noted while reading come before those they add at the end. (Before the
/// rules, the failures' findings were split around the CORS ones; the failures rule
/// now gives all of its own first, which sorting makes no difference to: the two
/// around CORS are warnings and notes, the CORS findings errors.)
pub struct Diagnoser {
    pages: PageOrigins,
    traffic: Vec<Box<dyn rules::Rule>>,
    sign_in: Vec<Box<dyn rules::Rule>>,
    noted: rules::Findings,
}

impl Default for Diagnoser {
    fn default() -> Diagnoser {
        use rules::*;
        Diagnoser {
            pages: PageOrigins::default(),
            traffic: vec![
                Box::new(failures::Failures::default()),
                Box::new(cors::Cors::default()),
                Box::new(http_errors::HttpErrors::default()),
                Box::new(slow::Slow::default()),
                Box::new(redirects::Redirects::default()),
                Box::new(mixed_content::MixedContent::default()),
                Box::new(duplicates::Duplicates::default()),
                Box::new(compression::Compression::default()),
                Box::new(caching::Caching::default()),
                Box::new(header_size::HeaderSize::default()),
            ],
            // The JWT rule notes before the flows (an entry's expired token before its
            // flow's problems); clock skew finishes last (its finding may join the one
            // the flows noted for an ID token issued in the future).
            sign_in: vec![
                Box::new(cookies::Cookies::default()),
                Box::new(jwt::Jwts::default()),
                Box::new(flows::Flows::default()),
                Box::new(clock_skew::ClockSkew::default()),
            ],
            noted: Findings::default(),
        }
    }
}

impl Diagnoser {
    pub fn new() -> Diagnoser {
        Diagnoser::default()
    }

    /// Fold one entry (its [`Digest`], in file order).
    pub fn entry(&mut self, d: &Digest) {
        let origin = self.pages.of(d);
        let cors_failed = d
            .failure
            .as_deref()
            .is_some_and(|f| rules::cors::is_cors_failure(f, d, origin));
        let mut cx = rules::Context {
            origin,
            cors_failed,
            noted: &mut self.noted,
        };
        for r in self.traffic.iter_mut().chain(self.sign_in.iter_mut()) {
            r.entry(d, &mut cx);
        }
        self.pages.add(d);
    }

    pub fn finish(self) -> Diagnosis {
        let mut out = rules::Findings::default();
        for r in self.traffic {
            r.finish(&mut out);
        }
        if self.pages.capped {
            out.cap(format!(
                "page origins: only the first {MAX_PAGES} pages are tracked"
            ));
        }
        out.append(self.noted);
        for r in self.sign_in {
            r.finish(&mut out);
        }
        if out.flows_not_shown > 0 {
            out.cap(format!(
                "flows: only the first {MAX_FLOWS} are kept; {} more counted",
                out.flows_not_shown
            ));
        }
        sort(&mut out.list);
        Diagnosis {
            findings: out.list,
            flows: out.flows,
            flows_not_shown: out.flows_not_shown,
            caps_reached: out.caps,
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
    /// The file broke off (truncated, or bad JSON) after `entries` complete entries:
    /// the reports are of those, and this says where and why.
    pub truncated: Option<har::ReadError>,
    pub summary: Option<SummaryReport>,
    /// `hark check`'s quality lint.
    pub lint: Vec<Finding>,
    pub diagnosis: Option<Diagnosis>,
}

impl Analysis {
    /// The worst severity among the lint's findings and the diagnosis'.
    pub fn worst(&self) -> Option<Severity> {
        self.lint
            .iter()
            .map(|f| f.severity)
            .chain(self.diagnosis.as_ref().and_then(Diagnosis::worst))
            .max()
    }
}

/// What a worker takes of an entry for the folds.
enum Taken {
    Digest(Box<Digest>),
    Row(Box<summary::Row>),
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
    // Workers parse each entry as a borrowed lite tree and return only its digest (and
    // the lint's facts); the tree is dropped on the worker.
    // Without the diagnosis only the summary's row is taken (much less than a digest).
    let diagnose = want.diagnose;
    let mut entries = 0;
    // The fields before `entries` (the producer), for a file that breaks off.
    let header_before = reader.header().clone();
    let folded = har::fold(
        reader,
        threads,
        move |raw| {
            let tree = raw.parse_lite()?;
            let view = EntryView(Obj::of(Some(&tree)));
            let facts = producer.map(|p| check::Facts::of_view(raw.index, view, p));
            let taken = if diagnose {
                Taken::Digest(Box::new(Digest::of(raw.index, view)))
            } else {
                Taken::Row(Box::new(summary::Row::of(raw.index, view)))
            };
            Ok((taken, facts))
        },
        |(taken, facts): (Taken, Option<check::Facts>)| {
            entries += 1;
            match taken {
                Taken::Digest(d) => {
                    if let Some(s) = &mut summary {
                        s.entry(summary::Row::of_digest(&d));
                    }
                    if let Some(dg) = &mut diag {
                        dg.entry(&d);
                    }
                }
                Taken::Row(r) => {
                    if let Some(s) = &mut summary {
                        s.entry(*r);
                    }
                }
            }
            if let (Some(l), Some(f)) = (&mut linter, facts) {
                l.add(f);
            }
            Ok::<(), Error>(())
        },
    );
    // A file that breaks off after complete entries is reported on those (as `view`
    // does); one with none is an error.
    let (header, truncated) = match folded {
        Ok(reader) => (reader.header().clone(), None),
        Err(Error::Read(e)) if entries > 0 => (header_before, Some(e)),
        Err(e) => return Err(e),
    };
    Ok(Analysis {
        entries,
        truncated,
        summary: summary.map(|s| s.finish(&header)),
        lint: linter.map(|l| l.finish(&header)).unwrap_or_default(),
        diagnosis: diag.map(Diagnoser::finish),
        header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An entry at `ms` after the start, with response headers.
    pub(crate) fn digest(i: usize, url: &str, status: i64, headers: &[(&str, &str)]) -> Digest {
        let hs: Vec<_> = headers
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        let secs = i / 10;
        let value = json!({
            "startedDateTime": format!("2024-01-15T09:{:02}:{:02}.{:03}Z", secs / 60 % 60, secs % 60, i % 10 * 100),
            "time": 10,
            "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "Cookie", "value": "x=1"}], "queryString": []},
            "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1",
                         "headers": hs, "content": {"size": 10, "mimeType": "text/html"},
                         "redirectURL": ""},
            "timings": {"send": 1, "wait": 5, "receive": 4}
        });
        Digest::of_entry(&har::Entry { index: i, value })
    }

    #[test]
    fn summary_caps_distinct_domains() {
        let mut s = Summary::new();
        let n = summary::MAX_KEYS + 10;
        for i in 0..n {
            s.entry(summary::Row::of_digest(&digest(
                i,
                &format!("https://h{i}.example/"),
                200,
                &[],
            )));
        }
        let r = s.finish(&Header::default());
        assert_eq!(r.entries, n as u64);
        let other = r.domains.last().unwrap();
        assert_eq!(other.key, "(other)");
        assert_eq!(r.domains.iter().map(|c| c.requests).sum::<u64>(), n as u64);
        assert!(r.caps_reached.iter().any(|c| c.starts_with("domains:")));
    }

    #[test]
    fn diagnose_caps_cookies_and_redirect_chains() {
        let mut d = Diagnoser::new();
        let mut i = 0;
        // Redirects whose targets are never requested: open chains pile up.
        for k in 0..rules::redirects::MAX_CHAINS + 5 {
            let to = format!("https://a.example/next{k}");
            d.entry(&digest(
                i,
                &format!("https://a.example/r{k}"),
                302,
                &[("Location", &to)],
            ));
            i += 1;
        }
        // More distinct cookies than are tracked.
        for k in 0..rules::cookies::MAX_COOKIES + 3 {
            let c = format!("c{k}=v; Path=/; Secure");
            d.entry(&digest(i, "https://b.example/", 200, &[("Set-Cookie", &c)]));
            i += 1;
        }
        let out = d.finish();
        assert!(
            out.caps_reached
                .iter()
                .any(|c| c.starts_with("redirect chains:")),
            "{:?}",
            out.caps_reached
        );
        assert!(out
            .caps_reached
            .iter()
            .any(|c| c.starts_with("cookies:") && c.contains("3 later")));
        let json = serde_json::to_value(&out).unwrap();
        assert!(json["caps_reached"].is_array());
        // Nothing capped: the field is left out.
        let quiet = Diagnoser::new().finish();
        assert!(serde_json::to_value(&quiet)
            .unwrap()
            .get("caps_reached")
            .is_none());
    }

    /// A summary alone (rows taken on the workers from the whole entry) equals the
    /// summary made beside a diagnosis (rows from the digests), on every real recording.
    #[test]
    fn summary_alone_equals_summary_beside_the_diagnosis_on_the_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut compared = 0;
        for dir in ["testdata/har", "../shared/corpus/public"] {
            for f in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = f.unwrap().path();
                if p.extension().is_none_or(|x| x != "har") {
                    continue;
                }
                let run = |diagnose: bool, threads: usize| {
                    let r =
                        har::HarReader::new(har::Source::open(p.to_str().unwrap()).ok()?).ok()?;
                    let want = Want {
                        summary: true,
                        diagnose,
                    };
                    let a = analyze(r, threads, want).ok()?;
                    Some(serde_json::to_value(a.summary.unwrap()).unwrap())
                };
                let alone = run(false, 2);
                assert_eq!(alone, run(true, 1), "{}", p.display());
                if let Some(s) = alone {
                    assert!(s["entries"].as_u64().unwrap() > 0, "{}", p.display());
                    compared += 1;
                }
            }
        }
        assert!(compared >= 20, "{compared} files compared");
    }

    #[test]
    fn digest_is_the_same_from_either_tree() {
        let value = json!({
            "startedDateTime": "2024-01-15T09:30:00.000Z", "time": 12.5,
            "request": {"method": "POST", "url": "https://a.example/token?x=1",
                        "headers": [{"name": "Referer", "value": "https://app.example/p"},
                                    {"name": "X-Big", "value": "y"}],
                        "postData": {"mimeType": "application/x-www-form-urlencoded",
                                     "text": "grant_type=authorization_code&code=abc"}},
            "response": {"status": 400, "headers": [{"name": "Date", "value": "Mon, 15 Jan 2024 09:30:00 GMT"},
                                                    {"name": "Server", "value": "x"}],
                         "content": {"size": 30, "mimeType": "application/json",
                                     "text": "{\"error\":\"invalid_grant\"}"}}
        });
        let bytes = serde_json::to_vec(&value).unwrap();
        let lite = har::lite::parse(&bytes).unwrap();
        let a = Digest::of(3, EntryView(Obj::of(Some(&lite))));
        let b = Digest::of_entry(&har::Entry { index: 3, value });
        assert_eq!(a.entry, b.entry);
        assert_eq!(a.header_origin.as_deref(), Some("https://app.example"));
        assert_eq!(a.form, b.form);
        assert_eq!(a.dup_key, b.dup_key);
        assert!(a.needs_preflight);
        // Only the headers the folds read are kept; the error body is.
        let h = a.view().response().headers();
        assert!(h.contains("date") && !h.contains("server"));
        assert!(a.view().response().content().text().is_some());
    }
}
