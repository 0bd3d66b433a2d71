//! Work spread over several nodes: each unit goes to the least busy node that is up, a
//! node that fails is set aside for a while, and its unit tries another.
//!
//! [`spread`] knows nothing of what a unit is: it is given the units, how many nodes there
//! are, and how to run a unit on a node. What comes back is one outcome per unit, in the
//! units' order, whatever node ran it and whenever it ended, so whatever is built from the
//! outcomes does not depend on the scheduling.
//!
//! What an error from a node means decides what happens next:
//! - the node could not be reached, did not answer in time or is shutting down
//!   ([`ErrorKind::Unavailable`], [`ErrorKind::Timeout`], [`ErrorKind::Cancelled`] while
//!   the run itself is not cancelled): the node is lost for now (set aside with a growing backoff)
//!   and the unit is retried on another, at most [`SpreadPolicy::retries`] times; past that
//!   the unit's outcome is the last error;
//! - the node is busy ([`ErrorKind::Overloaded`]): the node is set aside for its
//!   retry-after hint and the unit is retried elsewhere, not counted as a retry;
//! - anything else (the unit is bad, it was cancelled): the whole run stops with it.
//!
//! When every node has failed since the last unit that succeeded, and the first of those
//! failures is older than [`SpreadPolicy::all_down_patience`], the run stops with the last
//! node error.

use mltools_core::{ErrorKind, ServiceError};
use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How units are retried and nodes set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadPolicy {
    /// Units in flight on one node at once.
    pub per_node: usize,
    /// Retries of one unit after node losses; 3.
    pub retries: u32,
    /// How long a node that failed is first set aside; doubled at each failure in a row.
    pub backoff_initial: Duration,
    /// The longest a node is set aside.
    pub backoff_max: Duration,
    /// How long the run goes on while every node fails (none succeeding meanwhile) before it
    /// gives up.
    pub all_down_patience: Duration,
}

impl Default for SpreadPolicy {
    fn default() -> Self {
        SpreadPolicy {
            per_node: 2,
            retries: 3,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            all_down_patience: Duration::from_secs(10),
        }
    }
}

/// One node's standing.
#[derive(Debug, Clone, Copy)]
struct Node {
    in_flight: usize,
    /// Set aside until then, after a failure.
    down_until: Option<Instant>,
    /// Failures in a row (for the backoff).
    failures: u32,
}

/// Runs every unit on one of `nodes` nodes with `run(node, unit)`, per `policy`; returns
/// each unit's outcome in the units' order. At least one node is needed.
///
/// `on_tail(node)` is called at most once: the first time every unit has been sent and a
/// node has room for more, with that node (the least busy). From then on the run is in its
/// tail, nodes going idle one by one: work that follows the units (a refit) can start
/// there. It is not called when the run ends first.
///
/// # Errors
/// A unit's error that is not a node's failure (see the module docs); the last node error
/// when every node stayed set aside past the patience; [`ErrorKind::Cancelled`] when
/// `cancel` fires. Units in flight then are dropped (their calls cancelled).
pub async fn spread<U, R, F, Fut, T>(
    units: &[U],
    nodes: usize,
    policy: SpreadPolicy,
    cancel: &CancellationToken,
    run: F,
    on_tail: T,
) -> Result<Vec<Result<R, ServiceError>>, ServiceError>
where
    F: Fn(usize, &U) -> Fut,
    T: FnOnce(usize),
    Fut: Future<Output = Result<R, ServiceError>>,
{
    use futures::stream::{FuturesUnordered, StreamExt};
    if nodes == 0 {
        return Err(ServiceError::invalid_input(
            "no node to spread the work over",
        ));
    }
    let per_node = policy.per_node.max(1);
    let mut standing = vec![
        Node {
            in_flight: 0,
            down_until: None,
            failures: 0,
        };
        nodes
    ];
    let mut outcomes: Vec<Option<Result<R, ServiceError>>> = units.iter().map(|_| None).collect();
    let mut retries = vec![0u32; units.len()];
    let mut pending: VecDeque<usize> = (0..units.len()).collect();
    let mut in_flight = FuturesUnordered::new();
    // The nodes that failed since the last success, since when, and the last error.
    let mut failed_since_success = vec![false; nodes];
    let mut first_failure: Option<Instant> = None;
    let mut last_node_error: Option<ServiceError> = None;
    let mut on_tail = Some(on_tail);
    loop {
        let now = Instant::now();
        while let Some(&unit) = pending.front() {
            let Some(node) = least_busy(&standing, per_node, now) else {
                break;
            };
            pending.pop_front();
            standing[node].in_flight += 1;
            let call = run(node, &units[unit]);
            in_flight.push(async move { (unit, node, call.await) });
        }
        if pending.is_empty() && in_flight.is_empty() {
            break;
        }
        if pending.is_empty()
            && let Some(node) = least_busy(&standing, per_node, now)
            && let Some(on_tail) = on_tail.take()
        {
            on_tail(node);
        }
        if failed_since_success.iter().all(|&failed| failed)
            && first_failure
                .is_some_and(|first| now.duration_since(first) >= policy.all_down_patience)
        {
            return Err(last_node_error
                .unwrap_or_else(|| ServiceError::unavailable("every node is unavailable")));
        }
        // Nothing can be sent before the first node set aside comes back.
        let wake = standing
            .iter()
            .filter_map(|node| node.down_until)
            .filter(|&until| until > now)
            .min()
            .unwrap_or(now + policy.backoff_max);
        tokio::select! {
            () = cancel.cancelled() => {
                return Err(ServiceError::new(ErrorKind::Cancelled, "the work was cancelled"));
            }
            Some((unit, node, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                let node_standing = &mut standing[node];
                node_standing.in_flight -= 1;
                match outcome {
                    Ok(result) => {
                        node_standing.failures = 0;
                        outcomes[unit] = Some(Ok(result));
                        failed_since_success.fill(false);
                        first_failure = None;
                    }
                    Err(error) if is_node_loss(&error) && !cancel.is_cancelled() => {
                        node_standing.failures += 1;
                        let backoff = policy
                            .backoff_initial
                            .saturating_mul(1 << (node_standing.failures - 1).min(16))
                            .min(policy.backoff_max);
                        node_standing.down_until = Some(Instant::now() + backoff);
                        tracing::warn!(node, unit, %error, backoff_ms = backoff.as_millis() as u64,
                            "a node failed a unit; retrying it elsewhere");
                        failed_since_success[node] = true;
                        first_failure.get_or_insert_with(Instant::now);
                        retries[unit] += 1;
                        if retries[unit] > policy.retries {
                            outcomes[unit] = Some(Err(error.clone()));
                        } else {
                            pending.push_front(unit);
                        }
                        last_node_error = Some(error);
                    }
                    Err(error) if error.kind == ErrorKind::Overloaded => {
                        let wait = error.retry_after().unwrap_or(policy.backoff_initial);
                        node_standing.down_until = Some(Instant::now() + wait.min(policy.backoff_max));
                        pending.push_front(unit);
                    }
                    Err(error) => return Err(error),
                }
            }
            () = tokio::time::sleep_until(wake), if !pending.is_empty() => {}
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| Err(ServiceError::internal("a unit was never run")))
        })
        .collect())
}

