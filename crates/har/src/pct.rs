//! Percent-decoding of URL parts and form fields (`application/x-www-form-urlencoded`),
//! shared by every crate that reads query strings and form bodies. Bad escapes (`%`
//! not followed by two hex digits) are kept as written, as browsers do.

use std::borrow::Cow;

/// The value of one hex digit (either case).
pub fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The bytes `s` stands for; with `plus`, `+` is a space (query strings, form bodies).
pub fn decode_bytes(s: &str, plus: bool) -> Cow<'_, [u8]> {
    if !(s.contains('%') || plus && s.contains('+')) {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hexval(b[i + 1]), hexval(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// [`decode_bytes`] as text, invalid UTF-8 replaced by U+FFFD (for showing).
pub fn decode_lossy(s: &str, plus: bool) -> String {
    match decode_bytes(s, plus) {
        Cow::Borrowed(_) => s.to_string(),
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(t) => t,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        },
    }
}

/// [`decode_bytes`] as text; `None` when the result is not UTF-8.
pub fn decode_utf8(s: &str, plus: bool) -> Option<String> {
    match decode_bytes(s, plus) {
        Cow::Borrowed(_) => Some(s.to_string()),
        Cow::Owned(v) => String::from_utf8(v).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus_and_keeps_bad_escapes() {
        assert_eq!(decode_utf8("a+b%26c%3", true).unwrap(), "a b&c%3");
        assert_eq!(decode_utf8("a+b", false).unwrap(), "a+b");
        assert_eq!(decode_utf8("s%3Aabc", false).unwrap(), "s:abc");
        assert_eq!(decode_utf8("%41", false).unwrap(), "A");
        assert_eq!(decode_utf8("%4", false).unwrap(), "%4");
        assert_eq!(decode_utf8("%", true).unwrap(), "%");
        // A sign is not a hex digit (u8::from_str_radix would take "+1").
        assert_eq!(decode_utf8("%+1", false).unwrap(), "%+1");
        assert_eq!(decode_utf8("%zz%C3%A9", false).unwrap(), "%zzé");
        assert_eq!(decode_utf8("%FF", false), None);
        assert_eq!(decode_lossy("%FFa", false), "\u{FFFD}a");
        assert!(matches!(decode_bytes("plain", true), Cow::Borrowed(_)));
    }
}
