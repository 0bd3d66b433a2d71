//! Parity with scikit-learn 1.9.1 on small fixed sets, typed errors, the serialized round
//! trip, and accuracy on built-in sets. The expected values were computed once with
//! scikit-learn and pasted here (no Python at test time):
//!
//! ```python
//! # the sets are `binary()`, `three()`, `regression()` below, written the same way
//! m = SVC(kernel=k).fit(X, y)            # or decision_function_shape="ovo", or SVR(kernel=k)
//! m.support_, m.dual_coef_, m.intercept_, m.decision_function(X), m.decision_function(T)
//! ```
//!
//! Tolerances: scikit-learn's LIBSVM sums dot products with BLAS, ours with four
//! accumulators, so kernel values differ in the last bits; the solvers otherwise take the
//! same steps, so the support vectors are identical and the numbers agree to 1e-6
//! relative (far inside the stopping tolerance of 1e-3).

use super::platt::Sigmoid;
use super::{Kernel, KernelParams, SolverParams};
use crate::algorithms::svc::{SvcModel, SvcParams};
use crate::algorithms::svr::SvrParams;
use crate::algorithms::{Estimator, FittedModel, ParamMap};
use crate::error::ModelsError;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::models::ParamValue;
use mltools_core::utils::Matrix;

/// Relative tolerance on decision values, coefficients and biases.
const TOLERANCE: f64 = 1e-9;

fn matrix(rows: &[[f64; 2]]) -> Matrix {
    Matrix {
        rows: rows.len(),
        columns: vec!["a".into(), "b".into()],
        values: rows.iter().flatten().copied().collect(),
    }
}

fn ab(i: u32, a: (u32, u32, u32, f64), b: (u32, u32, u32, f64)) -> [f64; 2] {
    let a = f64::from((i * a.0 + a.1) % a.2) / a.3 - 3.0;
    let b = f64::from((i * b.0 + b.1) % b.2) / b.3 - 3.0;
    [a, b]
}

/// Python: `a = ((i*37+11) % 53)/8 - 3; b = ((i*19+5) % 47)/7 - 3;
/// noise = ((i*7) % 5)*0.3 - 0.6; y = 1 if a + 0.5*b + noise > 0 else 0`, i in 0..40.
fn binary() -> (Matrix, Vec<u32>) {
    let rows: Vec<[f64; 2]> = (0..40)
        .map(|i| ab(i, (37, 11, 53, 8.0), (19, 5, 47, 7.0)))
        .collect();
    let labels = (0..40)
        .zip(&rows)
        .map(|(i, [a, b])| {
            let noise = f64::from((i * 7) % 5) * 0.3 - 0.6;
            u32::from(a + 0.5 * b + noise > 0.0)
        })
        .collect();
    (matrix(&rows), labels)
}

/// Python: `a = ((i*29+3) % 61)/10 - 3; b = ((i*23+7) % 59)/10 - 3;
/// noise = ((i*11) % 7)*0.25 - 0.75`; class 0 if `a + noise < -0.8`, else 2 if
/// `b - noise > 0.3`, else 1; i in 0..45.
fn three() -> (Matrix, Vec<u32>) {
    let rows: Vec<[f64; 2]> = (0..45)
        .map(|i| ab(i, (29, 3, 61, 10.0), (23, 7, 59, 10.0)))
        .collect();
    let labels = (0..45)
        .zip(&rows)
        .map(|(i, [a, b])| {
            let noise = f64::from((i * 11) % 7) * 0.25 - 0.75;
            if a + noise < -0.8 {
                0
            } else if b - noise > 0.3 {
                2
            } else {
                1
            }
        })
        .collect();
    (matrix(&rows), labels)
}

/// Python: `a, b` as in `binary`; `y = 1.5*a - 0.5*b + ((i*13) % 7)/7 - 0.5`, i in 0..30.
fn regression() -> (Matrix, Vec<f64>) {
    let rows: Vec<[f64; 2]> = (0..30)
        .map(|i| ab(i, (37, 11, 53, 8.0), (19, 5, 47, 7.0)))
        .collect();
    let targets = (0..30)
        .zip(&rows)
        .map(|(i, [a, b])| 1.5 * a - 0.5 * b + f64::from((i * 13) % 7) / 7.0 - 0.5)
        .collect();
    (matrix(&rows), targets)
}

/// Python: `T = [[0, 0], [1, -1], [-2, 0.5], [2.5, 2.5]]`.
fn probe() -> Matrix {
    matrix(&[[0.0, 0.0], [1.0, -1.0], [-2.0, 0.5], [2.5, 2.5]])
}

fn kernel(name: &'static str) -> KernelParams {
    KernelParams {
        kernel: name,
        ..KernelParams::default()
    }
}

fn assert_close(ours: &[f64], theirs: &[f64], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    for (index, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (a - b).abs() <= TOLERANCE * b.abs().max(1.0),
            "{what}[{index}]: ours {a}, scikit-learn {b}"
        );
    }
}

