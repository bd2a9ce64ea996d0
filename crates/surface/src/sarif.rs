//! SARIF 2.1.0 for the passive findings, as GitHub code scanning accepts it: locations
//! point at the HAR file (a relative path) and the entry's line, never at `http(s)://`
//! URIs; method and URL are in the message and properties; fingerprints are stable
//! (rule + method + templated path + detail).

use crate::rules::RULES;
use crate::Report;
use serde_json::{json, Value};

fn fingerprint(s: &str) -> String {
    // FNV-1a 64: stable across runs and platforms.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// The SARIF log. `har_uri` is the HAR's path as it should appear (relative).
pub fn document(r: &Report, har_uri: &str, version: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            let mut tags = vec![
                json!("security"),
                json!(format!("external/cwe/cwe-{}", rule.cwe)),
            ];
            if let Some(z) = rule.zap {
                tags.push(json!(format!("zap-{z}")));
            }
            json!({
                "id": rule.id,
                "name": rule.name.replace(|c: char| !c.is_ascii_alphanumeric(), ""),
                "shortDescription": {"text": rule.name},
                "fullDescription": {"text": rule.description},
                "help": {"text": format!("{} (CWE-{})", rule.description, rule.cwe)},
                "helpUri": format!("https://cwe.mitre.org/data/definitions/{}.html", rule.cwe),
                "properties": {"security-severity": format!("{:.1}", rule.severity), "tags": tags},
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let rule = RULES.iter().position(|x| x.id == f.rule).unwrap_or(0);
            let detail = if f.detail.is_empty() { String::new() } else { format!(" ({})", f.detail) };
            json!({
                "ruleId": f.rule,
                "ruleIndex": rule,
                "level": if RULES[rule].severity >= 7.0 { "error" } else if RULES[rule].severity >= 4.0 { "warning" } else { "note" },
                "message": {"text": format!("{}{detail}: {} {} (entry {}, {} exchanges)", RULES[rule].name, f.method, f.url, f.entry, f.count)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": har_uri},
                    "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                }}],
                "partialFingerprints": {"harkFinding/v1": fingerprint(&format!("{}|{}|{}", f.rule, without_port(&f.location), f.detail))},
                "properties": {"method": f.method, "url": f.url, "entry": f.entry, "count": f.count},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hark",
                "version": version,
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// The SARIF log of the HAR at `file` (`-`: standard input), as written to disk.
pub fn file_bytes(r: &Report, file: &str, version: &str) -> Vec<u8> {
    crate::pretty(&document(r, &har_uri(file), version))
}

/// `GET host:port/path` without the port: a local app is recorded on a new port each
/// time, and the finding is the same.
fn without_port(location: &str) -> String {
    let Some((method, rest)) = location.split_once(' ') else {
        return location.to_string();
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = match host.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    format!("{method} {host}/{path}")
}

/// The HAR's location for SARIF: a path relative to the current directory when the
/// file is under it (what GitHub code scanning resolves), else an absolute `file://`
/// URI.
pub fn har_uri(file: &str) -> String {
    if file == "-" {
        return "stdin.har".into();
    }
    let cwd = std::env::current_dir().ok();
    let p = std::path::Path::new(file);
    let abs = match &cwd {
        Some(d) if p.is_relative() => d.join(p),
        _ => p.to_path_buf(),
    };
    let abs = std::fs::canonicalize(&abs).unwrap_or(abs);
    let cwd = cwd.map(|d| std::fs::canonicalize(&d).unwrap_or(d));
    if let Some(rel) = cwd.as_deref().and_then(|d| abs.strip_prefix(d).ok()) {
        let parts: Vec<String> = rel
            .components()
            .map(|c| {
                url::form_urlencoded::byte_serialize(c.as_os_str().to_string_lossy().as_bytes())
                    .collect::<String>()
                    .replace('+', "%20")
            })
            .collect();
        return parts.join("/");
    }
    url::Url::from_file_path(&abs)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("file://{}", abs.to_string_lossy().replace('\\', "/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_resolve_and_fingerprints_ignore_the_port() {
        let cwd = std::env::current_dir().unwrap();
        let inside = cwd.join("Cargo.toml");
        assert_eq!(har_uri(&inside.to_string_lossy()), "Cargo.toml");
        assert_eq!(har_uri("Cargo.toml"), "Cargo.toml");
        let outside = har_uri("/nonexistent dir/a.har");
        assert_eq!(outside, "file:///nonexistent%20dir/a.har");
        assert_eq!(
            without_port("GET 127.0.0.1:41757/api/x"),
            "GET 127.0.0.1/api/x"
        );
        assert_eq!(without_port("GET app.test/"), "GET app.test/");
    }
}
