//! Split one HAR into several: one per page, per host, every N entries, or every N bytes
//! of entries. Each part keeps the input's header (creator, browser, …) and the pages its
//! entries refer to, written after them.

use crate::{pages_after_entries, pages_where, Error};
use har::{EntryView, HarWriter, Style};
use std::collections::{HashMap, HashSet};
use std::io::Write;

/// How to split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Page,
    Host,
    /// At most this many entries per part.
    Count(usize),
    /// At most this many bytes of entries per part (a larger entry gets a part alone).
    Size(u64),
}

impl std::str::FromStr for By {
    type Err = String;
    fn from_str(s: &str) -> Result<By, String> {
        let num = |v: &str| -> Result<u64, String> {
            let t = v.trim();
            let (n, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
                Some('K') => (&t[..t.len() - 1], 1u64 << 10),
                Some('M') => (&t[..t.len() - 1], 1 << 20),
                Some('G') => (&t[..t.len() - 1], 1 << 30),
                _ => (t, 1),
            };
            n.parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(mult))
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{s}: expected a positive number"))
        };
        match s.split_once(':') {
            None if s == "page" => Ok(By::Page),
            None if s == "host" => Ok(By::Host),
            Some(("count", n)) => Ok(By::Count(num(n)? as usize)),
            Some(("size", n)) => Ok(By::Size(num(n)?)),
            _ => Err(format!(
                "{s}: expected page, host, count:N or size:N (K/M/G)"
            )),
        }
    }
}

/// The most parts open at once for `page` and `host`.
pub const MAX_GROUPS: usize = 1000;

/// One written part: its file name (no directory), writer, entries.
pub struct Part<W: Write> {
    pub name: String,
    pub writer: HarWriter<W>,
    pub entries: usize,
    pages: HashSet<String>,
}

/// A file-name-safe form of `s` (letters, digits, `.-_`; at most 80 characters).
fn safe(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if t.is_empty() || t.starts_with('.') {
        format!("_{t}")
    } else {
        t
    }
}

/// Split `reader` into parts; `create(name)` gives the writer for a new part (the cli
/// writes `DIR/name` atomically). The parts are returned ended, in the order they began.
pub fn split<W: Write, F: FnMut(&str) -> std::io::Result<W>>(
    reader: har::HarReader,
    threads: usize,
    by: By,
    style: Style,
    mut create: F,
) -> Result<Vec<Part<W>>, Error> {
    let begin = pages_after_entries(reader.header(), vec![]);
    // Page order, for file names.
    let page_no: HashMap<String, usize> = reader
        .header()
        .pages()
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((p.get("id")?.as_str()?.to_string(), i + 1)))
        .collect();
    let mut parts: Vec<Part<W>> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut bytes_in_last = 0u64;
    let reader = har::fold(
        reader,
        threads,
        move |raw| {
            let tree = raw.parse_lite()?;
            let e = EntryView(har::Obj::of(Some(&tree)));
            let page = e.pageref().map(str::to_string);
            let host = e
                .request()
                .url()
                .and_then(|u| url::Url::parse(u).ok())
                .and_then(|u| u.host_str().map(str::to_string));
            Ok((raw.transcode(style)?, page, host))
        },
        |(bytes, page, host): (Vec<u8>, Option<String>, Option<String>)| -> Result<(), Error> {
            let (key, name) = match by {
                By::Page => match &page {
                    Some(p) => {
                        let n = page_no.get(p).copied().unwrap_or(0);
                        (format!("p:{p}"), format!("page-{n:03}-{}.har", safe(p)))
                    }
                    None => ("none".into(), "no-page.har".into()),
                },
                By::Host => match &host {
                    Some(h) => (format!("h:{h}"), format!("{}.har", safe(h))),
                    None => ("none".into(), "no-host.har".into()),
                },
                By::Count(n) => {
                    let full = parts.last().is_none_or(|p| p.entries >= n);
                    let k = parts.len() + full as usize;
                    (format!("{k}"), format!("part-{k:04}.har"))
                }
                By::Size(n) => {
                    let len = bytes.len() as u64;
                    let full = parts
                        .last()
                        .is_none_or(|p| p.entries > 0 && bytes_in_last + len > n);
                    if full {
                        bytes_in_last = 0;
                    }
                    bytes_in_last += len;
                    let k = parts.len() + full as usize;
                    (format!("{k}"), format!("part-{k:04}.har"))
                }
            };
            let i = match by_key.get(&key) {
                Some(i) => *i,
                None => {
                    if matches!(by, By::Page | By::Host) && by_key.len() >= MAX_GROUPS {
                        return Err(Error::Usage(format!(
                            "more than {MAX_GROUPS} parts: split by count or size instead"
                        )));
                    }
                    let mut writer = HarWriter::new(create(&name)?, style);
                    writer.begin(&begin)?;
                    parts.push(Part {
                        name,
                        writer,
                        entries: 0,
                        pages: HashSet::new(),
                    });
                    by_key.insert(key, parts.len() - 1);
                    parts.len() - 1
                }
            };
            let part = &mut parts[i];
            part.writer.serialized_entry(&bytes)?;
            part.entries += 1;
            if let Some(p) = page {
                part.pages.insert(p);
            }
            Ok(())
        },
    )?;
    for part in &mut parts {
        let pages = pages_where(reader.header(), |id| part.pages.contains(id));
        part.writer
            .end(&pages_after_entries(reader.header(), pages))?;
    }
    Ok(parts)
}
