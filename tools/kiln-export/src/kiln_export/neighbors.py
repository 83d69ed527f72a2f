"""KNeighborsClassifier / KNeighborsRegressor -> the ``neighbors`` estimator kind
(docs/model-format.md). The training rows (``_fit_X``) and their targets go into the model."""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from .errors import UnsupportedError
from .estimators import EstResult, check_features, classes_json
from .writer import nums

# sklearn's metric names (after fit: effective_metric_) -> the format's.
_METRICS = {"euclidean": "euclidean", "l2": "euclidean", "manhattan": "manhattan", "l1": "manhattan",
            "cityblock": "manhattan", "chebyshev": "chebyshev", "infinity": "chebyshev",
            "minkowski": "minkowski"}


def _common(est, frame, path) -> dict:
    cls = type(est).__name__
    if callable(est.weights) or est.weights not in ("uniform", "distance", None):
        raise UnsupportedError(path, cls, "callable weights are not supported (use 'uniform' or 'distance')",
                               option="weights")
    if callable(est.metric) or callable(getattr(est, "effective_metric_", None)):
        raise UnsupportedError(path, cls, "a callable metric is not supported", option="metric")
    if est.metric == "precomputed":
        raise UnsupportedError(path, cls, "metric='precomputed' is not supported (the model needs the "
                               "training rows to measure distances)", option="metric")
    metric = _METRICS.get(est.effective_metric_)
    if metric is None:
        raise UnsupportedError(path, cls, f"metric {est.effective_metric_!r} is not supported (supported: "
                               "euclidean, manhattan, chebyshev, minkowski)", option="metric")
    params = dict(getattr(est, "effective_metric_params_", None) or {})
    if params.get("w") is not None:
        raise UnsupportedError(path, cls, "a weighted minkowski metric (metric_params w) is not supported",
                               option="metric_params")
    params.pop("w", None)
    p = params.pop("p", None)
    if params:
        raise UnsupportedError(path, cls, f"metric_params {sorted(params)} are not supported",
                               option="metric_params")
    fit_x = est._fit_X
    try:
        import scipy.sparse as sp
        sparse = sp.issparse(fit_x)
    except ImportError:  # pragma: no cover
        sparse = False
    if sparse:
        raise UnsupportedError(path, cls, "a model fit on sparse data is not supported (fit on a dense array)")
    fit_x = np.asarray(fit_x)
    if fit_x.dtype != np.float64 and est._fit_method == "brute":
        # brute force measures float32 data in float32 (ArgKmin32); the engine measures in float64
        raise UnsupportedError(path, cls, f"algorithm='brute' on {fit_x.dtype} data is not supported "
                               "(fit on float64 data)")
    fit_x = fit_x.astype(np.float64)
    if getattr(est, "outputs_2d_", False):
        raise UnsupportedError(path, cls, "multi-output targets are not supported")
    check_features(est, frame, fit_x.shape[1], path)
    d = {"kind": "neighbors", "n_features": int(fit_x.shape[1]), "n_neighbors": int(est.n_neighbors),
         "weights": "distance" if est.weights == "distance" else "uniform", "metric": metric}
    if metric == "minkowski":
        p = float(2.0 if p is None else p)
        if not p >= 1.0 or not np.isfinite(p):
            raise UnsupportedError(path, cls, f"minkowski p={p} is not supported (p must be finite and >= 1)",
                                   option="p")
        d["p"] = p
    d["fit_X"] = [nums(r) for r in fit_x]
    return d


def _hints(fit_x: np.ndarray, frame, ctx) -> None:
    # Verification rows around the bulk of the data, not on a training row: for a query equal to a
    # training row sklearn's brute-force rounding decides 'distance' weights (docs/supported-estimators.md).
    mean, std = fit_x.mean(axis=0), fit_x.std(axis=0)
    for j, c in enumerate(frame.cols):
        ctx.hint(c, mean[j] + 0.37 * std[j])
        ctx.hint(c, mean[j] - 0.61 * std[j])


def kneighbors_classifier(est, frame, path, ctx) -> EstResult:
    d = _common(est, frame, path)
    classes = classes_json(est, path)
    y = np.asarray(est._y).ravel()
    d["n_classes"] = len(classes)
    d["y"] = [int(v) for v in y]
    _hints(np.asarray(est._fit_X, dtype=np.float64), frame, ctx)
    out = {"task": "classification", "classes": classes, "probabilities": True, "decision": False}
    return d, out


def kneighbors_regressor(est, frame, path, ctx) -> EstResult:
    d = _common(est, frame, path)
    y = np.asarray(est._y, dtype=np.float64)
    if y.ndim != 1:
        raise UnsupportedError(path, "KNeighborsRegressor", "multi-output targets are not supported")
    d["y"] = nums(y)
    _hints(np.asarray(est._fit_X, dtype=np.float64), frame, ctx)
    return d, {"task": "regression"}


def table() -> Dict[type, Callable]:
    from sklearn import neighbors
    return {neighbors.KNeighborsClassifier: kneighbors_classifier,
            neighbors.KNeighborsRegressor: kneighbors_regressor}
