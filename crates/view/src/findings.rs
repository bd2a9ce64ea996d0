//! `hark diagnose`'s findings and sign-in flows, and `hark check`'s quality lint, for
//! the viewer: computed by [`diagnose::analyze`] in a second streaming pass over the
//! file right after indexing (memory bounded as `diagnose`'s is: counters, a few
//! examples per finding, capped flows), kept as a small JSON report and a map from
//! entry to the findings that name it (the rows' markers).

use serde_json::{json, Value};
use std::collections::HashMap;

/// Where the findings of a file are.
#[derive(Clone, Debug, Default)]
pub enum Findings {
    /// Not computed yet (indexing or the analysis is still running).
    #[default]
    Pending,
    Done(std::sync::Arc<Report>),
    /// The analysis could not run (the file cannot be read again).
    Failed(String),
}

/// The findings of one file.
#[derive(Debug)]
pub struct Report {
    /// `{"findings": [...], "flows": [...], "flowsNotShown": n, "caps": [...]}`.
    pub json: Value,
    /// Entry index → positions in `findings` of the findings that list it.
    pub marks: HashMap<u32, Vec<u16>>,
    titles: Vec<String>,
}

impl Report {
    /// The titles of the findings that list entry `i` (for the row's marker).
    pub fn titles_of(&self, i: u32) -> Vec<&str> {
        self.marks.get(&i).map_or(Vec::new(), |ks| {
            ks.iter()
                .map(|&k| self.titles[k as usize].as_str())
                .collect()
        })
    }

    /// The worst severity among the findings of entry `i`.
    pub fn severity_of(&self, i: u32) -> Option<&str> {
        let ks = self.marks.get(&i)?;
        let list = self.json["findings"].as_array()?;
        ks.iter()
            .filter_map(|&k| list.get(k as usize)?["severity"].as_str())
            .max_by_key(|s| rank(s))
    }
}

fn rank(s: &str) -> u8 {
    match s {
        "error" => 3,
        "warning" => 2,
        "info" => 1,
        _ => 0,
    }
}

/// Run the diagnosis (and the lint) over `path`.
pub fn analyze(path: &std::path::Path, name: &str, threads: usize) -> Findings {
    let source = match har::Source::open(&path.to_string_lossy()) {
        Ok(s) => s,
        Err(e) => return Findings::Failed(format!("{name}: {e}")),
    };
    let reader = match har::HarReader::new(source) {
        Ok(r) => r,
        Err(e) => return Findings::Failed(format!("{name}: {e}")),
    };
    let want = diagnose::Want {
        summary: false,
        diagnose: true,
    };
    match diagnose::analyze(reader, threads, want) {
        Ok(a) => Findings::Done(std::sync::Arc::new(report(a))),
        Err(e) => Findings::Failed(format!("{name}: {e}")),
    }
}

fn report(a: diagnose::Analysis) -> Report {
    let diag = a.diagnosis.unwrap_or_default();
    // The diagnosis' findings first (most severe first), then the lint's.
    let mut all: Vec<(&str, check::Finding)> = diag
        .findings
        .into_iter()
        .map(|f| ("diagnose", f))
        .chain(a.lint.into_iter().map(|f| ("check", f)))
        .collect();
    all.sort_by(|a, b| {
        b.1.severity
            .cmp(&a.1.severity)
            .then(a.1.entries.first().cmp(&b.1.entries.first()))
    });
    let mut marks: HashMap<u32, Vec<u16>> = HashMap::new();
    let mut titles = Vec::new();
    let mut list = Vec::new();
    for (k, (from, f)) in all.into_iter().enumerate().take(u16::MAX as usize) {
        for &e in &f.entries {
            let v = marks.entry(e as u32).or_default();
            if !v.contains(&(k as u16)) {
                v.push(k as u16);
            }
        }
        titles.push(f.title.clone());
        list.push(json!({
            "from": from,
            "code": f.code,
            "severity": f.severity,
            "title": f.title,
            "detail": f.detail,
            "advice": f.advice,
            "entries": f.entries,
            "count": f.count,
        }));
    }
    let flows: Vec<Value> = diag
        .flows
        .iter()
        .map(|fl| {
            json!({
                "protocol": fl.protocol.as_str(),
                "outcome": fl.outcome.as_str(),
                "clientId": fl.client_id,
                "problems": fl.problems,
                "missing": fl.missing,
                "apiRequests": fl.api_requests,
                "steps": fl.steps.iter().map(|s| json!({
                    "kind": s.kind.as_str(),
                    "index": s.index,
                    "method": s.method,
                    "url": s.url,
                    "status": s.status,
                    "detail": s.detail,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Report {
        json: json!({
            "findings": list,
            "flows": flows,
            "flowsNotShown": diag.flows_not_shown,
            "caps": diag.caps_reached,
            "entries": a.entries,
            "truncated": a.truncated.map(|e| e.to_string()),
        }),
        marks,
        titles,
    }
}
