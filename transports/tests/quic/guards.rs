//! What bounds a QUIC peer past the handshake: extreme deadlines, failed authentications,
//! a frame begun and not finished.

use crate::alpn::raw_client;
use crate::common::{
    Certs, EXTREME_DEADLINES, Logs, ctx, decode_double, down_reason, raw_double, within,
};
use crate::{client, endpoint, host, server_config};
use mltools_transport::remote::hello::preamble_frame;
use mltools_transport::remote::{Answer, Hello, PROTOCOL_VERSION};
use mltools_transport::{Codec, Token};
use std::collections::BTreeMap;
use std::net::SocketAddr;

const TOKEN: &str = "a-token-of-twenty-bytes";

async fn write_frame(send: &mut quinn::SendStream, payload: &[u8]) {
    send.write_all(&(payload.len() as u32).to_be_bytes())
        .await
        .unwrap();
    send.write_all(payload).await.unwrap();
}

async fn read_frame(receive: &mut quinn::RecvStream) -> Option<Vec<u8>> {
    let mut head = [0u8; 4];
    receive.read_exact(&mut head).await.ok()?;
    let mut payload = vec![0; u32::from_be_bytes(head) as usize];
    receive.read_exact(&mut payload).await.ok()?;
    Some(payload)
}

/// A raw stream on a raw connection that has said hello and been welcomed.
async fn admitted_raw(
    certs: &Certs,
    address: SocketAddr,
) -> (quinn::Connection, quinn::SendStream, quinn::RecvStream) {
    let local = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let connection = within(
        "a handshake",
        local
            .connect_with(raw_client(certs, &[b"mltools/1"]), address, "localhost")
            .unwrap(),
    )
    .await
    .unwrap();
    let (mut send, mut receive) = connection.open_bi().await.unwrap();
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        service: "probe".into(),
        token: None,
        codec: Codec::Postcard,
        max_frame_bytes: 1 << 20,
    };
    write_frame(&mut send, &preamble_frame(&hello).unwrap()).await;
    let answer: Answer = Codec::Postcard
        .decode(
            &within("the welcome", read_frame(&mut receive))
                .await
                .unwrap(),
        )
        .unwrap();
    assert!(matches!(answer, Answer::Welcome { .. }), "{answer:?}");
    (connection, send, receive)
}

#[tokio::test]
async fn extreme_deadlines_are_clamped_not_a_panic() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let host = host(server_config(&certs, false)).await;
    let (_connection, mut send, mut receive) = admitted_raw(&certs, host.server.local_addr()).await;
    for (id, secs, nanos) in EXTREME_DEADLINES {
        write_frame(&mut send, &raw_double(id, id as u32, secs, nanos)).await;
    }
    let mut answers = BTreeMap::new();
    while answers.keys().filter(|id| **id >= 2).count() < 4 {
        let frame = within("an answer", read_frame(&mut receive)).await.unwrap();
        let (id, answer) = decode_double(&frame);
        answers.insert(id, answer);
    }
    for id in 2..=5u64 {
        assert_eq!(answers[&id], Ok(2 * id as u32), "request {id}");
    }
    // A deadline no `Duration` holds: the stream is closed, nothing panics.
    write_frame(&mut send, &raw_double(6, 6, u64::MAX, u32::MAX)).await;
    assert!(
        within("the stream to end", read_frame(&mut receive))
            .await
            .is_none()
    );
    logs.wait_for(&["closing the connection", "postcard could not decode"])
        .await;
    let (fresh, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(
        within("a legitimate call", fresh.double(ctx(), 21))
            .await
            .unwrap(),
        42
    );
}

#[tokio::test]
async fn a_frame_begun_and_not_finished_in_time_closes_its_stream() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.frame_timeout_ms = 200;
    let host = host(config).await;
    let (_connection, mut send, mut receive) = admitted_raw(&certs, host.server.local_addr()).await;
    send.write_all(&[0, 0, 0, 100, 1, 2, 3]).await.unwrap();
    assert!(
        within("the stream to end", read_frame(&mut receive))
            .await
            .is_none()
    );
    logs.wait_for(&["a frame begun was not finished within 200 ms (3 bytes buffered)"])
        .await;
    let (fresh, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(
        within("a legitimate call", fresh.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );
}

#[tokio::test]
async fn failed_authentications_back_the_address_off() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.token = Some(Token::new(TOKEN));
    config.max_auth_failures = 2;
    let host = host(config).await;
    for _ in 0..2 {
        let mut endpoint = endpoint(&host.server, certs.client(&certs.ca, false));
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
    let mut good = endpoint(&host.server, certs.client(&certs.ca, false));
    good.token = Some(Token::new(TOKEN));
    let (_probe, raw) = client(good);
    down_reason(&raw).await;
    logs.wait_for(&[
        "refused a connection at arrival",
        "127.0.0.1 failed to authenticate 2 times",
    ])
    .await;
}

#[tokio::test]
async fn under_load_new_clients_validate_their_address_first_and_are_served() {
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.max_pending_handshakes = 4;
    config.max_pending_per_ip = 4;
    let host = host(config).await;
    let address = host.server.local_addr();
    // Three connections that never open a stream hold pending slots: above half the limit.
    let local = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut silent = Vec::new();
    for _ in 0..3 {
        let connecting = local
            .connect_with(raw_client(&certs, &[b"mltools/1"]), address, "localhost")
            .unwrap();
        silent.push(within("a silent handshake", connecting).await.unwrap());
    }
    assert_eq!(host.server.address_validations(), 0);
    let (probe, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(
        within("a call under load", probe.double(ctx(), 4))
            .await
            .unwrap(),
        8
    );
    assert!(host.server.address_validations() >= 1);
}

#[tokio::test]
async fn an_idle_stream_is_closed_then_its_empty_connection_and_the_client_redials() {
    let logs = Logs::capture();
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.idle_timeout_ms = 200;
    let host = host(config).await;
    // A raw admitted stream that sends nothing more is closed, then its connection.
    let (connection, _send, mut receive) = admitted_raw(&certs, host.server.local_addr()).await;
    assert!(
        within("the idle stream to end", read_frame(&mut receive))
            .await
            .is_none()
    );
    let reason = within("the empty connection to close", connection.closed()).await;
    assert!(
        matches!(&reason, quinn::ConnectionError::ApplicationClosed(close)
            if close.reason.as_ref() == b"no stream open"),
        "{reason:?}"
    );
    // A real client idled out makes its next call fine.
    let (probe, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
    assert_eq!(
        within("a first call", probe.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );
    logs.wait_for(&["connection lost; redialling"]).await;
    assert_eq!(
        within("a call after idling", probe.double(ctx(), 2))
            .await
            .unwrap(),
        4
    );
}

#[tokio::test]
async fn requests_in_flight_stay_within_the_byte_budget_and_are_all_answered() {
    const BUDGET: u64 = 100_000;
    let certs = Certs::generate();
    let mut config = server_config(&certs, false);
    config.max_in_flight_request_bytes = BUDGET;
    let host = host(config).await;
    let payload = serde_bytes::ByteBuf::from(vec![7u8; 40_000]);
    let mut calls = Vec::new();
    for _ in 0..2 {
        let (probe, _) = client(endpoint(&host.server, certs.client(&certs.ca, false)));
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
    assert_eq!(budget.in_use(), 0);
}
