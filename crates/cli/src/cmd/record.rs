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
/// On a terminal a line per finished exchange shows what is recorded (time, method,
/// status, host and path, size, duration, protocol; failures in red with their error),
/// under a running count; -q silences it, and it is quiet when standard error is not a
/// terminal. --log-file writes the same lines to a file.
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
    /// Also trust the CA certificates in this PEM file for upstream servers (repeatable). A
    /// server's own certificate works too (e.g. from `openssl req -x509 …`): accepted when
    /// the server presents exactly it and it names the server.
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
    /// Seconds a client may take to send a request's headers, counted from when hark starts
    /// waiting for them (so also how long an idle keep-alive connection stays open); slower
    /// clients are disconnected.
    #[arg(long, default_value = "30", value_parser = super::parse_secs, value_name = "SECS")]
    header_timeout: Duration,
    /// Compact HAR (no white space).
    #[arg(long)]
    compact: bool,
    /// Start a page named NAME when recording starts. Once there is a marker, the HAR's pages
    /// are the markers, each entry in the one current when it started; later ones come from
    /// `POST /pages` to the proxy's own address (`curl --json '{"title":"Checkout"}'
    /// http://127.0.0.1:8080/pages`). Without markers: a page per document navigation.
    #[arg(long, value_name = "NAME")]
    page: Option<String>,
    /// Also write the live log (one line per exchange, no colour) to this file, terminal or
    /// not.
    #[arg(long, value_name = "PATH")]
    log_file: Option<PathBuf>,
}

/// A live count of recorded exchanges on a terminal (nothing when piped or --quiet).
pub(crate) fn live_count(
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

/// `1.2 kB`, `340 B`, `12 MB`.
fn size(bytes: u64) -> String {
    match bytes {
        0..1000 => format!("{bytes} B"),
        1000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.1} GB", bytes as f64 / 1e9),
    }
}

/// `host:port/path?query` of a URL (`ws://` and `https://` alike).
fn host_path(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

/// `HH:MM:SS.mmm` of an ISO time as hark writes them (the whole text otherwise).
fn clock(iso: &str) -> &str {
    iso.get(11..23).unwrap_or(iso)
}

/// One line of the live log: time (UTC), method, status, size, duration, protocol,
/// host+path (last: the one of varying width), and the error of a failure; coloured by
/// status when `colour`.
fn log_line(e: &record::Event, colour: bool) -> String {
    use crate::term::{paint, DIM, GREEN, RED, YELLOW};
    let t = har::time::format_ms(e.start_ms);
    let clock = clock(&t);
    let status = if e.status == 0 {
        "ERR".to_string()
    } else {
        e.status.to_string()
    };
    let mut line = format!(
        "{clock} {:<7} {status:>3} {:>8} {:>7} {:<8} {}",
        e.method,
        size(e.bytes),
        format!("{:.0} ms", e.time_ms.max(0.0)),
        e.http_version,
        host_path(&e.url),
    );
    if let Some(err) = &e.error {
        line.push_str(" — ");
        line.push_str(err);
    }
    if !e.recorded {
        line.push_str(" (not written to the journal)");
    }
    if !colour {
        return line;
    }
    let style = match e.status {
        0 => RED,
        400.. => RED,
        300..400 => YELLOW,
        200..300 => GREEN,
        _ => DIM,
    };
    if e.status == 0 {
        paint(style, &line)
    } else {
        let (head, rest) = line.split_at(clock.len());
        format!("{}{}", paint(DIM, head), paint(style, rest))
    }
}

/// The live log: lines above the running count on a terminal, and into --log-file.
/// Events come from the proxy's threads through a channel; this thread writes.
pub(crate) fn live_log(
    bar: Option<indicatif::ProgressBar>,
    file: Option<std::fs::File>,
) -> Option<(record::Observer, LogWriter)> {
    if bar.is_none() && file.is_none() {
        return None;
    }
    let colour = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    let (tx, rx) = std::sync::mpsc::channel::<Line>();
    let stop = tx.clone();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut file = file.map(std::io::BufWriter::new);
        // `Stop`: recording stopped (every line was sent before it).
        loop {
            let (shown, plain) = match rx.recv() {
                Ok(Line::Exchange(e)) => (log_line(&e, colour), log_line(&e, false)),
                Ok(Line::Page(p)) => (page_line(&p, colour), page_line(&p, false)),
                Ok(Line::Stop) | Err(_) => break,
            };
            if let Some(b) = &bar {
                b.println(shown);
            }
            if let Some(f) = &mut file {
                let _ = writeln!(f, "{plain}").and_then(|_| f.flush());
            }
        }
    });
    let tx = std::sync::Mutex::new(tx);
    let observer: record::Observer = std::sync::Arc::new(move |e| {
        let _ = tx.lock().unwrap().send(Line::Exchange(e));
    });
    Some((observer, LogWriter { stop, writer }))
}

