//! A bb8 pool caps a client's calls in flight to one service over TCP.

use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::conformance::{LoopbackOptions, TransportKind, loopback};
use mltools_transport::pool::PoolConfig;
use mltools_transport::tcp::TcpEndpoint;
use mltools_transport::test_probe::{ProbeClient, ProbeServer, probe_with};
use mltools_transport::{Client, Limits};
use std::time::Duration;
use tarpc::context;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_the_pool_size_wait_then_are_refused_as_overloaded() {
    let server = ProbeServer::default();
    let service = probe_with(server.clone(), Limits::default());
    let host = loopback(TransportKind::Tcp, service, &LoopbackOptions::default())
        .await
        .unwrap();
    let address = host.server().unwrap().local_addr().to_string();
    let pool = PoolConfig {
        max_size: 2,
        connection_timeout_ms: 300,
    };
    let client = ProbeClient::from(
        Client::tcp_pooled("probe", TcpEndpoint::new(address.clone()), pool).unwrap(),
    );
    assert_eq!(client.double(context::current(), 4).await.unwrap(), 8);

    // Two calls hold both pooled connections...
    let holders: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.hold(context::current()).await })
        })
        .collect();
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(5), server.entered.notified())
            .await
            .expect("a held call is in the handler");
    }
    // ...so a third waits for one, then is refused, naming the pool.
    let error = client
        .double(context::current(), 1)
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Overloaded, "{error}");
    assert!(
        error.message.contains("all 2 pooled connections"),
        "{error}"
    );
    assert!(error.message.contains(&address), "{error}");

    server.release.notify_waiters();
    for holder in holders {
        assert_eq!(holder.await.unwrap().unwrap(), 7);
    }
    assert_eq!(client.double(context::current(), 5).await.unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_service_is_unavailable_through_the_pool() {
    let closed = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    // A pool patient for a minute: the call must fail on the refused dial itself, long
    // before the pool would give up waiting for a connection.
    let patient = PoolConfig {
        connection_timeout_ms: 60_000,
        ..PoolConfig::default()
    };
    let client = ProbeClient::from(
        Client::tcp_pooled("probe", TcpEndpoint::new(closed.clone()), patient).unwrap(),
    );
    let fails = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.double(context::current(), 1),
    );
    let error = fails
        .await
        .expect("an unreachable peer fails the call fast, not at the pool's timeout")
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert!(error.message.contains(&closed), "{error}");
    // The next call dials again, and fails as fast.
    let again = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.double(context::current(), 2),
    )
    .await
    .expect("the second call fails fast too")
    .map(Ok)
    .into_service("probe")
    .unwrap_err();
    assert_eq!(again.kind, ErrorKind::Unavailable, "{again}");
}
