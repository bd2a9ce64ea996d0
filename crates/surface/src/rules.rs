//! Passive findings: rules checked on each exchange, named after OWASP ZAP's passive
//! rules where they match, each with a CWE.

use har::{EntryView, Json};
use serde::Serialize;

/// One passive rule.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub cwe: u32,
    /// OWASP ZAP's passive scan rule id, where one matches.
    pub zap: Option<u32>,
    /// GitHub's `security-severity` (0–10).
    pub severity: f32,
}

macro_rules! rules {
    ($($id:literal, $name:literal, $cwe:literal, $zap:expr, $sev:literal, $desc:literal;)*) => {
        /// Every rule, in report order.
        pub const RULES: &[Rule] = &[$(Rule { id: $id, name: $name, description: $desc, cwe: $cwe, zap: $zap, severity: $sev }),*];
    };
}

rules! {
    "HARK-CSP", "Content-Security-Policy not set", 693, Some(10038), 4.0,
        "An HTML document was served without a Content-Security-Policy header, so injected scripts are not restricted.";
    "HARK-HSTS", "Strict-Transport-Security not set", 319, Some(10035), 4.0,
        "A response over HTTPS had no Strict-Transport-Security header, so a first plain-HTTP visit can be downgraded.";
    "HARK-XCTO", "X-Content-Type-Options not set", 693, Some(10021), 2.0,
        "A response had no `X-Content-Type-Options: nosniff`, so browsers may sniff its type.";
    "HARK-FRAME", "Anti-clickjacking header missing", 1021, Some(10020), 4.0,
        "An HTML document had neither X-Frame-Options nor a CSP frame-ancestors directive.";
    "HARK-COOKIE-SECURE", "Cookie without Secure", 614, Some(10011), 4.0,
        "A cookie set over HTTPS lacks the Secure attribute and can be sent over plain HTTP.";
    "HARK-COOKIE-HTTPONLY", "Cookie without HttpOnly", 1004, Some(10010), 4.0,
        "A session-like cookie lacks HttpOnly and can be read by scripts.";
    "HARK-COOKIE-SAMESITE", "Cookie without SameSite", 1275, Some(10054), 3.0,
        "A cookie was set without a SameSite attribute (or with SameSite=None).";
    "HARK-SECRET-URL", "Secret or token in URL", 598, Some(10024), 6.0,
        "A password, token or key travels in the URL's query, where logs, history and Referer headers keep it.";
    "HARK-CLEARTEXT-CREDS", "Credentials over plain HTTP", 319, Some(10105), 7.0,
        "Credentials (Authorization header or a password field) were sent over unencrypted HTTP.";
    "HARK-VERSION", "Server or framework version disclosed", 497, Some(10036), 2.0,
        "Server, X-Powered-By, X-AspNet-Version or similar headers name software versions.";
    "HARK-STACKTRACE", "Stack trace or verbose error", 209, Some(90022), 5.0,
        "A response body contains a stack trace or a framework's debug error page.";
    "HARK-CORS", "Permissive CORS", 942, Some(10098), 7.0,
        "Access-Control-Allow-Origin is `*` or reflects the request's Origin while credentials are allowed.";
    "HARK-MIXED", "Mixed content", 311, Some(10040), 4.0,
        "A page served over HTTPS loaded a resource over plain HTTP.";
    "HARK-JWT-NONE", "JWT with alg none", 347, None, 8.0,
        "A JSON Web Token uses `alg: none`: its signature is not checked.";
    "HARK-JWT-CLAIMS", "Sensitive data in JWT claims", 200, None, 5.0,
        "A JSON Web Token's readable claims hold a password, secret or card-like field.";
    "HARK-CACHE-AUTH", "Cacheable authenticated response", 525, Some(10015), 4.0,
        "A response with personal data to an authenticated GET may be stored by caches (no `Cache-Control: no-store` or `private`).";
}

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// One rule matched on one exchange.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    pub rule: &'static str,
    /// What matched (a header, a cookie or parameter name): part of the fingerprint.
    pub detail: String,
}

fn has_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.windows(2)
        .any(|w| w[0].is_ascii_digit() && (w[1] == b'.' || w[1].is_ascii_digit()))
}

const TRACES: &[&str] = &[
    "Traceback (most recent call last)",
    "Exception in thread \"",
    "\tat java.",
    "    at java.",
    "    at Object.<anonymous>",
    "    at Module._compile",
    "System.NullReferenceException",
    "Server Error in '/' Application",
    "<b>Fatal error</b>:",
    "Stack trace:",
    "Whitelabel Error Page",
    "Werkzeug Debugger",
    "django.core.exceptions",
    "ActiveRecord::",
];

