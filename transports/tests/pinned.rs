//! Self-signed certificates pinned by fingerprint, over QUIC and over TLS on TCP, with real
//! sockets on 127.0.0.1 (port 0): a pinned client is served whatever name it dials; a
//! wrong pin is refused before any service code runs, showing both fingerprints; a server
//! restarted from the same directory keeps its fingerprint and pinned clients reconnect; a
//! pinned client authenticates with the pre-shared token, or a client certificate; a
//! malformed pin, keys that do not go together and unusable files are configuration errors
//! naming the culprit. Every body runs over both transports.

#[path = "common/mod.rs"]
mod common;

use common::{Certs, Logs, ctx, down_reason, wait_status, within};
use futures::FutureExt as _;
use mltools_core::{ErrorKind, RpcResultExt, ServiceError};
use mltools_transport::quic::{QuicConfigError, QuicEndpoint, QuicServer, QuicServerConfig};
use mltools_transport::tcp::{
    TcpConfigError, TcpEndpoint, TcpServer, TcpServerConfig, TlsClientConfig, TlsServerConfig,
};
use mltools_transport::test_probe::{
    ProbeClient, ProbeRequest, ProbeResponse, ProbeServer, probe_with,
};
use mltools_transport::tls::Fingerprint;
use mltools_transport::{Client, Limits, LinkStatus, ServiceTable, Token};
use std::net::SocketAddr;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Quic,
    TlsTcp,
}

enum Server {
    Quic(QuicServer),
    Tcp(TcpServer),
}

/// The probe, served over one transport.
struct Host {
    server: Server,
    probe: ProbeServer,
}

impl Host {
    fn address(&self) -> SocketAddr {
        match &self.server {
            Server::Quic(server) => server.local_addr(),
            Server::Tcp(server) => server.local_addr(),
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        match &self.server {
            Server::Quic(server) => server.fingerprint(),
            Server::Tcp(server) => server.fingerprint().expect("a TLS listener"),
        }
    }

    async fn stop(self) {
        match &self.server {
            Server::Quic(server) => {
                server.shutdown();
                within("the QUIC server to stop", server.wait()).await;
            }
            Server::Tcp(server) => {
                server.shutdown();
                within("the TCP server to stop", server.wait()).await;
            }
        }
    }
}

/// A QUIC configuration error about TLS or the address, as the TCP transport reports it.
fn tls_error(error: QuicConfigError) -> TcpConfigError {
    match error {
        QuicConfigError::Tls(error) => error,
        QuicConfigError::Bind { address, source } => TcpConfigError::Bind { address, source },
        other => panic!("not a TLS configuration error: {other}"),
    }
}

/// Serves the probe on `listen` with `tls`, requiring `token` when given.
async fn bind(
    transport: Transport,
    listen: &str,
    tls: TlsServerConfig,
    token: Option<&str>,
) -> Result<Host, TcpConfigError> {
    let probe = ProbeServer::default();
    let table = ServiceTable::new().with(probe_with(probe.clone(), Limits::default()));
    let server = match transport {
        Transport::Quic => {
            let mut config = QuicServerConfig::new(listen, tls);
            config.token = token.map(Token::new);
            // The refused clients redial; their failures must not back this address off.
            config.max_auth_failures = 1000;
            let bound = within("the QUIC server to bind", QuicServer::bind(config, table)).await;
            Server::Quic(bound.map_err(tls_error)?)
        }
        Transport::TlsTcp => {
            let mut config = TcpServerConfig::new(listen);
            config.tls = Some(tls);
            config.token = token.map(Token::new);
            config.max_auth_failures = 1000;
            let bound = within("the TCP server to bind", TcpServer::bind(config, table)).await;
            Server::Tcp(bound?)
        }
    };
    Ok(Host { server, probe })
}

/// [`bind`] on a port a stopped server just released (quinn frees its socket when its
/// driver task ends, a moment after `wait`).
async fn bind_again(
    transport: Transport,
    listen: SocketAddr,
    tls: TlsServerConfig,
) -> Result<Host, TcpConfigError> {
    within("the port to be free again", async {
        loop {
            match bind(transport, &listen.to_string(), tls.clone(), None).await {
                Err(TcpConfigError::Bind { source, .. })
                    if source.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    tokio::task::yield_now().await;
                }
                other => return other,
            }
        }
    })
    .await
}

