//! Clock skew between servers and the client, from each host's `Date` headers (and,
//! in [`super::flows`], from ID tokens issued "in the future").

use super::{Context, Findings, Rule};
use crate::util::human_ms;
use crate::Digest;
use har::Severity;
use std::collections::HashMap;

/// Hosts compared.
const MAX_HOSTS: usize = 200;
/// Clocks this far apart (ms) are worth a finding.
pub(crate) const SKEW_MS: f64 = 60_000.0;

#[derive(Default)]
pub struct ClockSkew {
    /// Host → least and greatest skew (ms), first entry, responses.
    hosts: HashMap<String, (f64, f64, usize, u32)>,
    capped: bool,
}

impl Rule for ClockSkew {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let (e, Some(u)) = (&d.entry, &d.url) else {
            return;
        };
        let status = e.response().status().unwrap_or(0);
        if status <= 0 || d.cached {
            return;
        }
        let Some(date) = e
            .response()
            .headers()
            .get("date")
            .and_then(har::http::parse_http_date)
        else {
            return;
        };
        let Some(start) = e.started_ms() else { return };
        let t = e.timings();
        let before_body: f64 = [t.blocked, t.dns, t.connect, t.send, t.wait]
            .iter()
            .flatten()
            .filter(|x| **x > 0.0)
            .sum();
        // The server's Date is truncated to the second.
        let skew = date + 500.0 - (start + before_body);
        let host = u.host_str().unwrap_or("").to_string();
        let known = self.hosts.len();
        match self.hosts.get_mut(&host) {
            Some(s) => {
                s.0 = s.0.min(skew);
                s.1 = s.1.max(skew);
                s.3 += 1;
            }
            None if known < MAX_HOSTS => {
                self.hosts.insert(host, (skew, skew, e.index, 1));
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
        let mut hosts: Vec<_> = self.hosts.into_iter().collect();
        hosts.sort_by(|a, b| a.0.cmp(&b.0));
        for (host, (min, max, first, n)) in hosts {
            let skew = if min > SKEW_MS {
                min
            } else if max < -SKEW_MS {
                max
            } else {
                continue;
            };
            out.note("clock-skew", Severity::Warning, &[first], || {
                (
                    "Clock skew between the server and the client".into(),
                    format!(
                        "{host}'s Date headers are {} {} the client's clock ({n} responses).",
                        human_ms(skew.abs()),
                        if skew > 0.0 { "ahead of" } else { "behind" }
                    ),
                    "Token lifetimes (exp, nbf, iat) and cookie expiry are judged by clocks: synchronise them (NTP). A wrong client clock makes fresh tokens look expired.",
                )
            });
        }
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
            out[0]
                .detail
                .starts_with("a.example's Date headers are 10 min ahead of"),
            "{}",
            out[0].detail
        );
    }
}
