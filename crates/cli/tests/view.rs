//! `hark view` end to end: the real binary serves real recordings, a hostile HAR and a
//! 200k-entry HAR; curl checks the headers and the Host check; headless Chromium
//! (testdata/view-test.mjs) uses the viewer as a person would.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// A running `hark view` (killed on drop) and the URL it printed.
struct Server {
    proc: Running,
    url: String,
}

/// `hark view --no-open --port 0 --quiet FILES…`, once it has said where it listens.
fn start(files: &[&Path]) -> Server {
    let mut proc = hark(["view", "--no-open", "--port", "0", "--quiet"])
        .args(files)
        .spawn();
    let url = proc.stdout_line().trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "hark view printed {url:?}"
    );
    Server { proc, url }
}

impl Server {
    /// GET a path of the viewer's, which must answer JSON.
    fn get_json(&self, path: &str) -> Value {
        curl(format!("{}{path}", self.url)).send().json()
    }

    /// The summary of file `n` once it is indexed (or after 10 s, as it is then).
    fn summary_when_indexed(&self, n: usize) -> Value {
        eventually(
            Duration::from_secs(10),
            || self.get_json(&format!("api/files/{n}/summary")),
            |s| s["done"] == true,
        )
    }
}

const SCRIPT: &str = "<script>window.__pwned=1;fetch('/pwned')</script>";
const IMG: &str = "<img src=x onerror=\"window.__pwned=2;fetch('/pwned-img')\">";
const JS_URL: &str = "javascript:window.__pwned=3;fetch('/pwned-js')";
const SVG: &str = "<svg onload=\"window.__pwned=4\">";

fn entry(url: &str, status: i64, mime: &str, text: &str, extra: Value) -> Value {
    let mut e = json!({
        "pageref": SCRIPT,
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": 12.5,
        "request": {
            "method": "GET", "url": url, "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "X-Evil", "value": SCRIPT},
                {"name": IMG, "value": JS_URL},
                {"name": "Cookie", "value": format!("a={IMG}; b={SVG}")},
            ],
            "queryString": [{"name": SCRIPT, "value": IMG}],
            "cookies": [{"name": "a", "value": IMG}],
            "headersSize": -1, "bodySize": 0
        },
        "response": {
            "status": status, "statusText": SCRIPT, "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Content-Type", "value": mime},
                {"name": "Set-Cookie", "value": format!("sid={IMG}; Path=/; HttpOnly")},
                {"name": "Location", "value": JS_URL},
            ],
            "cookies": [{"name": SCRIPT, "value": IMG, "path": JS_URL, "domain": SVG}],
            "content": {"size": text.len(), "mimeType": mime, "text": text},
            "redirectURL": JS_URL, "headersSize": -1, "bodySize": text.len()
        },
        "cache": {},
        "timings": {"blocked": 1, "dns": -1, "connect": -1, "send": 1, "wait": 10, "receive": 0.5},
        "_error": IMG,
    });
    if let (Value::Object(m), Value::Object(x)) = (&mut e, extra) {
        for (k, v) in x {
            m.insert(k, v);
        }
    }
    e
}

