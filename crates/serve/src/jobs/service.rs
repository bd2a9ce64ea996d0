//! The service: its jobs (loaded from the data directory, made, stopped, deleted,
//! retained), BrowserMob ports, the shared proxy port, and snapshots for the viewer.

use super::rules::{JobPolicy, Rules, SharedPolicy};
use super::{save_meta, BlacklistRule, Capture, Job, Kind, Meta, State, Whitelist};
use crate::{now_ms, Options, ServeError};
use http::HeaderMap;
use record::entry::Exchange;
use record::journal::JournalWriter;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// What `POST /v1/jobs` (or `POST /proxy`) asks for.
#[derive(Clone, Debug, Default)]
pub struct NewJob {
    pub name: String,
    pub tags: Vec<String>,
    pub kind: Kind,
    pub capture: Capture,
    pub recording: bool,
    pub scope: Vec<String>,
    pub blacklist: Vec<BlacklistRule>,
    pub whitelist: Option<Whitelist>,
    pub headers: BTreeMap<String, String>,
    pub latency_ms: u64,
    pub upstream_kbps: u64,
    pub downstream_kbps: u64,
    /// Port for the proxy (0: any free port).
    pub port: u16,
}

impl NewJob {
    /// The job's `job.json` as first written (no id, no proxy address yet).
    fn into_meta(self) -> Meta {
        let created_ms = now_ms();
        Meta {
            id: String::new(),
            name: self.name,
            tags: self.tags,
            kind: self.kind,
            created: har::time::format_ms(created_ms),
            created_ms,
            state: State::Running,
            stopped: None,
            proxy: None,
            capture: self.capture,
            recording: self.recording,
            scope: self.scope,
            blacklist: self.blacklist,
            whitelist: self.whitelist,
            headers: self.headers,
            latency_ms: self.latency_ms,
            upstream_kbps: self.upstream_kbps,
            downstream_kbps: self.downstream_kbps,
            pages: Vec::new(),
            error: None,
            entries: 0,
        }
    }
}

/// Why a job could not be made.
#[derive(Debug)]
pub enum CreateError {
    /// The request is wrong (bad regex, port taken): 400/409.
    Invalid(String),
    PortTaken(String),
    Serve(ServeError),
}

impl From<ServeError> for CreateError {
    fn from(e: ServeError) -> Self {
        CreateError::Serve(e)
    }
}

/// The web viewer (crates/view) a job's HAR can be opened in: its library and address.
pub struct ViewHook {
    pub lib: Arc<view::Library>,
    /// The jobs, as the viewer's page lists them (shared by every listener of the viewer).
    pub catalog: Arc<dyn view::Catalog>,
    /// e.g. `http://127.0.0.1:7172`
    pub base: String,
}

pub struct Service {
    pub opts: Options,
    pub view: std::sync::OnceLock<ViewHook>,
    /// The shared proxy port (`--shared-proxy`), where `Proxy-Authorization: Basic
    /// base64(JOBID:anything)` (`JOBID:TOKEN` when the service has a token) says which
    /// job a request belongs to.
    pub shared_addr: std::sync::OnceLock<SocketAddr>,
    shared: Mutex<Option<record::Hosted>>,
    ca: Arc<record::ca::Ca>,
    tls: record::upstream::Tls,
    jobs: Mutex<BTreeMap<String, Arc<Job>>>,
    /// BrowserMob proxy port → job id.
    bmp: Mutex<BTreeMap<u16, String>>,
}

