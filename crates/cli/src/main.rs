//! `hark`: one program for the whole life of an HTTP Archive (HAR) file.
//! This binary only parses arguments and prints; the work is in the library crates.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;
mod input;
mod term;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, the same for every command.
pub mod exit {
    /// Everything is fine.
    pub const OK: u8 = 0;
    /// The command ran and found something (problems in a HAR, secrets in an audit).
    pub const FINDINGS: u8 = 1;
    /// The command could not do its job (unreadable input, bad arguments, I/O error).
    pub const FAILURE: u8 = 2;
}

#[derive(Parser)]
#[command(
    name = "hark",
    version,
    about = "Record, check, sanitize, view and inspect HTTP Archive (HAR) files",
    long_about = "hark reads HAR files from Chrome, Edge, Firefox, Safari, proxies and test tools, \
streaming them entry by entry so that files of any size fit in a few tens of megabytes; \
it also records them, as a proxy (`hark record`) or as a capture service for test jobs (`hark serve`).\n\n\
Wherever a FILE is taken, `-` means standard input (or output) and `@example` is a \
small login recording built into hark. Gzip-compressed files are read as they are.",
    after_help = "Exit status: 0 fine, 1 findings (problems in the file), 2 cannot do it (unreadable input, bad usage).",
    propagate_version = true
)]
struct Cli {
    /// When to use colour on a terminal.
    #[arg(long, global = true, value_enum, default_value_t = term::ColorWhen::Auto)]
    color: term::ColorWhen,

    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,

    /// The largest entry (or header field) read from a gzip-compressed HAR, uncompressed
    /// (K/M/G; 0: no limit). Larger is an error naming the entry: a small .har.gz that
    /// inflates to gigabytes stops here instead of taking all the memory.
    #[arg(long, global = true, value_name = "SIZE", default_value = input::DEFAULT_MAX_ENTRY,
          value_parser = cmd::parse_size)]
    max_entry: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(cmd::check::Args),
    Fmt(cmd::fmt::Args),
    Sanitize(cmd::sanitize::Args),
    Summary(cmd::summary::Args),
    Diagnose(cmd::diagnose::Args),
    Surface(cmd::surface::Args),
    Diff(cmd::diff::Args),
    Mock(cmd::mock::Args),
    Replay(cmd::replay::Args),
    Export(cmd::export::Args),
    Filter(cmd::filter::Args),
    Merge(cmd::merge::Args),
    Split(cmd::split::Args),
    View(cmd::view::Args),
    Record(cmd::record::Args),
    Capture(cmd::capture::Args),
    Serve(cmd::serve::Args),
    Ca(cmd::ca::Args),
    Example(cmd::example::Args),
    Completions(cmd::completions::Args),
}

/// Keep memory small: entries are parsed on worker threads and freed on others, and
/// with transparent huge pages every page mimalloc touches costs 2 MB of RSS (and the
/// kernel's time to zero it). Without THP the peak RSS of `check` on a 100 MB file went
/// from ~60 MB to ~18 MB at the same speed (bench/core.sh). This is what mimalloc's own
/// `MIMALLOC_ALLOW_THP=0` does, which it reads before `main`.
fn tune_allocator() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process; no pointers involved.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    cli.color.apply();
    input::set_max_entry(cli.max_entry);
    let ctx = term::Ctx { quiet: cli.quiet };
    let result = match cli.command {
        Command::Check(a) => cmd::check::run(a, &ctx),
        Command::Fmt(a) => cmd::fmt::run(a, &ctx),
        Command::Sanitize(a) => cmd::sanitize::run(a, &ctx),
        Command::Summary(a) => cmd::summary::run(a, &ctx),
        Command::Diagnose(a) => cmd::diagnose::run(a, &ctx),
        Command::Surface(a) => cmd::surface::run(a, &ctx),
        Command::Diff(a) => cmd::diff::run(a, &ctx),
        Command::Mock(a) => cmd::mock::run(a, &ctx),
        Command::Replay(a) => cmd::replay::run(a, &ctx),
        Command::Export(a) => cmd::export::run(a, &ctx),
        Command::Filter(a) => cmd::filter::run(a, &ctx),
        Command::Merge(a) => cmd::merge::run(a, &ctx),
        Command::Split(a) => cmd::split::run(a, &ctx),
        Command::View(a) => cmd::view::run(a, &ctx),
        Command::Record(a) => cmd::record::run(a, &ctx),
        Command::Capture(a) => cmd::capture::run(a, &ctx),
        Command::Serve(a) => cmd::serve::run(a, &ctx),
        Command::Ca(a) => cmd::ca::run(a),
        Command::Example(a) => cmd::example::run(a),
        Command::Completions(a) => {
            cmd::completions::run(a, <Cli as clap::CommandFactory>::command())
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if term::is_closed_pipe(&e) {
                // `hark … | head`: quiet, as other Unix tools are.
                return ExitCode::from(exit::FAILURE);
            }
            term::error(&message(&e));
            ExitCode::from(exit::FAILURE)
        }
    }
}

/// An error and its causes, `: `-separated, each cause said once: an error whose
/// message already ends with its cause's (as `file: cause` does) is not followed by
/// the cause again.
pub(crate) fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if out.ends_with(&c) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&c);
    }
    out
}
