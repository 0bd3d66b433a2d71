//! The datasets service's settings, embedded in the node's TOML file under `[datasets]`.

use crate::error::DatasetsError;
use crate::fetchers::Network;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The largest chunk a column may be cut into: 16 Mi rows, a 128 MiB blob of `f64`, well
/// under SQLite's default 1 GB blob limit.
const MAX_CHUNK_ROWS: usize = 1 << 24;

/// The most writes admitted at once: SQLite has one writer, so more would only wait.
const MAX_WRITES: usize = 64;

/// The most read connections: each holds a page cache and a file handle.
const MAX_READERS: usize = 256;

/// The bounds of `max_record_bytes`: 1 KiB to 256 MiB.
const RECORD_BYTES: std::ops::RangeInclusive<usize> = 1 << 10..=256 << 20;

/// The bounds of `max_columns`.
const COLUMNS: std::ops::RangeInclusive<usize> = 1..=1 << 20;

/// The bounds of `max_page_bytes`: 64 KiB to 4 GiB.
const PAGE_BYTES: std::ops::RangeInclusive<u64> = 64 << 10..=4 << 30;
/// The most uploads open at once: each holds a file handle and a temporary file.
const MAX_OPEN_UPLOADS: usize = 4096;

/// Settings of the datasets service.
///
/// ```toml
/// [datasets]
/// data_dir = "./.mltools"
/// http_timeout_ms = 30000
/// http_total_timeout_ms = 600000
/// max_download_bytes = 4294967296
/// chunk_rows = 65536
/// max_concurrent_writes = 2
/// max_read_connections = 8
/// allow_private_urls = false
/// url_allow_networks = []
/// max_record_bytes = 1048576
/// max_columns = 16384
/// max_page_bytes = 50331648
/// import_roots = ["/srv/data"]
/// max_upload_bytes = 4294967296
/// max_open_uploads = 16
/// upload_idle_timeout_ms = 600000
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetsConfig {
    /// The directory holding the database (`datasets.db`), temporary downloads (`tmp/`)
    /// and uploads (`uploads/`); created when missing. Default `./.mltools`.
    pub data_dir: PathBuf,
    /// How long a download may wait for the server, in milliseconds: to connect, for the
    /// response headers, and for each read of the body (a slow but steady download is not
    /// cut off). Default 30000.
    pub http_timeout_ms: u64,
    /// How long a whole download may take, in milliseconds, however steadily the bytes
    /// come. Default 600000 (10 minutes).
    pub http_total_timeout_ms: u64,
    /// The largest download accepted, in bytes. Default 4 GiB.
    pub max_download_bytes: u64,
    /// Rows per stored chunk of a column: the unit of writing, and of reading a page.
    /// Default 65536 (512 KiB of `f64`).
    pub chunk_rows: usize,
    /// Imports, updates and deletes running at once (each on a blocking thread, from its
    /// download to its commit); one more is refused at once as `Overloaded`. SQLite has a
    /// single writer, so a write beyond the first waits for the database once its parsing
    /// is done. Between 1 and 64; default 2.
    pub max_concurrent_writes: usize,
    /// Read connections to the database: reads (`list`, `versions`, `get`, `describe`)
    /// beyond this many wait for one to be free, and are refused as `Overloaded` after 10
    /// seconds. Between 1 and 256; default 8.
    pub max_read_connections: usize,
    /// Whether a URL may lead to a loopback, private, link-local (cloud metadata),
    /// carrier-grade NAT, multicast or other non-public address. Checked on the resolved
    /// addresses of the URL and of every redirect. Default `false`.
    pub allow_private_urls: bool,
    /// Networks a URL may lead to though they are not public, as CIDRs
    /// (`["10.1.2.0/24", "fd00:1::/64"]`) or single addresses. Default empty.
    pub url_allow_networks: Vec<String>,
    /// The longest CSV record (a line, or several lines of a quoted field) accepted, in
    /// bytes; a longer one is refused naming its line before it is read whole. Between
    /// 1 KiB and 256 MiB; default 1 MiB.
    pub max_record_bytes: usize,
    /// The most columns a CSV source may have. Between 1 and 1,048,576; default 16384.
    pub max_columns: usize,
    /// The largest page `get` answers, in bytes, estimated from the schema before reading
    /// (8 bytes per numeric cell, 4 per categorical code, plus the categories' labels); a
    /// larger request is refused, saying how many rows fit. Keep it under the transports'
    /// `max_frame_bytes`. Between 64 KiB and 4 GiB; default 48 MiB.
    pub max_page_bytes: u64,
    /// The directories whose files a `Source::File` may name: the path, with its symlinks
    /// resolved, must lie under one of them (resolved too), checked again on the opened
    /// file. `None` reads any path this process can read, as an embedded node does; an
    /// empty list reads none (callers upload their files instead). Default `None`; a node
    /// that listens for other nodes makes it `[]` unless it is set.
    pub import_roots: Option<Vec<PathBuf>>,
    /// The largest upload accepted, in bytes. Default 4 GiB.
    pub max_upload_bytes: u64,
    /// Uploads open at once (begun, neither committed, aborted nor expired); one more is
    /// refused as `Overloaded`. Between 1 and 4096; default 16.
    pub max_open_uploads: usize,
    /// An upload untouched for this long, in milliseconds, is removed with its bytes.
    /// Default 600000 (10 minutes).
    pub upload_idle_timeout_ms: u64,
}

