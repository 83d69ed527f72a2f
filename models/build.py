"""Regenerates the bundled example models from sklearn's bundled datasets.

    .venv/sklearn-latest/bin/python models/build.py [--out models]

Every model is fitted with a fixed seed and exported by kiln_export with verification rows taken
from the real data, so `kiln validate models/<name>.json` checks the engine against sklearn.
"""

import argparse
import os

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from kiln_export import export

SEED = 0


def breast_cancer():
    b = datasets.load_breast_cancer()
    X = pd.DataFrame(b.data, columns=[str(c) for c in b.feature_names])
    return X, np.where(b.target == 1, "benign", "malignant")


def iris():
    b = datasets.load_iris()
    return pd.DataFrame(b.data, columns=[str(c) for c in b.feature_names]), b.target_names[b.target]


def patients():
    """diabetes as a business-like table: string categories and ~10% missing values."""
    b = datasets.load_diabetes()
    rng = np.random.default_rng(SEED)
    X = pd.DataFrame(b.data, columns=b.feature_names)
    X["sex"] = np.where(X["sex"] > 0, "male", "female").astype(object)
    X["smoker"] = rng.choice(["never", "former", "current"], size=len(X)).astype(object)
    for col in ["bmi", "bp", "s5"]:
        X.loc[rng.random(len(X)) < 0.1, col] = np.nan
    X.loc[rng.random(len(X)) < 0.1, "smoker"] = np.nan
    return X, b.target


def models():
    Xb, yb = breast_cancer()
    yield "breast_cancer_logreg", make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)), Xb, yb
    yield "breast_cancer_rf", RandomForestClassifier(n_estimators=100, max_depth=8, random_state=SEED), Xb, yb
    yield "breast_cancer_gbm", GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=SEED), Xb, yb
    Xi, yi = iris()
    yield "iris_logreg", make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)), Xi, yi
    Xp, yp = patients()
    numeric = [c for c in Xp.columns if c not in ("sex", "smoker")]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="unknown"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)), ["sex", "smoker"]),
    ])
    yield "diabetes_progression_ridge", Pipeline([("prep", prep), ("ridge", Ridge(alpha=0.1))]), Xp, yp


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    for name, est, X, y in models():
        est.fit(X, y)
        path = os.path.join(args.out, f"{name}.json")
        export(est, path, name=name, rows=X.iloc[::max(1, len(X) // 40)])
        print(f"wrote {path} ({os.path.getsize(path) // 1024} KiB)")


if __name__ == "__main__":
    main()
