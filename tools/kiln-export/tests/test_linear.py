import warnings

import numpy as np
import pytest
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge,
                                  RidgeClassifier, SGDClassifier, SGDRegressor)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import kiln_export
from conftest import SK, export_ok, rows_to_X
from kiln_export.api import transform_to_final


def numpy_proba(model, Xt):
    """Probabilities from the exported JSON, per docs/model-format.md (linear)."""
    est = model["estimator"]
    coef = np.asarray(est["coef"])
    raw = np.asarray(Xt, dtype=float) @ coef.T + np.asarray(est["intercept"])
    if est["link"] == "logistic":
        p = 1 / (1 + np.exp(-raw))
        return np.hstack([1 - p, p]) if raw.shape[1] == 1 else p / p.sum(axis=1, keepdims=True)
    assert est["link"] == "softmax"
    z = np.hstack([-raw, raw]) if raw.shape[1] == 1 else raw
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def check_numeric_reimplementation(model, est):
    X = rows_to_X(model, est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xt, final = transform_to_final(est, X)
        expected = est.predict_proba(X)
    np.testing.assert_allclose(numpy_proba(model, Xt), expected, rtol=1e-12, atol=1e-12)


def logreg_variants():
    v = [("binary-lbfgs", dict(), 2, "logistic"),
         ("multi-lbfgs", dict(), 3, "softmax"),
         ("binary-liblinear", dict(solver="liblinear"), 2, "logistic")]
    if SK < (1, 8):  # multi_class still exists
        v += [("multi-ovr", dict(multi_class="ovr"), 3, "logistic"),
              ("multi-liblinear", dict(solver="liblinear"), 3, "logistic"),
              ("binary-multinomial", dict(multi_class="multinomial"), 2, "softmax")]
    return v


@pytest.mark.parametrize("label,kw,n_classes,link", logreg_variants(), ids=lambda x: x if isinstance(x, str) else "")
def test_logistic_regression(cancer, iris, label, kw, n_classes, link):
    X, y = (cancer if n_classes == 2 else iris)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, **kw)).fit(X, y)
    model = export_ok(est)
    assert model["estimator"]["link"] == link
    assert len(model["estimator"]["coef"]) == (1 if n_classes == 2 else n_classes)
    assert model["output"] == {"task": "classification", "classes": list(range(n_classes)),
                               "probabilities": True, "decision": True}
    check_numeric_reimplementation(model, est)
    # binary decision is one number
    assert all(len(r["expected"]["decision"]) == (1 if n_classes == 2 else n_classes)
               for r in model["verification"]["rows"])


def test_logistic_string_classes(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, names)
    model = export_ok(est)
    assert model["output"]["classes"] == ["setosa", "versicolor", "virginica"]
    check_numeric_reimplementation(model, est)


def test_link_check_fails_loudly(cancer, monkeypatch):
    X, y = cancer
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    import kiln_export.estimators as E
    monkeypatch.setattr(E, "logistic_regression_link", lambda est: "softmax")
    with pytest.raises(kiln_export.VerificationError, match="does not reproduce predict_proba"):
        kiln_export.export(est)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_linear_svc(cancer, iris, n_classes):
    X, y = cancer if n_classes == 2 else iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = make_pipeline(StandardScaler(), LinearSVC(max_iter=5000)).fit(X, y)
    model = export_ok(est)
    assert model["estimator"]["link"] == "none"
    assert model["output"]["probabilities"] is False and model["output"]["decision"] is True


@pytest.mark.parametrize("loss,link,proba", [
    ("hinge", "none", False), ("log_loss", "logistic", True), ("modified_huber", "none", False),
    ("perceptron", "none", False)])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sgd_classifier(cancer, iris, loss, link, proba, n_classes):
    X, y = cancer if n_classes == 2 else iris
    est = make_pipeline(StandardScaler(), SGDClassifier(loss=loss, random_state=0)).fit(X, y)
    model = export_ok(est)
    assert model["estimator"]["link"] == link
    assert model["output"]["probabilities"] is proba
    assert all(("probabilities" in r["expected"]) == proba for r in model["verification"]["rows"])
    if proba:
        check_numeric_reimplementation(model, est)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_ridge_classifier(cancer, iris, n_classes):
    X, y = cancer if n_classes == 2 else iris
    model = export_ok(make_pipeline(StandardScaler(), RidgeClassifier()).fit(X, y))
    assert model["estimator"]["link"] == "none"


@pytest.mark.parametrize("reg", [LinearRegression(), Ridge(alpha=0.5), Lasso(alpha=0.1),
                                 ElasticNet(alpha=0.1), SGDRegressor(random_state=0)],
                         ids=lambda r: type(r).__name__)
def test_linear_regressors(diabetes, reg):
    X, y = diabetes
    est = make_pipeline(StandardScaler(), reg).fit(X, y)
    model = export_ok(est)
    assert model["estimator"]["link"] == "identity"
    assert model["output"] == {"task": "regression"}
    # numeric re-implementation
    Xr = rows_to_X(model, est)
    Xt, _ = transform_to_final(est, Xr)
    mine = Xt @ np.asarray(model["estimator"]["coef"][0]) + model["estimator"]["intercept"][0]
    np.testing.assert_allclose(mine, est.predict(Xr), rtol=1e-12, atol=1e-9)


def test_single_target_2d_y(diabetes):
    X, y = diabetes
    est = LinearRegression().fit(X, y.to_numpy()[:, None])
    model = export_ok(est)
    assert len(model["estimator"]["coef"]) == 1


def test_multi_output_regression_unsupported(diabetes):
    X, y = diabetes
    est = make_pipeline(StandardScaler(), Ridge()).fit(X, np.c_[y, y * 2])
    with pytest.raises(kiln_export.UnsupportedError, match=r"steps\[1\] 'ridge' \(Ridge\): multi-output"):
        kiln_export.export(est)


def test_logistic_newton_cholesky_multiclass(iris):
    # ovr before sklearn 1.6 ("auto" + newton-cholesky), multinomial after; checked numerically
    X, y = iris
    est = make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky", max_iter=500)).fit(X, y)
    model = export_ok(est)
    assert model["estimator"]["link"] == ("logistic" if SK < (1, 6) else "softmax")
    check_numeric_reimplementation(model, est)
