//! [`DatasetsError`], the error of every datasets operation, and its mapping onto the
//! interface's [`ServiceError`].

use mltools_core::{ErrorKind, ServiceError};

/// What went wrong in a datasets operation; each message names the culprit.
///
/// `file` fields hold the source's label: the path, the URL, the label given with the bytes,
/// or `builtin:NAME`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetsError {
    /// A configuration value is out of range.
    #[error("datasets config: `{field}`: {reason}")]
    BadConfig {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The source has no header row.
    #[error("{file}: the file is empty (a header row is required)")]
    EmptyFile {
        /// The source.
        file: String,
    },
    /// The source has a header row and no data rows.
    #[error("{file}: no data rows after the header")]
    NoRows {
        /// The source.
        file: String,
    },
    /// A header names a column more than once.
    #[error("{file}: duplicate column names: {names}")]
    DuplicateColumns {
        /// The source.
        file: String,
        /// The repeated names, quoted and comma-separated.
        names: String,
    },
    /// A header field is empty.
    #[error("{file}: column {position} has an empty name")]
    EmptyColumnName {
        /// The source.
        file: String,
        /// The column's 1-based position.
        position: usize,
    },
    /// A row has more or fewer fields than the header.
    #[error("{file}: line {line}: expected {expected} fields, got {got}")]
    RaggedRow {
        /// The source.
        file: String,
        /// The row's 1-based line number.
        line: u64,
        /// The header's field count.
        expected: usize,
        /// The row's field count.
        got: usize,
    },
    /// A field is not valid UTF-8.
    #[error("{file}: line {line}, column {position}{}: invalid UTF-8", named(.column))]
    InvalidUtf8 {
        /// The source.
        file: String,
        /// The 1-based line number.
        line: u64,
        /// The column's 1-based position.
        position: usize,
        /// The column's name (empty for a header field).
        column: String,
    },
    /// A CSV record is longer than `max_record_bytes`.
    #[error(
        "{file}: line {line}: the record is longer than {limit} bytes \
         (the limit, [datasets] max_record_bytes)"
    )]
    RecordTooLong {
        /// The source.
        file: String,
        /// The 1-based line the record starts on.
        line: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A CSV record has more fields than `max_columns`.
    #[error(
        "{file}: line {line}: {} fields, over the limit of {limit} ([datasets] max_columns)",
        crate::fetchers::field_count(*.count, *.whole)
    )]
    TooManyFields {
        /// The source.
        file: String,
        /// The 1-based line the record starts on.
        line: u64,
        /// The fields counted: all of them if `whole`, else those within
        /// `max_record_bytes`.
        count: usize,
        /// Whether `count` is the record's whole field count.
        whole: bool,
        /// The configured limit.
        limit: usize,
    },
    /// A field holds a NUL byte, or a column name a control character: binary data, not
    /// CSV text.
    #[error(
        "{file}: line {line}, column {position}{}: control character {code:#04x} \
         (binary data is not CSV text)",
        named(.column)
    )]
    ControlCharacter {
        /// The source.
        file: String,
        /// The 1-based line number.
        line: u64,
        /// The column's 1-based position.
        position: usize,
        /// The column's name (empty for a header field).
        column: String,
        /// The character.
        code: u8,
    },
    /// The CSV text cannot be read (an unterminated quote, an I/O error).
    #[error("{file}: {reason}")]
    BadCsv {
        /// The source.
        file: String,
        /// What the reader reported.
        reason: String,
    },
    /// The CSV options are not usable.
    #[error("bad CSV options: {reason}")]
    BadCsvOptions {
        /// What is wrong.
        reason: String,
    },
    /// The target column is not in the data.
    #[error("{file}: unknown target column `{target}`; the columns are: {columns}")]
    UnknownTarget {
        /// The source.
        file: String,
        /// The requested target.
        target: String,
        /// The available columns, comma-separated.
        columns: String,
    },
    /// A column listed as categorical is not in the data.
    #[error("{file}: unknown categorical column `{column}`; the columns are: {columns}")]
    UnknownCategorical {
        /// The source.
        file: String,
        /// The listed column.
        column: String,
        /// The available columns, comma-separated.
        columns: String,
    },
    /// An option of the request does not apply to an append (it would be ignored).
    #[error("`{option}` applies only to an import or a replace, not to an append")]
    NotForAppend {
        /// The option (`target`, `csv.categorical`).
        option: &'static str,
    },
    /// A read asks for the same column twice.
    #[error("column `{column}` is asked for more than once")]
    RepeatedColumn {
        /// The repeated name.
        column: String,
    },
    /// A column asked for by a read is not in the version.
    #[error("{dataset} version {version} has no column `{column}`; the columns are: {columns}")]
    UnknownColumn {
        /// The dataset, as displayed by `DatasetRef`.
        dataset: String,
        /// The version read.
        version: u32,
        /// The requested column.
        column: String,
        /// The available columns, comma-separated.
        columns: String,
    },
    /// A `get` asks for a page larger than `max_page_bytes`; refused before anything is
    /// read.
    #[error(
        "{dataset} version {version}: a page of {rows} rows of the columns asked for is about \
         {bytes} bytes, over the limit of {limit} ([datasets] max_page_bytes); at most {fit} \
         rows fit in a page: read in pages with `offset` and `limit` (or ask for fewer columns)"
    )]
    PageTooLarge {
        /// The dataset, as displayed by `DatasetRef`.
        dataset: String,
        /// The version read.
        version: u32,
        /// The rows asked for.
        rows: u64,
        /// The page's estimated size.
        bytes: u64,
        /// The configured limit.
        limit: u64,
        /// The most rows of these columns a page may hold.
        fit: u64,
    },
    /// Appended rows do not have the dataset's columns.
    #[error("{file}: the columns do not match {dataset}: missing {missing}; unexpected {extra}")]
    ColumnMismatch {
        /// The source.
        file: String,
        /// The dataset.
        dataset: String,
        /// Columns of the dataset absent from the source (or `none`).
        missing: String,
        /// Columns of the source absent from the dataset (or `none`).
        extra: String,
    },
    /// An appended value is not a number in a numeric column.
    #[error(
        "{file}: line {line}, column `{column}`: `{value}` is not a number, and the column is numeric"
    )]
    NotANumber {
        /// The source.
        file: String,
        /// The 1-based line number.
        line: u64,
        /// The column's name.
        column: String,
        /// The offending text.
        value: String,
    },
    /// A dataset name breaks the naming rules.
    #[error("bad dataset name `{name}`: {reason}")]
    BadName {
        /// The name (control characters escaped).
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A local source file does not exist.
    #[error("file `{path}` does not exist")]
    FileNotFound {
        /// The path as given.
        path: String,
    },
    /// A local source path cannot be read: permission denied, a directory, a path through
    /// a file.
    #[error("file `{path}` cannot be read: {reason}")]
    Unreadable {
        /// The path as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// A `Source::File` path is not under one of the configured `import_roots` (or none is
    /// configured on a node that listens for other nodes).
    #[error(
        "file `{path}` is not under an import root of this node ({roots}): \
         send the file as an upload (the mltools CLI uploads local files to a remote \
         datasets node), or configure its directory in `[datasets] import_roots`"
    )]
    OutsideRoots {
        /// The path as given.
        path: String,
        /// The roots, or what stands for them (`none configured`).
        roots: String,
    },
    /// No upload has this id: it never existed, was committed or aborted, or expired.
    #[error(
        "upload {upload} does not exist (it was committed, aborted, or removed after \
         {idle_timeout_ms} ms without an append)"
    )]
    UnknownUpload {
        /// The upload's id.
        upload: String,
        /// The configured `upload_idle_timeout_ms`.
        idle_timeout_ms: u64,
    },
    /// A chunk does not start where the upload's received bytes end.
    #[error(
        "upload {upload} ({label}): a chunk at offset {offset}, but {received} bytes were \
         received: the next chunk must start at offset {received}"
    )]
    UploadOffset {
        /// The upload's id.
        upload: String,
        /// The upload's label.
        label: String,
        /// The chunk's offset.
        offset: u64,
        /// The bytes received so far.
        received: u64,
    },
    /// An upload would grow beyond its declared size or the configured limit, or a chunk
    /// is too large.
    #[error("upload {upload} ({label}): {reason}")]
    UploadTooLarge {
        /// The upload's id.
        upload: String,
        /// The upload's label.
        label: String,
        /// Which limit, and by how much.
        reason: String,
    },
    /// An upload declares a size over `max_upload_bytes`: refused before it begins.
    #[error(
        "{label}: an upload of {size} bytes exceeds the limit of {limit} bytes \
         (`max_upload_bytes`)"
    )]
    UploadRefused {
        /// The upload's label.
        label: String,
        /// The declared size.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// An upload cannot be used for what was asked: incomplete, busy with another call.
    #[error("upload {upload} ({label}): {reason}")]
    UploadNotReady {
        /// The upload's id.
        upload: String,
        /// The upload's label.
        label: String,
        /// Why.
        reason: String,
    },
    /// Another call is appending to, or importing, the upload right now.
    #[error("upload {upload} ({label}): {reason}; retry when it has finished")]
    UploadBusy {
        /// The upload's id.
        upload: String,
        /// The upload's label.
        label: String,
        /// What the other call is doing.
        reason: &'static str,
    },
    /// An upload's label is unusable.
    #[error("bad upload label `{label}`: {reason}")]
    BadUploadLabel {
        /// The label (control characters escaped, cut at 60 characters).
        label: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// As many uploads as `max_open_uploads` allows are open.
    #[error(
        "the limit of {limit} open uploads (`max_open_uploads`) is reached; commit or abort \
         one, or retry once an abandoned one expires (after {idle_timeout_ms} ms idle)"
    )]
    TooManyUploads {
        /// The configured limit.
        limit: usize,
        /// The configured `upload_idle_timeout_ms`.
        idle_timeout_ms: u64,
    },
    /// No dataset has this id or name.
    #[error("{dataset} does not exist")]
    UnknownDataset {
        /// The dataset, as displayed by `DatasetRef` (`dataset 7`, ``dataset `houses` ``).
        dataset: String,
    },
    /// The dataset has no such version.
    #[error("dataset `{name}` (id {id}) has no version {version}; the latest is {latest}")]
    UnknownVersion {
        /// The dataset's id.
        id: u64,
        /// The dataset's name.
        name: String,
        /// The requested version.
        version: u32,
        /// The latest version.
        latest: u32,
    },
    /// A dataset with this name exists already.
    #[error("a dataset named `{name}` already exists (id {id})")]
    DuplicateName {
        /// The name.
        name: String,
        /// The existing dataset's id.
        id: u64,
    },
    /// The URL is not a usable `http(s)://` URL.
    #[error("{url}: bad URL: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL, or a redirect, leads to an address that is not public.
    #[error(
        "{url}: {host} resolves to {address}, {class}; set [datasets] allow_private_urls = true \
         (or list its network in url_allow_networks) to allow"
    )]
    PrivateAddress {
        /// The URL asked for (redacted).
        url: String,
        /// The host that resolved to the address: the URL's, or a redirect's.
        host: String,
        /// The refused address.
        address: String,
        /// What kind of address it is, with its article ("a loopback address").
        class: &'static str,
    },
    /// The server answered with a non-2xx status.
    #[error("{url}: the server answered HTTP status {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The server could not be reached (DNS, connection refused, TLS, reset).
    #[error("{url}: cannot download: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The cause.
        reason: String,
    },
    /// The server did not answer in time.
    #[error("{url}: no answer within {timeout_ms} ms")]
    HttpTimeout {
        /// The URL.
        url: String,
        /// The configured timeout.
        timeout_ms: u64,
    },
    /// The download did not finish within `http_total_timeout_ms`.
    #[error("{url}: the download did not finish within {timeout_ms} ms")]
    DownloadTimeout {
        /// The URL.
        url: String,
        /// The configured total timeout.
        timeout_ms: u64,
    },
    /// The download is larger than `max_download_bytes`.
    #[error("{url}: the download exceeds the limit of {limit} bytes")]
    DownloadTooLarge {
        /// The URL.
        url: String,
        /// The configured limit.
        limit: u64,
    },
    /// A file-system operation failed.
    #[error("{path}: {operation}: {cause}")]
    Io {
        /// The file or directory.
        path: String,
        /// What was being done (`create directory`, `read`, `write download`).
        operation: &'static str,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// Stored data does not decode (a bug or a damaged file).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// Another process holds the database's write lock for longer than the busy timeout.
    #[error("the database in {dir} is busy: another process is writing")]
    Busy {
        /// The data directory.
        dir: String,
    },
    /// As many writes as `max_concurrent_writes` allows are running.
    #[error(
        "the limit of {limit} concurrent writes (imports, updates, deletes; \
         `max_concurrent_writes`) is reached; retry when one has finished"
    )]
    TooManyWrites {
        /// The configured limit.
        limit: usize,
    },
    /// Every read connection stayed busy for the whole wait.
    #[error(
        "all {limit} read connections (`max_read_connections`) stayed busy for {waited_ms} ms; \
         retry later"
    )]
    ReadersBusy {
        /// The configured limit.
        limit: usize,
        /// How long the read waited.
        waited_ms: u64,
    },
    /// [`DatasetsState::close`](crate::DatasetsState::close) was called: no new work starts.
    #[error("the datasets service is shutting down")]
    ShuttingDown,
    /// An internal failure (the database, the disk, damaged data); the service log has the
    /// cause under the incident number.
    #[error("`{operation}` failed (incident {incident}; see the datasets service log)")]
    Internal {
        /// The operation (`import`, `get`, ...).
        operation: &'static str,
        /// The number logged with the cause.
        incident: u64,
    },
    /// The work panicked; the service log has the details under the incident number.
    #[error(
        "`{operation}` failed unexpectedly (incident {incident}; see the datasets service log)"
    )]
    Panicked {
        /// The operation (`import`, `get`, ...).
        operation: &'static str,
        /// The number logged with the panic.
        incident: u64,
    },
    /// The caller went away (its deadline passed) before the commit started; nothing was
    /// stored.
    #[error("`{operation}` was cancelled; nothing was stored")]
    Cancelled {
        /// The operation.
        operation: &'static str,
    },
}

