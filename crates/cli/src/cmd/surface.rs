use crate::cmd::summary::table;
use crate::input;
use crate::term::{paint, Ctx, Progress, BOLD, YELLOW};
use anyhow::{Context, Result};
use serde::Serialize;
use surface::{Param, Report};

/// The attack surface of an application from its HAR: endpoints, parameters, auth.
///
/// Hosts in scope (by default the hosts of the recorded documents; others are listed
/// as third parties), endpoints as method + templated path (`GET /api/users/{userId}`):
/// a segment is a parameter when its value is an identifier (number, UUID, hex or short
/// hash, date, e-mail, key like `OPS-3`, prefixed token) or when its siblings say so
/// (two or more slugs or locale codes, or twenty or more words, answered with the same
/// methods and response shape); sibling resources with their own methods or responses
/// stay apart (`--explain` says why each template was made, `--pins` overrides). Rows are
/// pages (HTML page loads) or API operations; GraphQL operations and JSON-RPC methods are
/// rows of their own. Parameters by location (path, query, header, cookie, form,
/// multipart, JSON body fields) with types and sanitized examples, the auth seen and
/// whether the endpoint answered 401/403 without it, passive findings (missing security
/// headers, weak cookies, secrets in URLs judged by value, credentials over HTTP,
/// version disclosure, stack traces, permissive CORS, mixed content, weak JWTs,
/// cacheable personal data; each with a CWE), and a verdict on how complete the
/// recording is. Exit status 1 when a finding of `--fail-on` severity or worse exists.
///
/// Examples: `hark surface app.har --explain`, `hark surface app.har --scope
/// '*.example.com' --openapi api.yaml --sarif out.sarif`, `hark surface app.har --json |
/// jq '.endpoints[].path'`
#[derive(clap::Args)]
pub struct Args {
    /// The HAR file (`-` for standard input, `@example` for the built-in one).
    file: String,
    /// A host or glob (`*.example.com`) in scope; repeatable. Default: the hosts of the
    /// recorded documents.
    #[arg(long, value_name = "HOST|GLOB")]
    scope: Vec<String>,
    /// Machine-readable JSON on standard output.
    #[arg(long)]
    json: bool,
    /// Write an OpenAPI 3.1 document to FILE (YAML when FILE ends in .yaml or .yml, else
    /// JSON): API operations only (page loads stay in the table), security
    /// requirements as observed, GraphQL operations and JSON-RPC methods as extensions.
    #[arg(long, value_name = "FILE")]
    openapi: Option<String>,
    /// Write the passive findings as SARIF 2.1.0 to FILE (for GitHub code scanning).
    #[arg(long, value_name = "FILE")]
    sarif: Option<String>,
    /// Say why each path parameter was made (under each endpoint of the table).
    #[arg(long)]
    explain: bool,
    /// A TOML file of pinned decisions: `keep = ["/api/config"]` (segments that stay
    /// literal), `template = ["/u/{handle}"]` (positions that are parameters).
    #[arg(long, value_name = "FILE")]
    pins: Option<String>,
    /// The least severe finding that fails the command (exit 1): `error` (severity 7
    /// and above), `warning` (4 and above), `info` (any finding).
    #[arg(long, value_enum, default_value_t = super::check::FailOn::Warning)]
    fail_on: super::check::FailOn,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    file: &'a str,
    #[serde(flatten)]
    report: &'a Report,
}

/// Write `bytes` to `path` (`-`: standard output) through har::Output: a temporary file
/// beside it renamed into place when complete, never over the input HAR.
fn write_file(path: &str, bytes: &[u8], input: &str) -> Result<()> {
    use std::io::Write;
    let mut out = har::Output::create(path, &[input])?;
    out.write_all(bytes)
        .with_context(|| format!("cannot write {path}"))?;
    out.commit()?;
    Ok(())
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let reader = input::reader(&a.file)?;
    let progress = Progress::of_reader(ctx, &a.file, &reader);
    let threads = a.threads.unwrap_or_else(har::default_threads);
    let pins = match &a.pins {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("cannot read pins file {p}"))?;
            surface::Pins::parse(&text).with_context(|| p.clone())?
        }
        None => surface::Pins::default(),
    };
    let report = surface::analyze(
        reader,
        threads,
        surface::Scope {
            patterns: a.scope.clone(),
        },
        pins,
    )?;
    progress.finish();
    if let Some(path) = &a.openapi {
        write_file(
            path,
            &surface::openapi::file_bytes(&report, &a.file, path),
            &a.file,
        )?;
    }
    if let Some(path) = &a.sarif {
        let bytes = surface::sarif::file_bytes(&report, &a.file, env!("CARGO_PKG_VERSION"));
        write_file(path, &bytes, &a.file)?;
    }
    if a.json {
        crate::term::print_json(&JsonOut {
            file: &a.file,
            report: &report,
        })?;
    } else if a.openapi.as_deref() != Some("-") && a.sarif.as_deref() != Some("-") {
        crate::term::print(&human(&a.file, &report, a.explain))?;
    }
    let worst = report
        .findings
        .iter()
        .filter_map(|f| surface::rules::rule(f.rule))
        .map(|r| severity(r.severity))
        .max();
    Ok(if a.fail_on.fails(worst) {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    })
}

