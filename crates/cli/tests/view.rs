//! `hark view` end to end: the real binary serves real recordings, a hostile HAR and a
//! 200k-entry HAR; curl checks the headers and the Host check; headless Chromium
//! (testdata/view-test.mjs) uses the viewer as a person would.

mod common;

use common::root;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(files: &[&Path]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hark"));
    cmd.args(["view", "--no-open", "--port", "0", "--quiet"]);
    for f in files {
        cmd.arg(f);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let line = common::first_line(&mut child);
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "hark view printed {url:?}"
    );
    Server { child, url }
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--noproxy", "*"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("curl is needed for this test: {e}"));
    assert!(out.status.success(), "curl {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SCRIPT: &str = "<script>window.__pwned=1;fetch('/pwned')</script>";
const IMG: &str = "<img src=x onerror=\"window.__pwned=2;fetch('/pwned-img')\">";
const JS_URL: &str = "javascript:window.__pwned=3;fetch('/pwned-js')";
const SVG: &str = "<svg onload=\"window.__pwned=4\">";

fn b64(s: &str) -> String {
    use std::fmt::Write;
    // Minimal base64 (the test avoids depending on the crate's own encoder).
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.write_char(T[(n >> (18 - 6 * k) & 63) as usize] as char)
                    .unwrap();
            } else {
                out.push('=');
            }
        }
    }
    out
}

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
        b64(r#"{"alg":"none","typ":"JWT"}"#).trim_end_matches('='),
        b64(&json!({"sub": SCRIPT, "name": IMG}).to_string())
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
            &b64(&svg),
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
    ];
    json!({"log": {
        "version": "1.2",
        "creator": {"name": SCRIPT, "version": IMG},
        "pages": [{"id": SCRIPT, "title": IMG, "startedDateTime": "2026-01-01T00:00:00.000Z",
                   "pageTimings": {"onContentLoad": 5, "onLoad": 9}}],
        "entries": entries
    }})
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
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: this test drives a real browser (apt-get install chromium; .ci/run does)"
    );
    assert!(
        root()
            .join("testdata/node_modules/playwright-core")
            .exists(),
        "testdata/node_modules is missing: run `npm ci --prefix testdata`"
    );
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("hostile.har");
    std::fs::write(&hostile, serde_json::to_vec(&hostile_har()).unwrap()).unwrap();
    let big = dir.path().join("big.har");
    write_big(&big);
    let login = root().join("testdata/har/example-login.chromium.har");
    let failures = root().join("testdata/har/failures.chromium.har");
    let ws = root().join("../shared/corpus/public/mitmproxy-export-websocket.har");
    let server = start(&[&login, &failures, &hostile, &big, &ws]);
    let url = &server.url;

    // Headers, as curl sees them: the policy on every answer, the Host check.
    let head = curl(&["-D", "-", "-o", "/dev/null", url]);
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
    let api_head = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("{url}api/files/0/summary"),
    ]);
    assert!(
        api_head
            .to_ascii_lowercase()
            .contains("content-security-policy:"),
        "{api_head}"
    );
    let port = url.trim_end_matches('/').rsplit(':').next().unwrap();
    for (host, code) in [
        (format!("evil.example:{port}"), "403"),
        (format!("127.0.0.1.nip.io:{port}"), "403"),
        (format!("localhost:{port}"), "200"),
    ] {
        let got = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            &format!("Host: {host}"),
            url,
        ]);
        assert_eq!(got, code, "Host: {host}");
    }
    // SVG is never served as an image; a fake PNG is served as PNG, sandboxed.
    let svg = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{url}api/files/2/entries/2/image"),
    ]);
    assert_eq!(svg, "404");
    let fake = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("{url}api/files/2/entries/4/image"),
    ])
    .to_ascii_lowercase();
    assert!(
        fake.contains("content-type: image/png")
            && fake.contains("content-security-policy: sandbox"),
        "{fake}"
    );
    // Files listed for a viewer over several HARs.
    let files: Value = serde_json::from_str(&curl(&[&format!("{url}api/files")])).unwrap();
    assert_eq!(files.as_array().unwrap().len(), 5);

    let shot = std::env::var("HARK_VIEW_SCREENSHOT").unwrap_or_default();
    let mut cmd = Command::new("node");
    cmd.current_dir(root().join("testdata"))
        .arg("view-test.mjs")
        .arg(url)
        .arg(r#"{"login":0,"failures":1,"hostile":2,"big":3,"websocket":4}"#);
    if !shot.is_empty() {
        cmd.arg(&shot);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("node is needed for this test: {e}"));
    let _ = std::io::stdout().write_all(&out.stdout);
    let _ = std::io::stderr().write_all(&out.stderr);
    assert!(
        out.status.success(),
        "view-test.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn not_a_har_fails_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.har");
    std::fs::write(&bad, "{\"log\": []}").unwrap();
    let out = common::hark(&["view", "--no-open", "--port", "0", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("bad.har:1:") && err.contains("log"), "{err}");
    assert!(common::stdout(&out).is_empty());
}

#[test]
fn standard_input_is_spooled_and_the_copy_removed_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hark"))
        .args(["view", "--no-open", "--port", "0", "-"])
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let data = std::fs::read(root().join("testdata/har/example-login.chromium.har")).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&data).unwrap();
    drop(stdin);
    let line = common::first_line(&mut child);
    let server = Server {
        child,
        url: line.trim().to_string(),
    };
    let mut summary = Value::Null;
    for _ in 0..100 {
        summary =
            serde_json::from_str(&curl(&[&format!("{}api/files/0/summary", server.url)])).unwrap();
        if summary["done"] == true {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(summary["requests"], 37);
    assert_eq!(summary["name"], "<stdin>");
    let d: Value =
        serde_json::from_str(&curl(&[&format!("{}api/files/0/entries/36", server.url)])).unwrap();
    assert!(d["request"]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1"));
    // The spooled copy is in TMPDIR while serving, and gone after SIGTERM.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    let mut server = server;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) },
        0
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn the_built_in_example_is_shown_by_its_name() {
    let server = start(&[Path::new("@example")]);
    let files: Value = serde_json::from_str(&curl(&[&format!("{}api/files", server.url)])).unwrap();
    assert_eq!(files[0]["name"], "@example");
}

#[test]
fn another_har_is_uploaded_to_hark_view() {
    let login = root().join("testdata/har/example-login.chromium.har");
    let failures = root().join("testdata/har/failures.chromium.har");
    let server = start(&[&login]);
    let up = format!("{}api/upload?name=failures.chromium.har", server.url);
    let at = format!("@{}", failures.display());
    // Without the header a cross-site page cannot send: refused.
    let r = curl(&["-w", " %{http_code}", "--data-binary", &at, &up]);
    assert!(r.ends_with(" 403") && r.contains("X-Hark-Upload"), "{r}");
    let r = curl(&[
        "-w",
        " %{http_code}",
        "-H",
        "X-Hark-Upload: 1",
        "--data-binary",
        &at,
        &up,
    ]);
    assert!(r.ends_with(" 201"), "{r}");
    let v: Value = serde_json::from_str(r.trim_end_matches(" 201")).unwrap();
    assert_eq!(v["file"], 1);
    assert_eq!(v["name"], "failures.chromium.har");
    let files: Value = serde_json::from_str(&curl(&[&format!("{}api/files", server.url)])).unwrap();
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");
    // Its rows are the uploaded file's (the summary counts its entries).
    let doc: Value = serde_json::from_slice(&std::fs::read(&failures).unwrap()).unwrap();
    let want = doc["log"]["entries"].as_array().unwrap().len();
    assert!(want > 0);
    let mut s = Value::Null;
    for _ in 0..100 {
        s = serde_json::from_str(&curl(&[&format!("{}api/files/1/summary", server.url)])).unwrap();
        if s["done"] == true {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(s["requests"], want as u64, "{s}");
    // JSON that is not a HAR: 422 with the place.
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "{\"log\": {\"entries\": 7}}").unwrap();
    let r = curl(&[
        "-w",
        " %{http_code}",
        "-H",
        "X-Hark-Upload: 1",
        "--data-binary",
        &format!("@{}", bad.path().display()),
        &format!("{}api/upload?name=bad.har", server.url),
    ]);
    assert!(
        r.ends_with(" 422") && r.contains("not a HAR file: bad.har:1:"),
        "{r}"
    );
}
