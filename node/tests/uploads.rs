//! A caller's file travels as an upload, over direct calls, TCP and QUIC (mutual TLS); a
//! listening node reads server-side files only under its `import_roots`; and the CLI,
//! whose datasets service is a remote daemon, sends the client's own file.

mod support;

use mltools_core::datasets::{
    AppendUpload, BeginUpload, GetRequest, ImportRequest, Source, UploadId,
};
use mltools_core::{ColumnData, ErrorKind, RpcResultExt, ServiceError, ServiceName};
use mltools_node::config::{Listen, Placement, ServiceSection, TcpAt, TcpListen};
use mltools_node::{Node, NodeBuilder, NodeConfig};
use mltools_transport::DatasetsClient;
use mltools_transport::quic::{QuicEndpoint, QuicServerConfig};
use mltools_transport::tcp::{TcpEndpoint, TcpServerConfig, TlsClientConfig, TlsServerConfig};
use mltools_transport::upload::upload_file;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{Daemon, WAIT};
use tarpc::context;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transport {
    Direct,
    Tcp,
    Quic,
}

/// A datasets node listening on TCP and QUIC, and a client of it over one transport.
struct Harness {
    client: DatasetsClient,
    server: Node,
    _client_node: Option<Node>,
    dir: tempfile::TempDir,
}

impl Harness {
    async fn start(transport: Transport) -> Harness {
        Harness::start_with(transport, |_| {}).await
    }

    async fn start_with(transport: Transport, adjust: impl FnOnce(&mut NodeConfig)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let hosts = ["127.0.0.1".to_owned(), "localhost".to_owned()];
        let certs =
            mltools_transport::certs::init(&dir.path().join("certs"), &["server".into()], &hosts)
                .unwrap();
        let mut config =
            NodeConfig::parse("[node]\nname = \"data\"\nserve = [\"datasets\"]\n").unwrap();
        config.datasets.data_dir = dir.path().join("data");
        let server_tls =
            TlsServerConfig::files(&certs.nodes[0].0, &certs.nodes[0].1).with_client_ca(&certs.ca);
        config.node.listen = Some(Listen {
            tcp: Some(TcpListen::Config(TcpServerConfig::new("127.0.0.1:0"))),
            quic: Some(QuicServerConfig::new("127.0.0.1:0", server_tls)),
        });
        adjust(&mut config);
        let server = NodeBuilder::from_config(config).start().await.unwrap();
        let at = match transport {
            Transport::Direct => {
                return Harness {
                    client: server.datasets().unwrap(),
                    server,
                    _client_node: None,
                    dir,
                };
            }
            Transport::Tcp => Placement::Tcp(TcpAt::Endpoint(TcpEndpoint::new(
                server.listen_addr().unwrap().to_string(),
            ))),
            Transport::Quic => {
                let tls = TlsClientConfig::ca(&certs.ca)
                    .with_client_cert(&certs.client.0, &certs.client.1);
                Placement::Quic(QuicEndpoint::new(
                    server.quic_addr().unwrap().to_string(),
                    tls,
                ))
            }
        };
        let mut config = NodeConfig::parse("[node]\nname = \"client\"\nserve = []\n").unwrap();
        config.services.insert(
            ServiceName::Datasets,
            ServiceSection {
                at,
                ..ServiceSection::default()
            },
        );
        let client_node = NodeBuilder::from_config(config).start().await.unwrap();
        Harness {
            client: client_node.datasets().unwrap(),
            server,
            _client_node: Some(client_node),
            dir,
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Begins an upload labelled `label`, of `size` bytes when known.
    async fn begin_upload(&self, label: &str, size: Option<u64>) -> UploadId {
        let begin = BeginUpload {
            label: label.into(),
            size,
        };
        self.client
            .begin_upload(context::current(), begin)
            .await
            .into_service("datasets")
            .unwrap()
    }

    fn upload_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("data/uploads")).map_or(0, |dir| dir.count())
    }
}

