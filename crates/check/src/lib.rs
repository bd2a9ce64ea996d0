//! `hark check`'s quality lint: can this HAR serve its purpose? Validation (is it HAR
//! 1.2?) lives in `har::validate`; this crate looks at the file as a whole, the way a
//! support engineer would: was the log preserved across the login, were cookies and
//! auth headers stripped at export, was it served from cache, are bodies missing, are
//! the timings possible, are entries in order.
//!
//! It is a fold: [`Linter::entry`] sees each entry once, in file order, and keeps only
//! counters, a few examples and 8-byte hashes of URLs; [`Linter::finish`] gives the
//! findings.

use har::{Entry, EntryView, Header, Json, Severity};
use serde::Serialize;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

mod groups;
mod producer;
pub use groups::{generic_path, Group, Groups};
pub use producer::Producer;

/// How many entry indexes a finding lists (the count says how many there were).
pub const MAX_LISTED: usize = 20;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `log-not-preserved`.
    pub code: &'static str,
    pub severity: Severity,
    /// One line saying what is wrong.
    pub title: String,
    /// The evidence, in words.
    pub detail: String,
    /// What to do about it.
    pub advice: String,
    /// The first entries concerned (at most [`MAX_LISTED`]).
    pub entries: Vec<usize>,
    /// How many entries are concerned in all.
    pub count: usize,
}

#[derive(Default)]
struct Examples {
    list: Vec<usize>,
    count: usize,
}

impl Examples {
    fn add(&mut self, i: usize) {
        self.count += 1;
        if self.list.len() < MAX_LISTED {
            self.list.push(i);
        }
    }
}

fn hash_url(u: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let u = u.split('#').next().unwrap_or(u);
    u.hash(&mut h);
    h.finish()
}

/// A URL shown in a finding without its query values, which may be secrets.
pub fn redact_query(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut parsed) => {
            let names: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
            if names.is_empty() {
                parsed.set_fragment(None);
                return parsed.to_string();
            }
            let q = names
                .iter()
                .map(|k| format!("{k}=…"))
                .collect::<Vec<_>>()
                .join("&");
            parsed.set_query(None);
            parsed.set_fragment(None);
            format!("{parsed}?{q}")
        }
        Err(_) => u.split('?').next().unwrap_or(u).to_string(),
    }
}

fn query_names<J: Json>(e: EntryView<'_, J>) -> Vec<String> {
    let req = e.request();
    let mut names: Vec<String> = req
        .query_string()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    if names.is_empty() {
        if let Some(Ok(u)) = req.url().map(url::Url::parse) {
            names = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
        }
    }
    names
}

fn form_names<J: Json>(e: EntryView<'_, J>) -> Vec<String> {
    let Some(pd) = e.request().post_data() else {
        return Vec::new();
    };
    let mut names: Vec<String> = pd.params().iter().map(|(n, _)| n.to_string()).collect();
    if names.is_empty()
        && pd
            .mime_type()
            .is_some_and(|m| m.contains("x-www-form-urlencoded"))
    {
        if let Some(t) = pd.text() {
            names = url::form_urlencoded::parse(t.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect();
        }
    }
    names
}

fn has(names: &[String], n: &str) -> bool {
    names.iter().any(|x| x == n)
}

/// Whether an entry is a top-level page load.
pub fn is_document(e: &Entry) -> bool {
    is_document_view(e.view())
}

/// [`is_document`] for either tree.
pub fn is_document_view<J: Json>(e: EntryView<'_, J>) -> bool {
    if let Some(t) = e.resource_type() {
        return t == "document";
    }
    let req = e.request();
    if req
        .headers()
        .get("sec-fetch-dest")
        .is_some_and(|d| d.eq_ignore_ascii_case("document"))
    {
        return true;
    }
    req.method() == Some("GET")
        && (req
            .headers()
            .get("accept")
            .is_some_and(|a| a.starts_with("text/html"))
            || e.response()
                .content()
                .mime_type()
                .is_some_and(|m| m.starts_with("text/html")))
}

/// Served from a cache rather than the network, as each browser marks it.
pub fn from_cache(e: &Entry) -> bool {
    from_cache_view(e.view())
}

/// [`from_cache`] for either tree.
pub fn from_cache_view<J: Json>(e: EntryView<'_, J>) -> bool {
    let f = e.fields();
    if f.get("_fromCache")
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()) || v.as_bool() == Some(true))
    {
        return true;
    }
    if f.str("_fetchType")
        .is_some_and(|t| t.to_ascii_lowercase().contains("cache"))
    {
        return true;
    }
    e.response().status() == Some(304)
}

