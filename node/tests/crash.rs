//! A process SIGKILLed in the middle of an import leaves every earlier dataset intact and no
//! half-written dataset visible when the data directory is opened again.

mod support;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{json, mltools};

fn write_numeric_csv(path: &Path, rows: usize, columns: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let header: Vec<String> = (0..columns).map(|c| format!("x{c}")).collect();
    writeln!(out, "{}", header.join(",")).unwrap();
    for row in 0..rows {
        for column in 0..columns {
            let separator = if column + 1 == columns { "\n" } else { "," };
            write!(
                out,
                "{}.{:03}{separator}",
                row % 9973,
                (row * 7 + column) % 1000
            )
            .unwrap();
        }
    }
    out.flush().unwrap();
}

/// Bytes in the database's write-ahead log: it grows while a transaction spills pages, long
/// before the transaction commits.
fn wal_bytes(data_dir: &Path) -> u64 {
    std::fs::metadata(data_dir.join("datasets.db-wal")).map_or(0, |meta| meta.len())
}

#[test]
fn sigkill_during_an_import_loses_nothing_committed_and_shows_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let small = dir.path().join("kept.csv");
    std::fs::write(&small, "a,b,label\n1,2,x\n3,4,y\n5,6,x\n").unwrap();
    json(&mltools(
        &data,
        &["datasets", "import", small.to_str().unwrap(), "--json"],
    ));
    let before = json(&mltools(&data, &["datasets", "show", "kept", "--json"]));

    let big = dir.path().join("big.csv");
    write_numeric_csv(&big, 600_000, 20);
    let wal_at_rest = wal_bytes(&data);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mltools"))
        .arg("--data-dir")
        .arg(&data)
        .args(["datasets", "import", big.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Wait for the event itself: the import's transaction has written several megabytes of
    // pages to the log (far from its ~100 MB total), so it is mid-write.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the import ended ({status}) before it could be killed; use a bigger file");
        }
        if wal_bytes(&data) > wal_at_rest + 8 * 1024 * 1024 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the import never started writing"
        );
        // Poll the file (not a sleep standing in for an event): the log's size is the event.
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let listed = json(&mltools(&data, &["datasets", "list", "--json"]));
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|info| info["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kept"], "only the committed dataset is visible");
    let after = json(&mltools(&data, &["datasets", "show", "kept", "--json"]));
    assert_eq!(before, after, "the earlier dataset is intact");

    // The store is writable again, and the interrupted import can simply be rerun.
    let again = dir.path().join("again.csv");
    write_numeric_csv(&again, 1_000, 20);
    let imported = json(&mltools(
        &data,
        &["datasets", "import", again.to_str().unwrap(), "--json"],
    ));
    assert_eq!(imported["info"]["rows"], 1000);
}
