//! The guards a listener puts on an admitted peer, written once over a [`GuardHarness`] and
//! stamped out per transport by [`guard_suite!`]: extreme deadlines, a frame begun and not
//! finished, failed authentications backing an address off, the byte budget of requests in
//! flight. What only one transport has (TCP's idle connection, QUIC's address validation)
//! stays in that transport's own `guards.rs`.

#![allow(dead_code, unreachable_pub)]

use crate::common::{EXTREME_DEADLINES, Logs, ctx, decode_double, down_reason, raw_double, within};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::remote::budget::RequestBudget;
use mltools_transport::remote::hello::preamble_frame;
use mltools_transport::remote::{Answer, Hello, PROTOCOL_VERSION};
use mltools_transport::test_probe::{ProbeClient, ProbeRequest, ProbeResponse};
use mltools_transport::{Client, Codec};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The token the suite's listeners require when it sets one.
pub const TOKEN: &str = "a-token-of-twenty-bytes";

/// A probe client, as the tests call it.
pub type Probe = ProbeClient<Client<ProbeRequest, ProbeResponse>>;
/// The client under a [`Probe`], to watch its link.
pub type RawClient = Client<ProbeRequest, ProbeResponse>;

/// The listener settings a guard test changes from the defaults; TCP's and QUIC's configs
/// name them alike, and [`apply_settings!`] sets them on either.
#[derive(Debug, Default, Clone, Copy)]
pub struct Settings {
    /// `frame_timeout_ms`.
    pub frame_timeout_ms: Option<u64>,
    /// `max_auth_failures`.
    pub max_auth_failures: Option<u32>,
    /// `max_in_flight_request_bytes`.
    pub max_in_flight_request_bytes: Option<u64>,
    /// `token`.
    pub token: Option<&'static str>,
}

/// Sets the [`Settings`] given on a TCP or QUIC listener config.
macro_rules! apply_settings {
    ($settings:expr, $config:expr) => {{
        let settings: $crate::guard_suite::Settings = $settings;
        let config = &mut $config;
        if let Some(ms) = settings.frame_timeout_ms {
            config.frame_timeout_ms = ms;
        }
        if let Some(failures) = settings.max_auth_failures {
            config.max_auth_failures = failures;
        }
        if let Some(bytes) = settings.max_in_flight_request_bytes {
            config.max_in_flight_request_bytes = bytes;
        }
        if let Some(token) = settings.token {
            config.token = Some(mltools_transport::Token::new(token));
        }
    }};
}
pub(crate) use apply_settings;

/// A probe hosted on one transport's listener, and how a test reaches it.
pub trait GuardHarness: Sized {
    /// A raw peer, below the client.
    type Raw: RawPeer;
    /// Hosts the probe on 127.0.0.1 port 0 with the defaults and `settings`.
    async fn start(settings: Settings) -> Self;
    /// A raw peer that has said hello (no token) and been welcomed.
    async fn admitted_raw(&self) -> Self::Raw;
    /// A probe client of the listener, presenting `token` if given.
    fn client(&self, token: Option<&str>) -> (Probe, RawClient);
    /// The listener's budget of request bytes in flight.
    fn request_budget(&self) -> &RequestBudget;
}

/// A raw peer's way of talking: frames in and out, and the server closing it.
pub trait RawPeer {
    /// The peer's address, as the server's log lines name it.
    fn peer(&self) -> String;
    /// Writes `bytes` as they are.
    async fn write_bytes(&mut self, bytes: &[u8]);
    /// Writes one length-prefixed frame.
    async fn write_frame(&mut self, payload: &[u8]) {
        self.write_bytes(&(payload.len() as u32).to_be_bytes())
            .await;
        self.write_bytes(payload).await;
    }
    /// Fills `buf`; false once the server has closed the peer.
    async fn read_exact(&mut self, buf: &mut [u8]) -> bool;
    /// Reads one length-prefixed frame; `None` once the server has closed the peer.
    async fn read_frame(&mut self) -> Option<Vec<u8>> {
        let mut head = [0u8; 4];
        if !self.read_exact(&mut head).await {
            return None;
        }
        let mut payload = vec![0; u32::from_be_bytes(head) as usize];
        self.read_exact(&mut payload).await.then_some(payload)
    }
    /// Waits until the server closes the peer (TCP: the connection; QUIC: the stream).
    async fn closed(self);
}

/// Says hello to the probe (no token) over `raw`, as a real client would, and checks the
/// welcome.
pub async fn welcomed<R: RawPeer>(mut raw: R) -> R {
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        service: "probe".into(),
        token: None,
        codec: Codec::Postcard,
        max_frame_bytes: 1 << 20,
    };
    raw.write_frame(&preamble_frame(&hello).unwrap()).await;
    let welcome = within("the welcome", raw.read_frame()).await;
    let answer: Answer = Codec::Postcard
        .decode(&welcome.expect("a welcome, not the end"))
        .unwrap();
    assert!(matches!(answer, Answer::Welcome { .. }), "{answer:?}");
    raw
}

