//! Configuration of the TCP transport: a listener ([`TcpServerConfig`]) and an endpoint a
//! client dials ([`TcpEndpoint`]), with their TLS parts. Plain serde data, unknown keys
//! refused; every default is written on its field and applied by the `new` constructors and
//! by serde alike.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::codec::Codec;
use crate::remote::{LinkOptions, Token};

/// The default frame limit, both ways: 64 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: u64 = 64 * 1024 * 1024;
/// The smallest frame limit accepted: a limit below it could not carry an error answer.
pub const MIN_MAX_FRAME_BYTES: u64 = 4 * 1024;

/// A TCP listener that serves a node's services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpServerConfig {
    /// Where to listen, `host:port`; port 0 picks a free port.
    pub listen: String,
    /// The largest frame accepted, and sent (the client's limit may lower the latter).
    /// Default [`DEFAULT_MAX_FRAME_BYTES`]; at least [`MIN_MAX_FRAME_BYTES`], at most 4 GiB - 1.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: u64,
    /// Connections served at once; more are closed on arrival with a log line. Default 256.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Requests in flight on one connection; more are answered `Overloaded`. Default 1024.
    #[serde(default = "default_max_requests_per_connection")]
    pub max_requests_per_connection: usize,
    /// How long a new connection may take to finish TLS and the hello before it is
    /// closed, in milliseconds. Default 5000.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// Connections that have not finished TLS and the hello, at once; more are closed on
    /// arrival with a log line. Counted apart from `max_connections`, so silent connections
    /// cannot take the slots of admitted ones. Default 64.
    #[serde(default = "default_max_pending_handshakes")]
    pub max_pending_handshakes: usize,
    /// Of the pending connections, how many one IP address may hold. Default 8.
    #[serde(default = "default_max_pending_per_ip")]
    pub max_pending_per_ip: usize,
    /// How long an admitted connection with no call in flight may send nothing before it is
    /// closed, in milliseconds (the client redials when it next calls). Default 300000.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// How long a frame, once its first byte has arrived, may take to arrive whole, in
    /// milliseconds; past it the connection is closed. Default 30000.
    #[serde(default = "default_frame_timeout_ms")]
    pub frame_timeout_ms: u64,
    /// The bytes of requests read and not yet answered, over all connections of this
    /// listener; at the budget, connections stop reading until answers free some. A request
    /// larger than the budget is refused as an oversized frame. Default 256 MiB.
    #[serde(default = "default_max_in_flight_request_bytes")]
    pub max_in_flight_request_bytes: u64,
    /// The longest deadline a request may carry, in milliseconds; a longer one is cut to
    /// it (long work is a job). Default 3600000 (one hour).
    #[serde(default = "default_max_deadline_ms")]
    pub max_deadline_ms: u64,
    /// Failed authentications (missing or wrong token) from one IP address within
    /// `auth_backoff_ms` after which its connections are refused at arrival. Default 5.
    #[serde(default = "default_max_auth_failures")]
    pub max_auth_failures: u32,
    /// The window failed authentications are counted in, and how long an address that
    /// reached `max_auth_failures` is then refused, in milliseconds. Default 60000.
    #[serde(default = "default_auth_backoff_ms")]
    pub auth_backoff_ms: u64,
    /// The pre-shared token clients must present, at least [`MIN_TOKEN_BYTES`] bytes; none
    /// required when absent.
    #[serde(default)]
    pub token: Option<Token>,
    /// TLS; plaintext when absent.
    #[serde(default)]
    pub tls: Option<TlsServerConfig>,
    /// Allows plaintext on an address that is not loopback. Default false.
    #[serde(default)]
    pub insecure: bool,
}

/// The shortest pre-shared token accepted, in bytes.
pub const MIN_TOKEN_BYTES: usize = 16;

