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
    /// The largest value [`Scanner::capture`] copies (an entry, a header field).
    pub(crate) max_value: usize,
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
            max_value: usize::MAX,
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
            if out.len().saturating_add(i) > self.max_value {
                // Refused before the copy grows: a gzip bomb's one huge string stops here.
                return Err(ScanError::Syntax {
                    pos: start,
                    message: format!(
                        "this value is larger than {}, the limit for one entry or field \
                         (hark's --max-entry; a small .gz that inflates this much may be a \
                         decompression bomb)",
                        size(self.max_value)
                    ),
                });
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

/// A byte count for a message: `128 MiB`, else in bytes.
fn size(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
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
mod tests;
