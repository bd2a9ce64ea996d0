use crate::input;
use crate::term::{paint, Ctx, Progress, BOLD, DIM, RED};
use anyhow::Result;
use diagnose::summary::{Count, Phases, Report};
use diagnose::util::{human_bytes, human_ms};
use serde::Serialize;

/// What is in this HAR: counts, bytes, timings, the slowest and largest requests, errors.
///
/// Requests by status class, resource type, domain, method and HTTP version; bytes
/// transferred vs decoded; page timings; the 10 slowest requests with their phase
/// breakdown (blocked, dns, connect, ssl, send, wait, receive); the 10 largest; the
/// failed and 4xx/5xx requests. One pass, bounded memory, any file size.
///
/// Examples: `hark summary customer.har`, `hark summary --markdown big.har | pbcopy`
#[derive(clap::Args)]
pub struct Args {
    /// The HAR file (`-` for standard input, `@example` for the built-in one).
    file: String,
    /// Machine-readable JSON on standard output.
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// Markdown tables, for pasting into a ticket.
    #[arg(long)]
    markdown: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    file: &'a str,
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated: Option<Truncated>,
}

/// Where and why a file broke off, in JSON: the report covers the complete entries
/// before it.
#[derive(Serialize)]
pub struct Truncated {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<har::Pos>,
    /// Complete entries read (and reported on) before it.
    pub complete_entries: usize,
}

impl Truncated {
    pub fn of(e: &har::ReadError, complete_entries: usize) -> Truncated {
        Truncated {
            message: e.to_string(),
            at: e.pos(),
            complete_entries,
        }
    }

    /// The sentence a person reads.
    pub fn line(&self) -> String {
        format!(
            "The file breaks off: {}. This report covers the {} complete entr{} before it.",
            self.message,
            self.complete_entries,
            if self.complete_entries == 1 {
                "y"
            } else {
                "ies"
            }
        )
    }
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let reader = input::reader(&a.file)?;
    let progress = Progress::of_reader(ctx, &a.file, &reader);
    let threads = a.threads.unwrap_or_else(har::default_threads);
    let analysis = diagnose::analyze(
        reader,
        threads,
        diagnose::Want {
            summary: true,
            diagnose: false,
        },
    )?;
    progress.finish();
    let truncated = analysis
        .truncated
        .as_ref()
        .map(|e| Truncated::of(e, analysis.entries));
    let report = analysis.summary.expect("summary was asked for");
    if a.json {
        crate::term::print_json(&JsonOut {
            file: &a.file,
            report: &report,
            truncated,
        })?;
    } else if a.markdown {
        let mut text = markdown(&a.file, &report);
        if let Some(t) = &truncated {
            text.push_str(&format!("\n**{}**\n", t.line()));
        }
        crate::term::print(&text)?;
    } else {
        let mut text = human(&a.file, &report);
        if let Some(t) = &truncated {
            text.push_str(&format!("\n{}\n", paint(RED, &t.line())));
        }
        crate::term::print(&text)?;
    }
    Ok(if analysis.truncated.is_some() {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    })
}