/// The TLS side of a listener: its certificate (`cert` and `key`, or `self_signed`), and
/// optionally the CA client certificates must chain to (mutual TLS). [`identity`] checks
/// that exactly one identity is chosen.
///
/// [`identity`]: TlsServerConfig::identity
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// The server's certificate chain, PEM, leaf first; with `key`, instead of
    /// `self_signed`.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The server's private key, PEM (PKCS#8, PKCS#1 or SEC1); with `cert`.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// A directory holding a self-signed certificate and key (`cert.pem`, `key.pem`),
    /// generated there on first start and loaded on every later one, so the fingerprint
    /// clients pin stays the same; instead of `cert` and `key`. See
    /// [`tls::self_signed`](crate::tls::self_signed).
    #[serde(default)]
    pub self_signed: Option<PathBuf>,
    /// When set, clients must present a certificate signed by this CA (PEM); a client
    /// without one is refused during the TLS handshake.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

impl TlsServerConfig {
    /// A certificate chain and its key from PEM files, no client certificate required.
    pub fn files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        TlsServerConfig {
            cert: Some(cert.into()),
            key: Some(key.into()),
            ..TlsServerConfig::default()
        }
    }

    /// A self-signed pair kept in `dir`, no client certificate required.
    pub fn self_signed(dir: impl Into<PathBuf>) -> Self {
        TlsServerConfig {
            self_signed: Some(dir.into()),
            ..TlsServerConfig::default()
        }
    }

    /// Requires client certificates signed by `ca` (mutual TLS).
    pub fn with_client_ca(mut self, ca: impl Into<PathBuf>) -> Self {
        self.client_ca = Some(ca.into());
        self
    }
}

/// Where a service is reached over TCP, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpEndpoint {
    /// The server's `host:port`.
    pub address: String,
    /// The codec of the calls. Default [`Codec::Postcard`].
    #[serde(default)]
    pub codec: Codec,
    /// The largest frame accepted, and sent (the server's limit may lower the latter).
    /// Default [`DEFAULT_MAX_FRAME_BYTES`].
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: u64,
    /// The pre-shared token to present, if the server requires one; at least
    /// [`MIN_TOKEN_BYTES`] bytes.
    #[serde(default)]
    pub token: Option<Token>,
    /// TLS; plaintext when absent.
    #[serde(default)]
    pub tls: Option<TlsClientConfig>,
    /// Allows plaintext to an address that is not loopback. Default false.
    #[serde(default)]
    pub insecure: bool,
    /// How long a TCP connect may take, in milliseconds. A call made before the first
    /// connection waits for it at most this plus `handshake_timeout_ms`. Default 3000.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long TLS and the hello may take, in milliseconds. Default 5000.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// The pause before the first redial after a failure, in milliseconds; doubled after
    /// each failure. Default 50.
    #[serde(default = "default_backoff_initial_ms")]
    pub backoff_initial_ms: u64,
    /// The longest pause between redials, in milliseconds. Default 2000.
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
}

/// The TLS side of an endpoint: whom to trust (the CA that signed the server's
/// certificate, or that certificate's pinned fingerprint), and optionally this client's own
/// certificate for mutual TLS. [`trust`] checks that exactly one is chosen.
///
/// [`trust`]: TlsClientConfig::trust
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsClientConfig {
    /// The CA certificate(s) the server's certificate must chain to, PEM; instead of
    /// `fingerprint`.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// The server's certificate, pinned: `sha256:<64 hex digits>`, the SHA-256 of its DER
    /// (what `mltools certs fingerprint` prints and the server logs at start); instead of
    /// `ca`. Only that certificate is accepted, whatever its name, issuer or dates.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// This client's certificate chain, PEM, for servers that require one.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// This client's private key, PEM; required with `cert`.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// The name the server's certificate must be valid for; the address's host when absent.
    /// With `fingerprint`, only sent (SNI), never checked.
    #[serde(default)]
    pub server_name: Option<String>,
}

impl TlsClientConfig {
    /// Trusts servers whose certificate chains to `ca` (PEM); no client certificate.
    pub fn ca(ca: impl Into<PathBuf>) -> Self {
        TlsClientConfig {
            ca: Some(ca.into()),
            ..TlsClientConfig::default()
        }
    }

    /// Presents this client certificate and key (PEM) to servers that require one.
    pub fn with_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.cert = Some(cert.into());
        self.key = Some(key.into());
        self
    }
}

