//! Upstream connections made by hand so that every phase is measured: DNS
//! (`lookup_host`), TCP connect, TLS handshake (inside `connect`, as the spec says), then
//! hyper's HTTP/1.1 or HTTP/2 client handshake over that stream. Idle connections are
//! kept per client connection and reused (their entries have dns/connect/ssl = -1).

use crate::entry::ms;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type UpBody = BoxBody<Bytes, BoxError>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

pub enum Sender {
    H1(http1::SendRequest<UpBody>),
    H2(http2::SendRequest<UpBody>),
}

pub struct Upstream {
    pub sender: Sender,
    pub id: u64,
    pub ip: IpAddr,
    /// What an HTTP/1.1 connection read, to find response heads as sent.
    pub tap: Option<crate::tap::Shared>,
}

impl Upstream {
    pub fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }
    fn try_clone(&self) -> Option<Upstream> {
        match &self.sender {
            Sender::H2(s) => Some(Upstream {
                sender: Sender::H2(s.clone()),
                id: self.id,
                ip: self.ip,
                tap: None,
            }),
            Sender::H1(_) => None,
        }
    }
}

/// What establishing (or reusing) a connection cost.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub blocked: f64,
    pub dns: f64,
    pub connect: f64,
    pub ssl: f64,
}

impl Setup {
    /// Nothing looked up, connected or negotiated (yet).
    pub const NONE: Setup = Setup {
        blocked: 0.0,
        dns: -1.0,
        connect: -1.0,
        ssl: -1.0,
    };
}

/// A failure with a Chrome-style `net::ERR_…` code.
#[derive(Debug)]
pub struct Failure {
    pub code: &'static str,
    pub detail: String,
    /// Phases that did happen before the failure.
    pub setup: Setup,
}

impl Failure {
    pub fn text(&self) -> String {
        format!("net::{} ({})", self.code, self.detail)
    }
}

pub struct Tls {
    pub h1: Arc<rustls::ClientConfig>,
    pub h2: Arc<rustls::ClientConfig>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Idle upstream connections of one client connection.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<Key, Vec<Upstream>>>,
}

impl Pool {
    pub fn put(&self, key: Key, up: Upstream) {
        let mut idle = self.idle.lock().unwrap();
        let v = idle.entry(key).or_default();
        if v.len() < 8 {
            v.push(up);
        }
    }

    /// A ready connection to `key`: reused when one is idle, made otherwise.
    pub async fn get(
        &self,
        key: &Key,
        tls: &Tls,
        want_h2: bool,
        timeout: Duration,
    ) -> Result<(Upstream, Setup), Failure> {
        let t0 = Instant::now();
        loop {
            let cand = {
                let mut idle = self.idle.lock().unwrap();
                match idle.get_mut(key) {
                    Some(v) => match v.last().and_then(|u| u.try_clone()) {
                        Some(h2) => Some(h2),
                        None => v.pop(),
                    },
                    None => None,
                }
            };
            let Some(mut up) = cand else { break };
            let ok = match &mut up.sender {
                Sender::H1(s) => !s.is_closed() && s.ready().await.is_ok(),
                Sender::H2(s) => {
                    if s.is_closed() || s.ready().await.is_err() {
                        // Drop the dead shared connection from the pool.
                        if let Some(v) = self.idle.lock().unwrap().get_mut(key) {
                            v.retain(|u| u.id != up.id);
                        }
                        false
                    } else {
                        true
                    }
                }
            };
            if ok {
                let setup = Setup {
                    blocked: ms(t0.elapsed()),
                    dns: -1.0,
                    connect: -1.0,
                    ssl: -1.0,
                };
                return Ok((up, setup));
            }
        }
        let (up, setup) = match tokio::time::timeout(timeout, connect(key, tls, want_h2)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(Failure {
                    code: "ERR_CONNECTION_TIMED_OUT",
                    detail: format!(
                        "connecting to {}:{} took over {timeout:?}",
                        key.host, key.port
                    ),
                    setup: Setup::NONE,
                })
            }
        };
        if let Some(c) = up.try_clone() {
            self.put(key.clone(), c);
        }
        Ok((up, setup))
    }
}

fn io_code(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "ERR_CONNECTION_REFUSED",
        ConnectionReset => "ERR_CONNECTION_RESET",
        ConnectionAborted => "ERR_CONNECTION_ABORTED",
        TimedOut => "ERR_CONNECTION_TIMED_OUT",
        _ => "ERR_CONNECTION_FAILED",
    }
}