impl Default for DatasetsConfig {
    fn default() -> Self {
        DatasetsConfig {
            data_dir: PathBuf::from("./.mltools"),
            http_timeout_ms: 30_000,
            http_total_timeout_ms: 600_000,
            max_download_bytes: 4 << 30,
            chunk_rows: 65_536,
            max_concurrent_writes: 2,
            max_read_connections: 8,
            allow_private_urls: false,
            url_allow_networks: Vec::new(),
            max_record_bytes: 1 << 20,
            max_columns: 16_384,
            max_page_bytes: 48 << 20,
            import_roots: None,
            max_upload_bytes: 4 << 30,
            max_open_uploads: 16,
            upload_idle_timeout_ms: 600_000,
        }
    }
}

impl DatasetsConfig {
    /// A default configuration storing its data in `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        DatasetsConfig {
            data_dir: data_dir.into(),
            ..DatasetsConfig::default()
        }
    }

    /// Checks the values that cannot be expressed in the types.
    ///
    /// # Errors
    /// [`DatasetsError::BadConfig`] naming the field: a zero `chunk_rows` (or one above
    /// 16 Mi), a zero `http_timeout_ms`, `http_total_timeout_ms` or `max_download_bytes`,
    /// a `max_concurrent_writes`, `max_read_connections`, `max_record_bytes`,
    /// `max_columns` or `max_page_bytes` out of its range, an entry of
    /// `url_allow_networks` that is not a network.
    pub fn validate(&self) -> Result<(), DatasetsError> {
        let bad =
            |field: &'static str, reason: String| Err(DatasetsError::BadConfig { field, reason });
        if self.chunk_rows == 0 || self.chunk_rows > MAX_CHUNK_ROWS {
            return bad(
                "chunk_rows",
                format!("{} is not between 1 and {MAX_CHUNK_ROWS}", self.chunk_rows),
            );
        }
        if self.http_timeout_ms == 0 {
            return bad("http_timeout_ms", "must be at least 1".to_owned());
        }
        if self.http_total_timeout_ms == 0 {
            return bad("http_total_timeout_ms", "must be at least 1".to_owned());
        }
        if !(1..=MAX_WRITES).contains(&self.max_concurrent_writes) {
            return bad(
                "max_concurrent_writes",
                format!(
                    "{} is not between 1 and {MAX_WRITES}",
                    self.max_concurrent_writes
                ),
            );
        }
        if !(1..=MAX_READERS).contains(&self.max_read_connections) {
            return bad(
                "max_read_connections",
                format!(
                    "{} is not between 1 and {MAX_READERS}",
                    self.max_read_connections
                ),
            );
        }
        if self.max_download_bytes == 0 {
            return bad("max_download_bytes", "must be at least 1".to_owned());
        }
        if !RECORD_BYTES.contains(&self.max_record_bytes) {
            return bad(
                "max_record_bytes",
                out_of(self.max_record_bytes, &RECORD_BYTES),
            );
        }
        if !COLUMNS.contains(&self.max_columns) {
            return bad("max_columns", out_of(self.max_columns, &COLUMNS));
        }
        if !PAGE_BYTES.contains(&self.max_page_bytes) {
            return bad("max_page_bytes", out_of(self.max_page_bytes, &PAGE_BYTES));
        }
        self.allowed_networks()?;
        self.validate_uploads()
    }

    /// The upload and import-root settings.
    fn validate_uploads(&self) -> Result<(), DatasetsError> {
        let bad =
            |field: &'static str, reason: String| Err(DatasetsError::BadConfig { field, reason });
        if self.max_upload_bytes == 0 {
            return bad("max_upload_bytes", "must be at least 1".to_owned());
        }
        if !(1..=MAX_OPEN_UPLOADS).contains(&self.max_open_uploads) {
            return bad(
                "max_open_uploads",
                format!(
                    "{} is not between 1 and {MAX_OPEN_UPLOADS}",
                    self.max_open_uploads
                ),
            );
        }
        if self.upload_idle_timeout_ms == 0 {
            return bad("upload_idle_timeout_ms", "must be at least 1".to_owned());
        }
        if let Some(empty) = self
            .import_roots
            .iter()
            .flatten()
            .find(|root| root.as_os_str().is_empty())
        {
            return bad("import_roots", format!("{empty:?} is an empty path"));
        }
        Ok(())
    }

    /// `url_allow_networks`, parsed.
    ///
    /// # Errors
    /// [`DatasetsError::BadConfig`] naming `url_allow_networks` and the entry.
    pub(crate) fn allowed_networks(&self) -> Result<Vec<Network>, DatasetsError> {
        self.url_allow_networks
            .iter()
            .map(|text| {
                Network::parse(text).map_err(|reason| DatasetsError::BadConfig {
                    field: "url_allow_networks",
                    reason,
                })
            })
            .collect()
    }
}

