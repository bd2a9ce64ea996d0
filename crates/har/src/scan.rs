//! A byte scanner that cuts whole JSON values out of a stream without parsing them,
//! keeping track of line and column. The HAR reader uses it to hand out one entry at a
//! time, so memory is bounded by the largest entry rather than by the file.

use crate::error::Pos;
use std::io::{self, Read};

/// Deepest nesting accepted inside one value; deeper input is rejected with a clear
/// error instead of risking the stack in the parser.
pub const MAX_DEPTH: usize = 256;

const BUF_SIZE: usize = 256 * 1024;

#[derive(Debug)]
pub(crate) enum ScanError {
    Io(io::Error),
    /// Something other than what JSON allows here.
    Syntax {
        pos: Pos,
        message: String,
    },
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

pub(crate) struct Scanner<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Absolute offset of `buf[pos]`.
    offset: u64,
    /// 1-based line of `buf[pos]`.
    line: u64,
    /// Absolute offset of the first byte of the current line.
    line_start: u64,
    /// Whether whole 64-byte blocks are scanned at once ([`run_blocks`]); off only in
    /// the tests that compare with the byte-by-byte loop.
    blocks: bool,
}

impl<R: Read> Scanner<R> {
    pub fn new(inner: R) -> Self {
        Scanner {
            inner,
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            eof: false,
            offset: 0,
            line: 1,
            line_start: 0,
            blocks: true,
        }
    }

    /// Position of the next unread byte.
    pub fn position(&self) -> Pos {
        Pos {
            offset: self.offset,
            line: self.line,
            column: self.offset - self.line_start + 1,
        }
    }

    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.end {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        self.pos = 0;
        self.end = 0;
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Account for consumed bytes `bytes` (already removed from the buffer).
    fn consumed(&mut self, bytes: &[u8]) {
        let start = self.offset;
        self.offset += bytes.len() as u64;
        if let Some(last) = memchr::memrchr(b'\n', bytes) {
            self.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
            self.line_start = start + last as u64 + 1;
        }
    }

    fn syntax<T>(&self, message: impl Into<String>) -> Result<T, ScanError> {
        Err(ScanError::Syntax {
            pos: self.position(),
            message: message.into(),
        })
    }

    /// Skip a UTF-8 byte order mark at the very start; reject UTF-16/32 clearly.
    pub fn skip_bom(&mut self) -> Result<(), ScanError> {
        if !self.fill()? {
            return Ok(());
        }
        // Make sure we have up to 3 bytes to look at.
        while self.end - self.pos < 3 && !self.eof {
            let have = self.end - self.pos;
            self.buf.copy_within(self.pos..self.end, 0);
            self.pos = 0;
            self.end = have;
            let n = self.inner.read(&mut self.buf[have..])?;
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
        let head = &self.buf[self.pos..self.end];
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.pos += 3;
            self.offset += 3;
            self.line_start = 3;
        } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            return self.syntax("the file is UTF-16 encoded; HAR files are UTF-8 (convert it, e.g. with `iconv -f UTF-16 -t UTF-8`)");
        }
        Ok(())
    }

    /// Skip JSON white space. Returns the next byte without consuming it, or None at end.
    pub fn peek(&mut self) -> Result<Option<u8>, ScanError> {
        loop {
            if !self.fill()? {
                return Ok(None);
            }
            while self.pos < self.end {
                let b = self.buf[self.pos];
                match b {
                    b' ' | b'\t' | b'\r' => {
                        self.pos += 1;
                        self.offset += 1;
                    }
                    b'\n' => {
                        self.pos += 1;
                        self.offset += 1;
                        self.line += 1;
                        self.line_start = self.offset;
                    }
                    _ => return Ok(Some(b)),
                }
            }
        }
    }

    /// Consume the byte `want` (after white space) or fail saying what was expected.
    pub fn expect(&mut self, want: u8, what: &str) -> Result<(), ScanError> {
        match self.peek()? {
            Some(b) if b == want => {
                self.pos += 1;
                self.offset += 1;
                Ok(())
            }
            Some(b) => self.syntax(format!("expected {what}, found {}", describe(b))),
            None => self.syntax(format!(
                "expected {what}, found the end of the input (the file is truncated)"
            )),
        }
    }

