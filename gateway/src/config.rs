//! The `[gateway]` table of a node's configuration.
//!
//! ```toml
//! [gateway]
//! listen = "127.0.0.1:8080"
//! token = "a-secret-of-16-bytes-or-more"   # clients send `Authorization: Bearer …`
//! tls = { self_signed = "./certs" }         # or cert/key, with client_ca for mutual TLS
//! max_body_bytes = 1048576
//! ```
//!
//! Plain serde data, unknown keys refused; every default is written on its field.

use mltools_transport::Token;
use mltools_transport::tcp::{TcpConfigError, TlsServerConfig, check_token};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where and how a node serves its HTTP gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Where to listen, `host:port`; port 0 picks a free port. Plaintext only on a loopback
    /// address unless `insecure`.
    pub listen: String,
    /// The bearer token clients must send (`Authorization: Bearer TOKEN`), at least 16
    /// bytes; none required when absent. Only `/v1/health` and `/v1/openapi.json` answer
    /// without it.
    #[serde(default)]
    pub token: Option<Token>,
    /// HTTPS (TLS 1.3); plaintext when absent. With `client_ca`, clients must present a
    /// certificate signed by it (mutual TLS), as on the RPC listeners.
    #[serde(default)]
    pub tls: Option<TlsServerConfig>,
    /// Allows plaintext on an address that is not loopback. Default false.
    #[serde(default)]
    pub insecure: bool,
    /// The largest JSON body (and CSV body to predict on), in bytes; a larger one is refused
    /// with 413 before it is read. Default 1 MiB.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// The largest CSV upload, in bytes; streamed to the datasets service in chunks, never
    /// held whole. Default 1 GiB (the datasets service applies its own limit too).
    #[serde(default = "default_max_upload_bytes")]
    pub max_upload_bytes: u64,
    /// How long a request may take until its answer starts, in milliseconds; past it the
    /// answer is 504. Uploads get `upload_timeout_ms`; event streams, once started, run on.
    /// Default 30000.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// How long a CSV upload may take, in milliseconds. Default 3600000 (one hour).
    #[serde(default = "default_upload_timeout_ms")]
    pub upload_timeout_ms: u64,
    /// How long a connection may take to finish TLS and send a request's headers, in
    /// milliseconds; past it the connection is closed. Default 10000.
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// Connections served at once; more are closed on arrival with a log line. Default 256.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Of those, how many one IP address (an IPv6 /64) may hold; more are closed on
    /// arrival. Default 64.
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// The most rows one `GET /v1/datasets/{dataset}/rows` answers. Default 10000.
    #[serde(default = "default_max_rows_per_page")]
    pub max_rows_per_page: u64,
    /// Failed authentications (missing or wrong token) from one IP address within
    /// `auth_backoff_ms` after which its requests are refused with 429. Default 5.
    #[serde(default = "default_max_auth_failures")]
    pub max_auth_failures: u32,
    /// The window failed authentications are counted in, and how long an address that
    /// reached `max_auth_failures` is then refused, in milliseconds. Default 60000.
    #[serde(default = "default_auth_backoff_ms")]
    pub auth_backoff_ms: u64,
}

fn default_max_body_bytes() -> u64 {
    1024 * 1024
}
fn default_max_upload_bytes() -> u64 {
    1024 * 1024 * 1024
}
fn default_request_timeout_ms() -> u64 {
    30_000
}
fn default_upload_timeout_ms() -> u64 {
    3_600_000
}
fn default_header_timeout_ms() -> u64 {
    10_000
}
fn default_max_connections() -> usize {
    256
}
fn default_max_connections_per_ip() -> usize {
    64
}
fn default_max_rows_per_page() -> u64 {
    10_000
}
fn default_max_auth_failures() -> u32 {
    5
}
fn default_auth_backoff_ms() -> u64 {
    60_000
}

