"""The parity cases: every transform and estimator Kiln supports, fitted on real data.

Each case is (name, dataset, build) where build() returns an unfitted estimator. A case whose
estimator the installed scikit-learn cannot build or fit (an option added or removed in a given
release) is reported as not applicable for that version, never silently dropped.
"""

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingClassifier,
                              GradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge,
                                  RidgeClassifier, SGDClassifier)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (Binarizer, MaxAbsScaler, MinMaxScaler, Normalizer, OneHotEncoder,
                                   OrdinalEncoder, RobustScaler, StandardScaler)
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

NUMERIC = ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
STRINGS = ["sex", "bmi_band"]
SEED = 0


def _logreg(**kw):
    return LogisticRegression(max_iter=5000, **kw)


def _mixed_onehot(clf, *, handle_unknown="ignore"):
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown=handle_unknown, sparse_output=False)), STRINGS),
        ("visit", OneHotEncoder(drop="first", sparse_output=False), ["visit"]),
    ], remainder="drop")
    return Pipeline([("prep", prep), ("clf", clf)])


def _mixed_ordinal(clf):
    prep = ColumnTransformer([
        ("num", SimpleImputer(strategy="mean", add_indicator=True), NUMERIC),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                               encoded_missing_value=-2), STRINGS),
    ], remainder="passthrough")
    return Pipeline([("prep", prep), ("clf", clf)])


def _mixed_constant(clf):
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="constant", fill_value=0.0), RobustScaler()), NUMERIC),
        ("sex", make_pipeline(SimpleImputer(strategy="constant", fill_value="unknown"),
                              OneHotEncoder(drop="if_binary", sparse_output=False)), ["sex"]),
        ("band", OneHotEncoder(handle_unknown="error", sparse_output=False), ["bmi_band"]),
        ("visit", "passthrough", ["visit"]),
    ])
    return Pipeline([("prep", prep), ("clf", clf)])


def _mixed_native_nan(clf):
    # Trees that route missing values themselves (sklearn >= 1.3 for trees, 1.4 for forests).
    prep = ColumnTransformer([
        ("cat", OrdinalEncoder(), STRINGS),
    ], remainder="passthrough")
    return Pipeline([("prep", prep), ("clf", clf)])


def _nested(clf):
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("inner", Pipeline([("scale", MaxAbsScaler())]))]), NUMERIC),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(sparse_output=False))]), STRINGS),
    ])
    return Pipeline([("prep", prep), ("post", Pipeline([("scale", StandardScaler())])), ("clf", clf)])


