//! `mltools datasets ...`.

use super::{CliError, output};
use crate::node::Node;
use clap::{Args, Subcommand, ValueEnum};
use mltools_core::datasets::{
    CsvOptions, GetRequest, ImportRequest, Source, UpdateMode, UpdateRequest,
};
use mltools_core::{DatasetRef, ErrorKind, RpcResultExt, ServiceError, ServiceName};
use mltools_transport::DatasetsClient;
use mltools_transport::upload::{DEFAULT_CHUNK_BYTES, upload_file};
use std::time::{Duration, Instant};
use tarpc::context;

/// Imports and updates may take minutes on large files; their calls get this deadline
/// rather than tarpc's 10 s default.
const LONG_CALL: Duration = Duration::from_secs(6 * 60 * 60);

/// The datasets commands.
#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// Import a CSV file, an http(s) URL or a built-in set (builtin:iris, builtin:breast_cancer,
    /// builtin:diabetes, builtin:digits, builtin:boston), then describe it.
    Import(ImportArgs),
    /// List the stored datasets at their latest versions.
    List,
    /// Show a dataset version: its columns' statistics and its first rows.
    Show(ShowArgs),
    /// List the versions of a dataset.
    Versions {
        /// The dataset's id or name.
        dataset: String,
    },
    /// Append rows to, or replace, a dataset: a new version.
    Update(UpdateArgs),
    /// Delete a dataset with all its versions.
    Delete {
        /// The dataset's id or name.
        dataset: String,
    },
}

/// Options of CSV reading.
#[derive(Debug, Args)]
pub struct CsvArgs {
    /// The field delimiter (one character); detected from the header line when omitted.
    #[arg(long)]
    pub delimiter: Option<char>,
    /// Columns to read as categorical even if they hold numbers (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
}

impl CsvArgs {
    fn options(&self) -> Result<CsvOptions, ServiceError> {
        let delimiter = match self.delimiter {
            None => None,
            Some(c) if c.is_ascii() => Some(c as u8),
            Some(c) => {
                return Err(ServiceError::invalid_input(format!(
                    "--delimiter `{c}` is not a single-byte (ASCII) character"
                )));
            }
        };
        Ok(CsvOptions {
            delimiter,
            categorical: self.categorical.clone(),
        })
    }
}

/// What an import does when the name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IfExists {
    /// Fail.
    Error,
    /// Keep the stored dataset as it is and describe it.
    Keep,
    /// Store the new data as a new version of the stored dataset.
    Replace,
}

/// `datasets import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A CSV path, an http(s):// URL, or builtin:NAME.
    pub source: String,
    /// The dataset's name (default: the file name without extension, or the built-in's name).
    #[arg(long)]
    pub name: Option<String>,
    /// The target column.
    #[arg(long)]
    pub target: Option<String>,
    /// What to do when a dataset of that name exists.
    #[arg(long, value_enum, default_value_t = IfExists::Error)]
    pub if_exists: IfExists,
    /// CSV options.
    #[command(flatten)]
    pub csv: CsvArgs,
}

/// `datasets show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The dataset's id or name.
    pub dataset: String,
    /// The version (default: the latest).
    #[arg(long)]
    pub version: Option<u32>,
    /// How many rows to print.
    #[arg(long, default_value_t = 5)]
    pub head: u64,
}

/// `datasets update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The dataset's id or name.
    pub dataset: String,
    /// A CSV path, an http(s):// URL, or builtin:NAME.
    pub source: String,
    /// Add the rows after the current ones (the default).
    #[arg(long, conflicts_with = "replace")]
    pub append: bool,
    /// Replace all rows and the schema.
    #[arg(long)]
    pub replace: bool,
    /// The new target column (replace only).
    #[arg(long)]
    pub target: Option<String>,
    /// CSV options.
    #[command(flatten)]
    pub csv: CsvArgs,
}

fn long_call() -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = Instant::now() + LONG_CALL;
    ctx
}

pub(super) async fn run(
    node: &Node,
    command: &DatasetsCommand,
    json: bool,
) -> Result<(), CliError> {
    let client = node.datasets()?;
    let place = SourcePlace::of(node);
    match command {
        DatasetsCommand::Import(args) => import(&client, place, args, json).await,
        DatasetsCommand::List => {
            let infos = client
                .list(context::current())
                .await
                .into_service("datasets")?;
            if json {
                return output::print_json(&infos);
            }
            if infos.is_empty() {
                println!("no datasets stored yet; try `mltools datasets import builtin:iris`");
            } else {
                println!("{}", output::datasets_table(&infos));
            }
            Ok(())
        }
        DatasetsCommand::Show(args) => {
            let dataset = DatasetRef::parse(&args.dataset);
            show(&client, dataset, args.version, args.head, json).await
        }
        DatasetsCommand::Versions { dataset } => {
            let dataset = DatasetRef::parse(dataset);
            let infos = client
                .versions(context::current(), dataset)
                .await
                .into_service("datasets")?;
            if json {
                return output::print_json(&infos);
            }
            println!("{}", output::datasets_table(&infos));
            Ok(())
        }
        DatasetsCommand::Update(args) => update(&client, place, args, json).await,
        DatasetsCommand::Delete { dataset } => {
            let dataset = DatasetRef::parse(dataset);
            let deleted = client
                .delete(context::current(), dataset)
                .await
                .into_service("datasets")?;
            if json {
                return output::print_json(&deleted);
            }
            println!(
                "deleted dataset {} `{}` ({} versions)",
                deleted.id, deleted.name, deleted.versions
            );
            Ok(())
        }
    }
}

