use crate::term::Ctx;
use anyhow::{bail, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Record HTTP(S) traffic as a HAR: a forward proxy for HTTP/1.1, HTTP/2, HTTPS and
/// WebSocket.
///
/// Point clients at it as their HTTP and HTTPS proxy; HTTPS is decrypted with a local CA
/// made on first use (see `hark ca` to trust it). Every finished exchange is appended to
/// a journal at once, so a crash loses nothing that finished; on Ctrl-C or SIGTERM the
/// journal becomes the HAR. After a crash: `hark record --recover out.har.journal -o out.har`.
///
/// Examples: `hark record -o run.har`, `curl --proxy http://127.0.0.1:8080 --cacert
/// ~/.config/hark/hark-ca.pem https://example.com/`
#[derive(clap::Args)]
pub struct Args {
    /// Where to write the HAR (written atomically when recording stops).
    #[arg(short, long)]
    output: String,
    /// Address to listen on (loopback by default; port 0 picks a free port). Any other
    /// address needs --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Require proxy authentication with this token as the password (any user name):
    /// clients use a proxy URL like http://hark:TOKEN@HOST:PORT. $HARK_RECORD_TOKEN is
    /// read when this is not given (it keeps the token out of `ps`).
    #[arg(long)]
    token: Option<String>,
    /// The journal file (default: OUTPUT.journal).
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Keep the journal after writing the HAR.
    #[arg(long)]
    keep_journal: bool,
    /// Do not record: turn JOURNAL (left by a crash) into the HAR at --output.
    #[arg(long, value_name = "JOURNAL")]
    recover: Option<PathBuf>,
    /// Directory of the local CA [default: $HARK_CA_DIR, $XDG_CONFIG_HOME/hark or ~/.config/hark].
    #[arg(long)]
    ca_dir: Option<PathBuf>,
    /// Also trust the CA certificates in this PEM file for upstream servers (repeatable).
    #[arg(long, value_name = "FILE")]
    upstream_ca: Vec<PathBuf>,
    /// Do not verify upstream certificates.
    #[arg(long)]
    insecure_upstream: bool,
    /// Relay CONNECT tunnels to HOST untouched (certificate-pinned apps) (repeatable).
    #[arg(long, value_name = "HOST")]
    passthrough: Vec<String>,
    /// Bytes of each body kept in the HAR (K/M/G suffixes); the rest is counted and marked cut.
    #[arg(long, default_value = "16M", value_parser = super::parse_size)]
    max_body: u64,
    /// Seconds to wait for an upstream connection, for response headers, and between body chunks.
    #[arg(long, default_value_t = 30.0)]
    upstream_timeout: f64,
    /// Compact HAR (no white space).
    #[arg(long)]
    compact: bool,
}

fn style(a: &Args) -> har::Style {
    if a.compact {
        har::Style::Compact
    } else {
        har::Style::Pretty
    }
}

/// A live count of recorded exchanges on a terminal (nothing when piped or --quiet).
fn live_count(
    ctx: &Ctx,
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if ctx.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} recording: {pos} exchanges ({per_sec})")
            .expect("valid template"),
    );
    let b = bar.clone();
    std::thread::spawn(move || {
        while !b.is_finished() {
            b.set_position(counter.load(std::sync::atomic::Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    Some(bar)
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    if let Some(j) = &a.recover {
        let scan = record::journal::finish(j, &a.output, style(&a))?;
        eprintln!(
            "hark record: {} entries recovered from {} into {}{}",
            scan.entries,
            j.display(),
            a.output,
            if scan.dropped_bytes > 0 {
                format!(
                    " ({} bytes of a torn last record dropped)",
                    scan.dropped_bytes
                )
            } else {
                String::new()
            }
        );
        return Ok(crate::exit::OK);
    }
    if a.output == "-" {
        bail!("--output must be a file (the HAR is written when recording stops)");
    }
    let token = a
        .token
        .clone()
        .or_else(|| std::env::var("HARK_RECORD_TOKEN").ok())
        .filter(|t| !t.is_empty());
    if !a.listen.ip().is_loopback() && token.is_none() {
        bail!(
            "--listen {} accepts connections from other machines: give --token (clients then \
             use http://hark:TOKEN@HOST:PORT as their proxy)",
            a.listen
        );
    }
    if let Some(j) = &a.journal {
        let o = std::path::Path::new(&a.output);
        let abs = |p: &std::path::Path| std::path::absolute(p).ok();
        if har::output::same_file(j, o) || abs(j) == abs(o) {
            bail!(
                "--journal and --output name the same file: the journal would be lost to the HAR"
            );
        }
    }
    if a.upstream_timeout.is_nan() || a.upstream_timeout <= 0.0 {
        bail!("--upstream-timeout must be a positive number of seconds");
    }
    let session = record::Session {
        cfg: record::Config {
            listen: a.listen,
            ca_dir: a.ca_dir.clone().unwrap_or_else(record::ca::default_dir),
            upstream_ca: a.upstream_ca.clone(),
            insecure_upstream: a.insecure_upstream,
            passthrough: a.passthrough.clone(),
            max_body: usize::try_from(a.max_body).unwrap_or(usize::MAX),
            upstream_timeout: Duration::from_secs_f64(a.upstream_timeout),
        },
        journal: a
            .journal
            .clone()
            .unwrap_or_else(|| record::journal_for(&a.output)),
        output: a.output.clone(),
        style: style(&a),
        token,
        keep_journal: a.keep_journal,
    };
    let journal = session.journal.clone();
    let started = |rec: &record::Recorder| {
        eprintln!(
            "hark record: listening on http://{} (HTTP and HTTPS proxy); journal {}; CA {}",
            rec.local_addr(),
            journal.display(),
            rec.ca_cert_path().display()
        );
        eprintln!(
            "hark record: Ctrl-C or SIGTERM stops and writes {}",
            a.output
        );
        LiveCount(live_count(ctx, rec.recorded()))
    };
    let done = session.run(started, super::stop_signal())?;
    eprintln!(
        "hark record: {} entries written to {}{}",
        done.scan.entries,
        a.output,
        if done.stats.unfinished > 0 {
            format!(
                " ({} exchanges still open at the stop were not recorded)",
                done.stats.unfinished
            )
        } else {
            String::new()
        }
    );
    Ok(crate::exit::OK)
}

/// The live count, cleared when recording stops.
struct LiveCount(Option<indicatif::ProgressBar>);

impl Drop for LiveCount {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
