//! The attack surface of an application from a HAR recording: hosts in scope,
//! endpoints with templated paths (`GET /api/users/{userId}`), their parameters by
//! location, auth schemes, response codes and types, GraphQL operations and JSON-RPC
//! methods, a recording-quality verdict, passive findings (SARIF) and an OpenAPI 3.1
//! document.
//!
//! One streaming pass: workers turn each entry (a borrowed lite tree) into a small
//! [`Sample`]; the fold keys samples by host, method, a path whose id-shaped segments
//! are already templated, and operation, so its state grows with the number of
//! endpoints, not entries (and is capped, see [`MAX_ENDPOINTS`]). At the end, literal
//! words become parameters where their siblings' evidence says so (same methods, same
//! rest of the path, same response shape: slugs, locale codes, or
//! [`WORD_VARIATION`] words), in one pass linear in the number of segments.
//! [`Report::template_for`] maps a request to its endpoint's template afterwards.

mod acc;
mod fold;
pub mod openapi;
mod pins;
mod report;
pub mod rules;
pub mod sample;
pub mod sarif;
pub mod schema;
mod scope;
pub mod shape;
pub mod yaml;

pub use acc::{Acc, ParamStat};
pub use fold::Surface;
pub use pins::Pins;
pub use report::{Endpoint, Finding, Param, Quality, Report};
pub use sample::Cleaner;
pub use scope::Scope;

use sample::Sample;

/// The most endpoints kept (beyond, samples are counted in `dropped`).
pub const MAX_ENDPOINTS: usize = 5000;
/// The most parameters kept per endpoint.
pub const MAX_PARAMS: usize = 200;
/// Distinct plain words in one place under one parent path, answered alike (same
/// methods, same response shape), from which they are one parameter (`/u/alice`,
/// `/u/bob`, …): real APIs have many sibling resources, so it takes tens.
pub const WORD_VARIATION: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error("bad scope pattern {0:?}")]
    Scope(String),
    #[error("bad pins file: {0}")]
    Pins(String),
}

/// The most distinct findings kept (rule, host, method, path, detail).
pub const MAX_FINDINGS: usize = 2000;

/// Read every entry of `reader` on `threads` workers and fold the surface.
pub fn analyze(
    reader: har::HarReader,
    threads: usize,
    scope: Scope,
    pins: Pins,
) -> Result<Report, Error> {
    let cleaner = std::sync::Arc::new(Cleaner::new());
    let mut s = Surface::with_pins(scope, pins);
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
