//! Detectors: secrets recognised by their shape wherever they are (vendor key formats
//! from the vendors' documentation, JWTs, PEM private keys, card numbers, e-mail
//! addresses, credentials assigned in code).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;
use std::ops::Range;

use crate::confirm::confirm;
use crate::patterns::{BUILTIN, CARD, TRIGGERS};
use crate::Check;

#[derive(Clone)]
pub struct Detector {
    pub kind: &'static str,
    /// The pattern unanchored (named groups stripped), to find where it matches.
    search: Regex,
    /// Its bit in the trigger's answer (`u32::MAX`: always searched).
    bit: u32,
    /// The pattern anchored at the start (`^(?:…)`): candidates are confirmed where
    /// the combined expression found them, without searching further.
    pub re: Regex,
    pub check: Check,
}

/// The literal prefilter in front of the detectors' regexes.
#[derive(Clone)]
struct Trigger {
    ac: AhoCorasick,
}

impl Trigger {
    fn new() -> Trigger {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(TRIGGERS.iter().map(|(t, _, _)| t.as_bytes()))
            .expect("trigger literals build");
        Trigger { ac }
    }

    /// Whether some built-in detector could match somewhere in `text`.
    #[cfg(test)]
    fn hit(&self, text: &[u8]) -> bool {
        self.hits(text) != 0
    }

    /// The built-in detectors (bits: indexes in [`BUILTIN`]) that could match
    /// somewhere in `text`.
    fn hits(&self, text: &[u8]) -> u32 {
        let mut mask = 0;
        for m in self.ac.find_overlapping_iter(text) {
            let (lit, exact, bits) = TRIGGERS[m.pattern().as_usize()];
            if mask & bits == bits || exact && &text[m.range()] != lit.as_bytes() {
                continue;
            }
            if lit == "SK" {
                // Twilio: SK and 32 hex digits.
                let rest = &text[m.end()..];
                if rest.len() < 32 || !rest[..32].iter().all(u8::is_ascii_hexdigit) {
                    continue;
                }
            }
            mask |= bits;
        }
        if digit_run(text, 13) {
            mask |= CARD;
        }
        mask
    }
}

/// Whether `text` holds `n` digits in a row, single spaces or dashes allowed between
/// them (the least a card number needs).
fn digit_run(text: &[u8], n: usize) -> bool {
    let mut run = 0;
    let mut sep = false;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        i += 1;
        if run == 0 {
            // A run starting in text[i - 1..i - 1 + n] covers text[i - 2 + n]: when
            // that byte is neither a digit nor a separator, skip past it.
            if let Some(&far) = text.get(i + n - 2) {
                if !(far.is_ascii_digit() || far == b' ' || far == b'-') {
                    i += n - 1;
                    continue;
                }
            }
        }
        if b.is_ascii_digit() {
            run += 1;
            sep = false;
            if run >= n {
                return true;
            }
        } else if (b == b' ' || b == b'-') && run > 0 && !sep {
            sep = true;
        } else {
            run = 0;
            sep = false;
        }
    }
    false
}

/// All detectors, with a literal prefilter in front.
#[derive(Clone)]
pub struct Detectors {
    pub list: Vec<Detector>,
    /// `None` when the user added patterns: their literals are unknown.
    trigger: Option<Trigger>,
}

impl Detectors {
    /// The built-in detectors minus `off` kinds, then `extra` (kind, regex).
    pub fn new(off: &[String], extra: &[(String, String)]) -> Result<Detectors, regex::Error> {
        let mut list = Vec::new();
        let detector = |kind, pat: &str, check, bit| -> Result<Detector, regex::Error> {
            Ok(Detector {
                kind,
                re: small(&format!("^(?:{pat})"))?,
                search: regex::RegexBuilder::new(&format!("(?:{})", pat.replace("(?P<v>", "(?:")))
                    .dfa_size_limit(256 << 10)
                    .build()?,
                bit,
                check,
            })
        };
        for (i, (kind, pat, check)) in BUILTIN.iter().enumerate() {
            if off.iter().any(|o| o.eq_ignore_ascii_case(kind)) {
                continue;
            }
            list.push(detector(kind, pat, *check, 1 << i)?);
        }
        for (kind, pat) in extra {
            let kind: &'static str = Box::leak(kind.clone().into_boxed_str());
            list.push(detector(kind, pat, Check::None, u32::MAX)?);
        }
        Ok(Detectors {
            list,
            trigger: Some(Trigger::new()),
        })
    }

