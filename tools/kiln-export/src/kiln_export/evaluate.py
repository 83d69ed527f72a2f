"""A small reference interpreter of the Kiln model format (docs/model-format.md), in Python.

It exists to check the exporter: every exported model is run on its own verification rows
before it is written, so a wrong mapping fails here (with a readable message) rather than
as a refused model in the C++ engine. It is not fast and not meant for serving.
"""
from __future__ import annotations

import bisect
import math
from typing import Any, Dict, List, Optional

import numpy as np

MISSING = None


class EvalError(Exception):
    pass


def _isnan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _f(v) -> float:
    return float("nan") if v is None else float(v)


def _to_frame(model: dict, row: Dict[str, Any]):
    vals, names = [], []
    for inp in model["inputs"]:
        name = inp["name"]
        v = row.get(name)
        if v is None and not inp["nullable"]:
            raise EvalError(f"KILN_INPUT_MISSING: {name}")
        if inp["type"] == "category" and inp.get("dtype") == "string":
            vals.append(None if v is None else str(v))
        else:
            vals.append(_f(v))
        names.append(name)
    return vals, names


def _matches(v, cat) -> bool:
    if cat is None:
        return _isnan(v)
    if _isnan(v):
        return False
    if isinstance(cat, str) or isinstance(v, str):
        return isinstance(cat, str) and isinstance(v, str) and v == cat
    return float(v) == float(cat)


def _index(v, cats) -> Optional[int]:
    for i, c in enumerate(cats):
        if _matches(v, c):
            return i
    return None


def run_step(step: dict, x: list, names: Optional[list]) -> list:
    kind = step["kind"]
    if kind == "passthrough":
        return list(x)
    if kind == "pipeline":
        for s in step["steps"]:
            x = run_step(s, x, names)
            names = None
        return x
    if kind == "column_transformer":
        out = []
        for t in step["transformers"]:
            idx = [names.index(c) if isinstance(c, str) else c for c in t["columns"]]
            sub_names = [names[i] for i in idx] if names is not None else None
            out.extend(run_step(t["transform"], [x[i] for i in idx], sub_names))
        return out
    if kind in ("standard_scaler", "robust_scaler"):
        m = step["mean"] if kind == "standard_scaler" else step["center"]
        s = step["scale"]
        y = []
        for i, v in enumerate(x):
            v = float(v)
            if m is not None:
                v = v - m[i]
            if s is not None:
                v = v / s[i]
            y.append(v)
        return y
    if kind == "min_max_scaler":
        y = []
        for i, v in enumerate(x):
            v = float(v) * step["scale"][i]
            v = v + step["min"][i]
            if step["clip"] is not None and not math.isnan(v):
                v = min(max(v, step["clip"][0]), step["clip"][1])
            y.append(v)
        return y
    if kind == "max_abs_scaler":
        return [float(v) / s for v, s in zip(x, step["scale"])]
    if kind == "normalizer":
        a = np.asarray(x, dtype=np.float64)
        if step["norm"] == "l1":
            n = np.abs(a).sum()
        elif step["norm"] == "l2":
            n = math.sqrt(float(np.einsum("i,i->", a, a)))
        else:
            n = np.abs(a).max()
        return list(a / (n if n != 0 else 1.0))
    if kind == "binarizer":
        return [1.0 if float(v) > step["threshold"] else 0.0 for v in x]
    if kind == "simple_imputer":
        mv = step["missing_value"]

        def missing(v):
            return _isnan(v) if mv is None else (not _isnan(v) and v == mv)
        y = []
        for v, f in zip(x, step["fill"]):
            if f is None:
                continue
            y.append(f if missing(v) else v)
        for j in step.get("indicator", []):
            y.append(1.0 if missing(x[j]) else 0.0)
        return y
    if kind == "one_hot_encoder":
        y = []
        drop = step.get("drop") or [None] * len(x)
        for v, cats, d in zip(x, step["categories"], drop):
            i = _index(v, cats)
            if i is None and step["handle_unknown"] == "error":
                raise EvalError(f"KILN_INPUT_UNKNOWN_CATEGORY: {v!r}")
            for j in range(len(cats)):
                if j != d:
                    y.append(1.0 if i == j else 0.0)
        return y
    if kind == "ordinal_encoder":
        y = []
        for v, cats in zip(x, step["categories"]):
            i = _index(v, cats)
            if i is not None and cats[i] is None:
                y.append(_f(step["encoded_missing_value"]))
            elif i is not None:
                y.append(float(i))
            elif step["handle_unknown"] == "use_encoded_value":
                y.append(_f(step["unknown_value"]))
            else:
                raise EvalError(f"KILN_INPUT_UNKNOWN_CATEGORY: {v!r}")
        return y
    if kind == "kbins_discretizer":
        return _kbins(step, x)
    if kind == "polynomial_features":
        return _poly_terms(step, x)
    if kind == "expressions":
        from .expr import ExprError, compile_expr
        kinds = ["string" if isinstance(v, str) else "unknown" for v in x]
        try:
            fns = [compile_expr(o["expr"], names or [], kinds, names is not None) for o in step["outputs"]]
        except ExprError as e:
            raise EvalError(f"expression refused: {e}")
        return [f.eval(x) for f in fns]
    raise EvalError(f"unknown step kind {kind!r}")


