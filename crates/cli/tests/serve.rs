//! `hark serve` driven as users drive it: PyPI's browsermob-proxy client (unchanged
//! Selenium-style code) with headless Chromium through the proxy it created; two jobs
//! at once through their own proxies (curl); HARs fetched during a run and after
//! `kill -9` and a restart; bad requests; the bearer token (also on the job proxies);
//! `?sanitize=1`; retention; the OpenAPI document checked by swagger-parser. Loopback
//! only.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// testdata/serve/site.mjs on a free port (killed on drop), and that port.
fn site() -> (Running, u16) {
    let (p, v) = node_server("serve/site.mjs", std::iter::empty::<&str>());
    (p, v["port"].as_u64().unwrap() as u16)
}

/// A running `hark serve` (killed on drop): its API port, and the bearer token its calls
/// send.
struct Serve {
    proc: Running,
    port: u16,
    token: Option<String>,
}

/// `hark serve --listen 127.0.0.1:0 --data DATA`; the API port is read from its first line.
fn serve(data: &Path, extra: &[&str]) -> Serve {
    let mut proc = hark(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--ca-dir")
        .arg(data.join("ca"))
        .args(extra)
        .named("hark serve")
        .spawn();
    let line = proc.stderr_line();
    Serve {
        port: loopback_port(&line),
        proc,
        token: None,
    }
}

impl Serve {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// One API call (with the bearer token when there is one).
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> Response {
        let mut c = curl(self.url(path)).method(method);
        if let Some(t) = &self.token {
            c = c.header(format!("Authorization: Bearer {t}"));
        }
        if let Some(b) = body {
            // JSON as JSON; BrowserMob's form fields as curl sends them (a form).
            if b.starts_with(['{', '[']) {
                c = c.header("Content-Type: application/json");
            }
            c = c.data(b);
        }
        c.send()
    }

    /// A job's `network.har`, which must be there.
    fn har(&self, id: &str) -> Value {
        let r = self.call("GET", &format!("/v1/jobs/{id}/network.har"), None);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }
}

#[test]
fn browsermob_python_client_with_chromium_unchanged() {
    let py = Cmd::new("python3")
        .args(["-c", "import browsermobproxy, requests"])
        .run();
    assert!(
        py.success(),
        "PyPI's browsermob-proxy and requests are needed: pip install browsermob-proxy requests ({py})"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is needed (apt-get install chromium)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let api_port = free_port();
    let out = dir.path().join("bmp.har");
    let data = dir.path().join("data");
    let r = Cmd::new("python3")
        .arg(testdata("serve/bmp_selenium.py"))
        .arg(testdata("serve/browsermob-proxy"))
        .arg(api_port.to_string())
        .arg(format!("http://127.0.0.1:{site_port}"))
        .arg(&out)
        .arg(dir.path())
        .env("HARK", HARK)
        .env("HARK_SERVE_DATA", &data)
        .current_dir(testdata(""))
        .run();
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    assert!(
        r.success(),
        "bmp_selenium.py failed:\n{r}\nserver log:\n{log}"
    );
    let har = read_json(&out);
    assert_valid_har(&out);
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
    let hits = curl(format!("{site}/hits")).send().json();
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
                    let r = curl(format!("http://127.0.0.1:{site_port}{p}"))
                        .proxy(format!("http://{proxy}"))
                        .send();
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
    assert_eq!(a.status, 201, "{}", a.text());
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
    assert_valid_har_value(&har_a);
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
    s.proc.kill_9();

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
    assert_valid_har_value(&har_a);
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
        assert_eq!(r.status, *status, "{method} {path}: {}", r.text());
        assert!(
            r.error().contains(msg),
            "{method} {path}: {:?} lacks {msg:?}",
            r.error()
        );
    }
    // A path that climbs out with literal dots never reaches a job.
    let r = curl(s.url("/v1/jobs/../../etc/passwd"))
        .arg("--path-as-is")
        .send();
    assert_eq!(r.status, 404);
    // BrowserMob calls with bad values.
    let port = s.call("POST", "/proxy", None).json()["port"]
        .as_u64()
        .unwrap();
    let bmp = |path: &str| format!("/proxy/{port}{path}");
    let in_use = format!("/proxy?port={port}");
    let cases: &[(&str, String, &str, u16, Option<&str>)] = &[
        (
            "PUT",
            bmp("/har"),
            "captureHeaders=maybe",
            400,
            Some("captureHeaders"),
        ),
        // No HAR started yet.
        ("PUT", bmp("/har/pageRef"), "pageRef=x", 404, None),
        ("PUT", bmp("/blacklist"), "regex=(&status=404", 400, None),
        ("PUT", bmp("/blacklist"), "regex=x", 400, Some("status")),
        ("POST", bmp("/headers"), "[1,2]", 400, None),
        // Total transfer caps are not supported.
        ("PUT", bmp("/limit"), "downstreamMaxKB=100", 501, None),
        ("PUT", bmp("/limit"), "downstreamKbps=fast", 400, None),
        // The port is in use.
        ("POST", in_use, "", 409, None),
    ];
    for (method, path, body, status, says) in cases {
        let r = s.call(method, path, Some(*body).filter(|b| !b.is_empty()));
        assert_eq!(r.status, *status, "{method} {path} {body}: {}", r.text());
        if let Some(says) = says {
            assert!(
                r.error().contains(says),
                "{method} {path} {body}: {}",
                r.text()
            );
        }
    }
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 gets nothing.
    for host in ["evil.example:{p}", "127.0.0.1.nip.io:{p}", "localhost:1"] {
        let host = host.replace("{p}", &s.port.to_string());
        let r = curl(s.url("/v1/jobs"))
            .header(format!("Host: {host}"))
            .send();
        assert_eq!(r.status, 403, "Host {host}");
        assert!(r.error().contains("DNS rebinding"), "{}", r.error());
    }
    let r = curl(s.url("/v1/jobs"))
        .header(format!("Host: localhost:{}", s.port))
        .send();
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

/// (method, path, headers, extra curl arguments, the status wanted)
type CrossSite<'a> = (&'a str, String, Vec<String>, Vec<&'a str>, u16);

#[test]
fn cross_site_requests_cannot_change_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(&dir.path().join("data"), &[]);
    let job = s.call("POST", "/v1/jobs", Some(r#"{"name":"kept"}"#));
    assert_eq!(job.status, 201, "{}", job.text());
    let id = job.json()["id"].as_str().unwrap().to_string();
    let port = s.call("POST", "/proxy", None).json()["port"]
        .as_u64()
        .unwrap();
    let count = || {
        let jobs = s.call("GET", "/v1/jobs", None).json();
        jobs["jobs"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_else(|| panic!("{jobs}"))
    };
    let before = count();
    let evil = "Origin: https://evil.example";
    let form = "Content-Type: application/x-www-form-urlencoded";
    let json = "Content-Type: application/json";
    // What a page on another site can send without a preflight, and a few it cannot.
    let cases: Vec<CrossSite> = vec![
        // (method, path, headers, extra curl args, status)
        (
            "POST",
            "/v1/jobs".into(),
            vec![evil.into(), "Content-Type: text/plain".into()],
            vec!["--data-binary", r#"{"name":"x"}"#],
            403,
        ),
        (
            "POST",
            "/v1/jobs".into(),
            vec![evil.into(), json.into()],
            vec!["--data-binary", r#"{"name":"x"}"#],
            403,
        ),
        (
            "POST",
            "/v1/jobs".into(),
            vec!["Origin: null".into(), json.into()],
            vec!["--data-binary", "{}"],
            403,
        ),
        (
            "POST",
            "/v1/jobs".into(),
            vec!["Sec-Fetch-Site: cross-site".into(), json.into()],
            vec!["--data-binary", "{}"],
            403,
        ),
        (
            "POST",
            "/v1/jobs".into(),
            vec!["Content-Type: text/plain".into()],
            vec!["--data-binary", r#"{"name":"x"}"#],
            415,
        ),
        (
            "POST",
            "/v1/jobs".into(),
            vec![],
            vec!["--data-binary", "name=x"],
            415,
        ),
        ("POST", "/v1/jobs".into(), vec![], vec!["-F", "name=x"], 415),
        (
            "POST",
            "/proxy".into(),
            vec![form.into()],
            vec!["--data-binary", "port=0"],
            415,
        ),
        ("POST", "/proxy".into(), vec![evil.into()], vec![], 403),
        (
            "POST",
            format!("/proxy/{port}/headers"),
            vec!["Content-Type: text/plain".into()],
            vec!["--data-binary", r#"{"X-Evil":"1"}"#],
            415,
        ),
        (
            "PUT",
            format!("/proxy/{port}/har"),
            vec![evil.into(), form.into()],
            vec!["--data-binary", "captureContent=true"],
            403,
        ),
        (
            "PUT",
            format!("/proxy/{port}/har"),
            vec!["Content-Type: text/plain".into()],
            vec!["--data-binary", "captureContent=true"],
            415,
        ),
        (
            "POST",
            format!("/v1/jobs/{id}/stop"),
            vec!["Sec-Fetch-Site: same-site".into()],
            vec![],
            403,
        ),
        (
            "DELETE",
            format!("/v1/jobs/{id}"),
            vec![evil.into()],
            vec![],
            403,
        ),
        (
            "DELETE",
            format!("/proxy/{port}"),
            vec![evil.into()],
            vec![],
            403,
        ),
    ];
    for (method, path, headers, args, status) in &cases {
        let mut c = curl(s.url(path)).method(method).args(args);
        for h in headers {
            c = c.header(h);
        }
        let r = c.send();
        assert_eq!(
            r.status,
            *status,
            "{method} {path} {headers:?}: {}",
            r.text()
        );
        assert!(r.error().starts_with("refused: "), "{}", r.text());
    }
    assert_eq!(count(), before, "no job made or deleted");
    let job = s.call("GET", &format!("/v1/jobs/{id}"), None).json();
    assert_eq!(job["state"], "running", "{job}");
    // The same calls from this service's own origin, or from a script, go through.
    let r = curl(s.url("/v1/jobs"))
        .header(format!("Origin: http://127.0.0.1:{}", s.port))
        .header("Sec-Fetch-Site: same-origin")
        .header(json)
        .data(r#"{"name":"same origin"}"#)
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let r = curl(s.url("/v1/jobs"))
        .arg("--json")
        .arg(r#"{"name":"curl --json"}"#)
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
    let r = curl(s.url(&format!("/proxy/{port}/har")))
        .method("PUT")
        .data("captureContent=true")
        .send();
    assert!(r.status == 204 || r.status == 200, "{}", r.text());
    assert_eq!(count(), before + 2);
}

#[test]
fn bearer_token_is_required_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(&dir.path().join("data"), &["--token", "s3cret-token"]);
    let r = s.call("GET", "/v1/jobs", None);
    assert_eq!(r.status, 401);
    assert!(r.error().contains("missing token"));
    let r = curl(s.url("/proxy"))
        .header("Authorization: Bearer wrong")
        .send();
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "wrong token");
    let r = curl(s.url("/v1/openapi.json"))
        .header("Authorization: Bearer s3cret-tokenX")
        .send();
    assert_eq!(r.status, 401);
    s.token = Some("s3cret-token".into());
    assert_eq!(s.call("GET", "/v1/jobs", None).status, 200);
    assert_eq!(s.call("POST", "/proxy", None).status, 200);
}

/// Scripts written for Sauce Labs: `GET /v1/rdc/jobs/{id}/network.har` with Basic
/// credentials (the token as password) and `--compressed`; stopped jobs say so.
#[test]
fn sauce_labs_path_with_basic_credentials_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let (_site, site_port) = site();
    let mut s = serve(&dir.path().join("data"), &["--token", "sauce-t0ken"]);
    s.token = Some("sauce-t0ken".into());
    let job = s
        .call("POST", "/v1/jobs", Some(r#"{"name":"sauce"}"#))
        .json();
    let id = job["id"].as_str().unwrap();
    assert_eq!(job["recording"], true);
    assert!(job["stoppedAt"].is_null());
    let proxy = format!("u:sauce-t0ken@{}", job["proxy"].as_str().unwrap());
    let want = drive(&proxy, site_port, "s", 12);
    let stopped = s.call("POST", &format!("/v1/jobs/{id}/stop"), None).json();
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(stopped["recording"], false, "a stopped job records nothing");
    let at = stopped["stoppedAt"].as_str().expect("stoppedAt");
    assert!(at.starts_with("20") && at.ends_with('Z'), "{at}");
    assert_eq!(
        s.call("GET", &format!("/v1/jobs/{id}"), None).json()["recording"],
        false
    );

    let sauce = s.url(&format!("/v1/rdc/jobs/{id}/network.har"));
    let r = curl(&sauce)
        .args(["--compressed", "-u", "sauce-user:sauce-t0ken"])
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let head = r.head.to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let har = r.json();
    let mut got: Vec<String> = urls(&har).iter().map(|u| url_path(u)).collect();
    got.sort();
    let mut want = want;
    want.sort();
    assert_eq!(got, want);
    assert_valid_har_value(&har);
    // The bytes on the wire are gzip (curl without --compressed keeps them as sent).
    let raw = curl(&sauce)
        .args(["-u", "x:sauce-t0ken", "-H", "Accept-Encoding: gzip"])
        .send();
    assert_eq!(&raw.body[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(
        raw.body.len() < r.body.len(),
        "{} < {}",
        raw.body.len(),
        r.body.len()
    );
    // Without Accept-Encoding: plain JSON, the same HAR.
    let plain = curl(&sauce).args(["-u", "x:sauce-t0ken"]).send();
    assert!(!plain.head.to_ascii_lowercase().contains("content-encoding"));
    assert_eq!(plain.json(), har);
    // Wrong password, and no credentials: 401, saying what to send.
    let r = curl(&sauce).args(["-u", "sauce-user:wrong"]).send();
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "wrong token");
    let r = curl(&sauce).send();
    assert_eq!(r.status, 401);
    assert!(r.error().contains("curl -u any:<token>"), "{}", r.error());
    assert!(r.head.contains("Basic realm"), "{}", r.head);
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
    let r = curl(format!("http://127.0.0.1:{site_port}/echo?session=abc123"))
        .proxy(&proxy)
        .header(format!("Authorization: {secret}"))
        .header("Cookie: sid=topsecretvalue")
        .send();
    assert_eq!(r.status, 200);
    let id = job["id"].as_str().unwrap();
    let raw = s.call("GET", &format!("/v1/jobs/{id}/network.har"), None);
    assert!(raw.text().contains("topsecretvalue"));
    let clean = s.call(
        "GET",
        &format!("/v1/jobs/{id}/network.har?sanitize=1"),
        None,
    );
    assert_eq!(clean.status, 200);
    let text = clean.text();
    assert!(!text.contains("topsecretvalue"), "{text}");
    assert!(!text.contains("eyJzdWIiOiJqYW5lIn0"), "{text}");
    assert!(text.contains("redacted"));
    assert_valid_har_value(&clean.json());
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
    let r = curl(format!("http://127.0.0.1:{site_port}/n/first"))
        .proxy(format!("http://127.0.0.1:{port}"))
        .send();
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
    let via = |path: &str| {
        curl(format!("http://127.0.0.1:{site_port}{path}"))
            .proxy(format!("http://127.0.0.1:{port}"))
            .send()
    };
    assert_eq!(via("/n/ok1").status, 200);
    assert_eq!(via("/n/no1").status, 403);
    let hits = via("/hits").json();
    assert!(hits.get("/n/no1").is_none());
    assert_eq!(
        s.call("DELETE", &format!("/proxy/{port}/whitelist"), None)
            .status,
        200
    );
    assert_eq!(via("/n/no2").status, 200);
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
    let status = eventually(
        Duration::from_secs(10),
        || s.call("GET", &format!("/v1/jobs/{ida}"), None).status,
        |st| *st == 404,
    );
    assert_eq!(status, 404, "stopped job not deleted");
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
    let o = swagger_parser(&f);
    assert!(o.success(), "{o}");
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
        let r = curl(s.url(&format!("/v1/jobs/{id}/view"))).send();
        assert_eq!(r.status, 303);
        let text = r.head.clone();
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
    let files = eventually(
        Duration::from_secs(10),
        || {
            let files = curl(format!("{viewer}/api/files")).send().json();
            let files = files.as_array().unwrap().clone();
            assert_eq!(files.len(), 2);
            files
        },
        |files| files.iter().all(|f| f["done"] == true),
    );
    assert!(
        files.iter().all(|f| f["done"] == true),
        "viewer never finished indexing: {files:?}"
    );
    for (f, (id, n)) in files.iter().zip(&ids) {
        assert!(
            f["name"].as_str().unwrap().ends_with(&format!("{id}.har")),
            "{f}"
        );
        assert_eq!(f["entries"], *n as u64, "{f}");
    }
    let rows = curl(format!("{viewer}/api/files/1/rows")).send();
    assert_eq!(rows.status, 200);
    assert!(rows.text().contains("/n/v-4"));
    // The same library is at /view/ on the API port.
    let files = s.call("GET", "/view/api/files", None).json();
    assert_eq!(files.as_array().unwrap().len(), 2, "{files}");
    // Without --view: the viewer on the API port.
    let plain = serve(&dir.path().join("data2"), &[]);
    let j = plain.call("POST", "/v1/jobs", None).json();
    let r = curl(plain.url(&format!("/v1/jobs/{}/view", j["id"].as_str().unwrap()))).send();
    assert_eq!(r.status, 303);
    assert!(r.head.contains("location: /view/#file=0"), "{}", r.head);
    let files = plain.call("GET", "/view/api/files", None).json();
    assert_eq!(files[0]["entries"], 0, "{files}");
    // /view → /view/ (the page's paths are relative).
    let r = curl(plain.url("/view")).send();
    assert_eq!(r.status, 308);
    assert!(r.head.contains("location: /view/"), "{}", r.head);
}

#[test]
fn the_viewer_on_the_api_port_needs_the_token_when_the_api_does() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve(&dir.path().join("data"), &["--token", "t0ken-for-test"]);
    let page = s.url("/view/");
    let r = curl(&page).send();
    assert_eq!(r.status, 401);
    assert!(r.text().contains("?token="));
    assert_eq!(curl(s.url("/view/api/catalog")).send().status, 401);
    assert_eq!(curl(s.url("/view/?token=nope")).send().status, 401);
    // The printed link sets the cookie and goes back to the page, prefix kept.
    let r = curl(s.url("/view/?token=t0ken-for-test")).send();
    assert_eq!(r.status, 303);
    let head = r.head.to_ascii_lowercase();
    assert!(head.contains("location: /view/\r\n"), "{head}");
    assert!(
        head.contains("set-cookie: hark_view_token=t0ken-for-test;"),
        "{head}"
    );
    let cookie = "Cookie: hark_view_token=t0ken-for-test";
    let r = curl(s.url("/view/api/catalog")).header(cookie).send();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);
    // The cookie is the viewer's: the API still wants the bearer token.
    assert_eq!(curl(s.url("/v1/jobs")).header(cookie).send().status, 401);
    // A foreign Host is refused even with the token.
    let r = curl(&page)
        .header(cookie)
        .header("Host: rebound.example:80")
        .send();
    assert_eq!(r.status, 403);
}

#[test]
fn the_viewer_lists_jobs_and_takes_uploads_in_headless_chromium() {
    let chromium = chromium();
    need_node_module("playwright-core");
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
    let corpus = fixture("example-login.chromium.har");
    let at = format!("@{}", corpus.display());
    let up = format!("{viewer}/api/upload?name=x.har");
    let r = curl(&up)
        .method("POST")
        .data(&at)
        .header("Content-Type: text/plain")
        .send();
    assert_eq!(r.status, 403);
    assert!(r.error().contains("X-Hark-Upload"), "{}", r.error());
    let r = curl(format!("{viewer}/api/catalog/{a_id}/open"))
        .method("POST")
        .send();
    assert_eq!(r.status, 403, "opening a job needs the header too");
    let r = curl(&up)
        .method("POST")
        .data(&at)
        .header("X-Hark-Upload: 1")
        .header("Host: attacker.example")
        .send();
    assert_eq!(r.status, 403);
    // Over --max-upload (1M): 413, whatever Content-Length says (chunked here).
    let big = dir.path().join("big.har");
    std::fs::write(&big, vec![b' '; 1_200_000]).unwrap();
    let r = curl(&up)
        .method("POST")
        .data(format!("@{}", big.display()))
        .header("X-Hark-Upload: 1")
        .header("Transfer-Encoding: chunked")
        .send();
    assert_eq!(r.status, 413, "{}", r.text());
    // Nothing was added by the refused requests, and no upload is left on disk.
    let files = curl(format!("{viewer}/api/files")).send().json();
    assert_eq!(files.as_array().unwrap().len(), 0, "{files}");
    let uploads = dir.path().join("data/tmp/uploads");
    let left = std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "refused uploads leave no file");

    let gz = dir.path().join("login.har.gz");
    Cmd::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -c '{}' > '{}'",
            corpus.display(),
            gz.display()
        ))
        .run()
        .assert_success();
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
    // The page asks for more traffic on the running job (MORE) and waits for it.
    let mut node = Cmd::new("node")
        .current_dir(testdata(""))
        .arg("view-serve-test.mjs")
        .arg(&page)
        .arg(spec.to_string())
        .env("CHROMIUM", &chromium)
        .spawn();
    while let Some(line) = node.next_stdout_line(Duration::from_secs(300)) {
        if line.trim() == "MORE" {
            drive(&b_proxy, site_port, "r-more", 2);
            node.write_stdin(b"done\n");
        }
    }
    let done = node.wait();
    assert!(
        done.success(),
        "view-serve-test.mjs failed (screenshot: /tmp/hark-view-serve-test-failure.png):\n{done}"
    );
    assert!(done.stdout().contains("all checks passed"), "{done}");
    // The page's uploads are files of the library, indexed like any other (the same on
    // both ports).
    let files = curl(format!("{viewer}/api/files")).send().json();
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
        assert_eq!(curl(&u).proxy(&pa).send().status, 200);
        want_a.push(u);
    }
    // Through a CONNECT tunnel: the job named on the CONNECT owns what is inside.
    let u = format!("{site}/n/tunnel-a");
    assert_eq!(curl(&u).tunnel().proxy(&pa).send().status, 200);
    want_a.push(u);
    let mut want_b = Vec::new();
    for i in 0..3 {
        let u = format!("{site}/n/sb-{i}");
        assert_eq!(curl(&u).proxy(&pb).send().status, 200);
        want_b.push(u);
    }
    // No user, or one that is not a running job: 407 with a challenge, nothing recorded.
    let r = curl(format!("{site}/n/anon"))
        .proxy(format!("http://{shared}"))
        .attempt();
    let head = r.head.to_lowercase();
    assert!(head.starts_with("http/1.1 407"), "{head}");
    assert!(head.contains("proxy-authenticate: basic"), "{head}");
    let r = curl(format!("{site}/n/nobody"))
        .proxy(format!("http://zzzz:x@{shared}"))
        .send();
    assert_eq!(r.status, 407);
    let r = curl(format!("{site}/n/anon-tunnel"))
        .proxy(format!("http://{shared}"))
        .tunnel()
        .attempt();
    assert!(r.curl_failed.is_some());
    assert!(r.curl_stderr.contains("407"), "{}", r.curl_stderr);

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
    assert_valid_har_value(&har_a);
    // A stopped job's user is refused.
    s.call("POST", &format!("/v1/jobs/{ida}/stop"), None);
    let r = curl(format!("{site}/n/late")).proxy(&pa).send();
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
    // The status through `proxy`, in a CONNECT tunnel or not.
    let through = |path: &str, proxy: &str, tunnel: bool| {
        let mut c = curl(format!("{site}{path}")).proxy(proxy);
        if tunnel {
            c = c.tunnel();
        }
        let r = c.attempt();
        // A refused CONNECT makes curl fail with the 407 in its message.
        if r.curl_stderr.contains("407") {
            407
        } else {
            r.status
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
        assert_eq!(through(path, &proxy, tunnel), 407, "{path} via {proxy}");
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
        assert_eq!(through(path, &proxy, tunnel), 200, "{path} via {proxy}");
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
    let ca = TestCa::new("serve-site test CA");
    let (cert, key) = ca.issue(&["127.0.0.1"], "serve-site");
    std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(d.join("cert.pem"), cert).unwrap();
    std::fs::write(d.join("key.pem"), key).unwrap();
    let (_site, ports) = node_server("serve/site.mjs", [d.join("cert.pem"), d.join("key.pem")]);
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
            let r = curl(format!("https://127.0.0.1:{https}/n/{name}-{i}"))
                .proxy(&proxy)
                .cacert(&hark_ca)
                // HTTP/1.1 inside the tunnel: with HTTP/2, curl resets the stream as soon
                // as it has Content-Length bytes, before hark's engine sees the body's end,
                // and hark-record then records the exchange as aborted (reported to
                // crates/record; not a hark serve matter).
                .arg("--http1.1")
                .send();
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.text(), format!("hello /n/{name}-{i}\n"));
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
        assert_valid_har_value(&har);
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
    let r = s.call("POST", "/proxy", None);
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
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.call("GET", &format!("/proxy/{port}/limit"), None);
    assert_eq!(r.json()["downstreamKbps"], 64);
    assert_eq!(r.json()["upstreamKbps"], 64);

    let proxy = format!("127.0.0.1:{port}");
    // 256 KiB down at 64 KiB/s: at least 3 s once the first frame (≤ 64 KiB) is out.
    let t = Instant::now();
    let r = curl(format!("http://127.0.0.1:{site_port}/big?kib=256"))
        .proxy(&proxy)
        .send();
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
    let r = curl(format!("http://127.0.0.1:{site_port}/upload"))
        .method("POST")
        .data(&at)
        .proxy(&proxy)
        .header("Content-Type: application/octet-stream")
        .send();
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

/// `GET /`: the API as a page (from the OpenAPI document, no script, the viewer's CSP),
/// rendered in headless Chromium with Basic credentials, as a person opens it.
#[test]
fn the_api_page_renders_in_headless_chromium() {
    let chromium = chromium();
    need_node_module("playwright-core");
    let dir = tempfile::tempdir().unwrap();
    let s = serve(&dir.path().join("data"), &["--token", "p4ge-t0ken"]);
    // Without the token: 401, and a browser is offered Basic.
    let r = curl(s.url("/")).send();
    assert_eq!(r.status, 401);
    assert!(r.head.contains("Basic realm"), "{}", r.head);
    let r = curl(s.url("/")).args(["-u", "x:p4ge-t0ken"]).send();
    assert_eq!(r.status, 200);
    let head = r.head.to_ascii_lowercase();
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(!r.text().contains("<script"));
    let done = Cmd::new("node")
        .current_dir(testdata(""))
        .arg("serve-api-page.mjs")
        .arg(s.url(""))
        .arg("p4ge-t0ken")
        .env("CHROMIUM", &chromium)
        .run();
    assert!(done.success(), "serve-api-page.mjs failed:\n{done}");
    let seen: Value = serde_json::from_str(done.stdout().lines().last().unwrap()).unwrap();
    let doc = curl(s.url("/v1/openapi.json"))
        .header("Authorization: Bearer p4ge-t0ken")
        .send()
        .json();
    let ops: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|i| {
            i.as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .count()
        })
        .sum();
    assert_eq!(seen["operations"], ops);
    assert!(ops >= 25, "{ops}");
}
