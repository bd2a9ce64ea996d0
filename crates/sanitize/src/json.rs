//! JSON bodies rewritten token by token: only redacted strings (and numbers) change,
//! every other byte — white space, key order, number text, escapes — stays.

use crate::{Sanitizer, Tally};
use std::borrow::Cow;

const MAX_DEPTH: usize = 256;

struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    out: String,
    last: usize,
}

impl<'a> P<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    /// A string token at `i`: its range and decoded text.
    fn string(&mut self) -> Result<(usize, usize, Cow<'a, str>), ()> {
        let start = self.i;
        if self.peek() != Some(b'"') {
            return Err(());
        }
        let mut j = start + 1;
        let mut escaped = false;
        loop {
            match self.b.get(j) {
                None => return Err(()),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    j += 2;
                }
                Some(_) => j += 1,
            }
        }
        let end = j + 1;
        self.i = end;
        let text = if escaped {
            Cow::Owned(serde_json::from_str::<String>(&self.s[start..end]).map_err(|_| ())?)
        } else {
            Cow::Borrowed(&self.s[start + 1..end - 1])
        };
        Ok((start, end, text))
    }
    fn replace(&mut self, start: usize, end: usize, with: &str) {
        self.out.push_str(&self.s[self.last..start]);
        self.out.push_str(with);
        self.last = end;
    }
}

/// `Err` when `text` is not JSON (the caller then scans it as text); `Ok(None)` when
/// nothing changed.
pub(crate) fn scrub(
    z: &Sanitizer,
    text: &str,
    location: &'static str,
    t: &mut Tally,
    depth: usize,
) -> Result<Option<String>, ()> {
    let mut p = P {
        s: text,
        b: text.as_bytes(),
        i: 0,
        out: String::new(),
        last: 0,
    };
    // Collect into a scratch tally first: a body that turns out not to be JSON must
    // not leave counts behind.
    let mut scratch = Tally {
        known_absent: t.known_absent,
        detected_nothing: t.detected_nothing,
        ..Tally::default()
    };
    let parsed = document(z, &mut p, location, &mut scratch, depth);
    // Whether the detectors matched counts even when the body is not JSON after all.
    t.detector_hit |= scratch.detector_hit;
    parsed?;
    t.report.merge(&scratch.report);
    t.report.entries -= scratch.report.entries;
    t.found.append(&mut scratch.found);
    t.seen.append(&mut scratch.seen);
    if p.last == 0 {
        return Ok(None);
    }
    let mut out = p.out;
    out.push_str(&text[p.last..]);
    Ok(Some(out))
}

fn document(
    z: &Sanitizer,
    p: &mut P<'_>,
    location: &'static str,
    t: &mut Tally,
    depth: usize,
) -> Result<(), ()> {
    p.ws();
    value(z, p, None, location, t, depth, 0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(());
    }
    Ok(())
}

fn value(
    z: &Sanitizer,
    p: &mut P<'_>,
    key: Option<&str>,
    location: &'static str,
    t: &mut Tally,
    depth: usize,
    level: usize,
) -> Result<(), ()> {
    if level > MAX_DEPTH {
        return Err(());
    }
    match p.peek().ok_or(())? {
        b'{' => {
            p.i += 1;
            p.ws();
            if p.peek() == Some(b'}') {
                p.i += 1;
                return Ok(());
            }
            loop {
                p.ws();
                let (ks, ke, k) = p.string()?;
                if let Some(n) = z.text(&k, location, t, false, false) {
                    p.replace(ks, ke, &quote(&n));
                }
                p.ws();
                if p.peek() != Some(b':') {
                    return Err(());
                }
                p.i += 1;
                p.ws();
                value(z, p, Some(&k), location, t, depth, level + 1)?;
                p.ws();
                match p.peek() {
                    Some(b',') => p.i += 1,
                    Some(b'}') => {
                        p.i += 1;
                        return Ok(());
                    }
                    _ => return Err(()),
                }
            }
        }
        b'[' => {
            p.i += 1;
            p.ws();
            if p.peek() == Some(b']') {
                p.i += 1;
                return Ok(());
            }
            loop {
                p.ws();
                value(z, p, key, location, t, depth, level + 1)?;
                p.ws();
                match p.peek() {
                    Some(b',') => p.i += 1,
                    Some(b']') => {
                        p.i += 1;
                        return Ok(());
                    }
                    _ => return Err(()),
                }
            }
        }
        b'"' => {
            let (s, e, v) = p.string()?;
            let new = match key.and_then(|k| z.classify(k, &v, location, t)) {
                Some(kind) => z.redact(kind, &v, location, t),
                None => z.auto(&v, location, t, depth),
            };
            if let Some(n) = new {
                p.replace(s, e, &quote(&n));
            }
            Ok(())
        }
        b't' | b'f' | b'n' => {
            for lit in ["true", "false", "null"] {
                if p.s[p.i..].starts_with(lit) {
                    p.i += lit.len();
                    return Ok(());
                }
            }
            Err(())
        }
        b'-' | b'0'..=b'9' => {
            let s = p.i;
            while p.i < p.b.len()
                && matches!(p.b[p.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
            {
                p.i += 1;
            }
            let num = &p.s[s..p.i];
            let kind = match key.and_then(|k| z.names.classify(k)) {
                Some((kind, crate::rules::Strength::Strong))
                    if crate::sanitizer::could_be_credential(kind, num) =>
                {
                    Some(kind)
                }
                Some((_, crate::rules::Strength::Strong)) => {
                    t.report.kept(key.unwrap_or(""), location);
                    None
                }
                _ if num.len() >= 13 && secrets::luhn_card(num) => Some("card"),
                _ => None,
            };
            if let Some(kind) = kind {
                if let Some(n) = z.redact(kind, num, location, t) {
                    p.replace(s, p.i, &quote(&n));
                }
            }
            Ok(())
        }
        _ => Err(()),
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}
