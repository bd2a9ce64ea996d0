//! HAR 1.2 validation. Every problem says where it is (entry, JSON path, line:column),
//! what was expected and what was found, and how bad it is: an `error` breaks the spec in
//! a way readers choke on; a `warning` is a deviation real producers are known to make
//! (hark and most viewers cope, strict validators such as `har-validator` may not).

//!
//! The walk over the JSON is `report.rs`'s `Reporter` (it reads fields of the expected
//! kind and reports each problem with its path, kept as a chain on the stack: see
//! `path.rs`); the entry's fields are checked in `entry.rs`, the header's here.

use crate::error::Pos;
use crate::json::Json;
use crate::model::Header;
use crate::reader::RawField;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

mod entry;
mod path;
mod report;

pub use entry::url_problem;
pub use path::path_string;
use path::ROOT;
pub use report::{describe_str, describe_value, LOCATED_PER_KIND};
use report::{Kind, Reporter, Req, NEXT_VALIDATOR};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    /// Stable identifier of the kind of problem, e.g. `missing-field`.
    pub code: &'static str,
    /// JSON path, e.g. `log.entries[12].response.content.size`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pos: Option<Pos>,
    pub message: String,
}

#[derive(Clone, Copy)]
pub(super) enum MinusOne {
    Allowed,
    Quirk(&'static str),
    No,
}

pub(super) const COOKIE_FIELDS: &[&str] = &[
    "name", "value", "path", "domain", "expires", "httpOnly", "secure", "sameSite", "comment",
];

/// Validates a HAR as it streams by: call [`Validator::header`] once the reader is
/// open, [`Validator::entry`] for each entry, and [`Validator::finish`] at the end.
pub struct Validator {
    id: u64,
    page_ids: HashSet<String>,
    header_fields_done: usize,
    /// pageref → (first entry, count, position) for references not (yet) known.
    pending_pagerefs: BTreeMap<String, (usize, usize, Option<Pos>)>,
}

impl Default for Validator {
    fn default() -> Self {
        Validator::new()
    }
}

impl Validator {
    pub fn new() -> Validator {
        Validator {
            id: NEXT_VALIDATOR.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            page_ids: HashSet::new(),
            header_fields_done: 0,
            pending_pagerefs: BTreeMap::new(),
        }
    }

    /// Validate the header fields read so far (those before `entries`).
    pub fn header(&mut self, header: &Header, raw: &[RawField], out: &mut Vec<Problem>) {
        for f in &raw[self.header_fields_done.min(raw.len())..] {
            let key = f.path.strip_prefix("log.").unwrap_or(&f.path);
            if let Some(v) = header.log.get(key) {
                self.header_field(key, v, f, out);
            }
        }
        self.header_fields_done = raw.len();
    }

