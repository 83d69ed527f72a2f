"""Parity cases for FunctionTransformer: numpy ufuncs (mapped automatically) and custom Python
functions with the user-supplied Kiln expressions that reproduce them (docs/expressions.md).

EXPRESSIONS maps a case name to the ``expressions=`` argument generate.py passes to the
exporter, which checks each expression against the Python function on every training row
(``check_rows``) before writing the model.
"""

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

SEED = 0
NUMERIC = ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
CANCER_FEATURES = ["mean radius", "mean texture", "mean area", "mean perimeter", "worst area", "worst concavity"]


def diabetes_features(X):
    # A ratio with a guarded denominator, a log of a shifted column, a clipped product.
    return np.c_[
        X["bmi"] / np.maximum(X["bp"] + 0.2, 0.05),
        np.log(X["s5"] + 0.5),
        np.clip(X["s1"] * X["s2"] * 100.0, -1.0, 1.0),
        np.where(X["age"] > 0.0, X["bmi"], -X["bmi"]),
    ]


DIABETES_EXPRESSIONS = {
    "bmi_per_bp": "bmi / max(bp + 0.2, 0.05)",
    "log_s5": "log(s5 + 0.5)",
    "s1_s2": "clip(s1 * s2 * 100.0, -1, 1)",
    "signed_bmi": "if(age > 0, bmi, -bmi)",
}


def cancer_features(X):
    return np.c_[
        X["mean area"] / X["mean perimeter"],
        np.sqrt(X["worst area"]) - X["mean radius"],
        np.log1p(X["worst concavity"]) * 10.0,
        ((X["mean texture"] > 20.0) & (X["mean radius"] < 15.0)).astype(float),
    ]


CANCER_EXPRESSIONS = {
    "area_per_perimeter": "`mean area` / `mean perimeter`",
    "radius_gap": "sqrt(`worst area`) - `mean radius`",
    "log_concavity": "log1p(`worst concavity`) * 10",
    "textured_small": "`mean texture` > 20 and `mean radius` < 15",
}


def mixed_flags(X):
    # String category membership and equality, null checks and defaults on the mixed table.
    return np.c_[
        X["bmi_band"].isin(["over", "obese"]).astype(float),
        (X["sex"] == "male").astype(float),
        X["sex"].isna().astype(float),
        X["bmi"].fillna(0.0) * 10.0 + X["age"].isna(),
        np.where(X["visit"].isin([1.0, 2.0]), np.maximum(X["bp"].fillna(-1.0), X["s5"].fillna(-1.0)), 0.0),
    ]


MIXED_EXPRESSIONS = {
    "heavy": "bmi_band in ('over', 'obese')",
    "male": "sex == 'male'",
    "sex_missing": "is_null(sex)",
    "bmi_or_zero": "coalesce(bmi, 0) * 10 + is_null(age)",
    "early_max": "if(visit in (1, 2), max(coalesce(bp, -1), coalesce(s5, -1)), 0)",
}


def _diabetes_custom():
    return Pipeline([
        ("features", ColumnTransformer([
            ("custom", FunctionTransformer(diabetes_features), ["age", "bmi", "bp", "s1", "s2", "s5"]),
            ("raw", "passthrough", ["age", "sex", "bmi", "bp", "s3", "s4", "s6"]),
        ])),
        ("scale", StandardScaler()),
        ("ridge", Ridge(alpha=0.5)),
    ])


def _cancer_custom():
    return Pipeline([
        ("features", ColumnTransformer([
            ("custom", FunctionTransformer(lambda X: cancer_features(X)), CANCER_FEATURES),
            ("rest", StandardScaler(), slice(0, 30)),
        ])),
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(max_iter=5000)),
    ])


def _mixed_custom():
    return Pipeline([
        ("features", ColumnTransformer([
            ("flags", FunctionTransformer(mixed_flags), ["bmi_band", "sex", "bmi", "age", "visit", "bp", "s5"]),
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["bmi_band"]),
        ])),
        ("clf", GradientBoostingClassifier(n_estimators=40, random_state=SEED)),
    ])


def _cancer_ufuncs():
    return Pipeline([
        ("features", ColumnTransformer([
            ("log1p", FunctionTransformer(np.log1p), ["mean area", "worst area"]),
            ("sqrt", FunctionTransformer(np.sqrt), ["mean radius", "mean texture"]),
            ("log", FunctionTransformer(np.log), ["mean perimeter"]),
            ("square", FunctionTransformer(np.square), ["mean smoothness"]),
            ("clip", FunctionTransformer(np.clip, kw_args={"a_min": 0.0, "a_max": 0.1}), ["worst concavity"]),
            ("abs", FunctionTransformer(np.abs), ["mean symmetry"]),
        ], remainder=StandardScaler())),
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(max_iter=5000)),
    ])


def _diabetes_ufuncs():
    # exp of the (small, centred) diabetes columns, then log1p of its output: ufuncs in sequence.
    return make_pipeline(FunctionTransformer(np.exp), FunctionTransformer(np.log1p), StandardScaler(), Ridge())


CASES = [
    ("diabetes_expr_custom_ridge", "diabetes", _diabetes_custom),
    ("breast_cancer_expr_lambda_logreg", "breast_cancer", _cancer_custom),
    ("mixed_expr_strings_gradient_boosting", "mixed", _mixed_custom),
    ("breast_cancer_ufuncs_logreg", "breast_cancer", _cancer_ufuncs),
    ("diabetes_ufuncs_ridge", "diabetes", _diabetes_ufuncs),
]

EXPRESSIONS = {
    "diabetes_expr_custom_ridge": DIABETES_EXPRESSIONS,
    "breast_cancer_expr_lambda_logreg": CANCER_EXPRESSIONS,
    "mixed_expr_strings_gradient_boosting": MIXED_EXPRESSIONS,
}
