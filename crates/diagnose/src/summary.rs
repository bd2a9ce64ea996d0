//! `hark summary`: what is in this HAR, counted in one pass.

use crate::util::{self, TopN};
use crate::Digest;
use har::Header;
use serde::Serialize;
use std::collections::HashMap;

/// How many rows the slowest / largest / errors lists keep.
pub const TOP: usize = 10;
/// Distinct keys kept per breakdown (domains, types …); the rest are counted as `(other)`.
pub const MAX_KEYS: usize = 2000;
/// Breakdown rows shown (the report keeps the biggest; the rest are summed in `(other)`).
pub const SHOWN_KEYS: usize = 25;
const MAX_PAGES: usize = 5000;

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Count {
    pub key: String,
    pub requests: u64,
    /// Bytes transferred (headers + body on the wire, where the producer says).
    pub bytes: i64,
}

#[derive(Default)]
struct Breakdown {
    map: HashMap<String, (u64, i64)>,
    other: (u64, i64),
}

impl Breakdown {
    fn add(&mut self, key: &str, bytes: i64) {
        if let Some(v) = self.map.get_mut(key) {
            v.0 += 1;
            v.1 += bytes;
        } else if self.map.len() < MAX_KEYS {
            self.map.insert(key.to_string(), (1, bytes));
        } else {
            self.other.0 += 1;
            self.other.1 += bytes;
        }
    }
    fn rows(self, sort_by_key: bool) -> Vec<Count> {
        let mut rows: Vec<Count> = self
            .map
            .into_iter()
            .map(|(key, (requests, bytes))| Count {
                key,
                requests,
                bytes,
            })
            .collect();
        if sort_by_key {
            rows.sort_by(|a, b| a.key.cmp(&b.key));
        } else {
            rows.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.key.cmp(&b.key)));
        }
        let mut other = self.other;
        if rows.len() > SHOWN_KEYS {
            for r in rows.drain(SHOWN_KEYS..) {
                other.0 += r.requests;
                other.1 += r.bytes;
            }
        }
        if other.0 > 0 {
            rows.push(Count {
                key: "(other)".into(),
                requests: other.0,
                bytes: other.1,
            });
        }
        rows
    }
}

/// The seven phases of one request, in ms (`None`: did not happen or not recorded).
pub type Phases = har::Timings;

/// The phases of an entry that happened, with Chrome's `_blocked_queueing` standing in for
/// a missing `blocked` (some exports only have the extra).
pub fn phases_of<J: har::Json>(e: har::EntryView<'_, J>) -> Phases {
    let mut t = e.timings().happened();
    if t.blocked.is_none() {
        t.blocked = e
            .fields()
            .obj("timings")
            .num("_blocked_queueing")
            .filter(|x| *x >= 0.0);
    }
    t
}