pub(crate) fn default_max_frame_bytes() -> u64 {
    DEFAULT_MAX_FRAME_BYTES
}
pub(crate) fn default_max_connections() -> usize {
    256
}
pub(crate) fn default_max_requests_per_connection() -> usize {
    1024
}
pub(crate) fn default_handshake_timeout_ms() -> u64 {
    5000
}
pub(crate) fn default_max_pending_handshakes() -> usize {
    64
}
pub(crate) fn default_max_pending_per_ip() -> usize {
    8
}
pub(crate) fn default_idle_timeout_ms() -> u64 {
    300_000
}
pub(crate) fn default_frame_timeout_ms() -> u64 {
    30_000
}
pub(crate) fn default_max_in_flight_request_bytes() -> u64 {
    256 * 1024 * 1024
}
pub(crate) fn default_max_deadline_ms() -> u64 {
    60 * 60 * 1000
}
pub(crate) fn default_max_auth_failures() -> u32 {
    5
}
pub(crate) fn default_auth_backoff_ms() -> u64 {
    60_000
}
pub(crate) fn default_connect_timeout_ms() -> u64 {
    3000
}
pub(crate) fn default_backoff_initial_ms() -> u64 {
    50
}
pub(crate) fn default_backoff_max_ms() -> u64 {
    2000
}

impl TcpServerConfig {
    /// A plaintext listener on `listen` with every default.
    pub fn new(listen: impl Into<String>) -> Self {
        TcpServerConfig {
            listen: listen.into(),
            max_frame_bytes: default_max_frame_bytes(),
            max_connections: default_max_connections(),
            max_requests_per_connection: default_max_requests_per_connection(),
            handshake_timeout_ms: default_handshake_timeout_ms(),
            max_pending_handshakes: default_max_pending_handshakes(),
            max_pending_per_ip: default_max_pending_per_ip(),
            idle_timeout_ms: default_idle_timeout_ms(),
            frame_timeout_ms: default_frame_timeout_ms(),
            max_in_flight_request_bytes: default_max_in_flight_request_bytes(),
            max_deadline_ms: default_max_deadline_ms(),
            max_auth_failures: default_max_auth_failures(),
            auth_backoff_ms: default_auth_backoff_ms(),
            token: None,
            tls: None,
            insecure: false,
        }
    }

    /// Checks the numbers, and that the TLS keys choose one identity.
    ///
    /// # Errors
    /// A [`TcpConfigError`] naming the field and its allowed range, or the TLS keys.
    pub fn check(&self) -> Result<(), TcpConfigError> {
        self.hardening().check()?;
        check_token("token", self.token.as_ref())?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            tls.identity()?;
        }
        Ok(())
    }

    pub(crate) fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }

    pub(crate) fn hardening(&self) -> Hardening {
        hardening_of!(self)
    }
}

/// The [`Hardening`] of a listener config: TCP's and QUIC's name these keys alike, so one
/// list gathers them for both.
macro_rules! hardening_of {
    ($config:expr) => {
        $crate::tcp::config::Hardening {
            max_frame_bytes: $config.max_frame_bytes,
            max_connections: $config.max_connections,
            max_requests_per_connection: $config.max_requests_per_connection,
            handshake_timeout_ms: $config.handshake_timeout_ms,
            max_pending_handshakes: $config.max_pending_handshakes,
            max_pending_per_ip: $config.max_pending_per_ip,
            idle_timeout_ms: $config.idle_timeout_ms,
            frame_timeout_ms: $config.frame_timeout_ms,
            max_in_flight_request_bytes: $config.max_in_flight_request_bytes,
            max_deadline_ms: $config.max_deadline_ms,
            max_auth_failures: $config.max_auth_failures,
            auth_backoff_ms: $config.auth_backoff_ms,
        }
    };
}
pub(crate) use hardening_of;

