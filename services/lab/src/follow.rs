//! Following a comparison from a client: start it and wait for its report.

use mltools_core::lab::{LabCompareRequest, Report};
use mltools_core::{RpcResultExt, ServiceError};
use mltools_transport::LabClient;
use std::time::{Duration, Instant};
use tarpc::context;

/// How long one `report` call waits; each call stays well inside the RPC deadline.
const WAIT_SLICE_MS: u64 = 1_000;

/// Starts a comparison through `lab` and waits up to `patience` for its report.
///
/// # Errors
/// The comparison's own error (an unknown dataset, no target, ...), a transport failure,
/// or `Timeout` when `patience` runs out (the comparison goes on; cancel it if unwanted).
///
/// # Cancel safety
/// Dropping the future stops waiting; the comparison goes on.
pub async fn compare_and_wait(
    lab: &LabClient,
    request: LabCompareRequest,
    patience: Duration,
) -> Result<Report, ServiceError> {
    let job = lab
        .compare(context::current(), request)
        .await
        .into_service("lab")?;
    let started = Instant::now();
    while started.elapsed() < patience {
        let waited = lab
            .report(context::current(), job, WAIT_SLICE_MS)
            .await
            .into_service("lab")?;
        if let Some(report) = waited {
            return Ok(report);
        }
    }
    Err(ServiceError::timeout(format!(
        "comparison {job} had no report after {} s",
        patience.as_secs()
    )))
}
