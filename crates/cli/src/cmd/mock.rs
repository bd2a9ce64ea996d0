use crate::cmd::summary::table;
use crate::term::{paint, Ctx, BOLD, DIM, YELLOW};
use anyhow::{Context, Result};
use std::sync::Arc;

/// Answer requests from recordings: an origin server and an HTTP/HTTPS proxy.
///
/// As an origin server, requests (`curl localhost:8080/api/me`) are matched by path and
/// query on any recorded host (`--host` to choose one). As a forward proxy, a browser,
/// device or test suite set to use it gets recorded answers for every host in the files:
/// absolute-form requests for http://, CONNECT tunnels for https:// (TLS with a leaf
/// from hark's CA, the one `hark record` uses; `hark ca` installs it).
///
/// Matching: method, host (proxied requests), path, query, body — JSON compared
/// structurally, form fields, GraphQL by operationName and variables. Repeated
/// identical requests get the recorded answers in order, the last one repeating. A miss
/// is a 404 whose JSON body names the closest recorded request and what differed.
/// Answers are faithful: status, headers (hop-by-hop ones dropped, Content-Length and
/// Content-Encoding true to the body sent), body decoded from base64, Set-Cookie,
/// redirects. At exit (Ctrl-C), a summary: hits per entry, misses, entries never used.
///
/// Examples: `hark mock app.har`, `hark mock app.har --ignore-query cb --ignore-body-field
/// '$.requestedAt'`, `chromium --proxy-server=127.0.0.1:8080 …`
#[derive(clap::Args)]
pub struct Args {
    /// The HAR files (plain, not gzip: answers are read back from them).
    #[arg(required = true)]
    files: Vec<String>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Answer origin-form requests only from this recorded host (`api.example.com`).
    #[arg(long)]
    host: Option<String>,
    /// Leave this query parameter out of matching (a name or glob: `cb`, `_*`);
    /// repeatable.
    #[arg(long, value_name = "NAME")]
    ignore_query: Vec<String>,
    /// Leave this JSON field (or form field) of request bodies out of matching (`$.ts`,
    /// `$.items[*].at`); repeatable.
    #[arg(long, value_name = "JSONPATH")]
    ignore_body_field: Vec<String>,
    /// Match this request header too (a name or glob); repeatable.
    #[arg(long, value_name = "NAME")]
    match_header: Vec<String>,
    /// Last resort: a request whose path matches a recorded one once ids are templated
    /// (`/users/{userId}`) gets its answer.
    #[arg(long)]
    loose: bool,
    /// Wait before answering: `recorded` (the recorded time), `none`, or a factor of the
    /// recorded time (`0.5`).
    #[arg(long, default_value = "none", value_parser = |s: &str| s.parse::<mock::Delay>())]
    delay: mock::Delay,
    /// A TOML file of rules (ignore_query, ignore_body_fields, match_headers, loose,
    /// delay, host), added to the command line's.
    #[arg(long, value_name = "FILE")]
    rules: Option<String>,
    /// Forward misses to the real server (a proxied request to its host, an origin-form
    /// one to --host) and answer with what it says; nothing else is ever sent anywhere.
    #[arg(long)]
    passthrough: bool,
    /// With --passthrough: write the forwarded exchanges to this HAR at exit.
    #[arg(short, long, value_name = "FILE", requires = "passthrough")]
    output: Option<String>,
    /// The CA that signs the leaves of CONNECT tunnels (default: hark's, as `hark ca`).
    #[arg(long, value_name = "DIR")]
    ca_dir: Option<std::path::PathBuf>,
    /// The exit summary as JSON.
    #[arg(long)]
    json: bool,
    /// Worker threads for loading (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

pub fn run(a: Args, _ctx: &Ctx) -> Result<u8> {
    let mut opts = mock::Options {
        rules: mock::Rules {
            ignore_query: a.ignore_query.clone(),
            ignore_body_fields: a.ignore_body_field.clone(),
            match_headers: a
                .match_header
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        },
        host: a.host.clone(),
        loose: a.loose,
        delay: a.delay,
        passthrough: a.passthrough,
    };
    if let Some(path) = &a.rules {
        mock::RulesFile::read(path)?.merge_into(&mut opts, path)?;
    }
    let threads = a.threads.unwrap_or_else(har::default_threads);
    let m = Arc::new(mock::Mock::load(&a.files, opts, threads)?);
    for s in m.index.skipped.iter().take(5) {
        crate::term::error(&format!(
            "{}: entry {} (line {}) skipped: {}",
            s.file, s.entry, s.line, s.error
        ));
    }
    let ca_dir = a.ca_dir.clone().unwrap_or_else(record::ca::default_dir);
    let ca = Arc::new(record::ca::Ca::load_or_create(&ca_dir)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(&a.listen))
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr()?;
    crate::term::print(&format!(
        "hark mock: {} recorded requests from {} file{}; listening on http://{addr} (origin and proxy)\n",
        m.index.recs.len(),
        a.files.len(),
        if a.files.len() == 1 { "" } else { "s" }
    ))?;
    rt.block_on(mock::server::serve(
        m.clone(),
        Some(ca),
        listener,
        super::stop_signal(),
    ));
    if let Some(path) = &a.output {
        write_har(path, &a.files, &m.forwarded())?;
    }
    let summary = m.summary();
    if a.json {
        crate::term::print_json(&summary)?;
    } else {
        crate::term::print(&human(&summary))?;
    }
    Ok(crate::exit::OK)
}

/// The forwarded exchanges as a HAR, replaced only once complete, never over an input.
fn write_har(path: &str, inputs: &[String], entries: &[serde_json::Value]) -> Result<()> {
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let mut out = har::Output::create(path, &inputs)?;
    {
        let header = record::journal::header(
            Vec::new(),
            Some("requests hark mock --passthrough forwarded"),
        );
        let mut w = har::HarWriter::new(&mut out, har::Style::Pretty);
        w.begin(&header)?;
        for e in entries {
            w.raw_entry(e)?;
        }
        w.end(&header)?;
    }
    out.commit()?;
    Ok(())
}

fn human(s: &mock::Summary) -> String {
    let mut out = format!(
        "\n{} {} answers, {} misses{}, {} of {} entries never used\n",
        paint(BOLD, "hark mock:"),
        s.hits,
        s.misses,
        if s.forwarded > 0 {
            format!(" ({} forwarded)", s.forwarded)
        } else {
            String::new()
        },
        s.never_used,
        s.entries.len()
    );
    let rows: Vec<Vec<String>> = s
        .entries
        .iter()
        .filter(|e| e.hits > 0)
        .map(|e| {
            vec![
                e.hits.to_string(),
                e.method.clone(),
                format!("{}{}", e.host, e.path),
                format!("{}#{}", e.file, e.entry),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&table(&["HITS", "METHOD", "URL", "ENTRY"], &rows, &[0], 2));
    }
    for m in &s.miss_examples {
        out.push_str(&format!(
            "  {} {} {} — closest {}: {}\n",
            paint(YELLOW, "miss"),
            m.method,
            m.url,
            m.closest.as_deref().unwrap_or("-"),
            m.differences.join("; ")
        ));
    }
    if s.never_used > 0 {
        out.push_str(&paint(
            DIM,
            &format!(
                "  {} entries never used (--json lists them)\n",
                s.never_used
            ),
        ));
    }
    out
}
