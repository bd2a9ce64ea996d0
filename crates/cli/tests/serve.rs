//! `hark serve` driven as users drive it: PyPI's browsermob-proxy client (unchanged
//! Selenium-style code) with headless Chromium through the proxy it created; two jobs
//! at once through their own proxies (curl); HARs fetched during a run and after
//! `kill -9` and a restart; bad requests; the bearer token (also on the job proxies);
//! `?sanitize=1`; retention; the OpenAPI document checked by swagger-parser. Loopback
//! only.

mod common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// testdata/serve/site.mjs on a free port.
fn site() -> (Proc, u16) {
    let (p, v) = site_with(&[]);
    (p, v["port"].as_u64().unwrap() as u16)
}

/// testdata/serve/site.mjs with extra arguments (CERT KEY: also HTTPS); its ports line.
fn site_with(args: &[&Path]) -> (Proc, Value) {
    let mut child = Command::new("node")
        .arg(root().join("testdata/serve/site.mjs"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node must be installed (testdata/serve/site.mjs)");
    let line = common::first_line(&mut child);
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("site: {e}: {line:?}"));
    (Proc(child), v)
}

struct Serve {
    proc: Proc,
    port: u16,
    token: Option<String>,
}

/// `hark serve --listen 127.0.0.1:0 --data DATA`; the API port is read from its first line.
fn serve(data: &Path, extra: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hark"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--ca-dir")
        .arg(data.join("ca"))
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let port = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("hark serve did not start: {line:?}"));
    // Keep draining its standard error.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while err.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            eprint!("[hark serve] {sink}");
            sink.clear();
        }
    });
    Serve {
        proc: Proc(child),
        port,
        token: None,
    }
}

struct Resp {
    status: u16,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(400)])
            )
        })
    }
    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {}", String::from_utf8_lossy(&self.body)))
            .to_string()
    }
}

/// One request with curl; `extra` are more curl arguments.
fn curl(method: &str, url: &str, body: Option<&str>, extra: &[&str]) -> Resp {
    let mut c = Command::new("curl");
    c.args(["-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}"]);
    if !extra.contains(&"-x") {
        // Straight to the API, whatever http_proxy says.
        c.args(["--noproxy", "*"]);
    }
    if let Some(b) = body {
        c.args(["--data-binary", b]);
    }
    c.args(extra).arg(url);
    let out = c.output().expect("curl must be installed");
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut body = out.stdout;
    let nl = body.iter().rposition(|&b| b == b'\n').unwrap();
    let status = String::from_utf8_lossy(&body[nl + 1..]).parse().unwrap();
    body.truncate(nl);
    Resp { status, body }
}

impl Serve {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let auth = self
            .token
            .as_ref()
            .map(|t| format!("Authorization: Bearer {t}"));
        let extra: Vec<&str> = match &auth {
            Some(a) => vec!["-H", a],
            None => vec![],
        };
        curl(method, &self.url(path), body, &extra)
    }
    fn har(&self, id: &str) -> Value {
        let r = self.call("GET", &format!("/v1/jobs/{id}/network.har"), None);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()
    }
}

fn validate(dir: &Path, name: &str, har: &Value) {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(har).unwrap()).unwrap();
    assert_eq!(
        har_validator(&p),
        Some(true),
        "{name} must pass har-validator (npm ci --prefix testdata installs it)"
    );
}

