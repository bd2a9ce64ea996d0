//! Re-serialise one JSON value token by token: the same document with other white
//! space, pretty (indented for its place in a HAR) or compact. Strings and numbers are
//! copied byte for byte, so nothing is re-spelled; syntax is checked as strictly as
//! serde_json does (escapes, surrogate pairs, UTF-8, control characters, number grammar,
//! commas), so whatever this accepts the model reads too — except lone surrogate escapes
//! (`"\ud800"`), which every JSON.parse accepts and serde_json does not: they are kept here,
//! and read as U+FFFD by the model ([`lone_surrogates_replaced`]).

use crate::writer::Style;

#[derive(Debug, PartialEq, Eq)]
pub struct TranscodeError {
    /// Byte offset in the input where the problem is.
    pub offset: usize,
    pub message: String,
}

pub(crate) fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, TranscodeError> {
    Err(TranscodeError {
        offset,
        message: message.into(),
    })
}

struct Out<'o> {
    buf: &'o mut Vec<u8>,
    pretty: bool,
    level: usize,
}

impl Out<'_> {
    fn newline(&mut self) {
        if self.pretty {
            self.buf.push(b'\n');
            self.buf.resize(self.buf.len() + self.level * 2, b' ');
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    Object,
    Array,
}

use crate::swar::{string_stops, word, SPACES};

pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    // Pretty-printed HARs indent every line: skip runs of spaces eight at a time.
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
        while let Some(w) = word(b, i) {
            let not_space = w ^ SPACES;
            if not_space == 0 {
                i += 8;
            } else {
                i += (not_space.trailing_zeros() / 8) as usize;
                break;
            }
        }
    }
    i
}

/// Write `input` (exactly one JSON value, white space around it allowed) to `out`.
/// `level` is the nesting depth the value sits at (3 for a HAR entry).
pub fn transcode(
    input: &[u8],
    style: Style,
    level: usize,
    out: &mut Vec<u8>,
) -> Result<(), TranscodeError> {
    let mut o = Out {
        buf: out,
        pretty: style == Style::Pretty,
        level,
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = skip_ws(input, 0);
    // Parse a value at i; after it, handle separators until the stack unwinds.
    'value: loop {
        i = skip_ws(input, i);
        let Some(&c) = input.get(i) else {
            return err(i, "EOF while parsing a value");
        };
        match c {
            b'{' | b'[' => {
                let (frame, close) = if c == b'{' {
                    (Frame::Object, b'}')
                } else {
                    (Frame::Array, b']')
                };
                o.buf.push(c);
                let j = skip_ws(input, i + 1);
                if input.get(j) == Some(&close) {
                    o.buf.push(close);
                    i = j + 1;
                } else {
                    stack.push(frame);
                    o.level += 1;
                    o.newline();
                    i = j;
                    if frame == Frame::Object {
                        i = key(input, i, &mut o)?;
                    }
                    continue 'value;
                }
            }
            b'"' => i = string(input, i, o.buf)?,
            b'-' | b'0'..=b'9' => i = number(input, i, o.buf)?,
            b't' => i = literal(input, i, b"true", o.buf)?,
            b'f' => i = literal(input, i, b"false", o.buf)?,
            b'n' => i = literal(input, i, b"null", o.buf)?,
            _ => return err(i, "expected value"),
        }
        // After a complete value: a separator, a closing bracket, or the end.
        loop {
            let Some(&frame) = stack.last() else {
                let j = skip_ws(input, i);
                if j < input.len() {
                    return err(j, "trailing characters");
                }
                return Ok(());
            };
            i = skip_ws(input, i);
            let close = if frame == Frame::Object { b'}' } else { b']' };
            match input.get(i) {
                Some(b',') => {
                    o.buf.push(b',');
                    o.newline();
                    i = skip_ws(input, i + 1);
                    if matches!(input.get(i), Some(b'}') | Some(b']')) {
                        return err(i, "trailing comma");
                    }
                    if frame == Frame::Object {
                        i = key(input, i, &mut o)?;
                    }
                    continue 'value;
                }
                Some(&b) if b == close => {
                    stack.pop();
                    o.level -= 1;
                    o.newline();
                    o.buf.push(close);
                    i += 1;
                }
                Some(_) => {
                    return err(
                        i,
                        if frame == Frame::Object {
                            "expected `,` or `}`"
                        } else {
                            "expected `,` or `]`"
                        },
                    )
                }
                None => {
                    return err(
                        i,
                        if frame == Frame::Object {
                            "EOF while parsing an object"
                        } else {
                            "EOF while parsing a list"
                        },
                    )
                }
            }
        }
    }
}

