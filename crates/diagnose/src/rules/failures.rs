//! Requests that got no answer: timeouts, requests blocked by the browser or cancelled
//! by the page, and the other network failures grouped by their message. (CORS
//! failures are [`super::cors`]'s; a redirect loop the browser gave up on is
//! [`super::redirects`]'.)

use super::{plural, shown, Context, Findings, Rule};
use crate::util::human_ms;
use crate::Digest;
use check::Examples;
use har::Severity;

/// Distinct failure messages tracked; later ones are counted with the last.
const MAX_GROUPS: usize = 200;
/// A request abandoned after this long had timed out.
const TIMEOUT_MS: f64 = 1000.0;

/// Whether a failure is the browser giving up on a redirect loop.
pub(crate) fn too_many_redirects(failure: &str) -> bool {
    failure.to_ascii_lowercase().contains("too_many_redirects")
}

#[derive(Default)]
pub struct Failures {
    /// Per message: the entries and the first request.
    failures: Vec<(String, Examples, String)>,
    timeouts: Examples,
    timeout_example: Option<String>,
    aborted: Examples,
    blocked: Examples,
    blocked_example: Option<String>,
}

impl Rule for Failures {
    fn entry(&mut self, d: &Digest, cx: &mut Context<'_>) {
        let Some(f) = &d.failure else { return };
        if too_many_redirects(f) || cx.cors_failed {
            return;
        }
        let i = d.index;
        let time = d.entry.time().unwrap_or(0.0);
        let fl = f.to_ascii_lowercase();
        if fl.contains("timed_out") || fl.contains("timeout") {
            self.timeouts.add(i);
            self.timeout_example.get_or_insert(format!(
                "{} failed with {f} after {}",
                shown(d),
                human_ms(time)
            ));
        } else if fl.contains("aborted") || fl.contains("canceled") || fl.contains("cancelled") {
            if time >= TIMEOUT_MS {
                self.timeouts.add(i);
                self.timeout_example.get_or_insert(format!(
                    "{} got no answer and was abandoned ({f}) after {}",
                    shown(d),
                    human_ms(time)
                ));
            } else {
                self.aborted.add(i);
            }
        } else if fl.contains("blocked") {
            self.blocked.add(i);
            self.blocked_example
                .get_or_insert_with(|| format!("{}: {f}", shown(d)));
        } else {
            match self.failures.iter().position(|(k, _, _)| k == f) {
                Some(k) => self.failures[k].1.add(i),
                None if self.failures.len() < MAX_GROUPS => {
                    let mut ex = Examples::default();
                    ex.add(i);
                    self.failures.push((f.clone(), ex, shown(d)));
                }
                None => {
                    if let Some((_, ex, _)) = self.failures.last_mut() {
                        ex.add(i);
                    }
                }
            }
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        let s = *self;
        for (kind, ex, first) in s.failures {
            let n = ex.count;
            out.add(
                "request-failed",
                Severity::Error,
                format!("{n} request{} failed: {kind}", plural(n)),
                format!("No response was received, e.g. {first}."),
                advice(&kind),
                ex,
            );
        }
        let n = s.timeouts.count;
        out.add(
            "timeout",
            Severity::Error,
            format!("{n} request{} timed out", plural(n)),
            format!("{}.", s.timeout_example.unwrap_or_default()),
            "The server did not answer in time: look at its logs for this request (a hung worker, a \
             slow query, a lock), and at any proxy or load balancer timeout in between.",
            s.timeouts,
        );
        out.add(
            "request-blocked",
            Severity::Warning,
            "Requests blocked by the browser or an extension".into(),
            format!("{}.", s.blocked_example.unwrap_or_default()),
            "An ad blocker, privacy extension, CSP or Cross-Origin-Resource-Policy blocked these: retry \
             in a clean profile, and check the console.",
            s.blocked,
        );
        let n = s.aborted.count;
        out.add(
            "request-aborted",
            Severity::Info,
            format!("{n} request{} cancelled by the page", plural(n)),
            "Requests cancelled quickly, usually because the page navigated away or the script \
             aborted them."
                .into(),
            "Usually harmless; if a needed request is among them, see what cancelled it.",
            s.aborted,
        );
    }
}

/// What to do about a failure, by its message.
fn advice(kind: &str) -> &'static str {
    match kind {
        k if k.contains("CONNECTION_REFUSED") => {
            "Nothing listens at that host and port: is the service down, or the URL (port) wrong for this environment?"
        }
        k if k.contains("NAME_NOT_RESOLVED") => "The host name does not resolve: check the URL and DNS.",
        k if k.contains("CERT") || k.contains("SSL") => "The TLS handshake failed: check the server certificate (name, expiry, chain).",
        k if k.contains("INTERNET_DISCONNECTED") || k.contains("NETWORK_CHANGED") => "The client lost its network connection.",
        _ => "Look at the request in the browser's console for the reason; retry with the network panel open.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn failures_are_grouped_by_message_and_timeouts_told_apart() {
        let failures = [
            "net::ERR_CONNECTION_REFUSED",
            "net::ERR_CONNECTION_REFUSED",
            "net::ERR_TIMED_OUT",
            "net::ERR_BLOCKED_BY_CLIENT",
            "net::ERR_TOO_MANY_REDIRECTS",
        ];
        let ds: Vec<_> = failures
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut d = digest(i, "https://a.example/x", 0, &[]);
                d.failure = Some(f.to_string());
                d
            })
            .collect();
        let out = run(Failures::default(), &ds);
        let codes: Vec<_> = out.iter().map(|f| (f.code, f.count)).collect();
        assert_eq!(
            codes,
            [
                ("request-failed", 2),
                ("timeout", 1),
                ("request-blocked", 1)
            ]
        );
        assert!(out[0].advice.starts_with("Nothing listens"));
    }
}
