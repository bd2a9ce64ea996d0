//! A read-only JSON tree that borrows from the bytes it was parsed from: strings
//! without escapes and every number are slices of the input, objects are vectors of
//! pairs (no hashing). Several times cheaper to build than serde_json's `Value`, for
//! commands that only read entries (`hark check`, summaries, indexes). Syntax is checked
//! exactly as strictly as by the transcoder (and serde_json).

use crate::json::{Json, JsonObject, Kind};
use crate::transcode::{
    err, hex4, scan_literal, scan_number, scan_string, skip_ws, TranscodeError,
};
use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq)]
pub enum Lite<'a> {
    Null,
    Bool(bool),
    /// The number as written.
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Box<[Lite<'a>]>),
    Object(LiteObject<'a>),
}

/// Keys in document order; a repeated key is found at its last occurrence, as serde_json
/// keeps the last value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiteObject<'a>(pub Box<[(Cow<'a, str>, Lite<'a>)]>);

static EMPTY: std::sync::LazyLock<LiteObject<'static>> =
    std::sync::LazyLock::new(|| LiteObject(Box::default()));

/// The items and pairs of the containers being parsed: each container's are pushed here
/// and moved into a boxed slice of their exact size when it closes (one allocation each,
/// none to grow). Boxed slices, not vectors, make a node 24 bytes instead of 32 (the
/// string's niche holds the tag): a tree is about as large as the JSON it is parsed
/// from, and writing it is most of the parse's time (−18 % on a 105 MB HAR).
struct Stacks<'a> {
    items: Vec<Lite<'a>>,
    pairs: Vec<(Cow<'a, str>, Lite<'a>)>,
    /// Whether the white space seen so far is what the transcoder writes, when asked.
    layout: Option<Layout>,
}

/// Which of the transcoder's layouts ([`crate::transcode::transcode`] at a given
/// nesting level) bytes already have: copying them is then the same as transcoding
/// them. Found while parsing (see [`parse_with_layout`]): only the white space between
/// tokens differs between layouts, and tokens are copied as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    level: usize,
    pretty: bool,
    compact: bool,
}

/// The white space the transcoder writes at one place: none, one space (after a key's
/// colon, pretty), or a line break and the indentation of a nesting level (pretty).
#[derive(Clone, Copy)]
enum Ws {
    None,
    Space,
    Line(usize),
}

impl Layout {
    /// Whether the bytes are exactly what transcoding them in `style` writes.
    pub fn is(&self, style: crate::Style) -> bool {
        match style {
            crate::Style::Pretty => self.pretty,
            crate::Style::Compact => self.compact,
        }
    }

    /// `run`, the white space between two tokens, against what each layout has there.
    #[inline]
    fn see(&mut self, run: &[u8], want: Ws) {
        if run.is_empty() {
            self.pretty &= matches!(want, Ws::None);
            return;
        }
        self.compact = false;
        if !self.pretty {
            return;
        }
        self.pretty = match want {
            Ws::None => false,
            Ws::Space => run == b" ",
            Ws::Line(depth) => {
                let n = (self.level + depth) * 2;
                run.len() == n + 1 && run[0] == b'\n' && run[1..].iter().all(|&b| b == b' ')
            }
        };
    }
}

/// Parse exactly one JSON value (white space around it allowed).
pub fn parse(input: &[u8]) -> Result<Lite<'_>, TranscodeError> {
    parse_in(input, None).map(|(v, _)| v)
}

/// [`parse`], and which layouts of the transcoder at nesting `level` the bytes already
/// have (those in which [`crate::transcode::transcode`] would write them unchanged).
pub fn parse_with_layout(input: &[u8], level: usize) -> Result<(Lite<'_>, Layout), TranscodeError> {
    let layout = Layout {
        level,
        pretty: true,
        compact: true,
    };
    parse_in(input, Some(layout)).map(|(v, l)| (v, l.unwrap_or(layout)))
}

