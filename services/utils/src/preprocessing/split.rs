//! Seeded train/test splits and k-fold indices, optionally stratified.
//!
//! Rows are shuffled with [`SplitMix64`](super::rng::SplitMix64) seeded by the request, so
//! a seed gives the same indices on every platform. Without stratification, k-fold cuts the
//! shuffled rows into k contiguous folds whose sizes differ by at most one (the first
//! `rows % k` folds take the extra row, as scikit-learn's `KFold`). With stratification,
//! each class's shuffled members are dealt round-robin over the folds, the dealer carrying
//! on from class to class (classes in label order), so every fold holds each class in
//! proportion and fold sizes still differ by at most one. A train/test split holds out
//! `ceil(test_fraction × rows)` rows (scikit-learn's rounding); stratified, each class
//! contributes its share, rounded by largest remainder, and keeps at least one row in
//! training.

use super::rng::SplitMix64;
use crate::config::DEFAULT_MAX_MATRIX_BYTES;
use crate::error::UtilsError;
use mltools_core::MISSING_CODE;
use mltools_core::utils::{Fold, SplitKind, SplitRequest};
use std::collections::BTreeMap;

/// The folds `request` asks for: one for a train/test split, k for k-fold.
///
/// # Errors
/// [`UtilsError::EmptyData`] for no rows; [`UtilsError::BadSplit`] for `k < 2`, a
/// test fraction outside (0, 1) or one that leaves no train or no test rows, more than
/// `u32::MAX` rows, a missing class label; [`UtilsError::TooManyFolds`] for `k` above the
/// row count; [`UtilsError::LengthMismatch`] when the labels are not one per row;
/// [`UtilsError::SmallClass`] for a class with fewer than k members (2 for train/test);
/// [`UtilsError::SplitOverBudget`] past the default budget, 2 GiB (see [`split_within`]).
pub fn split(request: &SplitRequest) -> Result<Vec<Fold>, UtilsError> {
    split_within(request, DEFAULT_MAX_MATRIX_BYTES)
}

/// [`split`], refusing folds whose row indices (folds × rows × 4 bytes: each fold lists
/// every row once) would take more than `max_bytes`, before they are allocated.
///
/// # Errors
/// As [`split`]; [`UtilsError::SplitOverBudget`] naming the folds, rows and budget.
pub fn split_within(request: &SplitRequest, max_bytes: u64) -> Result<Vec<Fold>, UtilsError> {
    let rows = checked_rows(request, max_bytes)?;
    let mut rng = SplitMix64::new(request.seed);
    match (request.kind, &request.stratify) {
        (SplitKind::KFold { k }, None) => {
            check_k(k, rows.len())?;
            let mut order = rows;
            rng.shuffle(&mut order);
            Ok(k_fold(&order, k))
        }
        (SplitKind::KFold { k }, Some(labels)) => {
            check_k(k, rows.len())?;
            let classes = classes(labels, k)?;
            Ok(stratified_k_fold(classes, k, rows.len(), &mut rng))
        }
        (SplitKind::TrainTest { test_fraction }, labels) => {
            let test_rows = test_rows(test_fraction, rows.len())?;
            let test = match labels {
                None => {
                    let mut order = rows.clone();
                    rng.shuffle(&mut order);
                    order.truncate(test_rows);
                    order
                }
                Some(labels) => {
                    stratified_test(classes(labels, 2)?, test_rows, rows.len(), &mut rng)
                }
            };
            Ok(vec![fold_from_test(rows.len(), test)])
        }
    }
}

/// The most rows a split may index: k folds hold k × rows indices, so an absurd `rows`
/// would exhaust memory before any check on the data could run.
pub(crate) const MAX_SPLIT_ROWS: usize = 50_000_000;

/// The most folds a k-fold split may have.
pub(crate) const MAX_FOLDS: usize = 100;

/// `0..rows` as `u32` row indices, after checking the request's shape and that its folds
/// fit `max_bytes`.
fn checked_rows(request: &SplitRequest, max_bytes: u64) -> Result<Vec<u32>, UtilsError> {
    if request.rows > MAX_SPLIT_ROWS {
        return Err(UtilsError::BadSplit {
            reason: format!(
                "{} rows is more than a split handles ({MAX_SPLIT_ROWS})",
                request.rows
            ),
        });
    }
    let folds = match request.kind {
        SplitKind::KFold { k } => k,
        SplitKind::TrainTest { .. } => 1,
    };
    let bytes = (folds as u64)
        .saturating_mul(request.rows as u64)
        .saturating_mul(4);
    if bytes > max_bytes {
        return Err(UtilsError::SplitOverBudget {
            folds,
            rows: request.rows,
            bytes,
            budget: max_bytes,
        });
    }
    if request.rows == 0 {
        return Err(UtilsError::EmptyData {
            operation: "split",
            what: "no rows",
        });
    }
    let rows = u32::try_from(request.rows).map_err(|_| UtilsError::BadSplit {
        reason: format!("{} rows is more than row indices can address", request.rows),
    })?;
    if let Some(labels) = &request.stratify {
        if labels.len() != request.rows {
            return Err(UtilsError::LengthMismatch {
                context: "split",
                first: "stratify",
                first_len: labels.len(),
                second: "rows",
                second_len: request.rows,
            });
        }
        if let Some(row) = labels.iter().position(|&label| label == MISSING_CODE) {
            return Err(UtilsError::BadSplit {
                reason: format!(
                    "row {row} has a missing class label; stratification needs every row's class"
                ),
            });
        }
    }
    Ok((0..rows).collect())
}

