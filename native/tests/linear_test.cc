// Linear estimator: dot products, links, labels and output layout.
#include <gtest/gtest.h>

#include "../engine/src/head.h"
#include "test_util.h"

namespace kiln_test {
namespace {

double NaiveExpit(double x) { return 1.0 / (1.0 + std::exp(-x)); }

Spec Classifier(const std::string& coef, const std::string& icpt, const std::string& link, const std::string& classes,
                int n_features, bool proba = true, bool decision = true) {
  Spec s;
  std::vector<std::string> names;
  for (int i = 0; i < n_features; ++i) names.push_back("f" + std::to_string(i));
  s.inputs = NumberInputs(names);
  s.estimator = R"({"kind": "linear", "n_features": )" + std::to_string(n_features) + R"(, "coef": )" + coef +
                R"(, "intercept": )" + icpt + R"(, "link": ")" + link + R"("})";
  s.output = R"({"task": "classification", "classes": )" + classes + R"(, "probabilities": )" +
             (proba ? "true" : "false") + R"(, "decision": )" + (decision ? "true" : "false") + "}";
  return s;
}

TEST(Linear, RegressionDotThenIntercept) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.estimator = R"({"kind": "linear", "n_features": 2, "coef": [[2, 3]], "intercept": [1], "link": "identity"})";
  auto m = Load(s);
  EXPECT_EQ(m->task(), kiln::Task::kRegression);
  EXPECT_EQ(m->output_width(), 1u);
  EXPECT_EQ(Predict(*m, {1, 2})[0], 9.0);
  // Summation order: ((0 + 0.1*1) + 0.2*1) + 0.3, not fused.
  s.estimator = R"({"kind": "linear", "n_features": 2, "coef": [[0.1, 0.2]], "intercept": [0.3], "link": "identity"})";
  volatile double a = 0.1, b = 0.2;
  EXPECT_EQ(Predict(*Load(s), {1, 1})[0], (0.0 + a * 1.0 + b * 1.0) + 0.3);
}

TEST(Linear, LogisticBinary) {
  auto m = Load(Classifier("[[1.5]]", "[-0.5]", "logistic", R"(["no", "yes"])", 1));
  EXPECT_EQ(m->output_width(), 4u);  // label, 2 probabilities, 1 decision
  EXPECT_EQ(m->n_decision(), 1u);
  EXPECT_TRUE(m->has_probabilities());
  EXPECT_EQ(m->class_labels_json(), (std::vector<std::string>{"\"no\"", "\"yes\""}));
  auto o = Predict(*m, {2});  // raw = 2.5
  EXPECT_EQ(o[0], 1.0);
  EXPECT_NEAR(o[2], NaiveExpit(2.5), 1e-16);
  EXPECT_NEAR(o[1], 1 - NaiveExpit(2.5), 1e-16);
  EXPECT_EQ(o[3], 2.5);
  o = Predict(*m, {1.0 / 3.0});  // raw = 0 exactly -> label 0 (raw > 0 is false), p = 0.5
  EXPECT_EQ(o[0], 0.0);
  EXPECT_EQ(o[2], 0.5);
}

TEST(Linear, LogisticOneVsRest) {
  auto m = Load(Classifier("[[1], [-1], [0.5]]", "[0, 0.5, -1]", "logistic", "[1, 2, 3]", 1));
  auto o = Predict(*m, {2});  // raw = 2, -1.5, 0
  const double e[3] = {NaiveExpit(2), NaiveExpit(-1.5), NaiveExpit(0)};
  const double sum = e[0] + e[1] + e[2];
  EXPECT_EQ(o[0], 0.0);
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(o[1 + k], e[k] / sum, 1e-15);
  EXPECT_EQ(o[4], 2.0);
  EXPECT_EQ(o[5], -1.5);
  EXPECT_EQ(o[6], 0.0);
}

TEST(Linear, SoftmaxBinaryAndMulticlass) {
  auto m = Load(Classifier("[[1]]", "[0]", "softmax", "[0, 1]", 1));
  auto o = Predict(*m, {0.75});  // softmax([-0.75, 0.75])
  const double p1 = std::exp(0.75) / (std::exp(-0.75) + std::exp(0.75));
  EXPECT_NEAR(o[2], p1, 1e-15);
  EXPECT_NEAR(o[1], 1 - p1, 1e-15);

  m = Load(Classifier("[[1], [2], [3]]", "[0, 0, -1]", "softmax", R"(["a", "b", "c"])", 1));
  o = Predict(*m, {1});  // raw = 1, 2, 2 -> first maximum is "b"
  EXPECT_EQ(o[0], 1.0);
  const double z = std::exp(1) + 2 * std::exp(2);
  EXPECT_NEAR(o[1], std::exp(1) / z, 1e-15);
  EXPECT_NEAR(o[2], std::exp(2) / z, 1e-15);
  EXPECT_NEAR(o[3], std::exp(2) / z, 1e-15);
  // Large scores do not overflow.
  o = Predict(*m, {1000});
  EXPECT_EQ(o[0], 2.0);
  EXPECT_EQ(o[3], 1.0);
}

TEST(Linear, NoneLinkLabelsFromRaw) {
  auto m = Load(Classifier("[[1], [1], [-1]]", "[0, 0, 0]", "none", "[10, 20, 30]", 1, false, false));
  EXPECT_EQ(m->output_width(), 1u);
  EXPECT_EQ(Predict(*m, {1})[0], 0.0);   // tie between classes 0 and 1: first maximum
  EXPECT_EQ(Predict(*m, {-1})[0], 2.0);
}

TEST(Linear, ProbabilitiesNeedALink) {
  ExpectLoadError(Classifier("[[1]]", "[0]", "none", "[0, 1]", 1, true, false), kiln::ErrorCode::kModelInvalid,
                  "output.probabilities");
}

TEST(Linear, ClassCountMustMatch) {
  ExpectLoadError(Classifier("[[1]]", "[0]", "logistic", "[0, 1, 2]", 1), kiln::ErrorCode::kModelInvalid,
                  "output.classes: has 3 classes but the estimator produces 2");
}

TEST(Links, ExpitIsStableForNegativeInputs) {
  using kiln::internal::Expit;
  EXPECT_GT(Expit(-720), 0.0);  // 1 / (1 + exp(720)) would be 0
  EXPECT_NEAR(Expit(-720) / std::exp(-720.0), 1.0, 1e-12);
  EXPECT_NEAR(Expit(-30), std::exp(-30.0) / (1 + std::exp(-30.0)), 1e-30);
  EXPECT_EQ(Expit(0), 0.5);
  EXPECT_EQ(Expit(800), 1.0);
}

}  // namespace
}  // namespace kiln_test