/// A HAR whose every string tries to run script or reach the network.
fn hostile_har() -> Value {
    let html = format!(
        "<!doctype html><html><head><title>{SCRIPT}</title><meta http-equiv=\"refresh\" content=\"0;url={JS_URL}\">\
         <base href=\"http://evil.example/\"><link rel=stylesheet href=\"http://evil.example/x.css\"></head>\
         <body>{SCRIPT}{IMG}{SVG}<iframe src=\"{JS_URL}\"></iframe><a href=\"{JS_URL}\">x</a>\
         <object data=\"http://evil.example/o\"></object></body></html>"
    );
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>window.__pwned=5</script>{IMG}</svg>"
    );
    let json_body = json!({SCRIPT: IMG, "nested": {"a": [JS_URL, SVG]}, "html": html}).to_string();
    // A JWT whose claims carry the payloads.
    let jwt = format!(
        "{}.{}.sig",
        b64_encode(r#"{"alg":"none","typ":"JWT"}"#).trim_end_matches('='),
        b64_encode(json!({"sub": SCRIPT, "name": IMG}).to_string())
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_")
    );
    let huge_line = format!("var x='{}';{SCRIPT}", "A".repeat(1_500_000));
    let entries = vec![
        entry(
            &format!("http://127.0.0.1:9/{SCRIPT}?q={IMG}"),
            200,
            "text/html",
            &html,
            json!({"_resourceType": "document"}),
        ),
        entry(JS_URL, 0, "text/html", &html, json!({})),
        entry(
            "http://127.0.0.1:9/evil.svg",
            200,
            "image/svg+xml",
            &svg,
            json!({}),
        ),
        entry(
            "http://127.0.0.1:9/evil-b64.svg",
            200,
            "image/svg+xml",
            &b64_encode(&svg),
            json!({}),
        ),
        // Claims to be a PNG, is HTML: served as image/png, nosniff, sandboxed.
        entry(
            "http://127.0.0.1:9/fake.png",
            200,
            "image/png",
            &html,
            json!({}),
        ),
        entry(
            "http://127.0.0.1:9/api?x=1",
            500,
            "application/json",
            &json_body,
            json!({"request": {"method": "POST", "url": format!("http://127.0.0.1:9/api?{SCRIPT}"), "httpVersion": "HTTP/1.1",
                "headers": [{"name": "Authorization", "value": format!("Bearer {jwt}")}],
                "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 10,
                "postData": {"mimeType": "application/x-www-form-urlencoded", "text": format!("a={SCRIPT}&b={IMG}"),
                    "params": [{"name": SCRIPT, "value": IMG}]}}}),
        ),
        entry(
            &format!("http://127.0.0.1:9/{}{SCRIPT}", "A".repeat(100_000)),
            404,
            "application/javascript",
            &huge_line,
            json!({}),
        ),
        entry(
            "ws://127.0.0.1:9/socket",
            101,
            "",
            "",
            json!({"_resourceType": "websocket", "_webSocketMessages": [
                {"type": "send", "time": 1.5, "opcode": 1, "data": SCRIPT},
                {"type": "receive", "time": 1.6, "opcode": 1, "data": IMG},
            ]}),
        ),
        entry(
            "http://127.0.0.1:9/s.css",
            200,
            "text/css",
            &format!("</style>{SCRIPT}body{{background:url({JS_URL})}}"),
            json!({}),
        ),
        entry(
            &format!("http://{IMG}/x"),
            200,
            "text/plain",
            &format!("{SCRIPT}\n{IMG}"),
            json!({"serverIPAddress": SCRIPT}),
        ),
        // For the preview: whatever its sandbox lets through would ask the viewer's own
        // origin for a /pwned path (the page test sees every request).
        entry(
            "http://127.0.0.1:9/refresh.html",
            200,
            "text/html",
            "<html><head><meta http-equiv=\"refresh\" content=\"0;url=/pwned-refresh\">\
             <link rel=stylesheet href=\"/pwned-css\"><link rel=prefetch href=\"/pwned-prefetch\">\
             <style>@import url(/pwned-import); body{background:url(/pwned-bg)}</style></head>\
             <body onload=\"window.__pwned=6;fetch('/pwned-onload')\"><img src=\"/pwned-img2\">\
             <video src=\"/pwned-video\" autoplay></video><form action=\"/pwned-form\"><input autofocus></form>\
             <script>window.__pwned=7;fetch('/pwned-script')</script>\
             <iframe srcdoc=\"<script>parent.__pwned=8</script>\"></iframe></body></html>",
            json!({}),
        ),
        entry(
            "http://127.0.0.1:9/font.woff2",
            200,
            "font/woff2",
            &b64_encode("wOF2 not really a font"),
            json!({"response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                "content": {"size": 22, "mimeType": "font/woff2", "encoding": "base64", "text": b64_encode("wOF2 not really a font")},
                "redirectURL": "", "headersSize": -1, "bodySize": -1}}),
        ),
    ];
    json!({"log": {
        "version": "1.2",
        "creator": {"name": SCRIPT, "version": IMG},
        "pages": [{"id": SCRIPT, "title": IMG, "startedDateTime": "2026-01-01T00:00:00.000Z",
                   "pageTimings": {"onContentLoad": 5, "onLoad": 9}}],
        "entries": entries
    }})
}

