//! Findings about the traffic itself: failures, HTTP errors, slow phases, redirects,
//! CORS, mixed content, duplicates, compression, caching, header sizes.

use crate::summary::phases_of;
use crate::util::{self, hash, human_bytes, human_ms, Examples};
use crate::Digest;
use check::Finding;
use har::{EntryView, Json, Severity};
use std::collections::HashMap;

/// Distinct endpoints (per error class) and failure kinds tracked.
const MAX_GROUPS: usize = 200;
/// Findings of one kind shown separately; the rest are folded into the last.
const MAX_FINDINGS_PER_CODE: usize = 20;
pub const MAX_CHAINS: usize = 1000;
const MAX_DUP_KEYS: usize = 50_000;
const MAX_PAGES: usize = 5000;

const SLOW_WAIT: f64 = 1000.0;
const SLOW_RECEIVE: f64 = 1000.0;
const SLOW_DNS: f64 = 300.0;
const SLOW_CONNECT: f64 = 300.0;
const SLOW_TLS: f64 = 300.0;
const SLOW_QUEUE: f64 = 500.0;
const TIMEOUT_MS: f64 = 1000.0;
const LONG_CHAIN: usize = 5;
const UNCOMPRESSED_MIN: i64 = 50 * 1024;
const COOKIE_LIMIT: usize = 4096;
const REQUEST_HEADERS_LIMIT: usize = 8192;

/// How the request relates to the page that made it (for CORS and mixed content).
pub fn page_origin(d: &Digest, pages: &HashMap<String, String>) -> Option<String> {
    if let Some(o) = &d.header_origin {
        return Some(o.clone());
    }
    d.view().pageref().and_then(|p| pages.get(p).cloned())
}

/// Chrome's CORS failures are `net::ERR_FAILED` on a cross-origin request (Firefox and
/// some exports say "CORS" outright).
pub fn is_cors_failure(failure: &str, d: &Digest, origin: Option<&str>) -> bool {
    let f = failure.to_ascii_lowercase();
    if f.contains("cors") || f.contains("access-control") {
        return true;
    }
    if !(f.contains("err_failed") || f.contains("err_blocked_by_response")) {
        return false;
    }
    let Some(origin) = origin else { return false };
    let Some(u) = &d.url else {
        return false;
    };
    u.origin().ascii_serialization() != origin
}

/// Whether a cross-origin request needs a preflight (method or headers beyond the
/// "simple" ones).
pub fn needs_preflight<J: Json>(e: EntryView<'_, J>) -> bool {
    let req = e.request();
    let m = req.method().unwrap_or("GET").to_ascii_uppercase();
    if !matches!(m.as_str(), "GET" | "HEAD" | "POST") {
        return true;
    }
    req.headers().iter().any(|(n, v)| {
        let n = n.to_ascii_lowercase();
        match n.as_str() {
            "accept" | "accept-language" | "content-language" | "range" => false,
            "content-type" => {
                let v = v.to_ascii_lowercase();
                !(v.starts_with("application/x-www-form-urlencoded")
                    || v.starts_with("multipart/form-data")
                    || v.starts_with("text/plain"))
            }
            // Headers the browser adds itself.
            _ if n.starts_with("sec-") || n.starts_with(':') => false,
            "referer" | "user-agent" | "origin" | "host" | "connection" | "cookie"
            | "accept-encoding" | "content-length" | "pragma" | "cache-control" | "dnt" => false,
            _ => true,
        }
    })
}

struct ErrGroup {
    endpoint: String,
    status: i64,
    status_text: String,
    body: Option<String>,
    www_auth: Option<String>,
    examples: Examples,
}

struct Chain {
    entries: Vec<usize>,
    hops: usize,
    start: String,
    paths: Vec<(u64, u32)>,
    alive: bool,
}

impl Chain {
    fn dead() -> Chain {
        Chain {
            entries: Vec::new(),
            hops: 0,
            start: String::new(),
            paths: Vec::new(),
            alive: false,
        }
    }
}

#[derive(Default)]
struct Slow {
    examples: Examples,
    worst: Option<(usize, f64, String)>,
}

