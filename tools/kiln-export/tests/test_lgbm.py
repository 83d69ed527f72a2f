"""LightGBM models through the exporter (lightgbm is pinned in requirements/sklearn-latest.txt only)."""
import numpy as np
import pytest

import kiln_export
from conftest import export_ok, with_nan

lightgbm = pytest.importorskip("lightgbm")


def test_multiclass_with_nan(iris):
    X, y = iris
    X = with_nan(X).rename(columns=lambda c: c.replace(" ", "_"))
    model = export_ok(lightgbm.LGBMClassifier(n_estimators=10, min_child_samples=5, verbose=-1, n_jobs=1).fit(X, y))
    e = model["estimator"]
    assert e["link"] == "softmax" and e["n_targets"] == 3 and e["threshold_dtype"] == "float64"
    assert any(any(t["missing_go_to_left"]) for t in e["trees"])


def test_categorical_feature(diabetes):
    X, y = diabetes
    X = X.copy()
    # bmi as 5 bins with shuffled codes (only a categorical split can use it), bmi itself dropped
    X["grade"] = np.array([3, 0, 4, 1, 2])[np.digitize(X["bmi"], np.quantile(X["bmi"], [.2, .4, .6, .8]))].astype(float)
    X = X.drop(columns=["bmi"])
    est = lightgbm.LGBMRegressor(n_estimators=10, min_data_per_group=5, cat_smooth=1, verbose=-1, n_jobs=1)
    model = export_ok(est.fit(X, y, categorical_feature=["grade"]))
    assert model["estimator"]["unknown_category"] == "right"
    assert any(c for t in model["estimator"]["trees"] for c in t.get("categories", []))


@pytest.mark.parametrize("classifier", [False, True])
def test_zero_as_missing(diabetes, classifier):
    """Missing type Zero: NaN read as 0.0, zeros (and |x| <= kZeroThreshold) the default way.
    export_ok checks the reference interpreter and LightGBM agree on the verification rows; the
    extra rows below put the zero band and NaN through every Zero-type node."""
    X, y = diabetes
    X = with_nan(X).copy()
    X.iloc[::5, :] = X.iloc[::5, :].where(X.iloc[::5, :].isna(), 0.0)  # real zeros in every column
    if classifier:
        y = (y > np.median(y)).astype(int)
    make = lightgbm.LGBMClassifier if classifier else lightgbm.LGBMRegressor
    est = make(n_estimators=10, zero_as_missing=True, verbose=-1, n_jobs=1).fit(X, y)
    model = export_ok(est)
    flags = [f for t in model["estimator"]["trees"] for f in t.get("zero_as_missing", [])]
    assert sum(flags) > 0, "expected Zero-type splits"
    rows = X.iloc[:40].copy()
    for k, v in enumerate([0.0, -0.0, 1e-36, -1e-36, float(np.float32(1e-35)), 5e-324, np.nan, 1e-34]):
        rows.iloc[k * 5:(k + 1) * 5, :] = v
    got = [kiln_export.predict_row(model, r) for r in rows.to_dict(orient="records")]
    if classifier:
        np.testing.assert_allclose([g["probabilities"] for g in got], est.predict_proba(rows), rtol=0, atol=1e-12)
    else:
        np.testing.assert_allclose([g["value"] for g in got], est.predict(rows), rtol=0, atol=1e-9)


@pytest.mark.parametrize("kw, option", [({"boosting_type": "rf", "bagging_freq": 1, "bagging_fraction": 0.5},
                                         "boosting"),
                                        ({"objective": "poisson"}, "objective")])
def test_refused(diabetes, kw, option):
    X, y = diabetes
    X = X.copy()
    X.iloc[::7, 0] = 0.0  # zeros to treat as missing
    est = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1, n_jobs=1, **kw).fit(X, y)
    with pytest.raises(kiln_export.UnsupportedError, match=option):
        kiln_export.export(est)
