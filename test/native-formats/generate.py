"""Fits LightGBM and XGBoost models on sklearn's bundled datasets (10% NaN, most with a categorical
column: XGBoost's as feature_types "c", the file's inputs being the integer codes), saves them in the library's own format (LightGBM's text, XGBoost's JSON, both by
Booster.save_model) and writes what the library itself predicts.

    python test/native-formats/generate.py OUT_DIR

OUT_DIR/manifest.json lists the cases; per case OUT_DIR/<case>/<file> (the case's "file") and expected.json:
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


def _data(loader, seed, categorical, zeros=False):
    rng = np.random.default_rng(seed)
    bunch = loader()
    X = np.asarray(bunch.data, dtype=np.float64).copy()
    X[rng.random(X.shape) < 0.10] = np.nan
    if zeros:  # zero_as_missing cases: 10% real zeros, and values LightGBM reads as zero
        X[rng.random(X.shape) < 0.10] = 0.0
        edge = np.array([-0.0, 1e-36, -1e-36, float(np.float32(1e-35)), -float(np.float32(1e-35)), 5e-324])
        pick = rng.random(X.shape) < 0.02
        X[pick] = rng.choice(edge, size=int(pick.sum()))
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
              {"objective": "multiclass", "num_class": 3, "use_missing": False}),
             # missing type Zero: NaN read as 0.0, and |x| <= kZeroThreshold goes the default way
             ("lgb_breast_cancer_zero_binary", skd.load_breast_cancer, True,
              {"objective": "binary", "zero_as_missing": True}),
             ("lgb_wine_zero_multiclass", skd.load_wine, True,
              {"objective": "multiclass", "num_class": 3, "zero_as_missing": True}),
             ("lgb_diabetes_zero_regression", skd.load_diabetes, True,
              {"objective": "regression", "zero_as_missing": True})]
    for i, (name, loader, cat, params) in enumerate(specs):
        X, y = _data(loader, i + 1, cat, zeros=bool(params.get("zero_as_missing")))
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
        tree_info = booster.dump_model()["tree_info"]
        n_cat = sum(1 for t in tree_info for _ in _cat_nodes(t["tree_structure"]))
        n_zero = sum(1 for t in tree_info for _ in _zero_nodes(t["tree_structure"]))
        cases.append({"name": name, "library": "lightgbm", "version": lgb.__version__, "rows": len(X),
                      "file": "model.txt", "categorical_splits": n_cat, "zero_splits": n_zero, "tolerance": 1e-9})
    return cases


def xgboost_cases(out):
    """XGBoost computes in float32 (Kiln in float64): probabilities and margins within 1e-6,
    regression values within 1e-6 relative (a float32 near 150 is only known to ~1e-5)."""
    import xgboost as xgb
    cases = []
    # (name, loader, params, named, categorical): max_cat_to_onehot above the 6 codes gives
    # one-hot splits, the default partition splits.
    specs = [("xgb_breast_cancer_binary", skd.load_breast_cancer, {"objective": "binary:logistic"}, False, True),
             ("xgb_wine_multiclass", skd.load_wine, {"objective": "multi:softprob", "num_class": 3}, False, True),
             ("xgb_diabetes_regression", skd.load_diabetes, {"objective": "reg:squarederror"}, False, True),
             ("xgb_iris_multiclass_named", skd.load_iris, {"objective": "multi:softprob", "num_class": 3}, True, False),
             ("xgb_diabetes_onehot", skd.load_diabetes,
              {"objective": "reg:squarederror", "max_cat_to_onehot": 8}, False, True)]
    for i, (name, loader, params, named, cat) in enumerate(specs):
        X, y = _data(loader, 10 + i, cat)
        names = [f"x_{j}" for j in range(X.shape[1])] if named else None
        types = ["q"] * (X.shape[1] - 1) + ["c"] if cat else None
        p = dict(params, nthread=1, seed=SEED, max_depth=4, eta=0.3, tree_method="hist")
        dm = xgb.DMatrix(X, y, feature_names=names, feature_types=types, enable_categorical=cat)
        booster = xgb.train(p, dm, num_boost_round=40)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        booster.save_model(os.path.join(d, "model.json"))
        exp = {"rows": _rows(X), "label": None, "probabilities": None, "decision": None, "value": None}
        pred = booster.predict(dm)
        if params["objective"] == "reg:squarederror":
            exp["value"] = np.asarray(pred, dtype=float).tolist()
        else:
            prob = np.column_stack([1 - pred, pred]) if pred.ndim == 1 else pred
            exp["probabilities"] = _matrix(prob)
            exp["decision"] = _matrix(booster.predict(dm, output_margin=True))
            exp["label"] = (pred > 0.5).astype(int).tolist() if pred.ndim == 1 else np.argmax(pred, axis=1).tolist()
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump(exp, f, allow_nan=False)
        n_cat = sum(sum(1 for s in t.get("split_type", []) if int(s) == 1)
                    for t in json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]["model"]["trees"])
        cases.append({"name": name, "library": "xgboost", "version": xgb.__version__, "rows": len(X),
                      "file": "model.json", "categorical_splits": n_cat,
                      "tolerance": {"absolute": 1e-6, "relative": 1e-6}})
    return cases


def _cat_nodes(node):
    if "split_index" in node:
        if node["decision_type"] == "==":
            yield node
        yield from _cat_nodes(node["left_child"])
        yield from _cat_nodes(node["right_child"])


def _zero_nodes(node):
    if "split_index" in node:
        if node.get("missing_type") == "Zero":
            yield node
        yield from _zero_nodes(node["left_child"])
        yield from _zero_nodes(node["right_child"])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {"cases": [], "not_applicable": []}
    for lib, fn in [("lightgbm", lightgbm_cases), ("xgboost", xgboost_cases)]:
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
