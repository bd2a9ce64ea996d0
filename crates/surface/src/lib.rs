//! The attack surface of an application from a HAR recording: hosts in scope,
//! endpoints with templated paths (`GET /api/users/{userId}`), their parameters by
//! location, auth schemes, response codes and types, a recording-quality verdict, and
//! an OpenAPI 3.1 document.
//!
//! One streaming pass: workers turn each entry (a borrowed lite tree) into a small
//! [`Sample`]; the fold keys samples by host, method and a path whose id-shaped
//! segments are already templated, so its state grows with the number of endpoints,
//! not entries (and is capped, see [`MAX_ENDPOINTS`]). At the end, literal segments that
//! vary across many samples in the same place are merged into a parameter too.

mod acc;
mod fold;
pub mod openapi;
mod report;
pub mod rules;
pub mod sample;
pub mod sarif;
pub mod schema;
mod scope;
pub mod shape;

pub use acc::{Acc, ParamStat};
pub use fold::Surface;
pub use report::{Endpoint, Finding, Param, Quality, Report};
pub use sample::Cleaner;
pub use scope::Scope;

use sample::Sample;

/// The most endpoints kept (beyond, samples are counted in `dropped`).
pub const MAX_ENDPOINTS: usize = 5000;
/// The most parameters kept per endpoint.
pub const MAX_PARAMS: usize = 200;
/// Distinct words in one place of otherwise equal paths from which they are merged
/// into a parameter (`/u/alice`, `/u/bob`, …).
pub const WORD_VARIATION: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error("bad scope pattern {0:?}")]
    Scope(String),
}

/// The most distinct findings kept (rule, host, method, path, detail).
pub const MAX_FINDINGS: usize = 2000;

/// Read every entry of `reader` on `threads` workers and fold the surface.
pub fn analyze(reader: har::HarReader, threads: usize, scope: Scope) -> Result<Report, Error> {
    let cleaner = std::sync::Arc::new(Cleaner::new());
    let mut s = Surface::new(scope);
    har::fold(
        reader,
        threads,
        move |raw| {
            let tree = raw.parse_lite()?;
            let view = har::EntryView(har::Obj::of(Some(&tree)));
            let mut s = Sample::of(view, &cleaner);
            s.index = raw.index;
            let pos = raw.position_of(0);
            (s.line, s.column) = (pos.line, pos.column);
            Ok(s)
        },
        |sample| -> Result<(), Error> {
            s.add(sample);
            Ok(())
        },
    )?;
    Ok(s.finish())
}

/// Pretty JSON and a newline, as the documents are written to files.
fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(v).expect("a JSON value serialises");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests;

// Added for `hark mock --loose` (issue #21) while #16's version (with an index, in
// report.rs) is not on main; the lead keeps #16's and drops this one.
impl Report {
    /// The templated path of the endpoint that a request of `method` to `url` belongs
    /// to (`/api/users/{userId}`); `None` when no endpoint of that method, host and
    /// path was recorded (or the URL does not parse). The most literal match wins
    /// (`/articles/trending` over `/articles/{article}`).
    pub fn template_for(&self, method: &str, url: &str) -> Option<String> {
        use shape::{Seg, Shape};
        let u = url::Url::parse(url).ok()?;
        let host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return None,
        };
        let segs: Vec<String> = u
            .path()
            .split('/')
            .filter(|x| !x.is_empty())
            .map(|x| har::pct::decode_lossy(x, true))
            .collect();
        let method = method.to_ascii_uppercase();
        let mut best: Option<(Vec<bool>, &Endpoint)> = None;
        for e in &self.endpoints {
            if e.host != host || e.method != method || e.segs.len() != segs.len() {
                continue;
            }
            let mut lits = Vec::with_capacity(segs.len());
            let fits = e.segs.iter().zip(&segs).all(|(t, v)| match t {
                Seg::Lit(w) => {
                    lits.push(true);
                    w == v
                }
                Seg::Param(sh) => {
                    lits.push(false);
                    *sh == Shape::Word || shape::shape(v) == Some(*sh)
                }
            });
            if fits && best.as_ref().is_none_or(|(b, _)| lits > *b) {
                best = Some((lits, e));
            }
        }
        best.map(|(_, e)| e.path.clone())
    }
}
