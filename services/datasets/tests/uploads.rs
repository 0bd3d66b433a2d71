//! Uploads through the state: a file sent in chunks and committed by an import or an
//! update, with the CSV errors naming the upload's label; abandoned uploads swept by the
//! state's timer; server-side paths confined to `import_roots`.

mod common;

use common::{Harness, WAIT, assert_error, within};
use mltools_core::ErrorKind;
use mltools_core::datasets::{
    AppendUpload, BeginUpload, GetRequest, ImportRequest, Source, UpdateMode, UpdateRequest,
    UploadId,
};
use mltools_datasets::DatasetsState;
use std::path::Path;
use std::time::Instant;

/// Uploads `text` in chunks of `chunk` bytes under `label`.
async fn upload(state: &DatasetsState, label: &str, text: &str, chunk: usize) -> UploadId {
    let id = state
        .begin_upload(BeginUpload {
            label: label.to_owned(),
            size: Some(text.len() as u64),
        })
        .await
        .unwrap();
    let mut offset = 0u64;
    for piece in text.as_bytes().chunks(chunk) {
        let request = AppendUpload {
            upload: id,
            offset,
            data: piece.to_vec(),
        };
        offset = state.append_upload(request).await.unwrap();
    }
    assert_eq!(offset, text.len() as u64);
    id
}

fn upload_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("uploads")).map_or(0, |entries| entries.count())
}

#[tokio::test]
async fn an_uploaded_file_imports_under_its_label_and_is_consumed() {
    let h = Harness::new();
    let id = upload(
        &h.state,
        "houses.csv",
        "area,price\n50,100\n70,150\n90,210\n",
        5,
    )
    .await;
    let info = within(
        h.state
            .import(ImportRequest::new(Source::Upload { id }).target("price")),
    )
    .await
    .unwrap();
    assert_eq!((info.name.as_str(), info.rows), ("houses", 3));
    assert_eq!(info.source, "houses.csv (uploaded)");
    let page = h.state.get(GetRequest::all(info.id)).await.unwrap();
    assert_eq!(page.frame.rows(), 3);
    assert_eq!(h.state.open_uploads(), 0);
    assert_eq!(upload_files(h.dir.path()), 0);
    // Consumed: a second import of the same upload finds nothing.
    assert_error(
        h.state
            .import(ImportRequest::new(Source::Upload { id }).name("again"))
            .await,
        ErrorKind::NotFound,
        &[&format!("upload {id} does not exist")],
    );
}

#[tokio::test]
async fn a_bad_csv_upload_is_refused_naming_its_label_line_and_column() {
    let h = Harness::new();
    let id = upload(&h.state, "ragged.csv", "a,b\n1,2\n3\n", 4).await;
    assert_error(
        h.state
            .import(ImportRequest::new(Source::Upload { id }))
            .await,
        ErrorKind::InvalidInput,
        &["ragged.csv: line 3: expected 2 fields, got 1"],
    );
    let begin = BeginUpload {
        label: "latin1.csv".into(),
        size: None,
    };
    let invalid = AppendUpload {
        upload: h.state.begin_upload(begin).await.unwrap(),
        offset: 0,
        data: b"a,b\n1,\xe9t\xe9\n".to_vec(),
    };
    h.state.append_upload(invalid.clone()).await.unwrap();
    assert_error(
        h.state
            .import(ImportRequest::new(Source::Upload { id: invalid.upload }))
            .await,
        ErrorKind::InvalidInput,
        &["latin1.csv: line 2, column 2 (`b`): invalid UTF-8"],
    );
    // The failed imports left their uploads, for another try or an abort.
    assert_eq!(h.state.open_uploads(), 2);
    let again = within(
        h.state
            .import(ImportRequest::new(Source::Upload { id }).name("r")),
    );
    assert_eq!(again.await.unwrap_err().kind(), ErrorKind::InvalidInput);
    h.state.abort_upload(id).await.unwrap();
    h.state.abort_upload(invalid.upload).await.unwrap();
    assert_eq!(upload_files(h.dir.path()), 0);
}

