"""Command line: ``kiln-export MODEL.pkl -o model.json``."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from . import __version__
from .errors import ExportError, UnsupportedError

DESCRIPTION = """\
Export a fitted scikit-learn estimator or pipeline (a pickle or joblib file) to a Kiln
model JSON file (docs/model-format.md). The file embeds verification rows with
scikit-learn's own answers; the Kiln engine replays them when it loads the model.
"""

EPILOG = """\
exit status:
  0  model written
  1  error (unreadable file, invalid rows, internal verification failure)
  2  the model uses something Kiln does not support (the message names the step,
     class and option), or bad command-line usage

examples:
  kiln-export churn.joblib -o churn.json
  kiln-export model.pkl -o model.json --name iris_lr --rows rows.csv
  kiln-export model.pkl -o model.json --feature-names age,income,colour
  kiln-export model.pkl -o model.json --expr ratio='debt / max(income, 1)' --check-rows train.csv
"""


def read_rows(path: str):
    """Rows from .json (a list of objects, or {"rows": [...]}), .jsonl, or .csv."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        import pandas as pd
        return pd.read_csv(path, keep_default_na=True)
    with open(path, encoding="utf-8") as f:
        if ext in (".jsonl", ".ndjson"):
            rows = [json.loads(line) for line in f if line.strip()]
        else:
            rows = json.load(f)
            if isinstance(rows, dict) and "rows" in rows:
                rows = rows["rows"]
            if rows and isinstance(rows[0], dict) and "input" in rows[0]:
                rows = [r["input"] for r in rows]  # a Kiln verification block
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path}: expected a non-empty list of rows")
    return rows


def parse_exprs(items: List[str]) -> dict:
    """["name=src", ...] -> {name: src} (order kept; a name given twice is an error)."""
    out: dict = {}
    for item in items:
        name, eq, src = item.partition("=")
        name = name.strip()
        if not eq or not name or not src.strip():
            raise ValueError(f"--expr {item!r}: expected NAME=EXPRESSION")
        if name in out:
            raise ValueError(f"--expr: output {name!r} is given twice")
        out[name] = src.strip()
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiln-export", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL",
                   help="fitted estimator saved with joblib.dump or pickle (.pkl, .pickle, .joblib)")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="where to write the Kiln model JSON")
    p.add_argument("--name", help="model name, [A-Za-z0-9][A-Za-z0-9._-]{0,127} "
                                  "(default: derived from MODEL's file name)")
    p.add_argument("--rows", metavar="FILE",
                   help="verification rows: .json (list of objects), .jsonl (one object per "
                        "line) or .csv with one column per input; null/empty = missing. Default: "
                        "rows synthesised from the fitted estimator")
    p.add_argument("--feature-names", metavar="A,B,C",
                   help="comma-separated input names for a model fitted on a plain array "
                        "(default: x0,x1,...; models fitted on a DataFrame use its column names)")
    p.add_argument("--n-rows", type=int, default=32, metavar="N",
                   help="number of verification rows to synthesise (default: 32)")
    p.add_argument("--tolerance", type=float, nargs=2, default=(1e-9, 1e-9),
                   metavar=("ABS", "REL"), help="verification tolerance (default: 1e-9 1e-9)")
    p.add_argument("--expr", action="append", default=[], metavar="NAME=EXPR",
                   help="Kiln expression for one output column of a FunctionTransformer with a custom "
                        "function (repeat once per output column, in the function's column order; "
                        "NAME may be scoped as STEP:NAME). See docs/expressions.md")
    p.add_argument("--check-rows", metavar="FILE",
                   help="more rows (same formats as --rows, e.g. the training sample) on which the "
                        "expressions are checked against the Python function; not written to the model")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from .api import export
    try:
        rows = read_rows(args.rows) if args.rows else None
        names = [s.strip() for s in args.feature_names.split(",")] if args.feature_names else None
        exprs = parse_exprs(args.expr)
        check_rows = read_rows(args.check_rows) if args.check_rows else None
        model = export(args.model, args.output, name=args.name, rows=rows, feature_names=names,
                       n_verification_rows=args.n_rows, tolerance=tuple(args.tolerance),
                       expressions=exprs or None, check_rows=check_rows)
    except UnsupportedError as e:
        print(f"kiln-export: unsupported: {e}", file=sys.stderr)
        return 2
    except (ExportError, ValueError, OSError) as e:
        print(f"kiln-export: error: {e}", file=sys.stderr)
        return 1
    n = len(model["verification"]["rows"])
    print(f"wrote {args.output}: {model['name']} ({model['metadata']['source']['class']}, "
          f"{len(model['inputs'])} inputs, {n} verification rows)")
    return 0
