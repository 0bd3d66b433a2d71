"""scikit-learn's side of `cargo bench --bench ml`: the same models on the same folds, on one
thread, timed the way the bench times ours.

    python sklearn_reference.py DATA_DIR

DATA_DIR is what the bench writes (keep it with MLTOOLS_BENCH_ML_DATA=DIR): `manifest.json`
(the sets, the runs, the default compares, the repeat rule) and one `<set>.csv` per set
(features, then `target`, then `fold`: the fold that holds the row out). Prints one JSON
document on stdout (what the bench reads) and a line per run on stderr.

Per run: for each fold, features standard-scaled on the training rows (StandardScaler:
population standard deviation, a constant column only centred), then fit + predict timed
and summed over the 5 folds; the best of `repeats` rounds when a round takes less than
`repeat_below_seconds`. Per compare: every default model of the task with the preprocessing
of our default pipelines (linear, SVM and neighbour models: constant columns dropped, then
standard scaling; trees and naive Bayes: none), every metric our compare computes, and the
best model refitted on every row, as our compare keeps it; wall time of the whole.

Needs numpy and scikit-learn (threadpoolctl, one of scikit-learn's dependencies, is used
when present). Never part of CI.
"""

import os

# One thread for the BLAS and OpenMP pools: set before numpy is imported.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import contextlib
import json
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn import metrics
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_selection import VarianceThreshold
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
    threadpool_limits = None

warnings.simplefilter("ignore")


def estimator(model, probability=False):
    """scikit-learn's equivalent of our algorithm `model` with our defaults (ML-BASELINE.md:
    they are scikit-learn's, with 100 trees and every feature per split for the forest
    regressors, and seeded trees)."""
    makers = {
        "linear_regression": lambda: LinearRegression(),
        "ridge": lambda: Ridge(alpha=1.0),
        "lasso": lambda: Lasso(alpha=1.0),
        "elastic_net": lambda: ElasticNet(alpha=1.0, l1_ratio=0.5),
        "decision_tree_regressor": lambda: DecisionTreeRegressor(random_state=0),
        "random_forest_regressor": lambda: RandomForestRegressor(
            n_estimators=100, max_features=1.0, random_state=0
        ),
        "extra_trees_regressor": lambda: ExtraTreesRegressor(
            n_estimators=100, max_features=1.0, random_state=0
        ),
        "svr": lambda: SVR(),
        "knn_regressor": lambda: KNeighborsRegressor(n_neighbors=5),
        "logistic_regression": lambda: LogisticRegression(C=1.0, max_iter=100),
        "decision_tree_classifier": lambda: DecisionTreeClassifier(random_state=0),
        "random_forest_classifier": lambda: RandomForestClassifier(
            n_estimators=100, random_state=0
        ),
        "extra_trees_classifier": lambda: ExtraTreesClassifier(
            n_estimators=100, random_state=0
        ),
        "hist_gradient_boosting_regressor": lambda: HistGradientBoostingRegressor(
            random_state=0
        ),
        "hist_gradient_boosting_classifier": lambda: HistGradientBoostingClassifier(
            random_state=0
        ),
        "svc": lambda: SVC(probability=probability, random_state=0),
        "knn_classifier": lambda: KNeighborsClassifier(n_neighbors=5),
        "gaussian_nb": lambda: GaussianNB(),
    }
    return makers[model]()


# The families whose default pipeline scales (our `default_pipeline`).
SCALED = {
    "linear_regression", "ridge", "lasso", "elastic_net", "svr", "knn_regressor",
    "logistic_regression", "svc", "knn_classifier",
}


def load(directory, name):
    table = np.loadtxt(os.path.join(directory, f"{name}.csv"), delimiter=",", skiprows=1)
    return table[:, :-2], table[:, -2], table[:, -1].astype(int)


def fit_predict(model, x_train, y_train, x_test):
    """Fits and predicts as our models do in one `predict`: labels, and probabilities where
    the model has them. Labels are the most probable class wherever scikit-learn's own
    `predict` is that argmax; SVC votes, so it predicts and (with Platt scaling) gives
    probabilities separately, as ours does."""
    model.fit(x_train, y_train)
    if isinstance(model, SVC):
        labels = model.predict(x_test)
        return labels, model.predict_proba(x_test) if model.probability else None
    if hasattr(model, "predict_proba"):
        probabilities = model.predict_proba(x_test)
        return model.classes_[np.argmax(probabilities, axis=1)], probabilities
    return model.predict(x_test), None


def class_scores(truth, labels, probabilities, classes, score=None):
    found = {"score": metrics.accuracy_score(truth, labels)}
    if probabilities is not None:
        if classes == 2:
            found["roc_auc"] = metrics.roc_auc_score(truth, probabilities[:, 1])
        else:
            found["roc_auc"] = metrics.roc_auc_score(
                truth, probabilities, multi_class="ovr", labels=list(range(classes))
            )
        found["log_loss"] = metrics.log_loss(truth, probabilities, labels=list(range(classes)))
    elif score is not None and classes == 2:
        found["roc_auc"] = metrics.roc_auc_score(truth, score)
    return found


