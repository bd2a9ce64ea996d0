//! `hark replay` end to end: a Chromium recording of the flow site's login + API script
//! is sent again to a fresh instance of the site (another port); the same requests get
//! the same statuses, the login's cookie carries on through the jar, and the diff is
//! clean. Without --unsafe the POSTs are not sent.

mod common;

use common::*;
use serde_json::Value;

fn calls(har: &Value) -> Vec<(String, String, u64)> {
    entries(har)
        .iter()
        .map(|e| {
            (
                e["request"]["method"].as_str().unwrap().to_string(),
                url_path(e["request"]["url"].as_str().unwrap()),
                e["response"]["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn header<'a>(list: &'a Value, name: &str) -> Option<&'a str> {
    list.as_array()?
        .iter()
        .find(|h| h["name"].as_str().unwrap().eq_ignore_ascii_case(name))
        .and_then(|h| h["value"].as_str())
}

#[test]
fn replay_against_a_fresh_instance_gets_the_same_statuses() {
    need("node", &["--version"]);
    need_node_module("playwright-core");
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.har");
    let port = free_port();
    {
        let _site = flow_site(port, false);
        flow_run(&format!("http://127.0.0.1:{port}/"), Some(&rec), None);
    }
    let fresh = free_port();
    let _site = flow_site(fresh, false);
    let target = format!("http://127.0.0.1:{fresh}");
    let new = dir.path().join("new.har");
    let r = hark(["replay", "--unsafe", "--target", &target, "-o"])
        .arg(&new)
        .arg(&rec)
        .args(["-H", "X-Replay: yes"])
        .run();
    r.assert_code(0);
    assert!(r.stdout().contains("no changes"), "{r}");
    let was = read_json(&rec);
    let now = read_json(&new);
    assert_eq!(calls(&was), calls(&now), "{r}");
    assert_valid_har(&new);
    for e in entries(&now) {
        let url = e["request"]["url"].as_str().unwrap();
        assert!(url.starts_with(&target), "sent only to the target: {url}");
        assert_eq!(header(&e["request"]["headers"], "x-replay"), Some("yes"));
        assert!(e["time"].as_f64().unwrap() > 0.0, "real timings");
    }
    // The API calls carry the session cookie the new login set (not the recorded one).
    let login = one(&now, "POST", "/api/login");
    let set = header(&login["response"]["headers"], "set-cookie").unwrap();
    let sid = set.split(';').next().unwrap();
    let me = one(&now, "GET", "/api/me");
    assert_eq!(header(&me["request"]["headers"], "cookie"), Some(sid));

    // Without --unsafe: no POST is sent; --only narrows further.
    let safe = dir.path().join("safe.har");
    let r = hark(["replay", "--target", &target, "--only", "*/api/*", "-o"])
        .arg(&safe)
        .arg(&rec)
        .run();
    assert!(r.stderr().contains("2 not sent"), "{r}");
    // What was not sent did not disappear: the diff covers the sent entries only.
    r.assert_code(0);
    assert!(r.stdout().contains("3 entries of"), "{r}");
    let got = calls(&read_json(&safe));
    assert!(
        got.iter()
            .all(|(m, p, _)| m == "GET" && p.starts_with("/api/")),
        "{got:?}"
    );
    assert_eq!(got.len(), 4, "{got:?}");
}

#[test]
fn a_target_that_is_not_a_url_is_refused() {
    let r = hark(["replay", "--target", "localhost:3000"])
        .arg(fixture("example-login.chromium.har"))
        .run();
    r.assert_code(2);
    assert!(r.stderr().contains("bad target"), "{r}");
}
