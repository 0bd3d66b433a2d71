//! TLS with rustls (ring provider, TLS 1.3 only, ALPN [`ALPN`]): rustls configurations
//! from the TLS parts of a listener or an endpoint, and TLS failures explained in a user's
//! terms.
//!
//! | module | what it holds |
//! |---|---|
//! | [`pin`] | [`Fingerprint`] and the verifier of a client that pins its server's certificate |
//! | [`self_signed`] | the self-signed pair a listener generates on first start and keeps |
//!
//! A listener's identity is a certificate and key from PEM files, or a self-signed pair
//! ([`ServerIdentity`]); a client trusts a CA, or one pinned certificate ([`ServerTrust`]).
//!
//! Only mltools nodes talk to mltools nodes, so there is no TLS 1.2 to negotiate down to.
//! The crypto provider is named explicitly rather than taken from the process default, which
//! is ambiguous (and panics) when another crate in the build enables a second provider.

pub mod pin;
pub mod self_signed;

use std::io;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{AlertDescription, CertificateError, RootCertStore};

use crate::tcp::config::host_of;
use crate::tcp::{TcpConfigError, TlsClientConfig, TlsServerConfig};
pub use pin::{Fingerprint, FingerprintError, PinMismatch};

/// The application protocol both ends announce.
pub const ALPN: &[u8] = b"mltools/1";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn file_error(what: &'static str, path: &Path, reason: impl ToString) -> TcpConfigError {
    TcpConfigError::TlsFile {
        what,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn certificates(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TcpConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(what, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(what, path, e))?;
    if certs.is_empty() {
        return Err(file_error(what, path, "holds no PEM certificate"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TcpConfigError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| file_error("private key", path, e))
}

fn roots(what: &'static str, path: &Path) -> Result<Arc<RootCertStore>, TcpConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(what, path)? {
        roots.add(cert).map_err(|e| file_error(what, path, e))?;
    }
    Ok(Arc::new(roots))
}

/// Where a listener's certificate comes from: the checked form of [`TlsServerConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerIdentity<'a> {
    /// A certificate chain and its key, PEM files.
    Files {
        /// The chain, leaf first.
        cert: &'a Path,
        /// The key.
        key: &'a Path,
    },
    /// A self-signed pair in this directory, generated on first start.
    SelfSigned {
        /// The directory.
        dir: &'a Path,
    },
}

/// Whom a client trusts to be its server: the checked form of [`TlsClientConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTrust<'a> {
    /// Any certificate chaining to this CA (PEM) and valid for the server name.
    Ca(&'a Path),
    /// Exactly the certificate with this fingerprint, whatever its name or issuer.
    Pinned(Fingerprint),
}

impl TlsServerConfig {
    /// Which identity the keys choose: `cert` and `key`, or `self_signed`.
    ///
    /// # Errors
    /// [`TcpConfigError::TlsKeys`] when both or neither are set, or `cert` without `key`.
    pub fn identity(&self) -> Result<ServerIdentity<'_>, TcpConfigError> {
        match (&self.cert, &self.key, &self.self_signed) {
            (Some(cert), Some(key), None) => Ok(ServerIdentity::Files { cert, key }),
            (None, None, Some(dir)) => Ok(ServerIdentity::SelfSigned { dir }),
            (None, None, None) => Err(TcpConfigError::TlsKeys(
                "tls needs `cert` and `key` (PEM files), or `self_signed = \"DIR\"` (a pair \
                 generated on first start); it has neither",
            )),
            (_, _, Some(_)) => Err(TcpConfigError::TlsKeys(
                "tls has `self_signed` and `cert`/`key`: use one or the other",
            )),
            (Some(_), None, None) | (None, Some(_), None) => {
                Err(TcpConfigError::TlsKeys("tls needs both `cert` and `key`"))
            }
        }
    }
}

impl TlsClientConfig {
    /// An endpoint's TLS pinning the server's certificate by `fingerprint`.
    pub fn pinned(fingerprint: Fingerprint) -> Self {
        TlsClientConfig {
            ca: None,
            fingerprint: Some(fingerprint.to_string()),
            cert: None,
            key: None,
            server_name: None,
        }
    }

    /// Whom the keys choose to trust: `ca`, or `fingerprint`.
    ///
    /// # Errors
    /// [`TcpConfigError::TlsKeys`] when both or neither are set (or `cert` without `key`),
    /// [`TcpConfigError::Fingerprint`] for a malformed pin.
    pub fn trust(&self) -> Result<ServerTrust<'_>, TcpConfigError> {
        if self.cert.is_some() != self.key.is_some() {
            return Err(TcpConfigError::TlsKeys(
                "a client certificate needs both `cert` and `key`",
            ));
        }
        match (&self.ca, &self.fingerprint) {
            (Some(ca), None) => Ok(ServerTrust::Ca(ca)),
            (None, Some(text)) => match text.parse() {
                Ok(fingerprint) => Ok(ServerTrust::Pinned(fingerprint)),
                Err(error) => Err(TcpConfigError::Fingerprint {
                    value: text.clone(),
                    error,
                }),
            },
            (None, None) => Err(TcpConfigError::TlsKeys(
                "tls needs `ca` (the CA that signed the server's certificate) or \
                 `fingerprint = \"sha256:...\"` (the server's certificate, pinned); it has neither",
            )),
            (Some(_), Some(_)) => Err(TcpConfigError::TlsKeys(
                "tls has both `ca` and `fingerprint`: use one or the other",
            )),
        }
    }
}

