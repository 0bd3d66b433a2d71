//! The client redials by itself: calls fail fast while the server is down, naming the
//! address, and succeed again once it is back.

use crate::common::{client, ctx, endpoint, host, loopback_config, wait_status, within};
use mltools_core::{ErrorKind, RpcResultExt, ServiceError};
use mltools_transport::tcp::TcpEndpoint;
use mltools_transport::{Limits, LinkStatus};
use std::time::Duration;

/// What "fails fast" means here.
const FAST: Duration = Duration::from_secs(1);

async fn fails_fast<F>(call: F) -> ServiceError
where
    F: std::future::Future<Output = Result<u32, tarpc::client::RpcError>>,
{
    let result = tokio::time::timeout(FAST, call)
        .await
        .expect("a call to a down server fails within a second");
    let error = result.map(Ok).into_service("probe").unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    error
}

#[tokio::test]
async fn calls_fail_fast_while_the_server_is_down_and_succeed_once_it_is_back() {
    let first = host(loopback_config(), Limits::default()).await;
    let address = first.server.local_addr();
    let (probe, raw) = client(endpoint(&first.server));
    assert_eq!(
        within("a first call", probe.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );

    first.server.shutdown();
    within("the server to stop", first.server.wait()).await;
    drop(first);
    // At once, before the client has even noticed.
    let error = fails_fast(probe.double(ctx(), 2)).await;
    assert!(
        error
            .message
            .contains(&format!("probe at {address} is unreachable")),
        "{error}"
    );
    // And once it has, while it redials.
    wait_status(&raw, "the link to go down", |s| {
        matches!(s, LinkStatus::Down { .. })
    })
    .await;
    let error = fails_fast(probe.double(ctx(), 3)).await;
    assert!(error.message.contains(&address.to_string()), "{error}");
    assert!(error.message.contains("(retrying)"), "{error}");

    let mut config = loopback_config();
    config.listen = address.to_string();
    let _second = host(config, Limits::default()).await;
    wait_status(&raw, "the client to reconnect", |s| {
        *s == LinkStatus::Connected
    })
    .await;
    assert_eq!(
        within("a call after the restart", probe.double(ctx(), 4))
            .await
            .unwrap(),
        8
    );
}

#[tokio::test]
async fn a_call_in_flight_when_the_server_dies_fails_naming_the_address() {
    let host = host(loopback_config(), Limits::default()).await;
    let address = host.server.local_addr();
    let (probe, _) = client(endpoint(&host.server));
    let holder = {
        let probe = probe.clone();
        tokio::spawn(async move { probe.hold(ctx()).await })
    };
    within("the held call to start", host.probe.entered.notified()).await;
    host.server.shutdown();
    let error = within("the held call to fail", holder)
        .await
        .unwrap()
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert!(
        error.message.contains(&format!("probe at {address}")),
        "{error}"
    );
    // The handler is still on the server's tracker; let it end so the server can.
    host.probe.release.notify_one();
    within("the server to stop", host.server.wait()).await;
}

#[tokio::test]
async fn a_server_that_was_never_there_fails_fast_naming_the_address() {
    let gone = host(loopback_config(), Limits::default()).await;
    let address = gone.server.local_addr();
    gone.server.shutdown();
    within("the server to stop", gone.server.wait()).await;
    drop(gone);
    let (probe, _) = client(TcpEndpoint::new(address.to_string()));
    let error = fails_fast(probe.double(ctx(), 1)).await;
    assert!(
        error
            .message
            .contains(&format!("probe at {address} is unreachable")),
        "{error}"
    );
    assert!(error.message.contains("could not connect"), "{error}");
}
