//! Detectors: secrets recognised by their shape wherever they are (vendor key formats
//! from the vendors' documentation, JWTs, PEM private keys, card numbers, e-mail
//! addresses, credentials assigned in code).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;
use std::ops::Range;

/// What to do with a match once its shape is confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    None,
    /// Payment card: Luhn checksum and a known issuer prefix.
    Luhn,
    /// A JWT: its first two parts decode to JSON objects.
    Jwt,
    /// `Basic` credentials: base64 of `user:password`.
    Basic,
    /// An e-mail address not shaped like a file name (`icon@2x.png`).
    Email,
}

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

/// (kind, pattern, check). Word boundaries are ASCII (`(?-u:\b)`) so the fast DFA
/// engine works on any text.
const BUILTIN: &[(&str, &str, Check)] = &[
    (
        "private key",
        r"-----BEGIN[A-Z ]* PRIVATE KEY(?: BLOCK)?-----[\s\S]+?-----END[A-Z ]* PRIVATE KEY(?: BLOCK)?-----",
        Check::None,
    ),
    (
        "jwt",
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
        Check::Jwt,
    ),
    // AWS access key ids (IAM user, STS, …).
    (
        "aws key",
        r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?-u:\b)",
        Check::None,
    ),
    // GitHub: classic and fine-grained tokens.
    (
        "github token",
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})(?-u:\b)",
        Check::None,
    ),
    // GitLab personal/deploy/runner/… tokens.
    (
        "gitlab token",
        r"(?-u:\b)gl(?:pat|dt|rt|ptt|ft|imt|oas|cbt|soat|agent|ffct)-[A-Za-z0-9_-]{20,}",
        Check::None,
    ),
    // Slack bot/user/app tokens and incoming webhooks.
    (
        "slack token",
        r"(?-u:\b)(?:xox[abposer]-[0-9A-Za-z-]{10,}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+)",
        Check::None,
    ),
    (
        "slack webhook",
        r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,}",
        Check::None,
    ),
    // Stripe secret and restricted keys, webhook secrets.
    (
        "stripe key",
        r"(?-u:\b)(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/=]{24,})",
        Check::None,
    ),
    // Google: API keys, OAuth client secrets, OAuth access and refresh tokens.
    (
        "google key",
        r"(?-u:\b)(?:AIza[0-9A-Za-z_-]{35}|GOCSPX-[0-9A-Za-z_-]{28}|ya29\.[0-9A-Za-z_-]{20,}|1//0[0-9A-Za-z_-]{40,})",
        Check::None,
    ),
    // npm, PyPI, SendGrid, Shopify, DigitalOcean, HashiCorp Vault, Anthropic, OpenAI,
    // Twilio API keys, Mailgun, Azure storage account keys.
    (
        "api key",
        r"(?-u:\b)(?:npm_[A-Za-z0-9]{36}|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}|do[opr]_v1_[a-f0-9]{64}|hv[sbr]\.[A-Za-z0-9_-]{24,}|sk-ant-[a-z0-9]+-[A-Za-z0-9_-]{32,}|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}|sk-proj-[A-Za-z0-9_-]{40,}|SK[0-9a-f]{32}|key-[0-9a-z]{32})(?-u:\b)",
        Check::None,
    ),
    (
        "api key",
        r"AccountKey=(?P<v>[A-Za-z0-9+/]{86}==)",
        Check::None,
    ),
    // Credentials in a URL: scheme://user:password@host
    (
        "userinfo",
        r#"(?-u:\b)[a-zA-Z][a-zA-Z0-9+.-]{1,20}://(?P<v>[^/\s:@'`<>"]+:[^/\s@'`<>"]+)@"#,
        Check::None,
    ),
    // HTTP auth written out in text (logs, curl commands, code).
    (
        "authorization",
        r"(?i:basic)[ \t]+(?P<v>[A-Za-z0-9+/]{8,}={0,2})",
        Check::Basic,
    ),
    (
        "authorization",
        r"(?i:bearer)[ \t]+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)",
        Check::None,
    ),
    // Secrets assigned in code or config: password: '…', "client_secret" = "…"
    (
        "secret",
        r#"(?i:[A-Za-z0-9_.-]*(?:password|passwd|secret|api_?key|access_?token|refresh_?token|private_?key|auth_?token)[A-Za-z0-9_.-]*)["']?[ \t]*[:=][ \t]*["'](?P<v>[^"'\s\\]{6,})["']"#,
        Check::None,
    ),
    // Hidden form inputs carrying tokens.
    (
        "csrf token",
        r#"(?i:name)=["'][A-Za-z0-9_.-]*(?i:csrf|xsrf|token|nonce|authenticity)[A-Za-z0-9_.-]*["'][^>]*?(?i:value)=["'](?P<v>[^"'\s]{8,})["']"#,
        Check::None,
    ),
    // Payment cards: issuer prefixes of Visa, Mastercard, Amex, Discover, JCB, Diners.
    (
        "card",
        r"(?-u:\b)[2-6][0-9](?:[ -]?[0-9]){11,17}(?-u:\b)",
        Check::Luhn,
    ),
    (
        "email",
        r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?-u:\b)",
        Check::Email,
    ),
];

