//! What the fold reports: endpoints with their parameters, findings, the recording's
//! quality.

use crate::acc::Acc;
use crate::sample::{Auth, Loc};
use crate::shape::{self, Seg};
use serde::Serialize;
use std::collections::BTreeMap;

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
}

pub(crate) fn endpoint(host: String, method: String, segs: Vec<Seg>, a: Acc) -> Endpoint {
    let names = shape::param_names(&segs);
    let mut params = Vec::new();
    let mut k = 0;
    for (i, s) in segs.iter().enumerate() {
        if let Seg::Param(sh) = s {
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
    Endpoint {
        path: shape::template(&segs),
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
