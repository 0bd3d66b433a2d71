//! `mltools predict` and `mltools models ...`.

use super::{CliError, output};
use crate::node::Node;
use clap::Subcommand;
use mltools_core::frame::ColumnBuilder;
use mltools_core::models::{ModelFile, Predictions};
use mltools_core::utils::InputColumn;
use mltools_core::{Frame, ModelId, RpcResultExt, ServiceError};
use std::collections::HashMap;
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
    let delimiter = detect_delimiter(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|error| io_error(path, error))?;
    let headers = reader
        .headers()
        .map_err(|error| io_error(path, error))?
        .clone();
    let index: HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, name)| (name, i))
        .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .map(|column| column.name.as_str())
        .filter(|name| !index.contains_key(name))
        .collect();
    if !missing.is_empty() {
        return Err(ServiceError::invalid_input(format!(
            "{}: the model needs the column(s) {}, which the file lacks",
            path.display(),
            missing.join(", ")
        ))
        .into());
    }
    let mut builders: Vec<ColumnBuilder> = wanted
        .iter()
        .map(|column| ColumnBuilder::new(column.kind))
        .collect();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|error| io_error(path, error))?;
        for (builder, column) in builders.iter_mut().zip(wanted) {
            let field = record.get(index[column.name.as_str()]).unwrap_or("");
            builder.push_text(field).map_err(|value| {
                ServiceError::invalid_input(format!(
                    "{}: line {}, column `{}`: `{value}` is not a number",
                    path.display(),
                    line + 2,
                    column.name
                ))
            })?;
        }
    }
    let columns = builders
        .into_iter()
        .zip(wanted)
        .map(|(builder, column)| builder.finish(&column.name))
        .collect();
    Ok(Frame { columns })
}

/// The delimiter of the header line, as imports detect it: the most frequent of `,` `;`
/// tab `|` outside quotes (`,` when none appears).
fn detect_delimiter(path: &Path) -> Result<u8, CliError> {
    use std::io::BufRead as _;
    let file = std::fs::File::open(path).map_err(|error| io_error(path, error))?;
    let mut header = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut header)
        .map_err(|error| io_error(path, error))?;
    let mut counts = [0usize; 4];
    let candidates = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for byte in header.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = candidates.iter().position(|c| *c == byte) {
            counts[i] += 1;
        }
    }
    let best = (0..4)
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    Ok(if counts[best] == 0 {
        b','
    } else {
        candidates[best]
    })
}
