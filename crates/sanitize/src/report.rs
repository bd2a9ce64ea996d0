//! What was redacted: counts by kind and location, never the values.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// (kind, location) → number of values redacted there.
    pub counts: BTreeMap<(&'static str, &'static str), u64>,
    /// Entries read.
    pub entries: u64,
    /// Distinct sensitive values found in the first pass (replaced wherever they occur).
    pub distinct_values: u64,
    /// (name, location) → values kept under a credential-like name because they cannot
    /// be a credential (`token_ready=1`, `"secret": false`); at most [`MAX_KEPT_NAMES`]
    /// names, the rest counted under `…`.
    pub kept: BTreeMap<(String, &'static str), u64>,
}

/// How many distinct names [`Report::kept`] lists.
pub const MAX_KEPT_NAMES: usize = 200;

impl Report {
    pub fn add(&mut self, kind: &'static str, location: &'static str) {
        crate::memo::effect();
        *self.counts.entry((kind, location)).or_insert(0) += 1;
    }

    /// A value kept under the credential-like name `name` at `location`.
    pub fn kept(&mut self, name: &str, location: &'static str) {
        crate::memo::effect();
        self.kept_n(name, location, 1);
    }

    fn kept_n(&mut self, name: &str, location: &'static str, n: u64) {
        let key = (name.to_string(), location);
        let key = if self.kept.contains_key(&key) || self.kept.len() < MAX_KEPT_NAMES {
            key
        } else {
            ("…".to_string(), location)
        };
        *self.kept.entry(key).or_insert(0) += n;
    }

    pub fn merge(&mut self, other: &Report) {
        for (k, n) in &other.counts {
            *self.counts.entry(*k).or_insert(0) += n;
        }
        for ((name, l), n) in &other.kept {
            self.kept_n(name, l, *n);
        }
        self.entries += other.entries;
    }

    /// Number of values redacted (or, in an audit, that would be).
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    pub fn by_kind(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for ((k, _), n) in &self.counts {
            *m.entry(*k).or_insert(0) += n;
        }
        m
    }

    pub fn by_location(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for ((_, l), n) in &self.counts {
            *m.entry(*l).or_insert(0) += n;
        }
        m
    }

    pub fn to_json(&self) -> Value {
        let to_obj = |m: BTreeMap<&'static str, u64>| {
            Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k.to_string(), Value::from(v)))
                    .collect::<Map<_, _>>(),
            )
        };
        let items: Vec<Value> = self
            .counts
            .iter()
            .map(|((k, l), n)| json!({"kind": k, "location": l, "count": n}))
            .collect();
        let kept: Vec<Value> = self
            .kept
            .iter()
            .map(|((name, l), n)| json!({"name": name, "location": l, "count": n}))
            .collect();
        json!({
            "kept": kept,
            "total": self.total(),
            "entries": self.entries,
            "distinct_values": self.distinct_values,
            "by_kind": to_obj(self.by_kind()),
            "by_location": to_obj(self.by_location()),
            "items": items,
        })
    }
}

/// Where a value was found, for the report.
pub mod loc {
    pub const URL: &str = "request.url";
    pub const REQ_HEADERS: &str = "request.headers";
    pub const REQ_COOKIES: &str = "request.cookies";
    pub const QUERY: &str = "request.queryString";
    pub const POST: &str = "request.postData";
    pub const RESP_HEADERS: &str = "response.headers";
    pub const RESP_COOKIES: &str = "response.cookies";
    pub const CONTENT: &str = "response.content";
    pub const REDIRECT: &str = "response.redirectURL";
    pub const OTHER: &str = "entry (other fields)";
    pub const LOG: &str = "log (pages, comments)";
}
