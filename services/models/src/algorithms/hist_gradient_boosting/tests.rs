use super::*;
use crate::algorithms::{Estimator, FittedModel, ParamMap};

fn estimator(id: AlgorithmId, params: &[(&str, ParamValue)]) -> Estimator {
    let map: ParamMap = params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    Estimator::new(id.as_str(), &map).unwrap()
}

/// 300 rows of three features (two with few distinct values, one with 97), as the
/// scikit-learn script beside the expected values builds them.
fn features(missing: bool) -> Matrix {
    let mut values = Vec::with_capacity(300 * 3);
    for i in 0..300u32 {
        let x1 = f64::from(i * 29 % 53) / 7.0;
        values.push(f64::from(i * 13 % 97));
        values.push(if missing && i % 5 == 0 { f64::NAN } else { x1 });
        values.push(f64::from(i * 7 % 11));
    }
    Matrix {
        rows: 300,
        columns: vec!["x0".into(), "x1".into(), "x2".into()],
        values,
    }
}

fn column(x: &Matrix, feature: usize) -> Vec<f64> {
    x.values.iter().skip(feature).step_by(3).copied().collect()
}

fn regression_target(x: &Matrix) -> Vec<f64> {
    let (x0, x1, x2) = (column(x, 0), column(x, 1), column(x, 2));
    (0..x.rows)
        .map(|row| {
            // x1 as the script has it (no gaps): i·29 mod 53 / 7.
            let x1 = if x1[row].is_nan() {
                f64::from(row as u32 * 29 % 53) / 7.0
            } else {
                x1[row]
            };
            x0[row] * 0.3 + if x1 > 3.0 { 5.0 } else { 0.0 } + x2[row] * 0.1
        })
        .collect()
}

fn first_rows(x: &Matrix, rows: usize) -> Matrix {
    Matrix {
        rows,
        columns: x.columns.clone(),
        values: x.values[..rows * 3].to_vec(),
    }
}

fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len());
    for (index, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance * e.abs().max(1.0),
            "[{index}] {a} is not {e} (within {tolerance})\n{actual:?}"
        );
    }
}

// scikit-learn 1.9.1: HistGradientBoostingRegressor(random_state=0).fit(X, y)
// .predict(X[:6]), n_iter_ 100 (no early stopping on 300 rows).
#[test]
fn the_regressor_predicts_as_scikit_learn_s() {
    let x = features(false);
    let y = Targets::Regression(regression_target(&x));
    let model = Estimator::defaults(AlgorithmId::HistGradientBoostingRegressor)
        .fit(&x, &y, 0)
        .unwrap();
    let Prediction::Regression(values) = model.predict(&first_rows(&x, 6)).unwrap() else {
        panic!("a regression");
    };
    // scikit-learn keeps gradients in float32: the sums differ in the 7th digit.
    assert_close(
        &values,
        &[
            1.0867917336242785,
            9.644433157300137,
            8.1492490022293,
            17.656873989851356,
            15.995172389799933,
            24.729830476836845,
        ],
        1e-5,
    );
}

// HistGradientBoostingClassifier(random_state=0) on (x0 + 3·x1 > 60): predict_proba[:, 1]
// of the first six rows.
#[test]
fn the_binary_classifier_gives_scikit_learn_s_probabilities() {
    let x = features(false);
    let (x0, x1) = (column(&x, 0), column(&x, 1));
    let codes: Vec<u32> = (0..x.rows)
        .map(|row| u32::from(x0[row] + 3.0 * x1[row] > 60.0))
        .collect();
    let y = Targets::Classification {
        codes,
        classes: vec!["no".into(), "yes".into()],
    };
    let model = Estimator::defaults(AlgorithmId::HistGradientBoostingClassifier)
        .fit(&x, &y, 0)
        .unwrap();
    let Prediction::Classification(prediction) = model.predict(&first_rows(&x, 6)).unwrap() else {
        panic!("a classification");
    };
    let probabilities = prediction.probabilities.unwrap();
    let positive: Vec<f64> = probabilities.chunks_exact(2).map(|p| p[1]).collect();
    let expected = [
        8.490_779_721_968_479e-5,
        1.602_490_467_228_156e-5,
        2.068_938_350_816_193e-5,
        1.525_100_407_696_701e-5,
        4.393_094_508_661_806e-3,
        9.999_842_526_476_35e-1,
    ];
    for (p, e) in positive.iter().zip(expected) {
        assert!(
            (p - e).abs() < 1e-4 && (p.ln() - e.ln()).abs() < 0.05,
            "{positive:?}"
        );
    }
    assert_eq!(prediction.labels, [0, 0, 0, 0, 0, 1]);
}

