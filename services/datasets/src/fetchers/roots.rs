//! Which files a `Source::File` may name: with `import_roots` set, only files whose path,
//! symlinks resolved, lies under one of the roots (resolved too).
//!
//! The check is made twice: on the resolved path before opening it, and on the file
//! actually opened (on Linux, the path the kernel gives for the open descriptor), so a
//! symlink swapped in between the two is caught. A path that cannot be resolved is
//! reported as missing only when it lies, as written, under a root: a caller cannot use
//! the errors to learn which files exist elsewhere.

use crate::error::DatasetsError;
use std::fs::File;
use std::path::{Component, Path, PathBuf};

/// Opens `path` for reading, confined to `roots` when there are any.
///
/// # Errors
/// [`DatasetsError::OutsideRoots`] for a path (or an opened file) outside every root;
/// [`DatasetsError::FileNotFound`] or [`DatasetsError::Unreadable`] for a path under a root
/// that cannot be opened.
pub(crate) fn open(path: &str, roots: Option<&[PathBuf]>) -> Result<File, DatasetsError> {
    let Some(roots) = roots else {
        return File::open(path).map_err(|cause| super::open_error(path, &cause));
    };
    let resolved_roots: Vec<PathBuf> = roots
        .iter()
        .filter_map(|root| root.canonicalize().ok())
        .collect();
    let outside = || DatasetsError::OutsideRoots {
        path: path.to_owned(),
        roots: describe(roots),
    };
    let under = |candidate: &Path| {
        resolved_roots
            .iter()
            .any(|root| candidate.starts_with(root))
    };
    let resolved = match Path::new(path).canonicalize() {
        Ok(resolved) => resolved,
        Err(cause) => {
            // Under a root as written (`..` folded, no symlink followed): the caller's own
            // file is missing or unreadable. Anywhere else: nothing is said about it.
            let written = lexical(Path::new(path));
            let lexical_roots = roots.iter().map(|root| lexical(root));
            let mut all_roots = resolved_roots.iter().cloned().chain(lexical_roots);
            if all_roots.any(|root| written.starts_with(&root)) {
                return Err(super::open_error(path, &cause));
            }
            return Err(outside());
        }
    };
    if !under(&resolved) {
        return Err(outside());
    }
    let file = File::open(&resolved).map_err(|cause| super::open_error(path, &cause))?;
    if !opened_under(&file, &resolved, under) {
        tracing::warn!(
            path,
            "a file under an import root changed into a link out of it while it was opened"
        );
        return Err(outside());
    }
    Ok(file)
}

/// How the roots are described to a caller: how many there are, not where.
fn describe(roots: &[PathBuf]) -> String {
    match roots.len() {
        0 => "`[datasets] import_roots` is empty".to_owned(),
        1 => "`[datasets] import_roots` lists 1 directory".to_owned(),
        n => format!("`[datasets] import_roots` lists {n} directories"),
    }
}

/// `path` made absolute against the working directory, with `.` and `..` folded as text.
fn lexical(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut folded = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                folded.pop();
            }
            other => folded.push(other),
        }
    }
    folded
}

/// Whether the file opened from `resolved` is (still) under a root.
#[cfg(target_os = "linux")]
fn opened_under(file: &File, resolved: &Path, under: impl Fn(&Path) -> bool) -> bool {
    use std::os::fd::AsRawFd;
    let link = format!("/proc/self/fd/{}", file.as_raw_fd());
    match std::fs::read_link(link) {
        Ok(real) => under(&real),
        // No /proc mounted: the file's identity against the resolved path's.
        Err(_) => same_file(file, resolved),
    }
}

/// Whether the file opened from `resolved` is (still) under a root: its identity must be
/// that of the resolved path (which has no symlink left).
#[cfg(not(target_os = "linux"))]
fn opened_under(file: &File, resolved: &Path, _under: impl Fn(&Path) -> bool) -> bool {
    same_file(file, resolved)
}

