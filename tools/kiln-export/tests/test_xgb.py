"""XGBoost models through the exporter (xgboost is pinned in requirements/sklearn-latest.txt only)."""
import math

import numpy as np
import pandas as pd
import pytest

import kiln_export
from conftest import export_ok, with_nan

xgboost = pytest.importorskip("xgboost")


def test_multiclass_with_nan(iris):
    X, y = iris
    est = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1, base_score=0.3).fit(with_nan(X), y)
    model = export_ok(est)
    e = model["estimator"]
    assert e["link"] == "softmax" and e["n_targets"] == 3
    assert e["threshold_dtype"] == "float32" and e["compare"] == "lt"
    assert e["init"] == [pytest.approx(0.3)] * 3  # multi:softprob's base_score is a margin already
    assert [t["target"] for t in e["trees"][:6]] == [0, 1, 2, 0, 1, 2]
    assert any(any(t["missing_go_to_left"]) for t in e["trees"])
    assert model["verification"]["tolerance"]["absolute"] >= 1e-6


def test_binary_base_score_is_logit(cancer):
    X, y = cancer
    y = (np.asarray(y) == np.unique(y)[1]).astype(int)
    est = xgboost.XGBClassifier(n_estimators=5, n_jobs=1).fit(X, y)
    e = export_ok(est)["estimator"]
    p = float(np.float32(y.mean()))  # boost_from_average: the class-1 rate, stored as a probability
    assert e["link"] == "logistic" and e["init"][0] == pytest.approx(math.log(p / (1 - p)), rel=1e-5)


def test_early_stopping_uses_best_iteration(diabetes):
    X, y = diabetes
    est = xgboost.XGBRegressor(n_estimators=200, learning_rate=0.5, early_stopping_rounds=3, n_jobs=1)
    est.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])], verbose=False)
    e = export_ok(est)["estimator"]
    assert len(e["trees"]) == est.best_iteration + 1 < 200


@pytest.mark.parametrize("kw, option", [({"objective": "count:poisson"}, "objective"),
                                        ({"booster": "gblinear"}, "booster")])
def test_refused(diabetes, kw, option):
    X, y = diabetes
    est = xgboost.XGBRegressor(n_estimators=5, n_jobs=1, **kw).fit(X, y)
    with pytest.raises(kiln_export.UnsupportedError, match=option):
        kiln_export.export(est)


def _graded(X):
    """X with bmi replaced by a pandas category column "grade" (strings, some missing)."""
    X = X.copy()
    codes = np.digitize(X["bmi"], np.quantile(X["bmi"], [.2, .4, .6, .8]))
    grade = np.array(["a", "b", "c", "d", "e"], dtype=object)[codes]
    grade[::13] = None
    X["grade"] = pd.Categorical(grade, categories=["e", "c", "a", "b", "d"])  # not sorted: order matters
    return X.drop(columns=["bmi"])


@pytest.mark.parametrize("onehot", [1, 8])
def test_pandas_categories_become_a_string_input(diabetes, onehot):
    X, y = diabetes
    X = _graded(X)
    est = xgboost.XGBRegressor(n_estimators=8, n_jobs=1, enable_categorical=True, max_cat_to_onehot=onehot).fit(X, y)
    model = export_ok(est)
    e = model["estimator"]
    assert e["unknown_category"] == "left"
    nodes = [c for t in e["trees"] for c in t.get("categories", []) if c]
    assert nodes and all(c["left"] == [] for c in nodes)  # XGBoost sends its set right
    if onehot == 8:
        assert all(len(c["right"]) == 1 for c in nodes)
    spec = next(i for i in model["inputs"] if i["name"] == "grade")
    assert spec["type"] == "category" and spec["dtype"] == "string" and spec["nullable"]
    steps = model["transform"]["steps"][-1]["transformers"]
    enc = next(s["transform"] for s in steps if s["columns"] == [X.columns.get_loc("grade")])
    assert enc["kind"] == "ordinal_encoder" and enc["categories"] == [["e", "c", "a", "b", "d", None]]
    assert enc["handle_unknown"] == "error" and enc["encoded_missing_value"] is None
    # every other column passes through, in order
    assert sorted(c for s in steps for c in s["columns"]) == list(range(X.shape[1]))


def test_categorical_codes_stay_a_number_input(diabetes):
    X, y = diabetes
    X = _graded(X)
    codes = X["grade"].cat.codes.to_numpy().astype(float)
    codes[codes < 0] = np.nan
    A = np.column_stack([X.drop(columns=["grade"]).to_numpy(), codes])
    est = xgboost.XGBRegressor(n_estimators=8, n_jobs=1, enable_categorical=True, max_cat_to_onehot=1,
                               feature_types=["q"] * (A.shape[1] - 1) + ["c"]).fit(A, y)
    model = export_ok(est)
    assert model["transform"] is None and all(i["type"] == "number" for i in model["inputs"])
    assert any(t.get("categories") for t in model["estimator"]["trees"])
