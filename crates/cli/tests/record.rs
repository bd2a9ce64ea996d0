//! `hark record` end to end: the built binary as a proxy between real clients (curl,
//! Python `requests`, headless Chromium through playwright-core, raw sockets) and a
//! local site (testdata/record-site/server.mjs: HTTP/1.1, HTTPS with HTTP/2, gzip, a
//! binary image, a form login with redirects, a WebSocket, and faults). Loopback only;
//! every server picks a free port.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CSS_LINE: &str = "body { font-family: sans-serif; color: #333; }\n";

/// The image the site serves (same formula as server.mjs).
fn image() -> Vec<u8> {
    let mut b: Vec<u8> = (0..4096usize)
        .map(|i| ((i * 7 + (i >> 8)) & 0xff) as u8)
        .collect();
    b[..8].copy_from_slice(&[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    b
}

/// Raise the open-file limit to the hard limit (children inherit it).
fn raise_nofile() -> u64 {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur
    }
}

/// testdata/record-site/server.mjs (killed on drop), its ports, and a directory for the
/// test's files.
struct Site {
    _server: Running,
    http: u16,
    https: u16,
    badtls: u16,
    /// The test CA that signed the site's certificate (given to hark as --upstream-ca).
    test_ca: PathBuf,
    dir: tempfile::TempDir,
}

/// The site, serving HTTPS with a certificate for 127.0.0.1 / localhost from its own test
/// CA, and on another port with a self-signed certificate nobody trusts.
fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("record-site test CA");
    let (cert, key) = ca.issue(&["127.0.0.1", "localhost"], "record-site");
    let (bad, bad_key) = self_signed(&["127.0.0.1"]);
    let d = dir.path();
    for (file, pem) in [
        ("ca.pem", ca.pem()),
        ("cert.pem", cert),
        ("key.pem", key),
        ("bad.pem", bad),
        ("badkey.pem", bad_key),
    ] {
        std::fs::write(d.join(file), pem).unwrap();
    }
    let (server, ports) = node_server(
        "record-site/server.mjs",
        ["cert.pem", "key.pem", "bad.pem", "badkey.pem"].map(|f| d.join(f)),
    );
    let port = |k: &str| ports[k].as_u64().unwrap() as u16;
    Site {
        _server: server,
        http: port("http"),
        https: port("https"),
        badtls: port("badtls"),
        test_ca: d.join("ca.pem"),
        dir,
    }
}

/// A running `hark record` (killed on drop) and its files.
struct Proxy {
    proc: Running,
    port: u16,
    out: PathBuf,
    journal: PathBuf,
    ca_pem: PathBuf,
}

/// `hark record --listen 127.0.0.1:0` into the site's directory (NAME.har, NAME.journal,
/// kept), trusting the site's CA upstream, once it has said where it listens.
fn proxy(site: &Site, name: &str, extra: &[&str]) -> Proxy {
    let out = site.dir.path().join(format!("{name}.har"));
    let journal = site.dir.path().join(format!("{name}.journal"));
    let ca_dir = site.dir.path().join("hark-ca");
    let mut proc = hark(["record", "--listen", "127.0.0.1:0", "--keep-journal"])
        .arg("-o")
        .arg(&out)
        .arg("--journal")
        .arg(&journal)
        .arg("--ca-dir")
        .arg(&ca_dir)
        .arg("--upstream-ca")
        .arg(&site.test_ca)
        .args(extra)
        .named("hark record")
        .spawn();
    let line = proc.stderr_line();
    assert!(
        line.contains("listening on http://"),
        "hark record did not start: {line:?}"
    );
    Proxy {
        proc,
        port: loopback_port(&line),
        out,
        journal,
        ca_pem: ca_dir.join("hark-ca.pem"),
    }
}

impl Proxy {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// curl to `url` through this proxy, trusting hark's CA, for 20 s at most.
    fn curl(&self, url: &str) -> Curl {
        curl(url)
            .proxy(self.url())
            .cacert(&self.ca_pem)
            .max_time(20)
    }

    /// SIGTERM and wait, as a user stops it: it must exit 0 having written the HAR,
    /// which npm's har-validator must accept. The HAR.
    fn stop(self) -> Value {
        let done = self.proc.stop();
        assert!(done.success(), "hark record failed: {done}");
        assert_valid_har(&self.out);
        let har = read_json(&self.out);
        let n = entries(&har).len();
        let said = format!(
            "{n} {} written to",
            if n == 1 { "entry" } else { "entries" }
        );
        assert!(done.stderr().contains(&said), "{said:?}: {done}");
        har
    }
}

/// A WebSocket to the site's `/ws` opened through the proxy by hand (an absolute-form
/// upgrade, in one write): the socket, once the proxy has answered 101.
fn open_websocket(p: &Proxy, site: &Site) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", p.port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let h = site.http;
    let req = format!(
        "GET http://127.0.0.1:{h}/ws HTTP/1.1\r\nHost: 127.0.0.1:{h}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s
}

/// One short text message from the client, masked with `mask` as clients must.
fn send_text(s: &mut TcpStream, mask: [u8; 4], text: &str) {
    let mut frame = vec![0x81, 0x80 | text.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).unwrap();
}

/// A WebSocket through the proxy by hand: the upgrade, one masked text message, its
/// echo (returned), a close.
fn websocket_roundtrip(p: &Proxy, site: &Site, text: &str) -> String {
    let mut s = open_websocket(p, site);
    send_text(&mut s, [1, 2, 3, 4], text);
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    assert_eq!(h[0], 0x81);
    let mut payload = vec![0u8; (h[1] & 0x7f) as usize];
    s.read_exact(&mut payload).unwrap();
    s.write_all(&[0x88, 0x80, 0, 0, 0, 0]).unwrap();
    let _ = s.read(&mut h);
    String::from_utf8(payload).unwrap()
}

fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// One keep-alive HTTP/1.1 GET through the proxy; the body, or None on any failure.
fn raw_get(r: &mut BufReader<TcpStream>, url: &str, host: &str) -> Option<Vec<u8>> {
    // One write: write! would send each piece separately (Nagle + delayed ACK).
    let req = format!("GET {url} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    r.get_mut().write_all(req.as_bytes()).ok()?;
    let mut status = String::new();
    r.read_line(&mut status).ok()?;
    if !status.starts_with("HTTP/1.1 200") {
        return None;
    }
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0u8; len?];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

#[test]
fn curl_python_and_a_websocket_over_http_https_and_h2() {
    need("curl", &["--version"]);
    need("python3", &["-c", "import requests"]);
    let site = site();
    let p = proxy(&site, "clients", &[]);
    let (h, s) = (site.http, site.https);

    // curl, plain HTTP: the page, and gzip CSS (curl decodes it).
    let page = p.curl(&format!("http://127.0.0.1:{h}/")).send();
    assert!(page.text().contains("record site"), "{page:?}");
    let css = p
        .curl(&format!("http://127.0.0.1:{h}/style.css"))
        .arg("--compressed")
        .send();
    assert_eq!(css.text(), CSS_LINE.repeat(40));
    // curl, HTTPS with HTTP/2 on both sides, trusting hark's CA.
    let json = p
        .curl(&format!("https://127.0.0.1:{s}/data.json"))
        .args(["--http2", "--compressed"])
        .send();
    let json_text = json.text();
    assert!(json_text.contains("item 49"));
    let img = p
        .curl(&format!("https://127.0.0.1:{s}/img.png"))
        .arg("--http1.1")
        .send();
    assert_eq!(img.body, image());
    // A binary POST body.
    let bin: Vec<u8> = (0..=255u8).collect();
    let bin_file = site.dir.path().join("bin");
    std::fs::write(&bin_file, &bin).unwrap();
    let echo = p
        .curl(&format!("http://127.0.0.1:{h}/echo"))
        .data(format!("@{}", bin_file.display()))
        .header("Content-Type: application/octet-stream")
        .send();
    assert_eq!(echo.body, bin);

    // Python requests: a form login over HTTPS, redirects followed, session cookie kept.
    let py = Cmd::new("python3")
        .arg("-c")
        .arg(
            "import requests, sys\n\
             s = requests.Session()\n\
             s.proxies = {'http': sys.argv[1], 'https': sys.argv[1]}\n\
             assert s.get(sys.argv[3] + '/hello').ok\n\
             base = sys.argv[3]\n\
             s.get(base + '/login').raise_for_status()\n\
             r = s.post(base + '/login', data={'user': 'jane', 'password': 'hunter2'})\n\
             print(r.status_code, [h.status_code for h in r.history], r.text)\n",
        )
        .arg(p.url())
        .arg(&p.ca_pem)
        .arg(format!("https://127.0.0.1:{s}"))
        // How `hark ca` tells Python users to trust the CA.
        .env("REQUESTS_CA_BUNDLE", &p.ca_pem)
        .run();
    let py_out = py.stdout();
    assert!(
        py_out.starts_with("200 [302] ") && py_out.contains("Welcome jane"),
        "{py}"
    );

    // A WebSocket.
    assert_eq!(websocket_roundtrip(&p, &site, "hi ws"), "echo: hi ws");
    let har = p.stop();

    let e = one(&har, "GET", &format!("127.0.0.1:{h}/"));
    assert_eq!(e["response"]["status"], 200);
    // HTTP/1.1 headers as on the wire: curl's case and order, Node's response case.
    assert_eq!(
        names(&e["request"]["headers"]),
        ["Host", "User-Agent", "Accept", "Proxy-Connection"]
    );
    assert_eq!(names(&e["response"]["headers"])[0], "Content-Type");
    let hs = e["request"]["headersSize"].as_i64().unwrap();
    let expected = format!("GET http://127.0.0.1:{h}/ HTTP/1.1\r\n").len()
        + names(&e["request"]["headers"]).len() * 4
        + e["request"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap().len() + x["value"].as_str().unwrap().len())
            .sum::<usize>()
        + 2;
    assert_eq!(hs as usize, expected, "headersSize is the head's size");
    assert_eq!(e["request"]["httpVersion"], "HTTP/1.1");
    assert_eq!(e["serverIPAddress"], "127.0.0.1");
    assert_timings_add_up(e);
    assert_eq!(e["timings"]["dns"], -1.0, "an IP literal needs no DNS");
    assert!(e["timings"]["connect"].as_f64().unwrap() >= 0.0);
    assert_eq!(e["timings"]["ssl"], -1.0);

    let c = &one(&har, "GET", "/style.css")["response"];
    assert_eq!(c["content"]["text"], CSS_LINE.repeat(40));
    assert_eq!(c["content"]["size"], CSS_LINE.len() * 40);
    let wire = c["bodySize"].as_i64().unwrap();
    assert!(wire > 0 && wire < (CSS_LINE.len() * 40) as i64);
    assert_eq!(
        c["content"]["compression"].as_i64().unwrap(),
        (CSS_LINE.len() * 40) as i64 - wire
    );

    let d = one(&har, "GET", "/data.json");
    assert_eq!(d["request"]["httpVersion"], "h2");
    assert_eq!(
        d["response"]["statusText"], "",
        "HTTP/2 has no reason phrase"
    );
    assert_eq!(d["response"]["httpVersion"], "h2");
    let h2_names = names(&d["request"]["headers"]);
    assert_eq!(
        &h2_names[..4],
        [":method", ":authority", ":scheme", ":path"]
    );
    assert_eq!(d["response"]["content"]["text"], json_text.as_str());
    assert_eq!(d["response"]["content"]["mimeType"], "application/json");
    assert_timings_add_up(d);
    let ssl = d["timings"]["ssl"].as_f64().unwrap();
    assert!(ssl > 0.0, "a new TLS connection: {}", d["timings"]);

    let i = &one(&har, "GET", "/img.png")["response"]["content"];
    assert_eq!(i["encoding"], "base64");
    assert_eq!(b64_decode(i["text"].as_str().unwrap()), image());
    assert_eq!(i["size"], 4096);

    let pd = &one(&har, "POST", "/echo")["request"];
    assert_eq!(pd["postData"]["_encoding"], "base64");
    assert_eq!(b64_decode(pd["postData"]["text"].as_str().unwrap()), bin);
    assert_eq!(pd["bodySize"], 256);

    let login = one(&har, "POST", "/login");
    let params = &login["request"]["postData"]["params"];
    assert_eq!(params[0]["name"], "user");
    assert_eq!(params[1]["value"], "hunter2");
    let r = &login["response"];
    assert_eq!(r["status"], 302);
    assert_eq!(r["redirectURL"], "/welcome");
    assert_eq!(r["cookies"][0]["name"], "sid");
    assert_eq!(r["cookies"][0]["httpOnly"], true);
    assert_eq!(r["content"]["size"], 0, "redirects too have content.size");
    assert!(r["content"]["mimeType"].is_string());
    let w = one(&har, "GET", "/welcome");
    assert_eq!(w["request"]["cookies"][0]["value"], "s3ss10n");
    assert!(w["response"]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("Welcome jane"));
    assert_eq!(
        w["timings"]["connect"], -1.0,
        "requests reuses its connection: no connect phase"
    );

    let ws = one(&har, "GET", &format!("ws://127.0.0.1:{h}/ws"));
    assert_eq!(ws["response"]["status"], 101);
    assert_eq!(ws["_resourceType"], "websocket");
    let m = ws["_webSocketMessages"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(
        (
            m[0]["type"].as_str(),
            m[0]["opcode"].as_u64(),
            m[0]["data"].as_str()
        ),
        (Some("send"), Some(1), Some("hi ws"))
    );
    assert_eq!(
        (m[1]["type"].as_str(), m[1]["data"].as_str()),
        (Some("receive"), Some("echo: hi ws"))
    );
    assert!(m[0]["time"].as_f64().unwrap() > 1.6e9);

    assert_eq!(entries(&har).len(), 10, "every exchange, nothing more");
    for e in entries(&har) {
        assert_timings_add_up(e);
    }
}

#[test]
fn faults_become_status_zero_entries_and_the_proxy_keeps_serving() {
    need("curl", &["--version"]);
    let site = site();
    let p = proxy(&site, "faults", &["--upstream-timeout", "1"]);
    let h = site.http;
    let closed = free_port(); // bound then dropped: nobody listens there
    let mut n = 0;
    let mut still_serving = |p: &Proxy| {
        n += 1;
        let o = p.curl(&format!("http://127.0.0.1:{h}/hello?i={n}")).send();
        assert_eq!(o.text(), format!("hello {n}"));
    };
    let refused = p.curl(&format!("http://127.0.0.1:{closed}/x")).attempt();
    assert_eq!(refused.status, 502, "{refused:?}");
    still_serving(&p);
    let reset = p.curl(&format!("http://127.0.0.1:{h}/reset")).attempt();
    assert!(
        reset.curl_failed.is_some(),
        "the client sees the body cut short too"
    );
    still_serving(&p);
    let t = Instant::now();
    let stall = p.curl(&format!("http://127.0.0.1:{h}/stall")).attempt();
    assert!(stall.curl_failed.is_some());
    assert!(t.elapsed() < Duration::from_secs(15));
    still_serving(&p);
    let bad = p
        .curl(&format!("https://127.0.0.1:{}/hello", site.badtls))
        .attempt();
    assert_eq!(bad.status, 502, "{bad:?}");
    still_serving(&p);
    // A client that does not trust hark's CA.
    let untrusting = curl(format!("https://127.0.0.1:{}/hello", site.https))
        .proxy(p.url())
        .max_time(10)
        .attempt();
    assert!(untrusting.curl_failed.is_some());
    still_serving(&p);
    // A client that goes away in the middle of a body.
    {
        let mut s = TcpStream::connect(("127.0.0.1", p.port)).unwrap();
        write!(
            s,
            "GET http://127.0.0.1:{h}/slow HTTP/1.1\r\nHost: 127.0.0.1:{h}\r\n\r\n"
        )
        .unwrap();
        let head = read_head(&mut s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let mut some = [0u8; 500];
        s.read_exact(&mut some).unwrap();
    }
    std::thread::sleep(Duration::from_millis(600));
    still_serving(&p);
    let har = p.stop();

    let err = |e: &Value| -> String {
        assert_eq!(e["response"]["status"], 0, "{e}");
        e["response"]["_error"].as_str().unwrap().to_string()
    };
    let e = one(&har, "GET", &format!("127.0.0.1:{closed}/x"));
    assert!(err(e).contains("ERR_CONNECTION_REFUSED"), "{}", err(e));
    assert_eq!(e["response"]["content"]["mimeType"], "x-unknown");
    let e = one(&har, "GET", "/reset");
    let text = err(e);
    assert!(text.contains("after 1000 body bytes"), "{text}");
    assert_eq!(e["response"]["content"]["text"], "x".repeat(1000));
    let e = one(&har, "GET", "/stall");
    assert!(err(e).contains("ERR_TIMED_OUT"), "{}", err(e));
    let e = one(&har, "GET", &format!("127.0.0.1:{}/hello", site.badtls));
    assert!(err(e).contains("ERR_CERT"), "{}", err(e));
    let e = one(&har, "CONNECT", &format!("127.0.0.1:{}/", site.https));
    assert!(err(e).contains("client TLS handshake"), "{}", err(e));
    let e = one(&har, "GET", "/slow");
    assert!(err(e).contains("ERR_ABORTED"), "{}", err(e));
    for i in 1..=n {
        let e = one(&har, "GET", &format!("/hello?i={i}"));
        assert_eq!(e["response"]["status"], 200);
    }
    assert_eq!(entries(&har).len(), 6 + n);
}

#[test]
fn kill_9_under_load_keeps_every_finished_exchange() {
    let site = site();
    let p = proxy(&site, "crash", &[]);
    let h = site.http;
    let done: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (done, stop, port) = (done.clone(), stop.clone(), p.port);
            std::thread::spawn(move || {
                let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut s = BufReader::new(s);
                let host = format!("127.0.0.1:{h}");
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("{w}-{i}");
                    let url = format!("http://{host}/hello?i={id}");
                    match raw_get(&mut s, &url, &host) {
                        Some(body) if body == format!("hello {id}").as_bytes() => {
                            done.lock().unwrap().push(id)
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    // kill -9 while the workers are mid-flight.
    let mut p = p;
    p.proc.kill_9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let done = done.lock().unwrap().clone();
    assert!(
        done.len() > 1000,
        "load: only {} requests finished",
        done.len()
    );
    let out = site.dir.path().join("recovered.har");
    let r = hark(["record", "--recover"])
        .arg(&p.journal)
        .arg("-o")
        .arg(&out)
        .run();
    r.assert_success();
    assert_valid_har(&out);
    let har = read_json(&out);
    let urls: HashSet<String> = entries(&har)
        .iter()
        .filter(|e| e["response"]["status"] == 200)
        .map(|e| e["request"]["url"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = done
        .iter()
        .filter(|id| !urls.contains(&format!("http://127.0.0.1:{h}/hello?i={id}")))
        .collect();
    eprintln!(
        "kill -9 under load: {} exchanges finished client-side, {} entries recovered ({})",
        done.len(),
        entries(&har).len(),
        r.stderr().trim()
    );
    assert!(missing.is_empty(), "finished but lost: {missing:?}");
    // Recording again must not truncate the journal the crash left.
    let again = hark(["record", "--listen", "127.0.0.1:0", "-o"])
        .arg(site.dir.path().join("again.har"))
        .arg("--journal")
        .arg(&p.journal)
        .run();
    again.assert_code(2);
    assert!(again.stderr().contains("--recover"), "{again}");
}

#[test]
fn ten_thousand_connections_at_once() {
    let limit = raise_nofile();
    // Each process holds one descriptor per connection (the proxy two: client and
    // upstream, but upstream ones are closed as their clients go); keep headroom.
    let n: usize = if limit >= 12_000 {
        10_000
    } else {
        (limit as usize).saturating_sub(2_000) / 2
    };
    assert!(
        n >= 1000,
        "open-file hard limit {limit} is too low for this test (raise it with ulimit -Hn)"
    );
    let site = site();
    let p = proxy(&site, "many", &[]);
    let h = site.http;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let port = p.port;
    let ok = rt.block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Open every connection first, then send every request.
        let mut socks = Vec::with_capacity(n);
        for _ in 0..n {
            socks.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        let tasks: Vec<_> = socks
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                tokio::spawn(async move {
                    let req = format!(
                        "GET http://127.0.0.1:{h}/hello?i={i} HTTP/1.1\r\nHost: 127.0.0.1:{h}\r\nConnection: close\r\n\r\n"
                    );
                    if s.write_all(req.as_bytes()).await.is_err() {
                        return false;
                    }
                    let mut buf = Vec::new();
                    let r = tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut buf)).await;
                    r.is_ok() && String::from_utf8_lossy(&buf).ends_with(&format!("hello {i}"))
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            if t.await.unwrap() {
                ok += 1;
            }
        }
        ok
    });
    assert_eq!(ok, n, "every connection got its response");
    let har = p.stop();
    let got = find(&har, "GET", "")
        .iter()
        .filter(|e| e["response"]["status"] == 200)
        .count();
    assert_eq!(got, n);
}

#[test]
fn chromium_through_the_proxy_trusting_the_ca_via_nss() {
    need("certutil", &[]);
    need("/usr/bin/chromium", &["--version"]);
    let site = site();
    let p = proxy(&site, "chromium", &[]);
    // Chromium on Linux trusts what is in the user's NSS database: a fresh HOME with
    // hark's CA in it (the way a user trusts it, see `hark ca`).
    let home = site.dir.path().join("home");
    let nss = home.join(".pki/nssdb");
    std::fs::create_dir_all(&nss).unwrap();
    let db = format!("sql:{}", nss.display());
    Cmd::new("certutil")
        .args(["-d", &db, "-N", "--empty-password"])
        .run()
        .assert_success();
    Cmd::new("certutil")
        .args(["-d", &db, "-A", "-t", "C,,", "-n", "hark"])
        .arg("-i")
        .arg(&p.ca_pem)
        .run()
        .assert_success();
    let own_har = site.dir.path().join("chromium-own.har");
    let p_out = p.out.clone();
    Cmd::new("node")
        .arg(testdata("record-site/browse.mjs"))
        .arg(p.url())
        .arg(site.http.to_string())
        .arg(site.https.to_string())
        .arg(&own_har)
        .env("HOME", &home)
        .run()
        .assert_success();
    let har = p.stop();
    if let Some(dir) = std::env::var_os("HARK_RECORD_KEEP") {
        // For docs/record.md's field-by-field comparison.
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&own_har, dir.join("chromium-own.har")).unwrap();
        std::fs::write(
            dir.join("hark.har"),
            serde_json::to_vec_pretty(&har).unwrap(),
        )
        .unwrap();
    }
    let (h, s) = (site.http, site.https);
    let page = one(&har, "GET", &format!("127.0.0.1:{h}/"));
    assert!(page["response"]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("record site"));
    let css = one(&har, "GET", &format!("127.0.0.1:{h}/style.css"));
    assert_eq!(css["response"]["content"]["text"], CSS_LINE.repeat(40));
    let data = one(&har, "GET", &format!("127.0.0.1:{h}/data.json"));
    assert!(data["response"]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("item 49"));
    // Chromium sometimes fetches the image twice (its own HAR shows one request).
    let imgs = find(&har, "GET", &format!("127.0.0.1:{s}/img.png"));
    assert!(!imgs.is_empty());
    for img in imgs {
        assert_eq!(
            img["response"]["httpVersion"], "h2",
            "Chromium speaks h2 to hark and hark to the site"
        );
        assert_eq!(
            b64_decode(img["response"]["content"]["text"].as_str().unwrap()),
            image()
        );
    }
    let ws = one(&har, "GET", &format!("ws://127.0.0.1:{h}/ws"));
    let m = ws["_webSocketMessages"].as_array().unwrap();
    assert!(
        m.iter()
            .any(|x| x["type"] == "send" && x["data"] == "hello from the page"),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|x| x["type"] == "receive" && x["data"] == "echo: hello from the page"),
        "{m:?}"
    );
    let login = one(&har, "POST", &format!("127.0.0.1:{s}/login"));
    assert_eq!(login["request"]["httpVersion"], "h2");
    assert!(
        login["response"]["_error"].is_null(),
        "{}",
        login["response"]
    );
    assert_eq!(login["response"]["status"], 302);
    assert_eq!(login["request"]["postData"]["params"][0]["value"], "jane");
    let welcome = one(&har, "GET", &format!("127.0.0.1:{s}/welcome"));
    assert!(welcome["response"]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("Welcome jane"));
    for e in entries(&har) {
        assert_timings_add_up(e);
    }
    // A page per navigation: two page.goto() and the form posted (its 302 and /welcome
    // are one page); subresources go to their document's page.
    let titles: Vec<&str> = har["log"]["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["record site", "login", "welcome"]);
    for (suffix, method, page) in [
        (format!("127.0.0.1:{h}/"), "GET", "page_1"),
        (format!("127.0.0.1:{h}/style.css"), "GET", "page_1"),
        (format!("127.0.0.1:{h}/data.json"), "GET", "page_1"),
        (format!("127.0.0.1:{s}/login"), "GET", "page_2"),
        (format!("127.0.0.1:{s}/login"), "POST", "page_3"),
        (format!("127.0.0.1:{s}/welcome"), "GET", "page_3"),
    ] {
        assert_eq!(
            one(&har, method, &suffix)["pageref"],
            page,
            "{method} {suffix}"
        );
    }
    assert_eq!(ws["pageref"], "page_1");
    // hark's own check finds nothing to report in what hark record wrote.
    let checked = hark(["check"]).arg(&p_out).run();
    assert_eq!(checked.code(), 0, "{checked}");
    assert!(
        checked.stdout().contains("nothing to report"),
        "{}",
        checked.stdout()
    );
    // Every request Chromium recorded itself went through hark.
    let own = read_json(&own_har);
    for e in entries(&own) {
        let url = e["request"]["url"].as_str().unwrap();
        if url.starts_with("http") && !url.ends_with("/favicon.ico") {
            let method = e["request"]["method"].as_str().unwrap();
            assert!(
                !find(&har, method, url.split_once("://").unwrap().1).is_empty(),
                "{method} {url} is in Chromium's HAR but not in hark's"
            );
        }
    }
}

#[test]
fn ca_command_passthrough_and_body_cap() {
    need("curl", &["--version"]);
    let site = site();
    // `hark ca` makes the CA once, key readable by its owner only, and says how to trust it.
    let dir = site.dir.path().join("ca-cmd");
    let out = hark(["ca", "--ca-dir"]).arg(&dir).run();
    out.assert_success();
    let text = out.stdout();
    for needle in [
        "hark-ca.pem",
        "update-ca-certificates",
        "certutil -d sql:",
        "keytool -importcert",
        "REQUESTS_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "Android",
        "iOS",
        "Firefox",
    ] {
        assert!(
            text.contains(needle),
            "`hark ca` does not mention {needle}:\n{text}"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("hark-ca-key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let pem = std::fs::read(dir.join("hark-ca.pem")).unwrap();
    let again = hark(["ca", "--ca-dir"]).arg(&dir).arg("--path").run();
    assert_eq!(
        again.stdout().trim(),
        dir.join("hark-ca.pem").to_str().unwrap()
    );
    assert_eq!(
        std::fs::read(dir.join("hark-ca.pem")).unwrap(),
        pem,
        "made once"
    );

    // --passthrough: the client talks TLS with the site itself (trusting the site's CA,
    // not hark's); one CONNECT entry. --max-body: a cut body is marked.
    let p = proxy(
        &site,
        "pass",
        &["--passthrough", "127.0.0.1", "--max-body", "1K"],
    );
    let o = curl(format!("https://127.0.0.1:{}/img.png", site.https))
        .proxy(p.url())
        .cacert(&site.test_ca)
        .max_time(10)
        .attempt();
    assert_eq!(o.body, image(), "{:?}", o.curl_failed);
    let big = p
        .curl(&format!("http://127.0.0.1:{}/img.png", site.http))
        .send();
    assert_eq!(big.body, image(), "the client still gets every byte");
    let har = p.stop();
    let c = one(&har, "CONNECT", &format!("127.0.0.1:{}/", site.https));
    assert_eq!(c["_passthrough"], true);
    assert_eq!(c["response"]["status"], 200);
    assert!(c["_bytesReceived"].as_u64().unwrap() > 4096);
    let img = &one(&har, "GET", &format!("127.0.0.1:{}/img.png", site.http))["response"];
    assert_eq!(img["bodySize"], 4096);
    assert_eq!(img["content"]["_truncated"], true);
    assert_eq!(
        b64_decode(img["content"]["text"].as_str().unwrap()),
        image()[..1024]
    );
    assert!(img["content"]["comment"]
        .as_str()
        .unwrap()
        .contains("1024 of 4096"));
}

#[test]
fn a_token_guards_the_proxy_and_remote_listening_needs_one() {
    need("curl", &["--version"]);
    let site = site();
    let out = hark(["record", "--listen", "0.0.0.0:0", "-o", "/dev/null/x.har"]).run();
    out.assert_code(2);
    assert!(out.stderr().contains("--token"), "{out}");

    let p = proxy(&site, "token", &["--token", "t0k3n"]);
    let url = format!("http://127.0.0.1:{}/hello?i=1", site.http);
    let denied = p.curl(&url).attempt();
    assert_eq!(denied.status, 407, "{denied:?}");
    let wrong = p.curl(&url).args(["--proxy-user", "hark:nope"]).attempt();
    assert_eq!(wrong.status, 407, "{wrong:?}");
    let ok = p.curl(&url).args(["--proxy-user", "hark:t0k3n"]).attempt();
    assert_eq!(ok.text(), "hello 1", "{ok:?}");
    let tls = p
        .curl(&format!("https://127.0.0.1:{}/hello?i=2", site.https))
        .args(["--proxy-user", "hark:t0k3n"])
        .attempt();
    assert_eq!(tls.text(), "hello 2", "{tls:?}");
    let tls_denied = p
        .curl(&format!("https://127.0.0.1:{}/hello?i=3", site.https))
        .attempt();
    assert!(tls_denied.curl_failed.is_some());
    let har = p.stop();
    assert_eq!(entries(&har).len(), 2, "refused requests are not recorded");
    for e in entries(&har) {
        assert_eq!(e["response"]["status"], 200);
        let sent = names(&e["request"]["headers"]);
        assert!(
            !sent
                .iter()
                .any(|n| n.eq_ignore_ascii_case("proxy-authorization")),
            "the proxy credential is not recorded: {sent:?}"
        );
    }
}

#[test]
fn a_websocket_and_a_stream_still_open_at_the_stop_are_recorded_as_they_are() {
    let site = site();
    let p = proxy(&site, "open-ws", &[]);
    let h = site.http;
    let mut s = open_websocket(&p, &site);
    send_text(&mut s, [7; 4], "still");
    let mut echo = [0u8; 2 + 11];
    s.read_exact(&mut echo).unwrap();
    assert_eq!(&echo[2..], b"echo: still");
    // And a response still streaming (the site stalls after 1000 bytes).
    let stalled = curl(format!("http://127.0.0.1:{h}/stall"))
        .proxy(p.url())
        .spawn();
    std::thread::sleep(Duration::from_millis(500));
    // The socket stays open while recording stops.
    let har = p.stop();
    drop(stalled);
    let st = one(&har, "GET", "/stall");
    assert_eq!(st["_openWhenRecordingStopped"], true);
    assert_eq!(st["response"]["status"], 200);
    assert_eq!(st["response"]["content"]["text"], "y".repeat(1000));
    let ws = one(&har, "GET", &format!("ws://127.0.0.1:{h}/ws"));
    assert_eq!(ws["_openWhenRecordingStopped"], true);
    let m = ws["_webSocketMessages"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[1]["data"], "echo: still");
    drop(s);
}

/// `openssl req -x509 … -subj /CN=NAME -addext subjectAltName=SAN` in `dir`: the
/// certificate and key files (the one-line recipe most READMEs give: `CA:TRUE`).
fn openssl_self_signed(dir: &std::path::Path, name: &str, san: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    Cmd::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", "/CN=localhost", "-addext"])
        .arg(format!("subjectAltName={san}"))
        .run()
        .assert_success();
    (cert, key)
}

#[test]
fn an_openssl_self_signed_certificate_given_as_upstream_ca_and_one_protocol_per_entry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (cert, key) = openssl_self_signed(d, "dev", "DNS:localhost,IP:127.0.0.1");
    // Pinned too, but for another name than the one asked for.
    let (other, other_key) = openssl_self_signed(d, "other", "DNS:other.example");
    let (server, ports) = node_server("record-site/server.mjs", [&cert, &key, &other, &other_key]);
    let port = |k: &str| ports[k].as_u64().unwrap() as u16;
    let site = Site {
        _server: server,
        http: port("http"),
        https: port("https"),
        badtls: port("badtls"),
        test_ca: cert.clone(),
        dir,
    };
    let other_arg = other.to_str().unwrap().to_string();
    let p = proxy(&site, "openssl", &["--upstream-ca", &other_arg]);
    // HTTP/2 and HTTP/1.1, by IP and by name: both in the certificate's subjectAltName.
    for url in [
        format!("https://127.0.0.1:{}/data.json", site.https),
        format!("https://localhost:{}/hello", site.https),
    ] {
        let r = p.curl(&url).send();
        assert_eq!(r.status, 200, "{url}: {}", r.text());
    }
    let r = p
        .curl(&format!("https://127.0.0.1:{}/hello?h1", site.https))
        .arg("--http1.1")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    // openssl's own server (same certificate), which answers HTTP/1.0, to a client
    // speaking h2 with hark: one protocol per entry, the client's.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s_port = free.local_addr().unwrap().port();
    drop(free);
    let mut s_server = Cmd::new("openssl")
        .args(["s_server", "-www", "-accept"])
        .arg(format!("127.0.0.1:{s_port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .named("openssl s_server")
        .spawn();
    // "Using default temp DH parameters", then "ACCEPT" once it listens.
    while s_server.stdout_line().trim() != "ACCEPT" {}
    let r = p
        .curl(&format!("https://127.0.0.1:{s_port}/"))
        .arg("--http2")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.head.contains("\nHTTP/2 200"), "{}", r.head);
    drop(s_server);
    // The exact certificate, but not for this name: refused, saying why.
    let r = p
        .curl(&format!("https://127.0.0.1:{}/hello", site.badtls))
        .send();
    assert_eq!(r.status, 502);
    assert!(
        r.text().contains("not valid for the name \"127.0.0.1\""),
        "{}",
        r.text()
    );
    let har = p.stop();
    assert_eq!(entries(&har).len(), 5);
    let e = one(&har, "GET", &format!("127.0.0.1:{s_port}/"));
    assert_eq!(e["request"]["httpVersion"], "h2");
    assert_eq!(e["response"]["httpVersion"], "h2");
    assert_eq!(e["response"]["_upstreamHttpVersion"], "HTTP/1.0");
    let e = one(&har, "GET", "/hello?h1");
    assert_eq!(e["request"]["httpVersion"], "HTTP/1.1");
    assert_eq!(e["response"]["httpVersion"], "HTTP/1.1");
    assert_eq!(e["response"]["_upstreamHttpVersion"], "HTTP/1.1");
    let e = one(&har, "GET", "/data.json");
    assert_eq!(e["response"]["httpVersion"], "h2");
    assert_eq!(e["response"]["_upstreamHttpVersion"], "h2");
    let e = one(&har, "GET", &format!("127.0.0.1:{}/hello", site.badtls));
    let err = e["response"]["_error"].as_str().unwrap();
    assert!(err.contains("ERR_CERT_COMMON_NAME_INVALID"), "{err}");

    // Without --upstream-ca the same server is refused, and the answer names the flag.
    let site2 = Site {
        test_ca: other.clone(),
        ..site
    };
    let p = proxy(&site2, "no-ca", &[]);
    let r = p
        .curl(&format!("https://127.0.0.1:{}/hello", site2.https))
        .send();
    assert_eq!(r.status, 502);
    let text = r.text();
    assert!(text.contains("--upstream-ca FILE"), "{text}");
    assert!(text.contains("ERR_CERT_AUTHORITY_INVALID"), "{text}");
    p.stop();
}

#[test]
fn a_live_line_per_exchange_on_a_terminal_and_none_when_piped() {
    need("script", &["--version"]);
    let site = site();
    let d = site.dir.path();
    let h = site.http;
    // On a pseudo-terminal (script): hark lives 3 s, long enough for two requests.
    let command = format!(
        "exec timeout -s TERM 3 {} record --listen 127.0.0.1:0 -o {} --ca-dir {} --log-file {}",
        HARK,
        d.join("tty.har").display(),
        d.join("ca").display(),
        d.join("tty.log").display(),
    );
    let mut script = Cmd::new("script")
        .args(["-q", "-c", &command, "/dev/null"])
        .named("script")
        .spawn();
    let line = script.stdout_line();
    let port = loopback_port(&line);
    let through = |url: &str| {
        curl(url)
            .proxy(format!("http://127.0.0.1:{port}"))
            .max_time(10)
            .send()
    };
    assert_eq!(
        through(&format!("http://127.0.0.1:{h}/hello?tty")).status,
        200
    );
    assert_eq!(through("http://127.0.0.1:9/refused").status, 502);
    let done = script.wait();
    let tty = done.stdout();
    let line_of = |text: &str, needle: &str| -> String {
        text.split(['\r', '\n'])
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .next()
            .unwrap_or_else(|| panic!("no line with {needle:?} in {text:?}"))
    };
    let ok = line_of(&tty, "/hello?tty");
    assert!(
        ok.contains("GET") && ok.contains(" 200 ") && ok.contains("HTTP/1.1"),
        "{ok:?}"
    );
    assert!(
        ok.contains("\x1b[32m") || ok.contains("\x1b[1m\x1b[32m"),
        "green: {ok:?}"
    );
    let bad = line_of(&tty, "127.0.0.1:9/refused");
    assert!(
        bad.contains("ERR") && bad.contains("net::ERR_CONNECTION_REFUSED"),
        "{bad:?}"
    );
    assert!(bad.contains("\x1b[31m"), "red: {bad:?}");
    assert!(tty.contains("recording: "), "the running count: {tty:?}");
    // The log file: the same lines, without colour.
    let log = std::fs::read_to_string(d.join("tty.log")).unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(!log.contains('\x1b'), "{log:?}");
    assert!(line_of(&log, "/hello?tty").contains(" 200 "));

    // Piped (as every other test runs it): no lines on standard error; the file still.
    let log2 = d.join("piped.log");
    let p = proxy(
        &site,
        "piped",
        &["--log-file", log2.to_str().unwrap(), "--page", "Start"],
    );
    assert_eq!(
        p.curl(&format!("http://127.0.0.1:{h}/hello?piped"))
            .send()
            .status,
        200
    );
    let marked = curl(format!("{}/pages", p.url()))
        .args(["--json", r#"{"title":"Checkout"}"#])
        .send();
    assert_eq!(marked.status, 201);
    let done = p.proc.stop();
    assert!(done.success(), "{done}");
    assert!(!done.stderr().contains("/hello?piped"), "{}", done.stderr());
    assert!(!done.stderr().contains("recording: "), "{}", done.stderr());
    let log = std::fs::read_to_string(&log2).unwrap();
    assert!(line_of(&log, "/hello?piped").contains(" 200 "), "{log}");
    // Page markers have their line, in order.
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].ends_with(r#" ── page page_1 "Start" ──"#), "{log}");
    assert!(
        lines[2].ends_with(r#" ── page page_2 "Checkout" ──"#),
        "{log}"
    );
}

#[test]
fn page_markers_from_the_flag_and_the_control_endpoint_survive_a_crash() {
    need("curl", &["--version"]);
    let site = site();
    let mut p = proxy(&site, "marks", &["--page", "Sign in"]);
    let h = site.http;
    let hello = |p: &Proxy, i: u32| {
        let r = p.curl(&format!("http://127.0.0.1:{h}/hello?i={i}")).send();
        assert_eq!(r.text(), format!("hello {i}"));
    };
    hello(&p, 1);
    let pages = format!("{}/pages", p.url());
    let marked = curl(&pages)
        .args(["--json", r#"{"title":"Checkout"}"#])
        .send();
    assert_eq!(marked.status, 201, "{marked:?}");
    assert_eq!(marked.json()["id"], "page_2");
    assert_eq!(marked.json()["title"], "Checkout");
    // What a web page could send: refused, and nothing marked.
    for (args, status) in [
        (
            vec![
                "--json",
                r#"{"title":"evil"}"#,
                "-H",
                "Origin: https://evil.example",
            ],
            403,
        ),
        (
            vec![
                "--json",
                r#"{"title":"evil"}"#,
                "-H",
                "Sec-Fetch-Site: cross-site",
            ],
            403,
        ),
        (
            vec![
                "-d",
                r#"{"title":"evil"}"#,
                "-H",
                "Content-Type: text/plain",
            ],
            415,
        ),
        (vec!["--json", r#"{"title": 7}"#], 400),
        (vec!["--json", r#"{"id":"page_2"}"#], 409),
        (vec!["-X", "DELETE"], 405),
    ] {
        let r = curl(&pages).args(&args).attempt();
        assert_eq!(r.status, status, "{args:?}: {r:?}");
    }
    let listed = curl(&pages).send().json();
    let titles: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Sign in", "Checkout"]);
    hello(&p, 2);
    // A crash: the journal and its markers make the same HAR.
    p.proc.kill_9();
    let out = site.dir.path().join("marks-recovered.har");
    hark(["record", "--recover"])
        .arg(&p.journal)
        .arg("-o")
        .arg(&out)
        .run()
        .assert_success();
    assert_valid_har(&out);
    let har = read_json(&out);
    let pages: Vec<(&str, &str)> = har["log"]["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["title"].as_str().unwrap()))
        .collect();
    assert_eq!(pages, [("page_1", "Sign in"), ("page_2", "Checkout")]);
    let refs: Vec<(&str, &str)> = entries(&har)
        .iter()
        .map(|e| {
            (
                e["request"]["url"].as_str().unwrap(),
                e["pageref"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refs,
        [
            (format!("http://127.0.0.1:{h}/hello?i=1").as_str(), "page_1"),
            (format!("http://127.0.0.1:{h}/hello?i=2").as_str(), "page_2"),
        ],
        "the requests to /pages are not recorded"
    );
    let checked = hark(["check"]).arg(&out).run();
    assert_eq!(checked.code(), 0, "{checked}");
    assert!(checked.stdout().contains("nothing to report"), "{checked}");

    // With --token, markers need it too.
    let p = proxy(&site, "marks-token", &["--token", "t0k3n"]);
    let pages = format!("{}/pages", p.url());
    let body = r#"{"title":"Step 2"}"#;
    assert_eq!(curl(&pages).args(["--json", body]).attempt().status, 401);
    let ok = curl(&pages)
        .args(["--json", body, "-u", "hark:t0k3n"])
        .attempt();
    assert_eq!(ok.status, 201, "{ok:?}");
    let bearer = curl(&pages)
        .args(["-H", "Authorization: Bearer t0k3n"])
        .attempt();
    assert_eq!(bearer.json().as_array().unwrap().len(), 1, "{bearer:?}");
    let har = p.stop();
    assert_eq!(har["log"]["pages"][0]["title"], "Step 2");
    let kept = site.dir.path().join("marks-token.journal.pages");
    assert!(kept.exists(), "kept with the journal (--keep-journal)");
}
