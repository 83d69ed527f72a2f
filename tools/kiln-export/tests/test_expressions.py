"""FunctionTransformer export: numpy ufuncs mapped to expressions, custom functions with
user expressions checked against the Python function, and the expression language's checks."""
import os
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import kiln_export
from kiln_export.errors import ExportError, UnsupportedError, VerificationError
from kiln_export.expr import ExprError, compile_expr
from conftest import export_ok

HERE = os.path.dirname(os.path.abspath(__file__))


def diabetes():
    from sklearn.datasets import load_diabetes
    return load_diabetes(return_X_y=True, as_frame=True)


def ratio_features(X):
    return np.c_[X["bmi"] / np.maximum(X["bp"] + 0.2, 0.05), np.log1p(np.abs(X["s5"]))]


RATIO_EXPRS = {"ratio": "bmi / max(bp + 0.2, 0.05)", "log_s5": "log1p(abs(s5))"}


def branchy(X):
    # Differs from its expression only where s5 > 0.1: rare in the data.
    return np.c_[np.where(X["s5"] > 0.1, 2 * X["s5"], X["s5"])]


def _ratio_pipeline():
    X, y = diabetes()
    return Pipeline([("features", FunctionTransformer(ratio_features)), ("scale", StandardScaler()),
                     ("ridge", Ridge())]).fit(X, y), X, y


