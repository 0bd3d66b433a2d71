//! The utils service through its tarpc interface, over each in-process transport (the
//! direct stub and tarpc's channel): preprocessing, splits, default pipelines, plots, and
//! every kind of bad input, each answered with a typed error naming the culprit.

mod common;

use common::{Harness, NAN, assert_close, numeric_sample, rows, sample};
use mltools_core::utils::{
    AlgorithmFamily, Fold, ImageFormat, Impute, LeaderboardBar, PipelineSpec, PlotKind,
    PlotRequest, Scale, SplitKind, SplitRequest, Step,
};
use mltools_core::{Column, ErrorKind, Frame, RpcResultExt, ServiceError};
use mltools_transport::tarpc::context;

fn scaled_after_median() -> PipelineSpec {
    PipelineSpec {
        steps: vec![
            Step::Impute {
                numeric: Some(Impute::Median),
                categorical: None,
            },
            Step::Scale(Scale::Standard),
        ],
    }
}

fn plot_request(kind: PlotKind, format: ImageFormat) -> PlotRequest {
    PlotRequest {
        kind,
        format,
        width: None,
        height: None,
        title: None,
    }
}

/// Asserts `result` is an `InvalidInput` error whose message contains every culprit.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, ServiceError>, culprits: &[&str]) {
    let error = result.expect_err("bad input must be refused");
    assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");
    for culprit in culprits {
        assert!(
            error.message.contains(culprit),
            "`{culprit}` not named in: {error}"
        );
    }
}

impl Harness {
    async fn fit(
        &self,
        spec: PipelineSpec,
        data: Frame,
    ) -> Result<mltools_core::utils::FittedPipeline, ServiceError> {
        self.client
            .fit_pipeline(context::current(), spec, data)
            .await
            .into_service("utils")
    }

    async fn transform(
        &self,
        pipeline: mltools_core::utils::FittedPipeline,
        data: Frame,
    ) -> Result<mltools_core::utils::Matrix, ServiceError> {
        self.client
            .transform(context::current(), pipeline, data)
            .await
            .into_service("utils")
    }

    async fn split(&self, request: SplitRequest) -> Result<Vec<Fold>, ServiceError> {
        self.client
            .split(context::current(), request)
            .await
            .into_service("utils")
    }

    async fn plot(&self, request: PlotRequest) -> Result<mltools_core::utils::Plot, ServiceError> {
        self.client
            .plot(context::current(), request)
            .await
            .into_service("utils")
    }
}

// ---- preprocessing ----

async fn fold_a_statistics_transform_fold_b(h: Harness) {
    let fitted = h
        .fit(scaled_after_median(), rows(&numeric_sample(), 0..4))
        .await
        .unwrap();
    let matrix = h
        .transform(fitted, rows(&numeric_sample(), 4..8))
        .await
        .unwrap();
    // scikit-learn: make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    //     .fit(X[:4]).transform(X[4:])
    assert_close(
        &matrix.values,
        &[
            -0.6013610183448558,
            -1.70341805429007,
            2.0873637749676623,
            0.23189738615912747,
            5.251332119674234,
            -1.3266356436461146,
            4.461076835434058,
            -0.5947180074751189,
            0.7514509589883583,
            1.1437650741068817,
            0.11762656031695336,
            -0.287592342328878,
        ],
    );
}

/// One call per fold gives what a fit and two transforms give, bit for bit, for every
/// family's default pipeline (imputing, capping, one-hot encoding, dropping constant
/// columns, scaling) on mixed columns; a bad test set is refused naming its culprit.
async fn a_fold_in_one_call_matches_fit_then_two_transforms(h: Harness) {
    let (train, test) = (rows(&sample(), 0..5), rows(&sample(), 5..8));
    for family in [AlgorithmFamily::Linear, AlgorithmFamily::Tree] {
        let spec = h
            .client
            .default_pipeline(context::current(), family)
            .await
            .into_service("utils")
            .unwrap();
        let fold = h
            .client
            .fit_transform(
                context::current(),
                spec.clone(),
                train.clone(),
                test.clone(),
            )
            .await
            .into_service("utils")
            .unwrap();
        let fitted = h.fit(spec, train.clone()).await.unwrap();
        let expected_train = h.transform(fitted.clone(), train.clone()).await.unwrap();
        let expected_test = h.transform(fitted, test.clone()).await.unwrap();
        assert_eq!(fold.train, expected_train, "{family:?}");
        assert_eq!(fold.test, expected_test, "{family:?}");
        assert_eq!(fold.train.rows, 5);
        assert_eq!(fold.test.rows, 3);
    }
    // Fitted on the three numeric columns, asked to transform all five.
    assert_invalid(
        h.client
            .fit_transform(
                context::current(),
                scaled_after_median(),
                numeric_sample(),
                test,
            )
            .await
            .into_service("utils"),
        &["fitted on 3 columns", "the data has 5"],
    );
}

