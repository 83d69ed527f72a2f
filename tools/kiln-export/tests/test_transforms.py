import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (Binarizer, FunctionTransformer, MaxAbsScaler, MinMaxScaler,
                                   Normalizer, OneHotEncoder, OrdinalEncoder, RobustScaler,
                                   StandardScaler)

from conftest import SK, export_ok


def steps_of(model):
    t = model["transform"]
    return t["steps"] if t else []


@pytest.mark.parametrize("scaler,kind", [
    (StandardScaler(), "standard_scaler"),
    (StandardScaler(with_mean=False), "standard_scaler"),
    (StandardScaler(with_std=False), "standard_scaler"),
    (RobustScaler(), "robust_scaler"),
    (RobustScaler(with_centering=False), "robust_scaler"),
    (MinMaxScaler(), "min_max_scaler"),
    (MinMaxScaler(feature_range=(-1, 2), clip=True), "min_max_scaler"),
    (MaxAbsScaler(), "max_abs_scaler"),
    (Normalizer(norm="l1"), "normalizer"),
    (Normalizer(norm="l2"), "normalizer"),
    (Normalizer(norm="max"), "normalizer"),
    (Binarizer(threshold=3.0), "binarizer"),
])
def test_numeric_steps(iris, scaler, kind):
    X, y = iris
    est = make_pipeline(scaler, LogisticRegression(max_iter=2000)).fit(X, y)
    model = export_ok(est)
    (step,) = steps_of(model)
    assert step["kind"] == kind
    if kind == "standard_scaler":
        assert (step["mean"] is None) == (not scaler.with_mean)
        assert (step["scale"] is None) == (not scaler.with_std)
    if kind == "min_max_scaler":
        assert step["clip"] == ([-1.0, 2.0] if scaler.clip else None)
    assert all(i["type"] == "number" for i in model["inputs"])


def test_min_max_clip_rows_exercise_clip(iris):
    X, y = iris
    est = make_pipeline(MinMaxScaler(clip=True), LogisticRegression(max_iter=2000)).fit(X, y)
    model = export_ok(est)
    top = X.max().to_numpy()
    assert any(r["input"][X.columns[0]] > top[0] for r in model["verification"]["rows"])


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_imputer_numeric(mixed, strategy):
    df, y, _, _ = mixed
    X = df[["age", "income"]]
    est = make_pipeline(SimpleImputer(strategy=strategy, fill_value=-1.0), StandardScaler(),
                        LogisticRegression()).fit(X, y)
    model = export_ok(est)
    imp = steps_of(model)[0]
    assert imp["kind"] == "simple_imputer" and imp["missing_value"] is None
    assert len(imp["fill"]) == 2 and "indicator" not in imp
    age = model["inputs"][0]
    assert age == {"name": "age", "type": "number", "nullable": True}
    assert any(r["input"]["age"] is None for r in model["verification"]["rows"])


@pytest.mark.filterwarnings("ignore:Skipping features")
def test_imputer_indicator_and_dropped_column():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X[:, 1] = np.nan                      # all missing: sklearn drops it
    X[::7, 2] = np.nan
    y = (X[:, 0] > 0).astype(int)
    est = make_pipeline(SimpleImputer(add_indicator=True), LogisticRegression()).fit(X, y)
    model = export_ok(est)
    imp = steps_of(model)[0]
    assert imp["fill"][1] is None
    assert imp["indicator"] == [1, 2]
    assert model["estimator"]["n_features"] == 2 + 2
    assert [i["name"] for i in model["inputs"]] == ["x0", "x1", "x2"]
    assert [i["nullable"] for i in model["inputs"]] == [True, True, True]


@pytest.mark.skipif(SK < (1, 2), reason="keep_empty_features is 1.2+")
def test_imputer_keep_empty_features():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2))
    X[:, 0] = np.nan
    y = (X[:, 1] > 0).astype(int)
    est = make_pipeline(SimpleImputer(keep_empty_features=True), LogisticRegression()).fit(X, y)
    model = export_ok(est)
    assert steps_of(model)[0]["fill"][0] == 0.0
    assert model["estimator"]["n_features"] == 2