#[derive(Default)]
pub struct Network {
    pages: HashMap<String, String>,
    failures: Vec<(String, Examples, String)>,
    timeouts: Examples,
    timeout_example: Option<String>,
    aborted: Examples,
    blocked: Examples,
    blocked_example: Option<String>,
    cors: Examples,
    cors_example: Option<String>,
    preflight: Examples,
    preflight_example: Option<String>,
    http: Vec<ErrGroup>,
    http_index: HashMap<(String, i64), usize>,
    http_overflow: [Examples; 2],
    slow: [Slow; 6],
    slow_other: Slow,
    chains: Vec<Chain>,
    alive_chains: usize,
    chains_forgotten: usize,
    pending: HashMap<u64, usize>,
    loops: Vec<Finding>,
    long_chains: Examples,
    long_example: Option<String>,
    mixed: Examples,
    mixed_example: Option<String>,
    dup: HashMap<u64, (f64, usize)>,
    dup_cleared: bool,
    pages_capped: bool,
    dups: Examples,
    dup_example: Option<String>,
    uncompressed: Examples,
    uncompressed_bytes: i64,
    uncompressed_example: Option<String>,
    no_cache: Examples,
    no_cache_example: Option<String>,
    big_cookie: Examples,
    big_cookie_example: Option<String>,
    big_headers: Examples,
    big_headers_example: Option<String>,
}

const SLOW_NAMES: [&str; 6] = ["wait", "receive", "dns", "connect", "ssl", "blocked"];

fn body_summary<J: Json>(e: EntryView<'_, J>) -> Option<String> {
    let text = util::body_text(e, 64 * 1024)?;
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.starts_with('{') {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(t) {
            let pick = |k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let mut parts = Vec::new();
            for k in [
                "error",
                "error_description",
                "message",
                "title",
                "detail",
                "code",
            ] {
                if let Some(v) = pick(k) {
                    parts.push(format!("{k}: {v}"));
                }
            }
            if let Some(serde_json::Value::Object(err)) = m.get("error") {
                if let Some(msg) = err.get("message").and_then(|v| v.as_str()) {
                    parts.push(format!("error.message: {msg}"));
                }
            }
            if !parts.is_empty() {
                return Some(util::clip(&parts.join("; "), 240));
            }
        }
    }
    let lower = t.to_ascii_lowercase();
    let stack = t
        .lines()
        .filter(|l| l.trim_start().starts_with("at "))
        .count()
        >= 2
        || lower.contains("traceback (most recent call last)")
        || lower.contains("exception in thread")
        || (lower.contains("exception") && lower.contains("stack"));
    // First meaningful line of text, tags removed.
    let mut plain = String::new();
    let mut in_tag = false;
    // In HTML, what the page shows (not the head's title).
    let shown_part = match lower.find("<body") {
        Some(k) => &t[k..],
        None => t,
    };
    for c in shown_part.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
        if plain.len() > 4096 {
            break;
        }
    }
    let line = plain
        .lines()
        .map(str::trim)
        .find(|l| l.len() > 3 && !l.starts_with("<!") && !l.contains('{'))
        .unwrap_or("");
    let mut s = util::clip(&line.split_whitespace().collect::<Vec<_>>().join(" "), 200);
    if stack {
        s.push_str(" [the body holds a stack trace: internals are exposed to the client]");
    }
    (!s.trim().is_empty()).then_some(s)
}

fn has_cache_validator<J: Json>(e: EntryView<'_, J>) -> bool {
    let h = e.response().headers();
    let cc = h.get_all("cache-control").collect::<Vec<_>>().join(",");
    let cc = cc.to_ascii_lowercase();
    if cc.contains("no-store") || cc.contains("no-cache") {
        return false;
    }
    let max_age = cc
        .split(',')
        .filter_map(|d| {
            d.trim()
                .strip_prefix("max-age=")
                .or_else(|| d.trim().strip_prefix("s-maxage="))
        })
        .filter_map(|v| v.trim_matches('"').parse::<i64>().ok())
        .max();
    max_age.is_some_and(|a| a > 0)
        || cc.contains("immutable")
        || h.contains("expires")
        || h.contains("etag")
        || h.contains("last-modified")
}

impl Network {
    pub fn origins(&self) -> &HashMap<String, String> {
        &self.pages
    }

