//! The operator's tool for the seal's certificates (runbook: infra/README.md,
//! "Seal certificates").
//!
//!   visa-pki csca --out DIR [--days N]
//!       a new country-signing CA, on the offline machine: DIR/csca-key.pem
//!       (mode 0600, never leaves it) and DIR/csca.pem
//!   visa-pki issue --csca DIR --request FILE --key-id KID [--days N]
//!       the visa-signer certificate (PEM, stdout), on the offline machine;
//!       its serial number is the seal's certificate reference for KID
//!
//! The request comes from the portal itself (`POST
//! /api/admin/seal-certificate-requests`): only render-visa may sign with
//! the visa key, which never leaves KMS.

use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage:
  visa-pki csca --out DIR [--days 3650]
  visa-pki issue --csca DIR --request FILE --key-id KID [--days 1100]";

type Failure = Box<dyn std::error::Error>;

fn options(args: &[String]) -> Result<HashMap<String, String>, Failure> {
    let mut out = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        out.insert(name.to_owned(), value.clone());
    }
    Ok(out)
}

fn need<'a>(opts: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Failure> {
    opts.get(name)
        .map(String::as_str)
        .ok_or_else(|| format!("--{name} is required").into())
}

fn days(opts: &HashMap<String, String>, default: i64) -> Result<i64, Failure> {
    match opts.get("days") {
        None => Ok(default),
        Some(d) => match d.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("--days {d}: a positive number of days").into()),
        },
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

fn csca(opts: &HashMap<String, String>) -> Result<(), Failure> {
    let dir = PathBuf::from(need(opts, "out")?);
    std::fs::create_dir_all(&dir)?;
    let key = SigningKey::random(&mut rand::rngs::OsRng);
    let cert = visa_pki::new_csca(&key, chrono::Utc::now(), days(opts, 3650)?)?;
    // create_new: an existing CA is never overwritten.
    write_private(
        &dir.join("csca-key.pem"),
        key.to_pkcs8_pem(LineEnding::LF)?.as_bytes(),
    )?;
    std::fs::write(dir.join("csca.pem"), visa_pki::to_pem(&cert)?)?;
    eprintln!("CSCA written to {}", dir.display());
    Ok(())
}

fn issue(opts: &HashMap<String, String>) -> Result<(), Failure> {
    let dir = PathBuf::from(need(opts, "csca")?);
    let key = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(dir.join("csca-key.pem"))?)?;
    let csca = visa_pki::from_pem(&std::fs::read_to_string(dir.join("csca.pem"))?)?;
    let request = visa_pki::request_from_pem(&std::fs::read_to_string(need(opts, "request")?)?)?;
    // The key id as the function publishes it: without an ARN's prefix.
    let key_id = need(opts, "key-id")?;
    let kid = key_id.rsplit('/').next().unwrap_or(key_id);
    let serial = visa_pki::serial_for_key(kid);
    let cert = visa_pki::issue_signer(
        &key,
        &csca,
        &request,
        &serial,
        chrono::Utc::now(),
        days(opts, 1100)?,
    )?;
    print!("{}", visa_pki::to_pem(&cert)?);
    eprintln!(
        "issued serial {} (the seals' certificate reference for {kid})",
        visa_pki::certificate_reference(kid)
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((command, rest)) => match options(rest) {
            Err(e) => Err(e),
            Ok(opts) => match command.as_str() {
                "csca" => csca(&opts),
                "issue" => issue(&opts),
                _ => Err(USAGE.into()),
            },
        },
        None => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("visa-pki: {e}");
            ExitCode::FAILURE
        }
    }
}
