// Tree ensembles: float32 comparisons, NaN routing, flattening, averaging and boosting.
#include <gtest/gtest.h>

#include <cfloat>
#include <random>

#include "../engine/src/trees.h"
#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::internal::ThresholdToFloat;

float NextUp(float f) { return std::nextafter(f, std::numeric_limits<float>::infinity()); }
float NextDown(float f) { return std::nextafter(f, -std::numeric_limits<float>::infinity()); }

// sklearn's comparison: the float32 feature value widened to double against the double threshold.
bool SklearnLeft(float x, double t) { return static_cast<double>(x) <= t; }

void CheckEquivalence(double t, const std::vector<float>& xs) {
  const float tf = ThresholdToFloat(t);
  for (float x : xs) {
    ASSERT_EQ(x <= tf, SklearnLeft(x, t)) << "t=" << t << " x=" << x;
  }
}

std::vector<float> Around(double t) {
  std::vector<float> xs = {0.0f, -0.0f, 1.0f, -1.0f, FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN, FLT_TRUE_MIN,
                           std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN()};
  if (std::fabs(t) < 3e38 && std::isfinite(t)) {
    float f = static_cast<float>(t);
    for (int i = 0; i < 4; ++i) f = NextDown(f);
    for (int i = 0; i < 9; ++i, f = NextUp(f)) xs.push_back(f);
  }
  return xs;
}

TEST(Float32Threshold, EquivalentToSklearnOnEdgeValues) {
  std::vector<double> ts = {0.0, -0.0, 0.1, -0.1, 0.5, 1.0, 2.5, 1e-45, -1e-45, 1e-300, -1e-300, 1e300, -1e300,
                            static_cast<double>(FLT_MAX), -static_cast<double>(FLT_MAX),
                            std::nextafter(static_cast<double>(FLT_MAX), 1e308),
                            std::nextafter(-static_cast<double>(FLT_MAX), -1e308),
                            static_cast<double>(FLT_TRUE_MIN), static_cast<double>(FLT_MIN),
                            std::numeric_limits<double>::infinity()};
  // Doubles just around floats and exactly between two floats.
  for (float f : {1.0f, 0.1f, -3.75f, 1234.5677f, 1e-30f, 3.0e38f}) {
    const double d = f;
    ts.push_back(d);
    ts.push_back(std::nextafter(d, 1e308));
    ts.push_back(std::nextafter(d, -1e308));
    ts.push_back((d + static_cast<double>(NextUp(f))) / 2);
    ts.push_back((d + static_cast<double>(NextDown(f))) / 2);
  }
  for (double t : ts) CheckEquivalence(t, Around(t));
}

TEST(Float32Threshold, EquivalentOnRandomValues) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(-10, 10);
  for (int i = 0; i < 20000; ++i) {
    const double t = u(rng) * std::pow(10.0, static_cast<int>(rng() % 20) - 10);
    CheckEquivalence(t, Around(t));
  }
}

TEST(Float32Threshold, LargestFloatNotAbove) {
  EXPECT_EQ(ThresholdToFloat(1.0), 1.0f);
  EXPECT_EQ(ThresholdToFloat(0.1), NextDown(0.1f));  // (float)0.1 rounds up above 0.1
  EXPECT_LE(static_cast<double>(ThresholdToFloat(0.1)), 0.1);
  EXPECT_EQ(ThresholdToFloat(1e300), FLT_MAX);
  EXPECT_EQ(ThresholdToFloat(-1e300), -std::numeric_limits<float>::infinity());
}

// One stump on feature 0 with threshold t; left leaf 1, right leaf 2 (regression).
Spec Stump(const std::string& t, const std::string& missing = "[0, 0, 0]", bool nullable = false) {
  Spec s;
  s.inputs = nullable ? NumberInputs({"x"}, {"x"}) : NumberInputs({"x"});
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "average", "n_targets": 1, "trees": [
      {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2],
       "threshold": [)" + t + R"(, -2, -2], "missing_go_to_left": )" + missing + R"(, "value": [[0], [1], [2]]}]})";
  return s;
}