    /// Consume one byte that `peek` returned.
    pub fn bump(&mut self) {
        debug_assert!(self.pos < self.end);
        self.pos += 1;
        self.offset += 1;
    }

    /// Copy the next complete JSON value (object, array, string or scalar) into `out`,
    /// returning the position where it starts. Brackets are matched and nesting is
    /// limited to [`MAX_DEPTH`]; everything else is left to the parser.
    pub fn capture(&mut self, out: &mut Vec<u8>) -> Result<Pos, ScanError> {
        out.clear();
        self.capture_append(out)
    }

    /// [`Scanner::capture`], appending to `out` instead of replacing it.
    pub fn capture_append(&mut self, out: &mut Vec<u8>) -> Result<Pos, ScanError> {
        let first = match self.peek()? {
            Some(b) => b,
            None => {
                return self
                    .syntax("expected a value, found the end of the input (the file is truncated)")
            }
        };
        let start = self.position();
        match first {
            b'{' | b'[' | b'"' => self.capture_nested(out, start)?,
            b',' | b':' | b'}' | b']' => {
                return self.syntax(format!("expected a value, found {}", describe(first)))
            }
            _ => self.capture_scalar(out)?,
        }
        Ok(start)
    }

    fn capture_scalar(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        loop {
            if !self.fill()? {
                return Ok(());
            }
            let chunk = &self.buf[self.pos..self.end];
            let stop = chunk.iter().position(|&b| {
                matches!(
                    b,
                    b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n' | b':' | b'{' | b'[' | b'"'
                )
            });
            let n = stop.unwrap_or(chunk.len());
            out.extend_from_slice(&chunk[..n]);
            self.pos += n;
            self.offset += n as u64;
            if stop.is_some() {
                return Ok(());
            }
            if out.len() > 1 << 20 {
                return self.syntax("a bare value longer than 1 MiB: this is not JSON");
            }
        }
    }

    fn capture_nested(&mut self, out: &mut Vec<u8>, start: Pos) -> Result<(), ScanError> {
        let mut stack: Vec<u8> = Vec::new();
        let mut in_str = false;
        let mut escape = false;
        loop {
            if !self.fill()? {
                let what = if in_str { "a string" } else { "a value" };
                return Err(ScanError::Syntax {
                    pos: self.position(),
                    message: format!(
                        "the input ends inside {what} that starts at {start} (the file is truncated)"
                    ),
                });
            }
            let chunk = &self.buf[self.pos..self.end];
            let mut i = 0;
            let mut done = false;
            let mut bad: Option<(usize, String)> = None;
            let n = chunk.len();
            // Blocks are tried at a token boundary inside a container; after a block they
            // could not take, not before the byte loop has passed it.
            let mut scalar_until = 0;
            while i < n {
                if self.blocks && !in_str && !escape && !stack.is_empty() && i >= scalar_until {
                    match run_blocks(chunk, &mut i, &mut stack, &mut in_str, &mut escape) {
                        BlockEnd::Done => {
                            done = true;
                            break;
                        }
                        BlockEnd::Bad(at, message) => {
                            bad = Some((at, message));
                            break;
                        }
                        BlockEnd::Stopped => {
                            scalar_until = i + 64;
                            if i >= n {
                                break;
                            }
                            continue;
                        }
                    }
                }
                if in_str {
                    if escape {
                        escape = false;
                        i += 1;
                        continue;
                    }
                    // Short strings (names, most values) end within a few bytes; long
                    // ones (bodies) are skipped with SIMD.
                    let short_end = (i + 24).min(n);
                    while i < short_end && !IN_STRING_STOP[chunk[i] as usize] {
                        i += 1;
                    }
                    if i == short_end {
                        match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                            Some(j) => i += j,
                            None => i = n,
                        }
                    }
                    if i == n {
                        break;
                    }
                    if chunk[i] == b'\\' {
                        escape = true;
                    } else {
                        in_str = false;
                        if stack.is_empty() {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                    i += 1;
                    continue;
                }
                while i + 8 <= n {
                    let w = u64::from_le_bytes(chunk[i..i + 8].try_into().expect("8 bytes"));
                    let m = crate::swar::structural(w);
                    if m == 0 {
                        i += 8;
                    } else {
                        i += (m.trailing_zeros() / 8) as usize;
                        break;
                    }
                }
                while i < n && !STRUCTURAL[chunk[i] as usize] {
                    i += 1;
                }
                if i == n {
                    break;
                }
                let b = chunk[i];
                i += 1;
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => {
                        if stack.len() >= MAX_DEPTH {
                            bad = Some((i - 1, format!("nesting deeper than {MAX_DEPTH} levels")));
                            break;
                        }
                        stack.push(if b == b'{' { b'}' } else { b']' });
                    }
                    _ => match stack.pop() {
                        Some(want) if want == b => {
                            if stack.is_empty() {
                                done = true;
                                break;
                            }
                        }
                        Some(want) => {
                            bad = Some((
                                i - 1,
                                format!(
                                    "expected '{}' to close, found '{}'",
                                    want as char, b as char
                                ),
                            ));
                            break;
                        }
                        None => unreachable!("stack is never empty inside a container"),
                    },
                }
            }
            if let Some((at, message)) = bad {
                let before = self.pos;
                out.extend_from_slice(&self.buf[before..before + at]);
                let consumed = self.buf[before..before + at].to_vec();
                self.pos += at;
                self.consumed(&consumed);
                return self.syntax(message);
            }
            out.extend_from_slice(&chunk[..i]);
            let (from, to) = (self.pos, self.pos + i);
            self.pos = to;
            // Split borrow: account line numbers from the bytes just copied.
            let tail_start = out.len() - (to - from);
            let start_off = self.offset;
            self.offset += (to - from) as u64;
            let tail = &out[tail_start..];
            if let Some(last) = memchr::memrchr(b'\n', tail) {
                self.line += memchr::memchr_iter(b'\n', tail).count() as u64;
                self.line_start = start_off + last as u64 + 1;
            }
            if done {
                return Ok(());
            }
        }
    }
}

/// Where [`run_blocks`] stopped.
enum BlockEnd {
    /// Fewer than 64 bytes are left, or the next block holds a backslash outside strings
    /// (not JSON; the byte-by-byte loop takes it and reports what the parser will).
    Stopped,
    /// The value ended: the index is just past its closing bracket.
    Done,
    /// A bracket that does not close what is open, or nesting too deep, at this index.
    Bad(usize, String),
}

/// Scan whole 64-byte blocks of `chunk` from `*i` (at a token boundary inside a
/// container: not in a string, nothing escaped, `stack` not empty), matching the
/// brackets outside strings as the byte-by-byte loop does. Leaves `*i`, `in_str` and
/// `escape` where it stopped.
fn run_blocks(
    chunk: &[u8],
    i: &mut usize,
    stack: &mut Vec<u8>,
    in_str: &mut bool,
    escape: &mut bool,
) -> BlockEnd {
    let mut inside_carry = 0u64; // all ones while a string runs on into the next block
    let mut escape_carry = 0u64; // 1 when the next block's first byte is escaped
    while let Some(block) = chunk.get(*i..*i + 64) {
        let block: &[u8; 64] = block.try_into().expect("64 bytes");
        let m = crate::blocks::masks(block);
        let mut next_escape = escape_carry;
        let escaped = crate::blocks::escaped(m.backslash, &mut next_escape);
        let inside = crate::blocks::prefix_xor(m.quote & !escaped) ^ inside_carry;
        if m.backslash & !inside != 0 {
            break;
        }
        let mut brackets = (m.open | m.close) & !inside;
        while brackets != 0 {
            let k = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            let b = block[k];
            if m.open >> k & 1 == 1 {
                if stack.len() >= MAX_DEPTH {
                    return BlockEnd::Bad(
                        *i + k,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    );
                }
                stack.push(if b == b'{' { b'}' } else { b']' });
            } else {
                match stack.pop() {
                    Some(want) if want == b => {
                        if stack.is_empty() {
                            *i += k + 1;
                            return BlockEnd::Done;
                        }
                    }
                    Some(want) => {
                        return BlockEnd::Bad(
                            *i + k,
                            format!(
                                "expected '{}' to close, found '{}'",
                                want as char, b as char
                            ),
                        )
                    }
                    None => unreachable!("stack is never empty inside a container"),
                }
            }
        }
        inside_carry = ((inside as i64) >> 63) as u64;
        escape_carry = next_escape;
        *i += 64;
    }
    *in_str = inside_carry != 0;
    *escape = escape_carry != 0;
    BlockEnd::Stopped
}

const fn table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// Bytes that matter outside strings, and inside them.
static STRUCTURAL: [bool; 256] = table(b"\"{}[]");
static IN_STRING_STOP: [bool; 256] = table(b"\"\\");

/// How to name a byte in an error message.
pub(crate) fn describe(b: u8) -> String {
    match b {
        b'{' => "an object".into(),
        b'[' => "an array".into(),
        b'"' => "a string".into(),
        b'-' | b'0'..=b'9' => "a number".into(),
        b't' | b'f' => "a boolean".into(),
        b'n' => "null".into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(input: &str) -> Result<(Pos, String, Pos), String> {
        let mut s = Scanner::new(input.as_bytes());
        let mut out = Vec::new();
        match s.capture(&mut out) {
            Ok(p) => Ok((p, String::from_utf8(out).unwrap(), s.position())),
            Err(ScanError::Syntax { pos, message }) => Err(format!("{pos}: {message}")),
            Err(ScanError::Io(e)) => Err(e.to_string()),
        }
    }

    #[test]
    fn captures_nested_values_with_strings_that_look_like_brackets() {
        let (start, v, after) =
            cap("  \n {\"a\": \"}]\\\"{\", \"b\": [1, {\"c\": \"\\\\\"}]} , 3").unwrap();
        assert_eq!(start.line, 2);
        assert_eq!(start.column, 2);
        assert_eq!(v, "{\"a\": \"}]\\\"{\", \"b\": [1, {\"c\": \"\\\\\"}]}");
        assert_eq!(after.line, 2);
        assert_eq!(after.column, 2 + v.len() as u64);
    }

    #[test]
    fn captures_scalars_and_strings() {
        assert_eq!(cap("-12.5e3,").unwrap().1, "-12.5e3");
        assert_eq!(cap("\"x\\\"y\" ]").unwrap().1, "\"x\\\"y\"");
        assert_eq!(cap("null").unwrap().1, "null");
    }

    #[test]
    fn tracks_lines_inside_values() {
        let (_, _, after) = cap("{\n\"a\": [\n1,\n2]\n}   ").unwrap();
        assert_eq!((after.line, after.column), (5, 2));
    }

    #[test]
    fn reports_truncation_and_mismatches() {
        let e = cap("{\"a\": [1, 2").unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = cap("{\"a\": \"abc").unwrap_err();
        assert!(e.contains("inside a string"), "{e}");
        let e = cap("{\"a\": [1}").unwrap_err();
        assert!(e.starts_with("1:9: expected ']' to close"), "{e}");
    }

    #[test]
    fn limits_depth_without_recursion() {
        let deep = "[".repeat(100_000);
        let e = cap(&deep).unwrap_err();
        assert!(e.contains("nesting deeper than 256"), "{e}");
    }

    /// A reader that hands out at most `step` bytes per read (changing sizes), so that
    /// buffer refills fall anywhere.
    struct Chunky<'a> {
        data: &'a [u8],
        step: usize,
        n: usize,
    }

    impl Read for Chunky<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.n += 1;
            let k = (1 + (self.n * 7919) % self.step)
                .min(buf.len())
                .min(self.data.len());
            buf[..k].copy_from_slice(&self.data[..k]);
            self.data = &self.data[k..];
            Ok(k)
        }
    }

