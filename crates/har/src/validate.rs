//! HAR 1.2 validation. Every problem says where it is (entry, JSON path, line:column),
//! what was expected and what was found, and how bad it is: an `error` breaks the spec in
//! a way readers choke on; a `warning` is a deviation real producers are known to make
//! (hark and most viewers cope, strict validators such as `har-validator` may not).

use crate::error::Pos;
use crate::json::{Json, JsonObject, Kind as JsonKind};
use crate::locate::{locate, Seg};
use crate::model::Header;
use crate::reader::RawField;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

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
enum S<'a> {
    K(&'a str),
    I(usize),
}

#[derive(Clone, Copy)]
struct P<'a> {
    parent: Option<&'a P<'a>>,
    seg: Option<S<'a>>,
}

const ROOT: P<'static> = P {
    parent: None,
    seg: None,
};

impl<'a> P<'a> {
    fn k(&'a self, key: &'a str) -> P<'a> {
        P {
            parent: Some(self),
            seg: Some(S::K(key)),
        }
    }
    fn i(&'a self, i: usize) -> P<'a> {
        P {
            parent: Some(self),
            seg: Some(S::I(i)),
        }
    }
    fn segs(&self) -> Vec<Seg> {
        let mut v = Vec::new();
        let mut p = Some(self);
        while let Some(node) = p {
            match node.seg {
                Some(S::K(k)) => v.push(Seg::Key(k.to_string())),
                Some(S::I(i)) => v.push(Seg::Index(i)),
                None => {}
            }
            p = node.parent;
        }
        v.reverse();
        v
    }
}