    pub fn entry(&mut self, d: &Digest) {
        let e = d.view();
        let i = d.index;
        let req = e.request();
        let resp = e.response();
        let url = req.url().unwrap_or("");
        let method = req.method().unwrap_or("GET");
        let parsed = d.url.as_ref();
        let status = resp.status().unwrap_or(0);
        let kind = d.kind.as_str();
        let cached = d.cached;
        let time = e.time().unwrap_or(0.0);
        let shown = || format!("{method} {}", check::redact_query(url));

        // The page's origin, for the requests that follow.
        let origin = page_origin(d, &self.pages);
        if kind == "document" {
            if let (Some(p), Some(u)) = (e.pageref(), parsed) {
                if self.pages.len() < MAX_PAGES || self.pages.contains_key(p) {
                    self.pages
                        .insert(p.to_string(), u.origin().ascii_serialization());
                } else {
                    self.pages_capped = true;
                }
            }
        }

        // Redirect chains (also the end of one: a failure like ERR_TOO_MANY_REDIRECTS).
        self.redirects(d, url, parsed, status);

        let failure = d.failure.clone();
        if let Some(f) = &failure {
            let fl = f.to_ascii_lowercase();
            if fl.contains("too_many_redirects") {
                // Reported with the redirect chain.
            } else if is_cors_failure(f, d, origin.as_deref()) {
                let pre = d.needs_preflight;
                let target = parsed
                    .map(|u| u.origin().ascii_serialization())
                    .unwrap_or_default();
                let ex = format!(
                    "{} from a page on {} to {target}: {f}",
                    shown(),
                    origin.as_deref().unwrap_or("another origin")
                );
                if pre {
                    self.preflight.add(i);
                    self.preflight_example.get_or_insert(ex);
                } else {
                    self.cors.add(i);
                    self.cors_example.get_or_insert(ex);
                }
            } else if fl.contains("timed_out") || fl.contains("timeout") {
                self.timeouts.add(i);
                self.timeout_example.get_or_insert(format!(
                    "{} failed with {f} after {}",
                    shown(),
                    human_ms(time)
                ));
            } else if fl.contains("aborted") || fl.contains("canceled") || fl.contains("cancelled")
            {
                if time >= TIMEOUT_MS {
                    self.timeouts.add(i);
                    self.timeout_example.get_or_insert(format!(
                        "{} got no answer and was abandoned ({f}) after {}",
                        shown(),
                        human_ms(time)
                    ));
                } else {
                    self.aborted.add(i);
                }
            } else if fl.contains("blocked") {
                self.blocked.add(i);
                self.blocked_example
                    .get_or_insert(format!("{}: {f}", shown()));
            } else {
                let key = f.clone();
                match self.failures.iter().position(|(k, _, _)| *k == key) {
                    Some(k) => self.failures[k].1.add(i),
                    None if self.failures.len() < MAX_GROUPS => {
                        let mut ex = Examples::default();
                        ex.add(i);
                        self.failures.push((key, ex, shown()));
                    }
                    None => {
                        if let Some((_, ex, _)) = self.failures.last_mut() {
                            ex.add(i);
                        }
                    }
                }
            }
        } else if status >= 400 {
            let ep = util::endpoint(method, parsed, url);
            let key = (ep.clone(), status);
            match self.http_index.get(&key) {
                Some(&g) => self.http[g].examples.add(i),
                None if self.http.len() < MAX_GROUPS => {
                    let mut examples = Examples::default();
                    examples.add(i);
                    self.http_index.insert(key, self.http.len());
                    self.http.push(ErrGroup {
                        endpoint: ep,
                        status,
                        status_text: resp.status_text().unwrap_or("").to_string(),
                        body: body_summary(e),
                        www_auth: resp
                            .headers()
                            .get("www-authenticate")
                            .map(|v| util::clip(v, 200)),
                        examples,
                    });
                }
                None => self.http_overflow[usize::from(status < 500)].add(i),
            }
        }

        // A preflight that failed, as recorded (Chrome's own export has them).
        if method.eq_ignore_ascii_case("OPTIONS")
            && req.headers().contains("access-control-request-method")
            && status > 0
        {
            let ok = (200..300).contains(&status)
                && resp.headers().contains("access-control-allow-origin");
            if !ok {
                self.preflight.add(i);
                self.preflight_example.get_or_insert(format!(
                    "{} answered {status} {}",
                    shown(),
                    if resp.headers().contains("access-control-allow-origin") {
                        ""
                    } else {
                        "without Access-Control-Allow-Origin"
                    }
                ));
            }
        }
        // A cross-origin answer the browser will not hand to the page.
        if status > 0 && failure.is_none() && !method.eq_ignore_ascii_case("OPTIONS") {
            if let (Some(o), Some(u)) = (req.headers().get("origin"), parsed) {
                let mode = req.headers().get("sec-fetch-mode").unwrap_or("cors");
                if o != "null" && mode == "cors" && u.origin().ascii_serialization() != o {
                    let acao = resp.headers().get("access-control-allow-origin");
                    if !acao.is_some_and(|a| a == "*" || a == o) {
                        self.cors.add(i);
                        self.cors_example.get_or_insert(format!(
                            "{} from {o}: the response has {}",
                            shown(),
                            match acao {
                                Some(a) => format!("Access-Control-Allow-Origin: {a}"),
                                None => "no Access-Control-Allow-Origin".into(),
                            }
                        ));
                    }
                }
            }
        }

        // Slow phases.
        if status > 0 && failure.is_none() && !cached {
            let p = phases_of(e);
            let connect = match (p.connect, p.ssl) {
                (Some(c), Some(s)) if s <= c => Some(c - s),
                (c, _) => c,
            };
            let vals = [p.wait, p.receive, p.dns, connect, p.ssl, p.blocked];
            let limits = [
                SLOW_WAIT,
                SLOW_RECEIVE,
                SLOW_DNS,
                SLOW_CONNECT,
                SLOW_TLS,
                SLOW_QUEUE,
            ];
            let worst = (0..6)
                .filter(|k| vals[*k].is_some_and(|v| v >= limits[*k]))
                .max_by(|a, b| {
                    (vals[*a].unwrap_or(0.0) / limits[*a])
                        .total_cmp(&(vals[*b].unwrap_or(0.0) / limits[*b]))
                });
            if let Some(k) = worst {
                let v = vals[k].unwrap_or(0.0);
                let s = &mut self.slow[k];
                s.examples.add(i);
                if s.worst.as_ref().is_none_or(|(_, w, _)| v > *w) {
                    s.worst = Some((i, v, shown()));
                }
            } else if time >= 3000.0 && p.wait.is_none() {
                self.slow_other.examples.add(i);
                if self
                    .slow_other
                    .worst
                    .as_ref()
                    .is_none_or(|(_, w, _)| time > *w)
                {
                    self.slow_other.worst = Some((i, time, shown()));
                }
            }
        }

        // Mixed content: an http:// request from an https:// page.
        if let (Some(u), Some(o)) = (parsed, &origin) {
            if u.scheme() == "http"
                && o.starts_with("https://")
                && !u.host_str().is_some_and(util::is_loopback)
            {
                self.mixed.add(i);
                self.mixed_example
                    .get_or_insert(format!("{} from a page on {o}", shown()));
            }
        }

        // Duplicates: the same request fired again within a second, same page.
        if status > 0 && !cached && !har::http::is_static(kind, url) {
            let key = d.dup_key;
            if let Some(start) = d.started_ms {
                match self.dup.get_mut(&key) {
                    Some((last, first)) => {
                        if start - *last < 1000.0 && start >= *last {
                            self.dups.add(*first);
                            self.dups.add(i);
                            self.dup_example.get_or_insert(format!(
                                "{} (entries {first} and {i}, {} apart)",
                                shown(),
                                human_ms(start - *last)
                            ));
                        }
                        *last = start;
                        *first = i;
                    }
                    None => {
                        if self.dup.len() >= MAX_DUP_KEYS {
                            // Only requests of the last second can be duplicated.
                            self.dup.retain(|_, (last, _)| *last > start - 1000.0);
                            if self.dup.len() >= MAX_DUP_KEYS {
                                self.dup.clear();
                                self.dup_cleared = true;
                            }
                        }
                        self.dup.insert(key, (start, i));
                    }
                }
            }
        }

        // Large text sent uncompressed.
        if status == 200 && !cached {
            let c = resp.content();
            let size = c.size().unwrap_or(0);
            let mime = c.mime_type().unwrap_or("");
            if size >= UNCOMPRESSED_MIN
                && har::http::is_textual(mime)
                && resp
                    .headers()
                    .get("content-encoding")
                    .is_none_or(|v| v.eq_ignore_ascii_case("identity"))
                && resp
                    .transfer_size()
                    .is_none_or(|t| t as f64 >= size as f64 * 0.9)
            {
                self.uncompressed.add(i);
                self.uncompressed_bytes += size;
                self.uncompressed_example.get_or_insert(format!(
                    "{} ({}, {mime})",
                    shown(),
                    human_bytes(size)
                ));
            }
            // Static assets without any caching.
            if har::http::is_static(kind, url) && !has_cache_validator(e) {
                self.no_cache.add(i);
                self.no_cache_example.get_or_insert(shown());
            }
        }

        // Oversized cookies and headers.
        let cookie_len = req.headers().get_all("cookie").map(str::len).sum::<usize>();
        let set_cookie_max = resp
            .headers()
            .get_all("set-cookie")
            .map(str::len)
            .max()
            .unwrap_or(0);
        if cookie_len > COOKIE_LIMIT || set_cookie_max > COOKIE_LIMIT {
            self.big_cookie.add(i);
            self.big_cookie_example
                .get_or_insert(if cookie_len > COOKIE_LIMIT {
                    format!(
                        "{}: Cookie header of {}",
                        shown(),
                        human_bytes(cookie_len as i64)
                    )
                } else {
                    format!(
                        "{}: a Set-Cookie of {}",
                        shown(),
                        human_bytes(set_cookie_max as i64)
                    )
                });
        }
        let head = d.request_headers_len;
        if head > REQUEST_HEADERS_LIMIT {
            self.big_headers.add(i);
            self.big_headers_example.get_or_insert(format!(
                "{}: {} of request headers",
                shown(),
                human_bytes(head as i64)
            ));
        }
    }

