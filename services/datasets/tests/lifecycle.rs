//! Reading, describing, updating, deleting and reopening stored datasets.

mod common;

use common::{Harness, assert_error, bytes, http_response, serve_gated, within};
use mltools_core::datasets::{
    ColumnSummary, CsvOptions, GetRequest, ImportRequest, Source, UpdateMode, UpdateRequest,
};
use mltools_core::frame::{ColumnData, ColumnKind};
use mltools_core::{DatasetId, DatasetRef, ErrorKind};
use mltools_datasets::DatasetsState;

const SMALL: &str = "x,y,c\n1,10,a\n2,,b\n3,30,a\n4,NA,\n";

fn update(dataset: &str, mode: UpdateMode, name: &str, text: &str) -> UpdateRequest {
    UpdateRequest {
        dataset: DatasetRef::parse(dataset),
        source: bytes(name, text),
        mode,
        target: None,
        csv: CsvOptions::default(),
    }
}

fn page(dataset: u64, offset: u64, limit: Option<u64>, columns: Option<&[&str]>) -> GetRequest {
    GetRequest {
        dataset: DatasetRef::Id(DatasetId(dataset)),
        version: None,
        offset,
        limit,
        columns: columns.map(|names| names.iter().map(|n| n.to_string()).collect()),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

fn same_summaries(left: &[ColumnSummary], right: &[ColumnSummary]) {
    assert_eq!(left.len(), right.len());
    for (l, r) in left.iter().zip(right) {
        assert_eq!(
            (&l.name, l.kind, l.missing, &l.categorical),
            (&r.name, r.kind, r.missing, &r.categorical)
        );
        if let (Some(l), Some(r)) = (l.numeric, r.numeric) {
            let pairs = [
                (l.mean, r.mean),
                (l.std, r.std),
                (l.min, r.min),
                (l.max, r.max),
            ];
            assert!(pairs.iter().all(|&(a, b)| close(a, b)), "{l:?} vs {r:?}");
        }
    }
}

#[tokio::test]
async fn describe_matches_hand_computed_statistics() {
    let h = Harness::new();
    let info = h.import("small", SMALL).await;
    let description = h
        .state
        .describe(DatasetRef::Name("small".into()), None)
        .await
        .unwrap();
    assert_eq!(description.info, info);
    let [x, y, c] = &description.columns[..] else {
        panic!("three columns")
    };
    let x_stats = x.numeric.unwrap();
    assert_eq!(
        (x.missing, x_stats.mean, x_stats.min, x_stats.max),
        (0, 2.5, 1.0, 4.0)
    );
    assert!(close(x_stats.std, (5.0f64 / 3.0).sqrt()));
    let y_stats = y.numeric.unwrap();
    assert_eq!(
        (y.missing, y_stats.mean, y_stats.min, y_stats.max),
        (2, 20.0, 10.0, 30.0)
    );
    assert!(close(y_stats.std, 200f64.sqrt()));
    let c_stats = c.categorical.as_ref().unwrap();
    assert_eq!(
        (c.kind, c.missing, c_stats.distinct),
        (ColumnKind::Categorical, 1, 2)
    );
    assert_eq!(c_stats.top, Some(("a".to_owned(), 2)));
}

#[tokio::test]
async fn pages_read_only_the_rows_and_columns_asked_for() {
    let h = Harness::with(|config| config.chunk_rows = 3);
    let text: String = std::iter::once("n,sq,tag\n".to_owned())
        .chain((0..10).map(|i| format!("{i},{},t{}\n", i * i, i % 2)))
        .collect();
    let info = h.import("pages", &text).await;
    let got = h
        .state
        .get(page(info.id.0, 2, Some(5), Some(&["tag", "n"])))
        .await
        .unwrap();
    assert_eq!(got.offset, 2);
    let names: Vec<&str> = got.frame.names().collect();
    assert_eq!(names, ["tag", "n"]);
    assert_eq!(
        got.frame.columns[1].data,
        ColumnData::Numeric(vec![2.0, 3.0, 4.0, 5.0, 6.0])
    );
    let ColumnData::Categorical { codes, categories } = &got.frame.columns[0].data else {
        panic!()
    };
    assert_eq!(
        (codes.as_slice(), categories.as_slice()),
        (
            &[0, 1, 0, 1, 0][..],
            &["t0".to_owned(), "t1".to_owned()][..]
        )
    );

    let tail = h.state.get(page(info.id.0, 8, None, None)).await.unwrap();
    assert_eq!(tail.frame.rows(), 2);
    let beyond = h
        .state
        .get(page(info.id.0, 50, Some(5), None))
        .await
        .unwrap();
    assert_eq!((beyond.frame.rows(), beyond.frame.columns.len()), (0, 3));

    let result = h.state.get(page(info.id.0, 0, None, Some(&["nope"]))).await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["`nope`", "`n`, `sq`, `tag`", "version 1"],
    );
    let result = h
        .state
        .get(page(info.id.0, 0, None, Some(&["n", "tag", "n"])))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["column `n` is asked for more than once"],
    );
}

