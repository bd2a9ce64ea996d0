//! What the user asks for: how values are replaced, their rules file, content to drop.

use crate::{Error, RulesFile};

/// How a sensitive value is replaced.
#[derive(Clone, Debug, Default)]
pub enum Mode {
    /// `[redacted: cookie]`: the field stays and says what it held.
    #[default]
    Placeholder,
    /// `[redacted: cookie #3fa9…]`: HMAC-SHA256 with this key, so one value maps to one
    /// token in every file sanitized with the same key.
    Hash(Vec<u8>),
    /// Empty values; name/value entries (headers, cookies, query, params) whose name is
    /// sensitive are deleted.
    Remove,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub mode: Mode,
    pub rules: RulesFile,
    /// MIME types (or aliases: `html`, `js`, `css`, `image`, `font`, …) whose response
    /// content is dropped.
    pub drop_content: Vec<String>,
}

/// Parse a rules file (TOML, see docs/sanitize.md).
pub fn parse_rules(text: &str) -> Result<RulesFile, Error> {
    toml::from_str(text).map_err(|e| Error::Rules(e.to_string()))
}
