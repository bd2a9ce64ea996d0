//! `hark sanitize` on the real recordings in testdata/har (Chromium via Playwright and
//! mitmproxy against the local fake SaaS, with every planted secret listed in
//! testdata/site/secrets.json) and on ../shared/corpus/public/harscrub-login.har.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const FIXTURES: &[&str] = &[
    "example-login.chromium.har",
    "failures.chromium.har",
    "login.mitmproxy.har",
    "login-no-preserve-log.har",
    "login-sanitized-export.har",
    "login-from-cache.har",
];

fn harscrub() -> PathBuf {
    corpus_file("harscrub-login.har")
}

struct Secret {
    name: String,
    value: String,
    grep: bool,
}

fn secrets() -> Vec<Secret> {
    let v = read_json(testdata("site/secrets.json"));
    v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Secret {
            name: s["name"].as_str().unwrap().to_string(),
            value: s["value"].as_str().unwrap().to_string(),
            grep: s["grep"].as_bool().unwrap_or(true),
        })
        .collect()
}

/// Secrets of the harscrub corpus file (not in secrets.json).
const HARSCRUB_SECRETS: &[&str] = &[
    "hunter2",
    "s3cr3t-cl13nt-k3y",
    "b1946ac92492d2347c6235b4d2611184",
    "FAKEFAKEFAKEFAKE",
    "ak_live_0f9e8d7c6b5a43210fedcba987654321",
    "rt-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "demo@example.test",
    "tr0ub4dor",
    "one-time-9b8c7d6e5f",
    "hk_4f3e2d1c0b9a87654321fedcba098765",
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
];

