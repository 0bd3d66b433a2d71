//! The preprocessing functions against scikit-learn 1.9.1 on the same rows, to 1e-9.
//!
//! The expected numbers were computed once with scikit-learn and written in; no Python
//! runs at test time. The scikit-learn side of each case is in its comment.

mod common;

use common::{NAN, assert_close, numeric_sample, rows, sample};
use mltools_core::utils::{
    AlgorithmFamily, CategoricalImpute, Fill, FittedStep, Impute, PipelineSpec, Scale, Step,
    UnknownCategory,
};
use mltools_core::{Column, Frame};
use mltools_utils::preprocessing::{default_pipeline, fit, transform};

fn impute(numeric: Impute) -> Step {
    Step::Impute {
        numeric: Some(numeric),
        categorical: None,
    }
}

fn learned_fills(strategy: Impute) -> Vec<f64> {
    let fitted = fit(
        &PipelineSpec {
            steps: vec![impute(strategy)],
        },
        numeric_sample(),
    )
    .unwrap();
    let FittedStep::Impute { fill } = &fitted.steps[0] else {
        panic!("an impute step learns fills");
    };
    fill.iter()
        .map(|fill| match fill {
            Some(Fill::Number(value)) => *value,
            other => panic!("a numeric fill, not {other:?}"),
        })
        .collect()
}

// SimpleImputer(strategy=s).fit(X).statistics_ for s in mean, median, most_frequent.
#[test]
fn simple_imputer_statistics() {
    assert_close(
        &learned_fills(Impute::Mean),
        &[38.78333333333333, 54564.46428571428, 0.44875],
    );
    assert_close(&learned_fills(Impute::Median), &[38.1, 52300.5, 0.33]);
    assert_close(&learned_fills(Impute::MostFrequent), &[41.0, 52300.5, 0.33]);
}

fn imputed_then_scaled(strategy: Impute, scale: Scale) -> Vec<f64> {
    let spec = PipelineSpec {
        steps: vec![impute(strategy), Step::Scale(scale)],
    };
    let fitted = fit(&spec, numeric_sample()).unwrap();
    transform(&fitted, numeric_sample()).unwrap().values
}

// make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit_transform(X)
#[test]
fn standard_scaler_after_median_imputer() {
    assert_close(
        &imputed_then_scaled(Impute::Median, Scale::Standard),
        &[
            -1.4413063076302104,
            -0.9290474498484589,
            -1.0609756245839947,
            -0.04887804682616885,
            -0.12977597721794432,
            1.2949550398914917,
            0.22770016936093512,
            -0.12977597721794432,
            -0.38324214576227933,
            -0.3254562630132728,
            0.4401401881973388,
            -0.38324214576227933,
            -0.8309267960448773,
            -1.0174714218318233,
            1.6822313135039004,
            -0.04887804682616885,
            2.3727256103193977,
            -1.286886784191233,
            2.240045121618831,
            -0.4770189951826214,
            0.5204024926666743,
            0.22770016936093512,
            -0.12977597721794432,
            -0.38324214576227933,
        ],
    );
}

// make_pipeline(SimpleImputer(strategy="mean"), MinMaxScaler()).fit_transform(X)
#[test]
fn min_max_scaler_after_mean_imputer() {
    assert_close(
        &imputed_then_scaled(Impute::Mean, Scale::MinMax),
        &[
            0.0,
            0.026082251605080264,
            0.07608695652173914,
            0.3959412780656304,
            0.26184184464659255,
            0.8695652173913044,
            0.45336787564766845,
            0.3055901581305086,
            0.3043478260869566,
            0.3031088082901555,
            0.42994893695138614,
            0.3043478260869566,
            0.16580310880829008,
            0.0,
            1.0,
            0.3959412780656304,
            0.9999999999999999,
            0.0,
            1.0,
            0.1594162290639085,
            0.6086956521739131,
            0.45336787564766845,
            0.26184184464659255,
            0.3043478260869566,
        ],
    );
}

// make_pipeline(SimpleImputer(strategy="most_frequent"), RobustScaler()).fit_transform(X)
#[test]
fn robust_scaler_after_most_frequent_imputer() {
    assert_close(
        &imputed_then_scaled(Impute::MostFrequent, Scale::Robust),
        &[
            -2.456140350877193,
            -1.3260872518783202,
            -0.5350318471337582,
            0.0,
            0.0,
            1.3248407643312106,
            0.0,
            0.0,
            0.0,
            -0.8140350877192979,
            0.9455592842683043,
            0.0,
            -1.5578947368421054,
            -1.4727932285368803,
            1.6305732484076434,
            0.0,
            4.151950328111626,
            -0.7133757961783442,
            2.96140350877193,
            -0.5761178212844585,
            0.713375796178344,
            0.0,
            0.0,
            0.0,
        ],
    );
}