fn check_k(k: usize, rows: usize) -> Result<(), UtilsError> {
    if k < 2 {
        return Err(UtilsError::BadSplit {
            reason: format!("k = {k} folds; k-fold needs at least 2"),
        });
    }
    if k > rows {
        return Err(UtilsError::TooManyFolds { k, rows });
    }
    if k > MAX_FOLDS {
        return Err(UtilsError::BadSplit {
            reason: format!("k = {k} folds; at most {MAX_FOLDS}"),
        });
    }
    Ok(())
}

fn test_rows(test_fraction: f64, rows: usize) -> Result<usize, UtilsError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(UtilsError::BadSplit {
            reason: format!("test_fraction {test_fraction} is not strictly between 0 and 1"),
        });
    }
    let test = (test_fraction * rows as f64).ceil() as usize;
    if test >= rows {
        return Err(UtilsError::BadSplit {
            reason: format!(
                "test_fraction {test_fraction} of {rows} rows leaves no rows to train on"
            ),
        });
    }
    Ok(test)
}

/// Each class's members (row indices, ascending), by label; refuses a class smaller than
/// `needed`, naming the smallest.
fn classes(labels: &[u32], needed: usize) -> Result<BTreeMap<u32, Vec<u32>>, UtilsError> {
    let mut classes: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (row, &label) in (0u32..).zip(labels) {
        classes.entry(label).or_default().push(row);
    }
    let smallest = classes.iter().min_by_key(|(_, members)| members.len());
    match smallest {
        Some((&class, members)) if members.len() < needed => Err(UtilsError::SmallClass {
            class,
            members: members.len(),
            needed,
        }),
        _ => Ok(classes),
    }
}

/// Cuts shuffled `order` into k contiguous test folds.
fn k_fold(order: &[u32], k: usize) -> Vec<Fold> {
    let (base, extra) = (order.len() / k, order.len() % k);
    let mut start = 0;
    (0..k)
        .map(|fold| {
            let size = base + usize::from(fold < extra);
            let test = order[start..start + size].to_vec();
            start += size;
            fold_from_test(order.len(), test)
        })
        .collect()
}

fn stratified_k_fold(
    classes: BTreeMap<u32, Vec<u32>>,
    k: usize,
    rows: usize,
    rng: &mut SplitMix64,
) -> Vec<Fold> {
    let mut tests: Vec<Vec<u32>> = vec![Vec::with_capacity(rows / k + 1); k];
    let mut dealer = 0;
    for mut members in classes.into_values() {
        rng.shuffle(&mut members);
        for row in members {
            tests[dealer].push(row);
            dealer = (dealer + 1) % k;
        }
    }
    tests
        .into_iter()
        .map(|test| fold_from_test(rows, test))
        .collect()
}

/// The held-out rows of a stratified train/test split: each class's share of `test_rows`
/// (largest remainder, ties to the smaller label), at most all but one of its members.
fn stratified_test(
    classes: BTreeMap<u32, Vec<u32>>,
    test_rows: usize,
    rows: usize,
    rng: &mut SplitMix64,
) -> Vec<u32> {
    // Integer shares, so the rounding is the same everywhere.
    let mut shares: Vec<(usize, usize, usize)> = classes
        .values()
        .enumerate()
        .map(|(index, members)| {
            let exact = members.len() * test_rows;
            let share = (exact / rows).min(members.len() - 1);
            (index, share, exact % rows)
        })
        .collect();
    let mut left = test_rows - shares.iter().map(|&(_, share, _)| share).sum::<usize>();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by_key(|&index| std::cmp::Reverse(shares[index].2));
    let sizes: Vec<usize> = classes.values().map(Vec::len).collect();
    for index in by_remainder {
        if left == 0 {
            break;
        }
        if shares[index].1 < sizes[index] - 1 {
            shares[index].1 += 1;
            left -= 1;
        }
    }
    let mut test = Vec::with_capacity(test_rows);
    for ((_, share, _), mut members) in shares.into_iter().zip(classes.into_values()) {
        rng.shuffle(&mut members);
        test.extend_from_slice(&members[..share]);
    }
    test
}

