//! The attack surface of an application from a HAR recording: hosts in scope,
//! endpoints with templated paths (`GET /api/users/{userId}`), their parameters by
//! location, auth schemes, response codes and types, a recording-quality verdict, and
//! an OpenAPI 3.1 document.
//!
//! One streaming pass: workers turn each entry (a borrowed lite tree) into a small
//! [`Sample`]; the fold keys samples by host, method and a path whose id-shaped
//! segments are already templated, so its state grows with the number of endpoints,
//! not entries (and is capped, see [`MAX_ENDPOINTS`]). At the end, literal segments that
//! vary across many samples in the same place are merged into a parameter too.

pub mod openapi;
pub mod rules;
pub mod sample;
pub mod sarif;
pub mod schema;
pub mod shape;

use sample::{Auth, Loc, Sample};
use schema::Schema;
use serde::Serialize;
use shape::{Seg, Shape};
use std::collections::{BTreeMap, BTreeSet};

pub use sample::Cleaner;

/// The most endpoints kept (beyond, samples are counted in `dropped`).
pub const MAX_ENDPOINTS: usize = 5000;
/// The most parameters kept per endpoint.
pub const MAX_PARAMS: usize = 200;
/// Distinct words in one place of otherwise equal paths from which they are merged
/// into a parameter (`/u/alice`, `/u/bob`, …).
pub const WORD_VARIATION: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error("bad scope pattern {0:?}")]
    Scope(String),
}

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
    pub unauthenticated: u32,
    pub denied_without_auth: u32,
    pub request_json: Option<Schema>,
    /// Response JSON schemas by status.
    pub response_json: BTreeMap<i64, Schema>,
    pub schemes: BTreeSet<String>,
}

impl Acc {
    fn add(&mut self, s: Sample) {
        self.count += 1;
        self.schemes.insert(s.scheme.clone());
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
            if shape::shape(seg).is_some() {
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

    fn merge(&mut self, o: Acc) {
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
    }
}

type Key = (String, String, Vec<Seg>);

/// Which hosts are in scope (with no pattern: the hosts of the recorded documents, or
/// every host when no document was recorded).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Host names or globs (`*.example.com`); empty: the hosts of the recorded documents.
    pub patterns: Vec<String>,
}

fn glob(p: &str, s: &str) -> bool {
    let (p, s) = (p.to_ascii_lowercase(), s.to_ascii_lowercase());
    match p.split_once('*') {
        None => p == s,
        Some((a, b)) => s.len() >= a.len() + b.len() && s.starts_with(a) && s.ends_with(b),
    }
}

impl Scope {
    fn matches(&self, host: &str) -> bool {
        let bare = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        self.patterns.iter().any(|p| glob(p, host) || glob(p, bare))
    }
}

/// The most distinct findings kept (rule, host, method, path, detail).
pub const MAX_FINDINGS: usize = 2000;

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

/// The streaming fold.
#[derive(Default)]
pub struct Surface {
    scope: Scope,
    acc: BTreeMap<Key, Acc>,
    document_hosts: BTreeSet<String>,
    hosts: BTreeMap<String, u32>,
    static_assets: BTreeMap<String, u32>,
    entries: u64,
    dropped: u64,
    findings: BTreeMap<(&'static str, String, String), Finding>,
    findings_dropped: u64,
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
    /// Samples not kept because [`MAX_ENDPOINTS`] was reached.
    pub dropped: u64,
    /// Passive findings on hosts in scope, by rule.
    pub findings: Vec<Finding>,
    /// Findings not kept because [`MAX_FINDINGS`] was reached.
    pub findings_dropped: u64,
}

impl Surface {
    pub fn new(scope: Scope) -> Surface {
        Surface {
            scope,
            ..Surface::default()
        }
    }