/// A key and its colon; returns the index of the value.
fn key(input: &[u8], i: usize, o: &mut Out<'_>) -> Result<usize, TranscodeError> {
    let i = skip_ws(input, i);
    match input.get(i) {
        Some(b'"') => {}
        Some(_) => return err(i, "key must be a string"),
        None => return err(i, "EOF while parsing an object"),
    }
    let i = skip_ws(input, string(input, i, o.buf)?);
    if input.get(i) != Some(&b':') {
        return err(
            i,
            if i < input.len() {
                "expected `:`"
            } else {
                "EOF while parsing an object"
            },
        );
    }
    o.buf.extend_from_slice(if o.pretty { b": " } else { b":" });
    Ok(i + 1)
}

static PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = false;
        c += 1;
    }
    t[b'"' as usize] = false;
    t[b'\\' as usize] = false;
    let mut c = 0x80;
    while c < 0x100 {
        t[c] = false;
        c += 1;
    }
    t
};

pub(crate) fn hex4(input: &[u8], at: usize) -> Result<u16, TranscodeError> {
    let Some(h) = input.get(at..at + 4) else {
        return err(input.len(), "EOF while parsing a string");
    };
    let mut v = 0u16;
    for (k, &d) in h.iter().enumerate() {
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return err(at + k, "invalid escape"),
        };
        v = v * 16 + n as u16;
    }
    Ok(v)
}

/// `bytes` (JSON) with each lone surrogate escape (`\ud800` not followed by `\udc00`…
/// `\udfff`, or a trailing one alone) replaced by `\ufffd`, for serde_json, which
/// refuses them: `None` when there is none. Text read from such a string has U+FFFD
/// where the lone surrogate was; `fmt` copies strings as written and keeps it.
pub fn lone_surrogates_replaced(bytes: &[u8]) -> Option<Vec<u8>> {
    let hex = |j: usize| hex4(bytes, j).ok();
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut j = 0;
    // `j` may step past the end on a cut escape (`"\\` at the end of malformed input).
    while let Some(k) = memchr::memchr(b'\\', bytes.get(j..).unwrap_or_default()) {
        j += k;
        if bytes.get(j + 1) != Some(&b'u') {
            j += 2;
            continue;
        }
        let Some(u) = hex(j + 2) else {
            j += 2;
            continue;
        };
        let pair = (0xD800..0xDC00).contains(&u)
            && bytes.get(j + 6..j + 8) == Some(b"\\u")
            && hex(j + 8).is_some_and(|l| (0xDC00..0xE000).contains(&l));
        if pair {
            j += 12;
        } else if (0xD800..0xE000).contains(&u) {
            let o = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            o.extend_from_slice(&bytes[copied..j]);
            o.extend_from_slice(b"\\ufffd");
            j += 6;
            copied = j;
        } else {
            j += 6;
        }
    }
    let mut o = out?;
    o.extend_from_slice(&bytes[copied..]);
    Some(o)
}

/// A string starting at the quote `i`, copied as written; returns the index after it.
fn string(input: &[u8], i: usize, out: &mut Vec<u8>) -> Result<usize, TranscodeError> {
    let (end, _) = scan_string(input, i)?;
    out.extend_from_slice(&input[i..end]);
    Ok(end)
}

/// The first byte at or after `j` that is not [`PLAIN`] (or, near the end of `input`,
/// a position the caller goes on from byte by byte): 16 bytes at a time with SSE2 (part
/// of every x86-64), then 8 at a time ([`string_stops`]).
#[inline(always)]
fn skip_plain(input: &[u8], mut j: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is always available on x86-64; every load reads 16 bytes inside
        // `input` (`j + 16 <= input.len()`), unaligned loads allowed.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let space = _mm_set1_epi8(0x20);
            while j + 16 <= input.len() {
                let v = _mm_loadu_si128(input.as_ptr().add(j).cast::<__m128i>());
                // Signed `< 0x20`: control characters and every byte ≥ 0x80.
                let stop = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                    _mm_cmplt_epi8(v, space),
                );
                let mask = _mm_movemask_epi8(stop) as u32;
                if mask != 0 {
                    return j + mask.trailing_zeros() as usize;
                }
                j += 16;
            }
        }
    }
    while let Some(w) = word(input, j) {
        let stops = string_stops(w);
        if stops == 0 {
            j += 8;
        } else {
            return j + (stops.trailing_zeros() / 8) as usize;
        }
    }
    j
}

