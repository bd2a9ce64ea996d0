//! Value shapes (integers, UUIDs, hex, dates, e-mails, opaque tokens) and the path
//! segments built from them.

use serde::Serialize;

/// What a path segment or parameter value looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    Int,
    Uuid,
    Hex,
    Date,
    Email,
    Token,
    /// A key such as `ABC-123` (an issue tracker's).
    Key,
    /// Slugs (`why-rust`), templated from the evidence of their siblings.
    Slug,
    /// Locale codes (`en`, `fr-CA`), templated from the evidence of their siblings.
    Locale,
    /// A word; only templated from the evidence of its siblings (or a pin).
    Word,
}

impl Shape {
    /// What values of this shape are, for `--explain`.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Int => "integers",
            Shape::Uuid => "UUIDs",
            Shape::Hex => "hex ids or hashes",
            Shape::Date => "dates",
            Shape::Email => "e-mail addresses",
            Shape::Token => "opaque tokens",
            Shape::Key => "keys (ABC-123)",
            Shape::Slug => "slugs",
            Shape::Locale => "locale codes",
            Shape::Word => "words",
        }
    }

    /// The OpenAPI (type, format) of a value of this shape.
    pub fn openapi(self) -> (&'static str, Option<&'static str>) {
        match self {
            Shape::Int => ("integer", None),
            Shape::Uuid => ("string", Some("uuid")),
            Shape::Date => ("string", Some("date")),
            Shape::Email => ("string", Some("email")),
            Shape::Hex | Shape::Token | Shape::Key | Shape::Slug | Shape::Locale | Shape::Word => {
                ("string", None)
            }
        }
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ')
}

/// The shape of a value, or `None` for a static-looking word.
pub fn shape(s: &str) -> Option<Shape> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        return Some(Shape::Int);
    }
    if is_uuid(s) {
        return Some(Shape::Uuid);
    }
    if is_date(s) {
        return Some(Shape::Date);
    }
    if let Some(at) = s.find('@') {
        if at > 0 && s[at + 1..].contains('.') {
            return Some(Shape::Email);
        }
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    if b.iter().all(u8::is_ascii_hexdigit)
        && digits > 0
        && (b.len() >= 8 || b.len() == 7 && letters > 0)
    {
        return Some(Shape::Hex);
    }
    if is_key(b) {
        return Some(Shape::Key);
    }
    // Opaque tokens: long, mixing letters and digits (base64, ids like `ord_8f2k1`,
    // `wh_9fK2xQ`), but not a word with a version number (`oauth2`, `ipv6`, `http2`).
    let alnum = b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=' | b'.' | b'~'));
    if alnum
        && digits > 0
        && letters > 0
        && b.len() >= 6
        && !s.contains('.')
        && !versioned_word(b)
        && !is_slug(s)
    {
        return Some(Shape::Token);
    }
    if alnum && b.len() >= 20 && (digits > 0 || mixed_case(b)) {
        return Some(Shape::Token);
    }
    None
}

/// `ABC-123`, `OPS-3`: upper-case letters (and digits), a dash, digits.
fn is_key(b: &[u8]) -> bool {
    let Some(dash) = b.iter().position(|c| *c == b'-') else {
        return false;
    };
    let (head, tail) = (&b[..dash], &b[dash + 1..]);
    (1..=10).contains(&head.len())
        && head[0].is_ascii_uppercase()
        && head
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && !tail.is_empty()
        && tail.len() <= 12
        && tail.iter().all(u8::is_ascii_digit)
}

/// Letters then at most two digits, nothing else: `oauth2`, `ipv6`, `web3`.
fn versioned_word(b: &[u8]) -> bool {
    let letters = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let rest = &b[letters..];
    letters > 0 && rest.len() <= 2 && rest.iter().all(u8::is_ascii_digit)
}

fn mixed_case(b: &[u8]) -> bool {
    b.iter().any(u8::is_ascii_uppercase) && b.iter().any(u8::is_ascii_lowercase)
}

/// A locale code: `en`, `fr`, `en-US`, `pt_BR`, `zh-hant` (only its siblings make it
/// a parameter: `/en/…` beside `/fr/…`).
pub fn is_locale(s: &str) -> bool {
    let b = s.as_bytes();
    let lang = |x: &[u8]| x.len() == 2 && x.iter().all(u8::is_ascii_lowercase);
    match b.len() {
        2 => lang(b),
        5 | 7 => {
            lang(&b[..2])
                && matches!(b[2], b'-' | b'_')
                && b[3..].iter().all(u8::is_ascii_alphabetic)
        }
        _ => false,
    }
}

