"""Feature-expanding transformers: KBinsDiscretizer and PolynomialFeatures.

Same contract as :mod:`kiln_export.transforms`: ``(step_dict, output_frame)`` per
docs/model-format.md (``kbins_discretizer``, ``polynomial_features``).
"""
from __future__ import annotations

import numpy as np

from .errors import ExportError, UnsupportedError, unsupported_option
from .frame import Col, Context, Frame
from .transforms import StepResult, _check_width, _names_out
from .writer import nums

# PolynomialFeatures: highest total degree of a term the format allows (docs/model-format.md).
MAX_POLY_DEGREE = 3
def kbins_discretizer(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    dtype = getattr(est, "dtype", None)
    if dtype is not None and np.dtype(dtype) != np.float64:
        # the input is cast to float32 before binning: a different value near every edge
        raise unsupported_option(path, est, "dtype", dtype)
    if est.encode == "ordinal":
        encode = "ordinal"
    elif est.encode in ("onehot", "onehot-dense"):
        encode = "onehot"  # sparse "onehot" holds the same numbers
    else:
        raise unsupported_option(path, est, "encode", est.encode)
    edges, width = [], 0
    for j, (c, e) in enumerate(zip(frame.cols, est.bin_edges_)):
        e = np.asarray(e, dtype=np.float64).ravel()
        inner = e[1:-1]
        if not np.all(np.isfinite(inner)) or np.any(np.diff(inner) < 0):
            raise ExportError(f"{' > '.join(path)} (KBinsDiscretizer): bin_edges_[{j}] has "
                              "non-finite or unsorted inner edges")
        if inner.size + 1 != int(est.n_bins_[j]):
            raise ExportError(f"{' > '.join(path)} (KBinsDiscretizer): bin_edges_[{j}] does not "
                              f"match n_bins_[{j}]={est.n_bins_[j]}")
        edges.append(nums(inner))
        width += inner.size + 1 if encode == "onehot" else 1
        for v in e[np.isfinite(e)]:  # rows on, just below and just above every edge
            ctx.hint(c, v)
            ctx.hint(c, np.nextafter(v, -np.inf))
            ctx.hint(c, np.nextafter(v, np.inf))
    names = _names_out(est, width)
    step = {"kind": "kbins_discretizer", "edges": edges, "encode": encode}
    # bin indices are not an affine image of the input: the columns carry no source
    return step, Frame([Col(name=names[i]) for i in range(width)])


def polynomial_features(est, frame: Frame, path, ctx: Context) -> StepResult:
    _check_width(est, frame, path)
    powers = np.asarray(est.powers_, dtype=np.int64)
    if powers.ndim != 2 or powers.shape[1] != frame.width:
        raise ExportError(f"{' > '.join(path)} (PolynomialFeatures): powers_ has shape "
                          f"{powers.shape} for a frame of {frame.width} columns")
    top = int(powers.sum(axis=1).max()) if powers.size else 0
    if top > MAX_POLY_DEGREE:
        raise UnsupportedError(path, "PolynomialFeatures",
                               f"option degree={est.degree!r} is not supported (terms up to degree "
                               f"{MAX_POLY_DEGREE})", option="degree")
    if getattr(est, "order", "C") not in ("C", "F"):
        raise unsupported_option(path, est, "order", est.order)
    names = _names_out(est, powers.shape[0])
    return ({"kind": "polynomial_features", "powers": [[int(p) for p in row] for row in powers]},
            Frame([Col(name=names[i]) for i in range(powers.shape[0])]))


def table():
    from sklearn import preprocessing as pp
    return {pp.KBinsDiscretizer: kbins_discretizer, pp.PolynomialFeatures: polynomial_features}
