use crate::term::{paint, Ctx, BOLD, DIM, YELLOW};
use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr};

/// Open HAR files in the web viewer: a request table like DevTools' Network panel,
/// with waterfall, filters, and the details of each request.
///
/// The page also searches every field (URLs, headers, cookies, parameters, bodies —
/// decoded) on the server, results arriving as found, and lists what `hark diagnose` and
/// `hark check` find (computed right after indexing), each finding selecting its rows.
///
/// Each file is indexed in one streaming pass (offsets and summary fields, never the
/// bodies, so a 1 GB file needs a few hundred MB at most); rows show while the rest is
/// still being read. The viewer is served on 127.0.0.1 only, its URL printed on
/// standard output, and a browser opened when there is one.
///
/// Standard input (`-`) and gzip files cannot be seeked: they are uncompressed to a
/// temporary file first, which is removed on exit.
///
/// `--compare B` shows the (first) file beside B: requests paired as `hark diff` pairs
/// them (method + templated path, in order of occurrence), status, size and time side by
/// side, the changed response headers and JSON fields of a pair highlighted, and filters
/// for only changed, only in A, only in B. In the page, "Compare with…" does the same for
/// any two open files, and so does picking (or dropping) two files at once in "Open file…".
///
/// Another HAR (or .har.gz) can be opened from the page ("Open file…", or dropped on it):
/// it is streamed to a temporary file (up to --max-upload), indexed like the others,
/// and removed on exit.
///
/// The viewer runs nothing from the HAR: a strict Content-Security-Policy, no HTML built
/// from HAR strings (responses are shown as source; previews of images, fonts, media and
/// HTML render only in a sandboxed frame that can run and load nothing), every asset built
/// into hark (nothing is loaded from the network; the page sends files only to this
/// viewer, with a header cross-site pages cannot send).
///
/// Examples: `hark view customer.har`, `hark view --port 8080 --no-open big.har.gz`,
/// `hark view staging.har --compare production.har`
#[derive(clap::Args)]
pub struct Args {
    /// HAR files (`-` for standard input, `@example` for the built-in one).
    #[arg(required = true)]
    files: Vec<String>,
    /// Another HAR to compare the (first) file with: the page opens on the two side by
    /// side, paired as `hark diff` pairs them.
    #[arg(long, value_name = "FILE")]
    compare: Option<String>,
    /// Port to serve on (0: any free port). Default: 7172, or a free port if taken.
    #[arg(long, short)]
    port: Option<u16>,
    /// Address to listen on instead of 127.0.0.1. Beyond loopback a --token is required,
    /// and the page is reached by address (an IP, not a host name: DNS rebinding stays out).
    #[arg(long, value_name = "ADDR")]
    listen: Option<IpAddr>,
    /// Required on every request [default: $HARK_VIEW_TOKEN]: open the printed link with
    /// `?token=`, or send `Authorization: Bearer <token>`. Required with --listen beyond
    /// loopback.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Do not open a browser.
    #[arg(long)]
    no_open: bool,
    /// Worker threads for indexing (default: one per core).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// Largest HAR the page accepts as an upload (K/M/G suffixes; 0: no uploads).
    #[arg(long, default_value = "2G", value_parser = super::parse_size, value_name = "SIZE")]
    max_upload: u64,
    /// Seconds a client may take to send a request's headers, counted from when hark starts
    /// waiting for them (so also how long an idle keep-alive connection stays open); slower
    /// clients are disconnected.
    #[arg(long, default_value = "30", value_parser = super::parse_secs, value_name = "SECS")]
    header_timeout: std::time::Duration,
}

