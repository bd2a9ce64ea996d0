//! A k-way merge by start time. Each input is read one entry at a time; the output takes
//! the earliest pending entry (ties: the earlier input), so memory is one entry per input.
//! When every input is sorted by `startedDateTime` the output is too; an input that is not
//! keeps its own order (entries are never reordered within an input) and is reported in
//! [`MergeReport::unsorted`].

use crate::{pages_after_entries, Error};
use har::{HarReader, HarWriter, Header, Object};
use serde_json::{json, Value};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::Write;

/// What [`merge`] did, per input: name, entries, entries that started before the one
/// before them (0 when sorted).
#[derive(Clone, Debug, Default)]
pub struct MergeReport {
    pub inputs: Vec<(String, usize, usize)>,
}

impl MergeReport {
    /// The inputs that were not sorted by start time, with how many entries went back.
    pub fn unsorted(&self) -> impl Iterator<Item = (&str, usize)> {
        self.inputs
            .iter()
            .filter(|i| i.2 > 0)
            .map(|(n, _, b)| (n.as_str(), *b))
    }
}

struct Input {
    name: String,
    reader: HarReader,
    /// Page id → id in the output.
    rename: HashMap<String, String>,
    last_ms: f64,
    count: usize,
    backwards: usize,
}

impl Input {
    /// The next entry, tagged and renamed, with the time it sorts by.
    fn next(&mut self) -> Result<Option<(f64, Value)>, Error> {
        let Some(entry) = self.reader.next_entry()? else {
            return Ok(None);
        };
        let ms = entry.started_ms();
        let mut value = entry.value;
        let ms = match ms {
            Some(t) => {
                if t < self.last_ms {
                    self.backwards += 1;
                }
                self.last_ms = t;
                t
            }
            // No start time: it stays after the entry before it.
            None => self.last_ms,
        };
        if let Some(obj) = value.as_object_mut() {
            if let Some(Value::String(p)) = obj.get_mut("pageref") {
                if let Some(new) = self.rename.get(p.as_str()) {
                    *p = new.clone();
                }
            }
            let hark = obj
                .entry("_hark")
                .or_insert_with(|| Value::Object(Object::new()));
            if let Some(h) = hark.as_object_mut() {
                h.insert("source".into(), Value::String(self.name.clone()));
            }
        }
        self.count += 1;
        Ok(Some((ms, value)))
    }
}

/// Page ids that several inputs use get the input's number appended (`page_1` of the
/// second input becomes `page_1~2`); the others stay.
fn renames(headers: &[&Header]) -> Vec<HashMap<String, String>> {
    let mut users: HashMap<String, usize> = HashMap::new();
    for h in headers {
        let mut seen = std::collections::HashSet::new();
        for p in h.pages() {
            if let Some(id) = p.get("id").and_then(Value::as_str) {
                if seen.insert(id) {
                    *users.entry(id.to_string()).or_default() += 1;
                }
            }
        }
    }
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            h.pages()
                .iter()
                .filter_map(|p| p.get("id").and_then(Value::as_str))
                .filter(|id| users.get(*id).copied().unwrap_or(0) > 1)
                .map(|id| (id.to_string(), format!("{id}~{}", i + 1)))
                .collect()
        })
        .collect()
}

/// Merge `inputs` (name, reader) into `w` (begun and ended here). The output's creator
/// is hark, `log._hark.sources` lists each input's file, creator, browser and entry
/// count, and the pages of every input follow the entries, renamed where ids collide,
/// ordered by start time.
pub fn merge<W: Write>(
    inputs: Vec<(String, HarReader)>,
    w: &mut HarWriter<W>,
) -> Result<MergeReport, Error> {
    let headers: Vec<&Header> = inputs.iter().map(|(_, r)| r.header()).collect();
    let maps = renames(&headers);
    let mut ins: Vec<Input> = inputs
        .into_iter()
        .zip(maps)
        .map(|((name, reader), rename)| Input {
            name,
            reader,
            rename,
            last_ms: f64::NEG_INFINITY,
            count: 0,
            backwards: 0,
        })
        .collect();
    let creators: Vec<String> = ins
        .iter()
        .map(|i| format!("{} ({})", i.reader.header().producer(), i.name))
        .collect();
    let mut log = Object::new();
    log.insert("version".into(), json!("1.2"));
    log.insert(
        "creator".into(),
        json!({"name": "hark", "version": env!("CARGO_PKG_VERSION"),
               "comment": format!("merged from {}", creators.join(", "))}),
    );
    let start = Header {
        log: log.clone(),
        entries_at: log.len(),
        has_entries: true,
        ..Header::default()
    };
    let start = pages_after_entries(&start, vec![]);
    w.begin(&start)?;
    // The heap holds (time, input) of each input's pending entry; the entry itself waits
    // in `pending`.
    let mut pending: Vec<Option<Value>> = Vec::with_capacity(ins.len());
    let mut heap = BinaryHeap::new();
    for (k, input) in ins.iter_mut().enumerate() {
        let next = input.next()?;
        if let Some((ms, _)) = &next {
            heap.push(Reverse((Key(*ms), k)));
        }
        pending.push(next.map(|(_, v)| v));
    }
    while let Some(Reverse((_, k))) = heap.pop() {
        let value = pending[k]
            .take()
            .expect("a pending entry for each heap item");
        w.raw_entry(&value)?;
        if let Some((ms, v)) = ins[k].next()? {
            heap.push(Reverse((Key(ms), k)));
            pending[k] = Some(v);
        }
    }
    // Pages and sources, now that every header is complete.
    let mut pages: Vec<(f64, usize, Value)> = Vec::new();
    let mut sources = Vec::new();
    for input in &ins {
        let h = input.reader.header();
        for p in h.pages() {
            let mut p = p.clone();
            if let Some(Value::String(id)) = p.get_mut("id") {
                if let Some(new) = input.rename.get(id.as_str()) {
                    *id = new.clone();
                }
            }
            let t = p
                .get("startedDateTime")
                .and_then(Value::as_str)
                .and_then(har::time::parse_ms)
                .unwrap_or(f64::INFINITY);
            pages.push((t, pages.len(), p));
        }
        let mut s = json!({"file": input.name, "creator": h.log.get("creator").cloned().unwrap_or(Value::Null),
                           "entries": input.count});
        if let Some(b) = h.log.get("browser") {
            s["browser"] = b.clone();
        }
        sources.push(s);
    }
    pages.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut end_log = start.log.clone();
    end_log.insert("_hark".into(), json!({ "sources": sources }));
    let end = Header {
        log: end_log,
        ..start
    };
    let end = pages_after_entries(&end, pages.into_iter().map(|p| p.2).collect());
    w.end(&end)?;
    Ok(MergeReport {
        inputs: ins
            .into_iter()
            .map(|i| (i.name, i.count, i.backwards))
            .collect(),
    })
}

/// A time ordered totally (NaN never occurs: times come from parsing).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key(f64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}
