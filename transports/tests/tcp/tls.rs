//! TLS over TCP: the right CA, a wrong CA, mutual TLS with and without a client
//! certificate, a plaintext client; refusals say why on both sides.

use crate::common::{
    Certs, Logs, client, ctx, down_reason, endpoint, host, loopback_config, within,
};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::tcp::{TcpConfigError, TcpServer, TlsClientConfig};
use mltools_transport::{Limits, ServiceTable};

async fn tls_host(certs: &Certs, mutual: bool) -> crate::common::ProbeHost {
    let mut config = loopback_config();
    config.tls = Some(certs.server(mutual));
    host(config, Limits::default()).await
}

async fn assert_served(host: &crate::common::ProbeHost, tls: TlsClientConfig) {
    let mut endpoint = endpoint(&host.server);
    endpoint.tls = Some(tls);
    let (probe, raw) = client(endpoint);
    assert_eq!(
        within("a call over TLS", probe.double(ctx(), 21))
            .await
            .unwrap(),
        42
    );
    assert_eq!(raw.remote().unwrap().transport(), "tls-tcp");
}

/// A client with `tls` is refused; returns the reason it gives.
async fn refusal(host: &crate::common::ProbeHost, tls: Option<TlsClientConfig>) -> String {
    let mut endpoint = endpoint(&host.server);
    endpoint.tls = tls;
    let (probe, raw) = client(endpoint);
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

#[tokio::test]
async fn tls_with_the_right_ca_serves_calls_with_and_without_mutual_tls() {
    let certs = Certs::generate();
    let host = tls_host(&certs, false).await;
    assert_served(&host, certs.client(&certs.ca, false)).await;
    let mutual = tls_host(&certs, true).await;
    assert_served(&mutual, certs.client(&certs.ca, true)).await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_server_is_refused_and_told_why() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let host = tls_host(&certs, false).await;
    let reason = refusal(&host, Some(certs.client(&certs.other_ca, false))).await;
    assert!(
        reason.contains("the server's certificate is not trusted"),
        "{reason}"
    );
    logs.wait_for(&[
        "refused a connection",
        "TLS handshake failed",
        "does not trust our certificate",
    ])
    .await;
    assert_served(&host, certs.client(&certs.ca, false)).await;
}

#[tokio::test]
async fn mutual_tls_without_a_client_certificate_is_refused_and_told_why() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let host = tls_host(&certs, true).await;
    let reason = refusal(&host, Some(certs.client(&certs.ca, false))).await;
    assert!(
        reason.contains("the server requires a client certificate"),
        "{reason}"
    );
    logs.wait_for(&["refused a connection", "presented no certificate"])
        .await;
    assert_served(&host, certs.client(&certs.ca, true)).await;
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_refused() {
    let certs = Certs::generate();
    let stranger = Certs::generate();
    let host = tls_host(&certs, true).await;
    let mut tls = certs.client(&certs.ca, false);
    tls.cert = Some(stranger.client_cert.clone());
    tls.key = Some(stranger.client_key.clone());
    let reason = refusal(&host, Some(tls)).await;
    assert!(
        reason.contains("did not accept our client certificate"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_plaintext_client_of_a_tls_server_is_refused_and_the_server_keeps_serving() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let host = tls_host(&certs, false).await;
    let reason = refusal(&host, None).await;
    assert!(!reason.is_empty());
    logs.wait_for(&["refused a connection", "TLS handshake failed"])
        .await;
    assert_served(&host, certs.client(&certs.ca, false)).await;
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let certs = Certs::generate();
    let host = tls_host(&certs, false).await;
    let mut tls = certs.client(&certs.ca, false);
    tls.server_name = Some("models.elsewhere.test".into());
    let reason = refusal(&host, Some(tls)).await;
    assert!(
        reason.contains("not valid for the name dialled"),
        "{reason}"
    );
}

#[tokio::test]
async fn unusable_tls_files_are_config_errors_naming_the_file() {
    let certs = Certs::generate();
    let mut config = loopback_config();
    let mut tls = certs.server(false);
    tls.key = Some(certs.dir.path().join("missing.key"));
    config.tls = Some(tls);
    let error = TcpServer::bind(config, ServiceTable::new())
        .await
        .unwrap_err();
    assert!(matches!(error, TcpConfigError::TlsFile { .. }), "{error}");
    assert!(error.to_string().contains("missing.key"), "{error}");
}
