//! Filtering, sorting and page grouping over the index, on the server, so that the
//! browser only ever asks for the rows it shows.

use crate::index::{Index, Kind, Row, State};
use crate::ViewError;
use serde::Deserialize;
use std::cmp::Ordering;
use std::sync::Arc;

/// A view of the table, as the page's URL states it. Lists are comma-separated.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Query {
    /// Text to find in the URL (case-insensitive), or a regex with `regex`.
    pub q: String,
    pub regex: bool,
    /// Status classes: `1xx` … `5xx`, `failed`.
    pub status: String,
    /// Resource types (see [`Kind`]).
    #[serde(rename = "type")]
    pub types: String,
    /// Substring of the domain.
    pub domain: String,
    /// Exact method (case-insensitive).
    pub method: String,
    /// Minimum time in ms.
    pub min_time: Option<f64>,
    /// Minimum size (transferred or decoded, whichever is larger) in bytes.
    pub min_size: Option<i64>,
    /// Only 4xx/5xx, failed and blocked requests.
    pub errors: bool,
    /// Column: `start` (default), `status`, `method`, `domain`, `path`, `type`,
    /// `size`, `decoded`, `time`.
    pub sort: String,
    pub desc: bool,
    /// Rows under a header per page.
    pub group: bool,
    /// Only the entries where a search of every field ([`crate::search`]) found this
    /// text (as far as the search has come).
    pub search: String,
    /// `search` is a regex.
    pub search_regex: bool,
    /// Only these entries (comma-separated numbers: a finding's).
    pub ids: String,
    /// Only requests running at some time between `from` and `to` (ms since the epoch):
    /// the overview's brush.
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// One line of the table: a request, or a page header when grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Row(u32),
    Page(u32),
}

/// The result of a query: the items in order and the time axis of the matched rows.
#[derive(Debug)]
pub struct Matched {
    pub items: Vec<Item>,
    pub rows: usize,
    /// Earliest start and latest end of the matched rows (ms since the epoch).
    pub axis: Option<(f64, f64)>,
}

pub(crate) struct Cached {
    query: Query,
    indexed: usize,
    /// Search hits when computed.
    hits: usize,
    result: Arc<Matched>,
}

struct Filter {
    text: Option<String>,
    re: Option<regex::Regex>,
    status: Vec<u8>, // 1..=5 classes, 0 = failed
    kinds: Vec<Kind>,
    domain: Option<String>,
    method: Option<u32>,
    method_missing: bool,
    min_time: Option<f64>,
    min_size: Option<i64>,
    errors: bool,
    from: Option<f64>,
    to: Option<f64>,
}