fn out_of<T: std::fmt::Display>(value: T, range: &std::ops::RangeInclusive<T>) -> String {
    format!(
        "{value} is not between {} and {}",
        range.start(),
        range.end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let config = DatasetsConfig::default();
        assert_eq!(config.max_download_bytes, 4 * 1024 * 1024 * 1024);
        assert!(config.validate().is_ok());
        let zero = DatasetsConfig {
            chunk_rows: 0,
            ..config
        };
        let error = zero.validate().unwrap_err();
        assert!(error.to_string().contains("chunk_rows"), "{error}");
        let writes = DatasetsConfig {
            max_concurrent_writes: 0,
            ..DatasetsConfig::default()
        };
        let error = writes.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "datasets config: `max_concurrent_writes`: 0 is not between 1 and 64"
        );
    }

    #[test]
    fn input_limits_are_range_checked_naming_the_field() {
        type Adjust = fn(&mut DatasetsConfig);
        let cases: [(&str, Adjust); 6] = [
            ("max_record_bytes", |c| c.max_record_bytes = 10),
            ("max_record_bytes", |c| c.max_record_bytes = 1 << 30),
            ("max_columns", |c| c.max_columns = 0),
            ("max_page_bytes", |c| c.max_page_bytes = 1),
            ("max_page_bytes", |c| c.max_page_bytes = 8 << 30),
            ("url_allow_networks", |c| {
                c.url_allow_networks = vec!["10.0.0.0/8".into(), "10.0.0.1/8".into()]
            }),
        ];
        for (field, adjust) in cases {
            let mut config = DatasetsConfig::default();
            adjust(&mut config);
            let error = config.validate().unwrap_err();
            assert_eq!(error.kind(), mltools_core::ErrorKind::Internal);
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("datasets config: `{field}`: ")),
                "{error}"
            );
        }
        let error = DatasetsConfig {
            url_allow_networks: vec!["10.0.0.1/8".into()],
            ..DatasetsConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(error.to_string().contains("`10.0.0.1/8`"), "{error}");
        let parsed: DatasetsConfig = toml_like_defaults();
        assert_eq!(parsed, DatasetsConfig::default());
    }

    /// The defaults a `[datasets]` table without the new keys deserializes to.
    fn toml_like_defaults() -> DatasetsConfig {
        serde_json::from_str("{}").unwrap()
    }

    #[test]
    fn upload_settings_are_checked_naming_the_field() {
        let config = DatasetsConfig::default();
        assert_eq!(
            (config.max_open_uploads, config.upload_idle_timeout_ms),
            (16, 600_000)
        );
        assert_eq!(config.import_roots, None);
        let cases = [
            DatasetsConfig {
                max_upload_bytes: 0,
                ..DatasetsConfig::default()
            },
            DatasetsConfig {
                max_open_uploads: 0,
                ..DatasetsConfig::default()
            },
            DatasetsConfig {
                upload_idle_timeout_ms: 0,
                ..DatasetsConfig::default()
            },
            DatasetsConfig {
                import_roots: Some(vec![PathBuf::new()]),
                ..DatasetsConfig::default()
            },
        ];
        let fields = [
            "max_upload_bytes",
            "max_open_uploads",
            "upload_idle_timeout_ms",
            "import_roots",
        ];
        for (config, field) in cases.iter().zip(fields) {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(&format!("`{field}`")), "{error}");
        }
    }
}
