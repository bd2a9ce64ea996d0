//! `hark surface` on a real Chromium recording of testdata/surface-site (a shop API with
//! 32 endpoints): endpoint precision and recall against the true list, parameters and
//! auth, and OpenAPI output checked by @apidevtools/swagger-parser.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

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

/// The Chromium recording of testdata/surface-site.
fn shop() -> PathBuf {
    fixture("surface-shop.chromium.har")
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
    let src = std::fs::read_to_string(testdata("surface-site/server.mjs")).unwrap();
    for t in TRUTH {
        assert!(src.contains(&format!("'{t}'")), "{t} not in server.mjs");
    }
    assert!(TRUTH.len() >= 25);
}

#[test]
fn endpoints_precision_and_recall_on_the_shop() {
    let o = hark(["surface"]).arg(shop()).arg("--json").run();
    assert_ne!(o.code(), 2, "{o}");
    let r = o.json();
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
    assert!(!o.stdout().contains("hunter2"));
    assert!(
        r["quality"]["advice"].as_array().unwrap().is_empty(),
        "{}",
        r["quality"]
    );
    // The table.
    let t = hark(["surface"])
        .arg(shop())
        .args(["--color", "never"])
        .run()
        .stdout();
    assert!(
        t.contains("DELETE  api   /api/users/{userId}/orders/{orderId}/items/{itemId}"),
        "{t}"
    );
    assert!(t.contains("good enough to scan"), "{t}");
}

/// The TRUTH list of a server.mjs under testdata (its `export const TRUTH = [ … ];`).
fn truth_of(server: &str) -> BTreeSet<String> {
    let src = std::fs::read_to_string(testdata(server)).unwrap();
    let start = src.find("export const TRUTH = [").expect("a TRUTH list");
    let end = start + src[start..].find("];").unwrap();
    src[start..end]
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `METHOD /path/{}` (and ` operation` for GraphQL and JSON-RPC rows) of each endpoint.
fn found_of(r: &serde_json::Value) -> BTreeSet<String> {
    r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut s = format!(
                "{} {}",
                e["method"].as_str().unwrap(),
                unnamed(e["path"].as_str().unwrap())
            );
            if let Some(op) = e["operation"].as_str() {
                s = format!("{s} {op}");
            }
            s
        })
        .collect()
}

/// Three apps of other shapes than the shop (testdata/surface-apps, recordings in its har/), recorded with
/// Chromium: a REST API with 21 sibling resources under /api/v2 (slugs, issue keys,
/// short hashes, prefixed tokens, e-mails as ids, nested resources), GraphQL + JSON-RPC
/// operations, a server-rendered site with locale prefixes, forms and hashed assets.
#[test]
fn endpoints_precision_and_recall_on_apps_never_tuned_for() {
    for app in ["rest", "graphql", "ssr"] {
        let truth = truth_of(&format!("surface-apps/{app}/server.mjs"));
        assert!(truth.len() >= 12, "{app}");
        let har = testdata(&format!("surface-apps/har/{app}.chromium.har"));
        let o = hark(["surface"]).arg(&har).arg("--json").run();
        assert_ne!(o.code(), 2, "{o}");
        let found = found_of(&o.json());
        let tp = found.intersection(&truth).count() as f64;
        let (precision, recall) = (tp / found.len() as f64, tp / truth.len() as f64);
        eprintln!("surface-{app}: precision {precision:.3}, recall {recall:.3}");
        let wrong: Vec<_> = found.difference(&truth).collect();
        let missed: Vec<_> = truth.difference(&found).collect();
        assert!(
            precision >= 0.95 && recall >= 0.95,
            "{app}: wrong {wrong:?}, missed {missed:?}"
        );
        // Its OpenAPI passes swagger-parser.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("api.yml");
        hark(["surface"]).arg(&har).arg("--openapi").arg(&out).run();
        let v = swagger_parser(&out);
        assert!(v.success(), "{app}: {v}");
        // And its SARIF the 2.1.0 schema.
        let sarif = dir.path().join("out.sarif");
        hark(["surface"]).arg(&har).arg("--sarif").arg(&sarif).run();
        let v = sarif_schema(&sarif);
        assert!(v.success(), "{app}: {v}");
    }
    // --explain says why; the sibling resources stay apart.
    let t = hark(["surface", "--explain", "--color", "never"])
        .arg(testdata("surface-apps/har/rest.chromium.har"))
        .run()
        .stdout();
    assert!(
        t.contains("{articleSlug}: 3 slugs (hello-world, ten-tips-for-tea, why-rust)"),
        "{t}"
    );
    assert!(
        t.contains("{issueKey}: values look like keys (ABC-123) (OPS-3)"),
        "{t}"
    );
    assert!(t.contains("GET     api   /api/v2/audit-log"), "{t}");
}

#[test]
fn openapi_passes_swagger_parser_for_every_recording() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus();
    let mut checked = 0;
    for f in files {
        let out = dir.path().join("api.json");
        let o = hark(["surface"]).arg(&f).arg("--openapi").arg(&out).run();
        assert_ne!(o.code(), 2, "{o}");
        let doc = read_json(&out);
        assert_eq!(doc["openapi"], "3.1.0");
        let v = swagger_parser(&out);
        assert!(
            v.success(),
            "{} gives an invalid OpenAPI document: {v}",
            f.display()
        );
        checked += 1;
    }
    assert!(checked >= 25);
}

