//! `hark check`: validation with locations, the quality lint on real recordings, exit
//! codes, and malformed input that must give a clear error and never a panic.

mod common;
use common::*;
use serde_json::Value;
use std::ffi::OsStr;

/// `hark check --json ARGS…`: its exit code and report.
fn check_json<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> (i32, Value) {
    let o = hark(["check", "--json"]).args(args).run();
    (o.code(), o.json())
}

/// `hark check --json -` on `input`: its exit code, the file's report and stderr.
fn check_stdin(input: &[u8]) -> (i32, Value, String) {
    let o = hark(["check", "--json", "-"]).stdin(input).run();
    (o.code(), o.json()["files"][0].clone(), o.stderr())
}

fn finding_codes(file: &Value) -> Vec<(String, String)> {
    file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_real_har_reads_and_none_is_unreadable() {
    for file in corpus() {
        let (code, v) = check_json([&file]);
        let f = &v["files"][0];
        assert_ne!(code, 2, "{}: {}", file.display(), f["unreadable"]);
        assert_ne!(f["verdict"], "unreadable");
        assert_eq!(
            f["counts"]["errors"],
            0,
            "{}: spec errors in a real recording: {}",
            file.display(),
            f["problems"]
        );
        assert!(f["entries"].as_u64().unwrap() > 0);
    }
}

#[test]
fn the_healthy_recording_is_usable_and_each_broken_variant_is_caught() {
    let (code, v) = check_json([fixture("example-login.chromium.har")]);
    assert_eq!(code, 0, "{v}");
    assert!(
        finding_codes(&v["files"][0])
            .iter()
            .all(|(_, s)| s == "info"),
        "{v}"
    );

    let cases = [
        ("login-no-preserve-log.har", "log-not-preserved"),
        ("login-sanitized-export.har", "sensitive-data-stripped"),
        ("login-from-cache.har", "served-from-cache"),
    ];
    for (file, want) in cases {
        let (code, v) = check_json([fixture(file)]);
        let codes = finding_codes(&v["files"][0]);
        assert!(
            codes.contains(&(want.to_string(), "warning".to_string())),
            "{file}: {codes:?}"
        );
        assert_eq!(code, 1, "{file}");
        // Only the one thing that is wrong with it.
        let warnings: Vec<_> = codes.iter().filter(|(_, s)| s == "warning").collect();
        assert_eq!(warnings.len(), 1, "{file}: {codes:?}");
    }
    // The callback is entry 0 of the file without the earlier steps.
    let (_, v) = check_json([fixture("login-no-preserve-log.har")]);
    let f = v["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "log-not-preserved")
        .unwrap()
        .clone();
    assert_eq!(f["entries"][0], 0);
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .contains("/callback?code=…&state=…"),
        "query values are not shown: {f}"
    );
}

#[test]
fn producer_quirks_are_warnings_with_exact_locations() {
    let file = corpus_file("mitmproxy-import-firefox.har");
    let (code, v) = check_json([&file]);
    assert_ne!(code, 2);
    let problems = v["files"][0]["problems"].as_array().unwrap();
    let timings = problems
        .iter()
        .find(|g| g["path"] == "log.entries[*].timings" && g["code"] == "missing-field")
        .expect("Firefox's `timings: {}` is reported");
    assert_eq!(timings["severity"], "warning");
    let ex = &timings["examples"][0];
    // Point at the `timings` object of that entry in the file.
    let text = std::fs::read_to_string(&file).unwrap();
    let line = text
        .lines()
        .nth(ex["pos"]["line"].as_u64().unwrap() as usize - 1)
        .unwrap();
    let col = ex["pos"]["column"].as_u64().unwrap() as usize;
    assert_eq!(&line[col - 1..col], "{", "{line}");
    assert!(line[..col].contains("\"timings\""), "{line}");
    // --strict turns quirks into a failure.
    let (code, _) = check_json(["--strict", file.to_str().unwrap()]);
    assert_eq!(code, 1);
}

#[test]
fn wrong_types_and_missing_fields_are_errors_with_paths() {
    let doc = br#"{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
{"startedDateTime": "2024-01-01T00:00:00Z", "time": 1, "request": {"method": "GET", "url": "https://a.example/", "httpVersion": "h2", "cookies": [], "headers": [], "queryString": [], "headersSize": -1, "bodySize": -1},
 "response": {"status": 200, "statusText": "", "httpVersion": "h2", "cookies": [], "headers": [], "content": {"size": "12", "mimeType": "text/html"}, "redirectURL": "", "headersSize": -1, "bodySize": 0}, "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}},
{"startedDateTime": "not a date", "time": 1, "request": {"method": "GET", "url": "/relative", "httpVersion": "h2", "cookies": [], "headers": [{"name": "a"}], "queryString": [], "headersSize": -1, "bodySize": -1},
 "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
]}}"#;
    let (code, f, _) = check_stdin(doc);
    assert_eq!(code, 1, "HAR with errors exits 1: {f}");
    let problems = f["problems"].as_array().unwrap();
    let find = |path: &str, code: &str| {
        problems
            .iter()
            .find(|g| g["examples"][0]["path"] == path && g["code"] == code)
            .unwrap_or_else(|| panic!("no {code} at {path} in {f}"))
            .clone()
    };
    let size = find("log.entries[0].response.content.size", "wrong-type");
    assert_eq!(size["severity"], "error");
    assert_eq!(size["examples"][0]["pos"]["line"], 3);
    assert!(size["examples"][0]["message"]
        .as_str()
        .unwrap()
        .contains("expected an integer, found the string \"12\""));
    find("log.entries[1].startedDateTime", "invalid-date");
    find("log.entries[1].request.url", "invalid-url");
    find("log.entries[1].request.headers[0]", "missing-field");
    let missing = find("log.entries[1]", "missing-field");
    assert!(missing["examples"][0]["message"]
        .as_str()
        .unwrap()
        .contains("`response` is required"));
    assert_eq!(missing["examples"][0]["entry"], 1);
    assert_eq!(missing["examples"][0]["pos"]["line"], 4);
}