#[cfg(unix)]
fn same_file(file: &File, resolved: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(resolved)) {
        (Ok(opened), Ok(named)) => opened.dev() == named.dev() && opened.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, resolved: &Path) -> bool {
    // Without file identities, the resolved path must still resolve to itself.
    resolved.canonicalize().is_ok_and(|again| again == resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::ErrorKind;

    struct Tree {
        _dir: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
    }

    /// `root/in.csv`, `root/sub/deep.csv`, `outside/secret.csv`, and `root/escape` a link to
    /// `outside`, `root/link.csv` a link to `outside/secret.csv`.
    fn tree() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("in.csv"), "a\n1\n").unwrap();
        std::fs::write(root.join("sub/deep.csv"), "a\n1\n").unwrap();
        std::fs::write(outside.join("secret.csv"), "token\nxyz\n").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
            std::os::unix::fs::symlink(outside.join("secret.csv"), root.join("link.csv")).unwrap();
            std::os::unix::fs::symlink(root.join("in.csv"), root.join("inner-link.csv")).unwrap();
        }
        Tree {
            _dir: dir,
            root,
            outside,
        }
    }

    fn text(path: &Path) -> String {
        path.display().to_string()
    }

    fn refused(path: &str, roots: &[PathBuf]) -> DatasetsError {
        let error = open(path, Some(roots)).unwrap_err();
        assert!(
            matches!(error, DatasetsError::OutsideRoots { .. }),
            "{path}: {error}"
        );
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains(path), "{error}");
        error
    }

    #[test]
    fn files_under_a_root_are_read_and_no_roots_reads_anything() {
        let tree = tree();
        let roots = [tree.root.clone()];
        assert!(open(&text(&tree.root.join("in.csv")), Some(&roots)).is_ok());
        assert!(open(&text(&tree.root.join("sub/deep.csv")), Some(&roots)).is_ok());
        assert!(open(&text(&tree.root.join("sub/../in.csv")), Some(&roots)).is_ok());
        #[cfg(unix)]
        assert!(open(&text(&tree.root.join("inner-link.csv")), Some(&roots)).is_ok());
        // A root given through a `..` or a link is resolved too.
        let roundabout = [tree.root.join("sub/..")];
        assert!(open(&text(&tree.root.join("in.csv")), Some(&roundabout)).is_ok());
        assert!(open(&text(&tree.outside.join("secret.csv")), None).is_ok());
    }

    #[test]
    fn paths_outside_every_root_are_refused_saying_what_to_do() {
        let tree = tree();
        let roots = [tree.root.clone()];
        let error = refused(&text(&tree.outside.join("secret.csv")), &roots);
        let message = error.to_string();
        assert!(message.contains("upload"), "{message}");
        assert!(message.contains("import_roots"), "{message}");
        assert!(
            !message.contains(&text(&tree.root)),
            "the roots are not disclosed: {message}"
        );
        refused(&text(&tree.root.join("../outside/secret.csv")), &roots);
        refused(
            &text(&tree.root.join("sub/../../outside/secret.csv")),
            &roots,
        );
        refused("/proc/self/environ", &roots);
        refused("/etc/passwd", &roots);
        // A sibling whose name starts like the root is not under it.
        let sibling = tree.root.with_file_name("root-other");
        std::fs::create_dir_all(&sibling).unwrap();
        std::fs::write(sibling.join("x.csv"), "a\n1\n").unwrap();
        refused(&text(&sibling.join("x.csv")), &roots);
    }

    #[cfg(unix)]
    #[test]
    fn links_from_inside_a_root_to_outside_are_refused() {
        let tree = tree();
        let roots = [tree.root.clone()];
        refused(&text(&tree.root.join("link.csv")), &roots);
        refused(&text(&tree.root.join("escape/secret.csv")), &roots);
    }

    #[test]
    fn no_roots_at_all_refuses_every_file() {
        let tree = tree();
        let error = refused(&text(&tree.root.join("in.csv")), &[]);
        assert!(
            error
                .to_string()
                .contains("`[datasets] import_roots` is empty"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_file_is_reported_missing_only_under_a_root() {
        let tree = tree();
        let roots = [tree.root.clone()];
        let error = open(&text(&tree.root.join("absent.csv")), Some(&roots)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        refused(&text(&tree.outside.join("absent.csv")), &roots);
        refused("/nonexistent/dir/x.csv", &roots);
    }

    #[test]
    fn a_file_swapped_for_a_link_after_the_check_is_caught_by_its_descriptor() {
        let tree = tree();
        let roots = [tree.root.clone()];
        let resolved_roots = [tree.root.canonicalize().unwrap()];
        let under = |candidate: &Path| {
            resolved_roots
                .iter()
                .any(|root| candidate.starts_with(root))
        };
        // The file opened is the outside one, as if a link had been swapped in between.
        let opened = File::open(tree.outside.join("secret.csv")).unwrap();
        let resolved = tree.root.join("in.csv").canonicalize().unwrap();
        assert!(!opened_under(&opened, &resolved, under));
        let honest = File::open(&resolved).unwrap();
        assert!(opened_under(&honest, &resolved, under));
        let _ = roots;
    }
}