    fn redirects(&mut self, d: &Digest, url: &str, parsed: Option<&url::Url>, status: i64) {
        let e = d.view();
        let i = d.index;
        let here = hash(url.split('#').next().unwrap_or(url));
        let chain = self.pending.remove(&here);
        let target = if (300..400).contains(&status) && status != 304 {
            let loc = e
                .response()
                .redirect_url()
                .filter(|s| !s.is_empty())
                .or_else(|| e.response().headers().get("location"));
            loc.and_then(|l| match parsed {
                Some(b) => b.join(l).ok().map(|u| u.to_string()),
                None => Some(l.to_string()),
            })
        } else {
            None
        };
        let path_hash = parsed.map(|u| hash(u.path())).unwrap_or(here);
        let c = match chain {
            Some(c) => c,
            None if target.is_some() => {
                if self.alive_chains >= MAX_CHAINS {
                    // Forget the oldest open chain.
                    if let Some(k) = self.chains.iter().position(|c| c.alive) {
                        let old = std::mem::replace(&mut self.chains[k], Chain::dead());
                        self.alive_chains -= 1;
                        self.chains_forgotten += 1;
                        self.pending.retain(|_, v| *v != k);
                        self.close(old, None);
                    }
                    self.compact_chains();
                }
                self.alive_chains += 1;
                self.chains.push(Chain {
                    entries: Vec::new(),
                    hops: 0,
                    start: format!(
                        "{} {}",
                        e.request().method().unwrap_or("GET"),
                        check::redact_query(url)
                    ),
                    paths: Vec::new(),
                    alive: true,
                });
                self.chains.len() - 1
            }
            None => return,
        };
        let ch = &mut self.chains[c];
        if ch.entries.len() < check::MAX_LISTED {
            ch.entries.push(i);
        }
        ch.hops += 1;
        match ch.paths.iter().position(|(h, _)| *h == path_hash) {
            Some(k) => ch.paths[k].1 += 1,
            None if ch.paths.len() < 64 => ch.paths.push((path_hash, 1)),
            None => {}
        }
        match target {
            Some(t) => {
                let key = hash(t.split('#').next().unwrap_or(&t));
                self.pending.insert(key, c);
            }
            None => {
                let ch = std::mem::replace(&mut self.chains[c], Chain::dead());
                self.alive_chains -= 1;
                self.close(ch, d.failure.clone());
                // Drop finished chains from the end to keep the vector short.
                while self.chains.last().is_some_and(|c| !c.alive) {
                    self.chains.pop();
                }
                self.compact_chains();
            }
        }
    }

