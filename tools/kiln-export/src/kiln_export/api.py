"""``export()``: fitted estimator (or pickle/joblib file) -> Kiln model dict / JSON file."""
from __future__ import annotations

import datetime
import os
import pickle
import platform
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import __version__
from .errors import ExportError, UnsupportedError, VerificationError
from .estimators import export_estimator
from .evaluate import check_model
from .frame import Col, Context, Frame
from .functions import ExpressionPlan, check_functions, recheck_types
from .inputs import (RowBuilder, input_names, input_spec, normalize_rows, predicts, probe_nullable,
                     quiet)
from .transforms import export_step
from .verification import (base_row, check_tolerance, expected_outputs, json_input, keep_valid,
                           synthesize, value_pools)
from .writer import check_name, sanitize_name, write

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pck", ".sav")


def load(path) -> Any:
    """Load a fitted estimator from a joblib or pickle file."""
    path = os.fspath(path)
    try:
        import joblib
        return joblib.load(path)
    except (ImportError, KeyError, ValueError, EOFError, pickle.UnpicklingError):
        with open(path, "rb") as f:
            return pickle.load(f)


def _is_pipeline(est) -> bool:
    from sklearn.pipeline import Pipeline
    return type(est) is Pipeline


def _is_skip(step) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


def split_final(est, path: Sequence[str] = ()) -> Tuple[List[Tuple[list, Any]], Any, list]:
    """-> ([(step_path, transformer), ...], final_estimator, final_path). Nested final
    pipelines are flattened (same computation)."""
    if not _is_pipeline(est):
        return [], est, list(path)
    steps = est.steps
    pre = []
    for i, (name, step) in enumerate(steps[:-1]):
        if not _is_skip(step):
            pre.append((list(path) + [f"steps[{i}] '{name}'"], step))
    i = len(steps) - 1
    name, last = steps[-1]
    last_path = list(path) + [f"steps[{i}] '{name}'"]
    if _is_skip(last):
        raise UnsupportedError(last_path, "Pipeline", "the pipeline has no final estimator")
    more, final, final_path = split_final(last, last_path)
    return pre + more, final, final_path


def transform_to_final(est, X):
    """Run the transformer part of ``est`` on X the sklearn way -> (Xt, final estimator)."""
    if not _is_pipeline(est):
        return X, est
    for _, step in est.steps[:-1]:
        if not _is_skip(step):
            X = quiet(step.transform, X)
    return transform_to_final(est.steps[-1][1], X)


def _check_fitted(est) -> None:
    from sklearn.utils.validation import check_is_fitted
    from sklearn.exceptions import NotFittedError
    try:
        check_is_fitted(est)
    except NotFittedError as e:
        raise ExportError(f"the estimator is not fitted: {e}")
    except TypeError as e:
        raise ExportError(f"not a scikit-learn estimator: {e}")


def _np_link(raw: np.ndarray, link: str) -> np.ndarray:
    if link == "logistic":
        p = 1.0 / (1.0 + np.exp(-raw))
        if raw.shape[1] == 1:
            return np.hstack([1.0 - p, p])
        return p / p.sum(axis=1, keepdims=True)
    if link == "softmax":
        z = np.hstack([-raw, raw]) if raw.shape[1] == 1 else raw
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(link)


def check_linear_link(est_json: dict, Xt, proba: np.ndarray, cls: str) -> None:
    """Recompute predict_proba from the exported coefficients; fail loudly on disagreement."""
    if hasattr(Xt, "toarray"):
        Xt = Xt.toarray()
    Xt = np.asarray(Xt, dtype=np.float64)
    coef = np.asarray(est_json["coef"], dtype=np.float64)
    raw = Xt @ coef.T + np.asarray(est_json["intercept"], dtype=np.float64)
    mine = _np_link(raw, est_json["link"])
    if mine.shape != proba.shape or not np.allclose(mine, proba, rtol=1e-9, atol=1e-12):
        worst = float(np.max(np.abs(mine - proba))) if mine.shape == proba.shape else float("nan")
        raise VerificationError(
            f"{cls}: link {est_json['link']!r} does not reproduce predict_proba of the installed "
            f"scikit-learn (max difference {worst!r}); refusing to write a different model")


