//! TLS with rustls (ring provider, TLS 1.3 only, ALPN [`ALPN`]): rustls configurations
//! from PEM files, and TLS failures explained in a user's terms.
//!
//! Only mltools nodes talk to mltools nodes, so there is no TLS 1.2 to negotiate down to.
//! The crypto provider is named explicitly rather than taken from the process default, which
//! is ambiguous (and panics) when another crate in the build enables a second provider.

use std::io;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{AlertDescription, CertificateError, RootCertStore};

use crate::tcp::{TcpConfigError, TlsClientConfig, TlsServerConfig};

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

/// A rustls server configuration from PEM files.
///
/// # Errors
/// A [`TcpConfigError`] naming the file that cannot be read or used.
pub fn server_config(
    config: &TlsServerConfig,
) -> Result<Arc<rustls::ServerConfig>, TcpConfigError> {
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
    let chain = certificates("certificate", &config.cert)?;
    let mut server = builder
        .with_single_cert(chain, private_key(&config.key)?)
        .map_err(|e| file_error("private key", &config.key, e))?;
    server.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Arc::new(server))
}

/// A rustls client configuration from PEM files.
///
/// # Errors
/// A [`TcpConfigError`] naming the file that cannot be read or used, or a certificate
/// without its key.
pub fn client_config(
    config: &TlsClientConfig,
) -> Result<Arc<rustls::ClientConfig>, TcpConfigError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TcpConfigError::Tls(e.to_string()))?
        .with_root_certificates(roots("CA", &config.ca)?);
    let mut client = match (&config.cert, &config.key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certificates("client certificate", cert)?, private_key(key)?)
            .map_err(|e| file_error("client certificate", cert, e))?,
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(TcpConfigError::Tls(
                "a client certificate needs both `cert` and `key`".into(),
            ));
        }
    };
    client.alpn_protocols = vec![ALPN.to_vec()];
    Ok(Arc::new(client))
}

/// The name the server's certificate must be valid for: the configured one, or the host.
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
            alert @ (AlertDescription::UnknownCA | AlertDescription::BadCertificate),
        ) => format!("the client does not trust our certificate ({alert:?})"),
        other => other.to_string(),
    }
}
