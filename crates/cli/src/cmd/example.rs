use anyhow::{Context, Result};
use std::io::Write;

/// Write the built-in example HAR (a login recorded with Chromium) to a file or stdout.
///
/// Every command also reads it directly as `@example`, e.g. `hark check @example`.
#[derive(clap::Args)]
pub struct Args {
    /// Where to write it (`-` for standard output).
    #[arg(short, long, default_value = "-")]
    output: String,
}

pub fn run(args: Args) -> Result<u8> {
    crate::term::remove_temp_files_on_signal()?;
    let mut out = har::Output::create(&args.output, &[])?;
    out.write_all(crate::input::EXAMPLE)
        .with_context(|| format!("writing {}", args.output))?;
    out.commit()?;
    Ok(crate::exit::OK)
}
