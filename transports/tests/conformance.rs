//! One set of test bodies over every transport (direct, channel, TCP, TLS-TCP, and QUIC with
//! the `quic` feature), stamped out by [`over_transports!`]: the pattern the cross-crate
//! conformance suite follows.

mod common;

use common::{Certs, ctx, within};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::conformance::{Loopback, LoopbackOptions, TransportKind, loopback};
use mltools_transport::test_probe::{
    ProbeClient, ProbeRequest, ProbeResponse, ProbeServer, probe_with,
};
use mltools_transport::{Client, Limits, Service};
use serde_bytes::ByteBuf;
use std::time::Duration;

type Probe = ProbeClient<Client<ProbeRequest, ProbeResponse>>;

/// Hosts `service` over `kind`; TLS-TCP and QUIC get fresh certificates (mutual TLS).
async fn harness(
    kind: TransportKind,
    service: Service<ProbeRequest, ProbeResponse>,
    options: LoopbackOptions,
) -> (Loopback<ProbeRequest, ProbeResponse>, Probe) {
    let mut options = options;
    // The certificates are read when the server binds and the client is made; the files
    // may go after that.
    let certs = Certs::generate();
    options.tls = Some(certs.loopback());
    let host = within("the loopback host", loopback(kind, service, &options))
        .await
        .unwrap_or_else(|error| panic!("{kind}: {error}"));
    let client = ProbeClient::from(host.client());
    (host, client)
}

async fn a_call_round_trips(kind: TransportKind) {
    let (_host, probe) = harness(
        kind,
        probe_with(ProbeServer::default(), Limits::default()),
        LoopbackOptions::default(),
    )
    .await;
    assert_eq!(within("double", probe.double(ctx(), 21)).await.unwrap(), 42);
}

async fn a_panic_is_internal(kind: TransportKind) {
    let (_host, probe) = harness(
        kind,
        probe_with(ProbeServer::default(), Limits::default()),
        LoopbackOptions::default(),
    )
    .await;
    let error = within("fail", probe.fail(ctx(), "boom".into()))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Internal, "{kind}: {error}");
    // Over every transport the caller gets the incident, never the panic's message.
    assert!(error.message.contains("(incident "), "{kind}: {error}");
    assert!(!error.message.contains("boom"), "{kind}: {error}");
}

async fn over_the_limit_is_overloaded(kind: TransportKind) {
    let server = ProbeServer::default();
    let limits = Limits {
        max_in_flight: Some(1),
    };
    let (_host, probe) = harness(
        kind,
        probe_with(server.clone(), limits),
        LoopbackOptions::default(),
    )
    .await;
    let holder = {
        let probe = probe.clone();
        tokio::spawn(async move { probe.hold(ctx()).await })
    };
    within("the held call", server.entered.notified()).await;
    let error = within("double", probe.double(ctx(), 1))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Overloaded, "{kind}: {error}");
    server.release.notify_one();
    assert_eq!(within("the held call", holder).await.unwrap().unwrap(), 7);
}

async fn a_deadline_is_a_timeout(kind: TransportKind) {
    let (_host, probe) = harness(
        kind,
        probe_with(ProbeServer::default(), Limits::default()),
        LoopbackOptions::default(),
    )
    .await;
    let mut short = ctx();
    short.deadline = std::time::Instant::now() + Duration::from_millis(50);
    let error = within("hold", probe.hold(short))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Timeout, "{kind}: {error}");
}

async fn a_large_payload_round_trips(kind: TransportKind) {
    let (_host, probe) = harness(
        kind,
        probe_with(ProbeServer::default(), Limits::default()),
        LoopbackOptions::default(),
    )
    .await;
    let payload = ByteBuf::from((0..8 << 20).map(|i: u32| i as u8).collect::<Vec<u8>>());
    let back = within("echo", probe.echo(ctx(), payload.clone()))
        .await
        .unwrap();
    assert!(
        back == payload,
        "{kind}: the bytes that come back are the bytes sent"
    );
}

/// Only transports that serialize have a frame limit: over them an oversized request is
/// refused at the sender; in process it goes through.
async fn an_oversized_request_is_refused_where_frames_exist(kind: TransportKind) {
    let mut options = LoopbackOptions::default();
    options.server.max_frame_bytes = 64 * 1024;
    options.endpoint.max_frame_bytes = 64 * 1024;
    let (_host, probe) = harness(
        kind,
        probe_with(ProbeServer::default(), Limits::default()),
        options,
    )
    .await;
    let result = within(
        "echo",
        probe.echo(ctx(), ByteBuf::from(vec![0; 128 * 1024])),
    )
    .await;
    if kind.is_remote() {
        let error = result.map(Ok).into_service("probe").unwrap_err();
        assert!(
            error
                .message
                .contains("exceeds the frame limit of 65536 bytes"),
            "{kind}: {error}"
        );
    } else {
        assert_eq!(result.unwrap().len(), 128 * 1024, "{kind}");
    }
    assert_eq!(
        within("double", probe.double(ctx(), 1)).await.unwrap(),
        2,
        "{kind}"
    );
}

/// Stamps out one `#[tokio::test]` per transport for each body.
macro_rules! over_transports {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            use super::TransportKind;

            #[tokio::test]
            async fn direct() {
                super::$body(TransportKind::Direct).await;
            }

            #[tokio::test]
            async fn channel() {
                super::$body(TransportKind::Channel).await;
            }

            #[tokio::test]
            async fn tcp() {
                super::$body(TransportKind::Tcp).await;
            }

            #[tokio::test]
            async fn tls_tcp() {
                super::$body(TransportKind::TlsTcp).await;
            }

            #[cfg(feature = "quic")]
            #[tokio::test]
            async fn quic() {
                super::$body(TransportKind::Quic).await;
            }
        }
    )*};
}

over_transports!(
    a_call_round_trips,
    a_panic_is_internal,
    over_the_limit_is_overloaded,
    a_deadline_is_a_timeout,
    a_large_payload_round_trips,
    an_oversized_request_is_refused_where_frames_exist,
);
