//! `hark export`: the code it writes, run by the real clients (curl, HTTPie, Python
//! requests, Node's fetch) against a loopback echo server, sends exactly the recorded
//! requests; JSON lines and Parquet (read by PyPI's pyarrow and duckdb) hold the right
//! rows for the whole corpus.

mod common;
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// What the echo server received: method, request target, headers, body.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// A loopback HTTP/1.1 server recording every request and answering `200 ok`.
fn echo_server() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut w = stream;
                while let Some(req) = read_request(&mut r) {
                    log.lock().unwrap().push(req);
                    let _ = w.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
                    );
                }
            });
        }
    });
    (port, seen)
}

fn read_request(r: &mut impl BufRead) -> Option<Received> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line).ok()? == 0 {
        return None;
    }
    let first = String::from_utf8_lossy(&line).trim_end().to_string();
    let mut parts = first.splitn(3, ' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = Vec::new();
        r.read_until(b'\n', &mut h).ok()?;
        while h.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            h.pop();
        }
        if h.is_empty() {
            break;
        }
        let colon = h.iter().position(|b| *b == b':')?;
        let name = String::from_utf8_lossy(&h[..colon]).to_ascii_lowercase();
        let mut value = &h[colon + 1..];
        while value.first() == Some(&b' ') {
            value = &value[1..];
        }
        headers.push((name, value.to_vec()));
    }
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| String::from_utf8_lossy(v).to_string())
    };
    let mut body = Vec::new();
    if let Some(len) = get("content-length") {
        body.resize(len.trim().parse().ok()?, 0);
        r.read_exact(&mut body).ok()?;
    } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Some(Received {
        method,
        target,
        headers,
        body,
    })
}

/// Recorded requests with awkward text everywhere: quotes, `$`, backticks, newlines,
/// a leading `-`, unicode, binary, empty values, repeated and cookie-list cookies.
fn awkward_har(port: u16) -> Value {
    let base = format!("http://127.0.0.1:{port}");
    let h = |pairs: &[(&str, &str)]| -> Value {
        pairs
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect()
    };
    let entry = |method: &str, path: &str, headers: Value, post: Value, cookies: Value| {
        let mut req = json!({"method": method, "url": format!("{base}{path}"), "httpVersion": "HTTP/1.1",
            "headers": headers, "cookies": cookies, "queryString": [], "headersSize": -1, "bodySize": -1});
        if !post.is_null() {
            req["postData"] = post;
        }
        json!({"startedDateTime": "2025-01-01T00:00:00.000Z", "time": 1, "request": req,
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [],
                "cookies": [], "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "",
                "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}})
    };
    let text = "it's \"quoted\" $HOME `id` $(id)\n-leading dash\r\ntab\there é 😀 \\ back\\slash '";
    json!({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [
        entry("GET", "/a%20b/it's?q=%24HOME&x=%60id%60&y=%271%27&z=-x",
            h(&[("Host", &format!("127.0.0.1:{port}")), ("Accept", "*/*"), ("User-Agent", "ua \"$x\" `y`"),
                ("X-Quote", "it's \"both\""), ("X-Dollar", "$HOME ${PATH} $(rm -rf /)"),
                ("X-Dash", "-H evil"), ("X-Empty", ""), ("X-Back", "a\\b\\\\c"),
                ("X-Unicode", "é😀"), ("Referer", "http://h.test/p?a=b&c=@d;e"), ("Accept-Encoding", "gzip, deflate")]),
            Value::Null, json!([])),
        entry("POST", "/text",
            h(&[("Accept", "*/*"), ("User-Agent", "u"), ("Content-Type", "text/plain; charset=utf-8")]),
            json!({"mimeType": "text/plain; charset=utf-8", "text": text}), json!([])),
        entry("POST", "/binary",
            h(&[("Accept", "*/*"), ("User-Agent", "u"), ("Content-Type", "application/octet-stream")]),
            json!({"mimeType": "application/octet-stream", "_encoding": "base64",
                   "text": "AAECAwD/gIEnIiRgCi0="}), json!([])),
        entry("PUT", "/no-type",
            h(&[("Accept", "*/*"), ("User-Agent", "u")]),
            json!({"mimeType": "", "text": "-d @/etc/passwd"}), json!([])),
        entry("DELETE", "/cookies?x=1",
            h(&[("Accept", "*/*"), ("User-Agent", "u")]),
            Value::Null, json!([{"name": "sid", "value": "a$b`c'd"}, {"name": "t", "value": "1"}])),
        entry("PATCH", "/json",
            h(&[("Accept", "application/json"), ("User-Agent", "u"), ("Content-Type", "application/json")]),
            json!({"mimeType": "application/json", "text": "{\"a\": \"-1 $x `y` 'z'\", \"u\": \"\\u00e9\"}"}), json!([])),
    ]}})
}

/// Headers a client may add when the recording had none of that name.
const CLIENT_ADDS: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "accept-encoding",
    "accept-language",
    "sec-fetch-mode",
    "user-agent",
    "accept",
];

