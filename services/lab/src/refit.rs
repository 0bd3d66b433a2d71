//! The winner's refit after a comparison spread over several nodes, started early when it
//! can be.
//!
//! The refit does not spread: one node fits the winner on every row while the others have
//! nothing left to do. So it starts in the comparison's tail, on the first node with room
//! once every unit has been sent ([`spread`](crate::spread::spread)'s `on_tail`), for the
//! provisional leader: the candidate with the best mean over the folds scored so far.
//! When the leaderboard names the same model, its refit is under way or done; when it
//! names another, the early refit is cancelled (or, when it had already ended, the model it
//! stored is deleted) and the winner is refitted. Either way the stored model is the
//! winner's, fitted with the plan's data and seed, as a late refit would store it.

use crate::error::LabError;
use mltools_core::models::{
    ComparePlan, FitRequest, Leaderboard, ModelInfo, ModelSpec, UnitOutcome, UnitResult,
};
use mltools_core::{ModelId, RpcResultExt, ServiceError};
use mltools_transport::ModelsClient;
use std::time::Duration;
use tarpc::context;
use tokio_util::task::AbortOnDropHandle;

/// Deadline of a refit (a node caps it at its `max_deadline_ms`).
const REFIT_CALL: Duration = Duration::from_secs(60 * 60);
/// Deadline of deleting a model an early refit stored for nothing.
const DELETE_CALL: Duration = Duration::from_secs(30);
/// How long a given-up early refit is waited for before it is cancelled: a fit that has
/// stored its model, or is about to, answers within it and its model is deleted; a
/// cancelled call cannot say whether the model was stored a moment before.
const DISCARD_GRACE: Duration = Duration::from_secs(1);

fn deadline(after: Duration) -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + after;
    ctx
}

/// One unit's score by the plan's metric, as the provisional leader is chosen from it:
/// `None` when the model failed the fold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitScore {
    /// The candidate's position in the plan.
    pub candidate: usize,
    /// Its value of the plan's metric on the fold; `None` when the fold failed or gave no
    /// such value.
    pub value: Option<f64>,
}

impl UnitScore {
    /// The score of `result` by `plan`'s metric.
    pub fn of(plan: &ComparePlan, result: &UnitResult) -> UnitScore {
        let value = match &result.outcome {
            UnitOutcome::Scored(scores) => scores.metrics.get(&plan.metric).copied(),
            UnitOutcome::Failed(_) => None,
        };
        UnitScore {
            candidate: result.candidate,
            value,
        }
    }
}

/// The candidate with the best mean of the plan's metric over its folds scored so far;
/// candidates with a failed fold, or no finite mean, are out. The first of equals, as the
/// leaderboard orders ties. `None` when no candidate qualifies.
pub fn provisional_leader(plan: &ComparePlan, scores: &[UnitScore]) -> Option<usize> {
    let mut sums = vec![(0.0f64, 0usize, false); plan.candidates.len()];
    for score in scores {
        let Some((sum, count, failed)) = sums.get_mut(score.candidate) else {
            continue;
        };
        match score.value {
            Some(value) => {
                *sum += value;
                *count += 1;
            }
            None => *failed = true,
        }
    }
    let mut leader: Option<(usize, f64)> = None;
    for (candidate, &(sum, count, failed)) in sums.iter().enumerate() {
        if failed || count == 0 {
            continue;
        }
        let mean = sum / count as f64;
        if !mean.is_finite() {
            continue;
        }
        let better = leader.is_none_or(|(_, best)| {
            if plan.higher_is_better {
                mean > best
            } else {
                mean < best
            }
        });
        if better {
            leader = Some((candidate, mean));
        }
    }
    leader.map(|(candidate, _)| candidate)
}

/// A refit started before the leaderboard was known.
pub struct EarlyRefit {
    model: ModelSpec,
    node: ModelsClient,
    /// The fit, on a task of its own so it runs while the comparison's tail ends; aborted
    /// (its call cancelled) when dropped.
    fit: AbortOnDropHandle<Result<ModelInfo, ServiceError>>,
}

impl EarlyRefit {
    /// Starts refitting the provisional leader of `plan` by `scores` on `node`; `None`
    /// when the plan keeps no best model or no candidate leads yet.
    pub fn start(
        plan: &ComparePlan,
        scores: &[UnitScore],
        node: ModelsClient,
    ) -> Option<EarlyRefit> {
        if !plan.keep_best {
            return None;
        }
        let model = plan
            .candidates
            .get(provisional_leader(plan, scores)?)?
            .clone();
        let request = FitRequest {
            data: plan.data.clone(),
            model: model.clone(),
            seed: plan.seed,
        };
        let client = node.clone();
        let fit = AbortOnDropHandle::new(tokio::spawn(async move {
            client
                .fit(deadline(REFIT_CALL), request)
                .await
                .into_service("models")
        }));
        tracing::debug!(algorithm = %model.algorithm, "refitting the provisional leader early");
        Some(EarlyRefit { model, node, fit })
    }