/// What both listeners (TCP and QUIC) configure alike against hostile peers, gathered so
/// one check and one set of mechanisms serve both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hardening {
    pub(crate) max_frame_bytes: u64,
    pub(crate) max_connections: usize,
    pub(crate) max_requests_per_connection: usize,
    pub(crate) handshake_timeout_ms: u64,
    pub(crate) max_pending_handshakes: usize,
    pub(crate) max_pending_per_ip: usize,
    pub(crate) idle_timeout_ms: u64,
    pub(crate) frame_timeout_ms: u64,
    pub(crate) max_in_flight_request_bytes: u64,
    pub(crate) max_deadline_ms: u64,
    pub(crate) max_auth_failures: u32,
    pub(crate) auth_backoff_ms: u64,
}

/// The longest timeout accepted for the hardening durations: one day.
const MAX_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

impl Hardening {
    /// Checks every number against its range, naming the key; the listeners' own keys are
    /// checked after these.
    pub(crate) fn check(&self) -> Result<(), OutOfRange> {
        check_frame_limit(self.max_frame_bytes)?;
        at_least_one("max_connections", self.max_connections as u64)?;
        at_least_one(
            "max_requests_per_connection",
            self.max_requests_per_connection as u64,
        )?;
        at_least_one("handshake_timeout_ms", self.handshake_timeout_ms)?;
        at_least_one("max_pending_handshakes", self.max_pending_handshakes as u64)?;
        within(
            "max_pending_per_ip",
            self.max_pending_per_ip as u64,
            1,
            self.max_pending_handshakes as u64,
        )?;
        within("idle_timeout_ms", self.idle_timeout_ms, 1, MAX_TIMEOUT_MS)?;
        within("frame_timeout_ms", self.frame_timeout_ms, 1, MAX_TIMEOUT_MS)?;
        within(
            "max_in_flight_request_bytes",
            self.max_in_flight_request_bytes,
            MIN_MAX_FRAME_BYTES,
            u64::from(u32::MAX),
        )?;
        within("max_deadline_ms", self.max_deadline_ms, 1, MAX_TIMEOUT_MS)?;
        at_least_one("max_auth_failures", u64::from(self.max_auth_failures))?;
        within("auth_backoff_ms", self.auth_backoff_ms, 1, MAX_TIMEOUT_MS)?;
        Ok(())
    }

    pub(crate) fn admission_limits(&self) -> crate::remote::admission::AdmissionLimits {
        crate::remote::admission::AdmissionLimits {
            max_pending: self.max_pending_handshakes,
            max_pending_per_ip: self.max_pending_per_ip,
            max_admitted: self.max_connections,
            max_auth_failures: self.max_auth_failures,
            auth_backoff: Duration::from_millis(self.auth_backoff_ms),
        }
    }
}

/// Checks a number against an inclusive range.
pub(crate) fn within(
    field: &'static str,
    value: u64,
    min: u64,
    max: u64,
) -> Result<(), OutOfRange> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

/// Checks a token's length: at least [`MIN_TOKEN_BYTES`]. `field` names the key in the
/// error.
///
/// # Errors
/// [`TcpConfigError::TokenTooShort`].
pub fn check_token(field: &'static str, token: Option<&Token>) -> Result<(), TcpConfigError> {
    match token {
        Some(token) if token.len() < MIN_TOKEN_BYTES => Err(TcpConfigError::TokenTooShort {
            field,
            len: token.len(),
            min: MIN_TOKEN_BYTES,
        }),
        _ => Ok(()),
    }
}

impl TcpEndpoint {
    /// A plaintext endpoint at `address` with every default.
    pub fn new(address: impl Into<String>) -> Self {
        TcpEndpoint {
            address: address.into(),
            codec: Codec::default(),
            max_frame_bytes: default_max_frame_bytes(),
            token: None,
            tls: None,
            insecure: false,
            connect_timeout_ms: default_connect_timeout_ms(),
            handshake_timeout_ms: default_handshake_timeout_ms(),
            backoff_initial_ms: default_backoff_initial_ms(),
            backoff_max_ms: default_backoff_max_ms(),
        }
    }

