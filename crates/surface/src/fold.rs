//! The streaming fold: samples keyed by host, method and templated path, findings
//! by fingerprint; at the end, scope applied and varying words merged.

use crate::acc::Acc;
use crate::report::{endpoint, Finding, Quality, Report};
use crate::sample::Sample;
use crate::shape::{self, Seg, Shape};
use crate::{rules, Pins, Scope, MAX_ENDPOINTS, MAX_FINDINGS, WORD_VARIATION};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Host, method, path segments, operation.
type Key = (String, String, Vec<Seg>, Option<String>);

/// The streaming fold.
#[derive(Default)]
pub struct Surface {
    scope: Scope,
    pins: Pins,
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

    /// With decisions pinned by the user.
    pub fn with_pins(scope: Scope, pins: Pins) -> Surface {
        Surface {
            scope,
            pins,
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
        let mut segs: Vec<Seg> = s
            .segments
            .iter()
            .map(|x| match shape::shape(x) {
                Some(sh) => Seg::Param(sh),
                None => Seg::Lit(x.clone()),
            })
            .collect();
        if !self.pins.is_empty() {
            self.pins.apply(&s.segments, &mut segs);
        }
        let key = (s.host.clone(), s.method.clone(), segs, s.operation.clone());
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
        let acc = merge_words(acc, &self.pins);
        let mut methods: BTreeMap<String, u32> = BTreeMap::new();
        let (mut authed, mut form, mut json, mut multi) = (0, 0, 0, 0);
        let mut endpoints = Vec::new();
        for ((host, method, segs, op), a) in acc {
            *methods.entry(method.clone()).or_default() += a.count;
            authed += a.count - a.unauthenticated;
            let bodies = |kind: &str| -> u32 {
                let of_kind = a.request_types.iter().filter(|(t, _)| t.contains(kind));
                of_kind.map(|x| x.1).sum()
            };
            json += bodies("json");
            form += bodies("x-www-form-urlencoded");
            multi += bodies("multipart/");
            endpoints.push(endpoint(host, method, segs, op, a));
        }
        endpoints.sort_by(|a, b| {
            (&a.host, &a.path, &a.method, &a.operation).cmp(&(
                &b.host,
                &b.path,
                &b.method,
                &b.operation,
            ))
        });
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
            index: Default::default(),
        }
    }
}

fn seg_hash(s: &Seg) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    match s {
        // Slugs hash alike: `…/{slug}/comments` lines up under two different slugs.
        Seg::Lit(w) if shape::is_slug(w) => 1u8.hash(&mut h),
        Seg::Lit(w) => w.hash(&mut h),
        Seg::Param(sh) => sh.hash(&mut h),
    }
    h.finish()
}

fn combine(a: u64, b: u64) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (a, b).hash(&mut h);
    h.finish()
}

/// One endpoint while its words are judged.
struct Item {
    key: Key,
    acc: Acc,
    /// Hash of the segments after each position.
    suffix: Vec<u64>,
    /// Hash of host and the resolved segments before the current position.
    prefix: u64,
    /// Positions a `keep` pin holds literal (empty: none).
    kept: Vec<bool>,
}

/// What an endpoint under a word brings as evidence: its method, the hash of the
/// segments after the word, a response shape.
type Evidence = (String, u64, u64);

/// The literal words at one position under one parent path.
#[derive(Default)]
struct Words {
    /// word → its evidence.
    words: BTreeMap<String, BTreeSet<Evidence>>,
}

/// Literal words to make parameters: the word sets of each (prefix, position), why, and
/// the parameter's shape.
fn judge(g: &Words) -> Vec<(Vec<String>, String, Shape)> {
    let words: Vec<(&String, &BTreeSet<Evidence>)> = g.words.iter().collect();
    if words.len() < 2 {
        return Vec::new();
    }
    // Union words that share a (method, suffix, response shape).
    let mut parent: Vec<usize> = (0..words.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut first: HashMap<&Evidence, usize> = HashMap::new();
    for (i, (_, ts)) in words.iter().enumerate() {
        for t in ts.iter() {
            match first.get(t) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    first.insert(t, i);
                }
            }
        }
    }
    let mut clusters: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
    for (i, (w, _)) in words.iter().enumerate() {
        let r = find(&mut parent, i);
        clusters.entry(r).or_default().push(w);
    }
    let mut out = Vec::new();
    for (_, ws) in clusters {
        let n = ws.len();
        let sample = || {
            let mut t: Vec<&str> = ws.iter().take(3).map(|w| w.as_str()).collect();
            if n > 3 {
                t.push("…");
            }
            t.join(", ")
        };
        let (why, shape) = if n >= WORD_VARIATION {
            (
                format!(
                    "{n} distinct words ({}) with the same methods and response shape",
                    sample()
                ),
                Shape::Word,
            )
        } else if n >= 2 && ws.iter().all(|w| shape::is_slug(w)) {
            (
                format!(
                    "{n} slugs ({}) with the same methods and response shape",
                    sample()
                ),
                Shape::Slug,
            )
        } else if n >= 2 && ws.iter().all(|w| shape::is_locale(w)) {
            (
                format!(
                    "{n} locale codes ({}) with the same methods and response shape",
                    sample()
                ),
                Shape::Locale,
            )
        } else {
            continue;
        };
        out.push((ws.into_iter().cloned().collect(), why, shape));
    }
    out
}