#[test]
fn openapi_of_the_shop() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shop.json");
    let o = hark(["surface"])
        .arg(shop())
        .arg("--openapi")
        .arg(&out)
        .run();
    assert_ne!(o.code(), 2, "{o}");
    let doc = read_json(&out);
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
    // Page loads stay out of paths; the session cookie is a scheme, not a parameter.
    assert!(doc["paths"].get("/account").is_none());
    assert!(doc["paths"]["/login"].get("get").is_none());
    let settings = &doc["paths"]["/api/settings"]["get"];
    assert_eq!(
        settings["security"][0],
        serde_json::json!({"bearerAuth": [], "cookie_session": []}),
        "sent together: one requirement"
    );
    assert!(!settings["parameters"].to_string().contains("\"session\""));
    // YAML when the name says so, and swagger-parser takes it.
    let yaml = dir.path().join("shop.yaml");
    hark(["surface"])
        .arg(shop())
        .arg("--openapi")
        .arg(&yaml)
        .run();
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(
        text.starts_with("\"openapi\": \"3.1.0\"\n"),
        "{}",
        &text[..80]
    );
    let v = swagger_parser(&yaml);
    assert!(v.success(), "{v}");
}

#[test]
fn sarif_findings_point_at_the_har_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shop.sarif");
    // Run from the repository's root: the HAR is under it, its location relative.
    let root = testdata("").parent().unwrap().to_path_buf();
    let o = hark(["surface"])
        .arg(shop())
        .arg("--sarif")
        .arg(&out)
        .current_dir(&root)
        .run();
    assert_eq!(o.code(), 1, "warnings give exit status 1: {o}");
    // --fail-on error: these findings are warnings and notes.
    let o = hark(["surface", "--fail-on", "error"]).arg(shop()).run();
    assert_eq!(o.code(), 0, "{o}");
    let s = read_json(&out);
    assert_eq!(s["version"], "2.1.0");
    let run = &s["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 16);
    for r in rules {
        assert!(r["properties"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().starts_with("external/cwe/cwe-")));
    }
    let results = run["results"].as_array().unwrap();
    let ids: BTreeSet<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    // Plain-HTTP pages without CSP or framing protection, JSON without nosniff, and
    // authenticated responses without no-store.
    assert_eq!(
        ids,
        BTreeSet::from(["HARK-CSP", "HARK-FRAME", "HARK-XCTO", "HARK-CACHE-AUTH"])
    );
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert_eq!(uri, "testdata/har/surface-shop.chromium.har");
        // Playwright writes one line: the entry is found by its column.
        assert_eq!(loc["region"]["startLine"], 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() > 100);
        assert!(r["message"]["text"]
            .as_str()
            .unwrap()
            .contains("http://127.0.0.1:"));
        assert_eq!(
            r["partialFingerprints"]["harkFinding/v1"]
                .as_str()
                .unwrap()
                .len(),
            16
        );
    }
    // The fingerprints are stable across runs.
    let out2 = dir.path().join("again.sarif");
    hark(["surface"])
        .arg(shop())
        .arg("--sarif")
        .arg(&out2)
        .current_dir(&root)
        .run();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
    // From elsewhere: an absolute file:// URI that resolves.
    let out3 = dir.path().join("elsewhere.sarif");
    hark(["surface"])
        .arg(shop())
        .arg("--sarif")
        .arg(&out3)
        .current_dir(dir.path())
        .run();
    let s3 = read_json(&out3);
    let uri = s3["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(uri.starts_with("file:///"), "{uri}");
    assert!(
        uri.ends_with("/testdata/har/surface-shop.chromium.har"),
        "{uri}"
    );
}

#[test]
fn sarif_passes_the_sarif_2_1_0_schema() {
    let dir = tempfile::tempdir().unwrap();
    let validate = |f: &std::path::Path| sarif_schema(f);
    // The validator is not a rubber stamp.
    let bad = dir.path().join("bad.sarif");
    std::fs::write(
        &bad,
        r#"{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}"#,
    )
    .unwrap();
    assert!(!validate(&bad).success());
    let mut files: Vec<String> = corpus()
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    files.push("@example".into());
    for f in files {
        let out = dir.path().join("out.sarif");
        let o = hark(["surface", f.as_str(), "--sarif"]).arg(&out).run();
        assert_ne!(o.code(), 2, "{o}");
        let v = validate(&out);
        assert!(v.success(), "{f}: {v}");
    }
}

#[test]
fn pins_override_the_evidence_and_a_bad_pins_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let pins = dir.path().join("pins.toml");
    std::fs::write(
        &pins,
        "keep = [\"/api/v2/articles/why-rust\"]\ntemplate = [\"/api/v2/{section}\"]\n",
    )
    .unwrap();
    let har = testdata("surface-apps/har/rest.chromium.har");
    let o = hark(["surface", "--json"])
        .arg(&har)
        .arg("--pins")
        .arg(&pins)
        .run();
    assert_ne!(o.code(), 2, "{o}");
    let found = found_of(&o.json());
    assert!(found.contains("GET /api/v2/articles/why-rust"), "{found:?}");
    assert!(found.contains("GET /api/v2/{}"), "{found:?}");
    assert!(!found.contains("GET /api/v2/billing"), "{found:?}");
    std::fs::write(&pins, "keep = \"/not/a/list\"\n").unwrap();
    let o = hark(["surface"]).arg(&har).arg("--pins").arg(&pins).run();
    assert_eq!(o.code(), 2, "{o}");
    assert!(o.stderr().contains("pins.toml"), "{o}");
}
