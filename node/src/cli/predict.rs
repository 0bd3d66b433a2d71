//! `mltools predict` and `mltools models ...`.

use super::{CliError, output};
use crate::node::Node;
use clap::Subcommand;
use mltools_core::models::{ModelFile, Predictions};
use mltools_core::utils::InputColumn;
use mltools_core::{Frame, ModelId, RpcResultExt, ServiceError};
use std::path::{Path, PathBuf};
use tarpc::context;

/// The `models` commands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The algorithms, their tasks and their hyperparameters with defaults.
    Algorithms,
    /// The stored models.
    List,
    /// Fit one model on every row of a dataset and store it.
    Fit {
        /// The dataset's id or name.
        dataset: String,
        /// The algorithm (see `mltools models algorithms`).
        algorithm: String,
        /// The target column (default: the dataset's own).
        #[arg(long)]
        target: Option<String>,
        /// Override a parameter: PARAM=VALUE (repeatable).
        #[arg(long = "set", value_name = "PARAM=VALUE")]
        params: Vec<String>,
        /// The seed of randomised algorithms.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Force the task instead of inferring it from the target.
        #[arg(long, value_parser = ["regression", "classification"])]
        task: Option<String>,
    },
    /// Write a stored model to a file.
    Export {
        /// The model's id.
        model: ModelId,
        /// The file to write.
        file: PathBuf,
    },
    /// Store a model from an exported file.
    Import {
        /// The file to read.
        file: PathBuf,
    },
    /// Delete a stored model.
    Delete {
        /// The model's id.
        model: ModelId,
    },
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> CliError {
    ServiceError::invalid_input(format!("{}: {error}", path.display())).into()
}

pub(super) async fn models(
    node: &Node,
    command: &ModelsCommand,
    json: bool,
) -> Result<(), CliError> {
    let models = node.models()?;
    let ctx = context::current;
    match command {
        ModelsCommand::Algorithms => {
            let algorithms = models.algorithms(ctx()).await.into_service("models")?;
            if json {
                return output::print_json(&algorithms);
            }
            println!("{}", output::algorithms_table(&algorithms));
        }
        ModelsCommand::List => {
            let infos = models.list(ctx()).await.into_service("models")?;
            if json {
                return output::print_json(&infos);
            }
            println!("{}", output::models_table(&infos));
        }
        ModelsCommand::Fit {
            dataset,
            algorithm,
            target,
            params,
            seed,
            task,
        } => {
            let task = task.as_deref().map(super::compare::parse_task);
            let request = FitArgs {
                dataset,
                algorithm,
                target: target.as_deref(),
                params,
                seed: *seed,
                task,
            };
            let info = fit(node, request).await?;
            if json {
                return output::print_json(&info);
            }
            println!(
                "stored as model {} ({} on dataset {} version {}, target `{}`)",
                info.id, info.spec.algorithm, info.dataset, info.version, info.target
            );
        }
        ModelsCommand::Export { model, file } => {
            let exported = models.export(ctx(), *model).await.into_service("models")?;
            super::atomic::write(file, &exported.bytes).map_err(|error| io_error(file, error))?;
            println!("model {model} written to {}", file.display());
        }
        ModelsCommand::Import { file } => {
            let bytes = std::fs::read(file).map_err(|error| io_error(file, error))?;
            let info = models
                .import(ctx(), ModelFile { bytes })
                .await
                .into_service("models")?;
            if json {
                return output::print_json(&info);
            }
            println!("stored as model {} ({})", info.id, info.spec.algorithm);
        }
        ModelsCommand::Delete { model } => {
            let info = models.delete(ctx(), *model).await.into_service("models")?;
            println!("deleted model {} ({})", info.id, info.spec.algorithm);
        }
    }
    Ok(())
}

/// What `models fit` fits.
struct FitArgs<'a> {
    dataset: &'a str,
    algorithm: &'a str,
    target: Option<&'a str>,
    params: &'a [String],
    seed: u64,
    task: Option<mltools_core::models::Task>,
}

/// Fits an algorithm on every row of a dataset version through the models service.
async fn fit(node: &Node, args: FitArgs<'_>) -> Result<mltools_core::models::ModelInfo, CliError> {
    let FitArgs {
        dataset,
        algorithm,
        target,
        params,
        seed,
        task,
    } = args;
    let mut spec = mltools_core::models::ModelSpec {
        algorithm: algorithm.to_owned(),
        params: Default::default(),
        pipeline: None,
    };
    for param in params {
        let (_, name, value) = super::compare::parse_override(&format!("{algorithm}.{param}"))
            .map_err(ServiceError::invalid_input)?;
        spec.params.insert(name, value);
    }
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    // The description only: the models service reads the rows from datasets itself.
    let page = node
        .datasets()?
        .get(
            ctx,
            mltools_core::datasets::GetRequest {
                limit: Some(0),
                ..mltools_core::datasets::GetRequest::all(mltools_core::DatasetRef::parse(dataset))
            },
        )
        .await
        .into_service("datasets")?;
    let target = match target
        .map(str::to_owned)
        .or(page.info.schema.target.clone())
    {
        Some(target) => target,
        None => {
            return Err(ServiceError::invalid_input(format!(
                "dataset `{}` has no target column; name one with --target",
                page.info.name
            ))
            .into());
        }
    };
    let request = mltools_core::models::FitRequest {
        data: mltools_core::models::TrainingData {
            dataset: page.info.id,
            version: page.info.version,
            rows: mltools_core::models::Rows::Stored,
            target,
            task,
        },
        model: spec,
        seed,
    };
    Ok(node
        .models()?
        .fit(ctx, request)
        .await
        .into_service("models")?)
}

/// `mltools predict MODEL FILE.csv`: reads the model's input columns from the file (other
/// columns are ignored) and writes `row,prediction` as CSV.
pub(super) async fn predict(
    node: &Node,
    model: ModelId,
    path: &Path,
    output_path: Option<&Path>,
    json: bool,
) -> Result<(), CliError> {
    let models = node.models()?;
    let info = models
        .get(context::current(), model)
        .await
        .into_service("models")?;
    let frame = read_rows(path, &info.pipeline.input_columns)?;
    // Predicting is CPU work on the models node proportional to the rows: give it time.
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    let predictions = models
        .predict(ctx, model, frame)
        .await
        .into_service("models")?;
    if json {
        return output::print_json(&predictions);
    }
    let text = predictions_csv(&predictions, &info.target);
    match output_path {
        Some(out) => {
            super::atomic::write(out, text.as_bytes()).map_err(|error| io_error(out, error))?;
            eprintln!(
                "{} predictions written to {}",
                predictions.values.len(),
                out.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn predictions_csv(predictions: &Predictions, target: &str) -> String {
    let mut text = format!("row,{target}\n");
    for (row, value) in predictions.values.iter().enumerate() {
        let shown = match &predictions.classes {
            Some(classes) => classes.get(*value as usize).cloned().unwrap_or_default(),
            None => value.to_string(),
        };
        let quoted = if shown.contains([',', '"', '\n']) {
            format!("\"{}\"", shown.replace('"', "\"\""))
        } else {
            shown
        };
        text.push_str(&format!("{row},{quoted}\n"));
    }
    text
}

/// Reads the `wanted` columns of a CSV file (header row required) into a frame.
fn read_rows(path: &Path, wanted: &[InputColumn]) -> Result<Frame, CliError> {
    let file = std::fs::File::open(path).map_err(|error| io_error(path, error))?;
    let shown = path.display().to_string();
    Ok(mltools_core::frame::read_csv_columns(
        std::io::BufReader::new(file),
        wanted,
        &shown,
    )?)
}
