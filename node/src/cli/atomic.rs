//! Files the CLI writes for the user (exported models, reports, predictions) are written
//! atomically: a reader, or a crash half-way, sees the old file or the new one, never a
//! mix or a truncated file.

use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same directory: write, fsync,
/// rename over `path`, then fsync the directory so the rename itself is durable.
///
/// # Errors
/// Whatever the file system refuses: the directory missing or not writable, the disk full,
/// `path` naming a directory. On error `path` is untouched and the temporary file removed.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".mltools-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    sync_dir(dir)
}

/// Makes a rename in `dir` durable. Only Unix can open a directory to fsync it.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".mltools-"))
            .collect()
    }

    #[test]
    fn writes_a_new_file_and_replaces_an_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.mltx");
        write(&path, b"first version, longer than the second").unwrap();
        write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory in the way: the rename fails after the bytes were written.
        let target = dir.path().join("report.html");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), b"kept").unwrap();
        assert!(write(&target, b"<html>").is_err());
        assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"kept");
        assert!(leftovers(dir.path()).is_empty());

        let missing = dir.path().join("no/such/dir/out.csv");
        assert!(write(&missing, b"x").is_err());
    }
}
