//! `hark mock`: answer requests from recordings, as an origin server and as an HTTP/HTTPS
//! forward proxy (absolute-form and `CONNECT`, TLS with a leaf from hark's CA).
//!
//! Requests are matched on method, host (for proxied requests), path, the query (names
//! in `ignore_query` left out), the body (JSON structurally, form fields, GraphQL by
//! operation and variables; `ignore_body_fields` left out) and, when asked, headers.
//! Repeated identical requests get the recorded answers in order, the last one
//! repeating; with `loose`, a request whose path only matches a recorded one once
//! id-shaped segments are templated (`/users/{userId}`) gets its answer. A miss is a
//! 404 whose body names the closest recorded request and what differed.
//!
//! The index holds per entry its offset and length in the file and a few hashes
//! ([`index::Rec`]); the answer is read back from the file when it is served.

pub mod answer;
pub mod index;
pub mod matcher;
pub mod server;
pub mod ws;

pub use index::{Index, Rec, Skipped};
pub use matcher::Rules;

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error("{file}: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{0}: hark mock reads answers back from the file, which must be a plain (not gzip-compressed) HAR: gunzip it first")]
    NotPlain(String),
    #[error("{file}: {msg}")]
    Rules { file: String, msg: String },
    #[error(transparent)]
    Client(#[from] replay::Error),
}

/// How long to wait before answering.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Delay {
    None,
    /// The recorded time times this factor (1: as recorded).
    Factor(f64),
}

impl std::str::FromStr for Delay {
    type Err = String;
    fn from_str(s: &str) -> Result<Delay, String> {
        match s {
            "none" => Ok(Delay::None),
            "recorded" => Ok(Delay::Factor(1.0)),
            f => match f.parse::<f64>() {
                Ok(x) if x >= 0.0 && x.is_finite() => Ok(Delay::Factor(x)),
                _ => Err(format!(
                    "{f}: `recorded`, `none` or a factor (0.5: half the recorded time)"
                )),
            },
        }
    }
}

/// Everything `hark mock` is told.
#[derive(Clone, Debug)]
pub struct Options {
    pub rules: Rules,
    /// Origin-form requests answered only from this recorded host.
    pub host: Option<String>,
    /// Last resort: templated paths.
    pub loose: bool,
    pub delay: Delay,
    /// Forward misses to the real server (proxied requests: their host; origin-form
    /// ones: `host`, `http://` unless it names a scheme).
    pub passthrough: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            rules: Rules::default(),
            host: None,
            loose: false,
            delay: Delay::None,
            passthrough: false,
        }
    }
}

/// A rules file (TOML), merged with the command line:
///
/// ```toml
/// ignore_query = ["cb", "_*"]
/// ignore_body_fields = ["$.requestedAt"]
/// match_headers = ["x-tenant"]
/// loose = true
/// delay = "none"        # or "recorded", or a factor: "0.5"
/// host = "api.example.com"
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub ignore_query: Vec<String>,
    #[serde(default)]
    pub ignore_body_fields: Vec<String>,
    #[serde(default)]
    pub match_headers: Vec<String>,
    #[serde(default)]
    pub loose: bool,
    pub delay: Option<String>,
    pub host: Option<String>,
}

impl RulesFile {
    pub fn read(path: &str) -> Result<RulesFile, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            file: path.to_string(),
            error: e,
        })?;
        toml::from_str(&text).map_err(|e| Error::Rules {
            file: path.to_string(),
            msg: e.to_string(),
        })
    }

    /// Add the file's rules to `o` (the command line's stay).
    pub fn merge_into(self, o: &mut Options, file: &str) -> Result<(), Error> {
        o.rules.ignore_query.extend(self.ignore_query);
        o.rules.ignore_body_fields.extend(self.ignore_body_fields);
        o.rules
            .match_headers
            .extend(self.match_headers.iter().map(|h| h.to_ascii_lowercase()));
        o.loose |= self.loose;
        if o.host.is_none() {
            o.host = self.host;
        }
        if let Some(d) = self.delay {
            if o.delay == Delay::None {
                o.delay = d.parse().map_err(|msg| Error::Rules {
                    file: file.to_string(),
                    msg,
                })?;
            }
        }
        Ok(())
    }
}

/// A request as matched.
#[derive(Debug)]
pub struct Incoming<'a> {
    pub method: &'a str,
    /// The target host of a proxied request (normalised: lower case, default port
    /// left out); `None` for an origin-form request.
    pub host: Option<String>,
    /// Path and query.
    pub target: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

/// What a request got.
#[derive(Debug)]
pub enum Outcome {
    Hit(usize),
    Miss(Miss),
}

/// A request with no recorded answer, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Miss {
    pub method: String,
    pub url: String,
    pub closest: Option<String>,
    pub differences: Vec<String>,
}

/// The most misses kept for the summary.
pub const MAX_MISSES_KEPT: usize = 200;