/// Literals one of which every built-in detector needs in its match (matched ASCII
/// case-insensitively; `true`: the case must also be exact), with the detectors (bits:
/// indexes in [`BUILTIN`]) that need it. A detector none of whose literals occurs in a
/// text (for cards: no run of 13 digits) cannot match anywhere in it, so it is not
/// searched, and most strings never reach a regex.
const TRIGGERS: &[(&str, bool, u32)] = &[
    ("-----BEGIN", true, 1 << 0),
    ("eyJ", true, 1 << 1),
    // AWS key ids.
    ("AKIA", true, 1 << 2),
    ("ASIA", true, 1 << 2),
    ("ABIA", true, 1 << 2),
    ("ACCA", true, 1 << 2),
    ("AGPA", true, 1 << 2),
    ("AIDA", true, 1 << 2),
    ("AROA", true, 1 << 2),
    ("AIPA", true, 1 << 2),
    ("ANPA", true, 1 << 2),
    ("ANVA", true, 1 << 2),
    ("APKA", true, 1 << 2),
    // GitHub, GitLab.
    ("ghp_", true, 1 << 3),
    ("gho_", true, 1 << 3),
    ("ghu_", true, 1 << 3),
    ("ghs_", true, 1 << 3),
    ("ghr_", true, 1 << 3),
    ("github_pat_", true, 1 << 3),
    ("glpat-", true, 1 << 4),
    ("gldt-", true, 1 << 4),
    ("glrt-", true, 1 << 4),
    ("glptt-", true, 1 << 4),
    ("glft-", true, 1 << 4),
    ("glimt-", true, 1 << 4),
    ("gloas-", true, 1 << 4),
    ("glcbt-", true, 1 << 4),
    ("glsoat-", true, 1 << 4),
    ("glagent-", true, 1 << 4),
    ("glffct-", true, 1 << 4),
    // Slack.
    ("xox", true, 1 << 5),
    ("xapp-", true, 1 << 5),
    ("hooks.slack.com", true, 1 << 6),
    // Stripe.
    ("sk_live_", true, 1 << 7),
    ("sk_test_", true, 1 << 7),
    ("rk_live_", true, 1 << 7),
    ("rk_test_", true, 1 << 7),
    ("whsec_", true, 1 << 7),
    // Google.
    ("AIza", true, 1 << 8),
    ("GOCSPX-", true, 1 << 8),
    ("ya29.", true, 1 << 8),
    ("1//0", true, 1 << 8),
    // npm, PyPI, SendGrid, Shopify, DigitalOcean, Vault, Anthropic/OpenAI, Twilio,
    // Mailgun, Azure.
    ("npm_", true, 1 << 9),
    ("pypi-AgEIcHlwaS5vcmc", true, 1 << 9),
    ("SG.", true, 1 << 9),
    ("shpat_", true, 1 << 9),
    ("shpca_", true, 1 << 9),
    ("shppa_", true, 1 << 9),
    ("shpss_", true, 1 << 9),
    ("doo_v1_", true, 1 << 9),
    ("dop_v1_", true, 1 << 9),
    ("dor_v1_", true, 1 << 9),
    ("hvs.", true, 1 << 9),
    ("hvb.", true, 1 << 9),
    ("hvr.", true, 1 << 9),
    ("sk-", true, 1 << 9),
    ("SK", true, 1 << 9),
    ("key-", true, 1 << 9),
    ("AccountKey=", true, 1 << 10),
    // URL userinfo and e-mail addresses.
    ("@", true, 1 << 11 | 1 << 17),
    // Case-insensitive words: Basic/Bearer in text, secrets assigned in code, hidden
    // token inputs.
    ("basic", false, 1 << 12),
    ("bearer", false, 1 << 13),
    ("password", false, 1 << 14),
    ("passwd", false, 1 << 14),
    ("secret", false, 1 << 14),
    ("api_key", false, 1 << 14),
    ("apikey", false, 1 << 14),
    ("access_token", false, 1 << 14),
    ("accesstoken", false, 1 << 14),
    ("refresh_token", false, 1 << 14),
    ("refreshtoken", false, 1 << 14),
    ("private_key", false, 1 << 14),
    ("privatekey", false, 1 << 14),
    ("auth_token", false, 1 << 14),
    ("authtoken", false, 1 << 14),
    ("csrf", false, 1 << 15),
    ("xsrf", false, 1 << 15),
    ("token", false, 1 << 14 | 1 << 15),
    ("nonce", false, 1 << 15),
    ("authenticity", false, 1 << 15),
    // The detectors' `(?i:…)` words fold Unicode case: U+017F (ſ) matches `s` and
    // U+212A (Kelvin sign) matches `k`.
    ("\u{17F}", true, 1 << 12 | 1 << 14 | 1 << 15),
    ("\u{212A}", true, 1 << 12 | 1 << 14 | 1 << 15),
];

