"""FunctionTransformer -> the ``expressions`` step (docs/expressions.md).

* ``func`` a numpy ufunc Kiln knows (np.log1p, np.log, np.exp, np.sqrt, np.abs, np.square) or
  ``np.clip`` with scalar ``kw_args`` bounds: one expression per column, automatically.
* any other ``func`` (a lambda, a plain function): the user supplies one expression per output
  column of the function, in the function's column order (``expressions={"name": "src", ...}``
  in the API, ``--expr name='src'`` on the command line). A name may be scoped to one step as
  ``"step:name"`` (the step's name in its Pipeline / ColumnTransformer); unscoped names belong to
  the only FunctionTransformer with a custom function.

Every mapped FunctionTransformer is then checked against the Python function on the
verification rows (and ``check_rows``): :func:`check_functions` runs the real pipeline, captures
what the function receives and returns, evaluates the expressions on the same inputs and refuses
the model at the first disagreeing value.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import ExportError, UnsupportedError, VerificationError
from .expr import Compiled, ExprError, compile_expr
from .frame import Col, Context, Frame

_UFUNCS = {np.log1p: "log1p", np.log: "log", np.exp: "exp", np.sqrt: "sqrt", np.abs: "abs",
           np.fabs: "abs", np.square: "square"}
_STEP_NAME = re.compile(r"'(.*)'$")


def _where(path: Sequence[str]) -> str:
    return " > ".join(path)


def step_name(path: Sequence[str]) -> Optional[str]:
    m = _STEP_NAME.search(path[-1]) if path else None
    return m.group(1) if m else None


class ExpressionPlan:
    """The user's expressions, handed out to FunctionTransformer steps as the walk meets them."""

    def __init__(self, mapping: Optional[Dict[str, str]]):
        self.items: List[Tuple[str, str]] = []
        for k, v in (mapping or {}).items():
            if not isinstance(k, str) or not k or k.endswith(":") or k.startswith(":"):
                raise ValueError(f"expressions: bad output name {k!r}")
            if not isinstance(v, str):
                raise ValueError(f"expressions[{k!r}] must be a string, got {type(v).__name__}")
            self.items.append((k, v))
        self.used: set = set()
        self.unscoped_owner: Optional[str] = None

    def take(self, path: Sequence[str], custom: bool) -> Optional[List[Tuple[str, str]]]:
        step = step_name(path)
        scoped = [(k, k.split(":", 1)[1], v) for k, v in self.items
                  if ":" in k and k.split(":", 1)[0] == step]
        if scoped:
            self.used.update(k for k, _, _ in scoped)
            return [(n, v) for _, n, v in scoped]
        unscoped = [(k, v) for k, v in self.items if ":" not in k]
        if not custom or not unscoped:
            return None
        if self.unscoped_owner is not None:
            raise ExportError(f"{_where(path)}: several FunctionTransformers need expressions; scope each "
                              f"name with its step name (e.g. '{step or 'step'}:NAME'); the unscoped names "
                              f"were already given to {self.unscoped_owner}")
        self.unscoped_owner = _where(path)
        self.used.update(k for k, _ in unscoped)
        return unscoped

    def unused(self) -> List[str]:
        return [k for k, _ in self.items if k not in self.used]


@dataclasses.dataclass
class FunctionCheck:
    path: List[str]
    est: object
    outputs: List[Tuple[str, Compiled]]
    names: List[Optional[str]]
    cols: List[Col]
    named: bool


def _func_label(func) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _literal(v: float) -> str:
    return repr(float(v))


def _clip_bounds(est, path) -> Tuple[Optional[float], Optional[float]]:
    kw = dict(est.kw_args or {})
    lo = kw.pop("a_min", kw.pop("min", None))
    hi = kw.pop("a_max", kw.pop("max", None))
    if kw:
        raise UnsupportedError(path, "FunctionTransformer", f"np.clip option(s) {sorted(kw)} are not supported",
                               option="kw_args")
    out = []
    for b in (lo, hi):
        if b is None:
            out.append(None)
            continue
        if np.ndim(b) != 0:
            raise UnsupportedError(path, "FunctionTransformer", "np.clip bounds must be scalars", option="kw_args")
        f = float(b)
        if math.isnan(f):
            raise UnsupportedError(path, "FunctionTransformer", "np.clip with a NaN bound", option="kw_args")
        out.append(None if math.isinf(f) else f)
    return out[0], out[1]