    /// Checks the numbers, that the TLS keys choose whom to trust (and a pin is well-formed),
    /// and that an IP address given literally may be dialled in plaintext (a host name is
    /// checked once resolved, at each dial).
    ///
    /// # Errors
    /// A [`TcpConfigError`] naming the field, the TLS keys, or the address.
    pub fn check(&self) -> Result<(), TcpConfigError> {
        check_frame_limit(self.max_frame_bytes)?;
        at_least_one("connect_timeout_ms", self.connect_timeout_ms)?;
        at_least_one("handshake_timeout_ms", self.handshake_timeout_ms)?;
        at_least_one("backoff_initial_ms", self.backoff_initial_ms)?;
        at_least_one("backoff_max_ms", self.backoff_max_ms)?;
        check_token("token", self.token.as_ref())?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            tls.trust()?;
        }
        let host = host_of(&self.address)?;
        if let Ok(ip) = host.parse::<IpAddr>() {
            check_plaintext(&self.address, ip, self.tls.is_some(), self.insecure)?;
        }
        Ok(())
    }

    pub(crate) fn link_options(&self) -> LinkOptions {
        LinkOptions::from_millis(
            self.connect_timeout_ms,
            self.handshake_timeout_ms,
            self.backoff_initial_ms,
            self.backoff_max_ms,
        )
    }
}

