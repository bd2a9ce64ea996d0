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

// Added for #22 (`hark export`'s `template` column) ahead of #16, which exposes the same
// function: the lead reconciles the two.
impl Report {
    /// The templated path (`/users/{userId}`) of the endpoint `method url` belongs to,
    /// or `None` (another host, a static asset, an endpoint not kept).
    pub fn template_for(&self, method: &str, url: &str) -> Option<String> {
        let u = url::Url::parse(url).ok()?;
        let host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return None,
        };
        let segments: Vec<String> = u
            .path()
            .split('/')
            .filter(|x| !x.is_empty())
            .map(sample::urldecode)
            .collect();
        self.endpoints
            .iter()
            .find(|e| {
                e.host == host
                    && e.method.eq_ignore_ascii_case(method)
                    && e.segs.len() == segments.len()
                    && e.segs.iter().zip(&segments).all(|(s, seg)| match s {
                        shape::Seg::Lit(l) => l == seg,
                        shape::Seg::Param(_) => true,
                    })
            })
            .map(|e| e.path.clone())
    }
}
