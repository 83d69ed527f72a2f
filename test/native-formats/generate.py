"""Fits LightGBM models on sklearn's bundled datasets (10% NaN, a categorical column), saves them
in LightGBM's own text format (Booster.save_model) and writes what LightGBM itself predicts.

    python test/native-formats/generate.py OUT_DIR

OUT_DIR/manifest.json lists the cases; per case OUT_DIR/<case>/model.txt and expected.json:
{"rows": [[...], ...] (NaN as null, in feature order), "label": [...] | null,
 "probabilities": [[...]] | null, "decision": [[...]] | null, "value": [...] | null}.
Cases whose library is not installed are listed under "not_applicable".
"""
import json
import os
import sys

import numpy as np
from sklearn import datasets as skd

SEED = 0


def _data(loader, seed, categorical):
    rng = np.random.default_rng(seed)
    bunch = loader()
    X = np.asarray(bunch.data, dtype=np.float64).copy()
    X[rng.random(X.shape) < 0.10] = np.nan
    if categorical:  # bins of the first feature with shuffled codes, 10% NaN
        src = np.nan_to_num(np.asarray(bunch.data, dtype=np.float64)[:, 0])
        grade = np.array([3, 0, 5, 1, 4, 2])[np.digitize(src, np.quantile(src, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]))]
        grade = grade.astype(np.float64)
        grade[rng.random(len(grade)) < 0.10] = np.nan
        X = np.hstack([X, grade[:, None]])
    return X, bunch.target


def _rows(X):
    return [[None if np.isnan(v) else float(v) for v in r] for r in X]


def _matrix(a):
    a = np.asarray(a, dtype=np.float64)
    return (a.reshape(-1, 1) if a.ndim == 1 else a).tolist()


def lightgbm_cases(out):
    import lightgbm as lgb
    cases = []
    specs = [("lgb_breast_cancer_binary", skd.load_breast_cancer, True, {"objective": "binary"}),
             ("lgb_wine_multiclass", skd.load_wine, True, {"objective": "multiclass", "num_class": 3}),
             ("lgb_diabetes_regression", skd.load_diabetes, True, {"objective": "regression"}),
             ("lgb_iris_multiclass_no_nan_type", skd.load_iris, False,
              {"objective": "multiclass", "num_class": 3, "use_missing": False})]
    for i, (name, loader, cat, params) in enumerate(specs):
        X, y = _data(loader, i + 1, cat)
        p = dict(params, verbose=-1, num_threads=1, seed=SEED, min_data_in_leaf=5, min_data_per_group=5,
                 cat_smooth=1, learning_rate=0.1)
        ds = lgb.Dataset(X, y, categorical_feature=[X.shape[1] - 1] if cat else "auto", free_raw_data=False)
        booster = lgb.train(p, ds, num_boost_round=40)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        booster.save_model(os.path.join(d, "model.txt"))
        raw = booster.predict(X, raw_score=True)
        exp = {"rows": _rows(X), "label": None, "probabilities": None, "decision": None, "value": None}
        if params["objective"] == "regression":
            exp["value"] = np.asarray(booster.predict(X), dtype=float).tolist()
        else:
            prob = booster.predict(X)
            prob = np.column_stack([1 - prob, prob]) if prob.ndim == 1 else prob
            exp["probabilities"] = _matrix(prob)
            exp["decision"] = _matrix(raw)
            exp["label"] = np.argmax(prob, axis=1).tolist()
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump(exp, f, allow_nan=False)
        n_cat = sum(1 for t in booster.dump_model()["tree_info"] for _ in _cat_nodes(t["tree_structure"]))
        cases.append({"name": name, "library": "lightgbm", "version": lgb.__version__, "rows": len(X),
                      "categorical_splits": n_cat, "tolerance": 1e-9})
    return cases


def _cat_nodes(node):
    if "split_index" in node:
        if node["decision_type"] == "==":
            yield node
        yield from _cat_nodes(node["left_child"])
        yield from _cat_nodes(node["right_child"])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {"cases": [], "not_applicable": []}
    for lib, fn in [("lightgbm", lightgbm_cases)]:
        try:
            __import__(lib)
        except ImportError as e:
            manifest["not_applicable"].append({"library": lib, "reason": str(e)})
            continue
        manifest["cases"].extend(fn(out))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
