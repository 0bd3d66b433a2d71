//! The tree family through the public interface: refused inputs, feature importances, the
//! bootstrap switch, the same model per seed on any number of threads, and old model files.

mod support;

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
    let mut random = support::SplitMix::new(11);
    let rows = 300;
    let values: Vec<f64> = (0..rows * 4).map(|_| random.uniform()).collect();
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

/// The catalogue entry of `id` as text: one line for the algorithm, one per parameter.
fn catalogue_entry(id: AlgorithmId) -> String {
    let info = id.info();
    let mut text = format!(
        "{} | {:?} | {:?} | {} | {}\n",
        info.id, info.task, info.family, info.probabilities, info.doc
    );
    for param in &info.params {
        text.push_str(&format!(
            "  {} = {:?} | {} | {}\n",
            param.name, param.default, param.accepts, param.doc
        ));
    }
    text
}

/// FNV-1a of `bytes`: a short fingerprint of a model file.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The six algorithms' catalogue entries as they stood before their parameters were
/// merged into one `TreeParams` and one `ForestParams`: `mltools models algorithms` shows
/// these words.
const CATALOGUE: &str = r#"decision_tree_regressor | Regression | Tree | false | One regression tree.
  max_depth = Text("none") | a whole number from 1 to 65535, or `none` | The deepest a tree may grow; `none` grows it until its leaves are pure.
  min_samples_leaf = Integer(1) | a whole number ≥ 1 | The fewest training rows a leaf may hold.
  min_samples_split = Integer(2) | a whole number ≥ 2 | The fewest training rows a node needs to be split.
