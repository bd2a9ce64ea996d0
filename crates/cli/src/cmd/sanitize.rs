use crate::input;
use crate::term::{paint, Ctx, Progress, BOLD, DIM, GREEN, YELLOW};
use anyhow::{bail, Context, Result};
use har::{HarWriter, Output, Style};
use sanitize::pipeline::{self, Pass};
use sanitize::{Mode, Options, Report, Spool};

/// Replace every secret in a HAR with a placeholder, so it can be shared.
///
/// Cookies, auth headers, credential-like names in query strings, form fields and JSON
/// bodies at any depth, URL userinfo, JWTs (readable header and non-personal claims
/// kept), vendor keys, private keys, card numbers and e-mail addresses. Every copy of a
/// value found is replaced wherever it occurs, also URL- or base64-encoded. Headers,
/// cookies, query and form parameters stay in place: only their values change.
///
/// Two streaming passes over the input (standard input is spooled to a temporary file
/// first); the output is written to a temporary file and renamed into place.
///
/// Examples: `hark sanitize login.har -o login.safe.har`,
/// `hark sanitize --check fixtures/*.har` (CI gate: exit 1 when a secret is present),
/// `hark sanitize in.har --hash-key "$KEY" --drop-content html,js -o out.har`
#[derive(clap::Args)]
pub struct Args {
    /// The HAR to read (`-` for standard input, `@example` for the built-in one).
    #[arg(required = true)]
    input: Vec<String>,
    /// Where to write (`-`, the default, is standard output).
    #[arg(short, long, default_value = "-")]
    output: String,
    /// Audit only: write nothing, report what would be redacted (kinds, locations,
    /// counts, never values), exit 1 if anything.
    #[arg(long)]
    check: bool,
    /// Replace values with a keyed hash (HMAC-SHA256) instead of a plain placeholder:
    /// one value gets one token in every file sanitized with the same key.
    #[arg(long, value_name = "KEY")]
    hash_key: Option<String>,
    /// Empty the values, and delete headers, cookies, query and form parameters whose
    /// name is sensitive (the default keeps them with a placeholder).
    #[arg(long, conflicts_with = "hash_key")]
    remove: bool,
    /// Drop response content of these MIME types (`html`, `js`, `css`, `image`, `font`,
    /// `image/*`, `text/html`, …), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "TYPES")]
    drop_content: Vec<String>,
    /// Your own rules (TOML: names to redact or keep, patterns, MIME types).
    #[arg(long, value_name = "FILE")]
    rules: Option<String>,
    /// The report as JSON.
    #[arg(long)]
    json: bool,
    /// Write the HAR without white space (default: the input's layout, compact or
    /// indented; key order and number text are always kept).
    #[arg(long, conflicts_with = "pretty")]
    compact: bool,
    /// Write the HAR indented like browser exports (default: the input's layout).
    #[arg(long)]
    pretty: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    if !a.check && a.input.len() > 1 {
        bail!("give one input to sanitize (several only with --check)");
    }
    let mut opts = Options {
        drop_content: a.drop_content.clone(),
        ..Options::default()
    };
    if let Some(path) = &a.rules {
        let text = std::fs::read_to_string(path).with_context(|| format!("{path}: cannot read"))?;
        opts.rules = sanitize::parse_rules(&text).with_context(|| path.clone())?;
    }
    opts.mode = match (&a.hash_key, a.remove) {
        (Some(k), _) if k.is_empty() => bail!("--hash-key: the key is empty"),
        (Some(k), _) => Mode::Hash(k.as_bytes().to_vec()),
        (None, true) => Mode::Remove,
        (None, false) => Mode::Placeholder,
    };
    let threads = a.threads.unwrap_or_else(har::default_threads);
    crate::term::remove_temp_files_on_signal()?;
    let mut reports = Vec::new();
    for name in &a.input {
        // Two passes need the input twice: standard input goes to a temporary file.
        let spool = match name.as_str() {
            "-" => Some(
                Spool::from_reader(std::io::stdin().lock())
                    .context("copying standard input to a temporary file")?,
            ),
            _ => None,
        };
        let style = match (a.compact, a.pretty) {
            (true, _) => Style::Compact,
            (_, true) => Style::Pretty,
            _ => pipeline::layout(match &spool {
                Some(s) => s.reader_with(input::limited)?,
                None => input::reader(name)?,
            })?,
        };
        let mut progress = None;
        let open = |pass: Pass| -> Result<har::HarReader> {
            let reader = match &spool {
                Some(s) => s.reader_with(input::limited)?,
                None => input::reader(name)?,
            };
            let label = match pass {
                Pass::Scan => "sanitize: scan",
                Pass::Write => "sanitize: write",
            };
            // Replacing the first pass's bar finishes it.
            progress = Some(Progress::of_reader(ctx, label, &reader));
            Ok(reader)
        };
        let report = if a.check {
            pipeline::run::<std::io::Sink, _>(&opts, open, threads, style, None)?
        } else {
            let out = Output::create(&a.output, &[name.as_str()])?;
            let mut w = HarWriter::new(out, style);
            let r = pipeline::run(&opts, open, threads, style, Some(&mut w))?;
            w.into_inner().commit()?;
            r
        };
        drop(progress);
        reports.push((name.clone(), report));
    }
    let found = reports.iter().any(|(_, r)| r.total() > 0);
    // The report goes to standard output unless the HAR does.
    let to_stderr = !a.check && a.output == "-";
    let text = if a.json {
        let v: Vec<serde_json::Value> = reports
            .iter()
            .map(|(n, r)| {
                let mut j = r.to_json();
                j["file"] = serde_json::Value::from(n.as_str());
                j
            })
            .collect();
        let v = if v.len() == 1 {
            v.into_iter().next().expect("one")
        } else {
            serde_json::Value::Array(v)
        };
        serde_json::to_string_pretty(&v)? + "\n"
    } else {
        reports
            .iter()
            .map(|(n, r)| human(n, r, a.check))
            .collect::<String>()
    };
    if to_stderr {
        anstream::eprint!("{text}");
    } else {
        crate::term::print(&text)?;
    }
    Ok(if a.check && found {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    })
}

