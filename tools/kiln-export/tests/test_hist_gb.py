"""HistGradientBoosting*: float64 splits, learned NaN routing, native categorical splits."""
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

import kiln_export
from conftest import SK, export_ok


def _with_nan_and_category(X, y, seed=0):
    """10% NaN per column, plus "cat": a noisy integer code of the target (so the trees split on it)."""
    rng = np.random.default_rng(seed)
    X = X.copy()
    for c in X.columns:
        X.loc[rng.random(len(X)) < 0.1, c] = np.nan
    codes = np.unique(np.asarray(y), return_inverse=True)[1] if not np.issubdtype(np.asarray(y).dtype, np.floating) \
        else np.digitize(y, np.quantile(y, [.25, .5, .75]))
    X["cat"] = (2 * codes + rng.integers(0, 2, len(X))).astype(float)
    X.loc[rng.random(len(X)) < 0.1, "cat"] = np.nan
    return X


@pytest.mark.parametrize("data", ["cancer", "iris"])
def test_classifier_with_nan_and_categories(request, data):
    X, y = request.getfixturevalue(data)
    X = _with_nan_and_category(X, y)
    est = HistGradientBoostingClassifier(max_iter=15, categorical_features=[X.shape[1] - 1], random_state=0).fit(X, y)
    model = export_ok(est)
    e = model["estimator"]
    assert e["threshold_dtype"] == "float64" and e["unknown_category"] == "missing" and e["learning_rate"] == 1.0
    assert e["n_targets"] == (1 if len(set(y)) == 2 else len(set(y)))
    assert any(c for t in e["trees"] for c in t.get("categories", []))  # the category is split on
    assert any(any(t["missing_go_to_left"]) for t in e["trees"])
    if SK >= (1, 4):  # the estimator's own encoder comes first
        assert model["transform"]["steps"][-1]["transformers"][0]["transform"]["kind"] == "ordinal_encoder"


def test_regressor(diabetes):
    X, y = diabetes
    model = export_ok(HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(_with_nan_and_category(X, y), y))
    assert model["output"] == {"task": "regression"}


def test_log_link_loss_is_refused(diabetes):
    X, y = diabetes
    est = HistGradientBoostingRegressor(loss="poisson", max_iter=5).fit(X, y)
    with pytest.raises(kiln_export.UnsupportedError, match="loss='poisson'"):
        kiln_export.export(est)