def _kbins(step: dict, x: list) -> list:
    # bin = number of inner edges <= x (np.searchsorted side="right"; NaN after every edge)
    y = []
    for v, edges in zip(x, step["edges"]):
        b = bisect.bisect_right(edges, float(v))
        if step["encode"] == "onehot":
            y.extend(1.0 if k == b else 0.0 for k in range(len(edges) + 1))
        else:
            y.append(float(b))
    return y


def _poly_terms(step: dict, x: list) -> list:
    # sklearn multiplies a term's factors from the highest feature index down
    y = []
    for powers in step["powers"]:
        factors = [j for j in reversed(range(len(powers))) for _ in range(powers[j])]
        v = 1.0
        if factors:
            v = float(x[factors[0]])
            for j in factors[1:]:
                v = v * float(x[j])
        y.append(v)
    return y


def _link(raw: np.ndarray, link: str) -> Optional[np.ndarray]:
    if link in ("identity", "none"):
        return None
    if link == "logistic":
        p = 1.0 / (1.0 + np.exp(-raw))
        if raw.shape[0] == 1:
            return np.array([1.0 - p[0], p[0]])
        return p / p.sum()
    if link == "softmax":
        z = np.array([-raw[0], raw[0]]) if raw.shape[0] == 1 else raw
        e = np.exp(z - z.max())
        return e / e.sum()
    raise EvalError(f"unknown link {link!r}")


def _category_left(cats: dict, v: float, missing_left: bool, unknown: str) -> bool:
    c = int(v) if 0.0 <= v < 4294967296.0 else None  # truncated toward zero
    if c is not None and c in cats["left"]:
        return True
    if c is not None and c in cats["right"]:
        return False
    return missing_left if unknown == "missing" else unknown == "left"


# LightGBM's kZeroThreshold (`const double kZeroThreshold = 1e-35f`): the zero band of a
# zero_as_missing node.
ZERO_BAND = float(np.float32(1e-35))