#[tokio::test]
async fn append_makes_a_version_equal_to_a_fresh_import() {
    let h = Harness::with(|config| config.chunk_rows = 2);
    h.import("grow", SMALL).await;
    let more = "c,y,x\nz,5,10\n,7,NA\nb,1e3,-2\n";
    let info = h
        .state
        .update(update("grow", UpdateMode::Append, "more", more))
        .await
        .unwrap();
    assert_eq!((info.version, info.latest_version, info.rows), (2, 2, 7));

    let concatenated = format!("{SMALL}10,5,z\nNA,7,\n-2,1e3,b\n");
    let fresh = h.import("fresh", &concatenated).await;
    let appended = h.state.get(GetRequest::all("grow")).await.unwrap();
    let whole = h.state.get(GetRequest::all(fresh.id)).await.unwrap();
    assert_eq!(
        format!("{:?}", appended.frame),
        format!("{:?}", whole.frame),
        "NaN-aware equality"
    );
    let grown = h.state.describe("grow".into(), None).await.unwrap();
    let reference = h.state.describe(fresh.id.into(), None).await.unwrap();
    same_summaries(&grown.columns, &reference.columns);

    let old = h
        .state
        .get(GetRequest {
            version: Some(1),
            ..GetRequest::all("grow")
        })
        .await
        .unwrap();
    assert_eq!(
        (old.info.version, old.info.latest_version, old.frame.rows()),
        (1, 2, 4)
    );
    let versions = h.state.versions("grow".into()).await.unwrap();
    let numbers: Vec<(u32, u64)> = versions.iter().map(|v| (v.version, v.rows)).collect();
    assert_eq!(numbers, [(1, 4), (2, 7)]);
    assert!(versions[1].source.starts_with("more.csv"));
}

#[tokio::test]
async fn append_refuses_rows_that_do_not_fit() {
    let h = Harness::new();
    h.import("fit", SMALL).await;
    let result = h
        .state
        .update(update(
            "fit",
            UpdateMode::Append,
            "wide",
            "x,y,c,d\n1,2,a,4\n",
        ))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["wide.csv", "missing none", "unexpected `d`"],
    );
    let result = h
        .state
        .update(update("fit", UpdateMode::Append, "narrow", "x,c\n1,a\n"))
        .await;
    assert_error(result, ErrorKind::InvalidInput, &["missing `y`"]);
    let result = h
        .state
        .update(update(
            "fit",
            UpdateMode::Append,
            "text",
            "x,y,c\n1,2,a\n3,four,b\n",
        ))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["text.csv: line 3, column `y`: `four`"],
    );
    let versions = h.state.versions("fit".into()).await.unwrap();
    assert_eq!(versions.len(), 1, "no version was added");
}

#[tokio::test]
async fn append_refuses_options_that_only_a_replace_uses() {
    let h = Harness::new();
    h.import("fit", SMALL).await;
    let more = "x,y,c\n5,6,a\n";
    let with_target = UpdateRequest {
        target: Some("y".into()),
        ..update("fit", UpdateMode::Append, "more", more)
    };
    assert_error(
        h.state.update(with_target).await,
        ErrorKind::InvalidInput,
        &["`target` applies only to an import or a replace, not to an append"],
    );
    let with_categories = UpdateRequest {
        csv: CsvOptions {
            delimiter: None,
            categorical: vec!["x".into()],
        },
        ..update("fit", UpdateMode::Append, "more", more)
    };
    assert_error(
        h.state.update(with_categories).await,
        ErrorKind::InvalidInput,
        &["`csv.categorical` applies only"],
    );
    let versions = h.state.versions("fit".into()).await.unwrap();
    assert_eq!(versions.len(), 1, "no version was added");
}