    /// Every confirmed secret in `text`: (range of the secret, kind, which detector).
    ///
    /// Candidates are where the alternation of all detectors would match, leftmost
    /// first (the earliest start; at one start, the first detector in the list that
    /// matches there decides the end). Each detector is searched on its own, only if
    /// the trigger says it can match at all; its next match is kept until the scan
    /// passes it. At a candidate, the detectors are tried anchored in list order and
    /// the first confirmed one wins.
    pub fn find(&self, text: &str, out: &mut Vec<(Range<usize>, &'static str, Check)>) {
        if self.list.is_empty() {
            return;
        }
        let mask = match &self.trigger {
            Some(t) => t.hits(text.as_bytes()),
            None => u32::MAX,
        };
        // Per active detector: its next match at or after `from` (None: no more).
        struct Next {
            d: usize,
            from: usize,
            m: Option<Range<usize>>,
        }
        let active: Vec<usize> = (0..self.list.len())
            .filter(|&d| self.list[d].bit == u32::MAX || self.list[d].bit & mask != 0)
            .collect();
        if active.is_empty() {
            return;
        }
        let mut next_m: Vec<Next> = active
            .iter()
            .map(|&d| Next {
                d,
                from: usize::MAX,
                m: None,
            })
            .collect();
        let mut at = 0;
        while at < text.len() {
            // The leftmost start over all detectors, and the end of the first detector
            // (in list order) that matches there.
            let mut best: Option<Range<usize>> = None;
            for n in next_m.iter_mut() {
                let stale = n.from == usize::MAX || n.m.as_ref().is_some_and(|m| m.start < at);
                if stale {
                    n.m = self.list[n.d].search.find_at(text, at).map(|m| m.range());
                    n.from = at;
                }
                if let Some(m) = &n.m {
                    if best.as_ref().is_none_or(|b| m.start < b.start) {
                        best = Some(m.clone());
                    }
                }
            }
            next_m.retain(|n| n.m.is_some());
            let Some(m) = best else {
                break;
            };
            let mut next = m.end.max(m.start + 1);
            let rest = &text[m.start..];
            // Every detector that can match at all, also one whose own search does
            // not start here (anchored on the rest, `\b` sees no character before).
            for &d in &active {
                let d = &self.list[d];
                let Some(c) = d.re.captures(rest) else {
                    continue;
                };
                let whole = c.get(0).expect("group 0");
                let v = c.name("v").unwrap_or(whole);
                if confirm(d.check, v.as_str()) {
                    let r = v.range();
                    out.push((m.start + r.start..m.start + r.end, d.kind, d.check));
                    next = m.start + whole.end().max(1);
                    break;
                }
            }
            // Step to a char boundary.
            while next < text.len() && !text.is_char_boundary(next) {
                next += 1;
            }
            at = next;
        }
    }
}

/// The anchored confirmers run only on candidates: a small lazy-DFA cache each keeps
/// memory flat across threads.
fn small(pat: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pat)
        .dfa_size_limit(256 << 10)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::luhn_card;

    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        let d = Detectors::new(&[], &[]).unwrap();
        let mut out = Vec::new();
        d.find(text, &mut out);
        out.into_iter()
            .map(|(r, k, _)| (k, text[r].to_string()))
            .collect()
    }

    #[test]
    fn vendor_keys() {
        let t = "a AKIAQX7Z3N5B2KLM4P8R b ghp_R7d3Kx9Lq2Wm8Zt4Vn6Yb1Pc5Hs0Jf3Ga7Ue c \
                 xoxb-482619375018-5093742618450-Gk7Rt2Lq9Zx4Wm8Vb3Nc6Hy1 d \
                 sk_live_51Nq8ZxK3LmR7Tv2Wb9Yc4Dh6Fj0Gs5Pa8Ue1Ri3Ko7Mn2Xq4Zt e \
                 glpat-abcdefghij0123456789 f AIzaSyA1234567890abcdefghijklmnopqrstuv";
        let k: Vec<_> = kinds(t).into_iter().map(|x| x.0).collect();
        assert_eq!(
            k,
            [
                "aws key",
                "github token",
                "slack token",
                "stripe key",
                "gitlab token",
                "google key"
            ]
        );
    }

    #[test]
    fn trigger_is_a_superset() {
        // Only two non-ASCII characters fold to ASCII letters in `(?i:…)`; the trigger
        // lists both.
        let re = Regex::new("(?i)^[a-z]$").unwrap();
        let odd: Vec<u32> = (0x80..0x3_0000u32)
            .filter_map(char::from_u32)
            .filter(|c| re.is_match(c.encode_utf8(&mut [0; 4])))
            .map(|c| c as u32)
            .collect();
        assert_eq!(odd, [0x17F, 0x212A]);
        let t = Trigger::new();
        assert!(!t.hit(b"plain text, no key here: 12345 and a-b-c"));
        assert!(t.hit(b"x PASSWORD = 1"));
        assert!(t.hit("pa\u{17F}sword".as_bytes()));
        assert!(t.hit(b"4111 1111 1111 1111"));
        assert!(t.hit(b"4111-1111-1111-1111"));
        assert!(!t.hit(b"4111--1111-1111-1111"));
        assert!(t.hit(b"SK0123456789abcdef0123456789abcdef"));
        assert!(!t.hit(b"sk0123456789abcdef0123456789abcdef"));
        assert!(!t.hit(b"AKia"));
        // Every example of the tests below needs the trigger.
        for s in [
            "AKIAQX7Z3N5B2KLM4P8R",
            "glpat-abcdefghij0123456789",
            "jane.doe@example.com",
            "clientSecret: 'acme_cs_live_Q2x8dLk39ZpWm4Rt7Vb1Nc6Hy0Jf5Sg',",
            "-H 'Authorization: Basic b3BzLWFkbWluOmFkbTFuLVMzY3JldC1Qdy03Nw=='",
        ] {
            assert!(t.hit(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn cards_and_emails() {
        assert!(luhn_card("4111111111111111"));
        assert!(luhn_card("4111 1111 1111 1111"));
        assert!(!luhn_card("4111111111111112"));
        assert!(!luhn_card("1700000000000")); // a timestamp
        let k =
            kinds("pay 4111111111111111 at 1700000000000 to jane.doe@example.com, not icon@2x.png");
        assert_eq!(
            k,
            [
                ("card", "4111111111111111".to_string()),
                ("email", "jane.doe@example.com".to_string())
            ]
        );
    }

    #[test]
    fn code_and_html() {
        let k = kinds("clientSecret: 'acme_cs_live_Q2x8dLk39ZpWm4Rt7Vb1Nc6Hy0Jf5Sg',");
        assert_eq!(k[0].1, "acme_cs_live_Q2x8dLk39ZpWm4Rt7Vb1Nc6Hy0Jf5Sg");
        let k = kinds(r#"<input type="hidden" name="csrf" value="b4hSV3fjDazN7wb5EYQLA6LQ">"#);
        assert_eq!(k[0].1, "b4hSV3fjDazN7wb5EYQLA6LQ");
        let k = kinds("https://bob:hunter22@example.com/x");
        assert_eq!(k[0], ("userinfo", "bob:hunter22".to_string()));
        let k = kinds("-H 'Authorization: Basic b3BzLWFkbWluOmFkbTFuLVMzY3JldC1Qdy03Nw=='");
        assert_eq!(k[0].1, "b3BzLWFkbWluOmFkbTFuLVMzY3JldC1Qdy03Nw==");
        assert!(kinds("the type is basic authentication").is_empty());
    }
}
