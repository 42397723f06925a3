"""GridSearchCV on scikit-learn's digits: NumnetClassifier against MLPClassifier on the same grid.

Both estimators train with Adam on batches of 200 ("auto") for the same number of epochs (MLPClassifier's
stop on a stalled loss is switched off with n_iter_no_change=epochs), without an L2 penalty (alpha=0: the
two scale alpha differently), over hidden_layer_sizes × learning rate, 3-fold, n_jobs=1, one BLAS thread.
The searches alternate, ``--repeats`` times; the wall time given is the median, the scores are those of
the last repeat (every repeat computes the same ones: both estimators get random_state=0).

    python -m benchmarks.sklearn_search [--epochs 50] [--repeats 3] [--folds 3] [--threads 1]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from numnet.sklearn import NumnetClassifier

HIDDEN = [(32,), (64,), (128,)]
LEARNING_RATES = [0.001, 0.003, 0.01]


def searches(epochs, folds):
    """name -> (GridSearchCV, the dtype of X it is given)."""
    numnet = NumnetClassifier(epochs=epochs, alpha=0.0, random_state=0)
    mlp = MLPClassifier(max_iter=epochs, n_iter_no_change=epochs, alpha=0.0, random_state=0)
    grid = {"hidden_layer_sizes": HIDDEN}
    return {
        "numnet NumnetClassifier (float64)": (GridSearchCV(numnet, {**grid, "learning_rate": LEARNING_RATES}, cv=folds), np.float64),
        "numnet NumnetClassifier (float32 X)": (GridSearchCV(numnet, {**grid, "learning_rate": LEARNING_RATES}, cv=folds), np.float32),
        "scikit-learn MLPClassifier": (GridSearchCV(mlp, {**grid, "learning_rate_init": LEARNING_RATES}, cv=folds), np.float64),
    }


def run(epochs=50, repeats=3, folds=3, threads=1):
    X, y = load_digits(return_X_y=True)
    X = X / 16
    times = {}
    results = {}
    with threadpool_limits(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(repeats):
            for name, (search, dtype) in searches(epochs, folds).items():
                start = time.perf_counter()
                search.fit(X.astype(dtype), y)
                times.setdefault(name, []).append(time.perf_counter() - start)
                results[name] = search
    rows = []
    for name, search in results.items():
        params = {key.replace("_init", ""): value for key, value in search.best_params_.items()}
        rows.append({"estimator": name, "best_score": search.best_score_, "best_params": params,
                     "seconds": statistics.median(times[name]), "all_seconds": times[name],
                     "scores": search.cv_results_["mean_test_score"].tolist()})
    return {"samples": len(X), "epochs": epochs, "folds": folds, "threads": threads, "repeats": repeats, "rows": rows}


def report(results):
    lines = [
        f"GridSearchCV on load_digits ({results['samples']} samples), {len(HIDDEN)}×{len(LEARNING_RATES)} grid, "
        f"{results['folds']}-fold, {results['epochs']} epochs, {results['threads']} BLAS thread(s), "
        f"median of {results['repeats']} searches",
        "",
        "| estimator | best mean CV accuracy | best parameters | search wall time |",
        "|---|---:|---|---:|",
    ]
    for row in results["rows"]:
        params = ", ".join(f"{key}={value}" for key, value in row["best_params"].items())
        lines.append(f"| {row['estimator']} | {row['best_score']:.4f} | {params} | {row['seconds']:.1f} s |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    results = run(args.epochs, args.repeats, args.folds, args.threads)
    print(report(results))
    return results


if __name__ == "__main__":
    main()
