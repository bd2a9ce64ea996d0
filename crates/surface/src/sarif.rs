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
                "partialFingerprints": {"harkFinding/v1": fingerprint(&format!("{}|{}|{}", f.rule, f.location, f.detail))},
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

/// The HAR's path for SARIF: relative to the current directory when it can be (GitHub
/// rejects absolute URIs).
pub fn har_uri(file: &str) -> String {
    if file == "-" {
        return "stdin.har".into();
    }
    let p = std::path::Path::new(file);
    let rel = std::env::current_dir()
        .ok()
        .and_then(|d| p.strip_prefix(d).ok().map(|r| r.to_path_buf()))
        .unwrap_or_else(|| p.to_path_buf());
    let s = rel.to_string_lossy().replace('\\', "/");
    s.trim_start_matches('/').to_string()
}
