//! One endpoint's samples folded: counts, statuses, types, parameters, auth, schemas.

use crate::sample::{Auth, Loc, Sample};
use crate::schema::Schema;
use crate::MAX_PARAMS;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What one parameter looked like across samples.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ParamStat {
    pub seen: u32,
    pub types: BTreeSet<String>,
    pub format: Option<String>,
    pub example: Option<String>,
}

/// One endpoint as folded so far.
#[derive(Clone, Debug, Default)]
pub struct Acc {
    pub count: u32,
    pub statuses: BTreeMap<i64, u32>,
    pub response_types: BTreeMap<String, u32>,
    pub request_types: BTreeMap<String, u32>,
    pub params: BTreeMap<(Loc, String), ParamStat>,
    /// Examples of each path parameter, by segment position.
    pub path_examples: BTreeMap<usize, String>,
    pub auth: BTreeMap<Auth, u32>,
    /// The credentials sent together, by combination (OpenAPI security requirements).
    pub auth_sets: BTreeMap<Vec<Auth>, u32>,
    pub unauthenticated: u32,
    pub denied_without_auth: u32,
    pub request_json: Option<Schema>,
    /// Response JSON schemas by status.
    pub response_json: BTreeMap<i64, Schema>,
    pub schemes: BTreeSet<String>,
    /// The response shapes seen (at most 16).
    pub shapes: BTreeSet<u64>,
    /// Samples that were page loads (HTML documents).
    pub documents: u32,
    /// Why each path parameter (by position) was made from words, for `--explain`.
    pub why: BTreeMap<usize, String>,
}

/// The most response shapes kept per endpoint.
pub const MAX_SHAPES: usize = 16;

impl Acc {
    pub(crate) fn add(&mut self, s: Sample) {
        self.count += 1;
        self.schemes.insert(s.scheme.clone());
        if self.shapes.len() < MAX_SHAPES {
            self.shapes.insert(s.response_shape);
        }
        if s.document || s.response_type.as_deref() == Some("text/html") && s.method == "GET" {
            self.documents += 1;
        }
        if let Some(st) = s.status {
            *self.statuses.entry(st).or_default() += 1;
        }
        if let Some(t) = s.response_type {
            *self.response_types.entry(t).or_default() += 1;
        }
        if let Some(t) = s.request_type {
            *self.request_types.entry(t).or_default() += 1;
        }
        for (i, seg) in s.segments.iter().enumerate() {
            if crate::sample::may_be_param(seg) {
                let ex = s.segment_examples.get(i).unwrap_or(seg);
                self.path_examples.entry(i).or_insert_with(|| ex.clone());
            }
        }
        for p in s.params {
            let key = (p.loc, p.name);
            if !self.params.contains_key(&key) && self.params.len() >= MAX_PARAMS {
                continue;
            }
            let st = self.params.entry(key).or_default();
            st.seen += 1;
            st.types.insert(p.ty.to_string());
            if st.seen == 1 {
                st.format = p.format.map(str::to_string);
            } else if st.format.as_deref() != p.format {
                st.format = None;
            }
            if st.example.is_none() {
                st.example = p.example;
            }
        }
        if s.auth.is_empty() {
            self.unauthenticated += 1;
            if matches!(s.status, Some(401 | 403)) {
                self.denied_without_auth += 1;
            }
        }
        if !s.auth.is_empty() && (self.auth_sets.len() < 16 || self.auth_sets.contains_key(&s.auth))
        {
            *self.auth_sets.entry(s.auth.clone()).or_default() += 1;
        }
        for a in s.auth {
            *self.auth.entry(a).or_default() += 1;
        }
        if let Some(j) = s.request_json {
            match &mut self.request_json {
                Some(m) => m.merge(j),
                None => self.request_json = Some(j),
            }
        }
        if let (Some(st), Some(j)) = (s.status, s.response_json) {
            match self.response_json.get_mut(&st) {
                Some(m) => m.merge(j),
                None => {
                    self.response_json.insert(st, j);
                }
            }
        }
    }

    pub(crate) fn merge(&mut self, o: Acc) {
        self.count += o.count;
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in o.response_types {
            *self.response_types.entry(k).or_default() += v;
        }
        for (k, v) in o.request_types {
            *self.request_types.entry(k).or_default() += v;
        }
        for (k, v) in o.params {
            match self.params.get_mut(&k) {
                Some(m) => {
                    m.seen += v.seen;
                    m.types.extend(v.types);
                    if m.format != v.format {
                        m.format = None;
                    }
                    if m.example.is_none() {
                        m.example = v.example;
                    }
                }
                None => {
                    self.params.insert(k, v);
                }
            }
        }
        for (k, v) in o.path_examples {
            self.path_examples.entry(k).or_insert(v);
        }
        for (k, v) in o.auth {
            *self.auth.entry(k).or_default() += v;
        }
        for (k, v) in o.auth_sets {
            if self.auth_sets.len() < 16 || self.auth_sets.contains_key(&k) {
                *self.auth_sets.entry(k).or_default() += v;
            }
        }
        self.unauthenticated += o.unauthenticated;
        self.denied_without_auth += o.denied_without_auth;
        if let Some(j) = o.request_json {
            match &mut self.request_json {
                Some(m) => m.merge(j),
                None => self.request_json = Some(j),
            }
        }
        for (st, j) in o.response_json {
            match self.response_json.get_mut(&st) {
                Some(m) => m.merge(j),
                None => {
                    self.response_json.insert(st, j);
                }
            }
        }
        self.schemes.extend(o.schemes);
        for x in o.shapes {
            if self.shapes.len() < MAX_SHAPES {
                self.shapes.insert(x);
            }
        }
        self.documents += o.documents;
        for (k, v) in o.why {
            self.why.entry(k).or_insert(v);
        }
    }
}
