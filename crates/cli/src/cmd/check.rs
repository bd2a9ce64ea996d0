use crate::input;
use crate::term::{
    self, entries_list, paint, severity_style, wrap, Ctx, Progress, BOLD, DIM, GREEN, RED,
};
use anyhow::Result;
use check::{Facts, Finding, Group, Groups, Linter};
use har::{par_entries, EntryView, Obj, ReadError, Severity, Validator};
use serde::Serialize;

/// Is this HAR valid, and can it serve its purpose?
///
/// Validates against HAR 1.2 (every problem with its entry, JSON path and line:column;
/// `error` breaks the spec, `warning` is a known producer quirk) and lints the file as a
/// whole: log not preserved across the login redirects, cookies and auth headers
/// stripped at export, responses served from cache, bodies missing, no pages,
/// impossible timings, entries out of order. Each finding says what to do.
///
/// Exit status: 0 usable, 1 errors or findings that make the file unfit (warnings about
/// producer quirks alone do not fail, unless --strict), 2 not readable as HAR.
///
/// Examples: `hark check customer.har`, `hark check --json *.har`
#[derive(clap::Args)]
pub struct Args {
    /// HAR files (`-` for standard input, `@example` for the built-in one).
    #[arg(required = true)]
    files: Vec<String>,
    /// Machine-readable JSON on standard output.
    #[arg(long)]
    json: bool,
    /// Fail (exit 1) on producer-quirk warnings too.
    #[arg(long)]
    strict: bool,
    /// Show the first five places of each problem, not just the first one.
    #[arg(short, long)]
    verbose: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

#[derive(Serialize)]
struct Unreadable {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u64>,
}

#[derive(Serialize)]
struct Counts {
    errors: usize,
    warnings: usize,
    info: usize,
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    /// `usable`, `unfit` (exit 1) or `unreadable` (exit 2).
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    producer: Option<String>,
    entries: usize,
    pages: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable: Option<Unreadable>,
    /// HAR 1.2 validation problems, grouped.
    counts: Counts,
    problems: Vec<Group>,
    /// Quality lint.
    findings: Vec<Finding>,
}

#[derive(Serialize)]
struct Report {
    files: Vec<FileReport>,
    exit: u8,
}

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

fn check_file(name: &str, threads: usize, strict: bool, ctx: &Ctx) -> FileReport {
    let mut report = FileReport {
        file: name.to_string(),
        verdict: "usable",
        producer: None,
        entries: 0,
        pages: 0,
        unreadable: None,
        counts: Counts {
            errors: 0,
            warnings: 0,
            info: 0,
        },
        problems: Vec::new(),
        findings: Vec::new(),
    };
    let unreadable = |report: &mut FileReport, e: &ReadError| {
        report.verdict = "unreadable";
        let pos = e.pos();
        report.unreadable = Some(Unreadable {
            message: e.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
        });
    };
    let reader = match input::reader(name) {
        Ok(r) => r,
        Err(e) => {
            unreadable(&mut report, &e);
            return report;
        }
    };
    report.producer = Some(producer_line(reader.header()));
    let mut groups = Groups::default();
    let mut validator = Validator::new();
    let mut problems = Vec::new();
    validator.header(reader.header(), reader.raw_fields(), &mut problems);
    let mut linter = Linter::new(reader.header());
    let progress = Progress::new(ctx, name, reader.progress_counter(), reader.progress().1);
    // Per-entry validation needs nothing the main validator learns (pages, references),
    // so the workers share one of their own.
    let worker_v = Validator::new();
    let producer = linter.producer();
    // Workers parse, validate and extract the lint's facts; only those small results
    // (not the parsed entries) come back, in order.
    // Entries are read as borrowed trees (har::lite), not the editable model: `check`
    // only reads, and that is several times cheaper.
    let mut it = par_entries(reader, threads, move |raw| {
        let tree = raw.parse_lite()?;
        let mut problems = Vec::new();
        worker_v.entry(raw.index, &tree, raw.bytes, raw.pos, &mut problems);
        let view = EntryView(Obj::of(Some(&tree)));
        let pageref = view.pageref().map(str::to_string);
        Ok::<_, ReadError>((Facts::of_view(raw.index, view, producer), pageref, problems))
    });
    // Distinct page references (few), resolved once the pages are all known.
    let mut pagerefs: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut failed = None;
    for item in it.by_ref() {
        match item.and_then(|r| r) {
            Ok((facts, pageref, ps)) => {
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
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    progress.finish();
    if let Some(e) = failed {
        unreadable(&mut report, &e);
        report.counts = Counts {
            errors: groups.count(Severity::Error),
            warnings: groups.count(Severity::Warning),
            info: groups.count(Severity::Info),
        };
        report.problems = groups.into_sorted();
        return report;
    }
    let reader = it
        .into_reader()
        .expect("reader is back after the last entry");
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
    report.counts = Counts {
        errors: groups.count(Severity::Error),
        warnings: groups.count(Severity::Warning),
        info: groups.count(Severity::Info),
    };
    report.problems = groups.into_sorted();
    let unfit = report.counts.errors > 0
        || (strict && report.counts.warnings > 0)
        || report
            .findings
            .iter()
            .any(|f| f.severity >= Severity::Warning);
    if unfit {
        report.verdict = "unfit";
    }
    report
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let threads = a.threads.unwrap_or_else(har::default_threads);
    let mut files = Vec::new();
    for f in &a.files {
        let r = check_file(f, threads, a.strict, ctx);
        if !a.json {
            print_human(&r, a.verbose);
        }
        files.push(r);
    }
    let exit = files
        .iter()
        .map(|f| match f.verdict {
            "unreadable" => crate::exit::FAILURE,
            "unfit" => crate::exit::FINDINGS,
            _ => crate::exit::OK,
        })
        .max()
        .unwrap_or(crate::exit::OK);
    if a.json {
        let report = Report { files, exit };
        serde_json::to_writer_pretty(std::io::stdout().lock(), &report)?;
        println!();
    }
    Ok(exit)
}

fn label(s: Severity) -> String {
    paint(severity_style(s), &format!("{:<8}", s.as_str()))
}

fn print_human(r: &FileReport, verbose: bool) {
    use anstream::println;
    const W: usize = 100;
    let pad = " ".repeat(11);
    let mut head = paint(BOLD, &r.file);
    if let Some(p) = &r.producer {
        head.push_str(&format!(
            "  {}",
            paint(
                DIM,
                &format!(
                    "{p} · {} entries · {} page{}",
                    r.entries,
                    r.pages,
                    if r.pages == 1 { "" } else { "s" }
                )
            )
        ));
    }
    println!("{head}");
    if let Some(u) = &r.unreadable {
        println!("  {} {}", label(Severity::Error), wrap(&u.message, 11, W));
    }
    for f in &r.findings {
        println!(
            "  {} {}  {}",
            label(f.severity),
            paint(BOLD, &f.title),
            paint(DIM, &format!("[{}]", f.code))
        );
        println!("{pad}{}", wrap(&f.detail, 11, W));
        if !f.entries.is_empty() {
            println!(
                "{pad}{}",
                paint(DIM, &wrap(&format!("entries: {}", entries_list(f)), 11, W))
            );
        }
        println!("{pad}{}", wrap(&format!("→ {}", f.advice), 11, W));
    }
    if !r.problems.is_empty() {
        println!(
            "  {} {} errors, {} warnings, {} notes",
            paint(BOLD, "HAR 1.2:"),
            r.counts.errors,
            r.counts.warnings,
            r.counts.info
        );
    }
    for g in &r.problems {
        let shown = if verbose { g.examples.len() } else { 1 };
        for (k, p) in g.examples.iter().take(shown).enumerate() {
            let place = match (p.pos, p.entry) {
                (Some(pos), Some(e)) => format!("{}:{} entry {e}", r.file, pos),
                (Some(pos), None) => format!("{}:{}", r.file, pos),
                (None, Some(e)) => format!("{} entry {e}", r.file),
                (None, None) => r.file.clone(),
            };
            let more = if k == 0 && g.count > 1 {
                paint(DIM, &format!("  ({} times)", g.count))
            } else {
                String::new()
            };
            println!(
                "  {} {} {}{more}",
                label(g.severity),
                paint(BOLD, &p.path),
                paint(DIM, &format!("[{}]", g.code))
            );
            println!("{pad}{}", wrap(&format!("{} — {place}", p.message), 11, W));
        }
    }
    let verdict = match r.verdict {
        "usable" if r.findings.is_empty() && r.problems.is_empty() => {
            paint(GREEN, "✓ valid HAR 1.2, nothing to report")
        }
        "usable" => paint(GREEN, "✓ usable"),
        "unfit" => paint(term::YELLOW, "✗ unfit for its purpose as it is (see above)"),
        _ => paint(RED, "✗ cannot be read as HAR"),
    };
    println!("  {verdict}\n");
}