/// Whether `error` says the node could not do the work (it cannot be reached, did not
/// answer in time, or is shutting down), so another node may.
pub(crate) fn is_node_loss(error: &ServiceError) -> bool {
    matches!(
        error.kind,
        ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::Cancelled
    )
}

/// The node with the fewest units in flight, below `per_node`, that is not set aside at
/// `now`; the lowest index among equals.
fn least_busy(standing: &[Node], per_node: usize, now: Instant) -> Option<usize> {
    standing
        .iter()
        .enumerate()
        .filter(|(_, node)| node.in_flight < per_node)
        .filter(|(_, node)| node.down_until.is_none_or(|until| until <= now))
        .min_by_key(|(index, node)| (node.in_flight, *index))
        .map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn quick() -> SpreadPolicy {
        SpreadPolicy {
            per_node: 2,
            retries: 3,
            backoff_initial: Duration::from_millis(5),
            backoff_max: Duration::from_millis(20),
            all_down_patience: Duration::from_millis(200),
        }
    }

    /// Per node: units run, and the most in flight at once.
    #[derive(Default)]
    struct Record {
        ran: Mutex<Vec<(usize, usize)>>,
        in_flight: Vec<AtomicUsize>,
        most: Vec<AtomicUsize>,
    }

    impl Record {
        fn new(nodes: usize) -> Record {
            Record {
                ran: Mutex::default(),
                in_flight: (0..nodes).map(|_| AtomicUsize::new(0)).collect(),
                most: (0..nodes).map(|_| AtomicUsize::new(0)).collect(),
            }
        }

        async fn run(&self, node: usize, unit: usize) {
            let now = self.in_flight[node].fetch_add(1, Ordering::SeqCst) + 1;
            self.most[node].fetch_max(now, Ordering::SeqCst);
            tokio::task::yield_now().await;
            self.in_flight[node].fetch_sub(1, Ordering::SeqCst);
            self.ran.lock().unwrap().push((node, unit));
        }
    }

    #[tokio::test]
    async fn every_unit_runs_once_within_the_per_node_cap_and_outcomes_keep_the_units_order() {
        let units: Vec<usize> = (0..20).collect();
        let record = Record::new(3);
        let sent = AtomicUsize::new(0);
        let tails = Mutex::new(Vec::new());
        let outcomes = spread(
            &units,
            3,
            quick(),
            &CancellationToken::new(),
            |node, &unit| {
                let record = &record;
                sent.fetch_add(1, Ordering::SeqCst);
                async move {
                    record.run(node, unit).await;
                    Ok(unit * 10)
                }
            },
            |node| {
                tails
                    .lock()
                    .unwrap()
                    .push((node, sent.load(Ordering::SeqCst)))
            },
        )
        .await
        .unwrap();
        let values: Vec<usize> = outcomes.into_iter().map(Result::unwrap).collect();
        assert_eq!(values, (0..20).map(|unit| unit * 10).collect::<Vec<_>>());
        let ran = record.ran.lock().unwrap();
        assert_eq!(ran.len(), 20);
        for node in 0..3 {
            assert!(record.most[node].load(Ordering::SeqCst) <= 2);
            assert!(ran.iter().any(|&(n, _)| n == node), "node {node} got work");
        }
        let tails = tails.into_inner().unwrap();
        assert_eq!(tails.len(), 1, "the tail is announced once: {tails:?}");
        assert_eq!(tails[0].1, 20, "once every unit was sent");
    }

    #[tokio::test]
    async fn no_tail_is_announced_when_the_last_unit_ends_the_run() {
        let mut told = false;
        let outcomes = spread(
            &[1usize],
            1,
            SpreadPolicy {
                per_node: 1,
                ..quick()
            },
            &CancellationToken::new(),
            |_, &unit| async move { Ok(unit) },
            |_| told = true,
        )
        .await
        .unwrap();
        assert_eq!(outcomes, [Ok(1)]);
        assert!(!told);
    }

    #[tokio::test]
    async fn a_lost_node_s_units_are_retried_on_the_others() {
        let units: Vec<usize> = (0..30).collect();
        let record = Record::new(3);
        let outcomes = spread(
            &units,
            3,
            quick(),
            &CancellationToken::new(),
            |node, &unit| {
                let record = &record;
                async move {
                    if node == 1 {
                        return Err(ServiceError::unavailable("models at 127.0.0.1:4101: gone"));
                    }
                    record.run(node, unit).await;
                    Ok(unit)
                }
            },
            |_| {},
        )
        .await
        .unwrap();
        assert!(outcomes.iter().all(Result::is_ok));
        let ran = record.ran.lock().unwrap();
        assert_eq!(ran.len(), 30);
        assert!(ran.iter().all(|&(node, _)| node != 1));
    }

    #[tokio::test]
    async fn a_unit_that_loses_every_node_it_touches_ends_with_the_error_after_its_retries() {
        let tries = AtomicUsize::new(0);
        let outcomes = spread(
            &[0usize, 1],
            2,
            quick(),
            &CancellationToken::new(),
            |_, &unit| {
                let tries = &tries;
                async move {
                    if unit == 1 {
                        tries.fetch_add(1, Ordering::SeqCst);
                        return Err(ServiceError::timeout("the node did not answer"));
                    }
                    Ok(unit)
                }
            },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(outcomes[0], Ok(0));
        assert_eq!(outcomes[1].as_ref().unwrap_err().kind, ErrorKind::Timeout);
        assert_eq!(
            tries.load(Ordering::SeqCst),
            4,
            "the first try and 3 retries"
        );
    }

    #[tokio::test]
    async fn an_overloaded_node_is_skipped_for_its_hint_without_counting_a_retry() {
        let refused = AtomicUsize::new(0);
        let outcomes = spread(
            &[7usize],
            2,
            quick(),
            &CancellationToken::new(),
            |node, &unit| {
                let refused = &refused;
                async move {
                    // Both nodes busy for the first few calls.
                    if refused.fetch_add(1, Ordering::SeqCst) < 6 {
                        return Err(ServiceError::overloaded(
                            format!("node {node} is busy"),
                            Some(Duration::from_millis(2)),
                        ));
                    }
                    Ok(unit)
                }
            },
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(outcomes, [Ok(7)]);
    }

    #[tokio::test]
    async fn a_bad_unit_stops_the_run_and_every_node_down_gives_up_after_the_patience() {
        let bad = spread(
            &[0usize, 1],
            2,
            quick(),
            &CancellationToken::new(),
            |_, &unit| async move {
                if unit == 1 {
                    return Err(ServiceError::invalid_input("dataset 4 has no version 2"));
                }
                Ok(unit)
            },
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(bad.kind, ErrorKind::InvalidInput);

        let policy = SpreadPolicy {
            retries: 1000,
            ..quick()
        };
        let started = Instant::now();
        let down = spread(
            &[0usize],
            2,
            policy,
            &CancellationToken::new(),
            |node, _| async move {
                Err::<usize, _>(ServiceError::unavailable(format!("node {node} is gone")))
            },
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(down.kind, ErrorKind::Unavailable);
        assert!(down.message.contains("is gone"), "{down}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_cancel_stops_the_run() {
        let cancel = CancellationToken::new();
        cancel.cancel();
        let error = spread(
            &[0usize],
            1,
            quick(),
            &cancel,
            |_, _| futures::future::pending::<Result<usize, ServiceError>>(),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Cancelled);
        let none = spread(
            &[0usize],
            0,
            quick(),
            &cancel,
            |_, &unit| async move { Ok(unit) },
            |_| {},
        )
        .await;
        assert_eq!(none.unwrap_err().kind, ErrorKind::InvalidInput);
    }
}
