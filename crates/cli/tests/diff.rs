//! `hark diff` end to end: headless Chromium (testdata/flow.mjs, Playwright's recordHar)
//! records the flow site's login + API script several times; two recordings of the same
//! site diff clean (timestamps, ids, tokens, request ids and session cookies vary), and
//! after the site changes one JSON field and one status, exactly those two are reported.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn site(port: u16, variant: bool) -> Running {
    flow_site(port, variant)
}

fn record(port: u16, har: &Path) {
    flow_run(&format!("http://127.0.0.1:{port}/"), Some(har), None);
}

/// Every change of a `--json` report as (endpoint, what, a, b).
fn changes(report: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        v => v.to_string(),
    };
    for e in report["endpoints"].as_array().unwrap() {
        let key = s(&e["key"]);
        for st in e["status"].as_array().unwrap() {
            out.push((key.clone(), "status".into(), s(&st["from"]), s(&st["to"])));
        }
        for h in e["headers"].as_array().unwrap() {
            out.push((
                key.clone(),
                format!("header {}", s(&h["name"])),
                s(&h["a"]),
                s(&h["b"]),
            ));
        }
        for f in e["body"].as_array().unwrap() {
            out.push((key.clone(), s(&f["name"]), s(&f["a"]), s(&f["b"])));
        }
        for n in ["appeared", "disappeared", "undetailed"] {
            if e[n].as_u64().unwrap() > 0 {
                out.push((key.clone(), n.into(), String::new(), String::new()));
            }
        }
        if e["timing"]["changed"] == Value::Bool(true) {
            out.push((key.clone(), "timing".into(), String::new(), String::new()));
        }
    }
    out
}

#[test]
fn same_flow_diffs_clean_and_a_changed_site_shows_exactly_its_two_changes() {
    need("node", &["--version"]);
    need_node_module("playwright-core");
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.har"),
        dir.path().join("b.har"),
        dir.path().join("c.har"),
    );
    let port = free_port();
    {
        let _site = site(port, false);
        record(port, &a);
        record(port, &b);
    }
    {
        let _site = site(port, true);
        record(port, &c);
    }

    // The same flow twice: nothing, though tokens, ids, timestamps and cookies differ.
    let same = hark(["diff", "--json"]).arg(&a).arg(&b).run();
    same.assert_code(0);
    let report = same.json();
    assert_eq!(report["changed"], Value::Bool(false), "{same}");
    assert_eq!(changes(&report), vec![], "{same}");
    assert!(report["paired"].as_u64().unwrap() >= 7, "{same}");
    let varying: u64 = report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["varying_pairs"].as_u64().unwrap())
        .sum();
    assert!(varying >= 3, "the runs' ids and timestamps differ: {same}");
    let text = hark(["diff"]).arg(&a).arg(&b).run();
    text.assert_code(0);
    assert!(text.stdout().contains("no changes"), "{text}");

    // One JSON field and one status changed in the site: exactly those two.
    let changed = hark(["diff", "--json"]).arg(&a).arg(&c).run();
    changed.assert_code(1);
    let mut got = changes(&changed.json());
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "GET /api/health".to_string(),
                "status".to_string(),
                "200".to_string(),
                "503".to_string()
            ),
            (
                "GET /api/me".to_string(),
                "$.plan".to_string(),
                "\"free\"".to_string(),
                "\"pro\"".to_string()
            ),
        ],
        "{changed}"
    );
    let md = hark(["diff", "--markdown"]).arg(&a).arg(&c).run();
    md.assert_code(1);
    assert!(
        md.stdout()
            .contains("| `GET /api/health` | status | `200` | `503` | 1 |"),
        "{md}"
    );
    // Ignoring the field leaves the status.
    let ignored = hark(["diff", "--json", "--ignore-field", "$.plan"])
        .arg(&a)
        .arg(&c)
        .run();
    assert_eq!(changes(&ignored.json()).len(), 1, "{ignored}");
}

#[test]
fn what_is_only_in_one_file_and_header_changes_are_reported() {
    // The built-in recording against its mitmproxy twin: static files the browser
    // cached are only in one, the favicon only in the other.
    let r = hark(["diff", "--json"])
        .arg(fixture("example-login.chromium.har"))
        .arg(fixture("login.mitmproxy.har"))
        .run();
    r.assert_code(1);
    let got = changes(&r.json());
    assert!(
        got.iter()
            .any(|c| c.0 == "GET /static/app.css" && c.1 == "disappeared"),
        "{r}"
    );
    assert!(
        got.iter()
            .any(|c| c.0 == "GET /favicon.ico" && c.1 == "appeared"),
        "{r}"
    );
    // A file against itself: clean, even with every header compared.
    let f = fixture("example-login.chromium.har");
    hark(["diff", "--strict-headers"])
        .arg(&f)
        .arg(&f)
        .run()
        .assert_code(0);
    // Cached copy vs the real run: the 304 revalidations are status changes.
    let cached = hark(["diff", "--json"])
        .arg(fixture("login-from-cache.har"))
        .arg(&f)
        .run();
    cached.assert_code(1);
    assert!(
        changes(&cached.json())
            .iter()
            .any(|c| c.0 == "GET /" && c.1 == "status" && c.2 == "304" && c.3 == "200"),
        "{cached}"
    );
}

#[test]
fn bad_input_is_an_error_that_names_it() {
    let f = fixture("example-login.chromium.har");
    let r = hark(["diff", "-"]).arg(&f).run();
    r.assert_code(2);
    assert!(r.stderr().contains("standard input"), "{r}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.har");
    std::fs::write(&bad, b"{\"log\": {\"entries\": [ {\"request\": ").unwrap();
    let r = hark(["diff"]).arg(&f).arg(&bad).run();
    r.assert_code(2);
    assert!(r.stderr().contains("bad.har"), "{r}");
}
