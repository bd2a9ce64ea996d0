//! Which field names are credential-like: `password`, `X-Api-Key`, `csrftoken`,
//! `client_secret` … (by exact name, or by a part such as `token`), and how strongly
//! each marks its value.

use aho_corasick::AhoCorasick;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// A field name reduced to lower-case letters and digits: `X-Api-Key`, `api_key` and
/// `apiKey` all become `apikey`.
pub fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// [`normalize`] without allocating for names of up to 64 bytes.
fn with_normalized<T>(name: &str, f: impl FnOnce(&str) -> T) -> T {
    if name.len() > 64 {
        return f(&normalize(name));
    }
    let mut buf = [0u8; 64];
    let mut n = 0;
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() {
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
    }
    f(std::str::from_utf8(&buf[..n]).expect("ASCII"))
}

/// How strongly a name marks its value as sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strength {
    /// Always redact (passwords, secrets, tokens …).
    Strong,
    /// Redact only values that look random (`code`, `state`, `nonce`: these names are
    /// also used for ordinary things such as `"code": "invalid_grant"`).
    Weak,
}

/// Names that are sensitive as they are (after [`normalize`]).
const EXACT: &[(&str, &str, Strength)] = &[
    ("password", "password", Strength::Strong),
    ("passwd", "password", Strength::Strong),
    ("pwd", "password", Strength::Strong),
    ("pass", "password", Strength::Strong),
    ("passphrase", "password", Strength::Strong),
    ("pin", "password", Strength::Weak),
    ("otp", "password", Strength::Weak),
    ("totp", "password", Strength::Weak),
    ("mfacode", "password", Strength::Weak),
    ("secret", "secret", Strength::Strong),
    ("clientsecret", "secret", Strength::Strong),
    ("token", "token", Strength::Strong),
    ("accesstoken", "token", Strength::Strong),
    ("refreshtoken", "token", Strength::Strong),
    ("idtoken", "token", Strength::Strong),
    ("authtoken", "token", Strength::Strong),
    ("sessiontoken", "token", Strength::Strong),
    ("code", "oauth code", Strength::Weak),
    ("authcode", "oauth code", Strength::Weak),
    ("authorizationcode", "oauth code", Strength::Weak),
    ("codeverifier", "pkce verifier", Strength::Strong),
    ("state", "oauth state", Strength::Weak),
    ("nonce", "oauth state", Strength::Weak),
    ("sessionstate", "oauth state", Strength::Weak),
    ("relaystate", "oauth state", Strength::Weak),
    ("samlrequest", "saml", Strength::Strong),
    ("samlresponse", "saml", Strength::Strong),
    ("samlart", "saml", Strength::Strong),
    ("apikey", "api key", Strength::Strong),
    ("xapikey", "api key", Strength::Strong),
    ("key", "api key", Strength::Weak),
    ("accesskey", "api key", Strength::Strong),
    ("authorization", "authorization", Strength::Strong),
    ("proxyauthorization", "authorization", Strength::Strong),
    ("xauthtoken", "token", Strength::Strong),
    ("xaccesstoken", "token", Strength::Strong),
    ("csrf", "csrf token", Strength::Strong),
    ("xsrf", "csrf token", Strength::Strong),
    ("csrftoken", "csrf token", Strength::Strong),
    ("xcsrftoken", "csrf token", Strength::Strong),
    ("xsrftoken", "csrf token", Strength::Strong),
    ("xxsrftoken", "csrf token", Strength::Strong),
    ("csrfmiddlewaretoken", "csrf token", Strength::Strong),
    ("authenticitytoken", "csrf token", Strength::Strong),
    ("requestverificationtoken", "csrf token", Strength::Strong),
    ("sid", "session", Strength::Weak),
    ("sessionid", "session", Strength::Strong),
    ("session", "session", Strength::Weak),
    ("jsessionid", "session", Strength::Strong),
    ("phpsessid", "session", Strength::Strong),
    ("aspnetsessionid", "session", Strength::Strong),
    ("sig", "signature", Strength::Weak),
    ("signature", "signature", Strength::Weak),
    ("xamzsignature", "signature", Strength::Strong),
    ("xamzcredential", "api key", Strength::Strong),
    ("xamzsecuritytoken", "token", Strength::Strong),
    ("xgoogapikey", "api key", Strength::Strong),
    ("xfunctionskey", "api key", Strength::Strong),
    ("privatekey", "private key", Strength::Strong),
    ("cvc", "card", Strength::Strong),
    ("cvv", "card", Strength::Strong),
    ("cvv2", "card", Strength::Strong),
    ("cvc2", "card", Strength::Strong),
    ("cardnumber", "card", Strength::Strong),
    ("ccnumber", "card", Strength::Strong),
    ("pan", "card", Strength::Weak),
    ("ssn", "pii", Strength::Strong),
    ("username", "pii", Strength::Strong),
    ("user", "pii", Strength::Weak),
    ("login", "pii", Strength::Weak),
    ("email", "email", Strength::Strong),
    ("emailaddress", "email", Strength::Strong),
    ("mail", "email", Strength::Weak),
    ("phone", "pii", Strength::Strong),
    ("phonenumber", "pii", Strength::Strong),
];

