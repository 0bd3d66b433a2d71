//! The `mltools` binary, run as a user runs it, against a data directory of its own.

mod support;

use std::process::{Command, Output};
use support::{json, mltools};

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "mltools failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn import_a_builtin_then_list_show_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let text = stdout(&mltools(data, &["datasets", "import", "builtin:iris"]));
    assert!(
        text.contains("`iris`, version 1 of 1: 150 rows × 5 columns, target `species`"),
        "{text}"
    );
    assert!(text.contains("sepal length (cm)"), "{text}");
    assert!(text.contains("first 5 rows"), "{text}");

    let listed = json(&mltools(data, &["datasets", "list", "--json"]));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "iris");
    assert_eq!(listed[0]["rows"], 150);

    let shown = json(&mltools(data, &["--json", "datasets", "show", "iris"]));
    let columns = shown["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 5);
    assert_eq!(columns[4]["name"], "species");
    assert_eq!(columns[4]["categorical"]["distinct"], 3);

    let deleted = json(&mltools(data, &["datasets", "delete", "1", "--json"]));
    assert_eq!(deleted["name"], "iris");
    let listed = json(&mltools(data, &["datasets", "list", "--json"]));
    assert!(listed.as_array().unwrap().is_empty());
}

#[test]
fn import_if_exists_keep_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    stdout(&mltools(data, &["datasets", "import", "builtin:diabetes"]));

    let again = mltools(data, &["datasets", "import", "builtin:diabetes"]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("diabetes"),
        "{stderr}"
    );

    let kept = json(&mltools(
        data,
        &[
            "datasets",
            "import",
            "builtin:diabetes",
            "--if-exists",
            "keep",
            "--json",
        ],
    ));
    assert_eq!(kept["info"]["version"], 1);
    let replaced = json(&mltools(
        data,
        &[
            "datasets",
            "import",
            "builtin:diabetes",
            "--if-exists",
            "replace",
            "--json",
        ],
    ));
    assert_eq!(replaced["info"]["version"], 2);
    let versions = json(&mltools(
        data,
        &["datasets", "versions", "diabetes", "--json"],
    ));
    assert_eq!(versions.as_array().unwrap().len(), 2);
}

#[test]
fn update_appends_a_version_and_old_versions_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let first = dir.path().join("sales.csv");
    std::fs::write(&first, "region,amount\nnorth,10\nsouth,20\n").unwrap();
    let more = dir.path().join("more.csv");
    std::fs::write(&more, "amount,region\n30,east\n").unwrap();

    stdout(&mltools(
        data,
        &[
            "datasets",
            "import",
            first.to_str().unwrap(),
            "--target",
            "amount",
        ],
    ));
    let updated = json(&mltools(
        data,
        &[
            "datasets",
            "update",
            "sales",
            more.to_str().unwrap(),
            "--append",
            "--json",
        ],
    ));
    assert_eq!(updated["info"]["version"], 2);
    assert_eq!(updated["info"]["rows"], 3);
    let v1 = json(&mltools(
        data,
        &["datasets", "show", "sales", "--version", "1", "--json"],
    ));
    assert_eq!(v1["info"]["rows"], 2);
    assert_eq!(v1["columns"][1]["numeric"]["mean"], 15.0);
}

