"""One function per supported sklearn transformer.

Each function takes the fitted transformer, the :class:`~kiln_export.frame.Frame` it
receives, its step path (for error messages) and the export :class:`Context`, and returns
``(step_dict, output_frame)``. The step dicts are exactly the step kinds of
docs/model-format.md.
"""
from __future__ import annotations

import numbers
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import ExportError, UnsupportedError, unsupported_option
from .frame import Col, Context, Frame
from .writer import is_missing, num, nums, scalar

StepResult = Tuple[dict, Frame]


# --------------------------------------------------------------------------- helpers

def _label(path: Sequence[str]) -> List[str]:
    return list(path)


def _names_out(est, n: int) -> List[Optional[str]]:
    try:
        names = [str(x) for x in est.get_feature_names_out()]
        if len(names) == n:
            return names
    except Exception:
        pass
    return [None] * n


def _vec(arr, n: int, what: str, path, est, nan_ok=False) -> list:
    a = np.asarray(arr, dtype=np.float64).ravel()
    if a.shape[0] != n:
        raise ExportError(f"{' > '.join(path)} ({type(est).__name__}): {what} has {a.shape[0]} "
                          f"entries but the frame has {n} columns")
    return nums(a, nan_ok=nan_ok)


def _check_width(est, frame: Frame, path) -> None:
    n = getattr(est, "n_features_in_", None)
    if n is not None and int(n) != frame.width:
        raise ExportError(f"{' > '.join(path)} ({type(est).__name__}): fitted on {n} columns "
                          f"but receives a frame of {frame.width}")


def _numeric_cols(frame: Frame) -> List[Col]:
    return [c.same(kind="number") if c.kind == "unknown" else c for c in frame.cols]


# --------------------------------------------------------------------------- scalers

