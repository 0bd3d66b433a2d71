//! `mltools node`: run a node as a daemon until ctrl-c or SIGTERM.

use super::CliError;
use crate::node::Node;
use std::io::Write as _;

/// Serves until a stop signal, then shuts the node down: no new calls, calls in flight get
/// the configured grace period, stores are left between transactions.
///
/// Prints `node NAME ready` on standard output once serving (scripts and tests wait for
/// that line) and `node NAME stopped` at the end.
pub(super) async fn run(node: Node) -> Result<(), CliError> {
    let name = node.config().node.name.clone();
    let hosted: Vec<&str> = node
        .config()
        .node
        .serve
        .iter()
        .map(|s| s.as_str())
        .collect();
    // Listening before the ready line: a signal sent as soon as it is read is handled.
    let stop = StopSignal::install();
    tracing::info!(node = %name, serve = ?hosted, "serving");
    let mut listening = String::new();
    if let Some(address) = node.quic_addr() {
        listening.push_str(&format!("; listening on quic {address}"));
    }
    if let Some(address) = node.listen_addr() {
        listening.push_str(&format!("; listening on tcp {address}"));
    }
    if let Some(address) = node.gateway_addr() {
        let scheme = if node.gateway_is_tls() {
            "https"
        } else {
            "http"
        };
        listening.push_str(&format!("; listening on {scheme} {address}"));
    }
    println!(
        "node {name} ready (serving {}{listening})",
        hosted.join(", ")
    );
    // Readiness must reach a pipe at once, not when the buffer fills.
    let _ = std::io::stdout().flush();
    let signal = stop.wait().await;
    let grace = node.config().shutdown_grace();
    tracing::info!(node = %name, %signal, ?grace, "stopping: refusing new calls, finishing calls in flight");
    let clean = node.shutdown().await;
    if !clean {
        tracing::warn!(node = %name, ?grace, "work was still running when the grace period ended");
    }
    println!("node {name} stopped ({signal})");
    Ok(())
}

/// The stop signals, listened for from creation on: a signal that arrives after
/// [`StopSignal::install`] and before [`StopSignal::wait`] is not lost (nor does it kill the
/// process with the default disposition).
struct StopSignal {
    #[cfg(unix)]
    listeners: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignal {
    /// Starts listening for ctrl-c, and SIGTERM on Unix.
    fn install() -> StopSignal {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listeners = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(interrupt), Ok(terminate)) => Some((interrupt, terminate)),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only ctrl-c stops the node");
                    None
                }
            };
            StopSignal { listeners }
        }
        #[cfg(not(unix))]
        StopSignal {}
    }

    /// Waits for ctrl-c, or SIGTERM on Unix; names the one that came.
    async fn wait(self) -> &'static str {
        #[cfg(unix)]
        if let Some((mut interrupt, mut terminate)) = self.listeners {
            return tokio::select! {
                _ = interrupt.recv() => "interrupt",
                _ = terminate.recv() => "SIGTERM",
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        "interrupt"
    }
}
