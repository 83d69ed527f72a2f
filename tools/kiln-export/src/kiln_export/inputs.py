"""Inputs: names, types, row handling and the nullability probe.

Rows are handled internally as ``{input name: value}`` dicts where a missing value is
``None`` and numbers are Python floats/ints. :func:`make_X` turns such rows into what the
fitted estimator expects (a DataFrame when it was fitted on one, else a 2-D array).
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import ExportError
from .frame import InputInfo
from .writer import is_missing, scalar

Row = Dict[str, Any]


def n_features_of(est) -> Optional[int]:
    n = getattr(est, "n_features_in_", None)
    if n is not None:
        return int(n)
    steps = getattr(est, "steps", None)
    if steps:
        for _, s in steps:
            if s is not None and not isinstance(s, str):
                return n_features_of(s)
    return None


def input_names(est, feature_names: Optional[Sequence[str]]) -> Tuple[List[str], bool]:
    """-> (names, fitted_with_names)."""
    fitted = getattr(est, "feature_names_in_", None)
    n = n_features_of(est)
    if fitted is not None:
        fitted = [str(x) for x in fitted]
        if feature_names is not None and list(feature_names) != fitted:
            raise ValueError(f"feature_names {list(feature_names)} differ from the names the "
                             f"estimator was fitted with {fitted}")
        names = fitted
    elif feature_names is not None:
        names = [str(x) for x in feature_names]
        if n is not None and len(names) != n:
            raise ValueError(f"{len(names)} feature_names given, the estimator expects {n} features")
    else:
        if n is None:
            raise ExportError("cannot tell how many features the estimator expects "
                              "(no n_features_in_); pass feature_names")
        names = [f"x{i}" for i in range(n)]
    if len(set(names)) != len(names):
        raise ExportError(f"input names are not unique: {names}")
    if not names:
        raise ExportError("the estimator has no inputs")
    return names, fitted is not None


def _py(v: Any):
    if is_missing(v):
        return None
    if isinstance(v, (str, np.str_)):
        return str(v)
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return scalar(v)


def normalize_rows(rows, names: List[str]) -> Tuple[List[Row], Dict[str, str]]:
    """User rows (DataFrame, list of dicts, 2-D array) -> (rows, {name: "string"|"number"})."""
    kinds: Dict[str, str] = {}
    out: List[Row] = []
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(rows, pd.DataFrame):
        missing = [n for n in names if n not in rows.columns]
        if missing:
            raise ValueError(f"rows lack the input columns {missing}")
        for n in names:
            col = rows[n]
            dtype = col.cat.categories.dtype if isinstance(col.dtype, pd.CategoricalDtype) else col.dtype
            is_num = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            kinds[n] = "number" if is_num else "string"
        for rec in rows[names].itertuples(index=False, name=None):
            out.append({n: _py(v) for n, v in zip(names, rec)})
    elif isinstance(rows, (list, tuple)) and rows and isinstance(rows[0], dict):
        for i, r in enumerate(rows):
            missing = [n for n in names if n not in r]
            if missing:
                raise ValueError(f"rows[{i}] lacks the inputs {missing}")
            out.append({n: _py(r[n]) for n in names})
    else:
        arr = np.asarray(rows, dtype=object)
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise ValueError(f"rows must be a DataFrame, a list of dicts, or a 2-D array with "
                             f"{len(names)} columns (got shape {arr.shape})")
        for r in arr.tolist():
            out.append({n: _py(v) for n, v in zip(names, r)})
    if not out:
        raise ValueError("rows is empty")
    for n in names:
        if n in kinds:
            continue
        vals = [r[n] for r in out if r[n] is not None]
        kinds[n] = "string" if any(isinstance(v, str) for v in vals) else "number"
    return out, kinds


class RowBuilder:
    """Builds estimator input from row dicts the way the estimator was fitted."""

    def __init__(self, names: List[str], kinds: Dict[str, str], with_names: bool,
                 pandas_categories: Optional[Dict[str, list]] = None):
        self.names, self.kinds, self.with_names = names, kinds, with_names
        # {name: categories}: inputs the estimator was fitted on as pandas category columns
        # (XGBoost enable_categorical), rebuilt with the fitted categories in their order.
        self.pandas_categories = pandas_categories or {}

    def __call__(self, rows: List[Row]):
        cols = {}
        for n in self.names:
            if self.kinds[n] == "string":
                a = np.empty(len(rows), dtype=object)
                for i, r in enumerate(rows):
                    v = r[n]
                    a[i] = np.nan if v is None else v
            else:
                a = np.array([np.nan if r[n] is None else float(r[n]) for r in rows], dtype=np.float64)
            cols[n] = a
        if self.with_names:
            import pandas as pd
            return pd.DataFrame({n: (pd.Series(pd.Categorical(cols[n], categories=self.pandas_categories[n]))
                                     if n in self.pandas_categories else pd.Series(cols[n], dtype=cols[n].dtype))
                                 for n in self.names})
        if any(self.kinds[n] == "string" for n in self.names):
            X = np.empty((len(rows), len(self.names)), dtype=object)
            for j, n in enumerate(self.names):
                X[:, j] = cols[n]
            return X
        return np.column_stack([cols[n] for n in self.names]) if self.names else np.zeros((len(rows), 0))


def quiet(fn: Callable, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


def predicts(est, build: RowBuilder, rows: List[Row]) -> bool:
    try:
        quiet(est.predict, build(rows))
        return True
    except Exception:
        return False


def probe_nullable(est, build: RowBuilder, base: Row) -> Dict[str, bool]:
    """For each input: does predict() accept a missing value there (others valid)?

    Batched: rows with one input missing each; a batch that fails is split in halves.
    """
    result: Dict[str, bool] = {}

    def probe(names: List[str]):
        rows = []
        for n in names:
            r = dict(base)
            r[n] = None
            rows.append(r)
        if predicts(est, build, rows):
            for n in names:
                result[n] = True
        elif len(names) == 1:
            result[names[0]] = False
        else:
            h = len(names) // 2
            probe(names[:h])
            probe(names[h:])

    probe(list(build.names))
    return result


def input_spec(name: str, kind: str, info: InputInfo, nullable: bool) -> dict:
    if kind == "string":
        return {"name": name, "type": "category", "dtype": "string", "nullable": nullable}
    if info.categories is not None and info.dtype == "number":
        return {"name": name, "type": "category", "dtype": "number", "nullable": nullable}
    return {"name": name, "type": "number", "nullable": nullable}
