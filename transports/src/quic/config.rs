//! Configuration of the QUIC transport: a listener ([`QuicServerConfig`]) and an endpoint a
//! client dials ([`QuicEndpoint`]). Plain serde data, unknown keys refused; every default is
//! written on its field and applied by the `new` constructors and by serde alike.
//!
//! TLS is not optional over QUIC: both types carry the same TLS parts as the TCP transport
//! ([`TlsServerConfig`]: certificate files or a self-signed pair; [`TlsClientConfig`]: a CA
//! or a pinned fingerprint); a server that names a `client_ca` requires mutual TLS.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

use crate::codec::Codec;
use crate::remote::client::NoRuntime;
use crate::remote::{LinkOptions, Token};
use crate::tcp::config::{
    Hardening, OutOfRange, at_least_one, check_frame_limit, check_token, default_auth_backoff_ms,
    default_backoff_initial_ms, default_backoff_max_ms, default_connect_timeout_ms,
    default_frame_timeout_ms, default_handshake_timeout_ms, default_idle_timeout_ms,
    default_max_auth_failures, default_max_connections, default_max_deadline_ms,
    default_max_frame_bytes, default_max_in_flight_request_bytes, default_max_pending_handshakes,
    default_max_pending_per_ip, default_max_requests_per_connection, hardening_of, host_of, within,
};
use crate::tcp::{TcpConfigError, TlsClientConfig, TlsServerConfig};

/// The default keep-alive interval, in milliseconds: 5 s.
pub const DEFAULT_KEEP_ALIVE_INTERVAL_MS: u64 = 5_000;
/// The default idle timeout, in milliseconds: 30 s.
pub const DEFAULT_MAX_IDLE_TIMEOUT_MS: u64 = 30_000;
/// The longest idle timeout accepted, in milliseconds: one day.
pub const MAX_MAX_IDLE_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

/// A QUIC listener (one UDP socket) that serves a node's services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuicServerConfig {
    /// Where to listen, `host:port` (UDP); port 0 picks a free port.
    pub listen: String,
    /// The server's certificate and key (PEM files, or a self-signed pair kept in a
    /// directory), and optionally the CA client certificates must chain to (mutual TLS).
    /// Required: QUIC is always TLS 1.3.
    pub tls: TlsServerConfig,
    /// The largest frame accepted, and sent (the client's limit may lower the latter).
    /// Default [`DEFAULT_MAX_FRAME_BYTES`](crate::tcp::DEFAULT_MAX_FRAME_BYTES); at least
    /// [`MIN_MAX_FRAME_BYTES`](crate::tcp::MIN_MAX_FRAME_BYTES), at most 4 GiB - 1.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: u64,
    /// QUIC connections served at once; more are refused on arrival with a log line.
    /// Default 256.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Requests in flight on one tarpc channel (one stream); more are answered
    /// `Overloaded`. Default 1024.
    #[serde(default = "default_max_requests_per_connection")]
    pub max_requests_per_connection: usize,
    /// How long a new connection may take to finish the QUIC handshake and have a stream
    /// welcomed (its hello accepted) before the connection is closed, and a later stream its
    /// hello before the stream is, in milliseconds. Default 5000.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// Connections not yet admitted (QUIC handshake and first hello not done), at once; more
    /// are refused on arrival with a log line. Counted apart from `max_connections`. Above
    /// half of it, a client whose address is not yet validated is first sent a QUIC Retry
    /// (proving it receives at its address) before its handshake costs anything. Default 64.
    #[serde(default = "default_max_pending_handshakes")]
    pub max_pending_handshakes: usize,
    /// Of the pending connections, how many one IP address may hold. Default 8.
    #[serde(default = "default_max_pending_per_ip")]
    pub max_pending_per_ip: usize,
    /// Bidirectional streams (tarpc channels) a client may have open on one connection at
    /// once; a client link uses one. Unidirectional streams are never allowed. Default 16.
    #[serde(default = "default_max_concurrent_bidi_streams")]
    pub max_concurrent_bidi_streams: u32,
    /// How long an admitted stream with no call in flight may send nothing before it is
    /// closed, in milliseconds (the client redials when it next calls). Default 300000.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// How long a frame, once its first byte has arrived, may take to arrive whole, in
    /// milliseconds; past it the stream is closed. Default 30000.
    #[serde(default = "default_frame_timeout_ms")]
    pub frame_timeout_ms: u64,
    /// The bytes of requests read and not yet answered, over all connections of this
    /// listener; at the budget, streams stop reading until answers free some. A request
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
    /// The pre-shared token clients must present, at least
    /// [`MIN_TOKEN_BYTES`](crate::tcp::config::MIN_TOKEN_BYTES) bytes; none required when
    /// absent.
    #[serde(default)]
    pub token: Option<Token>,
    /// How often an idle connection is pinged so it stays open, in milliseconds; must be
    /// below `max_idle_timeout_ms`. Default [`DEFAULT_KEEP_ALIVE_INTERVAL_MS`].
    #[serde(default = "default_keep_alive_interval_ms")]
    pub keep_alive_interval_ms: u64,
    /// How long a connection may hear nothing from its peer before it is closed, in
    /// milliseconds (the smaller of the two sides' applies). Default
    /// [`DEFAULT_MAX_IDLE_TIMEOUT_MS`]; at most [`MAX_MAX_IDLE_TIMEOUT_MS`].
    #[serde(default = "default_max_idle_timeout_ms")]
    pub max_idle_timeout_ms: u64,
}

