//! `hark capture` with Debian's Chromium (headless) against the Acme site
//! (testdata/site): its sign-in through OAuth-style redirects and its live page (JSON,
//! binary, WebSocket, server-sent events, a refused request) and CORS failures, clicked by playwright-core
//! over CDP in the browser hark records (testdata/capture.mjs). Every exchange of the
//! site's own request log must be in the HAR, with what DevTools would show of it.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

struct Run {
    _dir: tempfile::TempDir,
    out: PathBuf,
    har: Value,
    log: Vec<Value>,
    done: Done,
}

/// `node testdata/capture.mjs MODE` (launch, attach or kill9).
fn drive(mode: &str) -> Run {
    chromium();
    need_node_module("playwright-core");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("capture.har");
    let log = dir.path().join("site-log.json");
    let done = Cmd::new("node")
        .current_dir(testdata(""))
        .arg(testdata("capture.mjs"))
        .arg(mode)
        .arg(HARK)
        .arg(&out)
        .arg(&log)
        .run();
    done.assert_success();
    let har = har::read_json(&out);
    let log = har::read_json(&log).as_array().unwrap().clone();
    Run {
        _dir: dir,
        out,
        har,
        log,
        done,
    }
}

fn key(method: &str, url: &str, status: u64) -> String {
    format!("{method} {} {status}", url.split('#').next().unwrap())
}

