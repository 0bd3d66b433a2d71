//! A node daemon exposed to hostile peers and careless requests, as a real process on
//! 127.0.0.1: each test asserts the refusal, that a legitimate client is served during and
//! after, and that the daemon logged no panic.

mod support;

use mltools_core::datasets::{
    DatasetsRequest, DatasetsResponse, GetRequest, ImportRequest, Source,
};
use mltools_core::lab::LabCompareRequest;
use mltools_core::models::{FitRequest, ModelFile, ModelSpec, Rows, TrainingData};
use mltools_core::{ErrorKind, RpcResultExt, ServiceError};
use mltools_node::{Node, NodeBuilder, NodeConfig};
use mltools_transport::Codec;
use mltools_transport::codec::Incoming as _;
use mltools_transport::remote::hello::preamble_frame;
use mltools_transport::remote::{Answer, Hello, PROTOCOL_VERSION};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::{Daemon, WAIT};
use tarpc::context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const TOKEN: &str = "a-token-of-more-than-16-bytes";

/// A daemon serving every service over TCP with a token, short handshake and frame
/// deadlines, and server-side files confined to `DIR/roots`; `extra` is appended to its
/// config (more `[datasets]` keys, say).
struct Exposed {
    daemon: Daemon,
    dir: tempfile::TempDir,
    address: SocketAddr,
}

impl Exposed {
    fn start(listen_extra: &str, extra: &str) -> Exposed {
        Exposed::start_with_models(listen_extra, extra, "")
    }

    /// As [`Exposed::start`], with `models_extra` appended to the `[models]` table.
    fn start_with_models(listen_extra: &str, extra: &str, models_extra: &str) -> Exposed {
        let dir = tempfile::tempdir().unwrap();
        let roots = dir.path().join("roots");
        std::fs::create_dir(&roots).unwrap();
        let config = dir.path().join("node.toml");
        std::fs::write(
            &config,
            format!(
                "[node]\nname = \"exposed\"\nshutdown_grace_ms = 2000\n\
                 [node.listen.tcp]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n\
                 handshake_timeout_ms = 1000\nframe_timeout_ms = 1000\n{listen_extra}\n\
                 [datasets]\ndata_dir = \"{data}\"\nimport_roots = [\"{roots}\"]\n{extra}\n\
                 [models]\ndata_dir = \"{data}\"\n{models_extra}\n",
                data = dir.path().join("data").display(),
                roots = roots.display(),
            ),
        )
        .unwrap();
        let daemon = Daemon::start_with(&config, &[("RUST_LOG", "info")]);
        let address = daemon.address("tcp").parse().unwrap();
        Exposed {
            daemon,
            dir,
            address,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A legitimate client: a node hosting nothing, reaching every service on the daemon.
    async fn client(&self) -> Node {
        let place = |service: &str| {
            format!(
                "[services.{service}]\nat = {{ tcp = {{ address = \"{}\", token = \"{TOKEN}\" }} }}\n",
                self.address
            )
        };
        let mut config = NodeConfig::parse(&format!(
            "[node]\nname = \"client\"\nserve = []\n{}{}{}{}",
            place("datasets"),
            place("utils"),
            place("models"),
            place("lab"),
        ))
        .unwrap();
        config.datasets.data_dir = self.path("client");
        config.models.data_dir = self.path("client");
        NodeBuilder::from_config(config).start().await.unwrap()
    }

    /// Stops the daemon and checks that it exited cleanly and logged no panic.
    fn stop_without_a_panic(mut self) {
        self.daemon.terminate();
        let status = self.daemon.exit_within(WAIT).expect("the daemon exits");
        let log = self.daemon.remaining_log();
        assert!(
            !log.iter().any(|line| line.contains("panicked")),
            "the daemon panicked:\n{}",
            log.join("\n")
        );
        assert_eq!(status.code(), Some(0), "{}", log.join("\n"));
    }
}

fn ctx() -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = Instant::now() + Duration::from_secs(60);
    ctx
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} within {WAIT:?}"))
}

