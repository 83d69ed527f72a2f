"""HistGradientBoostingClassifier / HistGradientBoostingRegressor -> ``tree_ensemble``
(``aggregate: "boost"``, ``threshold_dtype: "float64"``, categorical splits).

sklearn's predictor (``_predictor.pyx``, ``_predict_one_from_raw_data``) walks float64 X:
NaN -> ``missing_go_to_left``; a categorical node sends a value left when its category is in
the node's ``raw_left_cat_bitsets`` row, right when it is a known category of the feature (the
bin mapper's ``known_cat_bitsets``), and treats anything else (negative, unseen) like a
missing value; a numeric node sends ``x <= num_threshold`` left. Leaf values already include
the learning rate, so ``raw = baseline + v_1 + v_2 + ...`` in iteration order.

From sklearn 1.4 a HistGradientBoosting* with ``categorical_features`` carries its own
``_preprocessor`` (an OrdinalEncoder on the categorical columns, unknown and missing -> NaN,
placed first, then the other columns); it is exported as a transform step before the trees.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .errors import UnsupportedError
from .estimators import EstResult, check_features, classes_json
from .frame import Col, Context, Frame
from .writer import num, nums

_MAX_THRESHOLD_HINTS = 64  # per tree, for the row synthesiser


def _bits(words) -> list:
    """Categories set in a bitset row (uint32 words, bit c % 32 of word c // 32)."""
    w = np.asarray(words, dtype=np.uint32)
    return [int(32 * i + b) for i in range(w.shape[0]) for b in range(32) if (int(w[i]) >> b) & 1]


def _known_categories(est):
    known, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
    return known, np.asarray(f_idx_map)


def _tree(predictor, target: int, known, f_idx_map, frame: Frame, ctx: Context) -> dict:
    nodes = predictor.nodes
    n = nodes.shape[0]
    leaf = nodes["is_leaf"].astype(bool)
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    feature = np.where(leaf, -1, nodes["feature_idx"].astype(np.int64))
    categorical = (~leaf) & nodes["is_categorical"].astype(bool)
    thresholds, categories = [], []
    for i in range(n):
        t = float(nodes["num_threshold"][i])
        if leaf[i] or categorical[i]:
            thresholds.append(0.0)
        elif math.isinf(t) and t > 0:
            thresholds.append(None)  # every non-missing value goes left
        elif math.isfinite(t):
            thresholds.append(num(t))
        else:
            raise UnsupportedError([], "HistGradientBoosting", f"node threshold {t!r}")
        if categorical[i]:
            lefts = _bits(predictor.raw_left_cat_bitsets[int(nodes["bitset_idx"][i])])
            known_f = _bits(known[int(f_idx_map[int(feature[i])])])
            categories.append({"left": lefts, "right": [c for c in known_f if c not in set(lefts)]})
        else:
            categories.append(None)
    d = {"target": int(target), "children_left": left.tolist(), "children_right": right.tolist(),
         "feature": feature.tolist(), "threshold": thresholds,
         "missing_go_to_left": np.where(leaf, 0, nodes["missing_go_to_left"].astype(np.int64)).tolist()}
    if categorical.any():
        d["categories"] = categories
    d["value"] = [[num(v)] for v in nodes["value"].astype(np.float64).tolist()]
    hints = 0
    for i in np.flatnonzero(~leaf):
        f = int(feature[i])
        if not 0 <= f < frame.width:
            continue
        if categorical[i]:
            for c in categories[i]["left"] + categories[i]["right"]:
                ctx.hint(frame.cols[f], float(c))
        elif thresholds[i] is not None and hints < _MAX_THRESHOLD_HINTS:
            ctx.threshold(frame.cols[f], thresholds[i])
            hints += 1
    return d


def _preprocessor(est, frame: Frame, path, ctx: Context):
    """sklearn >= 1.4's internal encoder as a column_transformer step, or (None, frame)."""
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        return None, frame
    from .transforms import ordinal_encoder
    entries, cols = [], []
    for name, trans, spec in pre.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        idx = [i for i, m in enumerate(np.asarray(spec, dtype=bool).tolist()) if m] \
            if np.asarray(spec).dtype == bool else [int(i) for i in np.asarray(spec).ravel()]
        if not idx:
            continue
        sub = Frame([frame.cols[i] for i in idx])
        if name == "encoder":
            step, out = ordinal_encoder(trans, sub, list(path) + ["_preprocessor 'encoder'"], ctx)
        elif name == "numerical":
            step, out = {"kind": "passthrough"}, Frame([c.same() for c in sub.cols])
        else:
            raise UnsupportedError(path, type(est).__name__, f"unexpected internal preprocessor step {name!r}")
        entries.append({"name": str(name), "columns": idx, "transform": step})
        cols.extend(out.cols)
    return {"kind": "column_transformer", "transformers": entries}, Frame(cols)


def _export(est, frame: Frame, path, ctx: Context, classifier: bool) -> EstResult:
    n_features = int(est.n_features_in_)
    check_features(est, frame, n_features, path)
    pre_step, frame = _preprocessor(est, frame, path, ctx)
    link_name = type(est._loss.link).__name__
    if classifier:
        classes = classes_json(est, path)
        k = int(est.n_trees_per_iteration_)
        link = "logistic" if k == 1 else "softmax"
        out = {"task": "classification", "classes": classes, "probabilities": True, "decision": True}
    else:
        if link_name != "IdentityLink":
            raise UnsupportedError(path, type(est).__name__,
                                   f"option loss={est.loss!r} is not supported (its inverse link is "
                                   f"{link_name}; only identity-link losses)", option="loss")
        k, link, out = 1, "identity", {"task": "regression"}
    if est.is_categorical_ is not None and np.any(est.is_categorical_):
        known, f_idx_map = _known_categories(est)
    else:
        known, f_idx_map = None, None
    trees = []
    for iteration in est._predictors:
        if len(iteration) != k:
            raise UnsupportedError(path, type(est).__name__, f"{len(iteration)} trees per iteration, expected {k}")
        for j, predictor in enumerate(iteration):
            trees.append(_tree(predictor, j, known, f_idx_map, frame, ctx))
    if not trees:
        raise UnsupportedError(path, type(est).__name__, "the model has no trees")
    init = np.asarray(est._baseline_prediction, dtype=np.float64).ravel()
    d = {"kind": "tree_ensemble", "n_features": n_features, "aggregate": "boost", "n_targets": k,
         "init": nums(init), "learning_rate": 1.0, "link": link, "threshold_dtype": "float64",
         "unknown_category": "missing", "trees": trees}
    if classifier:
        d["label_at_zero"] = 0  # predict: raw > 0 (1.2: argmax of [1 - p, p])
    if pre_step is not None:
        d["_transform"] = pre_step  # the exporter appends it to the transform (api.export)
    return d, out


classifier = functools.partial(_export, classifier=True)
regressor = functools.partial(_export, classifier=False)


def table():
    from sklearn import ensemble as en
    return {en.HistGradientBoostingClassifier: classifier, en.HistGradientBoostingRegressor: regressor}
