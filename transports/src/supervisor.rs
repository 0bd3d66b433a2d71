//! Supervision: restart a service's serving task when it dies, within a restart limit.
//!
//! As an OTP supervisor with a `one_for_one` strategy: each child is started from a factory;
//! when its task ends while the node is not shutting down (a panic, an abort, an unexpected
//! return) the supervisor logs why and starts it again, unless it has already been
//! restarted `max_restarts` times within `window`, in which case it gives up and marks the
//! child [`ChildState::Failed`]. Every task is tracked, so [`Supervisor::shutdown`] knows
//! when all of them are gone.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often a child may be restarted before the supervisor gives up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Restarts allowed within `window`.
    pub max_restarts: u32,
    /// The sliding window the restarts are counted in.
    pub window: Duration,
}

impl Default for RestartPolicy {
    /// Five restarts within ten seconds.
    fn default() -> Self {
        RestartPolicy {
            max_restarts: 5,
            window: Duration::from_secs(10),
        }
    }
}

/// Where a supervised child is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildState {
    /// Serving; `restarts` counts the restarts so far.
    Running {
        /// Restarts since the child was first started.
        restarts: u32,
    },
    /// The restart limit was hit; the child is not running.
    Failed,
    /// Stopped by a shutdown.
    Stopped,
}

/// Supervises children and tracks every task they start.
#[derive(Debug, Clone, Default)]
pub struct Supervisor {
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

/// A handle on one supervised child.
#[derive(Debug, Clone)]
pub struct ChildHandle {
    name: &'static str,
    state: watch::Receiver<ChildState>,
    current: Arc<Mutex<Option<AbortHandle>>>,
}

impl Supervisor {
    /// A supervisor with nothing started.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token cancelled at shutdown; long-running loops select on it.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The tracker that knows every task started under this supervisor.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Starts a child from `start` and restarts it by calling `start` again whenever its task
    /// ends before shutdown, within `policy`.
    pub fn supervise<F, Fut>(
        &self,
        name: &'static str,
        policy: RestartPolicy,
        start: F,
    ) -> ChildHandle
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (state_tx, state) = watch::channel(ChildState::Running { restarts: 0 });
        // The first instance starts before this returns, so that the caller can use the child
        // (and a channel server's client end is published) at once.
        let mut start = start;
        let first = self.tracker.spawn(start());
        let current = Arc::new(Mutex::new(Some(first.abort_handle())));
        let monitor = Monitor {
            name,
            policy,
            tracker: self.tracker.clone(),
            shutdown: self.shutdown.clone(),
            state: state_tx,
            current: Arc::clone(&current),
        };
        self.tracker.spawn(monitor.run(start, first));
        ChildHandle {
            name,
            state,
            current,
        }
    }

    /// Stops every child: cancels the shutdown token, then waits up to `grace` for all
    /// tracked tasks to end. Returns whether they all ended in time.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}

struct Monitor {
    name: &'static str,
    policy: RestartPolicy,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    state: watch::Sender<ChildState>,
    current: Arc<Mutex<Option<AbortHandle>>>,
}

impl Monitor {
    async fn run<F, Fut>(self, mut start: F, first: JoinHandle<()>)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut recent: VecDeque<Instant> = VecDeque::new();
        let mut restarts = 0u32;
        let mut task = first;
        loop {
            let ended = tokio::select! {
                ended = &mut task => ended,
                () = self.shutdown.cancelled() => {
                    self.abort_current();
                    self.state.send_replace(ChildState::Stopped);
                    return;
                }
            };
            if self.shutdown.is_cancelled() {
                self.state.send_replace(ChildState::Stopped);
                return;
            }
            match ended {
                Ok(()) => tracing::warn!(service = self.name, "serving task ended unexpectedly"),
                Err(error) if error.is_panic() => {
                    tracing::error!(service = self.name, "serving task panicked")
                }
                Err(_) => tracing::warn!(service = self.name, "serving task was aborted"),
            }
            let now = Instant::now();
            recent.retain(|at| now.duration_since(*at) < self.policy.window);
            if recent.len() as u32 >= self.policy.max_restarts {
                tracing::error!(
                    service = self.name,
                    max_restarts = self.policy.max_restarts,
                    window_ms = self.policy.window.as_millis() as u64,
                    "restart limit reached; giving up on the service"
                );
                self.set_current(None);
                self.state.send_replace(ChildState::Failed);
                return;
            }
            recent.push_back(now);
            restarts += 1;
            tracing::info!(service = self.name, restarts, "restarting serving task");
            task = self.tracker.spawn(start());
            self.set_current(Some(task.abort_handle()));
            self.state.send_replace(ChildState::Running { restarts });
        }
    }

    fn set_current(&self, handle: Option<AbortHandle>) {
        // A poisoned lock only means a panic elsewhere while holding it; the slot is still a
        // plain Option, so carry on with it.
        *self
            .current
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = handle;
    }

    fn abort_current(&self) {
        if let Some(handle) = self
            .current
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
        {
            handle.abort();
        }
    }
}

impl ChildHandle {
    /// The child's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Where the child is now.
    pub fn state(&self) -> ChildState {
        *self.state.borrow()
    }

    /// Waits until the child's state satisfies `done`, and returns that state.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses nothing.
    pub async fn wait_for(&self, mut done: impl FnMut(ChildState) -> bool) -> ChildState {
        let mut state = self.state.clone();
        let reached = state
            .wait_for(|current| done(*current))
            .await
            .map(|current| *current);
        // On error the monitor is gone: its last state is final.
        reached.unwrap_or_else(|_| *self.state.borrow())
    }

    /// Aborts the running instance, as if it had crashed; the supervisor restarts it under
    /// its policy. For operators and fault tests.
    pub fn abort_current(&self) {
        if let Some(handle) = self
            .current
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .as_ref()
        {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_panicking_child_is_restarted_until_the_limit() {
        let supervisor = Supervisor::new();
        let starts = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&starts);
        let policy = RestartPolicy {
            max_restarts: 3,
            window: Duration::from_secs(60),
        };
        let child = supervisor.supervise("boom", policy, move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { panic!("serving task failure") }
        });
        let state = tokio::time::timeout(
            Duration::from_secs(5),
            child.wait_for(|state| state == ChildState::Failed),
        )
        .await
        .expect("the supervisor gives up within the timeout");
        assert_eq!(state, ChildState::Failed);
        // The first start and three restarts.
        assert_eq!(starts.load(Ordering::SeqCst), 4);
        assert!(supervisor.shutdown(Duration::from_secs(1)).await);
    }

    #[tokio::test]
    async fn an_aborted_child_comes_back_and_shutdown_stops_it() {
        let supervisor = Supervisor::new();
        let child = supervisor.supervise("idle", RestartPolicy::default(), || {
            std::future::pending::<()>()
        });
        child.abort_current();
        let state = tokio::time::timeout(
            Duration::from_secs(5),
            child.wait_for(|state| state == ChildState::Running { restarts: 1 }),
        )
        .await
        .expect("restarted in time");
        assert_eq!(state, ChildState::Running { restarts: 1 });
        assert!(supervisor.shutdown(Duration::from_secs(1)).await);
        assert_eq!(child.state(), ChildState::Stopped);
    }
}