impl Service {
    /// Load the CA and the jobs in the data directory (a job that was running is marked
    /// interrupted, its journal kept as it is).
    pub fn open(opts: Options) -> Result<Service, ServeError> {
        let jobs_dir = opts.data.join("jobs");
        std::fs::create_dir_all(&jobs_dir).map_err(ServeError::io(&jobs_dir))?;
        let ca = Arc::new(record::ca::Ca::load_or_create(&opts.ca_dir)?);
        let tls = record::upstream::tls_config(&opts.upstream_ca, opts.insecure_upstream)?;
        let mut jobs = BTreeMap::new();
        let rd = std::fs::read_dir(&jobs_dir).map_err(ServeError::io(&jobs_dir))?;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !crate::valid_id(&name) {
                continue;
            }
            let dir = e.path();
            let Ok(bytes) = std::fs::read(dir.join("job.json")) else {
                continue; // a job whose creation did not finish
            };
            let Ok(mut m) = serde_json::from_slice::<Meta>(&bytes) else {
                continue;
            };
            if m.id != name {
                continue;
            }
            let journal = dir.join("journal");
            if m.state == State::Running {
                m.state = State::Interrupted;
                m.recording = false;
                m.stopped = Some(har::time::format_ms(now_ms()));
                m.entries = record::journal::scan(&journal, None)
                    .map(|(_, s)| s.entries)
                    .unwrap_or(0);
                save_meta(&dir, &m)?;
            }
            let rules = Rules::from_meta(&m).unwrap_or_default();
            jobs.insert(
                name.clone(),
                Arc::new(Job {
                    id: name,
                    dir,
                    meta: Mutex::new(m),
                    rules: RwLock::new(rules),
                    journal: Mutex::new(None),
                    proxy: Mutex::new(None),
                    lost: AtomicU64::new(0),
                }),
            );
        }
        // Snapshots opened in the viewer by an earlier run.
        let _ = std::fs::remove_dir_all(opts.data.join("tmp"));
        Ok(Service {
            view: std::sync::OnceLock::new(),
            shared_addr: std::sync::OnceLock::new(),
            shared: Mutex::new(None),
            opts,
            ca,
            tls,
            jobs: Mutex::new(jobs),
            bmp: Mutex::new(BTreeMap::new()),
        })
    }

    /// Write a snapshot of the job's HAR and add it to the viewer's library; returns the
    /// viewer's URL of it. Blocking (writes the HAR).
    pub fn open_in_viewer(&self, job: &Job) -> Result<Option<String>, ServeError> {
        let Some(v) = self.view.get() else {
            return Ok(None);
        };
        let id = self.snapshot_into(job, &v.lib)?;
        Ok(Some(format!("{}/#file={id}", v.base)))
    }

    /// Write the job's HAR as far as it has come to a file under `tmp/view/` and add it
    /// to `lib`; returns its id there.
    pub fn snapshot_into(&self, job: &Job, lib: &view::Library) -> Result<usize, ServeError> {
        Ok(lib.add(self.snapshot(job)?))
    }

    /// Write the job's HAR as far as it has come to a file under `tmp/view/` and index it.
    pub fn snapshot(&self, job: &Job) -> Result<Arc<view::Index>, ServeError> {
        let dir = self
            .opts
            .data
            .join("tmp")
            .join("view")
            .join(crate::random_id(12)?);
        std::fs::create_dir_all(&dir).map_err(ServeError::io(&dir))?;
        let m = job.meta();
        let name: String = m
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let file = dir.join(format!(
            "{}{}{}.har",
            name,
            if name.is_empty() { "" } else { "-" },
            m.id
        ));
        let (path, limit, pages, comment) = job.har_source();
        let out = std::fs::File::create(&file).map_err(ServeError::io(&file))?;
        let (_, mut w) = record::journal::write_har(
            &path,
            limit,
            pages,
            comment,
            har::Style::Compact,
            std::io::BufWriter::new(out),
        )?;
        std::io::Write::flush(&mut w).map_err(ServeError::Stream)?;
        let p = file.to_string_lossy().into_owned();
        let shown = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.clone());
        view::Index::open_named(&p, &shown, 2).map_err(|e| ServeError::Listen(e.to_string()))
    }

    pub fn job(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap().get(id).cloned()
    }

    pub fn jobs(&self) -> Vec<Arc<Job>> {
        self.jobs.lock().unwrap().values().cloned().collect()
    }

    pub fn bmp_job(&self, port: u16) -> Option<Arc<Job>> {
        let id = self.bmp.lock().unwrap().get(&port).cloned()?;
        self.job(&id)
    }

    pub fn bmp_ports(&self) -> Vec<u16> {
        self.bmp.lock().unwrap().keys().copied().collect()
    }

    /// Make a job: its directory, `job.json`, journal and proxy. Must be called inside
    /// the Tokio runtime.
    pub fn create(&self, n: NewJob) -> Result<Arc<Job>, CreateError> {
        let (kind, port) = (n.kind, n.port);
        let mut meta = n.into_meta();
        let rules = Rules::from_meta(&meta).map_err(CreateError::Invalid)?;
        let bind = SocketAddr::new(self.opts.listen.ip(), port);
        let listener = std::net::TcpListener::bind(bind)
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .map_err(|e| CreateError::PortTaken(format!("cannot listen on {bind}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CreateError::PortTaken(e.to_string()))?;
        meta.proxy = Some(addr.to_string());
        let (dir, journal) = self.make_dir(&mut meta)?;
        let id = meta.id.clone();
        let job = Arc::new(Job {
            id: id.clone(),
            dir,
            meta: Mutex::new(meta),
            rules: RwLock::new(rules),
            journal: Mutex::new(Some(journal)),
            proxy: Mutex::new(None),
            lost: AtomicU64::new(0),
        });
        let max_body = job
            .meta()
            .capture
            .max_body_bytes
            .unwrap_or(self.opts.max_body);
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| CreateError::PortTaken(e.to_string()))?;
        let policy: Arc<dyn record::Policy> = Arc::new(JobPolicy {
            job: Arc::downgrade(&job),
            token: self.opts.token.as_deref().map(record::ProxyToken::new),
        });
        let hosted = self.spawn_proxy(listener, addr, max_body, job.sink(), policy);
        *job.proxy.lock().unwrap() = Some(hosted);
        self.jobs.lock().unwrap().insert(id, job.clone());
        if kind == Kind::BrowserMob {
            self.bmp.lock().unwrap().insert(addr.port(), job.id.clone());
        }
        Ok(job)
    }

    /// A new job's directory under `jobs/` (its id, random, set in `meta`), with its
    /// journal and `job.json`; nothing is left behind on error.
    fn make_dir(&self, meta: &mut Meta) -> Result<(PathBuf, JournalWriter), ServeError> {
        let jobs_dir = self.opts.data.join("jobs");
        let (id, dir) = loop {
            let id = crate::random_id(12)?;
            let dir = jobs_dir.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => break (id, dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(ServeError::io(&dir)(e)),
            }
        };
        meta.id = id;
        let made = (|| -> Result<JournalWriter, ServeError> {
            let j = JournalWriter::create(&dir.join("journal"))?;
            save_meta(&dir, meta)?;
            Ok(j)
        })();
        match made {
            Ok(j) => Ok((dir, j)),
            Err(e) => {
                // Never leave half a job behind.
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// A recording proxy on `listener` with the service's CA and upstream settings.
    fn spawn_proxy(
        &self,
        listener: tokio::net::TcpListener,
        addr: SocketAddr,
        max_body: usize,
        sink: record::Sink,
        policy: Arc<dyn record::Policy>,
    ) -> record::Hosted {
        let cfg = record::Config {
            listen: addr,
            ca_dir: self.opts.ca_dir.clone(),
            upstream_ca: self.opts.upstream_ca.clone(),
            insecure_upstream: self.opts.insecure_upstream,
            passthrough: Vec::new(),
            max_body,
            upstream_timeout: self.opts.upstream_timeout,
            header_timeout: self.opts.header_timeout,
        };
        record::spawn_proxy(
            listener,
            cfg,
            self.ca.clone(),
            &self.tls,
            sink,
            Some(policy),
        )
    }

    /// Stop a BrowserMob proxy (the job and its HAR stay).
    pub async fn close_bmp(&self, port: u16) -> Result<bool, ServeError> {
        let id = self.bmp.lock().unwrap().remove(&port);
        let Some(job) = id.and_then(|id| self.job(&id)) else {
            return Ok(false);
        };
        job.stop(State::Stopped).await?;
        Ok(true)
    }

    /// Stop a job and delete its directory.
    pub async fn delete(&self, id: &str) -> Result<bool, ServeError> {
        let Some(job) = self.job(id) else {
            return Ok(false);
        };
        job.stop(State::Stopped).await?;
        self.bmp.lock().unwrap().retain(|_, j| j != id);
        std::fs::remove_dir_all(&job.dir).map_err(ServeError::io(&job.dir))?;
        self.jobs.lock().unwrap().remove(id);
        Ok(true)
    }

    /// Serve the shared proxy port on `listener`: each request (or CONNECT tunnel) must
    /// name a running job as the user of `Proxy-Authorization: Basic` (with the service's
    /// token as password, if it has one), else 407.
    pub fn start_shared(
        self: &Arc<Self>,
        listener: std::net::TcpListener,
    ) -> Result<SocketAddr, ServeError> {
        let addr = listener
            .local_addr()
            .map_err(|e| ServeError::Listen(e.to_string()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ServeError::Listen(e.to_string()))?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| ServeError::Listen(e.to_string()))?;
        let weak = Arc::downgrade(self);
        let sink: record::Sink = Arc::new(move |ex: Exchange| {
            let Some(svc) = weak.upgrade() else { return };
            let Some(job) = ex.tag.as_deref().and_then(|t| svc.job(t)) else {
                return;
            };
            if job.state() == State::Running {
                job.record(ex);
            }
        });
        let policy: Arc<dyn record::Policy> = Arc::new(SharedPolicy(Arc::downgrade(self)));
        let hosted = self.spawn_proxy(listener, addr, self.opts.max_body, sink, policy);
        *self.shared.lock().unwrap() = Some(hosted);
        let _ = self.shared_addr.set(addr);
        Ok(addr)
    }

    /// The running job named by a `Proxy-Authorization: Basic` header (whose password
    /// must be the service's token, if it has one).
    pub(super) fn job_of(&self, headers: &HeaderMap) -> Option<Arc<Job>> {
        record::basic_credentials(headers).find_map(|(user, password)| {
            let token_ok = self
                .opts
                .token
                .as_ref()
                .is_none_or(|t| har::http::same_secret(password.as_bytes(), t.as_bytes()));
            if !token_ok || !crate::valid_id(&user) {
                return None;
            }
            self.job(&user).filter(|j| j.state() == State::Running)
        })
    }

    /// Stop every running job (service shutdown): they are marked interrupted.
    pub async fn shutdown(&self) {
        let shared = self.shared.lock().unwrap().take();
        if let Some(h) = shared {
            h.stop(Duration::from_secs(2)).await;
        }
        for job in self.jobs() {
            if job.state() == State::Running {
                let _ = job.stop(State::Interrupted).await;
            }
        }
    }

    /// Delete stopped jobs older than `--max-age`, then the oldest stopped jobs while all
    /// jobs together are over `--max-size`. Returns the ids deleted.
    pub async fn enforce_retention(&self) -> Vec<String> {
        let mut deleted = Vec::new();
        let now = now_ms();
        let mut jobs: Vec<(f64, u64, String, State)> = self
            .jobs()
            .iter()
            .map(|j| {
                let m = j.meta();
                (m.created_ms, j.bytes(), m.id, m.state)
            })
            .collect();
        jobs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut total: u64 = jobs.iter().map(|j| j.1).sum();
        for (created, bytes, id, state) in jobs {
            if state == State::Running {
                continue;
            }
            let too_old = self
                .opts
                .max_age
                .is_some_and(|age| now - created > age.as_secs_f64() * 1000.0);
            let too_big = self.opts.max_size.is_some_and(|max| total > max);
            if (too_old || too_big) && self.delete(&id).await.unwrap_or(false) {
                total -= bytes;
                deleted.push(id);
            }
        }
        deleted
    }
}