/// Where the datasets service reads a file from, seen from this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SourcePlace {
    /// The service runs in this process: a path is read where it is.
    Here,
    /// The service runs on another node: a local file is sent as an upload.
    Remote,
}

impl SourcePlace {
    /// Where `node` reaches its datasets service.
    pub(super) fn of(node: &Node) -> Self {
        if node.config().remote(ServiceName::Datasets).is_some() {
            SourcePlace::Remote
        } else {
            SourcePlace::Here
        }
    }
}

/// The source a CLI locator names, and the dataset name it defaults to. A file path, when
/// the datasets service runs on another node, is read here and sent as an upload (a path
/// would name the service's disk).
///
/// # Errors
/// An unknown built-in; a local file that cannot be read or uploaded (naming the path).
pub(super) async fn source_for(
    client: &DatasetsClient,
    place: SourcePlace,
    locator: &str,
) -> Result<(Source, String), CliError> {
    let source = Source::parse_locator(locator)?;
    let name = source.default_name();
    match source {
        Source::File { path } if place == SourcePlace::Remote => {
            let uploaded = upload_file(client, &path, DEFAULT_CHUNK_BYTES).await?;
            Ok((uploaded, name))
        }
        other => Ok((other, name)),
    }
}

/// Drops an upload an import or update did not consume (best effort: an abandoned upload
/// also expires on the service).
pub(super) async fn discard(client: &DatasetsClient, source: &Source) {
    if let Source::Upload { id } = source {
        let _ = client.abort_upload(context::current(), *id).await;
    }
}

async fn import(
    client: &DatasetsClient,
    place: SourcePlace,
    args: &ImportArgs,
    json: bool,
) -> Result<(), CliError> {
    let (source, default_name) = source_for(client, place, &args.source).await?;
    let result = import_from(client, source.clone(), default_name, args, json).await;
    if result.is_err() {
        discard(client, &source).await;
    }
    result
}

async fn import_from(
    client: &DatasetsClient,
    source: Source,
    default_name: String,
    args: &ImportArgs,
    json: bool,
) -> Result<(), CliError> {
    let request = ImportRequest {
        source: source.clone(),
        name: args.name.clone(),
        target: args.target.clone(),
        csv: args.csv.options()?,
    };
    let name = request.name.clone().unwrap_or(default_name);
    let imported = client
        .import(long_call(), request)
        .await
        .into_service("datasets");
    let info = match imported {
        Ok(info) => info,
        Err(error)
            if error.kind == ErrorKind::AlreadyExists && args.if_exists != IfExists::Error =>
        {
            let dataset = DatasetRef::Name(name);
            match args.if_exists {
                IfExists::Keep => {
                    discard(client, &source).await;
                    return show(client, dataset, None, 5, json).await;
                }
                _ => {
                    let request = UpdateRequest {
                        dataset,
                        source,
                        mode: UpdateMode::Replace,
                        target: args.target.clone(),
                        csv: args.csv.options()?,
                    };
                    client
                        .update(long_call(), request)
                        .await
                        .into_service("datasets")?
                }
            }
        }
        Err(error) => return Err(error.into()),
    };
    show(client, DatasetRef::Id(info.id), Some(info.version), 5, json).await
}

async fn update(
    client: &DatasetsClient,
    place: SourcePlace,
    args: &UpdateArgs,
    json: bool,
) -> Result<(), CliError> {
    let (source, _) = source_for(client, place, &args.source).await?;
    let updated = update_from(client, source.clone(), args, json).await;
    if updated.is_err() {
        discard(client, &source).await;
    }
    updated
}

async fn update_from(
    client: &DatasetsClient,
    source: Source,
    args: &UpdateArgs,
    json: bool,
) -> Result<(), CliError> {
    let request = UpdateRequest {
        dataset: DatasetRef::parse(&args.dataset),
        source,
        mode: if args.replace {
            UpdateMode::Replace
        } else {
            UpdateMode::Append
        },
        target: args.target.clone(),
        csv: args.csv.options()?,
    };
    let info = client
        .update(long_call(), request)
        .await
        .into_service("datasets")?;
    show(client, DatasetRef::Id(info.id), Some(info.version), 5, json).await
}

async fn show(
    client: &DatasetsClient,
    dataset: DatasetRef,
    version: Option<u32>,
    head: u64,
    json: bool,
) -> Result<(), CliError> {
    let description = client
        .describe(context::current(), dataset.clone(), version)
        .await
        .into_service("datasets")?;
    if json {
        return output::print_json(&description);
    }
    println!("{}", output::headline(&description.info));
    println!("{}", output::description_table(&description));
    if head > 0 {
        let request = GetRequest {
            dataset: DatasetRef::Id(description.info.id),
            version: Some(description.info.version),
            offset: 0,
            limit: Some(head),
            columns: None,
        };
        let page = client
            .get(context::current(), request)
            .await
            .into_service("datasets")?;
        println!("first {} rows:", page.frame.rows());
        println!("{}", output::rows_table(&page));
    }
    Ok(())
}
