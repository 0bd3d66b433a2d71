//! Tests across every algorithm: defaults, task checks, and the serialized round trip.

use super::dense::testing;
use super::{AlgorithmId, Estimator, FittedModel, ParamMap};
use crate::error::ModelsError;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::models::{ParamValue, Task};

fn data(task: Task) -> (mltools_core::utils::Matrix, Targets) {
    match task {
        Task::Regression => {
            let (x, y) = testing::linear();
            (x, Targets::Regression(y))
        }
        Task::Classification => {
            let (x, y) = testing::three_blobs();
            let classes = vec!["a".into(), "b".into(), "c".into()];
            (x, Targets::Classification { codes: y, classes })
        }
    }
}

#[test]
fn every_algorithm_reloads_and_predicts_identically() {
    for id in AlgorithmId::ALL {
        let (x, y) = data(id.task());
        let model = Estimator::defaults(id).fit(&x, &y, 42).unwrap();
        let bytes = model.to_bytes().unwrap();
        let reloaded = FittedModel::from_bytes(&bytes).unwrap();
        assert_eq!(reloaded.algorithm(), id);
        let before = model.predict(&x).unwrap();
        let after = reloaded.predict(&x).unwrap();
        assert_eq!(before, after, "{id}");
        // Only the iterative solver has a stop reason; it survives the round trip.
        assert_eq!(
            model.convergence().is_some(),
            id == AlgorithmId::LogisticRegression,
            "{id}"
        );
        assert_eq!(model.convergence(), reloaded.convergence(), "{id}");
        assert!(model.warnings().is_empty(), "{id}: {:?}", model.warnings());
        if let Prediction::Classification(prediction) = &before {
            assert_eq!(
                prediction.probabilities.is_some(),
                id.has_probabilities(),
                "{id}"
            );
        }
    }
}