/// A listener's rustls configuration, and the fingerprint of the certificate it presents.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The rustls configuration.
    pub config: Arc<rustls::ServerConfig>,
    /// The fingerprint clients may pin.
    pub fingerprint: Fingerprint,
}

/// A rustls server configuration for a listener on `listen`: its certificate from PEM files,
/// or its self-signed pair (loaded, or generated valid for `listen`'s host on first start).
/// Logs the certificate's fingerprint.
///
/// # Errors
/// A [`TcpConfigError`] naming the file that cannot be read or used, or keys that do not go
/// together.
pub fn server_config(config: &TlsServerConfig, listen: &str) -> Result<ServerTls, TcpConfigError> {
    let tls_error = |e: rustls::Error| TcpConfigError::Tls(e.to_string());
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error)?;
    let builder = match &config.client_ca {
        Some(ca) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(roots("client CA", ca)?, provider())
                    .build()
                    .map_err(|e| file_error("client CA", ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let (chain, key, cert_path, key_path) = match config.identity()? {
        ServerIdentity::Files { cert, key } => (
            certificates("certificate", cert)?,
            private_key(key)?,
            cert.to_owned(),
            key.to_owned(),
        ),
        ServerIdentity::SelfSigned { dir } => {
            let pair = self_signed::load_or_generate(dir, host_of(listen)?)?;
            (pair.chain, pair.key, pair.cert_path, pair.key_path)
        }
    };
    // `certificates` refuses a file without one, so there is always a leaf.
    let fingerprint = match chain.first() {
        Some(leaf) => Fingerprint::of_der(leaf),
        None => {
            return Err(file_error(
                "certificate",
                &cert_path,
                "holds no certificate",
            ));
        }
    };
    let mut server = builder
        .with_single_cert(chain, key)
        .map_err(|e| file_error("private key", &key_path, e))?;
    server.alpn_protocols = vec![ALPN.to_vec()];
    tracing::info!(
        %listen,
        certificate = %cert_path.display(),
        %fingerprint,
        "TLS certificate loaded; clients may pin its fingerprint"
    );
    Ok(ServerTls {
        config: Arc::new(server),
        fingerprint,
    })
}

/// A rustls client configuration: trusting a CA (PEM) or one pinned certificate, with this
/// client's certificate when one is configured.
///
/// # Errors
/// A [`TcpConfigError`] naming the file that cannot be read or used, keys that do not go
/// together, or a malformed pin.
pub fn client_config(
    config: &TlsClientConfig,
) -> Result<Arc<rustls::ClientConfig>, TcpConfigError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TcpConfigError::Tls(e.to_string()))?;
    let builder =
        match config.trust()? {
            ServerTrust::Ca(ca) => builder.with_root_certificates(roots("CA", ca)?),
            ServerTrust::Pinned(fingerprint) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(pin::PinnedServerVerifier::new(
                    fingerprint,
                    &provider,
                ))),
        };
    let mut client = match (&config.cert, &config.key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certificates("client certificate", cert)?, private_key(key)?)
            .map_err(|e| file_error("client certificate", cert, e))?,
        // `trust` refused a certificate without its key.
        _ => builder.with_no_client_auth(),
    };
    client.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Arc::new(client))
}

/// The name the server's certificate must be valid for: the configured one, or the host
/// (with a pinned certificate, only sent as SNI).
///
/// # Errors
/// A name that is neither a DNS name nor an IP address.
pub fn server_name(
    config: &TlsClientConfig,
    host: &str,
) -> Result<ServerName<'static>, TcpConfigError> {
    let name = config.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_owned())
        .map_err(|e| TcpConfigError::Tls(format!("`{name}` is not a valid server name: {e}")))
}

/// A TLS failure seen by a client, in a user's terms; `None` when `error` is not TLS's.
pub fn explain_client_error(error: &io::Error) -> Option<String> {
    let tls = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(match tls {
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if other.0.is::<PinMismatch>() =>
        {
            other.0.to_string()
        }
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the server's certificate is not trusted: it does not chain to our CA ({tls})"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the server's certificate is not valid for the name dialled ({tls})")
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the server's certificate has expired ({tls})")
            }
            _ => format!("the server's certificate was rejected ({tls})"),
        },
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate, and none is configured".to_owned()
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::AccessDenied
            // What a server answers when our certificate names its CA as issuer but another
            // key signed it (another CA of the same name).
            | AlertDescription::DecryptError),
        ) => format!("the server did not accept our client certificate ({alert:?})"),
        other => other.to_string(),
    })
}

/// A TLS failure seen by a server, for its log line.
pub fn explain_server_error(error: &io::Error) -> String {
    let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return error.to_string();
    };
    match tls {
        rustls::Error::NoCertificatesPresented => {
            "the client presented no certificate, and one is required".to_owned()
        }
        rustls::Error::InvalidCertificate(_) => {
            format!("the client's certificate was rejected ({tls})")
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            // What a pinning client answers a certificate that is not the one it pins.
            | AlertDescription::CertificateUnknown),
        ) => format!("the client does not trust our certificate ({alert:?})"),
        other => other.to_string(),
    }
}