/// What the lint needs to know of one entry: small, computed on any thread, folded in
/// file order by [`Linter::add`].
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub index: usize,
    cookie_or_auth: bool,
    authish: bool,
    /// A sign-in callback, shown as `METHOD url-without-query-values`.
    callback: Option<String>,
    authorize: bool,
    /// A page load: its URL and Referer.
    document: Option<(String, Option<String>)>,
    cached: bool,
    cached_important: bool,
    body_eligible: bool,
    body_missing: bool,
    body_comment: bool,
    timing: TimingFact,
    zero_time: bool,
    started_ms: Option<f64>,
}

#[derive(Clone, Debug, Default)]
enum TimingFact {
    #[default]
    Fine,
    SslOutside,
    Impossible(String),
}

impl Facts {
    pub fn of(e: &Entry, producer: Producer) -> Facts {
        Facts::of_view(e.index, e.view(), producer)
    }

    /// The facts of entry `index`, read through a view of either tree.
    pub fn of_view<J: Json>(index: usize, e: EntryView<'_, J>, producer: Producer) -> Facts {
        let req = e.request();
        let resp = e.response();
        let url = req.url().unwrap_or("");
        let status = resp.status().unwrap_or(0);
        let mut f = Facts {
            index,
            started_ms: e.started_ms(),
            ..Facts::default()
        };

        // Cookies and credentials.
        let sent = req.headers().iter().any(|(n, v)| {
            !v.is_empty()
                && (n.eq_ignore_ascii_case("cookie")
                    || n.eq_ignore_ascii_case("authorization")
                    || n.eq_ignore_ascii_case("proxy-authorization"))
        });
        let set = resp
            .headers()
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("set-cookie"));
        f.cookie_or_auth =
            sent || set || req.cookies().next().is_some() || resp.cookies().next().is_some();
        let path_l = url::Url::parse(url)
            .map(|u| u.path().to_ascii_lowercase())
            .unwrap_or_default();
        let authish = [
            "login", "signin", "sign-in", "logon", "oauth", "token", "session", "auth", "account",
            "sso", "saml",
        ]
        .iter()
        .any(|w| path_l.contains(w));
        f.authish =
            authish || status == 401 || status == 403 || req.headers().contains("x-csrf-token");

        // OAuth / OIDC / SAML steps.
        let q = query_names(e);
        let form = form_names(e);
        let is_callback = (has(&q, "state") && (has(&q, "code") || has(&q, "error")))
            || has(&form, "SAMLResponse")
            || (has(&form, "state") && (has(&form, "code") || has(&form, "id_token")));
        if is_callback {
            f.callback = Some(format!(
                "{} {}",
                req.method().unwrap_or("GET"),
                redact_query(url)
            ));
        }
        f.authorize = (has(&q, "response_type") && has(&q, "client_id"))
            || has(&q, "SAMLRequest")
            || has(&form, "SAMLRequest")
            || path_l.ends_with("/authorize")
            || path_l.ends_with("/oauth2/auth");

        let document = is_document_view(e);
        if document {
            f.document = Some((
                url.to_string(),
                req.headers().get("referer").map(str::to_string),
            ));
        }

        // Cache.
        let cached = from_cache_view(e);
        if cached {
            f.cached = true;
            let t = e.resource_type().unwrap_or_default();
            f.cached_important = document || t == "xhr" || t == "fetch" || authish;
        }

        // Bodies.
        let content = resp.content();
        let mime = content.mime_type().unwrap_or("");
        if (200..300).contains(&status)
            && status != 204
            && req.method() != Some("HEAD")
            && har::http::is_textual(mime)
            && content.size().is_none_or(|s| s != 0)
            && !cached
        {
            f.body_eligible = true;
            if content.text().is_none() {
                f.body_missing = true;
                f.body_comment = content
                    .comment()
                    .is_some_and(|c| c.contains("not included"));
            }
        }

