use crate::input;
use crate::term::{Ctx, Progress};
use anyhow::Result;
use har::{HarWriter, Output};

/// Re-write a HAR, pretty (2-space indent, like browser exports) or compact.
///
/// Lossless: every field, custom ones (`_initiator`, `_webSocketMessages` …) included,
/// stays in its order, and strings and numbers are copied exactly as written. Streams: memory is bounded by the
/// largest entry. An output file is replaced only once completely written.
///
/// Examples: `hark fmt big.har --compact -o big.min.har`, `zcat x.har.gz | hark fmt -`
#[derive(clap::Args)]
pub struct Args {
    /// The HAR to read (`-` for standard input, `@example` for the built-in one).
    input: String,
    /// Where to write (`-`, the default, is standard output).
    #[arg(short, long, default_value = "-")]
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
    let reader = input::reader(&a.input)?;
    let out = Output::create(&a.output, &[&a.input])?;
    let mut w = HarWriter::new(out, style);
    let progress = Progress::of_reader(ctx, "fmt", &reader);
    let threads = a.threads.unwrap_or_else(har::default_threads);
    har::reformat(reader, threads, style, &mut w)?;
    progress.finish();
    w.into_inner().commit()?;
    Ok(crate::exit::OK)
}