fn negated(values: &[f64]) -> Vec<f64> {
    values.iter().map(|v| -v).collect()
}

fn svc(kernel_name: &'static str, x: &Matrix, y: &[u32]) -> SvcModel {
    let params = SvcParams {
        kernel: kernel(kernel_name),
        probability: false,
        ..SvcParams::default()
    };
    params.check().unwrap().fit(x, y, 0).unwrap()
}

struct Binary {
    kernel: &'static str,
    support: &'static [u32],
    dual: &'static [f64],
    intercept: f64,
    train: &'static [f64],
    test: &'static [f64],
}

/// `SVC(kernel=k).fit(X, y)` on `binary()`: `support_`, `dual_coef_[0]`, `intercept_[0]`,
/// `decision_function(X)`, `decision_function(T)`.
const BINARY: [Binary; 3] = [
    Binary {
        kernel: "rbf",
        support: &[
            5, 6, 7, 15, 16, 17, 25, 26, 27, 36, 8, 9, 18, 19, 28, 29, 34, 35, 39,
        ],
        dual: &[
            -1.0,
            -0.672993714120101,
            -0.035144049864688165,
            -1.0,
            -1.0,
            -1.0,
            -1.0,
            -1.0,
            -0.25218206050583897,
            -1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            0.8367315786545089,
            0.9548145342171744,
            0.16877371161894475,
            1.0,
            1.0,
        ],
        intercept: -0.38848729203935645,
        train: &[
            -1.4298750036882875,
            1.4519102931678356,
            1.6860157479400553,
            -1.8381313605741763,
            -1.510865038173131,
            -0.9212271711229212,
            -0.9999153919090387,
            -0.9998992739034438,
            0.6636464496080718,
            0.9107611982272348,
            -1.491776734635179,
            1.547144185215833,
            1.5903538174474627,
            -1.881503914941458,
            1.0397009007655942,
            -0.7999862469569262,
            -0.927635160519948,
            -0.9925157493538708,
            0.8451980735806461,
            0.9693490853799924,
            -1.552662118922706,
            1.6163904138207201,
            -1.4585609616807824,
            -1.9095260533452074,
            1.024987193416815,
            -0.670283991827016,
            -0.8358025465523298,
            -1.0002081770047575,
            1.0002595468092985,
            0.9996626193741114,
            -1.6102636526992307,
            1.6638209100454249,
            -1.4742217968796905,
            -1.9161780798079588,
            1.0001007366370027,
            -0.5426218584866723,
            -0.7307918793979513,
            -1.0348730158007489,
            1.1279010432282535,
            0.9931266797056026,
        ],
        test: &[
            -0.9481915422466225,
            -0.5382881147053062,
            -1.901687635885195,
            1.5252351306569767,
        ],
    },
    Binary {
        kernel: "linear",
        support: &[15, 25, 26, 36, 8, 9, 19, 35],
        dual: &[
            -0.1565218565532179,
            -1.0,
            -0.1280222824342772,
            -1.0,
            0.24783745128715118,
            1.0,
            0.03670668770034418,
            1.0,
        ],
        intercept: -1.2366485848854523,
        train: &[
            -5.396954487950193,
            3.000022376254258,
            2.9007431927509413,
            -3.2977217919137267,
            -3.397000975417046,
            -1.0992099123739405,
            -1.1984890958772585,
            -1.2977682793805774,
            1.0000227836625268,
            0.9007436001592088,
            -5.297721384505458,
            3.099255479698995,
            2.9999762961956775,
            -3.19848868846899,
            5.198488175735463,
            -0.9999768089292025,
            -1.0992559924325225,
            -1.1985351759358402,
            1.0992558871072635,
            0.9999767036039433,
            -5.198488281060721,
            3.1984885831437304,
            -2.9999764015209354,
            -3.099255585024254,
            5.297721279180198,
            -0.9007437054844676,
            -1.0000228889877865,
            -7.198487873652452,
            1.1984889905519993,
            1.0992098070486813,
            -5.099255177615985,
            3.2977216865884666,
            -2.9007432980762,
            -3.000022481579518,
            5.3969543826249335,
            -0.8015106020397322,
            -0.9007897855430511,
            -7.0992547702077164,
            1.2977220939967355,
            1.198442910493418,
        ],
        test: &[
            -1.2366485848854523,
            -0.8625842164762747,
            -3.3473613836653855,
            4.240459209342751,
        ],
    },
    Binary {
        kernel: "poly",
        support: &[
            5, 6, 13, 15, 16, 17, 25, 26, 36, 8, 9, 18, 19, 28, 29, 31, 35, 38, 39,
        ],
        dual: &[
            -1.0,
            -1.0,
            -0.9806281859543253,
            -1.0,
            -1.0,
            -0.46255813305489296,
            -1.0,
            -1.0,
            -1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            0.18290022883783189,
            1.0,
            1.0,
            0.26028609017138643,
        ],
        intercept: -0.8516532928070994,
        train: &[
            -2.5199241394369016,
            1.611213909991834,
            2.231779374169072,
            -1.012246111150213,
            -3.92804152921072,
            -0.6771825973123222,
            -0.8504283589260347,
            -1.1615183137252356,
            0.3597655448711916,
            -0.14433200769075727,
            -2.2135362183868983,
            1.3199297486931132,
            2.99618181762923,
            -0.9996654197178437,
            4.093448889227053,
            -0.6514097820431585,
            -0.8383379025039159,
            -1.0003775467581275,
            0.1231463287770227,
            0.16058520832849532,
            -2.008286299184471,
            1.1142354958429965,
            -2.601796503362471,
            -1.0297227428816587,
            4.211996594228372,
            -0.6508436124337942,
            -0.8103854734265876,
            -5.05577542993717,
            -0.08017954572555075,
            0.5398643842543502,
            -1.8979709614352376,
            1.000334571835868,
            -2.1815245075505887,
            -1.0962146602472722,
            4.480837615324074,
            -0.6692806680898417,
            -0.7603676512996651,
            -4.622566990775905,
            -0.24400865824214346,
            0.9997089404811932,
        ],
        test: &[
            -0.8516532928070994,
            -0.7550819640340612,
            -1.6804714877891866,
            2.2924582170877077,
        ],
    },
];

