//! Every transport beside its raw baseline, in one run, printed as markdown tables.
//!
//! The call is the probe's echo (`Probe::echo(ByteBuf) -> ByteBuf`): the bytes go there and
//! come back, and the answer is the next call's payload, so no path copies a payload it does
//! not have to. Each transport is compared with the bare mechanism under it:
//!
//! | ours | baseline |
//! |---|---|
//! | `direct`, `channel` | a bare tokio mpsc + oneshot round trip to a task |
//! | `tcp`, `tls-tcp` (postcard) | bare TCP: one connection, `TCP_NODELAY`, u32 length prefix; for concurrent callers, a bare multiplexed connection (request ids) |
//! | `quic` (one long bi-stream) | bare quinn: one long bi-stream, length-prefixed ping-pong |
//!
//! Three tables: sequential round trips (p50, p99) at 64 B, 64 KiB and 8 MiB; calls per
//! second with 1, 16 and 64 concurrent callers at 64 B on one connection (and through a
//! pool of 4 TCP connections); and connection set-up (connect, then the first answer).
//! Client and servers share one multi-threaded tokio runtime on 127.0.0.1, and the
//! measuring loop runs in a task on it, as a service's calls do.
//!
//! Run: `cargo bench --bench transports` (tables on stdout, progress on stderr).

use mltools::transport::certs;
use mltools::transport::conformance::{
    Loopback, LoopbackOptions, LoopbackTls, TransportKind, loopback,
};
use mltools::transport::pool::PoolConfig;
use mltools::transport::quic::QuicEndpoint;
use mltools::transport::tcp::{TcpEndpoint, TlsClientConfig, TlsServerConfig};
use mltools::transport::test_probe::{ProbeClient, ProbeRequest, ProbeResponse, probe};
use mltools::transport::{Client, LinkStatus};
use serde_bytes::ByteBuf;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A payload size of the sequential table and how many calls are timed at it (a tenth as
/// many go first, untimed, as a warm-up).
struct Size {
    bytes: usize,
    label: &'static str,
    calls: usize,
}

const SIZES: [Size; 3] = [
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
        calls: 20,
    },
];
/// The payload of the concurrent and set-up tables.
const SMALL: usize = 64;
const CALLERS: [usize; 3] = [1, 16, 64];
const CONCURRENT_FOR: Duration = Duration::from_secs(2);
/// Untimed calls before each concurrent measurement (connections of the pool are made then).
const CONCURRENT_WARM_UP: Duration = Duration::from_millis(200);
const SET_UPS: usize = 50;
const SET_UP_WARM_UPS: usize = 5;
/// Connections in the pooled row.
const POOL_SIZE: u32 = 4;
/// Buffers of the bare TCP framing: small frames go out and come in with one system call.
const TCP_BUFFER: usize = 64 * 1024;
const ALPN_BARE: &[u8] = b"bench";

// Row names, also used to find a row's baseline.
const MPSC: &str = "bare mpsc + oneshot";
const BARE_TCP: &str = "bare TCP ping-pong";
const BARE_MUX: &str = "bare TCP multiplexed";
const BARE_QUINN: &str = "bare quinn, one long bi-stream";
const BARE_TCP_CONNECT: &str = "bare TCP connect";
const BARE_QUINN_CONNECT: &str = "bare quinn connect";

type Probe = ProbeClient<Client<ProbeRequest, ProbeResponse>>;

fn main() {
    // Read before anything of ours runs: the load others put on the machine.
    let load_before = load_average();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        tokio::spawn(run(load_before))
            .await
            .expect("the bench task panicked");
    });
}

