"""Parity cases for the boosted-tree families beyond sklearn's GradientBoosting:
HistGradientBoosting (float64 splits, learned missing-value routing, native categorical splits).

Datasets here are sklearn's bundled ones with 10% of every numeric input set to NaN and one
integer-coded categorical column (derived from the data, so the trees split on it), also 10% NaN.
They are registered into datasets.ALL on import. cases.py appends CASES to its list.
"""

import re

import numpy as np
import pandas as pd
import sklearn
from sklearn import datasets as skd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

import datasets

SEED = 0
NAN_FRACTION = 0.10
CAT = "grade"  # the categorical column the *_nan_cat datasets add (last column)


def _nan_cat(bunch, source_feature, seed):
    """bunch's features with 10% NaN per column plus CAT: 8 quantile bins of source_feature,
    a tenth of them replaced by a random bin, then 10% NaN."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(bunch.data, columns=[str(c) for c in bunch.feature_names])
    src = X[source_feature].to_numpy()
    grade = np.searchsorted(np.quantile(src, np.linspace(0, 1, 9)[1:-1]), src).astype(float)
    flip = rng.random(len(X)) < 0.10
    grade[flip] = rng.integers(0, 8, flip.sum())
    for col in X.columns:
        X.loc[rng.random(len(X)) < NAN_FRACTION, col] = np.nan
    grade[rng.random(len(X)) < NAN_FRACTION] = np.nan
    X[CAT] = grade
    return X


def breast_cancer_nan_cat():
    bunch = skd.load_breast_cancer()
    return _nan_cat(bunch, "mean radius", 1), np.where(bunch.target == 1, "benign", "malignant")


def wine_nan_cat():
    bunch = skd.load_wine()
    return _nan_cat(bunch, "proline", 2), bunch.target


def diabetes_nan_cat():
    bunch = skd.load_diabetes()
    return _nan_cat(bunch, "bmi", 3), bunch.target


datasets.ALL.update({"breast_cancer_nan_cat": breast_cancer_nan_cat, "wine_nan_cat": wine_nan_cat,
                     "diabetes_nan_cat": diabetes_nan_cat})

# Values LightGBM reads as zero (|x| <= kZeroThreshold, the float32 1e-35) besides 0.0.
_ZERO_EDGES = np.array([-0.0, 1e-36, -1e-36, 1e-35, float(np.float32(1e-35)), -float(np.float32(1e-35)), 5e-324])


def _nan_zero(loader, seed):
    """For zero_as_missing=True: the features with 10% NaN, 10% real zeros and 2% values that
    LightGBM also reads as zero (_ZERO_EDGES), per column."""
    bunch = loader()
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(bunch.data, columns=[str(c) for c in bunch.feature_names])
    for col in X.columns:
        u = rng.random(len(X))
        X.loc[u < NAN_FRACTION, col] = np.nan
        X.loc[(u >= NAN_FRACTION) & (u < 2 * NAN_FRACTION), col] = 0.0
        edge = u >= 0.98
        X.loc[edge, col] = rng.choice(_ZERO_EDGES, size=int(edge.sum()))
    return X, bunch.target


datasets.ALL.update({"breast_cancer_nan_zero": lambda: _nan_zero(skd.load_breast_cancer, 4),
                     "wine_nan_zero": lambda: _nan_zero(skd.load_wine, 5),
                     "diabetes_nan_zero": lambda: _nan_zero(skd.load_diabetes, 6)})


def _lightgbm_names(name):
    """Dataset `name` with LightGBM's feature names (whitespace -> "_"): LightGBM renames the
    columns it is fitted on, and a model's inputs carry the names it was fitted with."""
    def load():
        X, y = datasets.ALL[name]()
        return X.rename(columns=lambda c: re.sub(r"\s", "_", str(c))), y
    return load


for _name in ["breast_cancer", "iris", "diabetes", "breast_cancer_nan_cat", "wine_nan_cat", "diabetes_nan_cat",
              "breast_cancer_nan_zero", "wine_nan_zero", "diabetes_nan_zero"]:
    datasets.ALL[_name + "_lgbm_names"] = _lightgbm_names(_name)


_WIDTH = {"breast_cancer_nan_cat": 30, "wine_nan_cat": 13, "diabetes_nan_cat": 10}  # features before CAT


def _last_categorical(dataset, make, **kw):
    """The dataset's last column (CAT) as the categorical feature, by index."""
    return lambda: make(categorical_features=[_WIDTH[dataset]], random_state=SEED, **kw)


def _needs(version, what):
    if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < version:
        raise ValueError(f"{what} needs scikit-learn >= {version[0]}.{version[1]}")


def _strings_native():
    # String categories handled by the estimator itself (its internal OrdinalEncoder): 1.4+.
    _needs((1, 4), "categorical_features given by name with string categories")
    return HistGradientBoostingClassifier(max_iter=60, categorical_features=["sex", "bmi_band", "visit"],
                                          random_state=SEED)