#[test]
fn binary_machines_match_scikit_learn() {
    let (x, y) = binary();
    for expected in &BINARY {
        let model = svc(expected.kernel, &x, &y);
        let what = expected.kernel;
        assert_eq!(model.support(), expected.support, "{what}: support vectors");
        // scikit-learn flips the binary machine: its coefficients are LIBSVM's negated and
        // its intercept is LIBSVM's rho (its decision_function flips the same way).
        assert_close(&negated(model.dual_coefficients()), expected.dual, what);
        assert_close(model.rho(), &[expected.intercept], what);
        assert_close(&model.decision_function(&x).unwrap(), expected.train, what);
        assert_close(
            &model.decision_function(&probe()).unwrap(),
            expected.test,
            what,
        );
        let labels = model.predict(&x, 2).unwrap().labels;
        let expected_labels: Vec<u32> =
            expected.train.iter().map(|&d| u32::from(d > 0.0)).collect();
        assert_eq!(labels, expected_labels, "{what}");
        assert!(model.converged());
    }
}

struct ThreeClass {
    kernel: &'static str,
    support: &'static [u32],
    counts: &'static [u32],
    dual: &'static [f64],
    intercept: &'static [f64],
    test: &'static [f64],
    predicted_train: &'static [u32],
    predicted_test: &'static [u32],
}

/// `SVC(kernel=k, decision_function_shape="ovo").fit(X, y)` on `three()`: `support_`,
/// `n_support_`, `dual_coef_`, `intercept_`, `decision_function(T)`, `predict(X)`,
/// `predict(T)`.
const THREE_CLASS: [ThreeClass; 2] = [
    ThreeClass {
        kernel: "rbf",
        support: &[
            0, 2, 7, 9, 11, 13, 15, 28, 30, 34, 36, 1, 3, 5, 6, 16, 23, 24, 26, 29, 4, 14, 20, 22,
            25, 27, 37, 43,
        ],
        counts: &[11, 9, 8],
        dual: &[
            0.0,
            0.1838491951518583,
            0.6710767938324962,
            1.0,
            1.0,
            1.0,
            0.0,
            1.0,
            0.0,
            0.5509554246063999,
            0.03466058731613217,
            -1.0,
            -0.6937967323054673,
            -1.0,
            -0.0,
            -0.0,
            -0.7467452686014192,
            -1.0,
            -1.0,
            -0.0,
            -0.22316626737121195,
            -0.0,
            -1.0,
            -1.0,
            -0.10439754050144008,
            -0.0,
            -0.8004779252799599,
            -1.0,
            0.30193683523411424,
            0.0,
            1.0,
            1.0,
            0.03745952665782943,
            0.0,
            0.1670851281212521,
            0.6215602431394164,
            1.0,
            0.0,
            0.0,
            1.0,
            0.0,
            0.15237449328224192,
            1.0,
            0.5154209702609258,
            0.20502433733321854,
            1.0,
            0.0,
            1.0,
            -0.7081139707590535,
            -1.0,
            -0.0,
            -1.0,
            -0.0,
            -1.0,
            -1.0,
            -0.16470583011733284,
        ],
        intercept: &[0.1367015616031216, 0.22638166346366304, 0.114473543745644],
        test: &[
            -0.638837655176351,
            -0.19303037204309717,
            0.3422053059807909,
            -1.664826143984582,
            -0.352034314203183,
            1.0735718903963596,
            1.4117150858887253,
            1.3156539277807615,
            0.30009551500565657,
            0.06756702008188205,
            -0.9998931162361897,
            -1.194238616798589,
        ],
        predicted_train: &[
            0, 1, 0, 1, 2, 1, 1, 0, 1, 0, 1, 0, 2, 0, 2, 0, 1, 0, 1, 0, 2, 0, 2, 1, 1, 2, 1, 2, 0,
            1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 1, 0, 1, 0, 2, 1,
        ],
        predicted_test: &[1, 1, 0, 2],
    },
    ThreeClass {
        kernel: "linear",
        support: &[7, 9, 13, 28, 30, 1, 5, 6, 24, 26, 29, 14, 22, 27, 37, 43],
        counts: &[5, 6, 5],
        dual: &[
            0.7850190771010317,
            0.0,
            0.611341102747528,
            1.0,
            0.0,
            -0.0,
            -0.39636017984855937,
            -0.0,
            -1.0,
            -1.0,
            -0.0,
            -0.0,
            -1.0,
            -0.0,
            -0.0,
            -0.9294131941435906,
            1.0,
            0.6263759606535036,
            0.0,
            0.0,
            0.30303723349008693,
            1.0,
            0.0,
            1.0,
            0.37254410218898093,
            0.0,
            0.13832803360528,
            -1.0,
            -0.13705210115042074,
            -0.3738200346438402,
            -1.0,
            -0.0,
        ],
        intercept: &[-0.7063479758865441, -0.6465814964987547, 0.6624283300487972],
        test: &[
            -0.7063479758865441,
            -0.6465814964987547,
            0.6624283300487972,
            -2.514489548901902,
            -2.2455195796150647,
            1.9610212631428017,
            2.4013953802621493,
            2.792462921298299,
            0.30547172819224433,
            -3.5315692754848653,
            -5.447820876170978,
            -3.558520218321048,
        ],
        predicted_train: &[
            0, 1, 0, 1, 2, 1, 1, 0, 1, 0, 1, 0, 2, 0, 2, 0, 1, 0, 1, 0, 2, 0, 2, 1, 1, 2, 1, 2, 1,
            1, 0, 1, 0, 2, 0, 2, 0, 1, 0, 1, 0, 1, 0, 2, 1,
        ],
        predicted_test: &[1, 1, 0, 2],
    },
];

