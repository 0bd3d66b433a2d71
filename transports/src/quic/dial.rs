//! [`QuicDialer`]: the [`Dial`] of the QUIC transport — resolve, QUIC handshake (TLS 1.3,
//! ALPN `mltools/1`), open one bidirectional stream, hello.
//!
//! Each dial makes one QUIC connection carrying one long bi-stream, the tarpc channel; the
//! UDP socket (a quinn endpoint per address family) is made at the first dial and reused.

use futures::future::BoxFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::config::{QuicConfigError, QuicEndpoint, transport};
use super::explain;
use super::stream::BiStream;
use crate::remote::hello::{preamble_framed, say_hello};
use crate::remote::{BoxIo, Connected, Dial, DialError, DialFailure, HandshakeError, Hello};
use crate::tcp::config::host_of;

/// Dials one service over QUIC; cheap to clone.
#[derive(Clone)]
pub struct QuicDialer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for QuicDialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicDialer")
            .field("service", &self.inner.service)
            .field("address", &self.inner.endpoint.address)
            .finish_non_exhaustive()
    }
}

struct Inner {
    service: &'static str,
    endpoint: QuicEndpoint,
    client: quinn::ClientConfig,
    server_name: String,
    /// The local UDP endpoints, IPv4 and IPv6, made at the first dial of each family.
    sockets: Mutex<[Option<quinn::Endpoint>; 2]>,
}

impl QuicDialer {
    /// A dialer of `service` at `endpoint`, its configuration checked and its TLS files
    /// loaded now.
    ///
    /// # Errors
    /// A [`QuicConfigError`] naming the field, the address or the file.
    pub fn new(service: &'static str, endpoint: QuicEndpoint) -> Result<Self, QuicConfigError> {
        endpoint.check()?;
        let host = host_of(&endpoint.address)?;
        // Checks the name now, as the TCP transport does; quinn takes it as text.
        let server_name = crate::tls::server_name(&endpoint.tls, host)?
            .to_str()
            .into_owned();
        let tls = crate::tls::client_config(&endpoint.tls)?;
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
            .map_err(|error| QuicConfigError::Quic(error.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        client.transport_config(transport(
            endpoint.keep_alive_interval_ms,
            endpoint.max_idle_timeout_ms,
            // The server never opens a stream to a client.
            0,
        )?);
        Ok(QuicDialer {
            inner: Arc::new(Inner {
                service,
                endpoint,
                client,
                server_name,
                sockets: Mutex::new([None, None]),
            }),
        })
    }
}

impl Dial for QuicDialer {
    fn address(&self) -> &str {
        &self.inner.endpoint.address
    }

    fn transport(&self) -> &'static str {
        "quic"
    }

    fn dial(&self) -> BoxFuture<'static, Result<Connected, DialError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            inner.dial().await.map_err(|failure| DialError {
                address: inner.endpoint.address.as_str().into(),
                failure,
            })
        })
    }
}

impl Inner {
    async fn dial(&self) -> Result<Connected, DialFailure> {
        let connection = self.connect().await?;
        let handshake_timeout = Duration::from_millis(self.endpoint.handshake_timeout_ms);
        match tokio::time::timeout(handshake_timeout, self.hello(&connection)).await {
            Ok(Ok(connected)) => Ok(connected),
            Ok(Err(failure)) => {
                // TLS 1.3 lets a client think it is connected before the server has judged
                // its certificate: the server's verdict arrives as the connection's end.
                let failure = match connection.close_reason() {
                    Some(error) if explain::is_tls(&error) => {
                        DialFailure::Tls(explain::client_side(&error))
                    }
                    _ => failure,
                };
                connection.close(0u32.into(), b"hello failed");
                Err(failure)
            }
            Err(_) => {
                connection.close(0u32.into(), b"hello timed out");
                Err(DialFailure::Timeout {
                    stage: "opening the stream and the hello",
                    after_ms: self.endpoint.handshake_timeout_ms,
                })
            }
        }
    }

    fn socket(&self, remote: SocketAddr) -> io::Result<quinn::Endpoint> {
        let family = usize::from(remote.is_ipv6());
        let mut sockets = self
            .sockets
            .lock()
            .map_err(|_| io::Error::other("the socket cache is poisoned"))?;
        if let Some(endpoint) = &sockets[family] {
            return Ok(endpoint.clone());
        }
        let local: SocketAddr = if remote.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let endpoint = quinn::Endpoint::client(local)?;
        sockets[family] = Some(endpoint.clone());
        Ok(endpoint)
    }

    async fn connect(&self) -> Result<quinn::Connection, DialFailure> {
        let address = &self.endpoint.address;
        let connect_timeout = Duration::from_millis(self.endpoint.connect_timeout_ms);
        let timed_out = |stage| DialFailure::Timeout {
            stage,
            after_ms: self.endpoint.connect_timeout_ms,
        };
        let resolved: Vec<SocketAddr> =
            tokio::time::timeout(connect_timeout, tokio::net::lookup_host(address.as_str()))
                .await
                .map_err(|_| timed_out("resolving"))?
                .map_err(DialFailure::Resolve)?
                .collect();
        let mut last_failure = None;
        for candidate in resolved {
            let socket = self.socket(candidate).map_err(DialFailure::Connect)?;
            let connecting = socket
                .connect_with(self.client.clone(), candidate, &self.server_name)
                .map_err(|error| DialFailure::Connect(io::Error::other(error)))?;
            match tokio::time::timeout(connect_timeout, connecting).await {
                Ok(Ok(connection)) => return Ok(connection),
                Ok(Err(error)) if explain::is_tls(&error) => {
                    return Err(DialFailure::Tls(explain::client_side(&error)));
                }
                Ok(Err(error)) => {
                    last_failure = Some(DialFailure::Connect(io::Error::other(
                        explain::client_side(&error),
                    )));
                }
                Err(_) => {
                    last_failure = Some(timed_out(
                        "the QUIC handshake (is a QUIC server listening there?)",
                    ));
                }
            }
        }
        Err(last_failure.unwrap_or_else(|| {
            DialFailure::Resolve(io::Error::new(
                io::ErrorKind::NotFound,
                "the name resolved to no address",
            ))
        }))
    }

    async fn hello(&self, connection: &quinn::Connection) -> Result<Connected, DialFailure> {
        let endpoint = &self.endpoint;
        let (send, recv) = connection.open_bi().await.map_err(|error| {
            DialFailure::Connect(io::Error::other(explain::client_side(&error)))
        })?;
        let io: BoxIo = Box::new(BiStream::new(send, recv));
        let context = format!("{} at {}", self.service, endpoint.address);
        let mut framed = preamble_framed(io, context);
        let hello = Hello::for_client(
            self.service,
            endpoint.token.as_ref(),
            endpoint.codec,
            endpoint.max_frame_bytes,
        );
        say_hello(&mut framed, &hello)
            .await
            .map_err(|error| match error {
                HandshakeError::Refused(reason) => DialFailure::Refused(reason),
                HandshakeError::Closed => DialFailure::Closed,
                HandshakeError::Malformed(error) => DialFailure::Malformed(error),
                HandshakeError::Wire(error) => DialFailure::Wire(error),
            })?;
        Ok(Connected {
            framed,
            codec: endpoint.codec,
        })
    }
}
