//! The measurements: sequential latencies, calls per second of concurrent callers, and
//! connection set-ups.

use crate::bare::{PingPong, QuinnStream, TcpFrames, Tls, quinn_connect};
use crate::{
    CALLERS, CONCURRENT_FOR, CONCURRENT_WARM_UP, Caller, Ours, Result, SET_UP_WARM_UPS, SET_UPS,
    SIZES, SMALL, Size, failed,
};
use mltools::transport::quic::QuicEndpoint;
use mltools::transport::tcp::{TcpEndpoint, TlsClientConfig};
use mltools::transport::test_probe::{ProbeClient, ProbeRequest, ProbeResponse};
use mltools::transport::{Client, LinkStatus};
use serde_bytes::ByteBuf;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::task::JoinSet;

pub(crate) struct Latency {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

pub(crate) struct SequentialRow {
    pub(crate) name: String,
    pub(crate) baseline: Option<&'static str>,
    /// One per [`SIZES`].
    pub(crate) latencies: Vec<Latency>,
}

pub(crate) async fn sequential_row<C: Caller>(
    name: &str,
    baseline: Option<&'static str>,
    caller: &C,
) -> Result<SequentialRow> {
    let mut latencies = Vec::new();
    for size in &SIZES {
        eprintln!("sequential: {name}, {}", size.label);
        latencies.push(sequential(caller, size).await?);
    }
    Ok(SequentialRow {
        name: name.to_owned(),
        baseline,
        latencies,
    })
}

async fn sequential<C: Caller>(caller: &C, size: &Size) -> Result<Latency> {
    let mut payload = ByteBuf::from(vec![0xA5; size.bytes]);
    for _ in 0..size.calls / 10 {
        payload = caller.call(payload).await?;
    }
    let mut times = Vec::with_capacity(size.calls);
    for _ in 0..size.calls {
        let started = Instant::now();
        payload = caller.call(payload).await?;
        times.push(started.elapsed());
        if payload.len() != size.bytes {
            return Err(format!(
                "an echo of {} bytes came back with {}",
                size.bytes,
                payload.len()
            )
            .into());
        }
    }
    percentiles(times, size.label)
}

/// The p50 and p99 of `times` (of fewer than 100, the p99 is the slowest); `what` names the
/// measurement when there is none.
pub(crate) fn percentiles(mut times: Vec<Duration>, what: &str) -> Result<Latency> {
    times.sort();
    let at = |q: usize| times.get((times.len() * q / 100).min(times.len().saturating_sub(1)));
    match (at(50), at(99)) {
        (Some(p50), Some(p99)) => Ok(Latency {
            p50: *p50,
            p99: *p99,
        }),
        _ => Err(format!("no call timed at {what}").into()),
    }
}

pub(crate) struct ConcurrentRow {
    pub(crate) name: String,
    pub(crate) baseline: Option<&'static str>,
    /// Calls per second, one per [`CALLERS`].
    pub(crate) rates: Vec<f64>,
}

pub(crate) async fn concurrent_row<C: Caller>(
    name: &str,
    baseline: Option<&'static str>,
    caller: &C,
) -> Result<ConcurrentRow> {
    let mut rates = Vec::new();
    for callers in CALLERS {
        eprintln!("concurrent: {name}, {callers} callers");
        rates.push(calls_per_second(caller, callers).await?);
    }
    Ok(ConcurrentRow {
        name: name.to_owned(),
        baseline,
        rates,
    })
}

const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOPPED: u8 = 2;

/// Calls per second of `callers` tasks calling in a loop with 64 B, counted over
/// [`CONCURRENT_FOR`] after [`CONCURRENT_WARM_UP`]. Each task counts on its own (a shared
/// counter would cost the fastest paths a contended cache line per call).
async fn calls_per_second<C: Caller>(caller: &C, callers: usize) -> Result<f64> {
    let phase = Arc::new(AtomicU8::new(WARMING));
    let mut tasks: JoinSet<Result<u64>> = JoinSet::new();
    for _ in 0..callers {
        let caller = caller.clone();
        let phase = Arc::clone(&phase);
        tasks.spawn(async move {
            let mut payload = ByteBuf::from(vec![1; SMALL]);
            let mut counted = 0u64;
            loop {
                let now = phase.load(Ordering::Relaxed);
                if now == STOPPED {
                    return Ok(counted);
                }
                payload = caller.call(payload).await?;
                if now == MEASURING {
                    counted += 1;
                }
            }
        });
    }
    tokio::time::sleep(CONCURRENT_WARM_UP).await;
    phase.store(MEASURING, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(CONCURRENT_FOR).await;
    phase.store(STOPPED, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut total = 0;
    while let Some(counted) = tasks.join_next().await {
        total += counted.map_err(|error| failed("a caller task", error))??;
    }
    Ok(total as f64 / elapsed.as_secs_f64())
}

/// One connection set-up: when it was connected, and when the first answer came.
pub(crate) struct SetUp {
    pub(crate) connected: Duration,
    pub(crate) answered: Duration,
}

pub(crate) struct SetUpRow {
    pub(crate) name: &'static str,
    pub(crate) baseline: Option<&'static str>,
    /// Medians.
    pub(crate) set_up: SetUp,
}

pub(crate) async fn set_up_row<F, Fut>(
    name: &'static str,
    baseline: Option<&'static str>,
    mut once: F,
) -> Result<SetUpRow>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<SetUp>>,
{
    eprintln!("set-up: {name}");
    for _ in 0..SET_UP_WARM_UPS {
        once().await?;
    }
    let mut connected = Vec::with_capacity(SET_UPS);
    let mut answered = Vec::with_capacity(SET_UPS);
    for _ in 0..SET_UPS {
        let set_up = once().await?;
        connected.push(set_up.connected);
        answered.push(set_up.answered);
    }
    connected.sort();
    answered.sort();
    Ok(SetUpRow {
        name,
        baseline,
        set_up: SetUp {
            connected: connected[SET_UPS / 2],
            answered: answered[SET_UPS / 2],
        },
    })
}

pub(crate) async fn bare_tcp_set_up(address: SocketAddr) -> Result<SetUp> {
    let started = Instant::now();
    let stream = TcpStream::connect(address)
        .await
        .map_err(|error| failed("a bare TCP connection", error))?;
    let connected = started.elapsed();
    let frames = TcpFrames::new(stream).map_err(|error| failed("TCP_NODELAY", error))?;
    let caller = PingPong(Arc::new(Mutex::new(frames)));
    caller.call(ByteBuf::from(vec![1; SMALL])).await?;
    Ok(SetUp {
        connected,
        answered: started.elapsed(),
    })
}

pub(crate) async fn bare_quinn_set_up(tls: &Tls, address: SocketAddr) -> Result<SetUp> {
    let started = Instant::now();
    let (endpoint, connection) = quinn_connect(tls, address).await?;
    let connected = started.elapsed();
    let stream = connection
        .open_bi()
        .await
        .map_err(|error| failed("a bare quinn bi-stream", error))?;
    let caller = QuinnStream(Arc::new(Mutex::new(stream)));
    caller.call(ByteBuf::from(vec![1; SMALL])).await?;
    let answered = started.elapsed();
    connection.close(0u32.into(), b"done");
    drop(endpoint);
    Ok(SetUp {
        connected,
        answered,
    })
}

/// Ours from its configuration: the client made (TLS files read), connected (TLS and the
/// hello done), then the first call answered.
async fn our_set_up(
    started: Instant,
    client: Client<ProbeRequest, ProbeResponse>,
) -> Result<SetUp> {
    let remote = client.remote().ok_or("the client is not a remote one")?;
    remote
        .wait_for(|status| *status == LinkStatus::Connected)
        .await;
    let connected = started.elapsed();
    let caller = Ours {
        client: ProbeClient::from(client.clone()),
        name: "a new connection",
    };
    caller.call(ByteBuf::from(vec![1; SMALL])).await?;
    Ok(SetUp {
        connected,
        answered: started.elapsed(),
    })
}

pub(crate) async fn tcp_set_up(address: SocketAddr, tls: Option<TlsClientConfig>) -> Result<SetUp> {
    let started = Instant::now();
    let mut endpoint = TcpEndpoint::new(address.to_string());
    endpoint.tls = tls;
    let client = Client::tcp("probe", endpoint).map_err(|error| failed("a TCP client", error))?;
    our_set_up(started, client).await
}

pub(crate) async fn quic_set_up(address: SocketAddr, tls: TlsClientConfig) -> Result<SetUp> {
    let started = Instant::now();
    let endpoint = QuicEndpoint::new(address.to_string(), tls);
    let client = Client::quic("probe", endpoint).map_err(|error| failed("a QUIC client", error))?;
    our_set_up(started, client).await
}