/// The loaded recordings and what was served from them.
#[derive(Debug)]
pub struct Mock {
    pub index: Index,
    pub opts: Options,
    hits: Vec<AtomicU32>,
    /// Next answer of each sequence of identical requests (keyed by its first entry).
    next: Mutex<std::collections::HashMap<u32, u32>>,
    misses: AtomicU64,
    miss_list: Mutex<Vec<Miss>>,
    /// `passthrough`: the client, and the exchanges forwarded (HAR entries).
    pub(crate) client: Option<replay::Client>,
    forwarded: Mutex<Vec<serde_json::Value>>,
}

/// One recorded entry and how often it was served.
#[derive(Clone, Debug, Serialize)]
pub struct EntryUse {
    pub file: String,
    pub entry: u32,
    pub method: String,
    pub host: String,
    pub path: String,
    pub hits: u32,
}

/// What `hark mock` did, at its end.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub entries: Vec<EntryUse>,
    pub hits: u64,
    pub misses: u64,
    pub never_used: usize,
    /// Misses forwarded to the real server (`passthrough`).
    pub forwarded: usize,
    pub miss_examples: Vec<Miss>,
    pub skipped: Vec<Skipped>,
}

impl Mock {
    /// Load `files` and get ready to answer.
    pub fn load(files: &[String], opts: Options, threads: usize) -> Result<Mock, Error> {
        let index = Index::load(files, &opts.rules, opts.loose, threads)?;
        Mock::new(index, opts)
    }

