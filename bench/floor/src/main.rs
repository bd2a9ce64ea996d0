//! The floor under any HAR tool on this machine: how long reading a HAR and parsing it
//! with the fastest JSON parsers we know (simdjson's port `simd-json`, ByteDance's
//! `sonic-rs`, both SIMD) take, on one core, best of N runs.
//!
//!     hark-bench-floor FILE [RUNS]      (prints one JSON object)
//!
//! - `read_ms`: reading the file through a 256 KiB buffer, as a streaming tool does (page
//!   cache warm).
//! - `memchr_ms`: one SIMD pass over the bytes in memory (count `"`): memory bandwidth.
//! - `simd_json_tape_ms`: simd-json's tape (every value located, no tree built).
//! - `sonic_fields_ms`: sonic-rs walking `log.entries` and pulling, per entry, only the
//!   fields `hark summary` counts (status, method, url, mimeType, time, bodySize,
//!   _transferSize, content.size, httpVersion): the least JSON work a summary can do,
//!   everything else skipped with SIMD.
//! - `serde_json_ms`: serde_json's `Value` (the usual Rust way), for reference.
//! - `hark_detectors_ms`: hark's own secret detectors (`crates/sanitize`: key formats,
//!   JWTs, cards, e-mail addresses, each behind its literal prefilter) run once over every
//!   piece of text between two quotes of 6 bytes or more (sanitize's minimum), nothing
//!   else: detection alone, without parsing, decoding or writing.
//! - `hark_detectors_distinct_ms`: the same detectors over each *distinct* such piece
//!   once (the pieces are deduplicated before the clock starts): the least detection any
//!   tool that remembers what it has already looked at must do on this file.
//! - `copies_ms`: finding every copy of the values the detectors found (each distinct
//!   match, as written, URL-encoded and base64-encoded: `copy_patterns`) with one
//!   Aho-Corasick automaton over the whole file, which a sanitizer that "finds every
//!   copy" must do once it knows the values, whatever else it does (building the
//!   automaton included, also given apart as `copies_build_ms`). A lower bound: hark
//!   also knows values by their names (cookies, `Authorization` …), which adds patterns.
//!
//! The parse timings exclude reading; a tool needs both.
use std::time::{Duration, Instant};

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .min()
        .expect("at least one run")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: hark-bench-floor FILE [RUNS]");
    let runs: usize = args
        .next()
        .map_or(3, |r| r.parse().expect("RUNS is a number"));
    let mut buf = vec![0u8; 256 << 10];
    let read = best(runs, || {
        use std::io::Read;
        let mut f = std::fs::File::open(&path).expect("readable file");
        let mut n = 0;
        loop {
            match f.read(&mut buf).expect("readable file") {
                0 => break n,
                k => n += k,
            }
        }
    });
    let data = std::fs::read(&path).expect("readable file");
    let memchr = best(runs, || memchr::memchr_iter(b'"', &data).count());
    let mut scratch = data.clone();
    let tape = best(runs, || {
        scratch.copy_from_slice(&data);
        simd_json::to_tape(&mut scratch)
            .expect("valid JSON")
            .0
            .len()
    });
    // The copy the tape needs (simd-json parses in place) is timed apart and taken off.
    let copy = best(runs, || scratch.copy_from_slice(&data));
    let tape = tape.saturating_sub(copy);
    // Per entry, the top-level keys are walked lazily; inside request, response and
    // content only the wanted fields are read, every other value is skipped.
    fn pick(raw: &str, want: &[&str], nested: &[&str], seen: &mut usize) {
        for kv in sonic_rs::to_object_iter(raw) {
            let (k, v) = kv.expect("an object member");
            if want.contains(&k.as_ref()) {
                *seen += v.as_raw_str().len().min(1);
            } else if nested.contains(&k.as_ref()) {
                let (w, n): (&[&str], &[&str]) = match k.as_ref() {
                    "request" => (&["method", "url", "httpVersion"], &[]),
                    "response" => (&["status", "bodySize", "_transferSize"], &["content"]),
                    _ => (&["mimeType", "size"], &[]),
                };
                pick(v.as_raw_str(), w, n, seen);
            }
        }
    }
    let mut fields_seen = 0usize;
    let sonic = best(runs, || {
        fields_seen = 0;
        let entries = sonic_rs::get(data.as_slice(), ["log", "entries"]).expect("log.entries");
        for e in sonic_rs::to_array_iter(entries.as_raw_str().as_bytes()) {
            let e = e.expect("an entry");
            pick(
                e.as_raw_str(),
                &["time"],
                &["request", "response"],
                &mut fields_seen,
            );
        }
    });
    let serde = best(runs, || {
        serde_json::from_slice::<serde_json::Value>(&data)
            .expect("valid JSON")
            .is_object()
    });
    let detectors = secrets::Detectors::new(&[], &[]).expect("built-in detectors");
    let text = std::str::from_utf8(&data).expect("a UTF-8 HAR");
    let mut detected = 0usize;
    let detect = best(runs, || {
        let mut out = Vec::new();
        detected = 0;
        // Pieces under 6 bytes are skipped, as `hark sanitize` skips such strings.
        for piece in text.split('"').filter(|p| p.len() >= 6) {
            out.clear();
            detectors.find(piece, &mut out);
            detected += out.len();
        }
    });
    let distinct: Vec<&str> = {
        let mut seen = std::collections::HashSet::new();
        text.split('"')
            .filter(|p| p.len() >= 6 && seen.insert(*p))
            .collect()
    };
    let mut detected_distinct = 0usize;
    let detect_distinct = best(runs, || {
        let mut out = Vec::new();
        detected_distinct = 0;
        for piece in &distinct {
            out.clear();
            detectors.find(piece, &mut out);
            detected_distinct += out.len();
        }
    });
    // The values found, in the forms a copy of them takes in a HAR.
    let mut values = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for piece in &distinct {
        out.clear();
        detectors.find(piece, &mut out);
        for (r, _, _) in &out {
            values.insert(piece[r.clone()].to_string());
        }
    }
    let mut patterns = std::collections::BTreeSet::new();
    for v in &values {
        use base64::Engine;
        patterns.insert(v.clone());
        let pct: String = v
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        patterns.insert(pct);
        patterns.insert(base64::engine::general_purpose::STANDARD.encode(v));
    }
    // The faster of a full DFA and the crate's own choice (with its prefilters), each
    // timed building the automaton and searching with it (a sanitizer does both).
    let mut copies = 0usize;
    let (copies_time, copies_build) = [Some(aho_corasick::AhoCorasickKind::DFA), None]
        .into_iter()
        .map(|kind| {
            let build = || {
                aho_corasick::AhoCorasick::builder()
                    .kind(kind)
                    .build(&patterns)
                    .expect("an automaton of the values")
            };
            let ac = build();
            let search = best(runs, || {
                copies = ac.find_iter(data.as_slice()).count();
            });
            let built = best(runs, build);
            (search + built, built)
        })
        .min()
        .expect("two automata");
    let mb = data.len() as f64 / 1e6;
    let ms = |d: Duration| (d.as_secs_f64() * 1e4).round() / 10.0;
    println!(
        "{{\"file\": {:?}, \"mb\": {:.1}, \"runs\": {runs}, \"read_ms\": {}, \"memchr_ms\": {}, \"simd_json_tape_ms\": {}, \"sonic_fields_ms\": {}, \"serde_json_ms\": {}, \"hark_detectors_ms\": {}, \"hark_detectors_distinct_ms\": {}, \"fields\": {fields_seen}, \"detected\": {detected}, \"distinct_pieces\": {}, \"detected_distinct\": {detected_distinct}, \"copies_ms\": {}, \"copies_build_ms\": {}, \"copy_patterns\": {}, \"copies\": {copies}}}",
        path,
        mb,
        ms(read),
        ms(memchr),
        ms(tape),
        ms(sonic),
        ms(serde),
        ms(detect),
        ms(detect_distinct),
        distinct.len(),
        ms(copies_time),
        ms(copies_build),
        patterns.len()
    );
}
