use crate::input;
use crate::term::{
    entries_list, paint, severity_style, wrap, Ctx, Progress, BOLD, DIM, GREEN, RED, YELLOW,
};
use anyhow::Result;
use diagnose::{Diagnosis, Finding, Flow, Outcome, Protocol, StepKind};
use har::Severity;
use serde::Serialize;

/// What went wrong in this HAR, in words: findings with evidence and what to do.
///
/// First `hark check`'s usability lint (log preserved? cookies stripped? cached?), then
/// the findings: failed requests (status 0 / -1, `_error`, blocked, CORS), 4xx/5xx per
/// endpoint with their error bodies, timeouts, slow phases (DNS, connect, TLS, server,
/// download, queueing), redirect loops and long chains, mixed content, failed CORS
/// preflights, duplicates, uncompressed text, uncached static assets, oversized cookies
/// and headers. Then the sign-in flows (OAuth 2.0 / OpenID Connect / SAML) rebuilt as
/// chains — authorize → login → callback → token → API — with their failures:
/// `error=` on the callback, `invalid_grant`/`invalid_client`, `redirect_uri` or `state`
/// mismatch, missing nonce or PKCE, cookies set but not sent back, token endpoint
/// blocked by CORS, expired JWTs, clock skew. JWTs are decoded, not verified.
///
/// Exit status: 0 nothing worse than notes, 1 warnings or errors found (`--fail-on`
/// chooses the level), 2 cannot read.
///
/// Examples: `hark diagnose customer.har`, `hark diagnose --markdown login.har`
#[derive(clap::Args)]
pub struct Args {
    /// The HAR file (`-` for standard input, `@example` for the built-in one).
    file: String,
    /// Machine-readable JSON on standard output.
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// Markdown, for pasting into a ticket.
    #[arg(long)]
    markdown: bool,
    /// Show notes (info findings) too in human and Markdown output.
    #[arg(short, long)]
    verbose: bool,
    /// The least severe finding that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = super::check::FailOn::Warning)]
    fail_on: super::check::FailOn,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    file: &'a str,
    producer: String,
    entries: usize,
    /// `hark check`'s quality lint.
    lint: &'a [Finding],
    #[serde(flatten)]
    diagnosis: &'a Diagnosis,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated: Option<super::summary::Truncated>,
    exit: u8,
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let reader = input::reader(&a.file)?;
    let progress = Progress::of_reader(ctx, &a.file, &reader);
    let threads = a.threads.unwrap_or_else(har::default_threads);
    let an = diagnose::analyze(
        reader,
        threads,
        diagnose::Want {
            summary: false,
            diagnose: true,
        },
    )?;
    progress.finish();
    let truncated = an
        .truncated
        .as_ref()
        .map(|e| super::summary::Truncated::of(e, an.entries));
    // A file that breaks off fails, whatever its findings.
    let exit = if truncated.is_some() || a.fail_on.fails(an.worst()) {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    };
    let producer = an.header.producer();
    let d = an.diagnosis.expect("diagnosis was asked for");
    if a.json {
        crate::term::print_json(&JsonOut {
            file: &a.file,
            producer,
            entries: an.entries,
            lint: &an.lint,
            diagnosis: &d,
            truncated,
            exit,
        })?;
    } else if a.markdown {
        let mut text = markdown(&a.file, &producer, an.entries, &an.lint, &d, a.verbose);
        if let Some(t) = &truncated {
            text.push_str(&format!("\n**{}**\n", t.line()));
        }
        crate::term::print(&text)?;
    } else {
        let mut text = human(&a.file, &producer, an.entries, &an.lint, &d, a.verbose);
        if let Some(t) = &truncated {
            text.push_str(&format!("\n{}\n", paint(RED, &t.line())));
        }
        crate::term::print(&text)?;
    }
    Ok(exit)
}

fn shown(f: &Finding, verbose: bool) -> bool {
    verbose || f.severity >= Severity::Warning
}