#[test]
fn errors_name_their_culprit_and_exit_with_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let missing = mltools(data, &["datasets", "show", "nowhere"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("nowhere"), "{stderr}");

    let no_file = dir.path().join("absent.csv");
    let output = mltools(data, &["datasets", "import", no_file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("absent.csv"), "{stderr}");

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "a,b,c\n1,2,3\n4,5\n").unwrap();
    let output = mltools(data, &["datasets", "import", ragged.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ragged.csv") && stderr.contains("line 3"),
        "{stderr}"
    );

    let unknown = mltools(data, &["datasets", "import", "builtin:titanic"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("titanic"));

    let usage = mltools(data, &["datasets", "frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));

    // Nothing half-stored by the failures.
    let listed = json(&mltools(data, &["datasets", "list", "--json"]));
    assert!(listed.as_array().unwrap().is_empty());
}

#[test]
fn a_bad_config_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(&config, "[node]\nserve = [\"datasets\"]\nlisten_on = 5\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mltools"))
        .arg("--config")
        .arg(&config)
        .args(["datasets", "list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("listen_on") && stderr.contains("node.toml"),
        "{stderr}"
    );
}

#[test]
fn compare_a_builtin_writes_the_leaderboard_and_a_self_contained_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let report_dir = dir.path().join("report");
    let text = stdout(&mltools(
        data,
        &[
            "compare",
            "builtin:iris",
            "--folds",
            "3",
            "--report",
            report_dir.to_str().unwrap(),
        ],
    ));
    assert!(
        text.contains(
            "`iris` → species (classification, 150 rows, 3-fold CV, seed 0), ranked by accuracy"
        ),
        "{text}"
    );
    assert!(text.contains("best model stored as model 1"), "{text}");
    let html = std::fs::read_to_string(report_dir.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.matches("<svg").count() >= 3, "the plots are inline");
    assert!(
        !html.contains("src=\"http"),
        "nothing is fetched from elsewhere"
    );

    // Again on the stored dataset by name, as JSON, with a chosen model set and metric.
    let board = json(&mltools(
        data,
        &[
            "compare",
            "iris",
            "--models",
            "knn_classifier,gaussian_nb",
            "--metric",
            "f1_macro",
            "--json",
        ],
    ));
    assert_eq!(board["metric"], "f1_macro");
    assert_eq!(board["entries"].as_array().unwrap().len(), 2);

    // A parameter override reaches the model and shows in its spec.
    let board = json(&mltools(
        data,
        &[
            "compare",
            "iris",
            "--models",
            "knn_classifier",
            "--set",
            "knn_classifier.k=9",
            "--json",
        ],
    ));
    assert_eq!(board["entries"][0]["model"]["params"]["k"]["Integer"], 9);
    let bad = mltools(data, &["compare", "iris", "--set", "knn_classifier.k=0"]);
    assert_eq!(bad.status.code(), Some(1));

    let unknown = mltools(data, &["compare", "iris", "--models", "xgboost"]);
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains("unknown algorithm `xgboost`"), "{stderr}");
}

#[test]
fn predict_with_the_best_model_and_move_it_between_data_directories() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a");
    stdout(&mltools(
        &data,
        &["compare", "builtin:iris", "--folds", "3"],
    ));
    let rows = dir.path().join("flowers.csv");
    std::fs::write(
        &rows,
        "petal width (cm),sepal length (cm),sepal width (cm),petal length (cm),note\n\
         0.2,5.1,3.5,1.4,small\n2.3,6.9,3.1,5.7,large\n",
    )
    .unwrap();
    let text = stdout(&mltools(&data, &["predict", "1", rows.to_str().unwrap()]));
    assert_eq!(text, "row,species\n0,setosa\n1,virginica\n");

    let file = dir.path().join("model.bin");
    stdout(&mltools(
        &data,
        &["models", "export", "1", file.to_str().unwrap()],
    ));
    let other = dir.path().join("b");
    let imported = json(&mltools(
        &other,
        &["models", "import", file.to_str().unwrap(), "--json"],
    ));
    let id = imported["id"].to_string();
    let again = stdout(&mltools(&other, &["predict", &id, rows.to_str().unwrap()]));
    assert_eq!(again, text, "the imported model predicts the same");

    let listed = json(&mltools(&other, &["models", "list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Any chosen model, fitted on every row and stored.
    let fitted = json(&mltools(
        &data,
        &[
            "models",
            "fit",
            "iris",
            "knn_classifier",
            "--set",
            "k=3",
            "--json",
        ],
    ));
    assert_eq!(fitted["spec"]["params"]["k"]["Integer"], 3);
    let id = fitted["id"].to_string();
    let text = stdout(&mltools(&data, &["predict", &id, rows.to_str().unwrap()]));
    assert_eq!(text, "row,species\n0,setosa\n1,virginica\n");
    let algorithms = stdout(&mltools(&other, &["models", "algorithms"]));
    assert!(algorithms.contains("logistic_regression"), "{algorithms}");

    // A semicolon-separated file is read as imports read it.
    let semicolons = dir.path().join("flowers-semicolons.csv");
    std::fs::write(
        &semicolons,
        "petal width (cm);sepal length (cm);sepal width (cm);petal length (cm)\n0.2;5.1;3.5;1.4\n",
    )
    .unwrap();
    let text = stdout(&mltools(
        &data,
        &["predict", "1", semicolons.to_str().unwrap()],
    ));
    assert_eq!(text, "row,species\n0,setosa\n");

    let short = dir.path().join("short.csv");
    std::fs::write(&short, "sepal length (cm)\n5.1\n").unwrap();
    let output = mltools(&data, &["predict", "1", short.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("short.csv") && stderr.contains("petal width (cm)"),
        "{stderr}"
    );
    let output = mltools(&data, &["predict", "77", rows.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("77"));
}
