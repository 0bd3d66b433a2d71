//! Calls over QUIC: round trips, panics, large payloads, many concurrent calls on one link.

use crate::common::{Certs, ctx, within};
use crate::{client, endpoint, host, server_config};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::quic::{QuicEndpoint, QuicServer};
use mltools_transport::{Client, Limits, ServiceTable};
use serde_bytes::ByteBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tarpc::context;

#[tokio::test]
async fn calls_round_trip_and_a_panic_is_internal() {
    let certs = Certs::generate();
    let host = host(server_config(&certs, true)).await;
    let (probe, raw) = client(endpoint(&host.server, certs.client(&certs.ca, true)));
    assert_eq!(within("double", probe.double(ctx(), 21)).await.unwrap(), 42);
    assert_eq!(raw.remote().unwrap().transport(), "quic");
    let error = within("fail", probe.fail(ctx(), "row 3 is cursed".into()))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Internal, "{error}");
    assert!(error.message.contains("(incident "), "{error}");
    assert!(!error.message.contains("row 3 is cursed"), "{error}");
    // The link survives the panic.
    assert_eq!(within("double", probe.double(ctx(), 2)).await.unwrap(), 4);
    let payload = ByteBuf::from((0..=255u8).cycle().take(4 << 20).collect::<Vec<u8>>());
    let back = within("echo", probe.echo(ctx(), payload.clone()))
        .await
        .unwrap();
    assert!(back == payload, "4 MiB come back intact");
}

/// A service whose every call waits until `n` calls are inside it at once.
#[tarpc::service]
trait Meet {
    /// Enters; returns once every expected caller has entered.
    async fn meet() -> usize;
}

#[derive(Clone)]
struct MeetServer {
    barrier: Arc<tokio::sync::Barrier>,
    inside: Arc<AtomicUsize>,
}

impl Meet for MeetServer {
    async fn meet(self, _: context::Context) -> usize {
        let inside = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.barrier.wait().await;
        inside
    }
}

/// 500 calls in flight at once on one client: each waits until all 500 are inside the
/// handler, so if anything capped the calls in flight (quinn's default of 100 concurrent
/// streams, were calls mapped to streams) this would hang and fail at the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_calls_in_flight_at_once_on_one_client_all_complete() {
    const CALLS: usize = 500;
    let certs = Certs::generate();
    let server = MeetServer {
        barrier: Arc::new(tokio::sync::Barrier::new(CALLS)),
        inside: Arc::new(AtomicUsize::new(0)),
    };
    let service = mltools_transport::service!("meet", Limits::default(), server.clone().serve());
    let quic = within(
        "the server to bind",
        QuicServer::bind(
            server_config(&certs, true),
            ServiceTable::new().with(service),
        ),
    )
    .await
    .unwrap();
    let mut endpoint =
        QuicEndpoint::new(quic.local_addr().to_string(), certs.client(&certs.ca, true));
    endpoint.backoff_max_ms = 100;
    let client = MeetClient::from(Client::quic("meet", endpoint).unwrap());
    let calls: Vec<_> = (0..CALLS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.meet(ctx()).await })
        })
        .collect();
    let mut most_inside = 0;
    for call in calls {
        let inside = within("500 concurrent calls", call).await.unwrap().unwrap();
        most_inside = most_inside.max(inside);
    }
    assert_eq!(most_inside, CALLS);
    assert_eq!(server.inside.load(Ordering::SeqCst), CALLS);
}

/// A graceful stop over QUIC: the call in flight is answered (written, then acknowledged
/// before the connection closes) although `shutdown` came before it ended; new calls on the
/// open link are answered `Unavailable` by the closed gate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_answers_the_call_in_flight_and_refuses_new_ones() {
    use mltools_transport::test_probe::{ProbeServer, probe_with};
    let certs = Certs::generate();
    let server_probe = ProbeServer::default();
    let service = probe_with(server_probe.clone(), Limits::default());
    let gate = service.gate();
    let server = QuicServer::bind(
        server_config(&certs, true),
        ServiceTable::new().with(service),
    )
    .await
    .unwrap();
    let (probe, _) = client(endpoint(&server, certs.client(&certs.ca, true)));
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

    server_probe.release.notify_one();
    assert_eq!(within("the held call", held).await.unwrap().unwrap(), 7);
    within("the server to stop", server.wait()).await;
}
