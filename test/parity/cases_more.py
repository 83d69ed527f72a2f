"""Parity cases for the transforms and estimators of issue 3 (KBinsDiscretizer,
PolynomialFeatures, naive Bayes, MLP). Same shape as cases.CASES, which appends these."""

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import (KBinsDiscretizer, MinMaxScaler, OneHotEncoder, PolynomialFeatures,
                                   StandardScaler)

NUMERIC = ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
SEED = 0


def _logreg(**kw):
    return LogisticRegression(max_iter=5000, **kw)


def _mixed_bins(clf):
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"),
                              KBinsDiscretizer(n_bins=4, encode="onehot-dense", strategy="quantile")), NUMERIC),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), ["sex", "bmi_band"]),
    ])
    return make_pipeline(prep, clf)


CASES = [
    # KBinsDiscretizer: every strategy, ordinal / dense one-hot / sparse one-hot
    ("iris_kbins_uniform_onehot_logreg", "iris",
     lambda: make_pipeline(KBinsDiscretizer(n_bins=5, encode="onehot-dense", strategy="uniform"), _logreg())),
    ("wine_kbins_quantile_ordinal_logreg", "wine",
     lambda: make_pipeline(KBinsDiscretizer(n_bins=6, encode="ordinal", strategy="quantile"), StandardScaler(),
                           _logreg())),
    ("diabetes_kbins_kmeans_onehot_ridge", "diabetes",
     lambda: make_pipeline(KBinsDiscretizer(n_bins=5, encode="onehot-dense", strategy="kmeans"), Ridge())),
    ("breast_cancer_kbins_sparse_onehot_logreg", "breast_cancer",
     lambda: make_pipeline(KBinsDiscretizer(n_bins=8, encode="onehot", strategy="quantile"), _logreg())),
    ("mixed_kbins_onehot_logreg", "mixed", lambda: _mixed_bins(_logreg())),
    # PolynomialFeatures: degree 2 and 3, interaction_only, include_bias, min degree
    ("diabetes_poly2_ridge", "diabetes",
     lambda: make_pipeline(StandardScaler(), PolynomialFeatures(degree=2), Ridge(alpha=1.0))),
    ("iris_poly3_interaction_logreg", "iris",
     lambda: make_pipeline(PolynomialFeatures(degree=3, interaction_only=True, include_bias=False),
                           StandardScaler(), _logreg())),
    ("wine_poly3_logreg", "wine",
     lambda: make_pipeline(StandardScaler(), PolynomialFeatures(degree=3), _logreg(C=0.1))),
    ("iris_feature_union_poly_logreg", "iris",
     # (StandardScaler first: a leading FeatureUnion has no feature_names_in_ before sklearn 1.3)
     lambda: make_pipeline(StandardScaler(), FeatureUnion([("minmax", MinMaxScaler()),
                                                           ("poly", PolynomialFeatures(degree=2))]), _logreg())),
    ("diabetes_poly_min_degree_ridge", "diabetes",
     lambda: make_pipeline(PolynomialFeatures(degree=(2, 3), include_bias=False), Ridge(alpha=0.1))),
    # Naive Bayes
    ("iris_gaussian_nb", "iris", lambda: GaussianNB()),
    ("breast_cancer_gaussian_nb", "breast_cancer", lambda: GaussianNB()),
    ("wine_gaussian_nb_scaled", "wine", lambda: make_pipeline(StandardScaler(), GaussianNB(var_smoothing=1e-6))),
    ("digits_gaussian_nb", "digits", lambda: GaussianNB()),
    ("digits_multinomial_nb", "digits", lambda: MultinomialNB()),
    ("wine_multinomial_nb", "wine", lambda: make_pipeline(MinMaxScaler(), MultinomialNB(alpha=0.5))),
    ("digits_bernoulli_nb", "digits", lambda: BernoulliNB(binarize=4.0)),
    ("breast_cancer_bernoulli_nb", "breast_cancer", lambda: make_pipeline(StandardScaler(), BernoulliNB())),
    ("iris_bernoulli_nb_kbins", "iris",
     lambda: make_pipeline(KBinsDiscretizer(n_bins=4, encode="onehot-dense"), BernoulliNB(binarize=None))),
    # MLP: every activation; binary, multiclass, regression
    ("iris_mlp_relu", "iris",
     lambda: make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000, random_state=SEED))),
    ("breast_cancer_mlp_tanh", "breast_cancer",
     lambda: make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(20, 10), activation="tanh",
                                                           max_iter=500, random_state=SEED))),
    ("wine_mlp_logistic", "wine",
     lambda: make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(12,), activation="logistic",
                                                           max_iter=2000, random_state=SEED))),
    ("digits_mlp_identity", "digits",
     lambda: make_pipeline(MinMaxScaler(), MLPClassifier(hidden_layer_sizes=(24,), activation="identity",
                                                         max_iter=60, random_state=SEED))),
    ("diabetes_mlp_regressor_relu", "diabetes",
     lambda: make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(32, 16), learning_rate_init=0.01,
                                                          max_iter=300, random_state=SEED))),
    ("diabetes_mlp_regressor_tanh", "diabetes",
     lambda: make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(16,), activation="tanh",
                                                          learning_rate_init=0.01, max_iter=300, random_state=SEED))),
    ("mixed_mlp_relu", "mixed",
     lambda: _mixed_bins(MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=SEED))),
]
