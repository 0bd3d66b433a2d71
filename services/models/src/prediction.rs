//! What a fitted model gives for a batch of rows.

/// Predictions for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// One number per row.
    Regression(Vec<f64>),
    /// One class per row, with probabilities or scores where the model has them.
    Classification(ClassPrediction),
}

/// A classifier's predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPrediction {
    /// Per row: the predicted class code.
    pub labels: Vec<u32>,
    /// Per row, per class code: the predicted probability, row-major (`rows × classes`).
    /// `None` when the model has no probabilities (SVC with `probability = false`).
    pub probabilities: Option<Vec<f64>>,
    /// Binary problems only: per row, a score that grows with the odds of class 1 (an SVM's
    /// decision value). `None` when there are probabilities, or more than two classes.
    pub scores: Option<Vec<f64>>,
}

impl ClassPrediction {
    /// Labels only.
    pub fn labels(labels: Vec<u32>) -> Self {
        ClassPrediction {
            labels,
            probabilities: None,
            scores: None,
        }
    }

    /// Labels from probabilities (`rows × classes`, row-major): each row's most probable
    /// class, the lowest code among ties.
    pub fn from_probabilities(probabilities: Vec<f64>, classes: usize) -> Self {
        let labels = probabilities
            .chunks_exact(classes.max(1))
            .map(|row| argmax(row) as u32)
            .collect();
        ClassPrediction {
            labels,
            probabilities: Some(probabilities),
            scores: None,
        }
    }

    /// The score of class 1 per row for a binary problem: its probability, or the model's
    /// decision score. `None` for more than two classes or a model with neither.
    pub fn positive_scores(&self, classes: usize) -> Option<Vec<f64>> {
        if classes != 2 {
            return None;
        }
        match (&self.probabilities, &self.scores) {
            (Some(probabilities), _) => Some(probabilities.chunks_exact(2).map(|p| p[1]).collect()),
            (None, Some(scores)) => Some(scores.clone()),
            (None, None) => None,
        }
    }
}

/// The index of the largest value; the first among ties (and 0 for an empty slice).
pub(crate) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (index, &value) in values.iter().enumerate().skip(1) {
        if value > values[best] {
            best = index;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_probabilities_first_among_ties() {
        let prediction = ClassPrediction::from_probabilities(vec![0.2, 0.8, 0.5, 0.5], 2);
        assert_eq!(prediction.labels, [1, 0]);
        assert_eq!(prediction.positive_scores(2), Some(vec![0.8, 0.5]));
        assert_eq!(prediction.positive_scores(3), None);
    }
}
