//! Keep the entries that match: conditions of different kinds must all hold (AND),
//! repeated ones of a kind are alternatives (OR); `exclude` keeps the others instead.

use crate::glob::Glob;
use crate::{pages_after_entries, pages_where, Error};
use har::{EntryView, HarWriter, Json, Style};
use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

/// The conditions; an empty list is no condition.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// The whole URL matches one of these globs or regular expressions.
    pub urls: Vec<Glob>,
    pub regexes: Vec<regex::Regex>,
    /// The URL's host (without port) matches one of these globs.
    pub hosts: Vec<Glob>,
    /// Upper-cased.
    pub methods: Vec<String>,
    /// Inclusive ranges: `404` is 404–404, `4xx` 400–499.
    pub statuses: Vec<(i64, i64)>,
    /// The response's MIME type (essence) matches one of these globs (`image/*`, `*json*`).
    pub mimes: Vec<Glob>,
    /// The resource type (`har::http::resource_type`) is one of these (lower-case).
    pub types: Vec<String>,
    /// `pageref` is one of these.
    pub pages: Vec<String>,
    /// Started at or after / before this (ms since the epoch).
    pub since: Option<f64>,
    pub until: Option<f64>,
    /// Response size (bodySize, else content.size) bounds in bytes, inclusive.
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    /// Entry `time` bounds in ms, inclusive.
    pub min_time: Option<f64>,
    pub max_time: Option<f64>,
    /// Only failed requests (`har::http::failure`).
    pub has_error: bool,
    /// Keep the entries that do not match instead.
    pub exclude: bool,
}

/// `404`, `4xx`, `400-499` as an inclusive range.
pub fn parse_status(s: &str) -> Result<(i64, i64), Error> {
    let bad = || Error::Usage(format!("--status {s}: expected 404, 4xx or 400-499"));
    let t = s.trim().to_ascii_lowercase();
    if let Some((a, b)) = t.split_once('-') {
        let (a, b) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        return if a <= b { Ok((a, b)) } else { Err(bad()) };
    }
    if t.len() == 3 && t.ends_with("xx") {
        let d: i64 = t[..1].parse().map_err(|_| bad())?;
        return Ok((d * 100, d * 100 + 99));
    }
    let n = t.parse().map_err(|_| bad())?;
    Ok((n, n))
}

fn response_size<J: Json>(e: EntryView<'_, J>) -> Option<i64> {
    let r = e.response();
    r.body_size()
        .filter(|s| *s >= 0)
        .or_else(|| r.content().size().filter(|s| *s >= 0))
}

impl Filter {
    fn matches_all<J: Json>(&self, e: EntryView<'_, J>) -> bool {
        let req = e.request();
        let url = req.url().unwrap_or("");
        let no_url_condition = self.urls.is_empty() && self.regexes.is_empty();
        let url_ok = no_url_condition
            || self.urls.iter().any(|g| g.matches(url))
            || self.regexes.iter().any(|r| r.is_match(url));
        if !url_ok {
            return false;
        }
        if !self.hosts.is_empty() {
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            if !self.hosts.iter().any(|g| g.matches(&host)) {
                return false;
            }
        }
        if !self.methods.is_empty() {
            let m = req.method().unwrap_or("").to_ascii_uppercase();
            if !self.methods.contains(&m) {
                return false;
            }
        }
        if !self.statuses.is_empty() {
            let s = e.response().status().unwrap_or(0);
            if !self.statuses.iter().any(|(a, b)| (*a..=*b).contains(&s)) {
                return false;
            }
        }
        if !self.mimes.is_empty() {
            let m = e.response().content().mime_type().unwrap_or("");
            let m = har::http::mime_essence(m);
            if !self.mimes.iter().any(|g| g.matches(&m)) {
                return false;
            }
        }
        if !self.types.is_empty() {
            let t = har::http::resource_type(e).to_ascii_lowercase();
            if !self.types.contains(&t) {
                return false;
            }
        }
        if !self.pages.is_empty()
            && !e
                .pageref()
                .is_some_and(|p| self.pages.iter().any(|x| x == p))
        {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = e.started_ms() else {
                return false;
            };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        if self.min_size.is_some() || self.max_size.is_some() {
            let Some(s) = response_size(e) else {
                return false;
            };
            if self.min_size.is_some_and(|m| s < m) || self.max_size.is_some_and(|m| s > m) {
                return false;
            }
        }
        if self.min_time.is_some() || self.max_time.is_some() {
            let Some(t) = e.time() else {
                return false;
            };
            if self.min_time.is_some_and(|m| t < m) || self.max_time.is_some_and(|m| t > m) {
                return false;
            }
        }
        if self.has_error && har::http::failure(e).is_none() {
            return false;
        }
        true
    }

    /// Whether the entry is kept.
    pub fn keeps<J: Json>(&self, e: EntryView<'_, J>) -> bool {
        self.matches_all(e) != self.exclude
    }
}

/// What [`run`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub read: usize,
    pub kept: usize,
    pub pages_kept: usize,
}

