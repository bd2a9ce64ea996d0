//! Authentication: OAuth 2.0 / OpenID Connect / SAML flows rebuilt from the HAR
//! (authorize → login → callback → token → API), their usual failures, JWTs that were
//! expired when used, cookies set but not sent back, and clock skew.

use crate::util::{self, fingerprint, hash, human_ms, Examples};
use crate::Digest;
use check::Finding;
use har::{Entry, Severity};
use serde::Serialize;
use std::collections::HashMap;

/// Flows kept in full; more are counted.
pub const MAX_FLOWS: usize = 50;
const MAX_STEPS: usize = 40;
const MAX_API_STEPS: usize = 5;
const MAX_TOKENS: usize = 500;
pub const MAX_COOKIES: usize = 500;
const MAX_HOSTS: usize = 200;
const MAX_JWT_CACHE: usize = 2000;
const SKEW_MS: f64 = 60_000.0;
const JWT_LEEWAY_S: f64 = 5.0;

/// One request of a flow.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Step {
    /// `login`, `authorize`, `callback`, `token`, `api`, `saml-request`, `saml-response`.
    pub kind: &'static str,
    pub index: usize,
    pub method: String,
    /// URL with query values hidden.
    pub url: String,
    /// HTTP status, 0 when no response.
    pub status: i64,
    /// The parameters that matter, in words (values of secrets never shown).
    pub detail: String,
}

/// A decoded JWT seen in the flow (header and the registered claims).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TokenInfo {
    /// Where: `access_token`, `id_token`, `Authorization`.
    pub name: String,
    pub index: usize,
    pub header: serde_json::Map<String, serde_json::Value>,
    /// Registered claims (iss, sub, aud, exp, nbf, iat, azp, scope, nonce …).
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Names of the other claims (values not shown).
    pub other_claims: Vec<String>,
}

/// A reconstructed sign-in flow.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Flow {
    /// `oauth2`, `oidc` or `saml`.
    pub protocol: &'static str,
    /// `ok`, `failed` or `incomplete`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `S256`, `plain`, or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkce: Option<String>,
    pub state: bool,
    pub nonce: bool,
    pub steps: Vec<Step>,
    /// API requests made with the flow's access token (the first few are in `steps`).
    pub api_requests: usize,
    pub tokens: Vec<TokenInfo>,
    /// Finding codes raised on this flow.
    pub problems: Vec<&'static str>,
    #[serde(skip)]
    st: FlowState,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct FlowState {
    state: Option<String>,
    nonce: Option<String>,
    redirect_base: Option<String>,
    code: Option<u64>,
    callback_done: bool,
    token_done: bool,
    failed: bool,
    page: Option<String>,
}

impl Flow {
    fn new(protocol: &'static str) -> Flow {
        Flow {
            protocol,
            outcome: "incomplete",
            client_id: None,
            redirect_uri: None,
            response_type: None,
            scope: None,
            pkce: None,
            state: false,
            nonce: false,
            steps: Vec::new(),
            api_requests: 0,
            tokens: Vec::new(),
            problems: Vec::new(),
            st: FlowState::default(),
        }
    }
    fn step(&mut self, kind: &'static str, e: &Entry, detail: String) {
        if self.steps.len() >= MAX_STEPS {
            return;
        }
        let req = e.request();
        self.steps.push(Step {
            kind,
            index: e.index,
            method: req.method().unwrap_or("GET").to_string(),
            url: check::redact_query(req.url().unwrap_or("")),
            status: e.response().status().unwrap_or(0).max(0),
            detail,
        });
    }
    fn problem(&mut self, code: &'static str) {
        if !self.problems.contains(&code) {
            self.problems.push(code);
        }
        self.st.failed = true;
    }
}

/// One finding being built: a title and detail from the first case, entries from all.
struct Acc {
    severity: Severity,
    title: String,
    detail: String,
    advice: &'static str,
    examples: Examples,
}

#[derive(Clone, Debug)]
struct TrackedCookie {
    name: String,
    host: String,
    domain: Option<String>,
    path: String,
    secure: bool,
    same_site: Option<String>,
    expires_ms: Option<f64>,
    set_at: usize,
    set_ms: Option<f64>,
    rejected: Option<String>,
    sent: bool,
    missing: Examples,
    missing_reason: Option<String>,
}

#[derive(Clone, Copy, Debug)]
struct JwtTimes {
    exp: Option<f64>,
    nbf: Option<f64>,
}

