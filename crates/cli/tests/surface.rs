//! `hark surface` on a real Chromium recording of testdata/surface-site (a shop API with
//! 32 endpoints): endpoint precision and recall against the true list, parameters and
//! auth, and OpenAPI output checked by @apidevtools/swagger-parser.

mod common;
use common::*;
use std::collections::BTreeSet;

/// The true endpoints of testdata/surface-site/server.mjs (its TRUTH), path parameters
/// written `{}`.
const TRUTH: &[&str] = &[
    "GET /",
    "GET /login",
    "POST /login",
    "POST /logout",
    "GET /shop",
    "GET /account",
    "POST /api/auth/token",
    "GET /api/users",
    "POST /api/users",
    "GET /api/users/me",
    "PATCH /api/users/me",
    "GET /api/users/{}",
    "PUT /api/users/{}",
    "DELETE /api/users/{}",
    "GET /api/users/{}/orders",
    "POST /api/users/{}/orders",
    "GET /api/users/{}/orders/{}",
    "GET /api/users/{}/orders/{}/items",
    "DELETE /api/users/{}/orders/{}/items/{}",
    "GET /api/products",
    "GET /api/products/featured",
    "GET /api/products/{}",
    "GET /api/products/{}/reviews",
    "POST /api/products/{}/reviews",
    "GET /api/search",
    "POST /api/uploads",
    "GET /api/files/{}",
    "GET /api/reports/{}",
    "GET /api/settings",
    "PUT /api/settings",
    "POST /api/contact",
    "GET /api/tokens/{}",
];

fn shop() -> String {
    root()
        .join("testdata/har/surface-shop.chromium.har")
        .to_string_lossy()
        .into_owned()
}

/// `{userId}` → `{}`.
fn unnamed(path: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for c in path.chars() {
        match c {
            '{' => {
                skip = true;
                out.push_str("{}");
            }
            '}' => skip = false,
            _ if !skip => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn the_server_and_the_test_agree_on_the_truth() {
    let src = std::fs::read_to_string(root().join("testdata/surface-site/server.mjs")).unwrap();
    for t in TRUTH {
        assert!(src.contains(&format!("'{t}'")), "{t} not in server.mjs");
    }
    assert!(TRUTH.len() >= 25);
}

#[test]
fn endpoints_precision_and_recall_on_the_shop() {
    let o = hark(&["surface", &shop(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&o.stdout);
    let found: BTreeSet<String> = r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                unnamed(e["path"].as_str().unwrap())
            )
        })
        .collect();
    let truth: BTreeSet<String> = TRUTH.iter().map(|s| s.to_string()).collect();
    let tp = found.intersection(&truth).count() as f64;
    let precision = tp / found.len() as f64;
    let recall = tp / truth.len() as f64;
    eprintln!(
        "surface-shop: precision {precision:.3}, recall {recall:.3} ({tp} of {} found, {} true)",
        found.len(),
        truth.len()
    );
    let wrong: Vec<_> = found.difference(&truth).collect();
    let missed: Vec<_> = truth.difference(&found).collect();
    assert!(
        precision >= 0.95 && recall >= 0.95,
        "wrong {wrong:?}, missed {missed:?}"
    );
    // Names, nesting and the `me` segment.
    let paths: Vec<&str> = r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/api/users/{userId}/orders/{orderId}/items/{itemId}"));
    assert!(paths.contains(&"/api/users/me"));
    assert!(paths.contains(&"/api/products/featured"));
    // Parameters by location, auth and the 401 without it.
    let ep = |m: &str, p: &str| {
        r["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["method"] == m && e["path"] == p)
            .unwrap()
            .clone()
    };
    let has = |e: &serde_json::Value, loc: &str, name: &str| {
        e["params"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["in"] == loc && p["name"] == name)
    };
    let users = ep("POST", "/api/users");
    assert!(has(&users, "json", "address.city") && has(&users, "json", "roles"));
    assert!(has(&users, "header", "x-client-version") && has(&users, "cookie", "session"));
    assert!(has(&ep("GET", "/api/users"), "query", "page"));
    assert!(has(&ep("POST", "/login"), "form", "password"));
    assert!(has(&ep("POST", "/api/uploads"), "multipart", "title"));
    let order = ep("GET", "/api/users/{userId}/orders/{orderId}");
    let oid = order["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "orderId")
        .unwrap();
    assert_eq!(oid["format"], "uuid");
    let user = ep("GET", "/api/users/{userId}");
    assert!(user["auth"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["scheme"] == "bearer-jwt"));
    assert_eq!(user["denied_without_auth"], 1);
    // Examples are sanitized: the login password is never shown.
    assert!(!String::from_utf8_lossy(&o.stdout).contains("hunter2"));
    assert!(
        r["quality"]["advice"].as_array().unwrap().is_empty(),
        "{}",
        r["quality"]
    );
    // The table.
    let o = hark(&["surface", &shop(), "--color", "never"]);
    let t = stdout(&o);
    assert!(
        t.contains("DELETE  /api/users/{userId}/orders/{orderId}/items/{itemId}"),
        "{t}"
    );
    assert!(t.contains("good enough to scan"), "{t}");
}

/// `Some(true)` valid, `Some(false)` invalid (message printed), `None` no node_modules.
fn swagger_parser(file: &std::path::Path) -> Option<bool> {
    let td = root().join("testdata");
    if !td.join("node_modules/@apidevtools/swagger-parser").exists() {
        return None;
    }
    let o = std::process::Command::new("node")
        .current_dir(&td)
        .arg("surface-site/validate-openapi.mjs")
        .arg(file)
        .output()
        .ok()?;
    if !o.status.success() {
        eprintln!("{}: {}", file.display(), String::from_utf8_lossy(&o.stderr));
    }
    Some(o.status.success())
}

#[test]
fn openapi_passes_swagger_parser_for_every_recording() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = corpus();
    files.retain(|f| {
        f.ends_with("surface-shop.chromium.har") || f.starts_with(root().join("testdata"))
    });
    let mut checked = 0;
    for f in files {
        let out = dir.path().join("api.json");
        let o = hark(&[
            "surface",
            f.to_str().unwrap(),
            "--openapi",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}: {}", f.display(), stderr(&o));
        let doc = json(&std::fs::read(&out).unwrap());
        assert_eq!(doc["openapi"], "3.1.0");
        match swagger_parser(&out) {
            None => {
                eprintln!("note: testdata/node_modules missing (run `npm ci` in testdata); skipping swagger-parser");
                return;
            }
            Some(ok) => assert!(ok, "{} gives an invalid OpenAPI document", f.display()),
        }
        checked += 1;
    }
    assert!(checked >= 5);
}

#[test]
fn openapi_of_the_shop() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shop.json");
    let o = hark(&["surface", &shop(), "--openapi", out.to_str().unwrap()]);
    assert!(o.status.success());
    let doc = json(&std::fs::read(&out).unwrap());
    let op = &doc["paths"]["/api/users/{userId}/orders"]["post"];
    assert_eq!(op["parameters"][0]["name"], "userId");
    assert_eq!(op["parameters"][0]["schema"]["type"], "integer");
    let body = &op["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], serde_json::json!(["items"]));
    assert_eq!(
        body["properties"]["items"]["items"]["properties"]["qty"]["type"],
        "integer"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"],
        "JWT"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["cookie_session"]["in"],
        "cookie"
    );
    let login = &doc["paths"]["/login"]["post"]["requestBody"]["content"]
        ["application/x-www-form-urlencoded"];
    assert_eq!(
        login["schema"]["properties"]["password"]["examples"][0],
        "[redacted: password]"
    );
}
