//! Column statistics computed the way numpy and scikit-learn compute them, so fitted values
//! match theirs to rounding.

/// The arithmetic mean (`np.mean`); `None` for no values.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// The population variance (ddof 0) about `mean`, with the correction term scikit-learn's
/// `_incremental_mean_and_var` applies for the rounding of the mean.
pub(crate) fn population_variance(values: &[f64], mean: f64) -> f64 {
    let n = values.len() as f64;
    let (sum, sum_squares) = values.iter().fold((0.0, 0.0), |(sum, squares), value| {
        let deviation = value - mean;
        (sum + deviation, squares + deviation * deviation)
    });
    ((sum_squares - sum * sum / n) / n).max(0.0)
}

/// `values` sorted ascending; the values must not be NaN.
pub(crate) fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The median of ascending `sorted` values (`np.median`: the mean of the two middle values
/// for an even count); `None` for no values.
pub(crate) fn median_of_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The `q`-quantile (`q` in [0, 1]) of ascending `sorted` values with numpy's default
/// `linear` method, including its `_lerp`, which interpolates from the upper neighbour when
/// the fraction is at least one half; `None` for no values.
pub(crate) fn quantile_of_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let virtual_index = q * last as f64;
    let below = (virtual_index.floor() as usize).min(last);
    let above = (below + 1).min(last);
    let fraction = virtual_index - below as f64;
    let (low, high) = (sorted[below], sorted[above]);
    let difference = high - low;
    Some(if fraction >= 0.5 {
        high - difference * (1.0 - fraction)
    } else {
        low + difference * fraction
    })
}

/// The most frequent of ascending `sorted` values, the smallest of those tied (as
/// scikit-learn's `SimpleImputer(strategy="most_frequent")`); `None` for no values.
pub(crate) fn mode_of_sorted(sorted: &[f64]) -> Option<f64> {
    let mut best: Option<(f64, usize)> = None;
    let mut start = 0;
    while start < sorted.len() {
        let value = sorted[start];
        let run = sorted[start..]
            .iter()
            .take_while(|&&other| other == value)
            .count();
        if best.is_none_or(|(_, count)| run > count) {
            best = Some((value, run));
        }
        start += run;
    }
    best.map(|(value, _)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        // np.percentile([1, 2, 3, 4, 10], [25, 50, 75]) == [2, 3, 4]
        let values = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile_of_sorted(&values, 0.25), Some(2.0));
        assert_eq!(quantile_of_sorted(&values, 0.75), Some(4.0));
        // np.percentile([1, 2, 3, 4], [25, 75]) == [1.75, 3.25]
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_of_sorted(&values, 0.25), Some(1.75));
        assert_eq!(quantile_of_sorted(&values, 0.75), Some(3.25));
        assert_eq!(quantile_of_sorted(&[7.0], 0.75), Some(7.0));
        assert_eq!(quantile_of_sorted(&[], 0.5), None);
    }

    #[test]
    fn median_mode_and_variance() {
        assert_eq!(median_of_sorted(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
        assert_eq!(mode_of_sorted(&[1.0, 2.0, 2.0, 3.0, 3.0]), Some(2.0));
        assert_eq!(mode_of_sorted(&[5.0]), Some(5.0));
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(population_variance(&values, 2.5), 1.25);
    }
}
