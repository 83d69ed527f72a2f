"""JSON conversion and writing.

Floats are written by Python's ``json`` module, which uses ``float.__repr__`` (shortest
round-tripping form); NaN/inf are refused (``allow_nan=False``) — the format spells a NaN
``null`` where one is allowed, and the exporter converts those explicitly.
"""
from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import numpy as np

from .errors import ExportError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def is_missing(v: Any) -> bool:
    """None, NaN (float or numpy), pandas NA / NaT."""
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return math.isnan(v)
    if isinstance(v, (str, bytes, int, np.integer, bool, np.bool_)):
        return False
    try:
        import pandas as pd  # optional
        r = pd.isna(v)
        return bool(r) if np.ndim(r) == 0 else False
    except Exception:
        return False


def num(v: Any, *, nan_ok: bool = False):
    """A JSON number from a numpy/Python scalar. NaN -> None only when ``nan_ok``."""
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    f = float(v)
    if math.isnan(f) or math.isinf(f):
        if nan_ok and math.isnan(f):
            return None
        raise ExportError(f"non-finite number {f!r} cannot be written")
    return f


def nums(a, *, nan_ok: bool = False) -> list:
    return [num(v, nan_ok=nan_ok) for v in np.asarray(a).ravel().tolist()]


def scalar(v: Any):
    """A JSON scalar (string, number, or None for missing) from a category/label value."""
    if is_missing(v):
        return None
    if isinstance(v, (str, np.str_)):
        return str(v)
    if isinstance(v, (bool, np.bool_)):
        raise ExportError("boolean values are not representable (use strings or numbers)")
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return num(v)
    raise ExportError(f"value {v!r} of type {type(v).__name__} is neither a string nor a number")


def to_jsonable(obj: Any):
    """Recursively convert numpy containers/scalars into plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return num(obj)
    if isinstance(obj, np.str_):
        return str(obj)
    raise ExportError(f"cannot write a {type(obj).__name__} to JSON")


def dumps(model: dict) -> str:
    return json.dumps(to_jsonable(model), allow_nan=False, ensure_ascii=False,
                      separators=(",", ":"))


def write(model: dict, path) -> None:
    text = dumps(model)
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.write("\n")
    os.replace(tmp, path)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"invalid model name {name!r}: must match {NAME_RE.pattern}")
    return name


def sanitize_name(raw: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._-") or "model"
    if not s[0].isalnum():
        s = "m" + s
    return s[:128]