pub fn path_string(base: &str, segs: &[Seg]) -> String {
    let mut s = base.to_string();
    for seg in segs {
        match seg {
            Seg::Key(k)
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') =>
            {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Key(k) => {
                s.push('[');
                s.push_str(&serde_json::to_string(k).unwrap_or_default());
                s.push(']');
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Num,
    Int,
    Bool,
    Obj,
    Arr,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Num => "a number",
            Kind::Int => "an integer",
            Kind::Bool => "a boolean",
            Kind::Obj => "an object",
            Kind::Arr => "an array",
        }
    }
    fn accepts<J: Json>(self, v: &J) -> bool {
        matches!(
            (self, v.kind()),
            (Kind::Str, JsonKind::String)
                | (Kind::Num | Kind::Int, JsonKind::Number)
                | (Kind::Bool, JsonKind::Bool)
                | (Kind::Obj, JsonKind::Object)
                | (Kind::Arr, JsonKind::Array)
        )
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Req {
    Required,
    /// Required by the spec, but known producers leave it out (the text says who).
    Quirk(&'static str),
    Optional,
}

pub fn describe_str(s: &str) -> String {
    let mut t: String = s.chars().take(40).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    format!(
        "the string {}",
        serde_json::to_string(&t).unwrap_or_default()
    )
}

pub fn describe_value<J: Json>(v: &J) -> String {
    match v.kind() {
        JsonKind::Null => "null".into(),
        JsonKind::Bool => format!("the boolean {}", v.as_bool().unwrap_or_default()),
        JsonKind::Number => format!("the number {}", v.number_text().unwrap_or_default()),
        JsonKind::String => describe_str(v.as_str().unwrap_or_default()),
        JsonKind::Array => format!("an array of {} items", v.as_array().map_or(0, <[J]>::len)),
        JsonKind::Object => "an object".into(),
    }
}

/// How many problems of each kind get a line and column (see `W::should_locate`).
pub const LOCATED_PER_KIND: usize = 5;

thread_local! {
    static LOCATED: std::cell::RefCell<std::collections::HashMap<u64, usize, foldhash::fast::FixedState>> =
        Default::default();
}

static NEXT_VALIDATOR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

struct W<'a> {
    validator_id: u64,
    out: &'a mut Vec<Problem>,
    entry: Option<usize>,
    base: &'a str,
    raw: &'a [u8],
    start: Option<Pos>,
}

impl W<'_> {
    fn report(&mut self, severity: Severity, code: &'static str, p: &P<'_>, message: String) {
        let segs = p.segs();
        let pos = match self.start {
            Some(s) if self.should_locate(code, &segs) => Some(locate(self.raw, s, &segs)),
            _ => None,
        };
        self.out.push(Problem {
            severity,
            code,
            path: path_string(self.base, &segs),
            entry: self.entry,
            pos,
            message,
        });
    }

    /// Finding a line and column means scanning the entry again, and a quirk repeated
    /// in every entry would do that a million times for nothing: only the first
    /// [`LOCATED_PER_KIND`] problems of each kind (code and path without indexes) seen by
    /// a thread for one validator get a position. Entries are handed to threads in file
    /// order, so the first problems of each kind in the file are always among them.
    fn should_locate(&self, code: &'static str, segs: &[Seg]) -> bool {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = foldhash::fast::FixedState::default().build_hasher();
        self.validator_id.hash(&mut h);
        code.hash(&mut h);
        for seg in segs {
            if let Seg::Key(k) = seg {
                k.hash(&mut h);
            }
        }
        let kind = h.finish();
        LOCATED.with(|m| {
            let mut m = m.borrow_mut();
            let n = m.entry(kind).or_insert(0);
            *n += 1;
            *n <= LOCATED_PER_KIND
        })
    }

    fn field<'v, O: JsonObject>(
        &mut self,
        obj: &'v O,
        key: &str,
        p: &P<'_>,
        kind: Kind,
        req: Req,
    ) -> Option<&'v O::Value> {
        let fp = p.k(key);
        match obj.get(key) {
            None => {
                match req {
                    Req::Required => self.report(
                        Severity::Error,
                        "missing-field",
                        p,
                        format!("`{key}` is required ({}) but missing", kind.name()),
                    ),
                    Req::Quirk(who) => self.report(
                        Severity::Warning,
                        "missing-field",
                        p,
                        format!("`{key}` is required by HAR 1.2 but missing ({who}); strict readers reject this"),
                    ),
                    Req::Optional => {}
                }
                None
            }
            Some(v) if v.kind() == JsonKind::Null => {
                self.report(
                    Severity::Warning,
                    "null-value",
                    &fp,
                    format!("null where HAR 1.2 wants {}", kind.name()),
                );
                None
            }
            Some(v) if !kind.accepts(v) => {
                self.report(
                    Severity::Error,
                    "wrong-type",
                    &fp,
                    format!("expected {}, found {}", kind.name(), describe_value(v)),
                );
                None
            }
            Some(v) => {
                if kind == Kind::Int && v.as_i64().is_none() {
                    self.report(
                        Severity::Warning,
                        "not-integer",
                        &fp,
                        format!("expected an integer, found {}", describe_value(v)),
                    );
                }
                Some(v)
            }
        }
    }

    fn known<O: JsonObject>(&mut self, obj: &O, p: &P<'_>, fields: &[&str]) {
        for k in obj.keys() {
            if !k.starts_with('_') && !fields.contains(&k) {
                self.report(
                    Severity::Warning,
                    "non-standard-field",
                    &p.k(k),
                    format!("`{k}` is not a HAR 1.2 field (custom fields start with '_')"),
                );
            }
        }
    }

    fn str_field<O: JsonObject>(&mut self, obj: &O, key: &str, p: &P<'_>, req: Req) -> Option<()> {
        self.field(obj, key, p, Kind::Str, req).map(|_| ())
    }

    /// A number that must be ≥ `min`; `-1` is allowed where `minus_one` is true.
    fn num_field<O: JsonObject>(
        &mut self,
        obj: &O,
        key: &str,
        p: &P<'_>,
        kind: Kind,
        req: Req,
        minus_one: MinusOne,
    ) -> Option<f64> {
        let v = self.field(obj, key, p, kind, req)?.as_f64()?;
        if v < 0.0 {
            let fp = p.k(key);
            let (sev, msg) = match minus_one {
                MinusOne::Allowed if v == -1.0 => return Some(v),
                MinusOne::Allowed => (Severity::Warning, format!("{v} is below -1, the value for 'not available' (Playwright writes negative sizes for some responses)")),
                MinusOne::Quirk(who) if v == -1.0 => (Severity::Warning, format!("-1 where HAR 1.2 wants a value ≥ 0 ({who})")),
                MinusOne::Quirk(_) | MinusOne::No => (Severity::Warning, format!("{v} is negative")),
            };
            self.report(sev, "out-of-range", &fp, msg);
        }
        Some(v)
    }

    fn date_field<O: JsonObject>(&mut self, obj: &O, key: &str, p: &P<'_>) {
        if let Some(s) = self
            .field(obj, key, p, Kind::Str, Req::Required)
            .and_then(Json::as_str)
        {
            if crate::time::parse_ms(s).is_none() {
                self.report(
                    Severity::Error,
                    "invalid-date",
                    &p.k(key),
                    format!(
                        "expected an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z, found {}",
                        describe_str(s)
                    ),
                );
            } else if !crate::time::has_zone(s) {
                self.report(
                    Severity::Warning,
                    "date-without-zone",
                    &p.k(key),
                    "date-time without a time zone; read as UTC".into(),
                );
            }
        }
    }

    fn name_values<O: JsonObject>(
        &mut self,
        obj: &O,
        key: &str,
        p: &P<'_>,
        req: Req,
        extra: &[&str],
    ) {
        let Some(items) = self
            .field(obj, key, p, Kind::Arr, req)
            .and_then(Json::as_array)
        else {
            return;
        };
        let ap = p.k(key);
        for (i, item) in items.iter().enumerate() {
            let ip = ap.i(i);
            let Some(o) = item.as_object() else {
                self.report(
                    Severity::Error,
                    "wrong-type",
                    &ip,
                    format!("expected an object, found {}", describe_value(item)),
                );
                continue;
            };
            self.str_field(o, "name", &ip, Req::Required);
            self.str_field(
                o,
                "value",
                &ip,
                if extra.contains(&"fileName") {
                    Req::Optional
                } else {
                    Req::Required
                },
            );
            self.str_field(o, "comment", &ip, Req::Optional);
            let mut fields = vec!["name", "value", "comment"];
            fields.extend_from_slice(extra);
            self.known(o, &ip, &fields);
        }
    }
}

#[derive(Clone, Copy)]
enum MinusOne {
    Allowed,
    Quirk(&'static str),
    No,
}

const COOKIE_FIELDS: &[&str] = &[
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
        let mut w = W {
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

    /// Validate one entry. `raw` and `start` are the entry's bytes and position, used to
    /// give each problem its line and column.
    pub fn entry<J: Json>(
        &self,
        index: usize,
        value: &J,
        raw: &[u8],
        start: Pos,
        out: &mut Vec<Problem>,
    ) {
        let base = format!("log.entries[{index}]");
        let mut w = W {
            validator_id: self.id,
            out,
            entry: Some(index),
            base: &base,
            raw,
            start: Some(start),
        };
        let root = ROOT;
        let Some(e) = value.as_object() else {
            w.report(
                Severity::Error,
                "wrong-type",
                &root,
                format!("expected an entry object, found {}", describe_value(value)),
            );
            return;
        };
        w.known(
            e,
            &root,
            &[
                "pageref",
                "startedDateTime",
                "time",
                "request",
                "response",
                "cache",
                "timings",
                "serverIPAddress",
                "connection",
                "comment",
            ],
        );
        w.str_field(e, "pageref", &root, Req::Optional);
        w.date_field(e, "startedDateTime", &root);
        w.num_field(e, "time", &root, Kind::Num, Req::Required, MinusOne::No);
        if let Some(r) = w
            .field(e, "request", &root, Kind::Obj, Req::Required)
            .and_then(Json::as_object)
        {
            request(&mut w, r, &root.k("request"));
        }
        if let Some(r) = w
            .field(e, "response", &root, Kind::Obj, Req::Required)
            .and_then(Json::as_object)
        {
            response(&mut w, r, &root.k("response"));
        }
        if let Some(c) = w
            .field(
                e,
                "cache",
                &root,
                Kind::Obj,
                Req::Quirk("some producers omit it"),
            )
            .and_then(Json::as_object)
        {
            let cp = root.k("cache");
            for k in ["beforeRequest", "afterRequest"] {
                if let Some(ce) = w
                    .field(c, k, &cp, Kind::Obj, Req::Optional)
                    .and_then(Json::as_object)
                {
                    let kp = cp.k(k);
                    w.str_field(ce, "expires", &kp, Req::Optional);
                    w.str_field(
                        ce,
                        "lastAccess",
                        &kp,
                        Req::Quirk("Firefox writes other fields here"),
                    );
                    w.str_field(
                        ce,
                        "eTag",
                        &kp,
                        Req::Quirk("Firefox writes other fields here"),
                    );
                    w.num_field(
                        ce,
                        "hitCount",
                        &kp,
                        Kind::Int,
                        Req::Quirk("Firefox writes other fields here"),
                        MinusOne::No,
                    );
                    w.str_field(ce, "comment", &kp, Req::Optional);
                    w.known(
                        ce,
                        &kp,
                        &["expires", "lastAccess", "eTag", "hitCount", "comment"],
                    );
                }
            }
            w.str_field(c, "comment", &cp, Req::Optional);
            w.known(c, &cp, &["beforeRequest", "afterRequest", "comment"]);
        }
        if let Some(t) = w
            .field(e, "timings", &root, Kind::Obj, Req::Required)
            .and_then(Json::as_object)
        {
            let tp = root.k("timings");
            for k in ["blocked", "dns", "connect", "ssl"] {
                w.num_field(t, k, &tp, Kind::Num, Req::Optional, MinusOne::Allowed);
            }
            for k in ["send", "wait", "receive"] {
                w.num_field(
                    t,
                    k,
                    &tp,
                    Kind::Num,
                    Req::Quirk("Firefox writes `timings: {}` for some entries"),
                    MinusOne::Quirk("some producers write -1 for a phase that did not happen"),
                );
            }
            w.str_field(t, "comment", &tp, Req::Optional);
            w.known(
                t,
                &tp,
                &[
                    "blocked", "dns", "connect", "ssl", "send", "wait", "receive", "comment",
                ],
            );
        }
        w.str_field(e, "serverIPAddress", &root, Req::Optional);
        match e.get("connection") {
            Some(v) if v.kind() == JsonKind::Number => w.report(
                Severity::Warning,
                "wrong-type",
                &root.k("connection"),
                "a number where HAR 1.2 wants a string (the connection id or port)".into(),
            ),
            _ => {
                w.str_field(e, "connection", &root, Req::Optional);
            }
        }
        w.str_field(e, "comment", &root, Req::Optional);
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
        let mut w = W {
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

fn request<O: JsonObject>(w: &mut W<'_>, r: &O, p: &P<'_>) {
    if let Some(m) = w
        .field(r, "method", p, Kind::Str, Req::Required)
        .and_then(Json::as_str)
    {
        if m.is_empty() {
            w.report(
                Severity::Warning,
                "empty-value",
                &p.k("method"),
                "empty method".into(),
            );
        }
    }
    if let Some(u) = w
        .field(r, "url", p, Kind::Str, Req::Required)
        .and_then(Json::as_str)
    {
        match url_problem(u) {
            Some((Severity::Error, msg)) => {
                w.report(Severity::Error, "invalid-url", &p.k("url"), msg)
            }
            Some((sev, msg)) => w.report(sev, "url-fragment", &p.k("url"), msg),
            None => {}
        }
    }
    w.str_field(r, "httpVersion", p, Req::Required);
    cookies(w, r, p);
    w.name_values(r, "headers", p, Req::Required, &[]);
    w.name_values(
        r,
        "queryString",
        p,
        Req::Quirk("Firefox and Insomnia omit it"),
        &[],
    );
    if let Some(pd) = w
        .field(r, "postData", p, Kind::Obj, Req::Optional)
        .and_then(Json::as_object)
    {
        let pp = p.k("postData");
        w.str_field(pd, "mimeType", &pp, Req::Quirk("some producers omit it"));
        w.name_values(
            pd,
            "params",
            &pp,
            Req::Optional,
            &["fileName", "contentType"],
        );
        w.str_field(pd, "text", &pp, Req::Optional);
        w.str_field(pd, "comment", &pp, Req::Optional);
        w.known(pd, &pp, &["mimeType", "params", "text", "comment"]);
    }
    sizes_and_comment(w, r, p, "some producers omit it");
    w.known(
        r,
        p,
        &[
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "postData",
            "headersSize",
            "bodySize",
            "comment",
        ],
    );
}

/// `headersSize`, `bodySize` and `comment`, which requests and responses share.
fn sizes_and_comment<O: JsonObject>(
    w: &mut W<'_>,
    r: &O,
    p: &P<'_>,
    headers_size_quirk: &'static str,
) {
    w.num_field(
        r,
        "headersSize",
        p,
        Kind::Int,
        Req::Quirk(headers_size_quirk),
        MinusOne::Allowed,
    );
    w.num_field(
        r,
        "bodySize",
        p,
        Kind::Int,
        Req::Quirk("some producers omit it"),
        MinusOne::Allowed,
    );
    w.str_field(r, "comment", p, Req::Optional);
}

fn cookies<O: JsonObject>(w: &mut W<'_>, obj: &O, p: &P<'_>) {
    let Some(items) = w
        .field(
            obj,
            "cookies",
            p,
            Kind::Arr,
            Req::Quirk("some producers omit it"),
        )
        .and_then(Json::as_array)
    else {
        return;
    };
    let cp = p.k("cookies");
    for (i, c) in items.iter().enumerate() {
        let ip = cp.i(i);
        let Some(o) = c.as_object() else {
            w.report(
                Severity::Error,
                "wrong-type",
                &ip,
                format!("expected a cookie object, found {}", describe_value(c)),
            );
            continue;
        };
        w.str_field(o, "name", &ip, Req::Required);
        w.str_field(o, "value", &ip, Req::Required);
        w.str_field(o, "path", &ip, Req::Optional);
        w.str_field(o, "domain", &ip, Req::Optional);
        if let Some(s) = o.get("expires").and_then(Json::as_str) {
            if !s.is_empty() && crate::time::parse_ms(s).is_none() {
                w.report(
                    Severity::Warning,
                    "invalid-date",
                    &ip.k("expires"),
                    format!("expected an ISO 8601 date-time, found {}", describe_str(s)),
                );
            }
        } else {
            w.str_field(o, "expires", &ip, Req::Optional);
        }
        w.field(o, "httpOnly", &ip, Kind::Bool, Req::Optional);
        w.field(o, "secure", &ip, Kind::Bool, Req::Optional);
        w.str_field(o, "comment", &ip, Req::Optional);
        w.known(o, &ip, COOKIE_FIELDS);
    }
}

fn response<O: JsonObject>(w: &mut W<'_>, r: &O, p: &P<'_>) {
    if let Some(s) = w.num_field(
        r,
        "status",
        p,
        Kind::Int,
        Req::Required,
        MinusOne::Quirk("Playwright writes -1 for a request that failed"),
    ) {
        if s > 999.0 {
            w.report(
                Severity::Error,
                "out-of-range",
                &p.k("status"),
                format!("status {s} is not an HTTP status code"),
            );
        }
    }
    w.str_field(r, "statusText", p, Req::Required);
    w.str_field(r, "httpVersion", p, Req::Required);
    cookies(w, r, p);
    w.name_values(r, "headers", p, Req::Required, &[]);
    if let Some(c) = w
        .field(r, "content", p, Kind::Obj, Req::Required)
        .and_then(Json::as_object)
    {
        let cp = p.k("content");
        w.num_field(
            c,
            "size",
            &cp,
            Kind::Int,
            Req::Quirk("Firefox and mitmproxy omit it on some responses"),
            MinusOne::Quirk("Firefox and Playwright write -1 when they do not know"),
        );
        if let Some(n) = c
            .get("compression")
            .filter(|v| v.kind() == JsonKind::Number)
        {
            if n.as_f64().is_some_and(|v| v < 0.0) {
                w.report(
                    Severity::Warning,
                    "out-of-range",
                    &cp.k("compression"),
                    format!(
                        "negative compression {} (Safari and chrome-har-capturer write these)",
                        n.number_text().unwrap_or_default()
                    ),
                );
            }
        } else {
            w.field(c, "compression", &cp, Kind::Num, Req::Optional);
        }
        w.str_field(
            c,
            "mimeType",
            &cp,
            Req::Quirk("mitmproxy omits it on some responses"),
        );
        w.str_field(c, "text", &cp, Req::Optional);
        w.str_field(c, "encoding", &cp, Req::Optional);
        w.str_field(c, "comment", &cp, Req::Optional);
        w.known(
            c,
            &cp,
            &[
                "size",
                "compression",
                "mimeType",
                "text",
                "encoding",
                "comment",
            ],
        );
    }
    w.str_field(r, "redirectURL", p, Req::Quirk("some producers omit it"));
    sizes_and_comment(w, r, p, "Firefox omits it on some responses");
    w.known(
        r,
        p,
        &[
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
            "comment",
        ],
    );
}

/// What is wrong with a request URL, if anything: not absolute (error), or carrying a
/// fragment (warning: HAR 1.2 says fragments are not included).
pub fn url_problem(u: &str) -> Option<(Severity, String)> {
    let scheme_end = u.find(':');
    let valid_scheme = scheme_end.is_some_and(|i| {
        i > 0
            && u.as_bytes()[0].is_ascii_alphabetic()
            && u[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    if !valid_scheme {
        return Some((
            Severity::Error,
            format!("not an absolute URL: {}", describe_str(u)),
        ));
    }
    let scheme = u[..scheme_end.unwrap()].to_ascii_lowercase();
    if matches!(scheme.as_str(), "http" | "https" | "ws" | "wss") {
        let rest = &u[scheme.len() + 1..];
        let host_ok = rest.strip_prefix("//").is_some_and(|r| {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.starts_with(':')
        });
        if !host_ok {
            return Some((
                Severity::Error,
                format!("{scheme} URL without a host: {}", describe_str(u)),
            ));
        }
        if u.contains('#') {
            return Some((
                Severity::Warning,
                "the URL has a fragment (#…); HAR 1.2 URLs exclude fragments".into(),
            ));
        }
    }
    None
}