fn human_findings(out: &mut String, list: &[Finding], verbose: bool) {
    const W: usize = 100;
    let pad = " ".repeat(11);
    for f in list.iter().filter(|f| shown(f, verbose)) {
        out.push_str(&format!(
            "  {} {}  {}\n",
            paint(
                severity_style(f.severity),
                &format!("{:<8}", f.severity.as_str())
            ),
            paint(BOLD, &f.title),
            paint(DIM, &format!("[{}]", f.code))
        ));
        out.push_str(&format!("{pad}{}\n", wrap(&f.detail, 11, W)));
        if !f.entries.is_empty() {
            out.push_str(&format!(
                "{pad}{}\n",
                paint(DIM, &wrap(&format!("entries: {}", entries_list(f)), 11, W))
            ));
        }
        out.push_str(&format!(
            "{pad}{}\n",
            wrap(&format!("→ {}", f.advice), 11, W)
        ));
    }
}

fn outcome_style(o: Outcome) -> anstyle::Style {
    match o {
        Outcome::Ok => GREEN,
        Outcome::Failed => RED,
        Outcome::Incomplete => YELLOW,
    }
}

fn flow_head(f: &Flow) -> String {
    let mut parts = vec![f.protocol.to_string()];
    if let Some(c) = &f.client_id {
        parts.push(format!("client_id={c}"));
    }
    if let Some(s) = &f.scope {
        parts.push(format!("scope={s}"));
    }
    if f.protocol != Protocol::Saml && f.steps.iter().any(|s| s.kind == StepKind::Authorize) {
        parts.push(format!("PKCE {}", f.pkce.as_deref().unwrap_or("none")));
        parts.push(format!("state {}", if f.state { "yes" } else { "no" }));
        parts.push(format!("nonce {}", if f.nonce { "yes" } else { "no" }));
    }
    parts.join(" · ")
}