fn check_received(client: &str, har: &Value, got: &[Received]) {
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(
        got.len(),
        entries.len(),
        "{client}: requests received: {got:#?}"
    );
    for (e, r) in entries.iter().zip(got) {
        let req = &e["request"];
        let url = req["url"].as_str().unwrap();
        let target = &url[url
            .find("/a")
            .or(url[7..].find('/').map(|i| i + 7))
            .unwrap()..];
        let ctx = format!("{client}: {} {url}", req["method"]);
        assert_eq!(r.method, req["method"].as_str().unwrap(), "{ctx}");
        assert_eq!(r.target, target, "{ctx}");
        let mut want: Vec<(String, Vec<u8>)> = req["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["name"].as_str().unwrap().to_ascii_lowercase(),
                    h["value"].as_str().unwrap().as_bytes().to_vec(),
                )
            })
            .filter(|(n, _)| n != "host")
            .collect();
        let cookies: Vec<String> = req["cookies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["name"].as_str().unwrap(),
                    c["value"].as_str().unwrap()
                )
            })
            .collect();
        if !cookies.is_empty() {
            want.push(("cookie".into(), cookies.join("; ").into_bytes()));
        }
        for (n, v) in &want {
            let found: Vec<&Vec<u8>> = r
                .headers
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v)
                .collect();
            assert_eq!(
                found,
                vec![v],
                "{ctx}: header {n}: got {:?}, want {:?}",
                found
                    .iter()
                    .map(|v| String::from_utf8_lossy(v))
                    .collect::<Vec<_>>(),
                String::from_utf8_lossy(v)
            );
        }
        for (n, v) in &r.headers {
            assert!(
                want.iter().any(|(w, _)| w == n) || CLIENT_ADDS.contains(&n.as_str()),
                "{ctx}: header {n}: {} was not recorded",
                String::from_utf8_lossy(v)
            );
        }
        let body = match req["postData"]["_encoding"].as_str() {
            Some(_) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(req["postData"]["text"].as_str().unwrap())
                    .unwrap()
            }
            None => req["postData"]["text"]
                .as_str()
                .unwrap_or("")
                .as_bytes()
                .to_vec(),
        };
        assert_eq!(
            r.body,
            body,
            "{ctx}: body {:?}",
            String::from_utf8_lossy(&r.body)
        );
    }
}

fn exported(har: &Value, to: &str, dir: &std::path::Path, file: &str) -> std::path::PathBuf {
    let input = dir.join("in.har");
    std::fs::write(&input, serde_json::to_vec(har).unwrap()).unwrap();
    let out = dir.join(file);
    hark(["export", "--to", to])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .run()
        .assert_success();
    out
}

fn replay(to: &str, file: &str, run: &[&str]) {
    let (port, seen) = echo_server();
    let har = awkward_har(port);
    let dir = tempfile::tempdir().unwrap();
    let script = exported(&har, to, dir.path(), file);
    let done = Cmd::new(run[0]).args(&run[1..]).arg(&script).run();
    assert!(
        done.success(),
        "{done}\n{}",
        std::fs::read_to_string(&script).unwrap()
    );
    let got = seen.lock().unwrap().clone();
    check_received(to, &har, &got);
}

