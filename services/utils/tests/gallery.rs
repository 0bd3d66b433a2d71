//! Every plot kind rendered from real data (smartcore's bundled iris, breast cancer and
//! diabetes sets, with models fitted through this crate's pipelines and folds), checked as
//! well-formed PNG and SVG, and written to `$TMPDIR/mltools-plots/<name>.{png,svg}` for a
//! person to look at.

use mltools_core::utils::{
    AlgorithmFamily, ImageFormat, LeaderboardBar, Matrix, PlotKind, SplitKind, SplitRequest,
};
use mltools_core::{Column, Frame};
use mltools_utils::preprocessing::{default_pipeline, fit, split, transform};
use mltools_utils::visualization::render;
use smartcore::dataset::Dataset;
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::linear_regression::LinearRegression;
use smartcore::linear::logistic_regression::LogisticRegression;
use std::path::PathBuf;

fn frame_of<Y>(dataset: &Dataset<f32, Y>) -> Frame {
    let columns = dataset
        .feature_names
        .iter()
        .enumerate()
        .map(|(feature, name)| {
            let values = (0..dataset.num_samples)
                .map(|row| f64::from(dataset.data[row * dataset.num_features + feature]))
                .collect();
            Column::numeric(name.clone(), values)
        })
        .collect();
    Frame { columns }
}

fn subset(frame: &Frame, rows: &[u32]) -> Frame {
    let columns = frame
        .columns
        .iter()
        .map(|column| match &column.data {
            mltools_core::ColumnData::Numeric(values) => Column::numeric(
                column.name.clone(),
                rows.iter().map(|&row| values[row as usize]).collect(),
            ),
            mltools_core::ColumnData::Categorical { .. } => {
                unreachable!("the data sets are numeric")
            }
        })
        .collect();
    Frame { columns }
}

fn dense(matrix: &Matrix) -> DenseMatrix<f64> {
    let width = matrix.columns.len();
    let rows: Vec<Vec<f64>> = matrix.values.chunks(width).map(<[f64]>::to_vec).collect();
    DenseMatrix::from_2d_vec(&rows).expect("a rectangular matrix")
}

/// The folds' train and test matrices, preprocessed with `family`'s default pipeline
/// fitted on each training fold only.
fn folds(
    frame: &Frame,
    labels: Option<Vec<u32>>,
    k: usize,
    family: AlgorithmFamily,
) -> Vec<(Vec<u32>, Matrix, Vec<u32>, Matrix)> {
    let request = SplitRequest {
        rows: frame.rows(),
        kind: SplitKind::KFold { k },
        seed: 2024,
        stratify: labels,
    };
    split(&request)
        .unwrap()
        .into_iter()
        .map(|fold| {
            let fitted = fit(&default_pipeline(family), subset(frame, &fold.train)).unwrap();
            let train = transform(&fitted, subset(frame, &fold.train)).unwrap();
            let test = transform(&fitted, subset(frame, &fold.test)).unwrap();
            (fold.train, train, fold.test, test)
        })
        .collect()
}

fn accuracy(predicted: &[u32], actual: &[u32]) -> f64 {
    predicted.iter().zip(actual).filter(|(p, a)| p == a).count() as f64 / actual.len() as f64
}

fn mean_std(values: &[f64]) -> (f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    (mean, variance.sqrt())
}

type Classifier = fn(&DenseMatrix<f64>, &Vec<u32>, &DenseMatrix<f64>) -> Vec<u32>;

