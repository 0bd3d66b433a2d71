//! A comparison spread over three models daemons, one of them SIGKILLed mid-compare: its
//! units are retried on the other two, and the leaderboard is the one a single models
//! node gives for the same request and seed, bit for bit (timings and the stored model's
//! id aside).

mod support;

use mltools_core::RpcResultExt;
use mltools_core::datasets::{Builtin, ImportRequest, Source};
use mltools_core::lab::{LabCompareRequest, LabStage};
use mltools_core::models::{Leaderboard, ModelSpec, ParamValue};

use std::time::{Duration, Instant};
use support::{Daemon, data_daemon, lab_node, models_daemon};
use tarpc::context;

/// The leaderboard without what differs between runs by nature: timings and the id the
/// refitted best model got.
fn comparable(board: &Leaderboard) -> String {
    let mut board = board.clone();
    board.best = None;
    for entry in &mut board.entries {
        entry.fit_ms = 0.0;
        entry.predict_ms = 0.0;
    }
    // Debug prints every f64 exactly (shortest round-trip form).
    format!("{board:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compare_over_three_models_nodes_survives_one_killed_and_gives_the_single_node_board() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let data = data_daemon(dir.path());
    let data_address = data.address("tcp");
    let mut models: Vec<Daemon> = (0..3)
        .map(|index| models_daemon(dir.path(), &format!("models{index}"), &data_address))
        .collect();
    let addresses: Vec<String> = models.iter().map(|daemon| daemon.address("tcp")).collect();

    let single = lab_node(&data_address, &addresses[..1], &path("single")).await;
    let digits = single
        .datasets()
        .unwrap()
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin {
                name: Builtin::Digits,
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    let spec = |algorithm: &str| ModelSpec {
        algorithm: algorithm.to_owned(),
        params: Default::default(),
        pipeline: None,
    };
    let request = LabCompareRequest {
        models: [
            "random_forest_classifier",
            "extra_trees_classifier",
            "logistic_regression",
            "knn_classifier",
            "gaussian_nb",
            "decision_tree_classifier",
        ]
        .map(spec)
        .to_vec(),
        overrides: [(
            "random_forest_classifier".to_owned(),
            [("n_trees".to_owned(), ParamValue::Integer(300))].into(),
        )]
        .into(),
        ..LabCompareRequest::new(digits.id)
    };
    let alone = mltools_lab::compare_and_wait(
        &single.lab().unwrap(),
        request.clone(),
        Duration::from_secs(300),
    )
    .await
    .unwrap();
    assert!(
        alone
            .leaderboard
            .entries
            .iter()
            .all(|entry| entry.error.is_none())
    );

    // The same comparison over the three nodes; the second is killed once units are done.
    let spread = lab_node(&data_address, &addresses, &path("spread")).await;
    let lab = spread.lab().unwrap();
    let job = lab
        .compare(context::current(), request.clone())
        .await
        .into_service("lab")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = lab
            .status(context::current(), job)
            .await
            .into_service("lab")
            .unwrap();
        assert!(
            !status.is_done(),
            "the compare ended before the kill: {status:?}"
        );
        if matches!(status.stage, LabStage::Fitting { done, .. } if done >= 3) {
            break;
        }
        assert!(Instant::now() < deadline, "the compare never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = models.remove(1);
    killed.kill();
    let first = loop {
        match lab
            .report(context::current(), job, 1_000)
            .await
            .into_service("lab")
            .unwrap()
        {
            Some(report) => break report,
            None => assert!(
                Instant::now() < deadline + Duration::from_secs(180),
                "the compare never ended"
            ),
        }
    };
    assert_eq!(
        comparable(&first.leaderboard),
        comparable(&alone.leaderboard)
    );
    // The two surviving nodes both fitted units (the first also ran the single-node run).
    let clients = spread.models_nodes().unwrap();
    for index in [0, 2] {
        let load = clients[index]
            .load(context::current())
            .await
            .into_service("models")
            .unwrap();
        assert_eq!(load.fits_peak, 1, "node {index}: one fit thread");
        assert_eq!((load.fits_running, load.queued), (0, 0));
    }
    // The winner was refitted and stored once (early in the tail or after the board), and
    // nothing else was: the survivors hold the single-node run's model and this one.
    let best = first
        .leaderboard
        .best
        .expect("the best model was refitted and stored");
    let mut stored = Vec::new();
    for index in [0, 2] {
        let list = clients[index]
            .list(context::current())
            .await
            .into_service("models")
            .unwrap();
        stored.extend(list.into_iter().map(|info| (info.id, info.spec)));
    }
    let winner = &first.leaderboard.entries[0].model;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.iter().all(|(_, spec)| spec == winner), "{stored:?}");
    assert!(stored.iter().any(|(id, _)| *id == best));
    for node in [single, spread] {
        assert!(node.shutdown_within(Duration::from_secs(10)).await);
    }
    drop((data, models));
}
