//! HTTP errors (4xx, 5xx) per endpoint and status, with what their bodies and
//! `WWW-Authenticate` say.

use super::{Context, Findings, Rule};
use crate::util;
use crate::Digest;
use check::Examples;
use har::{EntryView, Json, Severity};
use std::collections::HashMap;

/// Distinct endpoints (per status) tracked; later ones are counted per class.
const MAX_GROUPS: usize = 200;
/// Endpoints described in one finding's detail.
const MAX_SHOWN: usize = 5;

struct ErrGroup {
    endpoint: String,
    status: i64,
    status_text: String,
    body: Option<String>,
    www_auth: Option<String>,
    /// A static asset (script, style, image, font, media, or such a file name).
    asset: bool,
    examples: Examples,
}

impl ErrGroup {
    /// Error: the session broke (a 5xx on a page or an API call; 401/403, refused
    /// credentials). Warning: other 4xx on pages or API calls, 5xx on assets. Note: a
    /// 4xx on an asset (a missing icon or image).
    fn severity(&self) -> Severity {
        match (
            self.status >= 500,
            self.status == 401 || self.status == 403,
            self.asset,
        ) {
            (true, _, false) | (false, true, false) => Severity::Error,
            (true, _, true) | (false, _, false) => Severity::Warning,
            (false, _, true) => Severity::Info,
        }
    }

    /// `endpoint answered status text (n times). Body: …. WWW-Authenticate: ….`
    fn said(&self) -> String {
        let n = self.examples.count;
        let mut detail = format!(
            "{} answered {} {}{}",
            self.endpoint,
            self.status,
            self.status_text,
            if n > 1 {
                format!(" ({n} times)")
            } else {
                String::new()
            }
        );
        let detail_end = detail.trim_end().len();
        detail.truncate(detail_end);
        detail.push('.');
        if let Some(b) = &self.body {
            detail.push_str(&format!(" Body: {b}."));
        }
        if let Some(w) = &self.www_auth {
            detail.push_str(&format!(" WWW-Authenticate: {w}."));
        }
        detail
    }
}