/// Check the string starting at the quote `i`; returns the index after its closing
/// quote and whether it has escapes.
pub(crate) fn scan_string(input: &[u8], i: usize) -> Result<(usize, bool), TranscodeError> {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        j = skip_plain(input, j);
        while j < input.len() && PLAIN[input[j] as usize] {
            j += 1;
        }
        let Some(&b) = input.get(j) else {
            return err(j, "EOF while parsing a string");
        };
        match b {
            b'"' => return Ok((j + 1, escaped)),
            b'\\' => {
                escaped = true;
                match input.get(j + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                    Some(b'u') => {
                        let u = hex4(input, j + 2)?;
                        j += 6;
                        // A surrogate pair is one escape of 12 bytes. A lone surrogate
                        // (`\ud800`), which serde_json refuses but every JSON.parse
                        // accepts, is kept as written; see [`lone_surrogates_replaced`].
                        if (0xD800..0xDC00).contains(&u)
                            && input.get(j..j + 2) == Some(b"\\u")
                            && hex4(input, j + 2).is_ok_and(|low| (0xDC00..0xE000).contains(&low))
                        {
                            j += 6;
                        }
                    }
                    Some(_) => return err(j + 1, "invalid escape"),
                    None => return err(j + 1, "EOF while parsing a string"),
                }
            }
            0..=0x1f => {
                return err(
                    j,
                    "control character (\\u0000-\\u001F) found while parsing a string",
                )
            }
            _ => {
                // Non-ASCII: check one UTF-8 sequence.
                let len = match b {
                    0xC2..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF4 => 4,
                    _ => return err(j, "invalid unicode code point"),
                };
                match input.get(j..j + len).map(std::str::from_utf8) {
                    Some(Ok(_)) => j += len,
                    _ => return err(j, "invalid unicode code point"),
                }
            }
        }
    }
}

fn number(input: &[u8], i: usize, out: &mut Vec<u8>) -> Result<usize, TranscodeError> {
    let j = scan_number(input, i)?;
    out.extend_from_slice(&input[i..j]);
    Ok(j)
}