async fn run(load_before: Option<f64>) {
    print_header(load_before);
    let dir = tempfile::tempdir().expect("a temp dir for the certificates");
    let tls = make_certs(&dir.path().join("certs"));
    let mut tasks = JoinSet::new();

    eprintln!("starting servers");
    let mpsc = Mpsc::start(&mut tasks);
    let bare_tcp = bare_tcp_server(&mut tasks).await;
    let bare_quinn = bare_quinn_server(&tls, &mut tasks);
    let options = LoopbackOptions {
        tls: Some(tls.ours.clone()),
        ..LoopbackOptions::default()
    };
    let options = &options;
    let host = |kind| async move {
        loopback(kind, probe(), options)
            .await
            .unwrap_or_else(|error| panic!("a loopback {kind} host: {error}"))
    };
    let direct_host = host(TransportKind::Direct).await;
    let channel_host = host(TransportKind::Channel).await;
    let tcp_host = host(TransportKind::Tcp).await;
    let tls_host = host(TransportKind::TlsTcp).await;
    let quic_host = host(TransportKind::Quic).await;
    let direct = Ours::of(&direct_host);
    let channel = Ours::of(&channel_host);
    let tcp = Ours::of(&tcp_host);
    let tls_tcp = Ours::of(&tls_host);
    let quic = Ours::of(&quic_host);
    let tcp_address = tcp_host
        .server()
        .expect("the tcp host's server")
        .local_addr();
    let tls_address = tls_host
        .server()
        .expect("the tls host's server")
        .local_addr();
    let quic_address = quic_host
        .quic_server()
        .expect("the quic host's server")
        .local_addr();
    let ping_pong = PingPong::connect(bare_tcp).await;
    let quinn_stream = QuinnStream::connect(&tls, bare_quinn).await;

    let sequential = vec![
        sequential_row(MPSC, None, &mpsc).await,
        sequential_row("direct", Some(MPSC), &direct).await,
        sequential_row("channel", Some(MPSC), &channel).await,
        sequential_row(BARE_TCP, None, &ping_pong).await,
        sequential_row("tcp", Some(BARE_TCP), &tcp).await,
        sequential_row("tls-tcp", Some(BARE_TCP), &tls_tcp).await,
        sequential_row(BARE_QUINN, None, &quinn_stream).await,
        sequential_row("quic", Some(BARE_QUINN), &quic).await,
    ];
    print_sequential(&sequential);

    let multiplexed = Multiplexed::connect(bare_tcp, &mut tasks).await;
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
            .expect("a pooled TCP client"),
        ),
        name: "tcp pooled",
    };
    let pooled_name = format!("tcp through the pool ({POOL_SIZE} connections)");
    let concurrent = vec![
        concurrent_row(MPSC, None, &mpsc).await,
        concurrent_row("direct", Some(MPSC), &direct).await,
        concurrent_row("channel", Some(MPSC), &channel).await,
        concurrent_row(BARE_MUX, None, &multiplexed).await,
        concurrent_row("tcp", Some(BARE_MUX), &tcp).await,
        concurrent_row("tls-tcp", Some(BARE_MUX), &tls_tcp).await,
        concurrent_row("quic", Some(BARE_MUX), &quic).await,
        concurrent_row(&pooled_name, Some(BARE_MUX), &pooled).await,
    ];
    print_concurrent(&concurrent);

    let set_ups = vec![
        set_up_row(BARE_TCP_CONNECT, None, || bare_tcp_set_up(bare_tcp)).await,
        set_up_row("tcp", Some(BARE_TCP_CONNECT), || {
            tcp_set_up(tcp_address, None)
        })
        .await,
        set_up_row("tls-tcp", Some(BARE_TCP_CONNECT), || {
            tcp_set_up(tls_address, Some(tls.ours.client.clone()))
        })
        .await,
        set_up_row(BARE_QUINN_CONNECT, None, || {
            bare_quinn_set_up(&tls, bare_quinn)
        })
        .await,
        set_up_row("quic", Some(BARE_QUINN_CONNECT), || {
            quic_set_up(quic_address, tls.ours.client.clone())
        })
        .await,
    ];
    print_set_ups(&set_ups);
    print_targets(&sequential, &concurrent);
    match load_average() {
        Some(load) => println!("\nLoad average (1 min) at the end: {load:.2}."),
        None => println!("\nLoad average at the end: unknown (no /proc/loadavg)."),
    }
    tasks.abort_all();
}

// ---------------------------------------------------------------------------------------
// Callers: one echo call over some path.

/// One echo round trip over some path; the answer is the payload, back.
trait Caller: Clone + Send + Sync + 'static {
    fn call(&self, payload: ByteBuf) -> impl Future<Output = ByteBuf> + Send;
}

/// Ours: a probe client over one transport.
#[derive(Clone)]
struct Ours {
    client: Probe,
    name: &'static str,
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
    async fn call(&self, payload: ByteBuf) -> ByteBuf {
        self.client
            .echo(tarpc::context::current(), payload)
            .await
            .unwrap_or_else(|error| panic!("an echo over {}: {error}", self.name))
    }
}