def _source_class(est) -> str:
    t = type(est)
    return f"{t.__module__}.{t.__qualname__}"


def export(estimator_or_path, path=None, *, name: Optional[str] = None, rows=None,
           feature_names: Optional[Sequence[str]] = None,
           input_types: Optional[Dict[str, str]] = None,
           n_verification_rows: int = 32, tolerance=(1e-9, 1e-9), check: bool = True,
           expressions: Optional[Dict[str, str]] = None, check_rows=None) -> dict:
    """Export a fitted scikit-learn estimator or pipeline to a Kiln model.

    Parameters
    ----------
    estimator_or_path : fitted estimator, or a path to a .pkl/.pickle/.joblib file.
    path : where to write the JSON model (optional); the dict is returned either way.
    name : model name (``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``); default: file stem or class name.
    rows : verification rows (pandas DataFrame, list of dicts, or 2-D array). Default:
        synthesised from the fitted estimator (scaler statistics, imputer fills, every encoder
        category, values at/around tree thresholds, missing values in nullable inputs).
    feature_names : input names for estimators fitted without names (default x0..x{n-1}).
    input_types : ``{name: "number" | "string"}`` overriding the inferred input types.
    n_verification_rows : how many rows to synthesise (more if an encoder has more categories).
    tolerance : (absolute, relative) verification tolerance, each in [0, 1e-3].
    check : replay the verification rows with the bundled reference interpreter before
        returning (raises VerificationError on drift).
    expressions : ``{output name: expression}`` for FunctionTransformers with a custom Python
        function (docs/expressions.md): one expression per output column of the function, in
        order; ``"step:name"`` scopes a name to the step called ``step``. Each is checked against
        the function on the verification rows and ``check_rows`` (VerificationError on the first
        disagreeing row).
    check_rows : more rows (e.g. the training sample; same forms as ``rows``) on which the
        expressions are checked against the Python functions; not written to the model.

    Raises ``UnsupportedError`` (naming the step path, class and option) for anything without an
    exact Kiln equivalent; ``ExportError`` for other failures.
    """
    src_path = None
    if isinstance(estimator_or_path, (str, os.PathLike)):
        src_path = os.fspath(estimator_or_path)
        est = load(src_path)
    else:
        est = estimator_or_path
    pre, final, final_path = split_final(est)
    _check_fitted(est)
    tol = check_tolerance(tolerance)
    if name is None:
        name = sanitize_name(os.path.splitext(os.path.basename(src_path))[0] if src_path
                             else type(est).__name__)
    check_name(name)

    names, with_names = input_names(est, feature_names)
    user_rows, row_kinds = (None, {}) if rows is None else normalize_rows(rows, names)
    if rows is None and check_rows is not None:  # the sample still tells which inputs are strings
        row_kinds = normalize_rows(check_rows, names)[1]

    # ---- walk the steps
    ctx = Context(len(names))
    ctx.expressions = ExpressionPlan(expressions)
    ctx.function_checks = []
    frame = Frame([Col(name=n, kind=("string" if row_kinds.get(n) == "string" else "unknown"),
                       source=i) for i, n in enumerate(names)], named=True)
    steps = []
    for step_path, step in pre:
        d, frame = export_step(step, frame, step_path, ctx)
        steps.append(d)
    est_json, output = export_estimator(final, frame, final_path, ctx)
    own_step = est_json.pop("_transform", None)  # an estimator's built-in preprocessing
    floor = est_json.pop("_min_tolerance", None)  # a library computing in float32 (XGBoost)
    if floor is not None:
        tol = {k: max(tol[k], floor[k]) for k in tol}
    if own_step is not None:
        steps.append(own_step)
    transform = None if not steps else {"kind": "pipeline", "steps": steps}
    unused = ctx.expressions.unused()
    if unused:
        raise ExportError(f"expressions {unused} were not used: no FunctionTransformer with a custom "
                          "function takes them (scoped names 'step:name' must match a step name)")

    # ---- input types
    kinds: Dict[str, str] = {}
    for i, n in enumerate(names):
        info = ctx.inputs[i]
        inferred = "string" if (info.dtype == "string" or info.string_fill) else "number"
        k = row_kinds.get(n, inferred)
        if input_types and n in input_types:
            k = {"category": "string", "str": "string"}.get(input_types[n], input_types[n])
            if k not in ("string", "number"):
                raise ValueError(f"input_types[{n!r}] must be 'number' or 'string'")
        if k == "number" and info.dtype == "string":
            raise ExportError(f"input {n!r} is numeric in the rows but is encoded with string categories")
        kinds[n] = k
    build = RowBuilder(names, kinds, with_names,
                       {n: ctx.inputs[i].pandas_categories for i, n in enumerate(names)
                        if ctx.inputs[i].pandas_categories is not None})
    recheck_types(ctx.function_checks, [kinds[n] for n in names])

    # ---- a valid base row, nullability, rows
    rng = np.random.default_rng(0)
    pools = value_pools(names, kinds, ctx, rng)
    if user_rows is not None:
        for i, r in enumerate(user_rows):
            if not predicts(est, build, [r]):
                try:
                    quiet(est.predict, build([r]))
                except Exception as e:
                    raise ExportError(f"rows[{i}] is not valid for the estimator: {e}")
        base = user_rows[0]
    else:
        candidates = [base_row(names, pools)] + synthesize(names, kinds, ctx, pools, {}, 16, rng)
        base = next((r for r in candidates if predicts(est, build, [r])), None)
        if base is None:
            try:
                quiet(est.predict, build([candidates[0]]))
            except Exception as e:
                raise ExportError("could not synthesise a valid verification row "
                                  f"(pass rows=...): {type(e).__name__}: {e}")
    nullable = probe_nullable(est, build, base)

    if user_rows is not None:
        vrows = user_rows
    else:
        for n in names:  # base value first so row 0 is the probed row
            if base[n] is not None and base[n] in pools[n]:
                pools[n].remove(base[n])
                pools[n].insert(0, base[n])
        vrows = keep_valid(est, build, synthesize(names, kinds, ctx, pools, nullable,
                                                  n_verification_rows, rng))
        if not vrows:
            raise ExportError("no synthesised verification row is valid for the estimator; pass rows=...")
    X = build(vrows)
    expected = expected_outputs(est, X, output)
    check_functions(est, X, ctx.function_checks, tol, "verification")
    if check_rows is not None and ctx.function_checks:
        extra, _ = normalize_rows(check_rows, names)
        check_functions(est, build(extra), ctx.function_checks, tol, "check_rows")

    if est_json["kind"] == "linear" and output.get("probabilities"):
        Xt, _ = transform_to_final(est, X)
        proba = np.asarray(quiet(final.predict_proba, Xt), dtype=np.float64)
        check_linear_link(est_json, Xt, proba, type(final).__name__)

    import sklearn
    model = {
        "format": "kiln.model",
        "format_version": 1,
        "name": name,
        "metadata": {
            "created": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            .isoformat().replace("+00:00", "Z"),
            "source": {"library": "scikit-learn", "version": sklearn.__version__,
                       "class": _source_class(est), "python": platform.python_version()},
            "exporter": {"name": "kiln-export", "version": __version__},
        },
        "inputs": [input_spec(n, kinds[n], ctx.inputs[i], bool(nullable[n]))
                   for i, n in enumerate(names)],
        "transform": transform,
        "estimator": est_json,
        "output": output,
        "verification": {"tolerance": tol,
                         "rows": [{"input": json_input(r, names), "expected": e}
                                  for r, e in zip(vrows, expected)]},
    }
    if check:
        problems = check_model(model)
        if problems:
            raise VerificationError(
                f"the exported model does not reproduce {type(est).__name__} on "
                f"{len(problems)} verification value(s); first: {problems[0]}")
    if path is not None:
        write(model, path)
    return model
