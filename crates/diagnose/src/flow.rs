//! A sign-in flow as the diagnosis rebuilds it: its protocol, steps, tokens, outcome
//! and problems (built by [`crate::rules::flows`]).

use crate::util::fingerprint;
use har::Entry;
use serde::Serialize;
use std::fmt;

/// Steps kept per flow.
const MAX_STEPS: usize = 40;

/// An enum written as the lowercase word it serialises to.
macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v,)*
        }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s,)*
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

words! {
    /// The sign-in protocol.
    Protocol {
        OAuth2 = "oauth2",
        Oidc = "oidc",
        Saml = "saml",
    }
}

words! {
    /// How a flow ended.
    Outcome {
        Ok = "ok",
        Failed = "failed",
        /// Not seen to the end.
        Incomplete = "incomplete",
    }
}

words! {
    /// What one request of a flow is.
    StepKind {
        /// Credentials posted to a login form.
        Login = "login",
        Authorize = "authorize",
        Callback = "callback",
        Token = "token",
        /// A request made with the flow's access token.
        Api = "api",
        SamlRequest = "saml-request",
        SamlResponse = "saml-response",
    }
}

/// One request of a flow.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Step {
    pub kind: StepKind,
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
    pub protocol: Protocol,
    pub outcome: Outcome,
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
    /// What an incomplete flow lacks, in words (steps the file does not hold).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    #[serde(skip)]
    pub(crate) st: FlowState,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FlowState {
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) redirect_base: Option<String>,
    pub(crate) code: Option<u64>,
    pub(crate) callback_done: bool,
    pub(crate) token_done: bool,
    pub(crate) failed: bool,
    pub(crate) page: Option<String>,
}

impl Flow {
    pub(crate) fn new(protocol: Protocol) -> Flow {
        Flow {
            protocol,
            outcome: Outcome::Incomplete,
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
            missing: Vec::new(),
            st: FlowState::default(),
        }
    }
    pub(crate) fn step(&mut self, kind: StepKind, e: &Entry, detail: String) {
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
    pub(crate) fn problem(&mut self, code: &'static str) {
        if !self.problems.contains(&code) {
            self.problems.push(code);
        }
        self.st.failed = true;
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

/// What a flow shows of a decoded JWT: its header's alg/typ/kid/cty, the registered
/// claims (a nonce only fingerprinted), and the names of the others.
pub(crate) fn token_info(name: &str, index: usize, jwt: &jwt::Jwt<'_>) -> TokenInfo {
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
