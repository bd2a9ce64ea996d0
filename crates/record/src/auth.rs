//! `--token`: proxy authentication for a proxy that listens beyond loopback. Clients
//! send `Proxy-Authorization: Basic base64(any-user:TOKEN)` (a proxy URL such as
//! `http://hark:TOKEN@host:8080`); anything else gets 407 with `Proxy-Authenticate`. The
//! header is not forwarded upstream and not recorded.

use crate::proxy::{Decision, Policy};
use base64::Engine;
use http::{header, HeaderMap, Method};
use std::sync::Arc;

pub struct ProxyToken {
    token: String,
}

/// The tag of a tunnel whose `CONNECT` carried the token: requests inside it pass.
pub const TUNNEL_OK: &str = "proxy-auth-ok";

/// The `(user, password)` pairs of the `Proxy-Authorization: Basic` headers in `headers`
/// (undecodable ones skipped).
pub fn basic_credentials(headers: &HeaderMap) -> impl Iterator<Item = (String, String)> + '_ {
    basic_credentials_in(headers, header::PROXY_AUTHORIZATION)
}

/// The `(user, password)` pairs of the `Basic` credentials in the `name` headers of
/// `headers` (`Authorization` for a server, `Proxy-Authorization` for a proxy;
/// undecodable ones skipped).
pub fn basic_credentials_in(
    headers: &HeaderMap,
    name: header::HeaderName,
) -> impl Iterator<Item = (String, String)> + '_ {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, cred) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(cred.trim())
        })
        .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .filter_map(|d| String::from_utf8(d).ok())
        .filter_map(|up| {
            let (u, p) = up.split_once(':')?;
            Some((u.to_string(), p.to_string()))
        })
}

impl ProxyToken {
    pub fn new(token: impl Into<String>) -> ProxyToken {
        ProxyToken {
            token: token.into(),
        }
    }

    /// Whether `password` is the token (constant time).
    pub fn is(&self, password: &str) -> bool {
        har::http::same_secret(password.as_bytes(), self.token.as_bytes())
    }

    /// Whether `headers` carry Basic proxy credentials with the token as password (any
    /// user name).
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        basic_credentials(headers).any(|(_, pw)| self.is(&pw))
    }

    fn decide(&self, ok: bool, tag: Option<Arc<str>>) -> Decision {
        if ok {
            Decision {
                tag,
                headers: vec![(header::PROXY_AUTHORIZATION, None)],
                ..Decision::default()
            }
        } else {
            Decision::answer(407)
        }
    }
}

impl Policy for ProxyToken {
    fn request(
        &self,
        tag: Option<&Arc<str>>,
        _method: &Method,
        _url: &str,
        headers: &HeaderMap,
    ) -> Decision {
        // Requests inside a tunnel were authorised by its CONNECT.
        let in_tunnel = tag.is_some_and(|t| &**t == TUNNEL_OK);
        self.decide(in_tunnel || self.accepts(headers), None)
    }

    fn connect(&self, _authority: &str, headers: &HeaderMap) -> Decision {
        self.decide(self.accepts(headers), Some(Arc::from(TUNNEL_OK)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pw: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pw)
        );
        h.insert(header::PROXY_AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn only_the_token_passes() {
        let p = ProxyToken::new("s3cret");
        let m = Method::GET;
        assert_eq!(
            p.request(None, &m, "http://a/", &HeaderMap::new()).answer,
            Some(407)
        );
        assert_eq!(
            p.request(None, &m, "http://a/", &basic("x:nope")).answer,
            Some(407)
        );
        assert_eq!(
            p.request(None, &m, "http://a/", &basic("hark:s3cret"))
                .answer,
            None
        );
        let c = p.connect("a:443", &basic("any:s3cret"));
        assert_eq!(c.answer, None);
        let tag = c.tag.unwrap();
        assert_eq!(
            p.request(Some(&tag), &m, "https://a/", &HeaderMap::new())
                .answer,
            None
        );
        assert_eq!(p.connect("a:443", &HeaderMap::new()).answer, Some(407));
    }
}