fn parse_in(
    input: &[u8],
    layout: Option<Layout>,
) -> Result<(Lite<'_>, Option<Layout>), TranscodeError> {
    let i = skip_ws(input, 0);
    let mut st = Stacks {
        items: Vec::new(),
        pairs: Vec::new(),
        layout,
    };
    st.see(&input[..i], Ws::None);
    let (v, end) = value(input, i, 0, &mut st)?;
    let after = skip_ws(input, end);
    if after < input.len() {
        return err(after, "trailing characters");
    }
    st.see(&input[end..after], Ws::None);
    Ok((v, st.layout))
}

impl Stacks<'_> {
    #[inline(always)]
    fn see(&mut self, run: &[u8], want: Ws) {
        if let Some(l) = &mut self.layout {
            l.see(run, want);
        }
    }
}

fn text(input: &[u8], i: usize) -> Result<(Cow<'_, str>, usize), TranscodeError> {
    let (end, escaped) = scan_string(input, i)?;
    let s = if let Some(s) = escaped.then(|| unescape(&input[i + 1..end - 1])).flatten() {
        Cow::Owned(s)
    } else if escaped {
        // Not expected (`scan_string` checked the escapes): serde_json decodes them.
        let raw = &input[i..end];
        let fixed = crate::transcode::lone_surrogates_replaced(raw);
        let owned: String =
            serde_json::from_slice(fixed.as_deref().unwrap_or(raw)).map_err(|e| {
                TranscodeError {
                    offset: i,
                    message: e.to_string(),
                }
            })?;
        Cow::Owned(owned)
    } else {
        let bytes = &input[i + 1..end - 1];
        // SAFETY: scan_string accepted these bytes only if every byte ≥ 0x80 is part of a
        // complete, valid UTF-8 sequence (and the rest is ASCII), so they are UTF-8.
        // (Checking again was 6% of `hark check`'s time.)
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) })
    };
    Ok((s, end))
}

/// The text of a string's content (between its quotes) that [`scan_string`] accepted
/// and found escapes in, as serde_json decodes it (after
/// [`lone_surrogates_replaced`](crate::transcode::lone_surrogates_replaced): a lone
/// surrogate reads as U+FFFD). `None` if something is not as `scan_string` leaves it.
fn unescape(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\\', &raw[i..]) {
        let j = i + k;
        out.extend_from_slice(&raw[i..j]);
        i = j + 2;
        let b = match *raw.get(j + 1)? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let u = u32::from(hex4(raw, j + 2).ok()?);
                i = j + 6;
                let c = if (0xD800..0xDC00).contains(&u) && raw.get(i..i + 2) == Some(b"\\u") {
                    match hex4(raw, i + 2).ok().map(u32::from) {
                        Some(low @ 0xDC00..0xE000) => {
                            i += 6;
                            0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                        }
                        _ => 0xFFFD,
                    }
                } else if (0xD800..0xE000).contains(&u) {
                    0xFFFD
                } else {
                    u
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(char::from_u32(c)?.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(b);
    }
    out.extend_from_slice(&raw[i..]);
    String::from_utf8(out).ok()
}

/// The value at `i`, `depth` containers deep. Inlined into the container loops, so a
/// string or a number (most of a HAR's values) is parsed where it is pushed; objects and
/// arrays are parsed by [`object`] and [`array`].
#[inline(always)]
fn value<'a>(
    input: &'a [u8],
    i: usize,
    depth: usize,
    st: &mut Stacks<'a>,
) -> Result<(Lite<'a>, usize), TranscodeError> {
    if depth > crate::scan::MAX_DEPTH {
        return err(
            i,
            format!("nesting deeper than {} levels", crate::scan::MAX_DEPTH),
        );
    }
    match input.get(i) {
        Some(b'{') => object(input, i, depth, st),
        Some(b'[') => array(input, i, depth, st),
        Some(_) => scalar(input, i),
        None => err(i, "EOF while parsing a value"),
    }
}

