"""Fits every parity case with the installed scikit-learn, exports it with kiln_export, and writes
what sklearn itself answers for every row of the dataset.

    python test/parity/generate.py OUT_DIR [--only NAME ...]

Writes OUT_DIR/manifest.json and, per case, OUT_DIR/<case>/model.json and expected.json:
    {"rows": [record, ...], "label": [...], "probabilities": [[...]] | null,
     "decision": [[...]] | null, "value": [...] | null}
Records map feature names to numbers, strings or null (missing).
"""

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings

import numpy as np
import sklearn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as cases_module  # noqa: E402
import cases_expr  # noqa: E402
import cases_neighbors  # noqa: E402
import datasets  # noqa: E402
from kiln_export import export  # noqa: E402


def _jsonable(value):
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) else v
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.str_):
        return str(value)
    return value


def _records(X):
    return [{str(k): _jsonable(v) for k, v in row.items()} for row in X.to_dict(orient="records")]


def _matrix(a):
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    return a.tolist()


def run_case(name, dataset, build, out_dir, verify_rows):
    X, y = datasets.ALL[dataset]()
    est = build()
    fit_split = cases_module.FIT_SPLIT.get(name)  # k-NN: fit on a split (cases_neighbors.py)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fit_split is None:
            est.fit(X, y)
        else:
            train, held = cases_neighbors.split(len(X))
            est.fit(X.iloc[train], y.iloc[train] if hasattr(y, "iloc") else y[train])
            if fit_split == "held_out":
                X = X.iloc[held]
    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)
    rows = X.iloc[::max(1, len(X) // 25)] if verify_rows == "data" else None
    exprs = cases_expr.EXPRESSIONS.get(name)
    export(est, os.path.join(case_dir, "model.json"), name=name, rows=rows,
           expressions=exprs, check_rows=X if exprs else None)

    expected = {"rows": _records(X), "label": None, "probabilities": None, "decision": None, "value": None}
    pred = est.predict(X)
    is_classifier = getattr(est, "_estimator_type", None) == "classifier" or hasattr(est, "classes_")
    if is_classifier:
        expected["label"] = [_jsonable(v) for v in pred.tolist()]
        if hasattr(est, "predict_proba"):
            expected["probabilities"] = _matrix(est.predict_proba(X))
        if hasattr(est, "decision_function"):
            expected["decision"] = _matrix(est.decision_function(X))
    else:
        expected["value"] = np.asarray(pred, dtype=float).tolist()
    with open(os.path.join(case_dir, "expected.json"), "w") as f:
        json.dump(expected, f, allow_nan=False)
    return {"name": name, "dataset": dataset, "rows": len(X), "task": "classification" if is_classifier else "regression"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    manifest = {"sklearn": sklearn.__version__, "numpy": np.__version__, "python": platform.python_version(),
                "cases": [], "not_applicable": []}
    for i, (name, dataset, build) in enumerate(cases_module.CASES):
        if args.only and name not in args.only:
            continue
        started = time.time()
        # Half the cases verify on real rows, half on rows the exporter synthesises from the model.
        verify_rows = "data" if i % 2 == 0 else "synthesised"
        try:
            build()  # an option this sklearn does not know is a TypeError/ValueError at construction
        except (TypeError, ValueError) as exc:
            manifest["not_applicable"].append({"name": name, "reason": f"{type(exc).__name__}: {exc}"})
            continue
        try:
            entry = run_case(name, dataset, build, args.out_dir, verify_rows)
        except ValueError as exc:
            if "NaN" in str(exc) and "native_nan" in name:
                # Trees route missing values natively only from sklearn 1.3 (forests 1.4).
                manifest["not_applicable"].append({"name": name, "reason": f"ValueError: {str(exc).splitlines()[0]}"})
                continue
            raise
        except TypeError as exc:
            # Options removed in newer releases (LogisticRegression(multi_class=...)) fail at fit.
            if "multi_class" in str(exc):
                manifest["not_applicable"].append({"name": name, "reason": f"TypeError: {exc}"})
                continue
            raise
        entry["verification_rows"] = verify_rows
        if name in cases_module.TOLERANCE:
            entry["tolerance"] = cases_module.TOLERANCE[name]
        entry["seconds"] = round(time.time() - started, 3)
        manifest["cases"].append(entry)
        print(f"{name}: exported ({entry['seconds']}s)", file=sys.stderr)
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