// Three classes (x0 div 33): predict_proba of the first three rows.
#[test]
fn the_multinomial_classifier_gives_scikit_learn_s_probabilities() {
    let x = features(false);
    let codes: Vec<u32> = column(&x, 0)
        .iter()
        .map(|v| (v / 33.0).floor() as u32)
        .collect();
    let y = Targets::Classification {
        codes,
        classes: vec!["a".into(), "b".into(), "c".into()],
    };
    let model = Estimator::defaults(AlgorithmId::HistGradientBoostingClassifier)
        .fit(&x, &y, 0)
        .unwrap();
    let Prediction::Classification(prediction) = model.predict(&first_rows(&x, 3)).unwrap() else {
        panic!("a classification");
    };
    let expected = [
        9.999_907_652_581_069e-1,
        5.110_293_491_358_31e-6,
        4.124_448_401_705_767e-6,
        9.999_903_943_718_541e-1,
        5.481_181_273_810_221e-6,
        4.124_446_871_990_427e-6,
        9.999_907_652_581_069e-1,
        5.110_293_491_358_31e-6,
        4.124_448_401_705_767e-6,
    ];
    let probabilities = prediction.probabilities.unwrap();
    for (p, e) in probabilities.iter().zip(expected) {
        assert!(
            (p - e).abs() < 1e-5 && (p.ln() - e.ln()).abs() < 0.05,
            "{probabilities:?}"
        );
    }
}

// Every fifth row's x1 missing in training; rows with a missing x1 and a missing x2 (x2
// never missing in training: the busier side) predicted as scikit-learn does.
#[test]
fn missing_values_are_routed_as_scikit_learn_routes_them() {
    let x = features(true);
    let y = Targets::Regression(regression_target(&x));
    let model = Estimator::defaults(AlgorithmId::HistGradientBoostingRegressor)
        .fit(&x, &y, 0)
        .unwrap();
    let queries = Matrix {
        rows: 3,
        columns: x.columns.clone(),
        values: vec![10.0, f64::NAN, 3.0, 50.0, 2.0, f64::NAN, 80.0, 6.0, 1.0],
    };
    let Prediction::Regression(values) = model.predict(&queries).unwrap() else {
        panic!("a regression");
    };
    assert_close(
        &values,
        &[5.555897853840492, 16.202982523367435, 29.370377407197743],
        1e-5,
    );
    // The other algorithms still refuse a missing value, naming it.
    let error = Estimator::defaults(AlgorithmId::RandomForestRegressor)
        .fit(&x, &y, 0)
        .unwrap_err();
    assert!(error.to_string().contains("`x1`"), "{error}");
}

#[test]
fn early_stopping_holds_rows_out_and_stops_and_the_model_round_trips() {
    // A target the first trees learn all there is of: the held-out loss stops improving.
    let x = features(false);
    let y = Targets::Regression(regression_target(&x));
    let stopping = estimator(
        AlgorithmId::HistGradientBoostingRegressor,
        &[
            ("early_stopping", ParamValue::Bool(true)),
            ("learning_rate", ParamValue::Number(0.5)),
        ],
    );
    let model = stopping.fit(&x, &y, 0).unwrap();
    let Fitted::Boosted(boosted) = model.fitted() else {
        panic!("a boosted model");
    };
    assert!(
        boosted.iterations() < 100,
        "{} iterations",
        boosted.iterations()
    );
    // The same seed, the same model; bytes back, the same predictions.
    let again = stopping.fit(&x, &y, 0).unwrap();
    assert_eq!(model.predict(&x).unwrap(), again.predict(&x).unwrap());
    let reloaded = FittedModel::from_bytes(&model.to_bytes().unwrap()).unwrap();
    assert_eq!(model.predict(&x).unwrap(), reloaded.predict(&x).unwrap());
}

#[test]
fn bad_parameters_are_refused_naming_them() {
    let refused = |name: &str, value: ParamValue| {
        let map = ParamMap::from([(name.to_owned(), value)]);
        Estimator::new("hist_gradient_boosting_classifier", &map)
            .unwrap_err()
            .to_string()
    };
    assert!(refused("learning_rate", ParamValue::Number(0.0)).contains("`learning_rate`"));
    assert!(refused("max_bins", ParamValue::Integer(256)).contains("from 2 to 255"));
    assert!(
        refused("early_stopping", ParamValue::Text("maybe".into())).contains("`early_stopping`")
    );
    assert!(refused("max_leaf_nodes", ParamValue::Integer(1)).contains("`max_leaf_nodes`"));
    assert!(
        refused("validation_fraction", ParamValue::Number(1.0)).contains("`validation_fraction`")
    );
}

#[test]
fn rows_without_features_are_refused_as_no_model_could_be_stored() {
    let x = Matrix {
        rows: 50,
        columns: Vec::new(),
        values: Vec::new(),
    };
    let values = Targets::Regression((0..50).map(f64::from).collect());
    let classes = Targets::Classification {
        codes: (0..50).map(|row| row % 2).collect(),
        classes: vec!["a".into(), "b".into()],
    };
    for id in AlgorithmId::ALL {
        let y = match id.task() {
            Task::Regression => &values,
            Task::Classification => &classes,
        };
        let error = Estimator::defaults(id).fit(&x, y, 0).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("shape mismatch: {id} needs at least one feature column, got none"),
        );
    }
}
