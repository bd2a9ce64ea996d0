//! Percent-encoding and base64 helpers (written out: small, and exact about what they
//! touch).

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

pub(crate) fn unreserved(b: u8) -> bool {
    UNRESERVED[b as usize]
}

/// [`unreserved`] as a table (it runs on every byte of the strings searched for values).
static UNRESERVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        c += 1;
    }
    t
};

fn encode_with(s: &str, keep: impl Fn(u8) -> bool, space_plus: bool) -> String {
    let mut out = Vec::with_capacity(s.len() + 16);
    for &b in s.as_bytes() {
        if keep(b) {
            out.push(b);
        } else if space_plus && b == b' ' {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
    }
    // Kept bytes are ASCII (every `keep` keeps only ASCII), the rest `%XX`.
    String::from_utf8(out).expect("ASCII")
}

/// Like JavaScript's `encodeURIComponent`: everything but unreserved characters.
pub fn pct_encode(s: &str) -> String {
    encode_with(
        s,
        |b| unreserved(b) || matches!(b, b'!' | b'*' | b'\'' | b'(' | b')'),
        false,
    )
}

/// For text already inside a URL: `%` stays (it already introduces an escape).
pub fn pct_encode_keep_pct(s: &str) -> String {
    encode_with(
        s,
        |b| {
            unreserved(b)
                || matches!(
                    b,
                    b'%' | b'!' | b'*' | b'\'' | b'(' | b')' | b'/' | b'+' | b'='
                )
        },
        false,
    )
}

/// `application/x-www-form-urlencoded` (space as `+`).
pub fn form_encode(s: &str) -> String {
    encode_with(s, |b| unreserved(b) || b == b'*', true)
}

/// `%2F` → `%2f`.
pub fn pct_lower(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            b[i + 1] = b[i + 1].to_ascii_lowercase();
            b[i + 2] = b[i + 2].to_ascii_lowercase();
            i += 3;
        } else {
            i += 1;
        }
    }
    String::from_utf8(b).unwrap_or_else(|_| s.to_string())
}

/// Percent-decode (`plus`: `+` is a space, as in form bodies and query strings). `None`
/// when the result is not UTF-8; bad escapes are kept as they are.
pub fn pct_decode(s: &str, plus: bool) -> Option<String> {
    har::pct::decode_utf8(s, plus)
}

pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok().or_else(|| {
        let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        STANDARD
            .decode(&clean)
            .ok()
            .or_else(|| STANDARD_NO_PAD.decode(clean.trim_end_matches('=')).ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        assert_eq!(pct_encode("[redacted: code]"), "%5Bredacted%3A%20code%5D");
        assert_eq!(form_encode("a b&c"), "a+b%26c");
        assert_eq!(pct_decode("a+b%26c%3", true).unwrap(), "a b&c%3");
        assert_eq!(pct_decode("s%3Aabc", false).unwrap(), "s:abc");
        assert_eq!(pct_decode("%41", false).unwrap(), "A");
        assert_eq!(pct_lower("s%3Aab%2F"), "s%3aab%2f");
    }
}
