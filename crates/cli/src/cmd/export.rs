use crate::input;
use crate::term::{Ctx, Progress};
use anyhow::{bail, Context, Result};
use export::{CodeWriter, Lang, Templates};
use har::Output;
use sanitize::pipeline::{self, Pass};
use std::sync::Arc;

/// Turn HAR entries into code that sends them again, or into one flat row each.
///
/// `curl`, `httpie` (shell), `python` (requests), `fetch` (JavaScript) write one snippet per
/// entry, `k6` one load-test script; headers, cookies and bodies exactly as recorded
/// (binary bodies piped in from base64), `--compressed` when the request accepted
/// compressed answers. `jsonl` and `parquet` write one row per entry with the columns
/// of docs/export.md, for DuckDB, Spark, Trino or DataFusion.
///
/// Several inputs go into one output; an input that cannot be read is skipped with a
/// message and the exit status is 2 at the end. The output replaces its destination only
/// once complete.
///
/// Examples: `hark export --to curl site.har`,
/// `hark export --to parquet jobs/*.har -o traffic.parquet`
#[derive(clap::Args)]
pub struct Args {
    /// The HARs to read (`-` for standard input, `@example` for the built-in one).
    #[arg(required = true)]
    inputs: Vec<String>,
    /// The format.
    #[arg(long, value_enum)]
    to: To,
    /// Where to write (`-`, the default, is standard output).
    #[arg(short, long, default_value = "-")]
    output: String,
    /// jsonl/parquet: add the request and response bodies (`request_body`,
    /// `response_body`, `response_body_encoding`).
    #[arg(long)]
    bodies: bool,
    /// Replace secrets with placeholders first, as `hark sanitize` does.
    #[arg(long)]
    sanitize: bool,
    /// jsonl/parquet: leave the `template` column empty (it costs a first pass over
    /// each input, as `hark surface` makes).
    #[arg(long)]
    no_template: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum To {
    Curl,
    Httpie,
    Python,
    Fetch,
    K6,
    Jsonl,
    Parquet,
}

/// Where entries go: snippets or rows.
enum Sink {
    Code(CodeWriter<Output>),
    Jsonl(export::Jsonl<Output>),
    Parquet(Box<export::Parquet<Output>>),
}

/// One input ready to read again from its start: the file, standard input's spool, or
/// its sanitized copy.
struct Prepared {
    name: String,
    spool: Option<sanitize::Spool>,
    sanitized: Option<tempfile::TempPath>,
}

impl Prepared {
    fn reader(&self) -> Result<har::HarReader> {
        let source = match (&self.sanitized, &self.spool) {
            (Some(p), _) => har::Source::open(&p.to_string_lossy())?,
            (None, Some(s)) => har::Source::open(&s.path().to_string_lossy())?,
            (None, None) => input::open(&self.name)?,
        };
        // Errors name the input, not a temporary file.
        let mut source = input::limited(source);
        source.name = self.name.as_str().into();
        Ok(har::HarReader::new(source)?)
    }
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    crate::term::remove_temp_files_on_signal()?;
    let threads = a.threads.unwrap_or_else(har::default_threads);
    if a.inputs.iter().filter(|i| *i == "-").count() > 1 {
        bail!("standard input (`-`) can be read only once");
    }
    let inputs: Vec<&str> = a.inputs.iter().map(String::as_str).collect();
    let out = Output::create(&a.output, &inputs)?;
    let lang = match a.to {
        To::Curl => Some(Lang::Curl),
        To::Httpie => Some(Lang::Httpie),
        To::Python => Some(Lang::Python),
        To::Fetch => Some(Lang::Fetch),
        To::K6 => Some(Lang::K6),
        To::Jsonl | To::Parquet => None,
    };
    let mut sink = match (lang, a.to) {
        (Some(l), _) => Sink::Code(CodeWriter::new(out, l)),
        (None, To::Jsonl) => Sink::Jsonl(export::Jsonl::new(out)),
        (None, _) => Sink::Parquet(Box::new(export::Parquet::new(out)?)),
    };
    let mut failed = 0;
    let mut entries = 0;
    for name in &a.inputs {
        match one(&a, name, threads, ctx, &mut sink) {
            Ok(n) => entries += n,
            Err(e) => {
                failed += 1;
                crate::term::error(&format!("{}: skipped", crate::message(&e)));
            }
        }
    }
    match sink {
        Sink::Code(w) => w.finish()?.commit()?,
        Sink::Jsonl(r) => r.finish()?.commit()?,
        Sink::Parquet(r) => r.finish()?.commit()?,
    }
    if !ctx.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "exported {entries} entries from {} of {} files",
            a.inputs.len() - failed,
            a.inputs.len()
        );
    }
    Ok(if failed > 0 {
        crate::exit::FAILURE
    } else {
        crate::exit::OK
    })
}

/// Sanitize `name` to a temporary file when asked (standard input is spooled first).
fn prepare(a: &Args, name: &str, threads: usize) -> Result<Prepared> {
    let spool = match name {
        "-" => Some(
            sanitize::Spool::from_reader(std::io::stdin().lock())
                .context("copying standard input to a temporary file")?,
        ),
        _ => None,
    };
    let mut p = Prepared {
        name: name.into(),
        spool,
        sanitized: None,
    };
    if !a.sanitize {
        return Ok(p);
    }
    let tmp = tempfile::NamedTempFile::new().context("creating a temporary file")?;
    let _guard = har::TempGuard::register(tmp.path());
    let mut w = har::HarWriter::new(std::io::BufWriter::new(tmp.reopen()?), har::Style::Compact);
    pipeline::run(
        &sanitize::Options::default(),
        |_: Pass| p.reader(),
        threads,
        har::Style::Compact,
        Some(&mut w),
    )?;
    w.into_inner().into_inner().map_err(|e| e.into_error())?;
    p.sanitized = Some(tmp.into_temp_path());
    Ok(p)
}

fn one(a: &Args, name: &str, threads: usize, ctx: &Ctx, sink: &mut Sink) -> Result<usize> {
    let prepared = prepare(a, name, threads)?;
    let templates: Option<Templates> = match sink {
        Sink::Jsonl(_) | Sink::Parquet(_) if !a.no_template => {
            let report = surface::analyze(
                prepared.reader()?,
                threads,
                surface::Scope {
                    patterns: vec!["*".into()],
                },
                surface::Pins::default(),
            )?;
            let report = Arc::new(report);
            Some(Arc::new(move |m: &str, u: &str| report.template_for(m, u)))
        }
        _ => None,
    };
    let reader = prepared.reader()?;
    let progress = Progress::of_reader(ctx, name, &reader);
    let n = match sink {
        Sink::Code(w) => export::code(reader, threads, name, w)?,
        Sink::Jsonl(r) => export::rows(reader, threads, name, a.bodies, templates, r)?,
        Sink::Parquet(r) => export::rows(reader, threads, name, a.bodies, templates, r.as_mut())?,
    };
    progress.finish();
    Ok(n)
}
