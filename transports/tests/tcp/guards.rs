//! What bounds an admitted connection and a hostile peer: extreme deadlines, a frame begun
//! and not finished, idleness, failed authentications, and the hosted services kept from
//! peers that have not authenticated.

use crate::common::{
    EXTREME_DEADLINES, Logs, client, ctx, decode_double, down_reason, endpoint, host,
    loopback_config, raw_double, within,
};
use crate::hostile::{admitted_raw, closed_by_the_server, read_frame, still_serving, write_frame};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::remote::hello::preamble_frame;
use mltools_transport::remote::{Answer, Hello, PROTOCOL_VERSION, Refusal};
use mltools_transport::tcp::{TcpConfigError, TcpEndpoint, TcpServerConfig};
use mltools_transport::{Codec, Limits, LinkStatus, Token};
use std::collections::BTreeMap;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const TOKEN: &str = "a-token-of-twenty-bytes";

#[tokio::test]
async fn extreme_deadlines_are_clamped_not_a_panic() {
    let logs = Logs::capture();
    let host = host(loopback_config(), Limits::default()).await;
    let mut raw = admitted_raw(host.server.local_addr()).await;
    for (id, secs, nanos) in EXTREME_DEADLINES {
        write_frame(&mut raw, &raw_double(id, id as u32, secs, nanos)).await;
    }
    // Every call but the one whose deadline is already past is answered; that one may be
    // answered or dropped at its deadline.
    let mut answers = BTreeMap::new();
    while answers.keys().filter(|id| **id >= 2).count() < 4 {
        let (id, answer) = decode_double(&within("an answer", read_frame(&mut raw)).await);
        answers.insert(id, answer);
    }
    for id in 2..=5u64 {
        assert_eq!(answers[&id], Ok(2 * id as u32), "request {id}");
    }
    // A deadline no `Duration` holds is a malformed request: the connection is closed,
    // naming the peer, and nothing panics.
    let peer = raw.local_addr().unwrap().to_string();
    write_frame(&mut raw, &raw_double(6, 6, u64::MAX, u32::MAX)).await;
    closed_by_the_server(raw).await;
    logs.wait_for(&["closing the connection", &peer, "postcard could not decode"])
        .await;
    let (fresh, _) = client(endpoint(&host.server));
    assert_eq!(
        within("a legitimate call", fresh.double(ctx(), 21))
            .await
            .unwrap(),
        42
    );
}

