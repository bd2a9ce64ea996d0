//! The HAR 1.2 model.
//!
//! Every object is kept as the JSON the producer wrote: all fields, known or not
//! (`_initiator`, `_resourceType`, vendor fields), in their order, with numbers as
//! written (serde_json's `preserve_order` and `arbitrary_precision`). Typed, lenient
//! views ([`Request`], [`Response`], [`Content`], [`Timings`], …) read the fields the
//! spec names; a field that is missing or of the wrong type reads as `None` (or empty),
//! never as a panic. Validation ([`crate::validate`]) says what is off.

use crate::json::{Json, JsonObject};
use serde_json::{Map, Value};

pub type Object = Map<String, Value>;

/// Views copy freely whatever tree they look at.
macro_rules! view {
    ($(#[$m:meta])* $name:ident, $inner:ty) => {
        $(#[$m])*
        pub struct $name<'a, J: Json = Value>(pub $inner);
        impl<J: Json> Clone for $name<'_, J> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<J: Json> Copy for $name<'_, J> {}
        impl<J: Json> std::fmt::Debug for $name<'_, J> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}

view!(
    /// A borrowed JSON object with lenient typed getters.
    Obj,
    &'a J::Object
);

impl<'a, J: Json + 'a> Obj<'a, J> {
    pub fn empty() -> Obj<'a, J> {
        Obj(J::Object::empty())
    }
    pub fn of(v: Option<&'a J>) -> Obj<'a, J> {
        match v.and_then(J::as_object) {
            Some(m) => Obj(m),
            None => Obj::empty(),
        }
    }
    pub fn get(&self, key: &str) -> Option<&'a J> {
        self.0.get(key)
    }
    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(J::as_str)
    }
    pub fn num(&self, key: &str) -> Option<f64> {
        self.0.get(key).and_then(J::as_f64)
    }
    pub fn int(&self, key: &str) -> Option<i64> {
        let v = self.0.get(key)?;
        v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
    }
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.0.get(key).and_then(J::as_bool)
    }
    pub fn obj(&self, key: &str) -> Obj<'a, J> {
        Obj::of(self.0.get(key))
    }
    pub fn arr(&self, key: &str) -> &'a [J] {
        self.0.get(key).and_then(J::as_array).unwrap_or(&[])
    }
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

/// Everything in the file except the entries: top-level keys other than `log`, and the
/// `log` object's keys other than `entries`, each in document order, with where
/// `entries` (and `log`) stood so a writer can put them back in place.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Header {
    /// `log` fields other than `entries`, in document order.
    pub log: Object,
    /// How many of `log`'s fields came before `entries`.
    pub entries_at: usize,
    /// Whether the file has an `entries` key at all.
    pub has_entries: bool,
    /// Top-level fields other than `log` (rare; kept as they were).
    pub outer: Object,
    /// How many top-level fields came before `log`.
    pub log_at: usize,
}

impl Header {
    fn obj(&self) -> Obj<'_> {
        Obj(&self.log)
    }
    pub fn version(&self) -> Option<&str> {
        self.obj().str("version")
    }
    pub fn creator(&self) -> Obj<'_> {
        self.obj().obj("creator")
    }
    pub fn browser(&self) -> Obj<'_> {
        self.obj().obj("browser")
    }
    /// `creator.name creator.version`, for display.
    pub fn producer(&self) -> String {
        let c = self.creator();
        match (c.str("name"), c.str("version")) {
            (Some(n), Some(v)) if !v.is_empty() => format!("{n} {v}"),
            (Some(n), _) => n.to_string(),
            _ => "unknown producer".to_string(),
        }
    }
    pub fn pages(&self) -> &[Value] {
        self.obj().arr("pages")
    }
    pub fn page(&self, id: &str) -> Option<Page<'_>> {
        self.pages()
            .iter()
            .map(|p| Page(Obj::of(Some(p))))
            .find(|p| p.id() == Some(id))
    }
    pub fn comment(&self) -> Option<&str> {
        self.obj().str("comment")
    }
}

/// A page of `log.pages`.
#[derive(Clone, Copy, Debug)]
pub struct Page<'a>(pub Obj<'a>);

