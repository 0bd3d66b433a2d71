//! Hostile input: garbage, half frames, oversized length prefixes and floods cost only the
//! connection that sent them (with a log line naming the peer), never the server or the
//! other clients.

use crate::common::{Logs, client, ctx, down_reason, endpoint, host, loopback_config, within};
use crate::guard_suite::{RawPeer, still_serving, welcomed};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::Limits;
use mltools_transport::remote::Answer;
use mltools_transport::remote::hello::preamble_frame;
use mltools_transport::tcp::TcpEndpoint;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads until the server closes the connection (EOF or reset).
pub(crate) async fn closed_by_the_server(mut stream: TcpStream) {
    let mut sink = [0u8; 1024];
    within("the server to close the connection", async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

/// Writes one length-prefixed frame.
pub(crate) async fn write_frame(stream: &mut TcpStream, payload: &[u8]) {
    RawPeer::write_frame(stream, payload).await;
}

/// Reads one length-prefixed frame, failing the test if the connection ends first.
pub(crate) async fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
    RawPeer::read_frame(stream).await.expect("a frame")
}

/// A raw connection that has said hello and been welcomed, as a real client would be.
pub(crate) async fn admitted_raw(address: SocketAddr) -> TcpStream {
    welcomed(TcpStream::connect(address).await.unwrap()).await
}

#[tokio::test]
async fn garbage_bytes_cost_only_their_connection() {
    let logs = Logs::capture();
    let host = host(loopback_config(), Limits::default()).await;
    let (before, _) = client(endpoint(&host.server));
    assert_eq!(
        within("a first call", before.double(ctx(), 0))
            .await
            .unwrap(),
        0
    );
    let mut raw = TcpStream::connect(host.server.local_addr()).await.unwrap();
    let peer = raw.local_addr().unwrap().to_string();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: mltools\r\n\r\n")
        .await
        .unwrap();
    closed_by_the_server(raw).await;
    // "GET " read as a length prefix: 0x47455420 bytes, over the preamble's limit.
    logs.wait_for(&[
        "refused a connection",
        &peer,
        "1195725856 bytes exceeds the frame limit of 16384",
    ])
    .await;
    still_serving(&host, &before).await;
}

#[tokio::test]
async fn half_a_frame_then_eof_costs_only_its_connection_before_and_after_the_hello() {
    let logs = Logs::capture();
    let host = host(loopback_config(), Limits::default()).await;
    let (before, _) = client(endpoint(&host.server));
    for admitted in [false, true] {
        let mut raw = if admitted {
            admitted_raw(host.server.local_addr()).await
        } else {
            TcpStream::connect(host.server.local_addr()).await.unwrap()
        };
        let peer = raw.local_addr().unwrap().to_string();
        raw.write_all(&[0, 0, 0, 100, 1, 2, 3]).await.unwrap();
        raw.shutdown().await.unwrap();
        closed_by_the_server(raw).await;
        logs.wait_for(&[
            &peer,
            "closed the connection in the middle of a frame (3 bytes of it received)",
        ])
        .await;
    }
    still_serving(&host, &before).await;
}

#[tokio::test]
async fn an_oversized_length_prefix_after_the_hello_closes_only_its_connection() {
    let logs = Logs::capture();
    let mut config = loopback_config();
    config.max_frame_bytes = 1 << 20;
    let host = host(config, Limits::default()).await;
    let (before, _) = client(endpoint(&host.server));
    let mut raw = admitted_raw(host.server.local_addr()).await;
    let peer = raw.local_addr().unwrap().to_string();
    raw.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    closed_by_the_server(raw).await;
    let line = logs
        .wait_for(&[
            "closing the connection",
            &peer,
            "4294967295 bytes exceeds the frame limit of 1048576 bytes",
        ])
        .await;
    assert!(line.contains("probe"), "the log names the service: {line}");
    still_serving(&host, &before).await;
}

#[tokio::test]
async fn a_flood_of_silent_connections_never_takes_an_admitted_slot() {
    let logs = Logs::capture();
    let mut config = loopback_config();
    config.max_connections = 2;
    config.max_pending_per_ip = 4;
    config.handshake_timeout_ms = 300;
    let host = host(config, Limits::default()).await;
    let (before, _) = client(endpoint(&host.server));
    assert_eq!(
        within("a first call", before.double(ctx(), 0))
            .await
            .unwrap(),
        0
    );
    let mut flood = Vec::new();
    for _ in 0..40 {
        flood.push(TcpStream::connect(host.server.local_addr()).await.unwrap());
    }
    // Served while the flood holds every pending slot its address may; the flood holds no
    // admitted slot.
    assert_eq!(
        within("a call during the flood", before.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );
    let (pending, admitted) = host.server.connections();
    assert!(pending <= 4, "{pending} pending");
    assert_eq!(admitted, 1);
    // Every flooding connection is closed: the excess at once, the rest at the handshake
    // timeout; none is served.
    for stream in flood {
        closed_by_the_server(stream).await;
    }
    logs.wait_for(&[
        "refused a connection at arrival",
        "127.0.0.1 already has 4 pending handshakes (max_pending_per_ip)",
    ])
    .await;
    logs.wait_for(&["did not finish its handshake in time", "timeout_ms=300"])
        .await;
    // A second real client takes the other admitted slot.
    let (second, _) = client(endpoint(&host.server));
    assert_eq!(
        within("a second client", second.double(ctx(), 2))
            .await
            .unwrap(),
        4
    );
    // A third real client is refused: at the admitted limit, said in the refusal.
    let (third, raw) = client(endpoint(&host.server));
    let error = within("a call over the limit", third.double(ctx(), 3))
        .await
        .map(Ok)
        .into_service("probe")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert!(
        down_reason(&raw)
            .await
            .contains("at its limit of 2 connections"),
        "{error}"
    );
    assert_eq!(
        within("the first client, still", before.double(ctx(), 5))
            .await
            .unwrap(),
        10
    );
}

#[tokio::test]
async fn an_oversized_frame_from_the_server_fails_the_calls_naming_it_and_the_client_redials() {
    let fake = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = fake.local_addr().unwrap();
    let mut endpoint = TcpEndpoint::new(address.to_string());
    endpoint.max_frame_bytes = 64 * 1024;
    let (probe, raw) = client(endpoint);
    let mut server_side = within("the client to dial", fake.accept()).await.unwrap().0;
    let _hello = read_frame(&mut server_side).await;
    let welcome = Answer::Welcome {
        max_frame_bytes: 1 << 30,
    };
    write_frame(&mut server_side, &preamble_frame(&welcome).unwrap()).await;
    let call = tokio::spawn(async move { probe.double(ctx(), 1).await });
    let _request = within("the request", read_frame(&mut server_side)).await;
    server_side
        .write_all(&0x7fff_ffffu32.to_be_bytes())
        .await
        .unwrap();
    let error = within("the call", call)
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
    assert!(
        error.message.contains(
            "an incoming frame of 2147483647 bytes exceeds the frame limit of 65536 bytes"
        ),
        "{error}"
    );
    // The client redials by itself.
    let reason = down_reason(&raw).await;
    assert!(reason.contains("2147483647"), "{reason}");
    within("a redial", fake.accept()).await.unwrap();
}