fn token_line(t: &diagnose::TokenInfo) -> String {
    let claims = t
        .claims
        .iter()
        .map(|(k, v)| {
            let v = match (k.as_str(), v.as_f64()) {
                ("exp" | "iat" | "nbf" | "auth_time", Some(s)) => diagnose::util::iso(s * 1000.0),
                _ => v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(" ");
    let alg = t.header.get("alg").and_then(|v| v.as_str()).unwrap_or("?");
    let mut s = format!("{} (JWT {alg}): {claims}", t.name);
    if !t.other_claims.is_empty() {
        s.push_str(&format!(" (+ {})", t.other_claims.join(", ")));
    }
    s
}

pub fn human(
    file: &str,
    producer: &str,
    entries: usize,
    lint: &[Finding],
    d: &Diagnosis,
    verbose: bool,
) -> String {
    let mut out = format!(
        "{}  {}\n",
        paint(BOLD, file),
        paint(DIM, &format!("{producer} · {entries} entries"))
    );
    let notes = lint
        .iter()
        .chain(&d.findings)
        .filter(|f| f.severity < Severity::Warning)
        .count();
    if lint.iter().any(|f| shown(f, verbose)) {
        out.push_str(&format!(
            "\n{}\n",
            paint(BOLD, "Is the file usable? (hark check)")
        ));
        human_findings(&mut out, lint, verbose);
    }
    if d.findings.iter().any(|f| shown(f, verbose)) {
        out.push_str(&format!("\n{}\n", paint(BOLD, "Findings")));
        human_findings(&mut out, &d.findings, verbose);
    }
    if !d.flows.is_empty() {
        out.push_str(&format!("\n{}\n", paint(BOLD, "Sign-in flows")));
        for (k, f) in d.flows.iter().enumerate() {
            out.push_str(&format!(
                "  {} {}  {}\n",
                paint(BOLD, &format!("{}.", k + 1)),
                paint(outcome_style(f.outcome), f.outcome.as_str()),
                flow_head(f)
            ));
            for s in &f.steps {
                out.push_str(&format!(
                    "     {} {:<13} {} {}\n",
                    paint(DIM, &format!("#{:<4}", s.index)),
                    s.kind,
                    if s.status > 0 {
                        s.status.to_string()
                    } else {
                        "–".into()
                    },
                    if s.url.is_empty() {
                        String::new()
                    } else {
                        format!("{} {}", s.method, s.url)
                    }
                ));
                out.push_str(&format!("{}{}\n", " ".repeat(25), wrap(&s.detail, 25, 110)));
            }
            if f.api_requests > f.steps.iter().filter(|s| s.kind == StepKind::Api).count() {
                out.push_str(&format!(
                    "{}{}\n",
                    " ".repeat(25),
                    paint(
                        DIM,
                        &format!(
                            "{} API requests with this flow's token in all",
                            f.api_requests
                        )
                    )
                ));
            }
            for t in &f.tokens {
                out.push_str(&format!("     {}\n", wrap(&token_line(t), 7, 110)));
            }
            if !f.problems.is_empty() {
                out.push_str(&format!(
                    "     {}\n",
                    paint(RED, &format!("problems: {}", f.problems.join(", ")))
                ));
            }
            for m in &f.missing {
                out.push_str(&format!(
                    "     {}\n",
                    paint(YELLOW, &wrap(&format!("missing: {m}"), 5, 110))
                ));
            }
        }
        if d.flows_not_shown > 0 {
            out.push_str(&format!("  … and {} more flows\n", d.flows_not_shown));
        }
    }
    for c in &d.caps_reached {
        out.push_str(&format!("{}\n", paint(DIM, &format!("Limit reached: {c}"))));
    }
    let errors = lint
        .iter()
        .chain(&d.findings)
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = lint
        .iter()
        .chain(&d.findings)
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let verdict = if errors + warnings == 0 {
        paint(GREEN, "✓ nothing wrong found")
    } else {
        paint(
            if errors > 0 { RED } else { YELLOW },
            &format!(
                "✗ {errors} error{}, {warnings} warning{}",
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" }
            ),
        )
    };
    let notes = if notes > 0 && !verbose {
        paint(
            DIM,
            &format!(
                " ({notes} note{}: -v to show)",
                if notes == 1 { "" } else { "s" }
            ),
        )
    } else {
        String::new()
    };
    out.push_str(&format!("\n  {verdict}{notes}\n\n"));
    out
}

fn md_findings(out: &mut String, list: &[Finding], verbose: bool) {
    for f in list.iter().filter(|f| shown(f, verbose)) {
        out.push_str(&format!(
            "- **{}** {} `{}`  \n  {}  \n",
            f.severity.as_str(),
            f.title.replace('|', "\\|"),
            f.code,
            f.detail
        ));
        if !f.entries.is_empty() {
            out.push_str(&format!("  Entries: {}  \n", entries_list(f)));
        }
        out.push_str(&format!("  → {}\n", f.advice));
    }
}

pub fn markdown(
    file: &str,
    producer: &str,
    entries: usize,
    lint: &[Finding],
    d: &Diagnosis,
    verbose: bool,
) -> String {
    let mut out = format!("### HAR diagnosis: `{file}`\n\n{producer} · {entries} entries\n");
    if lint.iter().any(|f| shown(f, verbose)) {
        out.push_str("\n#### Is the file usable? (hark check)\n\n");
        md_findings(&mut out, lint, verbose);
    }
    if d.findings.iter().any(|f| shown(f, verbose)) {
        out.push_str("\n#### Findings\n\n");
        md_findings(&mut out, &d.findings, verbose);
    }
    if !d.flows.is_empty() {
        out.push_str("\n#### Sign-in flows\n");
        for (k, f) in d.flows.iter().enumerate() {
            out.push_str(&format!(
                "\n{}. **{}** — {}\n\n",
                k + 1,
                f.outcome,
                flow_head(f)
            ));
            out.push_str("   | entry | step | status | request | details |\n   | ---: | --- | ---: | --- | --- |\n");
            for s in &f.steps {
                out.push_str(&format!(
                    "   | {} | {} | {} | {} | {} |\n",
                    s.index,
                    s.kind,
                    if s.status > 0 {
                        s.status.to_string()
                    } else {
                        "–".into()
                    },
                    format!("{} {}", s.method, s.url).replace('|', "\\|"),
                    s.detail.replace('|', "\\|")
                ));
            }
            for t in &f.tokens {
                out.push_str(&format!("\n   - {}\n", token_line(t)));
            }
            if !f.problems.is_empty() {
                out.push_str(&format!("\n   Problems: {}\n", f.problems.join(", ")));
            }
            for m in &f.missing {
                out.push_str(&format!("\n   Missing: {m}\n"));
            }
        }
    }
    out
}
