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
