"""KNeighborsClassifier / KNeighborsRegressor through the exporter: the model validates against
the schema, the reference interpreter reproduces sklearn on the verification rows, and what has
no exact equivalent is refused by name."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import kiln_export
from kiln_export import UnsupportedError
from conftest import export_ok


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("metric,kw,name", [("minkowski", {}, "euclidean"), ("manhattan", {}, "manhattan"),
                                            ("minkowski", {"p": 1}, "manhattan"), ("chebyshev", {}, "chebyshev"),
                                            ("minkowski", {"p": 3.5}, "minkowski"), ("l2", {}, "euclidean")])
def test_classifier(iris, weights, metric, kw, name):
    X, y = iris
    est = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=6, weights=weights, metric=metric, **kw))
    model = export_ok(est.fit(X, y))
    e = model["estimator"]
    assert (e["kind"], e["metric"], e["weights"], e["n_neighbors"], e["n_classes"]) == \
        ("neighbors", name, weights, 6, 3)
    assert ("p" in e) == (name == "minkowski")
    knn = est[-1]
    assert np.array_equal(np.asarray(e["fit_X"]), knn._fit_X)
    assert e["y"] == knn._y.tolist()


def test_regressor_string_classes_and_algorithms(diabetes, iris):
    X, y = diabetes
    for alg in ("brute", "kd_tree", "ball_tree"):
        model = export_ok(KNeighborsRegressor(n_neighbors=4, weights="distance", algorithm=alg).fit(X, y))
        assert "n_classes" not in model["estimator"] and model["output"] == {"task": "regression"}
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = export_ok(KNeighborsClassifier().fit(X, names))
    assert model["output"]["classes"] == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("make,match", [
    (lambda: KNeighborsClassifier(weights=lambda d: 1 / (d + 1)), "callable weights"),
    (lambda: KNeighborsClassifier(metric=lambda a, b: float(np.abs(a - b).sum())), "callable metric"),
    (lambda: KNeighborsClassifier(metric="cosine", algorithm="brute"), "metric 'cosine' is not supported"),
    (lambda: KNeighborsClassifier(p=0.5, algorithm="brute"), "p=0.5 is not supported"),
    (lambda: KNeighborsClassifier(metric="minkowski", metric_params={"w": [1, 2, 1, 1]}, algorithm="brute"),
     "weighted minkowski"),
])
def test_refused(iris, make, match):
    X, y = iris
    est = make()
    try:
        est.fit(X.to_numpy(), y)
    except (TypeError, ValueError) as exc:  # an option this sklearn does not take
        pytest.skip(str(exc))
    with pytest.raises(UnsupportedError, match=match):
        kiln_export.export(est)


def test_refused_precomputed_sparse_float32_multioutput(iris):
    X, y = iris
    A = X.to_numpy()
    est = KNeighborsClassifier(metric="precomputed").fit(A @ A.T, y)
    with pytest.raises(UnsupportedError, match="precomputed"):
        kiln_export.export(est)
    est = KNeighborsClassifier(algorithm="brute").fit(sp.csr_matrix(A), y)
    with pytest.raises(UnsupportedError, match="sparse"):
        kiln_export.export(est)
    est = KNeighborsClassifier(algorithm="brute").fit(A.astype(np.float32), y)
    with pytest.raises(UnsupportedError, match="float32"):
        kiln_export.export(est)
    est = KNeighborsRegressor().fit(A, np.c_[y, y])
    with pytest.raises(UnsupportedError, match="multi-output"):
        kiln_export.export(est)