#[test]
fn one_vs_one_matches_scikit_learn() {
    let (x, y) = three();
    for expected in &THREE_CLASS {
        let model = svc(expected.kernel, &x, &y);
        let what = expected.kernel;
        assert_eq!(model.support(), expected.support, "{what}: support vectors");
        assert_eq!(model.support_counts(), expected.counts, "{what}");
        assert_close(model.dual_coefficients(), expected.dual, what);
        assert_close(&negated(model.rho()), expected.intercept, what);
        assert_close(
            &model.decision_function(&probe()).unwrap(),
            expected.test,
            what,
        );
        assert_eq!(
            model.predict(&x, 3).unwrap().labels,
            expected.predicted_train,
            "{what}"
        );
        assert_eq!(
            model.predict(&probe(), 3).unwrap().labels,
            expected.predicted_test,
            "{what}"
        );
    }
}

struct Regression {
    kernel: &'static str,
    support: &'static [u32],
    dual: &'static [f64],
    intercept: f64,
    train: &'static [f64],
    test: &'static [f64],
}

/// `SVR(kernel=k).fit(X, y)` on `regression()`: `support_`, `dual_coef_[0]`,
/// `intercept_[0]`, `predict(X)`, `predict(T)`.
const REGRESSION: [Regression; 2] = [
    Regression {
        kernel: "rbf",
        support: &[
            0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
            25, 26, 27, 28, 29,
        ],
        dual: &[
            -1.0,
            1.0,
            1.0,
            -1.0,
            1.0,
            -1.0,
            -1.0,
            1.0,
            0.930590049406464,
            0.5431471010524568,
            1.0,
            -1.0,
            -1.0,
            1.0,
            1.0,
            1.0,
            -1.0,
            0.15346651566891073,
            -1.0,
            -1.0,
            -0.47342301226752576,
            1.0,
            0.030264914688969847,
            1.0,
            -0.18404556854927542,
            -1.0,
            -1.0,
            -1.0,
            1.0,
        ],
        intercept: 0.05154987445631556,
        train: &[
            -1.4544965190740142,
            3.412517545500247,
            0.047067685607351216,
            -1.1102839287876702,
            -2.817009859064791,
            3.032721224790426,
            -0.8373128683896136,
            -2.8883591332090273,
            3.340753991082005,
            -0.5110834789334764,
            -1.653397542283906,
            3.3485139576509786,
            -0.21385212473357637,
            -1.3747618853330572,
            2.8857036603156168,
            2.994283566545452,
            -1.1464279791640477,
            -2.7688505471437255,
            3.2300954359678764,
            -0.7970853320642658,
            -1.8235333337722845,
            3.2247382595502834,
            2.038088133327516,
            -1.6175643525878,
            2.6841581677447333,
            2.877211735724018,
            -1.4328961589887743,
            -1.821211830525997,
            3.0607040176843783,
            -1.0517993228317264,
        ],
        test: &[
            0.05418681880489481,
            2.2597353972131224,
            -2.4013808416848303,
            2.1829001798068233,
        ],
    },
    Regression {
        kernel: "linear",
        support: &[
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 26, 27,
            28, 29,
        ],
        dual: &[
            -1.0,
            1.0,
            1.0,
            1.0,
            0.1383630091199717,
            -0.5629773300283628,
            -1.0,
            -1.0,
            1.0,
            1.0,
            1.0,
            -1.0,
            -1.0,
            -1.0,
            1.0,
            1.0,
            1.0,
            -1.0,
            -1.0,
            -1.0,
            1.0,
            1.0,
            -0.5753856790916085,
            -1.0,
            -1.0,
            1.0,
        ],
        intercept: -0.11926669864103427,
        train: &[
            -1.5079641214847894,
            4.264103575703157,
            -0.09801742975155374,
            -1.2375629434481654,
            -5.599683948902874,
            3.3949592400431676,
            -0.967161765411541,
            -5.329282770866248,
            3.6653604180797927,
            -0.6967605873749159,
            -1.8363061010715327,
            3.935761596116416,
            -0.42635940933829436,
            -1.5659049230349058,
            4.206162774153046,
            3.0666172604564306,
            -1.2955037449982798,
            -5.657624750452985,
            3.3370184384930632,
            -1.025102566961652,
            -2.1646480806582624,
            3.6074196165296852,
            2.46787410283307,
            -1.8942469026216433,
            3.8778207945663095,
            2.738275280869697,
            -1.623845724585015,
            -2.763391238281624,
            3.008676458906322,
            -1.3534445465483873,
        ],
        test: &[
            -0.11926669864103427,
            1.890380214099187,
            -3.4186234461755207,
            2.5050603233896602,
        ],
    },
];