    pub fn add(&mut self, mut s: Sample) {
        self.entries += 1;
        if s.host.is_empty() {
            return;
        }
        if s.document {
            self.document_hosts.insert(s.host.clone());
        }
        *self.hosts.entry(s.host.clone()).or_default() += 1;
        let hits = std::mem::take(&mut s.hits);
        if !hits.is_empty() {
            let tpl: Vec<String> = s
                .segments
                .iter()
                .map(|x| {
                    if shape::shape(x).is_some() {
                        "{}".to_string()
                    } else {
                        x.clone()
                    }
                })
                .collect();
            let location = format!("{} {}/{}", s.method, s.host, tpl.join("/"));
            for h in hits {
                let key = (h.rule, location.clone(), h.detail.clone());
                if let Some(f) = self.findings.get_mut(&key) {
                    f.count += 1;
                } else if self.findings.len() >= MAX_FINDINGS {
                    self.findings_dropped += 1;
                } else {
                    self.findings.insert(
                        key,
                        Finding {
                            rule: h.rule,
                            detail: h.detail,
                            method: s.method.clone(),
                            url: s.url.clone(),
                            entry: s.index,
                            line: s.line,
                            column: s.column,
                            location: location.clone(),
                            count: 1,
                        },
                    );
                }
            }
        }
        if s.static_asset {
            *self.static_assets.entry(s.host.clone()).or_default() += 1;
            return;
        }
        let segs: Vec<Seg> = s
            .segments
            .iter()
            .map(|x| match shape::shape(x) {
                Some(sh) => Seg::Param(sh),
                None => Seg::Lit(x.clone()),
            })
            .collect();
        let key = (s.host.clone(), s.method.clone(), segs);
        if !self.acc.contains_key(&key) && self.acc.len() >= MAX_ENDPOINTS {
            self.dropped += 1;
            return;
        }
        self.acc.entry(key).or_default().add(s);
    }