/// A slug: lower-case words joined by dashes (`why-rust`, `hello-world-2`), the shape
/// of many ids but also of resource names (`audit-log`): only its siblings tell.
pub fn is_slug(s: &str) -> bool {
    let parts = s.split('-').count();
    parts >= 2
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// One segment of a templated path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Lit(String),
    Param(Shape),
}

/// `users` → `user`, `categories` → `category`, `addresses` → `address`.
pub fn singular(w: &str) -> String {
    let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if let Some(s) = w.strip_suffix("ies") {
        return format!("{s}y");
    }
    for suf in ["sses", "xes", "ches", "shes"] {
        if w.ends_with(suf) {
            return w[..w.len() - 2].to_string();
        }
    }
    if w.ends_with('s') && !w.ends_with("ss") && w.len() > 1 {
        return w[..w.len() - 1].to_string();
    }
    w.to_string()
}

fn camel(w: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in w.chars() {
        if c == '-' || c == '_' || c == '.' {
            up = !out.is_empty();
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Names for the parameters of a templated path: `{userId}` after `users`.
pub fn param_names(segs: &[Seg]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    // The next number to try after each base (linear in the number of parameters).
    let mut next: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, s) in segs.iter().enumerate() {
        let Seg::Param(shape) = s else { continue };
        let prev = match i.checked_sub(1).map(|j| &segs[j]) {
            Some(Seg::Lit(w)) if !w.is_empty() => Some(camel(&singular(w))),
            _ => None,
        };
        let base = match (prev, shape) {
            (Some(p), Shape::Word) => p,
            (Some(p), Shape::Slug) => format!("{p}Slug"),
            (_, Shape::Locale) => "locale".into(),
            (Some(p), Shape::Key) => format!("{p}Key"),
            (Some(p), Shape::Date) => format!("{p}Date"),
            (Some(p), Shape::Email) => format!("{p}Email"),
            (Some(p), _) => format!("{p}Id"),
            (None, Shape::Date) => "date".into(),
            (None, Shape::Email) => "email".into(),
            (None, Shape::Word) => "name".into(),
            (None, Shape::Slug) => "slug".into(),
            (None, Shape::Key) => "key".into(),
            (None, _) => "id".into(),
        };
        let mut name = base.clone();
        let n = next.entry(base.clone()).or_insert(2);
        while taken.contains(&name) {
            name = format!("{base}{n}");
            *n += 1;
        }
        taken.insert(name.clone());
        names.push(name);
    }
    names
}

/// `/users/{userId}/orders/{orderId}`.
pub fn template(segs: &[Seg]) -> String {
    let names = param_names(segs);
    let mut k = 0;
    let mut out = String::new();
    for s in segs {
        out.push('/');
        match s {
            Seg::Lit(w) => out.push_str(w),
            Seg::Param(_) => {
                out.push('{');
                out.push_str(&names[k]);
                out.push('}');
                k += 1;
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape("123"), Some(Shape::Int));
        assert_eq!(
            shape("9b2f0c8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"),
            Some(Shape::Uuid)
        );
        assert_eq!(shape("2024-01-15"), Some(Shape::Date));
        assert_eq!(shape("ann@example.com"), Some(Shape::Email));
        assert_eq!(shape("5d41402abc4b2a76b9719d911017c592"), Some(Shape::Hex));
        assert_eq!(shape("ord_8f2k1x"), Some(Shape::Token));
        assert_eq!(shape("wh_9fK2xQ"), Some(Shape::Token));
        assert_eq!(shape("OPS-3"), Some(Shape::Key));
        assert_eq!(shape("ABC-123"), Some(Shape::Key));
        assert_eq!(shape("3f2b8c1"), Some(Shape::Hex));
        assert!(is_slug("why-rust") && !is_slug("rust") && !is_slug("Why-Rust"));
        assert_eq!(shape("ten-tips-2024"), None);
        assert!(is_locale("en") && is_locale("en-US") && is_locale("pt_BR"));
        assert!(!is_locale("api") && !is_locale("v1") && !is_locale("en-"));
        for w in [
            "me",
            "users",
            "settings",
            "v1",
            "app.js",
            "deadbeef",
            "password-reset",
            "oauth2",
            "ipv6",
            "v2",
            "audit-log",
            "application",
            "abcdefg",
        ] {
            assert_eq!(shape(w), None, "{w}");
        }
    }

    #[test]
    fn names() {
        let segs = vec![
            Seg::Lit("api".into()),
            Seg::Lit("users".into()),
            Seg::Param(Shape::Int),
            Seg::Lit("orders".into()),
            Seg::Param(Shape::Uuid),
        ];
        assert_eq!(template(&segs), "/api/users/{userId}/orders/{orderId}");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("addresses"), "address");
        let two = vec![Seg::Param(Shape::Int), Seg::Param(Shape::Int)];
        assert_eq!(template(&two), "/{id}/{id2}");
    }
}