random_forest_regressor | Regression | Tree | false | A random forest of bootstrapped regression trees.
  n_trees = Integer(100) | a whole number from 1 to 65535 | The number of trees (scikit-learn's `n_estimators`).
  max_features = Text("all") | `all`, `sqrt`, `log2` or a whole number ≥ 1 | How many randomly chosen features each split may try.
  bootstrap = Bool(true) | `true` or `false` | Whether each tree is grown on a bootstrap sample of the rows (drawn with replacement) rather than on all of them.
  max_depth = Text("none") | a whole number from 1 to 65535, or `none` | The deepest a tree may grow; `none` grows it until its leaves are pure.
  min_samples_leaf = Integer(1) | a whole number ≥ 1 | The fewest training rows a leaf may hold.
  min_samples_split = Integer(2) | a whole number ≥ 2 | The fewest training rows a node needs to be split.
extra_trees_regressor | Regression | Tree | false | Extremely randomised regression trees.
  n_trees = Integer(100) | a whole number from 1 to 65535 | The number of trees (scikit-learn's `n_estimators`).
  max_features = Text("all") | `all`, `sqrt`, `log2` or a whole number ≥ 1 | How many randomly chosen features each split may try.
  bootstrap = Bool(false) | `true` or `false` | Whether each tree is grown on a bootstrap sample of the rows (drawn with replacement) rather than on all of them.
  max_depth = Text("none") | a whole number from 1 to 65535, or `none` | The deepest a tree may grow; `none` grows it until its leaves are pure.
  min_samples_leaf = Integer(1) | a whole number ≥ 1 | The fewest training rows a leaf may hold.
  min_samples_split = Integer(2) | a whole number ≥ 2 | The fewest training rows a node needs to be split.
decision_tree_classifier | Classification | Tree | true | One classification tree.
  criterion = Text("gini") | `gini` or `entropy` | How a split's quality is measured.
  max_depth = Text("none") | a whole number from 1 to 65535, or `none` | The deepest a tree may grow; `none` grows it until its leaves are pure.
  min_samples_leaf = Integer(1) | a whole number ≥ 1 | The fewest training rows a leaf may hold.
  min_samples_split = Integer(2) | a whole number ≥ 2 | The fewest training rows a node needs to be split.
random_forest_classifier | Classification | Tree | true | A random forest of bootstrapped classification trees.
  n_trees = Integer(100) | a whole number from 1 to 65535 | The number of trees (scikit-learn's `n_estimators`).
  max_features = Text("sqrt") | `all`, `sqrt`, `log2` or a whole number ≥ 1 | How many randomly chosen features each split may try.
  bootstrap = Bool(true) | `true` or `false` | Whether each tree is grown on a bootstrap sample of the rows (drawn with replacement) rather than on all of them.
  criterion = Text("gini") | `gini` or `entropy` | How a split's quality is measured.
  max_depth = Text("none") | a whole number from 1 to 65535, or `none` | The deepest a tree may grow; `none` grows it until its leaves are pure.
  min_samples_leaf = Integer(1) | a whole number ≥ 1 | The fewest training rows a leaf may hold.
  min_samples_split = Integer(2) | a whole number ≥ 2 | The fewest training rows a node needs to be split.
extra_trees_classifier | Classification | Tree | true | Extremely randomised classification trees (random cuts, no bootstrap).
  n_trees = Integer(100) | a whole number from 1 to 65535 | The number of trees (scikit-learn's `n_estimators`).
  max_features = Text("sqrt") | `all`, `sqrt`, `log2` or a whole number ≥ 1 | How many randomly chosen features each split may try.
  bootstrap = Bool(false) | `true` or `false` | Whether each tree is grown on a bootstrap sample of the rows (drawn with replacement) rather than on all of them.
  criterion = Text("gini") | `gini` or `entropy` | How a split's quality is measured.
  max_depth = Text("none") | a whole number from 1 to 65535, or `none` | The deepest a tree may grow; `none` grows it until its leaves are pure.
  min_samples_leaf = Integer(1) | a whole number ≥ 1 | The fewest training rows a leaf may hold.
  min_samples_split = Integer(2) | a whole number ≥ 2 | The fewest training rows a node needs to be split.
"#;

#[test]
fn the_catalogue_entries_of_the_tree_family_are_unchanged() {
    let text: String = TREES.into_iter().map(catalogue_entry).collect();
    assert_eq!(text, CATALOGUE);
}

/// The same data and seed give the same model file, to the byte, as before the
/// parameters were merged: the defaults of each algorithm, and two forests with every
/// parameter set.
#[test]
fn the_model_files_of_the_tree_family_are_unchanged() {
    let defaults = [
        (7291, 0xdc2bdc484a975b2a),
        (90206, 0x189f716806ca5e4b),
        (144756, 0x9f4e777dfa71530f),
        (288, 0xcad8826f358948f8),
        (6398, 0xe80b9f4aa3d33c0f),
        (33463, 0x76d6ab2bcfd94c9),
    ];
    for (id, (length, hash)) in TREES.into_iter().zip(defaults) {
        let (x, y) = data(id.task());
        let bytes = small_forest(id).fit(&x, &y, 9).unwrap().to_bytes().unwrap();
        assert_eq!((bytes.len(), fingerprint(&bytes)), (length, hash), "{id}");
    }
    let overridden_files = [(2688, 0x2e7a39d635b994a2), (1392, 0xa3e4c5f6e3aa5a32)];
    for ((id, params), (length, hash)) in overridden().into_iter().zip(overridden_files) {
        let (x, y) = data(id.task());
        let estimator = Estimator::new(id.as_str(), &params).unwrap();
        let bytes = estimator.fit(&x, &y, 9).unwrap().to_bytes().unwrap();
        assert_eq!((bytes.len(), fingerprint(&bytes)), (length, hash), "{id}");
    }
}

/// Two forests with every parameter of theirs set away from its default.
fn overridden() -> [(AlgorithmId, ParamMap); 2] {
    let text = |value: &str| ParamValue::Text(value.to_owned());
    [
        (
            AlgorithmId::RandomForestClassifier,
            ParamMap::from([
                ("n_trees".to_owned(), ParamValue::Integer(7)),
                ("criterion".to_owned(), text("entropy")),
                ("max_features".to_owned(), text("log2")),
                ("bootstrap".to_owned(), ParamValue::Bool(false)),
                ("min_samples_leaf".to_owned(), ParamValue::Integer(3)),
            ]),
        ),
        (
            AlgorithmId::ExtraTreesRegressor,
            ParamMap::from([
                ("n_trees".to_owned(), ParamValue::Integer(5)),
                ("max_features".to_owned(), ParamValue::Integer(2)),
                ("bootstrap".to_owned(), ParamValue::Bool(true)),
                ("max_depth".to_owned(), ParamValue::Integer(4)),
                ("min_samples_split".to_owned(), ParamValue::Integer(6)),
            ]),
        ),
    ]
}
