//! `hark mock` end to end: headless Chromium records the flow site's login + API script;
//! with the site stopped, Chromium runs the script again through `hark mock` as its
//! proxy and gets the recorded answers; curl shows the matching rules (a cache-buster
//! with --ignore-query, a repeated call's second answer, a POST whose JSON field changed
//! with and without --ignore-body-field) and HTTPS through CONNECT with hark's CA.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

/// `hark mock FILES ARGS --listen 127.0.0.1:0`, once it listens; and its address.
fn start(files: &[&Path], args: &[&str], ca: &Path) -> (Running, String) {
    let mut p = hark(["mock", "--listen", "127.0.0.1:0", "--ca-dir"])
        .arg(ca)
        .args(files)
        .args(args)
        .named("mock")
        .spawn();
    let line = p.stdout_line();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (p, addr)
}

/// The recorded entry of `method` `path` (in order) of a HAR: (status, body text).
fn recorded(har: &Value, method: &str, path_prefix: &str) -> Vec<(u64, String)> {
    entries(har)
        .iter()
        .filter(|e| {
            e["request"]["method"] == method
                && url_path(e["request"]["url"].as_str().unwrap()).starts_with(path_prefix)
        })
        .map(|e| {
            (
                e["response"]["status"].as_u64().unwrap(),
                e["response"]["content"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn chromium_runs_the_flow_through_mock_and_the_rules_forgive_what_they_should() {
    need("node", &["--version"]);
    need("curl", &["--version"]);
    need_node_module("playwright-core");
    let dir = tempfile::tempdir().unwrap();
    let har_path = dir.path().join("flow.har");
    let ca = dir.path().join("ca");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let live = {
        let _site = flow_site(port, false);
        flow_run(&url, Some(&har_path), None)
    };
    let har = read_json(&har_path);
    // The site is stopped: only the mock answers now.
    assert_eq!(curl(&url).max_time(2).attempt().status, 0);

    // Chromium through the mock as its proxy: the script completes, every call gets
    // the recorded status and body (the items list twice: the 2nd recorded answer 2nd).
    let (mock, addr) = start(
        &[&har_path],
        &[
            "--ignore-query",
            "cb",
            "--ignore-body-field",
            "$.at",
            "--ignore-body-field",
            "$.requestedAt",
        ],
        &ca,
    );
    let replayed = flow_run(&url, None, Some(&addr));
    assert_eq!(replayed.len(), live.len());
    for (got, was) in replayed.iter().zip(&live) {
        assert_eq!(got["status"], was["status"], "{got} vs {was}");
        assert_eq!(got["body"], was["body"], "{got} vs {was}");
    }
    let items: Vec<&Value> = replayed
        .iter()
        .filter(|c| c["url"].as_str().unwrap().starts_with("/api/items"))
        .collect();
    assert!(items[0]["body"].as_str().unwrap().contains("\"call\":1"));
    assert!(items[1]["body"].as_str().unwrap().contains("\"call\":2"));
    let summary = mock.stop();
    let out = summary.stdout();
    assert!(out.contains("0 of 7 entries never used"), "{summary}");

    // curl, origin-form, no rules: a cache-buster, a repeated call, a changed POST field.
    let (mock, addr) = start(&[&har_path], &[], &ca);
    let base = format!("http://{addr}");
    let me = recorded(&har, "GET", "/api/me");
    let miss = curl(format!("{base}/api/me?_=1733")).send();
    assert_eq!(miss.status, 404, "{}", miss.text());
    let why = miss.json();
    assert!(
        why["closest"].as_str().unwrap().contains("/api/me"),
        "{why}"
    );
    assert!(why["differences"][0]
        .as_str()
        .unwrap()
        .starts_with("query _: not recorded"));
    let order = r#"{"item":"book","qty":2,"requestedAt":"2031-01-01T00:00:00.000Z"}"#;
    let post = curl(format!("{base}/api/orders"))
        .header("content-type: application/json")
        .data(order)
        .send();
    assert_eq!(post.status, 404);
    let why = post.json();
    assert!(
        why["differences"][0]
            .as_str()
            .unwrap()
            .starts_with("body $.requestedAt: recorded"),
        "{why}"
    );
    drop(mock);

    let (mock, addr) = start(
        &[&har_path],
        &[
            "--ignore-query",
            "_",
            "--ignore-query",
            "cb",
            "--ignore-body-field",
            "$.requestedAt",
        ],
        &ca,
    );
    let base = format!("http://{addr}");
    let hit = curl(format!("{base}/api/me?_=1733")).send();
    assert_eq!(hit.status, 200);
    assert_eq!(hit.text(), me[0].1);
    let items = recorded(&har, "GET", "/api/items");
    assert_eq!(items.len(), 2);
    for want in [&items[0], &items[1], &items[1]] {
        let r = curl(format!("{base}/api/items?page=1&cb=99")).send();
        assert_eq!(
            r.text(),
            want.1,
            "repeated calls: recorded answers in order, the last repeats"
        );
    }
    let post = curl(format!("{base}/api/orders"))
        .header("content-type: application/json")
        .data(order)
        .send();
    assert_eq!(post.status, 201);
    assert_eq!(post.text(), recorded(&har, "POST", "/api/orders")[0].1);
    // Content-Length true to the body sent; no hop-by-hop header replayed.
    assert_eq!(
        post.header("content-length").unwrap(),
        post.text().len().to_string()
    );
    // A plain-HTTP CONNECT tunnel answers too.
    let tunnelled = curl(format!("http://127.0.0.1:{port}/api/health"))
        .proxy(format!("http://{addr}"))
        .tunnel()
        .send();
    assert_eq!(tunnelled.status, 200);
    let done = mock.stop();
    assert!(done.stdout().contains("6 answers, 0 misses"), "{done}");
}

#[test]
fn https_through_connect_with_harks_ca() {
    need("curl", &["--version"]);
    // A real recording with HTTPS entries (h2): the first GET answered 200 with a text
    // body. curl asks the mock for a tunnel to the recorded host; the mock answers
    // itself, nothing leaves the machine.
    let file = corpus_file("perfcascade-chrome_h2_www.nghttp2.org.har");
    let har = read_json(&file);
    let e = entries(&har)
        .iter()
        .find(|e| {
            let u = e["request"]["url"].as_str().unwrap_or("");
            e["request"]["method"] == "GET"
                && u.starts_with("https://")
                && e["response"]["status"] == 200
                && e["response"]["content"]["encoding"].is_null()
                && e["response"]["content"]["text"]
                    .as_str()
                    .is_some_and(|t| t.len() > 100)
        })
        .expect("an HTTPS GET with a body");
    let url = e["request"]["url"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca");
    // A copy: hark mock reads answers back from the file.
    let copy = dir.path().join("rec.har");
    std::fs::copy(&file, &copy).unwrap();
    let (mock, addr) = start(&[&copy], &[], &ca);
    let r = curl(url)
        .proxy(format!("http://{addr}"))
        .cacert(ca.join("hark-ca.pem"))
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), e["response"]["content"]["text"].as_str().unwrap());
    let done = mock.stop();
    assert!(done.stdout().contains("1 answers"), "{done}");
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("x.har.gz");
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(&std::fs::read(fixture("example-login.chromium.har")).unwrap())
            .unwrap();
        enc.finish().unwrap();
    }
    let r = hark(["mock", "--listen", "127.0.0.1:0"]).arg(&gz).run();
    r.assert_code(2);
    assert!(r.stderr().contains("gunzip"), "{r}");
    let r = hark(["mock", "--listen", "127.0.0.1:0", "--delay", "fast"])
        .arg(fixture("example-login.chromium.har"))
        .run();
    r.assert_code(2);
}

#[test]
fn passthrough_forwards_misses_and_records_them() {
    need("node", &["--version"]);
    need("curl", &["--version"]);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca");
    let rec = dir.path().join("rec.har");
    std::fs::copy(fixture("example-login.chromium.har"), &rec).unwrap();
    let port = free_port();
    let _site = flow_site(port, false);
    let out = dir.path().join("forwarded.har");
    let host = format!("127.0.0.1:{port}");
    let (mock, addr) = start(
        &[&rec],
        &[
            "--passthrough",
            "--host",
            &host,
            "-o",
            out.to_str().unwrap(),
        ],
        &ca,
    );
    // Origin-form: not recorded for that host, forwarded to it.
    let r = curl(format!("http://{addr}/api/health")).send();
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], "login first");
    // Proxied: forwarded to the request's host.
    let page = curl(format!("http://{host}/"))
        .proxy(format!("http://{addr}"))
        .send();
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<title>flow</title>"));
    let done = mock.stop();
    assert!(done.stdout().contains("(2 forwarded)"), "{done}");
    let har = read_json(&out);
    assert_eq!(
        urls(&har),
        vec![
            format!("http://{host}/api/health"),
            format!("http://{host}/")
        ]
    );
    assert_valid_har(&out);
}

#[test]
fn loose_answers_a_templated_path() {
    need("curl", &["--version"]);
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.har");
    std::fs::copy(fixture("example-login.chromium.har"), &rec).unwrap();
    let har = read_json(&rec);
    let project = recorded(&har, "GET", "/api/projects/123");
    // Recorded: /api/projects/123; asked: /api/projects/456.
    let (strict, addr) = start(&[&rec], &[], &dir.path().join("ca"));
    let r = curl(format!("http://{addr}/api/projects/456")).send();
    assert_eq!(r.status, 404);
    assert!(
        r.json()["closest"]
            .as_str()
            .unwrap()
            .contains("/api/projects/123"),
        "{}",
        r.text()
    );
    drop(strict);
    let (loose, addr) = start(&[&rec], &["--loose"], &dir.path().join("ca"));
    let r = curl(format!("http://{addr}/api/projects/456")).send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), project[0].1);
    drop(loose);
}

#[test]
fn websocket_messages_are_replayed_on_an_upgrade() {
    need("node", &["--version"]);
    need_node_module("playwright-core");
    // Chromium's recording of a WebSocket echo: send "hello", receive "hello".
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("ws.har");
    std::fs::copy(testdata("truth/har/websocket.chromium.har"), &rec).unwrap();
    let har = read_json(&rec);
    let ws = entries(&har)
        .iter()
        .find(|e| e.get("_webSocketMessages").is_some())
        .expect("a WebSocket entry");
    let url = ws["request"]["url"].as_str().unwrap();
    let (mock, addr) = start(&[&rec], &[], &dir.path().join("ca"));
    let done = Cmd::new("node")
        .arg(testdata("mock-ws.mjs"))
        .args([addr.as_str(), url, "hello"])
        .env("CHROMIUM", chromium())
        .run();
    done.assert_success();
    assert_eq!(done.stdout().trim(), "hello", "{done}");
    let summary = mock.stop();
    assert!(
        summary.stdout().contains("1 answers, 0 misses"),
        "{summary}"
    );
}