TEST(Trees, ComparesInFloat32LikeSklearn) {
  auto m = Load(Stump("0.1"));
  EXPECT_EQ(Predict(*m, {0.1})[0], 2.0);  // float32(0.1) > 0.1: right, although 0.1 <= 0.1 in double
  EXPECT_EQ(Predict(*m, {0.09999999})[0], 1.0);
  float below = NextDown(0.1f);
  EXPECT_EQ(Predict(*m, {static_cast<double>(below)})[0], 1.0);
  // float32 input path (widened exactly)
  auto ws = m->NewWorkspace();
  float xf[2] = {0.1f, below};
  double out[2];
  m->Predict(xf, 2, out, *ws);
  EXPECT_EQ(out[0], 2.0);
  EXPECT_EQ(out[1], 1.0);
}

TEST(Trees, MissingValuesFollowMissingGoToLeft) {
  auto right = Load(Stump("0.5", "[0, 0, 0]", true));
  EXPECT_EQ(Predict(*right, {kNaN})[0], 2.0);
  auto left = Load(Stump("0.5", "[1, 0, 0]", true));
  EXPECT_EQ(Predict(*left, {kNaN})[0], 1.0);
  EXPECT_EQ(Predict(*left, {0.7})[0], 2.0);
  EXPECT_EQ(Predict(*left, {0.3})[0], 1.0);
}

TEST(Trees, NullThresholdIsInfinity) {
  // sklearn's missing-vs-rest split: every non-missing value (even +inf) goes left, NaN by the flag.
  Spec s = Stump("null", "[0, 0, 0]", true);
  s.transform = R"({"kind": "max_abs_scaler", "scale": [1e-300]})";  // 1e300 / 1e-300 = inf inside the model
  auto m = Load(s);
  EXPECT_EQ(Predict(*m, {1e300})[0], 1.0);
  EXPECT_EQ(Predict(*m, {-1e300})[0], 1.0);
  EXPECT_EQ(Predict(*m, {kNaN})[0], 2.0);
  auto to_left = Load(Stump("null", "[1, 0, 0]", true));
  EXPECT_EQ(Predict(*to_left, {kNaN})[0], 1.0);
  Spec finite_only = Stump("0.5");
  finite_only.estimator.replace(finite_only.estimator.find("0.5, -2, -2]"), 12, "0.5, null, -2]");
  EXPECT_EQ(Predict(*Load(finite_only), {0.7})[0], 2.0);  // null on a leaf is harmless
  EXPECT_EQ(ThresholdToFloat(kInf), std::numeric_limits<float>::infinity());
}

TEST(Trees, NonPreorderLayoutIsFlattenedCorrectly) {
  // Root 0 splits on x0 <= 0: left = node 3, right = node 1. Node 1 splits on x1 <= 5: left = 4,
  // right = 2. Leaves: 2 -> 30, 3 -> 10, 4 -> 20.
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 2, "aggregate": "average", "n_targets": 1, "trees": [
      {"children_left": [3, 4, -1, -1, -1], "children_right": [1, 2, -1, -1, -1], "feature": [0, 1, -2, -2, -2],
       "threshold": [0, 5, 0, 0, 0], "value": [[0], [0], [30], [10], [20]]}]})";
  auto m = Load(s);
  EXPECT_EQ(Predict(*m, {-1, 0})[0], 10.0);
  EXPECT_EQ(Predict(*m, {1, 5})[0], 20.0);
  EXPECT_EQ(Predict(*m, {1, 6})[0], 30.0);
}

TEST(Trees, AverageClassifier) {
  // Two stumps; probabilities are the mean of the leaf vectors, label the first maximum.
  Spec s;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "average", "n_targets": 3, "trees": [
      {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2], "threshold": [0, 0, 0],
       "value": [[0, 0, 0], [1, 0, 0], [0, 0.5, 0.5]]},
      {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2], "threshold": [1, 0, 0],
       "value": [[0, 0, 0], [0.25, 0.75, 0], [0, 0, 1]]}]})";
  s.output = R"({"task": "classification", "classes": ["a", "b", "c"], "probabilities": true, "decision": false})";
  auto m = Load(s);
  EXPECT_EQ(m->output_width(), 4u);
  EXPECT_EQ(Predict(*m, {-1}), (std::vector<double>{0, 0.625, 0.375, 0}));
  EXPECT_EQ(Predict(*m, {0.5}), (std::vector<double>{1, 0.125, 0.625, 0.25}));
  EXPECT_EQ(Predict(*m, {2}), (std::vector<double>{2, 0, 0.25, 0.75}));
}