async fn default_pipelines_scale_only_where_needed(h: Harness) {
    for (family, scaled) in [
        (AlgorithmFamily::Linear, true),
        (AlgorithmFamily::Svm, true),
        (AlgorithmFamily::Neighbors, true),
        (AlgorithmFamily::Tree, false),
        (AlgorithmFamily::NaiveBayes, false),
        (AlgorithmFamily::Boosting, false),
    ] {
        let spec = h
            .client
            .default_pipeline(context::current(), family)
            .await
            .into_service("utils")
            .unwrap();
        assert_eq!(
            spec.steps.iter().any(|step| matches!(step, Step::Scale(_))),
            scaled,
            "{family:?}"
        );
        // Every default pipeline takes the sample, gaps and categories included; boosting's
        // keeps the numeric gaps (as NaN, across the wire too) for the model to route.
        let fitted = h.fit(spec, sample()).await.unwrap();
        let matrix = h.transform(fitted, sample()).await.unwrap();
        let gaps = matrix.values.iter().filter(|value| value.is_nan()).count();
        assert!(
            matrix
                .values
                .iter()
                .all(|value| value.is_finite() || value.is_nan()),
            "{family:?}"
        );
        if family == AlgorithmFamily::Boosting {
            assert!(gaps > 0, "the sample's numeric gaps are kept");
        } else {
            assert_eq!(gaps, 0, "{family:?}");
        }
    }
}

// ---- splits ----

async fn splits_are_fixed_by_the_seed(h: Harness) {
    let request = SplitRequest {
        rows: 10,
        kind: SplitKind::KFold { k: 3 },
        seed: 42,
        stratify: None,
    };
    let folds = h.split(request.clone()).await.unwrap();
    let tests: Vec<Vec<u32>> = folds.iter().map(|fold| fold.test.clone()).collect();
    // SplitMix64 is written out, so these are the indices on every platform and version
    // (checked against an independent implementation of the same algorithm).
    assert_eq!(tests, [vec![3, 5, 6, 8], vec![0, 4, 9], vec![1, 2, 7]]);
    assert_eq!(h.split(request.clone()).await.unwrap(), folds);
    let reseeded = h
        .split(SplitRequest {
            seed: 43,
            ..request
        })
        .await
        .unwrap();
    assert_ne!(reseeded, folds);

    let labels = vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
    let stratified = SplitRequest {
        rows: 10,
        kind: SplitKind::TrainTest { test_fraction: 0.3 },
        seed: 7,
        stratify: Some(labels),
    };
    let folds = h.split(stratified).await.unwrap();
    // ceil(0.3 × 10) = 3 held out: 2 of the 6 zeros and 1 of the 4 ones.
    let expected = Fold {
        train: vec![0, 1, 2, 3, 6, 7, 9],
        test: vec![4, 5, 8],
    };
    assert_eq!(folds, [expected]);
}

async fn stratified_k_fold_keeps_proportions(h: Harness) {
    // Iris-like: three classes of 50, five folds of 10 + 10 + 10.
    let labels: Vec<u32> = (0..150).map(|row| row / 50).collect();
    let request = SplitRequest {
        rows: 150,
        kind: SplitKind::KFold { k: 5 },
        seed: 1,
        stratify: Some(labels.clone()),
    };
    let folds = h.split(request).await.unwrap();
    assert_eq!(folds.len(), 5);
    for fold in &folds {
        for class in 0..3 {
            let members = fold
                .test
                .iter()
                .filter(|&&row| labels[row as usize] == class)
                .count();
            assert_eq!(members, 10, "class {class} in {fold:?}");
        }
        assert_eq!(fold.train.len(), 120);
    }
}