/// What every mode must show.
fn assert_complete(r: &Run) {
    let entries = har::entries(&r.har);
    // Every exchange the site answered is in the HAR, as often as it was answered.
    let mut got: HashMap<String, usize> = HashMap::new();
    for e in entries {
        let k = key(
            e["request"]["method"].as_str().unwrap(),
            e["request"]["url"].as_str().unwrap(),
            e["response"]["status"].as_u64().unwrap(),
        );
        *got.entry(k).or_default() += 1;
    }
    let mut want: HashMap<String, usize> = HashMap::new();
    for x in &r.log {
        let k = key(
            x["method"].as_str().unwrap(),
            x["url"].as_str().unwrap(),
            x["status"].as_u64().unwrap(),
        );
        *want.entry(k).or_default() += 1;
    }
    assert!(
        r.log.len() > 30,
        "the site answered {} requests",
        r.log.len()
    );
    for (k, n) in &want {
        assert_eq!(
            got.get(k),
            Some(n),
            "{k}: in the site's log {n} times\n{}",
            r.done
        );
    }
    // The sign-in's redirect chain, a hop an entry, cookies as sent and received.
    let login = har::one(&r.har, "POST", "/login");
    assert_eq!(login["response"]["status"], 302);
    assert!(login["response"]["redirectURL"]
        .as_str()
        .unwrap()
        .starts_with("/oauth/authorize?"));
    assert!(har::names(&login["request"]["cookies"]).contains(&"sid".to_string()));
    assert!(har::names(&login["response"]["cookies"]).contains(&"sid".to_string()));
    let params = &login["request"]["postData"]["params"];
    assert!(
        har::names(params).contains(&"password".to_string()),
        "{login}"
    );
    let authorize = &har::find(&r.har, "GET", "")
        .into_iter()
        .find(|e| {
            e["request"]["url"]
                .as_str()
                .unwrap()
                .contains("/oauth/authorize?")
        })
        .expect("the authorize hop");
    assert_eq!(authorize["response"]["status"], 302);
    assert!(authorize["response"]["redirectURL"]
        .as_str()
        .unwrap()
        .contains("/callback?code="));
    assert!(har::names(&authorize["request"]["cookies"]).contains(&"sid".to_string()));
    let token = har::one(&r.har, "POST", "/oauth/token");
    assert!(token["response"]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("access_token"));
    assert!(token["request"]["postData"]["text"]
        .as_str()
        .unwrap()
        .contains("code_verifier="));
    // The API with the bearer token, its JSON body.
    let me = har::one(&r.har, "GET", "/api/me");
    let auth = me["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            h["name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("authorization")
        })
        .expect("Authorization on /api/me");
    assert!(auth["value"].as_str().unwrap().starts_with("Bearer ey"));
    assert!(me["response"]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("jane.doe"));
    // Every body the site sent (but a redirect's) is there; binary as base64.
    for e in entries {
        let (status, url) = (
            &e["response"]["status"],
            e["request"]["url"].as_str().unwrap(),
        );
        if status == 200 && !url.ends_with("/events") {
            let c = &e["response"]["content"];
            assert!(
                c["text"].as_str().is_some_and(|t| !t.is_empty()),
                "no body: {url}"
            );
            assert!(c["size"].as_u64().unwrap() > 0, "{url}");
        }
        har::assert_timings_add_up(e);
        assert!(e["pageref"].is_string(), "{url} has no page");
        assert!(
            (e["_resourceType"].is_string() && e["_priority"].is_string())
                || url.starts_with("ws:")
        );
    }
    let logo = &har::find(&r.har, "GET", "/static/logo.png")[0];
    assert_eq!(logo["response"]["content"]["encoding"], "base64");
    let png = b64_decode(logo["response"]["content"]["text"].as_str().unwrap());
    assert_eq!(&png[..4], b"\x89PNG");
    let doc = &har::find(&r.har, "GET", "/app")[0];
    assert_eq!(doc["serverIPAddress"], "127.0.0.1");
    assert!(doc["connection"].is_string());
    assert!(doc["response"]["_transferSize"].as_u64().unwrap() > 0);
    // The WebSocket's messages, the server-sent events, the refused request.
    let ws = entries
        .iter()
        .find(|e| e["_resourceType"] == "websocket")
        .expect("the WebSocket");
    let m = ws["_webSocketMessages"].as_array().unwrap();
    assert_eq!(m[0]["type"], "send");
    assert_eq!(m[0]["data"], "hello from the page");
    assert_eq!(m[1]["data"], "echo: hello from the page");
    let sse = har::one(&r.har, "GET", "/events");
    assert_eq!(sse["_eventSourceMessages"].as_array().unwrap().len(), 3);
    let refused = har::one(&r.har, "GET", "/refused");
    assert_eq!(refused["response"]["status"], 0);
    assert!(refused["response"]["_error"]
        .as_str()
        .unwrap()
        .contains("ERR_CONNECTION_REFUSED"));
    // CORS failures say so (the partner API sends no CORS headers); the preflight is
    // an entry of its own.
    let quotes = har::one(&r.har, "GET", "/v1/quotes?symbol=ACME");
    assert!(quotes["response"]["_error"]
        .as_str()
        .unwrap()
        .contains("CORS error: MissingAllowOriginHeader"));
    let orders = har::one(&r.har, "POST", "/v1/orders");
    assert!(orders["response"]["_error"]
        .as_str()
        .unwrap()
        .contains("CORS error: Preflight"));
    assert_eq!(
        har::one(&r.har, "OPTIONS", "/v1/orders")["_resourceType"],
        "preflight"
    );
    // Pages: one per navigation (the redirect chain is one), each timed.
    let pages = r.har["log"]["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 6, "{pages:?}");
    for p in pages {
        let t = &p["pageTimings"];
        assert!(t["onContentLoad"].as_f64().unwrap() > 0.0, "{p}");
        assert!(t["onLoad"].as_f64().unwrap() >= t["onContentLoad"].as_f64().unwrap());
    }
    // Valid, and hark's own check finds nothing to report.
    har::assert_valid_har(&r.out);
    let check = hark(["check".as_ref(), r.out.as_os_str()]).run();
    check.assert_success();
    assert!(check.stdout().contains("nothing to report"), "{check}");
}

#[test]
fn launch_mode_records_a_sign_in_with_every_redirect_cookie_and_body() {
    let r = drive("launch");
    assert_complete(&r);
    assert!(
        r.done.stdout().contains("temporary profile removed: yes"),
        "{}",
        r.done
    );
    // The browser was closed (as its window would be): hark stopped by itself.
    assert!(
        r.done.stderr().contains("(the browser went away)"),
        "{}",
        r.done
    );
    // Standard error is no terminal here: no line per request.
    assert!(!r.done.stderr().contains("/static/app.css"), "{}", r.done);
    // The capture printed the verdict of what it wrote.
    assert!(r.done.stdout().contains("nothing to report"), "{}", r.done);
}

#[test]
fn attach_mode_records_what_another_client_drives_and_leaves_the_browser_running() {
    let r = drive("attach");
    assert_complete(&r);
    assert!(
        r.done
            .stdout()
            .contains("browser still running after hark: yes"),
        "{}",
        r.done
    );
}

