//! The peer going away: calls fail fast as unavailable naming the address, and succeed
//! again once a server is back on the same port.

use crate::common::{Certs, ctx, wait_status, within};
use crate::{client, endpoint, host, host_again, server_config};
use mltools_core::{ErrorKind, RpcResultExt, ServiceError};
use mltools_transport::LinkStatus;
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
    let certs = Certs::generate();
    let first = host(server_config(&certs, true)).await;
    let address = first.server.local_addr();
    let (probe, raw) = client(endpoint(&first.server, certs.client(&certs.ca, true)));
    assert_eq!(
        within("a first call", probe.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );

    first.server.shutdown();
    within("the server to stop", first.server.wait()).await;
    drop(first);
    // At once, whether or not the client has noticed yet.
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

    let mut config = server_config(&certs, true);
    config.listen = address.to_string();
    let _second = host_again(config).await;
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
async fn a_call_in_flight_when_the_server_stops_fails_naming_the_address() {
    let certs = Certs::generate();
    let host = host(server_config(&certs, false)).await;
    let address = host.server.local_addr();
    let (probe, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
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
    host.probe.release.notify_one();
    within("the server to stop", host.server.wait()).await;
}