impl<'a> Page<'a> {
    pub fn id(&self) -> Option<&'a str> {
        self.0.str("id")
    }
    pub fn title(&self) -> Option<&'a str> {
        self.0.str("title")
    }
    pub fn started_date_time(&self) -> Option<&'a str> {
        self.0.str("startedDateTime")
    }
    pub fn on_content_load(&self) -> Option<f64> {
        self.0
            .obj("pageTimings")
            .num("onContentLoad")
            .filter(|t| *t >= 0.0)
    }
    pub fn on_load(&self) -> Option<f64> {
        self.0
            .obj("pageTimings")
            .num("onLoad")
            .filter(|t| *t >= 0.0)
    }
}

/// One entry of `log.entries`, exactly as written, with its index in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub index: usize,
    /// The entry's JSON. An entry should be an object; if the file has something else
    /// there, it is kept (and validation reports it) and the typed views read as empty.
    pub value: Value,
}

impl Entry {
    /// Typed access; the methods below are shortcuts for it.
    pub fn view(&self) -> EntryView<'_> {
        EntryView(Obj::of(Some(&self.value)))
    }
    pub fn fields(&self) -> Obj<'_> {
        Obj::of(Some(&self.value))
    }
    pub fn fields_mut(&mut self) -> Option<&mut Object> {
        self.value.as_object_mut()
    }
    pub fn started_date_time(&self) -> Option<&str> {
        self.view().started_date_time()
    }
    /// `startedDateTime` as milliseconds since the Unix epoch.
    pub fn started_ms(&self) -> Option<f64> {
        self.view().started_ms()
    }
    pub fn time(&self) -> Option<f64> {
        self.view().time()
    }
    pub fn pageref(&self) -> Option<&str> {
        self.view().pageref()
    }
    pub fn server_ip_address(&self) -> Option<&str> {
        self.view().server_ip_address()
    }
    pub fn request(&self) -> Request<'_> {
        self.view().request()
    }
    pub fn response(&self) -> Response<'_> {
        self.view().response()
    }
    pub fn timings(&self) -> Timings {
        self.view().timings()
    }
    /// A custom (underscore) field of the entry, e.g. `custom("_resourceType")`.
    pub fn custom(&self, key: &str) -> Option<&Value> {
        self.view().custom(key)
    }
    /// Chrome's `_resourceType`, lower-cased.
    pub fn resource_type(&self) -> Option<String> {
        self.view().resource_type()
    }
}

view!(
    /// Typed, lenient access to an entry in either tree: [`Entry::view`] for the
    /// model, `EntryView(Obj::of(Some(&lite)))` for a [`crate::lite::Lite`] one.
    EntryView,
    Obj<'a, J>
);

impl<'a, J: Json + 'a> EntryView<'a, J> {
    pub fn fields(&self) -> Obj<'a, J> {
        self.0
    }
    pub fn started_date_time(&self) -> Option<&'a str> {
        self.0.str("startedDateTime")
    }
    /// `startedDateTime` as milliseconds since the Unix epoch.
    pub fn started_ms(&self) -> Option<f64> {
        self.started_date_time().and_then(crate::time::parse_ms)
    }
    pub fn time(&self) -> Option<f64> {
        self.0.num("time")
    }
    pub fn pageref(&self) -> Option<&'a str> {
        self.0.str("pageref")
    }
    pub fn server_ip_address(&self) -> Option<&'a str> {
        self.0.str("serverIPAddress")
    }
    pub fn request(&self) -> Request<'a, J> {
        Request(self.0.obj("request"))
    }
    pub fn response(&self) -> Response<'a, J> {
        Response(self.0.obj("response"))
    }
    pub fn timings(&self) -> Timings {
        Timings::from_obj(self.0.obj("timings"))
    }
    pub fn custom(&self, key: &str) -> Option<&'a J> {
        self.0.get(key)
    }
    pub fn resource_type(&self) -> Option<String> {
        self.0.str("_resourceType").map(|s| s.to_ascii_lowercase())
    }
}

