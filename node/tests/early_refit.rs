//! The winner's refit started early in a spread comparison's tail, against a real models
//! service: kept when it was the winner's, given up when it was another's — the model it
//! stored deleted, the winner refitted — so the registry ends with the winner's model only.

use mltools_core::RpcResultExt;
use mltools_core::datasets::{Builtin, ImportRequest, Source};
use mltools_core::models::{
    ComparePlan, CompareRequest, Leaderboard, ModelSpec, Rows, TrainingData,
};
use mltools_lab::refit::{EarlyRefit, UnitScore, refit_best};
use mltools_node::Node;
use mltools_transport::ModelsClient;
use std::time::{Duration, Instant};
use tarpc::context;

/// An embedded node with breast_cancer imported, a plan comparing two classifiers on it,
/// and the plan's leaderboard from its units.
async fn setup(dir: &std::path::Path) -> (Node, ModelsClient, ComparePlan, Leaderboard) {
    let node = Node::builder().data_dir(dir).start().await.unwrap();
    let dataset = node
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
    let models = node.models().unwrap();
    let spec = |algorithm: &str| ModelSpec {
        algorithm: algorithm.to_owned(),
        params: Default::default(),
        pipeline: None,
    };
    let request = CompareRequest {
        data: TrainingData {
            dataset: dataset.id,
            version: dataset.version,
            rows: Rows::Stored,
            target: "diagnosis".to_owned(),
            task: None,
        },
        models: vec![spec("gaussian_nb"), spec("logistic_regression")],
        overrides: Default::default(),
        folds: 3,
        seed: 7,
        metric: None,
        keep_best: true,
    };
    let plan = models
        .plan(context::current(), request)
        .await
        .into_service("models")
        .unwrap();
    let mut results = Vec::new();
    for unit in plan.units() {
        let result = models
            .evaluate(context::current(), unit)
            .await
            .into_service("models")
            .unwrap();
        results.extend(result);
    }
    let board = models
        .assemble(context::current(), plan.clone(), results)
        .await
        .into_service("models")
        .unwrap();
    assert!(board.entries.iter().all(|entry| entry.error.is_none()));
    (node, models, plan, board)
}

/// The position in the plan of the leaderboard's winner, and of the other candidate.
fn winner_and_loser(plan: &ComparePlan, board: &Leaderboard) -> (usize, usize) {
    let winner = plan
        .candidates
        .iter()
        .position(|spec| *spec == board.entries[0].model)
        .unwrap();
    (winner, 1 - winner)
}

/// Scores that make `candidate` the provisional leader.
fn leading(candidate: usize) -> Vec<UnitScore> {
    vec![
        UnitScore {
            candidate,
            value: Some(1.0),
        },
        UnitScore {
            candidate: 1 - candidate,
            value: Some(0.5),
        },
    ]
}

async fn stored(models: &ModelsClient) -> Vec<(mltools_core::ModelId, ModelSpec)> {
    models
        .list(context::current())
        .await
        .into_service("models")
        .unwrap()
        .into_iter()
        .map(|info| (info.id, info.spec))
        .collect()
}

#[tokio::test]
async fn an_early_refit_of_the_winner_is_the_stored_best() {
    let dir = tempfile::tempdir().unwrap();
    let (node, models, plan, board) = setup(dir.path()).await;
    let (winner, _) = winner_and_loser(&plan, &board);
    let early = EarlyRefit::start(&plan, &leading(winner), models.clone()).unwrap();
    let best = refit_best(std::slice::from_ref(&models), &board, &plan, Some(early))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored(&models).await,
        [(best, plan.candidates[winner].clone())],
        "one fit: the early one"
    );
    assert!(node.shutdown_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn an_early_refit_of_another_model_is_deleted_and_the_winner_refitted() {
    let dir = tempfile::tempdir().unwrap();
    let (node, models, plan, board) = setup(dir.path()).await;
    let (winner, loser) = winner_and_loser(&plan, &board);

    // Given up after it ended: the model it stored is deleted.
    let early = EarlyRefit::start(&plan, &leading(loser), models.clone()).unwrap();
    let waited = Instant::now();
    while stored(&models).await.is_empty() {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the early refit never stored its model"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(stored(&models).await[0].1, plan.candidates[loser]);
    let best = refit_best(std::slice::from_ref(&models), &board, &plan, Some(early))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored(&models).await,
        [(best, plan.candidates[winner].clone())]
    );

    // Given up at once, while it fits: cancelled, nothing of it stored.
    let early = EarlyRefit::start(&plan, &leading(loser), models.clone()).unwrap();
    let again = refit_best(std::slice::from_ref(&models), &board, &plan, Some(early))
        .await
        .unwrap()
        .unwrap();
    let specs: Vec<ModelSpec> = stored(&models)
        .await
        .into_iter()
        .map(|(_, spec)| spec)
        .collect();
    assert_eq!(specs.len(), 2, "{specs:?}");
    assert!(specs.iter().all(|spec| *spec == plan.candidates[winner]));
    assert!(stored(&models).await.iter().any(|(id, _)| *id == again));
    assert!(node.shutdown_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn no_early_refit_without_a_leader_or_when_the_best_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (node, models, mut plan, _) = setup(dir.path()).await;
    assert!(EarlyRefit::start(&plan, &[], models.clone()).is_none());
    plan.keep_best = false;
    assert!(EarlyRefit::start(&plan, &leading(0), models.clone()).is_none());
    assert!(stored(&models).await.is_empty());
    assert!(node.shutdown_within(Duration::from_secs(5)).await);
}
