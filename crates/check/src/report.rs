//! `hark check` on one file: HAR 1.2 validation and the quality lint in one pass, the
//! problems grouped, and the verdict.

use crate::{Facts, Finding, Group, Groups, Linter};
use har::{EntryView, HarReader, Obj, ReadError, Severity, Validator};
use serde::Serialize;
use std::collections::BTreeMap;

/// How to check.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Worker threads.
    pub threads: usize,
    /// Producer-quirk warnings make the file unfit too.
    pub strict: bool,
}

/// Can the file serve its purpose?
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Usable,
    /// Errors, or findings of warning severity (or, when strict, any warning).
    Unfit,
    /// Not readable as HAR.
    Unreadable,
}

/// Why the file could not be read, and where.
#[derive(Clone, Debug, Serialize)]
pub struct Unreadable {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
}

/// Validation problems by severity.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub info: usize,
}

/// What `hark check` says of one file.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub file: String,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    pub entries: usize,
    pub pages: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<Unreadable>,
    /// HAR 1.2 validation problems, grouped.
    pub counts: Counts,
    pub problems: Vec<Group>,
    /// Quality lint.
    pub findings: Vec<Finding>,
}

impl FileReport {
    fn new(file: &str) -> FileReport {
        FileReport {
            file: file.to_string(),
            verdict: Verdict::Usable,
            producer: None,
            entries: 0,
            pages: 0,
            unreadable: None,
            counts: Counts::default(),
            problems: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// The report on a file that could not be opened as HAR at all.
    pub fn unreadable(file: &str, e: &ReadError) -> FileReport {
        let mut report = FileReport::new(file);
        report.set_unreadable(e);
        report
    }

    fn set_unreadable(&mut self, e: &ReadError) {
        self.verdict = Verdict::Unreadable;
        let pos = e.pos();
        self.unreadable = Some(Unreadable {
            message: e.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
        });
    }

    fn set_problems(&mut self, groups: Groups) {
        self.counts = Counts {
            errors: groups.count(Severity::Error),
            warnings: groups.count(Severity::Warning),
            info: groups.count(Severity::Info),
        };
        self.problems = groups.into_sorted();
    }
}

/// The producer as `hark check` names it: the creator, and the browser when it differs.
fn producer_line(h: &har::Header) -> String {
    let b = h.browser();
    if b.str("name") == h.creator().str("name") {
        return h.producer();
    }
    match (b.str("name"), b.str("version")) {
        (Some(n), Some(v)) => format!("{} ({n} {v})", h.producer()),
        (Some(n), None) => format!("{} ({n})", h.producer()),
        _ => h.producer(),
    }
}

/// Check `file`, opened as `reader`: validate every entry and the header against HAR
/// 1.2, lint the whole, and give the verdict. A file that breaks off is `unreadable`,
/// with the problems of the entries read before the break.
pub fn run(file: &str, reader: HarReader, opts: &Options) -> FileReport {
    let mut report = FileReport::new(file);
    report.producer = Some(producer_line(reader.header()));
    let mut groups = Groups::default();
    let mut validator = Validator::new();
    let mut problems = Vec::new();
    validator.header(reader.header(), reader.raw_fields(), &mut problems);
    let mut linter = Linter::new(reader.header());
    // Per-entry validation needs nothing the main validator learns (pages, references),
    // so the workers share one of their own.
    let worker_v = Validator::new();
    let producer = linter.producer();
    // Distinct page references (few), resolved once the pages are all known.
    let mut pagerefs: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    // Workers parse, validate and extract the lint's facts; only those small results
    // (not the parsed entries) come back, in order. Entries are read as borrowed trees
    // (har::lite), not the editable model: `check` only reads, and that is several
    // times cheaper.
    let folded = har::fold(
        reader,
        opts.threads,
        move |raw| {
            let tree = raw.parse_lite()?;
            let mut problems = Vec::new();
            worker_v.entry(raw.index, &tree, raw.bytes, raw.pos, &mut problems);
            let view = EntryView(Obj::of(Some(&tree)));
            let pageref = view.pageref().map(str::to_string);
            Ok((Facts::of_view(raw.index, view, producer), pageref, problems))
        },
        |(facts, pageref, ps): (Facts, Option<String>, Vec<har::Problem>)| {
            report.entries += 1;
            for p in ps {
                groups.add(p);
            }
            if let Some(r) = pageref {
                match pagerefs.get_mut(&r) {
                    Some(slot) => slot.1 += 1,
                    None => {
                        pagerefs.insert(r, (facts.index, 1));
                    }
                }
            }
            linter.add(facts);
            Ok::<(), ReadError>(())
        },
    );
    let reader = match folded {
        Ok(reader) => reader,
        Err(e) => {
            report.set_unreadable(&e);
            report.set_problems(groups);
            return report;
        }
    };
    validator.header(reader.header(), reader.raw_fields(), &mut problems);
    for (r, (first, count)) in &pagerefs {
        validator.pageref(*first, r, *count);
    }
    validator.finish(reader.header(), reader.raw_fields(), &mut problems);
    for p in problems {
        groups.add(p);
    }
    report.pages = reader.header().pages().len();
    report.findings = linter.finish(reader.header());
    report.set_problems(groups);
    let unfit = report.counts.errors > 0
        || (opts.strict && report.counts.warnings > 0)
        || report
            .findings
            .iter()
            .any(|f| f.severity >= Severity::Warning);
    if unfit {
        report.verdict = Verdict::Unfit;
    }
    report
}