#[tokio::test]
async fn replace_takes_a_new_schema_and_keeps_the_target() {
    let h = Harness::new();
    let info = h
        .state
        .import(ImportRequest::new(bytes("r", SMALL)).name("r").target("y"))
        .await
        .unwrap();
    let replaced = h
        .state
        .update(update("r", UpdateMode::Replace, "next", "y,w\n1,p\n2,q\n"))
        .await
        .unwrap();
    assert_eq!((replaced.version, replaced.rows), (2, 2));
    assert_eq!(replaced.schema.target.as_deref(), Some("y"));
    assert_eq!(replaced.schema.columns[1].kind, ColumnKind::Categorical);
    let gone_target = h
        .state
        .update(update("r", UpdateMode::Replace, "last", "a\n1\n"))
        .await
        .unwrap();
    assert_eq!(gone_target.schema.target, None);
    let first = h.state.describe(info.id.into(), Some(1)).await.unwrap();
    assert_eq!(first.info.schema, info.schema);

    let result = h
        .state
        .get(GetRequest {
            version: Some(9),
            ..GetRequest::all("r")
        })
        .await;
    assert_error(
        result,
        ErrorKind::NotFound,
        &["`r`", "version 9", "latest is 3"],
    );
}

#[tokio::test]
async fn unknown_datasets_are_not_found() {
    let h = Harness::new();
    assert_error(
        h.state.get(GetRequest::all(DatasetId(42))).await,
        ErrorKind::NotFound,
        &["dataset 42"],
    );
    assert_error(
        h.state.describe("ghost".into(), None).await,
        ErrorKind::NotFound,
        &["`ghost`"],
    );
    assert_error(
        h.state.versions("ghost".into()).await,
        ErrorKind::NotFound,
        &["`ghost`"],
    );
    assert_error(
        h.state.delete(DatasetId(7).into()).await,
        ErrorKind::NotFound,
        &["dataset 7"],
    );
    let result = h
        .state
        .update(update("ghost", UpdateMode::Append, "g", "a\n1\n"))
        .await;
    assert_error(result, ErrorKind::NotFound, &["`ghost`"]);
}

#[tokio::test]
async fn delete_removes_a_dataset_and_reclaims_its_chunks() {
    let h = Harness::with(|config| config.chunk_rows = 2);
    let keep = h.import("keep", SMALL).await;
    let chunks_kept = h.count("chunks");
    h.import("drop", SMALL).await;
    h.state
        .update(update("drop", UpdateMode::Append, "more", "x,y,c\n5,6,a\n"))
        .await
        .unwrap();
    assert!(h.count("chunks") > chunks_kept);

    let deleted = h.state.delete("drop".into()).await.unwrap();
    assert_eq!((deleted.name.as_str(), deleted.versions), ("drop", 2));
    assert_eq!(h.count("chunks"), chunks_kept);
    assert_eq!(h.count("version_chunks"), chunks_kept);
    assert_error(
        h.state.get(GetRequest::all("drop")).await,
        ErrorKind::NotFound,
        &["`drop`"],
    );
    let list = h.state.list().await.unwrap();
    assert_eq!(list, std::slice::from_ref(&keep));
    let page = h.state.get(GetRequest::all(keep.id)).await.unwrap();
    assert_eq!(page.frame.rows(), 4);
}

#[tokio::test]
async fn delete_gives_the_space_back_to_the_file_system() {
    let h = Harness::new();
    h.import("keep", SMALL).await;
    let text: String = std::iter::once("a,b,c,d,e\n".to_owned())
        .chain((0..200_000).map(|i| {
            let i = f64::from(i);
            format!("{},{},{},{},{}\n", i, i * 0.5, i + 0.25, -i, i * 1e-3)
        }))
        .collect();
    h.state
        .import(ImportRequest::new(bytes("big", &text)))
        .await
        .unwrap();
    let (full, _) = h.checkpoint();
    h.state.delete("big".into()).await.unwrap();
    let (size, free) = h.checkpoint();
    assert_eq!(free, 0, "every freed page went back to the file system");
    assert!(size < full / 8, "the file went from {full} to {size} bytes");
    let page = h.state.get(GetRequest::all("keep")).await.unwrap();
    assert_eq!(page.frame.rows(), 4);
}