/// A fold holding out `test`; both lists ascending.
fn fold_from_test(rows: usize, mut test: Vec<u32>) -> Fold {
    test.sort_unstable();
    let mut held_out = vec![false; rows];
    for &row in &test {
        held_out[row as usize] = true;
    }
    let train = (0u32..)
        .zip(held_out)
        .filter_map(|(row, out)| (!out).then_some(row))
        .collect();
    Fold { train, test }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(rows: usize, kind: SplitKind, stratify: Option<Vec<u32>>) -> SplitRequest {
        SplitRequest {
            rows,
            kind,
            seed: 42,
            stratify,
        }
    }

    fn k_fold_request(rows: usize, k: usize, stratify: Option<Vec<u32>>) -> SplitRequest {
        request(rows, SplitKind::KFold { k }, stratify)
    }

    #[test]
    fn absurd_sizes_are_refused_before_any_allocation() {
        let error = split(&k_fold_request(4_000_000_000, 2, None)).unwrap_err();
        assert!(error.to_string().contains("4000000000 rows"), "{error}");
        let error = split(&k_fold_request(1_000, 500, None)).unwrap_err();
        assert!(error.to_string().contains("at most 100"), "{error}");
    }

    #[test]
    fn folds_over_the_budget_are_refused_before_any_allocation() {
        // 100 folds of 50 million rows would be 20 GB of indices.
        let error = split(&k_fold_request(MAX_SPLIT_ROWS, MAX_FOLDS, None)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "split: 100 folds of 50000000 row indices (4 bytes each) would be 18.6 GiB, \
             over the 2.0 GiB budget (`max_matrix_bytes`); use fewer folds or rows"
        );
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        let error = split_within(&k_fold_request(1_000, 10, None), 39_999).unwrap_err();
        assert!(
            matches!(error, UtilsError::SplitOverBudget { .. }),
            "{error}"
        );
        assert_eq!(
            split_within(&k_fold_request(1_000, 10, None), 40_000)
                .unwrap()
                .len(),
            10
        );
    }

    #[test]
    fn k_fold_covers_every_row_once() {
        let folds = split(&k_fold_request(10, 3, None)).unwrap();
        let sizes: Vec<usize> = folds.iter().map(|fold| fold.test.len()).collect();
        assert_eq!(sizes, [4, 3, 3]);
        let mut all: Vec<u32> = folds.iter().flat_map(|fold| fold.test.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        for fold in &folds {
            assert_eq!(fold.train.len() + fold.test.len(), 10);
            assert!(fold.train.iter().all(|row| !fold.test.contains(row)));
        }
    }

    #[test]
    fn stratified_folds_keep_class_proportions() {
        // 12 of class 0 and 6 of class 1, 3 folds: each fold 4 + 2.
        let labels: Vec<u32> = (0..18).map(|row| u32::from(row % 3 == 2)).collect();
        let folds = split(&k_fold_request(18, 3, Some(labels.clone()))).unwrap();
        for fold in &folds {
            let ones = fold
                .test
                .iter()
                .filter(|&&row| labels[row as usize] == 1)
                .count();
            assert_eq!((fold.test.len(), ones), (6, 2), "{fold:?}");
        }
    }

    #[test]
    fn train_test_holds_out_the_rounded_up_fraction() {
        let kind = SplitKind::TrainTest {
            test_fraction: 0.25,
        };
        let folds = split(&request(10, kind, None)).unwrap();
        assert_eq!(folds.len(), 1);
        assert_eq!((folds[0].train.len(), folds[0].test.len()), (7, 3));
        let labels = vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
        let folds = split(&request(10, kind, Some(labels.clone()))).unwrap();
        let ones = folds[0]
            .test
            .iter()
            .filter(|&&row| labels[row as usize] == 1)
            .count();
        assert_eq!((folds[0].test.len(), ones), (3, 1));
    }

    #[test]
    fn bad_requests_name_the_culprit() {
        let error = split(&k_fold_request(3, 5, None)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "split: k = 5 folds is more than the 3 rows"
        );
        let error = split(&k_fold_request(6, 3, Some(vec![0, 0, 0, 0, 7, 7]))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "split: class 7 has 2 members, fewer than the 3 a stratified split needs"
        );
        let error = split(&k_fold_request(6, 1, None)).unwrap_err();
        assert!(error.to_string().contains("k = 1"), "{error}");
        let kind = SplitKind::TrainTest { test_fraction: 1.5 };
        assert!(
            split(&request(6, kind, None))
                .unwrap_err()
                .to_string()
                .contains("1.5")
        );
        let error = split(&k_fold_request(4, 2, Some(vec![0, 1]))).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`stratify` has 2 values but `rows` has 4"),
            "{error}"
        );
    }
}
