"""Parity cases for k-nearest neighbours (issue 3). Same shape as cases.CASES, which appends these.

FIT_SPLIT (case -> rows compared): these cases fit on a training split (every row whose position
is not a multiple of 4) and are compared on "all" rows or only the "held_out" ones. sklearn's
brute-force euclidean search computes distances as |x|^2 - 2 x.y + |y|^2 (BLAS), so a query equal
to a training row gets a distance of 0 or ~1e-8 depending on rounding: with 'distance' weights
that decides the answer, so brute-force 'distance' cases compare held-out rows only
(docs/supported-estimators.md, "k-nearest neighbours").
"""

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _scaled(est):
    return make_pipeline(StandardScaler(), est)


CASES = [
    # Default algorithm='auto': a KD-tree here (<= 15 features), brute force for breast_cancer (30).
    ("iris_knn", "iris", lambda: KNeighborsClassifier()),
    ("iris_knn_distance_k8", "iris", lambda: KNeighborsClassifier(n_neighbors=8, weights="distance")),
    ("iris_knn_manhattan_ball_tree", "iris",
     lambda: KNeighborsClassifier(n_neighbors=6, metric="manhattan", algorithm="ball_tree", weights="distance")),
    ("wine_knn_scaled", "wine", lambda: _scaled(KNeighborsClassifier(n_neighbors=7))),
    ("wine_knn_minkowski3_distance", "wine",
     lambda: _scaled(KNeighborsClassifier(n_neighbors=5, p=3, weights="distance"))),
    ("wine_knn_chebyshev_brute", "wine",
     lambda: _scaled(KNeighborsClassifier(n_neighbors=4, metric="chebyshev", algorithm="brute"))),
    ("wine_knn_brute", "wine", lambda: _scaled(KNeighborsClassifier(algorithm="brute"))),
    ("wine_knn_brute_distance", "wine", lambda: _scaled(KNeighborsClassifier(algorithm="brute", weights="distance"))),
    ("breast_cancer_knn", "breast_cancer", lambda: KNeighborsClassifier()),
    ("breast_cancer_knn_scaled_distance", "breast_cancer",
     lambda: _scaled(KNeighborsClassifier(n_neighbors=9, weights="distance"))),
    ("breast_cancer_knn_manhattan_brute_distance", "breast_cancer",
     lambda: _scaled(KNeighborsClassifier(metric="manhattan", algorithm="brute", weights="distance"))),
    ("diabetes_knn_regressor", "diabetes", lambda: KNeighborsRegressor()),
    ("diabetes_knn_regressor_distance", "diabetes", lambda: KNeighborsRegressor(n_neighbors=10, weights="distance")),
    ("diabetes_knn_regressor_brute_distance", "diabetes",
     lambda: _scaled(KNeighborsRegressor(n_neighbors=6, algorithm="brute", weights="distance"))),
    ("diabetes_knn_regressor_manhattan_brute", "diabetes",
     lambda: KNeighborsRegressor(n_neighbors=4, metric="manhattan", algorithm="brute")),
]

FIT_SPLIT = {name: "all" for name, _, _ in CASES}
FIT_SPLIT.update({
    "wine_knn_brute_distance": "held_out",
    "breast_cancer_knn_scaled_distance": "held_out",  # 30 features: auto picks brute force
    "diabetes_knn_regressor_brute_distance": "held_out",
})


def split(n):
    """(train positions, held-out positions) of a data set of n rows."""
    held = list(range(0, n, 4))
    return [i for i in range(n) if i % 4], held
