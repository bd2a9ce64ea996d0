//! The streaming fold: samples keyed by host, method and templated path, findings
//! by fingerprint; at the end, scope applied and varying words merged.

use crate::acc::Acc;
use crate::report::{endpoint, Finding, Quality, Report};
use crate::sample::Sample;
use crate::shape::{self, Seg, Shape};
use crate::{rules, Scope, MAX_ENDPOINTS, MAX_FINDINGS, WORD_VARIATION};
use std::collections::{BTreeMap, BTreeSet};

type Key = (String, String, Vec<Seg>);

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
            let bodies = |kind: &str| -> u32 {
                let of_kind = a.request_types.iter().filter(|(t, _)| t.contains(kind));
                of_kind.map(|x| x.1).sum()
            };
            json += bodies("json");
            form += bodies("x-www-form-urlencoded");
            multi += bodies("multipart/");
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