/// The trigger bit of the card detector (no literal: a run of digits).
const CARD: u32 = 1 << 16;

/// The literal prefilter in front of the detectors' regexes.
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

fn confirm(check: Check, v: &str) -> bool {
    match check {
        Check::None => true,
        Check::Luhn => luhn_card(v),
        Check::Jwt => jwt::decode(v).is_ok(),
        Check::Basic => basic_credentials(v).is_some(),
        Check::Email => {
            let domain = v.rsplit('@').next().unwrap_or("");
            let tld = domain.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            !matches!(
                tld.as_str(),
                "png"
                    | "jpg"
                    | "jpeg"
                    | "gif"
                    | "svg"
                    | "webp"
                    | "avif"
                    | "ico"
                    | "js"
                    | "mjs"
                    | "css"
                    | "map"
                    | "woff"
                    | "woff2"
                    | "ttf"
                    | "json"
                    | "html"
                    | "htm"
                    | "min"
            ) && !domain.chars().next().is_some_and(|c| c.is_ascii_digit())
        }
    }
}

/// `user:password` from base64 Basic credentials, when they decode to text with a colon.
pub fn basic_credentials(b64: &str) -> Option<(String, String)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(bytes).ok()?;
    if s.chars().any(|c| c.is_control()) {
        return None;
    }
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// A payment card number: 13–19 digits (spaces or dashes allowed between), a known
/// issuer prefix, and a valid Luhn checksum.
pub fn luhn_card(s: &str) -> bool {
    let digits: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let n = digits.len();
    if !(13..=19).contains(&n) {
        return false;
    }
    let seps: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_digit()).collect();
    if seps.iter().any(|&b| b != seps[0]) {
        return false;
    }
    let p2 = digits[0] as u32 * 10 + digits[1] as u32;
    let p4 = p2 * 100 + digits[2] as u32 * 10 + digits[3] as u32;
    let issuer = match digits[0] {
        4 => matches!(n, 13 | 16 | 19),              // Visa
        5 => (51..=55).contains(&p2) && n == 16,     // Mastercard
        2 => (2221..=2720).contains(&p4) && n == 16, // Mastercard
        3 => {
            ((p2 == 34 || p2 == 37) && n == 15)                                // Amex
            || ((3528..=3589).contains(&p4) && n >= 16)                         // JCB
            || ((p2 == 36 || p2 == 38 || (300..=305).contains(&(p4 / 10))) && n == 14)
        } // Diners
        6 => (p4 == 6011 || p2 == 65 || (644..=649).contains(&(p4 / 10))) && n >= 16, // Discover
        _ => false,
    };
    if !issuer {
        return false;
    }
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut d = *d as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

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
