//! A cluster's certificates: one CA, a certificate per node and one for clients, all PEM
//! files in one directory (`mltools certs init --dir D`).
//!
//! | file | what |
//! |---|---|
//! | `ca.pem`, `ca.key` | the cluster CA; every node trusts `ca.pem` (`tls.ca`, `tls.client_ca`) |
//! | `NODE.pem`, `NODE.key` | a node's certificate, valid for the hosts given (default `127.0.0.1`, `localhost`) |
//! | `client.pem`, `client.key` | a client certificate for mutual TLS |
//!
//! Keys are written with mode 0600 on Unix. Existing files are never overwritten.
//!
//! Without a CA, a listener can instead keep a self-signed pair that clients pin by its
//! fingerprint (`tls = { self_signed = "DIR" }`, see the `tls::self_signed` module).

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use std::path::{Path, PathBuf};

/// Why certificates could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// A file exists already (certificates are never overwritten).
    #[error("{0} exists already; remove it, or use another directory")]
    Exists(PathBuf),
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A name is not usable in a certificate or as a file name.
    #[error("`{name}` cannot be used: {reason}")]
    BadName {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The certificate library refused.
    #[error("cannot make the certificate for {what}: {source}")]
    Generate {
        /// Which certificate.
        what: String,
        /// Why.
        source: rcgen::Error,
    },
}

/// The files written by [`init`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The CA certificate.
    pub ca: PathBuf,
    /// Each node's `(certificate, key)`, in the order asked.
    pub nodes: Vec<(PathBuf, PathBuf)>,
    /// The client `(certificate, key)`.
    pub client: (PathBuf, PathBuf),
}

/// Options of [`init_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CertOptions {
    /// The last day (UTC) the node and client certificates are valid, `(year, month, day)`;
    /// rcgen's default (year 4096) when `None`.
    pub expires: Option<(i32, u8, u8)>,
}

impl CertOptions {
    /// Parses an expiry date `YYYY-MM-DD`.
    ///
    /// # Errors
    /// Text that is not such a date.
    pub fn expiring(date: &str) -> Result<CertOptions, CertError> {
        let bad = || CertError::BadName {
            name: date.to_owned(),
            reason: "an expiry date is YYYY-MM-DD".into(),
        };
        let mut parts = date.split('-');
        let (Some(year), Some(month), Some(day), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u8 = month.parse().map_err(|_| bad())?;
        let day: u8 = day.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(bad());
        }
        Ok(CertOptions {
            expires: Some((year, month, day)),
        })
    }
}

/// Makes a CA, a certificate per node valid for `hosts`, and a client certificate, in
/// `dir` (created when missing).
///
/// # Errors
/// A file that exists already, a bad node name or host, an unwritable directory.
pub fn init(dir: &Path, nodes: &[String], hosts: &[String]) -> Result<CertFiles, CertError> {
    init_with(dir, nodes, hosts, &CertOptions::default())
}

/// As [`init`], with options (an expiry date).
///
/// # Errors
/// As [`init`].
pub fn init_with(
    dir: &Path,
    nodes: &[String],
    hosts: &[String],
    options: &CertOptions,
) -> Result<CertFiles, CertError> {
    for node in nodes {
        if node.is_empty()
            || node == "ca"
            || node == "client"
            || !node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(CertError::BadName {
                name: node.clone(),
                reason: "node names are letters, digits, - and _ (and not `ca` or `client`)".into(),
            });
        }
    }
    let mut files: Vec<&str> = vec!["ca", "client"];
    files.extend(nodes.iter().map(String::as_str));
    for name in &files {
        for extension in ["pem", "key"] {
            let path = dir.join(format!("{name}.{extension}"));
            if path.exists() {
                return Err(CertError::Exists(path));
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| CertError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let authority = authority()?;
    let ca = write(dir, "ca.pem", &authority.pem())?;
    write_key(dir, "ca.key", &authority.key().serialize_pem())?;
    let mut node_files = Vec::with_capacity(nodes.len());
    for node in nodes {
        let usage = ExtendedKeyUsagePurpose::ServerAuth;
        let (cert, key) = leaf(node, hosts, &authority, usage, options)?;
        node_files.push((
            write(dir, &format!("{node}.pem"), &cert)?,
            write_key(dir, &format!("{node}.key"), &key)?,
        ));
    }
    let names = ["client.mltools".to_owned()];
    let usage = ExtendedKeyUsagePurpose::ClientAuth;
    let (cert, key) = leaf("client", &names, &authority, usage, options)?;
    let client = (
        write(dir, "client.pem", &cert)?,
        write_key(dir, "client.key", &key)?,
    );
    Ok(CertFiles {
        ca,
        nodes: node_files,
        client,
    })
}

fn authority() -> Result<CertifiedIssuer<'static, KeyPair>, CertError> {
    let failed = |source| CertError::Generate {
        what: "the CA".into(),
        source,
    };
    let mut params = CertificateParams::new(Vec::new()).map_err(failed)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "mltools cluster CA");
    let key = KeyPair::generate().map_err(failed)?;
    CertifiedIssuer::self_signed(params, key).map_err(failed)
}

/// A leaf certificate and its key, PEM.
fn leaf(
    name: &str,
    hosts: &[String],
    authority: &CertifiedIssuer<'static, KeyPair>,
    usage: ExtendedKeyUsagePurpose,
    options: &CertOptions,
) -> Result<(String, String), CertError> {
    let failed = |source| CertError::Generate {
        what: format!("`{name}`"),
        source,
    };
    let mut params = CertificateParams::new(hosts.to_vec()).map_err(failed)?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    if let Some((year, month, day)) = options.expires {
        params.not_after = rcgen::date_time_ymd(year, month, day);
        // A certificate must start before it ends: back-date the start a year.
        params.not_before = rcgen::date_time_ymd(year - 1, month, day.min(28));
    }
    let key = KeyPair::generate().map_err(failed)?;
    let cert = params.signed_by(&key, authority).map_err(failed)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf, CertError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| CertError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Writes a private key readable by its owner only.
fn write_key(dir: &Path, name: &str, text: &str) -> Result<PathBuf, CertError> {
    let path = write(dir, name, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let owner_only = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(&path, owner_only).map_err(|source| CertError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_s_files_are_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let files = init(dir.path(), &["main".into(), "models".into()], &hosts).unwrap();
        assert!(
            std::fs::read_to_string(&files.ca)
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert_eq!(files.nodes.len(), 2);
        assert!(files.nodes[1].0.ends_with("models.pem"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files.client.1)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = init(dir.path(), &["main".into()], &hosts).unwrap_err();
        assert!(
            again.to_string().contains("ca.pem exists already"),
            "{again}"
        );
        let bad = init(&dir.path().join("x"), &["../up".into()], &hosts).unwrap_err();
        assert!(CertOptions::expiring("2001-02-30x").is_err());
        assert_eq!(
            CertOptions::expiring("2001-01-31").unwrap().expires,
            Some((2001, 1, 31))
        );
        assert!(bad.to_string().contains("`../up`"), "{bad}");
    }
}
