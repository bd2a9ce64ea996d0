//! `secrets` — what a secret looks like in HTTP traffic, for every part of hark that
//! must recognise one (the sanitizer, the attack-surface report, the diagnosis).
//!
//! - [`names`]: field names that are credential-like (`password`, `X-Api-Key`,
//!   `csrftoken` …) and how strongly each marks its value;
//! - [`detect`]: secrets recognised by their shape wherever they are (vendor keys, JWTs,
//!   PEM private keys, card numbers, e-mail addresses, credentials in URLs and code),
//!   with a literal prefilter in front of the regular expressions;
//! - [`Redactor`]: both at once on short values shown as examples.
//!
//! Only recognition lives here: rewriting whole files (and its TOML rules and keyed
//! hashes) is the sanitizer's.

mod confirm;
pub mod detect;
pub mod names;
mod patterns;
mod redact;

pub use confirm::{basic_credentials, luhn_card, Check};
pub use detect::{Detector, Detectors};
pub use names::{Names, Strength};
pub use redact::{
    could_be_credential, is_placeholder, jwt_like, looks_random, placeholder, Redactor,
};