#[derive(Default)]
pub struct Auth {
    flows: Vec<Flow>,
    flows_dropped: usize,
    pending_login: Option<(Option<String>, Step)>,
    /// Access-token hashes → flow.
    tokens: HashMap<u64, usize>,
    /// Authorization-code hashes → the token request that redeemed it.
    redeemed: HashMap<u64, usize>,
    findings: Vec<(&'static str, Acc)>,
    cookies: Vec<TrackedCookie>,
    jwt_cache: HashMap<u64, Option<JwtTimes>>,
    skew: HashMap<String, (f64, f64, usize, u32)>,
    capped: Capped,
}

/// Which limits were reached.
#[derive(Default)]
struct Capped {
    cookies: usize,
    tokens: bool,
    codes: bool,
    hosts: bool,
}

fn q_pairs(u: &url::Url) -> Vec<(String, String)> {
    u.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn json_body(e: &Entry) -> Option<serde_json::Map<String, serde_json::Value>> {
    let t = util::body_text(e.view(), 256 * 1024)?;
    match serde_json::from_str::<serde_json::Value>(t.trim()) {
        Ok(serde_json::Value::Object(m)) => Some(m),
        _ => None,
    }
}

const REGISTERED: [&str; 14] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "azp",
    "scope",
    "scp",
    "client_id",
    "nonce",
    "typ",
    "auth_time",
    "jti",
];

fn token_info(name: &str, index: usize, jwt: &jwt::Jwt<'_>) -> TokenInfo {
    let mut claims = serde_json::Map::new();
    let mut other = Vec::new();
    for (k, v) in &jwt.claims {
        if REGISTERED.contains(&k.as_str()) {
            let v = if k == "nonce" {
                serde_json::Value::from(fingerprint(v.as_str().unwrap_or("")))
            } else {
                v.clone()
            };
            claims.insert(k.clone(), v);
        } else {
            other.push(k.clone());
        }
    }
    let mut header = serde_json::Map::new();
    for (k, v) in &jwt.header {
        if matches!(k.as_str(), "alg" | "typ" | "kid" | "cty") {
            header.insert(k.clone(), v.clone());
        }
    }
    TokenInfo {
        name: name.to_string(),
        index,
        header,
        claims,
        other_claims: other,
    }
}

/// Parsed `Set-Cookie`.
struct SetCookie {
    name: String,
    value_len: usize,
    domain: Option<String>,
    path: Option<String>,
    secure: bool,
    same_site: Option<String>,
    max_age: Option<f64>,
    expires: Option<f64>,
    len: usize,
}

fn parse_set_cookie(s: &str) -> Option<SetCookie> {
    let mut parts = s.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let mut c = SetCookie {
        name: name.trim().to_string(),
        value_len: value.trim().len(),
        domain: None,
        path: None,
        secure: false,
        same_site: None,
        max_age: None,
        expires: None,
        len: s.len(),
    };
    if c.name.is_empty() {
        return None;
    }
    for a in parts {
        let (k, v) = a.split_once('=').unwrap_or((a, ""));
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        match k.as_str() {
            "domain" => c.domain = Some(v.trim_start_matches('.').to_ascii_lowercase()),
            "path" => c.path = Some(v.to_string()),
            "secure" => c.secure = true,
            "samesite" => c.same_site = Some(v.to_ascii_lowercase()),
            "max-age" => c.max_age = v.parse().ok(),
            "expires" => c.expires = util::parse_http_date(&v.replace('-', " ")),
            _ => {}
        }
    }
    Some(c)
}

fn default_path(u: &url::Url) -> String {
    let p = u.path();
    match p.rfind('/') {
        Some(0) | None => "/".into(),
        Some(k) => p[..k].to_string(),
    }
}

fn domain_match(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

fn path_match(req: &str, cookie: &str) -> bool {
    req == cookie
        || (req.starts_with(cookie)
            && (cookie.ends_with('/') || req[cookie.len()..].starts_with('/')))
}

impl Auth {
    fn note(
        &mut self,
        code: &'static str,
        severity: Severity,
        entries: &[usize],
        make: impl FnOnce() -> (String, String, &'static str),
    ) {
        if let Some((_, acc)) = self.findings.iter_mut().find(|(c, _)| *c == code) {
            for i in entries {
                acc.examples.add(*i);
            }
            acc.severity = acc.severity.max(severity);
            return;
        }
        let (title, detail, advice) = make();
        let mut examples = Examples::default();
        for i in entries {
            examples.add(*i);
        }
        self.findings.push((
            code,
            Acc {
                severity,
                title,
                detail,
                advice,
                examples,
            },
        ));
    }

    fn new_flow(&mut self, f: Flow) -> Option<usize> {
        if self.flows.len() >= MAX_FLOWS {
            self.flows_dropped += 1;
            return None;
        }
        self.flows.push(f);
        Some(self.flows.len() - 1)
    }

    pub fn entry(&mut self, d: &Digest, cors_failed: bool) {
        let e = &d.entry;
        let req = e.request();
        let Some(u) = &d.url else {
            return;
        };
        let method = req.method().unwrap_or("GET").to_ascii_uppercase();
        let status = e.response().status().unwrap_or(0);
        let q = q_pairs(u);
        let path_l = u.path().to_ascii_lowercase();
        let form = if method == "POST" {
            d.form.clone()
        } else {
            Vec::new()
        };

        self.cookies(e, u);
        self.jwts(e, status);
        self.skew(e, u, status, d.cached);

        // SAML.
        let saml_req = util::get(&q, "SAMLRequest").or(util::get(&form, "SAMLRequest"));
        let saml_resp = util::get(&form, "SAMLResponse").or(util::get(&q, "SAMLResponse"));
        if saml_req.is_some() {
            let mut f = Flow::new("saml");
            f.st.page = e.pageref().map(str::to_string);
            f.step(
                "saml-request",
                e,
                format!(
                    "AuthnRequest ({} binding){}",
                    if method == "POST" { "POST" } else { "Redirect" },
                    util::get(&q, "RelayState")
                        .or(util::get(&form, "RelayState"))
                        .map(|_| ", RelayState set")
                        .unwrap_or("")
                ),
            );
            self.new_flow(f);
            return;
        }
        if let Some(sr) = saml_resp {
            let xml = decode_saml(sr);
            let status_code = xml.as_deref().and_then(saml_status);
            let k = self
                .flows
                .iter()
                .rposition(|f| f.protocol == "saml" && !f.st.callback_done);
            let k = match k {
                Some(k) => Some(k),
                None => self.new_flow(Flow::new("saml")),
            };
            let ok = status_code
                .as_deref()
                .is_none_or(|s| s.ends_with(":Success"));
            if let Some(k) = k {
                let f = &mut self.flows[k];
                f.st.callback_done = true;
                f.step(
                    "saml-response",
                    e,
                    format!(
                        "SAMLResponse to the ACS, status {}",
                        status_code.as_deref().unwrap_or("unknown (not decodable)")
                    ),
                );
                f.outcome = if ok { "ok" } else { "failed" };
                if !ok {
                    f.problem("saml-error");
                }
            }
            if !ok {
                let sc = status_code.unwrap_or_default();
                self.note("saml-error", Severity::Error, &[e.index], || {
                    (
                        "SAML response with an error status".into(),
                        format!("The identity provider posted a SAMLResponse with StatusCode {sc}."),
                        "Read the StatusMessage in the response; check the SP's entity id, ACS URL and NameID policy as the IdP knows them.",
                    )
                });
            }
            return;
        }

        // Login form posts: kept until an authorize or attached to the open flow.
        let password = form.iter().any(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k.contains("password") || k == "pass" || k == "pwd"
        });
        if method == "POST" && password {
            let detail = format!(
                "credentials posted ({}){}",
                form.iter()
                    .filter(|(k, _)| !k.to_ascii_lowercase().contains("pass"))
                    .map(|(k, _)| k.as_str())
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(", "),
                if (300..400).contains(&status) {
                    format!(" → {status}")
                } else {
                    String::new()
                }
            );
            let open = self.flows.iter().rposition(|f| {
                !f.st.callback_done
                    && f.protocol != "saml"
                    && f.steps.iter().any(|s| s.kind == "authorize")
            });
            match open {
                Some(k) if self.flows[k].st.page.as_deref() == e.pageref() => {
                    self.flows[k].step("login", e, detail)
                }
                _ => {
                    let mut f = Flow::new("oauth2");
                    f.step("login", e, detail);
                    self.pending_login =
                        f.steps.pop().map(|s| (e.pageref().map(str::to_string), s));
                }
            }
            return;
        }

        // Authorize.
        let is_authorize = (util::get(&q, "response_type").is_some()
            && util::get(&q, "client_id").is_some())
            || (path_l.ends_with("/authorize") && util::get(&q, "client_id").is_some());
        if is_authorize {
            self.authorize(e, &q);
            return;
        }

        // Callback.
        let params = if method == "POST" { &form } else { &q };
        let has_code = util::get(params, "code").is_some();
        let has_error = util::get(params, "error").is_some();
        let has_state = util::get(params, "state").is_some();
        let has_id_token = util::get(params, "id_token").is_some();
        if has_code || has_error || has_id_token {
            let base = util::base(u);
            let matching = self.flows.iter().rposition(|f| {
                f.st.redirect_base.as_deref() == Some(base.as_str()) && f.protocol != "saml"
            });
            if matching.is_some() || has_state {
                self.callback(e, params, matching);
                return;
            }
        }

        // Token.
        let grant = util::get(&form, "grant_type");
        if method == "POST" && (grant.is_some() || path_l.ends_with("/token")) {
            self.token(e, &form, cors_failed);
            return;
        }

        // API calls with a token from a flow.
        if let Some(tok) = req
            .headers()
            .get("authorization")
            .and_then(|a| a.strip_prefix("Bearer ").or(a.strip_prefix("bearer ")))
        {
            if let Some(&k) = self.tokens.get(&hash(tok.trim())) {
                let f = &mut self.flows[k];
                f.api_requests += 1;
                if f.api_requests <= MAX_API_STEPS {
                    let detail = if status >= 400 {
                        format!(
                            "Bearer token from this flow; {}",
                            e.response()
                                .headers()
                                .get("www-authenticate")
                                .map(|w| util::clip(w, 120))
                                .unwrap_or_else(|| "rejected".into())
                        )
                    } else {
                        "Bearer token from this flow".into()
                    };
                    f.step("api", e, detail);
                }
            }
        }
    }

    fn authorize(&mut self, e: &Entry, q: &[(String, String)]) {
        let get = |k: &str| util::get(q, k).map(str::to_string);
        let scope = get("scope");
        let response_type = get("response_type");
        let oidc = scope
            .as_deref()
            .is_some_and(|s| s.split([' ', '+']).any(|x| x == "openid"))
            || response_type
                .as_deref()
                .is_some_and(|r| r.contains("id_token"));
        let mut f = Flow::new(if oidc { "oidc" } else { "oauth2" });
        f.client_id = get("client_id");
        f.redirect_uri = get("redirect_uri");
        f.response_type = response_type.clone();
        f.scope = scope.clone();
        f.pkce = get("code_challenge")
            .map(|_| get("code_challenge_method").unwrap_or_else(|| "plain".into()));
        f.state = get("state").is_some_and(|s| !s.is_empty());
        f.nonce = get("nonce").is_some_and(|s| !s.is_empty());
        f.st.state = get("state").filter(|s| !s.is_empty());
        f.st.nonce = get("nonce").filter(|s| !s.is_empty());
        f.st.redirect_base = f
            .redirect_uri
            .as_deref()
            .and_then(|r| url::Url::parse(r).ok())
            .map(|u| util::base(&u));
        f.st.page = e.pageref().map(str::to_string);
        if let Some((page, step)) = self.pending_login.take() {
            if page.as_deref() == e.pageref() && step.index < e.index {
                // The login post that led here (first-party login before authorize).
                f.steps.push(step);
            }
        }
        let detail = format!(
            "client_id={} response_type={} scope={} redirect_uri={} state={} nonce={} PKCE={}",
            f.client_id.as_deref().unwrap_or("(none)"),
            response_type.as_deref().unwrap_or("(none)"),
            scope.as_deref().unwrap_or("(none)"),
            f.redirect_uri.as_deref().unwrap_or("(none)"),
            f.st.state
                .as_deref()
                .map(fingerprint)
                .unwrap_or_else(|| "(none)".into()),
            if f.nonce { "set" } else { "(none)" },
            f.pkce.as_deref().unwrap_or("(none)")
        );
        f.step("authorize", e, detail);
        let code_flow = response_type
            .as_deref()
            .is_some_and(|r| r.split(' ').any(|x| x == "code"));
        let implicit_id = response_type
            .as_deref()
            .is_some_and(|r| r.contains("id_token"));
        let i = e.index;
        if !f.state {
            f.problems.push("oauth-no-state");
            self.note("oauth-no-state", Severity::Warning, &[i], || {
                (
                    "Authorization request without `state`".into(),
                    "The authorize request carries no state parameter, so the callback cannot be tied to it (CSRF).".into(),
                    "Send a random, unguessable state with every authorization request and check it on the callback.",
                )
            });
        }
        if code_flow && f.pkce.is_none() {
            f.problems.push("oauth-no-pkce");
            self.note("oauth-no-pkce", Severity::Warning, &[i], || {
                (
                    "Authorization code flow without PKCE".into(),
                    "No code_challenge on the authorize request: an intercepted code can be redeemed by someone else. OAuth 2.1 and the current BCP require PKCE.".into(),
                    "Use PKCE (code_challenge_method=S256) and send the code_verifier to the token endpoint.",
                )
            });
        } else if f.pkce.as_deref() == Some("plain") {
            f.problems.push("oauth-pkce-plain");
            self.note("oauth-pkce-plain", Severity::Info, &[i], || {
                (
                    "PKCE with the `plain` method".into(),
                    "code_challenge_method is plain (or missing): the challenge is the verifier itself.".into(),
                    "Use code_challenge_method=S256.",
                )
            });
        }
        if oidc && !f.nonce {
            let sev = if implicit_id {
                Severity::Warning
            } else {
                Severity::Info
            };
            f.problems.push("oidc-no-nonce");
            self.note("oidc-no-nonce", sev, &[i], || {
                (
                    "OpenID Connect request without `nonce`".into(),
                    "The authorize request asks for OpenID Connect but sends no nonce, so an ID token cannot be bound to this session (required for implicit/hybrid flows).".into(),
                    "Send a random nonce and check the ID token's nonce claim against it.",
                )
            });
        }
        self.new_flow(f);
    }

    fn callback(&mut self, e: &Entry, params: &[(String, String)], matching: Option<usize>) {
        let i = e.index;
        let code = util::get(params, "code");
        let state = util::get(params, "state");
        let error = util::get(params, "error");
        // A callback seen again with the same code: a reload.
        let code_h = code.map(hash);
        let again = code_h.and_then(|h| self.flows.iter().rposition(|f| f.st.code == Some(h)));
        let k = match again.or(matching) {
            Some(k) => Some(k),
            None => {
                let mut f = Flow::new("oauth2");
                f.st.page = e.pageref().map(str::to_string);
                self.new_flow(f)
            }
        };
        let Some(k) = k else { return };
        let f = &mut self.flows[k];
        let reload = again.is_some();
        let mut detail = Vec::new();
        if let Some(err) = error {
            detail.push(format!("error={err}"));
            if let Some(d) = util::get(params, "error_description") {
                detail.push(format!("error_description={}", util::clip(d, 160)));
            }
        }
        if code.is_some() {
            detail.push(if reload {
                "the same code again (page reloaded?)".into()
            } else {
                "code received".into()
            });
        }
        if util::get(params, "id_token").is_some() {
            detail.push("id_token received".into());
        }
        detail.push(match state {
            Some(s) => format!("state={}", fingerprint(s)),
            None => "no state".into(),
        });
        f.step("callback", e, detail.join(", "));
        if !reload {
            f.st.callback_done = true;
            f.st.code = code_h;
        }
        let expected = f.st.state.clone();
        let had_authorize = f.steps.iter().any(|s| s.kind == "authorize");
        if let Some(err) = error {
            f.problem("oauth-callback-error");
            f.outcome = "failed";
            let desc = util::get(params, "error_description").map(|d| util::clip(d, 200));
            let err = err.to_string();
            self.note("oauth-callback-error", Severity::Error, &[i], || {
                (
                    format!("The authorization server returned error={err}"),
                    format!(
                        "The callback carries error={err}{}.",
                        desc.map(|d| format!(" ({d})")).unwrap_or_default()
                    ),
                    match err.as_str() {
                        "access_denied" => "The user (or a policy) refused: check the scopes asked for, consent, and the user's access to this client.",
                        "invalid_scope" => "Ask only for scopes the client is allowed.",
                        "unauthorized_client" | "invalid_client" => "Check the client id and its allowed grant types / redirect URIs at the IdP.",
                        "login_required" | "interaction_required" | "consent_required" => "Silent (prompt=none) sign-in needs an interactive one.",
                        _ => "See the error_description; the IdP's logs for this request say more.",
                    },
                )
            });
            return;
        }
        if had_authorize && !reload {
            let mismatch = match (&expected, state) {
                (Some(a), Some(b)) => a != b,
                (Some(_), None) => true,
                _ => false,
            };
            if mismatch {
                let f = &mut self.flows[k];
                f.problem("oauth-state-mismatch");
                f.outcome = "failed";
                let authorize_at = f
                    .steps
                    .iter()
                    .find(|s| s.kind == "authorize")
                    .map(|s| s.index)
                    .unwrap_or(i);
                let sent = expected.as_deref().map(fingerprint).unwrap_or_default();
                let got = state.map(fingerprint).unwrap_or_else(|| "none".into());
                self.note("oauth-state-mismatch", Severity::Error, &[authorize_at, i], || {
                    (
                        "`state` on the callback does not match the authorization request".into(),
                        format!(
                            "The authorize request (entry {authorize_at}) sent state {sent}; the callback (entry {i}) came back with {got}. The client must reject such a callback."
                        ),
                        "Something between the client and the IdP changed state (a proxy or gateway truncating or re-encoding it), or the callback belongs to another login attempt (two tabs, a stale bookmark, the back button). Pass state through unchanged and start one login per browser session.",
                    )
                });
            }
        }
    }

    fn token(&mut self, e: &Entry, form: &[(String, String)], cors_failed: bool) {
        let i = e.index;
        let status = e.response().status().unwrap_or(0);
        let grant = util::get(form, "grant_type")
            .unwrap_or("(none)")
            .to_string();
        let code_h = util::get(form, "code").map(hash);
        let client_id = util::get(form, "client_id").map(str::to_string);
        let redirect = util::get(form, "redirect_uri").map(str::to_string);
        let verifier = util::get(form, "code_verifier").is_some_and(|v| !v.is_empty());
        let k = code_h
            .and_then(|h| self.flows.iter().rposition(|f| f.st.code == Some(h)))
            .or_else(|| {
                self.flows.iter().rposition(|f| {
                    f.st.callback_done
                        && !f.st.token_done
                        && f.protocol != "saml"
                        && (client_id.is_none() || f.client_id == client_id)
                })
            });
        let k = match k {
            Some(k) => Some(k),
            None => {
                let mut f = Flow::new("oauth2");
                f.client_id = client_id.clone();
                self.new_flow(f)
            }
        };
        let Some(k) = k else { return };
        let body = json_body(e);
        let error = body
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let error_desc = body
            .as_ref()
            .and_then(|b| b.get("error_description"))
            .and_then(|v| v.as_str())
            .map(|d| util::clip(d, 200));
        let mut detail = vec![format!("grant_type={grant}")];
        if code_h.is_some() {
            detail.push("code".into());
        }
        if verifier {
            detail.push("code_verifier".into());
        }
        if util::get(form, "client_secret").is_some() {
            detail.push("client_secret".into());
        }
        if let Some(r) = &redirect {
            detail.push(format!("redirect_uri={r}"));
        }
        if let Some(err) = &error {
            detail.push(format!("→ error={err}"));
        } else if let Some(b) = &body {
            let got: Vec<&str> = ["access_token", "id_token", "refresh_token"]
                .into_iter()
                .filter(|k| b.contains_key(*k))
                .collect();
            if !got.is_empty() {
                detail.push(format!("→ {}", got.join(", ")));
            }
        }
        if status <= 0 {
            detail.push(format!(
                "→ no response ({})",
                har::http::failure(e.view()).unwrap_or_default()
            ));
        }
        let f = &mut self.flows[k];
        f.step("token", e, detail.join(" "));
        f.st.token_done = true;
        let flow_redirect = f.redirect_uri.clone();
        let pkce = f.pkce.is_some();
        let nonce = f.st.nonce.clone();
        let authorize_at = f
            .steps
            .iter()
            .find(|s| s.kind == "authorize")
            .map(|s| s.index);

        if status <= 0 && cors_failed {
            f.problem("oauth-token-cors");
            f.outcome = "failed";
            let u = check::redact_query(e.request().url().unwrap_or(""));
            self.note("oauth-token-cors", Severity::Error, &[i], || {
                (
                    "Token endpoint blocked by CORS".into(),
                    format!("The browser could not call the token endpoint {u}: the cross-origin request (or its preflight) was refused."),
                    "Register the app's origin as an allowed CORS origin for this client at the IdP (or call the token endpoint from the back end).",
                )
            });
            return;
        }
        if let Some(err) = error.filter(|_| status >= 400) {
            f.problem("oauth-token-error");
            f.outcome = "failed";
            let earlier = code_h.and_then(|h| self.redeemed.get(&h).copied());
            let mut ents = vec![i];
            if let Some(j) = earlier {
                ents.insert(0, j);
            }
            self.note("oauth-token-error", Severity::Error, &ents, || {
                let mut d = format!(
                    "The token endpoint answered {status} error={err}{}.",
                    error_desc.map(|d| format!(" ({d})")).unwrap_or_default()
                );
                if let Some(j) = earlier {
                    d.push_str(&format!(
                        " This authorization code had already been redeemed by entry {j}: codes are single-use (a reloaded or re-visited callback page sends it again)."
                    ));
                }
                (
                    format!("Token request failed: {err}"),
                    d,
                    match err.as_str() {
                        "invalid_grant" => "The code (or refresh token) is invalid, expired, already used, or was issued for another redirect_uri / PKCE verifier. Do not redeem a code twice: make the callback page replace its URL once used.",
                        "invalid_client" => "Client authentication failed: check client_id / client_secret (or the client assertion) and the authentication method the IdP expects.",
                        "unauthorized_client" => "This client may not use this grant type: enable it at the IdP.",
                        "invalid_request" => "A parameter is missing or repeated: compare the request with the IdP's token endpoint docs.",
                        _ => "See the error_description and the IdP's logs.",
                    },
                )
            });
        } else if (200..300).contains(&status) {
            let f = &mut self.flows[k];
            if f.st.failed {
                // An earlier problem stays the outcome.
            } else {
                f.outcome = "ok";
            }
            if let Some(b) = &body {
                for name in ["access_token", "id_token"] {
                    let Some(t) = b.get(name).and_then(|v| v.as_str()) else {
                        continue;
                    };
                    if name == "access_token" {
                        if self.tokens.len() < MAX_TOKENS {
                            self.tokens.insert(hash(t), k);
                        } else {
                            self.capped.tokens = true;
                        }
                    }
                    if let Ok(j) = jwt::decode(t) {
                        let info = token_info(name, i, &j);
                        let f = &mut self.flows[k];
                        if f.tokens.len() < 6 {
                            f.tokens.push(info);
                        }
                        if name == "id_token" {
                            let got = j.claims.get("nonce").and_then(|v| v.as_str());
                            if let (Some(want), Some(got)) = (&nonce, got) {
                                if want != got {
                                    f.problem("oidc-nonce-mismatch");
                                    self.note("oidc-nonce-mismatch", Severity::Error, &[i], || {
                                        (
                                            "ID token `nonce` does not match the request".into(),
                                            "The id_token's nonce claim differs from the nonce sent on the authorize request.".into(),
                                            "The token belongs to another authentication request (or was replayed): the client must reject it.",
                                        )
                                    });
                                }
                            }
                            // Issued "in the future": the IdP's clock is ahead.
                            if let (Some(iat), Some(at)) = (j.iat(), e.started_ms()) {
                                let ahead = iat * 1000.0 - at - e.time().unwrap_or(0.0);
                                if ahead > SKEW_MS {
                                    self.note("clock-skew", Severity::Warning, &[i], || {
                                        (
                                            "Clock skew between the identity provider and the client".into(),
                                            format!("The id_token was issued (iat) {} after the client's clock says the response arrived.", human_ms(ahead)),
                                            "Synchronise clocks (NTP) on the IdP and the client/app servers; validators allow only a few minutes of leeway.",
                                        )
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        if (200..300).contains(&status) {
            if let Some(h) = code_h {
                if self.redeemed.len() < MAX_TOKENS {
                    self.redeemed.insert(h, i);
                } else {
                    self.capped.codes = true;
                }
            }
        }
        // Parameters that must agree with the authorization request.
        if let (Some(a), Some(t)) = (&flow_redirect, &redirect) {
            if a != t {
                let f = &mut self.flows[k];
                f.problem("oauth-redirect-uri-mismatch");
                let mut ents = vec![i];
                if let Some(j) = authorize_at {
                    ents.insert(0, j);
                }
                let (a, t) = (a.clone(), t.clone());
                self.note("oauth-redirect-uri-mismatch", Severity::Error, &ents, || {
                    (
                        "`redirect_uri` differs between authorize and token requests".into(),
                        format!("The authorize request used redirect_uri={a} but the token request sent redirect_uri={t}; the IdP must refuse the code (invalid_grant)."),
                        "Send exactly the same redirect_uri (scheme, host, port, path, trailing slash) in both requests.",
                    )
                });
            }
        }
        if pkce && code_h.is_some() && !verifier {
            let f = &mut self.flows[k];
            f.problem("oauth-pkce-no-verifier");
            self.note("oauth-pkce-no-verifier", Severity::Error, &[i], || {
                (
                    "PKCE code_verifier missing from the token request".into(),
                    "The authorize request sent a code_challenge but the token request has no code_verifier.".into(),
                    "Keep the verifier (e.g. in sessionStorage) across the redirect and send it with the code.",
                )
            });
        }
    }

    fn jwts(&mut self, e: &Entry, status: i64) {
        let Some(at) = e.started_ms() else { return };
        let req = e.request();
        let mut found: Vec<(String, &str)> = Vec::new();
        for (n, v) in req.headers().iter() {
            if n.eq_ignore_ascii_case("authorization") {
                if let Some(t) = v.split_whitespace().nth(1) {
                    if t.starts_with("ey") {
                        found.push(("Authorization header".into(), t));
                    }
                }
            }
        }
        for (n, v) in req.query_string().iter() {
            if v.starts_with("ey") && v.matches('.').count() == 2 {
                found.push((format!("query parameter {n}"), v));
            }
        }
        for (name, tok) in found {
            let key = hash(tok);
            let times = match self.jwt_cache.get(&key) {
                Some(t) => *t,
                None => {
                    let t = jwt::decode(tok).ok().map(|j| JwtTimes {
                        exp: j.exp(),
                        nbf: j.nbf(),
                    });
                    if self.jwt_cache.len() >= MAX_JWT_CACHE {
                        self.jwt_cache.clear();
                    }
                    self.jwt_cache.insert(key, t);
                    t
                }
            };
            let Some(t) = times else { continue };
            let now = at / 1000.0;
            if let Some(exp) = t.exp {
                if now > exp + JWT_LEEWAY_S {
                    let rejected = status == 401 || status == 403;
                    let www = e
                        .response()
                        .headers()
                        .get("www-authenticate")
                        .map(|w| util::clip(w, 160));
                    let (u, m) = (
                        check::redact_query(req.url().unwrap_or("")),
                        req.method().unwrap_or("GET").to_string(),
                    );
                    self.note(
                        "jwt-expired",
                        if rejected { Severity::Error } else { Severity::Warning },
                        &[e.index],
                        || {
                            (
                                "Request made with an expired JWT".into(),
                                format!(
                                    "{m} {u} sent a token in its {name} that expired at {} ({} before the request at {}){}.",
                                    util::iso(exp * 1000.0),
                                    human_ms((now - exp) * 1000.0),
                                    util::iso(at),
                                    if rejected {
                                        format!(
                                            "; the server answered {status}{}",
                                            www.map(|w| format!(" with WWW-Authenticate: {w}")).unwrap_or_default()
                                        )
                                    } else {
                                        String::new()
                                    }
                                ),
                                "Refresh the access token before it expires (refresh_token grant or silent renew) instead of reusing a stored one; if the expiry looks wrong, compare the client's and the IdP's clocks.",
                            )
                        },
                    );
                }
            }
            if let Some(nbf) = t.nbf {
                if nbf > now + JWT_LEEWAY_S {
                    self.note("jwt-not-yet-valid", Severity::Warning, &[e.index], || {
                        (
                            "Request made with a JWT that is not valid yet".into(),
                            format!(
                                "The token's nbf is {}, {} after the request: the issuer's clock is ahead of the client's.",
                                util::iso(nbf * 1000.0),
                                human_ms((nbf - now) * 1000.0)
                            ),
                            "Synchronise clocks (NTP) on the issuer and the clients; allow a small leeway when validating.",
                        )
                    });
                }
            }
        }
    }

    fn skew(&mut self, e: &Entry, u: &url::Url, status: i64, cached: bool) {
        if status <= 0 || cached {
            return;
        }
        let Some(date) = e
            .response()
            .headers()
            .get("date")
            .and_then(util::parse_http_date)
        else {
            return;
        };
        let Some(start) = e.started_ms() else { return };
        let t = e.timings();
        let before_body: f64 = [t.blocked, t.dns, t.connect, t.send, t.wait]
            .iter()
            .flatten()
            .filter(|x| **x > 0.0)
            .sum();
        // The server's Date is truncated to the second.
        let skew = date + 500.0 - (start + before_body);
        let host = u.host_str().unwrap_or("").to_string();
        let known = self.skew.len();
        match self.skew.get_mut(&host) {
            Some(s) => {
                s.0 = s.0.min(skew);
                s.1 = s.1.max(skew);
                s.3 += 1;
            }
            None if known < MAX_HOSTS => {
                self.skew.insert(host, (skew, skew, e.index, 1));
            }
            None => self.capped.hosts = true,
        }
    }

    fn cookies(&mut self, e: &Entry, u: &url::Url) {
        let host = u.host_str().unwrap_or("").to_ascii_lowercase();
        let secure_ctx = u.scheme() == "https" || util::is_loopback(&host);
        let req = e.request();
        let at = e.started_ms();
        // Requests: which tracked cookies came back?
        let cookie_header = req
            .headers()
            .get_all("cookie")
            .collect::<Vec<_>>()
            .join("; ");
        let status = e.response().status().unwrap_or(0);
        if !cookie_header.is_empty() && status > 0 {
            let names: Vec<&str> = cookie_header
                .split(';')
                .filter_map(|p| p.split_once('=').map(|(n, _)| n.trim()))
                .collect();
            let cross_site = req
                .headers()
                .get("sec-fetch-site")
                .is_some_and(|s| s.eq_ignore_ascii_case("cross-site"));
            let path = u.path().to_string();
            for c in self.cookies.iter_mut() {
                let applies_host = match &c.domain {
                    Some(d) => domain_match(&host, d),
                    None => host == c.host,
                };
                if !applies_host || Some(e.index) <= Some(c.set_at) {
                    continue;
                }
                if names.contains(&c.name.as_str()) {
                    c.sent = true;
                    continue;
                }
                if cross_site && c.same_site.as_deref() != Some("none") {
                    continue; // SameSite working as intended
                }
                let reason = if let Some(r) = &c.rejected {
                    r.clone()
                } else if c.secure && u.scheme() != "https" && !util::is_loopback(&host) {
                    "it is Secure and this request is plain http".into()
                } else if !path_match(&path, &c.path) {
                    format!("its Path={} does not cover {path}", c.path)
                } else if let (Some(exp), Some(at)) = (c.expires_ms, at) {
                    if exp < at {
                        format!("it expired at {}", util::iso(exp))
                    } else {
                        "the browser did not keep it".into()
                    }
                } else {
                    "the browser did not keep it".into()
                };
                c.missing.add(e.index);
                c.missing_reason.get_or_insert(reason);
            }
        }
        // Responses: Set-Cookie.
        for sc in e.response().headers().get_all("set-cookie") {
            for line in sc.split('\n') {
                let Some(c) = parse_set_cookie(line) else {
                    continue;
                };
                let deleted = c.max_age.is_some_and(|m| m <= 0.0)
                    || (c.max_age.is_none()
                        && c.expires.zip(at).is_some_and(|(x, a)| x < a - 1000.0));
                let cookie_host = c.domain.clone();
                self.cookies.retain(|t| {
                    !(t.name == c.name
                        && t.domain == cookie_host
                        && (cookie_host.is_some() || t.host == host))
                });
                if deleted {
                    continue;
                }
                let mut rejected = None;
                let ss = c.same_site.as_deref();
                if ss == Some("none") && !c.secure {
                    rejected = Some("SameSite=None without Secure: Chrome rejects it".to_string());
                } else if c.secure && !secure_ctx {
                    rejected = Some("Secure cookie set over plain http: browsers reject it".into());
                } else if let Some(d) = &c.domain {
                    if !domain_match(&host, d) {
                        rejected = Some(format!(
                            "Domain={d} does not match the host {host}: the browser rejects it"
                        ));
                    }
                }
                if c.name.starts_with("__Host-")
                    && (c.domain.is_some() || !c.secure || c.path.as_deref() != Some("/"))
                {
                    rejected = Some(
                        "__Host- cookie without Secure, with a Domain, or not Path=/: rejected"
                            .into(),
                    );
                } else if c.name.starts_with("__Secure-") && !c.secure {
                    rejected = Some("__Secure- cookie without Secure: rejected".into());
                }
                if c.len > 4096 {
                    rejected = Some(format!(
                        "{} bytes, over the 4096-byte limit: dropped",
                        c.len
                    ));
                }
                let _ = c.value_len;
                if self.cookies.len() >= MAX_COOKIES {
                    self.capped.cookies += 1;
                    continue;
                }
                self.cookies.push(TrackedCookie {
                    name: c.name,
                    host: host.clone(),
                    domain: c.domain,
                    path: c.path.unwrap_or_else(|| default_path(u)),
                    secure: c.secure,
                    same_site: c.same_site,
                    expires_ms: c
                        .max_age
                        .and_then(|m| at.map(|a| a + m * 1000.0))
                        .or(c.expires),
                    set_at: e.index,
                    set_ms: at,
                    rejected,
                    sent: false,
                    missing: Examples::default(),
                    missing_reason: None,
                });
            }
        }
    }

    /// The limits reached, in words.
    pub fn caps(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.capped.cookies > 0 {
            out.push(format!(
                "cookies: only the first {MAX_COOKIES} live cookies are tracked; {} later Set-Cookie not checked",
                self.capped.cookies
            ));
        }
        if self.capped.tokens {
            out.push(format!(
                "access tokens: only the first {MAX_TOKENS} are tied to their flows"
            ));
        }
        if self.capped.codes {
            out.push(format!(
                "authorization codes: only the first {MAX_TOKENS} redemptions are remembered"
            ));
        }
        if self.capped.hosts {
            out.push(format!(
                "clock skew: only the first {MAX_HOSTS} hosts are compared"
            ));
        }
        if self.flows_dropped > 0 {
            out.push(format!(
                "flows: only the first {MAX_FLOWS} are kept; {} more counted",
                self.flows_dropped
            ));
        }
        out
    }

    pub fn finish(mut self) -> (Vec<Finding>, Vec<Flow>, usize) {
        // Cookies that never came back.
        for c in std::mem::take(&mut self.cookies) {
            if c.sent {
                continue;
            }
            if c.missing.is_empty() && c.rejected.is_none() {
                continue;
            }
            let mut ents = vec![c.set_at];
            ents.extend(c.missing.list.iter().copied());
            let (code, title) = if c.missing.is_empty() {
                (
                    "cookie-rejected",
                    format!("Cookie `{}` is rejected by the browser", c.name),
                )
            } else {
                (
                    "cookie-not-sent",
                    format!("Cookie `{}` set but never sent back", c.name),
                )
            };
            let detail = if c.missing.is_empty() {
                format!(
                    "Set by entry {} ({}): {}.",
                    c.set_at,
                    c.host,
                    c.rejected.clone().unwrap_or_default()
                )
            } else {
                format!(
                    "Set by entry {} on {}, then missing from {} later request{} to that host that carried other cookies (first: entry {}). Likely because {}.",
                    c.set_at,
                    c.host,
                    c.missing.count,
                    if c.missing.count == 1 { "" } else { "s" },
                    c.missing.list.first().copied().unwrap_or(0),
                    c.missing_reason.clone().unwrap_or_default()
                )
            };
            let _ = c.set_ms;
            // Each cookie is its own finding (bounded by MAX_COOKIES, few in practice).
            let mut examples = Examples::default();
            for i in ents {
                examples.add(i);
            }
            examples.count = examples.count.max(1 + c.missing.count);
            self.findings.push((
                code,
                Acc {
                    severity: Severity::Warning,
                    title,
                    detail,
                    advice: "A session or CSRF cookie that is not sent back breaks the login (loops, `state` or CSRF errors): cookies sent cross-site need `SameSite=None; Secure` over https; Secure needs https; Domain must match the host; Path must cover the URLs that need it.",
                    examples,
                },
            ));
        }
        // Clock skew per host.
        let mut hosts: Vec<_> = std::mem::take(&mut self.skew).into_iter().collect();
        hosts.sort_by(|a, b| a.0.cmp(&b.0));
        for (host, (min, max, first, n)) in hosts {
            let skew = if min > SKEW_MS {
                min
            } else if max < -SKEW_MS {
                max
            } else {
                continue;
            };
            self.note("clock-skew", Severity::Warning, &[first], || {
                (
                    "Clock skew between the server and the client".into(),
                    format!(
                        "{host}'s Date headers are {} {} the client's clock ({n} responses).",
                        human_ms(skew.abs()),
                        if skew > 0.0 { "ahead of" } else { "behind" }
                    ),
                    "Token lifetimes (exp, nbf, iat) and cookie expiry are judged by clocks: synchronise them (NTP). A wrong client clock makes fresh tokens look expired.",
                )
            });
        }
        let findings = self
            .findings
            .into_iter()
            .map(|(code, a)| Finding {
                code,
                severity: a.severity,
                title: a.title,
                detail: a.detail,
                advice: a.advice.into(),
                entries: a.examples.list,
                count: a.examples.count,
            })
            .collect();
        (findings, self.flows, self.flows_dropped)
    }
}

fn decode_saml(v: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.trim().replace(['\n', '\r', ' '], ""))
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The top-level `StatusCode Value` of a SAML response.
fn saml_status(xml: &str) -> Option<String> {
    let at = xml.find("StatusCode")?;
    let rest = &xml[at..];
    let v = rest.find("Value=\"")?;
    let rest = &rest[v + 7..];
    Some(rest[..rest.find('"')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_parsing_and_matching() {
        let c = parse_set_cookie(
            "a=b; Path=/x; Domain=.Example.com; Secure; SameSite=None; Max-Age=10",
        )
        .unwrap();
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert!(c.secure);
        assert_eq!(c.same_site.as_deref(), Some("none"));
        assert!(domain_match("www.example.com", "example.com"));
        assert!(!domain_match("badexample.com", "example.com"));
        assert!(path_match("/x/y", "/x"));
        assert!(!path_match("/xy", "/x"));
        let xml = r#"<samlp:Response><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/></samlp:Status></samlp:Response>"#;
        assert_eq!(
            saml_status(xml).unwrap(),
            "urn:oasis:names:tc:SAML:2.0:status:Responder"
        );
    }
}
