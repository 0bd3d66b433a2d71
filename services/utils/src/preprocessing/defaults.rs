//! The preprocessing each family of algorithms gets when a model names none.
//!
//! | family | steps |
//! |---|---|
//! | linear, SVM, k-NN | impute (median; most frequent category), one-hot (unknown → zeros), drop constant columns, standard scaling |
//! | trees | impute (median; most frequent category), one-hot (unknown → zeros) |
//! | naive Bayes | impute (median; most frequent category), one-hot (unknown → zeros) |
//!
//! Distance- and gradient-based models (SVM, k-NN, linear and logistic regression) are
//! sensitive to the scale of each feature, so they get standardised inputs; trees split on
//! thresholds, which scaling does not move, and naive Bayes models each feature's own
//! distribution, so neither needs it. Every family imputes (the models refuse missing
//! values) and one-hot encodes categories (the models take numbers only); a category first
//! seen at prediction time becomes all zeros rather than a failed prediction.

use mltools_core::utils::{
    AlgorithmFamily, CategoricalImpute, Impute, PipelineSpec, Scale, Step, UnknownCategory,
};

/// The default pipeline of `family` (see the module's table).
pub fn default_pipeline(family: AlgorithmFamily) -> PipelineSpec {
    let impute = Step::Impute {
        numeric: Some(Impute::Median),
        categorical: Some(CategoricalImpute::MostFrequent),
    };
    let one_hot = Step::OneHot {
        unknown: UnknownCategory::Ignore,
    };
    let steps = match family {
        AlgorithmFamily::Linear | AlgorithmFamily::Svm | AlgorithmFamily::Neighbors => {
            vec![
                impute,
                one_hot,
                Step::DropConstant,
                Step::Scale(Scale::Standard),
            ]
        }
        AlgorithmFamily::Tree | AlgorithmFamily::NaiveBayes => vec![impute, one_hot],
    };
    PipelineSpec { steps }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
