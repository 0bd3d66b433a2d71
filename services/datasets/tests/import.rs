//! Importing: every kind of source, schema inference, and every kind of bad input.

mod common;

use common::{
    Harness, assert_error, bytes, http_response, http_unsized_response, serve_headers_only,
    serve_once, serve_silence,
};
use mltools_core::datasets::{Builtin, CsvOptions, GetRequest, ImportRequest, Source};
use mltools_core::frame::{ColumnData, ColumnKind};
use mltools_core::{ErrorKind, MISSING_CODE};
use std::sync::{Arc, Mutex, OnceLock};

fn numbers(data: &ColumnData) -> &[f64] {
    match data {
        ColumnData::Numeric(values) => values,
        other => panic!("expected numbers, got {other:?}"),
    }
}

fn codes(data: &ColumnData) -> (&[u32], &[String]) {
    match data {
        ColumnData::Categorical { codes, categories } => (codes, categories),
        other => panic!("expected categories, got {other:?}"),
    }
}

#[tokio::test]
async fn import_from_a_file_path() {
    let h = Harness::new();
    let path = h.dir.path().join("houses.csv");
    std::fs::write(&path, "rooms,price\n3,250.5\n4,310\n").unwrap();
    let path = path.display().to_string();
    let info = h
        .state
        .import(ImportRequest::new(Source::File { path: path.clone() }).target("price"))
        .await
        .unwrap();
    assert_eq!(
        (info.name.as_str(), info.version, info.rows),
        ("houses", 1, 2)
    );
    assert_eq!(info.source, path);
    assert_eq!(info.schema.target.as_deref(), Some("price"));
    let page = h.state.get(GetRequest::all(info.id)).await.unwrap();
    assert_eq!(numbers(&page.frame.columns[1].data), [250.5, 310.0]);
}

#[tokio::test]
async fn import_from_bytes_infers_the_schema() {
    let h = Harness::new();
    let text = "\u{feff}id ; city ; temp\n1;\"Paris; FR\"; 12.5\n2; Oslo ;NA\n3;\"Rome\";\n";
    let info = h
        .state
        .import(ImportRequest::new(bytes("weather", text)))
        .await
        .unwrap();
    assert_eq!(info.name, "weather");
    assert_eq!(info.source, format!("weather.csv ({} bytes)", text.len()));
    let kinds: Vec<(&str, ColumnKind)> = info
        .schema
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.kind))
        .collect();
    use ColumnKind::{Categorical as C, Numeric as N};
    assert_eq!(kinds, [("id", N), ("city", C), ("temp", N)]);
    let page = h.state.get(GetRequest::all(info.id)).await.unwrap();
    let (city, categories) = codes(&page.frame.columns[1].data);
    assert_eq!(city, [0, 1, 2]);
    assert_eq!(categories, ["Paris; FR", "Oslo", "Rome"]);
    let temp = numbers(&page.frame.columns[2].data);
    assert_eq!(temp[0], 12.5);
    assert!(temp[1].is_nan() && temp[2].is_nan());
}

#[tokio::test]
async fn an_empty_line_is_a_missing_value_in_a_file_of_one_column_only() {
    let h = Harness::new();
    let one = h.import("one", "y\n1\n\n3\n").await;
    assert_eq!(one.rows, 3);
    let page = h.state.get(GetRequest::all(one.id)).await.unwrap();
    let y = numbers(&page.frame.columns[0].data);
    assert_eq!((y[0], y[2]), (1.0, 3.0));
    assert!(y[1].is_nan());
    let description = h.state.describe(one.id.into(), None).await.unwrap();
    assert_eq!(description.columns[0].missing, 1);

    let text = h.import("labels", "k\r\na\r\n\r\nb\r\n\r\n").await;
    let page = h.state.get(GetRequest::all(text.id)).await.unwrap();
    let (codes, labels) = codes(&page.frame.columns[0].data);
    assert_eq!(
        (codes, labels),
        (
            &[0, MISSING_CODE, 1][..],
            &["a".to_owned(), "b".to_owned()][..]
        )
    );

    let two = h.import("two", "a,b\n1,2\n\n3,4\n").await;
    assert_eq!(two.rows, 2, "with several columns an empty line is no row");
}

