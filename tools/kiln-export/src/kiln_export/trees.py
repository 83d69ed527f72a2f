"""Tree ensembles: DecisionTree*, ExtraTree*, RandomForest*, ExtraTrees* (``average``) and
GradientBoosting* (``boost``)."""
from __future__ import annotations

import math
import warnings
from typing import Callable, Dict

import numpy as np

from .errors import ExportError, UnsupportedError, unsupported_option
from .estimators import EstResult, check_features, classes_json
from .frame import Context, Frame
from .writer import num, nums

_MAX_THRESHOLD_HINTS = 64  # per tree, for the row synthesiser


def _thresholds(threshold: np.ndarray) -> list:
    """Thresholds as JSON; +inf (sklearn's split of missing values from all others) is null."""
    if np.any(np.isneginf(threshold)) or np.any(np.isnan(threshold)):
        raise ExportError("tree threshold is NaN or -inf; the tree is not a valid sklearn tree")
    return [None if math.isinf(t) else num(t) for t in threshold.tolist()]


def tree_json(tree, target: int, values: np.ndarray, frame: Frame, ctx: Context) -> dict:
    """One sklearn ``tree_`` as a Kiln tree; ``values`` is (n_nodes, n_targets)."""
    left = np.asarray(tree.children_left, dtype=np.int64)
    right = np.asarray(tree.children_right, dtype=np.int64)
    leaf = left == -1
    feature = np.where(leaf, -1, np.asarray(tree.feature, dtype=np.int64))
    threshold = np.where(leaf, 0.0, np.asarray(tree.threshold, dtype=np.float64))
    d = {"target": int(target),
         "children_left": left.tolist(), "children_right": right.tolist(),
         "feature": feature.tolist(), "threshold": _thresholds(threshold)}
    mgl = getattr(tree, "missing_go_to_left", None)
    if mgl is not None:
        d["missing_go_to_left"] = np.where(leaf, 0, np.asarray(mgl, dtype=np.int64)).tolist()
    d["value"] = [nums(r) for r in np.asarray(values, dtype=np.float64)]
    # remember split points for the row synthesiser
    internal = np.flatnonzero(~leaf)[:_MAX_THRESHOLD_HINTS]
    for i in internal:
        f = int(feature[i])
        if 0 <= f < frame.width and math.isfinite(threshold[i]):
            ctx.threshold(frame.cols[f], threshold[i])
    return d


def _check_single_output(est, path) -> None:
    if getattr(est, "n_outputs_", 1) != 1:
        raise UnsupportedError(path, type(est).__name__,
                               f"multi-output ({est.n_outputs_} targets) is not supported")


def _members(est):
    return [est] if not hasattr(est, "estimators_") else list(est.estimators_)


def _average(est, n_targets: int, trees: list) -> dict:
    # init / learning_rate / link are not read for "average" (out = (0 + v_1 + ... + v_T) / T);
    # they are written with neutral values so the step has the same keys as "boost".
    return {"kind": "tree_ensemble", "n_features": int(est.n_features_in_), "aggregate": "average",
            "n_targets": n_targets, "init": [0.0] * n_targets, "learning_rate": 1.0,
            "link": "identity", "trees": trees}


def average_classifier(est, frame, path, ctx) -> EstResult:
    _check_single_output(est, path)
    classes = classes_json(est, path)
    check_features(est, frame, int(est.n_features_in_), path)
    trees = []
    for m in _members(est):
        v = np.array(m.tree_.value[:, 0, : len(classes)], dtype=np.float64)
        norm = v.sum(axis=1)[:, np.newaxis]
        norm[norm == 0.0] = 1.0
        v /= norm  # exactly DecisionTreeClassifier.predict_proba's normalisation
        trees.append(tree_json(m.tree_, 0, v, frame, ctx))
    d = _average(est, len(classes), trees)
    out = {"task": "classification", "classes": classes, "probabilities": True,
           "decision": hasattr(est, "decision_function")}
    return d, out


def average_regressor(est, frame, path, ctx) -> EstResult:
    _check_single_output(est, path)
    check_features(est, frame, int(est.n_features_in_), path)
    trees = [tree_json(m.tree_, 0, np.asarray(m.tree_.value[:, 0, :1], dtype=np.float64), frame, ctx)
             for m in _members(est)]
    d = _average(est, 1, trees)
    return d, {"task": "regression"}


def _boost(est, frame, path, ctx, classifier: bool) -> EstResult:
    if est.init is not None and not (isinstance(est.init, str) and est.init == "zero"):
        raise UnsupportedError(path, type(est).__name__,
                               f"option init={type(est.init).__name__} is not supported (only the "
                               "default prior or 'zero')", option="init")
    loss = est.loss
    if classifier and loss == "exponential":
        raise unsupported_option(path, est, "loss", loss)
    n_features = int(est.n_features_in_)
    check_features(est, frame, n_features, path)
    stages = np.asarray(est.estimators_, dtype=object)
    k = stages.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init = np.asarray(est._raw_predict_init(np.zeros((1, n_features))), dtype=np.float64)[0]
    if init.shape[0] != k:
        raise UnsupportedError(path, type(est).__name__, f"init has {init.shape[0]} values for {k} trees per stage")
    trees = []
    for i in range(stages.shape[0]):
        for j in range(k):
            t = stages[i, j].tree_
            trees.append(tree_json(t, j, np.asarray(t.value[:, 0, :1], dtype=np.float64), frame, ctx))
    if classifier:
        classes = classes_json(est, path)
        link = "logistic" if k == 1 else "softmax"
        out = {"task": "classification", "classes": classes,
               "probabilities": hasattr(est, "predict_proba"), "decision": True}
    else:
        link = "identity"
        out = {"task": "regression"}
    d = {"kind": "tree_ensemble", "n_features": n_features, "aggregate": "boost", "n_targets": k,
         "init": nums(init), "learning_rate": float(est.learning_rate), "link": link, "trees": trees}
    return d, out


def gb_classifier(est, frame, path, ctx) -> EstResult:
    return _boost(est, frame, path, ctx, True)


def gb_regressor(est, frame, path, ctx) -> EstResult:
    return _boost(est, frame, path, ctx, False)


def table() -> Dict[type, Callable]:
    from sklearn import ensemble as en, tree as tr
    return {
        tr.DecisionTreeClassifier: average_classifier,
        tr.ExtraTreeClassifier: average_classifier,
        en.RandomForestClassifier: average_classifier,
        en.ExtraTreesClassifier: average_classifier,
        tr.DecisionTreeRegressor: average_regressor,
        tr.ExtraTreeRegressor: average_regressor,
        en.RandomForestRegressor: average_regressor,
        en.ExtraTreesRegressor: average_regressor,
        en.GradientBoostingClassifier: gb_classifier,
        en.GradientBoostingRegressor: gb_regressor,
    }