/// Copy the entries of `reader` that `filter` keeps to `w` (begun and ended here), with
/// the pages that still have entries after them. Kept entries are copied token by token
/// (strings and numbers exactly as written).
pub fn run<W: Write>(
    reader: har::HarReader,
    threads: usize,
    filter: Arc<Filter>,
    style: Style,
    w: &mut HarWriter<W>,
) -> Result<Counts, Error> {
    w.begin(&pages_after_entries(reader.header(), vec![]))?;
    let mut pages = HashSet::new();
    let mut counts = Counts::default();
    let reader = har::fold(
        reader,
        threads,
        move |raw| {
            let tree = raw.parse_lite()?;
            let e = EntryView(har::Obj::of(Some(&tree)));
            if !filter.keeps(e) {
                return Ok(None);
            }
            Ok(Some((
                raw.transcode(style)?,
                e.pageref().map(str::to_string),
            )))
        },
        |kept: Option<(Vec<u8>, Option<String>)>| -> Result<(), Error> {
            counts.read += 1;
            if let Some((bytes, page)) = kept {
                w.serialized_entry(&bytes)?;
                counts.kept += 1;
                if let Some(p) = page {
                    pages.insert(p);
                }
            }
            Ok(())
        },
    )?;
    let kept = pages_where(reader.header(), |id| pages.contains(id));
    counts.pages_kept = kept.len();
    w.end(&pages_after_entries(reader.header(), kept))?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses() {
        assert_eq!(parse_status("4xx").unwrap(), (400, 499));
        assert_eq!(parse_status("404").unwrap(), (404, 404));
        assert_eq!(parse_status("500-599").unwrap(), (500, 599));
        assert!(parse_status("4x").is_err());
        assert!(parse_status("599-500").is_err());
    }

    #[test]
    fn kinds_and_repeats() {
        let e = json!({"request": {"method": "post", "url": "https://api.a.test/v1/x"},
                       "response": {"status": 404, "content": {"mimeType": "application/json; charset=utf-8"}},
                       "time": 120});
        let v = EntryView(har::Obj::of(Some(&e)));
        let f = Filter {
            methods: vec!["GET".into(), "POST".into()],
            statuses: vec![(400, 499)],
            hosts: vec![Glob::new("*.a.test")],
            mimes: vec![Glob::new("*json")],
            min_time: Some(100.0),
            ..Filter::default()
        };
        assert!(f.keeps(v));
        assert!(!Filter {
            exclude: true,
            ..f.clone()
        }
        .keeps(v));
        assert!(!Filter {
            methods: vec!["GET".into()],
            ..f.clone()
        }
        .keeps(v));
        assert!(!Filter {
            max_time: Some(50.0),
            ..f.clone()
        }
        .keeps(v));
        assert!(!Filter {
            has_error: true,
            ..f
        }
        .keeps(v));
    }
}