#[test]
fn epsilon_svr_matches_scikit_learn() {
    let (x, y) = regression();
    for expected in &REGRESSION {
        let params = SvrParams {
            kernel: kernel(expected.kernel),
            ..SvrParams::default()
        };
        let machine = params.check().unwrap().fit(&x, &y).unwrap();
        let what = expected.kernel;
        assert_eq!(
            machine.support(),
            expected.support,
            "{what}: support vectors"
        );
        assert_close(machine.coefficients(), expected.dual, what);
        assert_close(&[-machine.rho()], &[expected.intercept], what);
        assert_close(&machine.decisions(&x).unwrap(), expected.train, what);
        assert_close(&machine.decisions(&probe()).unwrap(), expected.test, what);
    }
}

/// The binary RBF machine's decision values in LIBSVM's sign (positive: class 0), and
/// whether each row is class 0: the input of the Platt test in `platt.rs`.
pub(crate) fn platt_inputs() -> (Vec<f64>, Vec<bool>) {
    let (_, y) = binary();
    (
        negated(BINARY[0].train),
        y.iter().map(|&class| class == 0).collect(),
    )
}

/// The minimiser of Platt's objective on [`platt_inputs`], by scipy (see `platt.rs`).
pub(crate) const PLATT_MINIMUM: (f64, f64) = (-2.4313275419845954, 0.23307888468762575);

fn param(name: &str, value: ParamValue) -> ParamMap {
    ParamMap::from([(name.to_owned(), value)])
}

/// Each bad setting is an `InvalidParam` naming the parameter, with what is accepted.
#[test]
fn bad_settings_are_refused_naming_the_parameter() {
    let cases = [
        (
            "c",
            ParamValue::Number(0.0),
            "`c` = 0: expected a number > 0",
        ),
        ("c", ParamValue::Number(-1.0), "`c` = -1"),
        ("gamma", ParamValue::Number(0.0), "`gamma` = 0: expected"),
        ("gamma", ParamValue::Number(-0.5), "`gamma` = -0.5"),
        (
            "tol",
            ParamValue::Number(0.0),
            "`tol` = 0: expected a number > 0",
        ),
        (
            "degree",
            ParamValue::Number(0.5),
            "`degree` = 0.5: expected a whole number ≥ 1",
        ),
        (
            "cache_size_mb",
            ParamValue::Integer(0),
            "`cache_size_mb` = 0: expected a number of megabytes > 0 (0 would be a zero-sized kernel cache)",
        ),
        (
            "probability",
            ParamValue::Integer(1),
            "`probability` = 1: expected true or false",
        ),
        ("shrinking", ParamValue::Text("no".into()), "`shrinking`"),
    ];
    for algorithm in ["svc", "svr"] {
        for (name, value, message) in &cases {
            if algorithm == "svr" && *name == "probability" {
                continue;
            }
            let error = Estimator::new(algorithm, &param(name, value.clone())).unwrap_err();
            assert!(
                matches!(&error, ModelsError::InvalidParam { param, .. } if param == name),
                "{algorithm} {name}: {error}"
            );
            assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
            let text = error.to_string();
            assert!(
                text.starts_with(algorithm) && text.contains(message),
                "{text}"
            );
        }
    }
}

