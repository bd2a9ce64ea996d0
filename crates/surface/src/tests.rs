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

fn get(s: &mut Surface, method: &str, url: &str, resp: &str) {
    s.add(entry(method, url, &[], None, 200, Some(resp)));
}

#[test]
fn tens_of_words_answered_alike_merge_but_sibling_resources_do_not() {
    let mut s = Surface::new(Scope {
        patterns: vec!["*.test".into()],
    });
    let users: Vec<String> = (0..WORD_VARIATION)
        .map(|i| format!("user{}x", (b'a' + i as u8) as char))
        .collect();
    for u in &users {
        get(
            &mut s,
            "GET",
            &format!("https://a.test/u/{u}/posts"),
            r#"[{"title":"x"}]"#,
        );
    }
    // Twenty-five sibling resources under one prefix, each its own response shape.
    let res = [
        "me",
        "settings",
        "billing",
        "audit-log",
        "teams",
        "projects",
        "invoices",
        "plans",
        "usage",
        "webhooks",
        "tokens",
        "sessions",
        "devices",
        "exports",
        "imports",
        "labels",
        "tags",
        "roles",
        "groups",
        "members",
        "invites",
        "domains",
        "quotas",
        "limits",
        "config",
    ];
    for r in res {
        get(
            &mut s,
            "GET",
            &format!("https://a.test/api/v2/{r}"),
            &format!(r#"{{"{r}":1}}"#),
        );
    }
    // The same response shape but other methods: separate endpoints.
    get(&mut s, "POST", "https://a.test/api/cart", r#"{"ok":true}"#);
    get(
        &mut s,
        "PUT",
        "https://a.test/api/profile",
        r#"{"ok":true}"#,
    );
    let r = s.finish();
    let ps = paths(&r);
    assert!(ps.contains(&"GET /u/{u}/posts".to_string()), "{ps:?}");
    for x in res {
        assert!(ps.contains(&format!("GET /api/v2/{x}")), "{x}: {ps:?}");
    }
    assert!(ps.contains(&"POST /api/cart".to_string()));
    assert!(ps.contains(&"PUT /api/profile".to_string()));
    assert_eq!(ps.len(), 1 + res.len() + 2, "{ps:?}");
    let e = r
        .endpoints
        .iter()
        .find(|e| e.path == "/u/{u}/posts")
        .unwrap();
    assert!(e.why[0].contains("20 distinct words"), "{:?}", e.why);
    // A few words answered alike are not enough.
    let mut s = Surface::new(Scope::default());
    for u in &users[..WORD_VARIATION - 1] {
        get(&mut s, "GET", &format!("https://a.test/u/{u}/posts"), "[]");
    }
    assert_eq!(s.finish().endpoints.len(), WORD_VARIATION - 1);
}

#[test]
fn slugs_answered_alike_are_a_parameter_a_literal_beside_stays() {
    let mut s = Surface::new(Scope::default());
    let article = r#"{"title":"t","body":"b"}"#;
    for slug in ["why-rust", "hello-world", "ten-tips-2024"] {
        get(
            &mut s,
            "GET",
            &format!("https://a.test/articles/{slug}"),
            article,
        );
        get(
            &mut s,
            "GET",
            &format!("https://a.test/articles/{slug}/comments"),
            r#"[{"text":"x"}]"#,
        );
    }
    get(
        &mut s,
        "POST",
        "https://a.test/articles/why-rust/comments",
        r#"{"id":1}"#,
    );
    get(
        &mut s,
        "GET",
        "https://a.test/articles/trending",
        r#"[{"title":"t"}]"#,
    );
    // Hyphenated resource names answered differently stay apart.
    get(
        &mut s,
        "GET",
        "https://a.test/api/audit-log",
        r#"[{"at":"x"}]"#,
    );
    get(
        &mut s,
        "GET",
        "https://a.test/api/api-keys",
        r#"[{"key":"x"}]"#,
    );
    // Keys, hashes and prefixed tokens are ids by their values.
    for k in ["OPS-3", "WEB-17"] {
        get(&mut s, "GET", &format!("https://a.test/issues/{k}"), "{}");
    }
    get(&mut s, "GET", "https://a.test/hooks/wh_9fK2xQ7", "{}");
    get(&mut s, "GET", "https://a.test/commits/3f2b8c1", "{}");
    get(&mut s, "GET", "https://a.test/users/ann%40x.test", "{}");
    let r = s.finish();
    let ps = paths(&r);
    for want in [
        "GET /articles/{articleSlug}",
        "GET /articles/{articleSlug}/comments",
        "POST /articles/{articleSlug}/comments",
        "GET /articles/trending",
        "GET /api/audit-log",
        "GET /api/api-keys",
        "GET /issues/{issueKey}",
        "GET /hooks/{hookId}",
        "GET /commits/{commitId}",
        "GET /users/{userEmail}",
    ] {
        assert!(ps.contains(&want.to_string()), "{want}: {ps:?}");
    }
    assert_eq!(ps.len(), 10, "{ps:?}");
    let e = r
        .endpoints
        .iter()
        .find(|e| e.path == "/articles/{articleSlug}")
        .unwrap();
    assert!(
        e.why[0].starts_with("{articleSlug}: 3 slugs"),
        "{:?}",
        e.why
    );
    let ex = e.params[0].example.as_deref().unwrap_or("");
    assert!(
        ["why-rust", "hello-world", "ten-tips-2024"].contains(&ex),
        "{ex}"
    );
    // The first pass's templates, for other commands.
    assert_eq!(
        r.template_for("GET", "https://a.test/articles/new-one/comments")
            .as_deref(),
        Some("/articles/{articleSlug}/comments")
    );
    assert_eq!(
        r.template_for("get", "https://a.test/articles/trending")
            .as_deref(),
        Some("/articles/trending")
    );
    assert_eq!(
        r.template_for("GET", "https://a.test/issues/ABC-9")
            .as_deref(),
        Some("/issues/{issueKey}")
    );
    assert_eq!(r.template_for("DELETE", "https://a.test/articles/x"), None);
    assert_eq!(
        r.template_for("GET", "https://b.test/articles/trending"),
        None
    );
}

#[test]
fn pinned_decisions_win() {
    let pins = Pins::parse(
        r#"keep = ["/articles/why-rust"]
template = ["/api/{section}"]"#,
    )
    .unwrap();
    let mut s = Surface::with_pins(Scope::default(), pins);
    for slug in ["why-rust", "hello-world", "ten-tips"] {
        get(
            &mut s,
            "GET",
            &format!("https://a.test/articles/{slug}"),
            "{}",
        );
    }
    get(&mut s, "GET", "https://a.test/api/config", r#"{"a":1}"#);
    get(&mut s, "GET", "https://a.test/api/search", r#"{"b":1}"#);
    let ps = paths(&s.finish());
    assert_eq!(
        ps,
        [
            "GET /api/{api}",
            "GET /articles/why-rust",
            "GET /articles/{articleSlug}"
        ]
    );
    assert!(Pins::parse("nope = 1").is_err());
}

#[test]
fn cost_is_linear_in_path_length() {
    // 100 000 segments: a quadratic pass would take minutes (see bench/surface.sh).
    let mut s = Surface::new(Scope::default());
    let long: String = (0..100_000).map(|i| format!("/s{}", i % 7)).collect();
    get(&mut s, "GET", &format!("https://a.test{long}"), "{}");
    let r = s.finish();
    assert_eq!(r.endpoints[0].segs.len(), 100_000);
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
fn graphql_operations_and_rpc_methods_are_rows_pages_not_in_openapi() {
    let mut s = Surface::new(Scope::default());
    s.add(entry("GET", "https://a.test/app", &[], None, 200, None));
    let gql = |q: &str| Some(("application/json", q.to_string()));
    let cred = [
        ("Authorization", "Bearer abcdef123456"),
        ("Cookie", "session=s1"),
        ("X-Api-Key", "k-123456"),
    ];
    for body in [
        r#"{"query":"query GetUser($id: ID!) { user(id: $id) { name } }","variables":{"id":"1"}}"#,
        r#"{"query":"mutation { addItem(sku: \"x\") { id } }"}"#,
        r#"{"query":"{ products { id } }"}"#,
        r#"{"query":"query A { a } query B { b }","operationName":"B"}"#,
    ] {
        let (m, t) = gql(body).unwrap();
        s.add(entry(
            "POST",
            "https://a.test/graphql",
            &cred,
            Some((m, &t)),
            200,
            Some("{}"),
        ));
    }
    for m in ["user.get", "cart.add"] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{m}","params":[1]}}"#);
        s.add(entry(
            "POST",
            "https://a.test/rpc",
            &cred,
            Some(("application/json", &body)),
            200,
            Some("{}"),
        ));
    }
    let r = s.finish();
    let rows: Vec<String> = r
        .endpoints
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.method,
                e.path,
                e.operation.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "GET /app -",
            "POST /graphql mutation addItem",
            "POST /graphql query B",
            "POST /graphql query GetUser",
            "POST /graphql query products",
            "POST /rpc rpc cart.add",
            "POST /rpc rpc user.get",
        ]
    );
    assert_eq!(r.endpoints[0].kind, "page");
    let doc = openapi::document(&r, "t");
    assert!(
        doc["paths"].get("/app").is_none(),
        "pages stay out of paths"
    );
    let post = &doc["paths"]["/graphql"]["post"];
    let ops: Vec<&str> = post["x-graphql-operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["addItem", "B", "GetUser", "products"]);
    assert_eq!(
        doc["paths"]["/rpc"]["post"]["x-jsonrpc-methods"][1]["name"],
        "user.get"
    );
    // Sent together: one requirement object; and not repeated as parameters.
    assert_eq!(
        post["security"],
        json!([{"bearerAuth": [], "cookie_session": [], "header_x_api_key": []}])
    );
    let params = post["parameters"].as_array().map_or(0, |p| p.len());
    assert_eq!(params, 0, "{}", post["parameters"]);
    // YAML as well.
    let y = openapi::file_bytes(&r, "t.har", "api.yaml");
    assert!(String::from_utf8(y)
        .unwrap()
        .starts_with("\"openapi\": \"3.1.0\"\n"));
}

#[test]
fn locale_prefixes_are_a_parameter() {
    let mut s = Surface::new(Scope::default());
    for loc in ["en", "fr", "de"] {
        s.add(entry(
            "GET",
            &format!("https://a.test/{loc}"),
            &[],
            None,
            200,
            None,
        ));
        s.add(entry(
            "GET",
            &format!("https://a.test/{loc}/products"),
            &[],
            None,
            200,
            None,
        ));
    }
    s.add(entry(
        "GET",
        "https://a.test/api/cart-count",
        &[],
        None,
        200,
        Some("{}"),
    ));
    let ps = paths(&s.finish());
    assert_eq!(
        ps,
        [
            "GET /api/cart-count",
            "GET /{locale}",
            "GET /{locale}/products"
        ]
    );
}
