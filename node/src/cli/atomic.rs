//! Files the CLI writes for the user (exported models, reports, predictions) are written
//! atomically: a reader, or a crash half-way, sees the old file or the new one, never a
//! mix or a truncated file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` through a temporary file in the same directory: write, fsync,
/// rename over `path`, then fsync the directory so the rename itself is durable. The file
/// is created as any other (mode 0666 less the umask), not private to its owner as
/// temporary files usually are: it is the user's report or export.
///
/// # Errors
/// Whatever the file system refuses: the directory missing or not writable, the disk full,
/// `path` naming a directory. On error `path` is untouched and the temporary file removed.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temporary = Temporary::create(dir)?;
    let mut file = &temporary.file;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary.path, path)?;
    temporary.persisted();
    sync_dir(dir)
}

/// A temporary file beside the target, removed when dropped unless it was renamed.
struct Temporary {
    path: PathBuf,
    file: std::fs::File,
    keep: bool,
}

impl Temporary {
    /// A new file `.mltools-PID-N.tmp` in `dir`; `N` counts up past names already taken.
    fn create(dir: &Path) -> std::io::Result<Temporary> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".mltools-{}-{n}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(Temporary {
                        path,
                        file,
                        keep: false,
                    });
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// The file now has its final name: nothing to remove.
    fn persisted(mut self) {
        self.keep = true;
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
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

    #[cfg(unix)]
    #[test]
    fn the_file_gets_the_permissions_of_any_new_file_not_a_private_temporary_s() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.html");
        std::fs::write(&plain, b"x").unwrap();
        let written = dir.path().join("report.html");
        write(&written, b"<html>").unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&written), mode(&plain));
    }
}