        // Timings.
        let t = e.timings();
        if let Some(time) = e.time() {
            f.zero_time = time == 0.0;
            let total = t.total();
            let ssl = t.ssl.filter(|s| *s > 0.0).unwrap_or(0.0);
            let connect = t.connect.unwrap_or(-1.0);
            let tolerance = 2.0f64.max(time * 0.01);
            if ssl > 0.0 && connect >= 0.0 && ssl > connect + 0.5 {
                f.timing = if producer.ssl_outside_connect() {
                    TimingFact::SslOutside
                } else {
                    TimingFact::Impossible(format!(
                        "ssl {ssl:.1} ms is longer than connect {connect:.1} ms, which includes it"
                    ))
                };
            } else if t.send.is_some() && total > 0.0 && (time - total).abs() > tolerance {
                // (All phases -1 with a `time`, as Playwright writes failed requests, means
                // the phases are unknown, not wrong.)
                f.timing = if ssl > 0.0 && (time - total - ssl).abs() <= tolerance {
                    TimingFact::SslOutside
                } else {
                    TimingFact::Impossible(format!(
                        "time is {time:.1} ms but the phases add up to {total:.1} ms"
                    ))
                };
            }
        }
        f
    }
}

/// The quality lint; see the crate docs.
pub struct Linter {
    producer: Producer,
    entries: usize,
    // sensitive data
    cookie_or_auth: usize,
    auth_evidence: Examples,
    // log preservation
    callbacks: Examples,
    callback_example: Option<String>,
    authorize: usize,
    documents: usize,
    first_document: Option<(usize, String, Option<String>)>,
    /// Hashes of the page loads' URLs (not of every request).
    urls: HashSet<u64>,
    // cache
    cached: Examples,
    cached_important: Examples,
    // bodies
    bodies_eligible: usize,
    bodies_missing: Examples,
    bodies_comment: bool,
    // timings
    bad_timings: Examples,
    timing_example: Option<String>,
    ssl_outside: usize,
    zero_time: usize,
    // order
    last_start: Option<f64>,
    out_of_order: Examples,
}

impl Linter {
    pub fn new(header: &Header) -> Linter {
        Linter {
            producer: Producer::of(header),
            entries: 0,
            cookie_or_auth: 0,
            auth_evidence: Examples::default(),
            callbacks: Examples::default(),
            callback_example: None,
            authorize: 0,
            documents: 0,
            first_document: None,
            urls: HashSet::new(),
            cached: Examples::default(),
            cached_important: Examples::default(),
            bodies_eligible: 0,
            bodies_missing: Examples::default(),
            bodies_comment: false,
            bad_timings: Examples::default(),
            timing_example: None,
            ssl_outside: 0,
            zero_time: 0,
            last_start: None,
            out_of_order: Examples::default(),
        }
    }

    /// The producer the linter was made for (to compute [`Facts`] on other threads).
    pub fn producer(&self) -> Producer {
        self.producer
    }

    /// Fold one entry in (file order).
    pub fn entry(&mut self, e: &Entry) {
        self.add(Facts::of(e, self.producer));
    }

    /// Fold in the facts of one entry, computed anywhere (file order).
    pub fn add(&mut self, f: Facts) {
        let i = f.index;
        self.entries += 1;
        if f.cookie_or_auth {
            self.cookie_or_auth += 1;
        }
        if f.authish {
            self.auth_evidence.add(i);
        }
        if let Some(cb) = f.callback {
            self.callbacks.add(i);
            if self.callback_example.is_none() {
                self.callback_example = Some(cb);
            }
        }
        if f.authorize {
            self.authorize += 1;
        }
        if let Some((url, referer)) = f.document {
            self.documents += 1;
            // Only page loads are kept: a Referer names a page, not a sub-resource.
            self.urls.insert(hash_url(&url));
            if self.first_document.is_none() {
                self.first_document = Some((i, url, referer));
            }
        }
        if f.cached {
            self.cached.add(i);
        }
        if f.cached_important {
            self.cached_important.add(i);
        }
        if f.body_eligible {
            self.bodies_eligible += 1;
        }
        if f.body_missing {
            self.bodies_missing.add(i);
        }
        self.bodies_comment |= f.body_comment;
        match f.timing {
            TimingFact::Fine => {}
            TimingFact::SslOutside => self.ssl_outside += 1,
            TimingFact::Impossible(why) => {
                self.bad_timings.add(i);
                if self.timing_example.is_none() {
                    self.timing_example = Some(format!("entry {i}: {why}"));
                }
            }
        }
        if f.zero_time {
            self.zero_time += 1;
        }
        if let Some(start) = f.started_ms {
            if let Some(last) = self.last_start {
                if start + 1.0 < last {
                    self.out_of_order.add(i);
                }
            }
            self.last_start = Some(self.last_start.map_or(start, |l| l.max(start)));
        }
    }

