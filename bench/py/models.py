"""The benchmark's model list: one entry per model. Adding a model is one entry here.

Each entry fits a real model on real (or seeded synthetic) data. `bundled` names a file in
models/ that Kiln serves as-is; the bench refits the identical pipeline (models/build.py's own
definition) for the peers and checks that both give the same answers on the bench rows.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True)
class ModelSpec:
    id: str
    title: str
    make: Callable[[bool], tuple]  # quick -> (estimator, X DataFrame, y)
    bundled: Optional[str] = None  # models/<bundled>.json, else exported into the cache
    # (n_estimators, max_depth) of equivalent XGBoost/LightGBM models, for tree models
    boosted_equivalent: Optional[tuple] = None
    http: bool = False  # also measured over HTTP
    extra: dict = field(default_factory=dict)


def _bundled(name):
    """The estimator and data exactly as models/build.py fits them."""
    def make(quick):
        import build  # models/build.py, on sys.path via prepare.py
        for n, est, X, y in build.models():
            if n == name:
                return est, X, y
        raise KeyError(name)
    return make


# The large model: a forest far bigger than the bundled ones, on a seeded synthetic table.
LARGE_FEATURES = 100
LARGE_TREES, LARGE_DEPTH, LARGE_SAMPLES = 500, 10, 10_000
LARGE_TREES_QUICK, LARGE_SAMPLES_QUICK = 25, 4_000  # --quick: same shape of work, fitted in seconds


def _large(quick):
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    n = LARGE_SAMPLES_QUICK if quick else LARGE_SAMPLES
    X, y = make_classification(n_samples=n, n_features=LARGE_FEATURES, n_informative=40, n_redundant=20,
                               n_classes=2, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i:03d}" for i in range(LARGE_FEATURES)])
    trees = LARGE_TREES_QUICK if quick else LARGE_TREES
    return RandomForestClassifier(n_estimators=trees, max_depth=LARGE_DEPTH, random_state=0, n_jobs=2), X, y


def _digits_histgb(quick):
    import pandas as pd
    from sklearn.datasets import load_digits
    from sklearn.ensemble import HistGradientBoostingClassifier
    d = load_digits()
    X = pd.DataFrame(d.data, columns=[f"pixel_{i}" for i in range(d.data.shape[1])])
    return HistGradientBoostingClassifier(max_iter=20 if quick else 100, random_state=0), X, d.target


MODELS = [
    ModelSpec("breast_cancer_logreg", "breast_cancer StandardScaler + LogisticRegression",
              _bundled("breast_cancer_logreg"), bundled="breast_cancer_logreg", http=True),
    ModelSpec("breast_cancer_rf", "breast_cancer RandomForest 100 trees depth 8",
              _bundled("breast_cancer_rf"), bundled="breast_cancer_rf", boosted_equivalent=(100, 8), http=True),
    ModelSpec("breast_cancer_gbm", "breast_cancer GradientBoosting 100 trees depth 3",
              _bundled("breast_cancer_gbm"), bundled="breast_cancer_gbm", boosted_equivalent=(100, 3), http=True),
    ModelSpec("synthetic_rf_large", "synthetic 100 features, RandomForest 500 trees depth 10",
              _large, boosted_equivalent=(LARGE_TREES, LARGE_DEPTH)),
    ModelSpec("digits_histgb", "digits (10 classes) HistGradientBoosting 100 iterations",
              _digits_histgb, boosted_equivalent=(100, 6)),
]
