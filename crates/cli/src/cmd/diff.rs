use crate::cmd::summary::{md_table, table};
use crate::input;
use crate::term::{paint, Ctx, BOLD, DIM, GREEN, YELLOW};
use anyhow::Result;
use diff::Report;

/// What changed between two recordings of the same flow.
///
/// Entries are paired by method + templated path (`GET /api/projects/{projectId}`) in
/// their order of occurrence (hosts and ports are not part of it unless --by-host),
/// then compared: endpoints that appeared or disappeared, statuses, response headers
/// (volatile ones ignored: Date, Age, ETag, Content-Length, request ids, tracing
/// headers, …; cookies by name and attributes, never by value), JSON response bodies
/// by JSON path (values that look like timestamps, ids or tokens on both sides vary,
/// they do not change), and timings per endpoint (median and p95) beyond a threshold.
/// Two recordings of the same run diff clean.
///
/// Exit status 0 when nothing meaningful changed, 1 otherwise.
///
/// Examples: `hark diff staging.har production.har`, `hark diff a.har b.har --markdown
/// >> $GITHUB_STEP_SUMMARY`, `hark diff a.har b.har --ignore-field '$.meta.*' --json`
#[derive(clap::Args)]
pub struct Args {
    /// The first (older) HAR file.
    a: String,
    /// The second (newer) HAR file (`-` for standard input).
    b: String,
    /// Machine-readable JSON on standard output.
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// A Markdown report (for a pull request or a CI summary).
    #[arg(long)]
    markdown: bool,
    /// Also ignore this response header (a name or glob: `x-myapp-*`); repeatable.
    #[arg(long, value_name = "NAME")]
    ignore_header: Vec<String>,
    /// Compare every header, even the volatile ones ignored by default.
    #[arg(long)]
    strict_headers: bool,
    /// Ignore this JSON field (a path or glob: `$.meta.requestId`, `$.items[*].updated`);
    /// repeatable.
    #[arg(long, value_name = "JSONPATH")]
    ignore_field: Vec<String>,
    /// Compare bodies that are not JSON too (their text, volatile tokens masked).
    #[arg(long)]
    text_bodies: bool,
    /// Pair by host too (by default two runs on different hosts or ports pair).
    #[arg(long)]
    by_host: bool,
    /// Report a timing change when an endpoint's median (3 requests or more on each
    /// side) or p95 (20 or more) moved by more than this many milliseconds and at least
    /// doubled or halved.
    #[arg(long, value_name = "MS", default_value_t = 500.0)]
    timing_threshold: f64,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

impl Args {
    /// `hark diff A B` with the defaults (`--json` when `json`).
    pub fn pair(a: &str, b: &str, json: bool) -> Args {
        Args {
            a: a.to_string(),
            b: b.to_string(),
            json,
            markdown: false,
            ignore_header: Vec::new(),
            strict_headers: false,
            ignore_field: Vec::new(),
            text_bodies: false,
            by_host: false,
            timing_threshold: 500.0,
            threads: None,
        }
    }
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    run_only(a, None, ctx)
}

/// `hark diff`, only `a_only`'s entries of the first file taking part (`hark replay`:
/// those it sent).
pub fn run_only(
    a: Args,
    a_only: Option<std::sync::Arc<std::collections::HashSet<usize>>>,
    _ctx: &Ctx,
) -> Result<u8> {
    if a.a == "-" {
        anyhow::bail!("the first file is read twice: it cannot be standard input");
    }
    let opts = diff::Options {
        settings: diff::Settings {
            key: diff::KeyOptions {
                with_host: a.by_host,
            },
            ignore_headers: a.ignore_header.clone(),
            strict_headers: a.strict_headers,
            ignore_fields: a.ignore_field.clone(),
            text_bodies: a.text_bodies,
        },
        timing_threshold_ms: a.timing_threshold,
        threads: a.threads.unwrap_or_else(har::default_threads),
        a_only,
        ..diff::Options::default()
    };
    let name_a = a.a.clone();
    let report = diff::diff(&|| input::reader(&name_a), input::reader(&a.b)?, &opts)?;
    if a.json {
        crate::term::print_json(&report)?;
    } else if a.markdown {
        crate::term::print(&markdown(&report))?;
    } else {
        crate::term::print(&human(&report))?;
    }
    Ok(if report.changed {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    })
}

/// One row per change: endpoint, what, A, B, pairs.
fn rows(r: &Report) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for e in r.endpoints.iter().filter(|e| e.changed) {
        let mut row = |what: String, a: String, b: String, n: String| {
            rows.push(vec![e.key.clone(), what, a, b, n]);
        };
        if e.appeared > 0 {
            row(
                "appeared".into(),
                "-".into(),
                e.example.clone(),
                e.appeared.to_string(),
            );
        }
        if e.disappeared > 0 {
            row(
                "disappeared".into(),
                e.example.clone(),
                "-".into(),
                e.disappeared.to_string(),
            );
        }
        for s in &e.status {
            row(
                "status".into(),
                s.from.to_string(),
                s.to.to_string(),
                s.count.to_string(),
            );
        }
        // Several values of a header on one line.
        let opt = |v: &Option<String>| v.as_deref().unwrap_or("-").replace('\n', " ⏎ ");
        for h in &e.headers {
            row(
                format!("header {}", h.name),
                opt(&h.a),
                opt(&h.b),
                h.count.to_string(),
            );
        }
        for f in &e.body {
            row(f.name.clone(), opt(&f.a), opt(&f.b), f.count.to_string());
        }
        if e.undetailed > 0 {
            row(
                "more changed pairs".into(),
                String::new(),
                String::new(),
                e.undetailed.to_string(),
            );
        }
        if let Some(t) = e.timing.as_ref().filter(|t| t.changed) {
            row(
                "time median/p95".into(),
                format!("{:.0}/{:.0} ms", t.a_median_ms, t.a_p95_ms),
                format!("{:.0}/{:.0} ms", t.b_median_ms, t.b_p95_ms),
                format!("{}/{}", e.a_count, e.b_count),
            );
        }
    }
    rows
}

