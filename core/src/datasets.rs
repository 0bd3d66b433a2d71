//! The datasets service's interface: import, store, list, read, update, describe, delete.
//!
//! A dataset is a named table with a schema (numeric and categorical columns, an optional
//! target column). Every update makes a new version; older versions stay readable by
//! number until the dataset is deleted.

use crate::ServiceError;
use crate::frame::{ColumnKind, Frame};
use crate::ids::{DatasetId, DatasetRef};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The datasets service.
#[tarpc::service]
pub trait Datasets {
    /// Imports a new dataset from a file, bytes, a URL or a built-in set; stores it as
    /// version 1.
    async fn import(request: ImportRequest) -> Result<DatasetInfo, ServiceError>;
    /// Every stored dataset, at its latest version, ordered by id.
    async fn list() -> Result<Vec<DatasetInfo>, ServiceError>;
    /// The versions of one dataset, oldest first.
    async fn versions(dataset: DatasetRef) -> Result<Vec<DatasetInfo>, ServiceError>;
    /// Schema and data (all rows, or a page of them) of a dataset version.
    async fn get(request: GetRequest) -> Result<DatasetPage, ServiceError>;
    /// Per-column statistics of a dataset version.
    async fn describe(
        dataset: DatasetRef,
        version: Option<u32>,
    ) -> Result<Description, ServiceError>;
    /// Appends rows to, or replaces, a dataset's data: a new version.
    async fn update(request: UpdateRequest) -> Result<DatasetInfo, ServiceError>;
    /// Deletes a dataset with all its versions.
    async fn delete(dataset: DatasetRef) -> Result<Deleted, ServiceError>;
    /// Starts an upload of a caller's file: its bytes follow in [`Datasets::append_upload`]
    /// calls, and an import or update with [`Source::Upload`] commits it. Nothing is visible
    /// before the commit.
    async fn begin_upload(request: BeginUpload) -> Result<UploadId, ServiceError>;
    /// Appends bytes to an upload at `offset` (the bytes received so far); answers the
    /// bytes received after it.
    async fn append_upload(request: AppendUpload) -> Result<u64, ServiceError>;
    /// Drops an upload and its bytes.
    async fn abort_upload(upload: UploadId) -> Result<(), ServiceError>;
}

/// The largest chunk one [`Datasets::append_upload`] call may carry: 16 MiB. (It must also
/// fit the transport's frame limit, 64 MiB by default.)
pub const MAX_UPLOAD_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// An upload's id: 128 random bits, so that one caller cannot guess (and append to, commit
/// or abort) another's upload. Shown as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadId(pub [u8; 16]);

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// A request to start an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BeginUpload {
    /// A label for messages and the dataset's default name: the file's name, say. At most
    /// 255 bytes, no control characters.
    pub label: String,
    /// The upload's size in bytes, when known: an upload larger than the service accepts is
    /// refused at once, appends beyond it are refused, and the commit checks that every
    /// byte arrived.
    pub size: Option<u64>,
}

/// A chunk of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppendUpload {
    /// The upload.
    pub upload: UploadId,
    /// Where the chunk starts: the bytes received so far. The same chunk sent again at the
    /// same offset (a retry) is accepted once; a gap or an overlap is refused.
    pub offset: u64,
    /// The bytes; at most [`MAX_UPLOAD_CHUNK_BYTES`].
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Where the rows of an import or update come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Source {
    /// A CSV file on the service's machine.
    File {
        /// The file's path.
        path: String,
    },
    /// CSV bytes sent by the caller.
    Bytes {
        /// A label for messages and the dataset's default name (a file name, say).
        label: String,
        /// The CSV text.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// A CSV fetched over HTTP(S).
    Url {
        /// The `http://` or `https://` URL.
        url: String,
    },
    /// One of the sets shipped with mltools.
    Builtin {
        /// Which one.
        name: Builtin,
    },
    /// The bytes of a finished upload ([`Datasets::begin_upload`]); an import or update that
    /// succeeds consumes the upload, one that fails leaves it for another try (or an
    /// [`Datasets::abort_upload`]). Messages name the upload's label as the file.
    Upload {
        /// The upload.
        id: UploadId,
    },
}

impl Source {
    /// Parses a locator as the CLI takes it: `builtin:NAME`, an `http(s)://` URL, or a path.
    ///
    /// # Errors
    /// An unknown built-in name.
    pub fn parse_locator(locator: &str) -> Result<Source, ServiceError> {
        if let Some(name) = locator.strip_prefix("builtin:") {
            return Ok(Source::Builtin {
                name: name.parse()?,
            });
        }
        if locator.starts_with("http://") || locator.starts_with("https://") {
            return Ok(Source::Url {
                url: locator.to_owned(),
            });
        }
        Ok(Source::File {
            path: locator.to_owned(),
        })
    }

    /// The name a dataset imported from this source gets when none is given: the file
    /// stem, the last URL path segment, or the built-in's name. For an upload, the service
    /// uses the stem of the upload's label instead of the `upload-ID` answered here.
    pub fn default_name(&self) -> String {
        fn stem(text: &str) -> String {
            let last = text
                .rsplit(['/', '\\'])
                .find(|part| !part.is_empty())
                .unwrap_or(text);
            let last = last.split(['?', '#']).next().unwrap_or(last);
            last.strip_suffix(".csv")
                .or_else(|| last.strip_suffix(".tsv"))
                .or_else(|| last.strip_suffix(".txt"))
                .unwrap_or(last)
                .to_owned()
        }
        match self {
            Source::File { path } => stem(path),
            Source::Bytes { label, .. } => stem(label),
            Source::Url { url } => stem(url.split("://").nth(1).unwrap_or(url)),
            Source::Builtin { name } => name.as_str().to_owned(),
            Source::Upload { id } => format!("upload-{id}"),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File { path } => write!(f, "{path}"),
            Source::Bytes { label, data } => write!(f, "{label} ({} bytes)", data.len()),
            Source::Url { url } => write!(f, "{url}"),
            Source::Builtin { name } => write!(f, "builtin:{}", name.as_str()),
            Source::Upload { id } => write!(f, "upload {id}"),
        }
    }
}

/// The built-in datasets (shipped by smartcore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// Fisher's iris: 150 × 4, three species (classification).
    Iris,
    /// Wisconsin breast cancer: 569 × 30, malignant or benign (classification).
    BreastCancer,
    /// Diabetes progression: 442 × 10, standardised (regression).
    Diabetes,
    /// Handwritten digits: 1797 × 64, ten classes (classification).
    Digits,
    /// Boston house prices: 506 × 13 (regression).
    Boston,
}

