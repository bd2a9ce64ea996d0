use crate::input;
use crate::term::{Ctx, Progress};
use anyhow::{Context, Result};
use cut::filter::{parse_status, Filter};
use cut::glob::Glob;
use har::{HarWriter, Output};
use std::sync::Arc;

/// Keep the entries that match (or with `--exclude`, the others), and the pages that still
/// have entries.
///
/// Different conditions must all hold; a condition given several times holds when any of
/// its values does (`--status 4xx --status 5xx --method POST`: POSTs that failed with 4xx or
/// 5xx). Kept entries are copied exactly as written; pages are written after the entries.
/// Streams: memory is bounded by the largest entry.
///
/// Examples: `hark filter site.har --host '*.api.example.com' --status 5xx -o errors.har`,
/// `hark filter site.har --type image --type font --exclude -o lean.har`
#[derive(clap::Args)]
pub struct Args {
    /// The HAR to read (`-` for standard input, `@example` for the built-in one).
    input: String,
    /// Where to write (`-`, the default, is standard output).
    #[arg(short, long, default_value = "-")]
    output: String,
    /// The whole URL matches this glob (`*` any text, `?` one character).
    #[arg(long, value_name = "GLOB")]
    url: Vec<String>,
    /// The whole URL matches this regular expression (anywhere in it).
    #[arg(long, value_name = "RE")]
    regex: Vec<String>,
    /// The URL's host matches this glob (`*.example.com`).
    #[arg(long, value_name = "GLOB")]
    host: Vec<String>,
    /// The request method.
    #[arg(long)]
    method: Vec<String>,
    /// The response status: `404`, a class `4xx`, or a range `400-499`.
    #[arg(long)]
    status: Vec<String>,
    /// The response's MIME type matches this glob (`image/*`, `*json`).
    #[arg(long, value_name = "GLOB")]
    mime: Vec<String>,
    /// The resource type (`document`, `script`, `xhr`, `fetch`, `image`, `font`, …).
    #[arg(long = "type", value_name = "TYPE")]
    types: Vec<String>,
    /// The page id (`pageref`).
    #[arg(long)]
    page: Vec<String>,
    /// Started at or after this time (ISO 8601, e.g. 2025-01-31T10:00:00Z).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Started before this time (ISO 8601).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// The response body is at least this large (bodySize, else content.size; K/M/G).
    #[arg(long, value_name = "SIZE", value_parser = super::parse_size)]
    min_size: Option<u64>,
    /// The response body is at most this large.
    #[arg(long, value_name = "SIZE", value_parser = super::parse_size)]
    max_size: Option<u64>,
    /// The entry took at least this many milliseconds.
    #[arg(long, value_name = "MS")]
    min_time: Option<f64>,
    /// The entry took at most this many milliseconds.
    #[arg(long, value_name = "MS")]
    max_time: Option<f64>,
    /// The request failed (no response, or an error recorded).
    #[arg(long)]
    has_error: bool,
    /// Keep the entries that do not match instead.
    #[arg(long)]
    exclude: bool,
    /// No white space at all.
    #[arg(long)]
    compact: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

fn time(flag: &str, s: &Option<String>) -> Result<Option<f64>> {
    s.as_ref()
        .map(|t| {
            har::time::parse_ms(t).with_context(|| {
                format!("{flag} {t}: expected an ISO 8601 time like 2025-01-31T10:00:00Z")
            })
        })
        .transpose()
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let filter = Filter {
        urls: a.url.iter().map(|g| Glob::new(g)).collect(),
        regexes: a
            .regex
            .iter()
            .map(|r| regex::Regex::new(r).with_context(|| format!("--regex {r}")))
            .collect::<Result<_>>()?,
        hosts: a.host.iter().map(|g| Glob::new(g)).collect(),
        methods: a.method.iter().map(|m| m.to_ascii_uppercase()).collect(),
        statuses: a
            .status
            .iter()
            .map(|s| parse_status(s))
            .collect::<Result<_, _>>()?,
        mimes: a.mime.iter().map(|g| Glob::new(g)).collect(),
        types: a.types.iter().map(|t| t.to_ascii_lowercase()).collect(),
        pages: a.page.clone(),
        since: time("--since", &a.since)?,
        until: time("--until", &a.until)?,
        min_size: a.min_size.map(|s| s as i64),
        max_size: a.max_size.map(|s| s as i64),
        min_time: a.min_time,
        max_time: a.max_time,
        has_error: a.has_error,
        exclude: a.exclude,
    };
    let style = super::style(a.compact);
    crate::term::remove_temp_files_on_signal()?;
    let reader = input::reader(&a.input)?;
    let out = Output::create(&a.output, &[&a.input])?;
    let mut w = HarWriter::new(out, style);
    let progress = Progress::of_reader(ctx, "filter", &reader);
    let threads = a.threads.unwrap_or_else(har::default_threads);
    let counts = cut::filter::run(reader, threads, Arc::new(filter), style, &mut w)?;
    progress.finish();
    w.into_inner().commit()?;
    if !ctx.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) && a.output != "-" {
        eprintln!(
            "kept {} of {} entries and {} pages",
            counts.kept, counts.read, counts.pages_kept
        );
    }
    Ok(crate::exit::OK)
}