#[tokio::test]
async fn damaged_data_is_reported_as_an_incident_not_as_its_cause() {
    let h = Harness::new();
    let info = h.import("d", SMALL).await;
    h.raw()
        .execute("UPDATE versions SET schema_json = '{broken'", [])
        .unwrap();
    let error = h.state.get(GetRequest::all(info.id)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal);
    let message = error.to_string();
    assert!(
        message.starts_with("`get` failed (incident ")
            && message.ends_with("; see the datasets service log)"),
        "{message}"
    );
    assert!(!message.contains("schema"), "{message}");
}

#[tokio::test]
async fn datasets_survive_closing_and_reopening() {
    let h = Harness::new();
    let first = h.import("one", SMALL).await;
    h.state
        .update(update("one", UpdateMode::Append, "more", "x,y,c\n5,6,a\n"))
        .await
        .unwrap();
    let before = h.state.get(GetRequest::all("one")).await.unwrap();
    let Harness { dir, state } = h;
    let config = state.config().clone();
    state.close();
    within(state.idle()).await;
    assert_error(
        state.list().await,
        ErrorKind::Unavailable,
        &["the datasets service is shutting down"],
    );
    drop(state);
    let reopened = DatasetsState::open(config).unwrap();
    let list = reopened.list().await.unwrap();
    assert_eq!((list.len(), list[0].id, list[0].version), (1, first.id, 2));
    let after = reopened.get(GetRequest::all("one")).await.unwrap();
    assert_eq!(format!("{after:?}"), format!("{before:?}"));
    let second = reopened
        .import(ImportRequest::new(bytes("two", SMALL)))
        .await
        .unwrap();
    assert!(second.id > first.id);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_beyond_the_limit_are_refused_until_the_work_really_ends() {
    let h = Harness::with(|config| {
        config.max_concurrent_writes = 1;
        config.allow_private_urls = true;
    });
    let server = serve_gated(http_response("200 OK", "a\n1\n"));
    let state = h.state.clone();
    let url = format!("{}/slow.csv", server.url);
    let first =
        tokio::spawn(async move { state.import(ImportRequest::new(Source::Url { url })).await });
    within(server.accepted).await.unwrap();
    // The first import holds the only write permit while it waits for the server.
    let second = || ImportRequest::new(bytes("second", "a\n1\n"));
    let limit = ["limit of 1 concurrent writes", "`max_concurrent_writes`"];
    assert_error(
        h.state.import(second()).await,
        ErrorKind::Overloaded,
        &limit,
    );
    assert_error(
        h.state.delete("second".into()).await,
        ErrorKind::Overloaded,
        &limit,
    );
    assert!(h.state.list().await.unwrap().is_empty(), "reads go on");
    // Its caller goes away, but the work still runs, and still holds the permit.
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    assert_error(
        h.state.import(second()).await,
        ErrorKind::Overloaded,
        &limit,
    );
    server.release.send(()).unwrap();
    within(h.state.idle()).await;
    server.thread.join().unwrap();
    h.import("second", "a\n1\n").await;
    let names: Vec<String> = h
        .state
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["second"], "the abandoned import stored nothing");
}

#[tokio::test]
async fn a_cancelled_import_stores_nothing() {
    let h = Harness::with(|config| config.chunk_rows = 100);
    let text: String = std::iter::once("a,b\n".to_owned())
        .chain((0..200_000).map(|i| format!("{i},{}\n", i % 7)))
        .collect();
    let request = ImportRequest::new(bytes("big", &text));
    // Dropping the future (as tarpc does at a deadline) raises the cancel flag; the import
    // cannot commit after that, whether it was scanning or writing.
    let timed_out =
        tokio::time::timeout(std::time::Duration::from_millis(1), h.state.import(request)).await;
    assert!(
        timed_out.is_err(),
        "200,000 rows take more than a millisecond"
    );
    // This write waits for the cancelled one if it holds the writer.
    h.import("after", "a\n1\n").await;
    // The cancelled work may still be running: wait until it has ended.
    within(h.state.idle()).await;
    let names: Vec<String> = h
        .state
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["after"]);
    // Only `after`'s rows: one dataset, one version, one chunk and its link.
    assert_eq!(h.counts(), [1, 1, 1, 1]);
}

#[tokio::test]
async fn opening_removes_downloads_left_by_a_killed_process() {
    let h = Harness::new();
    let tmp = h.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("download-abc123.csv"), "a\n1\n").unwrap();
    std::fs::write(tmp.join("keep.txt"), "not ours").unwrap();
    DatasetsState::open(h.state.config().clone()).unwrap();
    let left: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["keep.txt"]);
}
