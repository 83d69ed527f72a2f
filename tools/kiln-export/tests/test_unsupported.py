import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (FunctionTransformer, OneHotEncoder, OrdinalEncoder,
                                   SplineTransformer, StandardScaler)

import kiln_export
from kiln_export import UnsupportedError

from conftest import SK


def prep_pipeline(cat_encoder):
    ct = ColumnTransformer([("num", StandardScaler(), ["age", "income"]), ("cat", cat_encoder, ["size"])])
    return Pipeline([("prep", ct), ("clf", LogisticRegression(max_iter=500))])


def test_max_categories_message(mixed):
    df, y, _, _ = mixed
    est = prep_pipeline(OneHotEncoder(max_categories=3, handle_unknown="infrequent_if_exist")).fit(
        df[["age", "income", "size"]].fillna(0), y)
    with pytest.raises(UnsupportedError) as e:
        kiln_export.export(est)
    assert str(e.value) == ("steps[0] 'prep' > transformers[1] 'cat' (OneHotEncoder): "
                            "option max_categories=3 is not supported")
    assert e.value.option == "max_categories" and e.value.cls == "OneHotEncoder"


def test_min_frequency(mixed):
    df, y, _, _ = mixed
    est = prep_pipeline(OneHotEncoder(min_frequency=5)).fit(df[["age", "income", "size"]].fillna(0), y)
    with pytest.raises(UnsupportedError, match="option min_frequency=5 is not supported"):
        kiln_export.export(est)


def test_function_transformer_lambda(iris):
    X, y = iris
    est = Pipeline([("log", FunctionTransformer(lambda a: np.log1p(a))), ("lr", LogisticRegression(max_iter=500))]).fit(X, y)
    with pytest.raises(UnsupportedError, match=r"^steps\[0\] 'log' \(FunctionTransformer\): option func=.*lambda"):
        kiln_export.export(est)


def test_unknown_transformer(iris):
    X, y = iris
    est = make_pipeline(SplineTransformer(), LogisticRegression(max_iter=500)).fit(X, y)
    with pytest.raises(UnsupportedError, match=r"steps\[0\] 'splinetransformer' \(SplineTransformer\): transformer is not supported"):
        kiln_export.export(est)


def test_unknown_estimator(iris):
    X, y = iris
    est = make_pipeline(StandardScaler(), NearestCentroid()).fit(X, y)
    with pytest.raises(UnsupportedError, match=r"steps\[1\] 'nearestcentroid' \(NearestCentroid\): estimator is not supported"):
        kiln_export.export(est)


def test_bare_unknown_estimator_message(iris):
    X, y = iris
    with pytest.raises(UnsupportedError, match=r"^NearestCentroid: estimator is not supported"):
        kiln_export.export(NearestCentroid().fit(X, y))


def test_transformer_weights(iris):
    X, y = iris
    fu = FeatureUnion([("a", StandardScaler())], transformer_weights={"a": 2.0})
    est = make_pipeline(fu, LogisticRegression(max_iter=500)).fit(X, y)
    with pytest.raises(UnsupportedError, match="transformer_weights"):
        kiln_export.export(est)


def test_imputer_missing_values_none():
    X = np.array([["a"], ["b"], [None], ["a"]], dtype=object)
    est = make_pipeline(SimpleImputer(missing_values=None, strategy="most_frequent"), OneHotEncoder(),
                        LogisticRegression()).fit(X, [0, 1, 0, 1])
    with pytest.raises(UnsupportedError, match="missing_values=None"):
        kiln_export.export(est)


def test_boolean_classes(iris):
    X, y = iris
    est = LogisticRegression(max_iter=500).fit(X, y == 1)
    with pytest.raises(UnsupportedError, match="boolean class labels"):
        kiln_export.export(est)


def test_not_fitted():
    with pytest.raises(kiln_export.ExportError, match="not fitted"):
        kiln_export.export(LogisticRegression())


def test_pipeline_without_final_estimator(iris):
    X, y = iris
    est = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression(max_iter=500))]).fit(X, y)
    est.steps[-1] = ("lr", "passthrough")
    with pytest.raises(UnsupportedError, match="no final estimator"):
        kiln_export.export(est)


def test_nothing_written_on_failure(iris, tmp_path):
    X, y = iris
    est = make_pipeline(SplineTransformer(), LogisticRegression(max_iter=500)).fit(X, y)
    out = tmp_path / "m.json"
    with pytest.raises(UnsupportedError):
        kiln_export.export(est, out)
    assert not out.exists()
