use super::*;

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
        "var p = \"[redacted: password]\"; // and encoded [redacted: password]"
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
