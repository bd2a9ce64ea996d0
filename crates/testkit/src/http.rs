//! HTTP with the real `curl`: what a user's client sees (proxies, tunnels, TLS trust,
//! Host headers) is what the tests check.

use crate::cmd::{Cmd, Done, Running};
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::path::Path;

/// A request with curl to `url`: GET unless [`Curl::method`] or [`Curl::data`] say
/// otherwise, straight to the server whatever `http_proxy` says unless [`Curl::proxy`].
pub fn curl(url: impl AsRef<OsStr>) -> Curl {
    Curl {
        url: url.as_ref().to_os_string(),
        args: Vec::new(),
        proxy: false,
    }
}

/// A curl command line being built; [`Curl::send`] runs it.
pub struct Curl {
    url: OsString,
    args: Vec<OsString>,
    proxy: bool,
}

impl Curl {
    /// `-X METHOD`.
    pub fn method(self, method: &str) -> Curl {
        self.args(["-X", method])
    }

    /// `--data-binary BODY` (a POST unless [`Curl::method`] says otherwise; `@FILE` sends
    /// the file).
    pub fn data(self, body: impl AsRef<OsStr>) -> Curl {
        self.arg("--data-binary").arg(body)
    }

    /// `-H "Name: value"`.
    pub fn header(self, header: impl AsRef<OsStr>) -> Curl {
        self.arg("-H").arg(header)
    }

    /// Through this HTTP proxy (`[http://][user:password@]host:port`).
    pub fn proxy(mut self, proxy: impl AsRef<OsStr>) -> Curl {
        self.proxy = true;
        self.arg("--proxy").arg(proxy)
    }

    /// Through the proxy in a CONNECT tunnel, even for `http://` (`-p`).
    pub fn tunnel(self) -> Curl {
        self.arg("-p")
    }

    /// Trust this CA certificate (and no other) for HTTPS.
    pub fn cacert(self, pem: impl AsRef<Path>) -> Curl {
        self.arg("--cacert").arg(pem.as_ref())
    }

    /// Give up after this many seconds.
    pub fn max_time(self, secs: u32) -> Curl {
        self.arg("--max-time").arg(secs.to_string())
    }

    /// Any other curl option.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Curl {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Any other curl options.
    pub fn args<I, S>(mut self, args: I) -> Curl
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    fn cmd(&self) -> Cmd {
        let mut c = Cmd::new("curl").arg("-sS");
        if !self.proxy {
            c = c.args(["--noproxy", "*"]);
        }
        c.args(&self.args)
    }

    /// Send it; curl itself must succeed (an HTTP error status is an answer, not a
    /// failure: assert on [`Response::status`]).
    #[track_caller]
    pub fn send(self) -> Response {
        let r = self.attempt();
        if let Some(failure) = &r.curl_failed {
            panic!("curl failed: {failure}");
        }
        r
    }

    /// Send it, and return whatever came back even when curl fails (refused, reset,
    /// timed out, a TLS certificate it does not trust, a refused tunnel): then
    /// [`Response::curl_failed`] is set and the rest is what arrived before.
    pub fn attempt(self) -> Response {
        let dir = tempfile::tempdir().unwrap();
        let (head, body) = (dir.path().join("head"), dir.path().join("body"));
        let done = self
            .cmd()
            .arg("-D")
            .arg(&head)
            .arg("-o")
            .arg(&body)
            .args(["-w", "%{http_code}"])
            .arg(&self.url)
            .run();
        let status = done.stdout().trim().parse().unwrap_or(0);
        Response {
            status,
            head: std::fs::read_to_string(&head).unwrap_or_default(),
            body: std::fs::read(&body).unwrap_or_default(),
            curl_failed: (!done.success()).then(|| done.to_string()),
            curl_stderr: done.stderr(),
        }
    }

    /// Start it and let it run (a download that stalls, a client still connected when the
    /// server stops); its output goes nowhere, and it is killed when dropped.
    pub fn spawn(self) -> Running {
        self.cmd()
            .args(["-o", "/dev/null"])
            .arg(&self.url)
            .named("curl")
            .spawn()
    }

    /// Run it as it is and give curl's own result (stdout is the body).
    pub fn run(self) -> Done {
        self.cmd().arg(&self.url).run()
    }
}

/// What came back: the status of the (last) response, its head as received, its body.
#[derive(Debug)]
pub struct Response {
    /// The HTTP status; 0 when none arrived.
    pub status: u16,
    /// The status line and headers, as received (`-D`; with `-p` the CONNECT's too).
    pub head: String,
    pub body: Vec<u8>,
    /// When curl failed: its exit status and messages (from [`Curl::attempt`] only).
    pub curl_failed: Option<String>,
    /// curl's standard error (messages such as `CONNECT tunnel failed, response 407`).
    pub curl_stderr: String,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the start of the body otherwise.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(400)])
            )
        })
    }

    /// The `error` field of a JSON error answer (`{"error": "..."}`).
    #[track_caller]
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {}", self.text()))
            .to_string()
    }

    /// The value of the first header `name` (any case) in the head.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim_matches([' ', '\t', '\r']))
        })
    }
}