/// The object whose `{` is at `i`.
fn object<'a>(
    input: &'a [u8],
    i: usize,
    depth: usize,
    st: &mut Stacks<'a>,
) -> Result<(Lite<'a>, usize), TranscodeError> {
    let base = st.pairs.len();
    let mut j = skip_ws(input, i + 1);
    if input.get(j) == Some(&b'}') {
        st.see(&input[i + 1..j], Ws::None);
        return Ok((Lite::Object(LiteObject(Box::default())), j + 1));
    }
    st.see(&input[i + 1..j], Ws::Line(depth + 1));
    loop {
        match input.get(j) {
            Some(b'"') => {}
            Some(_) => return err(j, "key must be a string"),
            None => return err(j, "EOF while parsing an object"),
        }
        let (k, after) = text(input, j)?;
        j = skip_ws(input, after);
        st.see(&input[after..j], Ws::None);
        if input.get(j) != Some(&b':') {
            return err(
                j,
                if j < input.len() {
                    "expected `:`"
                } else {
                    "EOF while parsing an object"
                },
            );
        }
        let colon = j + 1;
        j = skip_ws(input, colon);
        st.see(&input[colon..j], Ws::Space);
        let (v, after) = value(input, j, depth + 1, st)?;
        st.pairs.push((k, v));
        j = skip_ws(input, after);
        match input.get(j) {
            Some(b',') => {
                st.see(&input[after..j], Ws::None);
                let comma = j + 1;
                j = skip_ws(input, comma);
                st.see(&input[comma..j], Ws::Line(depth + 1));
                if input.get(j) == Some(&b'}') {
                    return err(j, "trailing comma");
                }
            }
            Some(b'}') => {
                st.see(&input[after..j], Ws::Line(depth));
                let pairs = st.pairs.drain(base..).collect();
                return Ok((Lite::Object(LiteObject(pairs)), j + 1));
            }
            Some(_) => return err(j, "expected `,` or `}`"),
            None => return err(j, "EOF while parsing an object"),
        }
    }
}

/// The array whose `[` is at `i`.
fn array<'a>(
    input: &'a [u8],
    i: usize,
    depth: usize,
    st: &mut Stacks<'a>,
) -> Result<(Lite<'a>, usize), TranscodeError> {
    let base = st.items.len();
    let mut j = skip_ws(input, i + 1);
    if input.get(j) == Some(&b']') {
        st.see(&input[i + 1..j], Ws::None);
        return Ok((Lite::Array(Box::default()), j + 1));
    }
    st.see(&input[i + 1..j], Ws::Line(depth + 1));
    loop {
        let (v, after) = value(input, j, depth + 1, st)?;
        st.items.push(v);
        j = skip_ws(input, after);
        match input.get(j) {
            Some(b',') => {
                st.see(&input[after..j], Ws::None);
                let comma = j + 1;
                j = skip_ws(input, comma);
                st.see(&input[comma..j], Ws::Line(depth + 1));
                if input.get(j) == Some(&b']') {
                    return err(j, "trailing comma");
                }
            }
            Some(b']') => {
                st.see(&input[after..j], Ws::Line(depth));
                let items = st.items.drain(base..).collect();
                return Ok((Lite::Array(items), j + 1));
            }
            Some(_) => return err(j, "expected `,` or `]`"),
            None => return err(j, "EOF while parsing a list"),
        }
    }
}

/// A string, number, `true`, `false` or `null` at `i` (not past the end of `input`).
#[inline(always)]
fn scalar(input: &[u8], i: usize) -> Result<(Lite<'_>, usize), TranscodeError> {
    match input[i] {
        b'"' => {
            let (s, end) = text(input, i)?;
            Ok((Lite::String(s), end))
        }
        b'-' | b'0'..=b'9' => {
            let end = scan_number(input, i)?;
            let n = std::str::from_utf8(&input[i..end]).expect("digits are ASCII");
            Ok((Lite::Number(n), end))
        }
        b't' => Ok((Lite::Bool(true), scan_literal(input, i, b"true")?)),
        b'f' => Ok((Lite::Bool(false), scan_literal(input, i, b"false")?)),
        b'n' => Ok((Lite::Null, scan_literal(input, i, b"null")?)),
        _ => err(i, "expected value"),
    }
}

