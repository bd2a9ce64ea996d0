//! The one harness of hark's integration tests, in the manner of ripgrep's
//! `tests/util.rs`: what every test file needs to say *what* it checks and not *how* to
//! run a program, talk HTTP or dig through a HAR.
//!
//! - [`Cmd`] runs a program (the `hark` binary, `node`, `python3`, …) to completion as a
//!   [`Done`], whose `Display` shows the command line, the exit status, stdout and
//!   stderr — put it in an assertion's message and a failure says everything. Or it
//!   spawns it as a [`Running`] server: killed on drop, its output drained (and echoed,
//!   prefixed with its name, into the test's captured output, so that a failing test
//!   shows it), its lines readable one by one.
//! - [`curl()`] is the one HTTP client: a builder over the real `curl` (the tests are
//!   about what real clients see), giving a [`Response`] with status, head and body.
//! - [`har`] reads HARs and finds entries by method and URL; [`har_validator`] and
//!   friends run the npm validators in `testdata/node_modules`.
//! - [`root`], [`fixture`], [`corpus`] find the test data; [`TestCa`] makes certificates
//!   for local TLS sites; [`free_port`] and [`eventually`] are for servers.
//!
//! The `hark` binary's path is only known to the tests of the crate that builds it
//! (`env!("CARGO_BIN_EXE_hark")`), so `crates/cli/tests/common` adds a one-line
//! `hark(args)` on top of [`Cmd`].

mod cmd;
mod flow;
pub mod har;
mod http;
mod tls;

pub use cmd::{Cmd, Done, Running};
pub use flow::{flow_run, flow_site};
pub use har::{
    assert_timings_add_up, assert_valid_har, assert_valid_har_value, canonical, entries, find,
    har_validator, indexes, json, names, one, read_json, sarif_schema, swagger_parser, url_path,
    urls,
};
pub use http::{curl, Curl, Response};
pub use tls::{self_signed, TestCa};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace's root directory (the one with `testdata/`; `../shared` is beside it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root")
}

/// `testdata/REL`.
pub fn testdata(rel: &str) -> PathBuf {
    root().join("testdata").join(rel)
}

/// A recording of ours: `testdata/har/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("testdata/har").join(name)
}

/// A file of the shared real-world corpus: `../shared/corpus/public/NAME`.
pub fn corpus_file(name: &str) -> PathBuf {
    root().join("../shared/corpus/public").join(name)
}

/// Every real HAR we have: `../shared/corpus/public/*.har` and `testdata/har/*.har`,
/// sorted. Fails (never skips) when the corpus is not there.
pub fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        root().join("../shared/corpus/public"),
        root().join("testdata/har"),
    ] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            panic!(
                "missing {}: the tests need ../shared beside the repo",
                dir.display()
            );
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "har") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 25,
        "expected the whole corpus, found {}",
        files.len()
    );
    files
}

/// `../shared/corpus/public` and `wild`: every real HAR from the shared corpus, sorted.
/// Fails (never skips) when they are not there or hold fewer than 50 files.
pub fn whole_corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["public", "wild"] {
        for e in std::fs::read_dir(root().join("../shared/corpus").join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "har") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 50,
        "expected the whole corpus, found {}",
        files.len()
    );
    files
}

/// The forms a value may take in a file: as is, URL-encoded, base64 (standard and
/// URL-safe, without padding, so that they are found inside longer base64 text too).
pub fn forms(v: &str) -> Vec<String> {
    let b64 = b64_encode(v).trim_end_matches('=').to_string();
    let b64url = b64.replace('+', "-").replace('/', "_");
    let mut enc = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    vec![v.to_string(), enc, b64, b64url]
}

/// Fail (never skip) when a program the test drives is missing. An empty `probe` only
/// checks that the program starts at all; otherwise `program probe…` must succeed.
#[track_caller]
pub fn need(program: &str, probe: &[&str]) {
    let st = std::process::Command::new(program)
        .args(probe)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let ok = match st {
        Ok(s) => probe.is_empty() || s.success(),
        Err(_) => false,
    };
    assert!(
        ok,
        "`{program}` is needed by this test (see .ci/run for how CI installs it)"
    );
}

/// The Chromium the browser tests drive: `$CHROMIUM`, or Debian's `/usr/bin/chromium`.
/// Fails when it is not there.
#[track_caller]
pub fn chromium() -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: this test drives a real browser (apt-get install chromium; .ci/run does)"
    );
    chromium
}

/// Whether `testdata/node_modules/PACKAGE` is installed (`npm ci --prefix testdata`).
pub fn node_module(package: &str) -> bool {
    testdata("node_modules").join(package).exists()
}

/// Fail when `testdata/node_modules/PACKAGE` is not installed.
#[track_caller]
pub fn need_node_module(package: &str) {
    assert!(
        node_module(package),
        "testdata/node_modules/{package} is missing: run `npm ci --prefix testdata`"
    );
}

/// A loopback port that was free a moment ago (bound, then let go): for a server whose
/// address the test must know in advance, or for an address where nobody listens.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Ask `probe` every 50 ms until `done` says yes or `within` has passed; the last answer
/// either way (the caller asserts on it, and says what did not happen).
pub fn eventually<T>(
    within: Duration,
    mut probe: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let v = probe();
        if done(&v) || Instant::now() >= deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Standard base64 with padding, written here rather than taken from the `base64` crate
/// the code under test uses: inputs built with it do not depend on that code's encoder.
pub fn b64_encode(data: impl AsRef<[u8]>) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.as_ref().chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The bytes of standard base64 text; panics on anything else.
#[track_caller]
pub fn b64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64 ({e}): {text:.80}"))
}

/// Start one of the Node test servers in testdata (`node testdata/SCRIPT ARGS…`): it
/// picks free ports and prints them as one line of JSON (`{"http": 41237, …}`) before
/// serving. The server (killed on drop) and that line.
#[track_caller]
pub fn node_server<I, S>(script: &str, args: I) -> (Running, serde_json::Value)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    need("node", &["--version"]);
    let name = script.rsplit('/').nth(1).unwrap_or(script).to_string();
    let mut server = Cmd::new("node")
        .arg(testdata(script))
        .args(args)
        .named(&name)
        .spawn();
    let line = server.stdout_line();
    let ports = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("{script} did not start ({e}): {line:?}"));
    (server, ports)
}

/// The port of the first `http://127.0.0.1:PORT` in a line a server printed (where it
/// listens); fails when there is none.
#[track_caller]
pub fn loopback_port(line: &str) -> u16 {
    line.split("http://127.0.0.1:")
        .nth(1)
        .map(|r| {
            r.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no http://127.0.0.1:PORT in {line:?}"))
}
