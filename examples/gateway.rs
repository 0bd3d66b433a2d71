//! Embed a node that serves the HTTP/JSON gateway: every service in this process, reachable
//! over HTTP by programs in any language. Imports iris, prints the calls to try, and serves
//! until ctrl-c.
//!
//! Run: `cargo run --example gateway`, then in another shell the `curl` lines it prints, or
//! `python3 examples/python/mltools_client.py --url http://ADDR your.csv --target COL`.

use mltools::gateway::GatewayConfig;
use mltools::prelude::*;
use std::error::Error;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let data_dir = std::env::temp_dir().join(format!("mltools-gateway-{}", std::process::id()));
    // Loopback and no token: fine on this machine only. A gateway on a network gets a
    // token (and TLS) in its config.
    let node = Node::builder()
        .data_dir(&data_dir)
        .gateway(GatewayConfig::new("127.0.0.1:0"))
        .start()
        .await?;
    node.datasets()?
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin {
                name: Builtin::Iris,
            }),
        )
        .await
        .into_service("datasets")?;
    let address = node.gateway_addr().ok_or("the node serves a gateway")?;
    println!("gateway on http://{address} (ctrl-c to stop); try:");
    println!("  curl http://{address}/v1/datasets");
    println!(
        "  curl -H 'Content-Type: application/json' -d '{{\"dataset\": \"iris\"}}' \
         http://{address}/v1/compare"
    );
    println!("  curl -N http://{address}/v1/jobs/1/events");
    println!("  open http://{address}/v1/reports/1 in a browser");
    tokio::signal::ctrl_c().await?;
    node.shutdown().await;
    std::fs::remove_dir_all(&data_dir)?;
    Ok(())
}
