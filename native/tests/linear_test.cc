// Linear estimator: dot products, links, labels and output layout.
#include <gtest/gtest.h>

#include "../engine/src/head.h"
#include "../engine/src/linear.h"
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

namespace kiln_test {
namespace {

// StandardScaler then a linear regression, n features (the scaler-folding path of PredictLinear).
Spec ScaledLinear(const std::string& mean, const std::string& scale, const std::string& coef, double intercept,
                  int n) {
  Spec s;
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("f" + std::to_string(i));
  s.inputs = NumberInputs(names);
  s.transform = R"({"kind": "standard_scaler", "mean": )" + mean + R"(, "scale": )" + scale + "}";
  s.estimator = R"({"kind": "linear", "n_features": )" + std::to_string(n) + R"(, "coef": [)" + coef +
                R"(], "intercept": [)" + std::to_string(intercept) + R"(], "link": "identity"})";
  return s;
}

std::vector<double> PredictAll(const kiln::Model& m, const std::vector<double>& rows, size_t n_rows) {
  std::vector<double> out(n_rows * m.output_width());
  auto ws = m.NewWorkspace();
  m.Predict(rows.data(), n_rows, out.data(), *ws);
  return out;
}

// sklearn's order, then the engine's 4 lanes (n <= 4: one term per lane).
double ScaleThenDot4(const double* x, const double* mean, const double* scale, const double* coef, double b) {
  double t[4];
  for (int j = 0; j < 4; ++j) t[j] = coef[j] * ((x[j] - mean[j]) / scale[j]);
  return ((t[0] + t[1]) + (t[2] + t[3])) + b;
}

TEST(LinearScaler, FoldedWithinItsBoundAndIndependentOfTheBatch) {
  const double mean[6] = {1, 2, 3, -1, 0.5, 10}, scale[6] = {2, 0.5, 4, 1.5, 3, 5};
  const double coef[6] = {0.5, -1.25, 2, 0.75, -0.3, 1.1}, b = 0.7;
  auto m = Load(ScaledLinear("[1, 2, 3, -1, 0.5, 10]", "[2, 0.5, 4, 1.5, 3, 5]", "[0.5, -1.25, 2, 0.75, -0.3, 1.1]",
                             b, 6));
  const size_t n_rows = 9;  // two blocks of 4 and a single row; 6 features: a lane tail
  std::vector<double> rows(n_rows * 6);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = 10.0 * std::sin(7.0 * static_cast<double>(i) + 1.0);
  const std::vector<double> all = PredictAll(*m, rows, n_rows);
  for (size_t r = 0; r < n_rows; ++r) {
    long double exact = b;
    for (int j = 0; j < 6; ++j) exact += static_cast<long double>(coef[j]) * ((rows[r * 6 + j] - mean[j]) / scale[j]);
    EXPECT_NEAR(all[r], static_cast<double>(exact), kiln::internal::kFoldMaxRawError) << "row " << r;
    const std::vector<double> one(rows.begin() + static_cast<long>(r * 6), rows.begin() + static_cast<long>(r * 6 + 6));
    EXPECT_EQ(Predict(*m, one)[0], all[r]) << "row " << r << " alone vs in the batch";
  }
}

TEST(LinearScaler, NotFoldedWhenTheBoundIsTooLarge) {
  // |mean / scale| ~ 1e12: folding would cancel huge terms, so the model scales first, exactly.
  const double mean[4] = {1e9, -2e9, 3e9, 5e8}, scale[4] = {1e-3, 2e-3, 4e-3, 1e-3};
  const double coef[4] = {0.5, -1.25, 2, 0.75};
  auto m = Load(ScaledLinear("[1e9, -2e9, 3e9, 5e8]", "[1e-3, 2e-3, 4e-3, 1e-3]", "[0.5, -1.25, 2, 0.75]", 0.25, 4));
  const std::vector<double> rows = {1e9 + 0.1, -2e9 - 0.3, 3e9 + 0.7, 5e8 - 0.2, 1e9, -2e9, 3e9, 5e8,
                                    1.5e9, 0, 1, -1, 1e9 + 1, -2e9 + 1, 3e9 - 1, 5e8 + 0.5, 7, 8, 9, 10};
  const std::vector<double> all = PredictAll(*m, rows, 5);
  for (size_t r = 0; r < 5; ++r) EXPECT_EQ(all[r], ScaleThenDot4(&rows[r * 4], mean, scale, coef, 0.25)) << "row " << r;
}

TEST(LinearScaler, RowsOutsideTheBoundAreScoredExactly) {
  const double mean[4] = {0.1, 0.2, 0.3, 0.4}, scale[4] = {3, 7, 11, 13};
  const double coef[4] = {1.1, -2.3, 0.7, 0.9};
  auto m = Load(ScaledLinear("[0.1, 0.2, 0.3, 0.4]", "[3, 7, 11, 13]", "[1.1, -2.3, 0.7, 0.9]", 0.3, 4));
  // Row 1's sum |coef / scale * x| is far above what kFoldMaxRawError allows at 4 features.
  const std::vector<double> rows = {1, 2, 3, 4, 1e14, 3, -2, 5, -1, -2, 0.5, 0.25};
  const std::vector<double> all = PredictAll(*m, rows, 3);
  EXPECT_EQ(all[1], ScaleThenDot4(&rows[4], mean, scale, coef, 0.3));
  for (size_t r : {0u, 2u}) EXPECT_NEAR(all[r], ScaleThenDot4(&rows[r * 4], mean, scale, coef, 0.3), 1e-14);
}

TEST(LinearScaler, NonFiniteValueInAFoldedBlockIsReportedForItsRow) {
  auto m = Load(ScaledLinear("[0.1, 0.2, 0.3, 0.4]", "[3, 7, 11, 13]", "[1.1, -2.3, 0.7, 0.9]", 0.3, 4));
  std::vector<double> rows = {1, 2, 3, 4, 5, 6, 7, 8, 1, std::numeric_limits<double>::infinity(), 3, 4, 9, 9, 9, 9};
  std::vector<double> out(4, -7.0);
  auto ws = m->NewWorkspace();
  const kiln::Error e = ExpectError([&] { m->Predict(rows.data(), 4, out.data(), *ws); }, kiln::ErrorCode::kInputNotFinite, "f1");
  EXPECT_EQ(e.row(), 2);
  EXPECT_EQ(out[0], Predict(*m, {1, 2, 3, 4})[0]);  // the rows before the bad one are written
  EXPECT_EQ(out[1], Predict(*m, {5, 6, 7, 8})[0]);
}

}  // namespace
}  // namespace kiln_test
