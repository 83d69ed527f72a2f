import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import kiln_export
from conftest import assert_valid_model, export_ok


def test_names_default_and_given(iris):
    X, y = iris
    est = LogisticRegression(max_iter=1000).fit(X.to_numpy(), y)
    assert [i["name"] for i in export_ok(est)["inputs"]] == ["x0", "x1", "x2", "x3"]
    model = export_ok(est, feature_names=["a", "b", "c", "d"])
    assert [i["name"] for i in model["inputs"]] == ["a", "b", "c", "d"]
    assert set(model["verification"]["rows"][0]["input"]) == {"a", "b", "c", "d"}
    with pytest.raises(ValueError):
        kiln_export.export(est, feature_names=["a"])


def test_names_from_dataframe(iris):
    X, y = iris
    est = LogisticRegression(max_iter=1000).fit(X, y)
    assert [i["name"] for i in export_ok(est)["inputs"]] == list(X.columns)
    with pytest.raises(ValueError, match="differ"):
        kiln_export.export(est, feature_names=["a", "b", "c", "d"])


def test_nullability_probe(mixed):
    df, y, _, _ = mixed
    X = df[["age", "income", "colour", "size"]]
    ct = ColumnTransformer([
        ("age", make_pipeline(SimpleImputer(), StandardScaler()), ["age"]),   # imputed: nullable
        ("inc", StandardScaler(), ["income"]),                                 # NaN reaches LR: not
        ("col", OneHotEncoder(handle_unknown="ignore"), ["colour"]),         # NaN seen in fit
        ("size", OneHotEncoder(), ["size"]),                                 # NaN unknown -> error
    ])
    est = make_pipeline(ct, LogisticRegression(max_iter=1000)).fit(X.assign(income=X.income.fillna(1)), y)
    model = export_ok(est)
    assert {i["name"]: i["nullable"] for i in model["inputs"]} == {
        "age": True, "income": False, "colour": True, "size": False}
    rows = model["verification"]["rows"]
    for n in ("age", "colour"):
        assert any(r["input"][n] is None for r in rows)
    for n in ("income", "size"):
        assert all(r["input"][n] is not None for r in rows)


def test_synthesised_rows_are_valid_and_cover_categories(mixed):
    df, y, _, _ = mixed
    X = df[["size", "zip", "age"]]
    ct = ColumnTransformer([("c", OneHotEncoder(), ["size", "zip"]),
                            ("n", make_pipeline(SimpleImputer(), StandardScaler()), ["age"])])
    est = make_pipeline(ct, LogisticRegression(max_iter=1000)).fit(X, y)
    model = export_ok(est, n_verification_rows=3)    # still every category at least once
    rows = model["verification"]["rows"]
    assert {r["input"]["size"] for r in rows} == {"S", "M", "L", "XL"}
    assert {r["input"]["zip"] for r in rows} == {1000, 2000, 3000}
    # handle_unknown="error": no unseen categories in the rows
    assert len(rows) >= 5


@pytest.mark.parametrize("kind", ["dataframe", "dicts", "array"])
def test_user_rows(mixed, kind):
    df, y, _, _ = mixed
    X = df[["age", "colour"]]
    est = make_pipeline(ColumnTransformer([
        ("n", make_pipeline(SimpleImputer(), StandardScaler()), ["age"]),
        ("c", OneHotEncoder(handle_unknown="ignore"), ["colour"])]), LogisticRegression()).fit(X, y)
    sample = X.iloc[:10]
    rows = {"dataframe": sample, "dicts": sample.to_dict("records"), "array": sample.to_numpy()}[kind]
    model = export_ok(est, rows=rows)
    got = model["verification"]["rows"]
    assert len(got) == 10
    for r, (_, s) in zip(got, sample.iterrows()):
        assert r["input"]["colour"] == (None if pd.isna(s["colour"]) else s["colour"])
    assert model["inputs"][1]["dtype"] == "string"


def test_invalid_user_rows(mixed):
    df, y, _, _ = mixed
    est = make_pipeline(OneHotEncoder(), LogisticRegression()).fit(df[["size"]], y)
    with pytest.raises(kiln_export.ExportError, match=r"rows\[1\] is not valid"):
        kiln_export.export(est, rows=[{"size": "S"}, {"size": "XXL"}])


def test_write_and_name(iris, tmp_path):
    X, y = iris
    est = LogisticRegression(max_iter=1000).fit(X, y)
    out = tmp_path / "iris.json"
    model = kiln_export.export(est, out, name="iris_lr-1.0")
    text = out.read_text()
    assert json.loads(text) == model
    assert "NaN" not in text and "Infinity" not in text
    assert model["name"] == "iris_lr-1.0"
    md = model["metadata"]
    assert md["source"]["library"] == "scikit-learn"
    assert md["source"]["class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert md["exporter"] == {"name": "kiln-export", "version": kiln_export.__version__}
    assert md["created"].endswith("Z")
    with pytest.raises(ValueError, match="invalid model name"):
        kiln_export.export(est, name="bad name!")


def test_tolerance(iris):
    X, y = iris
    est = LogisticRegression(max_iter=1000).fit(X, y)
    model = export_ok(est, tolerance=(1e-7, 1e-8))
    assert model["verification"]["tolerance"] == {"absolute": 1e-7, "relative": 1e-8}
    with pytest.raises(ValueError):
        kiln_export.export(est, tolerance=(0.1, 0))


def test_float_roundtrip_repr(diabetes):
    from sklearn.linear_model import Ridge
    X, y = diabetes
    est = Ridge().fit(X, y)
    model = kiln_export.export(est)
    from kiln_export.writer import dumps
    back = json.loads(dumps(model))
    assert back["estimator"]["coef"][0] == est.coef_.tolist()


def test_numpy_object_array_with_strings():
    X = np.array([["red", 1.0], ["blue", 2.5], ["red", 0.5], ["green", 3.0]] * 5, dtype=object)
    y = [0, 1, 0, 1] * 5
    ct = ColumnTransformer([("c", OneHotEncoder(), [0]), ("n", StandardScaler(), [1])])
    est = make_pipeline(ct, LogisticRegression()).fit(X, y)
    model = export_ok(est)
    assert model["inputs"] == [
        {"name": "x0", "type": "category", "dtype": "string", "nullable": False},
        {"name": "x1", "type": "number", "nullable": False}]
    assert model["transform"]["steps"][0]["transformers"][0]["columns"] == [0]


def test_input_types_override(iris):
    X, y = iris
    est = LogisticRegression(max_iter=1000).fit(X, y)
    with pytest.raises(ValueError):
        kiln_export.export(est, input_types={X.columns[0]: "boolean"})
