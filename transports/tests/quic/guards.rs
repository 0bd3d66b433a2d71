//! What bounds a QUIC peer past the handshake: extreme deadlines, failed authentications,
//! a frame begun and not finished (the suite TCP shares, in `common/guard_suite.rs`), and
//! QUIC's own: address validation under load, an idle stream then its empty connection.

use crate::alpn::raw_client;
use crate::common::{Certs, Logs, ctx, within};
use crate::guard_suite::{
    GuardHarness, Probe, RawClient, RawPeer, Settings, apply_settings, guard_suite, welcomed,
};
use crate::{QuicHost, client, endpoint, host, server_config};
use mltools_transport::remote::budget::RequestBudget;
use std::net::SocketAddr;

/// A probe on a QUIC listener, with the certificates its clients trust.
struct Guarded {
    certs: Certs,
    host: QuicHost,
}

impl GuardHarness for Guarded {
    type Raw = RawStream;

    async fn start(settings: Settings) -> Self {
        let certs = Certs::generate();
        let mut config = server_config(&certs, false);
        apply_settings!(settings, config);
        let host = host(config).await;
        Guarded { certs, host }
    }

    async fn admitted_raw(&self) -> RawStream {
        admitted_raw(&self.certs, self.host.server.local_addr()).await
    }

    fn client(&self, token: Option<&str>) -> (Probe, RawClient) {
        let mut endpoint = endpoint(&self.host.server, self.certs.client(&self.certs.ca, false));
        endpoint.token = token.map(mltools_transport::Token::new);
        client(endpoint)
    }

    fn request_budget(&self) -> &RequestBudget {
        self.host.server.request_budget()
    }
}

/// A raw stream on a raw QUIC connection.
struct RawStream {
    connection: quinn::Connection,
    send: quinn::SendStream,
    receive: quinn::RecvStream,
    peer: String,
}

impl RawPeer for RawStream {
    fn peer(&self) -> String {
        self.peer.clone()
    }

    async fn write_bytes(&mut self, bytes: &[u8]) {
        self.send.write_all(bytes).await.unwrap();
    }

    async fn read_exact(&mut self, buf: &mut [u8]) -> bool {
        self.receive.read_exact(buf).await.is_ok()
    }

    async fn closed(mut self) {
        assert!(
            within("the stream to end", self.read_frame())
                .await
                .is_none()
        );
    }
}

/// A raw stream on a raw connection that has said hello and been welcomed.
async fn admitted_raw(certs: &Certs, address: SocketAddr) -> RawStream {
    let local = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let peer = local.local_addr().unwrap().to_string();
    let connection = within(
        "a handshake",
        local
            .connect_with(raw_client(certs, &[b"mltools/1"]), address, "localhost")
            .unwrap(),
    )
    .await
    .unwrap();
    let (send, receive) = connection.open_bi().await.unwrap();
    welcomed(RawStream {
        connection,
        send,
        receive,
        peer,
    })
    .await
}

guard_suite!(Guarded:
    extreme_deadlines_are_clamped_not_a_panic,
    a_frame_begun_and_not_finished_in_time_costs_only_its_peer,
    failed_authentications_back_the_address_off,
    requests_in_flight_stay_within_the_byte_budget_and_are_all_answered,
    a_request_past_its_deadline_gives_its_bytes_back,
);

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
    let mut raw = admitted_raw(&certs, host.server.local_addr()).await;
    assert!(
        within("the idle stream to end", raw.read_frame())
            .await
            .is_none()
    );
    let reason = within("the empty connection to close", raw.connection.closed()).await;
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