fn classifiers() -> Vec<(&'static str, AlgorithmFamily, Classifier)> {
    use smartcore::ensemble::random_forest_classifier::RandomForestClassifier;
    use smartcore::naive_bayes::gaussian::GaussianNB;
    use smartcore::neighbors::knn_classifier::KNNClassifier;
    use smartcore::tree::decision_tree_classifier::DecisionTreeClassifier;
    vec![
        ("logistic regression", AlgorithmFamily::Linear, |x, y, t| {
            LogisticRegression::fit(x, y, Default::default())
                .unwrap()
                .predict(t)
                .unwrap()
        }),
        (
            "k-nearest neighbours (k = 5)",
            AlgorithmFamily::Neighbors,
            |x, y, t| {
                KNNClassifier::fit(x, y, Default::default())
                    .unwrap()
                    .predict(t)
                    .unwrap()
            },
        ),
        ("random forest", AlgorithmFamily::Tree, |x, y, t| {
            RandomForestClassifier::fit(x, y, Default::default())
                .unwrap()
                .predict(t)
                .unwrap()
        }),
        (
            "Gaussian naive Bayes",
            AlgorithmFamily::NaiveBayes,
            |x, y, t| {
                GaussianNB::fit(x, y, Default::default())
                    .unwrap()
                    .predict(t)
                    .unwrap()
            },
        ),
        ("decision tree", AlgorithmFamily::Tree, |x, y, t| {
            DecisionTreeClassifier::fit(x, y, Default::default())
                .unwrap()
                .predict(t)
                .unwrap()
        }),
    ]
}

fn pick(labels: &[u32], rows: &[u32]) -> Vec<u32> {
    rows.iter().map(|&row| labels[row as usize]).collect()
}

/// Renders `kind` as PNG and SVG, checks both, and writes the PNG for a person to see.
fn check_and_keep(name: &str, kind: PlotKind) {
    let png = render(kind.clone(), ImageFormat::Png, (800, 600), None).unwrap();
    assert!(
        png.bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{name}: not a PNG"
    );
    let mut reader = png::Decoder::new(std::io::Cursor::new(&png.bytes))
        .read_info()
        .unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (800, 600), "{name}");
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut pixels).unwrap();
    let inked = pixels
        .chunks(3)
        .filter(|rgb| rgb.iter().any(|&c| c < 200))
        .count();
    assert!(
        inked > 800 * 600 / 100,
        "{name}: the image is nearly blank ({inked} dark pixels)"
    );

    let svg = render(
        kind,
        ImageFormat::Svg,
        (800, 600),
        Some(&format!("{name} check")),
    )
    .unwrap();
    let text = String::from_utf8(svg.bytes).unwrap();
    assert!(
        text.contains(r#"width="800""#) && text.contains(r#"height="600""#),
        "{name}"
    );
    assert!(
        text.contains(&format!("{name} check")),
        "{name}: the title is missing"
    );

    let dir = std::env::temp_dir().join("mltools-plots");
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(format!("{name}.png"));
    std::fs::write(&path, &png.bytes).unwrap();
    std::fs::write(dir.join(format!("{name}.svg")), text).unwrap();
}

#[test]
fn dataset_overview() {
    let iris = frame_of(&smartcore::dataset::iris::load_dataset());
    check_and_keep(
        "histograms_iris",
        PlotKind::Histograms {
            frame: iris.clone(),
        },
    );
    check_and_keep("correlation_iris", PlotKind::Correlation { frame: iris });
    let cancer = frame_of(&smartcore::dataset::breast_cancer::load_dataset());
    check_and_keep(
        "histograms_breast_cancer",
        PlotKind::Histograms {
            frame: cancer.clone(),
        },
    );
    check_and_keep(
        "correlation_breast_cancer",
        PlotKind::Correlation { frame: cancer },
    );
}

#[test]
fn model_comparison_on_breast_cancer() {
    let dataset = smartcore::dataset::breast_cancer::load_dataset();
    let frame = frame_of(&dataset);
    let mut entries = Vec::new();
    for (model, family, classify) in classifiers() {
        let scores: Vec<f64> = folds(&frame, Some(dataset.target.clone()), 5, family)
            .into_iter()
            .map(|(train_rows, train, test_rows, test)| {
                let predicted = classify(
                    &dense(&train),
                    &pick(&dataset.target, &train_rows),
                    &dense(&test),
                );
                accuracy(&predicted, &pick(&dataset.target, &test_rows))
            })
            .collect();
        let (mean, std) = mean_std(&scores);
        entries.push(LeaderboardBar {
            model: model.to_owned(),
            mean,
            std,
        });
    }
    entries.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    assert!(entries[0].mean > 0.9, "{entries:?}");
    check_and_keep(
        "leaderboard_breast_cancer",
        PlotKind::Leaderboard {
            metric: "accuracy".into(),
            entries,
        },
    );
}

