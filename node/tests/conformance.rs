//! The transport conformance suite: one set of test bodies — import, describe, preprocess,
//! compare, predict, typed errors, an oversized message — run over every transport a node
//! offers: direct calls, tarpc's channel, TCP, TLS-TCP and QUIC (both with mutual TLS).

use mltools_core::datasets::{Builtin, GetRequest, ImportRequest, Source};
use mltools_core::lab::LabCompareRequest;
use mltools_core::utils::AlgorithmFamily;
use mltools_core::{DatasetRef, ErrorKind, Frame, ModelId, RpcResultExt};
use mltools_node::config::{Listen, Placement, ServiceSection, TcpAt, TcpListen};
use mltools_node::{InProcess, Node, NodeBuilder, NodeConfig};
use mltools_transport::quic::{QuicEndpoint, QuicServerConfig};
use mltools_transport::tcp::{TcpEndpoint, TcpServerConfig, TlsClientConfig, TlsServerConfig};
use std::time::Duration;
use tarpc::context;

/// The frame limit of the remote transports in this suite (small, so the oversize body is
/// cheap).
const FRAME_LIMIT: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transport {
    Direct,
    Channel,
    Tcp,
    TlsTcp,
    Quic,
}

/// A node serving every service, and the node a test calls through (the same node for
/// the in-process transports; a client node hosting nothing for the remote ones).
struct Harness {
    transport: Transport,
    client: Node,
    _server: Option<Node>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn start(transport: Transport) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let in_process = match transport {
            Transport::Channel => InProcess::Channel,
            _ => InProcess::Direct,
        };
        let builder = Node::builder().data_dir(&data).in_process(in_process);
        if matches!(transport, Transport::Direct | Transport::Channel) {
            let client = builder.start().await.unwrap();
            return Harness {
                transport,
                client,
                _server: None,
                _dir: dir,
            };
        }
        let certs = matches!(transport, Transport::TlsTcp | Transport::Quic).then(|| {
            let hosts = ["127.0.0.1".to_owned(), "localhost".to_owned()];
            mltools_transport::certs::init(&dir.path().join("certs"), &["server".into()], &hosts)
                .unwrap()
        });
        let mut config = builder.config().clone();
        let mut listen = TcpServerConfig::new("127.0.0.1:0");
        listen.max_frame_bytes = FRAME_LIMIT;
        listen.tls = certs.as_ref().map(|files| {
            TlsServerConfig::files(&files.nodes[0].0, &files.nodes[0].1).with_client_ca(&files.ca)
        });
        let server_tls = listen.tls.clone();
        config.node.listen = Some(if transport == Transport::Quic {
            let server_tls = server_tls.expect("QUIC always has TLS");
            let mut quic = QuicServerConfig::new("127.0.0.1:0", server_tls);
            quic.max_frame_bytes = FRAME_LIMIT;
            Listen {
                tcp: None,
                quic: Some(quic),
            }
        } else {
            Listen {
                tcp: Some(TcpListen::Config(listen)),
                quic: None,
            }
        });
        let server = NodeBuilder::from_config(config).start().await.unwrap();
        let address = match transport {
            Transport::Quic => server.quic_addr().unwrap().to_string(),
            _ => server.listen_addr().unwrap().to_string(),
        };

        let mut config = NodeConfig::parse("[node]\nname = \"client\"\nserve = []\n").unwrap();
        for service in mltools_core::ServiceName::ALL {
            let client_tls = certs.as_ref().map(|files| {
                TlsClientConfig::ca(&files.ca).with_client_cert(&files.client.0, &files.client.1)
            });
            let at = if transport == Transport::Quic {
                let tls = client_tls.expect("QUIC always has TLS");
                let mut endpoint = QuicEndpoint::new(address.clone(), tls);
                endpoint.max_frame_bytes = FRAME_LIMIT;
                Placement::Quic(endpoint)
            } else {
                let mut endpoint = TcpEndpoint::new(address.clone());
                endpoint.max_frame_bytes = FRAME_LIMIT;
                endpoint.tls = client_tls;
                Placement::Tcp(TcpAt::Endpoint(endpoint))
            };
            let section = ServiceSection {
                at,
                ..ServiceSection::default()
            };
            config.services.insert(service, section);
        }
        let client = NodeBuilder::from_config(config).start().await.unwrap();
        Harness {
            transport,
            client,
            _server: Some(server),
            _dir: dir,
        }
    }

    fn serializes(&self) -> bool {
        matches!(
            self.transport,
            Transport::Tcp | Transport::TlsTcp | Transport::Quic
        )
    }
}

macro_rules! over_transports {
    ($($body:ident),* $(,)?) => {
        mod direct {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $body() {
                super::$body(super::Harness::start(super::Transport::Direct).await).await;
            })*
        }
        mod channel {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $body() {
                super::$body(super::Harness::start(super::Transport::Channel).await).await;
            })*
        }
        mod tcp {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $body() {
                super::$body(super::Harness::start(super::Transport::Tcp).await).await;
            })*
        }
        mod tls_tcp {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $body() {
                super::$body(super::Harness::start(super::Transport::TlsTcp).await).await;
            })*
        }
        mod quic {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $body() {
                super::$body(super::Harness::start(super::Transport::Quic).await).await;
            })*
        }
    };
}