#[test]
fn malformed_input_gets_a_clear_error_with_its_location_and_exit_2() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", b"".to_vec(), "the input is empty"),
        ("not json", b"hello".to_vec(), "expected a JSON object"),
        ("not a har", br#"{"foo": 1}"#.to_vec(), "no \"log\" object"),
        (
            "log not an object",
            br#"{"log": []}"#.to_vec(),
            "log: expected an object, found an array",
        ),
        (
            "entries not an array",
            br#"{"log": {"version": "1.2", "entries": {}}}"#.to_vec(),
            "log.entries: expected an array of entries, found an object",
        ),
        (
            "truncated",
            br#"{"log": {"version": "1.2", "entries": [{"a": 1}, {"b": "#.to_vec(),
            "truncated",
        ),
        (
            "bad json in an entry",
            b"{\"log\": {\"entries\": [\n{\"a\": 1},\n{\"b\": tru}]}}".to_vec(),
            "3:10: log.entries[1]",
        ),
        (
            "invalid utf-8",
            b"{\"log\": {\"entries\": [{\"a\": \"\xff\xfe\"}]}}".to_vec(),
            "log.entries[0]",
        ),
        (
            "trailing garbage",
            br#"{"log": {"entries": []}} x"#.to_vec(),
            "after the end of the HAR object",
        ),
        (
            "deep nesting",
            format!("{{\"log\": {{\"entries\": [{}", "[".repeat(100_000)).into_bytes(),
            "nesting deeper than 256 levels",
        ),
        (
            "deep object nesting",
            format!("{{\"log\": {{\"entries\": [{}", "{\"a\":".repeat(100_000)).into_bytes(),
            "nesting deeper than 256 levels",
        ),
        ("utf-16", b"\xff\xfe{\x00}\x00".to_vec(), "UTF-16"),
    ];
    for (what, input, want) in cases {
        let (code, f, err) = check_stdin(&input);
        assert_eq!(code, 2, "{what}: {f} {err}");
        assert_eq!(f["verdict"], "unreadable", "{what}");
        let msg = f["unreadable"]["message"].as_str().unwrap();
        assert!(msg.contains(want), "{what}: {msg:?} does not say {want:?}");
        assert!(msg.starts_with("<stdin>:"), "{what}: names the file: {msg}");
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
}

#[test]
fn fmt_reports_the_same_errors_and_exits_2() {
    let o = hark(["fmt", "-"])
        .stdin(b"{\"log\": {\"entries\": [\n{\"b\": tru}]}}".as_slice())
        .run();
    o.assert_code(2);
    assert!(o.stderr().contains("<stdin>:2:10: log.entries[0]"), "{o}");
}

#[test]
fn missing_file_and_directory_are_errors_not_panics() {
    let (code, v) = check_json(["/nonexistent/x.har"]);
    assert_eq!(code, 2);
    assert!(v["files"][0]["unreadable"]["message"]
        .as_str()
        .unwrap()
        .contains("No such file"));
    let (code, v) = check_json(["/tmp"]);
    assert_eq!(code, 2);
    assert!(v["files"][0]["unreadable"]["message"]
        .as_str()
        .unwrap()
        .contains("directory"));
}

#[test]
fn human_output_is_plain_when_piped_and_names_the_problem() {
    let file = fixture("login-no-preserve-log.har");
    let o = hark(["check"]).arg(&file).run();
    let out = o.stdout();
    o.assert_code(1);
    assert!(!out.contains('\x1b'), "no colour codes when piped");
    assert!(
        out.contains("the log was not preserved across the login redirects"),
        "{out}"
    );
    assert!(out.contains("Preserve log"), "{out}");
    let o = hark(["--color", "always", "check"]).arg(&file).run();
    assert!(o.stdout().contains('\x1b'), "{o}");
}

#[test]
fn the_built_in_example_is_usable_and_completions_and_help_are_there() {
    hark(["check", "@example"]).run().assert_code(0);
    let o = hark(["example"]).run();
    o.assert_success();
    assert_eq!(entries(&o.json()).len(), 37);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = hark(["completions", shell]).run();
        assert!(o.success() && o.stdout().contains("check"), "{shell}: {o}");
    }
    let o = hark(["check", "--help"]).run();
    assert!(o.stdout().contains("Exit status"), "{o}");
}