impl Builtin {
    /// Every built-in set.
    pub const ALL: [Builtin; 5] = [
        Builtin::Iris,
        Builtin::BreastCancer,
        Builtin::Diabetes,
        Builtin::Digits,
        Builtin::Boston,
    ];

    /// The name used in `builtin:NAME`.
    pub fn as_str(self) -> &'static str {
        match self {
            Builtin::Iris => "iris",
            Builtin::BreastCancer => "breast_cancer",
            Builtin::Diabetes => "diabetes",
            Builtin::Digits => "digits",
            Builtin::Boston => "boston",
        }
    }
}

impl std::str::FromStr for Builtin {
    type Err = ServiceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Builtin::ALL
            .into_iter()
            .find(|builtin| builtin.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Builtin::ALL.iter().map(|b| b.as_str()).collect();
                ServiceError::invalid_input(format!(
                    "unknown built-in dataset `{s}`; known: {}",
                    known.join(", ")
                ))
            })
    }
}

/// How CSV text is read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CsvOptions {
    /// The field delimiter; `None` detects it from the header line among `,` `;` tab `|`.
    pub delimiter: Option<u8>,
    /// Columns to read as categorical even when every value is a number (codes, zip codes).
    pub categorical: Vec<String>,
}

/// The delimiters detection chooses among, in order of preference on a tie.
pub const DELIMITER_CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The delimiter of a CSV header line: the candidate of [`DELIMITER_CANDIDATES`] occurring
/// most often outside quotes (the first on a tie); `,` when none occurs (one column).
///
/// ```
/// use mltools_core::datasets::detect_delimiter;
///
/// assert_eq!(detect_delimiter(b"a;b;\"c,d\""), b';');
/// assert_eq!(detect_delimiter(b"alone"), b',');
/// ```
pub fn detect_delimiter(header_line: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITER_CANDIDATES.len()];
    let mut quoted = false;
    for &byte in header_line {
        if byte == b'"' {
            // A doubled quote inside a quoted field toggles twice: no net change.
            quoted = !quoted;
        } else if !quoted && let Some(slot) = DELIMITER_CANDIDATES.iter().position(|&c| c == byte) {
            counts[slot] += 1;
        }
    }
    let mut best = 0;
    for slot in 1..DELIMITER_CANDIDATES.len() {
        if counts[slot] > counts[best] {
            best = slot;
        }
    }
    DELIMITER_CANDIDATES[best]
}

/// The text values read as missing (compared after trimming, case-sensitively), besides
/// the empty field.
pub const MISSING_TOKENS: [&str; 6] = ["NA", "N/A", "NaN", "nan", "null", "NULL"];

/// A request to import a new dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRequest {
    /// Where the rows come from.
    pub source: Source,
    /// The dataset's name; defaults to [`Source::default_name`]. Unique; not digits only.
    pub name: Option<String>,
    /// The target column, if the dataset has one (built-in sets name theirs).
    pub target: Option<String>,
    /// How CSV text is read.
    pub csv: CsvOptions,
}

