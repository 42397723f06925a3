import copy
import functools
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_blobs, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import numnet  # noqa: E402
import numnet.sklearn  # noqa: E402
from numnet import Sequential  # noqa: E402
from numnet.functional import softmax  # noqa: E402
from numnet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Tanh  # noqa: E402
from numnet.losses import CrossEntropy  # noqa: E402
from numnet.optimizers import SGD, Adam  # noqa: E402
from numnet.sklearn import NumnetClassifier, NumnetRegressor  # noqa: E402

# -- scikit-learn's own estimator checks ----------------------------------------------------------------------

#: the checks train on small data sets: a higher learning rate and 20 epochs learn them in a fraction of a second
CHECKED = [NumnetClassifier(epochs=20, learning_rate=0.01), NumnetRegressor(epochs=20, learning_rate=0.01)]


def _check_name(check):
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


@pytest.fixture(scope="module")
def array_api_check_in_a_child(subprocess_env):
    """check_array_api_input's outcome for each estimator of CHECKED, run in one child process: the check needs
    SCIPY_ARRAY_API=1 set before scipy is first imported (in this process it would only skip itself)."""
    code = (
        "import os; os.environ['SCIPY_ARRAY_API'] = '1'\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from numnet.sklearn import NumnetClassifier, NumnetRegressor\n"
        f"for estimator in [{', '.join(map(repr, CHECKED))}]:\n"
        "    check_array_api_input(type(estimator).__name__, estimator, array_namespace='numpy', expect_only_array_outputs=False)\n"
        "    print(type(estimator).__name__, 'passed')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=subprocess_env, capture_output=True, text=True, timeout=600)
    return done.stdout.split("\n"), done.stderr


@parametrize_with_checks(CHECKED, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check, request):
    if _check_name(check) == "check_array_api_input" and not os.environ.get("SCIPY_ARRAY_API"):
        lines, errors = request.getfixturevalue("array_api_check_in_a_child")
        assert f"{type(estimator).__name__} passed" in lines, errors
        return
    check(estimator)


# -- the classifier -------------------------------------------------------------------------------------------


def blobs(n=150, seed=0, centers=3):
    X, y = make_blobs(n_samples=n, centers=centers, random_state=seed)
    return StandardScaler().fit_transform(X), y


def test_predict_proba_is_the_softmax_of_the_network_outputs():
    X, y = blobs()
    clf = NumnetClassifier(hidden_layer_sizes=(16,), epochs=30, learning_rate=0.01, random_state=0).fit(X, y)
    logits = clf.model_.predict(X)
    np.testing.assert_allclose(clf.predict_proba(X), softmax(logits), rtol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[logits.argmax(axis=1)])
    assert clf.score(X, y) > 0.9


def test_string_labels_and_class_names_in_the_saved_model(tmp_path):
    X, y = blobs()
    names = np.array(["cat", "dog", "emu"])[y]
    clf = NumnetClassifier(hidden_layer_sizes=(8,), epochs=20, learning_rate=0.01, random_state=0).fit(X, names)
    assert clf.classes_.tolist() == ["cat", "dog", "emu"]
    assert set(clf.predict(X)) <= {"cat", "dog", "emu"}
    clf.model_.save(tmp_path / "clf.safetensors")  # the fitted network is an ordinary numnet model
    loaded = numnet.load(tmp_path / "clf.safetensors")
    assert loaded.metadata["class_names"] == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(loaded.predict(X), clf.model_.predict(X))


def test_same_random_state_same_network_and_a_different_one_otherwise():
    X, y = blobs()
    first, again, other = (NumnetClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=seed).fit(X, y)
                           for seed in (1, 1, 2))
    np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))
    assert not np.allclose(first.predict_proba(X), other.predict_proba(X))


