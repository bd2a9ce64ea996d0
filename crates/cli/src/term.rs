//! Terminal output: colour only on a terminal (or when asked), progress bars only on a
//! terminal and never with --quiet.

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    pub fn apply(self) {
        let choice = match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

pub struct Ctx {
    pub quiet: bool,
}

pub const RED: Style = AnsiColor::Red.on_default().bold();
pub const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
pub const BLUE: Style = AnsiColor::Blue.on_default().bold();
pub const GREEN: Style = AnsiColor::Green.on_default().bold();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();

pub fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

pub fn severity_style(s: har::Severity) -> Style {
    match s {
        har::Severity::Error => RED,
        har::Severity::Warning => YELLOW,
        har::Severity::Info => BLUE,
    }
}

pub fn error(msg: &str) {
    anstream::eprintln!("{}: {msg}", paint(RED, "hark: error"));
}

/// A byte-count progress bar fed from a reader's counter by a background tick; shown
/// only when standard error is a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(ctx: &Ctx, label: &str, counter: Arc<AtomicU64>, len: Option<u64>) -> Progress {
        if ctx.quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = match len {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template(
                    "{msg} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .expect("valid template"),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes} {binary_bytes_per_sec}")
                    .expect("valid template"),
            ),
        };
        bar.set_message(label.to_string());
        let b = bar.clone();
        // Poll the counter; the bar holds no reference to the reader.
        std::thread::spawn(move || {
            while !b.is_finished() {
                b.set_position(counter.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Progress { bar: Some(bar) }
    }

    /// A bar over `reader`'s bytes (its length, when known, is the total).
    pub fn of_reader(ctx: &Ctx, label: &str, reader: &har::HarReader) -> Progress {
        Progress::new(ctx, label, reader.progress_counter(), reader.progress().1)
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Wrap `text` to `width` columns, each line after the first indented by `indent`.
pub fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut col = indent;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if col > indent && col + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if col > indent {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
    }
    out
}

/// The entries a finding lists, and how many there are in all when it lists fewer.
pub fn entries_list(f: &check::Finding) -> String {
    let mut s = f
        .entries
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if f.count > f.entries.len() {
        s.push_str(&format!(" … ({} in all)", f.count));
    }
    s
}

/// Standard output could not be written (full disk, `/dev/full`, a closed pipe).
#[derive(Debug, thiserror::Error)]
#[error("writing to standard output: {0}")]
pub struct StdoutError(pub std::io::Error);

/// Whether `e` is a closed pipe (`hark … | head`): the reader wanted no more, which is
/// not worth a message. (Only standard output is a pipe hark writes to and returns from.)
pub fn is_closed_pipe(e: &anyhow::Error) -> bool {
    let pipe = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<StdoutError>().is_some_and(|s| pipe(&s.0))
            || c.downcast_ref::<std::io::Error>().is_some_and(pipe)
            || c.downcast_ref::<har::OutputError>()
                .is_some_and(|o| matches!(o, har::OutputError::Io { source, .. } if pipe(source)))
            || c.downcast_ref::<har::CopyError>()
                .is_some_and(|o| matches!(o, har::CopyError::Write(io) if pipe(io)))
            || c.downcast_ref::<sanitize::Error>()
                .is_some_and(|o| match o {
                    sanitize::Error::Io(io) => pipe(io),
                    sanitize::Error::Output(har::OutputError::Io { source, .. }) => pipe(source),
                    _ => false,
                })
    })
}

/// Print to standard output (colour removed unless it is wanted), returning an error
/// instead of panicking as `print!` does when standard output is full or closed.
pub fn print(text: &str) -> Result<(), StdoutError> {
    use std::io::Write;
    let mut out = anstream::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(StdoutError)
}

/// `value` as pretty JSON and a newline on standard output.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print(&text)?;
    Ok(())
}

/// Remove hark's temporary files (outputs being written, the standard-input spool) on
/// SIGINT, SIGTERM or SIGHUP, then die of the signal as if hark had not caught it. For
/// commands that write files; `record`, `serve` and `view` handle signals themselves.
#[cfg(unix)]
pub fn remove_temp_files_on_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    // Registered here, before any temporary file exists; waited for on a thread.
    let (mut int, mut term, mut hup) = {
        let _in = rt.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        )
    };
    std::thread::spawn(move || {
        let sig = rt.block_on(async {
            tokio::select! {
                _ = int.recv() => libc::SIGINT,
                _ = term.recv() => libc::SIGTERM,
                _ = hup.recv() => libc::SIGHUP,
            }
        });
        // Held until the process ends: no output is renamed into place after this.
        let _held = har::remove_temp_files();
        // SAFETY: restores the default action and raises the signal again; no memory.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        std::process::exit(128 + sig);
    });
    Ok(())
}

#[cfg(not(unix))]
pub fn remove_temp_files_on_signal() -> std::io::Result<()> {
    Ok(())
}