// ---- plots ----

async fn every_plot_kind_renders_to_png_and_svg(h: Harness) {
    let kinds = [
        PlotKind::Histograms {
            frame: numeric_sample(),
        },
        PlotKind::Correlation {
            frame: numeric_sample(),
        },
        PlotKind::Leaderboard {
            metric: "accuracy".into(),
            entries: vec![
                LeaderboardBar {
                    model: "svc".into(),
                    mean: 0.97,
                    std: 0.02,
                },
                LeaderboardBar {
                    model: "knn".into(),
                    mean: 0.95,
                    std: 0.03,
                },
            ],
        },
        PlotKind::PredictedVsActual {
            target: Some("price".into()),
            actual: vec![1.0, 2.0, 3.0],
            predicted: vec![1.1, 1.9, 3.2],
        },
        PlotKind::Residuals {
            target: None,
            actual: vec![1.0, 2.0, 3.0],
            predicted: vec![1.1, 1.9, 3.2],
        },
        PlotKind::ConfusionMatrix {
            labels: vec!["no".into(), "yes".into()],
            counts: vec![vec![5, 1], vec![2, 7]],
        },
        PlotKind::Roc {
            labels: vec![0, 0, 1, 1],
            scores: vec![0.1, 0.4, 0.35, 0.8],
        },
        PlotKind::FeatureImportance {
            names: vec!["a".into(), "b".into()],
            importances: vec![0.7, 0.3],
        },
    ];
    for kind in kinds {
        let name = format!("{kind:?}")
            .split([' ', '{'])
            .next()
            .unwrap_or_default()
            .to_owned();
        let png = h
            .plot(plot_request(kind.clone(), ImageFormat::Png))
            .await
            .unwrap();
        assert_eq!(
            (png.format, png.width, png.height),
            (ImageFormat::Png, 800, 600),
            "{name}"
        );
        assert!(
            png.bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{name}: not a PNG"
        );
        let request = PlotRequest {
            title: Some(format!("My {name} plot")),
            ..plot_request(kind, ImageFormat::Svg)
        };
        let svg = h.plot(request).await.unwrap();
        let text = String::from_utf8(svg.bytes).expect("SVG is text");
        assert!(
            text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
            "{name}"
        );
        assert!(
            text.contains(&format!("My {name} plot")),
            "{name}: the title is missing"
        );
    }
}

// ---- bad input ----

async fn empty_data_is_refused(h: Harness) {
    assert_invalid(
        h.fit(scaled_after_median(), Frame::default()).await,
        &["fit_pipeline", "no columns"],
    );
    let no_rows = Frame {
        columns: vec![Column::numeric("x", vec![])],
    };
    assert_invalid(h.fit(scaled_after_median(), no_rows).await, &["no rows"]);
}

async fn an_all_missing_column_is_named(h: Harness) {
    let mut frame = numeric_sample();
    frame.columns.push(Column::numeric("blank", vec![NAN; 8]));
    assert_invalid(
        h.fit(scaled_after_median(), frame).await,
        &["column `blank`", "only missing values", "median"],
    );
}

async fn nan_or_infinity_reaching_a_scaler_is_named(h: Harness) {
    let scale_only = PipelineSpec {
        steps: vec![Step::Scale(Scale::Robust)],
    };
    assert_invalid(
        h.fit(scale_only.clone(), numeric_sample()).await,
        &["column `age`", "row 1", "missing (NaN)", "impute"],
    );
    let infinite = Frame {
        columns: vec![Column::numeric("speed", vec![1.0, f64::INFINITY])],
    };
    assert_invalid(
        h.fit(scale_only.clone(), infinite).await,
        &["column `speed`", "row 1", "infinite"],
    );
    // At transform time too: the fitted scaler refuses a NaN in new rows.
    let fitted = h
        .fit(
            scale_only,
            Frame {
                columns: vec![Column::numeric("speed", vec![1.0, 2.0])],
            },
        )
        .await
        .unwrap();
    let gap = Frame {
        columns: vec![Column::numeric("speed", vec![NAN])],
    };
    assert_invalid(
        h.transform(fitted, gap).await,
        &["column `speed`", "row 0", "missing (NaN)"],
    );
}