    /// Finished chains left between open ones are removed once they outnumber them
    /// (the pending targets are renumbered), so the vector stays within 2 × the open
    /// chains (≤ [`MAX_CHAINS`]) + 64.
    fn compact_chains(&mut self) {
        if self.chains.len() <= 2 * self.alive_chains + 64 {
            return;
        }
        let mut at = vec![usize::MAX; self.chains.len()];
        let mut kept = Vec::with_capacity(self.alive_chains);
        for (k, c) in std::mem::take(&mut self.chains).into_iter().enumerate() {
            if c.alive {
                at[k] = kept.len();
                kept.push(c);
            }
        }
        self.chains = kept;
        self.pending.retain(|_, v| {
            *v = at[*v];
            *v != usize::MAX
        });
    }

    /// The limits reached, in words.
    pub fn caps(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.chains_forgotten > 0 {
            out.push(format!(
                "redirect chains: more than {MAX_CHAINS} open at once; the {} oldest were closed early",
                self.chains_forgotten
            ));
        }
        if self.dup_cleared {
            out.push(format!(
                "duplicate requests: more than {MAX_DUP_KEYS} distinct requests within a second; earlier ones forgotten"
            ));
        }
        if self.pages_capped {
            out.push(format!(
                "page origins: only the first {MAX_PAGES} pages are tracked"
            ));
        }
        out
    }

