//! `hark serve` from start to stop: the token it needs, its data directory, and
//! [`Launch::run`] (open the jobs, bind the API, the shared proxy port and the viewer,
//! serve until told to stop).

use crate::{api, Options, ServeError, Service};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The service and what else listens.
pub struct Launch {
    pub opts: Options,
    /// The shared proxy port ([`Service::start_shared`]).
    pub shared_proxy: Option<SocketAddr>,
    /// The viewer on its own address too ([`api::spawn_viewer`]).
    pub view: Option<SocketAddr>,
    /// Largest upload the viewer takes (0: none).
    pub max_upload: u64,
}

/// What the service says as it starts, for its operator.
#[derive(Clone, Copy, Debug)]
pub enum Started {
    /// The API listens on `addr`, with the jobs found in the data directory.
    Api { addr: SocketAddr, jobs: usize },
    /// The shared proxy port listens.
    SharedProxy(SocketAddr),
    /// The viewer listens on its own address (`--view`).
    Viewer(SocketAddr),
    /// The viewer is at `/view/` on the API's address.
    ViewerOnApi(SocketAddr),
}

/// The token the service runs with: the one given, else a new one when the API or the
/// viewer listens beyond loopback (`true`: it was made here, the operator must be told).
pub fn token_for(
    listen: SocketAddr,
    view: Option<SocketAddr>,
    given: Option<String>,
) -> Result<(Option<String>, bool), ServeError> {
    let view_beyond_loopback = view.is_some_and(|v| !v.ip().is_loopback());
    if (!listen.ip().is_loopback() || view_beyond_loopback) && given.is_none() {
        return Ok((Some(crate::random_id(32)?), true));
    }
    Ok((given, false))
}

/// The data directory when none is given: `$XDG_DATA_HOME/hark/serve` or
/// `~/.local/share/hark/serve`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("hark/serve");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/share/hark/serve")
}

impl Launch {
    /// Run the service on its own Tokio runtime until `stop` resolves; running jobs are
    /// then marked interrupted (their HARs stay). `started` hears where each part listens.
    pub fn run(
        self,
        mut started: impl FnMut(Started),
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        rt.block_on(async {
            let listen = self.opts.listen;
            let data = self.opts.data.clone();
            let token = self.opts.token.clone();
            let svc = Arc::new(Service::open(self.opts).map_err(|e| ServeError::Open {
                data,
                source: Box::new(e),
            })?);
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(ServeError::bind(listen, ""))?;
            let api_addr = listener
                .local_addr()
                .map_err(ServeError::bind(listen, ""))?;
            started(Started::Api {
                addr: api_addr,
                jobs: svc.jobs().len(),
            });
            if let Some(saddr) = self.shared_proxy {
                let l = std::net::TcpListener::bind(saddr)
                    .map_err(ServeError::bind(saddr, " (--shared-proxy)"))?;
                started(Started::SharedProxy(svc.start_shared(l)?));
            }
            // The viewer: at /view/ on the API port, and on --view ADDR too when given.
            // When the service has a token the viewer needs it too.
            let view_opts = || api::ViewerOptions {
                max_upload: self.max_upload,
                token: token.clone(),
            };
            if let Some(vaddr) = self.view {
                let bind = ServeError::bind(vaddr, " (--view)");
                let vl = tokio::net::TcpListener::bind(vaddr).await.map_err(bind)?;
                let vaddr = vl
                    .local_addr()
                    .map_err(ServeError::bind(vaddr, " (--view)"))?;
                api::spawn_viewer(&svc, vl, vaddr, view_opts());
                started(Started::Viewer(vaddr));
            }
            started(Started::ViewerOnApi(api_addr));
            api::serve_with_viewer(svc, listener, view_opts(), stop)
                .await
                .map_err(ServeError::Serving)
        })?;
        rt.shutdown_timeout(Duration::from_millis(200));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_made_only_beyond_loopback_and_when_none_is_given() {
        let lo: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:1".parse().unwrap();
        assert_eq!(token_for(lo, None, None).unwrap(), (None, false));
        assert_eq!(token_for(lo, Some(lo), None).unwrap(), (None, false));
        let (t, made) = token_for(lo, Some(any), None).unwrap();
        assert!(made && t.is_some_and(|t| t.len() == 32));
        assert!(token_for(any, None, None).unwrap().1);
        assert_eq!(
            token_for(any, None, Some("x".into())).unwrap(),
            (Some("x".into()), false)
        );
    }
}
