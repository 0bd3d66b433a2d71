//! Temporary files a killed process left behind (downloads, uploads), removed at start.

use std::path::Path;

/// Removes the files in `dir` whose names start with `prefix`; answers how many. A missing
/// directory has none. Safe while another process writes such a file: on Unix its open file
/// stays usable after the unlink (and elsewhere the removal of a file in use fails and is
/// ignored).
pub(crate) fn remove(dir: &Path, prefix: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}