    fn close(&mut self, ch: Chain, end: Option<String>) {
        let redirects = ch.hops.saturating_sub(1);
        let too_many = end
            .as_deref()
            .is_some_and(|f| f.to_ascii_lowercase().contains("too_many_redirects"));
        let repeated = ch.paths.iter().map(|(_, n)| *n).max().unwrap_or(0);
        if too_many || (repeated >= 3 && redirects >= 3) {
            if self.loops.len() < MAX_FINDINGS_PER_CODE {
                let why = if too_many {
                    format!(
                        "the browser gave up with {} after {redirects} redirects",
                        end.unwrap_or_default()
                    )
                } else {
                    format!("{redirects} redirects, the same path visited {repeated} times")
                };
                self.loops.push(Finding {
                    code: "redirect-loop",
                    severity: Severity::Error,
                    title: "Redirect loop".into(),
                    detail: format!("Starting at {}: {why}.", ch.start),
                    advice: "Look at each Location header in the chain: a session or cookie that is \
                             not kept (check the Set-Cookie of each hop), a login that redirects back \
                             to itself, or a proxy/HTTPS rewrite that undoes the previous hop."
                        .into(),
                    count: ch.hops,
                    entries: ch.entries,
                });
            }
        } else if redirects >= LONG_CHAIN {
            for i in &ch.entries {
                self.long_chains.add(*i);
            }
            self.long_example
                .get_or_insert(format!("{} ({redirects} redirects)", ch.start));
        }
    }

