//! JSON Web Tokens as they appear in HAR files: find them in any text and decode their
//! header and claims. Nothing is verified (there is no key); this is for reading.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JwtError {
    #[error("not three dot-separated parts")]
    Shape,
    #[error("the {0} is not base64url")]
    Base64(&'static str),
    #[error("the {0} is not a JSON object")]
    Json(&'static str),
}

/// A decoded JWT (JWS compact form). `signature` is the third part as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Jwt<'a> {
    pub raw: &'a str,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub signature: &'a str,
}

fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, JwtError> {
    let trimmed = part.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(part))
        .map_err(|_| JwtError::Base64(what))
}

fn object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, JwtError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwtError::Json(what)),
    }
}

/// Decode `token` (`header.payload.signature`).
pub fn decode(token: &str) -> Result<Jwt<'_>, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Shape);
    };
    Ok(Jwt {
        raw: token,
        header: object(&b64(h, "header")?, "header")?,
        claims: object(&b64(p, "payload")?, "payload")?,
        signature: s,
    })
}

impl Jwt<'_> {
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }
    fn time_claim(&self, k: &str) -> Option<f64> {
        self.claims.get(k).and_then(Value::as_f64)
    }
    /// `exp`, `nbf` and `iat` in seconds since the epoch.
    pub fn exp(&self) -> Option<f64> {
        self.time_claim("exp")
    }
    pub fn nbf(&self) -> Option<f64> {
        self.time_claim("nbf")
    }
    pub fn iat(&self) -> Option<f64> {
        self.time_claim("iat")
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Every JWT in `text`, as byte ranges with the decoded token. A candidate is three
/// base64url runs joined by dots whose first two decode to JSON objects and whose header
/// names an `alg` (so ordinary dotted words are not taken for tokens).
pub fn find_all(text: &str) -> Vec<(std::ops::Range<usize>, Jwt<'_>)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // A JWT header is a JSON object, so its base64url starts with "ey" ('{"' encoded).
    while let Some(off) = find(&b[i..], b"ey") {
        let start = i + off;
        if start > 0 && (is_b64url(b[start - 1]) || b[start - 1] == b'.') {
            i = start + 2;
            continue;
        }
        let mut end = start;
        let mut dots = 0;
        while end < b.len() && (is_b64url(b[end]) || (b[end] == b'.' && dots < 2)) {
            if b[end] == b'.' {
                dots += 1;
            }
            end += 1;
        }
        if dots == 2 {
            let cand = &text[start..end];
            if let Ok(jwt) = decode(cand) {
                if jwt.alg().is_some() {
                    out.push((start..end, jwt));
                    i = end;
                    continue;
                }
            }
        }
        i = start + 2;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    // {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890","name":"John Doe","iat":1516239022}
    const T: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    #[test]
    fn decodes_header_and_claims() {
        let j = decode(T).unwrap();
        assert_eq!(j.alg(), Some("HS256"));
        assert_eq!(j.claims["name"], "John Doe");
        assert_eq!(j.iat(), Some(1516239022.0));
        assert_eq!(j.signature, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
        assert_eq!(decode("a.b"), Err(JwtError::Shape));
        assert_eq!(decode("e30.!!.x"), Err(JwtError::Base64("payload")));
    }

    #[test]
    fn finds_tokens_in_text_and_skips_lookalikes() {
        let text = format!(
            "Authorization: Bearer {T}\n{{\"id_token\":\"{T}\"}} eyes.open.wide www.example.com"
        );
        let found = find_all(&text);
        assert_eq!(found.len(), 2);
        assert_eq!(&text[found[0].0.clone()], T);
        // unsigned tokens (alg none) have an empty third part
        let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        let found = find_all(none);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.alg(), Some("none"));
    }
}
