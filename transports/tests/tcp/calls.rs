//! Calls and their errors over TCP: every codec, panics, limits, deadlines, refusals.

use crate::common::{client, ctx, endpoint, host, loopback_config, within};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::tcp::{TcpConfigError, TcpEndpoint, TcpServer, TcpServerConfig};
use mltools_transport::test_probe::{ProbeClient, ProbeRequest, ProbeResponse};
use mltools_transport::{Client, Codec, Limits, ServiceTable};
use serde_bytes::ByteBuf;
use std::time::Duration;
use tarpc::client::RpcError;

#[tokio::test]
async fn calls_round_trip_in_every_codec_the_client_chooses() {
    let host = host(loopback_config(), Limits::default()).await;
    for codec in Codec::ALL {
        let mut endpoint = endpoint(&host.server);
        endpoint.codec = codec;
        let (probe, _) = client(endpoint);
        assert_eq!(
            within("double", probe.double(ctx(), 21)).await.unwrap(),
            42,
            "{codec}"
        );
        let payload = ByteBuf::from((0..=255u8).cycle().take(100_000).collect::<Vec<u8>>());
        let back = within("echo", probe.echo(ctx(), payload.clone()))
            .await
            .unwrap();
        assert_eq!(back, payload, "{codec}");
    }
}

#[tokio::test]
async fn a_panic_is_answered_as_internal_and_the_connection_keeps_serving() {
    let host = host(loopback_config(), Limits::default()).await;
    let (probe, _) = client(endpoint(&host.server));
    let error = within("fail", probe.fail(ctx(), "row 3 is cursed".into()))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Internal);
    assert!(error.message.contains("probe.fail"), "{error}");
    assert!(error.message.contains("(incident "), "{error}");
    assert!(!error.message.contains("row 3 is cursed"), "{error}");
    assert_eq!(within("double", probe.double(ctx(), 2)).await.unwrap(), 4);
}

/// Holds one call in flight on `probe`, runs `check`, releases the held call.
async fn with_one_call_held<F: std::future::Future<Output = ()>>(
    host: &crate::common::ProbeHost,
    probe: &ProbeClient<Client<ProbeRequest, ProbeResponse>>,
    check: F,
) {
    let holder = {
        let probe = probe.clone();
        tokio::spawn(async move { probe.hold(ctx()).await })
    };
    within("the held call to start", host.probe.entered.notified()).await;
    check.await;
    host.probe.release.notify_one();
    let held = within("the held call", holder).await.unwrap();
    assert_eq!(held.unwrap(), 7, "the held call is unaffected");
}

#[tokio::test]
async fn calls_over_the_per_connection_limit_are_overloaded() {
    let mut config = loopback_config();
    config.max_requests_per_connection = 1;
    let host = host(config, Limits::default()).await;
    let (probe, _) = client(endpoint(&host.server));
    with_one_call_held(&host, &probe, async {
        let error = within("double", probe.double(ctx(), 1))
            .await
            .map(Ok)
            .into_service("probe")
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Overloaded, "{error}");
        assert!(
            error
                .message
                .contains("1 requests already in flight on this connection"),
            "{error}"
        );
    })
    .await;
    assert_eq!(within("double", probe.double(ctx(), 3)).await.unwrap(), 6);
}

#[tokio::test]
async fn calls_over_the_service_limit_are_overloaded_naming_the_limit() {
    let limits = Limits {
        max_in_flight: Some(1),
    };
    let host = host(loopback_config(), limits).await;
    let (probe, _) = client(endpoint(&host.server));
    with_one_call_held(&host, &probe, async {
        let error = within("double", probe.double(ctx(), 1))
            .await
            .map(Ok)
            .into_service("probe")
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Overloaded, "{error}");
        assert!(
            error.message.contains("1 calls already in flight"),
            "{error}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_call_past_its_deadline_times_out_and_the_connection_keeps_serving() {
    let host = host(loopback_config(), Limits::default()).await;
    let (probe, _) = client(endpoint(&host.server));
    let mut short = ctx();
    short.deadline = std::time::Instant::now() + Duration::from_millis(100);
    let result = within("the deadline", probe.hold(short)).await;
    assert!(
        matches!(result, Err(RpcError::DeadlineExceeded)),
        "{result:?}"
    );
    let error = result.map(Ok).into_service("probe").unwrap_err();
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert_eq!(within("double", probe.double(ctx(), 5)).await.unwrap(), 10);
}

#[tokio::test]
async fn a_service_the_node_does_not_host_is_refused_naming_what_it_hosts() {
    let host = host(loopback_config(), Limits::default()).await;
    let raw = Client::<ProbeRequest, ProbeResponse>::tcp("models", endpoint(&host.server)).unwrap();
    let error = within("the call", ProbeClient::from(raw).double(ctx(), 1))
        .await
        .map(Ok)
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable);
    let address = host.server.local_addr().to_string();
    assert!(
        error.message.contains(&format!("models at {address}")),
        "{error}"
    );
    assert!(
        error
            .message
            .contains("does not host `models` (it hosts: probe)"),
        "{error}"
    );
}

#[tokio::test]
async fn plaintext_off_loopback_is_refused_at_listen_and_at_connect() {
    let error = TcpServer::bind(TcpServerConfig::new("0.0.0.0:0"), ServiceTable::new())
        .await
        .unwrap_err();
    assert!(matches!(error, TcpConfigError::Plaintext { .. }), "{error}");
    assert!(error.to_string().contains("0.0.0.0:0"), "{error}");
    // A documentation address (TEST-NET-1): refused before any packet is sent.
    let error =
        Client::<ProbeRequest, ProbeResponse>::tcp("probe", TcpEndpoint::new("192.0.2.1:4433"))
            .unwrap_err();
    assert!(matches!(error, TcpConfigError::Plaintext { .. }), "{error}");
    assert!(error.to_string().contains("192.0.2.1:4433"), "{error}");
    assert!(error.to_string().contains("insecure = true"), "{error}");
}

/// A graceful stop: no new connections, new calls on the open ones answered `Unavailable`
/// by the closed gate, and the call in flight still answered although `shutdown` came
/// before it ended (the connection drains before it closes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_answers_the_call_in_flight_and_refuses_new_ones() {
    use mltools_transport::test_probe::{ProbeServer, probe_with};
    let server_probe = ProbeServer::default();
    let service = probe_with(server_probe.clone(), Limits::default());
    let gate = service.gate();
    let server = TcpServer::bind(loopback_config(), ServiceTable::new().with(service))
        .await
        .unwrap();
    let (probe, _) = client(endpoint(&server));
    let held = tokio::spawn({
        let probe = probe.clone();
        async move { probe.hold(ctx()).await }
    });
    within("the call to enter", server_probe.entered.notified()).await;

    server.stop_accepting();
    gate.close();
    server.shutdown();
    let refused = within("a new call while stopping", probe.double(ctx(), 1))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Unavailable, "{refused}");
    let (newcomer, _) = client(endpoint(&server));
    let error = within("a new connection", newcomer.double(ctx(), 1))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");

    server_probe.release.notify_one();
    assert_eq!(within("the held call", held).await.unwrap().unwrap(), 7);
    within("the server to stop", server.wait()).await;
}
