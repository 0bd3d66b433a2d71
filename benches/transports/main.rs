//! Every transport beside its raw baseline and beside gRPC (tonic), in one run, printed as
//! markdown tables.
//!
//! The call is the probe's echo (`Probe::echo(ByteBuf) -> ByteBuf`): the bytes go there and
//! come back, and the answer is the next call's payload, so no path copies a payload it does
//! not have to. Each transport is compared with the bare mechanism under it, and every one
//! of ours with tonic, the peer a user would pick instead:
//!
//! | ours | baseline |
//! |---|---|
//! | `direct`, `channel` | a bare tokio mpsc + oneshot round trip to a task |
//! | `tcp`, `tls-tcp` (postcard) | bare TCP: one connection, `TCP_NODELAY`, u32 length prefix; for concurrent callers, a bare multiplexed connection (request ids) |
//! | `quic` (one long bi-stream) | bare quinn: one long bi-stream, length-prefixed ping-pong |
//! | every one ("vs tonic") | tonic: a gRPC unary call over plain HTTP/2 on one `Channel`, the bytes as they are (no protobuf; `grpc.rs`), itself set against bare TCP |
//!
//! Four tables: sequential round trips (p50, p99) at 64 B, 64 KiB and 8 MiB; calls per
//! second with 1, 16 and 64 concurrent callers at 64 B on one connection (and through a
//! pool of 4 TCP connections); connection set-up (connect, then the first answer); and a
//! real call, `datasets.get` of a whole 100 000 × 20 numeric dataset over direct, tcp,
//! tls-tcp and quic, beside tonic carrying as many bytes (`datasets.rs`). Client and
//! servers share one multi-threaded tokio runtime on 127.0.0.1, and the measuring loop runs
//! in a task on it, as a service's calls do.
//!
//! Run: `cargo bench --bench transports` (tables on stdout, progress on stderr).

mod bare;
mod datasets;
mod grpc;
#[path = "../support/machine.rs"]
mod machine;
mod measure;
mod report;

use bare::{
    Mpsc, Multiplexed, PingPong, QuinnStream, bare_quinn_server, bare_tcp_server, make_certs,
};
use datasets::datasets_get;
use grpc::{ECHO, Tonic, grpc_server, tonic_set_up};
use measure::{
    bare_quinn_set_up, bare_tcp_set_up, concurrent_row, quic_set_up, sequential_row, set_up_row,
    tcp_set_up,
};
use mltools::transport::Client;
use mltools::transport::conformance::{Loopback, LoopbackOptions, TransportKind, loopback};
use mltools::transport::pool::PoolConfig;
use mltools::transport::tcp::TcpEndpoint;
use mltools::transport::test_probe::{ProbeClient, ProbeRequest, ProbeResponse, probe};
use report::{
    load_average, print_concurrent, print_datasets, print_header, print_sequential, print_set_ups,
    print_targets,
};
use serde_bytes::ByteBuf;
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinSet;

/// A payload size of the sequential table and how many calls are timed at it (a tenth as
/// many go first, untimed, as a warm-up).
pub(crate) struct Size {
    pub(crate) bytes: usize,
    pub(crate) label: &'static str,
    pub(crate) calls: usize,
}

pub(crate) const SIZES: [Size; 3] = [
    Size {
        bytes: 64,
        label: "64 B",
        calls: 2000,
    },
    Size {
        bytes: 64 * 1024,
        label: "64 KiB",
        calls: 300,
    },
    Size {
        bytes: 8 * 1024 * 1024,
        label: "8 MiB",
        // At 20 calls the p50 moved by a third between runs.
        calls: 60,
    },
];
/// The payload of the concurrent and set-up tables.
pub(crate) const SMALL: usize = 64;
pub(crate) const CALLERS: [usize; 3] = [1, 16, 64];
pub(crate) const CONCURRENT_FOR: Duration = Duration::from_secs(2);
/// Untimed calls before each concurrent measurement (connections of the pool are made then).
pub(crate) const CONCURRENT_WARM_UP: Duration = Duration::from_millis(200);
pub(crate) const SET_UPS: usize = 50;
pub(crate) const SET_UP_WARM_UPS: usize = 5;
/// Connections in the pooled row.
pub(crate) const POOL_SIZE: u32 = 4;
/// Buffers of the bare TCP framing: small frames go out and come in with one system call.
pub(crate) const TCP_BUFFER: usize = 64 * 1024;
pub(crate) const ALPN_BARE: &[u8] = b"bench";

