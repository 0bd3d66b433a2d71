//! The tree family through the public interface: refused inputs, feature importances, the
//! bootstrap switch, the same model per seed on any number of threads, and old model files.

use mltools_core::models::{ParamValue, Task};
use mltools_core::utils::Matrix;
use mltools_models::ModelsError;
use mltools_models::algorithms::{AlgorithmId, Estimator, FittedModel, ParamMap};
use mltools_models::cv::fit_pool;
use mltools_models::prediction::Prediction;
use mltools_models::task::Targets;

const TREES: [AlgorithmId; 6] = [
    AlgorithmId::DecisionTreeRegressor,
    AlgorithmId::RandomForestRegressor,
    AlgorithmId::ExtraTreesRegressor,
    AlgorithmId::DecisionTreeClassifier,
    AlgorithmId::RandomForestClassifier,
    AlgorithmId::ExtraTreesClassifier,
];

/// 300 rows of 4 features (splitmix64); the target follows feature 1 (and a little of
/// feature 3), features 0 and 2 are noise.
fn data(task: Task) -> (Matrix, Targets) {
    let mut state = 11u64;
    let mut uniform = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / 9_007_199_254_740_992.0
    };
    let rows = 300;
    let values: Vec<f64> = (0..rows * 4).map(|_| uniform()).collect();
    let score: Vec<f64> = values
        .chunks(4)
        .map(|row| 3.0 * row[1] + 0.5 * row[3])
        .collect();
    let x = Matrix {
        rows,
        columns: (0..4).map(|f| format!("x{f}")).collect(),
        values,
    };
    let y = match task {
        Task::Regression => Targets::Regression(score),
        Task::Classification => Targets::Classification {
            codes: score.iter().map(|&s| u32::from(s > 1.75)).collect(),
            classes: vec!["low".into(), "high".into()],
        },
    };
    (x, y)
}

fn small_forest(id: AlgorithmId) -> Estimator {
    let forest = id.info().params.iter().any(|p| p.name == "n_trees");
    let params: ParamMap = if forest {
        ParamMap::from([("n_trees".to_owned(), ParamValue::Integer(20))])
    } else {
        ParamMap::new()
    };
    Estimator::new(id.as_str(), &params).unwrap()
}

#[test]
fn a_missing_value_is_refused_before_any_tree_grows() {
    for id in TREES {
        let (mut x, y) = data(id.task());
        x.values[5] = f64::NAN;
        let error = small_forest(id).fit(&x, &y, 0).unwrap_err();
        assert_eq!(
            error,
            ModelsError::NonFinite {
                column: "x1".into(),
                row: 1
            },
            "{id}"
        );
    }
}

#[test]
fn the_importances_sum_to_one_and_find_the_informative_feature() {
    for id in TREES {
        let (x, y) = data(id.task());
        let model = small_forest(id).fit(&x, &y, 3).unwrap();
        let importances = model.feature_importances().unwrap().to_vec();
        assert_eq!(importances.len(), 4, "{id}");
        assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{id}");
        assert!(
            importances.iter().all(|&i| i >= 0.0),
            "{id}: {importances:?}"
        );
        let top = (0..4)
            .max_by(|&a, &b| importances[a].total_cmp(&importances[b]))
            .unwrap();
        assert_eq!(top, 1, "{id}: {importances:?}");
        // They survive the round trip.
        let reloaded = FittedModel::from_bytes(&model.to_bytes().unwrap()).unwrap();
        assert_eq!(reloaded.feature_importances(), Some(importances.as_slice()));
    }
    let (x, y) = data(Task::Regression);
    let ridge = Estimator::defaults(AlgorithmId::Ridge)
        .fit(&x, &y, 0)
        .unwrap();
    assert_eq!(ridge.feature_importances(), None);
}

#[test]
fn the_same_seed_gives_the_same_bytes_on_one_thread_or_three() {
    for id in TREES {
        let (x, y) = data(id.task());
        let estimator = small_forest(id);
        let bytes = |seed: u64, threads: usize| {
            let pool = fit_pool(Some(threads)).unwrap();
            pool.install(|| estimator.fit(&x, &y, seed))
                .unwrap()
                .to_bytes()
                .unwrap()
        };
        let one = bytes(5, 1);
        assert_eq!(one, bytes(5, 3), "{id}");
        assert_ne!(one, bytes(6, 3), "{id}");
    }
}

#[test]
fn bootstrap_is_a_parameter_of_the_forests() {
    let (x, y) = data(Task::Classification);
    let fit = |bootstrap: bool| {
        let params = ParamMap::from([
            ("n_trees".to_owned(), ParamValue::Integer(10)),
            ("bootstrap".to_owned(), ParamValue::Bool(bootstrap)),
        ]);
        let model = Estimator::new("random_forest_classifier", &params)
            .unwrap()
            .fit(&x, &y, 0)
            .unwrap();
        let Prediction::Classification(prediction) = model.predict(&x).unwrap() else {
            panic!("a classifier predicts classes")
        };
        prediction.probabilities.unwrap()
    };
    // Without a bootstrap every tree is grown on every (distinct) row until pure: each
    // predicts its training rows with certainty, so the forest does too.
    assert!(fit(false).iter().all(|&p| p == 0.0 || p == 1.0));
    assert!(fit(true).iter().any(|&p| p > 0.0 && p < 1.0));
    let params = ParamMap::from([("bootstrap".to_owned(), ParamValue::Integer(1))]);
    let error = Estimator::new("extra_trees_regressor", &params).unwrap_err();
    assert!(
        matches!(
            error,
            ModelsError::InvalidParam {
                param: "bootstrap",
                ..
            }
        ),
        "{error}"
    );
    assert!(Estimator::new("decision_tree_classifier", &params).is_err());
}

#[test]
fn a_model_of_the_previous_format_is_refused_naming_both_formats() {
    let (x, y) = data(Task::Classification);
    let mut bytes = small_forest(AlgorithmId::RandomForestClassifier)
        .fit(&x, &y, 0)
        .unwrap()
        .to_bytes()
        .unwrap();
    bytes[4] = 2;
    let error = FittedModel::from_bytes(&bytes).unwrap_err();
    assert_eq!(
        error.to_string(),
        "stored model is damaged or from another version: model format 2; this build reads format 3"
    );
}
