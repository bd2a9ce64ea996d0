use anyhow::Result;
use clap_complete::Shell;

/// Print a shell completion script.
///
/// Example: `hark completions bash > /etc/bash_completion.d/hark`
#[derive(clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

pub fn run(args: Args, mut cmd: clap::Command) -> Result<u8> {
    clap_complete::generate(args.shell, &mut cmd, "hark", &mut std::io::stdout());
    Ok(crate::exit::OK)
}
