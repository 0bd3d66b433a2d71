//! The models service's settings, embedded in the node's TOML file under `[models]`.

use crate::error::ModelsError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Settings of the models service.
///
/// ```toml
/// [models]
/// data_dir = "./.mltools"
/// fit_threads = 2
/// max_running_jobs = 1
/// max_kept_jobs = 100
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// The directory holding the registry (`models.db`); created when missing. Default
    /// `./.mltools`.
    pub data_dir: PathBuf,
    /// Fits running at once, on a pool of this many threads; `None` (the default): one per
    /// available core.
    pub fit_threads: Option<usize>,
    /// Comparisons running at once; a submitted job waits (state `Queued`) for a slot.
    /// Default 1: one comparison already uses every fit thread.
    pub max_running_jobs: usize,
    /// Jobs remembered (running and ended); submitting beyond it forgets the oldest ended
    /// job, or is refused as overloaded when all are still running or queued. Default 100.
    pub max_kept_jobs: usize,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            data_dir: PathBuf::from("./.mltools"),
            fit_threads: None,
            max_running_jobs: 1,
            max_kept_jobs: 100,
        }
    }
}

impl ModelsConfig {
    /// A default configuration storing its registry in `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        ModelsConfig {
            data_dir: data_dir.into(),
            ..ModelsConfig::default()
        }
    }

    /// Checks the values that cannot be expressed in the types.
    ///
    /// # Errors
    /// [`ModelsError::BadConfig`] naming the field: a zero `fit_threads` (or above 1024),
    /// `max_running_jobs` or `max_kept_jobs`.
    pub fn validate(&self) -> Result<(), ModelsError> {
        let bad = |field: &'static str, reason: &str| {
            Err(ModelsError::BadConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if matches!(self.fit_threads, Some(threads) if threads == 0 || threads > 1024) {
            return bad("fit_threads", "must be between 1 and 1024");
        }
        if self.max_running_jobs == 0 {
            return bad("max_running_jobs", "must be at least 1");
        }
        if self.max_kept_jobs == 0 {
            return bad("max_kept_jobs", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_zeroes_are_refused() {
        assert!(ModelsConfig::default().validate().is_ok());
        let config = ModelsConfig {
            fit_threads: Some(0),
            ..ModelsConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "models config: `fit_threads`: must be between 1 and 1024"
        );
        let parsed: Result<ModelsConfig, _> = serde_json::from_str(r#"{"fit_thread": 2}"#);
        assert!(parsed.is_err(), "unknown keys are refused");
    }
}
