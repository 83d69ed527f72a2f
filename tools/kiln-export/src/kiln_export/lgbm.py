"""LightGBM's LGBMClassifier / LGBMRegressor -> ``tree_ensemble`` (``aggregate: "boost"``,
``threshold_dtype: "float64"``, categorical splits), read from ``booster_.dump_model()``.

LightGBM's ``Tree::NumericalDecision`` (include/LightGBM/tree.h) on float64 X: missing type
``NaN``: NaN goes the ``default_left`` way; ``None``: NaN is read as 0.0 and compared (so the
NaN direction is ``0 <= threshold``, fixed per node here); ``Zero`` (``zero_as_missing=True``):
NaN is read as 0.0, and a value with ``|x| <= kZeroThreshold`` (float32 1e-35) goes the
``default_left`` way (the node's ``zero_as_missing`` flag); then ``x <= threshold`` goes left.
``CategoricalDecision``: NaN and negative values go right, a category in the node's list goes
left, any other right (``unknown_category: "right"``). Leaf values include the shrinkage and
the first tree the initial score, so ``raw = 0 + v_1 + v_2 + ...`` in tree order; tree ``i``
adds to class ``i % num_tree_per_iteration``.

Refused: linear trees, random-forest mode
(``average_output``), and objectives whose output transform is not identity / sigmoid(1) /
softmax.
"""
from __future__ import annotations

import functools
import math

from .errors import UnsupportedError
from .estimators import EstResult, check_features, classes_json
from .frame import Context, Frame
from .writer import num

_MAX_THRESHOLD_HINTS = 64  # per tree, for the row synthesiser


def _objective(dump: dict, classifier: bool, path, est):
    """-> (link, n_targets) for the model's objective string."""
    words = str(dump.get("objective", "")).split()
    name = words[0] if words else ""
    params = dict(w.split(":", 1) for w in words[1:] if ":" in w)
    k = int(dump["num_tree_per_iteration"])
    if classifier and name == "binary":
        if float(params.get("sigmoid", "1")) != 1.0:
            raise UnsupportedError(path, type(est).__name__, f"objective {dump['objective']!r}: only sigmoid:1")
        return "logistic", 1
    if classifier and name in ("multiclass", "softmax"):
        return "softmax", k
    if not classifier and name in ("regression", "regression_l2", "l2", "mean_squared_error", "mse",
                                   "regression_l1", "l1", "mean_absolute_error", "mae", "huber",
                                   "fair", "quantile", "mape"):
        return "identity", 1
    raise UnsupportedError(path, type(est).__name__,
                           f"objective {dump.get('objective')!r} is not supported (binary, multiclass and "
                           "identity-output regression objectives are)", option="objective")


def _tree(info: dict, target: int, frame: Frame, ctx: Context, path, est, zero_features: set) -> dict:
    if info.get("is_linear"):
        raise UnsupportedError(path, type(est).__name__, "linear trees (linear_tree=True) are not supported",
                               option="linear_tree")
    left, right, feature, threshold, missing, zero, categories, value = [], [], [], [], [], [], [], []
    hints = [0]

    def add(node) -> int:
        i = len(left)
        for arr in (left, right, feature, threshold, missing, categories):
            arr.append(None)
        zero.append(0)
        value.append([0.0])
        if "leaf_value" in node or "split_feature" not in node:
            left[i], right[i], feature[i], threshold[i], missing[i] = -1, -1, -1, 0.0, 0
            value[i] = [num(float(node.get("leaf_value", 0.0)))]
            return i
        f = int(node["split_feature"])
        feature[i] = f
        if node["decision_type"] == "==":
            cats = sorted({int(c) for c in str(node["threshold"]).split("||") if c != ""})
            categories[i] = {"left": cats, "right": []}
            threshold[i], missing[i] = 0.0, 0  # NaN and unlisted categories go right
            for c in cats:
                if 0 <= f < frame.width:
                    ctx.hint(frame.cols[f], float(c))
        elif node["decision_type"] == "<=":
            t = float(node["threshold"])
            if not math.isfinite(t) and t != math.inf:  # +inf: missing values vs all others
                raise UnsupportedError(path, type(est).__name__, f"threshold {t!r}")
            mt = node.get("missing_type", "None")
            if mt == "NaN":
                missing[i] = 1 if node.get("default_left") else 0
            elif mt == "None":
                missing[i] = 1 if 0.0 <= t else 0  # NaN is read as 0.0
            elif mt == "Zero":  # NaN is read as 0.0; the zero band goes the default way
                missing[i] = 1 if node.get("default_left") else 0
                zero[i] = 1
                zero_features.add(f)
            else:
                raise UnsupportedError(path, type(est).__name__, f"missing type {mt!r} is not supported")
            threshold[i] = num(t) if math.isfinite(t) else None  # null: +inf
            if math.isfinite(t) and 0 <= f < frame.width and hints[0] < _MAX_THRESHOLD_HINTS:
                ctx.threshold(frame.cols[f], t)
                hints[0] += 1
        else:
            raise UnsupportedError(path, type(est).__name__, f"decision type {node['decision_type']!r}")
        left[i] = add(node["left_child"])
        right[i] = add(node["right_child"])
        return i

    # Iterative depth would be nicer; LightGBM trees are at most num_leaves deep (default 31).
    add(info["tree_structure"])
    d = {"target": int(target), "children_left": left, "children_right": right, "feature": feature,
         "threshold": threshold, "missing_go_to_left": missing}
    if any(zero):
        d["zero_as_missing"] = zero
    if any(c is not None for c in categories):
        d["categories"] = categories
    d["value"] = value
    return d


def _export(est, frame: Frame, path, ctx: Context, classifier: bool) -> EstResult:
    booster = est.booster_
    best = getattr(est, "best_iteration_", None)
    dump = booster.dump_model(num_iteration=best if best else None)  # what predict() uses
    n_features = int(dump["max_feature_idx"]) + 1
    check_features(est, frame, n_features, path)
    if dump.get("average_output"):
        raise UnsupportedError(path, type(est).__name__, "random-forest mode (boosting='rf') is not supported",
                               option="boosting")
    link, k = _objective(dump, classifier, path, est)
    zero_features: set = set()  # features of Zero-type splits
    trees = [_tree(info, i % k, frame, ctx, path, est, zero_features) for i, info in enumerate(dump["tree_info"])]
    for f in sorted(zero_features):
        if 0 <= f < frame.width:
            ctx.hint(frame.cols[f], 0.0)  # some verification rows then take the zero way
    if not trees:
        raise UnsupportedError(path, type(est).__name__, "the model has no trees")
    d = {"kind": "tree_ensemble", "n_features": n_features, "aggregate": "boost", "n_targets": k,
         "init": [0.0] * k, "learning_rate": 1.0, "link": link, "threshold_dtype": "float64",
         "unknown_category": "right", "trees": trees}
    if classifier:
        d["label_at_zero"] = 0  # predict: argmax of [1 - p, p]
        out = {"task": "classification", "classes": classes_json(est, path), "probabilities": True,
               "decision": hasattr(est, "decision_function")}  # raw scores, LightGBM >= 4.7
    else:
        out = {"task": "regression"}
    return d, out


classifier = functools.partial(_export, classifier=True)
regressor = functools.partial(_export, classifier=False)


def table():
    try:
        import lightgbm
    except ImportError:
        return {}
    return {lightgbm.LGBMClassifier: classifier, lightgbm.LGBMRegressor: regressor}
