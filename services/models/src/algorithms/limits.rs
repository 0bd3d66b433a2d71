//! [`FitLimits`]: what a request may ask of one fit on this node, the `[models]` caps on
//! the parameters that size a fit's time or memory, checked once with the parameters,
//! before anything is fitted. Each algorithm checks its own parameters
//! ([`Fit::check_limits`](crate::algorithms::fit::Fit::check_limits)) with [`within`].

use crate::algorithms::{AlgorithmId, Estimator};
use crate::error::ModelsError;
use std::fmt::Display;

/// The caps a node puts on the parameters that size a fit (from its `[models]` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitLimits {
    /// Trees in a forest (`n_trees` of `random_forest_*`, `extra_trees_*`), and boosting
    /// iterations (`max_iter` of `hist_gradient_boosting_*`: a tree each, or a tree per
    /// class beyond two classes).
    pub max_trees: usize,
    /// Leaves of one boosted tree (`max_leaf_nodes` of `hist_gradient_boosting_*`).
    pub max_leaf_nodes: usize,
    /// Iterations of an iterative solver (`max_iter` of `logistic_regression`, `lasso`,
    /// `elastic_net`).
    pub max_iterations: usize,
    /// The SVM kernel cache (`cache_size_mb` of `svc`, `svr`), in megabytes.
    pub max_kernel_cache_mb: u64,
}

impl Default for FitLimits {
    /// 1000 trees, 4096 leaves, 100,000 iterations, a 1024 MB kernel cache.
    fn default() -> Self {
        FitLimits {
            max_trees: 1000,
            max_leaf_nodes: 4096,
            max_iterations: 100_000,
            max_kernel_cache_mb: 1024,
        }
    }
}

/// [`ModelsError::OverLimit`] unless `value <= cap`, naming `algorithm`'s `param` and the
/// node's `setting`.
pub(crate) fn within<T: PartialOrd + Display>(
    algorithm: AlgorithmId,
    param: &'static str,
    value: T,
    cap: T,
    setting: &'static str,
) -> Result<(), ModelsError> {
    if value <= cap {
        return Ok(());
    }
    Err(ModelsError::OverLimit {
        subject: format!("{}: parameter `{param}`", algorithm.as_str()),
        value: value.to_string(),
        cap: cap.to_string(),
        setting,
    })
}

/// An iterative solver's `max_iter` against `max_iterations`.
pub(crate) fn iterations(
    algorithm: AlgorithmId,
    max_iter: usize,
    limits: &FitLimits,
) -> Result<(), ModelsError> {
    within(
        algorithm,
        "max_iter",
        max_iter,
        limits.max_iterations,
        "max_iterations",
    )
}

impl Estimator {
    /// Checks the parameters that size the fit against this node's caps.
    ///
    /// # Errors
    /// [`ModelsError::OverLimit`] naming the parameter, its value, the cap and the setting.
    pub fn check_limits(&self, limits: &FitLimits) -> Result<(), ModelsError> {
        self.fitter().check_limits(self.id(), limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::{AlgorithmId, ParamMap};
    use mltools_core::ErrorKind;
    use mltools_core::models::ParamValue;

    fn estimator(algorithm: &str, param: &str, value: ParamValue) -> Estimator {
        Estimator::new(algorithm, &ParamMap::from([(param.to_owned(), value)])).unwrap()
    }

    #[test]
    fn defaults_are_within_the_default_caps() {
        for id in AlgorithmId::ALL {
            assert!(
                Estimator::defaults(id)
                    .check_limits(&FitLimits::default())
                    .is_ok()
            );
        }
    }

    #[test]
    fn a_parameter_above_its_cap_is_refused_naming_value_cap_and_setting() {
        let limits = FitLimits::default();
        // Per parameter, the setting that caps it and the estimators over their cap.
        let cases = [
            (
                "n_trees",
                "max_trees",
                vec![
                    ("random_forest_classifier", ParamValue::Integer(5000)),
                    ("extra_trees_regressor", ParamValue::Integer(1001)),
                    ("extra_trees_classifier", ParamValue::Integer(1001)),
                ],
            ),
            (
                "max_iter",
                "max_trees",
                vec![
                    (
                        "hist_gradient_boosting_classifier",
                        ParamValue::Integer(1001),
                    ),
                    (
                        "hist_gradient_boosting_regressor",
                        ParamValue::Integer(50_000),
                    ),
                ],
            ),
            (
                "max_leaf_nodes",
                "max_leaf_nodes",
                vec![(
                    "hist_gradient_boosting_regressor",
                    ParamValue::Integer(1_000_000),
                )],
            ),
            (
                "max_iter",
                "max_iterations",
                vec![
                    ("logistic_regression", ParamValue::Integer(1_000_000)),
                    ("lasso", ParamValue::Integer(100_001)),
                ],
            ),
            (
                "cache_size_mb",
                "max_kernel_cache_mb",
                vec![("svc", ParamValue::Number(4096.0))],
            ),
        ];
        for (param, setting, over_cap) in cases {
            for (algorithm, value) in over_cap {
                let error = estimator(algorithm, param, value)
                    .check_limits(&limits)
                    .unwrap_err();
                assert_eq!(error.kind(), ErrorKind::InvalidInput);
                let text = error.to_string();
                assert!(
                    text.starts_with(&format!("{algorithm}: parameter `{param}` = ")),
                    "{text}"
                );
                assert!(
                    text.contains(&format!("(models setting `{setting}`)")),
                    "{text}"
                );
            }
        }
        let error = estimator(
            "random_forest_regressor",
            "n_trees",
            ParamValue::Integer(5000),
        )
        .check_limits(&limits)
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "random_forest_regressor: parameter `n_trees` = 5000 is above this node's cap of \
             1000 (models setting `max_trees`)"
        );
        let at_cap = estimator(
            "random_forest_regressor",
            "n_trees",
            ParamValue::Integer(1000),
        );
        assert!(at_cap.check_limits(&limits).is_ok());
    }
}