#[derive(Default)]
pub struct HttpErrors {
    groups: Vec<ErrGroup>,
    index: HashMap<(String, i64), usize>,
    /// Past [`MAX_GROUPS`]: the entries of each code and severity.
    overflow: Vec<((&'static str, Severity), Examples)>,
}

impl Rule for HttpErrors {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let e = d.view();
        let resp = e.response();
        let status = resp.status().unwrap_or(0);
        if d.failure.is_some() || status < 400 {
            return;
        }
        let req = e.request();
        let (method, url) = (req.method().unwrap_or("GET"), req.url().unwrap_or(""));
        let ep = util::endpoint(method, d.url.as_ref(), url);
        let key = (ep.clone(), status);
        match self.index.get(&key) {
            Some(&g) => self.groups[g].examples.add(d.index),
            None if self.groups.len() < MAX_GROUPS => {
                let mut examples = Examples::default();
                examples.add(d.index);
                self.index.insert(key, self.groups.len());
                self.groups.push(ErrGroup {
                    endpoint: ep,
                    status,
                    status_text: resp.status_text().unwrap_or("").to_string(),
                    body: body_summary(e),
                    www_auth: resp
                        .headers()
                        .get("www-authenticate")
                        .map(|v| util::clip(v, 200)),
                    asset: is_asset(d),
                    examples,
                });
            }
            None => {
                let code = if status >= 500 {
                    "server-error"
                } else {
                    "client-error"
                };
                let severity = severity(status, is_asset(d));
                match self
                    .overflow
                    .iter_mut()
                    .find(|(k, _)| *k == (code, severity))
                {
                    Some((_, ex)) => ex.add(d.index),
                    None => {
                        let mut ex = Examples::default();
                        ex.add(d.index);
                        self.overflow.push(((code, severity), ex));
                    }
                }
            }
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        let HttpErrors {
            mut groups,
            overflow,
            ..
        } = *self;
        groups.sort_by(|a, b| {
            b.status
                .cmp(&a.status)
                .then(b.examples.count.cmp(&a.examples.count))
        });
        // One finding per code and severity: each failing endpoint is a line of its
        // detail, not a finding of its own.
        let mut buckets: Vec<((&'static str, Severity), Vec<ErrGroup>)> = Vec::new();
        for g in groups {
            let key = (
                if g.status >= 500 {
                    "server-error"
                } else {
                    "client-error"
                },
                g.severity(),
            );
            match buckets.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(g),
                None => buckets.push((key, vec![g])),
            }
        }
        let seen: Vec<(&'static str, Severity)> = buckets.iter().map(|(k, _)| *k).collect();
        for ((code, severity), gs) in buckets {
            let mut examples = Examples::default();
            let mut entries: Vec<usize> = Vec::new();
            let mut count = 0;
            for g in &gs {
                entries.extend(&g.examples.list);
                count += g.examples.count;
            }
            // Endpoints past the cap, of the same code and severity.
            let extra = overflow
                .iter()
                .find(|(k, _)| *k == (code, severity))
                .map(|(_, ex)| ex);
            if let Some(ex) = extra {
                entries.extend(&ex.list);
                count += ex.count;
            }
            entries.sort_unstable();
            for i in entries {
                examples.add(i);
            }
            examples.count = count;
            let first = &gs[0];
            let beyond = extra.map_or(String::new(), |ex| {
                format!(
                    " And {} more answers on endpoints past the first {MAX_GROUPS} tracked.",
                    ex.count
                )
            });
            let (title, detail, advice) = if gs.len() == 1 && extra.is_none() {
                (
                    format!(
                        "{} {} on {}",
                        first.status, first.status_text, first.endpoint
                    )
                    .replace("  ", " "),
                    first.said(),
                    advice(first.status),
                )
            } else {
                let shown: Vec<String> = gs.iter().take(MAX_SHOWN).map(ErrGroup::said).collect();
                let more = if gs.len() > MAX_SHOWN {
                    format!(" And {} more endpoints.", gs.len() - MAX_SHOWN)
                } else {
                    String::new()
                };
                (
                    format!(
                        "{count} {} errors on {} endpoints",
                        if code == "server-error" { "5xx" } else { "4xx" },
                        gs.len()
                    ),
                    format!("{}{more}{beyond}", shown.join(" ")),
                    if gs.iter().all(|g| g.status == first.status) {
                        advice(first.status)
                    } else {
                        "Each answer's status and body say why; run `hark summary` for the errors table."
                    },
                )
            };
            out.add(code, severity, title, detail, advice, examples);
        }
        // Codes and severities seen only past the cap.
        for ((code, severity), ex) in overflow {
            if seen.contains(&(code, severity)) {
                continue;
            }
            let n = ex.count;
            out.add(
                code,
                severity,
                format!("{n} HTTP errors on endpoints past the first {MAX_GROUPS} tracked"),
                "Too many distinct failing endpoints to list each.".into(),
                "Run `hark summary` for the errors table.",
                ex,
            );
        }
    }
}

/// See [`ErrGroup::severity`].
fn severity(status: i64, asset: bool) -> Severity {
    match (status >= 500, status == 401 || status == 403, asset) {
        (true, _, false) | (false, true, false) => Severity::Error,
        (true, _, true) | (false, _, false) => Severity::Warning,
        (false, _, true) => Severity::Info,
    }
}

/// A static asset: by resource type or file name, `/favicon.ico`, or a request that
/// asked for an image, a font or a style sheet (`Accept`), whatever came back.
fn is_asset(d: &Digest) -> bool {
    let url = d.view().request().url().unwrap_or("");
    har::http::is_static(&d.kind, url)
        || d.url.as_ref().is_some_and(|u| u.path() == "/favicon.ico")
        || d.view().request().headers().get("accept").is_some_and(|a| {
            let a = a.trim_start().to_ascii_lowercase();
            a.starts_with("image/") || a.starts_with("font/") || a.starts_with("text/css")
        })
}

/// What to do about an HTTP error status.
fn advice(status: i64) -> &'static str {
    match status {
        401 => "The request was not authenticated: see whether a token or cookie was sent, and whether it had expired (look for jwt-expired).",
        403 => "Authenticated but not allowed: check the user's roles and the token's scopes/audience.",
        404 => "The URL does not exist on the server: a wrong path, a missing deployment or a stale link.",
        408 | 504 => "A timeout between the client and the origin: see the origin's logs and the proxy timeouts.",
        429 => "Rate limited: look at Retry-After and the rate of these calls.",
        s if s >= 500 => "The server failed: find this request in its logs (time, URL) for the cause.",
        _ => "The server rejected the request: the body says why.",
    }
}

/// What an error body says, in a line: the fields of a JSON error, else the first line
/// of text (tags removed), and whether it holds a stack trace.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn errors_are_grouped_by_endpoint_and_status() {
        let ds = [
            digest(0, "https://a.example/api/items/1", 500, &[]),
            digest(1, "https://a.example/api/items/2", 500, &[]),
            digest(
                2,
                "https://a.example/login",
                401,
                &[("WWW-Authenticate", "Bearer")],
            ),
            digest(3, "https://a.example/", 200, &[]),
        ];
        let out = run(HttpErrors::default(), &ds);
        let got: Vec<_> = out.iter().map(|f| (f.code, f.count, f.severity)).collect();
        assert_eq!(
            got,
            [
                ("server-error", 2, Severity::Error),
                ("client-error", 1, Severity::Error)
            ]
        );
        assert!(out[0].title.contains("a.example/api/items/{id}"));
        assert!(out[1].detail.contains("WWW-Authenticate: Bearer."));
    }
}