fn jwt_hits(text: &str, out: &mut Vec<Hit>, where_: &str) {
    for (_, j) in jwt::find_all(text) {
        if j.alg().is_some_and(|a| a.eq_ignore_ascii_case("none")) {
            out.push(Hit {
                rule: "HARK-JWT-NONE",
                detail: where_.into(),
            });
        }
        let names = secrets::Names::default();
        for k in j.claims.keys() {
            let l = k.to_ascii_lowercase();
            if ["password", "passwd", "secret", "ssn", "card", "cvv", "pin"]
                .iter()
                .any(|w| l.contains(w))
                || names
                    .classify(k)
                    .is_some_and(|(kind, _)| kind == "password")
            {
                out.push(Hit {
                    rule: "HARK-JWT-CLAIMS",
                    detail: format!("{where_} claim {k}"),
                });
            }
        }
    }
}

fn loopback(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

/// Query parameters of OAuth 2.0, OpenID Connect and SAML that belong in URLs by the
/// protocols' design (normalized: lower-case letters and digits): never findings.
const PROTOCOL: &[&str] = &[
    "state",
    "nonce",
    "codechallenge",
    "codechallengemethod",
    "sessionstate",
    "relaystate",
    "samlrequest",
    "sigalg",
    "signature",
    "responsetype",
    "responsemode",
    "redirecturi",
    "clientid",
    "scope",
    "prompt",
    "loginhint",
    "idtokenhint",
    "acrvalues",
];

/// A query parameter that is part of an OAuth/OIDC/SAML exchange (`code` too, when
/// the callback also carries `state`).
pub fn protocol_param(name: &str, has_state: bool) -> bool {
    let n = secrets::names::normalize(name);
    PROTOCOL.contains(&n.as_str()) || n == "code" && has_state
}

/// A response body that holds personal data: an e-mail address, or fields that name a
/// person, an account or payment details.
fn personal(body: &str) -> bool {
    let l = body.to_ascii_lowercase();
    [
        "email", "\"name\"", "phone", "address", "birth", "\"user", "account", "profile", "iban",
        "card", "balance", "ssn",
    ]
    .iter()
    .any(|w| l.contains(w))
        || l.split(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | ','))
            .any(|w| crate::shape::shape(w) == Some(crate::shape::Shape::Email))
}