/// A gateway setting out of its range.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayConfigError {
    /// A number out of its range.
    #[error("gateway.{field} = {value} is out of range ({min}..={max})")]
    OutOfRange {
        /// The key.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The smallest allowed.
        min: u64,
        /// The largest allowed.
        max: u64,
    },
    /// The token or the TLS keys.
    #[error("gateway: {0}")]
    Tcp(#[from] TcpConfigError),
}

impl GatewayConfig {
    /// A plaintext gateway on `listen` with every default.
    pub fn new(listen: impl Into<String>) -> Self {
        GatewayConfig {
            listen: listen.into(),
            token: None,
            tls: None,
            insecure: false,
            max_body_bytes: default_max_body_bytes(),
            max_upload_bytes: default_max_upload_bytes(),
            request_timeout_ms: default_request_timeout_ms(),
            upload_timeout_ms: default_upload_timeout_ms(),
            header_timeout_ms: default_header_timeout_ms(),
            max_connections: default_max_connections(),
            max_connections_per_ip: default_max_connections_per_ip(),
            max_rows_per_page: default_max_rows_per_page(),
            max_auth_failures: default_max_auth_failures(),
            auth_backoff_ms: default_auth_backoff_ms(),
        }
    }

    /// Checks every number against its range, the token's length and the TLS identity.
    ///
    /// # Errors
    /// A [`GatewayConfigError`] naming the key.
    pub fn check(&self) -> Result<(), GatewayConfigError> {
        const DAY_MS: u64 = 24 * 60 * 60 * 1000;
        let ranges: [(&'static str, u64, u64, u64); 11] = [
            ("max_body_bytes", self.max_body_bytes, 1024, 1 << 30),
            ("max_upload_bytes", self.max_upload_bytes, 1024, 1 << 40),
            ("request_timeout_ms", self.request_timeout_ms, 100, DAY_MS),
            ("upload_timeout_ms", self.upload_timeout_ms, 100, DAY_MS),
            ("header_timeout_ms", self.header_timeout_ms, 100, DAY_MS),
            ("max_connections", self.max_connections as u64, 1, 1 << 20),
            (
                "max_connections_per_ip",
                self.max_connections_per_ip as u64,
                1,
                1 << 20,
            ),
            ("max_rows_per_page", self.max_rows_per_page, 1, 10_000_000),
            (
                "max_auth_failures",
                u64::from(self.max_auth_failures),
                1,
                1 << 20,
            ),
            ("auth_backoff_ms", self.auth_backoff_ms, 1, DAY_MS),
            // Checked again on the resolved address at bind.
            ("listen", self.listen.len() as u64, 3, 1024),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(GatewayConfigError::OutOfRange {
                    field,
                    value,
                    min,
                    max,
                });
            }
        }
        check_token("gateway.token", self.token.as_ref())?;
        if let Some(tls) = &self.tls {
            tls.identity()?;
        }
        Ok(())
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn upload_timeout(&self) -> Duration {
        Duration::from_millis(self.upload_timeout_ms)
    }

    pub(crate) fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_toml_leaves_out_and_unknown_keys_are_refused() {
        let config: GatewayConfig =
            serde_json::from_str(r#"{"listen": "127.0.0.1:0"}"#).expect("a minimal table");
        assert_eq!(config, GatewayConfig::new("127.0.0.1:0"));
        config.check().expect("the defaults are in range");
        let typo = serde_json::from_str::<GatewayConfig>(r#"{"listen": "x:1", "tokn": "a"}"#);
        assert!(typo.unwrap_err().to_string().contains("tokn"));
    }

    #[test]
    fn out_of_range_numbers_and_short_tokens_name_their_key() {
        let mut config = GatewayConfig::new("127.0.0.1:0");
        config.max_body_bytes = 10;
        assert_eq!(
            config.check().unwrap_err().to_string(),
            "gateway.max_body_bytes = 10 is out of range (1024..=1073741824)"
        );
        let mut config = GatewayConfig::new("127.0.0.1:0");
        config.token = Some(Token::new("short"));
        assert!(
            config
                .check()
                .unwrap_err()
                .to_string()
                .contains("gateway.token"),
        );
    }
}