/// The addresses of `host` (none looked up for an IP literal); `setup.dns` says how
/// long the lookup took.
async fn resolve(
    host: &str,
    port: u16,
    setup: &mut Setup,
) -> Result<Vec<std::net::SocketAddr>, Failure> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![(ip, port).into()]);
    }
    let t = Instant::now();
    let r = tokio::net::lookup_host((host, port)).await;
    setup.dns = ms(t.elapsed());
    match r {
        Ok(a) => Ok(a.collect()),
        Err(e) => Err(Failure {
            code: "ERR_NAME_NOT_RESOLVED",
            detail: format!("{host}: {e}"),
            setup: *setup,
        }),
    }
}

/// A TCP connection to the first of `addrs` that answers (else the last error).
async fn tcp_connect(addrs: &[std::net::SocketAddr]) -> std::io::Result<TcpStream> {
    let mut last = None;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address")))
}

async fn connect(key: &Key, tls: &Tls, want_h2: bool) -> Result<(Upstream, Setup), Failure> {
    let mut setup = Setup::NONE;
    let host = key.host.trim_start_matches('[').trim_end_matches(']');
    let fail = |code, detail: String, setup: Setup| Failure {
        code,
        detail,
        setup,
    };
    let addrs = resolve(host, key.port, &mut setup).await?;
    let t = Instant::now();
    let tcp = match tcp_connect(&addrs).await {
        Ok(s) => s,
        Err(e) => {
            setup.connect = ms(t.elapsed());
            return Err(fail(
                io_code(&e),
                format!("{}:{}: {e}", host, key.port),
                setup,
            ));
        }
    };
    let _ = tcp.set_nodelay(true);
    let ip = tcp
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or([0, 0, 0, 0].into());
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if !key.https {
        setup.connect = ms(t.elapsed());
        let (io, tap) = crate::tap::Tap::new(tcp);
        let sender = h1(TokioIo::new(io), &setup, key).await?;
        return Ok((
            Upstream {
                sender,
                id,
                ip,
                tap: Some(tap),
            },
            setup,
        ));
    }
    let t_tls = Instant::now();
    let cfg = if want_h2 { &tls.h2 } else { &tls.h1 };
    let name = match ServerName::try_from(host.to_string()) {
        Ok(n) => n,
        Err(e) => return Err(fail("ERR_INVALID_URL", format!("{host}: {e}"), setup)),
    };
    let r = tokio_rustls::TlsConnector::from(cfg.clone())
        .connect(name, tcp)
        .await;
    setup.ssl = ms(t_tls.elapsed());
    setup.connect = ms(t.elapsed());
    let stream = match r {
        Ok(s) => s,
        Err(e) => {
            let (code, why) = tls_failure(&e, host);
            return Err(fail(
                code,
                format!("TLS with {}:{}: {why}", host, key.port),
                setup,
            ));
        }
    };
    let is_h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let mut tap = None;
    let sender = if is_h2 {
        match http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(stream))
            .await
        {
            Ok((s, conn)) => {
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Sender::H2(s)
            }
            Err(e) => return Err(fail("ERR_HTTP2_PROTOCOL_ERROR", e.to_string(), setup)),
        }
    } else {
        let (io, t) = crate::tap::Tap::new(stream);
        tap = Some(t);
        h1(TokioIo::new(io), &setup, key).await?
    };
    Ok((
        Upstream {
            sender,
            id,
            ip,
            tap,
        },
        setup,
    ))
}

async fn h1<I>(io: I, setup: &Setup, key: &Key) -> Result<Sender, Failure>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    match http1::Builder::new()
        .preserve_header_case(true)
        .handshake(io)
        .await
    {
        Ok((s, conn)) => {
            tokio::spawn(async move {
                let _ = conn.with_upgrades().await;
            });
            Ok(Sender::H1(s))
        }
        Err(e) => Err(Failure {
            code: "ERR_CONNECTION_FAILED",
            detail: format!("{}:{}: {e}", key.host, key.port),
            setup: *setup,
        }),
    }
}

/// Open a fresh HTTP/1.1 connection for a WebSocket upgrade (never pooled).
pub async fn connect_h1(key: &Key, tls: &Tls) -> Result<(Upstream, Setup), Failure> {
    connect(key, tls, false).await
}

