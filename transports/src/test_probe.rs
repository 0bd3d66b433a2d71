//! A tiny service for the transport tests: echoes, panics on demand, blocks until released.

use crate::{Limits, Service};
use std::sync::Arc;
use tarpc::context;
use tokio::sync::Notify;

#[tarpc::service]
pub(crate) trait Probe {
    async fn double(value: u32) -> u32;
    async fn fail(message: String) -> u32;
    async fn hold() -> u32;
}

#[derive(Clone, Default)]
pub(crate) struct ProbeServer {
    pub(crate) release: Arc<Notify>,
    pub(crate) entered: Arc<Notify>,
}

impl Probe for ProbeServer {
    async fn double(self, _: context::Context, value: u32) -> u32 {
        value * 2
    }

    async fn fail(self, _: context::Context, message: String) -> u32 {
        panic!("{message}")
    }

    async fn hold(self, _: context::Context) -> u32 {
        self.entered.notify_one();
        self.release.notified().await;
        7
    }
}

pub(crate) fn probe() -> Service<ProbeRequest, ProbeResponse> {
    probe_with(ProbeServer::default(), Limits::default())
}

pub(crate) fn probe_with(
    server: ProbeServer,
    limits: Limits,
) -> Service<ProbeRequest, ProbeResponse> {
    crate::service!("probe", limits, server.serve())
}
