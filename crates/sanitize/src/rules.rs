//! The user's own rules from a TOML file, and MIME type matching. Which names are
//! sensitive is [`secrets::names`].

use serde::Deserialize;

pub use secrets::names::{normalize, Names, Strength};

/// The user's rules file (see docs/sanitize.md):
///
/// ```toml
/// [names]
/// redact = ["x-tenant-secret", "ssn"]
/// keep = ["theme"]
///
/// [[patterns]]
/// name = "acme key"
/// regex = "acme_[a-z]+_[A-Za-z0-9]{16,}"
///
/// [values]
/// keep = ["^test-"]
///
/// [content]
/// drop = ["image/*", "font"]
/// skip = ["text/css"]
///
/// [detectors]
/// off = ["email"]
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub names: NamesSection,
    #[serde(default)]
    pub patterns: Vec<PatternRule>,
    #[serde(default)]
    pub values: ValuesSection,
    #[serde(default)]
    pub content: ContentSection,
    #[serde(default)]
    pub detectors: DetectorsSection,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamesSection {
    /// More names whose values are always redacted.
    #[serde(default)]
    pub redact: Vec<String>,
    /// Names never redacted by name (detectors still look at their values).
    #[serde(default)]
    pub keep: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternRule {
    /// The kind shown in placeholders and the report.
    pub name: String,
    /// A regular expression (Rust `regex` syntax). With a group named `v`, only that
    /// group is redacted.
    pub regex: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValuesSection {
    /// Regular expressions of values never redacted (test keys, known-public ids).
    #[serde(default)]
    pub keep: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSection {
    /// MIME types whose response content is dropped wholesale (like `--drop-content`).
    #[serde(default)]
    pub drop: Vec<String>,
    /// MIME types whose content is not scanned by the detectors (values already known
    /// as secrets are still replaced).
    #[serde(default)]
    pub skip: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorsSection {
    /// Built-in detectors to turn off, by kind (`email`, `card`, `jwt`, …).
    #[serde(default)]
    pub off: Vec<String>,
}

/// Whether `mime` is one of `types`: a full type (`text/html`), a prefix with `*`
/// (`image/*`), or a short alias (`html`, `js`, `css`, `json`, `image`, `font`, …).
pub fn mime_matches(mime: &str, types: &[String]) -> bool {
    let m = har::http::mime_essence(mime);
    if m.is_empty() {
        return false;
    }
    types.iter().any(|t| {
        let t = t.trim().to_ascii_lowercase();
        match t.as_str() {
            "" => false,
            "js" | "javascript" => m.contains("javascript") || m.contains("ecmascript"),
            "html" => m.contains("html"),
            "css" => m == "text/css",
            "json" => m.contains("json"),
            "xml" => m.contains("xml"),
            "image" | "img" => m.starts_with("image/"),
            "font" => m.starts_with("font/") || m.contains("font-"),
            "audio" | "video" | "text" => m.starts_with(&format!("{t}/")),
            "wasm" => m.contains("wasm"),
            t if t.ends_with("/*") => m.starts_with(&t[..t.len() - 1]),
            t => m == t,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mimes() {
        let t = vec!["html".to_string(), "js".to_string(), "image/*".to_string()];
        assert!(mime_matches("text/html; charset=utf-8", &t));
        assert!(mime_matches("application/javascript", &t));
        assert!(mime_matches("image/png", &t));
        assert!(!mime_matches("application/json", &t));
    }
}
