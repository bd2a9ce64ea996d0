//! Clock skew between servers and the client, from each host's `Date` headers (and,
//! in [`super::flows`], from ID tokens issued "in the future").

use super::{plural, Context, Findings, Rule};
use crate::util::human_ms;
use crate::Digest;
use har::Severity;
use std::collections::HashMap;

/// Hosts compared.
const MAX_HOSTS: usize = 200;
/// Clocks this far apart (ms) are worth a finding.
pub(crate) const SKEW_MS: f64 = 60_000.0;

/// One reading of a server's clock against the client's.
#[derive(Clone, Copy)]
struct Reading {
    /// Server clock minus client clock (ms).
    skew: f64,
    entry: usize,
    /// The server's clock as read (ms): `Date`, plus `Age` when a cache says how old.
    server: f64,
    /// The client's clock when the server wrote it (ms).
    client: f64,
    /// `Age` (s) added to `Date`.
    age: Option<f64>,
}

/// One host's readings: the least and greatest skew, how many.
struct Host {
    least: Reading,
    most: Reading,
    n: u32,
}

/// Each host's `Date` against the client's clock when the response was written
/// (start + the phases before the body).
///
/// A cached answer carries the time it was *stored*, not the time it was served:
///
/// - what the browser served from its own cache (`_fromCache`, `_fetchType`,
///   `_transferSize: 0`; or an entry with `time` 0 and no phase, as Firefox writes its
///   cache hits) or a service worker answered (Safari's `_fetchType`) is not compared;
/// - a response with `Age` was written between `Date` and `Date + Age` (RFC 9111
///   §4.2.3): the client's clock outside that span is skew;
/// - a response a shared cache says it answered (`X-Cache`, `X-Cache-Status` or
///   `CF-Cache-Status` with HIT/STALE, or any `Via`) without `Age` may hold a `Date`
///   of any age: only a `Date` *ahead* of the client is counted;
/// - a `304` carries the server's current `Date`, and is compared.
#[derive(Default)]
pub struct ClockSkew {
    hosts: HashMap<String, Host>,
    capped: bool,
}

/// A shared cache (CDN, proxy) says it answered.
fn shared_cache_hit(h: &har::NameValues<'_, serde_json::Value>) -> bool {
    ["x-cache", "x-cache-status", "cf-cache-status"]
        .iter()
        .filter_map(|n| h.get(n))
        .any(|v| {
            let v = v.to_ascii_uppercase();
            v.contains("HIT") || v.contains("STALE")
        })
        || h.get("via").is_some()
}