def test_imputer_numeric_missing_value_marker():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 5, size=(80, 2)).astype(float)
    y = (X[:, 0] > 2).astype(int)
    est = make_pipeline(SimpleImputer(missing_values=0.0, strategy="median"), LogisticRegression()).fit(X, y)
    model = export_ok(est)
    assert steps_of(model)[0]["missing_value"] == 0.0
    assert [i["nullable"] for i in model["inputs"]] == [False, False]


@pytest.mark.parametrize("strategy", ["most_frequent", "constant"])
def test_imputer_strings_then_onehot(mixed, strategy):
    df, y, _, _ = mixed
    X = df[["colour"]]
    est = make_pipeline(SimpleImputer(strategy=strategy, fill_value="none"),
                        OneHotEncoder(handle_unknown="ignore"), LogisticRegression()).fit(X, y)
    model = export_ok(est)
    imp, ohe = steps_of(model)
    assert isinstance(imp["fill"][0], str)
    assert model["inputs"] == [{"name": "colour", "type": "category", "dtype": "string", "nullable": True}]
    cats = set(ohe["categories"][0])
    seen = {r["input"]["colour"] for r in model["verification"]["rows"]}
    assert cats - {"none"} <= seen            # every category appears
    assert None in seen


def test_imputer_string_missing_marker():
    X = pd.DataFrame({"c": pd.Series(["a", "b", "?", "a", "b", "a"] * 5, dtype=object)})
    y = [0, 1, 0, 0, 1, 1] * 5
    est = make_pipeline(SimpleImputer(missing_values="?", strategy="most_frequent"),
                        OneHotEncoder(), LogisticRegression()).fit(X, y)
    model = export_ok(est)
    assert steps_of(model)[0]["missing_value"] == "?"


@pytest.mark.parametrize("kw", [
    dict(handle_unknown="error"),
    dict(handle_unknown="ignore"),
    dict(drop="first"),
    dict(drop="if_binary", handle_unknown="ignore"),
])
def test_onehot_strings(mixed, kw):
    df, y, _, _ = mixed
    X = df[["size", "zip"]]
    est = make_pipeline(OneHotEncoder(**kw), LogisticRegression()).fit(X, y)
    model = export_ok(est)
    (ohe,) = steps_of(model)
    assert ohe["handle_unknown"] == kw.get("handle_unknown", "error")
    assert ohe["categories"][0] == ["L", "M", "S", "XL"]
    assert ohe["categories"][1] == [1000, 2000, 3000]
    if "drop" in kw:
        assert "drop" in ohe
    assert model["inputs"][0]["dtype"] == "string"
    # a missing value is an unknown category: refused with "error", all-zero with "ignore"
    assert model["inputs"][1] == {"name": "zip", "type": "category", "dtype": "number",
                                  "nullable": kw.get("handle_unknown") == "ignore"}
    rows = model["verification"]["rows"]
    unseen = [r for r in rows if r["input"]["size"] not in ohe["categories"][0]]
    assert bool(unseen) == (kw.get("handle_unknown") == "ignore")
    for z in (1000, 2000, 3000):
        assert any(r["input"]["zip"] == z for r in rows)


@pytest.mark.skipif(SK < (1, 6), reason="handle_unknown='warn' is 1.6+")
def test_onehot_warn_is_ignore(mixed):
    df, y, _, _ = mixed
    est = make_pipeline(OneHotEncoder(handle_unknown="warn"), LogisticRegression()).fit(df[["size"]], y)
    assert export_ok(est)["transform"]["steps"][0]["handle_unknown"] == "ignore"


def test_onehot_nan_category(mixed):
    df, y, _, _ = mixed
    est = make_pipeline(OneHotEncoder(), LogisticRegression()).fit(df[["colour"]], y)
    model = export_ok(est)
    assert model["transform"]["steps"][0]["categories"][0][-1] is None
    assert model["inputs"][0]["nullable"] is True


def test_ordinal_encoder(mixed):
    df, y, _, _ = mixed
    X = df[["size", "colour"]]
    enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2)
    est = make_pipeline(enc, LogisticRegression()).fit(X, y)
    model = export_ok(est)
    (step,) = steps_of(model)
    assert step["unknown_value"] == -1 and step["encoded_missing_value"] == -2
    assert step["categories"][1][-1] is None
    assert any(r["input"]["size"] == "__kiln_unseen__" for r in model["verification"]["rows"])


