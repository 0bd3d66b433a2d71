//! ALPN: a peer that does not speak `mltools/1` is refused, whichever end it is.

use crate::common::{Certs, Logs, ctx, down_reason, within};
use crate::{client, endpoint, host, server_config};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::quic::QuicEndpoint;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A bare quinn client trusting `certs`' CA and announcing `alpn`.
pub(crate) fn raw_client(certs: &Certs, alpn: &[&[u8]]) -> quinn::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&certs.ca).unwrap())
        .unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    quinn::ClientConfig::new(Arc::new(
        quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap(),
    ))
}

async fn raw_connect(config: quinn::ClientConfig, to: SocketAddr) -> quinn::ConnectionError {
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let connecting = endpoint.connect_with(config, to, "localhost").unwrap();
    within("a raw QUIC handshake to fail", async {
        match connecting.await {
            // If the handshake passed on our side, the server's verdict ends the connection.
            Ok(connection) => connection.closed().await,
            Err(error) => error,
        }
    })
    .await
}

#[tokio::test]
async fn a_client_speaking_another_protocol_is_refused() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let host = host(server_config(&certs, false)).await;
    let address = host.server.local_addr();
    let error = raw_connect(raw_client(&certs, &[b"other/1"]), address).await;
    assert!(
        matches!(error, quinn::ConnectionError::ConnectionClosed(_)),
        "{error}"
    );
    logs.wait_for(&["refused a connection", "does not speak mltools/1"])
        .await;
    // A client announcing no protocol at all is refused too.
    let error = raw_connect(raw_client(&certs, &[]), address).await;
    assert!(
        !matches!(error, quinn::ConnectionError::LocallyClosed),
        "{error}"
    );
    // The server goes on serving clients that speak mltools/1.
    let (probe, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(within("double", probe.double(ctx(), 4)).await.unwrap(), 8);
}

