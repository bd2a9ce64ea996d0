//! The walk's reporter: reads fields of the expected kind, and reports each problem
//! with its path and (for the first few of a kind) its line and column.

use super::path::{path_string, Path};
use super::MinusOne;
use super::{Problem, Severity};
use crate::error::Pos;
use crate::json::{Json, JsonObject, Kind as JsonKind};
use crate::locate::{locate, Seg};

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Str,
    Num,
    Int,
    Bool,
    Obj,
    Arr,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Num => "a number",
            Kind::Int => "an integer",
            Kind::Bool => "a boolean",
            Kind::Obj => "an object",
            Kind::Arr => "an array",
        }
    }
    pub(super) fn accepts<J: Json>(self, v: &J) -> bool {
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
pub(super) enum Req {
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

/// How many problems of each kind get a line and column (see `Reporter::should_locate`).
pub const LOCATED_PER_KIND: usize = 5;

thread_local! {
    pub(super) static LOCATED: std::cell::RefCell<std::collections::HashMap<u64, usize, foldhash::fast::FixedState>> =
        Default::default();
}

pub(super) static NEXT_VALIDATOR: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

pub(super) struct Reporter<'a> {
    pub(super) validator_id: u64,
    pub(super) out: &'a mut Vec<Problem>,
    pub(super) entry: Option<usize>,
    pub(super) base: &'a str,
    pub(super) raw: &'a [u8],
    pub(super) start: Option<Pos>,
}

impl Reporter<'_> {
    pub(super) fn report(
        &mut self,
        severity: Severity,
        code: &'static str,
        p: &Path<'_>,
        message: String,
    ) {
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
    pub(super) fn should_locate(&self, code: &'static str, segs: &[Seg]) -> bool {
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

    pub(super) fn field<'v, O: JsonObject>(
        &mut self,
        obj: &'v O,
        key: &str,
        p: &Path<'_>,
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
            Some(v) if v.kind() == JsonKind::Number && v.as_f64().is_none() => {
                self.report(
                    Severity::Error,
                    "not-finite",
                    &fp,
                    format!(
                        "{} is not a finite number (beyond a double's range; readers get infinity)",
                        v.number_text().unwrap_or_default()
                    ),
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

    pub(super) fn known<O: JsonObject>(&mut self, obj: &O, p: &Path<'_>, fields: &[&str]) {
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

    pub(super) fn str_field<O: JsonObject>(
        &mut self,
        obj: &O,
        key: &str,
        p: &Path<'_>,
        req: Req,
    ) -> Option<()> {
        self.field(obj, key, p, Kind::Str, req).map(|_| ())
    }

    /// A number that must be ≥ `min`; `-1` is allowed where `minus_one` is true.
    pub(super) fn num_field<O: JsonObject>(
        &mut self,
        obj: &O,
        key: &str,
        p: &Path<'_>,
        kind: Kind,
        req: Req,
        minus_one: MinusOne,
    ) -> Option<f64> {
        let j = self.field(obj, key, p, kind, req)?;
        let v = j.as_f64()?;
        if v < 0.0 {
            // Quoted as written: `-99999999999999999999`, not its rounded double.
            let text = j.number_text().unwrap_or_default();
            let fp = p.k(key);
            let (sev, msg) = match minus_one {
                MinusOne::Allowed if v == -1.0 => return Some(v),
                MinusOne::Allowed => (Severity::Warning, format!("{text} is below -1, the value for 'not available' (Playwright writes negative sizes for some responses)")),
                MinusOne::Quirk(who) if v == -1.0 => (Severity::Warning, format!("-1 where HAR 1.2 wants a value ≥ 0 ({who})")),
                MinusOne::Quirk(_) | MinusOne::No => (Severity::Warning, format!("{text} is negative")),
            };
            self.report(sev, "out-of-range", &fp, msg);
        }
        Some(v)
    }

    pub(super) fn date_field<O: JsonObject>(&mut self, obj: &O, key: &str, p: &Path<'_>) {
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

    pub(super) fn name_values<O: JsonObject>(
        &mut self,
        obj: &O,
        key: &str,
        p: &Path<'_>,
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