/// The phase that took longest (`connect` counted without its TLS part).
pub fn dominant(p: &Phases) -> Option<(&'static str, f64)> {
    let connect = match (p.connect, p.ssl) {
        (Some(c), Some(s)) if s <= c => Some(c - s),
        (c, _) => c,
    };
    [
        ("blocked", p.blocked),
        ("dns", p.dns),
        ("connect", connect),
        ("ssl", p.ssl),
        ("send", p.send),
        ("wait", p.wait),
        ("receive", p.receive),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.map(|v| (n, v)))
    .max_by(|a, b| a.1.total_cmp(&b.1))
    .filter(|(_, v)| *v > 0.0)
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SlowRow {
    pub index: usize,
    pub method: String,
    /// URL with query values hidden.
    pub url: String,
    /// HTTP status, or 0 when the request failed.
    pub status: i64,
    pub time: f64,
    pub phases: Phases,
    /// The phase that took longest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slowest_phase: Option<&'static str>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LargeRow {
    pub index: usize,
    pub method: String,
    pub url: String,
    pub mime_type: String,
    /// Decoded body size.
    pub size: i64,
    /// Bytes on the wire, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transferred: Option<i64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ErrorRow {
    pub index: usize,
    pub method: String,
    pub url: String,
    pub status: i64,
    /// `Not Found`, or the network error (`net::ERR_…`) of a failed request.
    pub error: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PageRow {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_content_load: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_load: Option<f64>,
    pub requests: u64,
    pub bytes: i64,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Bytes {
    /// On the wire (headers + bodies), summed over the entries that say.
    pub transferred: i64,
    /// Decoded bodies (`content.size`).
    pub decoded: i64,
    /// Entries served from a cache (memory, disk or 304).
    pub from_cache: u64,
    /// The producer swaps `bodySize` and `content.size` (every compressed response
    /// whose `Content-Length` tells, at least two, says so:
    /// [`check::sizes_swapped_view`]): the sums above are read the right way round.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sizes_swapped: bool,
    /// Compressed responses whose `Content-Length` showed the swap.
    #[serde(skip)]
    pub swap_evidence: u64,
}

/// The summary of one HAR file.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Report {
    pub producer: String,
    pub entries: u64,
    /// First request start to last response end, in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_request: Option<String>,
    pub bytes: Bytes,
    /// `1xx` … `5xx`, `failed` (no response).
    pub status: Vec<Count>,
    pub types: Vec<Count>,
    pub domains: Vec<Count>,
    pub methods: Vec<Count>,
    pub http_versions: Vec<Count>,
    pub pages: Vec<PageRow>,
    pub slowest: Vec<SlowRow>,
    pub largest: Vec<LargeRow>,
    /// Failed requests and 4xx/5xx, the first [`TOP`] ×2 of them.
    pub errors: Vec<ErrorRow>,
    pub error_count: u64,
    /// The state limits that were reached (memory is bounded), in words; empty when
    /// none was.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub caps_reached: Vec<String>,
}

/// The fold behind `hark summary`: [`Summary::entry`] for each entry in file order,
/// then [`Summary::finish`].
#[derive(Default)]
pub struct Summary {
    entries: u64,
    first: Option<f64>,
    last_end: Option<f64>,
    bytes: Bytes,
    status: Breakdown,
    types: Breakdown,
    domains: Breakdown,
    methods: Breakdown,
    versions: Breakdown,
    pages: HashMap<String, (u64, i64)>,
    pages_capped: bool,
    slowest: Option<TopN<SlowRow>>,
    largest: Option<TopN<LargeRow>>,
    errors: Vec<ErrorRow>,
    error_count: u64,
    /// Compressed responses whose sizes read swapped, and the right way round.
    swap_votes: (u64, u64),
    /// The byte sums if the sizes are swapped.
    if_swapped: (i64, i64),
}

/// What the summary reads of one entry: taken on a worker thread from the entry's tree
/// (see [`Row::of`]), so that only this small value travels to the fold.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub index: usize,
    pub url: String,
    pub method: String,
    pub status: i64,
    /// The response's status text, kept for failures and 4xx/5xx only.
    pub status_text: String,
    /// [`har::http::failure`].
    pub failure: Option<String>,
    /// Bytes on the wire, 0 when unknown.
    pub transferred: i64,
    /// The response's transfer size as the producer gives it.
    pub transfer_size: Option<i64>,
    /// Decoded body size, when known.
    pub size: Option<i64>,
    pub time: f64,
    pub started_ms: Option<f64>,
    /// [`check::from_cache_view`].
    pub cached: bool,
    /// [`har::http::resource_type`].
    pub kind: String,
    pub host: Option<String>,
    /// The response's HTTP version, else the request's.
    pub version: String,
    pub pageref: Option<String>,
    pub mime_type: String,
    pub phases: Phases,
    /// [`check::sizes_swapped_view`].
    pub sizes_swapped: Option<bool>,
    /// Transferred and decoded bytes if the producer swaps `bodySize` and
    /// `content.size`.
    pub if_swapped: (i64, i64),
}

impl Row {
    /// The row of one entry, with what the caller has already worked out of it (the
    /// readings a [`Digest`] holds; [`Row::of`] works them out).
    pub fn with<J: har::Json>(
        index: usize,
        e: har::EntryView<'_, J>,
        failure: Option<String>,
        kind: String,
        host: Option<&str>,
        cached: bool,
        started_ms: Option<f64>,
    ) -> Row {
        let req = e.request();
        let resp = e.response();
        let status = resp.status().unwrap_or(0);
        let status_text = if failure.is_some() || status >= 400 {
            resp.status_text().unwrap_or("").to_string()
        } else {
            String::new()
        };
        Row {
            index,
            url: req.url().unwrap_or("").to_string(),
            method: req.method().unwrap_or("?").to_string(),
            status,
            status_text,
            failure,
            transferred: resp.transfer_size().unwrap_or(0).max(0),
            transfer_size: resp.transfer_size(),
            size: resp.content().size().filter(|s| *s >= 0),
            time: e.time().filter(|t| *t >= 0.0).unwrap_or(0.0),
            started_ms,
            cached,
            kind,
            host: host.map(str::to_string),
            version: resp
                .http_version()
                .or(req.http_version())
                .unwrap_or("")
                .to_string(),
            pageref: e.pageref().map(str::to_string),
            mime_type: resp.content().mime_type().unwrap_or("").to_string(),
            phases: phases_of(e),
            sizes_swapped: check::sizes_swapped_view(e),
            if_swapped: {
                let size = resp.content().size().filter(|s| *s >= 0);
                let body = resp.body_size().filter(|b| *b >= 0);
                let transferred = match e.fields().obj("response").get("_transferSize") {
                    Some(_) => resp.transfer_size().unwrap_or(0).max(0),
                    None => size.map_or(0, |s| {
                        s + resp.headers_size().filter(|h| *h >= 0).unwrap_or(0)
                    }),
                };
                (transferred, body.or(size).unwrap_or(0))
            },
        }
    }

    /// The row of one entry in either tree.
    pub fn of<J: har::Json>(index: usize, e: har::EntryView<'_, J>) -> Row {
        let url = url::Url::parse(e.request().url().unwrap_or("")).ok();
        Row::with(
            index,
            e,
            har::http::failure(e),
            har::http::resource_type(e),
            url.as_ref().and_then(|u| u.host_str()),
            check::from_cache_view(e),
            e.started_ms(),
        )
    }

    /// The row of a digested entry (the same as [`Row::of`] on the whole entry).
    pub fn of_digest(d: &Digest) -> Row {
        Row::with(
            d.index,
            d.view(),
            d.failure.clone(),
            d.kind.clone(),
            d.url.as_ref().and_then(|u| u.host_str()),
            d.cached,
            d.started_ms,
        )
    }
}

impl Summary {
    pub fn new() -> Summary {
        Summary {
            slowest: Some(TopN::new(TOP)),
            largest: Some(TopN::new(TOP)),
            ..Summary::default()
        }
    }

    /// Fold one entry (its [`Row`], in file order).
    pub fn entry(&mut self, r: Row) {
        self.entries += 1;
        let Row {
            index,
            url,
            method,
            status,
            status_text,
            failure,
            transferred,
            transfer_size,
            size,
            time,
            started_ms,
            cached,
            kind,
            host,
            version,
            pageref,
            mime_type,
            phases,
            sizes_swapped,
            if_swapped,
        } = r;

        if let Some(start) = started_ms {
            self.first = Some(self.first.map_or(start, |f| f.min(start)));
            let end = start + time;
            self.last_end = Some(self.last_end.map_or(end, |l| l.max(end)));
        }
        self.bytes.transferred += transferred;
        self.bytes.decoded += size.unwrap_or(0);
        match sizes_swapped {
            Some(true) => self.swap_votes.0 += 1,
            Some(false) => self.swap_votes.1 += 1,
            None => {}
        }
        self.if_swapped.0 += if_swapped.0;
        self.if_swapped.1 += if_swapped.1;
        if cached {
            self.bytes.from_cache += 1;
        }
        let class = if status <= 0 {
            "failed".to_string()
        } else if (100..600).contains(&status) {
            format!("{}xx", status / 100)
        } else {
            "other".to_string()
        };
        self.status.add(&class, transferred);
        self.types.add(&kind, transferred);
        self.domains
            .add(host.as_deref().unwrap_or("(no host)"), transferred);
        self.methods.add(&method, transferred);
        let version = if status > 0 {
            har::http::http_version(&version)
        } else {
            "failed".into()
        };
        self.versions.add(&version, transferred);
        if let Some(p) = pageref {
            if let Some(v) = self.pages.get_mut(&p) {
                v.0 += 1;
                v.1 += transferred;
            } else if self.pages.len() < MAX_PAGES {
                self.pages.insert(p, (1, transferred));
            } else {
                self.pages_capped = true;
            }
        }
        if let Some(top) = &mut self.slowest {
            if top.wants(time) && time > 0.0 {
                let slowest_phase = dominant(&phases).map(|(n, _)| n);
                top.push(
                    time,
                    SlowRow {
                        index,
                        method: method.clone(),
                        url: check::redact_query(&url),
                        status: status.max(0),
                        time,
                        phases,
                        slowest_phase,
                    },
                );
            }
        }
        if let (Some(top), Some(size)) = (&mut self.largest, size) {
            if size > 0 && top.wants(size as f64) {
                top.push(
                    size as f64,
                    LargeRow {
                        index,
                        method: method.clone(),
                        url: check::redact_query(&url),
                        mime_type,
                        size,
                        transferred: transfer_size,
                    },
                );
            }
        }
        if failure.is_some() || status >= 400 {
            self.error_count += 1;
            if self.errors.len() < 2 * TOP {
                self.errors.push(ErrorRow {
                    index,
                    method,
                    url: check::redact_query(&url),
                    status: status.max(0),
                    error: failure.unwrap_or(status_text),
                });
            }
        }
    }

    /// The limits reached, in words.
    fn caps(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, b) in [
            ("status classes", &self.status),
            ("types", &self.types),
            ("domains", &self.domains),
            ("methods", &self.methods),
            ("HTTP versions", &self.versions),
        ] {
            if b.other.0 > 0 {
                out.push(format!(
                    "{name}: more than {MAX_KEYS} distinct; {} later requests counted in (other)",
                    b.other.0
                ));
            }
        }
        if self.pages_capped {
            out.push(format!("pages: only the first {MAX_PAGES} are counted"));
        }
        out
    }

    pub fn finish(mut self, header: &Header) -> Report {
        let caps_reached = self.caps();
        let pages = header
            .pages()
            .iter()
            .map(|p| har::Page(har::Obj::of(Some(p))))
            .take(MAX_PAGES)
            .map(|p| {
                let id = p.id().unwrap_or("").to_string();
                let (requests, bytes) = self.pages.get(&id).copied().unwrap_or((0, 0));
                PageRow {
                    title: p.title().unwrap_or("").to_string(),
                    started: p.started_date_time().map(str::to_string),
                    on_content_load: p.on_content_load(),
                    on_load: p.on_load(),
                    requests,
                    bytes,
                    id,
                }
            })
            .collect();
        Report {
            producer: header.producer(),
            entries: self.entries,
            span_ms: self.first.zip(self.last_end).map(|(f, l)| l - f),
            first_request: self.first.map(util::iso),
            bytes: if self.swap_votes.0 >= 2 && self.swap_votes.1 == 0 {
                Bytes {
                    transferred: self.if_swapped.0,
                    decoded: self.if_swapped.1,
                    sizes_swapped: true,
                    swap_evidence: self.swap_votes.0,
                    ..self.bytes
                }
            } else {
                self.bytes
            },
            status: self.status.rows(true),
            types: self.types.rows(false),
            domains: self.domains.rows(false),
            methods: self.methods.rows(false),
            http_versions: self.versions.rows(false),
            pages,
            slowest: self
                .slowest
                .take()
                .map(TopN::into_sorted)
                .unwrap_or_default(),
            largest: self
                .largest
                .take()
                .map(TopN::into_sorted)
                .unwrap_or_default(),
            errors: self.errors,
            error_count: self.error_count,
            caps_reached,
        }
    }
}
