use crate::term::Ctx;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Capture a HAR from a Chromium-family browser (Chrome, Chromium, Edge, Brave) over the
/// DevTools protocol: no export dialog, no proxy, no CA.
///
/// Launch mode (`hark capture [URL] -o out.har`): starts the browser with a fresh
/// temporary profile (deleted afterwards) and its cache disabled, opens URL, and records
/// every tab, popup, iframe and worker until the browser is closed, Ctrl-C or SIGTERM,
/// or --until-idle. Attach mode (`--connect http://127.0.0.1:9222`): records a browser
/// already running with --remote-debugging-port=9222 until Ctrl-C or SIGTERM; it keeps
/// running afterwards.
///
/// What DevTools would export with *Preserve log*, *Disable cache* and sensitive data
/// allowed: every redirect hop an entry, cookies and Authorization, request and response
/// bodies, pages with their timings, failed and blocked requests with `_error`,
/// WebSocket messages and server-sent events. Every finished request is appended to a
/// journal at once, so a crash loses nothing that finished (`--recover`). At the end the
/// `hark check` verdict of what was written is printed. See docs/capture.md.
///
/// Examples: `hark capture https://app.example.com/ -o login.har --sanitize`,
/// `hark capture --connect http://127.0.0.1:9222 -o run.har`,
/// `hark capture http://127.0.0.1:3000/ --headless --until-idle 2s -o ci.har`
#[derive(clap::Args)]
pub struct Args {
    /// The page to open (launch mode; none: a blank tab).
    url: Option<String>,
    /// Where to write the HAR (written atomically when the capture stops).
    #[arg(short, long)]
    output: String,
    /// Attach to a running browser at its DevTools endpoint (http://HOST:PORT of its
    /// --remote-debugging-port, or its ws:// URL) instead of starting one.
    #[arg(long, value_name = "URL", conflicts_with_all = ["browser", "headless", "url", "browser_arg"])]
    connect: Option<String>,
    /// The browser to start: a path, or chrome, chromium, edge or brave [default: the
    /// first of those found].
    #[arg(long, value_name = "PATH|NAME")]
    browser: Option<String>,
    /// Start the browser without a window (for CI).
    #[arg(long)]
    headless: bool,
    /// Another command-line flag for the browser started (repeatable).
    #[arg(long, value_name = "FLAG", allow_hyphen_values = true)]
    browser_arg: Vec<String>,
    /// Keep the browser's cache (by default it is disabled, so every response is fetched).
    #[arg(long)]
    cache: bool,
    /// Stop once no request has been in flight for this long (`2s`, `500ms`, `1m`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    until_idle: Option<Duration>,
    /// Also write a sanitized copy: --output gets the sanitized HAR, the raw one goes to
    /// OUTPUT with `.raw.har` (unless --no-raw).
    #[arg(long)]
    sanitize: bool,
    /// With --sanitize: keep no raw copy.
    #[arg(long, requires = "sanitize")]
    no_raw: bool,
    /// The journal file (default: OUTPUT.journal).
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Keep the journal after writing the HAR.
    #[arg(long)]
    keep_journal: bool,
    /// Do not capture: turn JOURNAL (left by a crash) into the HAR at --output.
    #[arg(long, value_name = "JOURNAL")]
    recover: Option<PathBuf>,
    /// Compact HAR (no white space).
    #[arg(long)]
    compact: bool,
}

