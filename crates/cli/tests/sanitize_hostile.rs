//! `hark sanitize` on secrets hidden in unusual places: each case plants one into a real
//! Chromium recording (testdata/truth/har/cached-age.chromium.har, which holds nothing
//! sensitive), and checks that `--check` exits 1, that the sanitized copy holds the
//! secret in no form (plain, URL-encoded, base64) and that no header, cookie, query or
//! form parameter was deleted.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;

const PW: &str = "Pw-9f8e7d6c5b4aZ";
const GH: &str = "ghp_R4nd0mT0k3nV4lu3Xy9Zq8Wp7Vo6Un5Tm4Sl";
const AWS: &str = "AKIAZ7Q4R2W9X3V5T8Y1";

fn b64url(s: &str) -> String {
    b64_encode(s)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// A JWT with a personal claim (its e-mail must go).
fn jwt(sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        b64url(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(r#"{"sub":"u-77","email":"jwt.person@example.test","exp":1900000000}"#)
    )
}

fn base() -> Value {
    read_json(testdata("truth/har/cached-age.chromium.har"))
}

fn entry(h: &mut Value) -> &mut Value {
    &mut h["log"]["entries"][0]
}

fn set_post(h: &mut Value, mime: &str, text: &str, params: Value) {
    entry(h)["request"]["method"] = json!("POST");
    entry(h)["request"]["postData"] = json!({"mimeType": mime, "text": text, "params": params});
}

fn set_content(h: &mut Value, mime: &str, text: &str, encoding: Option<&str>) {
    let c = &mut entry(h)["response"]["content"];
    c["mimeType"] = json!(mime);
    c["text"] = json!(text);
    match encoding {
        Some(e) => c["encoding"] = json!(e),
        None => {
            c.as_object_mut().unwrap().shift_remove("encoding");
        }
    }
}

/// Remember `PW` by name (a `password` query parameter) so that a copy elsewhere is a
/// known value.
fn known_pw(h: &mut Value) {
    let url = entry(h)["request"]["url"].as_str().unwrap().to_string();
    entry(h)["request"]["url"] = json!(format!("{url}?password={PW}"));
    entry(h)["request"]["queryString"] = json!([{"name": "password", "value": PW}]);
}

fn counts(h: &Value) -> Vec<usize> {
    let mut out = Vec::new();
    for e in h["log"]["entries"].as_array().unwrap() {
        for part in [
            &e["request"]["headers"],
            &e["request"]["cookies"],
            &e["request"]["queryString"],
            &e["request"]["postData"]["params"],
            &e["response"]["headers"],
            &e["response"]["cookies"],
        ] {
            out.push(part.as_array().map_or(0, Vec::len));
        }
    }
    out
}

fn check_case(dir: &Path, name: &str, har: &Value, secrets: &[&str]) {
    let input = dir.join(format!("{name}.har"));
    std::fs::write(&input, serde_json::to_vec_pretty(har).unwrap()).unwrap();
    let o = hark(["sanitize", "--check", "-q"]).arg(&input).run();
    o.assert_code(1);
    let out = dir.join(format!("{name}.out.har"));
    hark(["sanitize", "-q"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .run()
        .assert_code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    for s in secrets {
        for f in forms(s) {
            assert!(!text.contains(&f), "{name}: {s} survives as {f}");
        }
    }
    assert_eq!(
        counts(har),
        counts(&json(text.as_bytes())),
        "{name}: an item was deleted"
    );
    // The sanitized copy passes the gate.
    hark(["sanitize", "--check", "-q"])
        .arg(&out)
        .run()
        .assert_code(0);
}

#[test]
fn the_base_recording_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("base.har");
    std::fs::write(&p, serde_json::to_vec(&base()).unwrap()).unwrap();
    hark(["sanitize", "--check", "-q"])
        .arg(&p)
        .run()
        .assert_code(0);
}

#[test]
fn every_hostile_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    type Case = (&'static str, Box<dyn Fn(&mut Value)>, Vec<String>);
    let cases: Vec<Case> = vec![
        (
            "multipart-empty-params",
            Box::new(|h| {
                let b = "----WebKitFormBoundary3sgNkXewASjJnQAs";
                let text = format!(
                    "--{b}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\ndoc a.txt\r\n--{b}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{PW}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{GH}.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{b}--\r\n"
                );
                set_post(
                    h,
                    &format!("multipart/form-data; boundary={b}"),
                    &text,
                    json!([]),
                );
            }),
            vec![PW.into(), GH.into()],
        ),
        (
            "names-with-user-and-has",
            Box::new(|h| {
                let body = json!({"userPassword": "Up-1a2b3c4d5e6f", "user_password": "Up-2a2b3c4d5e6f", "user_token": "Ut-3a2b3c4d5e6f", "hashedPassword": "Hp-4a2b3c4d5e6f"});
                set_post(h, "application/json", &body.to_string(), json!([]));
            }),
            vec![
                "Up-1a2b3c4d5e6f".into(),
                "Up-2a2b3c4d5e6f".into(),
                "Ut-3a2b3c4d5e6f".into(),
                "Hp-4a2b3c4d5e6f".into(),
            ],
        ),
        (
            "key-headers",
            Box::new(|h| {
                let hs = entry(h)["request"]["headers"].as_array_mut().unwrap();
                hs.push(json!({"name": "X-Auth-Key", "value": "xak-0a1b2c3d4e5f6a7b"}));
                hs.push(json!({"name": "Ocp-Apim-Subscription-Key", "value": "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"}));
                hs.push(json!({"name": "X-Functions-Key", "value": "fk_9z8y7x6w5v4u3t2s1r"}));
                hs.push(json!({"name": "Authorization ", "value": format!("Bearer tok-{PW}")}));
            }),
            vec![
                "xak-0a1b2c3d4e5f6a7b".into(),
                "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d".into(),
                "fk_9z8y7x6w5v4u3t2s1r".into(),
                PW.into(),
            ],
        ),
        (
            "form-body-ending-in-newline",
            Box::new(|h| {
                set_post(
                    h,
                    "application/x-www-form-urlencoded",
                    &format!("username=bob&password={PW}\n"),
                    json!([]),
                );
            }),
            vec![PW.into()],
        ),
        (
            "xssi-json",
            Box::new(|h| {
                set_content(
                    h,
                    "application/json",
                    &format!(")]}}'\n{{\"access_token\": \"{PW}\"}}"),
                    None,
                );
            }),
            vec![PW.into()],
        ),
        (
            "json-in-string-6-levels",
            Box::new(|h| {
                let mut v = json!({"secret": PW});
                for _ in 0..6 {
                    v = json!({"payload": v.to_string()});
                }
                set_content(h, "application/json", &v.to_string(), None);
            }),
            vec![PW.into()],
        ),
        (
            "xml",
            Box::new(|h| {
                set_content(
                    h,
                    "application/xml",
                    &format!("<?xml version=\"1.0\"?><Login><User>bob</User><Password>{PW}</Password></Login>"),
                    None,
                );
            }),
            vec![PW.into()],
        ),
        (
            "semicolon-query",
            Box::new(|h| {
                let url = entry(h)["request"]["url"].as_str().unwrap().to_string();
                entry(h)["request"]["url"] = json!(format!("{url}?a=1;password={PW}"));
            }),
            vec![PW.into()],
        ),
        (
            "double-url-encoding",
            Box::new(|h| {
                let url = entry(h)["request"]["url"].as_str().unwrap().to_string();
                entry(h)["request"]["url"] = json!(format!(
                    "{url}?next=https%253A%252F%252Fapp.test%252Fcb%253Faccess_token%253D{PW}"
                ));
            }),
            vec![PW.into()],
        ),
        (
            "binary-base64-body",
            Box::new(|h| {
                let mut bytes = vec![0x08u8, 0x96, 0x01, 0x12, 0x14];
                bytes.extend_from_slice(AWS.as_bytes());
                bytes.extend_from_slice(&[0x1a, 0xff, 0x00]);
                bytes.extend_from_slice(jwt("c2lnbmF0dXJlLXRleHQ").as_bytes());
                bytes.extend_from_slice(&[0x00, 0xfe]);
                set_content(h, "application/grpc", &b64_encode(&bytes), Some("base64"));
            }),
            vec![
                AWS.into(),
                "jwt.person@example.test".into(),
                "c2lnbmF0dXJlLXRleHQ".into(),
            ],
        ),
        (
            "binary-websocket-frame",
            Box::new(|h| {
                let mut bytes = vec![0x82u8, 0x00, 0xff];
                bytes.extend_from_slice(GH.as_bytes());
                bytes.push(0);
                entry(h)["_webSocketMessages"] = json!([
                    {"type": "receive", "time": 1.5, "opcode": 2, "data": b64_encode(&bytes)},
                    {"type": "send", "time": 1.6, "opcode": 1, "data": format!("{{\"token\": \"{PW}\"}}")}
                ]);
            }),
            vec![GH.into(), PW.into()],
        ),
        (
            "event-source-messages",
            Box::new(|h| {
                entry(h)["_eventSourceMessages"] = json!([
                    {"time": 1.5, "eventName": "message", "eventId": "1", "data": format!("{{\"refresh_token\": \"{PW}\"}}")}
                ]);
            }),
            vec![PW.into()],
        ),
        (
            "encoding-spelled-Base64",
            Box::new(|h| {
                set_content(
                    h,
                    "application/json",
                    &b64_encode(format!("{{\"password\": \"{PW}\"}}")),
                    Some("Base64"),
                );
            }),
            vec![PW.into()],
        ),
        (
            "invalid-base64",
            Box::new(|h| {
                set_content(
                    h,
                    "text/plain",
                    &format!("not base64 at all! key {GH}"),
                    Some("base64"),
                );
            }),
            vec![GH.into()],
        ),
        (
            "known-values-in-odd-fields",
            Box::new(|h| {
                known_pw(h);
                let e = entry(h);
                e["response"]["statusText"] = json!(format!("OK {PW}"));
                e["timings"]["comment"] = json!(format!("slow for {PW}"));
                e["request"]["headers"][0]["comment"] = json!(format!("saw {PW}"));
                e["request"]["cookies"] =
                    json!([{"name": "theme", "value": "dark", "path": format!("/{PW}")}]);
                e["request"]["method"] = json!("POST");
                e["request"]["postData"] = json!({"mimeType": "multipart/form-data; boundary=xyz", "text": "", "params": [{"name": "upload", "fileName": format!("{PW}.pdf"), "contentType": "application/pdf"}]});
            }),
            vec![PW.into()],
        ),
        (
            "comments-titles-fragments-userinfo",
            Box::new(|h| {
                h["log"]["comment"] = json!(format!("captured with {GH}"));
                h["log"]["pages"][0]["title"] = json!(format!("Welcome {GH}"));
                let e = entry(h);
                e["comment"] = json!(format!("see {GH}"));
                e["request"]["url"] = json!(format!(
                    "http://bob:{PW}@127.0.0.1:9/cb#access_token=at-{PW}&state=x"
                ));
            }),
            vec![GH.into(), PW.into()],
        ),
        (
            "text-plain-and-html",
            Box::new(|h| {
                set_post(
                    h,
                    "text/plain",
                    &format!("github token {GH} here"),
                    json!([]),
                );
                set_content(h, "text/html", &format!("<p>aws {AWS}</p>"), None);
            }),
            vec![GH.into(), AWS.into()],
        ),
        (
            "markers-not-trusted",
            Box::new(|h| {
                let hs = entry(h)["request"]["headers"].as_array_mut().unwrap();
                hs.push(json!({"name": "X-Note", "value": format!("[redacted: token] {GH}")}));
                hs.push(json!({"name": "Authorization", "value": format!("Bearer {}", jwt("redacted"))}));
            }),
            vec![GH.into(), "jwt.person@example.test".into()],
        ),
    ];
    for (name, f, secrets) in &cases {
        let mut h = base();
        f(&mut h);
        let s: Vec<&str> = secrets.iter().map(String::as_str).collect();
        check_case(d, name, &h, &s);
    }
}

/// A duplicate `"log"` member (JSON.parse readers use the last one) is refused with a
/// clear error, not half sanitized.
#[test]
fn duplicate_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let h = base();
    let log = serde_json::to_string(&h["log"]).unwrap();
    let mut second = h["log"].clone();
    second["comment"] = json!(format!("password={PW}"));
    let text = format!(
        "{{\"log\": {log}, \"log\": {}}}",
        serde_json::to_string(&second).unwrap()
    );
    let p = dir.path().join("dup.har");
    std::fs::write(&p, text).unwrap();
    let out = dir.path().join("out.har");
    let o = hark(["sanitize", "-q"]).arg(&p).arg("-o").arg(&out).run();
    o.assert_code(2);
    assert!(o.stderr().contains("more than one \"log\""), "{o}");
    assert!(!out.exists());
    hark(["sanitize", "--check", "-q"])
        .arg(&p)
        .run()
        .assert_code(2);
}