def _walk(tree: dict, x: list, est: dict) -> list:
    f64 = est.get("threshold_dtype") == "float64"
    lt = est.get("compare") == "lt"
    unknown = est.get("unknown_category") or "missing"
    node = 0
    left, right = tree["children_left"], tree["children_right"]
    mgl = tree.get("missing_go_to_left")
    cats = tree.get("categories")
    zero = tree.get("zero_as_missing")
    while left[node] != -1:
        v = x[tree["feature"][node]]
        missing_left = bool(mgl is not None and mgl[node])
        thr = tree["threshold"][node]
        if math.isnan(v):
            go_left = missing_left
        elif cats is not None and cats[node] is not None:
            go_left = _category_left(cats[node], v, missing_left, unknown)
        else:
            xv = v if f64 else float(np.float32(v))  # widened back exactly: compared with the double
            if zero is not None and zero[node] and -ZERO_BAND <= xv <= ZERO_BAND:
                go_left = missing_left  # LightGBM's missing type Zero
            elif thr is None:
                go_left = True
            else:
                go_left = xv < thr if lt else xv <= thr
        node = left[node] if go_left else right[node]
    return tree["value"][node]


def predict_row(model: dict, row: Dict[str, Any]) -> dict:
    x, names = _to_frame(model, row)
    if model["transform"] is not None:
        x = run_step(model["transform"], x, names)
    est, out = model["estimator"], model["output"]
    if len(x) != est["n_features"]:
        raise EvalError(f"frame width {len(x)} != n_features {est['n_features']}")
    x = [float(v) for v in x]
    res: dict = {}
    if est["kind"] == "linear":
        raw = np.array([sum(c * v for c, v in zip(coef, x)) for coef in est["coef"]]) + np.asarray(est["intercept"])
        if out["task"] == "regression":
            return {"value": float(raw[0])}
        p = _link(raw, est["link"])
        k = 1 if raw.shape[0] == 1 else int(np.argmax(raw))
        label_idx = (1 if raw[0] > 0 else 0) if raw.shape[0] == 1 else k
        res["label"] = out["classes"][label_idx]
        if out.get("probabilities"):
            res["probabilities"] = p.tolist()
        if out.get("decision"):
            res["decision"] = raw.tolist()
        return res
    if est["kind"] == "tree_ensemble":
        if est["aggregate"] == "average":
            acc = np.zeros(est["n_targets"])
            for t in est["trees"]:
                acc = acc + np.asarray(_walk(t, x, est))
            o = acc / len(est["trees"])
            if out["task"] == "regression":
                return {"value": float(o[0])}
            res["label"] = out["classes"][int(np.argmax(o))]
            res["probabilities"] = o.tolist()
            return res
        raw = np.array(est["init"], dtype=np.float64)
        lr = est["learning_rate"]
        for t in est["trees"]:
            raw[t["target"]] += lr * _walk(t, x, est)[0]
        if out["task"] == "regression":
            return {"value": float(raw[0])}
        at_zero = est.get("label_at_zero", 1)
        label_idx = (1 if raw[0] > 0 or (raw[0] == 0 and at_zero == 1) else 0) if raw.shape[0] == 1 \
            else int(np.argmax(raw))
        res["label"] = out["classes"][label_idx]
        if out.get("probabilities"):
            res["probabilities"] = _link(raw, est["link"]).tolist()
        if out.get("decision"):
            res["decision"] = raw.tolist()
        return res
    if est["kind"] in ("naive_bayes", "mlp"):
        raw = _nb_raw(est, x) if est["kind"] == "naive_bayes" else _mlp_raw(est, x)
        if out["task"] == "regression":
            return {"value": float(raw[0])}
        link = "softmax" if est["kind"] == "naive_bayes" else est["link"]
        label_idx = (1 if raw[0] > 0 else 0) if raw.shape[0] == 1 else int(np.argmax(raw))
        res["label"] = out["classes"][label_idx]
        if out.get("probabilities"):
            res["probabilities"] = _link(raw, link).tolist()
        if out.get("decision"):
            res["decision"] = raw.tolist()
        return res
    if est["kind"] == "neighbors":
        o = _knn(est, x)
        if out["task"] == "regression":
            return {"value": float(o[0])}
        res["label"] = out["classes"][int(np.argmax(o))]
        res["probabilities"] = o.tolist()
        return res
    raise EvalError(f"unknown estimator kind {est['kind']!r}")


