//! The hello over a QUIC stream: refusals reach the client with their reason; keep-alive
//! holds an idle link open past the idle timeout.

use crate::common::{Certs, ctx, down_reason, within};
use crate::{client, endpoint, host, server_config};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::{LinkStatus, Token};
use std::time::Duration;

#[tokio::test]
async fn a_service_the_node_does_not_host_is_refused_naming_what_it_hosts() {
    let certs = Certs::generate();
    let host = host(server_config(&certs, false)).await;
    let raw = mltools_transport::Client::<
        mltools_transport::test_probe::ProbeRequest,
        mltools_transport::test_probe::ProbeResponse,
    >::quic(
        "models",
        endpoint(&host.server, certs.client(&certs.ca, false)),
    )
    .unwrap();
    let reason = down_reason(&raw).await;
    assert!(
        reason.contains("this node does not host `models` (it hosts: probe)"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_token_is_required_checked_and_then_admits() {
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.token = Some(Token::new("s3cret-s3cret-s3cret"));
    // The refused clients redial; their failures must not back this address off.
    config.max_auth_failures = 1000;
    let host = host(config).await;
    for (token, expected) in [
        (None, "requires a token and none was sent"),
        (
            Some("guess-guess-guess-guess"),
            "the token was not accepted",
        ),
    ] {
        let mut endpoint = endpoint(&host.server, certs.client(&certs.ca, false));
        endpoint.token = token.map(Token::new);
        let (probe, raw) = client(endpoint);
        let error = within("a refused call", probe.double(ctx(), 1))
            .await
            .map(Ok)
            .into_service("probe")
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
        let reason = down_reason(&raw).await;
        assert!(reason.contains(expected), "{reason}");
    }
    let mut endpoint = endpoint(&host.server, certs.client(&certs.ca, false));
    endpoint.token = Some(Token::new("s3cret-s3cret-s3cret"));
    let (probe, _) = client(endpoint);
    assert_eq!(within("double", probe.double(ctx(), 5)).await.unwrap(), 10);
}

#[tokio::test]
async fn keep_alive_holds_an_idle_link_open_past_the_idle_timeout() {
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.max_idle_timeout_ms = 300;
    config.keep_alive_interval_ms = 50;
    let host = host(config).await;
    let mut endpoint = endpoint(&host.server, certs.client(&certs.ca, false));
    endpoint.max_idle_timeout_ms = 300;
    endpoint.keep_alive_interval_ms = 50;
    let (probe, raw) = client(endpoint);
    assert_eq!(within("double", probe.double(ctx(), 1)).await.unwrap(), 2);
    // Four idle timeouts with no calls: the link must not go down.
    let remote = raw.remote().unwrap();
    let went_down = tokio::time::timeout(
        Duration::from_millis(1200),
        remote.wait_for(|status| matches!(status, LinkStatus::Down { .. })),
    )
    .await;
    assert!(
        went_down.is_err(),
        "the idle link went down: {:?}",
        remote.status()
    );
    assert_eq!(within("double", probe.double(ctx(), 2)).await.unwrap(), 4);
}