/// A rule's severity (0–10, as in SARIF) as `check`'s levels: 7 and above an error, 4
/// and above a warning, below that info (SARIF's error / warning / note).
fn severity(s: f32) -> har::Severity {
    if s >= 7.0 {
        har::Severity::Error
    } else if s >= 4.0 {
        har::Severity::Warning
    } else {
        har::Severity::Info
    }
}

fn params_text(ps: &[Param]) -> String {
    let mut out = Vec::new();
    for p in ps {
        let opt = if p.required { "" } else { "?" };
        out.push(format!("{}:{}{opt}", p.loc.as_str(), p.name));
    }
    out.join(" ")
}

fn human(file: &str, r: &Report, explain: bool) -> String {
    let mut out = format!(
        "{}  {} entries, {} endpoints in scope ({}), {} static assets\n",
        paint(BOLD, file),
        r.entries,
        r.endpoints.len(),
        if r.scope.is_empty() {
            "no host".to_string()
        } else {
            r.scope.join(", ")
        },
        r.static_assets,
    );
    if !r.third_party.is_empty() {
        let tp: Vec<String> = r
            .third_party
            .iter()
            .map(|(h, n)| format!("{h} ({n})"))
            .collect();
        out.push_str(&format!("third-party hosts: {}\n", tp.join(", ")));
    }
    if r.dropped > 0 {
        out.push_str(&format!(
            "{} requests not kept: more than {} endpoints\n",
            r.dropped,
            surface::MAX_ENDPOINTS
        ));
    }
    out.push('\n');
    let multi = r.scope.len() > 1;
    let rows: Vec<Vec<String>> = r
        .endpoints
        .iter()
        .map(|e| {
            let statuses: Vec<String> = e.statuses.keys().map(|s| s.to_string()).collect();
            let mut auth: Vec<String> = e.auth.iter().map(|a| a.text()).collect();
            if e.unauthenticated > 0 && !e.auth.is_empty() {
                auth.push(if e.denied_without_auth == e.unauthenticated {
                    "401/403 without".into()
                } else {
                    "also without".into()
                });
            }
            vec![
                e.method.clone(),
                e.kind.to_string(),
                {
                    let p = if multi {
                        format!("{}{}", e.host, e.path)
                    } else {
                        e.path.clone()
                    };
                    match &e.operation {
                        Some(op) => format!("{p} {op}"),
                        None => p,
                    }
                },
                e.samples.to_string(),
                statuses.join(","),
                if auth.is_empty() {
                    "-".into()
                } else {
                    auth.join(", ")
                },
                params_text(&e.params),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "METHOD",
            "KIND",
            "PATH",
            "N",
            "STATUS",
            "AUTH",
            "PARAMETERS",
        ],
        &rows,
        &[3],
        0,
    ));
    if explain {
        out.push_str(&format!("\n{}\n", paint(BOLD, "why these templates")));
        let mut any = false;
        for e in &r.endpoints {
            for w in &e.why {
                any = true;
                out.push_str(&format!("  {} {}  {w}\n", e.method, e.path));
            }
        }
        if !any {
            out.push_str("  no path parameters: every path is as recorded\n");
        }
    }
    if !r.findings.is_empty() {
        // One row per rule: how many exchanges and places, and the first that shows it
        // (every place is in --json and --sarif).
        let mut rows: Vec<Vec<String>> = Vec::new();
        for rule in surface::rules::RULES {
            let fs: Vec<_> = r.findings.iter().filter(|f| f.rule == rule.id).collect();
            let Some(first) = fs.first() else { continue };
            let n: u32 = fs.iter().map(|f| f.count).sum();
            let detail = if first.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", first.detail)
            };
            rows.push(vec![
                rule.id.to_string(),
                format!("CWE-{}", rule.cwe),
                n.to_string(),
                fs.len().to_string(),
                rule.name.to_string(),
                format!("{} {}{detail}", first.method, first.url),
            ]);
        }
        out.push_str(&format!(
            "\n{} ({} places)\n",
            paint(BOLD, "findings"),
            r.findings.len()
        ));
        out.push_str(&table(
            &["RULE", "CWE", "N", "PLACES", "WHAT", "FIRST SEEN"],
            &rows,
            &[2, 3],
            0,
        ));
    }
    let q = &r.quality;
    let methods: Vec<String> = q.methods.iter().map(|(m, n)| format!("{m} {n}")).collect();
    out.push_str(&format!(
        "\n{}: {} authenticated requests; methods {}; {} form, {} JSON, {} multipart bodies; {} endpoints seen once\n",
        paint(BOLD, "recording"),
        q.authenticated_requests,
        if methods.is_empty() { "-".into() } else { methods.join(", ") },
        q.form_bodies,
        q.json_bodies,
        q.multipart_bodies,
        q.endpoints_seen_once,
    ));
    if q.advice.is_empty() {
        out.push_str("  good enough to scan\n");
    }
    for a in &q.advice {
        out.push_str(&format!("  {} {a}\n", paint(YELLOW, "record again:")));
    }
    out
}
