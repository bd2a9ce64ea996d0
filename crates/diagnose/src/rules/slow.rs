//! Slow requests, by the phase that took longest for its threshold: the server's
//! answer, the download, DNS, connecting, TLS, queueing; and slow requests whose
//! producer recorded no phases.

use super::{plural, shown, Context, Findings, Rule};
use crate::summary::phases_of;
use crate::util::human_ms;
use crate::Digest;
use check::Examples;
use har::Severity;

/// The phases judged, their thresholds (ms), and each finding's code, title and advice.
const PHASES: [(&str, f64, &str, &str, &str); 6] = [
    ("wait", 1000.0, "slow-server", "Slow server response (waiting for the first byte)", "The server took long to start answering: profile that endpoint (database, upstream calls, cold starts)."),
    ("receive", 1000.0, "slow-download", "Slow download", "The response took long to arrive: make it smaller (compression, pagination) or look at the bandwidth."),
    ("dns", 300.0, "slow-dns", "Slow DNS lookup", "Name resolution is slow: check the resolver, or preconnect / dns-prefetch the host."),
    ("connect", 300.0, "slow-connect", "Slow TCP connection", "Connecting is slow: server far away or overloaded; reuse connections (keep-alive, HTTP/2)."),
    ("ssl", 300.0, "slow-tls", "Slow TLS handshake", "The TLS handshake is slow: check OCSP stapling, the certificate chain size, and session resumption."),
    ("blocked", 500.0, "queued", "Requests queued before they were sent", "Requests waited for a free connection (browsers open 6 per host on HTTP/1.1): serve over HTTP/2 or make fewer requests."),
];
/// A request without phases is slow from this long.
const SLOW_TOTAL: f64 = 3000.0;

#[derive(Default)]
struct Slowest {
    examples: Examples,
    /// Entry, time in the phase, request.
    worst: Option<(usize, f64, String)>,
}

impl Slowest {
    fn add(&mut self, d: &Digest, v: f64) {
        self.examples.add(d.index);
        if self.worst.as_ref().is_none_or(|(_, w, _)| v > *w) {
            self.worst = Some((d.index, v, shown(d)));
        }
    }
}

#[derive(Default)]
pub struct Slow {
    /// One per [`PHASES`].
    phases: [Slowest; 6],
    /// Slow without phases.
    other: Slowest,
}

impl Rule for Slow {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let e = d.view();
        if e.response().status().unwrap_or(0) <= 0 || d.failure.is_some() || d.cached {
            return;
        }
        let p = phases_of(e);
        let connect = match (p.connect, p.ssl) {
            (Some(c), Some(s)) if s <= c => Some(c - s),
            (c, _) => c,
        };
        let vals = [p.wait, p.receive, p.dns, connect, p.ssl, p.blocked];
        let ratio = |k: usize| vals[k].unwrap_or(0.0) / PHASES[k].1;
        let worst = (0..6)
            .filter(|k| vals[*k].is_some_and(|v| v >= PHASES[*k].1))
            .max_by(|a, b| ratio(*a).total_cmp(&ratio(*b)));
        let time = e.time().unwrap_or(0.0);
        if let Some(k) = worst {
            self.phases[k].add(d, vals[k].unwrap_or(0.0));
        } else if time >= SLOW_TOTAL && p.wait.is_none() {
            self.other.add(d, time);
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        let s = *self;
        for (k, slow) in s.phases.into_iter().enumerate() {
            let (phase, limit, code, title, advice) = PHASES[k];
            let n = slow.examples.count;
            if let Some((wi, wv, ws)) = slow.worst {
                out.add(
                    code,
                    Severity::Warning,
                    format!("{title}: {n} request{}", plural(n)),
                    format!(
                        "The worst: {ws} (entry {wi}) spent {} in `{phase}`; {n} request{} at or over the {} threshold for `{phase}` (the phase furthest over its threshold is blamed for each request).",
                        human_ms(wv),
                        plural(n),
                        human_ms(limit)
                    ),
                    advice,
                    slow.examples,
                );
            }
        }
        if let Some((wi, wv, ws)) = s.other.worst {
            out.add(
                "slow-request",
                Severity::Info,
                "Slow requests without timing details".into(),
                format!(
                    "The worst: {ws} (entry {wi}) took {}; {} request{} of {} or more without phases.",
                    human_ms(wv),
                    s.other.examples.count,
                    plural(s.other.examples.count),
                    human_ms(SLOW_TOTAL)
                ),
                "The producer did not record the phases; re-record with Chrome to see where the time goes.",
                s.other.examples,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn the_phase_furthest_over_its_threshold_is_blamed() {
        let mut d = digest(0, "https://a.example/slow", 200, &[]);
        d.entry.value["timings"] =
            serde_json::json!({"dns": 600, "send": 1, "wait": 1100, "receive": 4});
        let fast = digest(1, "https://a.example/fast", 200, &[]);
        let out = run(Slow::default(), &[d, fast]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, "slow-dns");
        assert!(
            out[0].detail.contains("spent 600 ms in `dns`"),
            "{}",
            out[0].detail
        );
    }
}