/// Where a service is reached over QUIC, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuicEndpoint {
    /// The server's `host:port` (UDP).
    pub address: String,
    /// The CA the server's certificate must chain to (or its pinned fingerprint), this
    /// client's certificate for mutual TLS, and the server name (the address's host when
    /// absent). Required.
    pub tls: TlsClientConfig,
    /// The codec of the calls. Default [`Codec::Postcard`].
    #[serde(default)]
    pub codec: Codec,
    /// The largest frame accepted, and sent (the server's limit may lower the latter).
    /// Default [`DEFAULT_MAX_FRAME_BYTES`](crate::tcp::DEFAULT_MAX_FRAME_BYTES).
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: u64,
    /// The pre-shared token to present, if the server requires one.
    #[serde(default)]
    pub token: Option<Token>,
    /// How long the QUIC handshake may take, in milliseconds (UDP gives no "connection
    /// refused": a server that is down shows as this timeout). A call made before the first
    /// connection waits for it at most this plus `handshake_timeout_ms`. Default 3000.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long opening the stream and the hello may take, in milliseconds. Default 5000.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// The pause before the first redial after a failure, in milliseconds; doubled after
    /// each failure. Default 50.
    #[serde(default = "default_backoff_initial_ms")]
    pub backoff_initial_ms: u64,
    /// The longest pause between redials, in milliseconds. Default 2000.
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
    /// How often an idle connection is pinged so it stays open, in milliseconds; must be
    /// below `max_idle_timeout_ms`. Default [`DEFAULT_KEEP_ALIVE_INTERVAL_MS`].
    #[serde(default = "default_keep_alive_interval_ms")]
    pub keep_alive_interval_ms: u64,
    /// How long the connection may hear nothing from the server before it is considered
    /// lost, in milliseconds (the smaller of the two sides' applies). Default
    /// [`DEFAULT_MAX_IDLE_TIMEOUT_MS`]; at most [`MAX_MAX_IDLE_TIMEOUT_MS`].
    #[serde(default = "default_max_idle_timeout_ms")]
    pub max_idle_timeout_ms: u64,
}

fn default_max_concurrent_bidi_streams() -> u32 {
    16
}
fn default_keep_alive_interval_ms() -> u64 {
    DEFAULT_KEEP_ALIVE_INTERVAL_MS
}
fn default_max_idle_timeout_ms() -> u64 {
    DEFAULT_MAX_IDLE_TIMEOUT_MS
}

impl QuicServerConfig {
    /// A listener on `listen` with `tls` and every other default.
    pub fn new(listen: impl Into<String>, tls: TlsServerConfig) -> Self {
        QuicServerConfig {
            listen: listen.into(),
            tls,
            max_frame_bytes: default_max_frame_bytes(),
            max_connections: default_max_connections(),
            max_requests_per_connection: default_max_requests_per_connection(),
            handshake_timeout_ms: default_handshake_timeout_ms(),
            max_pending_handshakes: default_max_pending_handshakes(),
            max_pending_per_ip: default_max_pending_per_ip(),
            max_concurrent_bidi_streams: default_max_concurrent_bidi_streams(),
            idle_timeout_ms: default_idle_timeout_ms(),
            frame_timeout_ms: default_frame_timeout_ms(),
            max_in_flight_request_bytes: default_max_in_flight_request_bytes(),
            max_deadline_ms: default_max_deadline_ms(),
            max_auth_failures: default_max_auth_failures(),
            auth_backoff_ms: default_auth_backoff_ms(),
            token: None,
            keep_alive_interval_ms: default_keep_alive_interval_ms(),
            max_idle_timeout_ms: default_max_idle_timeout_ms(),
        }
    }

