"""Verification rows: synthesis from what the fitted estimator tells, and the expected
answers from the real sklearn estimator."""
from __future__ import annotations

import math
from typing import Dict, List, Optional

import numpy as np

from .errors import ExportError
from .frame import Context, InputInfo
from .inputs import Row, RowBuilder, predicts, quiet
from .writer import num, scalar

UNSEEN = "__kiln_unseen__"
_MAX_POOL = 200


def _finite(vals) -> List[float]:
    out = []
    for v in vals:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def _uniq(vals: list) -> list:
    seen, out = set(), []
    for v in vals:
        key = (type(v) is str, v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def value_pools(names: List[str], kinds: Dict[str, str], ctx: Context, rng) -> Dict[str, list]:
    """Candidate values per input; the first one is the 'base' value."""
    pools = {}
    for i, n in enumerate(names):
        info: InputInfo = ctx.inputs[i]
        if info.categories:
            pools[n] = [c for c in info.categories if c is not None]
            continue
        if kinds[n] == "string":
            pools[n] = ["a"]
            continue
        hints = _uniq(_finite(info.hints))
        th = _uniq(_finite(info.thresholds))
        if len(th) > _MAX_POOL:
            th = [th[j] for j in sorted(rng.choice(len(th), _MAX_POOL, replace=False))]
        near = []
        for t in th:  # at, just below and just above each split point (float32 resolution)
            d = max(abs(t), 1.0) * 1e-6
            near.extend([t, t - d, t + d])
        spread = []
        if hints:  # a few values scattered around what the statistics say
            lo, hi = min(hints), max(hints)
            width = (hi - lo) or max(abs(hi), 1.0)
            spread = [float(round(v, 6)) for v in rng.normal((lo + hi) / 2, width, 4)]
        pool = hints + near + spread
        if not pool:
            pool = [0.0, 1.0, -1.0, 0.5, 2.0]
        elif not hints:
            pool = [float(np.median(th))] + pool
        pools[n] = _uniq(pool)
    return pools


def base_row(names, pools) -> Row:
    return {n: pools[n][0] for n in names}


def synthesize(names: List[str], kinds: Dict[str, str], ctx: Context, pools: Dict[str, list],
               nullable: Dict[str, bool], n_rows: int, rng) -> List[Row]:
    base = base_row(names, pools)
    max_cats = max([len(ctx.inputs[i].categories or []) for i in range(len(names))] + [0])
    total = max(n_rows, max_cats + 1, 1)
    rows: List[Row] = [dict(base)]
    for r in range(1, total):
        row = {}
        for i, n in enumerate(names):
            pool = pools[n]
            if ctx.inputs[i].categories:
                row[n] = pool[(r + i) % len(pool)]
            else:
                row[n] = pool[int(rng.integers(len(pool)))] if r > 1 else pool[min(r, len(pool) - 1)]
        rows.append(row)
    # missing values in nullable inputs
    nulls = [n for n in names if nullable.get(n)]
    if nulls:  # extra rows so that every nullable input is missing somewhere
        extras = max(1, min(len(nulls), max(n_rows // 2, 1)))
        for e in range(extras):
            r = dict(rows[(e * 7 + 1) % len(rows)])
            for n in nulls[e::extras]:
                r[n] = None
            rows.append(r)
        if len(nulls) > 1:
            r = dict(rows[-1])
            for n in nulls:
                r[n] = None
            rows.append(r)
    # unseen categories where every consuming encoder tolerates them
    for i, n in enumerate(names):
        info = ctx.inputs[i]
        if info.categories and info.accepts_unknown:
            r = dict(base)
            if kinds[n] == "string":
                r[n] = UNSEEN
            else:
                r[n] = float(max(_finite(info.categories) or [0.0])) + 1000.0
            rows.append(r)
    return rows


def keep_valid(est, build: RowBuilder, rows: List[Row]) -> List[Row]:
    if predicts(est, build, rows):
        return rows
    if len(rows) == 1:
        return []
    h = len(rows) // 2
    return keep_valid(est, build, rows[:h]) + keep_valid(est, build, rows[h:])


def expected_outputs(est, X, output: dict) -> List[dict]:
    res: List[dict] = []
    if output["task"] == "regression":
        y = np.asarray(quiet(est.predict, X), dtype=np.float64).reshape(-1)
        return [{"value": num(v)} for v in y]
    labels = np.asarray(quiet(est.predict, X), dtype=object).reshape(-1).tolist()
    proba = np.asarray(quiet(est.predict_proba, X), dtype=np.float64) if output["probabilities"] else None
    dec = None
    if output["decision"]:
        dec = np.asarray(quiet(est.decision_function, X), dtype=np.float64)
        if dec.ndim == 1:
            dec = dec[:, None]
    for i, lab in enumerate(labels):
        e = {"label": scalar(lab)}
        if proba is not None:
            e["probabilities"] = [num(v) for v in proba[i]]
        if dec is not None:
            e["decision"] = [num(v) for v in dec[i]]
        res.append(e)
    return res


def json_input(row: Row, names: List[str]) -> dict:
    out = {}
    for n in names:
        v = row[n]
        out[n] = None if v is None else (v if isinstance(v, str) else num(v))
    return out


def check_tolerance(tol) -> Dict[str, float]:
    try:
        a, r = (float(tol[0]), float(tol[1])) if not isinstance(tol, dict) else (
            float(tol["absolute"]), float(tol["relative"]))
    except Exception:
        raise ValueError(f"tolerance must be (absolute, relative), got {tol!r}")
    for v in (a, r):
        if not (0.0 <= v <= 1e-3):
            raise ValueError(f"tolerances must lie in [0, 1e-3], got {tol!r}")
    return {"absolute": a, "relative": r}