fn human(name: &str, r: &Report, check: bool) -> String {
    let mut s = String::new();
    let total = r.total();
    if total == 0 {
        s += &format!(
            "{}: {} ({} entries)\n",
            paint(BOLD, name),
            paint(GREEN, "nothing sensitive found"),
            r.entries
        );
        s += &kept(r);
        return s;
    }
    let (verb, copies) = if check {
        ("values would be redacted", "every copy would be replaced")
    } else {
        ("values redacted", "every copy replaced")
    };
    s += &format!(
        "{}: {} {verb} in {} entries ({} distinct values, {copies})\n",
        paint(BOLD, name),
        paint(if check { YELLOW } else { GREEN }, &total.to_string()),
        r.entries,
        r.distinct_values
    );
    let mut kinds: Vec<(&str, u64)> = r.by_kind().into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (kind, n) in kinds {
        let places: Vec<String> = r
            .counts
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, l), n)| format!("{l} {n}"))
            .collect();
        s += &format!("  {n:>6}  {kind:<18} {}\n", paint(DIM, &places.join(", ")));
    }
    s += &kept(r);
    s
}

/// What was kept under a credential-like name (by name and location), so a user can
/// add a rule for it.
fn kept(r: &Report) -> String {
    if r.kept.is_empty() {
        return String::new();
    }
    let mut by_name: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for ((n, l), c) in &r.kept {
        by_name.entry(n).or_default().push(format!("{l} {c}"));
    }
    let mut s = format!(
        "  {}\n",
        paint(
            DIM,
            "kept under credential-like names (values that cannot be credentials; `[names] redact` in --rules redacts them):"
        )
    );
    for (n, places) in by_name {
        s += &format!("          {n:<18} {}\n", paint(DIM, &places.join(", ")));
    }
    s
}