#[tokio::test]
async fn a_frame_begun_and_not_finished_in_time_closes_only_its_connection() {
    let logs = Logs::capture();
    let mut config = loopback_config();
    config.frame_timeout_ms = 200;
    let host = host(config, Limits::default()).await;
    let (before, _) = client(endpoint(&host.server));
    assert_eq!(
        within("a first call", before.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );
    let mut raw = admitted_raw(host.server.local_addr()).await;
    let peer = raw.local_addr().unwrap().to_string();
    raw.write_all(&[0, 0, 0, 100, 1, 2, 3]).await.unwrap();
    let started = std::time::Instant::now();
    closed_by_the_server(raw).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    logs.wait_for(&[
        &peer,
        "a frame begun was not finished within 200 ms (3 bytes buffered)",
    ])
    .await;
    still_serving(&host, &before).await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_and_its_client_redials_on_its_next_call() {
    let logs = Logs::capture();
    let mut config = loopback_config();
    config.idle_timeout_ms = 200;
    let host = host(config, Limits::default()).await;
    // A raw admitted connection that sends nothing more is closed.
    let raw = admitted_raw(host.server.local_addr()).await;
    closed_by_the_server(raw).await;
    // A real client: its link goes down once idle, and its next call redials.
    let (probe, raw) = client(endpoint(&host.server));
    assert_eq!(
        within("a first call", probe.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );
    logs.wait_for(&[
        "connection lost; redialling",
        "the server closed the connection",
    ])
    .await;
    assert_eq!(
        within("a call after idling", probe.double(ctx(), 2))
            .await
            .unwrap(),
        4
    );
    // A call in flight longer than the idle timeout keeps its connection.
    let held = tokio::spawn({
        let probe = probe.clone();
        async move { probe.hold(ctx()).await }
    });
    within("the held call", host.probe.entered.notified()).await;
    let remote = raw.remote().unwrap();
    let went_down = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        remote.wait_for(|status| matches!(status, LinkStatus::Down { .. })),
    )
    .await;
    assert!(
        went_down.is_err(),
        "a link with a call in flight was idled out"
    );
    host.probe.release.notify_one();
    assert_eq!(within("the held answer", held).await.unwrap().unwrap(), 7);
}

#[tokio::test]
async fn failed_authentications_back_the_address_off() {
    let logs = Logs::capture();
    let mut config = loopback_config();
    config.token = Some(Token::new(TOKEN));
    config.max_auth_failures = 2;
    let host = host(config, Limits::default()).await;
    for _ in 0..2 {
        let mut endpoint = endpoint(&host.server);
        endpoint.token = Some(Token::new("not-the-token-at-all"));
        let (_probe, raw) = client(endpoint);
        assert!(
            down_reason(&raw)
                .await
                .contains("the token was not accepted")
        );
    }
    logs.wait_for(&["too many failed authentications", "127.0.0.1"])
        .await;
    // The right token, from the same address, is refused at arrival for a while.
    let mut good = endpoint(&host.server);
    good.token = Some(Token::new(TOKEN));
    let (probe, _) = client(good);
    let error = within("a call while backing off", probe.double(ctx(), 1))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    logs.wait_for(&[
        "refused a connection at arrival",
        "127.0.0.1 failed to authenticate 2 times",
    ])
    .await;
}

#[tokio::test]
async fn the_hosted_services_are_named_only_to_an_authenticated_peer() {
    let mut config = loopback_config();
    config.token = Some(Token::new(TOKEN));
    let host = host(config, Limits::default()).await;
    for (token, expected) in [
        (None, Refusal::MissingToken),
        (Some("not-the-token-at-all"), Refusal::BadToken),
    ] {
        let mut stream = TcpStream::connect(host.server.local_addr()).await.unwrap();
        let hello = Hello {
            protocol: PROTOCOL_VERSION,
            service: "models".into(),
            token: token.map(str::to_owned),
            codec: Codec::Postcard,
            max_frame_bytes: 1 << 20,
        };
        write_frame(&mut stream, &preamble_frame(&hello).unwrap()).await;
        let answer: Answer = Codec::Postcard
            .decode(&within("the refusal", read_frame(&mut stream)).await)
            .unwrap();
        assert_eq!(answer, Answer::Refused { reason: expected });
    }
    // Authenticated, the peer learns what is hosted.
    let mut endpoint = endpoint(&host.server);
    endpoint.token = Some(Token::new(TOKEN));
    let raw = mltools_transport::Client::<
        mltools_transport::test_probe::ProbeRequest,
        mltools_transport::test_probe::ProbeResponse,
    >::tcp("models", endpoint)
    .unwrap();
    let reason = down_reason(&raw).await;
    assert!(
        reason.contains("does not host `models` (it hosts: probe)"),
        "{reason}"
    );
}

#[test]
fn a_short_token_is_refused_at_config_load_on_both_ends() {
    let mut server = TcpServerConfig::new("127.0.0.1:0");
    server.token = Some(Token::new("short"));
    let error = server.check().unwrap_err();
    assert!(matches!(
        error,
        TcpConfigError::TokenTooShort {
            field: "token",
            len: 5,
            min: 16
        }
    ));
    assert_eq!(
        error.to_string(),
        "token is 5 bytes long; a token must be at least 16 bytes"
    );
    let mut endpoint = TcpEndpoint::new("127.0.0.1:1");
    endpoint.token = Some(Token::new("short"));
    assert!(matches!(
        endpoint.check(),
        Err(TcpConfigError::TokenTooShort { .. })
    ));
    endpoint.token = Some(Token::new(TOKEN));
    assert!(endpoint.check().is_ok());
}

#[test]
fn hardening_settings_are_range_checked_naming_the_key() {
    for (key, set) in [
        (
            "max_pending_handshakes",
            (|c: &mut TcpServerConfig| c.max_pending_handshakes = 0) as fn(&mut TcpServerConfig),
        ),
        ("max_pending_per_ip", |c| c.max_pending_per_ip = 65),
        ("idle_timeout_ms", |c| c.idle_timeout_ms = 0),
        ("frame_timeout_ms", |c| c.frame_timeout_ms = 0),
        ("max_in_flight_request_bytes", |c| {
            c.max_in_flight_request_bytes = 10
        }),
        ("max_deadline_ms", |c| c.max_deadline_ms = 0),
        ("max_auth_failures", |c| c.max_auth_failures = 0),
        ("auth_backoff_ms", |c| c.auth_backoff_ms = 0),
    ] {
        let mut config = TcpServerConfig::new("127.0.0.1:0");
        set(&mut config);
        let error = config.check().unwrap_err();
        assert!(
            error.to_string().starts_with(&format!("{key} = ")),
            "{key}: {error}"
        );
    }
    let parsed: TcpServerConfig = serde_json::from_str(r#"{"listen":"127.0.0.1:0"}"#).unwrap();
    assert_eq!(parsed, TcpServerConfig::new("127.0.0.1:0"));
    assert_eq!(
        (
            parsed.max_pending_handshakes,
            parsed.max_pending_per_ip,
            parsed.idle_timeout_ms
        ),
        (64, 8, 300_000)
    );
    assert_eq!(
        (
            parsed.frame_timeout_ms,
            parsed.max_in_flight_request_bytes,
            parsed.max_deadline_ms
        ),
        (30_000, 256 << 20, 3_600_000)
    );
}

#[tokio::test]
async fn requests_in_flight_stay_within_the_byte_budget_and_are_all_answered() {
    const BUDGET: u64 = 100_000;
    let logs = Logs::capture();
    let mut config = loopback_config();
    config.max_in_flight_request_bytes = BUDGET;
    let host = host(config, Limits::default()).await;
    let payload = serde_bytes::ByteBuf::from(vec![7u8; 40_000]);
    let mut calls = Vec::new();
    for _ in 0..2 {
        let (probe, _) = client(endpoint(&host.server));
        for _ in 0..6 {
            let probe = probe.clone();
            let payload = payload.clone();
            calls.push(tokio::spawn(
                async move { probe.echo(ctx(), payload).await },
            ));
        }
    }
    for call in calls {
        let echoed = within("an echo under the budget", call)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(echoed.len(), 40_000);
    }
    let budget = host.server.request_budget();
    assert!(budget.peak() > 40_000, "peak {}", budget.peak());
    assert!(
        budget.peak() <= BUDGET,
        "peak {} over the budget",
        budget.peak()
    );
    // Everything answered gives its bytes back.
    assert_eq!(budget.in_use(), 0);
    // A single request larger than the whole budget is refused as an oversized frame,
    // costing only its connection.
    let (probe, _) = client(endpoint(&host.server));
    let error = within(
        "an echo over the budget",
        probe.echo(ctx(), serde_bytes::ByteBuf::from(vec![7u8; 150_000])),
    )
    .await
    .map(Ok)
    .into_service("probe")
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    logs.wait_for(&["exceeds the frame limit of 100000 bytes"])
        .await;
    let (fresh, _) = client(endpoint(&host.server));
    assert_eq!(
        within("a call after", fresh.double(ctx(), 2))
            .await
            .unwrap(),
        4
    );
}
