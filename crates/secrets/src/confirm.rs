//! What confirms a candidate match: checksums and decodings that a regular expression
//! cannot express (Luhn for cards, JSON for JWTs, base64 for Basic credentials, file
//! names that look like e-mail addresses).

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

pub(crate) fn confirm(check: Check, v: &str) -> bool {
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