/// The hostile HAR recorded "again": every response with another hostile header and a
/// changed Location, the JSON response with other hostile values and keys, one entry
/// gone and one new (pairs changed, only in A, only in B, all made of payloads).
fn hostile_twin() -> Value {
    let mut h = hostile_har();
    let entries = h["log"]["entries"].as_array_mut().unwrap();
    for e in entries.iter_mut() {
        let hs = e["response"]["headers"].as_array_mut().unwrap();
        for x in hs.iter_mut() {
            if x["name"] == "Location" {
                x["value"] = json!(format!("{JS_URL}//{SVG}"));
            }
        }
        hs.push(json!({"name": SVG, "value": format!("{SCRIPT}{IMG}")}));
    }
    entries[5]["response"]["content"]["text"] =
        json!(json!({SCRIPT: SVG, "nested": {"a": [IMG, JS_URL]}, IMG: SCRIPT}).to_string());
    entries.remove(2);
    entries.push(entry(
        &format!("http://127.0.0.1:9/new/{SCRIPT}"),
        200,
        "application/json",
        &json!({IMG: SCRIPT}).to_string(),
        json!({}),
    ));
    h
}

/// 200,000 small entries: `item/N`, every tenth a 500.
fn write_big(path: &Path) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(w, "{{\"log\":{{\"version\":\"1.2\",\"creator\":{{\"name\":\"view test\",\"version\":\"1\"}},\"entries\":[").unwrap();
    for i in 0..200_000u32 {
        let status = if i % 10 == 0 { 500 } else { 200 };
        let (s, ms) = (i / 1000, i % 1000);
        write!(
            w,
            "{}{{\"startedDateTime\":\"2026-01-01T00:{:02}:{:02}.{:03}Z\",\"time\":{},\"request\":{{\"method\":\"GET\",\"url\":\"http://shop.example/item/{i}?x=1\",\"httpVersion\":\"HTTP/1.1\",\"headers\":[],\"queryString\":[],\"cookies\":[],\"headersSize\":-1,\"bodySize\":0}},\"response\":{{\"status\":{status},\"statusText\":\"\",\"httpVersion\":\"HTTP/1.1\",\"headers\":[],\"cookies\":[],\"content\":{{\"size\":{},\"mimeType\":\"application/json\"}},\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":-1}},\"cache\":{{}},\"timings\":{{\"send\":1,\"wait\":{},\"receive\":1}}}}",
            if i == 0 { "" } else { "," },
            s / 60,
            s % 60,
            ms,
            3 + i % 50,
            i % 5000,
            1 + i % 50
        )
        .unwrap();
    }
    write!(w, "]}}}}").unwrap();
}