def test_class_weight_balanced_and_dict_become_the_loss_class_weights():
    X, y = blobs()
    keep = np.r_[np.flatnonzero(y == 0)[:10], np.flatnonzero(y != 0)]  # class 0 is rare
    X, y = X[keep], y[keep]
    balanced = NumnetClassifier(hidden_layer_sizes=(8,), epochs=2, class_weight="balanced", random_state=0).fit(X, y)
    np.testing.assert_allclose(balanced.loss_.class_weight, compute_class_weight("balanced", classes=np.arange(3), y=y))
    chosen = NumnetClassifier(hidden_layer_sizes=(8,), epochs=2, class_weight={0: 5.0, 2: 0.5}, random_state=0).fit(X, y)
    np.testing.assert_allclose(chosen.loss_.class_weight, [5.0, 1.0, 0.5])
    with pytest.raises(ValueError, match=r"class_weight names classes that are not in the data: \[7\]"):
        NumnetClassifier(epochs=1, class_weight={7: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match=r"class_weight must be one of 'balanced'. Received: class_weight='even'"):
        NumnetClassifier(epochs=1, class_weight="even").fit(X, y)


def test_sample_weight_is_numnets_weighted_fit():
    # from a given network, one full-batch epoch: the logged loss is Σ wₙ ℓₙ / Σ wₙ of the starting network,
    # and the trained network is numnet's own fit with the same weights, optimizer and L2 penalty
    X, y = blobs(40)
    weight = np.random.default_rng(0).uniform(0, 2, 40)
    template = Sequential([Dense(2, 8, rng=0, dtype=np.float64), ReLU(), Dense(8, 3, rng=1, dtype=np.float64)])
    clf = NumnetClassifier(template, epochs=1, batch_size=40, random_state=0).fit(X, y, sample_weight=weight)
    per_sample = CrossEntropy(reduction="none")(y, template.predict(X))
    assert clf.loss_curve_[0] == pytest.approx(np.average(per_sample, weights=weight), rel=1e-12)
    twin = copy.deepcopy(template)
    twin.fit(X, y, loss=CrossEntropy(), optimizer=Adam(0.001, weight_decay=0.0001), epochs=1, batch_size=40,
             sample_weight=weight, verbose=0)
    for name, value in twin.get_weights().items():
        np.testing.assert_allclose(clf.model_.get_weights()[name], value, rtol=1e-12, atol=1e-15)


def test_warm_start_and_partial_fit_continue_training():
    X, y = blobs()
    clf = NumnetClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0, warm_start=True)
    clf.fit(X, y)
    network = clf.model_
    clf.fit(X, y)
    assert clf.model_ is network and clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    cold = NumnetClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0).fit(X, y)
    cold_network = cold.model_
    cold.fit(X, y)
    assert cold.model_ is not cold_network and cold.n_iter_ == 3

    partial = NumnetClassifier(hidden_layer_sizes=(8,), random_state=0)
    with pytest.raises(ValueError, match=r"the first call to partial_fit needs classes="):
        partial.partial_fit(X, y)
    partial.partial_fit(X[y != 2], y[y != 2], classes=[0, 1, 2])  # a batch without class 2
    partial.partial_fit(X, y)
    assert partial.n_iter_ == 2 and partial.classes_.tolist() == [0, 1, 2]
    assert partial.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match=r"y holds labels the fitted network has no output for: \[5\]"):
        partial.partial_fit(X[:3], np.array([0, 1, 5]))
    stopping = NumnetClassifier(hidden_layer_sizes=(8,), early_stopping=True, random_state=0)
    stopping.partial_fit(X[:20], y[:20], classes=[0, 1, 2])  # early stopping is fit's: partial_fit uses all it gets
    assert "val_loss" not in stopping.history_.history


def test_feature_names_from_a_dataframe():
    pandas = pytest.importorskip("pandas")
    X, y = blobs()
    frame = pandas.DataFrame(X, columns=["height", "width"])
    clf = NumnetClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["height", "width"] and clf.n_features_in_ == 2
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(X)


def test_early_stopping_stops_and_keeps_the_best_epoch():
    X, y = blobs(300, centers=5)
    clf = NumnetClassifier(hidden_layer_sizes=(64,), epochs=500, learning_rate=0.05, early_stopping=True,
                           n_iter_no_change=3, random_state=0).fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.history_.history["val_loss"]) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.score(X, y) > 0.9


def test_verbose_prints_and_quiet_does_not(capsys):
    X, y = blobs(60)
    NumnetClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0, verbose=2).fit(X, y)
    assert "Epoch 2/2  loss" in capsys.readouterr().out
    NumnetClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0, early_stopping=True, n_iter_no_change=1).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# -- the regressor --------------------------------------------------------------------------------------------


