// Naive Bayes and MLP estimators: outputs against the formulas, worked out here in plain C++,
// and load-time refusals.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::ErrorCode;

constexpr double kPi = 3.141592653589793;

Spec TwoInputs(const std::string& estimator, const std::string& output) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.estimator = estimator;
  s.output = output;
  return s;
}

const char* kClassify = R"({"task": "classification", "classes": ["x", "y"], "probabilities": true})";

TEST(NaiveBayes, GaussianJointLogLikelihood) {
  auto m = Load(TwoInputs(R"({"kind": "naive_bayes", "distribution": "gaussian", "n_features": 2,
      "class_prior": [0.25, 0.75], "theta": [[0, 1], [2, 3]], "var": [[1, 2], [0.5, 4]]})", kClassify));
  const double a = 1.5, b = -1;
  auto jll = [&](double prior, double t0, double t1, double v0, double v1) {
    const double n = -0.5 * (std::log(2 * kPi * v0) + std::log(2 * kPi * v1));
    return std::log(prior) + (n - 0.5 * ((a - t0) * (a - t0) / v0 + (b - t1) * (b - t1) / v1));
  };
  const double j0 = jll(0.25, 0, 1, 1, 2), j1 = jll(0.75, 2, 3, 0.5, 4);
  const double p1 = 1 / (1 + std::exp(j0 - j1));
  auto out = Predict(*m, {a, b});
  EXPECT_EQ(out[0], j1 > j0 ? 1 : 0);
  EXPECT_NEAR(out[1], 1 - p1, 1e-15);
  EXPECT_NEAR(out[2], p1, 1e-15);
}

TEST(NaiveBayes, MultinomialAndBernoulli) {
  const std::string flp = R"([[-0.5, -1.5], [-2, -0.25]])";
  auto mult = Load(TwoInputs(R"({"kind": "naive_bayes", "distribution": "multinomial", "n_features": 2,
      "class_log_prior": [-0.7, -0.9], "feature_log_prob": )" + flp + "}", kClassify));
  const double j0 = -0.5 * 3 + -1.5 * 1 - 0.7, j1 = -2 * 3 + -0.25 * 1 - 0.9;
  auto out = Predict(*mult, {3, 1});
  EXPECT_EQ(out[0], 0);
  EXPECT_NEAR(out[2], 1 / (1 + std::exp(j0 - j1)), 1e-15);

  auto bern = Load(TwoInputs(R"({"kind": "naive_bayes", "distribution": "bernoulli", "n_features": 2,
      "class_log_prior": [-0.7, -0.9], "feature_log_prob": )" + flp + R"(, "binarize": 2.0})", kClassify));
  // x = (3, 1) binarised at 2 -> (1, 0): class k scores log p_k0 + log(1 - p_k1) + prior.
  const double b0 = -0.5 + std::log(1 - std::exp(-1.5)) - 0.7, b1 = -2 + std::log(1 - std::exp(-0.25)) - 0.9;
  out = Predict(*bern, {3, 1});
  EXPECT_EQ(out[0], b1 > b0 ? 1 : 0);
  EXPECT_NEAR(out[2], 1 / (1 + std::exp(b0 - b1)), 1e-14);
}

TEST(NaiveBayes, LoadErrors) {
  Spec s = TwoInputs(R"({"kind": "naive_bayes", "distribution": "gaussian", "n_features": 2,
      "class_prior": [0.5, 0.5], "theta": [[0, 1], [2, 3]], "var": [[1, 0], [1, 1]]})", kClassify);
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.var[0][1]: variances must be > 0");
  s.estimator = R"({"kind": "naive_bayes", "distribution": "gaussian", "n_features": 2,
      "class_prior": [0, 1], "theta": [[0, 1], [2, 3]], "var": [[1, 1], [1, 1]]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.class_prior[0]: class priors must be > 0");
  s.estimator = R"({"kind": "naive_bayes", "distribution": "bernoulli", "n_features": 2,
      "class_log_prior": [-1, -1], "feature_log_prob": [[0, -1], [-1, -1]], "binarize": null})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.feature_log_prob[0][0]: a Bernoulli log probability must be < 0");
  s.estimator = R"({"kind": "naive_bayes", "distribution": "poisson", "n_features": 2})";
  ExpectLoadError(s, ErrorCode::kModelUnsupported, "unknown distribution 'poisson'");
  s.estimator = R"({"kind": "naive_bayes", "distribution": "multinomial", "n_features": 2,
      "class_log_prior": [-1, -1, -1], "feature_log_prob": [[-1, -1], [-1, -1], [-1, -1]]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "has 2 classes but the estimator produces 3");
}