/// The server still serves a client connected before, and a new one.
pub async fn still_serving<H: GuardHarness>(host: &H, before: &Probe) {
    assert_eq!(
        within("the earlier client", before.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );
    let (fresh, _) = host.client(None);
    assert_eq!(
        within("a new client", fresh.double(ctx(), 2))
            .await
            .unwrap(),
        4
    );
}

pub async fn extreme_deadlines_are_clamped_not_a_panic<H: GuardHarness>() {
    let logs = Logs::capture();
    let host = H::start(Settings::default()).await;
    let mut raw = host.admitted_raw().await;
    for (id, secs, nanos) in EXTREME_DEADLINES {
        raw.write_frame(&raw_double(id, id as u32, secs, nanos))
            .await;
    }
    // Every call but the one whose deadline is already past is answered; that one may be
    // answered or dropped at its deadline.
    let mut answers = BTreeMap::new();
    while answers.keys().filter(|id| **id >= 2).count() < 4 {
        let frame = within("an answer", raw.read_frame()).await;
        let (id, answer) = decode_double(&frame.expect("an answer, not the end"));
        answers.insert(id, answer);
    }
    for id in 2..=5u64 {
        assert_eq!(answers[&id], Ok(2 * id as u32), "request {id}");
    }
    // A deadline no `Duration` holds is a malformed request: the peer is closed, naming
    // it, and nothing panics.
    let peer = raw.peer();
    raw.write_frame(&raw_double(6, 6, u64::MAX, u32::MAX)).await;
    raw.closed().await;
    logs.wait_for(&["closing the connection", &peer, "postcard could not decode"])
        .await;
    let (fresh, _) = host.client(None);
    assert_eq!(
        within("a legitimate call", fresh.double(ctx(), 21))
            .await
            .unwrap(),
        42
    );
}

pub async fn a_frame_begun_and_not_finished_in_time_costs_only_its_peer<H: GuardHarness>() {
    let logs = Logs::capture();
    let host = H::start(Settings {
        frame_timeout_ms: Some(200),
        ..Settings::default()
    })
    .await;
    let (before, _) = host.client(None);
    assert_eq!(
        within("a first call", before.double(ctx(), 1))
            .await
            .unwrap(),
        2
    );
    let mut raw = host.admitted_raw().await;
    let peer = raw.peer();
    raw.write_bytes(&[0, 0, 0, 100, 1, 2, 3]).await;
    let started = Instant::now();
    raw.closed().await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    logs.wait_for(&[
        &peer,
        "a frame begun was not finished within 200 ms (3 bytes buffered)",
    ])
    .await;
    still_serving(&host, &before).await;
}

pub async fn failed_authentications_back_the_address_off<H: GuardHarness>() {
    let logs = Logs::capture();
    let host = H::start(Settings {
        token: Some(TOKEN),
        max_auth_failures: Some(2),
        ..Settings::default()
    })
    .await;
    for _ in 0..2 {
        let (_probe, raw) = host.client(Some("not-the-token-at-all"));
        assert!(
            down_reason(&raw)
                .await
                .contains("the token was not accepted")
        );
    }
    logs.wait_for(&["too many failed authentications", "127.0.0.1"])
        .await;
    // The right token, from the same address, is refused at arrival for a while.
    let (probe, _) = host.client(Some(TOKEN));
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

pub async fn requests_in_flight_stay_within_the_byte_budget_and_are_all_answered<
    H: GuardHarness,
>() {
    const BUDGET: u64 = 100_000;
    let logs = Logs::capture();
    let host = H::start(Settings {
        max_in_flight_request_bytes: Some(BUDGET),
        ..Settings::default()
    })
    .await;
    let payload = serde_bytes::ByteBuf::from(vec![7u8; 40_000]);
    let mut calls = Vec::new();
    for _ in 0..2 {
        let (probe, _) = host.client(None);
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
    let budget = host.request_budget();
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
    let (probe, _) = host.client(None);
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
    let (fresh, _) = host.client(None);
    assert_eq!(
        within("a call after", fresh.double(ctx(), 2))
            .await
            .unwrap(),
        4
    );
}

pub async fn a_request_past_its_deadline_gives_its_bytes_back<H: GuardHarness>() {
    let host = H::start(Settings::default()).await;
    let budget = host.request_budget();
    let (probe, _) = host.client(None);
    // Held by the server until its deadline passes: nothing answers it, so only the
    // deadline can give its bytes back.
    let mut held = ctx();
    held.deadline = Instant::now() + Duration::from_millis(300);
    let call = tokio::spawn({
        let probe = probe.clone();
        async move { probe.hold(held).await }
    });
    within("the held request's bytes taken", async {
        while budget.in_use() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    within("the held request's bytes given back", async {
        while budget.in_use() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let outcome = within("the held call ends", call).await.unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(
        within("a call after", probe.double(ctx(), 21))
            .await
            .unwrap(),
        42
    );
}

/// Stamps out each named test of this suite over the harness `$harness`.
macro_rules! guard_suite {
    ($harness:ty: $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                $crate::guard_suite::$test::<$harness>().await;
            }
        )+
    };
}
pub(crate) use guard_suite;