impl ImportRequest {
    /// A request with default options.
    pub fn new(source: Source) -> Self {
        ImportRequest {
            source,
            name: None,
            target: None,
            csv: CsvOptions::default(),
        }
    }

    /// Sets the dataset's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the target column.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// How an update changes the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum UpdateMode {
    /// Add the new rows after the current ones; the columns must match by name.
    Append,
    /// Replace every row (and the schema) with the new data.
    Replace,
}

/// A request to make a new version of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateRequest {
    /// The dataset to update.
    pub dataset: DatasetRef,
    /// Where the new rows come from.
    pub source: Source,
    /// Append or replace.
    pub mode: UpdateMode,
    /// For [`UpdateMode::Replace`], the new target column (the old one is kept when it still
    /// exists and none is given).
    pub target: Option<String>,
    /// How CSV text is read.
    pub csv: CsvOptions,
}

/// One column's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnSchema {
    /// The column's name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: ColumnKind,
}

/// A dataset version's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schema {
    /// The columns, in table order.
    pub columns: Vec<ColumnSchema>,
    /// The target column's name, if any.
    pub target: Option<String>,
}

/// What the service knows of one dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetInfo {
    /// The dataset's id.
    pub id: DatasetId,
    /// The dataset's name.
    pub name: String,
    /// This version's number (1 for the import).
    pub version: u32,
    /// The latest version's number.
    pub latest_version: u32,
    /// Rows in this version.
    pub rows: u64,
    /// The schema of this version.
    pub schema: Schema,
    /// Where this version's rows came from.
    pub source: String,
    /// When this version was written, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// Which rows and columns of a dataset version to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GetRequest {
    /// The dataset.
    pub dataset: DatasetRef,
    /// The version; the latest when `None`.
    pub version: Option<u32>,
    /// The first row to read (0-based).
    pub offset: u64,
    /// At most this many rows; every row from `offset` when `None`.
    pub limit: Option<u64>,
    /// Only these columns, in this order; all when `None`.
    pub columns: Option<Vec<String>>,
}

impl GetRequest {
    /// Every row and column of the latest version.
    pub fn all(dataset: impl Into<DatasetRef>) -> Self {
        GetRequest {
            dataset: dataset.into(),
            version: None,
            offset: 0,
            limit: None,
            columns: None,
        }
    }
}

/// Rows of a dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetPage {
    /// The version read.
    pub info: DatasetInfo,
    /// The index of the page's first row in the version.
    pub offset: u64,
    /// The rows, as columns.
    pub frame: Frame,
}

/// Statistics of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnSummary {
    /// The column's name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: ColumnKind,
    /// Missing values.
    pub missing: u64,
    /// Numeric statistics (`None` for a categorical column).
    pub numeric: Option<NumericSummary>,
    /// Categorical statistics (`None` for a numeric column).
    pub categorical: Option<CategoricalSummary>,
}

/// Statistics of a numeric column's present values. All `NaN` when every value is missing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NumericSummary {
    /// The mean.
    pub mean: f64,
    /// The sample standard deviation (n − 1 in the denominator, as pandas).
    pub std: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

/// Statistics of a categorical column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoricalSummary {
    /// Distinct present values.
    pub distinct: u64,
    /// The most frequent value and its count (`None` when every value is missing).
    pub top: Option<(String, u64)>,
}

/// A dataset version's description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Description {
    /// The version described.
    pub info: DatasetInfo,
    /// One summary per column, in table order.
    pub columns: Vec<ColumnSummary>,
}

/// What a delete removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    /// The deleted dataset's id.
    pub id: DatasetId,
    /// Its name.
    pub name: String,
    /// How many versions were removed.
    pub versions: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_parse() {
        assert_eq!(
            Source::parse_locator("builtin:breast_cancer").unwrap(),
            Source::Builtin {
                name: Builtin::BreastCancer
            }
        );
        assert!(matches!(
            Source::parse_locator("https://example.org/a.csv").unwrap(),
            Source::Url { .. }
        ));
        let error = Source::parse_locator("builtin:nope").unwrap_err();
        assert!(error.message.contains("`nope`"));
        assert!(error.message.contains("iris"));
    }

    #[test]
    fn default_names() {
        let name = |s: &str| Source::parse_locator(s).unwrap().default_name();
        assert_eq!(name("data/houses.csv"), "houses");
        assert_eq!(name("http://host:80/x/sales.csv?token=1"), "sales");
        assert_eq!(name("builtin:iris"), "iris");
    }

    #[test]
    fn upload_ids_show_as_hex() {
        let mut bytes = [0u8; 16];
        bytes[0] = 0xab;
        bytes[15] = 0x01;
        let id = UploadId(bytes);
        assert_eq!(id.to_string(), "ab000000000000000000000000000001");
        assert_eq!(
            Source::Upload { id }.to_string(),
            "upload ab000000000000000000000000000001"
        );
    }
}
