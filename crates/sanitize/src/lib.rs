//! `sanitize` — redact secrets from HAR files so they can be shared.
//!
//! Values are *replaced* (a placeholder that names the kind, a keyed hash, or nothing
//! with [`Mode::Remove`]); headers, cookies, query and form parameters stay in place.
//! Sensitive values are found by name (headers, cookies, query, form fields, JSON keys
//! at any depth), by shape ([`secrets::detect`]: vendor keys, JWTs, PEM keys, cards, e-mail) and
//! then replaced **everywhere** they occur, also URL-encoded or base64-encoded: a first
//! pass gathers the values, a second replaces every copy ([`pipeline::run`]). Both
//! passes stream; the values are kept between them as digests behind six-byte windows,
//! a fixed size per distinct value whatever its length.
//!
//! Structured bodies are parsed, not regexed: JSON is rewritten token by token (the rest
//! of the text is kept byte for byte), form bodies and query strings pair by pair, base64
//! bodies are decoded, sanitized and encoded again.

mod error;
mod found;
mod json;
mod known;
mod memo;
mod options;
pub mod pipeline;
pub mod report;
pub mod rules;
mod sanitizer;
mod scan;
mod spill;
mod spool;
mod text;
mod url;
mod walk;

pub use error::Error;
pub use found::{EntrySet, Numbers, Secrets, Tally};
pub use options::{parse_rules, Mode, Options};
#[cfg(test)]
use pipeline::{collect, rewrite};
pub use report::{loc, Report};
pub use rules::{mime_matches, RulesFile};
pub use sanitizer::Sanitizer;
pub use spool::Spool;

#[cfg(test)]
mod tests;