#[test]
fn classification_plots() {
    // Iris: the confusion matrix of logistic regression over 5 stratified folds.
    let iris = smartcore::dataset::iris::load_dataset();
    let frame = frame_of(&iris);
    let mut counts = vec![vec![0u64; 3]; 3];
    for (train_rows, train, test_rows, test) in folds(
        &frame,
        Some(iris.target.clone()),
        5,
        AlgorithmFamily::Linear,
    ) {
        let model = LogisticRegression::fit(
            &dense(&train),
            &pick(&iris.target, &train_rows),
            Default::default(),
        )
        .unwrap();
        for (predicted, actual) in model
            .predict(&dense(&test))
            .unwrap()
            .into_iter()
            .zip(pick(&iris.target, &test_rows))
        {
            counts[actual as usize][predicted as usize] += 1;
        }
    }
    assert_eq!(counts.iter().flatten().sum::<u64>(), 150);
    check_and_keep(
        "confusion_matrix_iris",
        PlotKind::ConfusionMatrix {
            labels: iris.target_names.clone(),
            counts,
        },
    );

    // Breast cancer: ROC of logistic regression's decision values on held-out folds, and
    // the standardised coefficients' magnitudes as feature importances.
    let cancer = smartcore::dataset::breast_cancer::load_dataset();
    let frame = frame_of(&cancer);
    let (mut labels, mut scores) = (Vec::new(), Vec::new());
    let mut importances = vec![0.0; cancer.num_features];
    for (train_rows, train, test_rows, test) in folds(
        &frame,
        Some(cancer.target.clone()),
        5,
        AlgorithmFamily::Linear,
    ) {
        let model = LogisticRegression::fit(
            &dense(&train),
            &pick(&cancer.target, &train_rows),
            Default::default(),
        )
        .unwrap();
        let (coefficients, intercept) = (model.coefficients(), *model.intercept().get((0, 0)));
        for (row, &original) in test_rows.iter().enumerate() {
            let width = test.columns.len();
            let x = &test.values[row * width..(row + 1) * width];
            scores.push(
                intercept
                    + x.iter()
                        .enumerate()
                        .map(|(j, v)| v * coefficients.get((0, j)))
                        .sum::<f64>(),
            );
            labels.push(cancer.target[original as usize] as u8);
        }
        for (feature, name) in frame.names().enumerate() {
            if let Some(column) = train.columns.iter().position(|c| c == name) {
                importances[feature] += coefficients.get((0, column)).abs() / 5.0;
            }
        }
    }
    check_and_keep("roc_breast_cancer", PlotKind::Roc { labels, scores });
    let names = cancer.feature_names.clone();
    check_and_keep(
        "feature_importance_breast_cancer",
        PlotKind::FeatureImportance { names, importances },
    );
}

