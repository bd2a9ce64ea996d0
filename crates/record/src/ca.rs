//! The local certificate authority: created on first use (key mode 0600), loaded after
//! that, and per-host leaf certificates made on the fly and cached.

use crate::error::RecordError;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// File names inside the CA directory.
pub const CERT_FILE: &str = "hark-ca.pem";
pub const KEY_FILE: &str = "hark-ca-key.pem";
/// The same certificate in DER, for Android and Windows (which want `.cer`/`.crt`).
pub const CER_FILE: &str = "hark-ca.cer";

const CA_NAME: &str = "hark recording proxy CA";

/// Where the CA lives when nothing says otherwise: `$HARK_CA_DIR`, else
/// `$XDG_CONFIG_HOME/hark`, else `~/.config/hark`.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HARK_CA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("hark");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".config").join("hark")
}

fn ca_params() -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    dn.push(DnType::OrganizationName, "hark");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut p, -2, 3650);
    p
}

/// A date `days_from_today` days from now (UTC), at midnight.
fn ymd(days_from_today: i64) -> (i32, u8, u8) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let z = now.div_euclid(86_400) + days_from_today + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

/// Valid from `from` days to `to` days from today.
fn set_validity(p: &mut CertificateParams, from: i64, to: i64) {
    let (y, m, d) = ymd(from);
    p.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = ymd(to);
    p.not_after = rcgen::date_time_ymd(y, m, d);
}

/// A loaded CA, able to issue leaf certificates.
pub struct Ca {
    dir: PathBuf,
    /// The CA certificate as stored on disk (what users trust).
    cert_der: CertificateDer<'static>,
    /// An in-memory CA certificate with the same name and key, used to sign leaves
    /// (signatures and key identifiers only depend on those).
    issuer: rcgen::Certificate,
    issuer_key: KeyPair,
    /// One key for every leaf (as mitmproxy does): making a key is the slow part.
    leaf_key: KeyPair,
    leaf_signer: Arc<dyn rustls::sign::SigningKey>,
    cache: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("dir", &self.dir).finish()
    }
}

impl Ca {
    /// Load the CA in `dir`, creating it (and the directory) on first use.
    pub fn load_or_create(dir: &Path) -> Result<Ca, RecordError> {
        let err = |msg: String| RecordError::Ca {
            dir: dir.to_path_buf(),
            msg,
        };
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        if !key_path.exists() {
            create(dir)?;
        }
        let key_pem = fs::read_to_string(&key_path).map_err(RecordError::io(&key_path))?;
        let cert_pem = fs::read(&cert_path).map_err(RecordError::io(&cert_path))?;
        let issuer_key =
            KeyPair::from_pem(&key_pem).map_err(|e| err(format!("{KEY_FILE}: {e}")))?;
        let cert_der = rustls_pemfile::certs(&mut &cert_pem[..])
            .next()
            .ok_or_else(|| err(format!("{CERT_FILE}: no certificate")))?
            .map_err(|e| err(format!("{CERT_FILE}: {e}")))?;
        let issuer = ca_params()
            .self_signed(&issuer_key)
            .map_err(|e| err(e.to_string()))?;
        let leaf_key = KeyPair::generate().map_err(|e| err(e.to_string()))?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let leaf_signer =
            rustls::crypto::ring::sign::any_supported_type(&der).map_err(|e| err(e.to_string()))?;
        Ok(Ca {
            dir: dir.to_path_buf(),
            cert_der,
            issuer,
            issuer_key,
            leaf_key,
            leaf_signer,
            cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CERT_FILE)
    }

    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The leaf certificate (and chain) for `host`, made once and cached.
    pub fn leaf(&self, host: &str) -> Result<Arc<CertifiedKey>, RecordError> {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if let Some(k) = self.cache.lock().unwrap().get(&host) {
            return Ok(k.clone());
        }
        let mut p = CertificateParams::new(vec![host.clone()]).map_err(|e| RecordError::Ca {
            dir: self.dir.clone(),
            msg: format!("leaf for {host}: {e}"),
        })?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host.as_str());
        p.distinguished_name = dn;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        // Browsers reject leaves valid for more than 398 days.
        set_validity(&mut p, -2, 390);
        let cert = p
            .signed_by(&self.leaf_key, &self.issuer, &self.issuer_key)
            .map_err(|e| RecordError::Ca {
                dir: self.dir.clone(),
                msg: format!("leaf for {host}: {e}"),
            })?;
        let key = Arc::new(CertifiedKey::new(
            vec![cert.der().clone(), self.cert_der.clone()],
            self.leaf_signer.clone(),
        ));
        let mut cache = self.cache.lock().unwrap();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(host, key.clone());
        Ok(key)
    }
}

/// Create the CA files in `dir`: the key readable by its owner only.
fn create(dir: &Path) -> Result<(), RecordError> {
    let err = |msg: String| RecordError::Ca {
        dir: dir.to_path_buf(),
        msg,
    };
    fs::create_dir_all(dir).map_err(RecordError::io(dir))?;
    let key = KeyPair::generate().map_err(|e| err(e.to_string()))?;
    let cert = ca_params()
        .self_signed(&key)
        .map_err(|e| err(e.to_string()))?;
    let key_path = dir.join(KEY_FILE);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&key_path).map_err(RecordError::io(&key_path))?;
    f.write_all(key.serialize_pem().as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(RecordError::io(&key_path))?;
    let cert_path = dir.join(CERT_FILE);
    fs::write(&cert_path, cert.pem()).map_err(RecordError::io(&cert_path))?;
    let cer_path = dir.join(CER_FILE);
    fs::write(&cer_path, cert.der()).map_err(RecordError::io(&cer_path))?;
    Ok(())
}

/// Picks the leaf by SNI, falling back to the CONNECT host (clients send no SNI for IPs).
#[derive(Debug)]
pub struct Resolver {
    pub ca: Arc<Ca>,
    pub fallback: String,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let host = hello.server_name().unwrap_or(&self.fallback);
        self.ca.leaf(host).ok()
    }
}

impl Resolver {
    /// A TLS acceptor serving this resolver's leaves, offering h2 then http/1.1
    /// (`None`: the crypto provider offers no safe protocol version).
    pub fn acceptor(self) -> Option<tokio_rustls::TlsAcceptor> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?;
        let mut sc = builder
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(self));
        sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(sc)))
    }
}