impl Filter {
    fn new(q: &Query, st: &State) -> Result<Filter, ViewError> {
        let text = q.q.trim();
        let (text, re) = if text.is_empty() {
            (None, None)
        } else if q.regex {
            let re = regex::RegexBuilder::new(text)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| ViewError::BadQuery(format!("bad regex: {e}")))?;
            (None, Some(re))
        } else {
            (Some(text.to_lowercase()), None)
        };
        let mut status = Vec::new();
        for s in q.status.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            status.push(match s {
                "1xx" => 1,
                "2xx" => 2,
                "3xx" => 3,
                "4xx" => 4,
                "5xx" => 5,
                "failed" => 0,
                _ => return Err(ViewError::BadQuery(format!("unknown status class {s:?}"))),
            });
        }
        let mut kinds = Vec::new();
        for s in q.types.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            kinds.push(
                Kind::parse(&s.to_ascii_lowercase())
                    .ok_or_else(|| ViewError::BadQuery(format!("unknown type {s:?}")))?,
            );
        }
        let m = q.method.trim().to_ascii_uppercase();
        let (method, method_missing) = if m.is_empty() {
            (None, false)
        } else {
            // Methods are stored as written; match them case-insensitively.
            let id =
                (0..st.methods.len() as u32).find(|&i| st.methods.get(i).eq_ignore_ascii_case(&m));
            (id, id.is_none())
        };
        let d = q.domain.trim().to_ascii_lowercase();
        Ok(Filter {
            text,
            re,
            status,
            kinds,
            domain: (!d.is_empty()).then_some(d),
            method,
            method_missing,
            min_time: q.min_time.filter(|t| *t > 0.0),
            min_size: q.min_size.filter(|s| *s > 0),
            errors: q.errors,
            from: q.from,
            to: q.to,
        })
    }

    fn domain_ok(&self, st: &State) -> Vec<bool> {
        match &self.domain {
            None => Vec::new(),
            Some(d) => (0..st.domains.len() as u32)
                .map(|i| st.domains.get(i).contains(d.as_str()))
                .collect(),
        }
    }

    fn accepts(&self, r: &Row, domains: &[bool]) -> bool {
        if self.method_missing {
            return false;
        }
        if let Some(m) = self.method {
            if r.method != m {
                return false;
            }
        }
        if self.errors && !r.is_error() {
            return false;
        }
        if !self.status.is_empty() {
            let class = if r.failed() || r.status <= 0 {
                0
            } else {
                (r.status / 100).clamp(0, 9) as u8
            };
            if !self.status.contains(&class) {
                return false;
            }
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&r.kind) {
            return false;
        }
        if self.domain.is_some() && !domains.get(r.domain as usize).copied().unwrap_or(false) {
            return false;
        }
        if let Some(t) = self.min_time {
            if (r.time as f64) < t {
                return false;
            }
        }
        if let Some(s) = self.min_size {
            if r.transferred.max(r.decoded) < s {
                return false;
            }
        }
        if self.from.is_some() || self.to.is_some() {
            if r.start.is_nan() {
                return false;
            }
            if self.to.is_some_and(|t| r.start > t) || self.from.is_some_and(|f| r.end() < f) {
                return false;
            }
        }
        if let Some(t) = &self.text {
            if !contains_ci(&r.url, t) {
                return false;
            }
        }
        if let Some(re) = &self.re {
            if !re.is_match(&r.url) {
                return false;
            }
        }
        true
    }
}

/// Case-insensitive substring search (`needle` already lower-case).
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        return h
            .windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b));
    }
    hay.to_lowercase().contains(needle)
}

/// Chrome's priorities, lowest first (unknown lowest of all).
fn priority_rank(p: &str) -> u8 {
    match p {
        "VeryLow" => 1,
        "Low" => 2,
        "Medium" => 3,
        "High" => 4,
        "VeryHigh" => 5,
        _ => 0,
    }
}

fn cmp_f(a: f64, b: f64) -> Ordering {
    // NaN (unknown) last.
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

#[allow(clippy::type_complexity)]
fn sorter<'s>(
    key: &str,
    st: &'s State,
) -> Result<Box<dyn Fn(&Row, &Row) -> Ordering + 's>, ViewError> {
    Ok(match key {
        "" | "start" => Box::new(|a: &Row, b: &Row| cmp_f(a.start, b.start)),
        "status" => Box::new(|a: &Row, b: &Row| a.status.cmp(&b.status)),
        "method" => {
            Box::new(|a: &Row, b: &Row| st.methods.get(a.method).cmp(st.methods.get(b.method)))
        }
        "domain" => {
            Box::new(|a: &Row, b: &Row| st.domains.get(a.domain).cmp(st.domains.get(b.domain)))
        }
        "path" => Box::new(|a: &Row, b: &Row| a.path().cmp(b.path())),
        "url" => Box::new(|a: &Row, b: &Row| a.url.cmp(&b.url)),
        "type" => Box::new(|a: &Row, b: &Row| st.types.get(a.rtype).cmp(st.types.get(b.rtype))),
        "initiator" => Box::new(|a: &Row, b: &Row| {
            st.initiators
                .get(a.initiator)
                .cmp(st.initiators.get(b.initiator))
        }),
        "priority" => Box::new(|a: &Row, b: &Row| {
            priority_rank(st.priorities.get(a.priority))
                .cmp(&priority_rank(st.priorities.get(b.priority)))
        }),
        "size" => Box::new(|a: &Row, b: &Row| a.transferred.cmp(&b.transferred)),
        "decoded" => Box::new(|a: &Row, b: &Row| a.decoded.cmp(&b.decoded)),
        "time" => Box::new(|a: &Row, b: &Row| cmp_f(a.time as f64, b.time as f64)),
        _ => return Err(ViewError::BadQuery(format!("cannot sort on {key:?}"))),
    })
}