def builtin_expressions(est, frame: Frame, path) -> Optional[List[Tuple[str, str]]]:
    """Per-column expressions for a ufunc / np.clip FunctionTransformer, or None."""
    func = est.func
    label = None
    if func is np.clip:
        lo, hi = _clip_bounds(est, path)

        def make(ref):
            if lo is not None and hi is not None:
                return f"clip({ref}, {_literal(lo)}, {_literal(hi)})"
            if lo is not None:
                return f"max({ref}, {_literal(lo)})"
            return f"min({ref}, {_literal(hi)})" if hi is not None else ref
    elif isinstance(func, np.ufunc) and func in _UFUNCS:
        label = _UFUNCS[func]
        if est.kw_args:
            raise UnsupportedError(path, "FunctionTransformer", f"kw_args for np.{func.__name__} are not supported",
                                   option="kw_args")

        def make(ref):
            return f"{label}({ref})"
    else:
        return None
    names = _names_out(est, frame)
    return [(names[j], make(f"${j}")) for j in range(frame.width)]


def _names_out(est, frame: Frame) -> List[str]:
    try:
        got = [str(x) for x in est.get_feature_names_out()]
        if len(got) == frame.width:
            return got
    except Exception:
        pass
    return [c.name if c.name is not None else f"x{j}" for j, c in enumerate(frame.cols)]


def function_transformer(est, frame: Frame, path, ctx: Context):
    plan: Optional[ExpressionPlan] = getattr(ctx, "expressions", None)
    custom = not (est.func is np.clip or (isinstance(est.func, np.ufunc) and est.func in _UFUNCS))
    outputs = plan.take(path, custom) if plan is not None else None
    if outputs is None:
        outputs = builtin_expressions(est, frame, path)
    if outputs is None:
        step = step_name(path) or "step"
        raise UnsupportedError(
            path, "FunctionTransformer",
            f"option func={_func_label(est.func)} is a custom Python function: give one Kiln expression "
            f"per output column of the function, in order (API: expressions={{'NAME': 'EXPR', ...}}; "
            f"CLI: --expr NAME='EXPR'; scope a name to this step as '{step}:NAME'); see docs/expressions.md",
            option="func")
    kinds = [c.kind for c in frame.cols]
    compiled: List[Tuple[str, Compiled]] = []
    for name, src in outputs:
        try:
            comp = compile_expr(src, frame.names(), kinds, frame.named)
        except ExprError as e:
            raise ExportError(f"{_where(path)} (FunctionTransformer): expression {name!r} = {src!r}: {e}")
        for j, kind in comp.used.items():
            col = frame.cols[j]
            if kind == "string":
                _mark_string(col, comp.strings.get(j, []), ctx, path, name)
                kinds[j] = "string"
            else:
                kinds[j] = "number"
        compiled.append((name, comp))
    if not hasattr(ctx, "function_checks"):
        ctx.function_checks = []
    ctx.function_checks.append(FunctionCheck(list(path), est, compiled, frame.names(), list(frame.cols), frame.named))
    step = {"kind": "expressions", "outputs": [{"name": n, "expr": c.src} for n, c in compiled]}
    return step, Frame([Col(name=n) for n, _ in compiled])


def _mark_string(col: Col, literals: List[str], ctx: Context, path, name: str) -> None:
    """An input compared with strings is a string category input; its literals seed the rows."""
    info = ctx.info(col)
    if col.kind != "string" and (info is None or col.scale != 1.0 or col.offset != 0.0):
        raise ExportError(f"{_where(path)}: expression {name!r} compares a computed column with strings "
                          "(only inputs carry strings)")
    if info is None:
        return
    if info.dtype == "number":
        raise ExportError(f"{_where(path)}: expression {name!r} compares input {col.name!r} with strings, "
                          "but it is encoded with numeric categories")
    info.dtype = "string"
    known = info.categories if info.categories is not None else []
    for s in literals:
        if s not in known:
            known.append(s)
    info.categories = known


