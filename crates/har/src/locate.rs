//! Find where a JSON path points inside raw JSON bytes, to give problems a line and
//! column. Only run for values that have problems, so it favours simplicity.

use crate::error::Pos;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// End (exclusive) of the string starting at `i` (which is a quote).
fn string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// End (exclusive) of the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> usize {
    if i >= b.len() {
        return i;
    }
    match b[i] {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
            {
                j += 1;
            }
            j
        }
    }
}

/// Byte offset of the value at `path` in `b`, or of the deepest enclosing value that
/// exists (for a missing field, its parent object).
pub fn locate_offset(b: &[u8], path: &[Seg]) -> usize {
    let mut at = ws(b, 0);
    'segs: for seg in path {
        match (seg, b.get(at)) {
            (Seg::Key(want), Some(b'{')) => {
                let mut i = ws(b, at + 1);
                while i < b.len() && b[i] == b'"' {
                    let kend = string_end(b, i);
                    let key: Option<String> = serde_json::from_slice(&b[i..kend]).ok();
                    let mut v = ws(b, kend);
                    if b.get(v) == Some(&b':') {
                        v = ws(b, v + 1);
                    }
                    if key.as_deref() == Some(want.as_str()) {
                        at = v;
                        continue 'segs;
                    }
                    i = ws(b, value_end(b, v));
                    if b.get(i) == Some(&b',') {
                        i = ws(b, i + 1);
                    }
                }
                return at;
            }
            (Seg::Index(n), Some(b'[')) => {
                let mut i = ws(b, at + 1);
                let mut k = 0;
                while i < b.len() && b[i] != b']' {
                    if k == *n {
                        at = i;
                        continue 'segs;
                    }
                    i = ws(b, value_end(b, i));
                    if b.get(i) == Some(&b',') {
                        i = ws(b, i + 1);
                    }
                    k += 1;
                }
                return at;
            }
            _ => return at,
        }
    }
    at
}

/// Absolute position of `path` inside `b`, which starts at `start`.
pub fn locate(b: &[u8], start: Pos, path: &[Seg]) -> Pos {
    let off = locate_offset(b, path).min(b.len());
    let before = &b[..off];
    let lines = memchr::memchr_iter(b'\n', before).count() as u64;
    let col = match memchr::memrchr(b'\n', before) {
        Some(nl) => (off - nl) as u64,
        None => off as u64 + 1,
    };
    let mut p = start.advance(lines + 1, col);
    p.offset = start.offset + off as u64;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_fields_and_reports_parents_of_missing_ones() {
        let j = b"{\n  \"a\": {\"x\": [1, {\"y\": \"\\\"}\"}, 3]},\n  \"b\": 2\n}";
        let start = Pos {
            offset: 100,
            line: 10,
            column: 5,
        };
        let p = locate(j, start, &[Seg::Key("b".into())]);
        assert_eq!((p.line, p.column), (12, 8));
        let p = locate(
            j,
            start,
            &[Seg::Key("a".into()), Seg::Key("x".into()), Seg::Index(2)],
        );
        assert_eq!((p.line, p.column), (11, 32));
        let p = locate(j, start, &[Seg::Key("a".into()), Seg::Key("nope".into())]);
        assert_eq!((p.line, p.column), (11, 8));
        let p = locate(j, start, &[]);
        assert_eq!((p.line, p.column), (10, 5));
    }
}