def _ordinal_then_hgb(make, **kw):
    prep = ColumnTransformer([("cat", OrdinalEncoder(), ["sex", "bmi_band"])], remainder="passthrough")
    return Pipeline([("prep", prep), ("hgb", make(categorical_features=[0, 1], random_state=SEED, **kw))])


def _lightgbm(kind, **kw):
    """LGBMClassifier / LGBMRegressor (requirements/sklearn-latest.txt only)."""
    try:
        import lightgbm
    except ImportError:
        raise ValueError("lightgbm is not installed in this environment")
    return getattr(lightgbm, kind)(random_state=SEED, verbose=-1, n_jobs=1, **kw)


def _lightgbm_cat(dataset, kind, **kw):
    def build():
        est = _lightgbm(kind, **kw)
        fit = est.fit
        est.fit = lambda X, y, **f: fit(X, y, categorical_feature=[_WIDTH[dataset]], **f)
        return est
    return build


def _lightgbm_pipeline(kind, **kw):
    prep = ColumnTransformer([("cat", OrdinalEncoder(), ["sex", "bmi_band"])], remainder="passthrough")
    return Pipeline([("prep", prep), ("lgbm", _lightgbm(kind, **kw))])


CASES = [
    ("breast_cancer_hist_gb", "breast_cancer", lambda: HistGradientBoostingClassifier(max_iter=80, random_state=SEED)),
    ("iris_hist_gb", "iris", lambda: HistGradientBoostingClassifier(max_iter=40, random_state=SEED)),
    ("diabetes_hist_gb", "diabetes", lambda: HistGradientBoostingRegressor(max_iter=80, random_state=SEED)),
    ("breast_cancer_nan_cat_hist_gb", "breast_cancer_nan_cat",
     _last_categorical("breast_cancer_nan_cat", HistGradientBoostingClassifier, max_iter=80)),
    ("wine_nan_cat_hist_gb", "wine_nan_cat",
     _last_categorical("wine_nan_cat", HistGradientBoostingClassifier, max_iter=40)),
    ("diabetes_nan_cat_hist_gb", "diabetes_nan_cat",
     _last_categorical("diabetes_nan_cat", HistGradientBoostingRegressor, max_iter=80, learning_rate=0.2)),
    ("diabetes_nan_cat_hist_gb_absolute", "diabetes_nan_cat",
     _last_categorical("diabetes_nan_cat", HistGradientBoostingRegressor, max_iter=40, loss="absolute_error")),
    ("mixed_ordinal_hist_gb", "mixed", lambda: _ordinal_then_hgb(HistGradientBoostingClassifier, max_iter=60)),
    ("mixed_regression_ordinal_hist_gb", "mixed_regression",
     lambda: _ordinal_then_hgb(HistGradientBoostingRegressor, max_iter=60)),
    ("mixed_strings_hist_gb", "mixed", _strings_native),
    # LightGBM
    ("breast_cancer_lightgbm", "breast_cancer_lgbm_names", lambda: _lightgbm("LGBMClassifier", n_estimators=60)),
    ("iris_lightgbm", "iris_lgbm_names", lambda: _lightgbm("LGBMClassifier", n_estimators=30, min_child_samples=5)),
    ("diabetes_lightgbm", "diabetes_lgbm_names", lambda: _lightgbm("LGBMRegressor", n_estimators=60)),
    ("breast_cancer_nan_cat_lightgbm", "breast_cancer_nan_cat_lgbm_names",
     _lightgbm_cat("breast_cancer_nan_cat", "LGBMClassifier", n_estimators=60, min_data_per_group=10, cat_smooth=1)),
    ("wine_nan_cat_lightgbm", "wine_nan_cat_lgbm_names",
     _lightgbm_cat("wine_nan_cat", "LGBMClassifier", n_estimators=40, min_child_samples=5, min_data_per_group=5,
                   cat_smooth=1)),
    ("diabetes_nan_cat_lightgbm", "diabetes_nan_cat_lgbm_names",
     _lightgbm_cat("diabetes_nan_cat", "LGBMRegressor", n_estimators=60, min_data_per_group=10, cat_smooth=1)),
    # missing type Zero: NaN read as 0.0, zeros (and |x| <= kZeroThreshold) the default way
    ("breast_cancer_zero_lightgbm", "breast_cancer_nan_zero_lgbm_names",
     lambda: _lightgbm("LGBMClassifier", n_estimators=60, zero_as_missing=True)),
    ("wine_zero_lightgbm", "wine_nan_zero_lgbm_names",
     lambda: _lightgbm("LGBMClassifier", n_estimators=40, min_child_samples=5, zero_as_missing=True)),
    ("diabetes_zero_lightgbm", "diabetes_nan_zero_lgbm_names",
     lambda: _lightgbm("LGBMRegressor", n_estimators=60, zero_as_missing=True)),
    ("mixed_lightgbm_pipeline", "mixed", lambda: _lightgbm_pipeline("LGBMClassifier", n_estimators=40)),
    ("mixed_regression_lightgbm_pipeline", "mixed_regression",
     lambda: _lightgbm_pipeline("LGBMRegressor", n_estimators=40)),
]
