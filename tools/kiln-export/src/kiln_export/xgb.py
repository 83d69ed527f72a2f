"""XGBoost's XGBClassifier / XGBRegressor -> ``tree_ensemble`` (``aggregate: "boost"``,
``threshold_dtype: "float32"``, ``compare: "lt"``), read from the booster's JSON
(``save_raw("json")``, the same document as ``save_model("m.json")``).

XGBoost reads every input as float32 and walks ``x < split_condition`` (both float32) to the
left, a NaN the ``default_left`` way. Leaf values (in ``split_conditions`` at leaves) already
include the learning rate; tree ``i`` adds to output group ``tree_info[i]``. The intercept
``learner_model_param.base_score`` is stored in output space (a vector since 3.x, one entry per
output group): for ``binary:logistic`` the margin is ``logit(base_score)``; for
``multi:softprob`` and ``reg:squarederror`` it is already the margin.

XGBoost sums the leaves and applies the link in float32; Kiln does it in float64, so outputs
agree to a few float32 roundings (about 1e-7 relative), not bit for bit: the exporter raises
the verification tolerance to at least ``TOLERANCE`` (more relative slack for many rounds).

Refused: categorical splits, other objectives, ``gblinear``/``dart`` boosters, vector leaves
(``multi_strategy="multi_output_tree"``).
"""
from __future__ import annotations

import functools
import json
import math

import numpy as np

from .errors import UnsupportedError
from .estimators import EstResult, check_features, classes_json
from .frame import Context, Frame
from .writer import num

# |kiln - xgboost| <= absolute + relative * |xgboost|: XGBoost accumulates in float32, Kiln in
# float64; a regression value of 150 is only known to ~1e-5 absolute in float32. Measured on the
# parity cases (60 rounds): probabilities <= 1e-7 absolute, regression values <= 7.7e-7 relative.
TOLERANCE = {"absolute": 1e-6, "relative": 1e-6}
# Each float32 addition may round by half an ulp (2^-24 relative): the relative floor grows with
# the number of rounds summed, capped well inside the format's 1e-3 limit.
_ROUNDING_PER_ROUND = 2.0 ** -24
_MAX_RELATIVE = 1e-4
_MAX_THRESHOLD_HINTS = 64  # per tree, for the row synthesiser
_OBJECTIVES = {"binary:logistic": "logistic", "multi:softprob": "softmax", "reg:squarederror": "identity"}


def _f32(s) -> float:
    return float(np.float32(float(s)))


def _base_score(param: dict) -> list:
    s = str(param["base_score"]).strip()
    vals = [v for v in s.strip("[]").split(",") if v.strip() != ""]
    return [_f32(v) for v in vals]


def _tree(t: dict, target: int, frame: Frame, ctx: Context, path, est) -> dict:
    if int(t["tree_param"].get("size_leaf_vector", "1")) > 1:
        raise UnsupportedError(path, type(est).__name__, "vector leaves (multi_strategy='multi_output_tree')",
                               option="multi_strategy")
    if any(int(s) != 0 for s in t.get("split_type", [])):
        raise UnsupportedError(path, type(est).__name__, "categorical splits (enable_categorical=True) are "
                               "not supported yet", option="enable_categorical")
    left, right = [int(c) for c in t["left_children"]], [int(c) for c in t["right_children"]]
    cond, feat, dleft = t["split_conditions"], t["split_indices"], t["default_left"]
    feature, threshold, missing, value = [], [], [], []
    hints = 0
    for i in range(len(left)):
        if left[i] == -1:
            left[i] = right[i] = -1
            feature.append(-1), threshold.append(0.0), missing.append(0), value.append([num(_f32(cond[i]))])
            continue
        f, thr = int(feat[i]), _f32(cond[i])
        feature.append(f)
        missing.append(1 if int(dleft[i]) else 0)
        value.append([0.0])
        if math.isinf(thr) or math.isnan(thr):
            raise UnsupportedError(path, type(est).__name__, f"split condition {thr!r}")
        threshold.append(num(thr))
        if 0 <= f < frame.width and hints < _MAX_THRESHOLD_HINTS:
            ctx.threshold(frame.cols[f], thr)
            hints += 1
    return {"target": int(target), "children_left": left, "children_right": right, "feature": feature,
            "threshold": threshold, "missing_go_to_left": missing, "value": value}


def _export(est, frame: Frame, path, ctx: Context, classifier: bool) -> EstResult:
    booster = est.get_booster()
    learner = json.loads(bytes(booster.save_raw("json")))["learner"]
    cls = type(est).__name__
    gb = learner["gradient_booster"]
    if gb.get("name") != "gbtree":
        raise UnsupportedError(path, cls, f"booster {gb.get('name')!r} (only gbtree)", option="booster")
    obj = learner["objective"]["name"]
    link = _OBJECTIVES.get(obj)
    if link is None or (link == "identity") == classifier:
        raise UnsupportedError(path, cls, f"objective {obj!r} is not supported ({', '.join(_OBJECTIVES)} are)",
                               option="objective")
    param = learner["learner_model_param"]
    n_features = int(param["num_feature"])
    check_features(est, frame, n_features, path)
    model = gb["model"]
    k = max(1, int(param.get("num_class", "0")))
    base = _base_score(param)
    if len(base) == 1 and k > 1:
        base = base * k
    if len(base) != k:
        raise UnsupportedError(path, cls, f"base_score has {len(base)} entries for {k} output groups")
    if link == "logistic":
        base = [math.log(b / (1.0 - b)) for b in base]
    n_trees = len(model["trees"])
    best = getattr(est, "best_iteration", None) if hasattr(est, "best_iteration") else None
    indptr = model.get("iteration_indptr")
    if best is not None and indptr:  # what predict() uses after early stopping
        n_trees = int(indptr[int(best) + 1])
    info = model["tree_info"]
    trees = [_tree(model["trees"][i], int(info[i]), frame, ctx, path, est) for i in range(n_trees)]
    if not trees:
        raise UnsupportedError(path, cls, "the model has no trees")
    d = {"kind": "tree_ensemble", "n_features": n_features, "aggregate": "boost", "n_targets": k,
         "init": [num(b) for b in base], "learning_rate": 1.0, "link": link, "threshold_dtype": "float32",
         "compare": "lt", "trees": trees,
         "_min_tolerance": dict(TOLERANCE, relative=min(_MAX_RELATIVE, max(
             TOLERANCE["relative"], _ROUNDING_PER_ROUND * math.ceil(len(trees) / k))))}
    if classifier:
        d["label_at_zero"] = 0  # predict: probability > 0.5
        out = {"task": "classification", "classes": classes_json(est, path), "probabilities": True,
               "decision": False}
    else:
        out = {"task": "regression"}
    return d, out


def table():
    """{class: exporter} for the installed xgboost (empty without it)."""
    try:
        from xgboost import XGBClassifier, XGBRegressor
    except ImportError:
        return {}
    return {XGBClassifier: functools.partial(_export, classifier=True),
            XGBRegressor: functools.partial(_export, classifier=False)}
