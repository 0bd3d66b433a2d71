//! The main job through an embedded node: the lab compares models on built-in datasets
//! using the real datasets, utils and models services through their interfaces.

use mltools_core::datasets::{Builtin, ImportRequest, Source};
use mltools_core::lab::{LabCompareRequest, Report};
use mltools_core::models::Task;
use mltools_core::{ColumnData, DatasetRef, ErrorKind, Frame, RpcResultExt, ServiceError};
use mltools_node::{InProcess, Node};
use std::time::Duration;
use tarpc::context;

async fn node(in_process: InProcess, dir: &std::path::Path) -> Node {
    Node::builder()
        .data_dir(dir)
        .in_process(in_process)
        .start()
        .await
        .expect("the node starts")
}

async fn import(node: &Node, builtin: Builtin) -> DatasetRef {
    let info = node
        .datasets()
        .unwrap()
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin { name: builtin }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    DatasetRef::Id(info.id)
}

/// Starts a comparison and waits for its report (or its error).
async fn compare(node: &Node, request: LabCompareRequest) -> Result<Report, ServiceError> {
    mltools_lab::compare_and_wait(&node.lab().unwrap(), request, Duration::from_secs(120)).await
}

fn best(report: &Report, metric: &str) -> f64 {
    report.leaderboard.entries[0].metrics[metric].mean
}