fn headline(r: &Report) -> (String, usize, u32) {
    let changed = r.endpoints.iter().filter(|e| e.changed).count();
    let varying: u32 = r
        .endpoints
        .iter()
        .map(|e| e.varying_pairs + e.varies.len() as u32)
        .sum();
    let mut skipped = String::new();
    if r.a.left_out > 0 {
        skipped.push_str(&format!(
            "; {} entries of {} not compared",
            r.a.left_out, r.a.file
        ));
    }
    for s in [&r.a, &r.b] {
        if !s.skipped.is_empty() {
            skipped.push_str(&format!(
                "; {}: {} entries skipped (first: entry {}, line {}: {})",
                s.file,
                s.skipped.len(),
                s.skipped[0].entry,
                s.skipped[0].line,
                s.skipped[0].error
            ));
        }
    }
    (
        format!(
            "{} ({} entries) → {} ({} entries): {} pairs{skipped}",
            r.a.file, r.a.entries, r.b.file, r.b.entries, r.paired
        ),
        changed,
        varying,
    )
}

const HEAD: [&str; 5] = ["ENDPOINT", "WHAT", "A", "B", "PAIRS"];

fn human(r: &Report) -> String {
    let (line, changed, varying) = headline(r);
    let mut out = format!("{}\n", paint(BOLD, &line));
    if changed == 0 {
        out.push_str(&paint(GREEN, "no changes"));
    } else {
        out.push_str(&paint(
            YELLOW,
            &format!(
                "{changed} endpoint{} changed",
                if changed == 1 { "" } else { "s" }
            ),
        ));
    }
    if varying > 0 {
        out.push_str(&paint(
            DIM,
            &format!(" ({varying} values vary: timestamps, ids, tokens)"),
        ));
    }
    out.push('\n');
    if changed > 0 {
        out.push('\n');
        out.push_str(&table(&HEAD, &rows(r), &[4], 0));
    }
    out
}

fn markdown(r: &Report) -> String {
    let (line, changed, _) = headline(r);
    let mut out = format!("### hark diff\n\n{line}\n\n");
    if changed == 0 {
        out.push_str("No changes.\n");
        return out;
    }
    let code = |s: &String| {
        if s.is_empty() || s == "-" {
            s.clone()
        } else {
            format!("`{}`", s.replace('`', "'"))
        }
    };
    let rows: Vec<Vec<String>> = rows(r)
        .into_iter()
        .map(|r| {
            vec![
                code(&r[0]),
                r[1].clone(),
                code(&r[2]),
                code(&r[3]),
                r[4].clone(),
            ]
        })
        .collect();
    out.push_str(&md_table(&HEAD, &rows, &[4]));
    out
}
