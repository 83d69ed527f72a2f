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


def test_categorical_splits_refused(diabetes):
    X, y = diabetes
    X = X.copy()
    X["grade"] = pd.Categorical(np.digitize(X["bmi"], np.quantile(X["bmi"], [.2, .4, .6, .8])))
    est = xgboost.XGBRegressor(n_estimators=5, n_jobs=1, enable_categorical=True, max_cat_to_onehot=1)
    est.fit(X.drop(columns=["bmi"]), y)
    with pytest.raises(kiln_export.UnsupportedError, match="enable_categorical"):
        kiln_export.export(est)