#[test]
fn kill_9_mid_capture_loses_no_finished_exchange() {
    let r = drive("kill9");
    assert!(r.done.stderr().contains("recovered from"), "{}", r.done);
    assert_complete(&r);
    // The same journal, sanitized: --output gets the sanitized HAR, the raw one is kept
    // beside it (or not, with --no-raw).
    let journal = PathBuf::from(format!("{}.journal", r.out.display()));
    let dir = r.out.parent().unwrap();
    let safe = dir.join("safe.har");
    let d = hark([
        "capture".as_ref(),
        "--recover".as_ref(),
        journal.as_os_str(),
        "--sanitize".as_ref(),
        "-o".as_ref(),
        safe.as_os_str(),
    ])
    .run();
    d.assert_success();
    assert!(
        d.stderr().contains("sanitized into") && d.stderr().contains("safe.raw.har"),
        "{d}"
    );
    let login = har::one(&r.har, "POST", "/login");
    let sid = login["response"]["cookies"][0]["value"].as_str().unwrap();
    assert!(sid.len() > 20);
    let raw = std::fs::read_to_string(dir.join("safe.raw.har")).unwrap();
    assert!(raw.contains(sid));
    let sanitized = std::fs::read_to_string(&safe).unwrap();
    assert!(
        !sanitized.contains(sid),
        "the session cookie survived --sanitize"
    );
    assert_eq!(
        har::entries(&har::read_json(&safe)).len(),
        har::entries(&r.har).len()
    );
    let safe2 = dir.join("safe2.har");
    let d = hark([
        "capture".as_ref(),
        "--recover".as_ref(),
        journal.as_os_str(),
        "--sanitize".as_ref(),
        "--no-raw".as_ref(),
        "-o".as_ref(),
        safe2.as_os_str(),
    ])
    .run();
    d.assert_success();
    assert!(d.stderr().contains("no raw copy kept"), "{d}");
    assert!(safe2.exists() && !dir.join("safe2.raw.har").exists());
}

#[test]
fn clear_errors_for_no_browser_and_no_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.har");
    let o = out.to_str().unwrap();
    let d = hark(["capture", "--browser", "/nonexistent/chrome", "-o", o]).run();
    assert_eq!(d.code(), 2, "{d}");
    assert!(
        d.stderr().contains("no Chromium-family browser found"),
        "{d}"
    );
    assert!(d.stderr().contains("/nonexistent/chrome"), "{d}");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let d = hark(["capture", "--connect", &url, "-o", o]).run();
    assert_eq!(d.code(), 2, "{d}");
    assert!(
        d.stderr().contains("nothing answers") && d.stderr().contains("--remote-debugging-port"),
        "{d}"
    );
    assert!(!Path::new(o).exists());
    // A journal left by a crash is never started over.
    let journal = dir.path().join("x.har.journal");
    std::fs::write(&journal, b"hark-journal-v1\n").unwrap();
    let d = hark(["capture", "--connect", &url, "-o", o]).run();
    assert_eq!(d.code(), 2, "{d}");
    assert!(d.stderr().contains("hark capture --recover"), "{d}");
    assert_eq!(std::fs::read(&journal).unwrap(), b"hark-journal-v1\n");
}

#[test]
fn a_live_line_per_request_on_a_terminal() {
    need("script", &["--version"]);
    let chromium = chromium();
    let mut site = Cmd::new("node")
        .arg(testdata("site/server.mjs"))
        .named("site")
        .spawn();
    let port = loop {
        let l = site.stdout_line();
        if let Some(p) = l.strip_prefix("PORT=") {
            break p.trim().to_string();
        }
    };
    let dir = tempfile::tempdir().unwrap();
    // On a pseudo-terminal (script), headless, until 1 s without a request.
    let command = format!(
        "exec {HARK} capture http://127.0.0.1:{port}/scenarios/live --headless --browser {chromium} \
         --until-idle 1s -o {}",
        dir.path().join("tty.har").display()
    );
    let done = Cmd::new("script")
        .args(["-q", "-c", &command, "/dev/null"])
        .named("script")
        .run();
    done.assert_success();
    let tty = done.stdout();
    let line_of = |needle: &str| -> String {
        tty.split(['\r', '\n'])
            .find(|l| l.contains(needle))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no line with {needle:?} in {tty:?}"))
    };
    let ok = line_of(&format!("127.0.0.1:{port}/api/status"));
    assert!(ok.contains("GET") && ok.contains(" 200 "), "{ok:?}");
    let bad = line_of("/refused");
    assert!(
        bad.contains("ERR") && bad.contains("net::ERR_CONNECTION_REFUSED"),
        "{bad:?}"
    );
    assert!(bad.contains("\x1b[31m"), "red: {bad:?}");
    assert!(tty.contains("usable"), "the check verdict: {tty:?}");
    drop(site);
}
