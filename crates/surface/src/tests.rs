use super::*;
use crate::sample::{Auth, Loc};
use serde_json::{json, Value};

fn entry(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
    status: i64,
    resp: Option<&str>,
) -> Sample {
    let hs: Vec<Value> = headers
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    let mut req = json!({"method": method, "url": url, "httpVersion": "HTTP/1.1", "headers": hs, "queryString": []});
    if let Some((m, t)) = body {
        req["postData"] = json!({"mimeType": m, "text": t});
    }
    let value = json!({
        "request": req,
        "response": {"status": status, "headers": [], "content": {"size": 0,
            "mimeType": if resp.is_some() { "application/json" } else { "text/html" },
            "text": resp.unwrap_or("")}},
        "_resourceType": if resp.is_some() || method != "GET" { "fetch" } else { "document" },
    });
    let e = har::Entry { index: 0, value };
    static CLEAN: std::sync::LazyLock<Cleaner> = std::sync::LazyLock::new(Cleaner::new);
    Sample::of(e.view(), &CLEAN)
}

fn paths(r: &Report) -> Vec<String> {
    r.endpoints
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

#[test]
fn templates_ids_keeps_static_words_and_nests() {
    let mut s = Surface::new(Scope::default());
    s.add(entry("GET", "https://app.test/", &[], None, 200, None));
    for u in ["123", "456", "me"] {
        s.add(entry(
            "GET",
            &format!("https://app.test/api/users/{u}"),
            &[],
            None,
            200,
            Some("{}"),
        ));
    }
    s.add(entry(
        "GET",
        "https://app.test/api/users/7/orders/9b2f0c8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f",
        &[],
        None,
        200,
        Some("{}"),
    ));
    s.add(entry(
        "GET",
        "https://cdn.other.test/api/x/1",
        &[],
        None,
        200,
        Some("{}"),
    ));
    let r = s.finish();
    assert_eq!(
        paths(&r),
        [
            "GET /",
            "GET /api/users/me",
            "GET /api/users/{userId}",
            "GET /api/users/{userId}/orders/{orderId}"
        ]
    );
    assert_eq!(r.scope, ["app.test"]);
    assert!(r.third_party.contains_key("cdn.other.test"));
}

#[test]
fn words_varying_in_one_place_merge_but_few_do_not() {
    let mut s = Surface::new(Scope {
        patterns: vec!["*.test".into()],
    });
    for u in [
        "ann", "bob", "cid", "dan", "eve", "fay", "gus", "hal", "ivy",
    ] {
        s.add(entry(
            "GET",
            &format!("https://a.test/u/{u}/posts"),
            &[],
            None,
            200,
            None,
        ));
    }
    s.add(entry(
        "GET",
        "https://a.test/api/settings",
        &[],
        None,
        200,
        None,
    ));
    s.add(entry(
        "GET",
        "https://a.test/api/profile",
        &[],
        None,
        200,
        None,
    ));
    let r = s.finish();
    assert_eq!(
        paths(&r),
        ["GET /api/profile", "GET /api/settings", "GET /u/{u}/posts"]
    );
}

#[test]
fn parameters_by_location_and_auth() {
    let mut s = Surface::new(Scope {
        patterns: vec!["app.test".into()],
    });
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
    s.add(entry(
        "POST",
        "https://app.test/api/items?page=2&api_key=abc",
        &[
            ("Authorization", &format!("Bearer {jwt}")),
            ("X-Tenant", "acme"),
            ("Cookie", "sid=s3cr3t; theme=dark"),
            ("User-Agent", "x"),
        ],
        Some((
            "application/json",
            r#"{"name":"a","tags":[{"id":1}],"password":"hunter2"}"#,
        )),
        201,
        Some(r#"{"id":5}"#),
    ));
    s.add(entry(
        "POST",
        "https://app.test/api/items?page=3",
        &[],
        Some(("application/json", r#"{"name":"b","tags":[]}"#)),
        401,
        None,
    ));
    s.add(entry(
        "POST",
        "https://app.test/login",
        &[],
        Some(("application/x-www-form-urlencoded", "user=ann&password=pw")),
        302,
        None,
    ));
    let r = s.finish();
    let e = r.endpoints.iter().find(|e| e.path == "/api/items").unwrap();
    let ps: Vec<String> = e
        .params
        .iter()
        .map(|p| format!("{}:{}:{}:{}", p.loc.as_str(), p.name, p.ty, p.required))
        .collect();
    assert_eq!(
        ps,
        [
            "query:api_key:string:false",
            "query:page:integer:true",
            "header:x-tenant:string:false",
            "cookie:sid:string:false",
            "cookie:theme:string:false",
            "json:name:string:true",
            "json:password:string:false",
            "json:tags:array:true",
            "json:tags[].id:integer:true",
        ]
    );
    assert_eq!(
        e.auth,
        [
            Auth::BearerJwt,
            Auth::SessionCookie("sid".into()),
            Auth::ApiKeyQuery("api_key".into())
        ]
    );
    assert_eq!((e.unauthenticated, e.denied_without_auth), (1, 1));
    let pw = e.params.iter().find(|p| p.name == "password").unwrap();
    assert_eq!(pw.example.as_deref(), Some("[redacted: password]"));
    let login = r.endpoints.iter().find(|e| e.path == "/login").unwrap();
    let pw = login.params.iter().find(|p| p.name == "password").unwrap();
    assert_eq!(
        (pw.loc, pw.example.as_deref()),
        (Loc::Form, Some("[redacted: password]"))
    );
    assert_eq!(r.quality.form_bodies, 1);
    assert_eq!(r.quality.json_bodies, 2);
    assert!(
        r.quality
            .advice
            .iter()
            .all(|a| !a.contains("authenticated")),
        "{:?}",
        r.quality.advice
    );
    let doc = openapi::document(&r, "t");
    assert_eq!(doc["openapi"], "3.1.0");
    let op = &doc["paths"]["/api/items"]["post"];
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["name", "tags"])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"],
        "JWT"
    );
}

#[test]
fn quality_verdict_for_a_thin_recording() {
    let mut s = Surface::new(Scope::default());
    s.add(entry("GET", "https://app.test/", &[], None, 200, None));
    s.add(entry("GET", "https://app.test/about", &[], None, 200, None));
    let r = s.finish();
    let a = r.quality.advice.join("\n");
    assert!(a.contains("no authenticated requests"), "{a}");
    assert!(a.contains("only GET"), "{a}");
    assert!(a.contains("no form, JSON"), "{a}");
    assert!(a.contains("seen only once"), "{a}");
}

#[test]
fn endpoints_are_capped() {
    let mut s = Surface::new(Scope {
        patterns: vec!["a.test".into()],
    });
    for i in 0..MAX_ENDPOINTS + 10 {
        let w: String = [i / 676, i / 26 % 26, i % 26]
            .iter()
            .map(|d| (b'a' + *d as u8) as char)
            .collect();
        s.add(entry(
            "GET",
            &format!("https://a.test/{w}/p"),
            &[],
            None,
            200,
            None,
        ));
    }
    let r = s.finish();
    assert_eq!(r.dropped, 10);
}

#[test]
fn finding_urls_hide_secret_query_values() {
    let mut s = Surface::new(Scope::default());
    s.add(entry(
        "GET",
        "https://api.test/v1/x?page=2&api_key=VCXCEuvhGcBDP7XhiJJUDvR1e1D3ei",
        &[],
        None,
        200,
        Some("{}"),
    ));
    let r = s.finish();
    assert_eq!(r.scope, ["api.test"], "no document: every host");
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "HARK-SECRET-URL")
        .unwrap();
    assert!(
        f.url
            .starts_with("https://api.test/v1/x?page=2&api_key=[redacted: "),
        "{}",
        f.url
    );
    assert!(!f.url.contains("VCXCE"));
}

#[test]
fn path_examples_are_sanitized() {
    let mut s = Surface::new(Scope::default());
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX3Zh";
    s.add(entry(
        "GET",
        &format!("https://a.test/api/sessions/{jwt}"),
        &[],
        None,
        200,
        Some("{}"),
    ));
    s.add(entry(
        "GET",
        "https://a.test/api/users/42",
        &[],
        None,
        200,
        Some("{}"),
    ));
    let r = s.finish();
    let ex = |path: &str| {
        r.endpoints.iter().find(|e| e.path == path).unwrap().params[0]
            .example
            .clone()
    };
    assert_eq!(ex("/api/users/{userId}").as_deref(), Some("42"));
    let tok = ex("/api/sessions/{sessionId}").unwrap();
    assert!(tok.starts_with("[redacted: "), "{tok}");
}

#[test]
fn template_for_finds_the_endpoint_of_a_url() {
    let mut s = Surface::new(Scope::default());
    s.add(entry("GET", "https://app.test/", &[], None, 200, None));
    for u in ["123", "456"] {
        s.add(entry(
            "GET",
            &format!("https://app.test/api/users/{u}"),
            &[],
            None,
            200,
            Some("{}"),
        ));
    }
    let r = s.finish();
    let t = r.template_for("GET", "https://app.test/api/users/789?x=1");
    assert_eq!(t.as_deref(), Some("/api/users/{userId}"), "{:?}", paths(&r));
    assert_eq!(
        r.template_for("get", "https://app.test/").as_deref(),
        Some("/")
    );
    assert_eq!(r.template_for("POST", "https://app.test/api/users/1"), None);
    assert_eq!(
        r.template_for("GET", "https://other.test/api/users/1"),
        None
    );
    assert_eq!(r.template_for("GET", "not a url"), None);
}
