//! Reading HARs the way the tests check them: JSON as hark's library parses it (key order
//! and number text kept), entries found by method and URL (never by index, so that a
//! re-recording keeps a test valid), the HAR 1.2 timing rules, and npm's validators.

use crate::cmd::{Cmd, Done};
use crate::testdata;
use serde_json::Value;
use std::path::Path;

/// Parse JSON the way hark's library does (key order and number text kept), ignoring a
/// BOM.
#[track_caller]
pub fn json(bytes: &[u8]) -> Value {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(b).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&b[..b.len().min(400)])
        )
    })
}

/// A JSON (HAR) file, parsed with [`json`].
#[track_caller]
pub fn read_json(path: impl AsRef<Path>) -> Value {
    let path = path.as_ref();
    json(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Compact, order-preserving text of a JSON value: equal texts mean equal documents with
/// the same key order and the same number spellings.
pub fn canonical(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// `log.entries` of a HAR.
#[track_caller]
pub fn entries(har: &Value) -> &Vec<Value> {
    har["log"]["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no log.entries array in {:.200}", har.to_string()))
}

/// The request URLs, in file order.
pub fn urls(har: &Value) -> Vec<String> {
    entries(har)
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap().to_string())
        .collect()
}

/// The entries with this request method whose URL ends with `url_suffix`.
pub fn find<'a>(har: &'a Value, method: &str, url_suffix: &str) -> Vec<&'a Value> {
    entries(har)
        .iter()
        .filter(|e| {
            e["request"]["method"] == method
                && e["request"]["url"].as_str().unwrap().ends_with(url_suffix)
        })
        .collect()
}

/// The one entry with this method whose URL ends with `url_suffix`; fails when there are
/// none or several.
#[track_caller]
pub fn one<'a>(har: &'a Value, method: &str, url_suffix: &str) -> &'a Value {
    let v = find(har, method, url_suffix);
    assert_eq!(v.len(), 1, "{method} …{url_suffix}: {} entries", v.len());
    v[0]
}

/// The indexes of the entries with this method whose URL path (and query) satisfies
/// `pred`: what findings list.
pub fn indexes(har: &Value, method: &str, pred: impl Fn(&str) -> bool) -> Vec<u64> {
    entries(har)
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            let u = url_path(e["request"]["url"].as_str().unwrap());
            e["request"]["method"] == method && pred(&u)
        })
        .map(|(i, _)| i as u64)
        .collect()
}

/// `http://127.0.0.1:1234/a/b?c=d` → `/a/b?c=d`.
pub fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(k) => rest[k..].to_string(),
        None => "/".into(),
    }
}

/// The names of a `headers` (or `cookies`, `queryString`) list, in order.
pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap().to_string())
        .collect()
}

/// Timings as HAR 1.2 wants them: send, wait and receive ≥ 0; blocked, dns, connect and
/// ssl ≥ 0 or -1; ssl inside connect; and `time` the sum of the phases (without ssl).
#[track_caller]
pub fn assert_timings_add_up(entry: &Value) {
    let t = &entry["timings"];
    let f = |k: &str| t[k].as_f64().unwrap();
    for k in ["send", "wait", "receive"] {
        assert!(f(k) >= 0.0, "{k} {t}");
    }
    for k in ["blocked", "dns", "connect", "ssl"] {
        assert!(f(k) >= 0.0 || f(k) == -1.0, "{k} {t}");
    }
    if f("ssl") >= 0.0 {
        assert!(
            f("connect") >= f("ssl"),
            "ssl is counted inside connect: {t}"
        );
    }
    let sum: f64 = ["blocked", "dns", "connect", "send", "wait", "receive"]
        .iter()
        .map(|k| f(k).max(0.0))
        .sum();
    let time = entry["time"].as_f64().unwrap();
    assert!(
        (time - sum).abs() < 0.01,
        "time {time} vs phases {sum}: {t}"
    );
}

/// `node testdata/SCRIPT FILE`, run in testdata/; fails when `testdata/node_modules/PACKAGE`
/// is not installed (`npm ci --prefix testdata`, which .ci/run does): a validator that is
/// not there must not pass a test silently.
#[track_caller]
pub fn node_check(package: &str, script: &str, file: &Path) -> Done {
    crate::need_node_module(package);
    Cmd::new("node")
        .current_dir(testdata(""))
        .arg(testdata(script))
        .arg(file)
        .run()
}

/// Whether npm's `har-validator` accepts a file (it must be installed).
#[track_caller]
pub fn har_validator(file: &Path) -> bool {
    node_check("har-validator", "validate.mjs", file).success()
}

/// npm's `har-validator` must accept the file (and must be installed).
#[track_caller]
pub fn assert_valid_har(file: &Path) {
    let done = node_check("har-validator", "validate.mjs", file);
    assert!(
        done.success(),
        "har-validator rejects {}:\n{done}",
        file.display()
    );
}

/// npm's `har-validator` must accept this HAR (and must be installed).
#[track_caller]
pub fn assert_valid_har_value(har: &Value) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), serde_json::to_vec(har).unwrap()).unwrap();
    assert_valid_har(f.path());
}

/// `@apidevtools/swagger-parser` on an OpenAPI document (it must be installed).
#[track_caller]
pub fn swagger_parser(file: &Path) -> Done {
    node_check(
        "@apidevtools/swagger-parser",
        "surface-site/validate-openapi.mjs",
        file,
    )
}

/// The SARIF 2.1.0 schema (`@microsoft/jest-sarif`) on a SARIF file (it must be
/// installed).
#[track_caller]
pub fn sarif_schema(file: &Path) -> Done {
    node_check(
        "@microsoft/jest-sarif",
        "surface-site/validate-sarif.mjs",
        file,
    )
}