// The linear family's default pipeline is scikit-learn's
//   make_pipeline(
//       ColumnTransformer([
//           ("num", SimpleImputer(strategy="median"), ["age", "income", "score", "flat"]),
//           ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
//                                 OneHotEncoder(handle_unknown="ignore")), ["colour"])]),
//       VarianceThreshold(), StandardScaler())
// whose output columns are age, income, score, colour_Green, colour_blue, colour_green,
// colour_red (`flat` is constant and dropped; the missing colour becomes "blue").
#[test]
fn default_linear_pipeline_matches_the_scikit_learn_composition() {
    let fitted = fit(&default_pipeline(AlgorithmFamily::Linear), sample()).unwrap();
    assert_eq!(
        fitted.output_columns,
        [
            "age",
            "income",
            "score",
            "colour=Green",
            "colour=blue",
            "colour=green",
            "colour=red"
        ]
    );
    let matrix = transform(&fitted, sample()).unwrap();
    assert_eq!(matrix.rows, 8);
    assert_close(
        &matrix.values,
        &[
            -1.4413063076302104,
            -0.9290474498484589,
            -1.0609756245839947,
            -0.3779644730092272,
            -1.0,
            -0.3779644730092272,
            1.7320508075688774,
            -0.04887804682616885,
            -0.12977597721794432,
            1.2949550398914917,
            -0.3779644730092272,
            1.0,
            -0.3779644730092272,
            -0.5773502691896258,
            0.22770016936093512,
            -0.12977597721794432,
            -0.38324214576227933,
            -0.3779644730092272,
            -1.0,
            2.6457513110645903,
            -0.5773502691896258,
            -0.3254562630132728,
            0.4401401881973388,
            -0.38324214576227933,
            -0.3779644730092272,
            1.0,
            -0.3779644730092272,
            -0.5773502691896258,
            -0.8309267960448773,
            -1.0174714218318233,
            1.6822313135039004,
            -0.3779644730092272,
            1.0,
            -0.3779644730092272,
            -0.5773502691896258,
            -0.04887804682616885,
            2.3727256103193977,
            -1.286886784191233,
            -0.3779644730092272,
            -1.0,
            -0.3779644730092272,
            1.7320508075688774,
            2.240045121618831,
            -0.4770189951826214,
            0.5204024926666743,
            -0.3779644730092272,
            1.0,
            -0.3779644730092272,
            -0.5773502691896258,
            0.22770016936093512,
            -0.12977597721794432,
            -0.38324214576227933,
            2.6457513110645903,
            -1.0,
            -0.3779644730092272,
            -0.5773502691896258,
        ],
    );
}

// The same fitted pipeline on new rows: age missing → the training median; colour
// "purple" unseen → all indicators 0 before scaling; `flat` dropped whatever its value.
#[test]
fn default_linear_pipeline_on_new_rows() {
    let fitted = fit(&default_pipeline(AlgorithmFamily::Linear), sample()).unwrap();
    let colours = ["purple", "Green"].map(String::from).to_vec();
    let new_rows = Frame {
        columns: vec![
            Column::numeric("age", vec![30.0, NAN]),
            Column::numeric("income", vec![50000.0, 1.0]),
            Column::numeric("score", vec![0.5, 0.5]),
            Column::numeric("flat", vec![7.0, 3.0]),
            Column::categorical("colour", vec![0, 1], colours),
        ],
    };
    assert_close(
        &transform(&fitted, new_rows).unwrap().values,
        &[
            -0.8213896161763563,
            -0.28048488445834424,
            0.1653992418552996,
            -0.3779644730092272,
            -1.0,
            -0.3779644730092272,
            -0.5773502691896258,
            -0.04887804682616885,
            -3.5559878851593894,
            0.1653992418552996,
            2.6457513110645903,
            -1.0,
            -0.3779644730092272,
            -0.5773502691896258,
        ],
    );
}

// No leakage: make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
// .fit(X[:4]).transform(X[4:]). Rows 4..8 are scaled with rows 0..4's medians, means and
// deviations, not their own.
#[test]
fn fold_b_is_transformed_with_fold_a_statistics() {
    let spec = PipelineSpec {
        steps: vec![impute(Impute::Median), Step::Scale(Scale::Standard)],
    };
    let fold_a = rows(&numeric_sample(), 0..4);
    let fold_b = rows(&numeric_sample(), 4..8);
    let fitted_on_a = fit(&spec, fold_a).unwrap();
    let b_with_a = transform(&fitted_on_a, fold_b.clone()).unwrap();
    assert_close(
        &b_with_a.values,
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
    // Fitted on B itself, each column of B would have mean 0; with A's statistics it does not.
    let fitted_on_b = fit(&spec, fold_b.clone()).unwrap();
    let b_with_b = transform(&fitted_on_b, fold_b).unwrap();
    let column_mean =
        |values: &[f64], column: usize| values.iter().skip(column).step_by(3).sum::<f64>() / 4.0;
    assert!(column_mean(&b_with_b.values, 1).abs() < 1e-12);
    assert!(column_mean(&b_with_a.values, 1).abs() > 0.5);
    assert_ne!(fitted_on_a.steps, fitted_on_b.steps);
}

// OneHotEncoder(handle_unknown="ignore") after SimpleImputer(strategy="constant",
// fill_value="missing"): categories_ ["Green", "blue", "green", "missing", "red"].
#[test]
fn one_hot_after_constant_imputer() {
    let frame = Frame {
        columns: vec![sample().columns[4].clone()],
    };
    let spec = PipelineSpec {
        steps: vec![
            Step::Impute {
                numeric: None,
                categorical: Some(CategoricalImpute::Constant("missing".into())),
            },
            Step::OneHot {
                unknown: UnknownCategory::Ignore,
            },
        ],
    };
    let fitted = fit(&spec, frame.clone()).unwrap();
    assert_eq!(
        fitted.output_columns,
        [
            "colour=Green",
            "colour=blue",
            "colour=green",
            "colour=missing",
            "colour=red"
        ]
    );
    let matrix = transform(&fitted, frame).unwrap();
    // Row 4 was missing: it is "missing" now.
    assert_eq!(&matrix.values[4 * 5..5 * 5], [0.0, 0.0, 0.0, 1.0, 0.0]);
    // Row 7 is "Green".
    assert_eq!(&matrix.values[7 * 5..8 * 5], [1.0, 0.0, 0.0, 0.0, 0.0]);
}