/// `hark sanitize -q INPUT -o OUT --json EXTRA…`, which must succeed: the directory that
/// holds OUT (removed when dropped), OUT, and the report.
fn sanitize(input: &Path, extra: &[&str]) -> (tempfile::TempDir, PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.har");
    let o = hark(["sanitize", "-q"])
        .arg(input)
        .arg("-o")
        .arg(&out)
        .arg("--json")
        .args(extra)
        .run();
    o.assert_code(0);
    (dir, out, o.json())
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

#[test]
fn no_planted_secret_survives_in_any_form() {
    let all = secrets();
    for f in FIXTURES {
        let input = fixture(f);
        let (_d, out, report) = sanitize(&input, &[]);
        let text = std::fs::read_to_string(&out).unwrap();
        let mut leaks = Vec::new();
        for s in all.iter().filter(|s| s.grep) {
            for form in forms(&s.value) {
                if text.contains(&form) {
                    leaks.push(format!("{} ({form})", s.name));
                }
            }
        }
        assert!(leaks.is_empty(), "{f}: leaked {leaks:?}");
        assert!(report["total"].as_u64().unwrap() > 0, "{f}");
        // The card's CVC is too short to search for: check its JSON field.
        for e in entries(&json(text.as_bytes())) {
            if e["request"]["url"]
                .as_str()
                .unwrap_or("")
                .ends_with("/api/payments")
            {
                if let Some(body) = e["request"]["postData"]["text"].as_str() {
                    let b: Value = serde_json::from_str(body).unwrap();
                    let cvc = b["card"]["cvc"].as_str().unwrap();
                    assert!(cvc.starts_with("[redacted: card #"), "{f}: {cvc}");
                }
            }
        }
    }
}

#[test]
fn harscrub_corpus_file() {
    let (_d, out, _) = sanitize(&harscrub(), &[]);
    let text = std::fs::read_to_string(&out).unwrap();
    for s in HARSCRUB_SECRETS {
        for form in forms(s) {
            assert!(!text.contains(&form), "{s} survived as {form}");
        }
    }
    assert!(
        har_validator(&out),
        "har-validator rejects the sanitized harscrub-login.har"
    );
}

#[test]
fn nothing_is_deleted_and_ordinary_fields_stay() {
    const SENSITIVE_HEADERS: &[&str] = &[
        "cookie",
        "set-cookie",
        "authorization",
        "x-api-key",
        "referer",
        "location",
    ];
    const ORDINARY_PARAMS: &[&str] = &[
        "page",
        "response_type",
        "client_id",
        "scope",
        "code_challenge_method",
        "grant_type",
        "redirect_uri",
    ];
    for f in FIXTURES {
        let input = fixture(f);
        let (_d, out, _) = sanitize(&input, &[]);
        let a = read_json(&input);
        let b = read_json(&out);
        let (ea, eb) = (entries(&a), entries(&b));
        assert_eq!(ea.len(), eb.len(), "{f}");
        for (x, y) in ea.iter().zip(eb) {
            let (rx, ry) = (&x["request"], &y["request"]);
            for k in ["headers", "cookies", "queryString"] {
                assert_eq!(len(&rx[k]), len(&ry[k]), "{f}: request.{k}");
                assert_eq!(
                    len(&x["response"][k]),
                    len(&y["response"][k]),
                    "{f}: response.{k}"
                );
            }
            assert_eq!(
                len(&rx["postData"]["params"]),
                len(&ry["postData"]["params"])
            );
            for k in ["method", "httpVersion", "headersSize", "bodySize"] {
                assert_eq!(rx[k], ry[k], "{f}: request.{k}");
            }
            for k in ["startedDateTime", "time", "timings", "cache", "pageref"] {
                assert_eq!(x[k], y[k], "{f}: {k}");
            }
            for k in ["status", "statusText", "httpVersion", "bodySize"] {
                assert_eq!(x["response"][k], y["response"][k], "{f}: response.{k}");
            }
            let path = |u: &Value| {
                u.as_str()
                    .unwrap_or("")
                    .split('?')
                    .next()
                    .unwrap()
                    .to_string()
            };
            assert_eq!(path(&rx["url"]), path(&ry["url"]), "{f}: url path");
            for side in ["request", "response"] {
                let (hx, hy) = (&x[side]["headers"], &y[side]["headers"]);
                for (h1, h2) in hx.as_array().unwrap().iter().zip(hy.as_array().unwrap()) {
                    assert_eq!(h1["name"], h2["name"]);
                    let name = h1["name"].as_str().unwrap().to_ascii_lowercase();
                    if !SENSITIVE_HEADERS.contains(&name.as_str()) {
                        assert_eq!(h1["value"], h2["value"], "{f}: {side} header {name}");
                    }
                }
            }
            for (q1, q2) in rx["queryString"]
                .as_array()
                .unwrap()
                .iter()
                .zip(ry["queryString"].as_array().unwrap())
            {
                assert_eq!(q1["name"], q2["name"]);
                if ORDINARY_PARAMS.contains(&q1["name"].as_str().unwrap()) {
                    assert_eq!(q1["value"], q2["value"], "{f}: query {}", q1["name"]);
                }
            }
            // Static assets (CSS, fonts, images) are untouched.
            let mime = x["response"]["content"]["mimeType"].as_str().unwrap_or("");
            if mime.starts_with("text/css")
                || mime.starts_with("image/")
                || mime.starts_with("font/")
            {
                assert_eq!(
                    x["response"]["content"], y["response"]["content"],
                    "{f}: {mime}"
                );
            }
        }
    }
}

#[test]
fn output_passes_har_validator() {
    let mut ran = false;
    for f in FIXTURES {
        let input = fixture(f);
        let (_d, out, _) = sanitize(&input, &[]);
        if har_validator(&input) {
            assert!(
                har_validator(&out),
                "{f}: har-validator rejects the sanitized file"
            );
            ran = true;
        }
    }
    assert!(ran, "no fixture that har-validator accepts");
}

/// What was redacted that is not a planted secret: values that changed although they
/// contain none of the planted values (nor the admin's Basic credentials). Printed, and
/// kept short.
#[test]
fn false_positives_are_few() {
    let planted: Vec<String> = secrets()
        .iter()
        .flat_map(|s| {
            let mut v = vec![s.value.clone()];
            if s.value.contains("%3A") {
                v.push(s.value.replace("%3A", ":"));
            }
            v
        })
        .chain(["ops-admin".to_string()])
        .collect();
    fn leaves(v: &Value, path: String, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(o) => o
                .iter()
                .for_each(|(k, x)| leaves(x, format!("{path}.{k}"), out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| leaves(x, format!("{path}[{i}]"), out)),
            Value::String(s) => out.push((path, s.clone())),
            _ => {}
        }
    }
    let mut total = 0;
    for f in FIXTURES {
        let input = fixture(f);
        let (_d, out, _) = sanitize(&input, &[]);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        leaves(&read_json(&input), String::new(), &mut a);
        leaves(&read_json(&out), String::new(), &mut b);
        assert_eq!(a.len(), b.len());
        let mut fps = Vec::new();
        for ((p, x), (_, y)) in a.iter().zip(&b) {
            if x != y && !planted.iter().any(|s| x.contains(s.as_str())) && !x.contains("eyJ") {
                // Base64 bodies: look inside.
                fps.push(format!("{p}: {:.80}", x));
            }
        }
        println!(
            "{f}: {} redacted values that are not planted secrets",
            fps.len()
        );
        for fp in &fps {
            println!("    {fp}");
        }
        total += fps.len();
    }
    assert!(total <= 12, "too many false positives: {total}");
}

#[test]
fn check_mode_is_a_ci_gate() {
    let input = fixture("example-login.chromium.har");
    let o = hark(["sanitize", "--check", "-q"]).arg(&input).run();
    o.assert_code(1);
    assert!(o.stdout().contains("values would be redacted"), "{o}");
    assert!(o.stdout().contains("every copy would be replaced"), "{o}");
    // A sanitized file passes the gate, and sanitizing it again changes nothing.
    let (_d, out, _) = sanitize(&input, &[]);
    let o = hark(["sanitize", "--check", "-q", "--json"])
        .arg(&out)
        .run();
    o.assert_code(0);
    assert_eq!(o.json()["total"], 0);
}

#[test]
fn stdin_and_input_untouched() {
    let input = fixture("login.mitmproxy.har");
    let before = std::fs::read(&input).unwrap();
    let (_d, out, _) = sanitize(&input, &[]);
    assert_eq!(std::fs::read(&input).unwrap(), before, "input modified");
    let o = hark(["sanitize", "-q", "-"]).stdin(before).run();
    o.assert_code(0);
    assert_eq!(o.stdout, std::fs::read(&out).unwrap());
    assert!(o.stderr().contains("values redacted"), "{o}");
}

#[test]
fn hash_mode_correlates_across_files() {
    let key = ["--hash-key", "test-key"];
    let (_d1, o1, _) = sanitize(&fixture("example-login.chromium.har"), &key);
    let (_d2, o2, _) = sanitize(&fixture("login.mitmproxy.har"), &key);
    let token = |p: &Path| -> String {
        let v = read_json(p);
        entries(&v)
            .iter()
            .flat_map(|e| e["request"]["headers"].as_array().unwrap().clone())
            .find(|h| {
                h["name"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case("x-api-key")
            })
            .map(|h| h["value"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (t1, t2) = (token(&o1), token(&o2));
    assert!(t1.starts_with("[redacted: api key #"), "{t1}");
    assert_eq!(t1, t2, "one value, one token in both files");
}

#[test]
fn remove_mode_and_drop_content() {
    let input = fixture("example-login.chromium.har");
    let (_d, out, _) = sanitize(&input, &["--remove"]);
    let text = std::fs::read_to_string(&out).unwrap();
    for s in secrets().iter().filter(|s| s.grep) {
        assert!(!text.contains(&s.value), "{} survived --remove", s.name);
    }
    let v = json(text.as_bytes());
    let has_auth = entries(&v).iter().any(|e| {
        e["request"]["headers"].as_array().unwrap().iter().any(|h| {
            h["name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("authorization")
        })
    });
    assert!(!has_auth, "--remove deletes Authorization headers");
    assert!(har_validator(&out));
    let (_d, out, _) = sanitize(&input, &["--drop-content", "html,js"]);
    let v = read_json(&out);
    for e in entries(&v) {
        let c = &e["response"]["content"];
        let mime = c["mimeType"].as_str().unwrap_or("");
        if mime.contains("html") || mime.contains("javascript") {
            assert!(c.get("text").is_none(), "{mime} content kept");
        }
    }
}

#[test]
fn rules_file_adds_and_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[names]\nredact = [\"page\"]\nkeep = [\"theme\"]\n[detectors]\noff = [\"email\"]\n",
    )
    .unwrap();
    let input = fixture("example-login.chromium.har");
    let (_d, out, _) = sanitize(&input, &["--rules", rules.to_str().unwrap()]);
    let v = read_json(&out);
    let page = entries(&v)
        .iter()
        .flat_map(|e| e["request"]["queryString"].as_array().unwrap().clone())
        .find(|q| q["name"] == "page")
        .unwrap();
    assert_eq!(page["value"], "[redacted: custom #1]");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[nope]\n").unwrap();
    hark(["sanitize"])
        .arg(&input)
        .arg("--rules")
        .arg(&bad)
        .run()
        .assert_code(2);
}

/// `hark diagnose`'s findings as (code, severity, listed entries), sorted.
fn diagnose_findings(file: &Path) -> Vec<(String, String, String)> {
    let v = hark(["diagnose", "--json"]).arg(file).run().json();
    let mut out: Vec<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["entries"].to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every finding survives a default sanitize: on every recording in testdata/har and
/// testdata/truth/har and every corpus file of the truth table with a diagnose finding
/// (under 500 kB, to stay quick in a debug build) (state mismatch,
/// invalid_grant, expired JWT, dropped cookie, CORS, redirect loop …), `hark diagnose`
/// reports the same codes on the same entries before and after.
#[test]
fn diagnose_finds_the_same_after_sanitizing() {
    let root = root();
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["testdata/har", "testdata/truth/har"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "har") {
                files.push(p);
            }
        }
    }
    let table = std::fs::read_to_string(root.join("testdata/truth/findings.tsv")).unwrap();
    for l in table.lines().filter(|l| l.starts_with("../")) {
        let c: Vec<&str> = l.split('\t').collect();
        let p = root.join(c[0]);
        let small = std::fs::metadata(&p).is_ok_and(|m| m.len() < 500_000);
        if c[1] == "diagnose" && small && !files.contains(&p) {
            files.push(p);
        }
    }
    files.sort();
    assert!(files.len() >= 20, "{} files", files.len());
    let mut state_mismatch = false;
    for f in &files {
        let (_d, out, _) = sanitize(f, &[]);
        let before = diagnose_findings(f);
        let after = diagnose_findings(&out);
        assert_eq!(before, after, "{}", f.display());
        state_mismatch |= before.iter().any(|x| x.0 == "oauth-state-mismatch");
    }
    assert!(
        state_mismatch,
        "no state-mismatch recording among the files"
    );
}

/// The output keeps the input's layout: a compact input comes back compact (the same
/// bytes as `hark fmt --compact` of the pretty result: key order and number text kept),
/// a pretty one pretty; `--pretty` / `--compact` override.
#[test]
fn layout_of_the_input_is_kept() {
    // Playwright writes compact HARs; `hark fmt` makes the pretty copy.
    let compact = fixture("failures.chromium.har");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pretty.har");
    hark(["fmt"])
        .arg(&compact)
        .arg("-o")
        .arg(&input)
        .run()
        .assert_code(0);
    let (_d1, from_pretty, _) = sanitize(&input, &[]);
    let (_d2, from_compact, _) = sanitize(&compact, &[]);
    let pretty_text = std::fs::read(&from_pretty).unwrap();
    let compact_text = std::fs::read(&from_compact).unwrap();
    assert!(pretty_text.iter().filter(|&&b| b == b'\n').count() > 1000);
    assert!(compact_text.iter().filter(|&&b| b == b'\n').count() <= 1);
    let refmt = dir.path().join("refmt.har");
    hark(["fmt", "--compact"])
        .arg(&from_pretty)
        .arg("-o")
        .arg(&refmt)
        .run()
        .assert_code(0);
    assert_eq!(std::fs::read(&refmt).unwrap(), compact_text);
    // A compact input is not much bigger once sanitized (placeholders only).
    let n_in = std::fs::metadata(&compact).unwrap().len() as f64;
    assert!(
        (compact_text.len() as f64) < n_in * 1.05,
        "{} vs {n_in}",
        compact_text.len()
    );
    let (_d3, forced, _) = sanitize(&compact, &["--pretty"]);
    assert_eq!(std::fs::read(&forced).unwrap(), pretty_text);
    let (_d4, forced, _) = sanitize(&input, &["--compact"]);
    assert_eq!(std::fs::read(&forced).unwrap(), compact_text);
}