/// `rows` rows of `x,y,label`, with values that print exactly.
fn csv_text(rows: usize) -> String {
    let mut text = String::from("x,y,label\n");
    for row in 0..rows {
        let label = if row % 3 == 0 { "a" } else { "b" };
        text.push_str(&format!("{},{},{label}\n", row as f64 / 4.0, row * 7 % 100));
    }
    text
}

async fn import(
    client: &DatasetsClient,
    source: Source,
) -> Result<mltools_core::datasets::DatasetInfo, ServiceError> {
    client
        .import(context::current(), ImportRequest::new(source))
        .await
        .into_service("datasets")
}

/// Asserts that `error` is of `kind` and names each of `culprits` in its message.
fn assert_refused(error: &ServiceError, kind: ErrorKind, culprits: &[&str]) {
    assert_eq!(error.kind, kind, "{error}");
    for culprit in culprits {
        assert!(error.message.contains(culprit), "{culprit}: {error}");
    }
}

async fn round_trip(transport: Transport) {
    let h = Harness::start(transport).await;
    let path = h.file("readings.csv", &csv_text(2_000));
    // Small chunks, so that the file crosses in many appends.
    let source = upload_file(&h.client, &path, 4_096).await.unwrap();
    assert!(matches!(source, Source::Upload { .. }), "{source:?}");
    let info = import(&h.client, source.clone()).await.unwrap();
    assert_eq!((info.name.as_str(), info.rows), ("readings", 2_000));
    assert_eq!(info.source, "readings.csv (uploaded)");
    let page = h
        .client
        .get(context::current(), GetRequest::all(info.id))
        .await
        .into_service("datasets")
        .unwrap();
    let ColumnData::Numeric(xs) = &page.frame.columns[0].data else {
        panic!("x is numeric");
    };
    let expected: Vec<f64> = (0..2_000).map(|row| row as f64 / 4.0).collect();
    assert_eq!(xs, &expected);
    // The upload was consumed by the import, its file removed.
    assert_eq!(h.upload_files(), 0);
    let error = import(&h.client, source).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_round_trips_over_direct_calls() {
    round_trip(Transport::Direct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_round_trips_over_tcp() {
    round_trip(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_round_trips_over_quic() {
    round_trip(Transport::Quic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_uploaded_csv_is_refused_naming_its_line_and_column_over_tcp() {
    let h = Harness::start(Transport::Tcp).await;
    let path = h.file("ragged.csv", "a,b\n1,2\n3\n");
    let source = upload_file(&h.client, &path, 4).await.unwrap();
    let error = import(&h.client, source).await.unwrap_err();
    assert_refused(
        &error,
        ErrorKind::InvalidInput,
        &["ragged.csv: line 3: expected 2 fields, got 1"],
    );
    let path = h.file("words.csv", "a,b\n1,2\n");
    let source = upload_file(&h.client, &path, 1024).await.unwrap();
    let request = ImportRequest::new(source).target("c");
    let error = h
        .client
        .import(context::current(), request)
        .await
        .into_service("datasets")
        .unwrap_err();
    assert!(
        error
            .message
            .contains("words.csv: unknown target column `c`"),
        "{error}"
    );
    // A missing local file is named by the helper, before anything is sent.
    let error = upload_file(&h.client, h.dir.path().join("absent.csv"), 1024)
        .await
        .unwrap_err();
    assert_refused(&error, ErrorKind::NotFound, &["absent.csv"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_out_of_order_and_unknown_ids_are_refused_over_tcp() {
    let h = Harness::start(Transport::Tcp).await;
    let id = h.begin_upload("x.csv", None).await;
    let append = |upload, offset, data: &[u8]| AppendUpload {
        upload,
        offset,
        data: data.to_vec(),
    };
    let call = |request| {
        let client = h.client.clone();
        async move {
            client
                .append_upload(context::current(), request)
                .await
                .into_service("datasets")
        }
    };
    assert_eq!(call(append(id, 0, b"a\n1\n")).await.unwrap(), 4);
    assert_eq!(call(append(id, 0, b"a\n1\n")).await.unwrap(), 4, "a retry");
    let error = call(append(id, 9, b"2\n")).await.unwrap_err();
    assert_refused(
        &error,
        ErrorKind::InvalidInput,
        &["a chunk at offset 9, but 4 bytes were received"],
    );
    let unknown = UploadId([0x5a; 16]);
    let error = call(append(unknown, 0, b"x")).await.unwrap_err();
    assert_refused(&error, ErrorKind::NotFound, &[&unknown.to_string()]);
    let error = h
        .client
        .abort_upload(context::current(), unknown)
        .await
        .into_service("datasets")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound, "{error}");
    h.client
        .abort_upload(context::current(), id)
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(h.upload_files(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_upload_is_removed_after_its_idle_timeout() {
    let h = Harness::start_with(Transport::Tcp, |config| {
        config.datasets.upload_idle_timeout_ms = 200;
    })
    .await;
    let id = h.begin_upload("left.csv", Some(100)).await;
    let request = AppendUpload {
        upload: id,
        offset: 0,
        data: b"a,b\n".to_vec(),
    };
    h.client
        .append_upload(context::current(), request)
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(h.upload_files(), 1);
    // The event is the file's removal: polled, within a bound.
    let deadline = Instant::now() + WAIT;
    while h.upload_files() > 0 {
        assert!(Instant::now() < deadline, "the abandoned upload stayed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let error = import(&h.client, Source::Upload { id }).await.unwrap_err();
    assert_refused(&error, ErrorKind::NotFound, &["200 ms without an append"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listening_node_reads_server_side_files_only_under_its_roots() {
    // No roots configured: a listening node reads no file for a caller, not even one that
    // exists beside its data (its certificate key, say) or the process's environment.
    let h = Harness::start(Transport::Tcp).await;
    let key = h.dir.path().join("certs");
    let key_file = std::fs::read_dir(&key)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.extension()
                .is_some_and(|ext| ext == "key" || ext == "pem")
        })
        .expect("a key or certificate file");
    for path in [
        key_file.display().to_string(),
        "/proc/self/environ".to_owned(),
    ] {
        let error = import(&h.client, Source::File { path: path.clone() })
            .await
            .unwrap_err();
        assert_refused(
            &error,
            ErrorKind::InvalidInput,
            &[&path, "import_roots", "upload"],
        );
    }
    // Even the node's own in-process client is confined.
    let local = h.server.datasets().unwrap();
    let error = import(
        &local,
        Source::File {
            path: "/etc/hostname".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");

    // With roots: inside is read, outside (and through `..`) is refused.
    let roots_dir = tempfile::tempdir().unwrap();
    let root = roots_dir.path().join("shared");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("open.csv"), "a\n1\n2\n").unwrap();
    std::fs::write(roots_dir.path().join("private.csv"), "a\n1\n").unwrap();
    let configured = root.clone();
    let h = Harness::start_with(Transport::Tcp, move |config| {
        config.datasets.import_roots = Some(vec![configured]);
    })
    .await;
    let inside = Source::File {
        path: root.join("open.csv").display().to_string(),
    };
    assert_eq!(import(&h.client, inside).await.unwrap().rows, 2);
    for path in [
        roots_dir.path().join("private.csv"),
        root.join("../private.csv"),
    ] {
        let path = path.display().to_string();
        let error = import(&h.client, Source::File { path: path.clone() })
            .await
            .unwrap_err();
        assert_refused(&error, ErrorKind::InvalidInput, &[&path]);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_cli_compares_its_own_file_through_a_remote_datasets_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    write(
        &path("daemon.toml"),
        &format!(
            "[node]\nname = \"daemon\"\nlisten = {{ tcp = \"127.0.0.1:0\" }}\n\
             [datasets]\ndata_dir = \"{0}\"\n[models]\ndata_dir = \"{0}\"\n",
            path("daemon-data").display()
        ),
    );
    // The daemon runs in the test's working directory, where no `mine.csv` exists.
    assert!(!Path::new("mine.csv").exists());
    let daemon = Daemon::start(&path("daemon.toml"));
    let address = daemon.address("tcp");
    let client_dir = path("client");
    std::fs::create_dir_all(&client_dir).unwrap();
    write(&client_dir.join("mine.csv"), &csv_text(60));
    let services: String = ["datasets", "utils", "models", "lab"]
        .iter()
        .map(|service| format!("[services.{service}]\nat = {{ tcp = \"{address}\" }}\n"))
        .collect();
    write(
        &path("client.toml"),
        &format!("[node]\nname = \"cli\"\nserve = []\n{services}"),
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mltools"))
        .current_dir(&client_dir)
        .arg("--config")
        .arg(path("client.toml"))
        .args([
            "compare",
            "./mine.csv",
            "--target",
            "label",
            "--folds",
            "2",
            "--models",
            "gaussian_nb",
            "--json",
        ])
        .env_remove("MLTOOLS_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let leaderboard = support::json(&output);
    assert!(leaderboard.is_object(), "{leaderboard}");

    // The daemon stored the client's file, sent as an upload.
    let listed = support::json(
        &std::process::Command::new(env!("CARGO_BIN_EXE_mltools"))
            .arg("--config")
            .arg(path("client.toml"))
            .args(["datasets", "list", "--json"])
            .env_remove("MLTOOLS_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .unwrap(),
    );
    let mine = &listed.as_array().unwrap()[0];
    assert_eq!(mine["name"], "mine", "{listed}");
    assert_eq!(mine["rows"], 60, "{listed}");
    assert_eq!(mine["source"], "mine.csv (uploaded)", "{listed}");
    assert!(
        std::fs::read_dir(path("daemon-data").join("uploads")).map_or(0, |dir| dir.count()) == 0,
        "no upload left on the daemon"
    );
    drop(daemon);
    let _ = Duration::ZERO;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_over_the_frame_limit_fails_clearly_and_the_upload_is_aborted() {
    const FRAME: u64 = 1024 * 1024;
    let h = Harness::start_with(Transport::Tcp, |config| {
        let mut tcp = TcpServerConfig::new("127.0.0.1:0");
        tcp.max_frame_bytes = FRAME;
        if let Some(listen) = config.node.listen.as_mut() {
            listen.tcp = Some(TcpListen::Config(tcp));
        }
    })
    .await;
    let mut endpoint = TcpEndpoint::new(h.server.listen_addr().unwrap().to_string());
    endpoint.max_frame_bytes = FRAME;
    let mut config = NodeConfig::parse("[node]\nname = \"small\"\nserve = []\n").unwrap();
    config.services.insert(
        ServiceName::Datasets,
        ServiceSection {
            at: Placement::Tcp(TcpAt::Endpoint(endpoint)),
            ..ServiceSection::default()
        },
    );
    let small = NodeBuilder::from_config(config).start().await.unwrap();
    let client = small.datasets().unwrap();
    let path = h.file("wide.csv", &csv_text(100_000));
    let error = upload_file(&client, &path, 2 * FRAME as usize)
        .await
        .unwrap_err();
    assert!(error.message.contains("wide.csv"), "{error}");
    assert!(error.message.contains("frame limit"), "{error}");
    assert_eq!(h.upload_files(), 0, "the helper aborted its upload");
    // Chunks that fit go through on the same client.
    let source = upload_file(&client, &path, FRAME as usize / 2)
        .await
        .unwrap();
    assert_eq!(import(&client, source).await.unwrap().rows, 100_000);
}
