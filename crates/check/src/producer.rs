//! Who wrote the HAR, and what to tell its user.

use har::Header;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Producer {
    Chrome,
    Playwright,
    Firefox,
    Safari,
    Mitmproxy,
    Charles,
    Other,
}

impl Producer {
    pub fn of(header: &Header) -> Producer {
        let c = header
            .creator()
            .str("name")
            .unwrap_or("")
            .to_ascii_lowercase();
        let b = header
            .browser()
            .str("name")
            .unwrap_or("")
            .to_ascii_lowercase();
        if c.contains("playwright") {
            Producer::Playwright
        } else if c.contains("webinspector") && !b.contains("safari")
            || b.contains("chrome")
            || b.contains("edge")
        {
            Producer::Chrome
        } else if c.contains("firefox") || b.contains("firefox") {
            Producer::Firefox
        } else if c.contains("webkit") || b.contains("safari") {
            Producer::Safari
        } else if c.contains("mitmproxy") {
            Producer::Mitmproxy
        } else if c.contains("charles") {
            Producer::Charles
        } else {
            Producer::Other
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Producer::Chrome => "Chrome",
            Producer::Playwright => "Playwright",
            Producer::Firefox => "Firefox",
            Producer::Safari => "Safari",
            Producer::Mitmproxy => "mitmproxy",
            Producer::Charles => "Charles",
            Producer::Other => "The producer",
        }
    }

    /// Producers that time `ssl` apart from `connect` (HAR 1.2 counts it inside).
    pub fn ssl_outside_connect(self) -> bool {
        matches!(
            self,
            Producer::Mitmproxy | Producer::Playwright | Producer::Firefox
        )
    }

    pub fn open_network_advice(self) -> &'static str {
        match self {
            Producer::Chrome => "Open DevTools (F12) on the Network panel before loading the page,",
            Producer::Firefox => "Open the Network Monitor (Ctrl+Shift+E) before loading the page,",
            Producer::Safari => "Open Web Inspector's Network tab before loading the page,",
            _ => "Start recording before loading the page,",
        }
    }

    pub fn preserve_log_advice(self) -> String {
        let how = match self {
            Producer::Chrome => "In DevTools' Network panel tick 'Preserve log' (and 'Disable cache')",
            Producer::Firefox => "In the Network Monitor's settings (gear icon) tick 'Persist Logs' (and 'Disable Cache')",
            Producer::Safari => "In Web Inspector's Network tab turn on 'Preserve Log'",
            Producer::Playwright => "Record the whole flow in one browser context (recordHar covers every page of the context)",
            _ => "Turn on 'Preserve log' ('Persist Logs' in Firefox) in the Network panel",
        };
        format!("{how}, start again from the very first page (before signing in), reproduce the problem, then export the HAR again.")
    }

    pub fn sensitive_advice(self) -> String {
        match self {
            Producer::Chrome => "Chrome exports a sanitized HAR by default. In DevTools Settings → Preferences → Network tick 'Allow to generate HAR with sensitive data', export with 'Export HAR (with sensitive data)', and run `hark sanitize` on it before sharing.".into(),
            _ => "Export again including cookies and headers (some tools and browser settings strip them), and run `hark sanitize` on the file before sharing it.".into(),
        }
    }

    pub fn cache_advice(self) -> String {
        let how = match self {
            Producer::Chrome => "tick 'Disable cache' in DevTools' Network panel",
            Producer::Firefox => "tick 'Disable Cache' in the Network Monitor",
            Producer::Safari => "turn on 'Disable Caches' in Web Inspector's Network tab",
            _ => "disable the cache in the Network panel",
        };
        format!("Record again in a fresh private (incognito) window and {how}, so every request reaches the server.")
    }

    pub fn bodies_advice(self) -> String {
        match self {
            Producer::Firefox => "In Firefox set devtools.netmonitor.har.includeResponseBodies to true in about:config (and keep devtools.netmonitor.responseBodyLimit large enough), then use 'Save All As HAR' again.".into(),
            Producer::Chrome => "Export from DevTools' Network panel after the requests have finished (bodies of requests still pending or evicted from memory are left out).".into(),
            _ => "Export again with response content included.".into(),
        }
    }
}
