//! Redirect chains followed across entries: loops (the same path again and again, or
//! the browser giving up) and long chains.

use super::{too_many_redirects, Context, Findings, Rule};
use crate::util::hash;
use crate::Digest;
use check::{Examples, Finding};
use har::Severity;
use std::collections::HashMap;

/// Open chains followed at once; past it the oldest is closed early.
pub const MAX_CHAINS: usize = 1000;
/// Redirect-loop findings shown.
const MAX_LOOPS: usize = 20;
/// A chain this long (in redirects) is worth a finding.
const LONG_CHAIN: usize = 5;
/// Distinct paths counted per chain.
const MAX_PATHS: usize = 64;

struct Chain {
    entries: Vec<usize>,
    hops: usize,
    start: String,
    /// Path hashes and how often each was visited.
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
pub struct Redirects {
    chains: Vec<Chain>,
    alive_chains: usize,
    chains_forgotten: usize,
    /// Hash of the URL a chain waits for → the chain.
    pending: HashMap<u64, usize>,
    loops: Vec<Finding>,
    long_chains: Examples,
    long_example: Option<String>,
}

impl Rule for Redirects {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let e = d.view();
        let i = d.index;
        let url = e.request().url().unwrap_or("");
        let parsed = d.url.as_ref();
        let status = e.response().status().unwrap_or(0);
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
            None if ch.paths.len() < MAX_PATHS => ch.paths.push((path_hash, 1)),
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

    fn finish(mut self: Box<Self>, out: &mut Findings) {
        let open: Vec<Chain> = self.chains.drain(..).filter(|c| c.alive).collect();
        for c in open {
            self.close(c, None);
        }
        let s = *self;
        if s.chains_forgotten > 0 {
            out.cap(format!(
                "redirect chains: more than {MAX_CHAINS} open at once; the {} oldest were closed early",
                s.chains_forgotten
            ));
        }
        for f in s.loops {
            out.push(f);
        }
        out.add(
            "long-redirect-chain",
            Severity::Warning,
            "Long redirect chain".into(),
            format!("{}.", s.long_example.unwrap_or_default()),
            "Each redirect costs a round trip: link to the final URL directly.",
            s.long_chains,
        );
    }
}

impl Redirects {
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

    /// A chain ended (with the failure of its last request, if any): is it a loop, or
    /// long?
    fn close(&mut self, ch: Chain, end: Option<String>) {
        let redirects = ch.hops.saturating_sub(1);
        let too_many = end.as_deref().is_some_and(too_many_redirects);
        let repeated = ch.paths.iter().map(|(_, n)| *n).max().unwrap_or(0);
        if too_many || (repeated >= 3 && redirects >= 3) {
            if self.loops.len() < MAX_LOOPS {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::digest;

    fn cx_run(r: &mut Redirects, d: &Digest) {
        let mut noted = Findings::default();
        let mut cx = Context {
            origin: None,
            cors_failed: false,
            noted: &mut noted,
        };
        r.entry(d, &mut cx);
    }

    #[test]
    fn finished_chains_do_not_pile_up_behind_an_open_one() {
        let mut n = Redirects::default();
        // A chain that never ends, then many that do.
        cx_run(
            &mut n,
            &digest(0, "https://a.example/open", 302, &[("Location", "/never")]),
        );
        let mut i = 1;
        for k in 0..1000 {
            let to = format!("https://a.example/end{k}");
            cx_run(
                &mut n,
                &digest(
                    i,
                    &format!("https://a.example/start{k}"),
                    302,
                    &[("Location", &to)],
                ),
            );
            cx_run(&mut n, &digest(i + 1, &to, 200, &[]));
            i += 2;
        }
        assert_eq!(n.alive_chains, 1);
        assert!(n.chains.len() <= 2 + 64, "{}", n.chains.len());
        // The open chain is still followed after compaction.
        cx_run(&mut n, &digest(i, "https://a.example/never", 200, &[]));
        assert_eq!(n.alive_chains, 0);
        assert_eq!(n.chains_forgotten, 0);
    }

    #[test]
    fn a_path_visited_again_and_again_is_a_loop() {
        let ds: Vec<_> = (0..4)
            .map(|i| {
                let (from, to) = if i % 2 == 0 { ("a", "b") } else { ("b", "a") };
                digest(
                    i,
                    &format!("https://x.example/{from}?n={i}"),
                    302,
                    &[("Location", &format!("/{to}?n={}", i + 1))],
                )
            })
            .chain([digest(4, "https://x.example/a?n=4", 200, &[])])
            .collect();
        let out = crate::rules::tests::run(Redirects::default(), &ds);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].code, out[0].count), ("redirect-loop", 5));
    }
}