impl Rule for ClockSkew {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let (e, Some(u)) = (&d.entry, &d.url) else {
            return;
        };
        let status = e.response().status().unwrap_or(0);
        if status <= 0 || d.cache == check::CacheUse::Browser {
            return;
        }
        let t = e.timings();
        let phases = [t.blocked, t.dns, t.connect, t.send, t.wait, t.receive];
        if e.time() == Some(0.0) && phases.iter().flatten().all(|x| *x <= 0.0) {
            return; // no network at all: a cache hit (Firefox)
        }
        if e.fields()
            .str("_fetchType")
            .is_some_and(|t| t.to_ascii_lowercase().contains("service worker"))
        {
            return; // a service worker's answer, perhaps from its own cache (Safari)
        }
        let h = e.response().headers();
        let Some(date) = h.get("date").and_then(har::http::parse_http_date) else {
            return;
        };
        let Some(start) = e.started_ms() else { return };
        let before_body: f64 = phases[..5].iter().flatten().filter(|x| **x > 0.0).sum();
        let age = h
            .get("age")
            .and_then(|a| a.trim().parse::<f64>().ok())
            .filter(|a| *a >= 0.0);
        let client = start + before_body;
        // The server's clock when it answered lies in [lo, hi]: its Date (truncated to
        // the second) if it wrote the answer now; up to Date + Age if a cache kept
        // it that long (a cache's Date may be that of a later revalidation, so
        // Date + Age is the most, not the value); anything from Date on if a shared
        // cache answered without saying how old.
        let hit = shared_cache_hit(&h);
        let lo = date;
        let hi = match age {
            Some(a) => date + 1000.0 + a * 1000.0,
            None if hit => f64::INFINITY,
            None => date + 1000.0,
        };
        let (skew, server) = if lo > client {
            (lo - client, lo)
        } else if hi < client {
            (hi - client, hi - 1000.0)
        } else {
            (0.0, client)
        };
        let r = Reading {
            skew,
            entry: e.index,
            server,
            client,
            age: age.filter(|_| skew < 0.0),
        };
        let host = u.host_str().unwrap_or("").to_string();
        let known = self.hosts.len();
        match self.hosts.get_mut(&host) {
            Some(s) => {
                if skew < s.least.skew {
                    s.least = r;
                }
                if skew > s.most.skew {
                    s.most = r;
                }
                s.n += 1;
            }
            None if known < MAX_HOSTS => {
                self.hosts.insert(
                    host,
                    Host {
                        least: r,
                        most: r,
                        n: 1,
                    },
                );
            }
            None => self.capped = true,
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        if self.capped {
            out.cap(format!(
                "clock skew: only the first {MAX_HOSTS} hosts are compared"
            ));
        }
        let mut skewed: Vec<(String, Reading, &'static str, u32)> = Vec::new();
        for (host, h) in self.hosts {
            // Every response of the host is off the same way.
            if h.least.skew > SKEW_MS {
                skewed.push((host, h.least, "ahead of", h.n));
            } else if h.most.skew < -SKEW_MS {
                skewed.push((host, h.most, "behind", h.n));
            }
        }
        if skewed.is_empty() {
            return;
        }
        skewed.sort_by(|a, b| a.1.entry.cmp(&b.1.entry).then(a.0.cmp(&b.0)));
        let mut entries: Vec<usize> = skewed.iter().map(|s| s.1.entry).collect();
        entries.sort_unstable();
        let hosts = skewed.len();
        let shown: Vec<String> = skewed
            .iter()
            .take(3)
            .map(|(host, r, way, n)| {
                let date = match r.age {
                    Some(a) => format!("Date + Age ({a:.0} s) {}", har::time::format_s(r.server)),
                    None => format!("Date {}", har::time::format_s(r.server)),
                };
                format!(
                    "{host}: {date} on entry {}, against the client's {}: {} {way} the client ({n} {} compared{})",
                    r.entry,
                    har::time::format_s(r.client),
                    human_ms(r.skew.abs()),
                    if *n == 1 { "response" } else { "responses" },
                    if *n == 1 { "" } else { ", this the closest" },
                )
            })
            .collect();
        let more = if hosts > 3 {
            format!(" And {} more host{}.", hosts - 3, plural(hosts - 3))
        } else {
            String::new()
        };
        out.note("clock-skew", Severity::Warning, &entries, || {
            (
                "Clock skew between the server and the client".into(),
                format!(
                    "{}.{more} (A cached answer is written between its Date and Date + Age: it counts only when the client's clock is outside that span; what the browser's own cache served is not compared.)",
                    shown.join("; ")
                ),
                "Token lifetimes (exp, nbf, iat) and cookie expiry are judged by clocks: synchronise them (NTP). A wrong client clock makes fresh tokens look expired.",
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn a_server_clock_ten_minutes_ahead() {
        // digest(0) starts at 09:00:00 and takes 10 ms.
        let ds = [
            digest(
                0,
                "https://a.example/",
                200,
                &[("Date", "Mon, 15 Jan 2024 09:10:00 GMT")],
            ),
            digest(
                1,
                "https://b.example/",
                200,
                &[("Date", "Mon, 15 Jan 2024 09:00:00 GMT")],
            ),
        ];
        let out = run(ClockSkew::default(), &ds);
        assert_eq!(out.len(), 1);
        assert!(
            out[0].detail.starts_with(
                "a.example: Date 2024-01-15T09:10:00Z on entry 0, against the client's 2024-01-15T09:00:00Z: 10 min ahead of the client (1 response compared)"
            ),
            "{}",
            out[0].detail
        );
    }

    #[test]
    fn cached_answers_are_compared_with_their_age() {
        // 18 min behind, but 1080 s old by its Age: no skew.
        let aged = digest(
            0,
            "https://a.example/",
            200,
            &[("Date", "Mon, 15 Jan 2024 08:42:00 GMT"), ("Age", "1080")],
        );
        // A CDN hit without Age: a stored Date, however old.
        let hit = digest(
            1,
            "https://b.example/",
            200,
            &[
                ("Date", "Mon, 15 Jan 2024 02:00:00 GMT"),
                ("X-Cache", "Hit from cloudfront"),
            ],
        );
        // A 304's Date is the server's now: compared.
        let revalidated = digest(
            2,
            "https://c.example/",
            304,
            &[("Date", "Mon, 15 Jan 2024 08:00:00 GMT")],
        );
        let out = run(ClockSkew::default(), &[aged, hit, revalidated]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].entries, [2]);
        assert!(
            out[0].detail.starts_with("c.example: Date"),
            "{}",
            out[0].detail
        );
        // Date + Age still an hour behind: skew.
        let stale = digest(
            0,
            "https://a.example/",
            200,
            &[("Date", "Mon, 15 Jan 2024 07:00:00 GMT"), ("Age", "60")],
        );
        let out = run(ClockSkew::default(), &[stale]);
        assert!(
            out[0]
                .detail
                .contains("Date + Age (60 s) 2024-01-15T07:01:00Z"),
            "{}",
            out[0].detail
        );
    }
}