#[test]
fn classifiers_fit_the_blobs_and_regressors_the_line() {
    for id in AlgorithmId::ALL {
        let (x, y) = data(id.task());
        let model = Estimator::defaults(id).fit(&x, &y, 1).unwrap();
        match (model.predict(&x).unwrap(), &y) {
            (Prediction::Classification(prediction), Targets::Classification { .. })
                if id == AlgorithmId::HistGradientBoostingClassifier && x.rows < 40 =>
            {
                // Fewer rows than two leaves of 20: no split, the class shares alone (here
                // equal: the first class), as scikit-learn's.
                assert!(prediction.labels.iter().all(|&label| label == 0), "{id}");
            }
            (Prediction::Classification(prediction), Targets::Classification { codes, .. }) => {
                assert_eq!(&prediction.labels, codes, "{id}");
            }
            (Prediction::Regression(values), Targets::Regression(truth))
                if id == AlgorithmId::HistGradientBoostingRegressor && x.rows < 40 =>
            {
                // Fewer rows than two leaves of 20 (its `min_samples_leaf`): no split, the
                // mean, as scikit-learn's.
                let mean = truth.iter().sum::<f64>() / truth.len() as f64;
                assert!(values.iter().all(|v| (v - mean).abs() < 1e-9), "{id}");
            }
            (Prediction::Regression(values), Targets::Regression(truth)) => {
                let r2 = crate::metrics::r2(truth, &values);
                assert!(r2 > 0.5, "{id}: training R² {r2}");
            }
            (prediction, _) => panic!("{id}: a prediction of the wrong kind: {prediction:?}"),
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_model() {
    let (x, y) = data(Task::Classification);
    let forest = Estimator::defaults(AlgorithmId::RandomForestClassifier);
    let first = forest.fit(&x, &y, 9).unwrap().to_bytes().unwrap();
    let second = forest.fit(&x, &y, 9).unwrap().to_bytes().unwrap();
    assert_eq!(first, second);
}

#[test]
fn a_regressor_refuses_class_targets() {
    let (x, y) = data(Task::Classification);
    let error = Estimator::defaults(AlgorithmId::Ridge)
        .fit(&x, &y, 0)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "ridge is a regression algorithm; the task is classification"
    );
}

#[test]
fn bad_parameters_say_what_is_accepted() {
    let params = ParamMap::from([("kernel".to_owned(), ParamValue::Text("cubic".into()))]);
    let error = Estimator::new("svc", &params).unwrap_err();
    assert_eq!(
        error.to_string(),
        "svc: parameter `kernel` = `cubic`: expected `rbf`, `linear`, `poly` or `sigmoid`"
    );
    let params = ParamMap::from([("k".to_owned(), ParamValue::Integer(0))]);
    let error = Estimator::new("knn_classifier", &params).unwrap_err();
    assert!(
        matches!(error, ModelsError::InvalidParam { param: "k", .. }),
        "{error}"
    );
    let params = ParamMap::from([("n_trees".to_owned(), ParamValue::Integer(70_000))]);
    assert!(Estimator::new("random_forest_classifier", &params).is_err());
}

#[test]
fn predicting_checks_the_columns() {
    let (x, y) = data(Task::Regression);
    let model = Estimator::defaults(AlgorithmId::LinearRegression)
        .fit(&x, &y, 0)
        .unwrap();
    let narrow = testing::matrix(&[&[1.0, 2.0]]);
    let error = model.predict(&narrow).unwrap_err();
    assert_eq!(
        error.to_string(),
        "shape mismatch: the model was fitted on 3 features, the rows have 2"
    );
}

#[test]
fn damaged_bytes_are_refused() {
    assert!(matches!(
        FittedModel::from_bytes(b"nope"),
        Err(ModelsError::Corrupt { .. })
    ));
    let (x, y) = data(Task::Regression);
    let mut bytes = Estimator::defaults(AlgorithmId::Ridge)
        .fit(&x, &y, 0)
        .unwrap()
        .to_bytes()
        .unwrap();
    bytes[4] = 99;
    let error = FittedModel::from_bytes(&bytes).unwrap_err();
    assert!(error.to_string().contains("model format 99"), "{error}");
}

#[test]
fn every_algorithm_gives_up_once_cancelled() {
    let token = tokio_util::sync::CancellationToken::new();
    token.cancel();
    let cancel = super::Cancel::new(token);
    for id in AlgorithmId::ALL {
        let (x, y) = data(id.task());
        let outcome = Estimator::defaults(id).fit_until(&x, &y, 0, &cancel);
        assert_eq!(outcome.unwrap_err(), ModelsError::Cancelled, "{id}");
    }
    // k-NN's prediction, the long part of its work, looks at the cancel too.
    let (x, y) = data(Task::Classification);
    let model = Estimator::defaults(AlgorithmId::KnnClassifier)
        .fit(&x, &y, 0)
        .unwrap();
    assert_eq!(
        model.predict_until(&x, &cancel).unwrap_err(),
        ModelsError::Cancelled
    );
    assert!(model.predict(&x).is_ok());
}

#[test]
fn a_model_relabelled_as_another_form_s_algorithm_is_refused() {
    let (x, y) = data(Task::Regression);
    let ridge = Estimator::defaults(AlgorithmId::Ridge)
        .fit(&x, &y, 0)
        .unwrap();
    let bytes = ridge.to_bytes().unwrap();
    // After the magic number and the format: the algorithm, its index among the variants
    // as declared (one byte below 128): ridge 1, lasso 2, svr 7.
    assert_eq!(bytes[5], 1);
    let relabel = |index: u8| {
        let mut crafted = bytes.clone();
        crafted[5] = index;
        FittedModel::from_bytes(&crafted)
    };
    let error = relabel(7).unwrap_err();
    assert_eq!(
        error.to_string(),
        "stored model is damaged or from another version: svr: the model is labelled `svr` \
         but holds another algorithm's state"
    );
    // Lasso's fitted form is ridge's: the relabelled model is sound and predicts alike.
    let lasso = relabel(2).unwrap();
    assert_eq!(lasso.algorithm(), AlgorithmId::Lasso);
    assert_eq!(lasso.predict(&x).unwrap(), ridge.predict(&x).unwrap());
}