TEST(Mlp, ForwardPassPerActivation) {
  // 2 inputs -> 2 hidden units -> 1 output (binary, logistic).
  const std::string layers = R"([{"coef": [[1, -1], [0.5, 2]], "intercept": [0.1, -0.2]},
                                  {"coef": [[1.5], [-0.5]], "intercept": [0.3]}])";
  const double a = 0.4, b = -0.3;
  const double h0 = a * 1 + b * 0.5 + 0.1, h1 = a * -1 + b * 2 - 0.2;
  struct Case {
    const char* name;
    double (*f)(double);
  };
  for (const Case& c : {Case{"identity", [](double v) { return v; }}, Case{"relu", [](double v) { return v > 0 ? v : 0; }},
                        Case{"tanh", [](double v) { return std::tanh(v); }},
                        Case{"logistic", [](double v) { return 1 / (1 + std::exp(-v)); }}}) {
    auto m = Load(TwoInputs(std::string(R"({"kind": "mlp", "n_features": 2, "activation": ")") + c.name +
                                R"(", "link": "logistic", "layers": )" + layers + "}",
                            kClassify));
    const double raw = c.f(h0) * 1.5 + c.f(h1) * -0.5 + 0.3;
    auto out = Predict(*m, {a, b});
    EXPECT_EQ(out[0], raw > 0 ? 1 : 0) << c.name;
    EXPECT_NEAR(out[2], 1 / (1 + std::exp(-raw)), 1e-15) << c.name;
  }
}

TEST(Mlp, RegressionAndSoftmax) {
  auto reg = Load(TwoInputs(R"({"kind": "mlp", "n_features": 2, "activation": "relu", "link": "identity",
      "layers": [{"coef": [[2], [3]], "intercept": [1]}]})", R"({"task": "regression"})"));
  EXPECT_EQ(Predict(*reg, {1, 2})[0], 9);
  auto cls = Load(TwoInputs(R"({"kind": "mlp", "n_features": 2, "activation": "relu", "link": "softmax",
      "layers": [{"coef": [[1, 0, 0], [0, 1, 0]], "intercept": [0, 0, 0.5]}]})",
                            R"({"task": "classification", "classes": [1, 2, 3], "probabilities": true})"));
  auto out = Predict(*cls, {0.2, 0.1});
  const double e0 = std::exp(0.2 - 0.5), e1 = std::exp(0.1 - 0.5), e2 = 1, sum = e0 + e1 + e2;
  EXPECT_EQ(out[0], 2);
  EXPECT_NEAR(out[1], e0 / sum, 1e-15);
  EXPECT_NEAR(out[3], e2 / sum, 1e-15);
}

TEST(Mlp, LoadErrors) {
  Spec s = TwoInputs(R"({"kind": "mlp", "n_features": 2, "activation": "softplus", "link": "identity",
      "layers": [{"coef": [[2], [3]], "intercept": [1]}]})", R"({"task": "regression"})");
  ExpectLoadError(s, ErrorCode::kModelUnsupported, "unknown activation 'softplus'");
  s.estimator = R"({"kind": "mlp", "n_features": 2, "activation": "relu", "link": "identity",
      "layers": [{"coef": [[2]], "intercept": [1]}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.layers[0].coef: has 1 rows but the layer receives 2 values");
  s.estimator = R"({"kind": "mlp", "n_features": 2, "activation": "relu", "link": "identity",
      "layers": [{"coef": [[2, 1], [3, 1]], "intercept": [1]}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.layers[0].coef[0]: expected 1 values, got 2");
  s.estimator = R"({"kind": "mlp", "n_features": 2, "activation": "relu", "link": "identity", "layers": []})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "needs at least one layer");
  s.estimator = R"({"kind": "mlp", "n_features": 2, "activation": "relu", "link": "none",
      "layers": [{"coef": [[2], [3]], "intercept": [1]}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "output link is identity, logistic or softmax");
  s.estimator = R"({"kind": "mlp", "n_features": 2, "activation": "relu", "link": "identity",
      "layers": [{"coef": [[2, 1], [3, 1]], "intercept": [1, 1]}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "a regression has exactly one output");
}

}  // namespace
}  // namespace kiln_test
