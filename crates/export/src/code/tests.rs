use super::*;
use serde_json::json;

fn req(v: serde_json::Value) -> Request {
    Request::of(har::EntryView(har::Obj::of(Some(&v))))
}

#[test]
fn request_drops_what_clients_write_and_keeps_the_rest() {
    let r = req(
        json!({"request": {"method": "POST", "url": "https://a.test/x?q=1#frag",
        "headers": [{"name": ":authority", "value": "a.test"}, {"name": "Host", "value": "a.test"},
                    {"name": "Content-Length", "value": "3"}, {"name": "Accept-Encoding", "value": "gzip"},
                    {"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}],
        "cookies": [{"name": "s", "value": "1"}],
        "postData": {"mimeType": "application/octet-stream", "_encoding": "base64", "text": "AAH/"}}}),
    );
    assert_eq!(r.url, "https://a.test/x?q=1");
    assert!(r.compressed);
    assert_eq!(r.body.as_deref(), Some(&[0u8, 1, 255][..]));
    assert_eq!(r.text_body(), None);
    let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Accept-Encoding", "X-A", "x-a", "Cookie"]);
    assert_eq!(r.joined_headers()[1], ("X-A".into(), "1, 2".into()));
}

#[test]
fn form_params_without_text_become_the_body() {
    let r = req(
        json!({"request": {"method": "POST", "url": "http://a.test/",
        "postData": {"mimeType": "application/x-www-form-urlencoded",
                     "params": [{"name": "a b", "value": "c&d"}]}}}),
    );
    assert_eq!(r.body.as_deref(), Some(&b"a+b=c%26d"[..]));
}

#[test]
fn quoting() {
    assert_eq!(sh_quote("abc-1"), "abc-1");
    assert_eq!(sh_quote("it's $x"), r"'it'\''s $x'");
    assert_eq!(sh_quote(""), "''");
    assert_eq!(py_str("a\"\\\n\u{1}é😀"), r#""a\"\\\n\x01\xe9\U0001f600""#);
    assert_eq!(js_str("a\"\n"), r#""a\"\n""#);
}

#[test]
fn curl_url_never_an_option_and_binary_piped() {
    let r = req(json!({"request": {"method": "PUT", "url": "-K/etc/passwd",
        "postData": {"mimeType": "x/y", "encoding": "base64", "text": "AA=="}}}));
    let c = curl::command(&r);
    assert!(
        c.starts_with("printf %s AA== | base64 -d | curl --url -K/etc/passwd -X PUT"),
        "{c}"
    );
    assert!(c.contains("--data-binary @-"), "{c}");
}