/// Every rule that `e` matches. `url_secret(name, value)` says whether a query
/// parameter holds a secret (judged by its value as well as its name).
pub fn check<J: Json>(e: EntryView<'_, J>, url_secret: &dyn Fn(&str, &str) -> bool) -> Vec<Hit> {
    let mut out = Vec::new();
    let req = e.request();
    let res = e.response();
    let Some(url) = req.url().and_then(|u| url::Url::parse(u).ok()) else {
        return out;
    };
    let https = url.scheme() == "https";
    let status = res.status().unwrap_or(0);
    let rh = res.headers();
    let qh = req.headers();
    let mime = res.content().mime_type().unwrap_or("").to_ascii_lowercase();
    let html = mime.starts_with("text/html");
    let got = status > 0;
    let hit = |out: &mut Vec<Hit>, rule: &'static str, d: &str| {
        out.push(Hit {
            rule,
            detail: d.to_string(),
        })
    };
    if got && html && (200..300).contains(&status) {
        let csp = rh.get("content-security-policy");
        if csp.is_none() {
            hit(&mut out, "HARK-CSP", "");
        }
        if rh.get("x-frame-options").is_none()
            && !csp.is_some_and(|c| c.contains("frame-ancestors"))
        {
            hit(&mut out, "HARK-FRAME", "");
        }
    }
    if got && https && rh.get("strict-transport-security").is_none() {
        hit(&mut out, "HARK-HSTS", "");
    }
    if got
        && (200..300).contains(&status)
        && !mime.is_empty()
        && !rh
            .get("x-content-type-options")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("nosniff"))
    {
        hit(&mut out, "HARK-XCTO", "");
    }
    for v in rh.get_all("set-cookie") {
        // One cookie per header value, as recorded. A value that holds several cookies
        // joined by newlines is read as one, its attributes all together: `Max-Age=0`
        // or `SameSite=None` anywhere in it counts (as the findings always did).
        let c = har::http::SetCookie::parse(v);
        let name = c.name;
        let any_attr = |a: &str| {
            v.split(';')
                .skip(1)
                .any(|x| x.trim().eq_ignore_ascii_case(a))
        };
        if https && !c.secure {
            hit(&mut out, "HARK-COOKIE-SECURE", name);
        }
        // An empty value (or one ending in `=`) or `Max-Age=0`: the cookie is deleted.
        let deleting =
            any_attr("max-age=0") || c.has_eq && (c.value.is_empty() || c.value.ends_with('='));
        if !deleting && !c.http_only && crate::sample::is_session_cookie(name) {
            hit(&mut out, "HARK-COOKIE-HTTPONLY", name);
        }
        if !deleting && (c.same_site.is_none() || any_attr("samesite=none")) {
            hit(&mut out, "HARK-COOKIE-SAMESITE", name);
        }
    }
    let has_state = url
        .query_pairs()
        .any(|(n, _)| n.eq_ignore_ascii_case("state"));
    for (n, v) in url.query_pairs() {
        if !protocol_param(&n, has_state) && url_secret(&n, &v) {
            hit(&mut out, "HARK-SECRET-URL", &n);
        }
    }
    if url.scheme() == "http" && !loopback(url.host_str().unwrap_or("")) {
        let form_pw = req.post_data().is_some_and(|p| {
            let t = p.text().unwrap_or("");
            url::form_urlencoded::parse(t.as_bytes())
                .any(|(k, _)| k.to_ascii_lowercase().contains("pass"))
                || t.contains("\"password\"")
        });
        if qh.get("authorization").is_some() || form_pw {
            hit(&mut out, "HARK-CLEARTEXT-CREDS", "");
        }
    }
    for h in [
        "server",
        "x-powered-by",
        "x-aspnet-version",
        "x-aspnetmvc-version",
        "x-backend-server",
        "x-generator",
    ] {
        if let Some(v) = rh.get(h) {
            if h != "server" && h != "x-backend-server" || has_version(v) {
                hit(&mut out, "HARK-VERSION", h);
            }
        }
    }
    let body = res.content();
    if let Some(t) = body.text().filter(|_| !body.is_base64()) {
        let head = &t[..t.len().min(256 << 10)];
        let head = match head.is_char_boundary(head.len()) {
            true => head,
            false => &t[..t.floor_char_boundary_compat(head.len())],
        };
        if TRACES.iter().any(|p| head.contains(p)) {
            hit(&mut out, "HARK-STACKTRACE", "");
        }
        if head.contains("eyJ") {
            jwt_hits(head, &mut out, "response body");
        }
    }
    if let Some(acao) = rh.get("access-control-allow-origin") {
        let creds = rh
            .get("access-control-allow-credentials")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let origin = qh.get("origin");
        let own = url.origin().ascii_serialization();
        if acao.trim() == "*" && creds {
            hit(&mut out, "HARK-CORS", "wildcard with credentials");
        } else if creds && origin.is_some_and(|o| o == acao.trim() && o != own && o != "null") {
            hit(&mut out, "HARK-CORS", "reflected origin");
        }
    }
    if url.scheme() == "http"
        && qh.get("referer").is_some_and(|r| r.starts_with("https://"))
        && e.resource_type().is_none_or(|t| t != "document")
    {
        hit(&mut out, "HARK-MIXED", "");
    }
    let auth = qh.get("authorization");
    if let Some(a) = auth {
        jwt_hits(a, &mut out, "authorization");
    }
    if let Some(c) = qh.get("cookie") {
        if c.contains("eyJ") {
            jwt_hits(c, &mut out, "cookie");
        }
    }
    let authed = auth.is_some()
        || qh.get("cookie").is_some_and(|c| {
            har::http::cookie_pairs(c).any(|(n, _)| crate::sample::is_session_cookie(n))
        });
    let method = req.method().unwrap_or("GET");
    let static_asset = har::http::is_static(&e.resource_type().unwrap_or_default(), url.path())
        || [
            "image/",
            "font/",
            "text/css",
            "javascript",
            "video/",
            "audio/",
        ]
        .iter()
        .any(|m| mime.contains(m));
    let personal_body = || {
        body.text()
            .filter(|_| !body.is_base64())
            .is_some_and(|t| personal(&t[..t.floor_char_boundary_compat(t.len().min(256 << 10))]))
    };
    if authed
        && status == 200
        && !mime.is_empty()
        && (method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD"))
        && !static_asset
        && personal_body()
    {
        let cc = rh.get("cache-control").unwrap_or("").to_ascii_lowercase();
        if !(cc.contains("no-store") || cc.contains("private")) {
            hit(&mut out, "HARK-CACHE-AUTH", "");
        }
    }
    out.sort_by(|a, b| (a.rule, &a.detail).cmp(&(b.rule, &b.detail)));
    out.dedup_by(|a, b| a.rule == b.rule && a.detail == b.detail);
    out
}

trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}
impl FloorBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A clean HTTPS exchange: an HTML page with every header it should have.
    fn clean() -> Value {
        json!({
            "request": {"method": "GET", "url": "https://app.test/home?page=2", "headers": [
                {"name": "Origin", "value": "https://app.test"}]},
            "response": {"status": 200, "headers": [
                {"name": "Content-Security-Policy", "value": "default-src 'self'; frame-ancestors 'none'"},
                {"name": "Strict-Transport-Security", "value": "max-age=31536000"},
                {"name": "X-Content-Type-Options", "value": "nosniff"},
                {"name": "Server", "value": "nginx"},
                {"name": "Set-Cookie", "value": "sid=abc; Path=/; Secure; HttpOnly; SameSite=Lax"}],
                "content": {"size": 10, "mimeType": "text/html", "text": "<p>hello</p>"}},
        })
    }

    fn hits(v: &Value) -> Vec<String> {
        let e = har::Entry {
            index: 0,
            value: v.clone(),
        };
        static CLEAN: std::sync::LazyLock<crate::Cleaner> =
            std::sync::LazyLock::new(crate::Cleaner::new);
        check(e.view(), &|n, v| CLEAN.url_secret(n, v))
            .into_iter()
            .map(|h| h.rule.to_string())
            .collect()
    }

    fn set_header(v: &mut Value, part: &str, name: &str, value: Option<&str>) {
        let hs = v[part]["headers"].as_array_mut().unwrap();
        hs.retain(|h| !h["name"].as_str().unwrap().eq_ignore_ascii_case(name));
        if let Some(x) = value {
            hs.push(json!({"name": name, "value": x}));
        }
    }

    const JWT_NONE: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.";
    /// {"alg":"HS256"} . {"sub":"1","password":"x"}
    const JWT_PW: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwicGFzc3dvcmQiOiJ4In0.c2ln";

    #[test]
    fn the_clean_exchange_matches_no_rule() {
        assert_eq!(hits(&clean()), Vec::<String>::new());
    }

    #[test]
    fn each_rule_on_an_exchange_that_triggers_it_and_only_there() {
        type Mutate = fn(&mut Value);
        let cases: Vec<(&str, Mutate)> = vec![
            ("HARK-CSP", |v| {
                set_header(v, "response", "Content-Security-Policy", None);
                set_header(v, "response", "X-Frame-Options", Some("DENY"));
            }),
            ("HARK-HSTS", |v| {
                set_header(v, "response", "Strict-Transport-Security", None)
            }),
            ("HARK-XCTO", |v| {
                set_header(v, "response", "X-Content-Type-Options", None)
            }),
            ("HARK-FRAME", |v| {
                set_header(
                    v,
                    "response",
                    "Content-Security-Policy",
                    Some("default-src 'self'"),
                )
            }),
            ("HARK-COOKIE-SECURE", |v| {
                set_header(
                    v,
                    "response",
                    "Set-Cookie",
                    Some("sid=abc; HttpOnly; SameSite=Lax"),
                )
            }),
            ("HARK-COOKIE-HTTPONLY", |v| {
                set_header(
                    v,
                    "response",
                    "Set-Cookie",
                    Some("sid=abc; Secure; SameSite=Lax"),
                )
            }),
            ("HARK-COOKIE-SAMESITE", |v| {
                set_header(
                    v,
                    "response",
                    "Set-Cookie",
                    Some("sid=abc; Secure; HttpOnly"),
                )
            }),
            ("HARK-SECRET-URL", |v| {
                v["request"]["url"] = json!("https://app.test/home?access_token=abc123")
            }),
            ("HARK-CLEARTEXT-CREDS", |v| {
                v["request"]["url"] = json!("http://app.test/login");
                v["request"]["method"] = json!("POST");
                v["request"]["postData"] = json!({"mimeType": "application/x-www-form-urlencoded", "text": "user=a&password=b"});
            }),
            ("HARK-VERSION", |v| {
                set_header(v, "response", "Server", Some("Apache/2.4.41 (Ubuntu)"))
            }),
            ("HARK-STACKTRACE", |v| {
                v["response"]["content"]["text"] =
                    json!("Traceback (most recent call last):\n  File \"app.py\", line 3")
            }),
            ("HARK-CORS", |v| {
                set_header(v, "request", "Origin", Some("https://evil.test"));
                set_header(
                    v,
                    "response",
                    "Access-Control-Allow-Origin",
                    Some("https://evil.test"),
                );
                set_header(
                    v,
                    "response",
                    "Access-Control-Allow-Credentials",
                    Some("true"),
                );
            }),
            ("HARK-MIXED", |v| {
                v["request"]["url"] = json!("http://app.test/lib.js");
                set_header(v, "request", "Referer", Some("https://app.test/home"));
            }),
            ("HARK-JWT-NONE", |v| {
                set_header(v, "request", "Cookie", Some(&format!("jwt={JWT_NONE}x")));
                set_header(v, "response", "Cache-Control", Some("no-store"));
            }),
            ("HARK-JWT-CLAIMS", |v| {
                v["response"]["content"]["text"] = json!(format!("{{\"id_token\":\"{JWT_PW}\"}}"))
            }),
            ("HARK-CACHE-AUTH", |v| {
                set_header(v, "request", "Authorization", Some("Basic YTpi"));
                v["response"]["content"]["text"] = json!("<p>ann@example.com</p>");
            }),
        ];
        assert_eq!(cases.len(), RULES.len(), "every rule has a case");
        for (rule, mutate) in cases {
            assert!(super::rule(rule).is_some(), "{rule}");
            let mut v = clean();
            mutate(&mut v);
            assert_eq!(hits(&v), [rule], "{rule}");
        }
    }

    /// The exchanges that look like a rule's but must not trigger it.
    #[test]
    fn near_misses_match_no_rule() {
        type Mutate = fn(&mut Value);
        let cases: Vec<(&str, Mutate)> = vec![
            ("OAuth state, nonce and PKCE in an authorization URL", |v| {
                v["request"]["url"] = json!("https://app.test/authorize?response_type=code&client_id=web&state=af0ifjsldkj8Xq2&nonce=n-0S6_WzA2Mj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=https%3A%2F%2Fapp.test%2Fcb")
            }),
            ("an OAuth callback's code beside its state", |v| {
                v["request"]["url"] =
                    json!("https://app.test/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj")
            }),
            ("SAML's RelayState and SAMLRequest", |v| {
                v["request"]["url"] = json!("https://idp.test/sso?SAMLRequest=fZJNT%2BMwEIb%2FSuR7&RelayState=ss%3Amem%3A1d2e3f")
            }),
            ("a flag named after a token", |v| {
                v["request"]["url"] = json!("https://app.test/home?token_ready=1")
            }),
            ("a cacheable static asset of an authenticated page", |v| {
                set_header(v, "request", "Authorization", Some("Basic YTpi"));
                v["request"]["url"] = json!("https://app.test/logo.png");
                v["response"]["content"] =
                    json!({"size": 3, "mimeType": "image/png", "text": "PNG"});
            }),
            ("a PUT answered without no-store", |v| {
                set_header(v, "request", "Authorization", Some("Basic YTpi"));
                v["request"]["method"] = json!("PUT");
                v["response"]["content"]["text"] = json!("<p>ann@example.com</p>");
            }),
            ("an authenticated response without personal data", |v| {
                set_header(v, "request", "Authorization", Some("Basic YTpi"));
            }),
        ];
        for (what, mutate) in cases {
            let mut v = clean();
            mutate(&mut v);
            assert_eq!(hits(&v), Vec::<String>::new(), "{what}");
        }
        // The real one beside them is still found.
        let mut v = clean();
        v["request"]["url"] =
            json!("https://app.test/home?state=x1y2z3w4&api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc");
        assert_eq!(hits(&v), ["HARK-SECRET-URL"]);
    }

    #[test]
    fn cors_with_own_origin_or_without_credentials_is_fine() {
        let mut v = clean();
        set_header(
            &mut v,
            "response",
            "Access-Control-Allow-Origin",
            Some("https://app.test"),
        );
        set_header(
            &mut v,
            "response",
            "Access-Control-Allow-Credentials",
            Some("true"),
        );
        assert!(hits(&v).is_empty());
        set_header(&mut v, "response", "Access-Control-Allow-Origin", Some("*"));
        set_header(&mut v, "response", "Access-Control-Allow-Credentials", None);
        assert!(hits(&v).is_empty());
        set_header(
            &mut v,
            "response",
            "Access-Control-Allow-Credentials",
            Some("true"),
        );
        assert_eq!(hits(&v), ["HARK-CORS"]);
    }
}