over_transports!(
    import_describe_and_read,
    preprocess_through_utils,
    compare_then_predict,
    typed_errors_cross_unchanged,
    an_oversized_message_is_refused_where_it_is_serialized,
);

async fn import_iris(h: &Harness) -> mltools_core::DatasetId {
    let request = ImportRequest::new(Source::Builtin {
        name: Builtin::Iris,
    });
    let datasets = h.client.datasets().unwrap();
    datasets
        .import(context::current(), request)
        .await
        .into_service("datasets")
        .unwrap()
        .id
}

async fn import_describe_and_read(h: Harness) {
    let id = import_iris(&h).await;
    let datasets = h.client.datasets().unwrap();
    let description = datasets
        .describe(context::current(), DatasetRef::Id(id), None)
        .await
        .into_service("datasets")
        .unwrap();
    let sepal = description.columns[0].numeric.unwrap();
    assert!((sepal.mean - 5.843333).abs() < 1e-5, "{}", sepal.mean);
    let page = datasets
        .get(
            context::current(),
            GetRequest {
                offset: 148,
                limit: Some(10),
                ..GetRequest::all(id)
            },
        )
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(page.frame.rows(), 2);
    assert_eq!(page.frame.columns[4].data.display_value(1), "virginica");
}

async fn preprocess_through_utils(h: Harness) {
    let id = import_iris(&h).await;
    let page = h
        .client
        .datasets()
        .unwrap()
        .get(context::current(), GetRequest::all(id))
        .await
        .into_service("datasets")
        .unwrap();
    let features = Frame {
        columns: page.frame.columns[..4].to_vec(),
    };
    let utils = h.client.utils().unwrap();
    let spec = utils
        .default_pipeline(context::current(), AlgorithmFamily::Neighbors)
        .await
        .into_service("utils")
        .unwrap();
    let fitted = utils
        .fit_pipeline(context::current(), spec, features.clone())
        .await
        .into_service("utils")
        .unwrap();
    let matrix = utils
        .transform(context::current(), fitted, features)
        .await
        .into_service("utils")
        .unwrap();
    let first_column: f64 = (0..150).map(|row| matrix.values[row * 4]).sum();
    assert!(first_column.abs() < 1e-9, "standard-scaled: {first_column}");
}

async fn compare_then_predict(h: Harness) {
    let id = import_iris(&h).await;
    let request = LabCompareRequest {
        folds: 3,
        ..LabCompareRequest::new(id)
    };
    let report =
        mltools_lab::compare_and_wait(&h.client.lab().unwrap(), request, Duration::from_secs(120))
            .await
            .unwrap();
    assert!(report.leaderboard.entries[0].metrics["accuracy"].mean >= 0.93);
    let model = report.leaderboard.best.unwrap();
    let page = h
        .client
        .datasets()
        .unwrap()
        .get(
            context::current(),
            GetRequest {
                limit: Some(3),
                ..GetRequest::all(id)
            },
        )
        .await
        .into_service("datasets")
        .unwrap();
    let predictions = h
        .client
        .models()
        .unwrap()
        .predict(context::current(), model, page.frame)
        .await
        .into_service("models")
        .unwrap();
    let classes = predictions.classes.unwrap();
    assert_eq!(classes[predictions.values[0] as usize], "setosa");
}

async fn typed_errors_cross_unchanged(h: Harness) {
    let datasets = h.client.datasets().unwrap();
    let error = datasets
        .describe(context::current(), DatasetRef::parse("absent"), None)
        .await
        .into_service("datasets")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert!(error.message.contains("absent"), "{error}");
    let ragged = ImportRequest::new(Source::Bytes {
        label: "ragged.csv".into(),
        data: b"a,b\n1,2\n3\n".to_vec(),
    });
    let error = datasets
        .import(context::current(), ragged)
        .await
        .into_service("datasets")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(error.message.contains("line 3"), "{error}");
    let error = h
        .client
        .models()
        .unwrap()
        .predict(context::current(), ModelId(404), Frame::default())
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    let error = h
        .client
        .lab()
        .unwrap()
        .compare(
            context::current(),
            LabCompareRequest {
                folds: 1,
                ..LabCompareRequest::new(DatasetRef::parse("absent"))
            },
        )
        .await
        .into_service("lab")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");
}

async fn an_oversized_message_is_refused_where_it_is_serialized(h: Harness) {
    // A CSV of about 6 MiB, over the remote transports' 4 MiB frame limit.
    let mut text = String::from("x,y\n");
    while text.len() < 6 * 1024 * 1024 {
        text.push_str("1234567.25,7654321.5\n");
    }
    let request = ImportRequest::new(Source::Bytes {
        label: "big.csv".into(),
        data: text.into_bytes(),
    });
    let datasets = h.client.datasets().unwrap();
    let outcome = datasets
        .import(context::current(), request)
        .await
        .into_service("datasets");
    if h.serializes() {
        let error = outcome.unwrap_err();
        assert!(error.message.contains("frame limit"), "{error}");
        // The connection is still good for other calls.
        let listed = datasets
            .list(context::current())
            .await
            .into_service("datasets")
            .unwrap();
        assert!(listed.is_empty());
    } else {
        assert!(outcome.unwrap().rows > 290_000);
    }
}
