//! The preprocessing each family of algorithms gets when a model names none.
//!
//! | family | steps |
//! |---|---|
//! | linear, SVM, k-NN | impute (median; most frequent category), cap categories at 32, one-hot (unknown → zeros), drop constant columns, standard scaling |
//! | trees | impute (median; most frequent category), cap categories at 32, one-hot (unknown → zeros) |
//! | naive Bayes | impute (median; most frequent category), cap categories at 32, one-hot (unknown → zeros) |
//! | boosting | impute categories (most frequent), cap categories at 32, one-hot (unknown → zeros); numeric missing values kept |
//!
//! Distance- and gradient-based models (SVM, k-NN, linear and logistic regression) are
//! sensitive to the scale of each feature, so they get standardised inputs; trees split on
//! thresholds, which scaling does not move, and naive Bayes models each feature's own
//! distribution, so neither needs it. Every family but boosting imputes (those models
//! refuse missing values); histogram gradient boosting routes a missing value to the side
//! of each split that served the training rows' missing values best, which keeps what
//! missingness says (a median fill makes a missing value look like an ordinary one), so
//! only its categorical columns are filled. Every family one-hot encodes categories (the models take numbers only); a category first
//! seen at prediction time becomes all zeros rather than a failed prediction, or `(other)`
//! in a capped column.
//!
//! Categories are capped at the [`DEFAULT_MAX_CATEGORIES`] most frequent labels of each
//! column, the rest one `(other)` label, so a column with a label per row (an identifier,
//! free text) gives 33 indicator columns, not one per row: one-hot encoding makes rows ×
//! labels values, which for 100,000 distinct labels is 80 GB. 32 keeps every label of the
//! usual categorical columns (states, product lines, weekdays) and is as many indicator
//! columns as a dense model handles without the column dominating the features.

use mltools_core::utils::{
    AlgorithmFamily, CategoricalImpute, Impute, PipelineSpec, Scale, Step, UnknownCategory,
};

/// The most labels a categorical column keeps in the default pipelines; the others become
/// one `(other)` label.
pub const DEFAULT_MAX_CATEGORIES: usize = 32;

/// The default pipeline of `family` (see the module's table).
pub fn default_pipeline(family: AlgorithmFamily) -> PipelineSpec {
    let impute = Step::Impute {
        numeric: Some(Impute::Median),
        categorical: Some(CategoricalImpute::MostFrequent),
    };
    let cap = Step::CapCategories {
        max_categories: DEFAULT_MAX_CATEGORIES,
    };
    let one_hot = Step::OneHot {
        unknown: UnknownCategory::Ignore,
    };
    let impute_categories = Step::Impute {
        numeric: None,
        categorical: Some(CategoricalImpute::MostFrequent),
    };
    let steps = match family {
        AlgorithmFamily::Linear | AlgorithmFamily::Svm | AlgorithmFamily::Neighbors => {
            vec![
                impute,
                cap,
                one_hot,
                Step::DropConstant,
                Step::Scale(Scale::Standard),
            ]
        }
        AlgorithmFamily::Tree | AlgorithmFamily::NaiveBayes => vec![impute, cap, one_hot],
        AlgorithmFamily::Boosting => vec![impute_categories, cap, one_hot],
    };
    PipelineSpec { steps }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILIES: [AlgorithmFamily; 6] = [
        AlgorithmFamily::Linear,
        AlgorithmFamily::Tree,
        AlgorithmFamily::Svm,
        AlgorithmFamily::Neighbors,
        AlgorithmFamily::NaiveBayes,
        AlgorithmFamily::Boosting,
    ];

    #[test]
    fn scaling_only_where_it_matters() {
        let scales = |family| {
            default_pipeline(family)
                .steps
                .iter()
                .any(|step| matches!(step, Step::Scale(_)))
        };
        assert!(scales(AlgorithmFamily::Linear));
        assert!(scales(AlgorithmFamily::Svm));
        assert!(scales(AlgorithmFamily::Neighbors));
        assert!(!scales(AlgorithmFamily::Tree));
        assert!(!scales(AlgorithmFamily::NaiveBayes));
        assert!(!scales(AlgorithmFamily::Boosting));
    }

    #[test]
    fn only_boosting_keeps_numeric_missing_values() {
        let fills_numbers = |family| {
            default_pipeline(family).steps.iter().any(|step| {
                matches!(
                    step,
                    Step::Impute {
                        numeric: Some(_),
                        ..
                    }
                )
            })
        };
        for family in FAMILIES {
            let boosting = family == AlgorithmFamily::Boosting;
            assert_eq!(fills_numbers(family), !boosting, "{family:?}");
        }
    }

    #[test]
    fn every_family_caps_categories_before_encoding_them() {
        for family in FAMILIES {
            let steps = default_pipeline(family).steps;
            let cap = steps.iter().position(|step| {
                *step
                    == Step::CapCategories {
                        max_categories: DEFAULT_MAX_CATEGORIES,
                    }
            });
            let one_hot = steps
                .iter()
                .position(|step| matches!(step, Step::OneHot { .. }));
            assert!(cap.is_some() && cap < one_hot, "{family:?}: {steps:?}");
        }
    }
}