/// Parts that make any name containing them sensitive.
const CONTAINS: &[(&str, &str)] = &[
    ("password", "password"),
    ("passwd", "password"),
    ("secret", "secret"),
    ("token", "token"),
    ("apikey", "api key"),
    ("privatekey", "private key"),
    ("accesskey", "api key"),
    ("authkey", "api key"),
    ("subscriptionkey", "api key"),
    ("credential", "credential"),
    ("csrf", "csrf token"),
    ("xsrf", "csrf token"),
    ("sessionid", "session"),
];

/// Endings that make a name describe a secret rather than hold one
/// (`token_type`, `token_endpoint`, `password_policy`, `accessKeyId` …).
const NOT_SUFFIX: &[&str] = &[
    "type",
    "types",
    "url",
    "uri",
    "endpoint",
    "method",
    "methods",
    "expiresin",
    "expires",
    "expiry",
    "expiration",
    "ttl",
    "lifetime",
    "length",
    "count",
    "hint",
    "policy",
    "required",
    "enabled",
    "present",
    "format",
    "path",
    "name",
    "id",
    "field",
    "header",
    "param",
    "supported",
];

/// `Access-Control-Allow-Credentials`, `Access-Control-Allow-Headers: X-Api-Key` … say
/// which credentials may be sent, not what they are.
const NOT_PREFIX: &[&str] = &["accesscontrol", "www"];

/// Words that make a flag of a credential part they are directly followed by
/// (`isTokenValid`, `hasPassword`, `showPassword`, `usePassword`) — but not of a longer
/// word that merely starts with them (`userPassword`, `hashedPassword`, `user_token`).
const NOT_FLAG: &[&str] = &["is", "has", "show", "use"];

static EXACT_MAP: LazyLock<HashMap<&'static str, (&'static str, Strength)>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for (n, kind, s) in EXACT {
        m.entry(*n).or_insert((*kind, *s));
    }
    m
});

static CONTAINS_AC: LazyLock<AhoCorasick> =
    LazyLock::new(|| AhoCorasick::new(CONTAINS.iter().map(|(c, _)| c)).expect("name parts build"));

/// Compiled name rules: the built-in lists plus the user's additions and keeps.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub add: HashSet<String>,
    pub keep: HashSet<String>,
}

impl Names {
    /// The kind of secret a field called `name` holds, if any.
    pub fn classify(&self, name: &str) -> Option<(&'static str, Strength)> {
        with_normalized(name, |n| self.classify_normalized(n))
    }

    fn classify_normalized(&self, n: &str) -> Option<(&'static str, Strength)> {
        if n.is_empty() || self.keep.contains(n) {
            return None;
        }
        if self.add.contains(n) {
            return Some(("custom", Strength::Strong));
        }
        if let Some(&(kind, s)) = EXACT_MAP.get(n) {
            return Some((kind, s));
        }
        // The first part of CONTAINS (in list order) that occurs in the name.
        let (first, at) = CONTAINS_AC
            .find_overlapping_iter(n)
            .map(|m| (m.pattern().as_usize(), m.start()))
            .min()?;
        if NOT_SUFFIX.iter().any(|s| n.ends_with(s))
            || NOT_PREFIX.iter().any(|p| n.starts_with(p))
            || NOT_FLAG.iter().any(|p| at == p.len() && n.starts_with(p))
        {
            return None;
        }
        Some((CONTAINS[first].1, Strength::Strong))
    }

    pub fn is_kept(&self, name: &str) -> bool {
        !self.keep.is_empty() && with_normalized(name, |n| self.keep.contains(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = Names::default();
        assert_eq!(n.classify("X-Api-Key").unwrap().0, "api key");
        assert_eq!(n.classify("client_secret").unwrap().0, "secret");
        assert_eq!(n.classify("secretAccessKey").unwrap().0, "secret");
        assert_eq!(n.classify("refresh_token").unwrap().0, "token");
        assert_eq!(n.classify("code").unwrap().1, Strength::Weak);
        assert!(n.classify("token_type").is_none());
        assert!(n.classify("expires_in").is_none());
        assert!(n.classify("Access-Control-Allow-Credentials").is_none());
        assert!(n.classify("accept").is_none());
        assert!(n.classify("client_id").is_none());
        assert!(n.classify("code_challenge").is_none());
        for name in [
            "userPassword",
            "user_password",
            "user_token",
            "hashedPassword",
            "X-Auth-Key",
            "Ocp-Apim-Subscription-Key",
            "X-Functions-Key",
            "X-Api-Key ",
        ] {
            assert!(n.classify(name).is_some(), "{name}");
        }
        for name in ["isTokenValid", "hasPassword", "showPassword", "use_token"] {
            assert!(n.classify(name).is_none(), "{name}");
        }
        let mut k = Names::default();
        k.keep.insert("csrf".into());
        assert!(k.classify("csrf").is_none());
    }
}