/// ` (`name`)` after a column position, or nothing for a header field.
fn named(column: &str) -> String {
    if column.is_empty() {
        String::new()
    } else {
        format!(" (`{column}`)")
    }
}

impl DatasetsError {
    /// What the caller can do about it.
    pub fn kind(&self) -> ErrorKind {
        use DatasetsError as E;
        match self {
            E::EmptyFile { .. }
            | E::NoRows { .. }
            | E::DuplicateColumns { .. }
            | E::EmptyColumnName { .. }
            | E::RaggedRow { .. }
            | E::InvalidUtf8 { .. }
            | E::BadCsv { .. }
            | E::RecordTooLong { .. }
            | E::TooManyFields { .. }
            | E::ControlCharacter { .. }
            | E::BadCsvOptions { .. }
            | E::UnknownTarget { .. }
            | E::UnknownCategorical { .. }
            | E::NotForAppend { .. }
            | E::RepeatedColumn { .. }
            | E::PageTooLarge { .. }
            | E::Unreadable { .. }
            | E::UnknownColumn { .. }
            | E::ColumnMismatch { .. }
            | E::NotANumber { .. }
            | E::BadName { .. }
            | E::BadUrl { .. }
            | E::PrivateAddress { .. }
            | E::DownloadTooLarge { .. }
            | E::OutsideRoots { .. }
            | E::UploadOffset { .. }
            | E::UploadTooLarge { .. }
            | E::UploadRefused { .. }
            | E::UploadNotReady { .. }
            | E::BadUploadLabel { .. } => ErrorKind::InvalidInput,
            E::UnknownUpload { .. } => ErrorKind::NotFound,
            E::FileNotFound { .. } | E::UnknownDataset { .. } | E::UnknownVersion { .. } => {
                ErrorKind::NotFound
            }
            E::HttpStatus {
                status: 404 | 410, ..
            } => ErrorKind::NotFound,
            E::HttpStatus { status, .. } if *status >= 500 || *status == 429 => {
                ErrorKind::Unavailable
            }
            E::HttpStatus { .. } => ErrorKind::InvalidInput,
            E::DuplicateName { .. } => ErrorKind::AlreadyExists,
            E::Unreachable { .. } | E::Busy { .. } | E::ShuttingDown => ErrorKind::Unavailable,
            E::TooManyWrites { .. }
            | E::ReadersBusy { .. }
            | E::TooManyUploads { .. }
            | E::UploadBusy { .. } => ErrorKind::Overloaded,
            E::HttpTimeout { .. } | E::DownloadTimeout { .. } => ErrorKind::Timeout,
            E::Cancelled { .. } => ErrorKind::Cancelled,
            E::BadConfig { .. }
            | E::Io { .. }
            | E::Database(_)
            | E::Corrupt(_)
            | E::Internal { .. }
            | E::Panicked { .. } => ErrorKind::Internal,
        }
    }
}

impl From<DatasetsError> for ServiceError {
    fn from(error: DatasetsError) -> Self {
        ServiceError::new(error.kind(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_culprit() {
        let status = |status| DatasetsError::HttpStatus {
            url: "http://h/x.csv".into(),
            status,
        };
        assert_eq!(status(404).kind(), ErrorKind::NotFound);
        assert_eq!(status(503).kind(), ErrorKind::Unavailable);
        assert_eq!(status(403).kind(), ErrorKind::InvalidInput);
        let error = ServiceError::from(DatasetsError::RaggedRow {
            file: "a.csv".into(),
            line: 7,
            expected: 4,
            got: 3,
        });
        assert_eq!(error.kind, ErrorKind::InvalidInput);
        assert_eq!(error.message, "a.csv: line 7: expected 4 fields, got 3");
    }
}