view!(
    /// `name`/`value` pairs: headers, query string, form parameters.
    NameValues,
    &'a [J]
);

impl<'a, J: Json + 'a> NameValues<'a, J> {
    /// Pairs whose name and value are strings (a `null` value reads as "").
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0.iter().filter_map(|v| {
            let o = Obj::of(Some(v));
            Some((o.str("name")?, o.str("value").unwrap_or("")))
        })
    }
    /// First value of `name`, compared without regard to case.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    pub fn get_all<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + 'n
    where
        'a: 'n,
    {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

view!(Cookie, Obj<'a, J>);

impl<'a, J: Json + 'a> Cookie<'a, J> {
    pub fn name(&self) -> Option<&'a str> {
        self.0.str("name")
    }
    pub fn value(&self) -> Option<&'a str> {
        self.0.str("value")
    }
    pub fn path(&self) -> Option<&'a str> {
        self.0.str("path")
    }
    pub fn domain(&self) -> Option<&'a str> {
        self.0.str("domain")
    }
    pub fn expires(&self) -> Option<&'a str> {
        self.0.str("expires")
    }
    pub fn http_only(&self) -> Option<bool> {
        self.0.bool("httpOnly")
    }
    pub fn secure(&self) -> Option<bool> {
        self.0.bool("secure")
    }
    /// `sameSite` as Chrome and Playwright write it.
    pub fn same_site(&self) -> Option<&'a str> {
        self.0.str("sameSite")
    }
}

fn cookies<'a, J: Json + 'a>(o: Obj<'a, J>) -> impl Iterator<Item = Cookie<'a, J>> + 'a {
    o.arr("cookies").iter().map(|c| Cookie(Obj::of(Some(c))))
}

view!(Request, Obj<'a, J>);

impl<'a, J: Json + 'a> Request<'a, J> {
    pub fn method(&self) -> Option<&'a str> {
        self.0.str("method")
    }
    pub fn url(&self) -> Option<&'a str> {
        self.0.str("url")
    }
    pub fn http_version(&self) -> Option<&'a str> {
        self.0.str("httpVersion")
    }
    pub fn headers(&self) -> NameValues<'a, J> {
        NameValues(self.0.arr("headers"))
    }
    pub fn query_string(&self) -> NameValues<'a, J> {
        NameValues(self.0.arr("queryString"))
    }
    pub fn cookies(&self) -> impl Iterator<Item = Cookie<'a, J>> + 'a {
        cookies(self.0)
    }
    pub fn post_data(&self) -> Option<PostData<'a, J>> {
        self.0
            .get("postData")
            .and_then(J::as_object)
            .map(|m| PostData(Obj(m)))
    }
    pub fn headers_size(&self) -> Option<i64> {
        self.0.int("headersSize")
    }
    pub fn body_size(&self) -> Option<i64> {
        self.0.int("bodySize")
    }
}

view!(PostData, Obj<'a, J>);

impl<'a, J: Json + 'a> PostData<'a, J> {
    pub fn mime_type(&self) -> Option<&'a str> {
        self.0.str("mimeType")
    }
    pub fn text(&self) -> Option<&'a str> {
        self.0.str("text")
    }
    pub fn params(&self) -> NameValues<'a, J> {
        NameValues(self.0.arr("params"))
    }
}

