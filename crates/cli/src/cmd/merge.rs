use crate::input;
use anyhow::{bail, Result};
use har::{HarWriter, Output};

/// Merge HARs into one, entries ordered by start time.
///
/// A k-way merge: each input is read one entry at a time, so memory does not grow with the
/// files. When every input is sorted by `startedDateTime` (browsers write them so), so is
/// the output; an input that is not keeps its own order and is named in a warning. Each
/// entry gets `_hark.source` (its file); page ids used by several inputs get `~N` (the
/// input's number) appended; `log._hark.sources` lists each input's creator and browser.
/// An input that is not a HAR is skipped with a message (exit status 2); one that breaks
/// off midway stops the merge and nothing is written.
///
/// Example: `hark merge tab1.har tab2.har job-*.har -o all.har`
#[derive(clap::Args)]
pub struct Args {
    /// The HARs to merge (`-` for standard input, `@example` for the built-in one).
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Where to write (`-`, the default, is standard output).
    #[arg(short, long, default_value = "-")]
    output: String,
    /// No white space at all.
    #[arg(long)]
    compact: bool,
}

pub fn run(a: Args, _ctx: &crate::term::Ctx) -> Result<u8> {
    let style = super::style(a.compact);
    if a.inputs.iter().filter(|i| *i == "-").count() > 1 {
        bail!("standard input (`-`) can be read only once");
    }
    crate::term::remove_temp_files_on_signal()?;
    let mut readers = Vec::new();
    let mut failed = false;
    for name in &a.inputs {
        match input::reader(name) {
            Ok(r) => readers.push((name.clone(), r)),
            Err(e) => {
                failed = true;
                crate::term::error(&format!("{e}: skipped"));
            }
        }
    }
    let inputs: Vec<&str> = a.inputs.iter().map(String::as_str).collect();
    let out = Output::create(&a.output, &inputs)?;
    let mut w = HarWriter::new(out, style);
    let report = cut::merge(readers, &mut w)?;
    w.into_inner().commit()?;
    for (name, back) in report.unsorted() {
        anstream::eprintln!(
            "{}: {name} is not sorted by start time ({back} entries start before the one before them): its entries keep their order, so the output is not sorted either",
            crate::term::paint(crate::term::YELLOW, "hark: warning")
        );
    }
    Ok(if failed {
        crate::exit::FAILURE
    } else {
        crate::exit::OK
    })
}
