//! What a job is, as `job.json` keeps it ([`Meta`], written with temp + rename), and the
//! capture options and rules it carries.

use crate::ServeError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// What a job keeps of each exchange.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Capture {
    pub headers: bool,
    pub cookies: bool,
    /// Request and response bodies (text).
    pub content: bool,
    /// Binary response bodies (base64) too.
    pub binary_content: bool,
    /// Bytes of each body kept (the rest is counted and marked cut).
    pub max_body_bytes: Option<usize>,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            headers: true,
            cookies: true,
            content: true,
            binary_content: true,
            max_body_bytes: None,
        }
    }
}

impl Capture {
    /// BrowserMob's defaults for a new HAR: nothing but the exchange itself.
    pub fn browsermob() -> Self {
        Capture {
            headers: false,
            cookies: false,
            content: false,
            binary_content: false,
            max_body_bytes: None,
        }
    }

    pub(super) fn apply(&self, e: &mut Value) {
        for side in ["request", "response"] {
            let Some(m) = e.get_mut(side).and_then(Value::as_object_mut) else {
                continue;
            };
            if !self.headers {
                m.insert("headers".into(), json!([]));
            }
            if !self.cookies {
                m.insert("cookies".into(), json!([]));
            }
        }
        if !self.content {
            if let Some(pd) = e
                .pointer_mut("/request/postData")
                .and_then(Value::as_object_mut)
            {
                pd.remove("text");
                pd.remove("params");
                pd.remove("_encoding");
            }
        }
        if let Some(c) = e
            .pointer_mut("/response/content")
            .and_then(Value::as_object_mut)
        {
            let binary = c.get("encoding").and_then(Value::as_str) == Some("base64");
            if !self.content || (binary && !self.binary_content) {
                c.remove("text");
                c.remove("encoding");
            }
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlacklistRule {
    /// Regular expression matched against the whole URL.
    pub regex: String,
    /// Status answered instead of going upstream.
    pub status: u16,
    /// Regular expression matched against the method (all methods if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Whitelist {
    /// Regular expressions; a URL matching none of them is answered with `status`.
    pub regex: Vec<String>,
    pub status: u16,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub id: String,
    pub title: String,
    pub started_ms: f64,
}

/// Who made the job.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Kind {
    /// `POST /v1/jobs`.
    #[default]
    #[serde(rename = "job")]
    Job,
    /// BrowserMob's `POST /proxy`.
    #[serde(rename = "browsermob")]
    BrowserMob,
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    Stopped,
    /// The service stopped (or died) while the job was running.
    Interrupted,
}

impl State {
    /// As the API writes it: `running`, `stopped`, `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Stopped => "stopped",
            State::Interrupted => "interrupted",
        }
    }
}

/// Everything about a job that is kept in `job.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub kind: Kind,
    pub created: String,
    pub created_ms: f64,
    pub state: State,
    /// When the job stopped (`stoppedAt`; older `job.json` files call it `stopped`).
    #[serde(default, rename = "stoppedAt", alias = "stopped")]
    pub stopped: Option<String>,
    pub proxy: Option<String>,
    pub capture: Capture,
    /// Recording now: on while the job runs (BrowserMob: after `PUT /proxy/{port}/har`),
    /// off once it stopped or was interrupted.
    pub recording: bool,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub blacklist: Vec<BlacklistRule>,
    #[serde(default)]
    pub whitelist: Option<Whitelist>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub latency_ms: u64,
    /// Bandwidth limits in KiB/s (BrowserMob's `upstreamKbps`/`downstreamKbps`, which
    /// BrowserMob also counts in units of 1024 bytes per second); 0 is no limit.
    #[serde(default)]
    pub upstream_kbps: u64,
    #[serde(default)]
    pub downstream_kbps: u64,
    #[serde(default)]
    pub pages: Vec<Page>,
    #[serde(default)]
    pub error: Option<String>,
    /// Entries when the job stopped (running jobs count live).
    #[serde(default)]
    pub entries: u64,
}

/// Write `dir/job.json` (temp file, fsync, rename).
pub(super) fn save_meta(dir: &Path, m: &Meta) -> Result<(), ServeError> {
    use std::io::Write;
    let tmp = dir.join("job.json.tmp");
    let dest = dir.join("job.json");
    let bytes = serde_json::to_vec_pretty(m).expect("meta serialises");
    let mut f = std::fs::File::create(&tmp).map_err(ServeError::io(&tmp))?;
    let w = f.write_all(&bytes).and_then(|_| f.sync_data());
    if let Err(e) = w {
        let _ = std::fs::remove_file(&tmp);
        return Err(ServeError::io(&tmp)(e));
    }
    std::fs::rename(&tmp, &dest).map_err(ServeError::io(&dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_as_the_api_writes_them() {
        assert_eq!(json!(Kind::Job), json!("job"));
        assert_eq!(json!(Kind::BrowserMob), json!("browsermob"));
        for s in [State::Running, State::Stopped, State::Interrupted] {
            assert_eq!(json!(s), json!(s.as_str()));
        }
    }

    #[test]
    fn capture_options_strip_what_is_not_kept() {
        let entry = json!({
            "request": {"headers": [{"name": "a", "value": "b"}], "cookies": [{"name": "c", "value": "d"}],
                        "postData": {"mimeType": "text/plain", "text": "hi"}},
            "response": {"headers": [{"name": "a", "value": "b"}], "cookies": [],
                         "content": {"size": 3, "mimeType": "image/png", "text": "AAAA", "encoding": "base64"}}
        });
        let mut e = entry.clone();
        Capture::default().apply(&mut e);
        assert_eq!(e, entry, "everything kept by default");
        let mut e = entry.clone();
        Capture {
            binary_content: false,
            ..Capture::default()
        }
        .apply(&mut e);
        assert!(e["response"]["content"].get("text").is_none());
        assert_eq!(e["request"]["postData"]["text"], "hi");
        let mut e = entry.clone();
        Capture::browsermob().apply(&mut e);
        assert_eq!(e["request"]["headers"], json!([]));
        assert_eq!(e["request"]["cookies"], json!([]));
        assert!(e["request"]["postData"].get("text").is_none());
        assert_eq!(e["response"]["content"]["size"], 3);
        assert_eq!(e["response"]["content"]["mimeType"], "image/png");
    }
}