async fn list(node: &Node) -> Result<usize, ServiceError> {
    let datasets = node.datasets().unwrap();
    Ok(within("a list call", datasets.list(ctx()))
        .await
        .into_service("datasets")?
        .len())
}

/// A TCP connection to `address` from the loopback source `source`.
async fn connect_from(source: Ipv4Addr, address: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
    socket.connect(address).await.unwrap()
}

/// Waits until the server closes `stream` (end of stream or a reset), reading whatever
/// it sends meanwhile.
async fn closed_by_the_server(mut stream: TcpStream) {
    let mut buffer = [0u8; 1024];
    within("the server closing the connection", async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

async fn write_frame(stream: &mut TcpStream, payload: &[u8]) {
    stream
        .write_all(&(payload.len() as u32).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(payload).await.unwrap();
}

async fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await.unwrap();
    let mut payload = vec![0; u32::from_be_bytes(head) as usize];
    stream.read_exact(&mut payload).await.unwrap();
    payload
}

/// A raw connection from `source` that said hello to `service` with `token`, and the answer.
async fn raw_hello(
    source: Ipv4Addr,
    address: SocketAddr,
    service: &str,
    token: &str,
) -> (TcpStream, Answer) {
    let mut stream = connect_from(source, address).await;
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        service: service.into(),
        token: Some(token.into()),
        codec: Codec::Postcard,
        max_frame_bytes: 1 << 20,
    };
    write_frame(&mut stream, &preamble_frame(&hello).unwrap()).await;
    let answer = Codec::Postcard
        .decode(&within("the hello's answer", read_frame(&mut stream)).await)
        .unwrap();
    (stream, answer)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

async fn latencies(node: &Node, calls: usize) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        list(node).await.expect("a legitimate call is served");
        times.push(started.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_open_connections_are_cut_while_a_client_is_served() {
    // Room for all 300 silent connections to be held pending at once: the worst case.
    let exposed = Exposed::start(
        "max_pending_handshakes = 512\nmax_pending_per_ip = 8\nmax_connections = 16",
        "",
    );
    let client = exposed.client().await;
    let (base_p50, base_p99) = latencies(&client, 200).await;

    // 300 connections that never say anything, from 40 loopback addresses (at most 8 each,
    // so none is refused on arrival), and one that sends half a hello.
    let mut silent = Vec::new();
    for index in 0..300u32 {
        let source = Ipv4Addr::new(127, 0, 1, 1 + (index % 40) as u8);
        silent.push(connect_from(source, exposed.address).await);
    }
    let mut half = connect_from(Ipv4Addr::new(127, 0, 2, 1), exposed.address).await;
    half.write_all(&[0, 0, 1, 0, 1, 2, 3]).await.unwrap();

    // Held (they have 1 s to say hello), they cost the client nothing.
    let (held_p50, held_p99) = latencies(&client, 200).await;
    println!(
        "datasets.list over TCP, 200 calls: p50 {base_p50:?} p99 {base_p99:?} alone; \
         p50 {held_p50:?} p99 {held_p99:?} with 300 silent connections held"
    );

    // Every one of them is closed by the server at its handshake deadline.
    let started = Instant::now();
    closed_by_the_server(half).await;
    for stream in silent {
        closed_by_the_server(stream).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // A new client is served after, and the first one still is.
    let after = exposed.client().await;
    list(&after).await.unwrap();
    list(&client).await.unwrap();
    exposed.stop_without_a_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_stalled_after_the_hello_is_cut_at_its_deadline() {
    let exposed = Exposed::start("", "");
    let client = exposed.client().await;
    let (mut stream, answer) =
        raw_hello(Ipv4Addr::LOCALHOST, exposed.address, "datasets", TOKEN).await;
    assert!(matches!(answer, Answer::Welcome { .. }), "{answer:?}");
    // A request of 4,096 bytes announced, 3 sent: the rest never comes.
    stream.write_all(&[0, 0, 16, 0, 1, 2, 3]).await.unwrap();
    let started = Instant::now();
    closed_by_the_server(stream).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(10),
        "closed after {waited:?}, the frame deadline is 1 s"
    );
    list(&client).await.unwrap();
    exposed.stop_without_a_panic();
}

/// A `datasets.list` request as a hostile tarpc client writes it: any deadline, even one no
/// `Duration` holds.
fn raw_list(id: u64, secs: u64, nanos: u32) -> Vec<u8> {
    mltools_transport::test_probe::raw_request(
        Codec::Postcard,
        id,
        (secs, nanos),
        DatasetsRequest::List {},
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_deadlines_at_the_extremes_are_answered_not_a_panic() {
    let exposed = Exposed::start("", "");
    let client = exposed.client().await;
    let (mut stream, answer) =
        raw_hello(Ipv4Addr::LOCALHOST, exposed.address, "datasets", TOKEN).await;
    assert!(matches!(answer, Answer::Welcome { .. }), "{answer:?}");
    // One second, i64::MAX and u64::MAX seconds, the largest nanos: each is answered.
    let deadlines = [
        (1, 1, 0),
        (2, i64::MAX as u64, 0),
        (3, u64::MAX, 0),
        (4, u64::MAX, 999_999_999),
    ];
    for (id, secs, nanos) in deadlines {
        write_frame(&mut stream, &raw_list(id, secs, nanos)).await;
    }
    let mut answered = BTreeMap::new();
    while answered.len() < deadlines.len() {
        let frame = within("an answer", read_frame(&mut stream)).await;
        let response = tarpc::Response::<DatasetsResponse>::decode(Codec::Postcard, &frame)
            .expect("a response");
        let listed = matches!(response.message, Ok(DatasetsResponse::List(Ok(_))));
        answered.insert(response.request_id, listed);
    }
    assert!(answered.values().all(|listed| *listed), "{answered:?}");
    // A deadline past what a `Duration` holds is malformed: that connection is closed.
    write_frame(&mut stream, &raw_list(5, u64::MAX, u32::MAX)).await;
    closed_by_the_server(stream).await;
    list(&client).await.unwrap();
    exposed.stop_without_a_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_tokens_back_off_their_address_and_reveal_no_services() {
    let exposed = Exposed::start("", "");
    let client = exposed.client().await;
    let attacker = Ipv4Addr::new(127, 0, 3, 1);
    for attempt in 0..5 {
        let (_, answer) = raw_hello(
            attacker,
            exposed.address,
            "datasets",
            "wrong-token-wrong-token",
        )
        .await;
        let text = format!("{answer:?}");
        assert!(
            !matches!(answer, Answer::Welcome { .. }),
            "attempt {attempt}: {text}"
        );
        assert!(
            !text.contains("models") && !text.contains("utils"),
            "a refusal names no hosted service: {text}"
        );
    }
    // Now even the right token from that address is refused at once, unanswered.
    let stream = connect_from(attacker, exposed.address).await;
    closed_by_the_server(stream).await;
    // Other addresses are served.
    list(&client).await.unwrap();
    let (_, answer) = raw_hello(Ipv4Addr::LOCALHOST, exposed.address, "datasets", TOKEN).await;
    assert!(matches!(answer, Answer::Welcome { .. }), "{answer:?}");
    exposed.stop_without_a_panic();
}

fn refused(result: Result<impl std::fmt::Debug, ServiceError>, kind: ErrorKind) -> ServiceError {
    match result {
        Err(error) if error.kind == kind => error,
        other => panic!("expected a {kind:?} refusal, got {other:?}"),
    }
}

async fn import(
    node: &Node,
    source: Source,
) -> Result<mltools_core::datasets::DatasetInfo, ServiceError> {
    within(
        "an import",
        node.datasets()
            .unwrap()
            .import(ctx(), ImportRequest::new(source)),
    )
    .await
    .into_service("datasets")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_files_outside_the_roots_are_refused() {
    let exposed = Exposed::start("", "");
    let client = exposed.client().await;
    let roots = exposed.path("roots");
    std::fs::write(roots.join("inside.csv"), "x,y\n1,2\n3,4\n").unwrap();
    std::os::unix::fs::symlink(exposed.path("node.toml"), roots.join("config.csv")).unwrap();
    let file = |path: PathBuf| Source::File {
        path: path.display().to_string(),
    };
    let outside = [
        file(exposed.path("node.toml")),
        file(roots.join("../node.toml")),
        file(roots.join("config.csv")),
        file(PathBuf::from("/proc/self/environ")),
        file(PathBuf::from("/etc/passwd")),
    ];
    for source in outside {
        let error = refused(
            import(&client, source.clone()).await,
            ErrorKind::InvalidInput,
        );
        assert!(error.message.contains("import_roots"), "{source}: {error}");
        assert!(!error.message.contains(TOKEN), "{error}");
    }
    let inside = import(&client, file(roots.join("inside.csv")))
        .await
        .unwrap();
    assert_eq!(inside.rows, 2);
    exposed.stop_without_a_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_to_private_addresses_are_refused_and_never_reached() {
    let exposed = Exposed::start("", "");
    let client = exposed.client().await;
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    target.set_nonblocking(true).unwrap();
    let port = target.local_addr().unwrap().port();
    for url in [
        format!("http://127.0.0.1:{port}/data.csv"),
        format!("http://localhost:{port}/data.csv"),
        format!("http://[::ffff:127.0.0.1]:{port}/data.csv"),
    ] {
        let error = refused(
            import(&client, Source::Url { url: url.clone() }).await,
            ErrorKind::InvalidInput,
        );
        assert!(
            error.message.contains("allow_private_urls"),
            "{url}: {error}"
        );
    }
    assert!(
        matches!(target.accept(), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "the private address was never connected to"
    );
    list(&client).await.unwrap();
    exposed.stop_without_a_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_larger_than_a_page_is_refused_saying_to_page() {
    let exposed = Exposed::start("", "max_page_bytes = 65536");
    let client = exposed.client().await;
    let mut csv = String::from("a,b\n");
    for row in 0..10_000 {
        csv.push_str(&format!("{row},{}\n", row * 2));
    }
    let info = import(
        &client,
        Source::Bytes {
            label: "big.csv".into(),
            data: csv.into_bytes(),
        },
    )
    .await
    .unwrap();
    let datasets = client.datasets().unwrap();
    let error = refused(
        within("a get", datasets.get(ctx(), GetRequest::all(info.id)))
            .await
            .into_service("datasets"),
        ErrorKind::InvalidInput,
    );
    assert!(error.message.contains("offset"), "{error}");
    let page = within(
        "a page",
        datasets.get(
            ctx(),
            GetRequest {
                limit: Some(100),
                ..GetRequest::all(info.id)
            },
        ),
    )
    .await
    .into_service("datasets")
    .unwrap();
    assert_eq!(page.frame.rows(), 100);
    exposed.stop_without_a_panic();
}

/// Fits a decision tree on iris through the daemon and exports it.
async fn exported_tree(client: &Node) -> (ModelFile, Vec<String>, u32, mltools_core::DatasetId) {
    let info = import(
        client,
        Source::Builtin {
            name: mltools_core::datasets::Builtin::Iris,
        },
    )
    .await
    .unwrap();
    let models = client.models().unwrap();
    let model = within(
        "a fit",
        models.fit(
            ctx(),
            FitRequest {
                data: TrainingData {
                    dataset: info.id,
                    version: info.version,
                    rows: Rows::Stored,
                    target: "species".into(),
                    task: None,
                },
                model: ModelSpec {
                    algorithm: "decision_tree_classifier".into(),
                    params: BTreeMap::new(),
                    pipeline: None,
                },
                seed: 0,
            },
        ),
    )
    .await
    .into_service("models")
    .unwrap();
    let inputs = model
        .pipeline
        .input_columns
        .iter()
        .map(|column| column.name.clone())
        .collect();
    let file = within("an export", models.export(ctx(), model.id))
        .await
        .into_service("models")
        .unwrap();
    (file, inputs, info.version, info.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crafted_model_files_are_refused_or_sound_and_never_hang_the_node() {
    let exposed = Exposed::start("", "");
    let client = exposed.client().await;
    let (file, inputs, version, dataset) = exported_tree(&client).await;
    let rows = within(
        "rows to predict",
        client.datasets().unwrap().get(
            ctx(),
            GetRequest {
                dataset: dataset.into(),
                version: Some(version),
                offset: 0,
                limit: Some(5),
                columns: Some(inputs),
            },
        ),
    )
    .await
    .into_service("datasets")
    .unwrap()
    .frame;
    let models = client.models().unwrap();

    // Truncated, a wrong magic number, a future version: each refused naming why.
    let mut damaged = vec![
        file.bytes[..file.bytes.len() / 2].to_vec(),
        [b"NOPE".as_slice(), &file.bytes[4..]].concat(),
    ];
    let mut future = file.bytes.clone();
    future[4] = 200;
    damaged.push(future);
    for bytes in damaged {
        let error = refused(
            within("an import", models.import(ctx(), ModelFile { bytes }))
                .await
                .into_service("models"),
            ErrorKind::InvalidInput,
        );
        assert!(error.message.contains("model file"), "{error}");
    }

    // Every byte of the model changed in turn (children, features, classes, lengths): each
    // file is refused, or imports and predicts — a tree that loops never gets in, so every
    // prediction answers within its deadline.
    let (mut refusals, mut sound) = (0, 0);
    let step = (file.bytes.len() / 400).max(1);
    for position in (5..file.bytes.len()).step_by(step) {
        for change in [1u8, 0x80] {
            let mut bytes = file.bytes.clone();
            bytes[position] = bytes[position].wrapping_add(change);
            let imported = within("an import", models.import(ctx(), ModelFile { bytes }))
                .await
                .into_service("models");
            match imported {
                Err(error) => {
                    assert_eq!(
                        error.kind,
                        ErrorKind::InvalidInput,
                        "byte {position}: {error}"
                    );
                    refusals += 1;
                }
                Ok(info) => {
                    let mut short = context::current();
                    short.deadline = Instant::now() + Duration::from_secs(10);
                    let answer = within(
                        "a prediction with an imported model",
                        models.predict(short, info.id, rows.clone()),
                    )
                    .await
                    .into_service("models");
                    if let Err(error) = answer {
                        assert_ne!(error.kind, ErrorKind::Timeout, "byte {position}: {error}");
                        assert_ne!(error.kind, ErrorKind::Internal, "byte {position}: {error}");
                    }
                    sound += 1;
                }
            }
        }
    }
    println!("crafted model files: {refusals} refused, {sound} imported and predicted");
    assert!(refusals > 0);
    list(&client).await.unwrap();
    exposed.stop_without_a_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compare_with_an_identifier_column_leaves_it_out_with_a_warning() {
    let exposed = Exposed::start("", "");
    let client = exposed.client().await;
    let mut csv = String::from("customer_id,x1,x2,target\n");
    for row in 0..3_000u64 {
        let x1 = (row * 7919 % 1000) as f64 / 100.0;
        let x2 = (row * 104_729 % 1000) as f64 / 100.0;
        let label = if x1 + 0.5 * x2 > 7.5 { "yes" } else { "no" };
        csv.push_str(&format!("C{:07},{x1},{x2},{label}\n", row * 13 + 5));
    }
    let local = exposed.path("customers.csv");
    std::fs::write(&local, csv).unwrap();
    // The client's own file travels as an upload: the daemon reads no path of the client's.
    let source = mltools_transport::upload::upload_file(
        &client.datasets().unwrap(),
        &local,
        mltools_transport::upload::DEFAULT_CHUNK_BYTES,
    )
    .await
    .unwrap();
    let info = import(&client, source).await.unwrap();
    let mut request = LabCompareRequest::new(info.id);
    request.target = Some("target".into());
    request.models = ["logistic_regression", "gaussian_nb"]
        .into_iter()
        .map(|algorithm| ModelSpec {
            algorithm: algorithm.into(),
            params: BTreeMap::new(),
            pipeline: None,
        })
        .collect();
    let report =
        mltools_lab::compare_and_wait(&client.lab().unwrap(), request, Duration::from_secs(120))
            .await
            .unwrap();
    let warnings = &report.leaderboard.warnings;
    assert!(
        warnings
            .iter()
            .any(|warning| warning.contains("customer_id") && warning.contains("identifier")),
        "{warnings:?}"
    );
    assert!(
        report
            .leaderboard
            .entries
            .iter()
            .all(|entry| entry.error.is_none())
    );
    assert!(report.leaderboard.entries[0].metrics["accuracy"].mean > 0.8);
    exposed.stop_without_a_panic();
}

/// `rows` rows of 12 pseudo-random features, a class and a number unrelated to them: fits
/// that take tens of seconds, so every one of them outlives its deadline.
fn noisy_csv(rows: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = (0..12)
        .map(|column| format!("x{column},"))
        .collect::<String>();
    csv.push_str("class,value\n");
    for _ in 0..rows {
        for _ in 0..12 {
            csv.push_str(&format!("{:.4},", next()));
        }
        let class = if next() < 0.5 { "a" } else { "b" };
        csv.push_str(&format!("{class},{:.4}\n", next() * 100.0));
    }
    csv.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fits_past_their_deadline_free_the_only_fit_thread_within_seconds() {
    let exposed = Exposed::start_with_models("", "", "fit_threads = 1\nmax_running_fits = 1\n");
    let client = exposed.client().await;
    let noisy = import(
        &client,
        Source::Bytes {
            label: "noisy.csv".into(),
            data: noisy_csv(40_000),
        },
    )
    .await
    .unwrap();
    let iris = import(
        &client,
        Source::Builtin {
            name: mltools_core::datasets::Builtin::Iris,
        },
    )
    .await
    .unwrap();
    let models = client.models().unwrap();
    let request =
        |info: &mltools_core::datasets::DatasetInfo,
         target: &str,
         algorithm: &str,
         params: &[(&str, mltools_core::models::ParamValue)]| FitRequest {
            data: TrainingData {
                dataset: info.id,
                version: info.version,
                rows: Rows::Stored,
                target: target.into(),
                task: None,
            },
            model: ModelSpec {
                algorithm: algorithm.into(),
                params: params
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), value.clone()))
                    .collect(),
                pipeline: None,
            },
            seed: 0,
        };
    // Each fit runs for tens of seconds uncancelled; a tree builder, a forest, the SVM
    // solver must see its deadline inside its loops and give the node's only fit thread
    // back.
    let slow = [
        ("random_forest_classifier", "class"),
        ("random_forest_regressor", "value"),
        ("extra_trees_regressor", "value"),
        ("svc", "class"),
    ];
    // The linear solvers see their cancel inside their loops too; a design large enough
    // to keep them busy past a deadline is too large to send here: see the models
    // service's `tests/cancel_linear.rs`.
    const DEADLINE: Duration = Duration::from_millis(1500);
    for (algorithm, target) in slow {
        let mut short = context::current();
        let started = Instant::now();
        short.deadline = started + DEADLINE;
        let outcome = within(
            "a fit past its deadline",
            models.fit(short, request(&noisy, target, algorithm, &[])),
        )
        .await
        .into_service("models");
        let error = refused(outcome, ErrorKind::Timeout);
        assert!(
            started.elapsed() < DEADLINE + Duration::from_secs(2),
            "{algorithm}: answered after {:?}: {error}",
            started.elapsed()
        );
        // The only fit thread is free again once the fit saw its deadline: a small fit
        // runs (the slot may still be taken for a moment: Overloaded is retried).
        let quick = loop {
            let answer = within(
                "a small fit",
                models.fit(ctx(), request(&iris, "species", "gaussian_nb", &[])),
            )
            .await
            .into_service("models");
            match answer {
                Err(error) if error.kind == ErrorKind::Overloaded => {
                    assert!(
                        started.elapsed() < DEADLINE + Duration::from_secs(10),
                        "{algorithm}: the fit still holds its slot: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => break other,
            }
        };
        quick.unwrap();
        let freed = started.elapsed().saturating_sub(DEADLINE);
        println!("{algorithm}: the next fit ended {freed:?} after the deadline");
        assert!(
            freed < Duration::from_secs(4),
            "{algorithm}: the next fit waited {freed:?} past the deadline for the thread"
        );
    }
    exposed.stop_without_a_panic();
}

#[test]
fn a_short_token_stops_the_daemon_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        "[node]\nname = \"weak\"\n[node.listen.tcp]\nlisten = \"127.0.0.1:0\"\ntoken = \"short\"\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mltools"))
        .args(["--config", config.to_str().unwrap(), "node"])
        .env_remove("MLTOOLS_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("token") && stderr.contains("16 bytes"),
        "{stderr}"
    );
}

/// An internal failure (here a stored model damaged behind the daemon's back) reaches the
/// remote caller as `Internal` naming an incident, without the detail; the daemon logs the
/// detail under that number and keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_failure_reaches_the_caller_as_an_incident_and_the_detail_stays_in_the_log() {
    let mut exposed = Exposed::start("", "");
    let client = exposed.client().await;
    let (_, _, _, _) = exported_tree(&client).await;
    let models = client.models().unwrap();
    let stored = within("a list", models.list(ctx()))
        .await
        .into_service("models")
        .unwrap();
    let id = stored[0].id;

    // Damage the stored model's description in the daemon's own registry file.
    let registry = exposed.path("data").join("models.db");
    let database = rusqlite::Connection::open(&registry).unwrap();
    database.busy_timeout(Duration::from_secs(10)).unwrap();
    let changed = database
        .execute(
            "UPDATE models SET info = x'ffffffffffffffffff' WHERE id = ?1",
            [id.0 as i64],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(database);

    let error = within("a get", models.get(ctx(), id))
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Internal, "{error}");
    let incident = error
        .message
        .strip_prefix("a stored model could not be read (incident ")
        .and_then(|rest| rest.split_once(';'))
        .map(|(number, _)| number.to_owned())
        .unwrap_or_else(|| panic!("the answer names an incident: {error}"));
    let data_dir = exposed.path("data").display().to_string();
    assert!(!error.message.contains(&data_dir), "{error}");
    assert!(!error.message.contains("damaged"), "{error}");

    // The daemon keeps serving.
    assert!(list(&client).await.unwrap() >= 1);
    within("the algorithms", models.algorithms(ctx()))
        .await
        .into_service("models")
        .unwrap();

    // Its log has the detail under the number.
    exposed.daemon.terminate();
    exposed.daemon.exit_within(WAIT).expect("the daemon exits");
    let log = exposed.daemon.remaining_log();
    assert!(
        log.iter()
            .any(|line| line.contains(&format!("incident={incident}"))
                && line.contains("stored model is damaged")),
        "no log line of incident {incident}:\n{}",
        log.join("\n")
    );
}