    /// Every value in `input` captured one after another, with and without blocks:
    /// the same bytes, positions and errors.
    fn same_with_and_without_blocks(input: &[u8], step: usize) {
        let run = |blocks: bool| {
            let mut s = Scanner::new(Chunky {
                data: input,
                step,
                n: 0,
            });
            s.blocks = blocks;
            let mut got = Vec::new();
            loop {
                let mut out = Vec::new();
                match s.capture(&mut out) {
                    Ok(p) => got.push(Ok((p, out, s.position()))),
                    Err(ScanError::Syntax { pos, message }) => {
                        got.push(Err((pos, message)));
                        break;
                    }
                    Err(ScanError::Io(e)) => panic!("{e}"),
                }
                // Separators between top-level values.
                while let Ok(Some(b',' | b':')) = s.peek() {
                    s.bump();
                }
                if let Ok(None) = s.peek() {
                    break;
                }
            }
            got
        };
        assert_eq!(
            run(true),
            run(false),
            "{:?}",
            String::from_utf8_lossy(&input[..input.len().min(300)])
        );
    }

    #[test]
    fn blocks_agree_with_the_byte_loop_on_random_text() {
        // JSON-ish text from the bytes that matter, long enough for several blocks:
        // strings with escapes and brackets in them, backslash runs across blocks,
        // mismatches, truncation, depth.
        let alphabet: &[&[u8]] = &[
            b"{",
            b"}",
            b"[",
            b"]",
            b"\"",
            b"\\",
            b"\\\\",
            b"\\\"",
            b"a",
            b"  ",
            b"\n",
            b",",
            b":",
            "é".as_bytes(),
            b"{\"k\": \"v\"}",
            b"[1, 2]",
            b"\"}]{[\"",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..4000 {
            let mut text = vec![if case % 2 == 0 { b'{' } else { b'[' }];
            let len = (next() % 400) as usize;
            let mut depth = 1i64;
            for _ in 0..len {
                let piece = alphabet[(next() % alphabet.len() as u64) as usize];
                depth += piece.iter().filter(|b| b"{[".contains(b)).count() as i64;
                depth -= piece.iter().filter(|b| b"}]".contains(b)).count() as i64;
                text.extend_from_slice(piece);
            }
            // Often close what is open, so that many cases end well.
            if case % 3 != 0 {
                for _ in 0..depth.max(0) {
                    text.push(if next() % 2 == 0 { b'}' } else { b']' });
                }
            }
            same_with_and_without_blocks(&text, 1 + (next() % 300) as usize);
        }
        let deep = "[".repeat(300) + &"]".repeat(300);
        same_with_and_without_blocks(deep.as_bytes(), 100);
        same_with_and_without_blocks(deep.as_bytes(), 1 << 20);
    }

    #[test]
    fn blocks_agree_with_the_byte_loop_on_the_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = 0;
        for dir in ["testdata/har", "../shared/corpus/public"] {
            for f in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = f.unwrap().path();
                let bytes = std::fs::read(&p).unwrap();
                same_with_and_without_blocks(&bytes, 1 << 20);
                same_with_and_without_blocks(&bytes, 5000);
                // Truncated and with a bracket changed: the same errors too.
                same_with_and_without_blocks(&bytes[..bytes.len() * 2 / 3], 1 << 20);
                let mut bent = bytes.clone();
                if let Some(k) = bent.iter().rposition(|&b| b == b']') {
                    bent[k] = b'}';
                }
                same_with_and_without_blocks(&bent, 1 << 20);
                files += 1;
            }
        }
        assert!(files >= 20, "{files}");
    }

    #[test]
    fn values_split_across_buffer_boundaries() {
        // A string with escapes long enough to span several buffer fills.
        let body = "ab\\\"".repeat(200_000);
        let input = format!("{{\"t\": \"{body}\", \"n\": [1]}}");
        let (_, v, _) = cap(&input).unwrap();
        assert_eq!(v, input);
    }
}