type Probe = ProbeClient<Client<ProbeRequest, ProbeResponse>>;
type Raw = Client<ProbeRequest, ProbeResponse>;

/// A probe client of `address` with `tls`, presenting `token` when given.
fn client(
    transport: Transport,
    address: SocketAddr,
    tls: TlsClientConfig,
    token: Option<&str>,
) -> Result<(Probe, Raw), TcpConfigError> {
    let raw = match transport {
        Transport::Quic => {
            let mut endpoint = QuicEndpoint::new(address.to_string(), tls);
            endpoint.token = token.map(Token::new);
            endpoint.backoff_max_ms = 100;
            Client::quic("probe", endpoint).map_err(tls_error)?
        }
        Transport::TlsTcp => {
            let mut endpoint = TcpEndpoint::new(address.to_string());
            endpoint.tls = Some(tls);
            endpoint.token = token.map(Token::new);
            endpoint.backoff_max_ms = 100;
            Client::tcp("probe", endpoint)?
        }
    };
    Ok((ProbeClient::from(raw.clone()), raw))
}

/// A client pinning `host`'s certificate.
fn pinned(transport: Transport, host: &Host, token: Option<&str>) -> (Probe, Raw) {
    let tls = TlsClientConfig::pinned(host.fingerprint());
    client(transport, host.address(), tls, token).expect("a usable endpoint")
}

async fn assert_served(probe: &Probe) {
    let doubled = within("a call", probe.double(ctx(), 21)).await;
    assert_eq!(doubled.expect("the call is served"), 42);
}

/// A call that fails as `Unavailable`, naming the server's address.
async fn refused(probe: &Probe, address: SocketAddr) -> ServiceError {
    let error = within("a refused call", probe.double(ctx(), 1))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert!(error.message.contains(&address.to_string()), "{error}");
    error
}