/// `2s`, `500ms`, `1.5s`, `1m`, or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{t}: a duration like 2s, 500ms or 1m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{t}: the unit is ms, s or m")),
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("{t}: must be more than zero"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `out.har` → `out.raw.har`.
fn raw_name(output: &str) -> String {
    match output.strip_suffix(".har") {
        Some(stem) => format!("{stem}.raw.har"),
        None => format!("{output}.raw.har"),
    }
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let style = super::style(a.compact);
    if a.output == "-" {
        bail!("--output must be a file (the HAR is written when the capture stops)");
    }
    // Where the capture's HAR goes first: the output, or the raw copy when sanitizing.
    let tmp_raw;
    let raw: String = match (a.sanitize, a.no_raw) {
        (false, _) => a.output.clone(),
        (true, false) => raw_name(&a.output),
        (true, true) => {
            tmp_raw = tempfile::Builder::new()
                .prefix("hark-capture-raw-")
                .suffix(".har")
                .tempfile()
                .context("creating a temporary file")?
                .into_temp_path();
            tmp_raw.to_string_lossy().into_owned()
        }
    };
    if let Some(j) = &a.recover {
        let scan = capture::finish(j, &raw, style)?;
        eprintln!(
            "hark capture: {} entries recovered from {} into {raw}{}",
            scan.entries,
            j.display(),
            if scan.dropped_bytes > 0 {
                format!(
                    " ({} bytes of a torn last record dropped)",
                    scan.dropped_bytes
                )
            } else {
                String::new()
            }
        );
        return finish(&a, &raw, style, ctx);
    }
    let journal = a
        .journal
        .clone()
        .unwrap_or_else(|| record::journal_for(&a.output));
    let target = match &a.connect {
        Some(url) => capture::Target::Connect(url.clone()),
        None => capture::Target::Launch {
            options: capture::browser::LaunchOptions {
                path: capture::browser::find(a.browser.as_deref())?,
                headless: a.headless,
                args: a.browser_arg.clone(),
            },
            url: a.url.clone(),
        },
    };
    let opts = capture::Options {
        target,
        cache: a.cache,
        until_idle: a.until_idle,
        journal: journal.clone(),
    };
    // The live log: a line per request above a running count, on a terminal only.
    let counter = Arc::new(AtomicU64::new(0));
    let bar = super::record::live_count(ctx, counter.clone());
    let log = super::record::live_log(bar.clone(), None);
    let (observer, writer) = match log {
        Some((o, w)) => (Some(o), Some(w)),
        None => (None, None),
    };
    let c = counter.clone();
    let observer: record::Observer = Arc::new(move |e: record::Event| {
        c.fetch_add(1, Ordering::Relaxed);
        if let Some(o) = &observer {
            o(e);
        }
    });
    let live = super::record::LiveCount(bar, writer);
    let how = if a.until_idle.is_some() {
        "Ctrl-C, SIGTERM or idle"
    } else if a.connect.is_some() {
        "Ctrl-C or SIGTERM"
    } else {
        "closing the browser, Ctrl-C or SIGTERM"
    };
    let started = |s: &capture::Started| {
        eprintln!(
            "hark capture: recording {} ({}); journal {}; {how} stops and writes {}",
            if s.product.is_empty() {
                "the browser"
            } else {
                &s.product
            },
            s.endpoint,
            journal.display(),
            a.output
        );
    };
    let done = capture::run(opts, started, super::stop_signal(), Some(observer));
    drop(live);
    let done = done?;
    let scan = capture::finish(&journal, &raw, style)?;
    if !a.keep_journal {
        capture::remove_journal(&journal);
    }
    eprintln!(
        "hark capture: {} entries, {} page{} written to {raw}{}{}",
        scan.entries,
        done.pages,
        if done.pages == 1 { "" } else { "s" },
        match done.stopped {
            capture::Stop::Idle => " (idle)",
            capture::Stop::BrowserGone => " (the browser went away)",
            capture::Stop::Signal => "",
        },
        if done.unfinished > 0 {
            format!(
                "; {} requests without a response at the stop were not recorded",
                done.unfinished
            )
        } else {
            String::new()
        }
    );
    finish(&a, &raw, style, ctx)
}

/// Sanitize (when asked) and print the `check` verdict of what was written.
fn finish(a: &Args, raw: &str, style: har::Style, ctx: &Ctx) -> Result<u8> {
    if a.sanitize {
        use sanitize::pipeline;
        let opts = sanitize::Options::default();
        let open = |_: pipeline::Pass| -> Result<har::HarReader> { Ok(crate::input::reader(raw)?) };
        let out = har::Output::create(&a.output, &[raw])?;
        let mut w = har::HarWriter::new(out, style);
        let report = pipeline::run(&opts, open, har::default_threads(), style, Some(&mut w))?;
        w.into_inner().commit()?;
        eprintln!(
            "hark capture: sanitized into {} ({} values replaced); {}",
            a.output,
            report.total(),
            if a.no_raw {
                "no raw copy kept".to_string()
            } else {
                format!("the raw capture is {raw}")
            }
        );
    }
    let opts = check::Options {
        threads: har::default_threads(),
        strict: false,
    };
    let r = super::check::check_file(&a.output, &opts, ctx);
    super::check::print_human(&r, false)?;
    Ok(crate::exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_raw_names() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err() && parse_duration("2h").is_err());
        assert_eq!(raw_name("a/login.har"), "a/login.raw.har");
        assert_eq!(raw_name("x"), "x.raw.har");
    }
}
