//! The algorithms: one module per algorithm, all written here (on ndarray 0.17 where
//! matrix products help), with scikit-learn's defaults, behind one registry. `lbfgs` is the solver of logistic regression (a port of scipy's L-BFGS-B
//! with an explicit stop reason); `knn` the neighbour search the k-NN models share;
//! `solvers` the linear regressors' QR, Jacobi SVD, Cholesky and coordinate descent;
//! `cart` the tree builder and fitted tree form the whole tree family shares.
//!
//! | id | task | model | defaults and notes (the smartcore behaviour we left: ML-BASELINE.md) |
//! |---|---|---|---|
//! | `linear_regression` | regression | ours (`solvers`: pivoted Householder QR, then back substitution or the Jacobi SVD of `R`) | `solver = svd`: minimum-norm solution with `gelsd`'s rank cutoff; `qr` refuses a rank-deficient design naming the column |
//! | `ridge` | regression | ours: blocked centred Gram + Cholesky (`solver = svd`: QR + Jacobi SVD) | `alpha = 1`; centred design, constant columns dropped |
//! | `lasso` | regression | ours: scikit-learn's cyclic coordinate descent | `alpha = 1`, `tol = 1e-4` (duality gap ≤ tol·‖y − ȳ‖²), `max_iter = 1000` epochs; non-convergence warns |
//! | `elastic_net` | regression | ours, as `lasso` | `alpha = 1`, `l1_ratio = 0.5`, `tol = 1e-4`, `max_iter = 1000` |
//! | `decision_tree_regressor` | regression | ours (`cart`: scikit-learn's CART, best splitter, squared error) | seeded (the order features are tried in) |
//! | `random_forest_regressor` | regression | ours (`cart`, trees grown in parallel) | 100 trees, all features per split, `bootstrap = true` |
//! | `extra_trees_regressor` | regression | ours (`cart`, random splitter) | 100 trees, all features per split, `bootstrap = false` |
//! | `hist_gradient_boosting_regressor` | regression | ours (`boosting`: scikit-learn's HistGradientBoosting) | squared error, `learning_rate = 0.1`, `max_iter = 100`, 31 leaves, 20 rows per leaf, 255 bins; early stopping above 10,000 rows; missing values routed natively |
//! | `svr` | regression | ours (`svm`: LIBSVM's SMO) | RBF, `gamma = scale`, `C = 1`, `epsilon = 0.1`, `tol = 1e-3`, 200 MB kernel cache |
//! | `knn_regressor` | regression | ours: brute force over blocks of a gemm distance matrix | `k = 5`; ties to the lower training row; `weights = distance` as scikit-learn's |
//! | `logistic_regression` | classification | ours: L-BFGS on matrix products | `C = 1`, `tol = 1e-4`, `max_iter = 100`; the stop reason on the model, non-convergence on the leaderboard |
//! | `decision_tree_classifier` | classification | ours (`cart`: best splitter, Gini or entropy) | seeded; probabilities: the leaf's class fractions |
//! | `random_forest_classifier` | classification | ours (`cart`, trees grown in parallel) | 100 trees, √p features per split, `bootstrap = true`; probabilities: mean of the trees' leaf class fractions |
//! | `extra_trees_classifier` | classification | ours (`cart`, random splitter) | 100 trees, √p features per split, `bootstrap = false`; in the catalogue, not a default candidate |
//! | `hist_gradient_boosting_classifier` | classification | ours, as the regressor | binary or multinomial log loss (one tree per class per iteration beyond two); probabilities from the sigmoid or softmax |
//! | `svc` | classification | ours (`svm`: LIBSVM's SMO) | RBF, `gamma = scale`, `C = 1`, one-vs-one (ties to the lower class); `probability = true` (Platt scaling, 5 extra fits per pair; scikit-learn's default is off) |
//! | `knn_classifier` | classification | ours, as `knn_regressor` | `k = 5`; (weighted) neighbour class shares as probabilities |
//! | `gaussian_nb` | classification | ours | `var_smoothing = 1e-9` (× the largest feature variance); probabilities as scikit-learn's to 1e-9 |
//!
//! Parameters are checked once: a request's name → value map becomes an algorithm's
//! `XParams`, whose `check` gives an `XValidParams` ([`Estimator`] holds one); fitting never
//! re-checks. A fitted model is an owned [`FittedModel`] that serializes to bytes.
//!
//! Each algorithm is a module whose valid parameters implement `Fit` (fit on the targets,
//! give the fitted state) and whose fitted state implements `Predict` (predict, check a
//! decoded state), and one entry in the catalogue (`catalogue.rs`), from which
//! [`AlgorithmId`], the registry's descriptions, [`Estimator`] with its parameter parsing
//! and fitting dispatch, and the stored form of each algorithm's model are generated.
//!
//! ```
//! use mltools_core::utils::Matrix;
//! use mltools_models::algorithms::{AlgorithmId, Estimator, FittedModel};
//! use mltools_models::prediction::Prediction;
//! use mltools_models::task::Targets;
//!
//! let x = Matrix { rows: 4, columns: vec!["x".into()], values: vec![0.0, 1.0, 2.0, 3.0] };
//! let y = Targets::Regression(vec![1.0, 3.0, 5.0, 7.0]);
//! let model = Estimator::defaults(AlgorithmId::LinearRegression).fit(&x, &y, 0).unwrap();
//! let reloaded = FittedModel::from_bytes(&model.to_bytes().unwrap()).unwrap();
//! let Prediction::Regression(values) = reloaded.predict(&x).unwrap() else { unreachable!() };
//! assert!((values[3] - 7.0).abs() < 1e-9);
//! ```

pub(crate) mod boosting;
mod cancel;
pub(crate) mod cart;
mod catalogue;
pub(crate) mod decision_tree_classifier;
pub(crate) mod decision_tree_regressor;
mod dense;
pub(crate) mod elastic_net;
mod estimator;
pub(crate) mod extra_trees_classifier;
pub(crate) mod extra_trees_regressor;
mod fit;
mod fitted;
pub(crate) mod forest;
pub(crate) mod gaussian_nb;
pub(crate) mod hist_gradient_boosting;
pub(crate) mod knn;
pub(crate) mod knn_classifier;
pub(crate) mod knn_regressor;
pub(crate) mod lasso;
pub(crate) mod lbfgs;
mod limits;
mod linalg;
pub(crate) mod linear;
pub(crate) mod linear_regression;
pub(crate) mod logistic_regression;
mod params;
pub(crate) mod random_forest_classifier;
pub(crate) mod random_forest_regressor;
mod registry;
pub(crate) mod ridge;
mod solvers;
pub(crate) mod svc;
pub(crate) mod svm;
pub(crate) mod svr;
pub(crate) mod trees;
pub(crate) mod validate;

pub use cancel::Cancel;
pub use estimator::Estimator;
pub use fitted::FittedModel;
pub use limits::FitLimits;
pub use params::ParamMap;
pub use registry::{AlgorithmId, algorithms};

#[cfg(test)]
mod tests;