def test_regressor_fits_one_and_several_targets():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    reg = NumnetRegressor(hidden_layer_sizes=(32,), epochs=100, learning_rate=0.01, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (200,) and reg.n_outputs_ == 1
    assert reg.score(X, y) > 0.95
    both = np.column_stack([y, -2 * y])
    reg2 = clone(reg).fit(X, both)
    assert reg2.predict(X).shape == (200, 2) and reg2.n_outputs_ == 2
    assert reg2.score(X, both) > 0.9
    with pytest.raises(ValueError, match=r"y has 1 targets per sample; the fitted network predicts 2"):
        reg2.partial_fit(X, y)


def test_regression_metrics_of_the_fitted_network_agree_with_score():
    X, y = make_regression(n_samples=80, n_features=3, noise=5.0, random_state=1)
    y = y / y.std()
    reg = NumnetRegressor(hidden_layer_sizes=(8,), epochs=20, learning_rate=0.01, random_state=0).fit(X, y)
    results = reg.model_.evaluate(X, y, loss=reg.loss_, metrics=["r2", "mae"])
    assert results["r2"] == pytest.approx(reg.score(X, y), rel=1e-10)
    assert results["mae"] == pytest.approx(np.mean(np.abs(reg.predict(X) - y)), rel=1e-10)


# -- custom networks ------------------------------------------------------------------------------------------


def test_model_builder_gets_the_sizes_and_what_it_asks_for():
    X, y = blobs()
    calls = []

    def build(n_features_in, n_outputs, rng, dtype):
        calls.append((n_features_in, n_outputs, dtype))
        return Sequential([Dense(n_features_in, 12, rng=rng, dtype=dtype), Tanh(), Dense(12, n_outputs, rng=rng, dtype=dtype)])

    clf = NumnetClassifier(build, epochs=20, learning_rate=0.01, random_state=0).fit(X, y)
    assert calls == [(2, 3, np.float64)]
    assert isinstance(clf.model_.layers[1], Tanh) and clf.score(X, y) > 0.9
    assert "build" in repr(clf)


def test_model_as_a_sequential_is_copied_not_trained_in_place():
    X, y = blobs()
    template = Sequential([Dense(2, 8, rng=0, dtype=np.float64), ReLU(), Dense(8, 3, rng=1, dtype=np.float64)])
    before = template.get_weights()
    clf = NumnetClassifier(template, epochs=5, random_state=0).fit(X, y)
    assert clf.model_ is not template
    for name, value in template.get_weights().items():
        np.testing.assert_array_equal(value, before[name])


def test_a_convolutional_network_on_digit_images_in_cross_validation():
    digits = load_digits()
    images = (digits.images[:600, None] / 16).astype(np.float32)  # (N, 1, 8, 8)

    def cnn(n_features_in, n_outputs, input_shape, rng):
        channels = input_shape[0]
        return Sequential([Conv2D(channels, 8, 3, padding=1, rng=rng), ReLU(), MaxPool2D(2), Flatten(),
                           Dense(8 * 4 * 4, n_outputs, rng=rng)])

    clf = NumnetClassifier(cnn, epochs=8, batch_size=32, learning_rate=0.01, random_state=0)
    scores = cross_val_score(clf, images, digits.target[:600], cv=3)
    assert scores.mean() > 0.85, scores


def test_builder_errors_are_clear():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"the network gives outputs of shape \(N, 4\), but the targets need \(N, 3\); make its last layer Dense\(..., 3\)"):
        NumnetClassifier(lambda n_in, n_out: Sequential([Dense(n_in, 4)]), epochs=1).fit(X, y)
    with pytest.raises(TypeError, match=r"model must build a numnet Sequential. It returned: 'oops'"):
        NumnetClassifier(lambda n_in, n_out: "oops", epochs=1).fit(X, y)
    with pytest.raises(TypeError, match=r"model must be a numnet Sequential or a function"):
        NumnetClassifier(model=3, epochs=1).fit(X, y)


@pytest.mark.parametrize("params, message", [
    ({"activation": "softplus"}, r"NumnetClassifier: activation must be one of 'relu', 'tanh', 'logistic', 'identity'. Received: activation='softplus'"),
    ({"optimizer": "lbfgs"}, r"optimizer must be one of 'adam', 'sgd', 'rmsprop', 'adagrad'. Received: optimizer='lbfgs'"),
    ({"hidden_layer_sizes": (10, 0)}, r"hidden_layer_sizes must be a positive integer. Received: hidden_layer_sizes=0"),
    ({"learning_rate": 0}, r"learning_rate must be a number in the range \(0, inf\). Received: learning_rate=0"),
    ({"batch_size": "big"}, r"batch_size must be a positive integer. Received: batch_size='big'"),
    ({"dropout": 1.0}, r"dropout must be a number in the range \[0, 1\). Received: dropout=1.0"),
    ({"validation_fraction": 1.0}, r"validation_fraction must be a number in the range \(0, 1\). Received: validation_fraction=1.0"),
    ({"random_state": "seed"}, r"random_state must be None, an int or a numpy RandomState or Generator. Received: 'seed'"),
])
def test_parameters_are_checked_in_fit(params, message):
    X, y = blobs(30)
    clf = NumnetClassifier(epochs=1, **params)  # __init__ only stores them, as scikit-learn requires
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_other_optimizers_dropout_and_a_linear_model():
    X, y = blobs()
    for params in ({"optimizer": "sgd", "learning_rate": 0.1}, {"optimizer": SGD, "learning_rate": 0.1},
                   {"optimizer": "rmsprop", "learning_rate": 0.01}, {"dropout": 0.2, "learning_rate": 0.01},
                   {"hidden_layer_sizes": (), "learning_rate": 0.05}, {"activation": "logistic", "learning_rate": 0.03}):
        clf = NumnetClassifier(epochs=30, random_state=0, **params).fit(X, y)
        assert clf.score(X, y) > 0.9, params
    assert len(NumnetClassifier(hidden_layer_sizes=(), epochs=1).fit(X, y).model_.layers) == 1