def _knn(est: dict, x: list) -> np.ndarray:
    """k nearest training rows (ties: lower row first), then sklearn's vote / average."""
    X, q = np.asarray(est["fit_X"], dtype=np.float64), np.asarray(x, dtype=np.float64)
    diff = np.abs(X - q)
    metric = est["metric"]
    if metric == "euclidean":
        dist = np.sqrt(np.sum(diff * diff, axis=1))
    elif metric == "manhattan":
        dist = np.sum(diff, axis=1)
    elif metric == "chebyshev":
        dist = np.max(diff, axis=1)
    else:
        dist = np.sum(diff ** est["p"], axis=1) ** (1.0 / est["p"])
    k = est["n_neighbors"]
    idx = np.argsort(dist, kind="stable")[:k]
    d = dist[idx]
    if est["weights"] == "uniform":
        w = np.ones(k)
    else:
        with np.errstate(divide="ignore"):
            w = 1.0 / d
        if np.isinf(w).any():
            w = np.isinf(w).astype(np.float64)
    y = np.asarray(est["y"])
    if "n_classes" in est:
        p = np.zeros(est["n_classes"])
        for i in range(k):
            p[int(y[idx[i]])] += w[i]
        return p / p.sum()
    return np.array([np.sum(y[idx] * w) / np.sum(w)])


def _nb_raw(est: dict, x: list) -> np.ndarray:
    """Joint log likelihood per class, as sklearn's _joint_log_likelihood."""
    X = np.asarray(x, dtype=np.float64)
    if est["distribution"] == "gaussian":
        theta, var = np.asarray(est["theta"]), np.asarray(est["var"])
        out = []
        for c, prior in enumerate(est["class_prior"]):
            n = -0.5 * np.sum(np.log(2.0 * np.pi * var[c]))
            n = n - 0.5 * np.sum(((X - theta[c]) ** 2) / var[c])
            out.append(np.log(prior) + n)
        return np.array(out)
    flp, clp = np.asarray(est["feature_log_prob"]), np.asarray(est["class_log_prior"])
    if est["distribution"] == "multinomial":
        return flp @ X + clp
    if est.get("binarize") is not None:
        X = (X > est["binarize"]).astype(np.float64)
    neg = np.log(1.0 - np.exp(flp))
    return (flp - neg) @ X + (clp + neg.sum(axis=1))


def _mlp_raw(est: dict, x: list) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    act = {"identity": lambda v: v, "relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh,
           "logistic": lambda v: 1.0 / (1.0 + np.exp(-v))}[est["activation"]]
    layers = est["layers"]
    for i, layer in enumerate(layers):
        a = a @ np.asarray(layer["coef"], dtype=np.float64) + np.asarray(layer["intercept"], dtype=np.float64)
        if i + 1 < len(layers):
            a = act(a)
    return a


def check_model(model: dict) -> List[str]:
    """Replay the verification rows; return a list of drift messages (empty: all good)."""
    tol = model["verification"]["tolerance"]
    a, r = tol["absolute"], tol["relative"]
    problems = []
    for i, row in enumerate(model["verification"]["rows"]):
        try:
            got = predict_row(model, row["input"])
        except EvalError as e:
            problems.append(f"rows[{i}]: {e}")
            continue
        for key, exp in row["expected"].items():
            g = got.get(key)
            if key == "label":
                if g != exp:
                    problems.append(f"rows[{i}].expected.label: computed {g!r}, expected {exp!r}")
                continue
            ev = exp if isinstance(exp, list) else [exp]
            gv = g if isinstance(g, list) else [g]
            if g is None or len(ev) != len(gv):
                problems.append(f"rows[{i}].expected.{key}: computed {g!r}, expected {exp!r}")
                continue
            for j, (x, e) in enumerate(zip(gv, ev)):
                if not (abs(x - e) <= a + r * abs(e)):
                    problems.append(f"rows[{i}].expected.{key}[{j}]: computed {x!r}, expected {e!r}")
    return problems
