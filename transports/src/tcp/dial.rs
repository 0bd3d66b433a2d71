//! [`TcpDialer`]: the [`Dial`] of the TCP transport — resolve, connect (`TCP_NODELAY`),
//! TLS when configured, hello.

use futures::future::BoxFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

use super::config::{TcpConfigError, TcpEndpoint, check_plaintext, host_of};
use crate::remote::hello::{preamble_framed, say_hello};
use crate::remote::{
    BoxIo, Connected, Dial, DialError, DialFailure, HandshakeError, Hello, WireError,
};

/// Dials one service over TCP; cheap to clone.
#[derive(Clone)]
pub struct TcpDialer {
    inner: Arc<Inner>,
}

struct Inner {
    service: &'static str,
    endpoint: TcpEndpoint,
    security: Security,
}

impl TcpDialer {
    /// A dialer of `service` at `endpoint`, its configuration checked and its TLS files
    /// loaded now.
    ///
    /// # Errors
    /// A [`TcpConfigError`] naming the field, the address or the file.
    pub fn new(service: &'static str, endpoint: TcpEndpoint) -> Result<Self, TcpConfigError> {
        endpoint.check()?;
        let security = Security::from_endpoint(&endpoint)?;
        Ok(TcpDialer {
            inner: Arc::new(Inner {
                service,
                endpoint,
                security,
            }),
        })
    }
}

impl Dial for TcpDialer {
    fn address(&self) -> &str {
        &self.inner.endpoint.address
    }

    fn transport(&self) -> &'static str {
        match self.inner.security {
            Security::Plain => "tcp",
            #[cfg(feature = "tls")]
            Security::Tls { .. } => "tls-tcp",
        }
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
        let stream = self.connect().await?;
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(address = %self.endpoint.address, %error, "could not set TCP_NODELAY");
        }
        super::server::set_keepalive(&stream, &self.endpoint.address);
        let handshake_timeout = Duration::from_millis(self.endpoint.handshake_timeout_ms);
        let timed_out = || DialFailure::Timeout {
            stage: "TLS and hello",
            after_ms: self.endpoint.handshake_timeout_ms,
        };
        tokio::time::timeout(handshake_timeout, self.handshake(stream))
            .await
            .map_err(|_| timed_out())?
    }

    async fn connect(&self) -> Result<TcpStream, DialFailure> {
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
            let tls = !matches!(self.security, Security::Plain);
            if check_plaintext(address, candidate.ip(), tls, self.endpoint.insecure).is_err() {
                return Err(DialFailure::Plaintext(candidate.ip()));
            }
            match tokio::time::timeout(connect_timeout, TcpStream::connect(candidate)).await {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(error)) => last_failure = Some(DialFailure::Connect(error)),
                Err(_) => last_failure = Some(timed_out("connecting")),
            }
        }
        Err(last_failure.unwrap_or_else(|| {
            DialFailure::Resolve(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the name resolved to no address",
            ))
        }))
    }

    async fn handshake(&self, stream: TcpStream) -> Result<Connected, DialFailure> {
        let endpoint = &self.endpoint;
        let io = self.security.connect(stream).await?;
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
            .map_err(|error| self.security.explain(error))?;
        Ok(Connected {
            framed,
            codec: endpoint.codec,
        })
    }
}

/// How dialled sockets are secured.
enum Security {
    Plain,
    #[cfg(feature = "tls")]
    Tls {
        connector: tokio_rustls::TlsConnector,
        name: tokio_rustls::rustls::pki_types::ServerName<'static>,
    },
}

impl Security {
    fn from_endpoint(endpoint: &TcpEndpoint) -> Result<Self, TcpConfigError> {
        match &endpoint.tls {
            None => Ok(Security::Plain),
            #[cfg(feature = "tls")]
            Some(tls) => Ok(Security::Tls {
                connector: crate::tls::client_config(tls)?.into(),
                name: crate::tls::server_name(tls, host_of(&endpoint.address)?)?,
            }),
            #[cfg(not(feature = "tls"))]
            Some(_) => {
                host_of(&endpoint.address)?;
                Err(TcpConfigError::TlsNotBuilt)
            }
        }
    }

    async fn connect(&self, stream: TcpStream) -> Result<BoxIo, DialFailure> {
        match self {
            Security::Plain => Ok(Box::new(stream)),
            #[cfg(feature = "tls")]
            Security::Tls { connector, name } => {
                match connector.connect(name.clone(), stream).await {
                    Ok(tls) => Ok(Box::new(tls)),
                    Err(error) => Err(DialFailure::Tls(
                        crate::tls::explain_client_error(&error)
                            .unwrap_or_else(|| error.to_string()),
                    )),
                }
            }
        }
    }

    /// A failed hello; over TLS, a socket error is often the server's verdict on our
    /// certificate, which TLS 1.3 delivers only after the client thinks it is connected.
    fn explain(&self, error: HandshakeError) -> DialFailure {
        match error {
            HandshakeError::Refused(reason) => DialFailure::Refused(reason),
            HandshakeError::Closed => DialFailure::Closed,
            HandshakeError::Malformed(error) => DialFailure::Malformed(error),
            HandshakeError::Wire(WireError::Io(error)) => match self {
                Security::Plain => DialFailure::Wire(WireError::Io(error)),
                #[cfg(feature = "tls")]
                Security::Tls { .. } => match crate::tls::explain_client_error(&error) {
                    Some(explained) => DialFailure::Tls(explained),
                    None => DialFailure::Wire(WireError::Io(error)),
                },
            },
            HandshakeError::Wire(error) => DialFailure::Wire(error),
        }
    }
}
