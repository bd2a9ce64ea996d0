//! The flow site (`testdata/flow-site/server.mjs`: a login + API script) and the
//! Chromium run of it (`testdata/flow.mjs`), used by the diff, mock and replay tests.

use crate::{chromium, testdata, Cmd, Running};
use serde_json::Value;
use std::path::Path;

/// `node testdata/flow-site/server.mjs PORT`, once it listens (VARIANT=1 with `variant`:
/// one JSON field and one status changed).
pub fn flow_site(port: u16, variant: bool) -> Running {
    let mut p = Cmd::new("node")
        .arg(testdata("flow-site/server.mjs"))
        .arg(port.to_string())
        .env("VARIANT", if variant { "1" } else { "0" })
        .named("flow-site")
        .spawn();
    let line = p.stdout_line();
    assert!(line.contains("listening"), "{line}");
    p
}

/// Headless Chromium runs the flow page at `url` (recording `har`, or through `proxy`
/// `host:port`); what each of the page's calls answered (method, url, status, body).
pub fn flow_run(url: &str, har: Option<&Path>, proxy: Option<&str>) -> Vec<Value> {
    let mut cmd = Cmd::new("node")
        .arg(testdata("flow.mjs"))
        .arg(url)
        .env("CHROMIUM", chromium());
    if let Some(h) = har {
        cmd = cmd.arg("--har").arg(h);
    }
    if let Some(p) = proxy {
        cmd = cmd.args(["--proxy", p]);
    }
    let done = cmd.run();
    done.assert_success();
    let line = done.stdout();
    let last = line.lines().last().unwrap_or("");
    match serde_json::from_str::<Value>(last) {
        Ok(Value::Array(calls)) => calls,
        _ => panic!("flow.mjs printed no calls: {done}"),
    }
}
