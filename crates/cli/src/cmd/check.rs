use crate::input;
use crate::term::{
    self, entries_list, paint, severity_style, wrap, Ctx, Progress, BOLD, DIM, GREEN, RED,
};
use anyhow::Result;
use check::{FileReport, Verdict};
use har::Severity;
use serde::Serialize;

/// Is this HAR valid, and can it serve its purpose?
///
/// Validates against HAR 1.2 (every problem with its entry, JSON path and line:column;
/// `error` breaks the spec, `warning` is a known producer quirk) and lints the file as a
/// whole: log not preserved across the login redirects, cookies and auth headers
/// stripped at export, responses served from cache, bodies missing, no pages,
/// impossible timings, entries out of order. Each finding says what to do.
///
/// Exit status: 0 usable, 1 errors or warning-level findings (`--fail-on` chooses the
/// level; warnings about producer quirks alone do not fail, unless --strict), 2 not
/// readable as HAR.
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
    /// The least severe finding that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    fail_on: FailOn,
    /// Show the first five places of each problem, not just the first one.
    #[arg(short, long)]
    verbose: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

/// The least severe finding that fails the command (exit 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

impl FailOn {
    pub fn severity(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }

    /// Whether a file whose worst finding is `worst` fails.
    pub fn fails(self, worst: Option<Severity>) -> bool {
        worst.is_some_and(|w| w >= self.severity())
    }
}

#[derive(Serialize)]
struct Report {
    files: Vec<FileReport>,
    exit: u8,
}

/// Check one file (its progress shown while it is read).
pub(crate) fn check_file(name: &str, opts: &check::Options, ctx: &Ctx) -> FileReport {
    match input::reader(name) {
        Ok(reader) => {
            let progress = Progress::of_reader(ctx, name, &reader);
            let report = check::run(name, reader, opts);
            progress.finish();
            report
        }
        Err(e) => FileReport::unreadable(name, &e),
    }
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let opts = check::Options {
        threads: a.threads.unwrap_or_else(har::default_threads),
        strict: a.strict,
    };
    let mut files = Vec::new();
    for f in &a.files {
        let r = check_file(f, &opts, ctx);
        if !a.json {
            print_human(&r, a.verbose)?;
        }
        files.push(r);
    }
    let exit = files
        .iter()
        .map(|f| {
            // Spec errors always count as errors; producer-quirk warnings only when
            // strict.
            let worst = f
                .findings
                .iter()
                .map(|x| x.severity)
                .chain((f.counts.errors > 0).then_some(Severity::Error))
                .chain((a.strict && f.counts.warnings > 0).then_some(Severity::Warning))
                .chain((a.strict && f.counts.info > 0).then_some(Severity::Info))
                .max();
            match f.verdict {
                Verdict::Unreadable => crate::exit::FAILURE,
                _ if a.fail_on.fails(worst) => crate::exit::FINDINGS,
                _ => crate::exit::OK,
            }
        })
        .max()
        .unwrap_or(crate::exit::OK);
    if a.json {
        let report = Report { files, exit };
        crate::term::print_json(&report)?;
    }
    Ok(exit)
}

fn label(s: Severity) -> String {
    paint(severity_style(s), &format!("{:<8}", s.as_str()))
}

pub(crate) fn print_human(r: &FileReport, verbose: bool) -> Result<()> {
    // Collected, then printed at once: a full or closed stdout is an error, not a panic.
    let mut out = String::new();
    macro_rules! println {
        ($($t:tt)*) => {{
            use std::fmt::Write as _;
            let _ = writeln!(out, $($t)*);
        }};
    }
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
        Verdict::Usable if r.findings.is_empty() && r.problems.is_empty() => {
            paint(GREEN, "✓ valid HAR 1.2, nothing to report")
        }
        Verdict::Usable => paint(GREEN, "✓ usable"),
        Verdict::Unfit => paint(term::YELLOW, "✗ unfit for its purpose as it is (see above)"),
        Verdict::Unreadable => paint(RED, "✗ cannot be read as HAR"),
    };
    println!("  {verdict}\n");
    crate::term::print(&out)?;
    Ok(())
}
