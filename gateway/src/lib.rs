//! An HTTP/JSON gateway to the mltools services, for clients in any language.
//!
//! A node hosts one when its configuration has a `[gateway]` table. Each route is a typed
//! call to one service method, made through the service's client, wherever the node's
//! configuration places the service; no route runs anything a request names.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /v1/health`, `GET /v1/openapi.json` | liveness; the OpenAPI document (no token needed) |
//! | `GET /v1/datasets`, `POST /v1/datasets` | list; import a CSV body (streamed into an upload) or a built-in set or URL (JSON) |
//! | `GET`/`DELETE /v1/datasets/{dataset}`, `…/rows`, `…/description`, `GET`/`POST …/versions` | read, page, describe, delete; versions, and a new one from a CSV body |
//! | `POST /v1/compare` | start a comparison: 202 with the job |
//! | `GET /v1/jobs`, `GET /v1/jobs/{job}`, `POST …/cancel`, `GET …/events`, `GET …/report`, `GET …/plots/{i}` | follow, cancel, collect a comparison; `events` is server-sent events |
//! | `GET /v1/reports/{job}` | the report as one HTML page |
//! | `GET /v1/algorithms`, `GET`/`DELETE /v1/models/{model}`, `POST …/predict` | the registry; predict on JSON rows or CSV |
//!
//! Every error is `application/problem+json` ([`Problem`]), with a service error's kind
//! mapped to a status ([`problem::status_of`]). Bodies are bounded (`max_body_bytes`,
//! `max_upload_bytes`), requests timed (`request_timeout_ms`), connections capped; the
//! same bearer token and TLS (optionally mutual) as the RPC listeners; plaintext only on
//! loopback.
//!
//! ```no_run
//! # async fn demo(node_clients: mltools_gateway::GatewayServices) -> Result<(), Box<dyn std::error::Error>> {
//! use mltools_gateway::{Gateway, GatewayConfig};
//!
//! let gateway = Gateway::bind(GatewayConfig::new("127.0.0.1:8080"), node_clients).await?;
//! println!("serving http://{}/v1/health", gateway.local_addr());
//! gateway.shutdown(std::time::Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```

mod auth;
pub mod config;
pub mod openapi;
pub mod problem;
mod routes;
mod server;
pub mod views;

pub use config::{GatewayConfig, GatewayConfigError};
pub use problem::Problem;
pub use server::{Gateway, GatewayError, GatewayServices};