    fn header_field(&mut self, key: &str, v: &Value, f: &RawField, out: &mut Vec<Problem>) {
        let mut w = Reporter {
            validator_id: self.id,
            out,
            entry: None,
            base: &f.path,
            raw: &f.bytes,
            start: Some(f.pos),
        };
        let root = ROOT;
        match key {
            "version" => match v {
                Value::String(s) if s.is_empty() => w.report(
                    Severity::Info,
                    "version",
                    &root,
                    "empty version: HAR 1.1 is implied".into(),
                ),
                Value::String(s) if s == "1.1" || s == "1.2" => {}
                Value::String(s) => w.report(
                    Severity::Warning,
                    "version",
                    &root,
                    format!("unknown HAR version {s:?} (expected \"1.2\")"),
                ),
                other => w.report(
                    Severity::Error,
                    "wrong-type",
                    &root,
                    format!("expected a string, found {}", describe_value(other)),
                ),
            },
            "creator" | "browser" => match v {
                Value::Object(o) => {
                    w.str_field(o, "name", &root, Req::Required);
                    w.str_field(o, "version", &root, Req::Required);
                    w.str_field(o, "comment", &root, Req::Optional);
                    w.known(o, &root, &["name", "version", "comment"]);
                }
                other => w.report(
                    Severity::Error,
                    "wrong-type",
                    &root,
                    format!("expected an object, found {}", describe_value(other)),
                ),
            },
            "pages" => match v {
                Value::Array(pages) => {
                    for (i, page) in pages.iter().enumerate() {
                        let pp = root.i(i);
                        let Some(o) = page.as_object() else {
                            w.report(
                                Severity::Error,
                                "wrong-type",
                                &pp,
                                format!("expected a page object, found {}", describe_value(page)),
                            );
                            continue;
                        };
                        w.date_field(o, "startedDateTime", &pp);
                        if let Some(id) = w
                            .field(o, "id", &pp, Kind::Str, Req::Required)
                            .and_then(Json::as_str)
                        {
                            if !self.page_ids.insert(id.to_string()) {
                                w.report(
                                    Severity::Warning,
                                    "duplicate-page-id",
                                    &pp.k("id"),
                                    format!("page id {id:?} is used by an earlier page too"),
                                );
                            }
                        }
                        w.str_field(o, "title", &pp, Req::Required);
                        if let Some(t) = w
                            .field(
                                o,
                                "pageTimings",
                                &pp,
                                Kind::Obj,
                                Req::Quirk("some producers omit it"),
                            )
                            .and_then(Json::as_object)
                        {
                            let tp = pp.k("pageTimings");
                            w.num_field(
                                t,
                                "onContentLoad",
                                &tp,
                                Kind::Num,
                                Req::Optional,
                                MinusOne::Allowed,
                            );
                            w.num_field(
                                t,
                                "onLoad",
                                &tp,
                                Kind::Num,
                                Req::Optional,
                                MinusOne::Allowed,
                            );
                            w.str_field(t, "comment", &tp, Req::Optional);
                            w.known(t, &tp, &["onContentLoad", "onLoad", "comment"]);
                        }
                        w.str_field(o, "comment", &pp, Req::Optional);
                        w.known(
                            o,
                            &pp,
                            &["startedDateTime", "id", "title", "pageTimings", "comment"],
                        );
                    }
                }
                other => w.report(
                    Severity::Error,
                    "wrong-type",
                    &root,
                    format!(
                        "expected an array of pages, found {}",
                        describe_value(other)
                    ),
                ),
            },
            "comment" => {
                if !v.is_string() {
                    w.report(
                        Severity::Warning,
                        "wrong-type",
                        &root,
                        format!("expected a string, found {}", describe_value(v)),
                    );
                }
            }
            "entries" => w.report(
                Severity::Error,
                "duplicate-field",
                &root,
                "a second `entries` array; readers keep only one of them".into(),
            ),
            _ if key.starts_with('_') => {}
            _ => w.report(
                Severity::Warning,
                "non-standard-field",
                &root,
                format!("`{key}` is not a HAR 1.2 field (custom fields start with '_')"),
            ),
        }
    }

    /// Note that `count` entries, the first at `first`, refer to page `pageref`;
    /// references to pages that never appear are reported by [`Validator::finish`].
    pub fn pageref(&mut self, first: usize, pageref: &str, count: usize) {
        if !self.page_ids.contains(pageref) {
            let slot = self
                .pending_pagerefs
                .entry(pageref.to_string())
                .or_insert((first, 0, None));
            slot.1 += count;
        }
    }

    /// Validate what only the end can tell: fields that followed `entries`, required
    /// header fields, page references.
    pub fn finish(&mut self, header: &Header, raw: &[RawField], out: &mut Vec<Problem>) {
        self.header(header, raw, out);
        let mut w = Reporter {
            validator_id: self.id,
            out,
            entry: None,
            base: "log",
            raw: &[],
            start: None,
        };
        let root = ROOT;
        if !header.log.contains_key("version") {
            w.report(
                Severity::Warning,
                "missing-field",
                &root,
                "`version` is missing (\"1.2\" expected)".into(),
            );
        }
        if !header.log.contains_key("creator") {
            w.report(
                Severity::Error,
                "missing-field",
                &root,
                "`creator` is required ({name, version}) but missing".into(),
            );
        }
        if !header.has_entries {
            w.report(
                Severity::Error,
                "missing-field",
                &root,
                "`entries` is required but missing".into(),
            );
        }
        for (r, (first, count, pos)) in std::mem::take(&mut self.pending_pagerefs) {
            if self.page_ids.contains(&r) {
                continue;
            }
            out.push(Problem {
                severity: Severity::Warning,
                code: "unknown-page",
                path: format!("log.entries[{first}].pageref"),
                entry: Some(first),
                pos,
                message: format!(
                    "pageref {r:?} names no page in log.pages ({count} entries refer to it)"
                ),
            });
        }
    }
}