#[tokio::test]
async fn tabs_forced_categories_and_missing_tokens() {
    let h = Harness::new();
    let text = "zip\tlabel\tscore\n75001\tNULL\t1\n10115\tb\tN/A\n75001\tb\tnull\n";
    let request = ImportRequest {
        csv: CsvOptions {
            delimiter: None,
            categorical: vec!["zip".into()],
        },
        ..ImportRequest::new(bytes("codes", text))
    };
    let info = h.state.import(request).await.unwrap();
    let page = h.state.get(GetRequest::all(info.id)).await.unwrap();
    let (zip, zips) = codes(&page.frame.columns[0].data);
    assert_eq!(
        (zip, zips),
        (
            &[0, 1, 0][..],
            &["75001".to_owned(), "10115".to_owned()][..]
        )
    );
    let (label, _) = codes(&page.frame.columns[1].data);
    assert_eq!(label, [MISSING_CODE, 0, 0]);
    let score = numbers(&page.frame.columns[2].data);
    assert_eq!(score[0], 1.0);
    assert!(score[1].is_nan() && score[2].is_nan());

    let all_missing = h.import("blank", "a,b\n1,\n2,NA\n").await;
    assert_eq!(all_missing.schema.columns[1].kind, ColumnKind::Numeric);
}

/// Everything this test binary logs, at every level.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Captured(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
}

struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buffer);
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn import_from_a_url_removes_its_download_and_keeps_no_credentials() {
    let logs = captured_logs();
    let h = Harness::with(|config| config.allow_private_urls = true);
    let (base, server) = serve_once(http_response("200 OK", "a,b\n1,x\n2,y\n"));
    let host = base.trim_start_matches("http://");
    let url = format!("http://alice:s3cret@{host}/data/sales.csv?token=abc123#part");
    let info = h
        .state
        .import(ImportRequest::new(Source::Url { url: url.clone() }))
        .await
        .unwrap();
    server.join().unwrap();
    let shown = format!("{base}/data/sales.csv");
    assert_eq!(
        (info.name.as_str(), info.rows, info.source.as_str()),
        ("sales", 2, shown.as_str())
    );
    let stored = h.state.versions("sales".into()).await.unwrap();
    assert_eq!(stored[0].source, shown);
    let leftovers = std::fs::read_dir(h.dir.path().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "the temporary download is removed");

    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains(&shown), "the import is logged: {logged}");
    for secret in ["s3cret", "alice", "abc123", "token"] {
        assert!(!logged.contains(secret), "`{secret}` was logged: {logged}");
    }
}