/// What the live log's writer is sent.
enum Line {
    Exchange(record::Event),
    /// A page marker, as its HAR `page` object.
    Page(serde_json::Value),
    Stop,
}

/// The live log's line for a page marker: `── page_2 "Checkout" ──` with its time.
fn page_line(p: &serde_json::Value, colour: bool) -> String {
    use crate::term::{paint, BOLD};
    let clock = clock(p["startedDateTime"].as_str().unwrap_or(""));
    let line = format!(
        "{clock} ── page {} {:?} ──",
        p["id"].as_str().unwrap_or(""),
        p["title"].as_str().unwrap_or("")
    );
    if colour {
        paint(BOLD, &line)
    } else {
        line
    }
}

/// The live log's writer thread, and how to tell it recording stopped.
pub(crate) struct LogWriter {
    stop: std::sync::mpsc::Sender<Line>,
    writer: std::thread::JoinHandle<()>,
}

impl LogWriter {
    /// What shows page markers in the live log.
    fn page_observer(&self) -> record::marks::Observer {
        let tx = std::sync::Mutex::new(self.stop.clone());
        std::sync::Arc::new(move |p: &serde_json::Value| {
            let _ = tx.lock().unwrap().send(Line::Page(p.clone()));
        })
    }
}

/// `one` for 1, `many` otherwise.
fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    if let Some(j) = &a.recover {
        let scan = record::journal::finish(j, &a.output, super::style(a.compact))?;
        let mut lost = Vec::new();
        if scan.damaged > 0 {
            lost.push(format!(
                "{} damaged {} skipped, {} bytes; the entries after {} are kept",
                scan.damaged,
                plural(scan.damaged, "record", "records"),
                scan.damaged_bytes,
                if scan.damaged == 1 { "it" } else { "them" }
            ));
        }
        if scan.dropped_bytes > 0 {
            lost.push(format!(
                "{} bytes of a torn last record dropped",
                scan.dropped_bytes
            ));
        }
        eprintln!(
            "hark record: {} {} recovered from {} into {}{}",
            scan.entries,
            plural(scan.entries, "entry", "entries"),
            j.display(),
            a.output,
            if lost.is_empty() {
                String::new()
            } else {
                format!(" ({})", lost.join("; "))
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
            header_timeout: a.header_timeout,
        },
        journal: a
            .journal
            .clone()
            .unwrap_or_else(|| record::journal_for(&a.output)),
        output: a.output.clone(),
        style: super::style(a.compact),
        token,
        keep_journal: a.keep_journal,
        page: a.page.clone(),
    };
    let journal = session.journal.clone();
    let log_file = match &a.log_file {
        Some(p) => Some(
            std::fs::File::create(p)
                .map_err(|e| anyhow::anyhow!("--log-file {}: {e}", p.display()))?,
        ),
        None => None,
    };
    let started = |rec: &mut record::Recorder| {
        eprintln!(
            "hark record: listening on http://{} (HTTP and HTTPS proxy); journal {}; CA {}",
            rec.local_addr(),
            journal.display(),
            rec.ca_cert_path().display()
        );
        eprintln!(
            "hark record: Ctrl-C or SIGTERM stops and writes {}; a named page starts with \
             curl --json '{{\"title\":\"NAME\"}}' http://{}/pages",
            a.output,
            rec.local_addr()
        );
        let bar = live_count(ctx, rec.recorded());
        let log = live_log(bar.clone(), log_file);
        let writer = log.map(|(observer, writer)| {
            rec.on_exchange(observer);
            rec.on_page(writer.page_observer());
            writer
        });
        LiveCount(bar, writer)
    };
    let done = session.run(started, super::stop_signal())?;
    eprintln!(
        "hark record: {} {} written to {}{}",
        done.scan.entries,
        plural(done.scan.entries, "entry", "entries"),
        a.output,
        if done.stats.unfinished > 0 {
            format!(
                " ({} {} still open at the stop {} not recorded)",
                done.stats.unfinished,
                plural(done.stats.unfinished as u64, "exchange", "exchanges"),
                if done.stats.unfinished == 1 {
                    "was"
                } else {
                    "were"
                }
            )
        } else {
            String::new()
        }
    );
    Ok(crate::exit::OK)
}

/// The live count, cleared when recording stops, and the live log's writer, which
/// writes what is queued and ends then.
pub(crate) struct LiveCount(
    pub(crate) Option<indicatif::ProgressBar>,
    pub(crate) Option<LogWriter>,
);

impl Drop for LiveCount {
    fn drop(&mut self) {
        if let Some(w) = self.1.take() {
            let _ = w.stop.send(Line::Stop);
            let _ = w.writer.join();
        }
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
