use crate::input;
use crate::term::{Ctx, Progress};
use anyhow::{Context, Result};
use cut::By;
use har::Output;
use std::path::Path;

/// Split a HAR into several files in a directory: one per page, per host, every N entries
/// or every N bytes of entries.
///
/// Each part keeps the input's header and the pages its entries refer to; entries are
/// copied exactly as written. Names: `page-001-ID.har` (`no-page.har`), `HOST.har`
/// (`no-host.har`), `part-0001.har`. Each file replaces an old one only once complete.
///
/// Examples: `hark split site.har --by page -o pages/`,
/// `hark split big.har --by size:100M -o parts/`
#[derive(clap::Args)]
pub struct Args {
    /// The HAR to read (`-` for standard input, `@example` for the built-in one).
    input: String,
    /// `page`, `host`, `count:N` or `size:N` (K/M/G).
    #[arg(long)]
    by: By,
    /// The directory to write to (made if missing).
    #[arg(short, long, value_name = "DIR")]
    output: String,
    /// No white space at all.
    #[arg(long)]
    compact: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let style = super::style(a.compact);
    crate::term::remove_temp_files_on_signal()?;
    let dir = Path::new(&a.output);
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot make", dir.display()))?;
    let reader = input::reader(&a.input)?;
    let progress = Progress::of_reader(ctx, "split", &reader);
    let threads = a.threads.unwrap_or_else(har::default_threads);
    let create = |name: &str| -> std::io::Result<Output> {
        let path = dir.join(name);
        Output::create(&path.to_string_lossy(), &[&a.input]).map_err(std::io::Error::other)
    };
    let parts = cut::split(reader, threads, a.by, style, create)?;
    progress.finish();
    let n = parts.len();
    for p in parts {
        p.writer.into_inner().commit()?;
    }
    if !ctx.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("wrote {n} files to {}", dir.display());
    }
    Ok(crate::exit::OK)
}
