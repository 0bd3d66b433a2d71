//! A self-signed certificate and its key kept in a directory (`tls = { self_signed = "DIR" }`):
//! generated on a listener's first start, loaded on every later one, so its fingerprint
//! (what clients pin) survives restarts.
//!
//! | file | what |
//! |---|---|
//! | `DIR/cert.pem` | the certificate, valid for the listen host, `localhost` and `127.0.0.1` |
//! | `DIR/key.pem` | its private key (PKCS#8), mode 0600 on Unix |
//!
//! An existing file is never overwritten: a pair with one half missing, or a file that does
//! not parse, is a configuration error naming the file, and the operator decides (removing
//! both files makes a new pair, whose new fingerprint every client must be given).

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::pin::Fingerprint;
use super::{certificates, file_error, private_key};
use crate::tcp::TcpConfigError;

/// The certificate's file name in the directory.
pub const CERT_FILE: &str = "cert.pem";
/// The key's file name in the directory.
pub const KEY_FILE: &str = "key.pem";

/// A pair loaded from, or just written to, its directory.
pub(crate) struct SelfSigned {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
    pub(crate) cert_path: PathBuf,
    pub(crate) key_path: PathBuf,
}

/// Loads the pair in `dir`, or makes one valid for `listen_host` there when the directory
/// holds neither file.
pub(crate) fn load_or_generate(
    dir: &Path,
    listen_host: &str,
) -> Result<SelfSigned, TcpConfigError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let exists = |what, path: &Path| path.try_exists().map_err(|e| file_error(what, path, e));
    let half = |present: &Path, missing: &Path| TcpConfigError::SelfSigned {
        dir: dir.to_owned(),
        reason: format!(
            "{} exists but {} does not; restore it, or remove {} to make a new pair \
             (clients must then pin its new fingerprint)",
            present.display(),
            missing.display(),
            present.display()
        ),
    };
    match (
        exists("certificate", &cert_path)?,
        exists("private key", &key_path)?,
    ) {
        (true, true) => {
            warn_if_readable_by_others(&key_path);
            Ok(SelfSigned {
                chain: certificates("certificate", &cert_path)?,
                key: private_key(&key_path)?,
                cert_path,
                key_path,
            })
        }
        (false, false) => generate(dir, listen_host, cert_path, key_path),
        (true, false) => Err(half(&cert_path, &key_path)),
        (false, true) => Err(half(&key_path, &cert_path)),
    }
}

/// The names the certificate is valid for: the listen host (unless it is a wildcard
/// address), `localhost` and `127.0.0.1`.
fn names(listen_host: &str) -> Vec<String> {
    let mut names = Vec::with_capacity(3);
    let wildcard = listen_host
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    if !wildcard && !listen_host.is_empty() {
        names.push(listen_host.to_owned());
    }
    for name in ["localhost", "127.0.0.1"] {
        if !names.iter().any(|known| known.eq_ignore_ascii_case(name)) {
            names.push(name.to_owned());
        }
    }
    names
}

fn generate(
    dir: &Path,
    listen_host: &str,
    cert_path: PathBuf,
    key_path: PathBuf,
) -> Result<SelfSigned, TcpConfigError> {
    let failed = |e: rcgen::Error| TcpConfigError::SelfSigned {
        dir: dir.to_owned(),
        reason: format!("cannot make the certificate: {e}"),
    };
    let mut params = CertificateParams::new(names(listen_host)).map_err(failed)?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("mltools {listen_host}"));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    create_dir(dir)?;
    // The key first: a crash in between leaves a key without a certificate, which the next
    // start reports instead of silently replacing.
    write_new(&key_path, "private key", &key.serialize_pem(), true)?;
    write_new(&cert_path, "certificate", &cert.pem(), false)?;
    let fingerprint = Fingerprint::of_der(cert.der());
    tracing::info!(
        dir = %dir.display(),
        %fingerprint,
        "generated a self-signed TLS certificate; clients pin its fingerprint"
    );
    Ok(SelfSigned {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        cert_path,
        key_path,
    })
}

/// Creates `dir` (and its parents), owner-only on Unix when it is new.
fn create_dir(dir: &Path) -> Result<(), TcpConfigError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| TcpConfigError::SelfSigned {
        dir: dir.to_owned(),
        reason: format!("cannot create the directory: {e}"),
    })
}

/// Writes a file that must not exist yet; a private one is created readable by its owner
/// only (never briefly readable by others).
fn write_new(
    path: &Path,
    what: &'static str,
    text: &str,
    private: bool,
) -> Result<(), TcpConfigError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(path)
        .map_err(|e| file_error(what, path, format!("cannot create it: {e}")))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| file_error(what, path, format!("cannot write it: {e}")))
}

/// A key others can read is still used (refusing to start would be worse), but said.
fn warn_if_readable_by_others(key_path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(metadata) = std::fs::metadata(key_path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    key = %key_path.display(),
                    mode = format!("{mode:o}"),
                    "the self-signed TLS key is readable by other users; chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = key_path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_listen_host_localhost_and_loopback() {
        assert_eq!(names("0.0.0.0"), ["localhost", "127.0.0.1"]);
        assert_eq!(names("::"), ["localhost", "127.0.0.1"]);
        assert_eq!(names("127.0.0.1"), ["127.0.0.1", "localhost"]);
        assert_eq!(
            names("models.example"),
            ["models.example", "localhost", "127.0.0.1"]
        );
    }

    #[test]
    fn a_pair_is_made_once_then_loaded_and_a_half_pair_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pair_dir = dir.path().join("tls");
        let made = load_or_generate(&pair_dir, "127.0.0.1").unwrap();
        let loaded = load_or_generate(&pair_dir, "127.0.0.1").unwrap();
        assert_eq!(made.chain, loaded.chain);
        assert_eq!(made.key.secret_der(), loaded.key.secret_der());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |path: PathBuf| std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode(pair_dir.join(KEY_FILE)) & 0o777, 0o600);
            assert_eq!(mode(pair_dir.clone()) & 0o777, 0o700);
        }
        std::fs::remove_file(pair_dir.join(CERT_FILE)).unwrap();
        let error = load_or_generate(&pair_dir, "127.0.0.1").err().unwrap();
        assert!(
            matches!(error, TcpConfigError::SelfSigned { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("key.pem exists but"), "{error}");
        assert!(pair_dir.join(KEY_FILE).exists(), "the key is kept");
    }
}