#[test]
fn the_viewer_in_headless_chromium() {
    chromium();
    need_node_module("playwright-core");
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("hostile.har");
    std::fs::write(&hostile, serde_json::to_vec(&hostile_har()).unwrap()).unwrap();
    let big = dir.path().join("big.har");
    write_big(&big);
    let login = fixture("example-login.chromium.har");
    let failures = fixture("failures.chromium.har");
    let ws = corpus_file("mitmproxy-export-websocket.har");
    let search = fixture("search.har");
    let bbc = corpus_file("perfcascade-www.bbc.co.uk.160529_8V_7R3.har");
    let chrome = corpus_file("mitmproxy-import-chrome.har");
    // Compare mode: two recordings of the flow site (`hark record` + Chromium) where one
    // response changed (a header and a JSON field), and the hostile HAR against its twin.
    let flow_a = fixture("flow.hark-record.har");
    let flow_b = fixture("flow-changed.hark-record.har");
    let twin = dir.path().join("hostile-twin.har");
    std::fs::write(&twin, serde_json::to_vec(&hostile_twin()).unwrap()).unwrap();
    let server = start(&[
        &login, &failures, &hostile, &big, &ws, &search, &bbc, &chrome, &flow_a, &flow_b, &twin,
    ]);
    // What `hark diff` pairs between the login recording and the flow: the page must
    // pair the same (only in A = disappeared, only in B = appeared).
    let d = hark(["diff", "--json"]).arg(&login).arg(&flow_a).run();
    let d = d.json();
    let sum = |k: &str| -> u64 {
        d["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[k].as_u64().unwrap())
            .sum()
    };
    let diff_login_flow =
        json!({"paired": d["paired"], "onlyA": sum("disappeared"), "onlyB": sum("appeared")});
    // Types as `hark summary` names them: the viewer's column must agree.
    let summary = hark(["summary", "--json"]).arg(&login).run();
    assert!(summary.success(), "{summary}");
    let summary: Value = serde_json::from_str(&summary.stdout()).unwrap();
    let types: serde_json::Map<String, Value> = summary["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().to_string(),
                t["requests"].clone(),
            )
        })
        .collect();
    let url = &server.url;

    // Headers, as curl sees them: the policy on every answer, the Host check.
    let head = curl(url).send().head;
    assert!(
        head.to_ascii_lowercase().contains(&format!(
            "content-security-policy: {}",
            view::CSP.to_ascii_lowercase()
        )),
        "{head}"
    );
    assert!(head
        .to_ascii_lowercase()
        .contains("x-content-type-options: nosniff"));
    let api_head = curl(format!("{url}api/files/0/summary")).send().head;
    assert!(
        api_head
            .to_ascii_lowercase()
            .contains("content-security-policy:"),
        "{api_head}"
    );
    let port = url.trim_end_matches('/').rsplit(':').next().unwrap();
    for (host, code) in [
        (format!("evil.example:{port}"), 403),
        (format!("127.0.0.1.nip.io:{port}"), 403),
        (format!("localhost:{port}"), 200),
    ] {
        let got = curl(url).header(format!("Host: {host}")).send().status;
        assert_eq!(got, code, "Host: {host}");
    }
    // SVG is never served as an image; a fake PNG is served as PNG, sandboxed (once the
    // hostile file is indexed: before, its entries are not there yet, also a 404).
    let hostile_summary = server.summary_when_indexed(2);
    assert_eq!(hostile_summary["done"], true, "{hostile_summary}");
    let svg = curl(format!("{url}api/files/2/entries/2/image")).send();
    assert_eq!(svg.status, 404);
    let fake = curl(format!("{url}api/files/2/entries/4/image"))
        .send()
        .head
        .to_ascii_lowercase();
    assert!(
        fake.contains("content-type: image/png")
            && fake.contains("content-security-policy: sandbox"),
        "{fake}"
    );
    // Files listed for a viewer over several HARs.
    let files = server.get_json("api/files");
    assert_eq!(files.as_array().unwrap().len(), 11);

    let shot = std::env::var("HARK_VIEW_SCREENSHOT").unwrap_or_default();
    let mut cmd = Cmd::new("node")
        .current_dir(testdata(""))
        .arg("view-test.mjs")
        .arg(url)
        .arg(
            json!({"login": 0, "failures": 1, "hostile": 2, "big": 3, "websocket": 4, "search": 5,
                   "bbc": 6, "chrome": 7, "flowA": 8, "flowB": 9, "hostileTwin": 10,
                   "diffLoginFlow": diff_login_flow, "flowAPath": flow_a, "flowBPath": flow_b, "bbcPath": bbc, "summaryTypes": types})
            .to_string(),
        );
    if !shot.is_empty() {
        cmd = cmd.arg(&shot);
    }
    let out = cmd.run();
    let _ = std::io::stdout().write_all(&out.stdout);
    let _ = std::io::stderr().write_all(&out.stderr);
    assert!(out.success(), "view-test.mjs failed:\n{out}");
}

#[test]
fn a_file_that_is_not_a_har_fails_before_serving_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.har");
    std::fs::write(&bad, "{\"log\": []}").unwrap();
    let out = hark(["view", "--no-open", "--port", "0"]).arg(&bad).run();
    out.assert_code(2);
    let err = out.stderr();
    assert!(err.contains("bad.har:1:") && err.contains("log"), "{err}");
    assert!(out.stdout().is_empty(), "{out}");
}

#[test]
fn standard_input_is_spooled_and_the_copy_removed_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data = std::fs::read(fixture("example-login.chromium.har")).unwrap();
    let mut proc = hark(["view", "--no-open", "--port", "0", "-"])
        .env("TMPDIR", tmp.path())
        .stdin(data)
        .spawn();
    let url = proc.stdout_line().trim().to_string();
    let server = Server { proc, url };
    let summary = server.summary_when_indexed(0);
    assert_eq!(summary["requests"], 37);
    assert_eq!(summary["name"], "<stdin>");
    let d = server.get_json("api/files/0/entries/36");
    assert!(d["request"]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1"));
    // The spooled copy is in TMPDIR while serving, and gone after SIGTERM.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    let done = server.proc.stop();
    assert!(done.success(), "{done}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn the_built_in_example_is_shown_by_its_name() {
    let server = start(&[Path::new("@example")]);
    let files = server.get_json("api/files");
    assert_eq!(files[0]["name"], "@example");
}

#[test]
fn another_har_is_uploaded_to_hark_view() {
    let login = fixture("example-login.chromium.har");
    let failures = fixture("failures.chromium.har");
    let server = start(&[&login]);
    let up = format!("{}api/upload?name=failures.chromium.har", server.url);
    let at = format!("@{}", failures.display());
    // Without the header a cross-site page cannot send: refused.
    let r = curl(&up).data(&at).send();
    assert!(
        r.status == 403 && r.text().contains("X-Hark-Upload"),
        "{} {}",
        r.status,
        r.text()
    );
    let r = curl(&up).header("X-Hark-Upload: 1").data(&at).send();
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v["file"], 1);
    assert_eq!(v["name"], "failures.chromium.har");
    let files = server.get_json("api/files");
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");
    // Its rows are the uploaded file's (the summary counts its entries).
    let want = entries(&read_json(&failures)).len();
    assert!(want > 0);
    let s = server.summary_when_indexed(1);
    assert_eq!(s["requests"], want as u64, "{s}");
    // JSON that is not a HAR: 422 with the place.
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "{\"log\": {\"entries\": 7}}").unwrap();
    let r = curl(format!("{}api/upload?name=bad.har", server.url))
        .header("X-Hark-Upload: 1")
        .data(format!("@{}", bad.path().display()))
        .send();
    assert!(
        r.status == 422 && r.text().contains("not a HAR file: bad.har:1:"),
        "{} {}",
        r.status,
        r.text()
    );
}