fn titles(report: &Report) -> Vec<&str> {
    report
        .plots
        .iter()
        .map(|(title, _)| title.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breast_cancer_reaches_the_quality_floor_and_its_best_model_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(InProcess::Direct, dir.path()).await;
    let dataset = import(&node, Builtin::BreastCancer).await;
    let report = compare(&node, LabCompareRequest::new(dataset.clone()))
        .await
        .unwrap();

    assert_eq!(report.leaderboard.task, Task::Classification);
    assert_eq!(report.leaderboard.metric, "accuracy");
    assert!(
        best(&report, "accuracy") >= 0.95,
        "{}",
        best(&report, "accuracy")
    );
    let accuracies: Vec<f64> = report
        .leaderboard
        .entries
        .iter()
        .filter_map(|entry| entry.metrics.get("accuracy").map(|value| value.mean))
        .collect();
    assert!(
        accuracies.windows(2).all(|pair| pair[0] >= pair[1]),
        "sorted best first"
    );
    let plots = titles(&report);
    assert!(plots.contains(&"Leaderboard"));
    assert!(plots.iter().any(|title| title.contains("confusion matrix")));
    assert!(plots.iter().any(|title| title.contains("ROC")));
    for (title, plot) in &report.plots {
        assert!(
            String::from_utf8_lossy(&plot.bytes).contains("<svg"),
            "{title}"
        );
    }
    let html = mltools_lab::html::render(&report);
    assert!(html.contains(&report.leaderboard.entries[0].model.algorithm));

    // The best model was refitted on all rows and stored: it predicts the training rows.
    let model = report.leaderboard.best.expect("the best model is stored");
    let page = node
        .datasets()
        .unwrap()
        .get(
            context::current(),
            mltools_core::datasets::GetRequest::all(dataset),
        )
        .await
        .into_service("datasets")
        .unwrap();
    let predictions = node
        .models()
        .unwrap()
        .predict(context::current(), model, page.frame.clone())
        .await
        .into_service("models")
        .unwrap();
    let ColumnData::Categorical { codes, categories } =
        &page.frame.column("diagnosis").unwrap().data
    else {
        panic!("diagnosis is categorical");
    };
    let classes = predictions.classes.clone().expect("class labels");
    let hits = predictions
        .values
        .iter()
        .zip(codes)
        .filter(|(predicted, code)| classes[**predicted as usize] == categories[**code as usize])
        .count();
    assert!(
        hits as f64 / codes.len() as f64 > 0.95,
        "{hits} of {}",
        codes.len()
    );

    // Rows without the model's columns are refused, naming what is missing.
    let wrong = Frame {
        columns: vec![page.frame.columns[0].clone()],
    };
    let error = node
        .models()
        .unwrap()
        .predict(context::current(), model, wrong)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(error.message.contains("mean texture"), "{error}");
    assert!(node.shutdown_within(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_sets_reach_their_floors_over_the_channel_transport() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(InProcess::Channel, dir.path()).await;
    for (builtin, floor) in [(Builtin::Diabetes, 0.40), (Builtin::Boston, 0.75)] {
        let dataset = import(&node, builtin).await;
        let report = compare(&node, LabCompareRequest::new(dataset))
            .await
            .unwrap();
        assert_eq!(report.leaderboard.task, Task::Regression);
        assert!(
            best(&report, "r2") >= floor,
            "{builtin:?}: {}",
            best(&report, "r2")
        );
        let plots = titles(&report);
        assert!(
            plots
                .iter()
                .any(|title| title.contains("predicted vs actual")),
            "{plots:?}"
        );
        assert!(
            plots.iter().any(|title| title.contains("residuals")),
            "{plots:?}"
        );
    }
    let dataset = import(&node, Builtin::Iris).await;
    let report = compare(&node, LabCompareRequest::new(dataset))
        .await
        .unwrap();
    assert!(best(&report, "accuracy") >= 0.93);
    assert!(node.shutdown_within(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_leaderboard() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(InProcess::Direct, dir.path()).await;
    let dataset = import(&node, Builtin::Iris).await;
    let request = LabCompareRequest {
        seed: 42,
        ..LabCompareRequest::new(dataset)
    };
    let first = compare(&node, request.clone()).await.unwrap();
    let second = compare(&node, request).await.unwrap();
    let scores = |report: &Report| -> Vec<(String, Vec<(String, f64)>)> {
        report
            .leaderboard
            .entries
            .iter()
            .map(|entry| {
                let metrics = entry
                    .metrics
                    .iter()
                    .map(|(name, value)| (name.clone(), value.mean))
                    .collect();
                (entry.model.algorithm.clone(), metrics)
            })
            .collect()
    };
    assert_eq!(scores(&first), scores(&second));
    assert!(node.shutdown_within(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_comparisons_are_typed_errors_naming_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(InProcess::Direct, dir.path()).await;
    let datasets = node.datasets().unwrap();

    // A dataset without a target, and none named.
    let no_target = ImportRequest::new(Source::Bytes {
        label: "plain.csv".into(),
        data: b"a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n".to_vec(),
    });
    let info = datasets
        .import(context::current(), no_target)
        .await
        .into_service("datasets")
        .unwrap();
    let error = compare(&node, LabCompareRequest::new(info.id))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(error.message.contains("no target column"), "{error}");

    // A constant target.
    let constant = ImportRequest::new(Source::Bytes {
        label: "flat.csv".into(),
        data: (0..20)
            .fold(String::from("x,y\n"), |text, i| {
                text + &format!("{i},3.5\n")
            })
            .into_bytes(),
    })
    .target("y");
    let info = datasets
        .import(context::current(), constant)
        .await
        .into_service("datasets")
        .unwrap();
    let error = compare(&node, LabCompareRequest::new(info.id))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(error.message.contains("constant"), "{error}");

    // An unknown dataset, an unknown target, too few folds, a model of the wrong task.
    let error = compare(&node, LabCompareRequest::new(DatasetRef::parse("nowhere")))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert!(error.message.contains("nowhere"), "{error}");
    let iris = import(&node, Builtin::Iris).await;
    let request = LabCompareRequest {
        target: Some("colour".into()),
        ..LabCompareRequest::new(iris.clone())
    };
    let error = compare(&node, request).await.unwrap_err();
    assert!(error.message.contains("colour"), "{error}");
    let request = LabCompareRequest {
        folds: 1,
        ..LabCompareRequest::new(iris.clone())
    };
    let error = compare(&node, request).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    let request = LabCompareRequest {
        models: vec![mltools_core::models::ModelSpec {
            algorithm: "ridge".into(),
            params: Default::default(),
            pipeline: None,
        }],
        ..LabCompareRequest::new(iris)
    };
    let error = compare(&node, request).await.unwrap_err();
    assert!(
        error.message.contains("ridge is a regression algorithm"),
        "{error}"
    );

    // An unknown model at predict.
    let error = node
        .models()
        .unwrap()
        .predict(
            context::current(),
            mltools_core::ModelId(999),
            Frame::default(),
        )
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert!(node.shutdown_within(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_comparison_says_so_and_the_lab_bounds_running_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = mltools_node::NodeConfig::default();
    config.lab.max_running = 1;
    let node = mltools_node::NodeBuilder::from_config(config)
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let dataset = import(&node, Builtin::BreastCancer).await;
    let lab = node.lab().unwrap();
    let first = lab
        .compare(context::current(), LabCompareRequest::new(dataset.clone()))
        .await
        .into_service("lab")
        .unwrap();
    // One comparison runs (lab.max_running = 1): the next is refused at once.
    let refused = lab
        .compare(context::current(), LabCompareRequest::new(dataset.clone()))
        .await
        .into_service("lab")
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Overloaded, "{refused}");
    assert!(refused.message.contains("max_running"), "{refused}");

    lab.cancel(context::current(), first)
        .await
        .into_service("lab")
        .unwrap();
    let error = loop {
        match lab
            .report(context::current(), first, 1_000)
            .await
            .into_service("lab")
        {
            Ok(Some(_)) => panic!("a cancelled comparison has no report"),
            Ok(None) => continue,
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind, ErrorKind::Cancelled, "{error}");
    // Its slot is free again.
    let again = compare(&node, LabCompareRequest::new(dataset))
        .await
        .unwrap();
    assert!(best(&again, "accuracy") >= 0.95);
    assert!(node.shutdown_within(Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boosting_sees_missing_numbers_where_a_median_fill_would_hide_them() {
    use mltools_core::Column;
    use mltools_core::models::ModelSpec;
    use mltools_core::utils::Step;
    // `label` is `gone` exactly where `x` is missing; `x` is otherwise 0.25, 0.5 or 0.75,
    // so its median is 0.5: filled with it, a missing `x` and an `x` of 0.5 are one row.
    let mut csv = String::from("x,noise,label\n");
    for row in 0..300 {
        let noise = row * 53 % 17;
        if row % 3 == 0 {
            csv.push_str(&format!(",{noise},gone\n"));
        } else {
            let x = [0.25, 0.5, 0.75][row % 9 / 3];
            csv.push_str(&format!("{x},{noise},kept\n"));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let node = node(InProcess::Direct, dir.path()).await;
    let info = node
        .datasets()
        .unwrap()
        .import(
            context::current(),
            ImportRequest::new(Source::Bytes {
                label: "gaps.csv".into(),
                data: csv.into_bytes(),
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    let mut request = LabCompareRequest::new(info.id);
    request.target = Some("label".into());
    request.models = vec![ModelSpec {
        algorithm: "hist_gradient_boosting_classifier".into(),
        params: Default::default(),
        pipeline: None,
    }];
    let report = compare(&node, request).await.unwrap();
    assert_eq!(best(&report, "accuracy"), 1.0);
    let model = report.leaderboard.best.expect("the best model is stored");
    let models = node.models().unwrap();
    // The family's default pipeline fills no numbers.
    let stored = models
        .get(context::current(), model)
        .await
        .into_service("models")
        .unwrap();
    assert!(
        !stored.pipeline.spec.steps.iter().any(|step| matches!(
            step,
            Step::Impute {
                numeric: Some(_),
                ..
            }
        )),
        "{:?}",
        stored.pipeline.spec
    );
    // A missing `x` and an `x` of 0.5 are told apart.
    let rows = Frame {
        columns: vec![
            Column::numeric("x", vec![f64::NAN, 0.5]),
            Column::numeric("noise", vec![3.0, 3.0]),
        ],
    };
    let predictions = models
        .predict(context::current(), model, rows)
        .await
        .into_service("models")
        .unwrap();
    let classes = predictions.classes.expect("class labels");
    let labels: Vec<&str> = predictions
        .values
        .iter()
        .map(|&code| classes[code as usize].as_str())
        .collect();
    assert_eq!(labels, ["gone", "kept"]);
}
