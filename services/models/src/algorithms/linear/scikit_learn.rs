//! The linear regressors against scikit-learn 1.9.1 on diabetes (smartcore's copy, its
//! `f32` values widened to `f64`, fitted by scikit-learn from the same numbers): the
//! coefficients, the intercept and, for coordinate descent, the epoch count
//! (`n_iter_`).

use crate::algorithms::cancel::Cancel;
use crate::algorithms::elastic_net::ElasticNetParams;
use crate::algorithms::lasso::LassoParams;
use crate::algorithms::linear::LinearModel;
use crate::algorithms::linear_regression::{LeastSquaresSolver, LinearRegressionParams};
use crate::algorithms::ridge::RidgeParams;
use mltools_core::utils::Matrix;
use smartcore::dataset::diabetes;

fn diabetes() -> (Matrix, Vec<f64>) {
    let set = diabetes::load_dataset();
    let x = Matrix {
        rows: set.num_samples,
        columns: (0..set.num_features).map(|c| format!("x{c}")).collect(),
        values: set.data.iter().map(|&value| f64::from(value)).collect(),
    };
    (
        x,
        set.target.iter().map(|&value| f64::from(value)).collect(),
    )
}

/// Every coefficient and the intercept within `tolerance` of scikit-learn's.
fn assert_close(model: &LinearModel, coefficients: [f64; 10], intercept: f64, tolerance: f64) {
    let near = model
        .coefficients
        .iter()
        .zip(coefficients)
        .all(|(ours, theirs)| (ours - theirs).abs() <= tolerance);
    assert!(near, "ours {model:?}, scikit-learn's {coefficients:?}");
    assert!(
        (model.intercept - intercept).abs() <= tolerance,
        "{} vs {intercept}",
        model.intercept
    );
}

#[test]
fn least_squares_matches_with_either_solver() {
    let (x, y) = diabetes();
    let coefficients = [
        -10.012195484010206,
        -239.81908890359443,
        519.8397881359367,
        324.39042919816455,
        -792.1842541276111,
        476.7459069890375,
        101.04460944436973,
        177.06418921310456,
        751.2793542201226,
        67.62538445763327,
    ];
    for solver in [LeastSquaresSolver::Svd, LeastSquaresSolver::Qr] {
        let params = LinearRegressionParams { solver }.check().unwrap();
        let model = params.fit(&x, &y, &Cancel::never()).unwrap();
        assert_close(&model, coefficients, 152.1334839388028, 1e-9);
    }
}

#[test]
fn ridge_matches_with_either_solver() {
    let (x, y) = diabetes();
    let coefficients = [
        29.46574685855866,
        -83.15488528128321,
        306.351627068551,
        201.62943433926023,
        5.909368227530889,
        -29.51592589533545,
        -152.04046602014498,
        117.31171488434701,
        262.9449956493348,
        111.87871731724778,
    ];
    for svd in [false, true] {
        let params = RidgeParams { alpha: 1.0, svd }.check().unwrap();
        let model = params.fit(&x, &y, &Cancel::never()).unwrap();
        assert_close(&model, coefficients, 152.13348413690807, 1e-9);
    }
    // A small penalty, where the design's collinearity shows.
    let params = RidgeParams {
        alpha: 0.01,
        svd: false,
    };
    let model = params
        .check()
        .unwrap()
        .fit(&x, &y, &Cancel::never())
        .unwrap();
    let coefficients = [
        -7.199454637997251,
        -234.55292856204306,
        520.5831383301803,
        320.52335684887896,
        -380.607103429579,
        150.48378037711936,
        -78.59121869732961,
        130.31306149903958,
        592.349600966297,
        71.13376561288399,
    ];
    assert_close(&model, coefficients, 152.1334840587288, 1e-9);
}

#[test]
fn lasso_matches_coefficients_and_epochs() {
    let (x, y) = diabetes();
    let cases = [
        (
            1.0,
            8,
            [
                0.0,
                0.0,
                367.7018521191014,
                6.301904558054495,
                0.0,
                0.0,
                0.0,
                0.0,
                307.6057000016868,
                0.0,
            ],
            152.13348405014074,
        ),
        (
            0.01,
            231,
            [
                -1.3065732153518956,
                -228.82232958498855,
                525.5606598306471,
                316.17532081976094,
                -307.01375260117265,
                89.32174724197964,
                -105.08136788579125,
                119.59799608821076,
                571.3308993555274,
                65.00731312811874,
            ],
            152.13348407559047,
        ),
    ];
    for (alpha, epochs, coefficients, intercept) in cases {
        let params = LassoParams {
            alpha,
            ..LassoParams::default()
        };
        let model = params
            .check()
            .unwrap()
            .fit(&x, &y, &Cancel::never())
            .unwrap();
        assert_close(&model, coefficients, intercept, 1e-7);
        let stop = model.convergence.unwrap();
        assert!(
            stop.converged && stop.epochs == epochs,
            "alpha {alpha}: {stop:?}"
        );
    }
}

#[test]
fn elastic_net_matches_coefficients_and_epochs() {
    let (x, y) = diabetes();
    let model = ElasticNetParams::default()
        .check()
        .unwrap()
        .fit(&x, &y, &Cancel::never())
        .unwrap();
    let coefficients = [
        0.35901787529631485,
        0.0,
        3.2597672238132924,
        2.20435557462017,
        0.5286455511661928,
        0.2509350863146193,
        -1.86136319697066,
        2.1144540117035704,
        3.1058407182621686,
        1.7698509645873066,
    ];
    assert_close(&model, coefficients, 152.13348416215678, 1e-9);
    assert_eq!(model.convergence.unwrap().epochs, 3);
    let params = ElasticNetParams {
        alpha: 0.01,
        ..ElasticNetParams::default()
    };
    let model = params
        .check()
        .unwrap()
        .fit(&x, &y, &Cancel::never())
        .unwrap();
    let coefficients = [
        33.14720227665732,
        -35.245609114562235,
        211.02392928470624,
        144.56011518896855,
        21.93153292381994,
        0.0,
        -115.62001706537467,
        100.65883751914046,
        185.3263338279104,
        96.2572133374603,
    ];
    assert_close(&model, coefficients, 152.13348413588486, 1e-7);
    assert_eq!(model.convergence.unwrap().epochs, 7);
}