#[test]
fn listening_beyond_loopback_needs_a_token() {
    // Refused before binding anything (no address but loopback is ever bound here).
    for addr in ["0.0.0.0", "::"] {
        let o = hark([
            "view",
            "--no-open",
            "--port",
            "0",
            "--listen",
            addr,
            "@example",
        ])
        .env("HARK_VIEW_TOKEN", "")
        .run();
        o.assert_code(2);
        assert!(o.stderr().contains("give --token"), "{o}");
    }
}

#[test]
fn a_token_guards_the_viewer_and_the_printed_link_carries_it() {
    let mut proc = hark([
        "view",
        "--no-open",
        "--port",
        "0",
        "--quiet",
        "--token",
        "s3cret",
        "@example",
    ])
    .spawn();
    let url = proc.stdout_line().trim().to_string();
    let base = url.strip_suffix("?token=s3cret").expect(&url).to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(curl(format!("{base}api/files")).send().status, 401);
    let ok = curl(format!("{base}api/files"))
        .header("Authorization: Bearer s3cret")
        .send();
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()[0]["name"], "@example");
    // The Host check stays: another name is refused even with the token.
    let other = curl(format!("{base}api/files"))
        .header("Authorization: Bearer s3cret")
        .header("Host: evil.example")
        .send();
    assert_ne!(other.status, 200);
    drop(proc);
}

#[test]
fn compare_opens_the_two_files_side_by_side() {
    let (a, b) = (
        fixture("flow.hark-record.har"),
        fixture("flow-changed.hark-record.har"),
    );
    let mut proc = hark(["view", "--no-open", "--port", "0", "--quiet"])
        .arg(&a)
        .arg("--compare")
        .arg(&b)
        .spawn();
    let line = proc.stdout_line();
    let (url, frag) = line.trim().split_once('#').expect("a #compare link");
    assert_eq!(frag, "compare=0,1", "{line}");
    // The pairs at once (from the indexes); the responses compared in the background.
    let first = curl(format!("{url}api/compare?a=0&b=1")).send();
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["counts"]["pairs"], 8, "{}", first.text());
    let v = eventually(
        Duration::from_secs(20),
        || {
            curl(format!("{url}api/compare?a=0&b=1&show=changed"))
                .send()
                .json()
        },
        |v| v["done"] == true,
    );
    assert_eq!(
        v["counts"],
        json!({"pairs": 8, "same": 7, "changed": 1, "onlyA": 0, "onlyB": 0}),
        "{v}"
    );
    assert_eq!(v["items"][0]["key"], "GET /api/me", "{v}");
    let k = v["items"][0]["k"].as_u64().unwrap();
    let p = curl(format!("{url}api/compare/pair?a=0&b=1&k={k}"))
        .send()
        .json();
    assert_eq!(p["headers"][0]["name"], "cache-control", "{p}");
    assert_eq!(p["body"][0]["name"], "$.plan", "{p}");
    // A refused query says why.
    let bad = curl(format!("{url}api/compare?a=0&b=7")).send();
    assert_eq!(bad.status, 404, "{}", bad.text());
    let bad = curl(format!("{url}api/compare?a=0&b=1&show=x")).send();
    assert_eq!(bad.status, 400);
    drop(proc);
}