// Row names, also used to find a row's baseline.
pub(crate) const MPSC: &str = "bare mpsc + oneshot";
pub(crate) const BARE_TCP: &str = "bare TCP ping-pong";
pub(crate) const BARE_MUX: &str = "bare TCP multiplexed";
pub(crate) const BARE_QUINN: &str = "bare quinn, one long bi-stream";
pub(crate) const BARE_TCP_CONNECT: &str = "bare TCP connect";
pub(crate) const BARE_QUINN_CONNECT: &str = "bare quinn connect";
/// The gRPC peer, in every table.
pub(crate) const TONIC: &str = "tonic (gRPC, h2)";

pub(crate) type Probe = ProbeClient<Client<ProbeRequest, ProbeResponse>>;

/// Why the bench could not go on: what failed, and why.
pub(crate) type BenchError = Box<dyn std::error::Error + Send + Sync>;
/// A step of the bench.
pub(crate) type Result<T, E = BenchError> = std::result::Result<T, E>;

/// An error naming the step that failed.
pub(crate) fn failed(what: &str, error: impl std::fmt::Display) -> BenchError {
    format!("{what}: {error}").into()
}

fn main() -> Result<()> {
    // Read before anything of ours runs: the load others put on the machine.
    let load_before = load_average();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| failed("a tokio runtime", error))?;
    runtime.block_on(async move {
        tokio::spawn(run(load_before))
            .await
            .map_err(|error| failed("the bench task", error))?
    })
}