    /// Gives the early refit up: deletes the model it stored when it ends within
    /// [`DISCARD_GRACE`] (it may have stored it already, its answer still on the way),
    /// else cancels its fit.
    pub async fn discard(self) {
        let EarlyRefit { node, mut fit, .. } = self;
        let ended = match tokio::time::timeout(DISCARD_GRACE, &mut fit).await {
            Ok(ended) => ended,
            Err(_) => {
                fit.abort();
                fit.await
            }
        };
        if let Ok(Ok(stored)) = ended {
            let deleted = node
                .delete(deadline(DELETE_CALL), stored.id)
                .await
                .into_service("models");
            if let Err(error) = deleted {
                tracing::warn!(model = %stored.id, %error,
                    "a model refitted early for nothing could not be deleted");
            }
        }
    }
}

/// The leaderboard's winner: its top entry, when that has a finite metric.
fn winner(board: &Leaderboard) -> Option<&ModelSpec> {
    board
        .entries
        .first()
        .filter(|entry| {
            entry.error.is_none()
                && entry
                    .metrics
                    .get(&board.metric)
                    .is_some_and(|value| value.mean.is_finite())
        })
        .map(|entry| &entry.model)
}

/// Refits the leaderboard's winner on every row of the plan's data and stores it: the
/// early refit when it was of the winner (and its node did not fail it), else on the first
/// models node that answers. Its id, or `None` when nothing won or the plan keeps no best
/// model. An early refit of another model is discarded.
///
/// # Errors
/// The fit's errors; every node unavailable.
pub async fn refit_best(
    nodes: &[ModelsClient],
    board: &Leaderboard,
    plan: &ComparePlan,
    early: Option<EarlyRefit>,
) -> Result<Option<ModelId>, LabError> {
    let winner = winner(board).filter(|_| plan.keep_best);
    let early = match early {
        Some(early) if winner == Some(&early.model) => Some(early),
        Some(early) => {
            early.discard().await;
            None
        }
        None => None,
    };
    let Some(model) = winner else {
        return Ok(None);
    };
    if let Some(early) = early {
        match early.fit.await {
            Ok(Ok(stored)) => return Ok(Some(stored.id)),
            Ok(Err(error)) if crate::spread::is_node_loss(&error) => {
                tracing::warn!(%error, "the early refit's node failed it; refitting elsewhere");
            }
            Ok(Err(error)) => return Err(error.into()),
            Err(join) => {
                tracing::warn!(error = %join, "the early refit did not end; refitting again");
            }
        }
    }
    let request = FitRequest {
        data: plan.data.clone(),
        model: model.clone(),
        seed: plan.seed,
    };
    let stored = crate::compare::on_any_node(nodes, |client| {
        let request = request.clone();
        async move { client.fit(deadline(REFIT_CALL), request).await }
    })
    .await?;
    Ok(Some(stored.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::DatasetId;
    use mltools_core::models::{Rows, Task, TrainingData};

    fn plan(higher_is_better: bool) -> ComparePlan {
        let spec = |algorithm: &str| ModelSpec {
            algorithm: algorithm.to_owned(),
            params: Default::default(),
            pipeline: None,
        };
        ComparePlan {
            data: TrainingData {
                dataset: DatasetId(1),
                version: 1,
                rows: Rows::Stored,
                target: "y".to_owned(),
                task: Some(Task::Regression),
            },
            rows: 4,
            classes: None,
            features: vec!["x".to_owned()],
            candidates: vec![spec("a"), spec("b"), spec("c")],
            groups: vec![vec![0, 1, 2]],
            folds: 2,
            test_fold: vec![0, 0, 1, 1],
            metric: "m".to_owned(),
            higher_is_better,
            seed: 0,
            keep_best: true,
            warnings: Vec::new(),
        }
    }

    fn score(candidate: usize, value: Option<f64>) -> UnitScore {
        UnitScore { candidate, value }
    }

    #[test]
    fn the_leader_has_the_best_mean_of_the_folds_scored_so_far() {
        let scores = [
            score(0, Some(0.5)),
            score(1, Some(0.9)),
            score(1, Some(0.5)),
            score(2, Some(0.8)),
        ];
        assert_eq!(provisional_leader(&plan(true), &scores), Some(2));
        assert_eq!(provisional_leader(&plan(false), &scores), Some(0));
    }

    #[test]
    fn a_failed_fold_or_a_non_finite_mean_rules_a_candidate_out_and_ties_go_to_the_first() {
        let scores = [
            score(0, Some(0.7)),
            score(1, Some(0.99)),
            score(1, None),
            score(2, Some(f64::NAN)),
            score(3, Some(1.0)),
        ];
        assert_eq!(provisional_leader(&plan(true), &scores), Some(0));
        let tied = [score(2, Some(0.5)), score(1, Some(0.5))];
        assert_eq!(provisional_leader(&plan(true), &tied), Some(1));
        assert_eq!(provisional_leader(&plan(true), &[]), None);
        assert_eq!(provisional_leader(&plan(true), &[score(0, None)]), None);
    }
}
