//! TLS over QUIC: a wrong CA, mutual TLS without or with a foreign client certificate;
//! refusals say why on both sides.

use crate::common::{Certs, Logs, ctx, down_reason, within};
use crate::{QuicHost, client, endpoint, host, server_config};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::ServiceTable;
use mltools_transport::quic::{QuicConfigError, QuicEndpoint, QuicServer};
use mltools_transport::tcp::TlsClientConfig;

/// A client with `tls` is refused; returns the reason it gives.
async fn refusal(host: &QuicHost, tls: TlsClientConfig) -> String {
    let (probe, raw) = client(endpoint(&host.server, tls));
    let error = within("a refused call", probe.double(ctx(), 1))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert!(
        error
            .message
            .contains(&host.server.local_addr().to_string()),
        "{error}"
    );
    down_reason(&raw).await
}

async fn assert_served(host: &QuicHost, tls: TlsClientConfig) {
    let (probe, _) = client(endpoint(&host.server, tls));
    assert_eq!(
        within("a call over QUIC", probe.double(ctx(), 21))
            .await
            .unwrap(),
        42
    );
}

#[tokio::test]
async fn without_mutual_tls_a_client_with_the_right_ca_is_served() {
    let certs = Certs::generate();
    let host = host(server_config(&certs, false)).await;
    assert_served(&host, certs.client(&certs.ca, false)).await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_server_is_refused_and_told_why() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let host = host(server_config(&certs, false)).await;
    let reason = refusal(&host, certs.client(&certs.other_ca, false)).await;
    assert!(
        reason.contains("the server's certificate is not trusted"),
        "{reason}"
    );
    logs.wait_for(&["refused a connection", "does not trust our certificate"])
        .await;
    assert_served(&host, certs.client(&certs.ca, false)).await;
}

#[tokio::test]
async fn mutual_tls_without_a_client_certificate_is_refused_and_told_why() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let host = host(server_config(&certs, true)).await;
    let reason = refusal(&host, certs.client(&certs.ca, false)).await;
    assert!(
        reason.contains("the server requires a client certificate"),
        "{reason}"
    );
    logs.wait_for(&[
        "refused a connection",
        "the client presented no certificate",
    ])
    .await;
    assert_served(&host, certs.client(&certs.ca, true)).await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let certs = Certs::generate();
    let foreign = Certs::generate();
    let host = host(server_config(&certs, true)).await;
    let mut tls = certs.client(&certs.ca, true);
    tls.cert = Some(foreign.client_cert.clone());
    tls.key = Some(foreign.client_key.clone());
    let reason = refusal(&host, tls).await;
    assert!(
        reason.contains("the server did not accept our client certificate"),
        "{reason}"
    );
}

#[tokio::test]
async fn unusable_tls_files_are_config_errors_naming_the_file() {
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.tls.key = Some(certs.dir.path().join("missing.key"));
    let error = QuicServer::bind(config, ServiceTable::new())
        .await
        .unwrap_err();
    assert!(matches!(error, QuicConfigError::Tls(_)), "{error}");
    assert!(error.to_string().contains("missing.key"), "{error}");
    let mut tls = certs.client(&certs.ca, false);
    tls.ca = Some(certs.dir.path().join("missing-ca.pem"));
    let error = mltools_transport::Client::<
        mltools_transport::test_probe::ProbeRequest,
        mltools_transport::test_probe::ProbeResponse,
    >::quic("probe", QuicEndpoint::new("127.0.0.1:4433", tls))
    .unwrap_err();
    assert!(error.to_string().contains("missing-ca.pem"), "{error}");
}