#[test]
fn one_class_and_missing_values_are_typed_errors() {
    let (x, _) = binary();
    let params = SvcParams::default().check().unwrap();
    let error = params.fit(&x, &[1; 40], 0).unwrap_err();
    assert!(
        matches!(
            error,
            ModelsError::Fit {
                algorithm: "svc",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
    assert_eq!(
        error.to_string(),
        "svc: fit failed: the training rows hold one class only (class code 1); SVC needs two or more"
    );
    let mut holed = x.clone();
    holed.values[7] = f64::NAN;
    let error = params.fit(&holed, &binary().1, 0).unwrap_err();
    assert_eq!(
        error,
        ModelsError::NonFinite {
            column: "b".into(),
            row: 3
        }
    );
    assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
    let (x, y) = regression();
    let mut holed = x.clone();
    holed.values[0] = f64::INFINITY;
    let error = SvrParams::default()
        .check()
        .unwrap()
        .fit(&holed, &y)
        .unwrap_err();
    assert!(
        matches!(error, ModelsError::NonFinite { row: 0, .. }),
        "{error}"
    );
    let mut targets = y.clone();
    targets[4] = f64::NAN;
    let error = SvrParams::default()
        .check()
        .unwrap()
        .fit(&x, &targets)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "svr: fit failed: the target at row 4 is NaN; it must be finite"
    );
}

fn round_trip(algorithm: &str, params: &ParamMap, x: &Matrix, y: &Targets) -> Prediction {
    let model = Estimator::new(algorithm, params)
        .unwrap()
        .fit(x, y, 7)
        .unwrap();
    let reloaded = FittedModel::from_bytes(&model.to_bytes().unwrap()).unwrap();
    let before = model.predict(x).unwrap();
    let after = reloaded.predict(x).unwrap();
    assert_eq!(before, after, "{algorithm} {params:?}");
    // Bit for bit, not only equal as numbers.
    let bits = |prediction: &Prediction| match prediction {
        Prediction::Regression(values) => values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        Prediction::Classification(classes) => (classes.probabilities.iter().flatten())
            .chain(classes.scores.iter().flatten())
            .map(|v| v.to_bits())
            .collect(),
    };
    assert_eq!(bits(&before), bits(&after));
    before
}

#[test]
fn fitted_models_reload_and_predict_bit_identically() {
    let (x, codes) = three();
    let classes = vec!["a".into(), "b".into(), "c".into()];
    let targets = Targets::Classification { codes, classes };
    let with = round_trip("svc", &ParamMap::new(), &x, &targets);
    let Prediction::Classification(with) = with else {
        unreachable!()
    };
    assert!(with.probabilities.is_some());
    let off = param("probability", ParamValue::Bool(false));
    let Prediction::Classification(without) = round_trip("svc", &off, &x, &targets) else {
        unreachable!()
    };
    assert_eq!(without.probabilities, None);
    // The labels come from the votes either way: probabilities do not change them.
    assert_eq!(with.labels, without.labels);
    let (x, codes) = binary();
    let targets = Targets::Classification {
        codes,
        classes: vec!["no".into(), "yes".into()],
    };
    let Prediction::Classification(scored) = round_trip("svc", &off, &x, &targets) else {
        unreachable!()
    };
    assert_close(
        scored.scores.as_deref().unwrap(),
        BINARY[0].train,
        "binary scores are scikit-learn's decision_function",
    );
    round_trip(
        "svc",
        &param("kernel", ParamValue::Text("poly".into())),
        &x,
        &targets,
    );
    let (x, y) = regression();
    round_trip("svr", &ParamMap::new(), &x, &Targets::Regression(y.clone()));
    round_trip(
        "svr",
        &param("kernel", ParamValue::Text("sigmoid".into())),
        &x,
        &Targets::Regression(y),
    );
}

#[test]
fn probabilities_follow_the_decision_values() {
    let (x, y) = three();
    let params = SvcParams::default().check().unwrap();
    let model = params.fit(&x, &y, 11).unwrap();
    let sigmoids: &[Sigmoid] = model.sigmoids().unwrap();
    assert_eq!(sigmoids.len(), 3);
    // Each pair's first class becomes likelier as its decision value grows.
    assert!(
        sigmoids.iter().all(|sigmoid| sigmoid.a < 0.0),
        "{sigmoids:?}"
    );
    let prediction = model.predict(&x, 4).unwrap();
    let probabilities = prediction.probabilities.unwrap();
    let mut agree = 0;
    for (row, (&label, &truth)) in probabilities
        .chunks_exact(4)
        .zip(prediction.labels.iter().zip(&y))
    {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
        assert_eq!(
            row[3], 0.0,
            "a class absent from training has no probability"
        );
        agree += usize::from(crate::prediction::argmax(row) as u32 == label);
        let _ = truth;
    }
    assert!(
        agree >= 40,
        "{agree} of 45 most-probable classes are the voted ones"
    );
    // The same seed gives the same sigmoids.
    assert_eq!(params.fit(&x, &y, 11).unwrap(), model);
}

#[test]
fn a_tiny_cache_and_no_shrinking_reach_the_same_machine() {
    let (x, y) = binary();
    let reference = svc("rbf", &x, &y);
    for solver in [
        SolverParams {
            cache_size_mb: 1e-6,
            ..SolverParams::default()
        },
        SolverParams {
            shrinking: false,
            ..SolverParams::default()
        },
    ] {
        let params = SvcParams {
            solver,
            probability: false,
            ..SvcParams::default()
        };
        let model = params.check().unwrap().fit(&x, &y, 0).unwrap();
        assert_eq!(model.support(), reference.support());
        assert_close(
            model.dual_coefficients(),
            reference.dual_coefficients(),
            "cache",
        );
        assert_close(model.rho(), reference.rho(), "cache");
    }
    let _ = Kernel::Linear;
}

/// A built-in set (smartcore's copy), split by row: every fifth row from the first is
/// held out; standard-scaled as [`scaled_split`] does.
fn held_out(values: &[f32], width: usize, labels: &[u32]) -> (Matrix, Vec<u32>, Matrix, Vec<u32>) {
    let value = |row: usize, column: usize| f64::from(values[row * width + column]);
    scaled_split(width, value, labels, |row| row % 5 == 0)
}

/// The rows of `labels` split into training and test rows by `is_test`, standard-scaled
/// on the training rows (scikit-learn's `StandardScaler`: population deviation, 1 for a
/// constant column; naive sums in this order of operations, in the Python too).
fn scaled_split(
    width: usize,
    value: impl Fn(usize, usize) -> f64,
    labels: &[u32],
    is_test: impl Fn(usize) -> bool,
) -> (Matrix, Vec<u32>, Matrix, Vec<u32>) {
    let rows = labels.len();
    let train_rows: Vec<usize> = (0..rows).filter(|&row| !is_test(row)).collect();
    let n = train_rows.len() as f64;
    let scale: Vec<(f64, f64)> = (0..width)
        .map(|column| {
            let mut sum = 0.0;
            for &row in &train_rows {
                sum += value(row, column);
            }
            let mean = sum / n;
            let mut squares = 0.0;
            for &row in &train_rows {
                squares += (value(row, column) - mean) * (value(row, column) - mean);
            }
            let deviation = (squares / n).sqrt();
            (mean, if deviation > 0.0 { deviation } else { 1.0 })
        })
        .collect();
    let part = |test: bool| {
        let chosen: Vec<usize> = (0..rows).filter(|&row| is_test(row) == test).collect();
        let mut values = Vec::with_capacity(chosen.len() * width);
        for &row in &chosen {
            for (column, (mean, deviation)) in scale.iter().enumerate() {
                values.push((value(row, column) - mean) / deviation);
            }
        }
        let x = Matrix {
            rows: chosen.len(),
            columns: (0..width).map(|column| format!("x{column}")).collect(),
            values,
        };
        (
            x,
            chosen.iter().map(|&row| labels[row]).collect::<Vec<u32>>(),
        )
    };
    let (train_x, train_y) = part(false);
    let (test_x, test_y) = part(true);
    (train_x, train_y, test_x, test_y)
}

fn correct(predicted: &[u32], truth: &[u32]) -> usize {
    predicted.iter().zip(truth).filter(|(a, b)| a == b).count()
}

/// scikit-learn on the same rows (`builtin.py`: the split and scaling of `held_out`, then
/// `SVC(decision_function_shape="ovo").fit(Xtr, ytr)`): 109 of 114 held-out rows right
/// (0.9561), `n_support_` [52, 50], `decision_function(Xte[:3])` and `intercept_` below;
/// with `probability=True` its log loss is 0.0996, 0.0995, 0.0988 for random states 0–2.
#[test]
fn breast_cancer_matches_scikit_learn() {
    let set = smartcore::dataset::breast_cancer::load_dataset();
    let (x, y, test_x, test_y) = held_out(&set.data, set.num_features, &set.target);
    let model = SvcParams::default()
        .check()
        .unwrap()
        .fit(&x, &y, 0)
        .unwrap();
    assert_eq!(model.support_counts(), [52, 50]);
    assert_close(model.rho(), &[-0.27027018621635923], "intercept");
    let first = matrix_rows(&test_x, 3);
    assert_close(
        &model.decision_function(&first).unwrap(),
        &[-0.93059813989626, -0.5802352664176543, -0.5732555416553107],
        "decision values",
    );
    let prediction = model.predict(&test_x, 2).unwrap();
    assert_eq!(correct(&prediction.labels, &test_y), 109);
    let probabilities = prediction.probabilities.unwrap();
    let loss = crate::metrics::log_loss(&test_y, &probabilities, 2);
    // Other folds than scikit-learn's, the same method: the loss is of the same size.
    assert!((0.08..0.12).contains(&loss), "log loss {loss}");
}

/// As [`breast_cancer_matches_scikit_learn`], ten classes (45 machines): 353 of 360
/// held-out rows right (0.9806), 736 support vectors.
#[test]
fn digits_match_scikit_learn() {
    let set = smartcore::dataset::digits::load_dataset();
    let labels: Vec<u32> = set.target.iter().map(|&label| label as u32).collect();
    let (x, y, test_x, test_y) = held_out(&set.data, set.num_features, &labels);
    let params = SvcParams {
        probability: false,
        ..SvcParams::default()
    };
    let model = params.check().unwrap().fit(&x, &y, 0).unwrap();
    assert_eq!(
        model.support_counts(),
        [40, 82, 79, 74, 75, 73, 60, 75, 98, 80]
    );
    assert_close(
        &negated(&model.rho()[..3]),
        &[
            -0.5917296939227646,
            -0.6522128345860644,
            -0.5113337386540515,
        ],
        "intercept",
    );
    let first = matrix_rows(&test_x, 1);
    assert_close(
        &model.decision_function(&first).unwrap()[..6],
        &[
            1.5144419108571623,
            1.4489646405122985,
            1.4354994686949207,
            1.5064022854459747,
            1.6343006641072249,
            1.660380070667741,
        ],
        "decision values",
    );
    let prediction = model.predict(&test_x, 10).unwrap();
    assert_eq!(correct(&prediction.labels, &test_y), 353);
}

/// The first `count` rows of `x`.
fn matrix_rows(x: &Matrix, count: usize) -> Matrix {
    let width = x.columns.len();
    Matrix {
        rows: count,
        columns: x.columns.clone(),
        values: x.values[..count * width].to_vec(),
    }
}

/// Fit + predict time against scikit-learn's, on identical stratified 5-fold splits,
/// standard-scaled on each training fold, single-threaded. Run by hand, in release:
///
/// ```text
/// python bench.py     # StratifiedKFold(5, shuffle=True, random_state=0); SVC(probability=p)
///                     # timed around fit + predict(_proba) under threadpool_limits(1);
///                     # writes <set>.csv: the features, the label, the fold
/// MLTOOLS_SVM_BENCH_DIR=/tmp/svmbench cargo test --release -p mltools-models --lib \
///     svm::tests::speed -- --ignored --nocapture --test-threads 1
/// ```
fn speed(name: &str) {
    let Ok(directory) = std::env::var("MLTOOLS_SVM_BENCH_DIR") else {
        eprintln!("{name}: skipped, MLTOOLS_SVM_BENCH_DIR is not set");
        return;
    };
    let text = std::fs::read_to_string(format!("{directory}/{name}.csv")).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let width = rows[0].len() - 2;
    let labels: Vec<u32> = rows.iter().map(|row| row[width] as u32).collect();
    let folds: Vec<usize> = rows.iter().map(|row| row[width + 1] as usize).collect();
    let classes = *labels.iter().max().unwrap() as usize + 1;
    let probabilities = match std::env::var("MLTOOLS_SVM_BENCH_PROBABILITY").as_deref() {
        Ok("false") => vec![false],
        Ok("true") => vec![true],
        _ => vec![false, true],
    };
    for probability in probabilities {
        let (mut elapsed, mut right) = (std::time::Duration::ZERO, 0);
        for fold in 0..5 {
            let value = |row: usize, column: usize| rows[row][column];
            let (x, y, test_x, test_y) =
                scaled_split(width, value, &labels, |row| folds[row] == fold);
            let params = SvcParams {
                probability,
                ..SvcParams::default()
            };
            let started = std::time::Instant::now();
            let model = params.check().unwrap().fit(&x, &y, 0).unwrap();
            let prediction = model.predict(&test_x, classes).unwrap();
            elapsed += started.elapsed();
            right += correct(&prediction.labels, &test_y);
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let peak = status
            .lines()
            .find(|line| line.starts_with("VmHWM"))
            .unwrap_or("");
        eprintln!(
            "{name} probability={probability}: fit+predict {:.3} s over 5 folds, accuracy {:.4}, {peak}",
            elapsed.as_secs_f64(),
            right as f64 / labels.len() as f64
        );
    }
}

#[test]
#[ignore = "a benchmark against scikit-learn: see `speed`"]
fn speed_breast_cancer() {
    speed("breast_cancer");
}

#[test]
#[ignore = "a benchmark against scikit-learn: see `speed`"]
fn speed_digits() {
    speed("digits");
}

#[test]
#[ignore = "a benchmark against scikit-learn: see `speed`"]
fn speed_classification_20k() {
    speed("classification_20k");
}
