"""KBinsDiscretizer, PolynomialFeatures, naive Bayes and MLP through the exporter: the exported
model validates against the schema, the reference interpreter reproduces sklearn on the
verification rows, and options without an exact equivalent are refused by name."""
import numpy as np
import pytest
from sklearn.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import KBinsDiscretizer, PolynomialFeatures, StandardScaler

import kiln_export
from kiln_export import UnsupportedError
from conftest import export_ok


@pytest.mark.parametrize("strategy", ["uniform", "quantile", "kmeans"])
@pytest.mark.parametrize("encode", ["ordinal", "onehot-dense", "onehot"])
def test_kbins(iris, strategy, encode):
    X, y = iris
    est = make_pipeline(KBinsDiscretizer(n_bins=4, encode=encode, strategy=strategy),
                        LogisticRegression(max_iter=2000)).fit(X, y)
    model = export_ok(est)
    step = model["transform"]["steps"][0]
    assert step["kind"] == "kbins_discretizer"
    assert step["encode"] == ("ordinal" if encode == "ordinal" else "onehot")
    kb = est[0]
    assert step["edges"] == [e[1:-1].tolist() for e in kb.bin_edges_]
    # the synthesised rows sit on bin edges (where the searchsorted rule matters)
    edge0 = set(kb.bin_edges_[0][1:-1].tolist())
    assert any(r["input"][X.columns[0]] in edge0 for r in model["verification"]["rows"])


def test_kbins_constant_column(iris):
    X, y = iris
    X = X.copy()
    X["const"] = 1.5
    est = make_pipeline(KBinsDiscretizer(n_bins=3, encode="onehot-dense"), LogisticRegression(max_iter=2000))
    est.fit(X, y)
    model = export_ok(est)
    assert model["transform"]["steps"][0]["edges"][-1] == []


def test_kbins_float32_refused(iris):
    X, y = iris
    est = make_pipeline(KBinsDiscretizer(n_bins=3, dtype=np.float32), LogisticRegression(max_iter=2000)).fit(X, y)
    with pytest.raises(UnsupportedError, match="option dtype="):
        kiln_export.export(est)


@pytest.mark.parametrize("kw", [dict(degree=2), dict(degree=3, interaction_only=True),
                                dict(degree=3, include_bias=False), dict(degree=(2, 3))])
def test_polynomial(diabetes, kw):
    X, y = diabetes
    from sklearn.linear_model import Ridge
    est = make_pipeline(StandardScaler(), PolynomialFeatures(**kw), Ridge()).fit(X, y)
    model = export_ok(est)
    step = model["transform"]["steps"][1]
    assert step == {"kind": "polynomial_features", "powers": est[1].powers_.tolist()}


def test_polynomial_degree_4_refused(iris):
    X, y = iris
    est = make_pipeline(PolynomialFeatures(degree=4), LogisticRegression(max_iter=100)).fit(X, y)
    with pytest.raises(UnsupportedError, match=r"\(PolynomialFeatures\): option degree=4"):
        kiln_export.export(est)


@pytest.mark.parametrize("est", [GaussianNB(), MultinomialNB(), BernoulliNB(binarize=5.0),
                                 BernoulliNB(binarize=None)], ids=lambda e: repr(e))
def test_naive_bayes(iris, est):
    X, y = iris
    if getattr(est, "binarize", 0.0) is None:  # 0/1 features in, as BernoulliNB expects
        X = (X > X.mean()).astype(float)
    model = export_ok(est.fit(X, y))
    assert model["estimator"]["kind"] == "naive_bayes"
    assert model["output"]["probabilities"] and not model["output"]["decision"]


def test_gaussian_nb_binary_strings(cancer):
    X, y = cancer
    export_ok(GaussianNB().fit(X, np.where(y == 1, "benign", "malignant")))


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_mlp_classifier(iris, cancer, activation):
    for X, y in (iris, cancer):
        est = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(7, 5), activation=activation,
                                                            max_iter=50, random_state=0))
        with pytest.warns(Warning):  # not converged in 50 iterations: fine for a format test
            est.fit(X, y)
        model = export_ok(est)
        assert model["estimator"]["link"] == ("softmax" if len(set(y)) > 2 else "logistic")
        assert [len(layer["intercept"]) for layer in model["estimator"]["layers"]][:2] == [7, 5]


def test_mlp_regressor(diabetes):
    X, y = diabetes
    est = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(8,), max_iter=2000, random_state=0))
    export_ok(est.fit(X, y))


def test_mlp_multilabel_refused(iris):
    X, y = iris
    Y = np.stack([y == 0, y == 1], axis=1).astype(int)
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=300, random_state=0)
    with pytest.warns(Warning):
        est.fit(X, Y)
    with pytest.raises(UnsupportedError, match="multi-label"):
        kiln_export.export(est)


def test_mlp_multi_output_regression_refused(diabetes):
    X, y = diabetes
    est = MLPRegressor(hidden_layer_sizes=(4,), max_iter=300, random_state=0)
    with pytest.warns(Warning):
        est.fit(X, np.stack([y, -y], axis=1))
    with pytest.raises(UnsupportedError, match="multi-output"):
        kiln_export.export(est)


def test_bernoulli_nb_counts_without_binarize_refused(iris):
    X, y = iris  # counts > 1 make sklearn's log(1 - p) NaN
    with pytest.raises(UnsupportedError, match="set binarize"):
        kiln_export.export(BernoulliNB(binarize=None).fit(X, y))


def test_kbins_ordinal_then_one_hot_keeps_inputs_numeric(iris):
    # bin indices are new columns, not the inputs: the encoder after them must not turn the
    # inputs into categories
    from sklearn.preprocessing import OneHotEncoder
    X, y = iris
    est = make_pipeline(KBinsDiscretizer(n_bins=3, encode="ordinal"), OneHotEncoder(handle_unknown="ignore"),
                        LogisticRegression(max_iter=2000)).fit(X, y)
    model = export_ok(est)
    assert all(i["type"] == "number" for i in model["inputs"])