#[tokio::test]
async fn a_taken_name_leaves_the_upload_for_the_update_that_follows() {
    let h = Harness::new();
    h.import("sales", "x,y\n1,2\n").await;
    let id = upload(&h.state, "sales.csv", "x,y\n3,4\n5,6\n", 3).await;
    assert_error(
        h.state
            .import(ImportRequest::new(Source::Upload { id }))
            .await,
        ErrorKind::AlreadyExists,
        &["`sales`"],
    );
    let request = UpdateRequest {
        dataset: mltools_core::DatasetRef::parse("sales"),
        source: Source::Upload { id },
        mode: UpdateMode::Append,
        target: None,
        csv: Default::default(),
    };
    let info = h.state.update(request).await.unwrap();
    assert_eq!((info.version, info.rows), (2, 3));
    assert_eq!(h.state.open_uploads(), 0);
}

#[tokio::test]
async fn offsets_out_of_order_and_unknown_ids_are_refused() {
    let h = Harness::new();
    let id = h
        .state
        .begin_upload(BeginUpload {
            label: "x.csv".into(),
            size: None,
        })
        .await
        .unwrap();
    let append = |offset, data: &[u8]| AppendUpload {
        upload: id,
        offset,
        data: data.to_vec(),
    };
    assert_eq!(h.state.append_upload(append(0, b"a\n")).await.unwrap(), 2);
    assert_error(
        h.state.append_upload(append(5, b"1\n")).await,
        ErrorKind::InvalidInput,
        &["a chunk at offset 5, but 2 bytes were received"],
    );
    let unknown = UploadId([7; 16]);
    assert_error(
        h.state.abort_upload(unknown).await,
        ErrorKind::NotFound,
        &["upload 07070707070707070707070707070707 does not exist"],
    );
    let request = AppendUpload {
        upload: unknown,
        ..append(0, b"x")
    };
    assert_error(
        h.state.append_upload(request).await,
        ErrorKind::NotFound,
        &["07070707"],
    );
    assert_error(
        h.state
            .import(ImportRequest::new(Source::Upload { id: unknown }))
            .await,
        ErrorKind::NotFound,
        &["07070707"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_upload_is_swept_by_the_states_timer() {
    let h = Harness::with(|config| config.upload_idle_timeout_ms = 100);
    let id = upload(&h.state, "left.csv", "a\n1\n", 2).await;
    assert_eq!(upload_files(h.dir.path()), 1);
    // Wait for the event: the file disappears (polled), within a bound.
    let deadline = Instant::now() + WAIT;
    while upload_files(h.dir.path()) > 0 {
        assert!(
            Instant::now() < deadline,
            "the abandoned upload was never removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(h.state.open_uploads(), 0);
    assert_error(
        h.state.abort_upload(id).await,
        ErrorKind::NotFound,
        &["100 ms without an append"],
    );
}

#[tokio::test]
async fn files_are_read_only_under_the_import_roots() {
    let outside = tempfile::tempdir().unwrap();
    let roots = tempfile::tempdir().unwrap();
    std::fs::write(roots.path().join("in.csv"), "a\n1\n").unwrap();
    std::fs::write(outside.path().join("secret.csv"), "token\nxyz\n").unwrap();
    let root = roots.path().to_owned();
    let h = Harness::with(move |config| config.import_roots = Some(vec![root]));
    let file = |path: &Path| Source::File {
        path: path.display().to_string(),
    };
    let info = h
        .state
        .import(ImportRequest::new(file(&roots.path().join("in.csv"))))
        .await
        .unwrap();
    assert_eq!(info.rows, 1);
    let secret = outside.path().join("secret.csv");
    assert_error(
        h.state.import(ImportRequest::new(file(&secret))).await,
        ErrorKind::InvalidInput,
        &[&secret.display().to_string(), "import_roots", "upload"],
    );
    assert_error(
        h.state
            .import(ImportRequest::new(Source::File {
                path: "/proc/self/environ".into(),
            }))
            .await,
        ErrorKind::InvalidInput,
        &["/proc/self/environ", "not under an import root"],
    );
}
