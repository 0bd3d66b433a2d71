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
            .contains("does not host the datasets service"),
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
