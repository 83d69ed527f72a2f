"""docs/supported-estimators.md stays true.

Every class listed in its tables must have an exporter and working support: either a parity case
(test/parity/cases*.py) contains it, and test/parity.test.mjs fits, exports and compares that case
with the engine on every dataset row under both scikit-learn versions (so a broken row fails
there), or, with no parity case, this test fits a small default instance and exports it (which
replays the verification rows through the reference interpreter). Every class the exporter
accepts must be listed.
"""
import importlib
import os
import re
import sys
import warnings

import pytest
from sklearn.base import is_classifier, is_regressor

import kiln_export
from kiln_export.estimators import estimators_table
from kiln_export.transforms import transforms_table
from conftest import REPO, assert_valid_model

DOC = os.path.join(REPO, "docs", "supported-estimators.md")
PARITY = os.path.join(REPO, "test", "parity")
ROW = re.compile(r"^\|\s*`([A-Za-z_][\w.]*\.[A-Za-z_]\w*)`\s*\|")
def _supported_section(text):
    """The table rows above the 'Not supported' heading."""
    return text.split("## Not supported", 1)[0]


def listed_classes():
    with open(DOC, encoding="utf8") as f:
        text = _supported_section(f.read())
    return [m.group(1) for line in text.splitlines() if (m := ROW.match(line))]


def _resolve(dotted):
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        pytest.skip(f"{dotted} is not importable here: {e}")


def _parity_cases():
    sys.path.insert(0, PARITY)
    try:
        import cases
    finally:
        sys.path.remove(PARITY)
    return cases.CASES


def _contains(est, cls):
    if type(est) is cls:
        return True
    try:
        params = est.get_params(deep=True)
    except Exception:
        return False
    stack = list(params.values())
    for v in stack:
        if type(v) is cls:
            return True
        if isinstance(v, (list, tuple)):  # (name, transformer, columns) entries
            stack.extend(v)
    return False


def _buildable(build):
    try:
        return build()
    except (TypeError, ValueError):  # an option this sklearn does not have
        return None


def _default_instance(cls):
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    est = cls()
    if is_classifier(est):
        return est, load_iris(return_X_y=True, as_frame=True)
    if is_regressor(est):
        return est, load_diabetes(return_X_y=True, as_frame=True)
    return make_pipeline(est, LogisticRegression(max_iter=2000)), load_iris(return_X_y=True, as_frame=True)


LISTED = listed_classes()


def test_table_parses():
    assert len(LISTED) >= 30, LISTED
    assert len(LISTED) == len(set(LISTED)), "a class is listed twice"


def test_every_exported_class_is_listed():
    names = {f"{c.__module__}.{c.__name__}" for c in list(transforms_table()) + list(estimators_table())}
    listed = set()
    for dotted in LISTED:
        try:
            c = _resolve(dotted)
        except pytest.skip.Exception:
            continue
        listed.add(f"{c.__module__}.{c.__name__}")
    missing = sorted(names - listed)
    assert not missing, f"exported by kiln-export but not in docs/supported-estimators.md: {missing}"


@pytest.mark.parametrize("dotted", LISTED)
def test_listed_class_exports(dotted):
    cls = _resolve(dotted)
    table = {**transforms_table(), **estimators_table()}
    assert cls in table, f"{dotted} is listed but kiln-export has no exporter for it"
    for name, dataset, build in _parity_cases():
        est = _buildable(build)
        if est is not None and _contains(est, cls):
            return  # parity case `name` exports it and checks every row (test/parity.test.mjs)
    est, (X, y) = _default_instance(cls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    model = kiln_export.export(est, rows=X.iloc[::max(1, len(X) // 20)])
    assert_valid_model(model, est)
