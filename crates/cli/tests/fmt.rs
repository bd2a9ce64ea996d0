//! `hark fmt` round-trips every real HAR losslessly, streams from stdin and gzip, and
//! never leaves a half-written file or overwrites its input.

mod common;
use common::*;
use std::io::Write;

#[test]
fn every_real_har_round_trips_exactly_pretty_and_compact() {
    let dir = tempfile::tempdir().unwrap();
    for file in corpus() {
        let input = std::fs::read(&file).unwrap();
        let want = canonical(&json(&input));
        for style in [&[][..], &["--compact"][..]] {
            let out = dir.path().join("out.har");
            let o = hark(["fmt"])
                .arg(&file)
                .arg("-o")
                .arg(&out)
                .args(style)
                .run();
            assert!(o.success(), "{}: {o}", file.display());
            let written = std::fs::read(&out).unwrap();
            assert_eq!(
                canonical(&json(&written)),
                want,
                "{} {:?}: not the same document",
                file.display(),
                style
            );
            if style.is_empty() {
                // Pretty output is what JSON.stringify(har, null, 2) gives.
                assert!(
                    written.starts_with(b"{\n  \"log\": {\n    \""),
                    "{}",
                    file.display()
                );
            } else {
                assert!(!written.contains(&b'\n'), "compact output has no newlines");
            }
        }
    }
}

#[test]
fn output_passes_har_validator_whenever_the_input_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for file in corpus() {
        let input_ok = har_validator(&file);
        let out = dir.path().join("out.har");
        hark(["fmt"])
            .arg(&file)
            .arg("-o")
            .arg(&out)
            .arg("--compact")
            .run()
            .assert_success();
        let output_ok = har_validator(&out);
        assert_eq!(
            input_ok,
            output_ok,
            "{}: har-validator disagrees after fmt",
            file.display()
        );
        checked += 1;
    }
    assert!(checked >= 25);
}

#[test]
fn reads_stdin_gzip_and_bom_and_writes_stdout() {
    let file = corpus_file("mitmproxy-import-with-bom.har");
    let raw = std::fs::read(&file).unwrap();
    assert!(
        raw.starts_with(b"\xEF\xBB\xBF"),
        "fixture starts with a BOM"
    );
    let want = canonical(&json(&raw));

    let o = hark(["fmt", "-"]).stdin(raw.clone()).run();
    o.assert_success();
    assert_eq!(canonical(&o.json()), want);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    let gz = gz.finish().unwrap();
    let o = hark(["fmt", "-", "--compact"]).stdin(gz.clone()).run();
    o.assert_success();
    assert_eq!(canonical(&o.json()), want);

    let dir = tempfile::tempdir().unwrap();
    let gz_file = dir.path().join("capture.har.gz");
    std::fs::write(&gz_file, &gz).unwrap();
    let o = hark(["fmt"]).arg(&gz_file).run();
    assert_eq!(canonical(&o.json()), want);
}

#[test]
fn keeps_fields_after_entries_and_unusual_numbers() {
    let doc = br#"{"x-before": 1, "log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
        {"startedDateTime": "2024-01-01T00:00:00.1234567+02:00", "time": 1.50, "_big": 12345678901234567890123,
         "request": {"method": "GET", "url": "https://a.example/", "httpVersion": "h2", "cookies": [], "headers": [], "queryString": [], "headersSize": -1, "bodySize": -1},
         "response": {"status": 200, "statusText": "", "httpVersion": "h2", "cookies": [], "headers": [], "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1, "bodySize": 0},
         "cache": {}, "timings": {"send": 0, "wait": 1.0e0, "receive": -1}, "_esc": "caf\u00e9 \/ \ud83d\ude00"}
      ], "pages": [], "comment": "after"}, "x-after": [true]}"#;
    let o = hark(["fmt", "-", "--compact"]).stdin(doc).run();
    o.assert_success();
    let out = o.stdout();
    assert_eq!(canonical(&json(doc)), canonical(&json(out.as_bytes())));
    assert!(
        out.starts_with(r#"{"x-before":1,"log":{"version":"1.2""#),
        "{out}"
    );
    assert!(
        out.ends_with(r#"],"pages":[],"comment":"after"},"x-after":[true]}"#),
        "{out}"
    );
    assert!(
        out.contains(r#""caf\u00e9 \/ \ud83d\ude00""#),
        "escapes kept as written: {out}"
    );
    for kept in [
        "1.50",
        "12345678901234567890123",
        "1.0e0",
        "-1",
        ".1234567+02:00",
    ] {
        assert!(out.contains(kept), "{kept} not kept as written in {out}");
    }
}

#[test]
fn never_overwrites_the_input_nor_leaves_a_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.har");
    std::fs::copy(fixture("example-login.chromium.har"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let o = hark(["fmt"]).arg(&input).arg("-o").arg(&input).run();
    o.assert_code(2);
    assert!(
        o.stderr().contains("refusing to write over an input file"),
        "{o}"
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);

    // A good output file stays as it was when the new input turns out to be broken.
    let good = dir.path().join("good.har");
    std::fs::write(&good, b"previous good content").unwrap();
    let broken = dir.path().join("broken.har");
    std::fs::write(&broken, &before[..before.len() / 2]).unwrap();
    let o = hark(["fmt"]).arg(&broken).arg("-o").arg(&good).run();
    o.assert_code(2);
    assert!(o.stderr().contains("truncated"), "{o}");
    assert_eq!(std::fs::read(&good).unwrap(), b"previous good content");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn single_and_multi_threaded_output_is_identical() {
    let file = corpus_file("perfcascade-www.bbc.co.uk.160529_8V_7R3.har");
    let one = hark(["fmt"]).arg(&file).args(["-j", "1"]).run();
    let four = hark(["fmt"]).arg(&file).args(["-j", "4"]).run();
    one.assert_success();
    four.assert_success();
    assert_eq!(one.stdout, four.stdout);
    assert!(one.stdout.len() > 1_000_000);
}
