//! JWTs sent (in `Authorization` or the query) after they expired, or before they
//! were valid. Tokens are decoded, not verified.

use super::{Context, Findings, Rule};
use crate::util::{self, hash, human_ms};
use crate::Digest;
use har::Severity;
use std::collections::HashMap;

/// Decoded tokens remembered (then forgotten all at once).
const MAX_JWT_CACHE: usize = 2000;
/// Seconds of leeway before a token counts as expired (or not yet valid).
const JWT_LEEWAY_S: f64 = 5.0;

#[derive(Clone, Copy, Debug)]
struct JwtTimes {
    exp: Option<f64>,
    nbf: Option<f64>,
}

#[derive(Default)]
pub struct Jwts {
    /// Token hash → its times (`None`: not a JWT).
    cache: HashMap<u64, Option<JwtTimes>>,
}

impl Rule for Jwts {
    fn entry(&mut self, d: &Digest, cx: &mut Context<'_>) {
        if d.url.is_none() {
            return;
        }
        let e = &d.entry;
        let status = e.response().status().unwrap_or(0);
        let Some(at) = e.started_ms() else { return };
        let req = e.request();
        let mut found: Vec<(String, &str)> = Vec::new();
        for (n, v) in req.headers().iter() {
            if n.eq_ignore_ascii_case("authorization") {
                if let Some(t) = v.split_whitespace().nth(1) {
                    if t.starts_with("ey") {
                        found.push(("Authorization header".into(), t));
                    }
                }
            }
        }
        for (n, v) in req.query_string().iter() {
            if v.starts_with("ey") && v.matches('.').count() == 2 {
                found.push((format!("query parameter {n}"), v));
            }
        }
        for (name, tok) in found {
            let key = hash(tok);
            let times = match self.cache.get(&key) {
                Some(t) => *t,
                None => {
                    let t = jwt::decode(tok).ok().map(|j| JwtTimes {
                        exp: j.exp(),
                        nbf: j.nbf(),
                    });
                    if self.cache.len() >= MAX_JWT_CACHE {
                        self.cache.clear();
                    }
                    self.cache.insert(key, t);
                    t
                }
            };
            let Some(t) = times else { continue };
            let now = at / 1000.0;
            if let Some(exp) = t.exp {
                if now > exp + JWT_LEEWAY_S {
                    let rejected = status == 401 || status == 403;
                    let www = e
                        .response()
                        .headers()
                        .get("www-authenticate")
                        .map(|w| util::clip(w, 160));
                    let (u, m) = (
                        check::redact_query(req.url().unwrap_or("")),
                        req.method().unwrap_or("GET").to_string(),
                    );
                    cx.noted.note(
                        "jwt-expired",
                        if rejected { Severity::Error } else { Severity::Warning },
                        &[e.index],
                        || {
                            (
                                "Request made with an expired JWT".into(),
                                format!(
                                    "{m} {u} sent a token in its {name} that expired at {} ({} before the request at {}){}.",
                                    util::iso(exp * 1000.0),
                                    human_ms((now - exp) * 1000.0),
                                    util::iso(at),
                                    if rejected {
                                        format!(
                                            "; the server answered {status}{}",
                                            www.map(|w| format!(" with WWW-Authenticate: {w}")).unwrap_or_default()
                                        )
                                    } else {
                                        String::new()
                                    }
                                ),
                                "Refresh the access token before it expires (refresh_token grant or silent renew) instead of reusing a stored one; if the expiry looks wrong, compare the client's and the IdP's clocks.",
                            )
                        },
                    );
                }
            }
            if let Some(nbf) = t.nbf {
                if nbf > now + JWT_LEEWAY_S {
                    cx.noted.note("jwt-not-yet-valid", Severity::Warning, &[e.index], || {
                        (
                            "Request made with a JWT that is not valid yet".into(),
                            format!(
                                "The token's nbf is {}, {} after the request: the issuer's clock is ahead of the client's.",
                                util::iso(nbf * 1000.0),
                                human_ms((nbf - now) * 1000.0)
                            ),
                            "Synchronise clocks (NTP) on the issuer and the clients; allow a small leeway when validating.",
                        )
                    });
                }
            }
        }
    }

    fn finish(self: Box<Self>, _: &mut Findings) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;
    use base64::Engine;

    fn token(claims: serde_json::Value) -> String {
        let b = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.sig",
            b(serde_json::json!({"alg": "RS256"})),
            b(claims)
        )
    }

    #[test]
    fn an_expired_token_rejected_by_the_server() {
        // digest(0) starts at 2024-01-15T09:00:00Z; the token expired an hour before.
        let mut d = digest(0, "https://api.example/me", 401, &[]);
        let t = token(serde_json::json!({"exp": 1_705_305_600}));
        d.entry.value["request"]["headers"] =
            serde_json::json!([{"name": "Authorization", "value": format!("Bearer {t}")}]);
        let out = run(Jwts::default(), &[d]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].code, out[0].severity),
            ("jwt-expired", Severity::Error)
        );
        assert!(
            out[0]
                .detail
                .contains("expired at 2024-01-15T08:00:00Z (1.0 h before"),
            "{}",
            out[0].detail
        );
    }
}