# -- scikit-learn's tools -------------------------------------------------------------------------------------


def test_clone_pickle_pipeline_grid_search_and_cross_val_score():
    X, y = blobs(120)
    pipeline = make_pipeline(StandardScaler(), NumnetClassifier(epochs=20, batch_size=16, random_state=0))
    assert clone(pipeline).get_params()["numnetclassifier__batch_size"] == 16
    search = GridSearchCV(pipeline, {"numnetclassifier__hidden_layer_sizes": [(4,), (16,)],
                                     "numnetclassifier__learning_rate": [0.001, 0.03]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["numnetclassifier__learning_rate"] == 0.03
    assert search.best_score_ > 0.85  # these blobs overlap: LogisticRegression scores 0.89 on them
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict_proba(X), search.best_estimator_.predict_proba(X))
    scores = cross_val_score(NumnetRegressor(epochs=10, learning_rate=0.01, random_state=0), X, X[:, 0] - X[:, 1], cv=3)
    assert scores.min() > 0.5


@pytest.mark.slow  # starting the worker processes, each importing scikit-learn and numnet, takes seconds
def test_randomized_search_in_parallel_processes():
    X, y = blobs(90)
    search = RandomizedSearchCV(NumnetClassifier(epochs=10, random_state=0),
                                {"hidden_layer_sizes": [(4,), (8,), (16,)], "learning_rate": [0.003, 0.01, 0.03]},
                                n_iter=4, cv=2, n_jobs=2, random_state=0)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4 and search.best_score_ > 0.8


# -- a Dask cluster -------------------------------------------------------------------------------------------


@pytest.mark.slow  # starting a cluster of two worker processes takes 10 to 20 seconds
def test_grid_search_runs_on_the_workers_of_a_dask_cluster(subprocess_env):
    distributed = pytest.importorskip("dask.distributed")
    import joblib

    X, y = blobs(120)
    search = GridSearchCV(NumnetClassifier(epochs=20, batch_size=16, random_state=0),
                          {"hidden_layer_sizes": [(4,), (16,)], "learning_rate": [0.001, 0.03]}, cv=3, n_jobs=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # from the cluster's own dependencies
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                           dashboard_address=None, env={"PYTHONPATH": subprocess_env["PYTHONPATH"]})
    with cluster, distributed.Client(cluster) as client:
        workers = set(client.scheduler_info()["workers"])
        worker_pids = set(client.run(os.getpid).values())
        with distributed.get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
            search.fit(X, y)
        fitted_on = {task["worker"] for task in stream.data}
        imported = client.run(lambda: "numnet.sklearn" in sys.modules)
    assert len(workers) == 2 and os.getpid() not in worker_pids
    assert fitted_on == workers  # both worker processes trained networks
    assert len(stream.data) > 0 and all(imported.values())
    assert search.best_params_["learning_rate"] == 0.03 and search.best_score_ > 0.85  # LogisticRegression: 0.89
    in_one_process = clone(search).set_params(n_jobs=1).fit(X, y)  # random_state=0: the same fits, the same scores
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], in_one_process.cv_results_["mean_test_score"])


# -- packaging ----------------------------------------------------------------------------------------------


def test_the_extras_pin_what_the_tests_run_with():
    tomllib = pytest.importorskip("tomllib")
    dask = pytest.importorskip("dask")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml"), "rb") as file:
        extras = tomllib.load(file)["project"]["optional-dependencies"]
    assert extras["sklearn"] == [numnet.sklearn.REQUIREMENT] == [f"scikit-learn=={sklearn.__version__}"]
    assert extras["dask"] == [f"dask[distributed]=={dask.__version__}", numnet.sklearn.REQUIREMENT]
    assert set(extras["interop"]) == {"numnet[onnx]", "numnet[sklearn]", "numnet[dask]"}
    assert "numnet[dask]" in extras["test"]


def test_a_missing_scikit_learn_is_named_with_the_extra(monkeypatch):
    import importlib

    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were not installed
    monkeypatch.delitem(sys.modules, "numnet.sklearn")
    with pytest.raises(ImportError, match=r"numnet.sklearn needs scikit-learn: pip install 'numnet\[sklearn\]' \(or pip install scikit-learn==1.9.1\)"):
        importlib.import_module("numnet.sklearn")