view!(Response, Obj<'a, J>);

impl<'a, J: Json + 'a> Response<'a, J> {
    pub fn status(&self) -> Option<i64> {
        self.0.int("status")
    }
    pub fn status_text(&self) -> Option<&'a str> {
        self.0.str("statusText")
    }
    pub fn http_version(&self) -> Option<&'a str> {
        self.0.str("httpVersion")
    }
    pub fn headers(&self) -> NameValues<'a, J> {
        NameValues(self.0.arr("headers"))
    }
    pub fn cookies(&self) -> impl Iterator<Item = Cookie<'a, J>> + 'a {
        cookies(self.0)
    }
    pub fn content(&self) -> Content<'a, J> {
        Content(self.0.obj("content"))
    }
    pub fn redirect_url(&self) -> Option<&'a str> {
        self.0.str("redirectURL")
    }
    pub fn headers_size(&self) -> Option<i64> {
        self.0.int("headersSize")
    }
    pub fn body_size(&self) -> Option<i64> {
        self.0.int("bodySize")
    }
    /// Chrome's `_error` (e.g. `net::ERR_TIMED_OUT`) or the like on a failed exchange.
    pub fn error(&self) -> Option<&'a str> {
        self.0.str("_error").filter(|s| !s.is_empty())
    }
    /// Bytes on the wire: Chrome's `_transferSize`, else headers + body sizes when known.
    pub fn transfer_size(&self) -> Option<i64> {
        if let Some(t) = self.0.int("_transferSize").filter(|t| *t >= 0) {
            return Some(t);
        }
        let body = self.body_size().filter(|b| *b >= 0)?;
        let head = self.headers_size().filter(|h| *h >= 0).unwrap_or(0);
        Some(head + body)
    }
}

view!(Content, Obj<'a, J>);

impl<'a, J: Json + 'a> Content<'a, J> {
    pub fn size(&self) -> Option<i64> {
        self.0.int("size")
    }
    pub fn compression(&self) -> Option<i64> {
        self.0.int("compression")
    }
    pub fn mime_type(&self) -> Option<&'a str> {
        self.0.str("mimeType")
    }
    pub fn text(&self) -> Option<&'a str> {
        self.0.str("text")
    }
    pub fn encoding(&self) -> Option<&'a str> {
        self.0.str("encoding")
    }
    pub fn is_base64(&self) -> bool {
        self.encoding()
            .is_some_and(|e| e.eq_ignore_ascii_case("base64"))
    }
    pub fn comment(&self) -> Option<&'a str> {
        self.0.str("comment")
    }
    /// The body's bytes: `text` as written, or decoded when `encoding` is base64
    /// (`None`: no text, or base64 that does not decode).
    pub fn bytes(&self) -> Option<std::borrow::Cow<'a, [u8]>> {
        let t = self.text()?;
        if self.is_base64() {
            return crate::http::base64_bytes(t).map(std::borrow::Cow::Owned);
        }
        Some(std::borrow::Cow::Borrowed(t.as_bytes()))
    }
}

/// The seven timing phases in milliseconds; `None` where missing, `-1` kept as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Timings {
    pub blocked: Option<f64>,
    pub dns: Option<f64>,
    pub connect: Option<f64>,
    pub ssl: Option<f64>,
    pub send: Option<f64>,
    pub wait: Option<f64>,
    pub receive: Option<f64>,
}

impl Timings {
    /// Only the phases that happened: missing, `-1` and other negative values become
    /// `None`.
    pub fn happened(&self) -> Timings {
        let pos = |v: Option<f64>| v.filter(|x| *x >= 0.0);
        Timings {
            blocked: pos(self.blocked),
            dns: pos(self.dns),
            connect: pos(self.connect),
            ssl: pos(self.ssl),
            send: pos(self.send),
            wait: pos(self.wait),
            receive: pos(self.receive),
        }
    }

    pub fn from_obj<J: Json>(o: Obj<'_, J>) -> Timings {
        Timings {
            blocked: o.num("blocked"),
            dns: o.num("dns"),
            connect: o.num("connect"),
            ssl: o.num("ssl"),
            send: o.num("send"),
            wait: o.num("wait"),
            receive: o.num("receive"),
        }
    }
    /// The entry time the spec implies: the sum of the phases that happened, with `ssl`
    /// not counted again because it is part of `connect`.
    pub fn total(&self) -> f64 {
        [
            self.blocked,
            self.dns,
            self.connect,
            self.send,
            self.wait,
            self.receive,
        ]
        .iter()
        .flatten()
        .filter(|t| **t > 0.0)
        .sum()
    }
    pub fn phases(&self) -> [(&'static str, Option<f64>); 7] {
        [
            ("blocked", self.blocked),
            ("dns", self.dns),
            ("connect", self.connect),
            ("ssl", self.ssl),
            ("send", self.send),
            ("wait", self.wait),
            ("receive", self.receive),
        ]
    }
}