#[test]
fn curl_sends_exactly_the_recorded_requests() {
    replay("curl", "out.sh", &["sh", "-e"]);
}

#[test]
fn python_requests_sends_exactly_the_recorded_requests() {
    replay("python", "out.py", &["python3"]);
}

#[test]
fn fetch_sends_exactly_the_recorded_requests() {
    replay("fetch", "out.js", &["node"]);
}

#[test]
fn httpie_sends_exactly_the_recorded_requests() {
    replay("httpie", "out.sh", &["sh", "-e"]);
}

#[test]
fn k6_script_is_valid_javascript() {
    let har = awkward_har(1);
    let dir = tempfile::tempdir().unwrap();
    let script = exported(&har, "k6", dir.path(), "load.mjs");
    let text = std::fs::read_to_string(&script).unwrap();
    assert_eq!(text.matches("http.request(").count(), 6, "{text}");
    Cmd::new("node")
        .arg("--check")
        .arg(&script)
        .run()
        .assert_success();
}

#[test]
fn parquet_and_jsonl_of_the_whole_corpus_read_by_pyarrow_and_duckdb() {
    let files = whole_corpus();
    let dir = tempfile::tempdir().unwrap();
    let (pq, jl) = (dir.path().join("all.parquet"), dir.path().join("all.jsonl"));
    for (to, out) in [("parquet", &pq), ("jsonl", &jl)] {
        // Templating is checked below on its own: here it would double the time.
        hark(["export", "--no-template", "--to", to])
            .args(&files)
            .arg("-o")
            .arg(out)
            .run()
            .assert_success();
    }
    let check = root().join("crates/cli/tests/export_check.py");
    let done = Cmd::new("python3")
        .arg(check)
        .arg(&pq)
        .arg(&jl)
        .args(&files)
        .run();
    assert!(done.success(), "{done}");
    assert!(done.stdout().starts_with("ok: "), "{done}");
}

#[test]
fn rows_carry_templates_bodies_and_sanitized_values() {
    let out = hark(["export", "--to", "jsonl", "--bodies", "@example"]).run();
    out.assert_success();
    let rows: Vec<Value> = out
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 37);
    assert!(
        rows.iter().any(|r| r["template"] == "/api/status"),
        "{}",
        out.stdout()
    );
    assert!(rows.iter().any(|r| r["response_body"].is_string()));
    let cookie = rows[1]["request_cookies"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("s%3A"), "{cookie}");
    let clean = hark([
        "export",
        "--to",
        "jsonl",
        "--sanitize",
        "--bodies",
        "@example",
    ])
    .run();
    clean.assert_success();
    assert_eq!(clean.stdout().lines().count(), 37);
    assert!(
        !clean.stdout().contains(&cookie),
        "the session cookie survived --sanitize"
    );
    // Without --bodies, no bodies.
    let lean = hark(["export", "--to", "jsonl", "@example"]).run();
    assert!(lean
        .stdout()
        .lines()
        .all(|l| l.contains("\"response_body\":null")));
}

#[test]
fn a_bad_input_is_skipped_named_and_fails_the_run_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.har");
    std::fs::write(&bad, b"{\"not\": \"a har\"}").unwrap();
    let out = dir.path().join("x.parquet");
    std::fs::write(&out, b"old").unwrap();
    let done = hark(["export", "--to", "jsonl", "@example"])
        .arg(&bad)
        .arg("@example")
        .arg("-o")
        .arg(&out)
        .run();
    done.assert_code(2);
    assert!(done.stderr().contains("bad.har"), "{done}");
    assert!(done.stderr().contains("skipped"), "{done}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 74);
    // A failed write leaves the old file: the output cannot be an input.
    let same = hark(["export", "--to", "jsonl"])
        .arg(&out)
        .arg("-o")
        .arg(&out)
        .run();
    same.assert_code(2);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 74);
}
