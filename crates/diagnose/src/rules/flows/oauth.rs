//! The OAuth 2.0 / OpenID Connect steps of a flow: the authorization request, the
//! callback and the token request, each checked against what came before.

use super::{json_body, Flows, MAX_TOKENS};
use crate::flow::{token_info, Flow, Outcome, Protocol, StepKind};
use crate::rules::clock_skew::SKEW_MS;
use crate::rules::Findings;
use crate::util::{self, fingerprint, hash, human_ms};
use har::{Entry, Severity};

impl Flows {
    pub(super) fn authorize(&mut self, e: &Entry, q: &[(String, String)], noted: &mut Findings) {
        let get = |k: &str| util::get(q, k).map(str::to_string);
        let scope = get("scope");
        let response_type = get("response_type");
        let oidc = scope
            .as_deref()
            .is_some_and(|s| s.split([' ', '+']).any(|x| x == "openid"))
            || response_type
                .as_deref()
                .is_some_and(|r| r.contains("id_token"));
        let mut f = Flow::new(if oidc {
            Protocol::Oidc
        } else {
            Protocol::OAuth2
        });
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
        f.step(StepKind::Authorize, e, detail);
        let code_flow = response_type
            .as_deref()
            .is_some_and(|r| r.split(' ').any(|x| x == "code"));
        let implicit_id = response_type
            .as_deref()
            .is_some_and(|r| r.contains("id_token"));
        let i = e.index;
        if !f.state {
            f.problems.push("oauth-no-state");
            noted.note("oauth-no-state", Severity::Warning, &[i], || {
                (
                    "Authorization request without `state`".into(),
                    "The authorize request carries no state parameter, so the callback cannot be tied to it (CSRF).".into(),
                    "Send a random, unguessable state with every authorization request and check it on the callback.",
                )
            });
        }
        if code_flow && f.pkce.is_none() {
            f.problems.push("oauth-no-pkce");
            noted.note("oauth-no-pkce", Severity::Warning, &[i], || {
                (
                    "Authorization code flow without PKCE".into(),
                    "No code_challenge on the authorize request: an intercepted code can be redeemed by someone else. OAuth 2.1 and the current BCP require PKCE.".into(),
                    "Use PKCE (code_challenge_method=S256) and send the code_verifier to the token endpoint.",
                )
            });
        } else if f.pkce.as_deref() == Some("plain") {
            f.problems.push("oauth-pkce-plain");
            noted.note("oauth-pkce-plain", Severity::Info, &[i], || {
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
            noted.note("oidc-no-nonce", sev, &[i], || {
                (
                    "OpenID Connect request without `nonce`".into(),
                    "The authorize request asks for OpenID Connect but sends no nonce, so an ID token cannot be bound to this session (required for implicit/hybrid flows).".into(),
                    "Send a random nonce and check the ID token's nonce claim against it.",
                )
            });
        }
        self.new_flow(f);
    }

    pub(super) fn callback(
        &mut self,
        e: &Entry,
        params: &[(String, String)],
        matching: Option<usize>,
        noted: &mut Findings,
    ) {
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
                let mut f = Flow::new(Protocol::OAuth2);
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
        f.step(StepKind::Callback, e, detail.join(", "));
        if !reload {
            f.st.callback_done = true;
            f.st.code = code_h;
        }
        let expected = f.st.state.clone();
        let had_authorize = f.steps.iter().any(|s| s.kind == StepKind::Authorize);
        if let Some(err) = error {
            f.problem("oauth-callback-error");
            f.outcome = Outcome::Failed;
            let desc = util::get(params, "error_description").map(|d| util::clip(d, 200));
            let err = err.to_string();
            noted.note("oauth-callback-error", Severity::Error, &[i], || {
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
                f.outcome = Outcome::Failed;
                let authorize_at = f
                    .steps
                    .iter()
                    .find(|s| s.kind == StepKind::Authorize)
                    .map(|s| s.index)
                    .unwrap_or(i);
                let sent = expected.as_deref().map(fingerprint).unwrap_or_default();
                let got = state.map(fingerprint).unwrap_or_else(|| "none".into());
                noted.note("oauth-state-mismatch", Severity::Error, &[authorize_at, i], || {
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

    pub(super) fn token(
        &mut self,
        e: &Entry,
        form: &[(String, String)],
        cors_failed: bool,
        noted: &mut Findings,
    ) {
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
                        && f.protocol != Protocol::Saml
                        && (client_id.is_none() || f.client_id == client_id)
                })
            });
        let k = match k {
            Some(k) => Some(k),
            None => {
                let mut f = Flow::new(Protocol::OAuth2);
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
        f.step(StepKind::Token, e, detail.join(" "));
        f.st.token_done = true;
        let flow_redirect = f.redirect_uri.clone();
        let pkce = f.pkce.is_some();
        let nonce = f.st.nonce.clone();
        let authorize_at = f
            .steps
            .iter()
            .find(|s| s.kind == StepKind::Authorize)
            .map(|s| s.index);

        if status <= 0 && cors_failed {
            f.problem("oauth-token-cors");
            f.outcome = Outcome::Failed;
            let u = check::redact_query(e.request().url().unwrap_or(""));
            noted.note("oauth-token-cors", Severity::Error, &[i], || {
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
            f.outcome = Outcome::Failed;
            let earlier = code_h.and_then(|h| self.redeemed.get(&h).copied());
            let mut ents = vec![i];
            if let Some(j) = earlier {
                ents.insert(0, j);
            }
            noted.note("oauth-token-error", Severity::Error, &ents, || {
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
            let signed_in = self.flows.iter().any(|f| {
                f.steps.iter().any(|s| {
                    matches!(
                        s.kind,
                        StepKind::Authorize | StepKind::Login | StepKind::Callback
                    )
                })
            });
            let f = &mut self.flows[k];
            let seen = |kind: StepKind| f.steps.iter().any(|s| s.kind == kind);
            // A grant whose start is not in the file: the log was not preserved (or
            // the sign-in ran where the recorder did not see it).
            let missing = match grant.as_str() {
                "authorization_code" if !seen(StepKind::Authorize) => {
                    Some(if seen(StepKind::Callback) {
                        "the authorize request that started the sign-in (and any login before it) is not in the file: the recording starts at the callback (the log was not preserved across the sign-in redirects, or the sign-in ran where the recorder did not see it)"
                    } else {
                        "the authorize request and the callback that produced the code are not in the file (the log was not preserved across the sign-in redirects)"
                    })
                }
                "refresh_token" if !signed_in => {
                    Some("the sign-in that issued the refresh token is not in the file")
                }
                _ => None,
            };
            if let Some(m) = missing {
                f.missing.push(m.to_string());
            }
            if f.st.failed {
                // An earlier problem stays the outcome.
            } else if missing.is_some() {
                f.outcome = Outcome::Incomplete;
            } else {
                f.outcome = Outcome::Ok;
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
                            self.capped_tokens = true;
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
                                    noted.note("oidc-nonce-mismatch", Severity::Error, &[i], || {
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
                                    noted.note("clock-skew", Severity::Warning, &[i], || {
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
                    self.capped_codes = true;
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
                noted.note("oauth-redirect-uri-mismatch", Severity::Error, &ents, || {
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
            noted.note("oauth-pkce-no-verifier", Severity::Error, &[i], || {
                (
                    "PKCE code_verifier missing from the token request".into(),
                    "The authorize request sent a code_challenge but the token request has no code_verifier.".into(),
                    "Keep the verifier (e.g. in sessionStorage) across the redirect and send it with the code.",
                )
            });
        }
    }
}