def standard_scaler(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    n = frame.width
    mean = _vec(est.mean_, n, "mean_", path, est) if est.with_mean and est.mean_ is not None else None
    scale = (_vec(est.scale_, n, "scale_", path, est)
             if est.with_std and getattr(est, "scale_", None) is not None else None)
    names = _names_out(est, n)
    cols = []
    for i, c in enumerate(_numeric_cols(frame)):
        m = mean[i] if mean is not None else 0.0
        s = scale[i] if scale is not None else 1.0
        if getattr(est, "mean_", None) is not None:
            mu = float(np.ravel(est.mean_)[i])
            ctx.hint(c, mu)
            sd = float(np.ravel(est.scale_)[i]) if getattr(est, "scale_", None) is not None else 1.0
            ctx.hint(c, mu + sd)
            ctx.hint(c, mu - 2 * sd)
        cols.append(c.affine(1.0 / s, -m / s, name=names[i]))
    return {"kind": "standard_scaler", "mean": mean, "scale": scale}, Frame(cols)


def robust_scaler(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    n = frame.width
    center = _vec(est.center_, n, "center_", path, est) if est.with_centering else None
    scale = _vec(est.scale_, n, "scale_", path, est) if est.with_scaling else None
    names = _names_out(est, n)
    cols = []
    for i, c in enumerate(_numeric_cols(frame)):
        m = center[i] if center is not None else 0.0
        s = scale[i] if scale is not None else 1.0
        ctx.hint(c, m)
        ctx.hint(c, m + s)
        ctx.hint(c, m - s)
        cols.append(c.affine(1.0 / s, -m / s, name=names[i]))
    return {"kind": "robust_scaler", "center": center, "scale": scale}, Frame(cols)


def min_max_scaler(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    n = frame.width
    scale = _vec(est.scale_, n, "scale_", path, est)
    mn = _vec(est.min_, n, "min_", path, est)
    clip = None
    if getattr(est, "clip", False):
        lo, hi = est.feature_range
        clip = [num(lo), num(hi)]
    names = _names_out(est, n)
    cols = []
    for i, c in enumerate(_numeric_cols(frame)):
        ctx.hint(c, est.data_min_[i])
        ctx.hint(c, est.data_max_[i])
        ctx.hint(c, 0.5 * (est.data_min_[i] + est.data_max_[i]))
        if clip is not None:  # outside the fitted range, to exercise the clip
            ctx.hint(c, est.data_max_[i] + 0.5 * (est.data_max_[i] - est.data_min_[i]) + 1.0)
        cols.append(c.affine(scale[i], mn[i], name=names[i]))
    return {"kind": "min_max_scaler", "scale": scale, "min": mn, "clip": clip}, Frame(cols)


def max_abs_scaler(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    n = frame.width
    scale = _vec(est.scale_, n, "scale_", path, est)
    names = _names_out(est, n)
    cols = []
    for i, c in enumerate(_numeric_cols(frame)):
        ctx.hint(c, est.max_abs_[i])
        ctx.hint(c, -0.5 * est.max_abs_[i])
        cols.append(c.affine(1.0 / scale[i], 0.0, name=names[i]))
    return {"kind": "max_abs_scaler", "scale": scale}, Frame(cols)


def normalizer(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    if est.norm not in ("l1", "l2", "max"):
        raise unsupported_option(path, est, "norm", est.norm)
    names = _names_out(est, frame.width)
    return ({"kind": "normalizer", "norm": est.norm},
            Frame([Col(name=names[i]) for i in range(frame.width)]))


def binarizer(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    t = num(est.threshold)
    for c in frame.cols:
        ctx.hint(c, t)
        ctx.hint(c, t + 1.0)
        ctx.hint(c, t - 1.0)
    names = _names_out(est, frame.width)
    return ({"kind": "binarizer", "threshold": t},
            Frame([Col(name=names[i]) for i in range(frame.width)]))


# --------------------------------------------------------------------------- imputer

def _missing_value(est, path):
    mv = est.missing_values
    if mv is not None and not isinstance(mv, str) and is_missing(mv):
        if isinstance(mv, (float, np.floating)):
            return None
        raise unsupported_option(path, est, "missing_values", mv)
    if isinstance(mv, str):
        return mv
    if isinstance(mv, numbers.Number) and not isinstance(mv, (bool, np.bool_)):
        return num(mv)
    raise UnsupportedError(path, type(est).__name__,
                           f"option missing_values={mv!r} is not supported (use np.nan, a number "
                           "or a string)", option="missing_values")


def simple_imputer(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    mv = _missing_value(est, path)
    keep_empty = bool(getattr(est, "keep_empty_features", False))
    stats = list(np.asarray(est.statistics_, dtype=object).ravel())
    if len(stats) != frame.width:
        raise ExportError(f"{' > '.join(path)} (SimpleImputer): statistics_ has {len(stats)} "
                          f"entries, frame has {frame.width}")
    fill, cols = [], []
    for i, (c, s) in enumerate(zip(frame.cols, stats)):
        if is_missing(s):
            if keep_empty or est.strategy == "constant":
                raise UnsupportedError(
                    path, "SimpleImputer",
                    f"the fill value of column {i} is NaN (strategy={est.strategy!r}, "
                    f"keep_empty_features={keep_empty}): imputing NaN with NaN is not supported",
                    option="fill_value")
            fill.append(None)  # sklearn drops the column
            continue
        if isinstance(s, (str, np.str_)):
            fill.append(str(s))
            info = ctx.info(c)
            if info is not None:
                info.string_fill = True
            cols.append(c.same(kind="string"))
        else:
            try:
                fill.append(num(s))
            except Exception:
                raise UnsupportedError(path, "SimpleImputer",
                                       f"fill value {s!r} of column {i} is neither a number nor a string")
            ctx.hint(c, s)
            cols.append(c.same())
    step = {"kind": "simple_imputer", "missing_value": mv, "fill": fill}
    if est.add_indicator and getattr(est, "indicator_", None) is not None:
        feats = [int(j) for j in np.asarray(est.indicator_.features_).ravel()]
        if feats:
            step["indicator"] = feats
        cols.extend(Col(name=None) for _ in feats)
    names = _names_out(est, len(cols))
    for c, nm in zip(cols, names):
        c.name = nm
    return step, Frame(cols)


# --------------------------------------------------------------------------- encoders

def _categories(est, frame: Frame, path, ctx: Context, handle_unknown_error: bool):
    cats_json = []
    for i, (c, cats) in enumerate(zip(frame.cols, est.categories_)):
        vals = [scalar(v) for v in np.asarray(cats, dtype=object).ravel().tolist()]
        present = [v for v in vals if v is not None]
        is_str = [isinstance(v, str) for v in present]
        if any(is_str) and not all(is_str):
            raise UnsupportedError(path, type(est).__name__,
                                   f"column {i} mixes string and numeric categories")
        dtype = "string" if present and all(is_str) else "number"
        if dtype == "string" and c.source is None and c.kind != "string":
            raise UnsupportedError(path, type(est).__name__,
                                   f"column {i} has string categories but is computed by an "
                                   "earlier step (only inputs can carry strings)")
        info = ctx.info(c)
        if info is not None and c.scale == 1.0 and c.offset == 0.0:
            if info.dtype is not None and info.dtype != dtype:
                raise UnsupportedError(path, type(est).__name__,
                                       f"input {c.source} is encoded both as string and number categories")
            info.dtype = dtype
            known = info.categories or []
            for v in present:
                if v not in known:
                    known.append(v)
            info.categories = known
            if handle_unknown_error:
                info.accepts_unknown = False
        cats_json.append(vals)
    return cats_json


def one_hot_encoder(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    for opt in ("min_frequency", "max_categories"):
        v = getattr(est, opt, None)
        if v is not None:
            raise unsupported_option(path, est, opt, v)
    hu = est.handle_unknown
    if hu == "error":
        mode = "error"
    elif hu in ("ignore", "warn"):
        mode = "ignore"
    elif hu == "infrequent_if_exist" and not getattr(est, "_infrequent_enabled", False):
        mode = "ignore"
    else:
        raise unsupported_option(path, est, "handle_unknown", hu)
    if getattr(est, "_infrequent_enabled", False):
        raise UnsupportedError(path, "OneHotEncoder", "infrequent categories are not supported",
                               option="min_frequency")
    cats = _categories(est, frame, path, ctx, mode == "error")
    step = {"kind": "one_hot_encoder", "categories": cats}
    drop_idx = getattr(est, "drop_idx_", None)
    n_out = sum(len(c) for c in cats)
    if drop_idx is not None:
        drop = [None if d is None or is_missing(d) else int(d)
                for d in np.asarray(drop_idx, dtype=object).ravel().tolist()]
        step["drop"] = drop
        n_out -= sum(1 for d in drop if d is not None)
    step["handle_unknown"] = mode
    names = _names_out(est, n_out)
    return step, Frame([Col(name=names[i]) for i in range(n_out)])


def ordinal_encoder(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    for opt in ("min_frequency", "max_categories"):
        v = getattr(est, opt, None)
        if v is not None:
            raise unsupported_option(path, est, opt, v)
    if getattr(est, "_infrequent_enabled", False):
        raise UnsupportedError(path, "OrdinalEncoder", "infrequent categories are not supported")
    hu = est.handle_unknown
    if hu not in ("error", "use_encoded_value"):
        raise unsupported_option(path, est, "handle_unknown", hu)
    cats = _categories(est, frame, path, ctx, hu == "error")
    uv = est.unknown_value if hu == "use_encoded_value" else None
    emv = getattr(est, "encoded_missing_value", np.nan)
    step = {"kind": "ordinal_encoder", "categories": cats, "handle_unknown": hu,
            "unknown_value": None if uv is None else num(uv, nan_ok=True),
            "encoded_missing_value": num(emv, nan_ok=True)}
    names = _names_out(est, frame.width)
    return step, Frame([Col(name=names[i]) for i in range(frame.width)])


# --------------------------------------------------------------------------- composites

def _resolve_columns(spec, frame: Frame, path, est) -> Tuple[List[int], bool]:
    """Column spec of a ColumnTransformer entry -> (indices, given_by_name)."""
    names = frame.names()

    def by_name(s):
        if s not in names:
            raise ExportError(f"{' > '.join(path)}: column {s!r} is not in the frame {names}")
        return names.index(s)

    if callable(spec):
        raise UnsupportedError(path, type(est).__name__, "unresolved callable column selector")
    if isinstance(spec, str):
        return [by_name(spec)], True
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, (bool, np.bool_)):
        return [int(spec) % frame.width if frame.width else int(spec)], False
    if isinstance(spec, slice):
        if isinstance(spec.start, str) or isinstance(spec.stop, str):
            start = by_name(spec.start) if spec.start is not None else 0
            stop = by_name(spec.stop) + 1 if spec.stop is not None else frame.width
            return list(range(start, stop)), True
        return list(range(frame.width))[spec], False
    arr = np.asarray(spec, dtype=object) if not isinstance(spec, np.ndarray) else spec
    items = list(np.asarray(arr).ravel().tolist())
    if not items:
        return [], False
    if all(isinstance(v, (bool, np.bool_)) for v in items):
        if len(items) != frame.width:
            raise ExportError(f"{' > '.join(path)}: boolean column mask of length {len(items)} "
                              f"for a frame of {frame.width}")
        return [i for i, v in enumerate(items) if v], False
    if all(isinstance(v, str) for v in items):
        return [by_name(v) for v in items], True
    if all(isinstance(v, (int, np.integer)) for v in items):
        return [int(v) % frame.width for v in items], False
    raise UnsupportedError(path, type(est).__name__, f"column selection {spec!r} is not supported")


def _sub_transform(trans, sub: Frame, path, ctx) -> StepResult:
    if trans is None or (isinstance(trans, str) and trans == "passthrough"):
        return {"kind": "passthrough"}, Frame([c.same() for c in sub.cols], named=False)
    return export_step(trans, sub, path, ctx)


def column_transformer(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    if getattr(est, "transformer_weights", None):
        raise unsupported_option(path, est, "transformer_weights", est.transformer_weights)
    entries, out_cols = [], []
    for idx, (name, trans, spec) in enumerate(est.transformers_):
        sub_path = _label(path) + [f"transformers[{idx}] '{name}'"]
        if isinstance(trans, str) and trans == "drop":
            continue
        cols, by_name = _resolve_columns(spec, frame, sub_path, est)
        if not cols:
            continue
        sub = Frame([frame.cols[i] for i in cols], named=frame.named)
        step, out = _sub_transform(trans, sub, sub_path, ctx)
        use_names = frame.named and (by_name or name == "remainder")
        entries.append({"name": str(name),
                        "columns": [frame.cols[i].name for i in cols] if use_names else cols,
                        "transform": step})
        out_cols.extend(out.cols)
    names = _names_out(est, len(out_cols))
    for c, nm in zip(out_cols, names):
        c.name = nm
    return {"kind": "column_transformer", "transformers": entries}, Frame(out_cols)


def feature_union(est, frame: Frame, path, ctx: Context) -> StepResult:
    if getattr(est, "transformer_weights", None):
        raise unsupported_option(path, est, "transformer_weights", est.transformer_weights)
    entries, out_cols = [], []
    for idx, (name, trans) in enumerate(est.transformer_list):
        sub_path = _label(path) + [f"transformer_list[{idx}] '{name}'"]
        if isinstance(trans, str) and trans == "drop":
            continue
        step, out = _sub_transform(trans, Frame(list(frame.cols), named=frame.named), sub_path, ctx)
        entries.append({"name": str(name), "columns": list(range(frame.width)), "transform": step})
        out_cols.extend(out.cols)
    return {"kind": "column_transformer", "transformers": entries}, Frame(out_cols)


def pipeline(est, frame: Frame, path, ctx: Context) -> StepResult:
    steps = []
    for i, (name, step) in enumerate(est.steps):
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        d, frame = export_step(step, frame, _label(path) + [f"steps[{i}] '{name}'"], ctx)
        steps.append(d)
    if not steps:
        return {"kind": "passthrough"}, frame
    return {"kind": "pipeline", "steps": steps}, frame


def function_transformer(est, frame: Frame, path, ctx: Context) -> StepResult:
    if est.func is None:
        return {"kind": "passthrough"}, Frame([c.same() for c in frame.cols], named=frame.named)
    from .functions import function_transformer as to_expressions
    return to_expressions(est, frame, path, ctx)


_TRANSFORMS: Optional[Dict[type, Callable]] = None


def transforms_table() -> Dict[type, Callable]:
    """Exact sklearn class -> export function (public import paths, stable across versions)."""
    global _TRANSFORMS
    if _TRANSFORMS is None:
        from sklearn import compose, impute, pipeline as skpipe, preprocessing as pp
        _TRANSFORMS = {
            pp.StandardScaler: standard_scaler,
            pp.RobustScaler: robust_scaler,
            pp.MinMaxScaler: min_max_scaler,
            pp.MaxAbsScaler: max_abs_scaler,
            pp.Normalizer: normalizer,
            pp.Binarizer: binarizer,
            impute.SimpleImputer: simple_imputer,
            pp.OneHotEncoder: one_hot_encoder,
            pp.OrdinalEncoder: ordinal_encoder,
            compose.ColumnTransformer: column_transformer,
            skpipe.Pipeline: pipeline,
            skpipe.FeatureUnion: feature_union,
            pp.FunctionTransformer: function_transformer,
        }
        from . import features
        _TRANSFORMS.update(features.table())
    return _TRANSFORMS


def export_step(est, frame: Frame, path, ctx: Context) -> StepResult:
    """Export one fitted transformer (dispatching on its exact class)."""
    if isinstance(est, str) and est == "passthrough":
        return {"kind": "passthrough"}, frame
    table = transforms_table()
    fn = table.get(type(est))
    if fn is None:
        raise UnsupportedError(path, type(est).__name__,
                               "transformer is not supported by Kiln (supported: "
                               + ", ".join(sorted(k.__name__ for k in table)) + ")")
    return fn(est, frame, path, ctx)
