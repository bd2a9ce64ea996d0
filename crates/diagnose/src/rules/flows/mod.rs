//! Sign-in flows rebuilt from the requests — OAuth 2.0 and OpenID Connect (login →
//! authorize → callback → token → API) and SAML (AuthnRequest → response) — and the
//! problems seen on the way: `error=` on the callback, `state` or `redirect_uri`
//! mismatches, missing PKCE or nonce, failed token requests, a token endpoint blocked
//! by CORS. The OAuth steps are in `oauth.rs`.

use super::{Context, Findings, Rule};
use crate::flow::{Flow, Outcome, Protocol, Step, StepKind};
use crate::util::{self, hash};
use crate::Digest;
use har::{Entry, Severity};
use std::collections::HashMap;

mod oauth;

/// Flows kept in full; more are counted.
pub const MAX_FLOWS: usize = 50;
/// API requests shown as steps of a flow (all are counted).
const MAX_API_STEPS: usize = 5;
/// Access tokens tied to their flows, and authorization codes remembered.
const MAX_TOKENS: usize = 500;

#[derive(Default)]
pub struct Flows {
    flows: Vec<Flow>,
    flows_dropped: usize,
    /// A login post not yet tied to a flow (its page, its step).
    pending_login: Option<(Option<String>, Step)>,
    /// Access-token hashes → flow.
    tokens: HashMap<u64, usize>,
    /// Authorization-code hashes → the token request that redeemed it.
    redeemed: HashMap<u64, usize>,
    capped_tokens: bool,
    capped_codes: bool,
}

impl Rule for Flows {
    fn entry(&mut self, d: &Digest, cx: &mut Context<'_>) {
        let noted = &mut *cx.noted;
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

        // SAML.
        let saml_req = util::get(&q, "SAMLRequest").or(util::get(&form, "SAMLRequest"));
        let saml_resp = util::get(&form, "SAMLResponse").or(util::get(&q, "SAMLResponse"));
        if saml_req.is_some() {
            let mut f = Flow::new(Protocol::Saml);
            f.st.page = e.pageref().map(str::to_string);
            f.step(
                StepKind::SamlRequest,
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
                .rposition(|f| f.protocol == Protocol::Saml && !f.st.callback_done);
            let k = match k {
                Some(k) => Some(k),
                None => self.new_flow(Flow::new(Protocol::Saml)),
            };
            let ok = status_code
                .as_deref()
                .is_none_or(|s| s.ends_with(":Success"));
            if let Some(k) = k {
                let f = &mut self.flows[k];
                f.st.callback_done = true;
                f.step(
                    StepKind::SamlResponse,
                    e,
                    format!(
                        "SAMLResponse to the ACS, status {}",
                        status_code.as_deref().unwrap_or("unknown (not decodable)")
                    ),
                );
                f.outcome = if ok { Outcome::Ok } else { Outcome::Failed };
                if !ok {
                    f.problem("saml-error");
                }
            }
            if !ok {
                let sc = status_code.unwrap_or_default();
                noted.note("saml-error", Severity::Error, &[e.index], || {
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
                    && f.protocol != Protocol::Saml
                    && f.steps.iter().any(|s| s.kind == StepKind::Authorize)
            });
            match open {
                Some(k) if self.flows[k].st.page.as_deref() == e.pageref() => {
                    self.flows[k].step(StepKind::Login, e, detail)
                }
                _ => {
                    let mut f = Flow::new(Protocol::OAuth2);
                    f.step(StepKind::Login, e, detail);
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
            self.authorize(e, &q, noted);
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
                f.st.redirect_base.as_deref() == Some(base.as_str()) && f.protocol != Protocol::Saml
            });
            if matching.is_some() || has_state {
                self.callback(e, params, matching, noted);
                return;
            }
        }

        // Token.
        let grant = util::get(&form, "grant_type");
        if method == "POST" && (grant.is_some() || path_l.ends_with("/token")) {
            self.token(e, &form, cx.cors_failed, noted);
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
                    f.step(StepKind::Api, e, detail);
                }
            }
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        if self.capped_tokens {
            out.cap(format!(
                "access tokens: only the first {MAX_TOKENS} are tied to their flows"
            ));
        }
        if self.capped_codes {
            out.cap(format!(
                "authorization codes: only the first {MAX_TOKENS} redemptions are remembered"
            ));
        }
        out.flows = self.flows;
        out.flows_not_shown = self.flows_dropped;
    }
}

impl Flows {
    fn new_flow(&mut self, f: Flow) -> Option<usize> {
        if self.flows.len() >= MAX_FLOWS {
            self.flows_dropped += 1;
            return None;
        }
        self.flows.push(f);
        Some(self.flows.len() - 1)
    }
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

fn decode_saml(v: &str) -> Option<String> {
    String::from_utf8(har::http::base64_bytes(v)?).ok()
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
    fn saml_status_codes() {
        let xml = r#"<samlp:Response><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/></samlp:Status></samlp:Response>"#;
        assert_eq!(
            saml_status(xml).unwrap(),
            "urn:oasis:names:tc:SAML:2.0:status:Responder"
        );
    }
}
