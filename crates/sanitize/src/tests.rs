use super::*;
use crate::known::{raw_needs_decoding, Form, Known};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use har::{HarReader, HarWriter, Style};
use serde_json::Value;
use std::sync::Arc;

fn san() -> Sanitizer {
    Sanitizer::new(Options::default()).unwrap()
}

fn run(s: &Sanitizer, v: &str) -> (Value, Tally) {
    let mut v: Value = serde_json::from_str(v).unwrap();
    let mut t = Tally::default();
    s.entry(&mut v, &mut t);
    (v, t)
}

#[test]
fn json_body_lossless() {
    let s = san();
    let mut t = Tally::default();
    let body = "{\n  \"user\": {\"password\": \"hunter22x\", \"id\": 42},\n  \"n\": 1.50}";
    let out = json::scrub(&s, body, loc::POST, &mut t, 1)
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        "{\n  \"user\": {\"password\": \"[redacted: password]\", \"id\": 42},\n  \"n\": 1.50}"
    );
    assert_eq!(t.found[0].0, "hunter22x");
    assert!(json::scrub(&s, "{not json", loc::POST, &mut t, 1).is_err());
}

#[test]
fn headers_cookies_query() {
    let s = san();
    let (v, t) = run(
        &s,
        r#"{"request": {"url": "https://u:p4ssw0rd@x.test/cb?code=ac_nB5FY9iOKTRGS5wIqoQxfclt9Ckzp0EH&page=2",
          "headers": [{"name": "Authorization", "value": "Bearer abcdefghijklmnop1234"},
                      {"name": "Cookie", "value": "sid=s%3Aabc123def456; theme=dark"},
                      {"name": "Accept", "value": "text/html"}],
          "cookies": [{"name": "sid", "value": "s%3Aabc123def456"}],
          "queryString": [{"name": "code", "value": "ac_nB5FY9iOKTRGS5wIqoQxfclt9Ckzp0EH"}, {"name": "page", "value": "2"}]},
         "response": {"headers": [{"name": "Set-Cookie", "value": "sid=s%3Aabc123def456; Path=/; HttpOnly"}], "cookies": [], "content": {"mimeType": "text/plain", "text": "hi"}, "redirectURL": ""}}"#,
    );
    let r = &v["request"];
    assert_eq!(
        r["url"],
        "https://%5Bredacted%3A%20userinfo%5D@x.test/cb?code=%5Bredacted%3A%20oauth%20code%5D&page=2"
    );
    assert_eq!(r["headers"][0]["value"], "Bearer [redacted: token]");
    assert_eq!(
        r["headers"][1]["value"],
        "sid=[redacted: cookie]; theme=dark"
    );
    assert_eq!(r["headers"][2]["value"], "text/html");
    assert_eq!(r["cookies"][0]["value"], "[redacted: cookie]");
    assert_eq!(r["queryString"][0]["value"], "[redacted: oauth code]");
    assert_eq!(r["queryString"][1]["value"], "2");
    assert_eq!(
        v["response"]["headers"][0]["value"],
        "sid=[redacted: cookie]; Path=/; HttpOnly"
    );
    assert!(t.report.total() >= 7);
}