/// The floor of the in-process transports: a request over a bounded mpsc to a task,
/// answered through a oneshot.
#[derive(Clone)]
struct Mpsc(mpsc::Sender<(ByteBuf, oneshot::Sender<ByteBuf>)>);

impl Mpsc {
    fn start(tasks: &mut JoinSet<()>) -> Mpsc {
        let (requests, mut incoming) = mpsc::channel::<(ByteBuf, oneshot::Sender<ByteBuf>)>(1024);
        tasks.spawn(async move {
            while let Some((payload, reply)) = incoming.recv().await {
                // A caller that gave up is no concern of the echo task.
                let _ = reply.send(payload);
            }
        });
        Mpsc(requests)
    }
}

impl Caller for Mpsc {
    async fn call(&self, payload: ByteBuf) -> ByteBuf {
        let (reply, answer) = oneshot::channel();
        self.0
            .send((payload, reply))
            .await
            .expect("the mpsc echo task runs");
        answer.await.expect("the mpsc echo task answers")
    }
}

/// Bare TCP, one call at a time on one connection: a length-prefixed frame out, one back.
#[derive(Clone)]
struct PingPong(Arc<Mutex<TcpFrames>>);

struct TcpFrames {
    reader: BufReader<OwnedReadHalf>,
    writer: BufWriter<OwnedWriteHalf>,
}

impl TcpFrames {
    fn new(stream: TcpStream) -> TcpFrames {
        stream
            .set_nodelay(true)
            .expect("TCP_NODELAY on a bare connection");
        let (read, write) = stream.into_split();
        TcpFrames {
            reader: BufReader::with_capacity(TCP_BUFFER, read),
            writer: BufWriter::with_capacity(TCP_BUFFER, write),
        }
    }
}

impl PingPong {
    async fn connect(address: SocketAddr) -> PingPong {
        let stream = TcpStream::connect(address)
            .await
            .expect("a bare TCP connection");
        PingPong(Arc::new(Mutex::new(TcpFrames::new(stream))))
    }
}

impl Caller for PingPong {
    async fn call(&self, payload: ByteBuf) -> ByteBuf {
        let mut frames = self.0.lock().await;
        let frames = &mut *frames;
        write_frame(&mut frames.writer, &[&payload[..]])
            .await
            .expect("a bare TCP write");
        frames.writer.flush().await.expect("a bare TCP flush");
        ByteBuf::from(
            read_frame(&mut frames.reader)
                .await
                .expect("a bare TCP read"),
        )
    }
}

/// Bare TCP with many calls in flight on one connection: one writer task fed by an mpsc,
/// one reader task, a request id per call and a map id → oneshot. A frame is the id (u64)
/// and the payload; the echo server sends it back whole.
#[derive(Clone)]
struct Multiplexed {
    requests: mpsc::Sender<(u64, ByteBuf)>,
    waiting: Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<ByteBuf>>>>,
    next_id: Arc<AtomicU64>,
}