/// Turn literal words into parameters where the evidence says they are values, position
/// by position from the left: under one parent path, words whose endpoints share a
/// method, what follows them and a response shape form a cluster; a cluster of slugs
/// (two or more) or of [`WORD_VARIATION`] or more words becomes one parameter; words
/// with their own methods or response shapes stay literal, and so does a literal
/// beside a parameter. Linear in the total number of segments.
fn merge_words(acc: BTreeMap<Key, Acc>, pins: &Pins) -> BTreeMap<Key, Acc> {
    let mut items: Vec<Item> = acc
        .into_iter()
        .map(|(key, acc)| {
            let n = key.2.len();
            let mut suffix = vec![0u64; n];
            for i in (0..n.saturating_sub(1)).rev() {
                suffix[i] = combine(seg_hash(&key.2[i + 1]), suffix[i + 1]);
            }
            let mut h = std::hash::DefaultHasher::new();
            key.0.hash(&mut h);
            let kept = pins.kept(&key.2);
            Item {
                prefix: h.finish(),
                suffix,
                kept,
                key,
                acc,
            }
        })
        .collect();
    items.sort_by_key(|it| std::cmp::Reverse(it.key.2.len()));
    let max_len = items.first().map_or(0, |it| it.key.2.len());
    let mut active = items.len();
    let mut by_parent: HashMap<u64, Vec<usize>> = HashMap::new();
    for i in 0..max_len {
        while active > 0 && items[active - 1].key.2.len() <= i {
            active -= 1;
        }
        // Items by parent path; only a parent with two different words here has
        // anything to judge (most have one: the cost stays a few hash operations per
        // segment).
        by_parent.clear();
        if active >= 2 {
            for (j, it) in items[..active].iter().enumerate() {
                if matches!(it.key.2[i], Seg::Lit(_)) && !it.kept.get(i).copied().unwrap_or(false) {
                    by_parent.entry(it.prefix).or_default().push(j);
                }
            }
        }
        let mut groups: HashMap<u64, Words> = HashMap::new();
        for (p, js) in &by_parent {
            let word = |j: usize| match &items[j].key.2[i] {
                Seg::Lit(w) => w.as_str(),
                Seg::Param(_) => "",
            };
            if js.iter().all(|&j| word(j) == word(js[0])) {
                continue;
            }
            let g = groups.entry(*p).or_default();
            for &j in js {
                let it = &items[j];
                let ts = g.words.entry(word(j).to_string()).or_default();
                if it.acc.shapes.is_empty() {
                    ts.insert((it.key.1.clone(), it.suffix[i], 0));
                }
                for sh in &it.acc.shapes {
                    ts.insert((it.key.1.clone(), it.suffix[i], *sh));
                }
            }
        }
        let mut merge: HashMap<(u64, String), (String, Shape)> = HashMap::new();
        let mut seen: HashSet<u64> = HashSet::new();
        for (p, g) in &groups {
            for (ws, why, shape) in judge(g) {
                seen.insert(*p);
                for w in ws {
                    merge.insert((*p, w), (why.clone(), shape));
                }
            }
        }
        for it in &mut items[..active] {
            if seen.contains(&it.prefix) {
                if let Seg::Lit(w) = &it.key.2[i] {
                    if let Some((why, shape)) = merge.get(&(it.prefix, w.clone())) {
                        it.key.2[i] = Seg::Param(*shape);
                        it.acc.why.insert(i, why.clone());
                    }
                }
            }
            it.prefix = combine(it.prefix, seg_hash(&it.key.2[i]));
        }
    }
    let mut out: BTreeMap<Key, Acc> = BTreeMap::new();
    for it in items {
        match out.get_mut(&it.key) {
            Some(m) => m.merge(it.acc),
            None => {
                out.insert(it.key, it.acc);
            }
        }
    }
    out
}