fn urls(har: &Value) -> Vec<String> {
    har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn browsermob_python_client_with_chromium_unchanged() {
    let py = Command::new("python3")
        .args(["-c", "import browsermobproxy, requests"])
        .output()
        .expect("python3 must be installed");
    assert!(
        py.status.success(),
        "PyPI's browsermob-proxy and requests are needed: pip install browsermob-proxy requests ({})",
        String::from_utf8_lossy(&py.stderr)
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is needed (apt-get install chromium)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let api_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = dir.path().join("bmp.har");
    let data = dir.path().join("data");
    let r = Command::new("python3")
        .arg(root().join("testdata/serve/bmp_selenium.py"))
        .arg(root().join("testdata/serve/browsermob-proxy"))
        .arg(api_port.to_string())
        .arg(format!("http://127.0.0.1:{site_port}"))
        .arg(&out)
        .arg(dir.path())
        .env("HARK", env!("CARGO_BIN_EXE_hark"))
        .env("HARK_SERVE_DATA", &data)
        .current_dir(root().join("testdata"))
        .output()
        .unwrap();
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    assert!(
        r.status.success(),
        "bmp_selenium.py failed:\n{}\n{}\nserver log:\n{log}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    let har: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    validate(dir.path(), "checked.har", &har);
    let pages = har["log"]["pages"].as_array().unwrap();
    let ids: Vec<&str> = pages.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["home", "second"]);
    assert_eq!(pages[0]["title"], "Home page");
    assert_eq!(pages[1]["title"], "Second page");
    let site = format!("http://127.0.0.1:{site_port}");
    let entries: Vec<&Value> = har["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["request"]["url"].as_str().unwrap().starts_with(&site))
        .collect();
    let find = |page: &str, path: &str| {
        entries
            .iter()
            .find(|e| e["pageref"] == page && e["request"]["url"] == format!("{site}{path}"))
            .unwrap_or_else(|| panic!("no {path} on page {page} in {:?}", urls(&har)))
    };
    for (page, paths) in [
        ("home", ["/", "/style.css", "/img.png", "/data.json"]),
        (
            "second",
            ["/second", "/style.css", "/img.png", "/data.json?page=2"],
        ),
    ] {
        for p in paths {
            let e = find(page, p);
            assert_eq!(e["response"]["status"], 200, "{p}");
            // captureHeaders: the extra header set with proxy.headers() is recorded as sent.
            let h = e["request"]["headers"].as_array().unwrap();
            assert!(
                h.iter()
                    .any(|h| h["name"] == "x-suite" && h["value"] == "selenium-bmp"),
                "{p}: {h:?}"
            );
        }
    }
    // captureContent: text bodies are there; binary ones are not (captureBinaryContent off).
    let html = find("home", "/")["response"]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(html.contains("<h1>serve site</h1>"));
    assert!(find("home", "/img.png")["response"]["content"]
        .get("text")
        .is_none());
    // The blacklisted image never reached the site and is not in the HAR.
    assert!(!urls(&har).iter().any(|u| u.contains("blocked.png")));
    let hits = curl("GET", &format!("{site}/hits"), None, &[]).json();
    assert!(hits.get("/blocked.png").is_none(), "{hits}");
    // The proxy is closed but its job (and HAR) stays in the service's data directory.
    let jobs: Vec<_> = std::fs::read_dir(data.join("jobs")).unwrap().collect();
    assert_eq!(jobs.len(), 1);
}

/// Requests through `proxy` to the site, in parallel threads; returns the paths asked.
fn drive(proxy: &str, site_port: u16, tag: &str, n: usize) -> Vec<String> {
    let paths: Vec<String> = (0..n).map(|i| format!("/n/{tag}-{i}")).collect();
    let chunks: Vec<Vec<String>> = paths.chunks(n.div_ceil(4)).map(|c| c.to_vec()).collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let proxy = proxy.to_string();
            std::thread::spawn(move || {
                for p in chunk {
                    let r = curl(
                        "GET",
                        &format!("http://127.0.0.1:{site_port}{p}"),
                        None,
                        &["-x", &format!("http://{proxy}")],
                    );
                    assert_eq!(r.status, 200);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    paths
}

#[test]
fn two_jobs_get_only_their_traffic_and_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_site, site_port) = site();
    let s = serve(&data, &[]);
    let a = s.call(
        "POST",
        "/v1/jobs",
        Some(r#"{"name":"job a","tags":["ci","a"]}"#),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let a = a.json();
    let b = s
        .call(
            "POST",
            "/v1/jobs",
            Some(r#"{"name":"job b","capture":{"content":false}}"#),
        )
        .json();
    let (ida, idb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    assert_eq!(
        s.call(
            "POST",
            &format!("/v1/jobs/{ida}/pages"),
            Some(r#"{"id":"p1","title":"First"}"#)
        )
        .status,
        201
    );
    // Both at once.
    let (pa, pb) = (a["proxy"].as_str().unwrap(), b["proxy"].as_str().unwrap());
    let ta = {
        let pa = pa.to_string();
        std::thread::spawn(move || drive(&pa, site_port, "a", 40))
    };
    let want_b = drive(pb, site_port, "b", 30);
    let want_a = ta.join().unwrap();
    let site = format!("http://127.0.0.1:{site_port}");
    let set = |har: &Value| {
        let mut u = urls(har);
        u.sort();
        u
    };
    let expect = |paths: &[String]| {
        let mut u: Vec<String> = paths.iter().map(|p| format!("{site}{p}")).collect();
        u.sort();
        u
    };
    // During the run: every finished exchange, and only the job's own.
    let har_a = s.har(ida);
    let har_b = s.har(idb);
    assert_eq!(set(&har_a), expect(&want_a));
    assert_eq!(set(&har_b), expect(&want_b));
    assert!(har_a["log"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["pageref"] == "p1"));
    assert_eq!(har_a["log"]["pages"][0]["title"], "First");
    // Job b keeps no bodies.
    assert!(har_a["log"]["entries"][0]["response"]["content"]["text"].is_string());
    assert!(har_b["log"]["entries"][0]["response"]["content"]
        .get("text")
        .is_none());
    validate(dir.path(), "a.har", &har_a);
    let list = s.call("GET", "/v1/jobs", None).json();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 2);
    assert_eq!(list["entries"], 70);
    let ja = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == ida)
        .unwrap();
    assert_eq!(ja["entries"], 40);
    assert_eq!(ja["state"], "running");
    assert!(ja["bytes"].as_u64().unwrap() > 40 * 200);

    // Stop b; a keeps running and gets more traffic; then kill -9.
    let stopped = s.call("POST", &format!("/v1/jobs/{idb}/stop"), None).json();
    assert_eq!(stopped["state"], "stopped");
    let more_a = drive(pa, site_port, "a2", 10);
    let mut s = s;
    s.proc.0.kill().unwrap(); // SIGKILL
    s.proc.0.wait().unwrap();

    let s = serve(&data, &[]);
    let ja = s.call("GET", &format!("/v1/jobs/{ida}"), None).json();
    assert_eq!(ja["state"], "interrupted");
    assert_eq!(ja["entries"], 50);
    assert_eq!(ja["tags"], serde_json::json!(["ci", "a"]));
    let jb = s.call("GET", &format!("/v1/jobs/{idb}"), None).json();
    assert_eq!(jb["state"], "stopped");
    let har_a = s.har(ida);
    let mut all_a = want_a.clone();
    all_a.extend(more_a);
    assert_eq!(
        set(&har_a),
        expect(&all_a),
        "every finished exchange after kill -9"
    );
    assert!(har_a["log"]["comment"]
        .as_str()
        .unwrap()
        .contains("interrupted"));
    validate(dir.path(), "a-after-restart.har", &har_a);
    assert_eq!(set(&s.har(idb)), expect(&want_b));
    // The dead job's proxy port is not served any more; new jobs work.
    let c = s.call("POST", "/v1/jobs", Some("{}"));
    assert_eq!(c.status, 201);
    // Delete removes the job and its directory.
    assert_eq!(
        s.call("DELETE", &format!("/v1/jobs/{idb}"), None).status,
        204
    );
    assert_eq!(s.call("GET", &format!("/v1/jobs/{idb}"), None).status, 404);
    assert!(!data.join("jobs").join(idb).exists());
}

#[test]
fn bad_requests_get_clear_4xx_and_the_service_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = serve(&data, &[]);
    let cases: &[(&str, &str, Option<&str>, u16, &str)] = &[
        ("GET", "/v1/jobs/nosuchjob", None, 404, "no job nosuchjob"),
        (
            "GET",
            "/v1/jobs/..%2F..%2Fetc%2Fpasswd",
            None,
            400,
            "invalid job id",
        ),
        (
            "GET",
            "/v1/jobs/..%2F..%2Fetc/network.har",
            None,
            400,
            "invalid job id",
        ),
        ("DELETE", "/v1/jobs/..%2Fdata", None, 400, "invalid job id"),
        ("GET", "/v1/jobs/ABC", None, 400, "invalid job id"),
        ("POST", "/v1/jobs", Some("{bad json"), 400, "bad JSON body"),
        (
            "POST",
            "/v1/jobs",
            Some(r#"{"nmae":"x"}"#),
            400,
            "unknown field `nmae`",
        ),
        (
            "POST",
            "/v1/jobs",
            Some(r#"{"capture":{"headers":"yes"}}"#),
            400,
            "bad JSON body",
        ),
        (
            "POST",
            "/v1/jobs",
            Some(r#"{"scope":["("]}"#),
            400,
            "bad regular expression",
        ),
        (
            "POST",
            "/v1/jobs",
            Some(r#"{"blacklist":[{"regex":"x","status":99}]}"#),
            400,
            "not an HTTP status",
        ),
        (
            "POST",
            "/v1/jobs/nosuchjob/pages",
            Some("{}"),
            404,
            "no job",
        ),
        ("GET", "/v1/nothing", None, 404, "no such endpoint"),
        ("PUT", "/v1/jobs", None, 405, "not allowed"),
        ("GET", "/proxy/1/har", None, 404, "no proxy on port 1"),
        (
            "GET",
            "/proxy/notaport/har",
            None,
            400,
            "invalid proxy port",
        ),
        ("PUT", "/proxy/99999/har", None, 400, "invalid proxy port"),
        ("DELETE", "/proxy/1", None, 404, "no proxy"),
    ];
    for (method, path, body, status, msg) in cases {
        let r = s.call(method, path, *body);
        assert_eq!(
            r.status,
            *status,
            "{method} {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            r.error().contains(msg),
            "{method} {path}: {:?} lacks {msg:?}",
            r.error()
        );
    }
    // A path that climbs out with literal dots never reaches a job.
    let r = curl(
        "GET",
        &s.url("/v1/jobs/../../etc/passwd"),
        None,
        &["--path-as-is"],
    );
    assert_eq!(r.status, 404);
    // BrowserMob calls with bad values.
    let port = s.call("POST", "/proxy", None).json()["port"]
        .as_u64()
        .unwrap();
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/har"),
        Some("captureHeaders=maybe"),
    );
    assert_eq!(r.status, 400);
    assert!(r.error().contains("captureHeaders"));
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/har/pageRef"),
        Some("pageRef=x"),
    );
    assert_eq!(r.status, 404, "no HAR started yet");
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/blacklist"),
        Some("regex=(&status=404"),
    );
    assert_eq!(r.status, 400);
    let r = s.call("PUT", &format!("/proxy/{port}/blacklist"), Some("regex=x"));
    assert_eq!(r.status, 400);
    assert!(r.error().contains("status"));
    let r = s.call("POST", &format!("/proxy/{port}/headers"), Some("[1,2]"));
    assert_eq!(r.status, 400);
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/limit"),
        Some("downstreamMaxKB=100"),
    );
    assert_eq!(r.status, 501, "total transfer caps are not supported");
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/limit"),
        Some("downstreamKbps=fast"),
    );
    assert_eq!(r.status, 400);
    let r = s.call("POST", "/proxy", Some(&format!("port={port}")));
    assert_eq!(r.status, 409, "port in use: {}", r.error());
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 gets nothing.
    for host in ["evil.example:{p}", "127.0.0.1.nip.io:{p}", "localhost:1"] {
        let host = host.replace("{p}", &s.port.to_string());
        let r = curl(
            "GET",
            &s.url("/v1/jobs"),
            None,
            &["-H", &format!("Host: {host}")],
        );
        assert_eq!(r.status, 403, "Host {host}");
        assert!(r.error().contains("DNS rebinding"), "{}", r.error());
    }
    let r = curl(
        "GET",
        &s.url("/v1/jobs"),
        None,
        &["-H", &format!("Host: localhost:{}", s.port)],
    );
    assert_eq!(r.status, 200, "localhost is this service");
    // Still serving.
    let r = s.call("GET", "/v1/jobs", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["jobs"].as_array().unwrap().len(), 1);
    // The rejected requests left nothing on disk.
    assert_eq!(std::fs::read_dir(data.join("jobs")).unwrap().count(), 1);
    // A data directory the service cannot write in: a clear 500 with the OS error, and
    // nothing half-made. (Tests run as root, where permissions do not stop writes, so the
    // jobs directory is replaced by a file.)
    std::fs::rename(data.join("jobs"), data.join("jobs.away")).unwrap();
    std::fs::write(data.join("jobs"), b"not a directory").unwrap();
    let r = s.call("POST", "/v1/jobs", Some(r#"{"name":"x"}"#));
    assert_eq!(r.status, 500);
    assert!(r.error().contains("Not a directory"), "{}", r.error());
    std::fs::remove_file(data.join("jobs")).unwrap();
    std::fs::rename(data.join("jobs.away"), data.join("jobs")).unwrap();
    assert_eq!(s.call("POST", "/v1/jobs", None).status, 201);
    assert_eq!(std::fs::read_dir(data.join("jobs")).unwrap().count(), 2);
}

#[test]
fn bearer_token_is_required_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(&dir.path().join("data"), &["--token", "s3cret-token"]);
    let r = s.call("GET", "/v1/jobs", None);
    assert_eq!(r.status, 401);
    assert!(r.error().contains("missing bearer token"));
    let r = curl(
        "GET",
        &s.url("/proxy"),
        None,
        &["-H", "Authorization: Bearer wrong"],
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "wrong bearer token");
    let r = curl(
        "GET",
        &s.url("/v1/openapi.json"),
        None,
        &["-H", "Authorization: Bearer s3cret-tokenX"],
    );
    assert_eq!(r.status, 401);
    s.token = Some("s3cret-token".into());
    assert_eq!(s.call("GET", "/v1/jobs", None).status, 200);
    assert_eq!(s.call("POST", "/proxy", None).status, 200);
}

#[test]
fn sanitized_har_and_browsermob_new_har_returns_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let s = serve(&dir.path().join("data"), &[]);
    let job = s
        .call("POST", "/v1/jobs", Some(r#"{"name":"secrets"}"#))
        .json();
    let proxy = format!("http://{}", job["proxy"].as_str().unwrap());
    let secret = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    let r = curl(
        "GET",
        &format!("http://127.0.0.1:{site_port}/echo?session=abc123"),
        None,
        &[
            "-x",
            &proxy,
            "-H",
            &format!("Authorization: {secret}"),
            "-H",
            "Cookie: sid=topsecretvalue",
        ],
    );
    assert_eq!(r.status, 200);
    let id = job["id"].as_str().unwrap();
    let raw = s.call("GET", &format!("/v1/jobs/{id}/network.har"), None);
    assert!(String::from_utf8_lossy(&raw.body).contains("topsecretvalue"));
    let clean = s.call(
        "GET",
        &format!("/v1/jobs/{id}/network.har?sanitize=1"),
        None,
    );
    assert_eq!(clean.status, 200);
    let text = String::from_utf8_lossy(&clean.body);
    assert!(!text.contains("topsecretvalue"), "{text}");
    assert!(!text.contains("eyJzdWIiOiJqYW5lIn0"), "{text}");
    assert!(text.contains("redacted"));
    validate(dir.path(), "clean.har", &clean.json());
    let r = s.call(
        "GET",
        &format!("/v1/jobs/{id}/network.har?sanitize=perhaps"),
        None,
    );
    assert_eq!(r.status, 400);

    // BrowserMob: a second new HAR answers with the first one and starts empty.
    let port = s.call("POST", "/proxy", None).json()["port"]
        .as_u64()
        .unwrap();
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/har"),
        Some("initialPageRef=one"),
    );
    assert_eq!(r.status, 204);
    let r = curl(
        "GET",
        &format!("http://127.0.0.1:{site_port}/n/first"),
        None,
        &["-x", &format!("http://127.0.0.1:{port}")],
    );
    assert_eq!(r.status, 200);
    let prev = s.call(
        "PUT",
        &format!("/proxy/{port}/har"),
        Some("initialPageRef=two"),
    );
    assert_eq!(prev.status, 200);
    let prev = prev.json();
    assert_eq!(
        urls(&prev),
        [format!("http://127.0.0.1:{site_port}/n/first")]
    );
    assert_eq!(prev["log"]["pages"][0]["id"], "one");
    // captureHeaders was not asked for: BrowserMob's default is no headers.
    assert_eq!(
        prev["log"]["entries"][0]["request"]["headers"],
        serde_json::json!([])
    );
    let now = s.call("GET", &format!("/proxy/{port}/har"), None).json();
    assert_eq!(now["log"]["entries"].as_array().unwrap().len(), 0);
    assert_eq!(now["log"]["pages"][0]["id"], "two");
    // Whitelist: anything else is answered with the status, without going upstream.
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/whitelist"),
        Some("regex=.*/n/ok.*,.*/hits&status=403"),
    );
    assert_eq!(r.status, 200);
    let wl = s
        .call("GET", &format!("/proxy/{port}/whitelist"), None)
        .json();
    assert_eq!(wl, serde_json::json!([".*/n/ok.*", ".*/hits"]));
    let via = ["-x".to_string(), format!("http://127.0.0.1:{port}")];
    let via: Vec<&str> = via.iter().map(String::as_str).collect();
    assert_eq!(
        curl(
            "GET",
            &format!("http://127.0.0.1:{site_port}/n/ok1"),
            None,
            &via
        )
        .status,
        200
    );
    assert_eq!(
        curl(
            "GET",
            &format!("http://127.0.0.1:{site_port}/n/no1"),
            None,
            &via
        )
        .status,
        403
    );
    let hits = curl(
        "GET",
        &format!("http://127.0.0.1:{site_port}/hits"),
        None,
        &via,
    )
    .json();
    assert!(hits.get("/n/no1").is_none());
    assert_eq!(
        s.call("DELETE", &format!("/proxy/{port}/whitelist"), None)
            .status,
        200
    );
    assert_eq!(
        curl(
            "GET",
            &format!("http://127.0.0.1:{site_port}/n/no2"),
            None,
            &via
        )
        .status,
        200
    );
    let list = s.call("GET", "/proxy", None).json();
    assert_eq!(list["proxyList"], serde_json::json!([{"port": port}]));
    assert_eq!(
        s.call("DELETE", &format!("/proxy/{port}"), None).status,
        200
    );
    assert_eq!(
        s.call("GET", "/proxy", None).json()["proxyList"],
        serde_json::json!([])
    );
}

#[test]
fn retention_deletes_the_oldest_stopped_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = serve(&data, &["--max-size", "1"]);
    let a = s.call("POST", "/v1/jobs", None).json();
    let b = s.call("POST", "/v1/jobs", None).json();
    let (ida, idb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    // Running jobs are never deleted, whatever the size.
    assert_eq!(
        s.call("GET", "/v1/jobs", None).json()["jobs"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        s.call("POST", &format!("/v1/jobs/{ida}/stop"), None).status,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.call("GET", &format!("/v1/jobs/{ida}"), None).status != 404 {
        assert!(Instant::now() < deadline, "stopped job not deleted");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!data.join("jobs").join(ida).exists());
    assert_eq!(s.call("GET", &format!("/v1/jobs/{idb}"), None).status, 200);
}

#[test]
fn openapi_document_passes_swagger_parser() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(&dir.path().join("data"), &[]);
    let r = s.call("GET", "/v1/openapi.json", None);
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/v1/jobs",
        "/v1/jobs/{id}/network.har",
        "/proxy",
        "/proxy/{port}/har",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} not documented");
    }
    let f: PathBuf = dir.path().join("openapi.json");
    std::fs::write(&f, &r.body).unwrap();
    let td = root().join("testdata");
    assert!(
        td.join("node_modules/@apidevtools/swagger-parser").exists(),
        "npm ci --prefix testdata installs @apidevtools/swagger-parser"
    );
    let o = Command::new("node")
        .current_dir(&td)
        .arg("surface-site/validate-openapi.mjs")
        .arg(&f)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn viewer_opens_any_jobs_har() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let s = serve(&dir.path().join("data"), &["--view", "127.0.0.1:0"]);
    let mut ids = Vec::new();
    for (name, n) in [("first job", 3), ("second", 5)] {
        let j = s
            .call("POST", "/v1/jobs", Some(&format!(r#"{{"name":"{name}"}}"#)))
            .json();
        drive(j["proxy"].as_str().unwrap(), site_port, "v", n);
        ids.push((j["id"].as_str().unwrap().to_string(), n));
    }
    let mut viewer = String::new();
    for (i, (id, _)) in ids.iter().enumerate() {
        let r = curl(
            "GET",
            &s.url(&format!("/v1/jobs/{id}/view")),
            None,
            &["-D", "-"],
        );
        assert_eq!(r.status, 303);
        let text = String::from_utf8_lossy(&r.body).to_string();
        let loc = text
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .unwrap_or_else(|| panic!("no location: {text}"))
            .trim()
            .to_string();
        assert!(loc.ends_with(&format!("/#file={i}")), "{loc}");
        viewer = loc.split("/#").next().unwrap().to_string();
    }
    // The viewer lists both jobs' HARs, fully indexed, with their entries.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let files = curl("GET", &format!("{viewer}/api/files"), None, &[]).json();
        let files = files.as_array().unwrap().clone();
        assert_eq!(files.len(), 2);
        if files.iter().all(|f| f["done"] == true) {
            for (f, (id, n)) in files.iter().zip(&ids) {
                assert!(
                    f["name"].as_str().unwrap().ends_with(&format!("{id}.har")),
                    "{f}"
                );
                assert_eq!(f["entries"], *n as u64, "{f}");
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "viewer never finished indexing: {files:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let rows = curl("GET", &format!("{viewer}/api/files/1/rows"), None, &[]);
    assert_eq!(rows.status, 200);
    assert!(String::from_utf8_lossy(&rows.body).contains("/n/v-4"));
    // The same library is at /view/ on the API port.
    let files = s.call("GET", "/view/api/files", None).json();
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");
    // Without --view: the viewer on the API port.
    let plain = serve(&dir.path().join("data2"), &[]);
    let j = plain.call("POST", "/v1/jobs", None).json();
    let r = curl(
        "GET",
        &plain.url(&format!("/v1/jobs/{}/view", j["id"].as_str().unwrap())),
        None,
        &["-D", "-"],
    );
    assert_eq!(r.status, 303);
    assert!(
        String::from_utf8_lossy(&r.body).contains("location: /view/#file=0"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let files = plain.call("GET", "/view/api/files", None).json();
    assert_eq!(files[0]["entries"], 0, "{files}");
    // /view → /view/ (the page's paths are relative).
    let r = curl("GET", &plain.url("/view"), None, &["-D", "-"]);
    assert_eq!(r.status, 308);
    assert!(String::from_utf8_lossy(&r.body).contains("location: /view/"));
}

#[test]
fn the_viewer_on_the_api_port_needs_the_token_when_the_api_does() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(&dir.path().join("data"), &["--token", "t0ken-for-test"]);
    let page = s.url("/view/");
    let r = curl("GET", &page, None, &[]);
    assert_eq!(r.status, 401);
    assert!(String::from_utf8_lossy(&r.body).contains("?token="));
    assert_eq!(
        curl("GET", &s.url("/view/api/catalog"), None, &[]).status,
        401
    );
    assert_eq!(
        curl("GET", &s.url("/view/?token=nope"), None, &[]).status,
        401
    );
    // The printed link sets the cookie and goes back to the page, prefix kept.
    let r = curl(
        "GET",
        &s.url("/view/?token=t0ken-for-test"),
        None,
        &["-D", "-"],
    );
    assert_eq!(r.status, 303);
    let head = String::from_utf8_lossy(&r.body).to_ascii_lowercase();
    assert!(head.contains("location: /view/\r\n"), "{head}");
    assert!(
        head.contains("set-cookie: hark_view_token=t0ken-for-test;"),
        "{head}"
    );
    let cookie = "Cookie: hark_view_token=t0ken-for-test";
    let r = curl("GET", &s.url("/view/api/catalog"), None, &["-H", cookie]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);
    // The cookie is the viewer's: the API still wants the bearer token.
    assert_eq!(
        curl("GET", &s.url("/v1/jobs"), None, &["-H", cookie]).status,
        401
    );
    // A foreign Host is refused even with the token.
    let r = curl(
        "GET",
        &page,
        None,
        &["-H", cookie, "-H", "Host: rebound.example:80"],
    );
    assert_eq!(r.status, 403);
}

/// A port that was free a moment ago (for `--view`, whose address the test must know).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_viewer_lists_jobs_and_takes_uploads_in_headless_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: this test drives a real browser (apt-get install chromium; .ci/run does)"
    );
    let td = root().join("testdata");
    assert!(
        td.join("node_modules/playwright-core").exists(),
        "testdata/node_modules is missing: run `npm ci --prefix testdata`"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let vport = free_port();
    let s = serve(
        &dir.path().join("data"),
        &[
            "--view",
            &format!("127.0.0.1:{vport}"),
            "--max-upload",
            "1M",
        ],
    );
    // The page on the API port (one port for everything); the refusals below are checked
    // on the --view port, which serves the same library.
    let viewer = format!("http://127.0.0.1:{vport}");
    let page = s.url("/view/");
    // Two jobs with traffic: one stopped, one still running.
    let a = s
        .call("POST", "/v1/jobs", Some(r#"{"name":"checkout flow"}"#))
        .json();
    drive(a["proxy"].as_str().unwrap(), site_port, "s", 3);
    let a_id = a["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.call("POST", &format!("/v1/jobs/{a_id}/stop"), None)
            .status,
        200
    );
    let b = s
        .call("POST", "/v1/jobs", Some(r#"{"name":"nightly"}"#))
        .json();
    let b_proxy = b["proxy"].as_str().unwrap().to_string();
    drive(&b_proxy, site_port, "r", 5);
    let b_id = b["id"].as_str().unwrap().to_string();

    // Uploads without the custom header (what a form on another site can send) are
    // refused, and so is a foreign Host; with it, a corpus HAR is taken.
    let corpus = td.join("har/example-login.chromium.har");
    let at = format!("@{}", corpus.display());
    let up = format!("{viewer}/api/upload?name=x.har");
    let r = curl("POST", &up, Some(&at), &["-H", "Content-Type: text/plain"]);
    assert_eq!(r.status, 403);
    assert!(r.error().contains("X-Hark-Upload"), "{}", r.error());
    let r = curl(
        "POST",
        &format!("{viewer}/api/catalog/{a_id}/open"),
        None,
        &[],
    );
    assert_eq!(r.status, 403, "opening a job needs the header too");
    let r = curl(
        "POST",
        &up,
        Some(&at),
        &["-H", "X-Hark-Upload: 1", "-H", "Host: attacker.example"],
    );
    assert_eq!(r.status, 403);
    // Over --max-upload (1M): 413, whatever Content-Length says (chunked here).
    let big = dir.path().join("big.har");
    std::fs::write(&big, vec![b' '; 1_200_000]).unwrap();
    let r = curl(
        "POST",
        &up,
        Some(&format!("@{}", big.display())),
        &["-H", "X-Hark-Upload: 1", "-H", "Transfer-Encoding: chunked"],
    );
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    // Nothing was added by the refused requests, and no upload is left on disk.
    let files = curl("GET", &format!("{viewer}/api/files"), None, &[]).json();
    assert_eq!(files.as_array().unwrap().len(), 0, "{files}");
    let uploads = dir.path().join("data/tmp/uploads");
    let left = std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "refused uploads leave no file");

    let gz = dir.path().join("login.har.gz");
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -c '{}' > '{}'",
            corpus.display(),
            gz.display()
        ))
        .status()
        .unwrap();
    assert!(o.success());
    let bad = dir.path().join("notes.txt");
    std::fs::write(&bad, "these are not the HARs you are looking for\n").unwrap();
    let spec = serde_json::json!({
        "stopped": {"id": a_id, "name": "checkout flow", "entries": 3, "tag": "s"},
        "running": {"id": b_id, "name": "nightly", "entries": 5, "tag": "r", "more": 2},
        "upload": corpus,
        "uploadEntries": 37,
        "uploadGz": gz,
        "bad": bad,
    });
    let mut node = Command::new("node")
        .current_dir(&td)
        .arg("view-serve-test.mjs")
        .arg(&page)
        .arg(spec.to_string())
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node must be installed");
    let mut stdin = node.stdin.take().unwrap();
    let mut out = BufReader::new(node.stdout.take().unwrap());
    let mut log = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        print!("{line}");
        if line.trim() == "MORE" {
            drive(&b_proxy, site_port, "r-more", 2);
            use std::io::Write;
            stdin.write_all(b"done\n").unwrap();
        }
        log.push_str(&line);
        line.clear();
    }
    let st = node.wait().unwrap();
    assert!(
        st.success(),
        "view-serve-test.mjs failed (screenshot: /tmp/hark-view-serve-test-failure.png):\n{log}"
    );
    assert!(log.contains("all checks passed"), "{log}");
    // The page's uploads are files of the library, indexed like any other (the same on
    // both ports).
    let files = curl("GET", &format!("{viewer}/api/files"), None, &[]).json();
    assert_eq!(files, s.call("GET", "/view/api/files", None).json());
    let names: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    // Two jobs (Reload put the running one's newer snapshot in place of the first), two
    // uploads and a drop: each added once.
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(names.contains(&"dropped.har"), "{names:?}");
    assert!(names.contains(&"example-login.chromium.har"), "{names:?}");
    assert!(names.contains(&"login.har.gz"), "{names:?}");
    assert!(!names.contains(&"notes.txt"), "{names:?}");
}

#[test]
fn shared_proxy_port_tags_traffic_by_proxy_user() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let s = serve(&dir.path().join("data"), &["--shared-proxy", "127.0.0.1:0"]);
    let a = s.call("POST", "/v1/jobs", Some(r#"{"name":"a"}"#)).json();
    let b = s.call("POST", "/v1/jobs", Some(r#"{"name":"b"}"#)).json();
    let (ida, idb) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let (pa, pb) = (
        a["sharedProxy"].as_str().unwrap().to_string(),
        b["sharedProxy"].as_str().unwrap().to_string(),
    );
    assert!(
        pa.starts_with(&format!("http://{ida}:x@127.0.0.1:")),
        "{pa}"
    );
    let shared = pa.rsplit('@').next().unwrap().to_string();
    let site = format!("http://127.0.0.1:{site_port}");
    let mut want_a = Vec::new();
    for i in 0..5 {
        let u = format!("{site}/n/sa-{i}");
        assert_eq!(curl("GET", &u, None, &["-x", &pa]).status, 200);
        want_a.push(u);
    }
    // Through a CONNECT tunnel: the job named on the CONNECT owns what is inside.
    let u = format!("{site}/n/tunnel-a");
    assert_eq!(curl("GET", &u, None, &["-p", "-x", &pa]).status, 200);
    want_a.push(u);
    let mut want_b = Vec::new();
    for i in 0..3 {
        let u = format!("{site}/n/sb-{i}");
        assert_eq!(curl("GET", &u, None, &["-x", &pb]).status, 200);
        want_b.push(u);
    }
    // No user, or one that is not a running job: 407 with a challenge, nothing recorded.
    let r = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null", "-x"])
        .arg(format!("http://{shared}"))
        .arg(format!("{site}/n/anon"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&r.stdout).to_lowercase();
    assert!(head.starts_with("http/1.1 407"), "{head}");
    assert!(head.contains("proxy-authenticate: basic"), "{head}");
    let r = curl(
        "GET",
        &format!("{site}/n/nobody"),
        None,
        &["-x", &format!("http://zzzz:x@{shared}")],
    );
    assert_eq!(r.status, 407);
    let r = Command::new("curl")
        .args(["-sS", "-p", "-x"])
        .arg(format!("http://{shared}"))
        .arg(format!("{site}/n/anon-tunnel"))
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("407"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );

    let har_a = s.har(ida);
    let mut got = urls(&har_a);
    got.sort();
    want_a.sort();
    assert_eq!(got, want_a);
    let mut got = urls(&s.har(idb));
    got.sort();
    assert_eq!(got, want_b);
    // The proxy credentials are not recorded.
    assert!(!serde_json::to_string(&har_a)
        .unwrap()
        .to_ascii_lowercase()
        .contains("proxy-authorization"));
    validate(dir.path(), "shared.har", &har_a);
    // A stopped job's user is refused.
    s.call("POST", &format!("/v1/jobs/{ida}/stop"), None);
    let r = curl("GET", &format!("{site}/n/late"), None, &["-x", &pa]);
    assert_eq!(r.status, 407);
    assert_eq!(urls(&s.har(ida)).len(), 6);
}

#[test]
fn job_proxies_want_the_token_when_the_service_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let mut s = serve(
        &dir.path().join("data"),
        &["--token", "pr0xy-t0ken", "--shared-proxy", "127.0.0.1:0"],
    );
    s.token = Some("pr0xy-t0ken".into());
    let job = s.call("POST", "/v1/jobs", Some(r#"{"name":"t"}"#)).json();
    let id = job["id"].as_str().unwrap();
    let addr = job["proxy"].as_str().unwrap();
    let shared = job["sharedProxy"].as_str().unwrap().to_string();
    assert!(
        shared.starts_with(&format!("http://{id}:pr0xy-t0ken@127.0.0.1:")),
        "{shared}"
    );
    let site = format!("http://127.0.0.1:{site_port}");
    let through = |path: &str, proxy: &str, tunnel: bool| {
        let mut args = vec!["-x", proxy];
        if tunnel {
            args.push("-p");
        }
        let out = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(&args)
            .arg(format!("{site}{path}"))
            .output()
            .unwrap();
        // A refused CONNECT makes curl fail with the 407 in its message.
        let code = String::from_utf8_lossy(&out.stdout).to_string();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        if err.contains("407") {
            "407".to_string()
        } else {
            code
        }
    };
    let own = |user_pw: &str| format!("http://{user_pw}@{addr}");
    let on_shared =
        |user_pw: &str| format!("http://{user_pw}@{}", shared.rsplit('@').next().unwrap());
    // Refused: no credentials, a wrong password, on either port, with or without a tunnel.
    for (path, proxy, tunnel) in [
        ("/n/no-creds", format!("http://{addr}"), false),
        ("/n/no-creds-tunnel", format!("http://{addr}"), true),
        ("/n/wrong", own("hark:nope"), false),
        ("/n/wrong-tunnel", own("hark:nope"), true),
        ("/n/shared-no-token", on_shared(&format!("{id}:x")), false),
        (
            "/n/shared-no-token-tunnel",
            on_shared(&format!("{id}:x")),
            true,
        ),
    ] {
        assert_eq!(through(path, &proxy, tunnel), "407", "{path} via {proxy}");
    }
    // Let through: the token as password, any user on the job's port, the job on the shared one.
    let mut want = Vec::new();
    for (path, proxy, tunnel) in [
        ("/n/ok", own("hark:pr0xy-t0ken"), false),
        ("/n/ok-any-user", own("someone:pr0xy-t0ken"), false),
        ("/n/ok-tunnel", own("hark:pr0xy-t0ken"), true),
        ("/n/ok-shared", shared.clone(), false),
        ("/n/ok-shared-tunnel", shared.clone(), true),
    ] {
        assert_eq!(through(path, &proxy, tunnel), "200", "{path} via {proxy}");
        want.push(format!("{site}{path}"));
    }
    let har = s.har(id);
    let mut got = urls(&har);
    got.sort();
    want.sort();
    assert_eq!(got, want, "only what got through is recorded");
    let text = serde_json::to_string(&har).unwrap();
    assert!(!text.to_ascii_lowercase().contains("proxy-authorization"));
    assert!(!text.contains("pr0xy-t0ken"), "the token is not recorded");
}

#[test]
fn https_through_jobs_sharing_one_ca() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A test CA and the site's leaf for 127.0.0.1.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "serve-site test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(d.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(d.join("key.pem"), key.serialize_pem()).unwrap();
    let (_site, ports) = site_with(&[&d.join("cert.pem"), &d.join("key.pem")]);
    let https = ports["https"].as_u64().unwrap();
    let data = d.join("data");
    let ca_arg = d.join("ca.pem");
    let s = serve(&data, &["--upstream-ca", ca_arg.to_str().unwrap()]);
    let hark_ca = data.join("ca/hark-ca.pem");
    let mut jobs = Vec::new();
    for name in ["tls-a", "tls-b"] {
        let j = s
            .call("POST", "/v1/jobs", Some(&format!(r#"{{"name":"{name}"}}"#)))
            .json();
        let proxy = format!("http://{}", j["proxy"].as_str().unwrap());
        for i in 0..3 {
            let r = curl(
                "GET",
                &format!("https://127.0.0.1:{https}/n/{name}-{i}"),
                None,
                // HTTP/1.1 inside the tunnel: with HTTP/2, curl resets the stream as soon
                // as it has Content-Length bytes, before hark's engine sees the body's end,
                // and hark-record then records the exchange as aborted (reported to
                // crates/record; not a hark serve matter).
                &[
                    "-x",
                    &proxy,
                    "--cacert",
                    hark_ca.to_str().unwrap(),
                    "--http1.1",
                ],
            );
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            assert_eq!(
                String::from_utf8_lossy(&r.body),
                format!("hello /n/{name}-{i}\n")
            );
        }
        jobs.push((j["id"].as_str().unwrap().to_string(), name));
    }
    for (id, name) in &jobs {
        let har = s.har(id);
        let mut u = urls(&har);
        u.sort();
        let want: Vec<String> = (0..3)
            .map(|i| format!("https://127.0.0.1:{https}/n/{name}-{i}"))
            .collect();
        assert_eq!(u, want);
        for e in har["log"]["entries"].as_array().unwrap() {
            assert_eq!(e["response"]["status"], 200, "{e}");
            assert_eq!(
                e["response"]["content"]["text"],
                format!(
                    "hello {}\n",
                    &e["request"]["url"].as_str().unwrap()
                        [e["request"]["url"].as_str().unwrap().find("/n/").unwrap()..]
                )
            );
        }
        validate(d, &format!("{name}.har"), &har);
    }
    // BrowserMob's trustAllServers asks hark not to verify upstream certificates: refused
    // unless the service was started with --insecure-upstream.
    let r = s.call("POST", "/proxy?trustAllServers=true", None);
    assert_eq!(r.status, 400);
    assert!(r.error().contains("--insecure-upstream"));
}

/// BrowserMob's bandwidth limits: `downstreamKbps`/`upstreamKbps` (units of 1024 bytes
/// per second, as BrowserMob counts them) hold bodies back to that rate; the exchange is
/// recorded whole. Only lower bounds on time are asserted (a slow machine is never
/// faster than the limit).
#[test]
fn browsermob_bandwidth_limits_slow_bodies_down() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let s = serve(&dir.path().join("data"), &[]);
    let r = s.call("POST", "/proxy", Some(""));
    let port = r.json()["port"].as_u64().unwrap();
    assert_eq!(
        s.call("PUT", &format!("/proxy/{port}/har"), Some(""))
            .status,
        204
    );
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/limit"),
        Some("downstreamKbps=64&upstreamKbps=64&latency=0"),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = s.call("GET", &format!("/proxy/{port}/limit"), None);
    assert_eq!(r.json()["downstreamKbps"], 64);
    assert_eq!(r.json()["upstreamKbps"], 64);

    let proxy = format!("127.0.0.1:{port}");
    // 256 KiB down at 64 KiB/s: at least 3 s once the first frame (≤ 64 KiB) is out.
    let t = Instant::now();
    let r = curl(
        "GET",
        &format!("http://127.0.0.1:{site_port}/big?kib=256"),
        None,
        &["-x", &proxy],
    );
    let down = t.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 256 * 1024);
    assert!(
        down.as_secs_f64() >= 2.0,
        "256 KiB at 64 KiB/s took {down:?}"
    );

    // 192 KiB up at 64 KiB/s.
    let upload = dir.path().join("upload.bin");
    std::fs::write(&upload, vec![b'x'; 192 * 1024]).unwrap();
    let at = format!("@{}", upload.display());
    let t = Instant::now();
    let r = curl(
        "POST",
        &format!("http://127.0.0.1:{site_port}/upload"),
        Some(&at),
        &["-x", &proxy, "-H", "Content-Type: application/octet-stream"],
    );
    let up = t.elapsed();
    assert_eq!(r.json()["bytes"], 192 * 1024);
    assert!(up.as_secs_f64() >= 1.5, "192 KiB at 64 KiB/s took {up:?}");

    // Both recorded whole.
    let r = s.call("GET", &format!("/proxy/{port}/har"), None);
    let har = r.json();
    let entries = har["log"]["entries"].as_array().unwrap();
    let big = entries
        .iter()
        .find(|e| e["request"]["url"].as_str().unwrap().contains("/big"))
        .expect("the download is recorded");
    assert_eq!(big["response"]["content"]["size"], 256 * 1024);
    assert!(big["time"].as_f64().unwrap() >= 2000.0, "{}", big["time"]);
    let post = entries
        .iter()
        .find(|e| e["request"]["url"].as_str().unwrap().contains("/upload"))
        .expect("the upload is recorded");
    assert_eq!(post["request"]["bodySize"], 192 * 1024);

    // 0 removes the limits.
    let r = s.call(
        "PUT",
        &format!("/proxy/{port}/limit"),
        Some("downstreamKbps=0&upstreamKbps=0"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        s.call("GET", &format!("/proxy/{port}/limit"), None).json()["downstreamKbps"],
        0
    );
}