/// What went wrong in a TLS handshake with `host`, in words, with the flag that fixes it,
/// and its Chrome-style code.
fn tls_failure(e: &std::io::Error, host: &str) -> (&'static str, String) {
    use rustls::{CertificateError as C, Error as E};
    let Some(err) = e.get_ref().and_then(|i| i.downcast_ref::<E>()) else {
        return (
            "ERR_SSL_PROTOCOL_ERROR",
            format!("the TLS handshake failed: {e} (does the server speak TLS on this port?)"),
        );
    };
    let trust = "give its CA certificate (or the server's own certificate) with --upstream-ca \
                 FILE, or skip verification with --insecure-upstream";
    match err {
        E::InvalidCertificate(c) => {
            let (code, what) = match c {
                C::UnknownIssuer | C::BadSignature => (
                    "ERR_CERT_AUTHORITY_INVALID",
                    "the server's certificate is not signed by a CA hark trusts".to_string(),
                ),
                // webpki's own error, which rustls wraps as `Other`.
                C::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => (
                    "ERR_CERT_AUTHORITY_INVALID",
                    "the server presents a CA certificate (CA:TRUE) as its own, and it is not \
                     one of the --upstream-ca certificates"
                        .to_string(),
                ),
                C::NotValidForName | C::NotValidForNameContext { .. } => (
                    "ERR_CERT_COMMON_NAME_INVALID",
                    format!(
                        "the server's certificate is not valid for the name {host:?} (its \
                         subjectAltName does not list it): ask for a name it lists, or \
                         --insecure-upstream"
                    ),
                ),
                C::Expired | C::ExpiredContext { .. } => (
                    "ERR_CERT_DATE_INVALID",
                    "the server's certificate has expired".to_string(),
                ),
                C::NotValidYet | C::NotValidYetContext { .. } => (
                    "ERR_CERT_DATE_INVALID",
                    "the server's certificate is not valid yet (check the clocks)".to_string(),
                ),
                C::Revoked => (
                    "ERR_CERT_REVOKED",
                    "the server's certificate is revoked".to_string(),
                ),
                other => (
                    "ERR_CERT_INVALID",
                    format!("the server's certificate was refused ({other:?})"),
                ),
            };
            let fix = match code {
                "ERR_CERT_COMMON_NAME_INVALID" => String::new(),
                "ERR_CERT_DATE_INVALID" | "ERR_CERT_REVOKED" => {
                    ": renew it, or skip verification with --insecure-upstream".to_string()
                }
                _ => format!(": {trust}"),
            };
            (code, format!("{what}{fix}"))
        }
        E::NoCertificatesPresented => (
            "ERR_CERT_INVALID",
            format!("the server sent no certificate: {trust}"),
        ),
        E::AlertReceived(a) => (
            "ERR_SSL_PROTOCOL_ERROR",
            format!(
                "the server refused the TLS handshake (alert {a:?}): it may want a client \
                 certificate or a TLS version or cipher hark does not offer (TLS 1.2 and 1.3)"
            ),
        ),
        other => (
            "ERR_SSL_PROTOCOL_ERROR",
            format!("the TLS handshake failed: {other} (does the server speak TLS on this port?)"),
        ),
    }
}

/// Client TLS configurations: roots from the system store (plus `extra` PEM files), or
/// no verification at all when `insecure`. A certificate in `extra` is also accepted as
/// the server's own certificate when it is byte for byte the one the server presents and
/// it names the server (the self-signed `openssl req -x509` certificate, `CA:TRUE`, that
/// webpki refuses as an end entity).
pub fn tls_config(extra: &[std::path::PathBuf], insecure: bool) -> Result<Tls, crate::RecordError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| crate::RecordError::Tls(e.to_string()))?;
    let base = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(c);
        }
        let mut pinned = Vec::new();
        for p in extra {
            let pem = std::fs::read(p).map_err(crate::RecordError::io(p))?;
            let mut n = 0;
            for c in rustls_pemfile::certs(&mut &pem[..]) {
                let c = c.map_err(crate::RecordError::io(p))?;
                roots
                    .add(c.clone())
                    .map_err(|e| crate::RecordError::Tls(format!("{}: {e}", p.display())))?;
                pinned.push(c);
                n += 1;
            }
            if n == 0 {
                return Err(crate::RecordError::NoCertificate { path: p.clone() });
            }
        }
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| crate::RecordError::Tls(e.to_string()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedOrWebPki { webpki, pinned }))
            .with_no_client_auth()
    };
    let mut h1 = base.clone();
    h1.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut h2 = base;
    h2.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        h1: Arc::new(h1),
        h2: Arc::new(h2),
    })
}

/// The usual verification (system store plus `--upstream-ca`), and then, when that fails,
/// a server certificate that is exactly one of the `--upstream-ca` certificates and names
/// the server. Handshake signatures are verified either way.
#[derive(Debug)]
struct PinnedOrWebPki {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl rustls::client::danger::ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let err =
            match self
                .webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
        if !self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Err(err);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    // Handshake signatures: exactly as the WebPKI verifier checks them.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `--insecure-upstream`: accept any certificate (signatures are still checked).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