def recheck_types(checks: List[FunctionCheck], input_kinds: List[str]) -> None:
    """Check the expressions again once every input's type is settled: an input untyped when the
    walk met the expression may have become a string input through a later encoder."""
    for chk in checks:
        kinds = []
        for c in chk.cols:
            as_input = c.source is not None and c.scale == 1.0 and c.offset == 0.0
            kinds.append("string" if c.kind == "string" or (as_input and input_kinds[c.source] == "string")
                         else "number")
        outputs = []
        for name, comp in chk.outputs:
            try:
                outputs.append((name, compile_expr(comp.src, chk.names, kinds, chk.named)))
            except ExprError as e:
                raise ExportError(f"{_where(chk.path)} (FunctionTransformer): expression {name!r} = {comp.src!r}: {e}")
        chk.outputs = outputs


# --------------------------------------------------------------------------- checking

def _cell(v):
    if isinstance(v, (str, np.str_)):
        return str(v)
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None   # pd.NA and friends
    return None if math.isnan(f) else f


def _rows_of(X) -> List[list]:
    if hasattr(X, "iloc"):
        cols = [X.iloc[:, j].tolist() for j in range(X.shape[1])]
        return [[_cell(c[i]) for c in cols] for i in range(X.shape[0])]
    a = np.asarray(X, dtype=object)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    return [[_cell(v) for v in r] for r in a]


def _close(a: float, e: float, tol: Dict[str, float]) -> bool:
    if math.isnan(a) or math.isnan(e):
        return math.isnan(a) and math.isnan(e)
    if a == e:
        return True
    return abs(a - e) <= tol["absolute"] + tol["relative"] * abs(e)


def _show(v) -> str:
    return "null" if v is None else repr(v)


def check_functions(est, X, checks: List[FunctionCheck], tol: Dict[str, float], what: str) -> None:
    """Run ``est`` on X, capturing each checked FunctionTransformer's input and output, and
    compare the expressions with the Python function; VerificationError at the first mismatch."""
    if not checks:
        return
    from .inputs import quiet
    captured: Dict[int, list] = {id(c): [] for c in checks}
    originals = []
    for chk in checks:
        orig = chk.est.func

        def spy(Xin, *a, _orig=orig, _log=captured[id(chk)], **kw):
            out = _orig(Xin, *a, **kw)
            _log.append((Xin, out))
            return out
        originals.append((chk.est, orig))
        chk.est.func = spy
    try:
        quiet(est.predict, X)
    finally:
        for ft, orig in originals:
            ft.func = orig
    for chk in checks:
        where = f"{_where(chk.path)} (FunctionTransformer func={_func_label(chk.est.func)})"
        for Xin, out in captured[id(chk)]:
            rows = _rows_of(Xin)
            y = np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)
            if y.ndim == 1:
                y = y.reshape(-1, 1)
            if y.shape[1] != len(chk.outputs):
                raise ExportError(f"{where}: the function returns {y.shape[1]} column(s) but "
                                  f"{len(chk.outputs)} expression(s) were given "
                                  f"({', '.join(n for n, _ in chk.outputs)}); give one per output column, in order")
            for i, row in enumerate(rows):
                for k, (name, comp) in enumerate(chk.outputs):
                    try:
                        mine = comp.eval(row)
                    except (TypeError, ValueError) as e:  # e.g. a string where the expression needs a number
                        raise ExportError(f"{where}: expression {name!r} = {comp.src!r} cannot be evaluated on "
                                          f"{what} row {i}: {e}")
                    theirs = float(y[i, k])
                    if not _close(mine, theirs, tol):
                        shown = ", ".join(
                            f"{chk.names[j] if chk.names[j] is not None else '$' + str(j)}: {_show(row[j])}"
                            for j in sorted(comp.used))
                        raise VerificationError(
                            f"{where}: expression {name!r} = {comp.src!r} disagrees with the Python function "
                            f"on {what} row {i}: inputs {{{shown}}}; Python {theirs!r}, expression {mine!r}. "
                            "Refusing to write a model that computes something else.")
