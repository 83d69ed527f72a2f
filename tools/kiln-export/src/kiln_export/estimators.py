"""Final estimators: linear families here, tree families in :mod:`kiln_export.trees`.

Each exporter returns ``(estimator_dict, output_dict)`` per docs/model-format.md.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import numpy as np

from .errors import ExportError, UnsupportedError, unsupported_option
from .frame import Context, Frame
from .writer import nums, scalar

EstResult = Tuple[dict, dict]


def sklearn_version() -> Tuple[int, int]:
    import sklearn
    parts = sklearn.__version__.split(".")
    return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)


def classes_json(est, path) -> list:
    out = []
    for c in np.asarray(est.classes_, dtype=object).ravel().tolist():
        if isinstance(c, (bool, np.bool_)):
            raise UnsupportedError(path, type(est).__name__,
                                   "boolean class labels are not supported (use 0/1 or strings)")
        v = scalar(c)
        if v is None:
            raise UnsupportedError(path, type(est).__name__, "a missing value as a class label")
        out.append(v)
    if len({type(v) is str for v in out}) > 1:
        raise UnsupportedError(path, type(est).__name__, "classes mix strings and numbers")
    if len(out) < 2:
        raise UnsupportedError(path, type(est).__name__, "fewer than two classes")
    return out


def check_features(est, frame: Frame, n: int, path) -> None:
    if n != frame.width:
        raise ExportError(f"{' > '.join(path)} ({type(est).__name__}): expects {n} features, "
                          f"the frame before it has {frame.width} columns")


def _coef2d(est) -> np.ndarray:
    coef = np.asarray(est.coef_, dtype=np.float64)
    if coef.ndim == 1:
        coef = coef[None, :]
    return coef


def _intercept(est, k: int) -> list:
    ic = np.asarray(getattr(est, "intercept_", 0.0), dtype=np.float64).ravel()
    if ic.size == 1 and k > 1:
        ic = np.repeat(ic, k)
    if ic.size != k:
        raise ExportError(f"{type(est).__name__}: intercept_ has {ic.size} entries, coef_ {k} rows")
    return nums(ic)


def logistic_regression_link(est) -> str:
    """The link LogisticRegression.predict_proba uses in the installed sklearn version.

    1.2 .. 1.7: ``ovr = multi_class in ("ovr", "warn") or (multi_class in ("auto",
    "deprecated") and (n_classes <= 2 or solver == "liblinear" [or "newton-cholesky" before
    1.6]))``; ovr -> logistic, else softmax (binary: softmax of [-d, d]).
    1.8+ (no ``multi_class``): binary -> logistic (``_predict_proba_lr``), else softmax.
    The exporter re-checks the choice numerically against predict_proba.
    """
    n = len(est.classes_)
    params = est.get_params(deep=False)
    if "multi_class" not in params:
        return "logistic" if n <= 2 else "softmax"
    mc = params["multi_class"]
    if mc in ("ovr", "warn"):
        return "logistic"
    if mc == "multinomial":
        return "softmax"
    if n <= 2:
        return "logistic"
    ovr_solvers = ("liblinear",) if sklearn_version() >= (1, 6) else ("liblinear", "newton-cholesky")
    return "logistic" if est.solver in ovr_solvers else "softmax"


def _linear_classifier(est, frame, path, link: str, probabilities: bool) -> EstResult:
    lb = getattr(est, "_label_binarizer", None)
    if lb is not None and str(getattr(lb, "y_type_", "")).startswith("multilabel"):
        raise UnsupportedError(path, type(est).__name__, "multi-label classification is not supported")
    classes = classes_json(est, path)
    coef = _coef2d(est)
    k = coef.shape[0]
    expected_k = 1 if len(classes) == 2 else len(classes)
    if k != expected_k:
        raise UnsupportedError(path, type(est).__name__,
                               f"coef_ has {k} rows for {len(classes)} classes")
    check_features(est, frame, coef.shape[1], path)
    d = {"kind": "linear", "n_features": int(coef.shape[1]),
         "coef": [nums(r) for r in coef], "intercept": _intercept(est, k), "link": link}
    out = {"task": "classification", "classes": classes, "probabilities": probabilities,
           "decision": hasattr(est, "decision_function")}
    return d, out


def logistic_regression(est, frame, path, ctx) -> EstResult:
    return _linear_classifier(est, frame, path, logistic_regression_link(est), True)


def sgd_classifier(est, frame, path, ctx) -> EstResult:
    if est.loss in ("log_loss", "log"):
        return _linear_classifier(est, frame, path, "logistic", True)
    # hinge, squared_hinge, perceptron, ...; modified_huber's probabilities are not
    # representable: exported as a plain decision model without probabilities.
    return _linear_classifier(est, frame, path, "none", False)


def margin_classifier(est, frame, path, ctx) -> EstResult:
    return _linear_classifier(est, frame, path, "none", False)


def linear_regressor(est, frame, path, ctx) -> EstResult:
    coef = np.asarray(est.coef_, dtype=np.float64)
    if coef.ndim == 2 and coef.shape[0] != 1:
        raise UnsupportedError(path, type(est).__name__,
                               f"multi-output regression ({coef.shape[0]} targets) is not supported")
    coef = coef.reshape(1, -1)
    check_features(est, frame, coef.shape[1], path)
    d = {"kind": "linear", "n_features": int(coef.shape[1]), "coef": [nums(coef[0])],
         "intercept": _intercept(est, 1), "link": "identity"}
    return d, {"task": "regression"}


_ESTIMATORS: Optional[Dict[type, Callable]] = None


def estimators_table() -> Dict[type, Callable]:
    global _ESTIMATORS
    if _ESTIMATORS is None:
        from sklearn import linear_model as lm, svm
        from . import hist_gb, lgbm, trees
        table = {
            lm.LogisticRegression: logistic_regression,
            lm.LogisticRegressionCV: logistic_regression,
            lm.SGDClassifier: sgd_classifier,
            svm.LinearSVC: margin_classifier,
            lm.RidgeClassifier: margin_classifier,
            lm.RidgeClassifierCV: margin_classifier,
            lm.Perceptron: margin_classifier,
            lm.LinearRegression: linear_regressor,
            lm.Ridge: linear_regressor,
            lm.RidgeCV: linear_regressor,
            lm.Lasso: linear_regressor,
            lm.LassoCV: linear_regressor,
            lm.ElasticNet: linear_regressor,
            lm.ElasticNetCV: linear_regressor,
            lm.SGDRegressor: linear_regressor,
            lm.HuberRegressor: linear_regressor,
            lm.BayesianRidge: linear_regressor,
            svm.LinearSVR: linear_regressor,
        }
        table.update(trees.table())
        table.update(hist_gb.table())
        table.update(lgbm.table())
        from . import xgb
        table.update(xgb.table())  # XGBoost (when installed)
        from . import naive_bayes, neighbors, neural
        table.update(naive_bayes.table())
        table.update(neural.table())
        table.update(neighbors.table())
        _ESTIMATORS = table
    return _ESTIMATORS


def export_estimator(est, frame: Frame, path, ctx: Context) -> EstResult:
    table = estimators_table()
    fn = table.get(type(est))
    if fn is None:
        raise UnsupportedError(path, type(est).__name__,
                               "estimator is not supported by Kiln (supported: "
                               + ", ".join(sorted(k.__name__ for k in table)) + ")")
    return fn(est, frame, path, ctx)