    pub(crate) fn hardening(&self) -> Hardening {
        hardening_of!(self)
    }

    /// Checks the numbers, and that the TLS keys choose one identity.
    ///
    /// # Errors
    /// A [`QuicConfigError`] naming the field and its allowed range, or the TLS keys.
    pub fn check(&self) -> Result<(), QuicConfigError> {
        self.hardening().check()?;
        within(
            "max_concurrent_bidi_streams",
            u64::from(self.max_concurrent_bidi_streams),
            1,
            1024,
        )?;
        check_token("token", self.token.as_ref())?;
        check_liveness(self.keep_alive_interval_ms, self.max_idle_timeout_ms)?;
        self.tls.identity()?;
        Ok(())
    }

    pub(crate) fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }
}

impl QuicEndpoint {
    /// An endpoint at `address` trusting `tls`, with every other default.
    pub fn new(address: impl Into<String>, tls: TlsClientConfig) -> Self {
        QuicEndpoint {
            address: address.into(),
            tls,
            codec: Codec::default(),
            max_frame_bytes: default_max_frame_bytes(),
            token: None,
            connect_timeout_ms: default_connect_timeout_ms(),
            handshake_timeout_ms: default_handshake_timeout_ms(),
            backoff_initial_ms: default_backoff_initial_ms(),
            backoff_max_ms: default_backoff_max_ms(),
            keep_alive_interval_ms: default_keep_alive_interval_ms(),
            max_idle_timeout_ms: default_max_idle_timeout_ms(),
        }
    }