async fn run(load_before: Option<f64>) -> Result<()> {
    print_header(load_before);
    let dir =
        tempfile::tempdir().map_err(|error| failed("a temp dir for the certificates", error))?;
    let tls = make_certs(&dir.path().join("certs"))?;
    let mut tasks = JoinSet::new();

    eprintln!("starting servers");
    let mpsc = Mpsc::start(&mut tasks);
    let bare_tcp = bare_tcp_server(&mut tasks).await?;
    let bare_quinn = bare_quinn_server(&tls, &mut tasks)?;
    let grpc = grpc_server(bytes::Bytes::new(), &mut tasks)?;
    let options = LoopbackOptions {
        tls: Some(tls.ours.clone()),
        ..LoopbackOptions::default()
    };
    let options = &options;
    let host = |kind| async move {
        loopback(kind, probe(), options)
            .await
            .map_err(|error| failed(&format!("a loopback {kind} host"), error))
    };
    let direct_host = host(TransportKind::Direct).await?;
    let channel_host = host(TransportKind::Channel).await?;
    let tcp_host = host(TransportKind::Tcp).await?;
    let tls_host = host(TransportKind::TlsTcp).await?;
    let quic_host = host(TransportKind::Quic).await?;
    let direct = Ours::of(&direct_host);
    let channel = Ours::of(&channel_host);
    let tcp = Ours::of(&tcp_host);
    let tls_tcp = Ours::of(&tls_host);
    let quic = Ours::of(&quic_host);
    let tcp_address = tcp_host
        .server()
        .ok_or("the tcp host has no server")?
        .local_addr();
    let tls_address = tls_host
        .server()
        .ok_or("the tls host has no server")?
        .local_addr();
    let quic_address = quic_host
        .quic_server()
        .ok_or("the quic host has no server")?
        .local_addr();
    let ping_pong = PingPong::connect(bare_tcp).await?;
    let quinn_stream = QuinnStream::connect(&tls, bare_quinn).await?;
    let tonic = Tonic::connect(grpc, ECHO).await?;

    let sequential = vec![
        sequential_row(MPSC, None, &mpsc).await?,
        sequential_row("direct", Some(MPSC), &direct).await?,
        sequential_row("channel", Some(MPSC), &channel).await?,
        sequential_row(BARE_TCP, None, &ping_pong).await?,
        sequential_row("tcp", Some(BARE_TCP), &tcp).await?,
        sequential_row("tls-tcp", Some(BARE_TCP), &tls_tcp).await?,
        sequential_row(BARE_QUINN, None, &quinn_stream).await?,
        sequential_row("quic", Some(BARE_QUINN), &quic).await?,
        sequential_row(TONIC, Some(BARE_TCP), &tonic).await?,
    ];
    print_sequential(&sequential);

    let multiplexed = Multiplexed::connect(bare_tcp, &mut tasks).await?;
    let pooled = Ours {
        client: ProbeClient::from(
            Client::tcp_pooled(
                "probe",
                TcpEndpoint::new(tcp_address.to_string()),
                PoolConfig {
                    max_size: POOL_SIZE,
                    connection_timeout_ms: 3_000,
                },
            )
            .map_err(|error| failed("a pooled TCP client", error))?,
        ),
        name: "tcp pooled",
    };
    let pooled_name = format!("tcp through the pool ({POOL_SIZE} connections)");
    let concurrent = vec![
        concurrent_row(MPSC, None, &mpsc).await?,
        concurrent_row("direct", Some(MPSC), &direct).await?,
        concurrent_row("channel", Some(MPSC), &channel).await?,
        concurrent_row(BARE_MUX, None, &multiplexed).await?,
        concurrent_row("tcp", Some(BARE_MUX), &tcp).await?,
        concurrent_row("tls-tcp", Some(BARE_MUX), &tls_tcp).await?,
        concurrent_row("quic", Some(BARE_MUX), &quic).await?,
        concurrent_row(&pooled_name, Some(BARE_MUX), &pooled).await?,
        concurrent_row(TONIC, Some(BARE_MUX), &tonic).await?,
    ];
    print_concurrent(&concurrent);

    let set_ups = vec![
        set_up_row(BARE_TCP_CONNECT, None, || bare_tcp_set_up(bare_tcp)).await?,
        set_up_row("tcp", Some(BARE_TCP_CONNECT), || {
            tcp_set_up(tcp_address, None)
        })
        .await?,
        set_up_row("tls-tcp", Some(BARE_TCP_CONNECT), || {
            tcp_set_up(tls_address, Some(tls.ours.client.clone()))
        })
        .await?,
        set_up_row(BARE_QUINN_CONNECT, None, || {
            bare_quinn_set_up(&tls, bare_quinn)
        })
        .await?,
        set_up_row("quic", Some(BARE_QUINN_CONNECT), || {
            quic_set_up(quic_address, tls.ours.client.clone())
        })
        .await?,
        set_up_row(TONIC, Some(BARE_TCP_CONNECT), || tonic_set_up(grpc)).await?,
    ];
    print_set_ups(&set_ups);
    let datasets = datasets_get(options, &mut tasks).await?;
    print_datasets(&datasets);
    print_targets(&sequential, &concurrent);
    match load_average() {
        Some(load) => println!("\nLoad average (1 min) at the end: {load:.2}."),
        None => println!("\nLoad average at the end: unknown (no /proc/loadavg)."),
    }
    tasks.abort_all();
    Ok(())
}

/// One echo round trip over some path; the answer is the payload, back.
pub(crate) trait Caller: Clone + Send + Sync + 'static {
    fn call(&self, payload: ByteBuf) -> impl Future<Output = Result<ByteBuf>> + Send;
}

/// Ours: a probe client over one transport.
#[derive(Clone)]
pub(crate) struct Ours {
    pub(crate) client: Probe,
    pub(crate) name: &'static str,
}

impl Ours {
    fn of(host: &Loopback<ProbeRequest, ProbeResponse>) -> Ours {
        let name = match host.kind() {
            TransportKind::Direct => "direct",
            TransportKind::Channel => "channel",
            TransportKind::Tcp => "tcp",
            TransportKind::TlsTcp => "tls-tcp",
            TransportKind::Quic => "quic",
            _ => "another transport",
        };
        Ours {
            client: ProbeClient::from(host.client()),
            name,
        }
    }
}

impl Caller for Ours {
    async fn call(&self, payload: ByteBuf) -> Result<ByteBuf> {
        self.client
            .echo(tarpc::context::current(), payload)
            .await
            .map_err(|error| failed(&format!("an echo over {}", self.name), error))
    }
}
