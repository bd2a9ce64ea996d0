//! What the fold reports: endpoints with their parameters, findings, the recording's
//! quality.

use crate::acc::Acc;
use crate::sample::{Auth, Loc};
use crate::shape::{self, Seg};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One passive finding: the first exchange that shows it, and how many do.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub detail: String,
    pub method: String,
    pub url: String,
    /// The entry's index and first line in the HAR file.
    pub entry: usize,
    pub line: u64,
    pub column: u64,
    /// Host + method + path with id-shaped segments templated: with rule and detail, a
    /// stable fingerprint.
    pub location: String,
    pub count: u32,
}

/// One endpoint of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub method: String,
    pub path: String,
    /// `api` (what a client program calls: listed in OpenAPI `paths`) or `page` (page
    /// loads of HTML documents: in the table only).
    pub kind: &'static str,
    /// The GraphQL operation (`query GetUser`) or JSON-RPC method (`rpc user.get`)
    /// this row is, under its HTTP path.
    pub operation: Option<String>,
    /// Why each path parameter was made (`--explain`).
    pub why: Vec<String>,
    pub samples: u32,
    pub statuses: BTreeMap<i64, u32>,
    pub response_types: Vec<String>,
    pub request_types: Vec<String>,
    pub params: Vec<Param>,
    pub auth: Vec<Auth>,
    /// Samples sent without any credentials.
    pub unauthenticated: u32,
    /// Of those, answered 401 or 403.
    pub denied_without_auth: u32,
    #[serde(skip)]
    pub segs: Vec<Seg>,
    #[serde(skip)]
    pub acc: Acc,
}

#[derive(Clone, Debug, Serialize)]
pub struct Param {
    #[serde(rename = "in")]
    pub loc: Loc,
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub format: Option<String>,
    pub required: bool,
    pub example: Option<String>,
}

/// How good the recording is for a scan.
#[derive(Clone, Debug, Serialize)]
pub struct Quality {
    pub authenticated_requests: u32,
    pub methods: BTreeMap<String, u32>,
    pub form_bodies: u32,
    pub json_bodies: u32,
    pub multipart_bodies: u32,
    pub endpoints_seen_once: usize,
    /// One line per weakness; empty when the recording looks complete.
    pub advice: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub entries: u64,
    pub scope: Vec<String>,
    pub third_party: BTreeMap<String, u32>,
    pub static_assets: u32,
    pub endpoints: Vec<Endpoint>,
    pub quality: Quality,
    /// Samples not kept because [`MAX_ENDPOINTS`](crate::MAX_ENDPOINTS) was reached.
    pub dropped: u64,
    /// Passive findings on hosts in scope, by rule.
    pub findings: Vec<Finding>,
    /// Findings not kept because [`MAX_FINDINGS`](crate::MAX_FINDINGS) was reached.
    pub findings_dropped: u64,
    /// Endpoints by (host, method, number of segments), for [`Report::template_for`].
    #[serde(skip)]
    pub(crate) index: std::sync::OnceLock<HashMap<(String, String, usize), Vec<usize>>>,
}

impl Report {
    /// The templated path of the endpoint that a request of `method` to `url` belongs
    /// to (`/api/users/{userId}`), after a first pass has built this report; `None`
    /// when no endpoint of that method, host and path was recorded (or the URL does not
    /// parse). The most literal match wins (`/articles/trending` over
    /// `/articles/{articleSlug}`). For hark's other commands that pair or group requests
    /// (mock, diff, export): one home for "which endpoint is this".
    pub fn template_for(&self, method: &str, url: &str) -> Option<String> {
        let u = url::Url::parse(url).ok()?;
        let host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return None,
        };
        let segs: Vec<String> = u
            .path()
            .split('/')
            .filter(|x| !x.is_empty())
            .map(|x| har::pct::decode_lossy(x, true))
            .collect();
        let index = self.index.get_or_init(|| {
            let mut m: HashMap<(String, String, usize), Vec<usize>> = HashMap::new();
            for (i, e) in self.endpoints.iter().enumerate() {
                m.entry((e.host.clone(), e.method.clone(), e.segs.len()))
                    .or_default()
                    .push(i);
            }
            m
        });
        let cands = index.get(&(host, method.to_ascii_uppercase(), segs.len()))?;
        let mut best: Option<(Vec<bool>, &Endpoint)> = None;
        for &i in cands {
            let e = &self.endpoints[i];
            let mut lits = Vec::with_capacity(segs.len());
            let fits = e.segs.iter().zip(&segs).all(|(t, v)| match t {
                Seg::Lit(w) => {
                    lits.push(true);
                    w == v
                }
                Seg::Param(sh) => {
                    lits.push(false);
                    matches!(
                        sh,
                        shape::Shape::Word | shape::Shape::Slug | shape::Shape::Locale
                    ) || shape::shape(v) == Some(*sh)
                }
            });
            if fits && best.as_ref().is_none_or(|(b, _)| lits > *b) {
                best = Some((lits, e));
            }
        }
        best.map(|(_, e)| e.path.clone())
    }
}

pub(crate) fn endpoint(
    host: String,
    method: String,
    segs: Vec<Seg>,
    operation: Option<String>,
    a: Acc,
) -> Endpoint {
    let names = shape::param_names(&segs);
    let mut params = Vec::new();
    let mut why = Vec::new();
    let mut k = 0;
    for (i, s) in segs.iter().enumerate() {
        if let Seg::Param(sh) = s {
            let reason = match (a.why.get(&i), sh) {
                (Some(w), _) => w.clone(),
                (None, shape::Shape::Word | shape::Shape::Slug | shape::Shape::Locale) => {
                    "pinned by a template".into()
                }
                (None, sh) => format!(
                    "values look like {} ({})",
                    sh.describe(),
                    a.path_examples.get(&i).map_or("", String::as_str)
                ),
            };
            why.push(format!("{{{}}}: {reason}", names[k]));
            let (ty, format) = sh.openapi();
            params.push(Param {
                loc: Loc::Path,
                name: names[k].clone(),
                ty: ty.into(),
                format: format.map(Into::into),
                required: true,
                example: a.path_examples.get(&i).cloned(),
            });
            k += 1;
        }
    }
    for ((loc, name), st) in &a.params {
        params.push(Param {
            loc: *loc,
            name: name.clone(),
            ty: st.types.iter().cloned().collect::<Vec<_>>().join("|"),
            format: st.format.clone(),
            required: st.seen >= a.count,
            example: st.example.clone(),
        });
    }
    if let Some(j) = &a.request_json {
        let mut f = Vec::new();
        j.fields("", &mut f);
        for (name, s, req) in f {
            params.push(Param {
                loc: Loc::Json,
                name,
                ty: s.type_text(),
                format: s.format.map(Into::into),
                required: req && j.seen >= a.count,
                example: s.example.clone(),
            });
        }
    }
    let kind = if a.documents * 2 > a.count && matches!(method.as_str(), "GET" | "HEAD") {
        "page"
    } else {
        "api"
    };
    Endpoint {
        path: shape::template(&segs),
        kind,
        operation,
        why,
        host,
        method,
        samples: a.count,
        statuses: a.statuses.clone(),
        response_types: a.response_types.keys().cloned().collect(),
        request_types: a.request_types.keys().cloned().collect(),
        params,
        auth: a.auth.keys().cloned().collect(),
        unauthenticated: a.unauthenticated,
        denied_without_auth: a.denied_without_auth,
        segs,
        acc: a,
    }
}
