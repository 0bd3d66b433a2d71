//! What bounds an admitted connection and a hostile peer: extreme deadlines, a frame begun
//! and not finished, idleness, failed authentications, and the hosted services kept from
//! peers that have not authenticated. The guards QUIC shares are the suite in
//! `common/guard_suite.rs`, run here over [`ProbeHost`].

use crate::common::{
    Logs, ProbeHost, client, ctx, down_reason, endpoint, host, loopback_config, within,
};
use crate::guard_suite::{
    GuardHarness, Probe, RawClient, RawPeer, Settings, TOKEN, apply_settings, guard_suite,
};
use crate::hostile::{admitted_raw, closed_by_the_server, read_frame, write_frame};
use mltools_transport::remote::budget::RequestBudget;
use mltools_transport::remote::hello::preamble_frame;
use mltools_transport::remote::{Answer, Hello, PROTOCOL_VERSION, Refusal};
use mltools_transport::tcp::{TcpConfigError, TcpEndpoint, TcpServerConfig};
use mltools_transport::{Codec, Limits, LinkStatus, Token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

impl GuardHarness for ProbeHost {
    type Raw = TcpStream;

    async fn start(settings: Settings) -> Self {
        let mut config = loopback_config();
        apply_settings!(settings, config);
        host(config, Limits::default()).await
    }

    async fn admitted_raw(&self) -> TcpStream {
        admitted_raw(self.server.local_addr()).await
    }

    fn client(&self, token: Option<&str>) -> (Probe, RawClient) {
        let mut endpoint = endpoint(&self.server);
        endpoint.token = token.map(Token::new);
        client(endpoint)
    }

    fn request_budget(&self) -> &RequestBudget {
        self.server.request_budget()
    }
}

impl RawPeer for TcpStream {
    fn peer(&self) -> String {
        self.local_addr().unwrap().to_string()
    }

    async fn write_bytes(&mut self, bytes: &[u8]) {
        self.write_all(bytes).await.unwrap();
    }

    async fn read_exact(&mut self, buf: &mut [u8]) -> bool {
        AsyncReadExt::read_exact(self, buf).await.is_ok()
    }

    async fn closed(self) {
        closed_by_the_server(self).await;
    }
}

guard_suite!(ProbeHost:
    extreme_deadlines_are_clamped_not_a_panic,
    a_frame_begun_and_not_finished_in_time_costs_only_its_peer,
    failed_authentications_back_the_address_off,
    requests_in_flight_stay_within_the_byte_budget_and_are_all_answered,
    a_request_past_its_deadline_gives_its_bytes_back,
);

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
