//! The `mltools` command line.
//!
//! Exit codes: 0 success; 1 the command failed (the error, naming its culprit, is printed on
//! standard error); 2 bad usage (printed by the argument parser).

mod atomic;
mod compare;
mod daemon;
mod datasets;
mod jobs;
mod output;
mod predict;

use crate::config::{ConfigError, NodeConfig};
use crate::node::{Node, NodeError};
use clap::{Parser, Subcommand};
use mltools_core::ServiceError;
use std::path::PathBuf;

pub use compare::CompareArgs;
pub use datasets::DatasetsCommand;
pub use jobs::JobsCommand;
pub use predict::ModelsCommand;

/// Why a command failed; its message names the culprit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The configuration file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The node could not start, or does not host a service the command needs.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A service answered with an error.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Certificates could not be made.
    #[error(transparent)]
    Certs(#[from] mltools_transport::certs::CertError),
    /// A certificate could not be read.
    #[error(transparent)]
    Tls(#[from] mltools_transport::tcp::TcpConfigError),
    /// The result could not be written as JSON.
    #[error("cannot write the result as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Load tabular datasets, preprocess them, fit and compare predictive models.
#[derive(Debug, Parser)]
#[command(name = "mltools", version, about)]
pub struct Cli {
    /// A TOML node configuration (see the README's config reference).
    #[arg(long, global = true, env = "MLTOOLS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where services keep their data; overrides the config's `data_dir` of the datasets,
    /// models and lab services.
    #[arg(long, global = true, env = "MLTOOLS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print results as JSON, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import, list, show, update and delete datasets.
    #[command(subcommand)]
    Datasets(DatasetsCommand),
    /// Compare every candidate model on a dataset with cross-validation; keep the best.
    Compare(CompareArgs),
    /// List, follow, cancel and collect the lab's comparisons by job id.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Predict with a stored model: reads its input columns from a CSV file and writes
    /// `row,<target>` as CSV.
    Predict {
        /// The model's id (printed by `compare`; see `mltools models list`).
        model: mltools_core::ModelId,
        /// A CSV file with a header row holding the model's input columns.
        file: PathBuf,
        /// Write the predictions to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// List the algorithms; list, export, import and delete stored models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Run this node as a daemon (services from --config) until ctrl-c or SIGTERM.
    Node,
    /// Make a cluster's TLS certificates, or print a certificate's fingerprint.
    #[command(subcommand)]
    Certs(CertsCommand),
}

/// The certificate commands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write a cluster CA (ca.pem, ca.key), a certificate per node (NODE.pem, NODE.key) and
    /// a client certificate (client.pem, client.key) into DIR; never overwrites.
    Init {
        /// The directory to write.
        #[arg(long)]
        dir: PathBuf,
        /// The nodes to make certificates for (repeatable).
        #[arg(long = "node", default_values_t = ["node".to_owned()])]
        nodes: Vec<String>,
        /// The host names and IP addresses the node certificates are valid for.
        #[arg(long = "host", default_values_t = ["127.0.0.1".to_owned(), "localhost".to_owned()])]
        hosts: Vec<String>,
        /// The last day (YYYY-MM-DD, UTC) the node and client certificates are valid.
        #[arg(long)]
        expires: Option<String>,
    },
    /// Print a certificate's fingerprint, `sha256:<64 hex digits>`: what a client pins
    /// with `tls = { fingerprint = "..." }` (a node logs the same at start).
    Fingerprint {
        /// A PEM certificate (the first one, the server's own, when it holds a chain), or
        /// the `self_signed` directory of a node (its `cert.pem`).
        path: PathBuf,
    },
}

impl Cli {
    /// The node configuration these arguments select: the file's, or the defaults, with
    /// `--data-dir` applied.
    ///
    /// # Errors
    /// An unreadable or invalid config file.
    pub fn node_config(&self) -> Result<NodeConfig, CliError> {
        let mut config = match &self.config {
            Some(path) => NodeConfig::load(path)?,
            None => NodeConfig::default(),
        };
        if let Some(dir) = &self.data_dir {
            config.datasets.data_dir = dir.clone();
            config.models.data_dir = dir.clone();
            config.lab.data_dir = Some(dir.clone());
        }
        Ok(config)
    }
}

/// Runs a parsed command line against an embedded node, printing to standard output.
///
/// # Errors
/// Whatever the command fails with; the message names the culprit.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Certs(command) = &cli.command {
        return certs(command, cli.json);
    }
    let config = cli.node_config()?;
    let node = crate::node::NodeBuilder::from_config(config)
        .start()
        .await?;
    if let Command::Node = cli.command {
        return daemon::run(node).await;
    }
    let outcome = match &cli.command {
        Command::Datasets(command) => datasets::run(&node, command, cli.json).await,
        Command::Compare(args) => compare::compare(&node, args, cli.json).await,
        Command::Jobs(command) => jobs::run(&node, command, cli.json).await,
        Command::Predict {
            model,
            file,
            output,
        } => predict::predict(&node, *model, file, output.as_deref(), cli.json).await,
        Command::Models(command) => predict::models(&node, command, cli.json).await,
        // Handled above: the daemon owns the node until a stop signal; certificates need
        // no node.
        Command::Node | Command::Certs(_) => Ok(()),
    };
    shutdown(node).await;
    outcome
}

/// The certificate commands: they need no node.
fn certs(command: &CertsCommand, json: bool) -> Result<(), CliError> {
    match command {
        CertsCommand::Init {
            dir,
            nodes,
            hosts,
            expires,
        } => {
            use mltools_transport::certs::{CertOptions, init_with};
            let options = match expires {
                Some(date) => CertOptions::expiring(date)?,
                None => CertOptions::default(),
            };
            let files = init_with(dir, nodes, hosts, &options)?;
            println!("wrote the CA {}", files.ca.display());
            for (cert, key) in &files.nodes {
                println!("wrote {} and {}", cert.display(), key.display());
            }
            println!(
                "wrote {} and {}",
                files.client.0.display(),
                files.client.1.display()
            );
        }
        CertsCommand::Fingerprint { path } => {
            let fingerprint = mltools_transport::tls::Fingerprint::of_pem_file(path)?;
            if json {
                let shown = serde_json::json!({
                    "path": path.display().to_string(),
                    "fingerprint": fingerprint.to_string(),
                });
                println!("{shown}");
            } else {
                println!("{fingerprint}");
            }
        }
    }
    Ok(())
}

async fn shutdown(node: Node) {
    if !node.shutdown().await {
        tracing::warn!("some work was still running at exit");
    }
}