/// A TCP configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TcpConfigError {
    /// Plaintext on an address that is not loopback, without `insecure = true`.
    #[error(
        "refusing plaintext TCP on {address} ({ip} is not a loopback address): configure tls, or set insecure = true"
    )]
    Plaintext {
        /// The address as configured.
        address: String,
        /// The IP address it is or resolved to.
        ip: IpAddr,
    },
    /// A number out of its range.
    #[error("{field} = {value} is out of range ({min}..={max})")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The smallest allowed.
        min: u64,
        /// The largest allowed.
        max: u64,
    },
    /// An address that is not `host:port`.
    #[error("`{address}` is not a host:port address")]
    BadAddress {
        /// The address as configured.
        address: String,
    },
    /// A pre-shared token too short to resist guessing.
    #[error("{field} is {len} bytes long; a token must be at least {min} bytes")]
    TokenTooShort {
        /// The key (`token`).
        field: &'static str,
        /// The token's length.
        len: usize,
        /// The shortest accepted.
        min: usize,
    },
    /// A certificate, key or CA file that cannot be used.
    #[error("TLS {what} {}: {reason}", path.display())]
    TlsFile {
        /// What the file should hold ("certificate", "private key", "CA").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// A TLS setting that cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// TLS keys that do not go together, or a choice left unmade (`cert` and `key` or
    /// `self_signed`; `ca` or `fingerprint`).
    #[error("{0}")]
    TlsKeys(&'static str),
    /// A `fingerprint` that is not a pin.
    #[cfg(feature = "tls")]
    #[error(
        "tls.fingerprint = \"{value}\" is not a certificate pin: {error}; expected `sha256:` and 64 hex digits, as `mltools certs fingerprint` prints"
    )]
    Fingerprint {
        /// The text configured.
        value: String,
        /// What is wrong with it.
        error: crate::tls::FingerprintError,
    },
    /// A self-signed pair's directory that cannot be used (a file missing, not writable).
    #[error("TLS self_signed directory {}: {reason}", dir.display())]
    SelfSigned {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// TLS is configured, but this build has no TLS.
    #[error("TLS is configured but this build of mltools-transport has no `tls` feature")]
    TlsNotBuilt,
    /// The listen address could not be bound.
    #[error("could not listen on {address}: {source}")]
    Bind {
        /// The address as configured.
        address: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// Not inside a tokio runtime.
    #[error(transparent)]
    NoRuntime(#[from] crate::remote::client::NoRuntime),
}

/// A number out of its range, turned into each transport's config error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfRange {
    pub(crate) field: &'static str,
    pub(crate) value: u64,
    pub(crate) min: u64,
    pub(crate) max: u64,
}

impl From<OutOfRange> for TcpConfigError {
    fn from(range: OutOfRange) -> Self {
        TcpConfigError::OutOfRange {
            field: range.field,
            value: range.value,
            min: range.min,
            max: range.max,
        }
    }
}

/// Checks a frame limit: at least [`MIN_MAX_FRAME_BYTES`], at most what a u32 prefix holds.
pub(crate) fn check_frame_limit(value: u64) -> Result<(), OutOfRange> {
    let max = u64::from(u32::MAX);
    if (MIN_MAX_FRAME_BYTES..=max).contains(&value) {
        Ok(())
    } else {
        Err(OutOfRange {
            field: "max_frame_bytes",
            value,
            min: MIN_MAX_FRAME_BYTES,
            max,
        })
    }
}

/// Checks that a count or a duration is at least 1.
pub(crate) fn at_least_one(field: &'static str, value: u64) -> Result<(), OutOfRange> {
    if value >= 1 {
        Ok(())
    } else {
        Err(OutOfRange {
            field,
            value,
            min: 1,
            max: u64::MAX,
        })
    }
}

/// The host part of `host:port` (brackets stripped from an IPv6 literal).
pub(crate) fn host_of(address: &str) -> Result<&str, TcpConfigError> {
    let bad = || TcpConfigError::BadAddress {
        address: address.to_owned(),
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    port.parse::<u16>().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        Err(bad())
    } else {
        Ok(host)
    }
}

/// Plaintext only on loopback, unless `insecure`: `address` (as configured) resolved to
/// `ip`, served with or without `tls`.
///
/// # Errors
/// [`TcpConfigError::Plaintext`], naming the address and the address it resolved to.
pub fn check_plaintext(
    address: &str,
    ip: IpAddr,
    tls: bool,
    insecure: bool,
) -> Result<(), TcpConfigError> {
    if tls || insecure || ip.to_canonical().is_loopback() {
        Ok(())
    } else {
        Err(TcpConfigError::Plaintext {
            address: address.to_owned(),
            ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_refused_off_loopback_unless_insecure() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let public: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(check_plaintext("a", loopback, false, false).is_ok());
        assert!(check_plaintext("a", mapped, false, false).is_ok());
        assert!(check_plaintext("a", public, true, false).is_ok());
        assert!(check_plaintext("a", public, false, true).is_ok());
        let error = check_plaintext("192.0.2.7:4100", public, false, false).unwrap_err();
        assert!(error.to_string().contains("192.0.2.7:4100"), "{error}");
        assert!(error.to_string().contains("insecure = true"), "{error}");
    }

    #[test]
    fn an_endpoint_with_a_public_ip_literal_is_refused_at_once() {
        let error = TcpEndpoint::new("192.0.2.7:4433").check().unwrap_err();
        assert!(matches!(error, TcpConfigError::Plaintext { .. }), "{error}");
        let mut insecure = TcpEndpoint::new("192.0.2.7:4433");
        insecure.insecure = true;
        assert!(insecure.check().is_ok());
        // A host name is checked when it resolves, at each dial.
        assert!(TcpEndpoint::new("models.example:4433").check().is_ok());
    }

    #[test]
    fn addresses_and_limits_are_checked() {
        assert_eq!(host_of("[::1]:80").unwrap(), "::1");
        assert_eq!(host_of("localhost:4100").unwrap(), "localhost");
        assert!(host_of("localhost").is_err());
        assert!(host_of(":80").is_err());
        let mut config = TcpServerConfig::new("127.0.0.1:0");
        config.max_frame_bytes = 10;
        let error = config.check().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("max_frame_bytes = 10 is out of range"),
            "{error}"
        );
    }

    #[test]
    fn config_parses_with_defaults_and_refuses_unknown_keys() {
        let endpoint: TcpEndpoint =
            serde_json::from_str(r#"{"address":"127.0.0.1:4433","token":"s3cret-s3cret-s3cret"}"#)
                .unwrap();
        assert_eq!(endpoint.max_frame_bytes, DEFAULT_MAX_FRAME_BYTES);
        assert_eq!(endpoint.codec, Codec::Postcard);
        assert_eq!(endpoint.token, Some(Token::new("s3cret-s3cret-s3cret")));
        let error =
            serde_json::from_str::<TcpServerConfig>(r#"{"listen":"x:1","tokn":"a"}"#).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `tokn`"),
            "{error}"
        );
    }
}