    pub fn finish(self, header: &Header) -> Vec<Finding> {
        let p = self.producer;
        let mut out = Vec::new();
        if self.entries == 0 {
            out.push(Finding {
                code: "no-entries",
                severity: Severity::Warning,
                title: "the HAR has no requests at all".into(),
                detail: "log.entries is empty: the recording was started too late or exported from an empty Network panel.".into(),
                advice: format!("{} then reproduce the problem and export again.", p.open_network_advice()),
                entries: vec![],
                count: 0,
            });
            return out;
        }

        // Log preserved?
        if self.callbacks.count > 0 && self.authorize == 0 {
            out.push(Finding {
                code: "log-not-preserved",
                severity: Severity::Warning,
                title: "the log was not preserved across the login redirects".into(),
                detail: format!(
                    "{} sign-in callback(s) are recorded (first: {}, entry {}) but no authorization request that started the sign-in: the earlier steps were cleared from the log, as happens when the page navigates with 'Preserve log' off.",
                    self.callbacks.count,
                    self.callback_example.clone().unwrap_or_default(),
                    self.callbacks.list[0]
                ),
                advice: p.preserve_log_advice(),
                entries: self.callbacks.list.clone(),
                count: self.callbacks.count,
            });
        } else if let Some((i, url, Some(referer))) = &self.first_document {
            let same = url::Url::parse(referer).ok().map(|r| r.origin())
                == url::Url::parse(url).ok().map(|u| u.origin());
            if self.documents == 1 && same && !self.urls.contains(&hash_url(referer)) {
                out.push(Finding {
                    code: "log-not-preserved",
                    severity: Severity::Info,
                    title: "the recording starts in the middle of a visit".into(),
                    detail: format!(
                        "the only page load (entry {i}, {}) came from {} on the same site, which was not recorded: if the problem began on an earlier page, that part is missing.",
                        redact_query(url),
                        redact_query(referer)
                    ),
                    advice: p.preserve_log_advice(),
                    entries: vec![*i],
                    count: 1,
                });
            }
        }

        // Sensitive data stripped?
        if self.cookie_or_auth == 0 && self.entries >= 3 {
            let strong = self.auth_evidence.count > 0;
            out.push(Finding {
                code: "sensitive-data-stripped",
                severity: if strong { Severity::Warning } else { Severity::Info },
                title: "no cookies or Authorization headers anywhere: they were probably stripped at export".into(),
                detail: if strong {
                    format!(
                        "{} requests, {} of them to sign-in, token or session endpoints or answered 401/403, yet no request sends a Cookie or Authorization header and no response sets a cookie. Browsers leave these out when exporting a 'sanitized' HAR, so the session cannot be followed.",
                        self.entries, self.auth_evidence.count
                    )
                } else {
                    format!("{} requests and not one Cookie, Set-Cookie or Authorization header: fine for a site without sessions, but if this one has them they were stripped at export.", self.entries)
                },
                advice: p.sensitive_advice(),
                entries: self.auth_evidence.list.clone(),
                count: self.auth_evidence.count,
            });
        }

        // Cache.
        if self.cached.count > 0 {
            let important = self.cached_important.count > 0;
            out.push(Finding {
                code: "served-from-cache",
                severity: if important { Severity::Warning } else { Severity::Info },
                title: format!("{} of {} responses were served from the browser cache", self.cached.count, self.entries),
                detail: if important {
                    format!("{} of them are page loads or API calls, so what the server would answer now was never asked.", self.cached_important.count)
                } else {
                    "only static assets came from the cache; page loads and API calls went to the server.".into()
                },
                advice: p.cache_advice(),
                entries: if important { self.cached_important.list.clone() } else { self.cached.list.clone() },
                count: if important { self.cached_important.count } else { self.cached.count },
            });
        }

        // Bodies.
        if self.bodies_missing.count > 0 {
            let all = self.bodies_missing.count == self.bodies_eligible;
            out.push(Finding {
                code: "bodies-missing",
                severity: if self.bodies_missing.count * 2 >= self.bodies_eligible { Severity::Warning } else { Severity::Info },
                title: format!(
                    "{}{} of {} text responses have no body",
                    if all { "all " } else { "" },
                    self.bodies_missing.count,
                    self.bodies_eligible
                ),
                detail: if self.bodies_comment {
                    "the exporter says \"Response bodies are not included\": error messages and API answers cannot be read.".into()
                } else {
                    "HTML, JSON, script and style responses without `content.text`: error messages and API answers cannot be read.".into()
                },
                advice: p.bodies_advice(),
                entries: self.bodies_missing.list,
                count: self.bodies_missing.count,
            });
        }

        // Pages.
        if header.pages().is_empty() {
            out.push(Finding {
                code: "no-pages",
                severity: Severity::Info,
                title: "no pages: entries are not grouped by page and there are no page load timings".into(),
                detail: format!("{} leaves `log.pages` {}; some viewers (Firefox's importer) need it.", p.name(), if header.log.contains_key("pages") { "empty" } else { "out" }),
                advice: "Nothing to re-record for hark; to load the file in a strict viewer, record with a browser's own export.".into(),
                entries: vec![],
                count: 0,
            });
        }

        // Timings.
        if self.bad_timings.count > 0 {
            out.push(Finding {
                code: "impossible-timings",
                severity: Severity::Warning,
                title: format!("{} entries have timings that cannot be right", self.bad_timings.count),
                detail: format!("{} (HAR 1.2: `time` is the sum of the phases, with ssl counted inside connect).", self.timing_example.clone().unwrap_or_default()),
                advice: "Durations of these entries are unreliable; compare with another recording before drawing conclusions on speed.".into(),
                entries: self.bad_timings.list,
                count: self.bad_timings.count,
            });
        }
        if self.ssl_outside > 0 {
            out.push(Finding {
                code: "ssl-outside-connect",
                severity: Severity::Info,
                title: format!("{} entries time the TLS handshake outside `connect`", self.ssl_outside),
                detail: format!("HAR 1.2 counts `ssl` inside `connect`; {} times them apart (ssl longer than connect, or `time` = phases + ssl).", p.name()),
                advice: "Read connect + ssl as the connection set-up time for this producer; no action needed.".into(),
                entries: vec![],
                count: self.ssl_outside,
            });
        }
        if self.zero_time == self.entries && self.entries > 1 {
            out.push(Finding {
                code: "no-timings",
                severity: Severity::Info,
                title: "every entry has time 0: the file has no timing information".into(),
                detail: format!("{} did not record durations; a waterfall or a slow-request analysis is impossible.", p.name()),
                advice: "Record with a browser's Network panel or `hark record` to get timings.".into(),
                entries: vec![],
                count: self.entries,
            });
        }

        // Order.
        if self.out_of_order.count > 0 {
            out.push(Finding {
                code: "out-of-order",
                severity: Severity::Info,
                title: format!("{} entries start earlier than an entry before them", self.out_of_order.count),
                detail: "HAR writers should sort entries by startedDateTime; this file does not.".into(),
                advice: "hark sorts by time where it matters; viewers that trust the file order will draw a misleading waterfall.".into(),
                entries: self.out_of_order.list,
                count: self.out_of_order.count,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_never_reach_a_finding() {
        assert_eq!(
            redact_query("https://app.example/callback?code=SECRET&state=abc#frag"),
            "https://app.example/callback?code=…&state=…"
        );
        assert_eq!(
            redact_query("https://app.example/a#b"),
            "https://app.example/a"
        );
        assert_eq!(redact_query("not a url?token=x"), "not a url");
    }
}

#[cfg(test)]
mod tree_tests {
    use super::*;

    /// The lint reads the same facts from the editable model and from the borrowed tree.
    #[test]
    fn facts_are_the_same_on_both_trees() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = 0;
        for dir in [
            root.join("../shared/corpus/public"),
            root.join("testdata/har"),
        ] {
            for f in std::fs::read_dir(dir).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_none_or(|x| x != "har") {
                    continue;
                }
                files += 1;
                let mut r =
                    har::HarReader::new(har::Source::open(f.to_str().unwrap()).unwrap()).unwrap();
                let producer = Producer::of(r.header());
                while let Some(raw) = r.next_raw().unwrap() {
                    let model = raw.parse().unwrap();
                    let lite = raw.parse_lite().unwrap();
                    let a = format!("{:?}", Facts::of(&model, producer));
                    let b = format!(
                        "{:?}",
                        Facts::of_view(
                            raw.index,
                            har::EntryView(har::Obj::of(Some(&lite))),
                            producer
                        )
                    );
                    assert_eq!(a, b, "{} entry {}", f.display(), raw.index);
                }
            }
        }
        assert!(files >= 25);
    }
}