    pub fn new(index: Index, opts: Options) -> Result<Mock, Error> {
        let hits = (0..index.recs.len()).map(|_| AtomicU32::new(0)).collect();
        let client = if opts.passthrough {
            Some(replay::Client::new(
                false,
                std::time::Duration::from_secs(30),
                false,
            )?)
        } else {
            None
        };
        Ok(Mock {
            index,
            opts,
            hits,
            next: Mutex::new(Default::default()),
            misses: AtomicU64::new(0),
            miss_list: Mutex::new(Vec::new()),
            client,
            forwarded: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn keep_forwarded(&self, entry: serde_json::Value) {
        self.forwarded.lock().unwrap().push(entry);
    }

    /// The exchanges `passthrough` forwarded, as HAR entries, in the order they ended.
    pub fn forwarded(&self) -> Vec<serde_json::Value> {
        self.forwarded.lock().unwrap().clone()
    }

    fn host_ok(&self, rec: &Rec, host: &Option<String>) -> bool {
        match host {
            Some(h) => *rec.host == **h,
            None => self.opts.host.as_ref().is_none_or(|h| {
                rec.host.eq_ignore_ascii_case(h) || rec.host.split(':').next() == Some(h.as_str())
            }),
        }
    }

    /// Find the answer of `req` (and count it).
    pub fn find(&self, req: &Incoming<'_>) -> Outcome {
        let rules = &self.opts.rules;
        let path = matcher::path_of(req.target);
        let method = req.method.to_ascii_uppercase();
        let q = rules.query_hash(&matcher::query_pairs(req.target));
        let b = rules.body_hash(req.content_type, req.body);
        let h = rules.headers_hash(req.headers.iter().copied());
        let recs = &self.index.recs;
        let cands: &[u32] = self
            .index
            .by_path
            .get(&index::path_key(&method, path))
            .map_or(&[], |v| v.as_slice());
        let exact: Vec<u32> = cands
            .iter()
            .copied()
            .filter(|&i| {
                let r = &recs[i as usize];
                self.host_ok(r, &req.host) && r.query == q && r.body == b && r.headers == h
            })
            .collect();
        if let Some(&first) = exact.first() {
            let n = {
                let mut next = self.next.lock().unwrap();
                let n = next.entry(first).or_insert(0);
                let got = *n;
                *n += 1;
                got
            };
            let i = exact[(n as usize).min(exact.len() - 1)] as usize;
            self.hits[i].fetch_add(1, Ordering::Relaxed);
            return Outcome::Hit(i);
        }
        if self.opts.loose {
            let host = req.host.as_deref().or(self.opts.host.as_deref());
            let t = self.index.template_for(&method, host, path);
            if let Some(list) = self.index.by_template.get(&index::path_key(&method, &t)) {
                let best = list
                    .iter()
                    .copied()
                    .filter(|&i| self.host_ok(&recs[i as usize], &req.host))
                    .max_by_key(|&i| {
                        let r = &recs[i as usize];
                        (
                            (r.path.as_ref() == path) as u8,
                            (r.query == q) as u8 + (r.body == b) as u8,
                            std::cmp::Reverse(i),
                        )
                    });
                if let Some(i) = best {
                    self.hits[i as usize].fetch_add(1, Ordering::Relaxed);
                    return Outcome::Hit(i as usize);
                }
            }
        }
        let miss = self.explain(req, &method, path, cands);
        self.misses.fetch_add(1, Ordering::Relaxed);
        let mut list = self.miss_list.lock().unwrap();
        if list.len() < MAX_MISSES_KEPT {
            list.push(miss.clone());
        }
        Outcome::Miss(miss)
    }

    /// The closest recorded request and what differs from it.
    fn explain(&self, req: &Incoming<'_>, method: &str, path: &str, cands: &[u32]) -> Miss {
        let recs = &self.index.recs;
        let url = match &req.host {
            Some(h) => format!("{h}{}", req.target),
            None => req.target.to_string(),
        };
        let mut miss = Miss {
            method: method.to_string(),
            url,
            closest: None,
            differences: Vec::new(),
        };
        // Same method and path: on the right host first.
        let closest = cands
            .iter()
            .copied()
            .find(|&i| self.host_ok(&recs[i as usize], &req.host))
            .or_else(|| cands.first().copied());
        let Some(i) = closest else {
            // Another method on the path, or the nearest path.
            let other = self.index.recs.iter().position(|r| *r.path == *path);
            let near = other.or_else(|| {
                (0..recs.len()).max_by_key(|&i| {
                    let p = recs[i].path.as_bytes();
                    let common = p
                        .iter()
                        .zip(path.as_bytes())
                        .take_while(|(a, b)| a == b)
                        .count();
                    (common, std::cmp::Reverse(i))
                })
            });
            if let Some(i) = near {
                miss.closest = Some(self.index.describe(i));
                miss.differences.push(if other.is_some() {
                    format!("method: recorded {}, got {method}", recs[i].method)
                } else {
                    format!("path: recorded {}, got {path}", recs[i].path)
                });
            } else {
                miss.differences.push("nothing recorded".into());
            }
            return miss;
        };
        let i = i as usize;
        let r = &recs[i];
        miss.closest = Some(self.index.describe(i));
        if let Some(h) = &req.host {
            if *r.host != **h {
                miss.differences
                    .push(format!("host: recorded {}, got {h}", r.host));
            }
        }
        if let Ok(bytes) = self.index.entry_bytes(i) {
            if let Ok(tree) = har::lite::parse(&bytes) {
                let e = har::EntryView(har::Obj::of(Some(&tree)));
                let rq = e.request();
                let rules = &self.opts.rules;
                let keep = |pairs: Vec<(String, String)>| -> Vec<(String, String)> {
                    let mut v: Vec<(String, String)> = pairs
                        .into_iter()
                        .filter(|(n, _)| !rules.query_ignored(n))
                        .map(|(n, v)| (n, format!("{v:?}")))
                        .collect();
                    v.sort();
                    v
                };
                let rq_q = keep(matcher::query_pairs(rq.url().unwrap_or("")));
                let got_q = keep(matcher::query_pairs(req.target));
                miss.differences
                    .extend(matcher::field_differences(&rq_q, &got_q, "query", 8));
                let (mime, text) = rq
                    .post_data()
                    .map(|p| (p.mime_type().unwrap_or(""), p.text().unwrap_or("")))
                    .unwrap_or(("", ""));
                let rb = rules.body_form(mime, text.as_bytes());
                let gb = rules.body_form(req.content_type, req.body);
                match (rb, gb) {
                    (matcher::BodyForm::Fields(x), matcher::BodyForm::Fields(y)) => miss
                        .differences
                        .extend(matcher::field_differences(&x, &y, "body", 8)),
                    _ if rules.body_hash(mime, text.as_bytes())
                        != rules.body_hash(req.content_type, req.body) =>
                    {
                        miss.differences.push(format!(
                            "body: recorded {} bytes, got {} bytes",
                            text.len(),
                            req.body.len()
                        ))
                    }
                    _ => {}
                }
                if r.headers != rules.headers_hash(req.headers.iter().copied()) {
                    miss.differences.push(format!(
                        "headers {}: differ",
                        rules.match_headers.join(", ")
                    ));
                }
            }
        }
        if miss.differences.is_empty() {
            miss.differences.push("no difference found".into());
        }
        miss
    }

    /// Hits per entry, misses, entries never used.
    pub fn summary(&self) -> Summary {
        let entries: Vec<EntryUse> = self
            .index
            .recs
            .iter()
            .zip(&self.hits)
            .map(|(r, h)| EntryUse {
                file: self.index.files[r.file as usize].name.clone(),
                entry: r.entry,
                method: r.method.to_string(),
                host: r.host.to_string(),
                path: r.path.to_string(),
                hits: h.load(Ordering::Relaxed),
            })
            .collect();
        Summary {
            hits: entries.iter().map(|e| e.hits as u64).sum(),
            never_used: entries.iter().filter(|e| e.hits == 0).count(),
            entries,
            misses: self.misses.load(Ordering::Relaxed),
            forwarded: self.forwarded.lock().unwrap().len(),
            miss_examples: self.miss_list.lock().unwrap().clone(),
            skipped: self.index.skipped.clone(),
        }
    }
}
