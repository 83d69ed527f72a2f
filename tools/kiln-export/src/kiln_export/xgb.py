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

Categorical splits (``enable_categorical=True``; XGBoost's ``common::Decision``): NaN goes the
``default_left`` way, a category in the node's set (``categories`` of ``categories_nodes``) goes
RIGHT, anything else (unlisted, negative, >= 2^24) left; one-hot splits (``max_cat_to_onehot``)
are one-category sets. Written as ``{"left": [], "right": set}`` with ``unknown_category:
"left"``. The trees see a category's integer code. When the model was fitted on a pandas
category column, XGBoost (3.1 and later) records the column's categories; the exporter then puts
an ``ordinal_encoder`` (those categories in order, missing -> NaN, an unseen value refused) in
front, so a caller sends the category itself (the string, or the number for numeric
categories), as pandas did at fit. Without recorded categories (fitted on codes, or an older
XGBoost) the input is the integer code.

Refused: other objectives, ``gblinear``/``dart`` boosters, vector leaves
(``multi_strategy="multi_output_tree"``), pandas categories on a column computed by an earlier
pipeline step.
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


def _cat_sets(t: dict) -> dict:
    """{node: [categories going right]} for the tree's categorical nodes (split_type 1)."""
    cats = t.get("categories", [])
    return {int(node): [int(c) for c in cats[int(b):int(b) + int(n)]]
            for node, b, n in zip(t.get("categories_nodes", []), t.get("categories_segments", []),
                                  t.get("categories_sizes", []))}


def _tree(t: dict, target: int, frame: Frame, ctx: Context, path, est) -> dict:
    if int(t["tree_param"].get("size_leaf_vector", "1")) > 1:
        raise UnsupportedError(path, type(est).__name__, "vector leaves (multi_strategy='multi_output_tree')",
                               option="multi_strategy")
    left, right = [int(c) for c in t["left_children"]], [int(c) for c in t["right_children"]]
    cond, feat, dleft = t["split_conditions"], t["split_indices"], t["default_left"]
    split_type = [int(s) for s in t.get("split_type", [0] * len(left))]
    cat_sets = _cat_sets(t) if any(split_type) else {}
    feature, threshold, missing, value, categories = [], [], [], [], []
    hints = 0
    for i in range(len(left)):
        categories.append(None)
        if left[i] == -1:
            left[i] = right[i] = -1
            feature.append(-1), threshold.append(0.0), missing.append(0), value.append([num(_f32(cond[i]))])
            continue
        f, thr = int(feat[i]), _f32(cond[i])
        feature.append(f)
        missing.append(1 if int(dleft[i]) else 0)
        value.append([0.0])
        if split_type[i] == 1:
            if i not in cat_sets:
                raise UnsupportedError(path, type(est).__name__, f"categorical node {i} has no category set")
            categories[i] = {"left": [], "right": cat_sets[i]}
            threshold.append(0.0)  # unused by a categorical node
            continue
        if math.isinf(thr) or math.isnan(thr):
            raise UnsupportedError(path, type(est).__name__, f"split condition {thr!r}")
        threshold.append(num(thr))
        if 0 <= f < frame.width and hints < _MAX_THRESHOLD_HINTS:
            ctx.threshold(frame.cols[f], thr)
            hints += 1
    d = {"target": int(target), "children_left": left, "children_right": right, "feature": feature,
         "threshold": threshold, "missing_go_to_left": missing, "value": value}
    if any(c is not None for c in categories):
        d["categories"] = categories
    return d


def _fitted_categories(booster, n_features: int) -> list:
    """Per feature, the pandas categories XGBoost recorded at fit (3.1 and later), else None.

    Read through the C API XGBoost's own ``get_categories(export_to_arrow=True)`` uses, decoded
    with numpy (that method needs pyarrow, which Kiln does not install)."""
    import ctypes
    try:
        from xgboost.core import _LIB, _check_call
        from xgboost._data_utils import from_array_interface
        fn = _LIB.XGBoosterGetCategoriesExportToArrow
    except (ImportError, AttributeError):
        return [None] * n_features
    hdl, ret = ctypes.c_void_p(), ctypes.c_char_p()
    _check_call(fn(booster.handle, None, ctypes.byref(hdl), ctypes.byref(ret)))
    try:
        if ret.value is None:
            return [None] * n_features
        out = []
        for f in json.loads(ret.value.decode()):
            if f is None:
                out.append(None)
            elif "offsets" in f:  # strings: utf-8 bytes cut at int offsets
                offsets = from_array_interface(f["offsets"]).tolist()
                data = bytes(from_array_interface(f["values"]))
                out.append([data[a:b].decode("utf-8") for a, b in zip(offsets, offsets[1:])])
            else:
                out.append([v.item() if hasattr(v, "item") else v for v in from_array_interface(f)])
        return out
    finally:
        if hdl.value:  # no handle when the model has no recorded categories
            _check_call(_LIB.XGBCategoriesFree(hdl))


def pandas_categories(est) -> dict:
    """{input name: fitted categories} of an XGBoost estimator fitted on pandas category columns
    (what predict() needs to rebuild such a column from the values a caller sends)."""
    booster = est.get_booster()
    names = list(getattr(est, "feature_names_in_", []))
    cats = _fitted_categories(booster, booster.num_features())
    return {names[i]: c for i, c in enumerate(cats) if c is not None and i < len(names)}


def _category_step(cats_per_feature: list, frame: Frame, ctx: Context, path, cls: str):
    """A column_transformer coding each recorded pandas category column as XGBoost saw it."""
    entries, run = [], None
    for f, cats in enumerate(cats_per_feature):
        col = frame.cols[f]
        if cats is not None:
            if col.source is None or col.scale != 1.0 or col.offset != 0.0:
                raise UnsupportedError(path, cls, f"feature {f} is a pandas category column computed by an "
                                       "earlier step (only inputs can be category columns)",
                                       option="enable_categorical")
            info = ctx.inputs[col.source]
            info.dtype = "string" if all(isinstance(c, str) for c in cats) else "number"
            info.categories, info.accepts_unknown, info.pandas_categories = list(cats), False, list(cats)
            # null: a missing value codes to NaN (encoded_missing_value), which XGBoost routes
            # the default_left way, as it does pandas' missing category code -1.
            entries.append({"name": f"category_{f}", "columns": [f], "transform": {
                "kind": "ordinal_encoder", "categories": [list(cats) + [None]], "handle_unknown": "error",
                "unknown_value": None, "encoded_missing_value": None}})
            run = None
        elif run is None:
            run = {"name": f"numeric_{f}", "columns": [f], "transform": {"kind": "passthrough"}}
            entries.append(run)
        else:
            run["columns"].append(f)
    return {"kind": "column_transformer", "transformers": entries}


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
         "compare": "lt", "unknown_category": "left", "trees": trees,
         "_min_tolerance": dict(TOLERANCE, relative=min(_MAX_RELATIVE, max(
             TOLERANCE["relative"], _ROUNDING_PER_ROUND * math.ceil(len(trees) / k))))}
    if "c" in (learner.get("feature_types") or []):
        cats = _fitted_categories(booster, n_features)
        if any(c is not None for c in cats):
            d["_transform"] = _category_step(cats, frame, ctx, path, cls)  # api.export appends it
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
