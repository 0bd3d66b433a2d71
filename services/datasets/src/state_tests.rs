//! Tests of the state that need to stop its blocking work at a chosen block (through the
//! test-only hooks): cancellation while writing and just before the commit, and a failure
//! after blocks were written.

use super::*;
use crate::operations::{BlockHook, Hooks};
use mltools_core::ErrorKind;
use mltools_core::datasets::{CsvOptions, Source, UpdateMode};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const WAIT: Duration = Duration::from_secs(20);
/// 20,000 rows of two columns in blocks of 100: 400 blocks.
const ROWS: usize = 20_000;
const CHUNK_ROWS: usize = 100;
const BLOCKS: u64 = 400;

async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("the awaited event happens in time")
}

fn rows() -> Source {
    let text: String = std::iter::once("a,b\n".to_owned())
        .chain((0..ROWS).map(|i| format!("{i},{}\n", i % 7)))
        .collect();
    Source::Bytes {
        label: "rows.csv".into(),
        data: text.into_bytes(),
    }
}

struct Hooked {
    dir: tempfile::TempDir,
    state: DatasetsState,
}

impl Hooked {
    fn new(after_block: BlockHook) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = DatasetsConfig {
            chunk_rows: CHUNK_ROWS,
            ..DatasetsConfig::with_data_dir(dir.path())
        };
        let hooks = Hooks {
            after_block: Some(after_block),
        };
        let state = DatasetsState::open_with_hooks(config, hooks).unwrap();
        Hooked { dir, state }
    }

    /// Rows of `table`, read behind the state's back.
    fn count(&self, table: &str) -> i64 {
        let connection = rusqlite::Connection::open(self.dir.path().join("datasets.db")).unwrap();
        connection
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
    }

    fn counts(&self) -> [i64; 4] {
        ["datasets", "versions", "chunks", "version_chunks"].map(|table| self.count(table))
    }
}

/// A hook that stops the work after block `at`: it reports the block, then waits for the
/// test to let it go on.
fn pause_after(at: u64) -> (BlockHook, UnboundedReceiver<u64>, mpsc::Sender<()>) {
    let (reached_tx, reached_rx) = unbounded_channel();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let resume_rx = Mutex::new(resume_rx);
    let hook: BlockHook = Arc::new(move |written| {
        if written == at {
            let _ = reached_tx.send(written);
            let resumed = resume_rx
                .lock()
                .unwrap()
                .recv_timeout(WAIT)
                .map_err(|_| DatasetsError::Corrupt("the test never resumed".to_owned()));
            resumed?;
        }
        Ok(())
    });
    (hook, reached_rx, resume_tx)
}

/// Starts an import, waits until its work has written block `at` and is paused there,
/// drops the import's future (as tarpc does at a deadline), lets the work go on and waits
/// for it to end.
async fn import_dropped_after_block(
    h: &Hooked,
    reached: &mut UnboundedReceiver<u64>,
    resume: &mpsc::Sender<()>,
) {
    let mut import = Box::pin(h.state.import(ImportRequest::new(rows()).name("rows")));
    tokio::select! {
        result = &mut import => panic!("the import ended before the pause: {result:?}"),
        block = within(reached.recv()) => assert!(block.is_some()),
    }
    drop(import);
    resume.send(()).unwrap();
    within(h.state.idle()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_cancelled_while_writing_stores_nothing() {
    let (hook, mut reached, resume) = pause_after(10);
    let h = Hooked::new(hook);
    import_dropped_after_block(&h, &mut reached, &resume).await;
    assert_eq!(
        h.counts(),
        [0, 0, 0, 0],
        "datasets, versions, chunks, links"
    );
    // The same import, not cancelled, stores everything.
    let import = h.state.import(ImportRequest::new(rows()).name("rows"));
    let resume_at_block = async {
        within(reached.recv()).await;
        resume.send(()).unwrap();
    };
    let (info, ()) = tokio::join!(import, resume_at_block);
    assert_eq!(info.unwrap().rows, ROWS as u64);
    assert_eq!(h.counts(), [1, 1, BLOCKS as i64, BLOCKS as i64]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_cancelled_after_its_last_block_stores_nothing() {
    let (hook, mut reached, resume) = pause_after(BLOCKS);
    let h = Hooked::new(hook);
    // Every block is written when the caller goes away: only the commit is left.
    import_dropped_after_block(&h, &mut reached, &resume).await;
    assert_eq!(
        h.counts(),
        [0, 0, 0, 0],
        "datasets, versions, chunks, links"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_blocks_were_written_leaves_the_dataset_as_it_was() {
    let armed = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let (armed_in_hook, failures_in_hook) = (Arc::clone(&armed), Arc::clone(&failures));
    let hook: BlockHook = Arc::new(move |written| {
        if armed_in_hook.load(Ordering::SeqCst) && written == 50 {
            failures_in_hook.fetch_add(1, Ordering::SeqCst);
            return Err(DatasetsError::Io {
                path: "/srv/disk".into(),
                operation: "write",
                cause: std::io::Error::other("no space left on device"),
            });
        }
        Ok(())
    });
    let h = Hooked::new(hook);
    h.state
        .import(ImportRequest::new(rows()).name("grow"))
        .await
        .unwrap();
    let before = h.counts();
    armed.store(true, Ordering::SeqCst);
    let append = UpdateRequest {
        dataset: "grow".into(),
        source: rows(),
        mode: UpdateMode::Append,
        target: None,
        csv: CsvOptions::default(),
    };
    let error = h.state.update(append).await.unwrap_err();
    assert_eq!(failures.load(Ordering::SeqCst), 1, "50 blocks were written");
    assert_eq!(error.kind(), ErrorKind::Internal);
    let message = error.to_string();
    assert!(
        message.starts_with("`update` failed (incident "),
        "{message}"
    );
    assert!(!message.contains("/srv"), "{message}");
    assert_eq!(h.counts(), before, "datasets, versions, chunks, links");
    let versions = h.state.versions("grow".into()).await.unwrap();
    assert_eq!(versions.len(), 1);
}

#[tokio::test]
async fn work_whose_caller_left_before_it_started_does_not_run() {
    let h = Hooked::new(Arc::new(|_| Ok(())));
    let cancel = CancelOnDrop::default();
    cancel.0.store(true, Ordering::Relaxed);
    let result: Result<(), _> = h
        .state
        .run("import", Access::Write, cancel, |_, _| {
            panic!("work whose caller has gone must not start")
        })
        .await;
    assert!(
        matches!(result, Err(DatasetsError::Cancelled { .. })),
        "{result:?}"
    );
}