#[tokio::test]
async fn a_server_speaking_another_protocol_is_refused_and_the_client_says_so() {
    let certs = Certs::generate();
    let chain = CertificateDer::pem_file_iter(&certs.server_cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&certs.server_key).unwrap();
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    tls.alpn_protocols = vec![b"other/1".to_vec()];
    let config = quinn::ServerConfig::with_crypto(Arc::new(
        quinn::crypto::rustls::QuicServerConfig::try_from(tls).unwrap(),
    ));
    let other = quinn::Endpoint::server(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let address = other.local_addr().unwrap();
    let accepting = {
        let other = other.clone();
        tokio::spawn(async move {
            while let Some(incoming) = other.accept().await {
                let _ = incoming.await;
            }
        })
    };
    let (probe, raw) = client(QuicEndpoint::new(
        address.to_string(),
        certs.client(&certs.ca, false),
    ));
    let error = within("a refused call", probe.double(ctx(), 1))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert!(error.message.contains(&address.to_string()), "{error}");
    let reason = down_reason(&raw).await;
    assert!(reason.contains("does not speak mltools/1"), "{reason}");
    assert!(reason.contains("ALPN"), "{reason}");
    other.close(0u32.into(), b"done");
    accepting.abort();
}

/// Opens a raw QUIC connection speaking `mltools/1` (no client certificate).
async fn raw_mltools_connection(certs: &Certs, to: SocketAddr) -> quinn::Connection {
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let connecting = endpoint
        .connect_with(raw_client(certs, &[b"mltools/1"]), to, "localhost")
        .unwrap();
    within("a raw mltools/1 handshake", connecting)
        .await
        .unwrap()
}

#[tokio::test]
async fn hostile_bytes_on_a_stream_close_only_that_stream_and_others_are_served() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let host = host(server_config(&certs, false)).await;
    let address = host.server.local_addr();
    let (probe, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(within("double", probe.double(ctx(), 1)).await.unwrap(), 2);

    // Garbage where the hello should be: "GET " read as a huge length prefix.
    let connection = raw_mltools_connection(&certs, address).await;
    let (mut send, mut receive) = connection.open_bi().await.unwrap();
    send.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let _ = send.finish();
    let answer = within("the server to close the stream", receive.read_to_end(1024)).await;
    assert!(
        matches!(&answer, Ok(bytes) if bytes.is_empty()) || answer.is_err(),
        "{answer:?}"
    );

    // Half a frame, then the stream ends.
    let (mut send, mut receive) = connection.open_bi().await.unwrap();
    send.write_all(&[0, 0, 0, 200, 1, 2, 3]).await.unwrap();
    let _ = send.finish();
    let _ = within(
        "the server to drop the half frame",
        receive.read_to_end(1024),
    )
    .await;

    // A maximal length prefix.
    let (mut send, mut receive) = connection.open_bi().await.unwrap();
    send.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let _ = within("the server to refuse the prefix", receive.read_to_end(1024)).await;
    logs.wait_for(&["127.0.0.1"]).await;

    // The existing client and a new one are still served.
    assert_eq!(within("double", probe.double(ctx(), 4)).await.unwrap(), 8);
    let (fresh, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(within("double", fresh.double(ctx(), 5)).await.unwrap(), 10);
}

#[tokio::test]
async fn a_flood_of_connections_is_bounded_and_the_server_keeps_serving() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.max_connections = 4;
    config.max_pending_per_ip = 4;
    config.handshake_timeout_ms = 300;
    let host = host(config).await;
    let address = host.server.local_addr();
    let (before, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(
        within("a first call", before.double(ctx(), 0))
            .await
            .unwrap(),
        0
    );

    // Forty connections that never open a stream: past the per-address cap of pending
    // connections they are refused at once, the others are closed once they have had no
    // stream welcomed in time; none is served, and none takes an admitted slot.
    let local = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut pending = Vec::new();
    let mut refused = 0;
    for _ in 0..40 {
        let connecting = local
            .connect_with(raw_client(&certs, &[b"mltools/1"]), address, "localhost")
            .unwrap();
        match within("a flooding handshake", connecting).await {
            Ok(connection) => pending.push(connection),
            Err(_) => refused += 1,
        }
    }
    assert!(
        refused >= 36,
        "the per-address cap refused only {refused} of 40"
    );
    let (_, admitted) = host.server.connections();
    assert_eq!(admitted, 1, "only the real client is admitted");
    // Served while the flood holds the pending slots.
    assert_eq!(
        within("a call during the flood", before.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );
    for connection in pending {
        let reason = within(
            "the server to close an idle connection",
            connection.closed(),
        )
        .await;
        assert!(
            matches!(&reason, quinn::ConnectionError::ApplicationClosed(close)
                if close.reason.as_ref() == b"no stream welcomed in time"),
            "{reason:?}"
        );
    }
    logs.wait_for(&[
        "refused a connection at arrival",
        "127.0.0.1 already has 4 pending handshakes (max_pending_per_ip)",
    ])
    .await;
    logs.wait_for(&[
        "closed a connection that had no stream welcomed in time",
        "timeout_ms=300",
    ])
    .await;
    // The slots are free again: the existing client and a new one are served.
    assert_eq!(within("double", before.double(ctx(), 3)).await.unwrap(), 6);
    let (fresh, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(within("double", fresh.double(ctx(), 5)).await.unwrap(), 10);
}

#[tokio::test]
async fn a_connection_whose_streams_say_nothing_or_half_a_hello_is_closed_whole() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.handshake_timeout_ms = 300;
    let host = host(config).await;
    let address = host.server.local_addr();
    let local = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    for half_hello in [false, true] {
        let connection = within(
            "a handshake",
            local
                .connect_with(raw_client(&certs, &[b"mltools/1"]), address, "localhost")
                .unwrap(),
        )
        .await
        .unwrap();
        let (mut send, _receive) = connection.open_bi().await.unwrap();
        // A stream is only seen by the server once something is sent on it.
        let bytes: &[u8] = if half_hello {
            &[0, 0, 0, 40, 1, 2]
        } else {
            &[0, 0]
        };
        send.write_all(bytes).await.unwrap();
        let reason = within("the server to close the connection", connection.closed()).await;
        assert!(
            matches!(&reason, quinn::ConnectionError::ApplicationClosed(close)
                if close.reason.as_ref() == b"no stream welcomed in time"),
            "{reason:?}"
        );
    }
    logs.wait_for(&["closed a connection that had no stream welcomed in time"])
        .await;
    assert_eq!(host.server.connections(), (0, 0));
    let (fresh, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(within("double", fresh.double(ctx(), 5)).await.unwrap(), 10);
}