/// Check the number starting at `i`; returns the index after it.
pub(crate) fn scan_number(input: &[u8], i: usize) -> Result<usize, TranscodeError> {
    let mut j = i;
    let digits = |j: &mut usize| {
        let s = *j;
        while *j < input.len() && input[*j].is_ascii_digit() {
            *j += 1;
        }
        *j > s
    };
    if input.get(j) == Some(&b'-') {
        j += 1;
    }
    match input.get(j) {
        Some(b'0') => {
            j += 1;
            if input.get(j).is_some_and(u8::is_ascii_digit) {
                return err(j, "invalid number");
            }
        }
        Some(b'1'..=b'9') => {
            digits(&mut j);
        }
        _ => return err(j, "invalid number"),
    }
    if input.get(j) == Some(&b'.') {
        j += 1;
        if !digits(&mut j) {
            return err(j, "invalid number");
        }
    }
    if matches!(input.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(input.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if !digits(&mut j) {
            return err(j, "invalid number");
        }
    }
    Ok(j)
}

fn literal(
    input: &[u8],
    i: usize,
    word: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, TranscodeError> {
    let j = scan_literal(input, i, word)?;
    out.extend_from_slice(word);
    Ok(j)
}

/// Check the literal `word` at `i`; returns the index after it.
pub(crate) fn scan_literal(input: &[u8], i: usize, word: &[u8]) -> Result<usize, TranscodeError> {
    for (k, &w) in word.iter().enumerate() {
        match input.get(i + k) {
            Some(&b) if b == w => {}
            Some(_) => return err(i + k, "expected ident"),
            None => return err(i + k, "EOF while parsing a value"),
        }
    }
    Ok(i + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_plain_stops_at_the_first_byte_that_matters() {
        for stop in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xc3, 0xff] {
            for pos in 0..48 {
                for tail in [0, 1, 7, 8, 15, 16, 40] {
                    let mut input = vec![b'"'];
                    input.extend((0..pos).map(|k| b" a~\x7f"[k % 4]));
                    input.push(stop);
                    input.extend(std::iter::repeat_n(b'z', tail));
                    let mut j = skip_plain(&input, 1);
                    while j < input.len() && PLAIN[input[j] as usize] {
                        j += 1;
                    }
                    assert_eq!(j, 1 + pos, "stop {stop:#x} at {pos}, {tail} after");
                }
            }
            // No stop at all: the end.
            for n in 0..40 {
                let input = vec![b'a'; n];
                let mut j = skip_plain(&input, 0);
                while j < input.len() && PLAIN[input[j] as usize] {
                    j += 1;
                }
                assert_eq!(j, n);
            }
        }
    }

    fn t(s: &str, style: Style, level: usize) -> Result<String, TranscodeError> {
        let mut out = Vec::new();
        transcode(s.as_bytes(), style, level, &mut out).map(|_| String::from_utf8(out).unwrap())
    }

    #[test]
    fn compact_and_pretty_match_serde_json() {
        let inputs = [
            r#" { "a" : [ 1 , 2.50 , -0 , 1e5 , 3E-2 ] , "b" : { } , "c" : [ ] , "d" : "x\"y\u00e9\ud83d\ude00\/" , "e" : [ { "f" : null } , true , false ] } "#,
            "[]",
            "\"only a string\"",
            "-12.5e+10",
            "{\"é\": \"ü€😀\"}",
        ];
        for s in inputs {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            for style in [Style::Compact, Style::Pretty] {
                let out = t(s, style, 0).unwrap();
                let reparsed: serde_json::Value = serde_json::from_str(&out).unwrap();
                assert_eq!(reparsed, v, "{s} {style:?}");
            }
            // Without escapes or exponents serde_json spells things the same way.
            if !s.contains('\\') && !s.contains('e') && !s.contains('E') {
                assert_eq!(
                    t(s, Style::Compact, 0).unwrap(),
                    serde_json::to_string(&v).unwrap(),
                    "{s}"
                );
                assert_eq!(
                    t(s, Style::Pretty, 0).unwrap(),
                    serde_json::to_string_pretty(&v).unwrap(),
                    "{s}"
                );
            }
        }
        assert_eq!(
            t(r#"{ "d" : "x\"y\u00e9\/" }"#, Style::Compact, 0).unwrap(),
            r#"{"d":"x\"y\u00e9\/"}"#,
            "escapes kept"
        );
        assert_eq!(
            t("{ \"b\" : { } , \"c\" : [ ] }", Style::Pretty, 0).unwrap(),
            "{\n  \"b\": {},\n  \"c\": []\n}"
        );
        assert_eq!(
            t("1.0e0", Style::Compact, 0).unwrap(),
            "1.0e0",
            "numbers copied as written"
        );
        assert_eq!(
            t("{\"a\":[1]}", Style::Pretty, 3).unwrap(),
            "{\n        \"a\": [\n          1\n        ]\n      }"
        );
    }

    #[test]
    fn lone_surrogates_are_kept_as_written_and_read_as_replacement_characters() {
        for (s, read) in [
            ("\"\\ud800\"", "\u{fffd}"),
            ("\"a\\udc00b\"", "a\u{fffd}b"),
            ("\"\\ud800\\u0041\"", "\u{fffd}A"),
            ("\"\\uD83D\\uDE00\\udfff\"", "\u{1f600}\u{fffd}"),
            ("\"\\\\ud800\"", "\\ud800"),
        ] {
            assert_eq!(t(s, Style::Compact, 0).unwrap(), s, "{s}");
            let fixed = lone_surrogates_replaced(s.as_bytes()).unwrap_or(s.as_bytes().to_vec());
            let v: String = serde_json::from_slice(&fixed).unwrap();
            assert_eq!(v, read, "{s}");
        }
        assert_eq!(lone_surrogates_replaced(b"\"\\ud83d\\ude00\""), None);
        // Cut escapes at the end of malformed input (found by fuzz/reader).
        for cut in [
            &b"\\"[..],
            b"a\\",
            b"\\u",
            b"\\ud800",
            b"\\ud800\\",
            b"\\ud800\\udc0",
        ] {
            let _ = lone_surrogates_replaced(cut);
        }
        assert_eq!(
            lone_surrogates_replaced(b"x\\ud800"),
            Some(b"x\\ufffd".to_vec())
        );
        assert!(t("\"\\ud800\\u12G4\"", Style::Compact, 0).is_err());
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        let bad = [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "[1 2]",
            "01",
            "1.",
            "1e",
            "-",
            ".5",
            "+1",
            "tru",
            "nul",
            "\"abc",
            "\"\\x\"",
            "\"\\u12G4\"",
            "\"a\nb\"",
            "\"\u{1}\"",
            "[1] 2",
            "{\"a\":1}}",
            "NaN",
        ];
        for s in bad {
            assert!(
                serde_json::from_str::<serde_json::Value>(s).is_err(),
                "serde accepts {s:?}"
            );
            assert!(t(s, Style::Compact, 0).is_err(), "transcode accepts {s:?}");
        }
        for b in [
            &b"\"\xff\""[..],
            b"\"\xc3\"",
            b"\"\xed\xa0\x80\"",
            b"\"\xf5\x80\x80\x80\"",
        ] {
            assert!(serde_json::from_slice::<serde_json::Value>(b).is_err());
            let mut out = Vec::new();
            assert!(transcode(b, Style::Compact, 0, &mut out).is_err(), "{b:?}");
        }
    }

    #[test]
    fn errors_point_at_the_offending_byte() {
        let e = t("{\"a\": tru}", Style::Compact, 0).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (9, "expected ident"));
        let e = t("[1,\n]", Style::Compact, 0).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (4, "trailing comma"));
    }
}