#[test]
fn regression_plots() {
    // Diabetes: linear regression fitted on 80 % of the rows, evaluated on the rest.
    let diabetes = smartcore::dataset::diabetes::load_dataset();
    let frame = frame_of(&diabetes);
    let target: Vec<f64> = diabetes.target.iter().map(|&y| f64::from(y)).collect();
    let request = SplitRequest {
        rows: frame.rows(),
        kind: SplitKind::TrainTest { test_fraction: 0.2 },
        seed: 7,
        stratify: None,
    };
    let fold = split(&request).unwrap().remove(0);
    let fitted = fit(
        &default_pipeline(AlgorithmFamily::Linear),
        subset(&frame, &fold.train),
    )
    .unwrap();
    let train = transform(&fitted, subset(&frame, &fold.train)).unwrap();
    let test = transform(&fitted, subset(&frame, &fold.test)).unwrap();
    let train_target: Vec<f64> = fold.train.iter().map(|&row| target[row as usize]).collect();
    let model = LinearRegression::fit(&dense(&train), &train_target, Default::default()).unwrap();
    let predicted = model.predict(&dense(&test)).unwrap();
    let actual: Vec<f64> = fold.test.iter().map(|&row| target[row as usize]).collect();
    let target = Some("disease progression".to_owned());
    check_and_keep(
        "predicted_vs_actual_diabetes",
        PlotKind::PredictedVsActual {
            target: target.clone(),
            actual: actual.clone(),
            predicted: predicted.clone(),
        },
    );
    check_and_keep(
        "residuals_diabetes",
        PlotKind::Residuals {
            target,
            actual,
            predicted,
        },
    );
}

#[test]
fn awkward_data_still_draws() {
    // Negative scores (R² below zero), long names, a zero deviation.
    let entries = vec![
        LeaderboardBar {
            model: "gradient boosted trees with a very long descriptive name".into(),
            mean: 0.62,
            std: 0.05,
        },
        LeaderboardBar {
            model: "ridge".into(),
            mean: 0.41,
            std: 0.0,
        },
        LeaderboardBar {
            model: "dummy (mean)".into(),
            mean: -0.02,
            std: 0.01,
        },
        LeaderboardBar {
            model: "k-NN (k = 1)".into(),
            mean: -0.35,
            std: 0.12,
        },
    ];
    check_and_keep(
        "edge_leaderboard_negative",
        PlotKind::Leaderboard {
            metric: "R²".into(),
            entries,
        },
    );
    // A constant column, an all-missing column and a column with gaps.
    let frame = Frame {
        columns: vec![
            Column::numeric("constant", vec![3.0; 6]),
            Column::numeric("all missing", vec![f64::NAN; 6]),
            Column::numeric("gappy", vec![1.0, f64::NAN, 2.5, 2.0, f64::NAN, 9.0]),
            Column::categorical("ignored", vec![0; 6], vec!["a".into()]),
        ],
    };
    check_and_keep(
        "edge_histograms",
        PlotKind::Histograms {
            frame: frame.clone(),
        },
    );
    check_and_keep("edge_correlation", PlotKind::Correlation { frame });
    // Ten classes (digits-like), mostly right.
    let labels: Vec<String> = (0..10).map(|digit| format!("digit {digit}")).collect();
    let counts = (0..10u64)
        .map(|actual| {
            (0..10u64)
                .map(|predicted| {
                    if actual == predicted {
                        170 + actual
                    } else {
                        (actual * 7 + predicted * 3) % 5
                    }
                })
                .collect()
        })
        .collect();
    check_and_keep(
        "edge_confusion_ten_classes",
        PlotKind::ConfusionMatrix { labels, counts },
    );
    // Signed importances (coefficients) and a single feature.
    let names = vec![
        "positive effect".into(),
        "negative effect".into(),
        "tiny".into(),
    ];
    check_and_keep(
        "edge_importance_signed",
        PlotKind::FeatureImportance {
            names,
            importances: vec![0.8, -0.5, 0.001],
        },
    );
    // Nothing matters: every importance zero.
    let names = vec!["a".into(), "b".into()];
    check_and_keep(
        "edge_importance_zero",
        PlotKind::FeatureImportance {
            names,
            importances: vec![0.0, 0.0],
        },
    );
    // A perfect classifier with tied scores, and constant predictions.
    check_and_keep(
        "edge_roc_perfect",
        PlotKind::Roc {
            labels: vec![0, 0, 1, 1, 1],
            scores: vec![0.0, 0.0, 1.0, 1.0, 1.0],
        },
    );
    check_and_keep(
        "edge_residuals_constant",
        PlotKind::Residuals {
            target: None,
            actual: vec![1.0, 2.0, 3.0, 4.0],
            predicted: vec![2.5; 4],
        },
    );
}