async fn a_pinned_client_is_served_whatever_name_it_dials(transport: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let pair = dir.path().join("tls");
    let host = bind(
        transport,
        "127.0.0.1:0",
        TlsServerConfig::self_signed(&pair),
        None,
    )
    .await
    .unwrap();
    // What the server presents is the file on disk, which `certs fingerprint` reads.
    assert_eq!(Fingerprint::of_pem_file(&pair).unwrap(), host.fingerprint());
    assert_eq!(
        Fingerprint::of_pem_file(&pair.join("cert.pem")).unwrap(),
        host.fingerprint()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = std::fs::metadata(pair.join("key.pem")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
    let (probe, raw) = pinned(transport, &host, None);
    assert_served(&probe).await;
    let expected = match transport {
        Transport::Quic => "quic",
        Transport::TlsTcp => "tls-tcp",
    };
    assert_eq!(raw.remote().unwrap().transport(), expected);

    // The pin is the whole identity: a name the certificate is not valid for is fine.
    let mut tls = TlsClientConfig::pinned(host.fingerprint());
    tls.server_name = Some("models.elsewhere.test".into());
    let (probe, _) = client(transport, host.address(), tls, None).unwrap();
    assert_served(&probe).await;
}

async fn a_wrong_pin_is_refused_before_any_service_code_runs(transport: Transport) {
    let logs = Logs::capture();
    let dir = tempfile::tempdir().unwrap();
    let host = bind(
        transport,
        "127.0.0.1:0",
        TlsServerConfig::self_signed(dir.path()),
        None,
    )
    .await
    .unwrap();
    let wrong = Fingerprint::of_der(b"some other certificate");
    let tls = TlsClientConfig::pinned(wrong);
    let (probe, raw) = client(transport, host.address(), tls, None).unwrap();
    let error = within("a refused call", probe.hold(ctx()))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    let expected = format!(
        "probe at {} is unreachable: TLS: the server's certificate does not match the pinned \
         fingerprint: it presented {}, the pin is {wrong}",
        host.address(),
        host.fingerprint()
    );
    assert!(error.message.contains(&expected), "{error}");
    let reason = down_reason(&raw).await;
    assert!(
        reason.contains(&expected[expected.find("TLS:").unwrap()..]),
        "{reason}"
    );
    // The handler never ran: it would have signalled `entered` on its way in.
    assert!(host.probe.entered.notified().now_or_never().is_none());
    logs.wait_for(&["refused a connection", "does not trust our certificate"])
        .await;
    // The server goes on serving clients with the right pin.
    assert_served(&pinned(transport, &host, None).0).await;
}

async fn a_restarted_server_keeps_its_fingerprint_and_pinned_clients_reconnect(
    transport: Transport,
) {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsServerConfig::self_signed(dir.path());
    let first = bind(transport, "127.0.0.1:0", tls.clone(), None)
        .await
        .unwrap();
    let (address, fingerprint) = (first.address(), first.fingerprint());
    let (probe, raw) = pinned(transport, &first, None);
    assert_served(&probe).await;
    first.stop().await;
    down_reason(&raw).await;

    let second = bind_again(transport, address, tls).await.unwrap();
    assert_eq!(second.fingerprint(), fingerprint);
    wait_status(&raw, "the pinned client to reconnect", |status| {
        *status == LinkStatus::Connected
    })
    .await;
    assert_served(&probe).await;
}

async fn the_token_authenticates_a_pinned_client(transport: Transport) {
    let dir = tempfile::tempdir().unwrap();
    let host = bind(
        transport,
        "127.0.0.1:0",
        TlsServerConfig::self_signed(dir.path()),
        Some("s3cret-s3cret-s3cret"),
    )
    .await
    .unwrap();
    for (token, why) in [
        (None, "this node requires a token and none was sent"),
        (
            Some("guess-guess-guess-guess"),
            "the token was not accepted",
        ),
    ] {
        let (probe, _) = pinned(transport, &host, token);
        let error = refused(&probe, host.address()).await;
        assert!(error.message.contains(why), "{error}");
    }
    assert_served(&pinned(transport, &host, Some("s3cret-s3cret-s3cret")).0).await;
}

async fn a_self_signed_server_can_still_require_a_client_certificate(transport: Transport) {
    let certs = Certs::generate();
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsServerConfig::self_signed(dir.path()).with_client_ca(&certs.ca);
    let host = bind(transport, "127.0.0.1:0", tls, None).await.unwrap();
    let (probe, _) = pinned(transport, &host, None);
    let error = refused(&probe, host.address()).await;
    assert!(
        error
            .message
            .contains("the server requires a client certificate"),
        "{error}"
    );
    let tls = TlsClientConfig::pinned(host.fingerprint())
        .with_client_cert(&certs.client_cert, &certs.client_key);
    let (probe, _) = client(transport, host.address(), tls, None).unwrap();
    assert_served(&probe).await;
}

async fn malformed_pins_and_mismatched_keys_are_config_errors(transport: Transport) {
    let address: SocketAddr = "127.0.0.1:4433".parse().unwrap();
    let hex = "ab".repeat(32);
    for (pin, why) in [
        (format!("sha1:{hex}"), "it does not start with `sha256:`"),
        (hex.clone(), "it does not start with `sha256:`"),
        (
            format!("sha256:{}", &hex[..62]),
            "`sha256:` is followed by 62 characters, not 64",
        ),
        (format!("sha256:{}xy", &hex[..62]), "`x` is not a hex digit"),
    ] {
        let tls = TlsClientConfig {
            fingerprint: Some(pin.clone()),
            ..TlsClientConfig::default()
        };
        let error = client(transport, address, tls, None).err().unwrap();
        assert!(
            matches!(error, TcpConfigError::Fingerprint { .. }),
            "{error}"
        );
        let expected = format!(
            "tls.fingerprint = \"{pin}\" is not a certificate pin: {why}; expected `sha256:` and 64 hex digits"
        );
        assert!(error.to_string().starts_with(&expected), "{error}");
    }

    let both = TlsClientConfig {
        ca: Some("ca.pem".into()),
        ..TlsClientConfig::pinned(Fingerprint::of_der(b"x"))
    };
    let neither = TlsClientConfig::default();
    for (tls, why) in [
        (both, "tls has both `ca` and `fingerprint`"),
        (neither, "tls needs `ca`"),
    ] {
        let error = client(transport, address, tls, None).err().unwrap();
        assert!(matches!(error, TcpConfigError::TlsKeys(_)), "{error}");
        assert!(error.to_string().starts_with(why), "{error}");
    }

    let both = TlsServerConfig {
        self_signed: Some("tls".into()),
        ..TlsServerConfig::files("cert.pem", "key.pem")
    };
    let neither = TlsServerConfig::default();
    for (tls, why) in [
        (both, "tls has `self_signed` and `cert`/`key`"),
        (
            neither,
            "tls needs `cert` and `key` (PEM files), or `self_signed",
        ),
    ] {
        let error = bind(transport, "127.0.0.1:0", tls, None)
            .await
            .err()
            .unwrap();
        assert!(matches!(error, TcpConfigError::TlsKeys(_)), "{error}");
        assert!(error.to_string().starts_with(why), "{error}");
    }
}

/// Starts a server once in a fresh directory so the pair exists, then returns it.
async fn made_pair(transport: Transport) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsServerConfig::self_signed(dir.path());
    bind(transport, "127.0.0.1:0", tls, None)
        .await
        .unwrap()
        .stop()
        .await;
    dir
}

async fn unusable_pair_files_are_config_errors_naming_the_file(transport: Transport) {
    let tls = |dir: &Path| TlsServerConfig::self_signed(dir);

    // A corrupt key is reported, and left as it is.
    let dir = made_pair(transport).await;
    let key = dir.path().join("key.pem");
    std::fs::write(&key, "not a key").unwrap();
    let error = bind(transport, "127.0.0.1:0", tls(dir.path()), None)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, TcpConfigError::TlsFile { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("TLS private key {}: ", key.display())),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "not a key");

    // Another valid key that is not the certificate's.
    let certs = Certs::generate();
    std::fs::copy(&certs.server_key, &key).unwrap();
    let error = bind(transport, "127.0.0.1:0", tls(dir.path()), None)
        .await
        .err()
        .unwrap();
    assert!(
        error.to_string().contains(&key.display().to_string()),
        "{error}"
    );

    // A corrupt certificate.
    let dir = made_pair(transport).await;
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let error = bind(transport, "127.0.0.1:0", tls(dir.path()), None)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, TcpConfigError::TlsFile { .. }), "{error}");
    assert!(
        error.to_string().contains(&cert.display().to_string()),
        "{error}"
    );

    // Half a pair: never completed by a new half.
    std::fs::remove_file(&cert).unwrap();
    let error = bind(transport, "127.0.0.1:0", tls(dir.path()), None)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, TcpConfigError::SelfSigned { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("key.pem exists but"), "{error}");
    assert!(!cert.exists());
}

/// Stamps each body out once per transport.
macro_rules! over_transports {
    ($($test:ident),* $(,)?) => {
        mod quic {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Transport::Quic).await;
                }
            )*
        }
        mod tls_tcp {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Transport::TlsTcp).await;
                }
            )*
        }
    };
}

over_transports!(
    a_pinned_client_is_served_whatever_name_it_dials,
    a_wrong_pin_is_refused_before_any_service_code_runs,
    a_restarted_server_keeps_its_fingerprint_and_pinned_clients_reconnect,
    the_token_authenticates_a_pinned_client,
    a_self_signed_server_can_still_require_a_client_certificate,
    malformed_pins_and_mismatched_keys_are_config_errors,
    unusable_pair_files_are_config_errors_naming_the_file,
);