impl<'a> Json for Lite<'a> {
    type Object = LiteObject<'a>;
    fn kind(&self) -> Kind {
        match self {
            Lite::Null => Kind::Null,
            Lite::Bool(_) => Kind::Bool,
            Lite::Number(_) => Kind::Number,
            Lite::String(_) => Kind::String,
            Lite::Array(_) => Kind::Array,
            Lite::Object(_) => Kind::Object,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            Lite::String(s) => Some(s),
            _ => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self {
            Lite::Number(n) => n.parse().ok().filter(|f: &f64| f.is_finite()),
            _ => None,
        }
    }
    fn as_i64(&self) -> Option<i64> {
        match self {
            Lite::Number(n) => n.parse().ok(),
            _ => None,
        }
    }
    fn as_bool(&self) -> Option<bool> {
        match self {
            Lite::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn as_array(&self) -> Option<&[Lite<'a>]> {
        match self {
            Lite::Array(a) => Some(a),
            _ => None,
        }
    }
    fn as_object(&self) -> Option<&LiteObject<'a>> {
        match self {
            Lite::Object(o) => Some(o),
            _ => None,
        }
    }
    fn number_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Lite::Number(n) => Some(Cow::Borrowed(n)),
            _ => None,
        }
    }
}

impl<'a> JsonObject for LiteObject<'a> {
    type Value = Lite<'a>;
    fn get(&self, key: &str) -> Option<&Lite<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn empty<'s>() -> &'s Self
    where
        Self: 's,
    {
        &EMPTY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value counts towards the nesting limit, a string or number as much as a
    /// container: 256 arrays around a number parse, 257 do not (and 257 empty ones do).
    #[test]
    fn nesting_is_counted_at_every_value() {
        let nested = |n: usize, inner: &str| format!("{}{inner}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(nested(256, "1").as_bytes()).is_ok());
        assert!(parse(nested(256, "\"s\"").as_bytes()).is_ok());
        assert!(parse(nested(257, "").as_bytes()).is_ok());
        for inner in ["1", "\"s\"", "true"] {
            let e = parse(nested(257, inner).as_bytes()).unwrap_err();
            assert!(
                e.message.contains("nesting deeper than 256"),
                "{}",
                e.message
            );
        }
    }

    /// A node stays three words (see [`Stacks`]): a vector in a variant, or a fourth
    /// variant as large as a string, would make every tree a third larger.
    #[test]
    fn a_node_is_three_words() {
        assert_eq!(
            std::mem::size_of::<Lite>(),
            3 * std::mem::size_of::<usize>()
        );
        assert_eq!(
            std::mem::size_of::<(Cow<str>, Lite)>(),
            6 * std::mem::size_of::<usize>()
        );
    }

    /// The layouts found while parsing are exactly those in which transcoding writes the
    /// bytes unchanged: on canonical texts, on each with its white space changed in
    /// every single place, and at several nesting levels.
    #[test]
    fn layout_is_what_transcoding_would_keep() {
        use crate::transcode::transcode;
        use crate::Style;
        let source = r#"{"a": [1, 2.50, {}, [], {"b": null, "c": [true, "x\"y"]}], "e": {}, "s": "\u00e9 é", "t": [[]]}"#;
        let mut texts = Vec::new();
        for level in [0, 1, 3] {
            for style in [Style::Pretty, Style::Compact] {
                let mut out = Vec::new();
                transcode(source.as_bytes(), style, level, &mut out).unwrap();
                texts.push(out);
            }
        }
        texts.push(source.as_bytes().to_vec());
        let mut cases = Vec::new();
        for t in &texts {
            cases.push(t.clone());
            // Every place between tokens, with a space, a tab, a line break added, or
            // with one byte of white space taken away.
            for at in 0..=t.len() {
                for extra in [&b" "[..], b"\t", b"\n", b"\r\n"] {
                    let mut c = t.clone();
                    c.splice(at..at, extra.iter().copied());
                    cases.push(c);
                }
                if at < t.len() && matches!(t[at], b' ' | b'\n') {
                    let mut c = t.clone();
                    c.remove(at);
                    cases.push(c);
                }
            }
        }
        let mut checked = 0;
        for c in &cases {
            for level in [0, 1, 3] {
                let Ok((_, layout)) = parse_with_layout(c, level) else {
                    continue;
                };
                for style in [Style::Pretty, Style::Compact] {
                    let mut out = Vec::new();
                    transcode(c, style, level, &mut out).unwrap();
                    assert_eq!(
                        layout.is(style),
                        out == *c,
                        "{style:?} at level {level}: {}",
                        String::from_utf8_lossy(c)
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
        // Both layouts are found, and so is neither.
        let layouts: Vec<Layout> = texts
            .iter()
            .map(|t| parse_with_layout(t, 3).unwrap().1)
            .collect();
        assert!(layouts.iter().any(|l| l.is(Style::Pretty)));
        assert!(layouts.iter().any(|l| l.is(Style::Compact)));
        assert!(!layouts.last().unwrap().is(Style::Pretty));
        assert!(!layouts.last().unwrap().is(Style::Compact));
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let s =
            r#"{"a": [1, 2.50, -0, 1e5, {"b": null}], "s": "x\"y\u00e9", "t": true, "a": "last"}"#;
        let v = parse(s.as_bytes()).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(
            o.get("a").unwrap().as_str(),
            Some("last"),
            "last duplicate wins, like serde_json"
        );
        assert_eq!(o.get("s").unwrap().as_str(), Some("x\"yé"));
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "s", "t", "a"]);
        let arr = o.0[0].1.as_array().unwrap();
        assert_eq!(arr[1].number_text().unwrap(), "2.50");
        assert_eq!(arr[1].as_f64(), Some(2.5));
        assert_eq!(arr[0].as_i64(), Some(1));
        assert_eq!(arr[3].as_i64(), None);
        assert!(matches!(o.get("s").unwrap(), Lite::String(Cow::Owned(_))));
        assert!(matches!(
            o.get("a").unwrap(),
            Lite::String(Cow::Borrowed(_))
        ));
    }

    /// Strings with escapes are decoded here as serde_json decodes them (lone
    /// surrogates replaced first), piece by piece and in many combinations.
    #[test]
    fn escapes_decoded_as_serde_json_decodes_them() {
        let pieces = [
            "a",
            "é",
            "€",
            "日本",
            "😀",
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\f",
            "\\n",
            "\\r",
            "\\t",
            "\\u0000",
            "\\u0041",
            "\\u00e9",
            "\\u20AC",
            "\\ud83d\\ude00",
            "\\ud800",
            "\\udc00",
            "\\udbff\\udfff",
            "\\ud800\\u0041",
            "\\ud800\\ud800",
            "\\ud800\\udc00\\udc00",
            "\\uffff",
            " ",
            "\\u",
            "x",
        ];
        let reference = |json: &str| -> String {
            let raw = json.as_bytes();
            let fixed = crate::transcode::lone_surrogates_replaced(raw);
            serde_json::from_slice(fixed.as_deref().unwrap_or(raw)).unwrap()
        };
        let mut seed = 7u64;
        let mut checked = 0;
        for n in 0..4000 {
            let mut s = String::from("\"");
            for _ in 0..(n % 9 + 1) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            s.push('"');
            let Ok(v) = parse(s.as_bytes()) else {
                continue; // "\\u" followed by what is not hex
            };
            assert_eq!(v.as_str().unwrap(), reference(&s), "{s}");
            checked += 1;
        }
        assert!(checked > 2000, "{checked}");
    }

    #[test]
    fn a_lone_surrogate_reads_as_a_replacement_character() {
        let v = parse(br#"{"a":"x\ud800y"}"#).unwrap();
        assert_eq!(crate::model::Obj::of(Some(&v)).str("a"), Some("x\u{fffd}y"));
    }

    #[test]
    fn rejects_what_the_transcoder_rejects() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{1:2}",
            "01",
            "\"\\ud80x\"",
            "[1] 2",
            "nul",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(1000);
        assert!(parse(deep.as_bytes())
            .unwrap_err()
            .message
            .contains("nesting"));
    }
}