impl Multiplexed {
    async fn connect(address: SocketAddr, tasks: &mut JoinSet<()>) -> Multiplexed {
        let stream = TcpStream::connect(address)
            .await
            .expect("a bare multiplexed TCP connection");
        let TcpFrames {
            mut reader,
            mut writer,
        } = TcpFrames::new(stream);
        let (requests, mut outgoing) = mpsc::channel::<(u64, ByteBuf)>(1024);
        let waiting = Arc::new(std::sync::Mutex::new(HashMap::<
            u64,
            oneshot::Sender<ByteBuf>,
        >::new()));
        tasks.spawn(async move {
            while let Some((id, payload)) = outgoing.recv().await {
                write_frame(&mut writer, &[&id.to_be_bytes()[..], &payload[..]])
                    .await
                    .expect("a multiplexed write");
                // Everything queued meanwhile goes out in the same flush.
                while let Ok((id, payload)) = outgoing.try_recv() {
                    write_frame(&mut writer, &[&id.to_be_bytes()[..], &payload[..]])
                        .await
                        .expect("a multiplexed write");
                }
                writer.flush().await.expect("a multiplexed flush");
            }
        });
        let answers = Arc::clone(&waiting);
        tasks.spawn(async move {
            while let Ok(mut body) = read_frame(&mut reader).await {
                let payload = body.split_off(8);
                let id = u64::from_be_bytes(body.try_into().expect("an 8-byte request id"));
                let caller = answers
                    .lock()
                    .expect("the map of waiting calls is not poisoned")
                    .remove(&id);
                if let Some(caller) = caller {
                    let _ = caller.send(ByteBuf::from(payload));
                }
            }
        });
        Multiplexed {
            requests,
            waiting,
            next_id: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Caller for Multiplexed {
    async fn call(&self, payload: ByteBuf) -> ByteBuf {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.waiting
            .lock()
            .expect("the map of waiting calls is not poisoned")
            .insert(id, reply);
        self.requests
            .send((id, payload))
            .await
            .expect("the multiplexed writer runs");
        answer.await.expect("the multiplexed reader answers")
    }
}

/// Bare quinn: one long bi-stream, a length-prefixed frame out, one back.
#[derive(Clone)]
struct QuinnStream(Arc<Mutex<(quinn::SendStream, quinn::RecvStream)>>);

impl QuinnStream {
    async fn connect(tls: &Tls, address: SocketAddr) -> QuinnStream {
        let (_endpoint, connection) = quinn_connect(tls, address).await;
        let stream = connection.open_bi().await.expect("a bare quinn bi-stream");
        QuinnStream(Arc::new(Mutex::new(stream)))
    }
}

impl Caller for QuinnStream {
    async fn call(&self, payload: ByteBuf) -> ByteBuf {
        let mut stream = self.0.lock().await;
        let (send, recv) = &mut *stream;
        write_frame(send, &[&payload[..]])
            .await
            .expect("a bare quinn write");
        ByteBuf::from(read_frame(recv).await.expect("a bare quinn read"))
    }
}

// ---------------------------------------------------------------------------------------
// Bare framing and servers.

/// A frame: the parts' total length (u32, big-endian), then the parts.
async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, parts: &[&[u8]]) -> io::Result<()> {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let len = u32::try_from(len).expect("a bench frame under 4 GiB");
    writer.write_all(&len.to_be_bytes()).await?;
    for part in parts {
        writer.write_all(part).await?;
    }
    Ok(())
}

async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
    let len = reader.read_u32().await?;
    let mut body = vec![0; len as usize];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

/// Whether `buffered` holds a whole frame, so the echo can answer it before flushing.
fn holds_whole_frame(buffered: &[u8]) -> bool {
    match buffered.first_chunk::<4>() {
        Some(len) => buffered.len() - 4 >= u32::from_be_bytes(*len) as usize,
        None => false,
    }
}

/// A bare TCP echo server: every frame sent back whole, in order; answers are flushed
/// once no whole frame is left in the read buffer (several at once when calls pile up).
async fn bare_tcp_server(tasks: &mut JoinSet<()>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a bare TCP listener");
    let address = listener.local_addr().expect("the bare listener's address");
    tasks.spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            while connections.try_join_next().is_some() {}
            connections.spawn(async move {
                let TcpFrames {
                    mut reader,
                    mut writer,
                } = TcpFrames::new(stream);
                while let Ok(body) = read_frame(&mut reader).await {
                    if write_frame(&mut writer, &[&body[..]]).await.is_err() {
                        return;
                    }
                    if !holds_whole_frame(reader.buffer()) && writer.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

/// Certificates for both ends: ours take the paths, the bare quinn ends the rustls configs.
struct Tls {
    ours: LoopbackTls,
    bare_server: quinn::ServerConfig,
    bare_client: quinn::ClientConfig,
}

/// A CA and a server certificate for 127.0.0.1 and localhost, made now (`certs::init`, the
/// same rcgen path `mltools certs init` takes). The server does not ask for a client
/// certificate, on either the bare or our side.
fn make_certs(dir: &Path) -> Tls {
    let files = certs::init(
        dir,
        &["server".to_owned()],
        &["127.0.0.1".to_owned(), "localhost".to_owned()],
    )
    .expect("certificates for the bench");
    let (cert, key) = files.nodes.first().expect("the server's certificate");
    let provider = || Arc::new(rustls::crypto::ring::default_provider());

    let chain = CertificateDer::pem_file_iter(cert)
        .expect("the server certificate's file")
        .collect::<Result<Vec<_>, _>>()
        .expect("the server certificate's PEM");
    let private = PrivateKeyDer::from_pem_file(key).expect("the server key's PEM");
    let mut server = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 for the bare server")
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .expect("a usable server certificate");
    server.alpn_protocols = vec![ALPN_BARE.to_vec()];

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&files.ca).expect("the CA's PEM"))
        .expect("the CA as a root");
    let mut client = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3 for the bare client")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![ALPN_BARE.to_vec()];

    Tls {
        ours: LoopbackTls {
            server: TlsServerConfig::files(cert, key),
            client: TlsClientConfig::ca(&files.ca),
        },
        bare_server: quinn::ServerConfig::with_crypto(Arc::new(
            quinn::crypto::rustls::QuicServerConfig::try_from(server)
                .expect("the bare server's QUIC TLS"),
        )),
        bare_client: quinn::ClientConfig::new(Arc::new(
            quinn::crypto::rustls::QuicClientConfig::try_from(client)
                .expect("the bare client's QUIC TLS"),
        )),
    }
}

/// A bare quinn echo server: on every bi-stream, length-prefixed frames echoed one by one.
fn bare_quinn_server(tls: &Tls, tasks: &mut JoinSet<()>) -> SocketAddr {
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    let endpoint =
        quinn::Endpoint::server(tls.bare_server.clone(), local).expect("a bare quinn server");
    let address = endpoint.local_addr().expect("the bare quinn address");
    tasks.spawn(async move {
        let mut connections = JoinSet::new();
        while let Some(incoming) = endpoint.accept().await {
            while connections.try_join_next().is_some() {}
            connections.spawn(async move {
                let Ok(connection) = incoming.await else {
                    return;
                };
                let mut streams = JoinSet::new();
                while let Ok((mut send, mut recv)) = connection.accept_bi().await {
                    streams.spawn(async move {
                        while let Ok(body) = read_frame(&mut recv).await {
                            if write_frame(&mut send, &[&body[..]]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
        }
    });
    address
}

/// A new client endpoint and a connection from it (handshake done).
async fn quinn_connect(tls: &Tls, address: SocketAddr) -> (quinn::Endpoint, quinn::Connection) {
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    let endpoint = quinn::Endpoint::client(local).expect("a bare quinn client endpoint");
    let connection = endpoint
        .connect_with(tls.bare_client.clone(), address, "localhost")
        .expect("a bare quinn connect")
        .await
        .expect("a bare quinn handshake");
    (endpoint, connection)
}

// ---------------------------------------------------------------------------------------
// Measurements.

struct Latency {
    p50: Duration,
    p99: Duration,
}

struct SequentialRow {
    name: String,
    baseline: Option<&'static str>,
    /// One per [`SIZES`].
    latencies: Vec<Latency>,
}

async fn sequential_row<C: Caller>(
    name: &str,
    baseline: Option<&'static str>,
    caller: &C,
) -> SequentialRow {
    let mut latencies = Vec::new();
    for size in &SIZES {
        eprintln!("sequential: {name}, {}", size.label);
        latencies.push(sequential(caller, size).await);
    }
    SequentialRow {
        name: name.to_owned(),
        baseline,
        latencies,
    }
}

async fn sequential<C: Caller>(caller: &C, size: &Size) -> Latency {
    let mut payload = ByteBuf::from(vec![0xA5; size.bytes]);
    for _ in 0..size.calls / 10 {
        payload = caller.call(payload).await;
    }
    let mut times = Vec::with_capacity(size.calls);
    for _ in 0..size.calls {
        let started = Instant::now();
        payload = caller.call(payload).await;
        times.push(started.elapsed());
        assert_eq!(payload.len(), size.bytes, "the echo's length");
    }
    times.sort();
    Latency {
        p50: times[times.len() / 2],
        p99: times[(times.len() * 99 / 100).min(times.len() - 1)],
    }
}

struct ConcurrentRow {
    name: String,
    baseline: Option<&'static str>,
    /// Calls per second, one per [`CALLERS`].
    rates: Vec<f64>,
}

async fn concurrent_row<C: Caller>(
    name: &str,
    baseline: Option<&'static str>,
    caller: &C,
) -> ConcurrentRow {
    let mut rates = Vec::new();
    for callers in CALLERS {
        eprintln!("concurrent: {name}, {callers} callers");
        rates.push(calls_per_second(caller, callers).await);
    }
    ConcurrentRow {
        name: name.to_owned(),
        baseline,
        rates,
    }
}

const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOPPED: u8 = 2;

/// Calls per second of `callers` tasks calling in a loop with 64 B, counted over
/// [`CONCURRENT_FOR`] after [`CONCURRENT_WARM_UP`]. Each task counts on its own (a shared
/// counter would cost the fastest paths a contended cache line per call).
async fn calls_per_second<C: Caller>(caller: &C, callers: usize) -> f64 {
    let phase = Arc::new(AtomicU8::new(WARMING));
    let mut tasks = JoinSet::new();
    for _ in 0..callers {
        let caller = caller.clone();
        let phase = Arc::clone(&phase);
        tasks.spawn(async move {
            let mut payload = ByteBuf::from(vec![1; SMALL]);
            let mut counted = 0u64;
            loop {
                let now = phase.load(Ordering::Relaxed);
                if now == STOPPED {
                    return counted;
                }
                payload = caller.call(payload).await;
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
        total += counted.expect("a caller task panicked");
    }
    total as f64 / elapsed.as_secs_f64()
}

/// One connection set-up: when it was connected, and when the first answer came.
struct SetUp {
    connected: Duration,
    answered: Duration,
}

struct SetUpRow {
    name: &'static str,
    baseline: Option<&'static str>,
    /// Medians.
    set_up: SetUp,
}

async fn set_up_row<F, Fut>(
    name: &'static str,
    baseline: Option<&'static str>,
    mut once: F,
) -> SetUpRow
where
    F: FnMut() -> Fut,
    Fut: Future<Output = SetUp>,
{
    eprintln!("set-up: {name}");
    for _ in 0..SET_UP_WARM_UPS {
        once().await;
    }
    let mut connected = Vec::with_capacity(SET_UPS);
    let mut answered = Vec::with_capacity(SET_UPS);
    for _ in 0..SET_UPS {
        let set_up = once().await;
        connected.push(set_up.connected);
        answered.push(set_up.answered);
    }
    connected.sort();
    answered.sort();
    SetUpRow {
        name,
        baseline,
        set_up: SetUp {
            connected: connected[SET_UPS / 2],
            answered: answered[SET_UPS / 2],
        },
    }
}

async fn bare_tcp_set_up(address: SocketAddr) -> SetUp {
    let started = Instant::now();
    let stream = TcpStream::connect(address)
        .await
        .expect("a bare TCP connection");
    let connected = started.elapsed();
    let caller = PingPong(Arc::new(Mutex::new(TcpFrames::new(stream))));
    caller.call(ByteBuf::from(vec![1; SMALL])).await;
    SetUp {
        connected,
        answered: started.elapsed(),
    }
}

async fn bare_quinn_set_up(tls: &Tls, address: SocketAddr) -> SetUp {
    let started = Instant::now();
    let (endpoint, connection) = quinn_connect(tls, address).await;
    let connected = started.elapsed();
    let stream = connection.open_bi().await.expect("a bare quinn bi-stream");
    let caller = QuinnStream(Arc::new(Mutex::new(stream)));
    caller.call(ByteBuf::from(vec![1; SMALL])).await;
    let answered = started.elapsed();
    connection.close(0u32.into(), b"done");
    drop(endpoint);
    SetUp {
        connected,
        answered,
    }
}

/// Ours from its configuration: the client made (TLS files read), connected (TLS and the
/// hello done), then the first call answered.
async fn our_set_up(started: Instant, client: Client<ProbeRequest, ProbeResponse>) -> SetUp {
    let remote = client.remote().expect("a remote client");
    remote
        .wait_for(|status| *status == LinkStatus::Connected)
        .await;
    let connected = started.elapsed();
    let caller = Ours {
        client: ProbeClient::from(client.clone()),
        name: "a new connection",
    };
    caller.call(ByteBuf::from(vec![1; SMALL])).await;
    SetUp {
        connected,
        answered: started.elapsed(),
    }
}

async fn tcp_set_up(address: SocketAddr, tls: Option<TlsClientConfig>) -> SetUp {
    let started = Instant::now();
    let mut endpoint = TcpEndpoint::new(address.to_string());
    endpoint.tls = tls;
    let client = Client::tcp("probe", endpoint).expect("a TCP client");
    our_set_up(started, client).await
}

async fn quic_set_up(address: SocketAddr, tls: TlsClientConfig) -> SetUp {
    let started = Instant::now();
    let endpoint = QuicEndpoint::new(address.to_string(), tls);
    let client = Client::quic("probe", endpoint).expect("a QUIC client");
    our_set_up(started, client).await
}

// ---------------------------------------------------------------------------------------
// Printing.

fn print_header(load_before: Option<f64>) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown date".to_owned(), |date| date.trim().to_owned());
    println!("# Transports against their raw baselines (benches/transports.rs)\n");
    println!("- machine: {cpu}, nproc {cores}; {date}");
    println!("- command: `cargo bench --bench transports`");
    match load_before {
        Some(load) if load > 1.0 => println!(
            "- load average (1 min) before the start: {load:.2}: something else was running, the figures are noisy"
        ),
        Some(load) => println!(
            "- load average (1 min) before the start: {load:.2}: nothing much else was running"
        ),
        None => println!("- load average before the start: unknown (no /proc/loadavg)"),
    }
    println!(
        "- one process, one multi-threaded tokio runtime ({cores} workers), 127.0.0.1; the call is an echo of a `serde_bytes::ByteBuf` answered with the same bytes, the answer being the next call's payload; ours use postcard, TLS 1.3 (server certificate only) for tls-tcp and quic"
    );
}

fn print_sequential(rows: &[SequentialRow]) {
    println!("\n## Round trip, sequential calls\n");
    let counts: Vec<String> = SIZES
        .iter()
        .map(|size| format!("{} {} calls", size.label, size.calls))
        .collect();
    println!(
        "p50 and p99 over {} (after a tenth as many untimed; of 20 calls the p99 is the slowest); × = p50 / the baseline's p50. MB/s = the 8 MiB payload (10^6 B) / p50 of its round trip (it travels both ways; the in-process paths move a pointer, hence their absurd figures); × bytes/s = ours / the baseline's.\n",
        counts.join(", ")
    );
    let mut head = String::from("| path | baseline |");
    let mut rule = String::from("|---|---|");
    for size in &SIZES {
        head += &format!(" {0} p50 | {0} p99 | × |", size.label);
        rule += "---:|---:|---:|";
    }
    println!("{head} 8 MiB MB/s | × bytes/s |");
    println!("{rule}---:|---:|");
    let last = SIZES.len() - 1;
    let megabytes_per_second = |p50: Duration| SIZES[last].bytes as f64 / p50.as_secs_f64() / 1e6;
    for row in rows {
        let base = row.baseline.map(|name| find(rows, name));
        let mut line = format!("| {} | {} |", row.name, row.baseline.unwrap_or("—"));
        for (at, latency) in row.latencies.iter().enumerate() {
            let ratio = base.map_or("—".to_owned(), |base| {
                times(latency.p50.as_secs_f64() / base.latencies[at].p50.as_secs_f64())
            });
            line += &format!(" {} | {} | {ratio} |", time(latency.p50), time(latency.p99));
        }
        let rate = megabytes_per_second(row.latencies[last].p50);
        let ratio = base.map_or("—".to_owned(), |base| {
            times(rate / megabytes_per_second(base.latencies[last].p50))
        });
        println!("{line} {rate:.0} | {ratio} |");
    }
}

fn print_concurrent(rows: &[ConcurrentRow]) {
    println!("\n## Throughput with concurrent callers, 64 B\n");
    println!(
        "Calls per second over {} s (after {} ms untimed), every caller a task calling in a loop, on ONE connection (the pooled row: {POOL_SIZE}); × = ours / the baseline's. quic has no multiplexed bare baseline of its own: it is set against bare multiplexed TCP.\n",
        CONCURRENT_FOR.as_secs(),
        CONCURRENT_WARM_UP.as_millis()
    );
    let mut head = String::from("| path | baseline |");
    let mut rule = String::from("|---|---|");
    for callers in CALLERS {
        head += &format!(
            " {callers} caller{} | × |",
            if callers == 1 { "" } else { "s" }
        );
        rule += "---:|---:|";
    }
    println!("{head}");
    println!("{rule}");
    for row in rows {
        let base = row.baseline.map(|name| find(rows, name));
        let mut line = format!("| {} | {} |", row.name, row.baseline.unwrap_or("—"));
        for (at, rate) in row.rates.iter().enumerate() {
            let ratio = base.map_or("—".to_owned(), |base| times(rate / base.rates[at]));
            line += &format!(" {} | {ratio} |", per_second(*rate));
        }
        println!("{line}");
    }
}

fn print_set_ups(rows: &[SetUpRow]) {
    println!("\n## Connection set-up\n");
    println!(
        "Medians over {SET_UPS} (after {SET_UP_WARM_UPS} untimed). Connected: bare TCP `connect`; bare quinn a new client endpoint and the handshake; ours from `Client::tcp`/`Client::quic` (configuration checked, TLS files read) until the link is up (TLS and the hello done). First answer: that, then one 64 B echo (bare: on a new stream for quinn). × = first answer / the baseline's.\n"
    );
    println!("| path | baseline | connected | first answer | × |");
    println!("|---|---|---:|---:|---:|");
    for row in rows {
        let ratio = row.baseline.map_or("—".to_owned(), |name| {
            let base = find(rows, name);
            times(row.set_up.answered.as_secs_f64() / base.set_up.answered.as_secs_f64())
        });
        println!(
            "| {} | {} | {} | {} | {ratio} |",
            row.name,
            row.baseline.unwrap_or("—"),
            time(row.set_up.connected),
            time(row.set_up.answered)
        );
    }
}

fn print_targets(sequential: &[SequentialRow], concurrent: &[ConcurrentRow]) {
    let p50 = |name: &str, at: usize| find(sequential, name).latencies[at].p50.as_secs_f64();
    let rate = |name: &str, at: usize| find(concurrent, name).rates[at];
    let small = 0;
    let large = SIZES.len() - 1;
    let most = CALLERS.len() - 1;
    println!("\n## Targets (for information)\n");
    let ratio = p50("direct", small) / p50(MPSC, small);
    target(
        "direct p50 ≤ 1.0× bare mpsc+oneshot (64 B)",
        ratio,
        ratio <= 1.0,
    );
    let ratio = rate("direct", most) / rate("channel", most);
    target(
        "direct calls/s ≥ 10× channel's (64 callers)",
        ratio,
        ratio >= 10.0,
    );
    let ratio = p50("tcp", small) / p50(BARE_TCP, small);
    target("tcp p50 ≤ 1.3× bare ping-pong (64 B)", ratio, ratio <= 1.3);
    let ratio = p50(BARE_TCP, large) / p50("tcp", large);
    target(
        "tcp bytes/s ≥ 0.70× bare ping-pong's (8 MiB)",
        ratio,
        ratio >= 0.7,
    );
    let ratio = rate("tcp", most) / rate(BARE_MUX, most);
    target(
        "tcp calls/s ≥ 0.5× the bare multiplexed connection's (64 callers)",
        ratio,
        ratio >= 0.5,
    );
    let ratio = p50("quic", small) / p50(BARE_QUINN, small);
    target("quic p50 ≤ 1.3× bare quinn (64 B)", ratio, ratio <= 1.3);
    let ratio = p50("quic", large) / p50(BARE_TCP, large);
    target("quic 8 MiB time ≤ 2× bare TCP's", ratio, ratio <= 2.0);
}

fn target(what: &str, figure: f64, met: bool) {
    let verdict = if met { "met" } else { "missed" };
    println!("- {verdict}: {what}: {figure:.2}");
}

/// A row of a table, found by its name.
trait Named {
    fn name(&self) -> &str;
}

impl Named for SequentialRow {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ConcurrentRow {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for SetUpRow {
    fn name(&self) -> &str {
        self.name
    }
}

fn find<'a, R: Named>(rows: &'a [R], name: &str) -> &'a R {
    rows.iter()
        .find(|row| row.name() == name)
        .unwrap_or_else(|| panic!("no row named {name}"))
}

fn time(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 10.0 {
        format!("{micros:.2} µs")
    } else if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

fn times(ratio: f64) -> String {
    format!("{ratio:.2}×")
}

fn per_second(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else {
        format!("{:.0} k", rate / 1e3)
    }
}

/// The 1-minute load average.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
