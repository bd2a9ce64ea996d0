use crate::term::Ctx;
use anyhow::{bail, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Run the capture service: jobs that each record through their own proxy port, their
/// HARs over HTTP, and the BrowserMob Proxy REST API (a drop-in for Selenium suites).
///
/// `POST /v1/jobs` makes a job and answers with its proxy address; `GET
/// /v1/jobs/{id}/network.har` streams its HAR (while it runs, after it stops, after a
/// restart; gzipped for `curl --compressed`; also on Sauce Labs' path
/// `/v1/rdc/jobs/{id}/network.har`). BrowserMob clients use `/proxy` as they did. The API
/// is described at `/v1/openapi.json`, and as a page with a curl example per endpoint at
/// `/`. The web viewer is at `/view/`: it lists the jobs, opens any of them, and takes
/// uploaded HARs. Loopback only unless --listen says otherwise, which then needs a token
/// (--token, or one is made and printed), sent as `Authorization: Bearer TOKEN` or as the
/// password of Basic credentials (`curl -u any:TOKEN`); with a token the job proxies want
/// it too, as the password of `Proxy-Authorization: Basic` (`http://hark:TOKEN@ADDR:PORT`).
///
/// Examples: `hark serve`, `hark serve --port 8080` (as `browsermob-proxy --port 8080`),
/// `curl -X POST localhost:7171/v1/jobs -d '{"name":"smoke"}'`
#[derive(clap::Args)]
pub struct Args {
    /// Address of the API; job proxies listen on the same IP address.
    #[arg(long, default_value = "127.0.0.1:7171")]
    listen: SocketAddr,
    /// Listen on 127.0.0.1:PORT (the `browsermob-proxy --port` option).
    #[arg(long, conflicts_with = "listen")]
    port: Option<u16>,
    /// Data directory: one directory per job [default: $XDG_DATA_HOME/hark/serve or ~/.local/share/hark/serve].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Bearer token for the API [default: $HARK_SERVE_TOKEN]; required, and made up and
    /// printed if not given, when --listen is not loopback. Job proxies then want it as
    /// the password of their Basic proxy credentials (any user; the job id on the shared
    /// port).
    #[arg(long)]
    token: Option<String>,
    /// Delete stopped jobs older than this (e.g. 90m, 12h, 7d; plain numbers are seconds).
    #[arg(long, value_parser = parse_age)]
    max_age: Option<Duration>,
    /// Delete the oldest stopped jobs while all jobs take more than this (K/M/G suffixes).
    #[arg(long, value_parser = super::parse_size)]
    max_size: Option<u64>,
    /// Directory of the local CA [default: $HARK_CA_DIR, $XDG_CONFIG_HOME/hark or ~/.config/hark].
    #[arg(long)]
    ca_dir: Option<PathBuf>,
    /// Also trust the CA certificates in this PEM file for upstream servers (repeatable). A
    /// server's own certificate works too (e.g. from `openssl req -x509 …`): accepted when
    /// the server presents exactly it and it names the server.
    #[arg(long, value_name = "FILE")]
    upstream_ca: Vec<PathBuf>,
    /// Do not verify upstream certificates (also what BrowserMob's trustAllServers asks for).
    #[arg(long)]
    insecure_upstream: bool,
    /// Bytes of each body kept, for jobs that do not set maxBodyBytes (K/M/G suffixes).
    #[arg(long, default_value = "16M", value_parser = super::parse_size)]
    max_body: u64,
    /// Also a shared proxy port: clients name their job as the proxy user
    /// (`http://JOBID:x@ADDR`, i.e. `Proxy-Authorization: Basic base64(JOBID:x)`).
    #[arg(long, value_name = "ADDR")]
    shared_proxy: Option<SocketAddr>,
    /// Also serve the web viewer on this address (it is always at /view/ on the API
    /// port; both show the same files). Its page lists the jobs (refreshed every few
    /// seconds) and opens any job's HAR in one click (a running job as far as it has come:
    /// Reload shows newer exchanges), and takes uploaded HAR files. On loopback it answers
    /// loopback Host names only; when the service has a token (--token, or anything
    /// listening beyond loopback) the viewer needs it too: open the printed `?token=` link
    /// once (it sets a cookie).
    #[arg(long, value_name = "ADDR")]
    view: Option<SocketAddr>,
    /// Largest HAR the viewer accepts as an upload (K/M/G suffixes; 0: no uploads).
    #[arg(long, default_value = "2G", value_parser = super::parse_size, value_name = "SIZE")]
    max_upload: u64,
    /// Seconds to wait for an upstream connection, for response headers, and between body chunks.
    #[arg(long, default_value_t = 30.0)]
    upstream_timeout: f64,
    /// Seconds a client may take to send a request's headers, counted from when hark starts
    /// waiting for them (so also how long an idle keep-alive connection stays open); slower
    /// clients are disconnected.
    #[arg(long, default_value = "30", value_parser = super::parse_secs, value_name = "SECS")]
    header_timeout: Duration,
}

fn parse_age(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1u64),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86_400),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| Duration::from_secs(n * mult))
        .map_err(|e| format!("{s}: {e} (an age, e.g. 90m, 12h or 7d)"))
}

