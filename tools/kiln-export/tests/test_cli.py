import json
import os
import pickle
import subprocess
import sys

import joblib
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from kiln_export.cli import main
from conftest import assert_valid_model


@pytest.fixture
def iris_model(iris, tmp_path):
    X, y = iris
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    path = tmp_path / "iris_pipe.joblib"
    joblib.dump(est, path)
    return est, path


def run(*args):
    return subprocess.run([sys.executable, "-m", "kiln_export", *map(str, args)],
                          capture_output=True, text=True)


def test_cli_joblib(iris_model, tmp_path):
    est, path = iris_model
    out = tmp_path / "out.json"
    r = run(path, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    model = json.loads(out.read_text())
    assert model["name"] == "iris_pipe"
    assert_valid_model(model, est)


def test_cli_pickle_name_rows(iris, tmp_path):
    X, y = iris
    est = LogisticRegression(max_iter=1000).fit(X.to_numpy(), y)
    path = tmp_path / "m.pkl"
    with open(path, "wb") as f:
        pickle.dump(est, f)
    rows = tmp_path / "rows.csv"
    pd.DataFrame(X.to_numpy()[:5], columns=list("abcd")).to_csv(rows, index=False)
    out = tmp_path / "m.json"
    assert main([str(path), "-o", str(out), "--name", "flowers", "--rows", str(rows),
                 "--feature-names", "a,b,c,d"]) == 0
    model = json.loads(out.read_text())
    assert model["name"] == "flowers" and len(model["verification"]["rows"]) == 5
    assert [i["name"] for i in model["inputs"]] == list("abcd")
    assert_valid_model(model, est)


@pytest.mark.parametrize("ext", [".json", ".jsonl"])
def test_cli_json_rows(mixed, tmp_path, ext):
    df, y, _, _ = mixed
    est = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression()).fit(df[["colour", "size"]], y)
    path = tmp_path / "m.joblib"
    joblib.dump(est, path)
    rows = [{"colour": "red", "size": "S"}, {"colour": None, "size": "M"}]
    rp = tmp_path / f"rows{ext}"
    rp.write_text(json.dumps(rows) if ext == ".json" else "\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "m.json"
    assert main([str(path), "-o", str(out), "--rows", str(rp)]) == 0
    model = json.loads(out.read_text())
    assert [r["input"] for r in model["verification"]["rows"]] == rows
    assert_valid_model(model, est)


def test_cli_unsupported_exit_2(iris, tmp_path):
    X, y = iris
    est = make_pipeline(FunctionTransformer(abs), LogisticRegression(max_iter=1000)).fit(X, y)
    path = tmp_path / "bad.joblib"
    joblib.dump(est, path)
    out = tmp_path / "bad.json"
    r = run(path, "-o", out)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "steps[0] 'functiontransformer' (FunctionTransformer): option func=abs is a custom Python function" in lines[0]
    assert not out.exists()


def test_cli_missing_file(tmp_path):
    r = run(tmp_path / "nope.pkl", "-o", tmp_path / "x.json")
    assert r.returncode == 1 and "error" in r.stderr


def test_cli_help():
    r = run("--help")
    assert r.returncode == 0
    for word in ("--rows", "--feature-names", "--name", "exit status"):
        assert word in r.stdout
