"""Real data for the parity tests: sklearn's bundled datasets, plus a mixed table built from one of
them with string categories and missing values (the shape of a typical business table)."""

import numpy as np
import pandas as pd
from sklearn import datasets


def _frame(bunch):
    X = pd.DataFrame(bunch.data, columns=[str(c) for c in bunch.feature_names])
    return X, bunch.target


def iris():
    return _frame(datasets.load_iris())


def wine():
    return _frame(datasets.load_wine())


def breast_cancer():
    X, y = _frame(datasets.load_breast_cancer())
    # String labels exercise label mapping end to end.
    return X, np.where(y == 1, "benign", "malignant")


def digits():
    X, y = _frame(datasets.load_digits())
    return X, y


def diabetes():
    return _frame(datasets.load_diabetes())


def mixed():
    """diabetes with string categories, numeric categories and ~10% missing values.

    Columns: age, bmi, bp, s1..s6 (numbers, some missing), sex (string, some missing),
    bmi_band (string, derived), visit (number category 1..4). Target: binary, y > median.
    """
    bunch = datasets.load_diabetes()
    rng = np.random.default_rng(20261124)
    X = pd.DataFrame(bunch.data, columns=bunch.feature_names)
    n = len(X)
    out = pd.DataFrame({
        "age": X["age"], "bmi": X["bmi"], "bp": X["bp"],
        "s1": X["s1"], "s2": X["s2"], "s3": X["s3"], "s4": X["s4"], "s5": X["s5"], "s6": X["s6"],
    })
    out["sex"] = np.where(X["sex"] > 0, "male", "female").astype(object)
    out["bmi_band"] = pd.cut(X["bmi"], bins=[-1, -0.03, 0.0, 0.03, 1],
                             labels=["under", "normal", "over", "obese"]).astype(str).astype(object)
    out["visit"] = rng.integers(1, 5, size=n).astype(float)
    for col in ["age", "bmi", "bp", "s1", "s5"]:
        mask = rng.random(n) < 0.10
        out.loc[mask, col] = np.nan
    mask = rng.random(n) < 0.10
    out.loc[mask, "sex"] = np.nan
    y = np.where(bunch.target > np.median(bunch.target), "high", "low")
    return out, y


def mixed_regression():
    X, _ = mixed()
    return X, datasets.load_diabetes().target


ALL = {
    "iris": iris, "wine": wine, "breast_cancer": breast_cancer, "digits": digits,
    "diabetes": diabetes, "mixed": mixed, "mixed_regression": mixed_regression,
}
