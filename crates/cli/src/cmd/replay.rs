use crate::input;
use crate::term::Ctx;
use anyhow::{bail, Context, Result};
use std::time::Duration;

/// Send a recording's requests again and see what changed.
///
/// Each request goes to --target (its scheme, host, port and path prefix; the recorded
/// path and query), or, with --to-recorded-hosts, to the hosts it was recorded from —
/// never anywhere else. In recorded order (or --concurrency N at a time, entries still
/// written in recorded order), at most --rate a second; a cookie jar carries the
/// cookies the new responses set, so a login flow continues; -H replaces a recorded
/// header. Only GET, HEAD and OPTIONS are sent unless --unsafe.
///
/// What came back is written as a new HAR with real timings (-o), then compared with
/// the recording as `hark diff` does. Exit status 0 when nothing meaningful changed, 1
/// otherwise.
///
/// Examples: `hark replay app.har --target http://localhost:3000 -o new.har`,
/// `hark replay app.har --target https://staging.example.com -H 'Authorization: Bearer …'
/// --unsafe`
#[derive(clap::Args)]
pub struct Args {
    /// The recording (a file: it is read again for the diff).
    file: String,
    /// Where to send the requests: a base URL (`http://127.0.0.1:3000`).
    #[arg(
        long,
        value_name = "BASE_URL",
        required_unless_present = "to_recorded_hosts"
    )]
    target: Option<String>,
    /// Send each request to the host it was recorded from.
    #[arg(long, conflicts_with = "target")]
    to_recorded_hosts: bool,
    /// Write the new HAR here (default: only the diff is shown).
    #[arg(short, long, value_name = "FILE")]
    output: Option<String>,
    /// Requests in flight at once (1: strictly in order).
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// At most this many requests a second.
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// A header set on every request (`Name: value`), replacing the recorded one;
    /// repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Only requests whose URL matches this glob (`*/api/*`); repeatable.
    #[arg(long, value_name = "GLOB")]
    only: Vec<String>,
    /// Not requests whose URL matches this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    skip: Vec<String>,
    /// Send methods other than GET, HEAD and OPTIONS too (POST, PUT, DELETE… change
    /// things on the server).
    #[arg(long = "unsafe")]
    unsafe_methods: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Accept any TLS certificate.
    #[arg(long, short = 'k')]
    insecure: bool,
    /// The diff as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    if a.file == "-" {
        bail!("the recording is read twice: it cannot be standard input");
    }
    let target = match &a.target {
        Some(t) => replay::Target::base(t)?,
        None => replay::Target::RecordedHosts,
    };
    let mut headers = Vec::new();
    for h in &a.headers {
        let Some((n, v)) = h.split_once(':') else {
            bail!("-H {h:?}: expected `Name: value`");
        };
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let opts = replay::Options {
        target,
        concurrency: a.concurrency,
        rate: a.rate,
        headers,
        only: a.only.clone(),
        skip: a.skip.clone(),
        unsafe_methods: a.unsafe_methods,
        timeout: Duration::from_secs(a.timeout.max(1)),
        insecure: a.insecure,
    };
    // The new HAR: to -o, or to a temporary file for the diff.
    let tmp;
    let path = match &a.output {
        Some(p) => p.clone(),
        None => {
            tmp = tempfile::Builder::new()
                .prefix("hark-replay-")
                .suffix(".har")
                .tempfile()?
                .into_temp_path();
            tmp.to_string_lossy().into_owned()
        }
    };
    let reader = input::reader(&a.file)?;
    let mut out = har::Output::create(&path, &[a.file.as_str()])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let stats = {
        let mut w = har::HarWriter::new(&mut out, har::Style::Pretty);
        let comment = format!("{} replayed by hark replay", a.file);
        let new_header = record::journal::header(Vec::new(), Some(&comment));
        w.begin(&new_header).context("cannot write the HAR")?;
        let stats = rt.block_on(replay::replay(reader, &opts, |entry| {
            w.raw_entry(&entry).map_err(replay::Error::Write)
        }))?;
        w.end(&new_header).context("cannot write the HAR")?;
        stats
    };
    out.commit()?;
    eprintln!(
        "hark replay: {} sent, {} failed, {} not sent (method; --unsafe), {} filtered{}",
        stats.sent,
        stats.failed,
        stats.skipped_unsafe,
        stats.filtered,
        a.output
            .as_deref()
            .map(|o| format!("; written to {o}"))
            .unwrap_or_default()
    );
    // The diff, as `hark diff FILE NEW --json|…` prints it.
    // Only the entries sent take part: one not sent did not disappear.
    let sent: std::collections::HashSet<usize> = stats.sent_entries.iter().copied().collect();
    let code = crate::cmd::diff::run_only(
        crate::cmd::diff::Args::pair(&a.file, &path, a.json),
        Some(std::sync::Arc::new(sent)),
        ctx,
    )?;
    Ok(code)
}