    pub fn finish(self) -> Report {
        let in_scope = |h: &str| {
            if self.scope.patterns.is_empty() {
                // No document recorded (an API client, a proxy capture): every host.
                self.document_hosts.contains(h) || self.document_hosts.is_empty()
            } else {
                self.scope.matches(h)
            }
        };
        let mut findings: Vec<Finding> = self
            .findings
            .into_values()
            .filter(|f| {
                let host = f.location.split_once(' ').map_or("", |x| x.1);
                in_scope(host.split('/').next().unwrap_or(""))
            })
            .collect();
        let order = |id: &str| rules::RULES.iter().position(|r| r.id == id);
        findings.sort_by_key(|f| (order(f.rule), f.entry));
        let mut acc: BTreeMap<Key, Acc> = BTreeMap::new();
        for (k, v) in self.acc {
            if in_scope(&k.0) {
                acc.insert(k, v);
            }
        }
        let acc = merge_words(acc);
        let mut methods: BTreeMap<String, u32> = BTreeMap::new();
        let (mut authed, mut form, mut json, mut multi) = (0, 0, 0, 0);
        let mut endpoints = Vec::new();
        for ((host, method, segs), a) in acc {
            *methods.entry(method.clone()).or_default() += a.count;
            authed += a.count - a.unauthenticated;
            json += a
                .request_types
                .iter()
                .filter(|(t, _)| t.contains("json"))
                .map(|x| x.1)
                .sum::<u32>();
            form += a
                .request_types
                .iter()
                .filter(|(t, _)| t.contains("x-www-form-urlencoded"))
                .map(|x| x.1)
                .sum::<u32>();
            multi += a
                .request_types
                .iter()
                .filter(|(t, _)| t.contains("multipart/"))
                .map(|x| x.1)
                .sum::<u32>();
            endpoints.push(endpoint(host, method, segs, a));
        }
        endpoints.sort_by(|a, b| (&a.host, &a.path, &a.method).cmp(&(&b.host, &b.path, &b.method)));
        let once = endpoints.iter().filter(|e| e.samples == 1).count();
        let mut advice = Vec::new();
        if endpoints.is_empty() {
            advice.push("no endpoint in scope was recorded (check --scope)".to_string());
        }
        if authed == 0 {
            advice.push("no authenticated requests: log in while recording".into());
        }
        if methods
            .keys()
            .all(|m| m == "GET" || m == "HEAD" || m == "OPTIONS")
        {
            advice.push("only GET requests: submit forms and use the app's actions".into());
        }
        if form + json + multi == 0 {
            advice.push("no form, JSON or multipart bodies were submitted".into());
        }
        if !endpoints.is_empty() && once * 2 > endpoints.len() {
            advice.push(format!(
                "{once} of {} endpoints were seen only once: repeat actions with other values so that parameters can be told apart",
                endpoints.len()
            ));
        }
        let scope: Vec<String> = self.hosts.keys().filter(|h| in_scope(h)).cloned().collect();
        let third_party = self
            .hosts
            .iter()
            .filter(|(h, _)| !in_scope(h))
            .map(|(h, n)| (h.clone(), *n))
            .collect();
        Report {
            entries: self.entries,
            scope,
            third_party,
            static_assets: self.static_assets.values().sum(),
            endpoints,
            quality: Quality {
                authenticated_requests: authed,
                methods,
                form_bodies: form,
                json_bodies: json,
                multipart_bodies: multi,
                endpoints_seen_once: once,
                advice,
            },
            dropped: self.dropped,
            findings,
            findings_dropped: self.findings_dropped,
        }
    }
}

/// Merge literal segments that vary in one place of otherwise equal paths (any
/// method) into a [`Shape::Word`] parameter, when there are at least
/// [`WORD_VARIATION`] of them.
fn merge_words(acc: BTreeMap<Key, Acc>) -> BTreeMap<Key, Acc> {
    let mut acc = acc;
    let max_len = acc.keys().map(|k| k.2.len()).max().unwrap_or(0);
    for i in 0..max_len {
        // (host, segments with a hole at i) → distinct literals at i
        let mut groups: BTreeMap<(String, Vec<Seg>), BTreeSet<String>> = BTreeMap::new();
        for (host, _, segs) in acc.keys() {
            if let Some(Seg::Lit(w)) = segs.get(i) {
                let mut holed = segs.clone();
                holed[i] = Seg::Param(Shape::Word);
                groups
                    .entry((host.clone(), holed))
                    .or_default()
                    .insert(w.clone());
            }
        }
        let merge: BTreeSet<(String, Vec<Seg>)> = groups
            .into_iter()
            .filter(|(_, ws)| ws.len() >= WORD_VARIATION)
            .map(|(k, _)| k)
            .collect();
        if merge.is_empty() {
            continue;
        }
        let mut out: BTreeMap<Key, Acc> = BTreeMap::new();
        for ((host, method, segs), a) in acc {
            let mut key = (host, method, segs);
            if let Some(Seg::Lit(_)) = key.2.get(i) {
                let mut holed = key.2.clone();
                holed[i] = Seg::Param(Shape::Word);
                if merge.contains(&(key.0.clone(), holed.clone())) {
                    key.2 = holed;
                }
            }
            match out.get_mut(&key) {
                Some(m) => m.merge(a),
                None => {
                    out.insert(key, a);
                }
            }
        }
        acc = out;
    }
    acc
}

fn endpoint(host: String, method: String, segs: Vec<Seg>, a: Acc) -> Endpoint {
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

/// Read every entry of `reader` on `threads` workers and fold the surface.
pub fn analyze(reader: har::HarReader, threads: usize, scope: Scope) -> Result<Report, Error> {
    let cleaner = std::sync::Arc::new(Cleaner::new());
    let mut it = har::par_entries(reader, threads, move |raw| {
        let tree = raw.parse_lite()?;
        let view = har::EntryView(har::Obj::of(Some(&tree)));
        let mut s = Sample::of(view, &cleaner);
        s.index = raw.index;
        let pos = raw.position_of(0);
        (s.line, s.column) = (pos.line, pos.column);
        Ok::<_, har::ReadError>(s)
    });
    let mut s = Surface::new(scope);
    for item in it.by_ref() {
        s.add(item??);
    }
    Ok(s.finish())
}

#[cfg(test)]
mod tests;
