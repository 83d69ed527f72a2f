"""Naive Bayes estimators -> the ``naive_bayes`` estimator kind (docs/model-format.md)."""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from .errors import UnsupportedError
from .estimators import EstResult, check_features, classes_json
from .writer import nums


def _out(est, path) -> dict:
    return {"task": "classification", "classes": classes_json(est, path), "probabilities": True,
            "decision": False}


def _rows(a) -> list:
    return [nums(r) for r in np.asarray(a, dtype=np.float64)]


def gaussian_nb(est, frame, path, ctx) -> EstResult:
    theta = np.asarray(est.theta_, dtype=np.float64)
    var = np.asarray(est.var_ if hasattr(est, "var_") else est.sigma_, dtype=np.float64)
    check_features(est, frame, theta.shape[1], path)
    prior = np.asarray(est.class_prior_, dtype=np.float64)
    if np.any(prior <= 0):
        raise UnsupportedError(path, "GaussianNB", "a class prior of 0 (log prior is -inf)", option="priors")
    for j, c in enumerate(frame.cols):  # rows around each class mean
        for k in range(theta.shape[0]):
            ctx.hint(c, theta[k, j])
            ctx.hint(c, theta[k, j] + np.sqrt(var[k, j]))
    d = {"kind": "naive_bayes", "distribution": "gaussian", "n_features": int(theta.shape[1]),
         "class_prior": nums(prior), "theta": _rows(theta), "var": _rows(var)}
    return d, _out(est, path)


def _discrete(est, frame, path, distribution: str) -> dict:
    flp = np.asarray(est.feature_log_prob_, dtype=np.float64)
    check_features(est, frame, flp.shape[1], path)
    clp = np.asarray(est.class_log_prior_, dtype=np.float64)
    if not np.all(np.isfinite(flp)) or not np.all(np.isfinite(clp)):
        raise UnsupportedError(path, type(est).__name__,
                               "a probability of 0 (infinite log probability); fit with alpha > 0",
                               option="alpha")
    return {"kind": "naive_bayes", "distribution": distribution, "n_features": int(flp.shape[1]),
            "class_log_prior": nums(clp), "feature_log_prob": _rows(flp)}


def multinomial_nb(est, frame, path, ctx) -> EstResult:
    return _discrete(est, frame, path, "multinomial"), _out(est, path)


def bernoulli_nb(est, frame, path, ctx) -> EstResult:
    d = _discrete(est, frame, path, "bernoulli")
    if np.any(np.asarray(est.feature_log_prob_) >= 0):
        raise UnsupportedError(path, "BernoulliNB",
                               "a feature probability >= 1 (log(1 - p) is not finite; sklearn's own "
                               "answers are NaN): fit on 0/1 features or set binarize", option="binarize")
    d["binarize"] = None if est.binarize is None else float(est.binarize)
    if est.binarize is not None:
        for c in frame.cols:
            ctx.hint(c, est.binarize)
            ctx.hint(c, float(est.binarize) + 1.0)
    return d, _out(est, path)


def table() -> Dict[type, Callable]:
    from sklearn import naive_bayes as nb
    return {nb.GaussianNB: gaussian_nb, nb.MultinomialNB: multinomial_nb, nb.BernoulliNB: bernoulli_nb}
