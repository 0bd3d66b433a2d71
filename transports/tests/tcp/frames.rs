//! Frame limits: a request or response over the limit is a clear error at its sender, and
//! costs no one else their connection.

use crate::common::{ProbeHost, client, ctx, endpoint, host, loopback_config, within};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::codec::Outgoing;
use mltools_transport::remote::WireError;
use mltools_transport::test_probe::{ProbeClient, ProbeRequest, ProbeResponse};
use mltools_transport::{Client, Codec, Limits, LinkStatus};
use serde_bytes::ByteBuf;
use std::io;
use tarpc::client::RpcError;

const LIMIT: u64 = 256 * 1024;

async fn limited_host(server_limit: u64) -> ProbeHost {
    let mut config = loopback_config();
    config.max_frame_bytes = server_limit;
    host(config, Limits::default()).await
}

fn limited_client(
    host: &ProbeHost,
    client_limit: u64,
) -> (
    ProbeClient<Client<ProbeRequest, ProbeResponse>>,
    Client<ProbeRequest, ProbeResponse>,
) {
    let mut endpoint = endpoint(&host.server);
    endpoint.max_frame_bytes = client_limit;
    client(endpoint)
}

/// Runs `check` while another call on the same connection is in flight, and asserts that
/// call still completes: an oversized message must not cost the connection.
async fn beside_a_held_call<F: std::future::Future<Output = ()>>(
    host: &ProbeHost,
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
    assert_eq!(
        held.unwrap(),
        7,
        "the call beside the oversized one still completes"
    );
}

fn assert_refused_at_the_sender(result: Result<ByteBuf, RpcError>, limit: u64) {
    let Err(RpcError::Send(cause)) = &result else {
        panic!("expected a send refusal, got {result:?}");
    };
    let Some(WireError::FrameTooLarge(too_large)) = cause.downcast_ref::<WireError>() else {
        panic!("expected a frame-size error, got {cause}");
    };
    assert_eq!(too_large.limit, limit);
    assert!(too_large.size > limit);
    let text = too_large.to_string();
    assert!(text.contains("a request of"), "{text}");
    assert!(
        text.contains(&format!("exceeds the frame limit of {limit} bytes")),
        "{text}"
    );
    let error = result.map(Ok).into_service("probe").unwrap_err();
    assert!(
        error
            .message
            .contains(&format!("frame limit of {limit} bytes")),
        "{error}"
    );
}

#[tokio::test]
async fn a_request_under_the_limit_goes_and_one_over_is_refused_at_the_sender() {
    let host = limited_host(LIMIT).await;
    let (probe, raw) = limited_client(&host, LIMIT);
    beside_a_held_call(&host, &probe, async {
        let under = ByteBuf::from(vec![1u8; (LIMIT - 1024) as usize]);
        let back = within("echo under the limit", probe.echo(ctx(), under.clone())).await;
        assert_eq!(back.unwrap(), under);
        let over = ByteBuf::from(vec![1u8; LIMIT as usize]);
        let result = within("echo over the limit", probe.echo(ctx(), over)).await;
        assert_refused_at_the_sender(result, LIMIT);
    })
    .await;
    assert_eq!(raw.remote().unwrap().status(), LinkStatus::Connected);
}

/// The `blob` length whose response frame is exactly `limit` bytes (postcard).
fn blob_len_filling(limit: u64) -> u64 {
    let size = |len: u64| {
        let response = tarpc::Response {
            request_id: 1,
            message: Ok(ProbeResponse::Blob(ByteBuf::from(vec![0; len as usize]))),
        };
        response.encode(Codec::Postcard).unwrap().len() as u64
    };
    let mut len = limit - (size(limit) - limit);
    while size(len) < limit {
        len += 1;
    }
    assert_eq!(size(len), limit, "a response of exactly the limit exists");
    len
}

#[tokio::test]
async fn a_response_at_the_limit_arrives_and_one_over_is_an_error_naming_the_limit() {
    let host = limited_host(LIMIT).await;
    let (probe, raw) = limited_client(&host, LIMIT);
    let at_limit = blob_len_filling(LIMIT);
    beside_a_held_call(&host, &probe, async {
        let blob = within("a blob at the limit", probe.blob(ctx(), at_limit)).await;
        assert_eq!(blob.unwrap().len() as u64, at_limit);
        let result = within("a blob over the limit", probe.blob(ctx(), at_limit + 1)).await;
        let Err(RpcError::Server(error)) = &result else {
            panic!("expected a server error, got {result:?}");
        };
        assert_eq!(error.kind, io::ErrorKind::InvalidInput);
        assert!(
            error
                .detail
                .contains(&format!("a response of {} bytes", LIMIT + 1)),
            "{}",
            error.detail
        );
        assert!(
            error
                .detail
                .contains(&format!("frame limit of {LIMIT} bytes")),
            "{}",
            error.detail
        );
    })
    .await;
    assert_eq!(raw.remote().unwrap().status(), LinkStatus::Connected);
    assert_eq!(within("double", probe.double(ctx(), 1)).await.unwrap(), 2);
}

#[tokio::test]
async fn mismatched_limits_are_negotiated_down_to_the_smaller() {
    // The client allows more than the server: its request is refused at the client, naming
    // the server's limit, instead of the server dropping the connection.
    let host = limited_host(LIMIT).await;
    let (probe, _) = limited_client(&host, 4 * LIMIT);
    let result = within(
        "echo",
        probe.echo(ctx(), ByteBuf::from(vec![0; 2 * LIMIT as usize])),
    )
    .await;
    assert_refused_at_the_sender(result, LIMIT);

    // The server allows more than the client: its response is replaced by an error naming
    // the client's limit.
    let host = limited_host(4 * LIMIT).await;
    let (probe, _) = limited_client(&host, LIMIT);
    let error = within("blob", probe.blob(ctx(), 2 * LIMIT))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert!(
        error
            .message
            .contains(&format!("frame limit of {LIMIT} bytes")),
        "{error}"
    );
    assert_ne!(
        error.kind,
        ErrorKind::Unavailable,
        "the connection survived: {error}"
    );
    assert_eq!(within("double", probe.double(ctx(), 1)).await.unwrap(), 2);
}