/// Run `q` over the rows indexed so far; with `only`, over those entries (sorted) only.
pub fn run(st: &State, q: &Query, only: Option<&[u32]>) -> Result<Matched, ViewError> {
    let f = Filter::new(q, st)?;
    let domains = f.domain_ok(st);
    let mut ids: Vec<u32> = Vec::new();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let all: Box<dyn Iterator<Item = (usize, &Row)>> = match only {
        None => Box::new(st.rows.iter().enumerate()),
        Some(o) => Box::new(
            o.iter()
                .filter_map(|&i| st.rows.get(i as usize).map(|r| (i as usize, r))),
        ),
    };
    for (i, r) in all {
        if f.accepts(r, &domains) {
            ids.push(i as u32);
            if !r.start.is_nan() {
                lo = lo.min(r.start);
                hi = hi.max(r.end());
            }
        }
    }
    let by = sorter(&q.sort, st)?;
    let rows = &st.rows;
    // Stable: equal keys stay in file order; descending reverses the key only.
    ids.sort_by(|&a, &b| {
        let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
        let o = by(ra, rb);
        if q.desc {
            o.reverse()
        } else {
            o
        }
    });
    let n = ids.len();
    let items = if q.group {
        group(st, ids)
    } else {
        ids.into_iter().map(Item::Row).collect()
    };
    Ok(Matched {
        items,
        rows: n,
        axis: (lo <= hi).then_some((lo, hi)),
    })
}

/// Rows under a header per page, pages in `log.pages` order, requests without a page
/// last; the sort order holds within each page.
fn group(st: &State, ids: Vec<u32>) -> Vec<Item> {
    let np = st.page_ids.len();
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); np + 1];
    for id in ids {
        let p = st.rows[id as usize].page;
        let b = if (p as usize) < np { p as usize } else { np };
        buckets[b].push(id);
    }
    let mut out = Vec::new();
    for (p, b) in buckets.into_iter().enumerate() {
        if b.is_empty() {
            continue;
        }
        out.push(Item::Page(if p < np { p as u32 } else { u32::MAX }));
        out.extend(b.into_iter().map(Item::Row));
    }
    out
}

impl Index {
    /// `q` over the rows indexed so far; the last result is cached, so that scrolling
    /// (the same query, other windows) costs nothing.
    pub fn query(self: &Arc<Index>, q: &Query) -> Result<Arc<Matched>, ViewError> {
        let mut only: Option<Vec<u32>> = None;
        if !q.ids.trim().is_empty() {
            let mut v = Vec::new();
            for s in q.ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                v.push(
                    s.parse::<u32>()
                        .map_err(|_| ViewError::BadQuery(format!("ids: not a number: {s:?}")))?,
                );
            }
            v.sort_unstable();
            v.dedup();
            only = Some(v);
        }
        let mut hits = 0;
        if !q.search.is_empty() {
            let s = self.search(&crate::search::Needle {
                text: q.search.clone(),
                regex: q.search_regex,
            })?;
            let found = s.entries();
            hits = found.len();
            only = Some(match only {
                None => found,
                Some(o) => o
                    .into_iter()
                    .filter(|i| found.binary_search(i).is_ok())
                    .collect(),
            });
        }
        let st = self.state.read().unwrap();
        let mut cache = self.cache.lock().unwrap();
        if let Some(c) = cache.as_ref() {
            if c.query == *q && c.indexed == st.rows.len() && c.hits == hits {
                return Ok(c.result.clone());
            }
        }
        let result = Arc::new(run(&st, q, only.as_deref())?);
        *cache = Some(Cached {
            query: q.clone(),
            indexed: st.rows.len(),
            hits,
            result: result.clone(),
        });
        Ok(result)
    }
}