pub fn run(a: Args, ctx: &Ctx) -> Result<u8> {
    let token = a
        .token
        .clone()
        .or_else(|| std::env::var("HARK_VIEW_TOKEN").ok())
        .filter(|t| !t.is_empty());
    let ip = a.listen.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if !ip.is_loopback() && token.is_none() {
        anyhow::bail!(
            "--listen {ip} lets other machines read these HAR files (and upload): give --token \
             (the page is then opened with ?token=TOKEN)"
        );
    }
    let threads = a.threads.unwrap_or_else(har::default_threads);
    let lib = std::sync::Arc::new(view::Library::new());
    // Keeps the built-in example's temporary copy alive while serving.
    let mut keep = Vec::new();
    let mut indexes = Vec::new();
    let mut names = a.files.clone();
    names.extend(a.compare.iter().cloned());
    for f in &names {
        let path = if f == crate::input::EXAMPLE_NAME {
            let mut t = tempfile::NamedTempFile::new()?;
            t.write_all(crate::input::EXAMPLE)?;
            let p = t.into_temp_path();
            let s = p.to_string_lossy().into_owned();
            keep.push(p);
            s
        } else {
            f.clone()
        };
        let idx = if f == crate::input::EXAMPLE_NAME {
            view::Index::open_named(&path, f, threads)?
        } else {
            view::Index::open(&path, threads)?
        };
        indexes.push((f.clone(), idx.clone()));
        lib.add(idx);
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the server")?;
    let listener = rt.block_on(view::bind(ip, a.port))?;
    let addr = listener.local_addr()?;
    let hosts = match view::HostCheck::for_addr(addr) {
        view::HostCheck::Any => {
            anstream::eprintln!(
                "{} listening on {ip}: anyone who can reach this address and has the token can \
                 read these HAR files",
                paint(YELLOW, "warning:")
            );
            view::HostCheck::Address(addr.port())
        }
        h => h,
    };
    let mut url = match &token {
        Some(t) => format!("{}?token={t}", view::url_for(addr)),
        None => view::url_for(addr),
    };
    if a.compare.is_some() {
        url.push_str(&format!("#compare=0,{}", names.len() - 1));
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{url}")?;
        out.flush()?;
    }
    if !ctx.quiet {
        anstream::eprintln!(
            "{} serving {} on {} {}",
            paint(BOLD, "hark view:"),
            names.join(", "),
            url,
            paint(DIM, "(Ctrl-C to stop)")
        );
    }
    // Say on the terminal when each file is indexed (or why it could not be).
    for (name, idx) in indexes {
        let quiet = ctx.quiet;
        let size = (idx.file_size > 0).then_some(idx.file_size);
        let progress = crate::term::Progress::new(
            ctx,
            &format!("indexing {name}"),
            idx.progress_counter(),
            size,
        );
        std::thread::spawn(move || {
            idx.wait();
            progress.finish();
            let st = idx.state.read().unwrap();
            match &st.error {
                Some(e) => {
                    crate::term::error(&format!("{e} (the viewer shows the entries before it)"))
                }
                None if !quiet => anstream::eprintln!(
                    "{} {} entries of {name} indexed in {:.2} s",
                    paint(DIM, "hark view:"),
                    st.rows.len(),
                    st.seconds.unwrap_or(0.0)
                ),
                None => {}
            }
        });
    }
    if !a.no_open && std::io::stdout().is_terminal() {
        open_browser(&url);
    }
    let mut cfg = view::Config::new(hosts);
    cfg.max_upload = a.max_upload;
    cfg.token = token;
    let app = view::router_with(lib.clone(), cfg);
    rt.block_on(view::serve(
        listener,
        app,
        a.header_timeout,
        super::stop_signal(),
    ))
    .context("serving the viewer")?;
    // Temporary copies (stdin, gzip) go now, even while an index is still being built.
    for f in lib.files() {
        f.close();
    }
    drop(keep);
    Ok(crate::exit::OK)
}

/// Open `url` in the desktop's browser when there is a desktop.
fn open_browser(url: &str) {
    let cmd = if cfg!(target_os = "macos") {
        Some("open")
    } else if cfg!(windows) {
        None
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        Some("xdg-open")
    } else {
        None
    };
    if let Some(cmd) = cmd {
        let _ = std::process::Command::new(cmd)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}