    /// Checks the numbers, the address, and that the TLS keys choose whom to trust (and a
    /// pin is well-formed).
    ///
    /// # Errors
    /// A [`QuicConfigError`] naming the field, the TLS keys, or the address.
    pub fn check(&self) -> Result<(), QuicConfigError> {
        check_frame_limit(self.max_frame_bytes)?;
        at_least_one("connect_timeout_ms", self.connect_timeout_ms)?;
        at_least_one("handshake_timeout_ms", self.handshake_timeout_ms)?;
        at_least_one("backoff_initial_ms", self.backoff_initial_ms)?;
        at_least_one("backoff_max_ms", self.backoff_max_ms)?;
        check_token("token", self.token.as_ref())?;
        check_liveness(self.keep_alive_interval_ms, self.max_idle_timeout_ms)?;
        host_of(&self.address).map_err(|_| QuicConfigError::BadAddress {
            address: self.address.clone(),
        })?;
        self.tls.trust()?;
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

/// A QUIC configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuicConfigError {
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
    /// A keep-alive interval that would not keep the connection alive.
    #[error(
        "keep_alive_interval_ms = {keep_alive_ms} must be below max_idle_timeout_ms = {idle_ms}, or idle connections close"
    )]
    KeepAliveTooLong {
        /// The keep-alive interval.
        keep_alive_ms: u64,
        /// The idle timeout.
        idle_ms: u64,
    },
    /// An address that is not `host:port`.
    #[error("`{address}` is not a host:port address")]
    BadAddress {
        /// The address as configured.
        address: String,
    },
    /// A certificate, key or CA file that cannot be used, or another TLS setting.
    #[error(transparent)]
    Tls(#[from] TcpConfigError),
    /// A TLS configuration QUIC cannot use.
    #[error("TLS for QUIC: {0}")]
    Quic(String),
    /// The listen address could not be bound.
    #[error("could not listen on {address} (UDP): {source}")]
    Bind {
        /// The address as configured.
        address: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// Not inside a tokio runtime.
    #[error(transparent)]
    NoRuntime(#[from] NoRuntime),
}

impl From<OutOfRange> for QuicConfigError {
    fn from(range: OutOfRange) -> Self {
        QuicConfigError::OutOfRange {
            field: range.field,
            value: range.value,
            min: range.min,
            max: range.max,
        }
    }
}

fn check_liveness(keep_alive_ms: u64, idle_ms: u64) -> Result<(), QuicConfigError> {
    if !(1..=MAX_MAX_IDLE_TIMEOUT_MS).contains(&idle_ms) {
        return Err(QuicConfigError::OutOfRange {
            field: "max_idle_timeout_ms",
            value: idle_ms,
            min: 1,
            max: MAX_MAX_IDLE_TIMEOUT_MS,
        });
    }
    at_least_one("keep_alive_interval_ms", keep_alive_ms)?;
    if keep_alive_ms >= idle_ms {
        return Err(QuicConfigError::KeepAliveTooLong {
            keep_alive_ms,
            idle_ms,
        });
    }
    Ok(())
}

/// quinn's transport settings for a side: keep-alive and idle timeout as configured, and
/// the bidirectional streams the peer may open at once.
pub(crate) fn transport(
    keep_alive_ms: u64,
    idle_ms: u64,
    max_bidi_streams: u32,
) -> Result<Arc<quinn::TransportConfig>, QuicConfigError> {
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_millis(keep_alive_ms)));
    let idle = quinn::IdleTimeout::try_from(Duration::from_millis(idle_ms)).map_err(|_| {
        QuicConfigError::OutOfRange {
            field: "max_idle_timeout_ms",
            value: idle_ms,
            min: 1,
            max: MAX_MAX_IDLE_TIMEOUT_MS,
        }
    })?;
    transport.max_idle_timeout(Some(idle));
    // Calls travel on one long bi-stream per tarpc channel; the peer never opens
    // unidirectional streams.
    transport.max_concurrent_uni_streams(0u32.into());
    transport.max_concurrent_bidi_streams(max_bidi_streams.into());
    Ok(Arc::new(transport))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls() -> TlsServerConfig {
        TlsServerConfig::files("cert.pem", "key.pem")
    }

    #[test]
    fn config_parses_with_defaults_and_refuses_unknown_keys() {
        let endpoint: QuicEndpoint =
            serde_json::from_str(r#"{"address":"127.0.0.1:4433","tls":{"ca":"ca.pem"}}"#).unwrap();
        assert_eq!(endpoint.keep_alive_interval_ms, 5_000);
        assert_eq!(endpoint.max_idle_timeout_ms, 30_000);
        assert_eq!(endpoint.codec, Codec::Postcard);
        assert_eq!(
            endpoint,
            QuicEndpoint::new("127.0.0.1:4433", endpoint.tls.clone())
        );
        let server: QuicServerConfig = serde_json::from_str(
            r#"{"listen":"127.0.0.1:0","tls":{"cert":"cert.pem","key":"key.pem"}}"#,
        )
        .unwrap();
        assert_eq!(server, QuicServerConfig::new("127.0.0.1:0", tls()));
        let error = serde_json::from_str::<QuicServerConfig>(
            r#"{"listen":"x:1","tls":{"cert":"c","key":"k"},"keepalive":1}"#,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `keepalive`"),
            "{error}"
        );
    }

    #[test]
    fn keep_alive_must_be_below_the_idle_timeout() {
        let mut config = QuicServerConfig::new("127.0.0.1:0", tls());
        config.keep_alive_interval_ms = 30_000;
        let error = config.check().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("keep_alive_interval_ms = 30000 must be below"),
            "{error}"
        );
        config.keep_alive_interval_ms = 1_000;
        config.max_idle_timeout_ms = 0;
        assert!(matches!(
            config.check(),
            Err(QuicConfigError::OutOfRange {
                field: "max_idle_timeout_ms",
                ..
            })
        ));
    }

    #[test]
    fn hardening_settings_and_the_token_are_checked_naming_the_key() {
        let config = QuicServerConfig::new("127.0.0.1:0", tls());
        assert_eq!(
            (config.max_pending_handshakes, config.max_pending_per_ip),
            (64, 8)
        );
        assert_eq!(config.max_concurrent_bidi_streams, 16);
        for (key, set) in [
            (
                "max_concurrent_bidi_streams",
                (|c: &mut QuicServerConfig| c.max_concurrent_bidi_streams = 0)
                    as fn(&mut QuicServerConfig),
            ),
            ("max_pending_per_ip", |c| c.max_pending_per_ip = 0),
            ("frame_timeout_ms", |c| c.frame_timeout_ms = 0),
            ("max_deadline_ms", |c| c.max_deadline_ms = u64::MAX),
        ] {
            let mut config = QuicServerConfig::new("127.0.0.1:0", tls());
            set(&mut config);
            let error = config.check().unwrap_err();
            assert!(
                error.to_string().starts_with(&format!("{key} = ")),
                "{key}: {error}"
            );
        }
        let mut config = QuicServerConfig::new("127.0.0.1:0", tls());
        config.token = Some(Token::new("fifteen-bytes!!"));
        let error = config.check().unwrap_err();
        assert_eq!(
            error.to_string(),
            "token is 15 bytes long; a token must be at least 16 bytes"
        );
        let mut endpoint = QuicEndpoint::new("127.0.0.1:1", TlsClientConfig::ca("ca.pem"));
        endpoint.token = Some(Token::new("short"));
        assert!(
            endpoint
                .check()
                .unwrap_err()
                .to_string()
                .starts_with("token is 5 bytes")
        );
    }
}