async fn mismatched_columns_between_fit_and_transform(h: Harness) {
    let fitted = h
        .fit(scaled_after_median(), numeric_sample())
        .await
        .unwrap();
    let mut fewer = numeric_sample();
    fewer.columns.pop();
    assert_invalid(
        h.transform(fitted.clone(), fewer).await,
        &["fitted on 3 columns", "the data has 2"],
    );
    let mut renamed = numeric_sample();
    renamed.columns[1].name = "salary".into();
    assert_invalid(
        h.transform(fitted, renamed).await,
        &["column 1", "`income`", "`salary`"],
    );
}

async fn an_unknown_category_is_named_when_asked(h: Harness) {
    let spec = PipelineSpec {
        steps: vec![Step::OneHot {
            unknown: mltools_core::utils::UnknownCategory::Error,
        }],
    };
    let train = Frame {
        columns: vec![Column::categorical(
            "colour",
            vec![0, 1],
            vec!["red".into(), "blue".into()],
        )],
    };
    let fitted = h.fit(spec, train).await.unwrap();
    let new = Frame {
        columns: vec![Column::categorical("colour", vec![0], vec!["teal".into()])],
    };
    assert_invalid(
        h.transform(fitted, new).await,
        &["column `colour`", "category `teal`"],
    );
}

async fn a_plot_with_mismatched_lengths_is_refused(h: Harness) {
    let kind = PlotKind::PredictedVsActual {
        target: None,
        actual: vec![1.0, 2.0, 3.0],
        predicted: vec![1.0, 2.0],
    };
    assert_invalid(
        h.plot(plot_request(kind, ImageFormat::Png)).await,
        &["`actual` has 3 values", "`predicted` has 2"],
    );
    let kind = PlotKind::Roc {
        labels: vec![0, 1],
        scores: vec![0.5],
    };
    assert_invalid(
        h.plot(plot_request(kind, ImageFormat::Svg)).await,
        &["`labels` has 2", "`scores` has 1"],
    );
    let kind = PlotKind::FeatureImportance {
        names: vec!["a".into()],
        importances: vec![],
    };
    assert_invalid(
        h.plot(plot_request(kind, ImageFormat::Svg)).await,
        &["`names` has 1", "`importances` has 0"],
    );
    let kind = PlotKind::ConfusionMatrix {
        labels: vec!["a".into(), "b".into()],
        counts: vec![vec![1, 2]],
    };
    assert_invalid(
        h.plot(plot_request(kind, ImageFormat::Svg)).await,
        &["`labels` has 2", "`counts` has 1"],
    );
    let tiny = PlotRequest {
        width: Some(20),
        ..plot_request(
            PlotKind::Histograms {
                frame: numeric_sample(),
            },
            ImageFormat::Png,
        )
    };
    assert_invalid(h.plot(tiny).await, &["20×600"]);
}

async fn more_folds_than_rows_is_refused(h: Harness) {
    let request = SplitRequest {
        rows: 4,
        kind: SplitKind::KFold { k: 5 },
        seed: 0,
        stratify: None,
    };
    assert_invalid(h.split(request).await, &["k = 5", "4 rows"]);
}

async fn a_class_smaller_than_k_is_named(h: Harness) {
    let labels = vec![0, 0, 0, 0, 0, 0, 9, 9];
    let request = SplitRequest {
        rows: 8,
        kind: SplitKind::KFold { k: 3 },
        seed: 0,
        stratify: Some(labels),
    };
    assert_invalid(h.split(request).await, &["class 9", "2 members", "the 3"]);
}

over_transports!(
    fold_a_statistics_transform_fold_b,
    a_fold_in_one_call_matches_fit_then_two_transforms,
    default_pipelines_scale_only_where_needed,
    splits_are_fixed_by_the_seed,
    stratified_k_fold_keeps_proportions,
    every_plot_kind_renders_to_png_and_svg,
    empty_data_is_refused,
    an_all_missing_column_is_named,
    nan_or_infinity_reaching_a_scaler_is_named,
    mismatched_columns_between_fit_and_transform,
    an_unknown_category_is_named_when_asked,
    a_plot_with_mismatched_lengths_is_refused,
    more_folds_than_rows_is_refused,
    a_class_smaller_than_k_is_named,
);