TEST(Trees, AverageRegressionSumsInTreeOrderThenDivides) {
  Spec s;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "average", "n_targets": 1, "trees": [
      {"children_left": [-1], "children_right": [-1], "feature": [-2], "threshold": [-2], "value": [[0.1]]},
      {"children_left": [-1], "children_right": [-1], "feature": [-2], "threshold": [-2], "value": [[0.2]]},
      {"children_left": [-1], "children_right": [-1], "feature": [-2], "threshold": [-2], "value": [[0.3]]}]})";
  volatile double a = 0.1, b = 0.2, c = 0.3;
  EXPECT_EQ(Predict(*Load(s), {0})[0], (((0.0 + a) + b) + c) / 3.0);
}

std::string BoostTree(int target, const std::string& t, double left, double right) {
  return R"({"target": )" + std::to_string(target) +
         R"(, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2], "threshold": [)" + t +
         R"(, 0, 0], "value": [[0], [)" + std::to_string(left) + "], [" + std::to_string(right) + "]]}";
}

TEST(Trees, BoostBinaryLogistic) {
  Spec s;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "boost", "n_targets": 1, "init": [-0.25],
      "learning_rate": 0.1, "link": "logistic", "trees": [)" + BoostTree(0, "0", -1, 2) + ", " + BoostTree(0, "1", 0.5, 0.5) + "]}";
  s.output = R"({"task": "classification", "classes": [0, 1], "probabilities": true, "decision": true})";
  auto m = Load(s);
  volatile double lr = 0.1;
  const double raw_lo = (-0.25 + lr * -1.0) + lr * 0.5;
  auto o = Predict(*m, {-1});
  EXPECT_EQ(o[3], raw_lo);
  EXPECT_EQ(o[0], 0.0);
  EXPECT_NEAR(o[2], 1 / (1 + std::exp(-raw_lo)), 1e-16);
  EXPECT_NEAR(o[1], 1 - 1 / (1 + std::exp(-raw_lo)), 1e-16);
  const double raw_hi = (-0.25 + lr * 2.0) + lr * 0.5;  // 0.0500...: label 1
  o = Predict(*m, {3});
  EXPECT_EQ(o[3], raw_hi);
  EXPECT_EQ(o[0], 1.0);
}

TEST(Trees, BoostLabelUsesGreaterOrEqual) {
  Spec s;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "boost", "n_targets": 1, "init": [0],
      "learning_rate": 1, "link": "logistic", "trees": [)" + BoostTree(0, "0", 0, 0) + "]}";
  s.output = R"({"task": "classification", "classes": ["n", "y"], "probabilities": false, "decision": false})";
  EXPECT_EQ(Predict(*Load(s), {5})[0], 1.0);  // raw == 0 -> class 1 for boosting
}

TEST(Trees, BoostMulticlassSoftmax) {
  Spec s;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "boost", "n_targets": 3, "init": [0.1, 0.2, 0.3],
      "learning_rate": 0.5, "link": "softmax", "trees": [)" + BoostTree(0, "0", 1, -1) + ", " + BoostTree(1, "0", -1, 1) +
                ", " + BoostTree(2, "0", 0, 0) + ", " + BoostTree(0, "0", 1, -1) + "]}";
  s.output = R"({"task": "classification", "classes": [0, 1, 2], "probabilities": true, "decision": true})";
  auto m = Load(s);
  EXPECT_EQ(m->output_width(), 7u);
  auto o = Predict(*m, {-1});  // raw = 0.1 + 0.5 + 0.5, 0.2 - 0.5, 0.3
  const double raw[3] = {(0.1 + 0.5) + 0.5, 0.2 - 0.5, 0.3};
  EXPECT_EQ(o[0], 0.0);
  const double z = std::exp(raw[0]) + std::exp(raw[1]) + std::exp(raw[2]);
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(o[1 + k], std::exp(raw[k]) / z, 1e-15);
    EXPECT_EQ(o[4 + k], raw[k]);
  }
}

TEST(Trees, BoostRegression) {
  Spec s;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "boost", "n_targets": 1, "init": [10],
      "learning_rate": 0.1, "link": "identity", "trees": [)" + BoostTree(0, "0", 3, 4) + "]}";
  volatile double lr = 0.1;
  EXPECT_EQ(Predict(*Load(s), {1})[0], 10 + lr * 4.0);
}

}  // namespace
}  // namespace kiln_test
