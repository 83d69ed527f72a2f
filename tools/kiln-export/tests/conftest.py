import json
import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn

import kiln_export
from kiln_export.inputs import RowBuilder

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SCHEMA_PATH = os.path.join(REPO, "docs", "model.schema.json")
SK = tuple(int("".join(c for c in p if c.isdigit()) or 0) for p in sklearn.__version__.split(".")[:2])


def _schema_validator():
    try:
        import jsonschema
    except ImportError:  # pragma: no cover
        return None
    with open(SCHEMA_PATH) as f:
        return jsonschema.Draft202012Validator(json.load(f))


VALIDATOR = _schema_validator()


def rows_to_X(model, est):
    names = [i["name"] for i in model["inputs"]]
    kinds = {i["name"]: ("string" if i.get("dtype") == "string" else "number") for i in model["inputs"]}
    cats = {}
    if type(est).__module__.startswith("xgboost"):  # pandas category columns at fit
        from kiln_export.xgb import pandas_categories
        cats = pandas_categories(est)
    build = RowBuilder(names, kinds, hasattr(est, "feature_names_in_"), cats)
    return build([dict(r["input"]) for r in model["verification"]["rows"]])


def assert_valid_model(model, est):
    """Structural + semantic checks every exported model must pass."""
    text = json.dumps(model, allow_nan=False)          # strict JSON
    again = json.loads(text)
    assert again == model                              # floats round-trip (repr)
    if VALIDATOR is not None:
        errors = sorted(VALIDATOR.iter_errors(model), key=str)
        assert not errors, errors[0]
    assert model["format"] == "kiln.model" and model["format_version"] == 1
    assert len({i["name"] for i in model["inputs"]}) == len(model["inputs"])
    # the reference interpreter reproduces every expected value
    assert kiln_export.check_model(model) == []
    # the expected values are sklearn's own answers on the (valid) rows
    X = rows_to_X(model, est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = model["verification"]["rows"]
        if model["output"]["task"] == "regression":
            got = np.asarray(est.predict(X), dtype=float).ravel()
            assert [r["expected"]["value"] for r in rows] == got.tolist()
        else:
            labels = [v.item() if hasattr(v, "item") else v for v in est.predict(X)]
            assert [r["expected"]["label"] for r in rows] == labels
            if model["output"]["probabilities"]:
                np.testing.assert_array_equal(np.array([r["expected"]["probabilities"] for r in rows]),
                                              est.predict_proba(X))
            if model["output"]["decision"]:
                d = np.asarray(est.decision_function(X), dtype=float)
                d = d[:, None] if d.ndim == 1 else d
                np.testing.assert_array_equal(np.array([r["expected"]["decision"] for r in rows]), d)
    return model


def with_nan(X, seed=0, fraction=0.1):
    """A copy of DataFrame X with `fraction` of every column set to NaN."""
    X = X.copy()
    rng = np.random.default_rng(seed)
    for c in X.columns:
        X.loc[rng.random(len(X)) < fraction, c] = np.nan
    return X


def export_ok(est, **kw):
    model = kiln_export.export(est, **kw)
    return assert_valid_model(model, est)


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def cancer():
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def diabetes():
    from sklearn.datasets import load_diabetes
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def mixed():
    """A small mixed-type frame with missing values in numbers and strings."""
    rng = np.random.default_rng(42)
    n = 200
    df = pd.DataFrame({
        "age": rng.normal(40, 12, n).round(1),
        "income": rng.lognormal(10, 0.5, n),
        "colour": pd.Series(rng.choice(["red", "green", "blue"], n), dtype=object),
        "size": pd.Series(rng.choice(["S", "M", "L", "XL"], n), dtype=object),
        "zip": rng.choice([1000, 2000, 3000], n),
    })
    df.loc[rng.choice(n, 15, replace=False), "age"] = np.nan
    df.loc[rng.choice(n, 10, replace=False), "colour"] = np.nan
    y = ((df["age"].fillna(40) > 40) ^ (df["colour"] == "red")).astype(int).to_numpy()
    y3 = np.where(df["size"] == "S", "small", np.where(df["income"] > 25000, "rich", "other"))
    yr = df["age"].fillna(40).to_numpy() * 2.5 + (df["zip"] / 1000).to_numpy()
    return df, y, y3, yr
