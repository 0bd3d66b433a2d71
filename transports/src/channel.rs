//! Serving a [`Service`] over tarpc's in-process channel transport, supervised.
//!
//! The direct path skips tarpc's dispatch entirely; this path goes through it (request ids,
//! cancellation, deadlines, the server's throttle), as remote calls do. Each (re)start of
//! the serving task makes a fresh channel pair and publishes its client end, so clients
//! created before a restart reach the new task.

use crate::Service;
use crate::client::Client;
use crate::repoll::Repoll;
use crate::supervisor::{ChildHandle, RestartPolicy, Supervisor};
use futures::StreamExt;
use tarpc::RequestName;
use tarpc::server::{BaseChannel, Channel};
use tokio::sync::watch;

/// Messages buffered each way between a channel's client and server ends; a full buffer
/// makes senders wait rather than grow memory.
const CHANNEL_CAPACITY: usize = 1024;

/// Starts `service` behind a supervised tarpc channel server; returns a client of it and the
/// handle of its serving task.
pub fn serve<Req, Resp>(
    supervisor: &Supervisor,
    policy: RestartPolicy,
    service: Service<Req, Resp>,
) -> (Client<Req, Resp>, ChildHandle)
where
    Req: RequestName + Send + Sync + 'static,
    Resp: Send + Sync + 'static,
{
    let name = service.name();
    let (slot_tx, slot) = watch::channel(None);
    let tracker = supervisor.tracker().clone();
    let shutdown = supervisor.shutdown_token();
    let child = supervisor.supervise(name, policy, move || {
        let (client_end, server_end) = tarpc::transport::channel::bounded(CHANNEL_CAPACITY);
        let new_client = tarpc::client::new(tarpc::client::Config::default(), client_end);
        tracker.spawn(async move {
            if let Err(error) = Repoll::new(new_client.dispatch).await {
                tracing::warn!(service = name, %error, "in-process channel dispatch ended");
            }
        });
        slot_tx.send_replace(Some(new_client.client));
        let service = service.clone();
        let tracker = tracker.clone();
        let shutdown = shutdown.clone();
        async move {
            let requests = BaseChannel::with_defaults(server_end)
                .execute(service)
                .for_each(|handler| {
                    tracker.spawn(handler);
                    futures::future::ready(())
                });
            tokio::select! {
                () = Repoll::new(requests) => {}
                () = shutdown.cancelled() => {}
            }
        }
    });
    (Client::channel(name, slot), child)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChildState;
    use crate::test_probe::{ProbeClient, probe};
    use mltools_core::{ErrorKind, RpcResultExt};
    use std::time::Duration;
    use tarpc::context;

    #[tokio::test]
    async fn a_panic_is_answered_and_the_service_keeps_serving() {
        let supervisor = Supervisor::new();
        let (client, _child) = serve(&supervisor, RestartPolicy::default(), probe());
        let client = ProbeClient::from(client);
        let error = client
            .fail(context::current(), "bad row".into())
            .await
            .map(Ok)
            .into_service("probe")
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(error.message.contains("(incident "), "{error}");
        assert!(!error.message.contains("bad row"), "{error}");
        assert_eq!(client.double(context::current(), 21).await.unwrap(), 42);
        assert!(supervisor.shutdown(Duration::from_secs(1)).await);
    }

    #[tokio::test]
    async fn a_restarted_server_is_reached_by_existing_clients() {
        let supervisor = Supervisor::new();
        let (client, child) = serve(&supervisor, RestartPolicy::default(), probe());
        let client = ProbeClient::from(client);
        assert_eq!(client.double(context::current(), 1).await.unwrap(), 2);
        child.abort_current();
        tokio::time::timeout(
            Duration::from_secs(5),
            child.wait_for(|state| state == ChildState::Running { restarts: 1 }),
        )
        .await
        .expect("restarted in time");
        assert_eq!(client.double(context::current(), 5).await.unwrap(), 10);
        assert!(supervisor.shutdown(Duration::from_secs(1)).await);
    }
}