#[tokio::test]
async fn url_failures_map_to_kinds() {
    let h = Harness::with(|config| {
        config.http_timeout_ms = 300;
        config.allow_private_urls = true;
    });
    let (base, server) = serve_once(http_response("404 Not Found", "gone"));
    let url = format!("{base}/missing.csv");
    let result = h
        .state
        .import(ImportRequest::new(Source::Url {
            url: format!("{url}?key=k3y"),
        }))
        .await;
    assert_error(result, ErrorKind::NotFound, &[&format!("{url}: "), "404"]);
    server.join().unwrap();

    let (base, server) = serve_once(http_response("503 Service Unavailable", ""));
    let result = h
        .state
        .import(ImportRequest::new(Source::Url {
            url: format!("{base}/a.csv"),
        }))
        .await;
    assert_error(result, ErrorKind::Unavailable, &["503"]);
    server.join().unwrap();

    let (base, server) = serve_silence();
    let started = std::time::Instant::now();
    let url = format!("{base}/slow.csv");
    let result = h
        .state
        .import(ImportRequest::new(Source::Url { url: url.clone() }))
        .await;
    assert_error(result, ErrorKind::Timeout, &[&url, "300 ms"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    server.join().unwrap();

    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/x.csv");
    let result = h
        .state
        .import(ImportRequest::new(Source::Url { url: url.clone() }))
        .await;
    assert_error(result, ErrorKind::Unavailable, &[&url]);
    assert!(h.state.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_download_that_never_finishes_hits_the_total_timeout() {
    let h = Harness::with(|config| {
        config.http_timeout_ms = 10_000;
        config.http_total_timeout_ms = 300;
        config.allow_private_urls = true;
    });
    let (base, server) = serve_headers_only();
    let url = format!("{base}/endless.csv");
    let started = std::time::Instant::now();
    let result = h
        .state
        .import(ImportRequest::new(Source::Url { url: url.clone() }))
        .await;
    assert_error(
        result,
        ErrorKind::Timeout,
        &[&url, "did not finish within 300 ms"],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    server.join().unwrap();
    assert!(h.state.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn download_without_a_length_over_the_size_cap_is_refused() {
    let h = Harness::with(|config| {
        config.max_download_bytes = 64;
        config.allow_private_urls = true;
    });
    let body: String = std::iter::once("a,b\n".to_owned())
        .chain((0..100).map(|i| format!("{i},{i}\n")))
        .collect();
    let (base, server) = serve_once(http_unsized_response(&body));
    let result = h
        .state
        .import(ImportRequest::new(Source::Url {
            url: format!("{base}/streamed.csv"),
        }))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["streamed.csv", "limit of 64 bytes"],
    );
    server.join().unwrap();
    let leftovers = std::fs::read_dir(h.dir.path().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "the partial download is removed");
}

#[tokio::test]
async fn download_over_the_size_cap_is_refused() {
    let h = Harness::with(|config| {
        config.max_download_bytes = 8;
        config.allow_private_urls = true;
    });
    let (base, server) = serve_once(http_response("200 OK", "a,b\n1,2\n3,4\n"));
    let result = h
        .state
        .import(ImportRequest::new(Source::Url {
            url: format!("{base}/big.csv"),
        }))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["big.csv", "limit of 8 bytes"],
    );
    server.join().unwrap();
}

#[tokio::test]
async fn builtins_load_with_their_targets() {
    let h = Harness::new();
    let expected = [
        (Builtin::Iris, 150, 4, "species", ColumnKind::Categorical),
        (
            Builtin::BreastCancer,
            569,
            30,
            "diagnosis",
            ColumnKind::Categorical,
        ),
        (
            Builtin::Diabetes,
            442,
            10,
            "progression",
            ColumnKind::Numeric,
        ),
        (Builtin::Digits, 1797, 64, "digit", ColumnKind::Categorical),
        (Builtin::Boston, 506, 13, "price", ColumnKind::Numeric),
    ];
    for (builtin, rows, features, target, kind) in expected {
        let info = h
            .state
            .import(ImportRequest::new(Source::Builtin { name: builtin }))
            .await
            .unwrap();
        assert_eq!(info.name, builtin.as_str());
        assert_eq!(
            (info.rows, info.schema.columns.len()),
            (rows, features + 1),
            "{builtin:?}"
        );
        assert_eq!(info.schema.target.as_deref(), Some(target));
        let last = info.schema.columns.last().unwrap();
        assert_eq!((last.name.as_str(), last.kind), (target, kind));
        assert!(
            info.schema.columns[..features]
                .iter()
                .all(|c| c.kind == ColumnKind::Numeric)
        );
    }
}

#[tokio::test]
async fn builtin_iris_and_breast_cancer_match_smartcore() {
    use smartcore::dataset::{breast_cancer, iris};
    let h = Harness::new();
    let load = |name| ImportRequest::new(Source::Builtin { name });

    let info = h.state.import(load(Builtin::Iris)).await.unwrap();
    let page = h.state.get(GetRequest::all(info.id)).await.unwrap();
    let set = iris::load_dataset();
    assert_eq!(page.frame.columns[0].name, "sepal length (cm)");
    assert_eq!(numbers(&page.frame.columns[0].data)[0], f64::from(5.1f32));
    for (index, column) in page.frame.columns[..4].iter().enumerate() {
        let want: Vec<f64> = set
            .data
            .iter()
            .skip(index)
            .step_by(4)
            .map(|&v| f64::from(v))
            .collect();
        assert_eq!(numbers(&column.data), want);
    }
    let (species, labels) = codes(&page.frame.columns[4].data);
    assert_eq!(labels, ["setosa", "versicolor", "virginica"]);
    assert_eq!(species, set.target);

    let info = h.state.import(load(Builtin::BreastCancer)).await.unwrap();
    let page = h
        .state
        .get(GetRequest::all(info.id).columns_of(&["diagnosis"]))
        .await
        .unwrap();
    let (diagnosis, labels) = codes(&page.frame.columns[0].data);
    assert_eq!(labels, ["malignant", "benign"]);
    assert_eq!(diagnosis, breast_cancer::load_dataset().target);
}

#[tokio::test]
async fn builtin_digits_and_boston_match_smartcore() {
    use smartcore::dataset::{boston, digits};
    let h = Harness::new();
    let load = |name| ImportRequest::new(Source::Builtin { name });

    let info = h.state.import(load(Builtin::Digits)).await.unwrap();
    assert_eq!(info.schema.columns[0].name, "x0");
    let page = h
        .state
        .get(GetRequest::all(info.id).columns_of(&["digit"]))
        .await
        .unwrap();
    let (digit, labels) = codes(&page.frame.columns[0].data);
    assert_eq!(labels, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let want: Vec<u32> = digits::load_dataset()
        .target
        .iter()
        .map(|&y| y as u32)
        .collect();
    assert_eq!(digit, want);

    let info = h.state.import(load(Builtin::Boston)).await.unwrap();
    let page = h
        .state
        .get(GetRequest::all(info.id).columns_of(&["price", "CRIM"]))
        .await
        .unwrap();
    let set = boston::load_dataset();
    let want: Vec<f64> = set.target.iter().map(|&y| f64::from(y)).collect();
    assert_eq!(numbers(&page.frame.columns[0].data), want);
    assert_eq!(
        numbers(&page.frame.columns[1].data)[0],
        f64::from(set.data[0])
    );
}

trait Columns {
    fn columns_of(self, names: &[&str]) -> Self;
}

impl Columns for GetRequest {
    fn columns_of(mut self, names: &[&str]) -> Self {
        self.columns = Some(names.iter().map(|name| name.to_string()).collect());
        self
    }
}

#[tokio::test]
async fn bad_csv_is_refused_naming_the_culprit() {
    let h = Harness::new();
    h.import("kept", "a\n1\n").await;
    let cases: [(&str, &[u8], &[&str]); 7] = [
        (
            "ragged",
            b"a,b,c,d\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3\n",
            &["ragged.csv: line 7: expected 4 fields, got 3"],
        ),
        (
            "empty",
            b"",
            &["empty.csv: the file is empty (a header row is required)"],
        ),
        (
            "names",
            b"a,\xffb\n1,2\n",
            &["names.csv: line 1, column 2: invalid UTF-8"],
        ),
        ("header", b"a,b\n", &["header.csv", "no data rows"]),
        (
            "dupes",
            b"a,b,a,c,b\n1,2,3,4,5\n",
            &["dupes.csv", "`a`, `b`"],
        ),
        ("unnamed", b"a,,c\n1,2,3\n", &["unnamed.csv", "column 2"]),
        (
            "latin1",
            b"name,x\nok,1\nJos\xe9,2\n",
            &["latin1.csv", "line 3, column 1 (`name`)", "UTF-8"],
        ),
    ];
    for (name, data, needles) in cases {
        let source = Source::Bytes {
            label: format!("{name}.csv"),
            data: data.to_vec(),
        };
        let result = h.state.import(ImportRequest::new(source)).await;
        assert_error(result, ErrorKind::InvalidInput, needles);
    }
    let names: Vec<String> = h
        .state
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["kept"], "a failed import stores nothing");
    assert_eq!(h.count("datasets"), 1);
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_culprit() {
    let h = Harness::new();
    let text = "a,b\n1,2\n";
    let result = h
        .state
        .import(ImportRequest::new(bytes("t", text)).target("y"))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["t.csv: unknown target column `y`", "`a`, `b`"],
    );
    let request = ImportRequest {
        csv: CsvOptions {
            delimiter: None,
            categorical: vec!["zz".into()],
        },
        ..ImportRequest::new(bytes("t", text))
    };
    assert_error(
        h.state.import(request).await,
        ErrorKind::InvalidInput,
        &["t.csv: unknown categorical column `zz`", "`a`, `b`"],
    );

    let missing = h.dir.path().join("nope.csv").display().to_string();
    let result = h
        .state
        .import(ImportRequest::new(Source::File {
            path: missing.clone(),
        }))
        .await;
    assert_error(result, ErrorKind::NotFound, &[&missing]);

    // Paths the caller got wrong: a directory, a path through a file.
    let directory = h.dir.path().display().to_string();
    let file = h.dir.path().join("plain.csv");
    std::fs::write(&file, text).unwrap();
    let through_file = file.join("inner.csv").display().to_string();
    for path in [directory, through_file] {
        let result = h
            .state
            .import(ImportRequest::new(Source::File { path: path.clone() }))
            .await;
        assert_error(
            result,
            ErrorKind::InvalidInput,
            &[&format!("file `{path}` cannot be read")],
        );
    }

    let long = "n".repeat(201);
    for (name, rule) in [
        ("", "empty"),
        ("2024", "digits"),
        (long.as_str(), "200"),
        ("a\tb", "control"),
    ] {
        let result = h
            .state
            .import(ImportRequest::new(bytes("t", text)).name(name))
            .await;
        assert_error(result, ErrorKind::InvalidInput, &["bad dataset name", rule]);
    }

    h.import("taken", text).await;
    let result = h
        .state
        .import(ImportRequest::new(bytes("t", text)).name("taken"))
        .await;
    assert_error(result, ErrorKind::AlreadyExists, &["`taken`", "id 1"]);
    assert_eq!(h.state.list().await.unwrap().len(), 1);
}