pub fn run(a: Args, _ctx: &Ctx) -> Result<u8> {
    if a.upstream_timeout.is_nan() || a.upstream_timeout <= 0.0 {
        bail!("--upstream-timeout must be a positive number of seconds");
    }
    let listen = match a.port {
        Some(p) => SocketAddr::from(([127, 0, 0, 1], p)),
        None => a.listen,
    };
    let given = a
        .token
        .clone()
        .or_else(|| std::env::var("HARK_SERVE_TOKEN").ok())
        .filter(|t| !t.is_empty());
    let (token, made) = serve::token_for(listen, a.view, given)?;
    if let (true, Some(t)) = (made, &token) {
        eprintln!("hark serve: listening beyond loopback: token (API: Authorization: Bearer <token>; job proxies: http://hark:<token>@ADDR:PORT):\n{t}");
    }
    let data = a.data.clone().unwrap_or_else(serve::default_data_dir);
    let launch = serve::Launch {
        opts: serve::Options {
            listen,
            data: data.clone(),
            token: token.clone(),
            max_age: a.max_age,
            max_size: a.max_size,
            ca_dir: a.ca_dir.clone().unwrap_or_else(record::ca::default_dir),
            upstream_ca: a.upstream_ca.clone(),
            insecure_upstream: a.insecure_upstream,
            max_body: usize::try_from(a.max_body).unwrap_or(usize::MAX),
            upstream_timeout: Duration::from_secs_f64(a.upstream_timeout),
            header_timeout: a.header_timeout,
        },
        shared_proxy: a.shared_proxy,
        view: a.view,
        max_upload: a.max_upload,
    };
    let link = |addr: SocketAddr, path: &str| match &token {
        Some(t) => format!("http://{addr}{path}?token={t}"),
        None => format!("http://{addr}{path}"),
    };
    let started = |s: serve::Started| {
        match s {
        serve::Started::Api { addr, jobs } => eprintln!(
            "hark serve: API on http://{addr} (a page on it: /; OpenAPI: /v1/openapi.json; BrowserMob: /proxy); data {}; {jobs} jobs",
            data.display(),
        ),
        serve::Started::SharedProxy(saddr) => eprintln!(
            "hark serve: shared proxy on http://{saddr} (proxy user = job id: http://JOBID:x@{saddr})"
        ),
        serve::Started::Viewer(vaddr) => {
            eprintln!("hark serve: viewer also on {}", link(vaddr, "/"))
        }
        serve::Started::ViewerOnApi(addr) => eprintln!(
            "hark serve: viewer on {} (lists the jobs, opens any of them, takes uploaded HARs)",
            link(addr, "/view/")
        ),
    }
    };
    launch.run(started, super::stop_signal())?;
    eprintln!("hark serve: stopped; running jobs were marked interrupted (their HARs are kept)");
    Ok(crate::exit::OK)
}