def test_ordinal_encoder_error_and_nan(mixed):
    df, y, _, _ = mixed
    est = make_pipeline(OrdinalEncoder(), SimpleImputer(strategy="most_frequent"),
                        LogisticRegression()).fit(df[["colour"]], y)
    model = export_ok(est)
    assert steps_of(model)[0]["encoded_missing_value"] is None
    assert model["inputs"][0]["nullable"] is True


def column_transformer(remainder="drop", by_index=False):
    num = [0, 1] if by_index else ["age", "income"]
    cat = [2] if by_index else ["colour"]
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), cat),
        ("skip", "drop", ["size"] if not by_index else [3]),
    ], remainder=remainder)


@pytest.mark.parametrize("remainder", ["drop", "passthrough"])
@pytest.mark.parametrize("by_index", [False, True])
def test_column_transformer(mixed, remainder, by_index):
    df, y, _, _ = mixed
    X = df[["age", "income", "colour", "size", "zip"]]
    est = make_pipeline(column_transformer(remainder, by_index), LogisticRegression(max_iter=1000)).fit(X, y)
    model = export_ok(est)
    (ct,) = steps_of(model)
    names = [t["name"] for t in ct["transformers"]]
    assert "skip" not in names
    assert ("remainder" in names) == (remainder == "passthrough")
    num = ct["transformers"][0]["columns"]
    assert num == ([0, 1] if by_index else ["age", "income"])
    if remainder == "passthrough":
        assert ct["transformers"][-1]["transform"] == {"kind": "passthrough"}
        assert ct["transformers"][-1]["columns"] == ["zip"]
    types = {i["name"]: i for i in model["inputs"]}
    assert types["colour"]["dtype"] == "string" and types["colour"]["nullable"]
    assert types["size"]["nullable"] is True      # dropped: anything goes


def test_column_transformer_numpy_and_remainder_estimator():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 4))
    y = X[:, 0] + 2 * X[:, 3]
    ct = ColumnTransformer([("a", MinMaxScaler(), [0, 1]), ("b", "passthrough", slice(2, 3))],
                           remainder=StandardScaler())
    est = make_pipeline(ct, Ridge()).fit(X, y)
    model = export_ok(est, feature_names=["a", "b", "c", "d"])
    (step,) = steps_of(model)
    assert [t["name"] for t in step["transformers"]] == ["a", "b", "remainder"]
    assert step["transformers"][2]["transform"]["kind"] == "standard_scaler"
    assert [i["name"] for i in model["inputs"]] == ["a", "b", "c", "d"]


def test_column_selector_callable(mixed):
    df, y, _, _ = mixed
    X = df[["age", "income", "size"]]
    ct = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), make_column_selector(dtype_include="number")),
        ("cat", OneHotEncoder(), make_column_selector(dtype_include=object)),
    ])
    est = make_pipeline(ct, LogisticRegression()).fit(X, y)
    model = export_ok(est)
    assert steps_of(model)[0]["transformers"][0]["columns"] == ["age", "income"]


def test_nested_pipelines_and_passthrough_steps(iris):
    X, y = iris
    inner = Pipeline([("s", StandardScaler()), ("none", None), ("m", MaxAbsScaler())])
    est = Pipeline([("p", "passthrough"), ("inner", inner),
                    ("model", Pipeline([("r", RobustScaler()), ("lr", LogisticRegression(max_iter=500))]))]).fit(X, y)
    model = export_ok(est)
    kinds = [s["kind"] for s in steps_of(model)]
    assert kinds == ["pipeline", "robust_scaler"]
    assert [s["kind"] for s in steps_of(model)[0]["steps"]] == ["standard_scaler", "max_abs_scaler"]


def test_feature_union_and_identity_function(iris):
    X, y = iris
    fu = FeatureUnion([("a", StandardScaler()), ("b", MinMaxScaler()), ("c", FunctionTransformer())])
    est = make_pipeline(fu, LogisticRegression(max_iter=2000)).fit(X, y)
    model = export_ok(est)
    ct = steps_of(model)[0]
    assert ct["kind"] == "column_transformer"
    assert [t["columns"] for t in ct["transformers"]] == [[0, 1, 2, 3]] * 3
    assert model["estimator"]["n_features"] == 12


def test_bare_estimator_has_null_transform(iris):
    X, y = iris
    model = export_ok(LogisticRegression(max_iter=1000).fit(X, y))
    assert model["transform"] is None
