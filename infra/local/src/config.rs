//! The local gateway's configuration (docs/API.md, "Local gateway configuration").
//! Secrets are generated on first start into the data dir, never committed.

use rand::RngCore;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub site_dir: PathBuf,
    pub admin_token: String,
    pub webhook_secret: String,
    /// Signs the gateway's expiring download links.
    pub link_key: String,
    pub demo: bool,
    /// Injected store and blob faults (`VISA_FAULTS`), for load runs only.
    pub faults: Option<crate::faults::Faults>,
    /// How long each kind of data is kept (`RETENTION_*_DAYS`).
    pub retention: visa_core::retention::Retention,
    /// Where the site is reached (checkout return links, QR codes); the
    /// bound address when SITE_ORIGIN is unset (see `with_bound_addr`).
    pub site_origin: String,
    site_origin_from_env: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A 256-bit random secret, hex.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The secret in `data_dir/name`, created (mode 0600) on first use.
fn kept_secret(data_dir: &Path, name: &str, prefix: &str) -> io::Result<String> {
    let path = data_dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => {
            let secret = format!("{prefix}{}", random_secret());
            write_private(&path, secret.as_bytes())?;
            Ok(secret)
        }
    }
}

pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

impl Config {
    pub fn from_env() -> io::Result<Config> {
        let addr: SocketAddr = env("VISA_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("VISA_ADDR: {e}")))?;
        let data_dir = PathBuf::from(env("VISA_DATA_DIR").unwrap_or_else(|| ".visa-local".into()));
        std::fs::create_dir_all(&data_dir)?;
        let site_dir = env("VISA_SITE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(default_site_dir);
        let admin_token = match env("VISA_ADMIN_TOKEN") {
            Some(t) => t,
            None => kept_secret(&data_dir, "admin-token", "adm_")?,
        };
        let webhook_secret = match env("PAYMENT_WEBHOOK_SECRET") {
            Some(s) => s,
            None => kept_secret(&data_dir, "webhook-secret", "whsec_")?,
        };
        let link_key = kept_secret(&data_dir, "link-key", "")?;
        let demo = env("VISA_DEMO")
            .map(|v| v != "0" && v != "false")
            .unwrap_or(true);
        let faults = crate::faults::Faults::from_env()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let retention = visa_core::retention::Retention::from_env()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let site_origin_from_env = env("SITE_ORIGIN").is_some();
        let site_origin = env("SITE_ORIGIN").unwrap_or_else(|| format!("http://{addr}"));
        Ok(Config {
            addr,
            data_dir,
            site_dir,
            admin_token,
            webhook_secret,
            link_key,
            demo,
            faults,
            retention,
            site_origin: site_origin.trim_end_matches('/').to_owned(),
            site_origin_from_env,
        })
    }

    /// The address actually bound (VISA_ADDR may ask for port 0).
    pub fn with_bound_addr(mut self, addr: SocketAddr) -> Config {
        self.addr = addr;
        if !self.site_origin_from_env {
            self.site_origin = format!("http://{addr}");
        }
        self
    }
}

/// `site/` of the repository: beside the working directory, or found from
/// this crate's source location when run from elsewhere in the repo.
fn default_site_dir() -> PathBuf {
    let here = PathBuf::from("site");
    if here.join("index.html").exists() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../site")
}
