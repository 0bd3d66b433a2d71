//! Nodes reaching each other's services over TCP on 127.0.0.1: in one process, and as
//! three real daemons whose models node is killed and restarted during a compare.

mod support;

use mltools_core::datasets::{Builtin, ImportRequest, Source};
use mltools_core::lab::LabCompareRequest;
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_node::{NodeBuilder, NodeConfig};
use std::path::Path;
use std::time::{Duration, Instant};
use support::Daemon;
use tarpc::context;

fn config(text: &str, data: &Path) -> NodeConfig {
    let mut config = NodeConfig::parse(text).expect("a valid config");
    config.datasets.data_dir = data.to_owned();
    config.models.data_dir = data.to_owned();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lab_node_compares_through_a_data_node_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let data_node = NodeBuilder::from_config(config(
        "[node]\nname = \"data\"\nserve = [\"datasets\", \"utils\"]\nlisten = { tcp = \"127.0.0.1:0\" }\n",
        &dir.path().join("a"),
    ))
    .start()
    .await
    .unwrap();
    let address = data_node.listen_addr().expect("listening").to_string();
    let main = NodeBuilder::from_config(config(
        &format!(
            "[node]\nname = \"main\"\nserve = [\"models\", \"lab\"]\n\
             [services.datasets]\nat = {{ tcp = \"{address}\" }}\n\
             [services.utils]\nat = {{ tcp = \"{address}\" }}\n"
        ),
        &dir.path().join("b"),
    ))
    .start()
    .await
    .unwrap();

    // The dataset lands on the data node, through main's remote client.
    let info = main
        .datasets()
        .unwrap()
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin {
                name: Builtin::BreastCancer,
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    let listed = data_node
        .datasets()
        .unwrap()
        .list(context::current())
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(listed[0].name, "breast_cancer");

    let report = mltools_lab::compare_and_wait(
        &main.lab().unwrap(),
        LabCompareRequest::new(info.id),
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert!(report.leaderboard.entries[0].metrics["accuracy"].mean >= 0.95);
    assert!(
        report.plots.len() >= 3,
        "plots rendered by the remote utils"
    );

    // The data node stops: main's calls fail fast as Unavailable, naming the address.
    assert!(data_node.shutdown_within(Duration::from_secs(5)).await);
    let started = Instant::now();
    let error = main
        .datasets()
        .unwrap()
        .list(context::current())
        .await
        .into_service("datasets")
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert!(error.message.contains(&address), "{error}");
    assert!(main.shutdown_within(Duration::from_secs(5)).await);
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_compare_and_survive_the_models_node_dying_mid_compare() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let data = support::data_daemon(dir.path());
    let data_address = data.address("tcp");
    // The models node gets a fixed port so that it can come back on the same address.
    let models_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    write(
        &path("models.toml"),
        &format!(
            "[node]\nname = \"models\"\nserve = [\"models\"]\nlisten = {{ tcp = \"127.0.0.1:{models_port}\" }}\n\
             [services.utils]\nat = {{ tcp = \"{data_address}\" }}\n\
             [services.datasets]\nat = {{ tcp = \"{data_address}\" }}\n[models]\ndata_dir = \"{}\"\n",
            path("models").display()
        ),
    );
    let models = Daemon::start(&path("models.toml"));
    let models_address = models.address("tcp");
    write(
        &path("main.toml"),
        &format!(
            "[node]\nname = \"main\"\nserve = [\"lab\"]\nlisten = {{ tcp = \"127.0.0.1:0\" }}\n\
             [services.datasets]\nat = {{ tcp = \"{data_address}\" }}\n\
             [services.utils]\nat = {{ tcp = \"{data_address}\" }}\n\
             [services.models]\nat = {{ tcp = \"{models_address}\" }}\n\
             pool = {{ max_size = 2, connection_timeout_ms = 3000 }}\n\
             [lab]\ndata_dir = \"{}\"\n",
            path("lab").display()
        ),
    );
    let main = Daemon::start(&path("main.toml"));
    let main_address = main.address("tcp");

    // This test is a fourth node hosting nothing: a client of the lab and the datasets.
    let client = NodeBuilder::from_config(
        NodeConfig::parse(&format!(
            "[node]\nname = \"client\"\nserve = []\n\
             [services.lab]\nat = {{ tcp = \"{main_address}\" }}\n\
             [services.datasets]\nat = {{ tcp = \"{data_address}\" }}\n"
        ))
        .unwrap(),
    )
    .start()
    .await
    .unwrap();
    let datasets = client.datasets().unwrap();
    let lab = client.lab().unwrap();
    let digits = datasets
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin {
                name: Builtin::Digits,
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    let iris = datasets
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin {
                name: Builtin::Iris,
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    let quick = LabCompareRequest {
        folds: 3,
        ..LabCompareRequest::new(iris.id)
    };
    let report = mltools_lab::compare_and_wait(&lab, quick, Duration::from_secs(120))
        .await
        .unwrap();
    assert!(report.leaderboard.entries[0].metrics["accuracy"].mean >= 0.93);

    // A longer compare (digits: 1797 × 64, ten classes) is fitting on the models node...
    let spec = |algorithm: &str| mltools_core::models::ModelSpec {
        algorithm: algorithm.to_owned(),
        params: Default::default(),
        pipeline: None,
    };
    // A forest of 1000 trees keeps its folds fitting for seconds after the others end.
    let long = LabCompareRequest {
        models: [
            "random_forest_classifier",
            "logistic_regression",
            "knn_classifier",
            "gaussian_nb",
        ]
        .map(spec)
        .to_vec(),
        overrides: [(
            "random_forest_classifier".to_owned(),
            [(
                "n_trees".to_owned(),
                mltools_core::models::ParamValue::Integer(1000),
            )]
            .into(),
        )]
        .into(),
        ..LabCompareRequest::new(digits.id)
    };
    let job = lab
        .compare(context::current(), long.clone())
        .await
        .into_service("lab")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = lab
            .status(context::current(), job)
            .await
            .into_service("lab")
            .unwrap();
        if matches!(status.stage, mltools_core::lab::LabStage::Fitting { done, .. } if done > 0) {
            break;
        }
        assert!(
            !status.is_done(),
            "the compare ended before the kill: {status:?}"
        );
        assert!(
            Instant::now() < deadline,
            "the compare never started fitting"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...when the models node dies: the caller gets a clear error in bounded time.
    models.kill();
    let started = Instant::now();
    let error = loop {
        match lab
            .report(context::current(), job, 1_000)
            .await
            .into_service("lab")
        {
            Ok(Some(_)) => panic!("a compare whose models node died cannot finish"),
            Ok(None) => assert!(
                started.elapsed() < Duration::from_secs(30),
                "no error in 30 s"
            ),
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
    assert!(error.message.contains(&models_address), "{error}");

    // No dataset is lost, and once the models node is back the same compare succeeds.
    let listed = datasets
        .list(context::current())
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(listed.len(), 2);
    let models = Daemon::start(&path("models.toml"));
    // The lab node redials by itself (backoff capped at 2 s); until it has, its calls fail
    // fast as Unavailable, so a caller retries — bounded.
    let retry_until = Instant::now() + Duration::from_secs(30);
    let report = loop {
        match mltools_lab::compare_and_wait(&lab, long.clone(), Duration::from_secs(120)).await {
            Ok(report) => break report,
            Err(error) if error.kind == ErrorKind::Unavailable && Instant::now() < retry_until => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("the compare failed after the restart: {error}"),
        }
    };
    assert!(report.leaderboard.entries[0].metrics["accuracy"].mean >= 0.9);
    assert!(client.shutdown_within(Duration::from_secs(5)).await);
    drop((data, models, main));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_refusing_service_is_a_start_up_error_naming_it() {
    // Nothing listens on this port once the probe listener is dropped.
    let closed = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let error = NodeBuilder::from_config(
        NodeConfig::parse(&format!(
            "[node]\nname = \"client\"\nserve = []\n[services.datasets]\nat = {{ tcp = \"{closed}\" }}\n"
        ))
        .unwrap(),
    )
    .start()
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("the datasets service at"), "{message}");
    assert!(message.contains("cannot be reached"), "{message}");
    assert!(message.contains(&closed), "{message}");

    // A node that wants a token refuses a client without one, before any service code.
    let dir = tempfile::tempdir().unwrap();
    let server = NodeBuilder::from_config(config(
        "[node]\nname = \"data\"\nserve = [\"datasets\", \"utils\"]\n\
         [node.listen.tcp]\nlisten = \"127.0.0.1:0\"\ntoken = \"s3cret-token-of-16-bytes\"\n",
        dir.path(),
    ))
    .start()
    .await
    .unwrap();
    let address = server.listen_addr().unwrap();
    let error = NodeBuilder::from_config(
        NodeConfig::parse(&format!(
            "[node]\nname = \"client\"\nserve = []\n[services.datasets]\nat = {{ tcp = \"{address}\" }}\n"
        ))
        .unwrap(),
    )
    .start()
    .await
    .unwrap_err();
    assert!(error.to_string().contains("token"), "{error}");
    let client = NodeBuilder::from_config(
        NodeConfig::parse(&format!(
            "[node]\nname = \"client\"\nserve = []\n\
             [services.datasets]\nat = {{ tcp = {{ address = \"{address}\", token = \"s3cret-token-of-16-bytes\" }} }}\n"
        ))
        .unwrap(),
    )
    .start()
    .await
    .unwrap();
    let listed = client
        .datasets()
        .unwrap()
        .list(context::current())
        .await
        .into_service("datasets")
        .unwrap();
    assert!(listed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_server_certificate_is_refused_saying_so() {
    use mltools_transport::certs::{CertOptions, init_with};
    let dir = tempfile::tempdir().unwrap();
    let hosts = ["127.0.0.1".to_owned()];
    let expired = CertOptions::expiring("2001-01-31").unwrap();
    let files = init_with(
        &dir.path().join("certs"),
        &["data".into()],
        &hosts,
        &expired,
    )
    .unwrap();
    let server = NodeBuilder::from_config(config(
        &format!(
            "[node]\nname = \"data\"\nserve = [\"datasets\", \"utils\"]\n\
             [node.listen.tcp]\nlisten = \"127.0.0.1:0\"\n\
             tls = {{ cert = \"{}\", key = \"{}\" }}\n",
            files.nodes[0].0.display(),
            files.nodes[0].1.display()
        ),
        &dir.path().join("data"),
    ))
    .start()
    .await
    .unwrap();
    let address = server.listen_addr().unwrap();
    let error = NodeBuilder::from_config(
        NodeConfig::parse(&format!(
            "[node]\nname = \"client\"\nserve = []\n\
             [services.datasets]\nat = {{ tcp = {{ address = \"{address}\", tls = {{ ca = \"{}\" }} }} }}\n",
            files.ca.display()
        ))
        .unwrap(),
    )
    .start()
    .await
    .unwrap_err();
    assert!(error.to_string().contains("expired"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataset_larger_than_a_frame_is_read_in_pages_over_tcp() {
    use mltools_core::ColumnData;
    use mltools_core::datasets::GetRequest;
    use std::io::Write;
    const ROWS: usize = 200_000;
    const COLUMNS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("wide.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        let header: Vec<String> = (0..COLUMNS).map(|c| format!("c{c}")).collect();
        writeln!(out, "{}", header.join(",")).unwrap();
        for row in 0..ROWS {
            let line: Vec<String> = (0..COLUMNS)
                .map(|c| format!("{}", (row * COLUMNS + c) as f64 / 4.0))
                .collect();
            writeln!(out, "{}", line.join(",")).unwrap();
        }
    }
    // 200k × 10 f64 is 16 MB; the listener's frames are capped at 4 MiB. A listening node
    // reads server-side files only under its import roots.
    let mut server_config = config(
        "[node]\nname = \"data\"\nserve = [\"datasets\", \"utils\"]\n\
         [node.listen.tcp]\nlisten = \"127.0.0.1:0\"\nmax_frame_bytes = 4194304\n",
        &dir.path().join("data"),
    );
    server_config.datasets.import_roots = Some(vec![dir.path().to_owned()]);
    let server = NodeBuilder::from_config(server_config)
        .start()
        .await
        .unwrap();
    let mut long = context::current();
    long.deadline = std::time::Instant::now() + Duration::from_secs(300);
    let source = Source::File {
        path: csv.display().to_string(),
    };
    let info = server
        .datasets()
        .unwrap()
        .import(long, ImportRequest::new(source))
        .await
        .into_service("datasets")
        .unwrap();
    let address = server.listen_addr().unwrap();
    let client = NodeBuilder::from_config(
        NodeConfig::parse(&format!(
            "[node]\nname = \"client\"\nserve = []\n\
             [services.datasets]\nat = {{ tcp = {{ address = \"{address}\", max_frame_bytes = 4194304 }} }}\n"
        ))
        .unwrap(),
    )
    .start()
    .await
    .unwrap();
    let datasets = client.datasets().unwrap();

    // In one message the answer is over the limit, and the error says so.
    let error = datasets
        .get(long, GetRequest::all(info.id))
        .await
        .into_service("datasets")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");
    assert!(error.message.contains("frame limit"), "{error}");

    // In pages it arrives whole and exact.
    let page = mltools_transport::paging::read_all(&datasets, GetRequest::all(info.id), 20_000)
        .await
        .unwrap();
    assert_eq!(page.frame.rows(), ROWS);
    for (c, column) in page.frame.columns.iter().enumerate() {
        let ColumnData::Numeric(values) = &column.data else {
            panic!("numeric")
        };
        for (row, value) in values.iter().enumerate() {
            assert_eq!(
                *value,
                (row * COLUMNS + c) as f64 / 4.0,
                "row {row}, column {c}"
            );
        }
    }
}
