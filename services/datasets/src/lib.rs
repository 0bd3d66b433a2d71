//! The mltools datasets service: import, store, version, read and describe tabular
//! datasets.
//!
//! Datasets come from CSV files, CSV bytes, HTTP(S) downloads or the built-in sets; they
//! are stored column by column in one embedded, crash-safe SQLite database, and every
//! update makes a new version that shares the unchanged data with the old one.
//!
//! | module | what it holds |
//! |---|---|
//! | [`DatasetsState`] (`state`) | the state handle: async operations, usable without RPC; `close` and `idle` for shutdown |
//! | [`DatasetsServer`] (`server`) | the [`Datasets`](mltools_core::datasets::Datasets) tarpc interface over the state |
//! | [`DatasetsConfig`] (`config`) | the `[datasets]` settings |
//! | [`DatasetsError`] (`error`) | every failure, naming its culprit, and its [`ServiceError`](mltools_core::ServiceError) kind |
//! | `gate` | admission of blocking work (write and read limits) and tracking of it until it ends |
//! | `cancel`, `incident` | a caller's cancellation seen from blocking work; internal failures logged under a number |
//! | `fetchers` | where rows come from: `csv` (two streaming passes), `blank_lines`, `http`, `builtin`; `redact`; `roots` (files only under `import_roots`) |
//! | `store` | the database: `schema` (migrations), `catalog` (datasets, versions), `chunks`, `pool` (readers) |
//! | `layout`, `stats` | pure rules: names, schema inference, append mapping; mergeable statistics |
//! | `operations` | the synchronous operations the state runs on blocking threads |
//! | `uploads` | a caller's file arriving in chunks, kept in `data_dir/uploads/` until an import commits it |
//!
//! # Limits, cancellation and shutdown
//!
//! Blocking work is bounded: at most `max_concurrent_writes` imports, updates and deletes
//! run at once (one more is refused at once as `Overloaded`; SQLite has a single writer),
//! and reads share `max_read_connections` connections. A download is bounded by
//! `http_timeout_ms` per phase and `http_total_timeout_ms` in all, and by
//! `max_download_bytes`. When a caller stops waiting (tarpc drops a handler at its
//! deadline), its work stops at its next check and stores nothing, unless its commit has
//! already started. At shutdown, [`DatasetsState::close`] refuses new work and
//! [`DatasetsState::idle`] waits for the work still running.
//!
//! # Files and uploads
//!
//! A `Source::File` names a file on this service's machine. With `import_roots` set, it is
//! read only when its path, symlinks resolved, lies under one of the roots (checked again
//! on the opened file); a node that listens for other nodes reads none unless roots are
//! configured. A caller's own file travels as an upload instead: `begin_upload`, chunks of
//! at most 16 MiB through `append_upload`, then an import or update of
//! `Source::Upload { id }`, which consumes the upload when it commits (a failed one leaves
//! it for another try). At most `max_open_uploads` are open at once, each at most
//! `max_upload_bytes`; one untouched for `upload_idle_timeout_ms` is removed.
//!
//! # CSV
//!
//! The first line is the header; the delimiter is detected among `,` `;` tab `|` unless
//! given. Fields are trimmed; an empty field and the tokens of
//! [`MISSING_TOKENS`](mltools_core::datasets::MISSING_TOKENS) are missing values. Empty
//! lines are skipped (as pandas does), except in a file of one column, where an empty line
//! between two rows is a row with a missing value (`y\n1\n\n3\n` has three rows); empty
//! lines at the end of a file are always skipped.
//!
//! A URL is stored (as a version's `source`) and logged without its credentials and query
//! string: `https://user:key@host/data.csv?token=…` becomes `https://host/data.csv`.
//!
//! # Built-in sets
//!
//! `builtin:NAME` imports one of smartcore's sets; its features keep smartcore's names
//! (digits, which ships wrong ones, gets `x0`..`x63`) and a last column is the target,
//! set in the schema:
//!
//! | set | rows × features | target column |
//! |---|---|---|
//! | `iris` | 150 × 4 | `species`: categorical `setosa`, `versicolor`, `virginica` |
//! | `breast_cancer` | 569 × 30 | `diagnosis`: categorical `malignant`, `benign` |
//! | `diabetes` | 442 × 10 | `progression`: numeric |
//! | `digits` | 1797 × 64 | `digit`: categorical `0`..`9` |
//! | `boston` | 506 × 13 | `price`: numeric |
//!
//! # Example
//!
//! ```no_run
//! use mltools_core::datasets::{Builtin, GetRequest, ImportRequest, Source};
//! use mltools_datasets::{DatasetsConfig, DatasetsState};
//!
//! # async fn demo() -> Result<(), mltools_datasets::DatasetsError> {
//! let state = DatasetsState::open(DatasetsConfig::with_data_dir("/tmp/mltools"))?;
//! let iris = state
//!     .import(ImportRequest::new(Source::Builtin { name: Builtin::Iris }))
//!     .await?;
//! assert_eq!((iris.rows, iris.schema.target.as_deref()), (150, Some("species")));
//! let page = state.get(GetRequest::all(iris.id)).await?;
//! assert_eq!(page.frame.columns.len(), 5);
//! // At shutdown: refuse new work, wait for the work in flight.
//! state.close();
//! state.idle().await;
//! # Ok(())
//! # }
//! ```

mod blocks;
mod cancel;
mod config;
mod error;
mod fetchers;
mod gate;
mod incident;
mod layout;
mod leftovers;
mod operations;
mod server;
mod state;
mod stats;
mod store;
mod uploads;

pub use config::DatasetsConfig;
pub use error::DatasetsError;
pub use server::DatasetsServer;
pub use state::DatasetsState;