CASES = [
    # Linear classifiers
    ("iris_logreg", "iris", lambda: make_pipeline(StandardScaler(), _logreg())),
    ("iris_logreg_ovr", "iris", lambda: make_pipeline(StandardScaler(), _logreg(multi_class="ovr"))),
    ("breast_cancer_logreg", "breast_cancer", lambda: make_pipeline(StandardScaler(), _logreg())),
    ("breast_cancer_logreg_multinomial", "breast_cancer",
     lambda: make_pipeline(StandardScaler(), _logreg(multi_class="multinomial"))),
    ("breast_cancer_linearsvc", "breast_cancer", lambda: make_pipeline(StandardScaler(), LinearSVC(random_state=SEED))),
    ("breast_cancer_sgd_log", "breast_cancer",
     lambda: make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=SEED))),
    ("wine_sgd_hinge", "wine", lambda: make_pipeline(StandardScaler(), SGDClassifier(random_state=SEED))),
    ("wine_sgd_log", "wine", lambda: make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=SEED))),
    ("wine_ridge_classifier", "wine", lambda: make_pipeline(RobustScaler(), RidgeClassifier())),
    ("breast_cancer_ridge_classifier", "breast_cancer", lambda: make_pipeline(MaxAbsScaler(), RidgeClassifier())),
    ("wine_linearsvc", "wine", lambda: make_pipeline(MinMaxScaler(), LinearSVC(random_state=SEED))),
    ("digits_logreg", "digits", lambda: make_pipeline(MinMaxScaler(clip=True), _logreg())),
    ("digits_binarizer_logreg", "digits", lambda: make_pipeline(Binarizer(threshold=7.0), _logreg())),
    ("breast_cancer_normalizer_l2", "breast_cancer", lambda: make_pipeline(Normalizer(), _logreg())),
    ("iris_normalizer_l1", "iris", lambda: make_pipeline(Normalizer(norm="l1"), LinearSVC(random_state=SEED))),
    ("wine_normalizer_max", "wine", lambda: make_pipeline(Normalizer(norm="max"), _logreg())),
    ("wine_robust_no_centering", "wine", lambda: make_pipeline(RobustScaler(with_centering=False), _logreg())),
    ("iris_standard_no_mean", "iris", lambda: make_pipeline(StandardScaler(with_mean=False), _logreg())),
    # Trees
    ("digits_tree", "digits", lambda: DecisionTreeClassifier(random_state=SEED)),
    ("digits_random_forest", "digits", lambda: RandomForestClassifier(n_estimators=50, random_state=SEED)),
    ("wine_extra_trees", "wine", lambda: ExtraTreesClassifier(n_estimators=50, random_state=SEED)),
    ("breast_cancer_random_forest", "breast_cancer",
     lambda: RandomForestClassifier(n_estimators=100, max_depth=8, random_state=SEED)),
    ("breast_cancer_gradient_boosting", "breast_cancer",
     lambda: GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=SEED)),
    ("wine_gradient_boosting", "wine", lambda: GradientBoostingClassifier(n_estimators=50, random_state=SEED)),
    ("iris_gradient_boosting", "iris", lambda: GradientBoostingClassifier(n_estimators=30, random_state=SEED)),
    # Regression
    ("diabetes_linear", "diabetes", lambda: make_pipeline(StandardScaler(), LinearRegression())),
    ("diabetes_ridge", "diabetes", lambda: make_pipeline(RobustScaler(), Ridge(alpha=0.5))),
    ("diabetes_lasso", "diabetes", lambda: make_pipeline(MinMaxScaler(), Lasso(alpha=0.05))),
    ("diabetes_elastic_net", "diabetes", lambda: ElasticNet(alpha=0.01, l1_ratio=0.3)),
    ("diabetes_tree", "diabetes", lambda: DecisionTreeRegressor(max_depth=6, random_state=SEED)),
    ("diabetes_random_forest", "diabetes", lambda: RandomForestRegressor(n_estimators=50, random_state=SEED)),
    ("diabetes_extra_trees", "diabetes", lambda: ExtraTreesRegressor(n_estimators=50, random_state=SEED)),
    ("diabetes_gradient_boosting", "diabetes",
     lambda: GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=SEED)),
    # Mixed tables: imputers, encoders, column transformers, nesting
    ("mixed_onehot_logreg", "mixed", lambda: _mixed_onehot(_logreg())),
    ("mixed_onehot_error_svc", "mixed", lambda: _mixed_onehot(LinearSVC(random_state=SEED), handle_unknown="error")),
    ("mixed_ordinal_random_forest", "mixed",
     lambda: _mixed_ordinal(RandomForestClassifier(n_estimators=30, random_state=SEED))),
    ("mixed_constant_gradient_boosting", "mixed",
     lambda: _mixed_constant(GradientBoostingClassifier(n_estimators=40, random_state=SEED))),
    ("mixed_nested_logreg", "mixed", lambda: _nested(_logreg())),
    ("mixed_native_nan_tree", "mixed", lambda: _mixed_native_nan(DecisionTreeClassifier(max_depth=8, random_state=SEED))),
    ("mixed_native_nan_forest", "mixed",
     lambda: _mixed_native_nan(RandomForestClassifier(n_estimators=30, random_state=SEED))),
    ("mixed_regression_ridge", "mixed_regression", lambda: _mixed_ordinal(Ridge())),
    ("mixed_regression_gradient_boosting", "mixed_regression",
     lambda: _mixed_constant(GradientBoostingRegressor(n_estimators=50, random_state=SEED))),
    # FunctionTransformer: numpy ufuncs and custom functions with Kiln expressions
    *__import__("cases_expr").CASES,
]
CASES += __import__("cases_more").CASES  # issue 3: KBins, PolynomialFeatures, naive Bayes, MLP
CASES += __import__("cases_boosting").CASES  # issue 3: HistGradientBoosting, LightGBM (NaN, categorical splits)
CASES += __import__("cases_xgboost").CASES  # issue 3: XGBoost (float32: per-case tolerance)
CASES += __import__("cases_neighbors").CASES  # issue 3: k-nearest neighbours (fit on a split)
FIT_SPLIT = dict(__import__("cases_neighbors").FIT_SPLIT)  # case name -> rows compared ("all" / "held_out")
TOLERANCE = dict(__import__("cases_xgboost").TOLERANCE)  # case name -> absolute tolerance (default 1e-9)