def test_custom_function_with_matching_expressions_exports_and_reproduces():
    est, X, _ = _ratio_pipeline()
    model = export_ok(est, expressions=RATIO_EXPRS, rows=X.iloc[::10], check_rows=X)
    step = model["transform"]["steps"][0]
    assert step == {"kind": "expressions", "outputs": [{"name": n, "expr": e} for n, e in RATIO_EXPRS.items()]}
    # the reference interpreter's expression values are the Python function's, row by row
    comp = [compile_expr(e, list(X.columns), ["number"] * X.shape[1]) for e in RATIO_EXPRS.values()]
    want = ratio_features(X)
    got = np.array([[c.eval(list(map(float, r))) for c in comp] for r in X.itertuples(index=False)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_wrong_expression_is_refused_with_the_first_disagreeing_row():
    est, X, _ = _ratio_pipeline()
    rows = X.iloc[::10]
    wrong = dict(RATIO_EXPRS, ratio="bmi / max(bp + 0.2, 0.5)")
    with pytest.raises(VerificationError) as info:
        kiln_export.export(est, expressions=wrong, rows=rows)
    msg = str(info.value)
    # find the first row where the two disagree, from the Python side
    py = ratio_features(rows)[:, 0]
    mine = rows["bmi"] / np.maximum(rows["bp"] + 0.2, 0.5)
    i = int(np.flatnonzero(~np.isclose(py, mine, rtol=1e-9, atol=1e-9))[0])
    r = rows.iloc[i]
    assert (f"steps[0] 'features' (FunctionTransformer func=ratio_features): expression 'ratio' = "
            f"'bmi / max(bp + 0.2, 0.5)' disagrees with the Python function on verification row {i}: "
            f"inputs {{bmi: {float(r['bmi'])!r}, bp: {float(r['bp'])!r}}}; Python {float(py[i])!r}, "
            f"expression {float(mine.iloc[i])!r}") in msg


def test_check_rows_catch_what_the_verification_rows_miss():
    X, y = diabetes()
    est = make_pipeline(FunctionTransformer(branchy), Ridge()).fit(X, y)
    calm = X[X["s5"] <= 0.1].iloc[:20]
    kiln_export.export(est, expressions={"s5x": "s5"}, rows=calm)  # agrees on these rows
    with pytest.raises(VerificationError, match=r"on check_rows row \d+: inputs \{s5: 0\.1\d*"):
        kiln_export.export(est, expressions={"s5x": "s5"}, rows=calm, check_rows=X)


def test_custom_function_without_expressions_says_how_to_give_them():
    est, X, _ = _ratio_pipeline()
    with pytest.raises(UnsupportedError, match=r"func=ratio_features is a custom Python function.*"
                                               r"--expr NAME='EXPR'.*'features:NAME'"):
        kiln_export.export(est)


def test_expression_count_and_names_are_checked():
    est, X, _ = _ratio_pipeline()
    with pytest.raises(ExportError, match="'scale' \\(StandardScaler\\): fitted on 2 columns but receives a frame of 1"):
        kiln_export.export(est, expressions={"ratio": RATIO_EXPRS["ratio"]}, rows=X.iloc[:5])
    with pytest.raises(ExportError, match="expression 'ratio' = 'bmi / bpp': at character 7: unknown column 'bpp'"):
        kiln_export.export(est, expressions={"ratio": "bmi / bpp", "log_s5": "s5"})
    with pytest.raises(ExportError, match=r"expressions \['other:x'\] were not used"):
        kiln_export.export(est, expressions={**RATIO_EXPRS, "other:x": "1"}, rows=X.iloc[:5])


def test_scoped_expressions_for_two_functions():
    X, y = diabetes()
    est = Pipeline([
        ("f", ColumnTransformer([
            ("a", FunctionTransformer(lambda d: np.c_[d["bmi"] * 2]), ["bmi"]),
            ("b", FunctionTransformer(lambda d: np.c_[d["bp"] - d["s1"]]), ["bp", "s1"]),
        ])),
        ("ridge", Ridge())]).fit(X, y)
    with pytest.raises(ExportError, match="several FunctionTransformers need expressions"):
        kiln_export.export(est, expressions={"x": "bmi * 2"})
    model = export_ok(est, expressions={"a:double_bmi": "bmi * 2", "b:gap": "bp - s1"}, rows=X.iloc[::20])
    outs = [t["transform"]["outputs"] for t in model["transform"]["steps"][0]["transformers"]]
    assert outs == [[{"name": "double_bmi", "expr": "bmi * 2"}], [{"name": "gap", "expr": "bp - s1"}]]


@pytest.mark.parametrize("func, kw, expr", [
    (np.log1p, None, "log1p($0)"), (np.log, None, "log($0)"), (np.exp, None, "exp($0)"),
    (np.sqrt, None, "sqrt($0)"), (np.abs, None, "abs($0)"), (np.square, None, "square($0)"),
    (np.clip, {"a_min": 0.1, "a_max": 0.2}, "clip($0, 0.1, 0.2)"),
    (np.clip, {"a_min": None, "a_max": 0.2}, "min($0, 0.2)"),
])
def test_ufuncs_map_to_per_column_expressions(cancer, func, kw, expr):
    X, y = cancer
    cols = ["mean smoothness", "mean symmetry", "worst symmetry"]
    est = Pipeline([("f", ColumnTransformer([("u", FunctionTransformer(func, kw_args=kw), cols)],
                                            remainder="passthrough")),
                    ("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=5000))]).fit(X, y)
    model = export_ok(est, rows=X.iloc[::25])
    outs = model["transform"]["steps"][0]["transformers"][0]["transform"]["outputs"]
    assert [o["expr"] for o in outs] == [expr.replace("$0", f"${j}") for j in range(3)]


def test_ufunc_after_a_step_and_kw_args_refused(cancer):
    X, y = cancer
    est = make_pipeline(StandardScaler(), FunctionTransformer(np.exp), LogisticRegression(max_iter=5000)).fit(X, y)
    export_ok(est, rows=X.iloc[::25])
    bad = make_pipeline(FunctionTransformer(np.log1p, kw_args={"where": True}), Ridge())
    bad.fit(X, np.arange(len(X), dtype=float))
    with pytest.raises(UnsupportedError, match="kw_args for np.log1p"):
        kiln_export.export(bad)


def colour_flags(X):
    return np.c_[X["colour"].isin(["red", "blue"]).astype(float), (X["size"] == "XL").astype(float),
                 X["colour"].isna().astype(float), X["age"].fillna(40.0) / 10.0]


def test_string_membership_on_a_mixed_table(mixed):
    X, y = mixed[0], mixed[1]
    est = Pipeline([("f", ColumnTransformer([
        ("flags", FunctionTransformer(colour_flags), ["colour", "size", "age"]),
        ("oh", OneHotEncoder(handle_unknown="ignore"), ["size"]),
    ])), ("lr", LogisticRegression(max_iter=2000))]).fit(X, y)
    exprs = {"warm": "colour in ('red', 'blue')", "xl": "size == \"XL\"", "no_colour": "is_null(colour)",
             "age10": "coalesce(age, 40) / 10"}
    model = export_ok(est, expressions=exprs, check_rows=X)
    kinds = {i["name"]: i.get("dtype") for i in model["inputs"]}
    assert kinds["colour"] == "string" and kinds["size"] == "string"
    # unseen and missing colours are among the synthesised verification rows
    colours = {r["input"]["colour"] for r in model["verification"]["rows"]}
    assert None in colours and "__kiln_unseen__" in colours
    with pytest.raises(ExportError, match="column 'colour' is a string category column"):
        kiln_export.export(est, expressions={**exprs, "warm": "colour + 1"}, check_rows=X)


@pytest.mark.parametrize("src, needle", [
    ("a +", "at character 4: expected a number"), ("(a", "expected ')'"), ("a b", "unexpected name 'b'"),
    ("a = 1", "'=' is not an operator"), ("a < b < 1", "cannot be chained"), ("lg(a)", "unknown function 'lg'"),
    ("log(a, b)", "log() takes 1 argument, got 2"), ("nope", "unknown column 'nope'"), ("$5", "column $5 does not exist"),
    ("c + 1", "string category column"), ("c == 1", "compare it with a string literal"),
    ("a == 'x'", "must be a string category column"), ("'x'", "is not a number"),
    ("a + 1e999", "at character 5: number out of range"),
])
def test_expression_errors_mirror_the_engine(src, needle):
    with pytest.raises(ExprError) as info:
        compile_expr(src, ["a", "b", "c"], ["number", "number", "string"])
    assert needle in str(info.value)
    assert not info.value.limit


def test_expression_limits():
    with pytest.raises(ExprError, match="nests deeper than the limit of 64") as info:
        compile_expr("(" * 65 + "a" + ")" * 65, ["a"], ["number"])
    assert info.value.limit
    assert compile_expr(" + ".join(["a"] * 2000), ["a"], ["number"]).eval([1.0]) == 2000.0


def test_ieee_results_match_numpy():
    f = compile_expr("a / b", ["a", "b"], ["number", "number"])
    with np.errstate(all="ignore"):
        for a, b in [(1.0, 0.0), (-1.0, 0.0), (0.0, 0.0), (np.nan, 1.0)]:
            np.testing.assert_equal(f.eval([a, b]), np.float64(a) / np.float64(b))
        for name, fn in [("log", np.log), ("log1p", np.log1p), ("sqrt", np.sqrt), ("exp", np.exp)]:
            g = compile_expr(f"{name}(a)", ["a"], ["number"])
            for v in [0.0, -1.0, -2.0, 1e3, np.nan]:
                np.testing.assert_equal(g.eval([v]), fn(np.float64(v)))
    assert np.isnan(compile_expr("min(a, 1)", ["a"], ["number"]).eval([None]))
    assert compile_expr("if(a, 1, 2)", ["a"], ["number"]).eval([np.nan]) == 1.0


def test_cli_expr_refuses_a_wrong_expression_with_the_row(tmp_path):
    est, X, _ = _ratio_pipeline()
    path = tmp_path / "ratio.joblib"
    joblib.dump(est, path)
    out = tmp_path / "ratio.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "kiln_export", str(path), "-o", str(out), *args],
                              capture_output=True, text=True, env=env)
    r = run("--expr", "ratio=bmi / max(bp + 0.2, 0.05)", "--expr", "log_s5=log1p(s5)")
    assert r.returncode == 1
    assert "expression 'log_s5' = 'log1p(s5)' disagrees with the Python function on verification row" in r.stderr
    assert not out.exists()
    r = run("--expr", "ratio=bmi / max(bp + 0.2, 0.05)", "--expr", "log_s5=log1p(abs(s5))")
    assert r.returncode == 0, r.stderr
    assert out.exists()
    r = run("--expr", "ratio")
    assert r.returncode == 1 and "expected NAME=EXPRESSION" in r.stderr


def test_an_input_typed_string_later_in_the_walk_is_rechecked(mixed):
    X, y = mixed[0], mixed[1]
    est = Pipeline([("f", ColumnTransformer([
        ("flags", FunctionTransformer(lambda d: np.c_[d["age"].fillna(0.0)]), ["colour", "age"]),
        ("oh", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
    ])), ("lr", LogisticRegression(max_iter=2000))]).fit(X, y)
    with pytest.raises(ExportError, match="expression 'x' = 'colour \\+ coalesce\\(age, 0\\)'.*string category column"):
        kiln_export.export(est, expressions={"x": "colour + coalesce(age, 0)"})