def one_round(run, task, x, y, folds, scaled):
    seconds, per_fold = 0.0, []
    for fold in range(folds.max() + 1):
        x_train, x_test, y_train, y_test = scaled[fold]
        model = estimator(run["model"], run.get("probability", False))
        started = time.perf_counter()
        labels, probabilities = fit_predict(model, x_train, y_train, x_test)
        seconds += time.perf_counter() - started
        if task == "regression":
            per_fold.append({"score": metrics.r2_score(y_test, labels)})
        else:
            # Untimed: the decision values our SVC gives with its labels when it has no
            # probabilities (ROC AUC for two classes).
            scores_needed = isinstance(model, SVC) and probabilities is None
            score = model.decision_function(x_test) if scores_needed else None
            classes = int(y.max()) + 1
            per_fold.append(class_scores(y_test.astype(int), labels, probabilities, classes, score))
    means = {key: float(np.mean([f[key] for f in per_fold])) for key in per_fold[0]}
    return seconds, means


def scaled_folds(x, y, folds, task):
    out = []
    for fold in range(folds.max() + 1):
        train, test = folds != fold, folds == fold
        scaler = StandardScaler().fit(x[train])
        y_train = y[train] if task == "regression" else y[train].astype(int)
        out.append((scaler.transform(x[train]), scaler.transform(x[test]), y_train, y[test]))
    return out


def run_models(directory, manifest, sets):
    results, loaded = [], None
    for run in manifest["runs"]:
        name = run["set"]
        task = sets[name]["task"]
        if loaded is None or loaded[0] != name:
            x, y, folds = load(directory, name)
            loaded = (name, x, y, folds, scaled_folds(x, y, folds, task))
        _, x, y, folds, scaled = loaded
        seconds, means = one_round(run, task, x, y, folds, scaled)
        rounds = 1
        if seconds < manifest["repeat_below_seconds"]:
            for _ in range(manifest["repeats"] - 1):
                seconds = min(seconds, one_round(run, task, x, y, folds, scaled)[0])
                rounds += 1
        print(f"{name} {run['model']} probability={run.get('probability', False)}: "
              f"{seconds:.3f} s (best of {rounds}), {means}", file=sys.stderr, flush=True)
        results.append(dict(run, seconds=seconds, rounds=rounds, metrics=means))
    return results


def preprocess(model, x_train, x_test):
    if model not in SCALED:
        return x_train, x_test
    pipeline = make_pipeline(VarianceThreshold(0.0), StandardScaler()).fit(x_train)
    return pipeline.transform(x_train), pipeline.transform(x_test)


def compare_once(x, y, folds, task, models):
    """One default compare: every model on every fold, every metric, then the best model
    refitted on every row (as our compare keeps it)."""
    scores = {}
    for model in models:
        per_fold, fitting = [], 0.0
        for fold in range(folds.max() + 1):
            train, test = folds != fold, folds == fold
            x_train, x_test = preprocess(model, x[train], x[test])
            y_train = y[train] if task == "regression" else y[train].astype(int)
            started = time.perf_counter()
            labels, probabilities = fit_predict(
                estimator(model, probability=True), x_train, y_train, x_test
            )
            fitting += time.perf_counter() - started
            if task == "regression":
                truth = y[test]
                per_fold.append({
                    "score": metrics.r2_score(truth, labels),
                    "rmse": float(np.sqrt(metrics.mean_squared_error(truth, labels))),
                    "mae": metrics.mean_absolute_error(truth, labels),
                })
            else:
                truth = y[test].astype(int)
                found = class_scores(truth, labels, probabilities, int(y.max()) + 1)
                found["balanced_accuracy"] = metrics.balanced_accuracy_score(truth, labels)
                for average in ("f1", "precision", "recall"):
                    scorer = getattr(metrics, f"{average}_score")
                    found[f"{average}_macro"] = scorer(truth, labels, average="macro",
                                                       zero_division=0)
                per_fold.append(found)
        scores[model] = {key: float(np.mean([f[key] for f in per_fold])) for key in per_fold[0]}
        scores[model]["fit_predict_seconds"] = fitting
    best = max(models, key=lambda model: scores[model]["score"])
    x_all, _ = preprocess(best, x, x[:1])
    y_all = y if task == "regression" else y.astype(int)
    estimator(best, probability=True).fit(x_all, y_all)
    return scores


def run_compares(directory, manifest, sets):
    results = []
    for compare in manifest["compares"]:
        name = compare["set"]
        x, y, folds = load(directory, name)
        best, scores = float("inf"), None
        for _ in range(manifest["compare_rounds"]):
            started = time.perf_counter()
            scores = compare_once(x, y, folds, sets[name]["task"], compare["models"])
            best = min(best, time.perf_counter() - started)
        print(f"compare {name}: {best:.2f} s (best of {manifest['compare_rounds']})",
              file=sys.stderr, flush=True)
        results.append({"set": name, "seconds": best, "rounds": manifest["compare_rounds"],
                        "models": scores})
    return results


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sklearn_reference.py DATA_DIR (written by `cargo bench --bench ml`)")
    directory = sys.argv[1]
    with open(os.path.join(directory, "manifest.json")) as file:
        manifest = json.load(file)
    sets = {entry["name"]: entry for entry in manifest["sets"]}
    limits = threadpool_limits(1) if threadpool_limits else contextlib.nullcontext()
    with limits:
        runs = run_models(directory, manifest, sets)
        compares = run_compares(directory, manifest, sets)
    json.dump({"sklearn": sklearn.__version__, "numpy": np.__version__,
               "python": sys.version.split()[0], "runs": runs, "compares": compares},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
