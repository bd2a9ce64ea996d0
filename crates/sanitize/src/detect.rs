//! Detectors: secrets recognised by their shape wherever they are (vendor key formats
//! from the vendors' documentation, JWTs, PEM private keys, card numbers, e-mail
//! addresses, credentials assigned in code).

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

/// All detectors, plus one combined expression to find candidates in a single pass.
pub struct Detectors {
    pub list: Vec<Detector>,
    any: Option<Regex>,
}

impl Detectors {
    /// The built-in detectors minus `off` kinds, then `extra` (kind, regex).
    pub fn new(off: &[String], extra: &[(String, String)]) -> Result<Detectors, regex::Error> {
        let mut list = Vec::new();
        for (kind, pat, check) in BUILTIN {
            if off.iter().any(|o| o.eq_ignore_ascii_case(kind)) {
                continue;
            }
            list.push(Detector {
                kind,
                re: small(&format!("^(?:{pat})"))?,
                check: *check,
            });
        }
        for (kind, pat) in extra {
            let kind: &'static str = Box::leak(kind.clone().into_boxed_str());
            list.push(Detector {
                kind,
                re: small(&format!("^(?:{pat})"))?,
                check: Check::None,
            });
        }
        let any = if list.is_empty() {
            None
        } else {
            // Named groups cannot repeat, so the combined expression uses the patterns
            // with their names stripped.
            let alts: Vec<String> = list
                .iter()
                .map(|d| format!("(?:{})", d.re.as_str()[1..].replace("(?P<v>", "(?:")))
                .collect();
            Some(
                regex::RegexBuilder::new(&alts.join("|"))
                    .size_limit(64 << 20)
                    .dfa_size_limit(4 << 20)
                    .build()?,
            )
        };
        Ok(Detectors { list, any })
    }

    /// Every confirmed secret in `text`: (range of the secret, kind, which detector).
    pub fn find(&self, text: &str, out: &mut Vec<(Range<usize>, &'static str, Check)>) {
        let Some(any) = &self.any else { return };
        let mut at = 0;
        while at < text.len() {
            let Some(m) = any.find_at(text, at) else {
                break;
            };
            let mut next = m.end().max(m.start() + 1);
            let rest = &text[m.start()..];
            for d in &self.list {
                let Some(c) = d.re.captures(rest) else {
                    continue;
                };
                let whole = c.get(0).expect("group 0");
                let v = c.name("v").unwrap_or(whole);
                if confirm(d.check, v.as_str()) {
                    let r = v.range();
                    out.push((m.start() + r.start..m.start() + r.end, d.kind, d.check));
                    next = m.start() + whole.end().max(1);
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