#[test]
fn every_copy_second_pass() {
    let mut s = san();
    let mut sec = Secrets::default();
    sec.add("n3sted-Pa55w0rd-9xQ".into(), "password");
    s.set_secrets(&sec).unwrap();
    let js = "var p = \"n3sted-Pa55w0rd-9xQ\"; // and encoded n3sted-Pa55w0rd-9xQ";
    let b64 = STANDARD.encode(js);
    let (v, _) = run(
        &s,
        &format!(
            r#"{{"request": {{"url": "https://x.test/?q=n3sted-Pa55w0rd-9xQ"}}, "response": {{"content": {{"mimeType": "application/javascript", "text": "{b64}", "encoding": "base64"}}}}}}"#
        ),
    );
    let out = serde_json::to_string(&v).unwrap();
    assert!(!out.contains("n3sted"), "{out}");
    let text = String::from_utf8(
        STANDARD
            .decode(v["response"]["content"]["text"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        text,
        "var p = \"[redacted: password #1]\"; // and encoded [redacted: password #1]"
    );
}

#[test]
fn jwt_keeps_safe_claims() {
    let s = san();
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD
        .encode(r#"{"iss":"https://id.test","sub":"u1","email":"a@b.test","exp":1700000000}"#);
    let tok = format!("{h}.{p}.c2lnbmF0dXJl");
    let r = s.render("token", &tok);
    let parts: Vec<&str> = r.split('.').collect();
    assert_eq!(parts[0], h);
    assert_eq!(parts[2], "redacted");
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims, r#"{"iss":"https://id.test","exp":1700000000}"#);
    assert_eq!(s.render("token", &r), r, "idempotent");
}

#[test]
fn hash_and_remove_modes() {
    let h = Sanitizer::new(Options {
        mode: Mode::Hash(b"k".to_vec()),
        ..Options::default()
    })
    .unwrap();
    let a = h.render("cookie", "value-1");
    assert_eq!(a, h.render("cookie", "value-1"));
    assert_ne!(a, h.render("cookie", "value-2"));
    assert!(a.starts_with("[redacted: cookie #"));
    let r = Sanitizer::new(Options {
        mode: Mode::Remove,
        ..Options::default()
    })
    .unwrap();
    let (v, _) = run(
        &r,
        r#"{"request": {"headers": [{"name": "X-Api-Key", "value": "abcdef123456"}, {"name": "Accept", "value": "*/*"}], "queryString": [{"name": "password", "value": "x"}]}}"#,
    );
    assert_eq!(v["request"]["headers"].as_array().unwrap().len(), 1);
    assert_eq!(v["request"]["queryString"].as_array().unwrap().len(), 0);
}

#[test]
fn rules_file() {
    let rules = parse_rules(
        r#"
[names]
redact = ["tenant"]
keep = ["theme"]
[[patterns]]
name = "acme key"
regex = "acme_[a-z]+_[A-Za-z0-9]{16,}"
[values]
keep = ["^public-"]
"#,
    )
    .unwrap();
    let s = Sanitizer::new(Options {
        rules,
        ..Options::default()
    })
    .unwrap();
    let (v, _) = run(
        &s,
        r#"{"request": {"headers": [{"name": "Cookie", "value": "theme=dark; sid=abcdefgh12"}], "queryString": [{"name": "tenant", "value": "t1"}, {"name": "token", "value": "public-abc"}], "comment": "key acme_live_ABCDEFGHIJKLMNOP1"}}"#,
    );
    let r = &v["request"];
    assert_eq!(
        r["headers"][0]["value"],
        "theme=dark; sid=[redacted: cookie]"
    );
    assert_eq!(r["queryString"][0]["value"], "[redacted: custom]");
    assert_eq!(r["queryString"][1]["value"], "public-abc");
    assert_eq!(r["comment"], "key [redacted: acme key]");
    assert!(parse_rules("[nope]\n").is_err());
}

/// The second pass with `s` armed, written in `style`: the output and the report.
fn second_pass(
    s: Sanitizer,
    reader: HarReader,
    threads: usize,
    style: Style,
    seen: crate::pipeline::Seen,
) -> Result<(Vec<u8>, Report), Error> {
    let mut w = HarWriter::new(Vec::new(), style);
    let report = rewrite(Arc::new(s), reader, threads, style, seen, Some(&mut w))?;
    Ok((w.into_inner(), report))
}

/// Both passes over `har`: with the first pass's entry set (entries copied through when
/// nothing can change) and without (every entry parsed and sanitized).
fn two_passes(har: &str, threads: usize) -> (Value, Value) {
    let reader = || HarReader::new(har::Source::from_bytes("t.har", har.to_string())).unwrap();
    let (secrets, _, seen) = collect(Arc::new(san()), reader(), threads, Style::Pretty).unwrap();
    assert!(secrets.touched.is_some());
    let out = |secrets: &Secrets| {
        let mut s = san();
        s.set_secrets(secrets).unwrap();
        let (out, _) = second_pass(s, reader(), threads, Style::Pretty, seen.clone()).unwrap();
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let slow = Secrets {
        touched: None,
        ..secrets.clone()
    };
    (out(&secrets), out(&slow))
}

/// A log of entries that each only have a request URL.
fn har_of_urls(urls: &[&str]) -> String {
    let entries: Vec<String> = urls
        .iter()
        .map(|u| {
            format!(
                r#"{{"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 1,
  "request": {{"method": "GET", "url": "{u}", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "queryString": [], "headersSize": -1, "bodySize": 0}},
  "response": {{"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
    "content": {{"size": 0, "mimeType": "text/plain"}}, "redirectURL": "", "headersSize": -1, "bodySize": 0}},
  "cache": {{}}, "timings": {{"send": 0, "wait": 1, "receive": 0}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"log": {{"version": "1.2", "creator": {{"name": "t", "version": "1"}}, "entries": [{}]}}}}"#,
        entries.join(",\n")
    )
}

#[test]
fn distinct_values_get_distinct_numbers() {
    let har = har_of_urls(&[
        "https://id.test/authorize?state=Aa11bb22cc33dd44&code=xyzCODE12345",
        "https://app.test/cb?state=Zz99yy88xx77ww66&code=xyzCODE12345",
        "https://app.test/again?state=Aa11bb22cc33dd44",
        "https://app.test/x?access_token=tok_0123456789abcdefXYZ",
    ]);
    for threads in [1, 2] {
        let (fast, slow) = two_passes(&har, threads);
        assert_eq!(fast, slow);
        let url = |i: usize| {
            fast["log"]["entries"][i]["request"]["url"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let dec = |i: usize| crate::text::pct_decode(&url(i), false).unwrap();
        assert_eq!(
            dec(0),
            "https://id.test/authorize?state=[redacted: oauth state #1]&code=[redacted: oauth code #1]"
        );
        assert_eq!(
            dec(1),
            "https://app.test/cb?state=[redacted: oauth state #2]&code=[redacted: oauth code #1]"
        );
        assert_eq!(
            dec(2),
            "https://app.test/again?state=[redacted: oauth state #1]"
        );
        assert_eq!(
            dec(3),
            "https://app.test/x?access_token=[redacted: token #1]"
        );
    }
}

#[test]
fn names_decide_with_the_value() {
    let s = san();
    let (v, t) = run(
        &s,
        r#"{"request": {"url": "https://a.test/p?token_ready=1&user_token=Ab12Cd34Ef56", "headers": [{"name": "X-Auth-Key", "value": "k3y-Ab12Cd34Ef56"}, {"name": "Ocp-Apim-Subscription-Key", "value": "0123abcd4567ef89"}, {"name": "X-Functions-Key", "value": "fnKey_0123456789"}, {"name": "X-Token-Mode", "value": "ready"}],
          "postData": {"mimeType": "application/json", "text": "{\"hashedPassword\": \"abcdefabcdef\", \"userPassword\": \"letmein\", \"has_password\": true, \"secret\": false, \"token\": null, \"tokenCount\": 3, \"api_key\": 7, \"cvc\": 123, \"password\": \"\"}"}}}"#,
    );
    let out = serde_json::to_string(&v).unwrap();
    for leak in [
        "Ab12Cd34Ef56",
        "0123abcd4567ef89",
        "fnKey_0123456789",
        "abcdefabcdef",
        "letmein",
    ] {
        assert!(!out.contains(leak), "{leak}: {out}");
    }
    assert!(out.contains("token_ready=1"), "{out}");
    let body: Value =
        serde_json::from_str(v["request"]["postData"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(body["has_password"], true);
    assert_eq!(body["secret"], false);
    assert_eq!(body["token"], Value::Null);
    assert_eq!(body["api_key"], 7);
    assert!(body["cvc"].as_str().unwrap().starts_with("[redacted: card"));
    assert_eq!(body["password"], "");
    assert_eq!(v["request"]["headers"][3]["value"], "ready");
    let kept: Vec<&str> = t.report.kept.keys().map(|(n, _)| n.as_str()).collect();
    for n in ["token_ready", "X-Token-Mode", "api_key"] {
        assert!(
            kept.iter().any(|k| k.eq_ignore_ascii_case(n)),
            "{n} not in {kept:?}"
        );
    }
}

#[test]
fn markers_in_the_input_are_not_trusted() {
    let s = san();
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(r#"{"sub":"u1","email":"a@b.test"}"#);
    let fake = format!("{h}.{p}.redacted");
    let (v, _) = run(
        &s,
        &format!(
            r#"{{"request": {{"headers": [{{"name": "X-Token", "value": "[redacted: x] sk_live_4eC39HqLyjWDarjtT1zdp7dc"}}, {{"name": "Authorization", "value": "Bearer {fake}"}}], "queryString": [{{"name": "password", "value": "[redacted: hunter2]"}}]}}}}"#
        ),
    );
    let out = serde_json::to_string(&v).unwrap();
    assert!(!out.contains("4eC39HqLyjWDarjtT1zdp7dc"), "{out}");
    assert!(!out.contains(&p), "{out}");
    assert!(!out.contains("hunter2"), "{out}");
    // A placeholder itself is kept.
    assert!(crate::sanitizer::is_placeholder(
        "[redacted: oauth state #2]"
    ));
    assert!(crate::sanitizer::is_placeholder(
        "[redacted: cookie #3fa9c0d1e2b3a4f5]"
    ));
    assert!(!crate::sanitizer::is_placeholder("[redacted: hunter2]"));
}

#[test]
fn fast_path_misses_no_copy() {
    let secret = "tok_ABCdef123456789XYZ";
    let b64 = STANDARD.encode(format!("xx {secret} yy"));
    let entry = |req: &str, text: &str, enc: &str| {
        format!(
            r#"{{"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 1,
  "request": {{"method": "GET", "url": "https://x.test/{req}", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "queryString": [], "headersSize": -1, "bodySize": 0}},
  "response": {{"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
    "content": {{"size": 1, "mimeType": "text/plain", "text": "{text}"{enc}}}, "redirectURL": "", "headersSize": -1, "bodySize": 1}},
  "cache": {{}}, "timings": {{"send": 0, "wait": 1, "receive": 0}}}}"#
        )
    };
    let entries = [
        // Found by name: remembered for the second pass.
        entry(&format!("cb?access_token={secret}"), "ok", ""),
        // Copies only visible once decoded.
        entry("a", "tok_ABCdef123456789XY\\u005A", ""),
        entry("b?q=tok_ABCdef123456789%58YZ", "ok", ""),
        entry("c", &b64, r#", "encoding": "base64""#),
        entry("d", r#"{\"t\": \"tok_ABCdef123456789XY\\u005A\"}"#, ""),
        entry("e", &format!("plain {secret} copy"), ""),
        // Nothing to change: copied through.
        entry("f", "an ordinary body, 12345", ""),
    ];
    let har = format!(
        r#"{{"log": {{"version": "1.2", "creator": {{"name": "t", "version": "1"}}, "entries": [{}]}}}}"#,
        entries.join(",\n")
    );
    for threads in [1, 2] {
        let (fast, slow) = two_passes(&har, threads);
        assert_eq!(fast, slow);
        let text = serde_json::to_string(&fast).unwrap();
        assert!(!text.contains("ABCdef123456789"), "{text}");
        let body = fast["log"]["entries"][3]["response"]["content"]["text"]
            .as_str()
            .unwrap();
        let body = String::from_utf8(STANDARD.decode(body).unwrap()).unwrap();
        assert_eq!(body, "xx [redacted: token #1] yy");
        assert_eq!(
            fast["log"]["entries"][6]["response"]["content"]["text"],
            "an ordinary body, 12345"
        );
    }
}

#[test]
fn windows_and_raw_decoding() {
    let known = |pats: &[&str]| {
        let list = pats
            .iter()
            .enumerate()
            .map(|(i, p)| (p.to_string(), i as u32, Form::Plain))
            .collect();
        let values = pats
            .iter()
            .map(|_| ("[redacted: x]".to_string(), "x"))
            .collect();
        Known::build(list, values).unwrap()
    };
    // The window is the last six bytes of the last run of unreserved ones: `le.com`.
    let a = known(&["jane.doe@example.com", "tok_ABCdef123456"]);
    assert!(a.anchored());
    assert!(!a.may_occur(b"see jane.doe"));
    assert!(a.may_occur(b"see ample.com"));
    assert!(!a.may_occur(b"see example.org"));
    assert!(a.may_occur(b"x tok_ABCdef123456"));
    let hits = a.find(b"mail jane.doe@example.com and tok_ABCdef1234567 or tok_ABCdef12345");
    let ranges: Vec<_> = hits.iter().map(|h| h.0.clone()).collect();
    assert_eq!(ranges, [5..25, 30..46]);
    let b = known(&["a+b/c d:e"]);
    // Without a run of six: searched exactly by `find`; ruled out by its runs of
    // unreserved bytes, which any spelling of it holds in order.
    assert!(b.anchored());
    assert_eq!(b.find(b"xx a+b/c d:e").len(), 1);
    for maybe in [
        &b"xx a+b/c d:e"[..],
        b"q=a%2Bb%2Fc%20d%3Ae",
        br#"{\"v\": \"a+b/c d:e\"}"#,
        b"a.b.c.d.e",
    ] {
        assert!(b.may_occur(maybe), "{}", String::from_utf8_lossy(maybe));
        assert!(!b.absent_from(maybe), "{}", String::from_utf8_lossy(maybe));
    }
    for absent in [&b"a+b/c d"[..], b"e:d c/b+a", b"nothing here"] {
        assert!(!b.may_occur(absent));
        assert!(b.absent_from(absent));
    }
    // A window that is there, a pattern that is not: `may_occur` takes one for the
    // other, `absent_from` reads the bytes where the pattern would be (the pattern's
    // own bytes are all unreserved, so no decoded string can spell it otherwise).
    assert!(a.may_occur(b"see ample.com"));
    assert!(a.absent_from(b"see ample.com"));
    assert!(a.absent_from(b"%see ample.com\\n+"));
    assert!(!a.absent_from(b"x jane.doe@example.com"));
    // A pattern with other bytes, its window there: ruled out only where no escape is
    // near enough to spell it otherwise.
    let c = known(&["user=jane&id=doe_12345"]);
    assert!(c.may_occur(b"other doe_12345"));
    assert!(c.absent_from(b"other=jone&id=doe_12345 x"));
    assert!(!c.absent_from(b"user%3Djane%26id=doe_12345"));
    assert!(!c.absent_from(b"user=jane&id=doe_12345"));
    // A string judged clean is remembered only when its own bytes decided it: the
    // string `=doe_12345` holds the window of `q"=doe_12345`, which is not there when
    // nothing comes before the string's quote, and is read as there after `q`.
    let q = known(&["q\"=doe_12345"]);
    assert!(q.absent_from(br#""=doe_12345""#));
    assert!(!q.absent_from(br#"q"=doe_12345""#));
    // Too many patterns without a window to look up one by one: nothing is ruled out.
    let many: Vec<String> = (0..20).map(|i| format!("a:{i}:b:c")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let m = known(&many);
    assert!(!m.anchored());
    assert!(m.may_occur(b"nothing") && !m.absent_from(b"nothing"));
    assert!(raw_needs_decoding(br#""x": "\u0041""#));
    assert!(raw_needs_decoding(br#""x": "a\\u0041""#));
    assert!(raw_needs_decoding(br#""x": "a\/b""#));
    assert!(raw_needs_decoding(b"q=%41"));
    assert!(raw_needs_decoding(b"q=%2541"));
    assert!(raw_needs_decoding(br#""encoding": "base64""#));
    assert!(!raw_needs_decoding(br#""x": "a%20b%3A\"\n""#));
    let mut set = EntrySet::default();
    set.insert(3);
    set.insert(200);
    assert!(set.contains(3) && set.contains(200) && !set.contains(4) && !set.contains(9999));
}

/// The second pass as shipped (entries copied through when nothing can change) and
/// the reference: every entry parsed and sanitized, no raw-bytes prefilter at all.
/// `None` when the first pass fails (the file is not one the reader takes).
type Outputs = (Result<Vec<u8>, String>, Result<Vec<u8>, String>);
fn fast_and_reference(har: &str, threads: usize) -> Option<Outputs> {
    let reader = || HarReader::new(har::Source::from_bytes("t.har", har.to_string())).unwrap();
    let (secrets, _, seen) = collect(Arc::new(san()), reader(), threads, Style::Pretty).ok()?;
    let out = |secrets: &Secrets, prefilter: bool| {
        let mut s = san();
        s.set_secrets(secrets).unwrap();
        s.raw_prefilter = prefilter;
        // The reference transcodes every entry it does not rewrite.
        let seen = if prefilter {
            seen.clone()
        } else {
            crate::pipeline::Seen {
                verbatim: EntrySet::default(),
                ..seen.clone()
            }
        };
        second_pass(s, reader(), threads, Style::Pretty, seen)
            .map(|(out, _)| out)
            .map_err(|e| e.to_string())
    };
    let reference = Secrets {
        touched: None,
        ..secrets.clone()
    };
    Some((out(&secrets, true), out(&reference, false)))
}

#[test]
fn base64_content_decoded_in_the_raw_check() {
    let secret = "tok_ABCdef123456789XYZ";
    let mut s = san();
    s.set_secrets(&Secrets {
        values: [(secret.to_string(), "token")].into_iter().collect(),
        ..Secrets::default()
    })
    .unwrap();
    let entry = |text: &str| {
        format!(
            r#"{{"request": {{"url": "https://x.test/"}}, "response": {{"content": {{"mimeType": "text/plain", "text": "{}", "encoding": "base64"}}}}}}"#,
            STANDARD.encode(text)
        )
    };
    // Decoded and clear: the entry can be copied through.
    assert!(s.known_absent(entry("an ordinary body, 12345").as_bytes()));
    // The value (or a form of it that the full path decodes) is inside.
    assert!(!s.known_absent(entry(&format!("xx {secret} yy")).as_bytes()));
    assert!(!s.known_absent(entry(r#"{"t": "tok_ABCdef123456789XY\u005A"}"#).as_bytes()));
    assert!(!s.known_absent(entry("q=tok_ABCdef123456789%58YZ").as_bytes()));
    assert!(!s.known_absent(entry(r#"nested "base64" content"#).as_bytes()));
    // Binary content is checked as bytes.
    let mut bin = vec![0xff, 0xfe, 0x00];
    bin.extend_from_slice(secret.as_bytes());
    let raw = format!(
        r#"{{"response": {{"content": {{"text": "{}", "encoding": "base64"}}}}}}"#,
        STANDARD.encode(&bin)
    );
    assert!(!s.known_absent(raw.as_bytes()));
    // "base64" elsewhere than as the content's encoding decodes nothing.
    assert!(s.known_absent(br#"{"comment": "\"base64\"", "response": {"content": {"text": "x"}}}"#));
    // Not base64 after all: the full path leaves it as it is.
    assert!(s.known_absent(br#"{"response": {"content": {"text": "!!", "encoding": "base64"}}}"#));
    // Off (the reference in the tests below): never.
    s.raw_prefilter = false;
    assert!(!s.known_absent(entry("an ordinary body, 12345").as_bytes()));
}

/// Differential: on every real HAR at hand (testdata/har and the shared public corpus),
/// the output with the prefilter (raw check, base64 decoded there, copies through) is
/// the output of the reference path, with one thread and with two.
#[test]
fn prefilter_changes_no_output_on_the_corpus() {
    let files = corpus();
    let mut compared = 0;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue; // not UTF-8: not a HAR the reader takes
        };
        if HarReader::new(har::Source::from_bytes("t.har", text.clone())).is_err() {
            continue;
        }
        for threads in [1, 2] {
            let Some((fast, reference)) = fast_and_reference(&text, threads) else {
                break; // the first pass rejects the file (it is shared by both)
            };
            // Parsed: entries copied through keep their escapes (`<\/`) as written,
            // re-serialised ones are written in serde_json's form.
            let parse = |r: Result<Vec<u8>, String>| {
                r.map(|b| serde_json::from_slice::<Value>(&b).expect("output parses"))
            };
            let (fast, reference) = (parse(fast), parse(reference));
            assert!(fast == reference, "{}: outputs differ", f.display());
            compared += usize::from(fast.is_ok());
        }
    }
    assert!(compared >= 20, "compared {compared}");
}

/// Differential: entries the first pass found already in the output's layout are
/// written as they are (or as edited) instead of transcoded, and that changes no byte:
/// every real HAR at hand, as it is written pretty and made compact written compact (and
/// the first few each the other way), with the first pass's set of such entries and
/// with none.
#[test]
fn verbatim_entries_change_no_byte() {
    let mut compared = 0;
    let mut kept_as_is = 0;
    for (n, f) in corpus().into_iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let mut compact = Vec::new();
        if har::transcode::transcode(text.as_bytes(), Style::Compact, 0, &mut compact).is_err() {
            continue;
        }
        let compact = String::from_utf8(compact).unwrap();
        for (input, same) in [(&text, Style::Pretty), (&compact, Style::Compact)] {
            let open = || HarReader::new(har::Source::from_bytes("t.har", input.to_string()));
            if open().is_err() {
                break;
            }
            let reader = || open().unwrap();
            for style in [Style::Pretty, Style::Compact] {
                if style != same && n >= 3 {
                    continue;
                }
                let Ok((secrets, _, seen)) = collect(Arc::new(san()), reader(), 2, style) else {
                    break;
                };
                kept_as_is += seen.verbatim.count();
                let out = |verbatim: EntrySet| {
                    let mut s = san();
                    s.set_secrets(&secrets).unwrap();
                    let seen = crate::pipeline::Seen {
                        verbatim,
                        ..seen.clone()
                    };
                    second_pass(s, reader(), 2, style, seen).unwrap().0
                };
                let (fast, reference) = (out(seen.verbatim.clone()), out(EntrySet::default()));
                assert!(
                    fast == reference,
                    "{} ({style:?}): outputs differ",
                    f.display()
                );
                compared += 1;
            }
        }
    }
    assert!(
        compared >= 40 && kept_as_is > 1000,
        "{compared} outputs, {kept_as_is} entries as they are"
    );
}

/// The real HARs at hand: testdata/har and the shared public corpus.
fn corpus() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["testdata/har", "../shared/corpus/public"] {
        let d = root.join(dir);
        for f in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|x| x == "har") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 20, "{files:?}");
    files.sort();
    files
}

/// Differential: the first pass over the borrowed lite tree (`scan_entry`) counts,
/// remembers and flags exactly what the rewriting walk over serde_json's `Value`
/// (`entry`) does, entry by entry, in the same order — in every mode.
#[test]
fn first_pass_on_lite_equals_value_walk() {
    let rules = parse_rules(
        "[names]\nredact = [\"x-request-id\"]\nkeep = [\"theme\"]\n[content]\ndrop = [\"image/*\"]\nskip = [\"text/css\"]\n",
    )
    .unwrap();
    let sanitizers = [
        san(),
        Sanitizer::new(Options {
            mode: Mode::Remove,
            rules,
            drop_content: vec!["font".into()],
        })
        .unwrap(),
        Sanitizer::new(Options {
            mode: Mode::Hash(b"k".to_vec()),
            ..Options::default()
        })
        .unwrap(),
    ];
    let mut entries = 0;
    let mut redacted = 0;
    for f in corpus() {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(mut reader) = HarReader::new(har::Source::from_bytes("t.har", text)) else {
            continue;
        };
        while let Ok(Some(raw)) = reader.next_raw() {
            let (Ok(mut value), Ok(lite)) = (raw.parse(), raw.parse_lite()) else {
                panic!(
                    "{}: entry {} parses with one and not the other",
                    f.display(),
                    raw.index
                );
            };
            for s in &sanitizers {
                let (mut a, mut b) = (Tally::default(), Tally::default());
                s.entry(&mut value.value.clone(), &mut a);
                s.scan_entry(&lite, &mut b);
                let what = format!("{} entry {}", f.display(), raw.index);
                assert_eq!(a.report, b.report, "{what}");
                assert_eq!(a.found, b.found, "{what}");
                assert_eq!(a.detector_hit, b.detector_hit, "{what}");
                redacted += a.report.total();
            }
            value.value = Value::Null;
            entries += 1;
        }
    }
    assert!(
        entries > 500 && redacted > 500,
        "{entries} entries, {redacted} redactions"
    );
}

/// The memo of leaves that change nothing ([`crate::memo`]) changes nothing: every
/// entry of the corpus scanned twice in a row (so the second round finds its strings in
/// the memo) gives the same tally as without the memo — in the first pass (counts,
/// values remembered and their digests, detector flag) and in the second (counts, and
/// the entry as the edit path writes it, with each entry's flags) — and the memo skips
/// work.
#[test]
fn memo_changes_nothing() {
    use crate::found::Edits;
    use crate::memo::{HITS, OFF};
    let mut entries = 0;
    // Calls that change nothing but count something (a value kept under a
    // credential-like name), in every entry.
    let entry = r#"{"request": {"method": "GET", "url": "https://x.test/a?token_ready=1",
        "headers": [{"name": "X-Token-Ready", "value": "1"}], "cookies": [],
        "queryString": [{"name": "token_ready", "value": "1"}]},
        "response": {"status": 200, "content": {"mimeType": "application/json",
        "text": "{\"secret\": false}"}}}"#;
    let kept = format!(r#"{{"log": {{"entries": [{entry}, {entry}, {entry}]}}}}"#);
    let files = corpus()
        .into_iter()
        .filter_map(|f| Some((f.display().to_string(), std::fs::read_to_string(&f).ok()?)));
    for (f, text) in files.chain([("kept".to_string(), kept)]) {
        let reader = || HarReader::new(har::Source::from_bytes("t.har", text.clone()));
        let Ok(r) = reader() else {
            continue;
        };
        let Ok((secrets, _, _)) = collect(Arc::new(san()), r, 1, Style::Pretty) else {
            continue;
        };
        let first = san();
        let mut second = san();
        second.set_secrets(&secrets).unwrap();
        let tallies = |memo: bool| -> Vec<String> {
            OFF.with(|o| o.set(!memo));
            let mut out = Vec::new();
            for round in 0..4 {
                let mut reader = reader().unwrap();
                while let Ok(Some(raw)) = reader.next_raw() {
                    let Ok(lite) = raw.parse_lite() else {
                        continue;
                    };
                    if round < 2 {
                        let mut t = Tally {
                            dry: true,
                            ..Tally::default()
                        };
                        first.scan_entry(&lite, &mut t);
                        out.push(format!(
                            "{} {:?} {:?} {:?} {}",
                            raw.index, t.report, t.found, t.seen, t.detector_hit
                        ));
                    } else {
                        let mut t = Tally {
                            numbered: true,
                            known_absent: second.known_absent(raw.bytes),
                            detected_nothing: second.detected_nothing(raw.index),
                            edits: Some(Edits::new(raw.bytes)),
                            ..Tally::default()
                        };
                        second.scan_entry(&lite, &mut t);
                        let spliced = t.edits.take().and_then(|e| e.apply(raw.bytes));
                        out.push(format!("{} {:?} {:?}", raw.index, t.report, spliced));
                    }
                }
            }
            OFF.with(|o| o.set(false));
            out
        };
        let reference = tallies(false);
        let hits = HITS.with(|h| h.get());
        let with_memo = tallies(true);
        assert!(
            HITS.with(|h| h.get()) > hits,
            "{f}: no string found in the memo"
        );
        assert_eq!(reference.len(), with_memo.len());
        for (a, b) in reference.iter().zip(&with_memo) {
            assert_eq!(a, b, "{f}");
        }
        entries += reference.len() / 4;
    }
    assert!(entries > 500, "{entries} entries");
}

/// The second pass's edit path: a changed entry without escapes is written by splicing
/// its changed strings into its bytes, with the rewriting walk's result; a repeated key
/// or a changed string with escapes sends it down the full path.
#[test]
fn edits_splice_what_the_walk_rewrites() {
    let s = san();
    let edits = |entry: &str| {
        let lite = har::lite::parse(entry.as_bytes()).unwrap();
        let mut t = Tally {
            edits: Some(crate::found::Edits::new(entry.as_bytes())),
            ..Tally::default()
        };
        s.scan_entry(&lite, &mut t);
        t.edits.take().unwrap().apply(entry.as_bytes())
    };
    let entry = r#"{"request": {"url": "https://x.test/cb?code=AbC123dEf456&x=1", "headers": [
  {"name": "Authorization", "value": "Bearer tok_0123456789abcdefXYZ"},
  {"name": "Accept", "value": "*/*"}], "cookies": [{"name": "sid", "value": "s3cr3tSess10nValue"}]},
  "response": {"content": {"mimeType": "application/json", "text": "{\"access_token\": \"at_9f8e7d6c5b4a\"}"}}}"#;
    let spliced: Value = serde_json::from_slice(&edits(entry).unwrap()).unwrap();
    let (walked, _) = run(&s, entry);
    assert_eq!(spliced, walked);
    assert_ne!(spliced, serde_json::from_str::<Value>(entry).unwrap());
    // A repeated key: serde_json keeps one, the bytes both.
    assert!(edits(
        r#"{"request": {"url": "https://x.test/?token=AbC123dEf456", "url": "https://y.test/"}}"#
    )
    .is_none());
    // A string to change that holds an escape, written twice: which one is it?
    let twice = r#"{"comment": "Bearer tok_0123456789abcdef\tXYZ", "x": ["Bearer tok_0123456789abcdef\tXYZ"]}"#;
    assert!(edits(twice).is_none());
    let once =
        r#"{"comment": "Bearer tok_0123456789abcdef\tXYZ", "x": ["Bearer tok_0123456789abcdef"]}"#;
    let spliced: Value = serde_json::from_slice(&edits(once).unwrap()).unwrap();
    assert_eq!(spliced, run(&s, once).0);
}

/// Both passes with the values kept within `budget`: the output, the report, and
/// whether a table went to disk.
fn with_budget(
    text: &str,
    opts: &Options,
    budget: crate::spill::Budget,
    threads: usize,
) -> (Vec<u8>, Report, bool) {
    let reader = || HarReader::new(har::Source::from_bytes("t.har", text.to_string())).unwrap();
    let mut first = Sanitizer::new(opts.clone()).unwrap();
    first.budget = budget;
    let (secrets, found, seen) =
        collect(Arc::new(first), reader(), threads, Style::Pretty).unwrap();
    let disk = secrets.gathered.as_ref().is_some_and(|g| g.on_disk()) || secrets.numbers.on_disk();
    let mut s = Sanitizer::new(opts.clone()).unwrap();
    s.budget = budget;
    s.arm(secrets).unwrap();
    let (out, mut report) = second_pass(s, reader(), threads, Style::Pretty, seen).unwrap();
    report.distinct_values = found.distinct_values;
    (out, report, disk)
}

/// Differential: with a budget of a few records (every sort in many runs on disk, every
/// table on disk behind its filter, index and a cache of two blocks) the output and the
/// report are those of the default budget (everything in memory), byte for byte, on
/// every real HAR at hand, in placeholder and keyed-hash modes.
#[test]
fn values_on_disk_change_no_output_on_the_corpus() {
    let modes = [
        Options::default(),
        Options {
            mode: Mode::Hash(b"k".to_vec()),
            ..Options::default()
        },
    ];
    let (mut compared, mut on_disk) = (0, 0);
    for f in corpus() {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if HarReader::new(har::Source::from_bytes("t.har", text.clone())).is_err() {
            continue;
        }
        let reader = HarReader::new(har::Source::from_bytes("t.har", text.clone())).unwrap();
        if collect(Arc::new(san()), reader, 1, Style::Pretty).is_err() {
            continue; // the first pass rejects the file
        }
        for opts in &modes {
            let (mem, mem_report, mem_disk) =
                with_budget(&text, opts, crate::spill::Budget::default(), 1);
            let (disk, disk_report, went) =
                with_budget(&text, opts, crate::spill::Budget::tiny(), 2);
            assert!(!mem_disk, "{}", f.display());
            assert!(mem == disk, "{}: outputs differ", f.display());
            assert_eq!(mem_report, disk_report, "{}", f.display());
            compared += 1;
            on_disk += usize::from(went);
        }
    }
    assert!(
        compared >= 40 && on_disk >= 30,
        "compared {compared}, on disk {on_disk}"
    );
}

/// A file that changes between the two passes (a recording still being written) is not
/// sanitized with what the first pass found in another file: the run fails, naming the
/// file, whether an entry was added or one changed size.
#[test]
fn a_file_changed_between_the_passes_is_refused() {
    let entry = |url: &str| {
        format!(
            r#"{{"request": {{"method": "GET", "url": "{url}", "headers": [{{"name": "Authorization", "value": "Bearer tok_0123456789abcdef"}}]}}, "response": {{"status": 200}}}}"#
        )
    };
    let har = |entries: &[String]| format!(r#"{{"log": {{"entries": [{}]}}}}"#, entries.join(","));
    let first = har(&[entry("https://a.test/1"), entry("https://a.test/2")]);
    let added = har(&[
        entry("https://a.test/1"),
        entry("https://a.test/2"),
        entry("https://a.test/3?secret=new_value_123456"),
    ]);
    let longer = har(&[entry("https://a.test/1"), entry("https://a.test/22")]);
    for (second, want) in [
        (&first, None),
        (&added, Some("3 entries, not 2")),
        (&longer, Some("bytes, not")),
    ] {
        let open = |pass: crate::pipeline::Pass| -> Result<HarReader, Error> {
            let text = if pass == crate::pipeline::Pass::Scan {
                &first
            } else {
                second
            };
            Ok(HarReader::new(har::Source::from_bytes(
                "rec.har",
                text.clone(),
            ))?)
        };
        let mut w = HarWriter::new(Vec::new(), Style::Compact);
        let got = crate::pipeline::run(&Options::default(), open, 2, Style::Compact, Some(&mut w));
        match (got, want) {
            (Ok(r), None) => assert_eq!(r.entries, 2),
            (Err(e), Some(want)) => {
                let e = e.to_string();
                assert!(e.contains("rec.har") && e.contains(want), "{e}");
            }
            (got, want) => panic!("{want:?}: {got:?}"),
        }
    }
}
