//! The built-in detectors' patterns (vendor key formats from the vendors'
//! documentation, JWTs, PEM private keys, card numbers, e-mail addresses, credentials
//! assigned in code) and the literals that trigger them.

use crate::Check;

/// (kind, pattern, check). Word boundaries are ASCII (`(?-u:\b)`) so the fast DFA
/// engine works on any text.
pub(crate) const BUILTIN: &[(&str, &str, Check)] = &[
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
pub(crate) const TRIGGERS: &[(&str, bool, u32)] = &[
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
pub(crate) const CARD: u32 = 1 << 16;
