use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

/// Show where hark's local CA is (creating it on first use) and how to trust it.
///
/// `hark record` decrypts HTTPS with certificates signed by this CA; clients must trust
/// it. The private key never leaves the directory (mode 0600).
#[derive(clap::Args)]
pub struct Args {
    /// Directory of the local CA [default: $HARK_CA_DIR, $XDG_CONFIG_HOME/hark or ~/.config/hark].
    #[arg(long)]
    ca_dir: Option<PathBuf>,
    /// Print only the path of the CA certificate (PEM), for scripts.
    #[arg(long)]
    path: bool,
}

pub fn run(a: Args) -> Result<u8> {
    let dir = a.ca_dir.unwrap_or_else(record::ca::default_dir);
    let ca = record::ca::Ca::load_or_create(&dir)?;
    let pem = ca.cert_path();
    let mut out = std::io::stdout().lock();
    if a.path {
        let _ = writeln!(out, "{}", pem.display());
        return Ok(crate::exit::OK);
    }
    let cer = dir.join(record::ca::CER_FILE);
    let key = dir.join(record::ca::KEY_FILE);
    let p = pem.display();
    let _ = writeln!(
        out,
        "hark's local CA
  certificate (PEM)   {p}
  certificate (DER)   {cer}
  private key         {key}  (mode 0600: keep it private; delete the directory to make a new CA)

Trust it only on machines and devices you test with.

System store
  Debian/Ubuntu   sudo cp {p} /usr/local/share/ca-certificates/hark-ca.crt && sudo update-ca-certificates
  Fedora/RHEL     sudo cp {p} /etc/pki/ca-trust/source/anchors/hark-ca.pem && sudo update-ca-trust
  macOS           sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {p}
  Windows         certutil -addstore -f Root {cer}

Chrome/Chromium on Linux (NSS database)
  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n hark -i {p}
Firefox
  Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import {p}
  (or set security.enterprise_roots.enabled to true to use the system store)

Android   copy {cer} to the device, Settings > Security > Encryption & credentials > Install a
          certificate > CA certificate. Apps trust user CAs only if their network security config
          says so (debug builds: <debug-overrides><trust-anchors><certificates src=\"user\"/>).
iOS       AirDrop or mail {cer}, install the profile, then Settings > General > About >
          Certificate Trust Settings > enable full trust for \"hark recording proxy CA\".

Java      keytool -importcert -noprompt -alias hark -file {p} -keystore \"$JAVA_HOME/lib/security/cacerts\" -storepass changeit
Python    export REQUESTS_CA_BUNDLE={p} SSL_CERT_FILE={p}
Node.js   export NODE_EXTRA_CA_CERTS={p}
curl      curl --proxy http://127.0.0.1:8080 --cacert {p} https://example.com/

Proxy settings for most tools: export http_proxy=http://127.0.0.1:8080 https_proxy=http://127.0.0.1:8080",
        cer = cer.display(),
        key = key.display(),
    );
    Ok(crate::exit::OK)
}
