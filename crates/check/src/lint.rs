//! The fold over [`Facts`] and the findings it gives.

use crate::facts::TimingFact;
use crate::{redact_query, Examples, Facts, Finding, Producer};
use har::{Entry, Header, Severity};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

fn hash_url(u: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let u = u.split('#').next().unwrap_or(u);
    u.hash(&mut h);
    h.finish()
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
    /// Token requests redeeming a code, and with a refresh token (with the first,
    /// shown); login form posts and password grants.
    code_grants: Examples,
    code_grant_example: Option<String>,
    refresh_grants: Examples,
    refresh_grant_example: Option<String>,
    logins: usize,
    /// The first entry, shown.
    first_entry: Option<(usize, String)>,
    documents: usize,
    first_document: Option<(usize, String, Option<String>)>,
    /// The first page load lands where a sign-in ends (`?code=`, `/callback`).
    first_document_post_login: bool,
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
    /// Of the bad timings, those whose phases do not add up to `time`.
    bad_durations: usize,
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
            code_grants: Examples::default(),
            code_grant_example: None,
            refresh_grants: Examples::default(),
            refresh_grant_example: None,
            logins: 0,
            first_entry: None,
            documents: 0,
            first_document: None,
            first_document_post_login: false,
            urls: HashSet::new(),
            cached: Examples::default(),
            cached_important: Examples::default(),
            bodies_eligible: 0,
            bodies_missing: Examples::default(),
            bodies_comment: false,
            bad_timings: Examples::default(),
            timing_example: None,
            bad_durations: 0,
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
        if self.first_entry.is_none() {
            self.first_entry = Some((i, f.shown));
        }
        if let Some(g) = f.code_grant {
            self.code_grants.add(i);
            self.code_grant_example.get_or_insert(g);
        }
        if let Some(g) = f.refresh_grant {
            self.refresh_grants.add(i);
            self.refresh_grant_example.get_or_insert(g);
        }
        if f.login {
            self.logins += 1;
        }
        if let Some((url, referer)) = f.document {
            self.documents += 1;
            // Only page loads are kept: a Referer names a page, not a sub-resource.
            self.urls.insert(hash_url(&url));
            if self.first_document.is_none() {
                self.first_document = Some((i, url, referer));
                self.first_document_post_login = f.post_login;
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
                self.bad_durations += 1;
                if self.timing_example.is_none() {
                    self.timing_example = Some(format!("entry {i}: {why}"));
                }
            }
            TimingFact::SslOnHttp(why) => {
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

        // Log preserved? A sign-in whose start is not in the file.
        let (first_i, first_shown) = self.first_entry.clone().unwrap_or_default();
        let lost = if self.callbacks.count > 0 && self.authorize == 0 {
            Some((
                format!(
                    "{} sign-in callback{} recorded (first: {}, entry {}) but no authorization request that started the sign-in",
                    self.callbacks.count,
                    if self.callbacks.count == 1 { " is" } else { "s are" },
                    self.callback_example.clone().unwrap_or_default(),
                    self.callbacks.list[0]
                ),
                self.callbacks.clone(),
            ))
        } else if self.code_grants.count > 0 && self.authorize == 0 && self.callbacks.count == 0 {
            Some((
                format!(
                    "the token request {} (entry {}) redeems an authorization code (grant_type=authorization_code), but neither the authorize request nor the callback that brought the code is recorded",
                    self.code_grant_example.clone().unwrap_or_default(),
                    self.code_grants.list[0]
                ),
                self.code_grants.clone(),
            ))
        } else if self.refresh_grants.count > 0
            && self.authorize == 0
            && self.callbacks.count == 0
            && self.code_grants.count == 0
            && self.logins == 0
        {
            Some((
                format!(
                    "the token request {} (entry {}) uses a refresh token (grant_type=refresh_token), but no sign-in that issued one is recorded (no authorize request, callback, code exchange or login form)",
                    self.refresh_grant_example.clone().unwrap_or_default(),
                    self.refresh_grants.list[0]
                ),
                self.refresh_grants.clone(),
            ))
        } else if let Some((i, url, _)) = self
            .first_document
            .as_ref()
            .filter(|_| self.first_document_post_login && self.authorize == 0 && self.logins == 0)
        {
            Some((
                format!(
                    "the first page load (entry {i}, GET {}) is where a sign-in lands (a code in its query or a /callback path), and nothing of the sign-in before it is recorded",
                    redact_query(url)
                ),
                Examples {
                    list: vec![*i],
                    count: 1,
                },
            ))
        } else {
            None
        };
        if let Some((what, ex)) = lost {
            out.push(Finding {
                code: "log-not-preserved",
                severity: Severity::Warning,
                title: "the log was not preserved across the login redirects".into(),
                detail: format!(
                    "{what}. The first entry recorded is entry {first_i}: {first_shown}. The earlier steps were cleared from the log, as happens when the page navigates with 'Preserve log' off (or the sign-in ran in a tab or window the recording did not see)."
                ),
                advice: p.preserve_log_advice(),
                entries: ex.list,
                count: ex.count,
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
                title: format!("{} of {} responses {} served from the browser cache", self.cached.count, self.entries, if self.cached.count == 1 { "was" } else { "were" }),
                detail: if important {
                    format!("{} of them {}, so what the server would answer now was never asked (304 revalidations are not counted: the server was asked).", self.cached_important.count, if self.cached_important.count == 1 { "is a page load or an API call" } else { "are page loads or API calls" })
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
                // Durations that do not add up mislead a speed analysis; an ssl phase
                // on plain HTTP alone leaves `time` and `wait` right.
                severity: if self.bad_durations > 0 { Severity::Warning } else { Severity::Info },
                title: format!("{} {} timings that cannot be right", self.bad_timings.count, if self.bad_timings.count == 1 { "entry has" } else { "entries have" }),
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
                title: format!("{} {} the TLS handshake outside `connect`", self.ssl_outside, if self.ssl_outside == 1 { "entry times" } else { "entries time" }),
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
                title: format!("{} {} earlier than an entry before {}", self.out_of_order.count, if self.out_of_order.count == 1 { "entry starts" } else { "entries start" }, if self.out_of_order.count == 1 { "it" } else { "them" }),
                detail: "HAR writers should sort entries by startedDateTime; this file does not.".into(),
                advice: "hark sorts by time where it matters; viewers that trust the file order will draw a misleading waterfall.".into(),
                entries: self.out_of_order.list,
                count: self.out_of_order.count,
            });
        }
        out
    }
}
