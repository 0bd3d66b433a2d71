//! An embedded node over each in-process transport: the same calls, the same answers.

use mltools_core::datasets::{Builtin, GetRequest, ImportRequest, Source};
use mltools_core::{DatasetRef, ErrorKind, RpcResultExt};
use mltools_node::{InProcess, Node, NodeConfig};
use mltools_transport::ChildState;
use std::time::Duration;
use tarpc::context;

async fn start(in_process: InProcess, dir: &std::path::Path) -> Node {
    Node::builder()
        .data_dir(dir)
        .in_process(in_process)
        .start()
        .await
        .expect("the node starts")
}

async fn import_describe_read(in_process: InProcess) {
    let dir = tempfile::tempdir().unwrap();
    let node = start(in_process, dir.path()).await;
    let datasets = node.datasets().unwrap();
    let request = ImportRequest::new(Source::Builtin {
        name: Builtin::BreastCancer,
    });
    let info = datasets
        .import(context::current(), request)
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(info.rows, 569);
    let description = datasets
        .describe(context::current(), DatasetRef::Id(info.id), None)
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(description.columns.len(), 31);
    let page = datasets
        .get(
            context::current(),
            GetRequest {
                offset: 560,
                limit: Some(100),
                ..GetRequest::all(info.id)
            },
        )
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(page.frame.rows(), 9);
    let missing = datasets
        .describe(context::current(), DatasetRef::parse("absent"), None)
        .await
        .into_service("datasets")
        .unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
    assert!(missing.message.contains("absent"), "{missing}");
    assert!(node.shutdown_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn direct_calls_import_describe_and_read() {
    import_describe_read(InProcess::Direct).await;
}

#[tokio::test]
async fn channel_calls_import_describe_and_read() {
    import_describe_read(InProcess::Channel).await;
}

#[tokio::test]
async fn a_dead_serving_task_is_restarted_and_the_data_survives() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(InProcess::Channel, dir.path()).await;
    let datasets = node.datasets().unwrap();
    let request = ImportRequest::new(Source::Builtin {
        name: Builtin::Iris,
    });
    datasets
        .import(context::current(), request)
        .await
        .into_service("datasets")
        .unwrap();

    let child = &node.children()[0];
    assert_eq!(child.name(), "datasets");
    child.abort_current();
    let state = tokio::time::timeout(
        Duration::from_secs(5),
        child.wait_for(|state| state == ChildState::Running { restarts: 1 }),
    )
    .await
    .expect("restarted within the timeout");
    assert_eq!(state, ChildState::Running { restarts: 1 });

    let listed = datasets
        .list(context::current())
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "iris");
    assert!(node.shutdown_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_service_the_node_does_not_host_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NodeConfig::parse("[node]\nserve = []\n").unwrap();
    config.datasets.data_dir = dir.path().to_owned();
    let node = mltools_node::NodeBuilder::from_config(config)
        .start()
        .await
        .unwrap();
    let error = node.datasets().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("neither hosts nor reaches the datasets service"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unusable_data_directory_fails_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let error = Node::builder().data_dir(&file).start().await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("datasets"), "{message}");
    assert!(message.contains("not-a-directory"), "{message}");
}

/// The services used together only through their interfaces, as the lab will: rows from
/// datasets, a pipeline fitted and applied by utils, a plot rendered by utils.
async fn datasets_feed_utils(in_process: InProcess) {
    use mltools_core::utils::{
        AlgorithmFamily, ImageFormat, PlotKind, PlotRequest, SplitKind, SplitRequest,
    };
    use mltools_core::{ColumnData, Frame};

    let dir = tempfile::tempdir().unwrap();
    let node = start(in_process, dir.path()).await;
    let datasets = node.datasets().unwrap();
    let utils = node.utils().unwrap();
    let info = datasets
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin {
                name: Builtin::Iris,
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    let page = datasets
        .get(context::current(), GetRequest::all(info.id))
        .await
        .into_service("datasets")
        .unwrap();
    let (features, target): (Vec<_>, Vec<_>) = page
        .frame
        .columns
        .into_iter()
        .partition(|column| column.name != "species");
    let ColumnData::Categorical { codes, .. } = &target[0].data else {
        panic!("species is categorical");
    };
    let folds = utils
        .split(
            context::current(),
            SplitRequest {
                rows: 150,
                kind: SplitKind::KFold { k: 5 },
                seed: 7,
                stratify: Some(codes.clone()),
            },
        )
        .await
        .into_service("utils")
        .unwrap();
    assert_eq!(folds.len(), 5);
    assert!(folds.iter().all(|fold| fold.test.len() == 30));

    let spec = utils
        .default_pipeline(context::current(), AlgorithmFamily::Svm)
        .await
        .into_service("utils")
        .unwrap();
    let frame = Frame { columns: features };
    let fitted = utils
        .fit_pipeline(context::current(), spec, frame.clone())
        .await
        .into_service("utils")
        .unwrap();
    let matrix = utils
        .transform(context::current(), fitted, frame.clone())
        .await
        .into_service("utils")
        .unwrap();
    assert_eq!(matrix.rows, 150);
    assert_eq!(matrix.columns.len(), 4);
    // Standard-scaled on the rows it was fitted on: every column has mean 0.
    for column in 0..4 {
        let mean: f64 = (0..150)
            .map(|row| matrix.values[row * 4 + column])
            .sum::<f64>()
            / 150.0;
        assert!(mean.abs() < 1e-12, "column {column} mean {mean}");
    }

    let plot = utils
        .plot(
            context::current(),
            PlotRequest {
                kind: PlotKind::Histograms { frame },
                format: ImageFormat::Png,
                width: None,
                height: None,
                title: None,
            },
        )
        .await
        .into_service("utils")
        .unwrap();
    assert!(plot.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(node.shutdown_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn datasets_feed_utils_directly() {
    datasets_feed_utils(InProcess::Direct).await;
}

#[tokio::test]
async fn datasets_feed_utils_over_the_channel() {
    datasets_feed_utils(InProcess::Channel).await;
}

#[tokio::test]
async fn calls_after_shutdown_are_refused_as_unavailable() {
    for in_process in [InProcess::Direct, InProcess::Channel] {
        let dir = tempfile::tempdir().unwrap();
        let node = start(in_process, dir.path()).await;
        let datasets = node.datasets().unwrap();
        assert!(node.shutdown_within(Duration::from_secs(5)).await);
        let error = datasets
            .list(context::current())
            .await
            .into_service("datasets")
            .unwrap_err();
        assert_eq!(
            error.kind,
            ErrorKind::Unavailable,
            "{in_process:?}: {error}"
        );
    }
}