    pub fn finish(mut self) -> Vec<Finding> {
        let open: Vec<Chain> = self.chains.drain(..).filter(|c| c.alive).collect();
        for c in open {
            self.close(c, None);
        }
        let mut out = Vec::new();
        // Failed requests.
        for (kind, ex, first) in std::mem::take(&mut self.failures) {
            let n = ex.count;
            add(
                &mut out,
                "request-failed",
                Severity::Error,
                format!("{n} request{} failed: {kind}", if n == 1 { "" } else { "s" }),
                format!("No response was received, e.g. {first}."),
                match kind.as_str() {
                    k if k.contains("CONNECTION_REFUSED") => {
                        "Nothing listens at that host and port: is the service down, or the URL (port) wrong for this environment?"
                    }
                    k if k.contains("NAME_NOT_RESOLVED") => "The host name does not resolve: check the URL and DNS.",
                    k if k.contains("CERT") || k.contains("SSL") => "The TLS handshake failed: check the server certificate (name, expiry, chain).",
                    k if k.contains("INTERNET_DISCONNECTED") || k.contains("NETWORK_CHANGED") => "The client lost its network connection.",
                    _ => "Look at the request in the browser's console for the reason; retry with the network panel open.",
                },
                ex,
            );
        }
        let n = self.timeouts.count;
        add(
            &mut out,
            "timeout",
            Severity::Error,
            format!("{n} request{} timed out", if n == 1 { "" } else { "s" }),
            format!("{}.", self.timeout_example.unwrap_or_default()),
            "The server did not answer in time: look at its logs for this request (a hung worker, a \
             slow query, a lock), and at any proxy or load balancer timeout in between.",
            self.timeouts,
        );
        add(
            &mut out,
            "cors-blocked",
            Severity::Error,
            "Cross-origin request blocked by CORS".into(),
            format!(
                "{}. The browser refused to give the response to the page.",
                self.cors_example.unwrap_or_default()
            ),
            "The server at the target origin must answer with Access-Control-Allow-Origin naming the \
             page's origin (and Access-Control-Allow-Credentials: true if cookies are sent).",
            self.cors,
        );
        add(
            &mut out,
            "cors-preflight-failed",
            Severity::Error,
            "CORS preflight failed".into(),
            format!(
                "{}. The request needs a preflight (its method or headers, e.g. Authorization or a \
                 JSON Content-Type, are not \"simple\"), and the OPTIONS preflight was refused, so \
                 the request itself was never sent.",
                self.preflight_example.unwrap_or_default()
            ),
            "Make the target answer OPTIONS with 2xx, Access-Control-Allow-Origin, \
             Access-Control-Allow-Methods and Access-Control-Allow-Headers listing the headers the \
             page sends (e.g. Authorization, Content-Type).",
            self.preflight,
        );
        add(
            &mut out,
            "request-blocked",
            Severity::Warning,
            "Requests blocked by the browser or an extension".into(),
            format!("{}.", self.blocked_example.unwrap_or_default()),
            "An ad blocker, privacy extension, CSP or Cross-Origin-Resource-Policy blocked these: retry \
             in a clean profile, and check the console.",
            self.blocked,
        );
        let n = self.aborted.count;
        add(
            &mut out,
            "request-aborted",
            Severity::Info,
            format!(
                "{n} request{} cancelled by the page",
                if n == 1 { "" } else { "s" }
            ),
            "Requests cancelled quickly, usually because the page navigated away or the script \
             aborted them."
                .into(),
            "Usually harmless; if a needed request is among them, see what cancelled it.",
            self.aborted,
        );
        // HTTP errors, per endpoint and status.
        self.http.sort_by(|a, b| {
            b.status
                .cmp(&a.status)
                .then(b.examples.count.cmp(&a.examples.count))
        });
        for (k, g) in self.http.into_iter().enumerate() {
            if k >= 2 * MAX_FINDINGS_PER_CODE {
                break;
            }
            let server = g.status >= 500;
            let n = g.examples.count;
            let mut detail = format!(
                "{} answered {} {}{}.",
                g.endpoint,
                g.status,
                g.status_text,
                if n > 1 {
                    format!(" ({n} times)")
                } else {
                    String::new()
                }
            );
            if let Some(b) = &g.body {
                detail.push_str(&format!(" Body: {b}."));
            }
            if let Some(w) = &g.www_auth {
                detail.push_str(&format!(" WWW-Authenticate: {w}."));
            }
            let advice = match g.status {
                401 => "The request was not authenticated: see whether a token or cookie was sent, and whether it had expired (look for jwt-expired).",
                403 => "Authenticated but not allowed: check the user's roles and the token's scopes/audience.",
                404 => "The URL does not exist on the server: a wrong path, a missing deployment or a stale link.",
                408 | 504 => "A timeout between the client and the origin: see the origin's logs and the proxy timeouts.",
                429 => "Rate limited: look at Retry-After and the rate of these calls.",
                s if s >= 500 => "The server failed: find this request in its logs (time, URL) for the cause.",
                _ => "The server rejected the request: the body says why.",
            };
            out.push(Finding {
                code: if server {
                    "server-error"
                } else {
                    "client-error"
                },
                severity: if server || g.status == 401 || g.status == 403 {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                title: format!("{} {} on {}", g.status, g.status_text, g.endpoint),
                detail,
                advice: advice.into(),
                entries: g.examples.list,
                count: n,
            });
        }
        for (k, ex) in self.http_overflow.into_iter().enumerate() {
            let n = ex.count;
            if n > 0 {
                out.push(Finding {
                    code: if k == 0 {
                        "server-error"
                    } else {
                        "client-error"
                    },
                    severity: Severity::Warning,
                    title: format!("{n} more HTTP errors on other endpoints"),
                    detail: "Too many distinct failing endpoints to list each.".into(),
                    advice: "Run `hark summary` for the errors table.".into(),
                    entries: ex.list,
                    count: n,
                });
            }
        }
        // Slow phases.
        let texts = [
            ("slow-server", "Slow server response (waiting for the first byte)", "The server took long to start answering: profile that endpoint (database, upstream calls, cold starts)."),
            ("slow-download", "Slow download", "The response took long to arrive: make it smaller (compression, pagination) or look at the bandwidth."),
            ("slow-dns", "Slow DNS lookup", "Name resolution is slow: check the resolver, or preconnect / dns-prefetch the host."),
            ("slow-connect", "Slow TCP connection", "Connecting is slow: server far away or overloaded; reuse connections (keep-alive, HTTP/2)."),
            ("slow-tls", "Slow TLS handshake", "The TLS handshake is slow: check OCSP stapling, the certificate chain size, and session resumption."),
            ("queued", "Requests queued before they were sent", "Requests waited for a free connection (browsers open 6 per host on HTTP/1.1): serve over HTTP/2 or make fewer requests."),
        ];
        for (k, s) in std::mem::take(&mut self.slow).into_iter().enumerate() {
            let (code, title, advice) = texts[k];
            let n = s.examples.count;
            if let Some((wi, wv, ws)) = s.worst {
                add(
                    &mut out,
                    code,
                    Severity::Warning,
                    format!("{title}: {n} request{}", if n == 1 { "" } else { "s" }),
                    format!(
                        "The worst: {ws} (entry {wi}) spent {} in `{}`.",
                        human_ms(wv),
                        SLOW_NAMES[k]
                    ),
                    advice,
                    s.examples,
                );
            }
        }
        if let Some((wi, wv, ws)) = self.slow_other.worst {
            add(
                &mut out,
                "slow-request",
                Severity::Info,
                "Slow requests without timing details".into(),
                format!("The worst: {ws} (entry {wi}) took {}.", human_ms(wv)),
                "The producer did not record the phases; re-record with Chrome to see where the time goes.",
                self.slow_other.examples,
            );
        }
        out.extend(std::mem::take(&mut self.loops));
        add(
            &mut out,
            "long-redirect-chain",
            Severity::Warning,
            "Long redirect chain".into(),
            format!("{}.", self.long_example.unwrap_or_default()),
            "Each redirect costs a round trip: link to the final URL directly.",
            self.long_chains,
        );
        add(
            &mut out,
            "mixed-content",
            Severity::Warning,
            "Mixed content: http:// requests from an https:// page".into(),
            format!(
                "{}. Browsers block or upgrade these.",
                self.mixed_example.unwrap_or_default()
            ),
            "Load every resource over https://.",
            self.mixed,
        );
        add(
            &mut out,
            "duplicate-request",
            Severity::Info,
            "The same request sent twice within a second".into(),
            format!("{}.", self.dup_example.unwrap_or_default()),
            "A double-fired handler or a retry: make the call once (or make it idempotent).",
            self.dups,
        );
        add(
            &mut out,
            "uncompressed-text",
            Severity::Info,
            "Large text responses sent uncompressed".into(),
            format!(
                "{} of text without Content-Encoding, e.g. {}.",
                human_bytes(self.uncompressed_bytes),
                self.uncompressed_example.unwrap_or_default()
            ),
            "Enable gzip or brotli for text types (HTML, JSON, JS, CSS, SVG) on the server or CDN.",
            self.uncompressed,
        );
        add(
            &mut out,
            "static-no-cache",
            Severity::Info,
            "Static assets without caching headers".into(),
            format!(
                "e.g. {}: no Cache-Control max-age, Expires, ETag or Last-Modified (or no-store).",
                self.no_cache_example.unwrap_or_default()
            ),
            "Serve versioned assets with Cache-Control: public, max-age=31536000, immutable, and others with an ETag.",
            self.no_cache,
        );
        add(
            &mut out,
            "oversized-cookie",
            Severity::Warning,
            "Oversized cookies".into(),
            format!(
                "{}. Browsers drop a cookie over 4096 bytes and servers reject large Cookie headers (400 / 431).",
                self.big_cookie_example.unwrap_or_default()
            ),
            "Keep session cookies small (an id, not the claims); clear stale chunked cookies.",
            self.big_cookie,
        );
        add(
            &mut out,
            "large-headers",
            Severity::Warning,
            "Very large request headers".into(),
            format!(
                "{}. Many servers and proxies refuse more than 8 KiB (400 or 431 Request Header Fields Too Large).",
                self.big_headers_example.unwrap_or_default()
            ),
            "Look for huge cookies or tokens in headers.",
            self.big_headers,
        );
        out
    }
}

fn add(
    out: &mut Vec<Finding>,
    code: &'static str,
    severity: Severity,
    title: String,
    detail: String,
    advice: &str,
    ex: Examples,
) {
    if !ex.is_empty() {
        out.push(Finding {
            code,
            severity,
            title,
            detail,
            advice: advice.into(),
            entries: ex.list,
            count: ex.count,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::digest;

    #[test]
    fn finished_chains_do_not_pile_up_behind_an_open_one() {
        let mut n = Network::default();
        // A chain that never ends, then many that do.
        n.entry(&digest(
            0,
            "https://a.example/open",
            302,
            &[("Location", "/never")],
        ));
        let mut i = 1;
        for k in 0..1000 {
            let to = format!("https://a.example/end{k}");
            n.entry(&digest(
                i,
                &format!("https://a.example/start{k}"),
                302,
                &[("Location", &to)],
            ));
            n.entry(&digest(i + 1, &to, 200, &[]));
            i += 2;
        }
        assert_eq!(n.alive_chains, 1);
        assert!(n.chains.len() <= 2 + 64, "{}", n.chains.len());
        // The open chain is still followed after compaction.
        n.entry(&digest(i, "https://a.example/never", 200, &[]));
        assert_eq!(n.alive_chains, 0);
        assert!(n.caps().is_empty());
    }
}
