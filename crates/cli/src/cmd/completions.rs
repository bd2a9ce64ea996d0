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
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "hark", &mut script);
    crate::term::print(&String::from_utf8_lossy(&script))?;
    Ok(crate::exit::OK)
}