/// Rows of cells, laid out as aligned columns (numbers right-aligned).
pub fn table(head: &[&str], rows: &[Vec<String>], right: &[usize], indent: usize) -> String {
    let n = head.len();
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (k, c) in r.iter().enumerate().take(n) {
            w[k] = w[k].max(c.chars().count());
        }
    }
    let pad = " ".repeat(indent);
    let line = |cells: Vec<String>| {
        let mut s = pad.clone();
        for (k, c) in cells.iter().enumerate() {
            let len = c.chars().count();
            let fill = " ".repeat(w[k].saturating_sub(len));
            if k == n - 1 && !right.contains(&k) {
                s.push_str(c);
            } else if right.contains(&k) {
                s.push_str(&fill);
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&fill);
            }
            if k + 1 < n {
                s.push_str("  ");
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    out.push_str(&paint(
        DIM,
        &line(head.iter().map(|h| h.to_string()).collect()),
    ));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out
}

/// A Markdown table.
pub fn md_table(head: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = format!("| {} |\n|", head.join(" | "));
    for k in 0..head.len() {
        out.push_str(if right.contains(&k) {
            " ---: |"
        } else {
            " --- |"
        });
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

fn count_rows(c: &[Count]) -> Vec<Vec<String>> {
    c.iter()
        .map(|c| vec![c.key.clone(), c.requests.to_string(), human_bytes(c.bytes)])
        .collect()
}

pub fn phases(p: &Phases) -> String {
    p.phases()
        .iter()
        .filter_map(|(n, v)| v.filter(|v| *v >= 0.5).map(|v| format!("{n} {v:.0}")))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn status_cell(s: i64) -> String {
    if s <= 0 {
        "failed".into()
    } else {
        s.to_string()
    }
}

fn headline(file: &str, r: &Report) -> String {
    format!(
        "{} · {} entr{} · {} page{}{} · {} transferred, {} decoded{}{}",
        r.producer,
        r.entries,
        if r.entries == 1 { "y" } else { "ies" },
        r.pages.len(),
        if r.pages.len() == 1 { "" } else { "s" },
        r.span_ms
            .map(|s| format!(" · {} from first request to last response", human_ms(s)))
            .unwrap_or_default(),
        human_bytes(r.bytes.transferred),
        human_bytes(r.bytes.decoded),
        if r.bytes.sizes_swapped {
            format!(
                " (the producer swaps bodySize and content.size: {} compressed responses' Content-Length says so)",
                r.bytes.swap_evidence
            )
        } else {
            String::new()
        },
        if r.bytes.from_cache > 0 {
            format!(" · {} from cache", r.bytes.from_cache)
        } else {
            String::new()
        }
    )
    .replace("{file}", file)
}

struct Sections {
    breakdowns: Vec<(&'static str, &'static str, Vec<Vec<String>>)>,
    pages: Vec<Vec<String>>,
    slow: Vec<Vec<String>>,
    large: Vec<Vec<String>>,
    errors: Vec<Vec<String>>,
}

fn sections(r: &Report) -> Sections {
    Sections {
        breakdowns: vec![
            ("By status", "status", count_rows(&r.status)),
            ("By type", "type", count_rows(&r.types)),
            ("By domain", "domain", count_rows(&r.domains)),
            ("By method", "method", count_rows(&r.methods)),
            ("By HTTP version", "version", count_rows(&r.http_versions)),
        ],
        pages: r
            .pages
            .iter()
            .map(|p| {
                vec![
                    p.title.clone(),
                    p.requests.to_string(),
                    human_bytes(p.bytes),
                    p.on_content_load
                        .map(human_ms)
                        .unwrap_or_else(|| "–".into()),
                    p.on_load.map(human_ms).unwrap_or_else(|| "–".into()),
                ]
            })
            .collect(),
        slow: r
            .slowest
            .iter()
            .map(|s| {
                vec![
                    s.index.to_string(),
                    human_ms(s.time),
                    s.slowest_phase.unwrap_or("–").to_string(),
                    status_cell(s.status),
                    format!("{} {}", s.method, s.url),
                    phases(&s.phases),
                ]
            })
            .collect(),
        large: r
            .largest
            .iter()
            .map(|l| {
                vec![
                    l.index.to_string(),
                    human_bytes(l.size),
                    l.transferred.map(human_bytes).unwrap_or_else(|| "–".into()),
                    l.mime_type.clone(),
                    format!("{} {}", l.method, l.url),
                ]
            })
            .collect(),
        errors: r
            .errors
            .iter()
            .map(|e| {
                vec![
                    e.index.to_string(),
                    status_cell(e.status),
                    e.error.clone(),
                    format!("{} {}", e.method, e.url),
                ]
            })
            .collect(),
    }
}

pub fn human(file: &str, r: &Report) -> String {
    let s = sections(r);
    let mut out = format!(
        "{}  {}\n",
        paint(BOLD, file),
        paint(DIM, &headline(file, r))
    );
    for (title, key, rows) in &s.breakdowns {
        out.push_str(&format!("\n{}\n", paint(BOLD, title)));
        out.push_str(&table(&[key, "requests", "bytes"], rows, &[1, 2], 2));
    }
    if !s.pages.is_empty() {
        out.push_str(&format!("\n{}\n", paint(BOLD, "Pages")));
        out.push_str(&table(
            &["title", "requests", "bytes", "DOMContentLoaded", "load"],
            &s.pages,
            &[1, 2, 3, 4],
            2,
        ));
    }
    if !s.slow.is_empty() {
        out.push_str(&format!("\n{}\n", paint(BOLD, "Slowest requests")));
        out.push_str(&table(
            &[
                "entry",
                "time",
                "slowest",
                "status",
                "request",
                "phases (ms)",
            ],
            &s.slow,
            &[0, 1],
            2,
        ));
    }
    if !s.large.is_empty() {
        out.push_str(&format!("\n{}\n", paint(BOLD, "Largest responses")));
        out.push_str(&table(
            &["entry", "size", "on the wire", "type", "request"],
            &s.large,
            &[0, 1, 2],
            2,
        ));
    }
    out.push_str(&format!(
        "\n{}\n",
        paint(
            if r.error_count > 0 { RED } else { BOLD },
            &format!("Errors: {}", r.error_count)
        )
    ));
    if !s.errors.is_empty() {
        out.push_str(&table(
            &["entry", "status", "error", "request"],
            &s.errors,
            &[0],
            2,
        ));
        if r.error_count as usize > s.errors.len() {
            out.push_str(&format!(
                "  {}\n",
                paint(
                    DIM,
                    &format!("… and {} more", r.error_count as usize - s.errors.len())
                )
            ));
        }
    }
    for c in &r.caps_reached {
        out.push_str(&format!("\n{}", paint(DIM, &format!("Limit reached: {c}"))));
    }
    out.push('\n');
    out
}

pub fn markdown(file: &str, r: &Report) -> String {
    let s = sections(r);
    let mut out = format!("### HAR summary: `{file}`\n\n{}\n", headline(file, r));
    for (title, key, rows) in &s.breakdowns {
        out.push_str(&format!("\n**{title}**\n\n"));
        out.push_str(&md_table(&[key, "requests", "bytes"], rows, &[1, 2]));
    }
    if !s.pages.is_empty() {
        out.push_str("\n**Pages**\n\n");
        out.push_str(&md_table(
            &["title", "requests", "bytes", "DOMContentLoaded", "load"],
            &s.pages,
            &[1, 2, 3, 4],
        ));
    }
    if !s.slow.is_empty() {
        out.push_str("\n**Slowest requests**\n\n");
        out.push_str(&md_table(
            &[
                "entry",
                "time",
                "slowest phase",
                "status",
                "request",
                "phases (ms)",
            ],
            &s.slow,
            &[0, 1],
        ));
    }
    if !s.large.is_empty() {
        out.push_str("\n**Largest responses**\n\n");
        out.push_str(&md_table(
            &["entry", "size", "on the wire", "type", "request"],
            &s.large,
            &[0, 1, 2],
        ));
    }
    out.push_str(&format!("\n**Errors: {}**\n\n", r.error_count));
    if !s.errors.is_empty() {
        out.push_str(&md_table(
            &["entry", "status", "error", "request"],
            &s.errors,
            &[0],
        ));
        if r.error_count as usize > s.errors.len() {
            out.push_str(&format!(
                "\n… and {} more\n",
                r.error_count as usize - s.errors.len()
            ));
        }
    }
    out
}
