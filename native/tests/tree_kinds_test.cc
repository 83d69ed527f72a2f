// Tree ensembles beyond sklearn's trees: float64 comparisons (HistGradientBoosting, LightGBM),
// `x < threshold` (XGBoost), categorical splits with their unknown-category rule, label_at_zero.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "test_util.h"

namespace kiln_test {
namespace {

std::string Num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

float NextDown(float f) { return std::nextafter(f, -std::numeric_limits<float>::infinity()); }

// One stump on feature 0: left leaf 1, right leaf 2 (boosted regression), with extra
// estimator options and an optional `categories` entry for the root.
Spec Stump(const std::string& options, const std::string& t, const std::string& missing = "[0, 0, 0]",
           const std::string& categories = "") {
  Spec s;
  s.inputs = NumberInputs({"x"}, {"x"});
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "boost", "n_targets": 1, "init": [0],
      "learning_rate": 1, "link": "identity", )" + options + R"( "trees": [
      {"target": 0, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2],
       "threshold": [)" + t + R"(, 0, 0], "missing_go_to_left": )" + missing +
                (categories.empty() ? "" : R"(, "categories": [)" + categories + R"(, null, null])") +
                R"(, "value": [[0], [1], [2]]}]})";
  return s;
}

double At(const Spec& s, double x) { return Predict(*Load(s), {x})[0]; }

TEST(TreeKinds, Float64ComparesDoubles) {
  const Spec f64 = Stump(R"("threshold_dtype": "float64",)", "0.1");
  EXPECT_EQ(At(f64, 0.1), 1.0);  // 0.1 <= 0.1 in double; sklearn's float32 trees send it right
  EXPECT_EQ(At(f64, std::nextafter(0.1, 1.0)), 2.0);
  EXPECT_EQ(At(Stump("", "0.1"), 0.1), 2.0);
  EXPECT_EQ(At(Stump(R"("threshold_dtype": "float32",)", "0.1"), 0.1), 2.0);
  // A double that is not a float and lies between two floats is compared exactly.
  const double between = (static_cast<double>(0.1f) + static_cast<double>(NextDown(0.1f))) / 2;
  const Spec mid = Stump(R"("threshold_dtype": "float64",)", Num(between));
  EXPECT_EQ(At(mid, between), 1.0);
  EXPECT_EQ(At(mid, std::nextafter(between, 1.0)), 2.0);
}

TEST(TreeKinds, Float64MissingAndNullThreshold) {
  const std::string o = R"("threshold_dtype": "float64",)";
  EXPECT_EQ(At(Stump(o, "0.5", "[1, 0, 0]"), kNaN), 1.0);
  EXPECT_EQ(At(Stump(o, "0.5", "[0, 0, 0]"), kNaN), 2.0);
  EXPECT_EQ(At(Stump(o, "null", "[0, 0, 0]"), 1e300), 1.0);
  EXPECT_EQ(At(Stump(o, "null", "[0, 0, 0]"), kNaN), 2.0);
}

TEST(TreeKinds, LessThanInFloat32) {
  const std::string lt = R"("compare": "lt",)";
  EXPECT_EQ(At(Stump(lt, "0.5"), 0.5), 2.0);  // equal goes right
  EXPECT_EQ(At(Stump(lt, "0.5"), std::nextafter(0.5, 0.0)), 2.0);  // same float32 as 0.5
  EXPECT_EQ(At(Stump(lt, "0.5"), static_cast<double>(NextDown(0.5f))), 1.0);
  // Threshold the exact double of a float (what the exporters write): x_f < t.
  const double t = static_cast<double>(0.1f);
  EXPECT_EQ(At(Stump(lt, Num(t)), t), 2.0);
  EXPECT_EQ(At(Stump(lt, Num(t)), static_cast<double>(NextDown(0.1f))), 1.0);
  // A threshold that is not a float: (double)x_f < 0.1 holds for the float below 0.1 only.
  EXPECT_EQ(At(Stump(lt, "0.1"), 0.1), 2.0);
  EXPECT_EQ(At(Stump(lt, "0.1"), static_cast<double>(NextDown(0.1f))), 1.0);
  EXPECT_EQ(At(Stump(lt, "0.5", "[1, 0, 0]"), kNaN), 1.0);
  EXPECT_EQ(At(Stump(lt, "0.5", "[0, 0, 0]"), kNaN), 2.0);
  EXPECT_EQ(At(Stump(R"("compare": "lt", "threshold_dtype": "float64",)", "0.1"), 0.1), 2.0);
  EXPECT_EQ(At(Stump(R"("compare": "lt", "threshold_dtype": "float64",)", "0.1"), std::nextafter(0.1, 0.0)), 1.0);
}

TEST(TreeKinds, CategoricalUnknownAsMissing) {
  // HistGradientBoosting: {1, 3, 40} left, {0, 2} right (known), anything else like a NaN.
  for (const char* dtype : {"float64", "float32"}) {
    const std::string o = std::string(R"("threshold_dtype": ")") + dtype + R"(", "unknown_category": "missing",)";
    const std::string cats = R"({"left": [1, 3, 40], "right": [0, 2]})";
    const Spec to_left = Stump(o, "0", "[1, 0, 0]", cats);
    const Spec to_right = Stump(o, "0", "[0, 0, 0]", cats);
    for (const Spec* s : {&to_left, &to_right}) {
      EXPECT_EQ(At(*s, 1), 1.0);
      EXPECT_EQ(At(*s, 3), 1.0);
      EXPECT_EQ(At(*s, 3.9), 1.0);  // truncated to 3
      EXPECT_EQ(At(*s, 40), 1.0);
      EXPECT_EQ(At(*s, 0), 2.0);
      EXPECT_EQ(At(*s, 2.5), 2.0);
      EXPECT_EQ(At(*s, -0.0), 2.0);
    }
    for (double unknown : {kNaN, -1.0, -0.5, 4.0, 39.0, 41.0, 64.0, 1e9, 1e300}) {
      EXPECT_EQ(At(to_left, unknown), 1.0) << unknown;
      EXPECT_EQ(At(to_right, unknown), 2.0) << unknown;
    }
  }
}

TEST(TreeKinds, CategoricalUnknownFixedSide) {
  // XGBoost: the listed categories go right, everything else left; NaN follows the missing flag.
  const std::string cats = R"({"left": [], "right": [2, 5]})";
  const Spec xgb = Stump(R"("compare": "lt", "unknown_category": "left",)", "0", "[0, 0, 0]", cats);
  EXPECT_EQ(At(xgb, 2), 2.0);
  EXPECT_EQ(At(xgb, 5), 2.0);
  EXPECT_EQ(At(xgb, 0), 1.0);
  EXPECT_EQ(At(xgb, 7), 1.0);
  EXPECT_EQ(At(xgb, -3), 1.0);
  EXPECT_EQ(At(xgb, kNaN), 2.0);
  // LightGBM: listed categories go left, everything else right.
  const Spec lgb = Stump(R"("threshold_dtype": "float64", "unknown_category": "right",)", "0", "[0, 0, 0]",
                         R"({"left": [0, 33], "right": []})");
  EXPECT_EQ(At(lgb, 0), 1.0);
  EXPECT_EQ(At(lgb, 33), 1.0);
  EXPECT_EQ(At(lgb, 32), 2.0);
  EXPECT_EQ(At(lgb, 1000), 2.0);
  EXPECT_EQ(At(lgb, kNaN), 2.0);
}

TEST(TreeKinds, CategoricalAndNumericNodesMix) {
  // Root: categorical on x0 ({1} left); its right child: numeric x1 <= 0.25.
  Spec s;
  s.inputs = NumberInputs({"c", "v"});
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 2, "aggregate": "boost", "n_targets": 1, "init": [0.5],
      "learning_rate": 1, "link": "identity", "threshold_dtype": "float64", "trees": [
      {"target": 0, "children_left": [1, -1, 3, -1, -1], "children_right": [2, -1, 4, -1, -1],
       "feature": [0, -2, 1, -2, -2], "threshold": [0, 0, 0.25, 0, 0],
       "categories": [{"left": [1], "right": [0, 2]}, null, null, null, null],
       "value": [[0], [10], [0], [20], [30]]}]})";
  auto m = Load(s);
  EXPECT_EQ(Predict(*m, {1, 9})[0], 10.5);
  EXPECT_EQ(Predict(*m, {2, 0.25})[0], 20.5);
  EXPECT_EQ(Predict(*m, {0, 0.26})[0], 30.5);
}

TEST(TreeKinds, AverageWithFloat64) {
  Spec s;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "average", "n_targets": 2,
      "threshold_dtype": "float64", "trees": [
      {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2], "threshold": [0.1, 0, 0],
       "value": [[0, 0], [1, 0], [0.25, 0.75]]},
      {"children_left": [-1], "children_right": [-1], "feature": [-2], "threshold": [0], "value": [[0.5, 0.5]]}]})";
  s.output = R"({"task": "classification", "classes": ["a", "b"], "probabilities": true})";
  auto m = Load(s);
  EXPECT_EQ(Predict(*m, {0.1}), (std::vector<double>{0, 0.75, 0.25}));
  EXPECT_EQ(Predict(*m, {0.2}), (std::vector<double>{1, 0.375, 0.625}));
}

TEST(TreeKinds, LabelAtZero) {
  auto classifier = [](const std::string& options) {
    Spec s = Stump(options, "0.5");
    s.estimator.replace(s.estimator.find(R"("link": "identity")"), 18, R"("link": "logistic")");
    s.estimator.replace(s.estimator.find("[[0], [1], [2]]"), 15, "[[0], [0], [2]]");
    s.output = R"({"task": "classification", "classes": ["n", "y"], "probabilities": true, "decision": true})";
    return s;
  };
  EXPECT_EQ(At(classifier(""), 0), 1.0);  // default: raw >= 0 -> class 1 (GradientBoosting)
  EXPECT_EQ(At(classifier(R"("label_at_zero": 1,)"), 0), 1.0);
  EXPECT_EQ(At(classifier(R"("label_at_zero": 0,)"), 0), 0.0);  // raw > 0 (HistGradientBoosting)
  EXPECT_EQ(At(classifier(R"("label_at_zero": 0,)"), 1), 1.0);
}

TEST(TreeKinds, RefusesBadOptions) {
  ExpectError([] { Load(Stump(R"("threshold_dtype": "float16",)", "0")); }, kiln::ErrorCode::kModelUnsupported,
              "estimator.threshold_dtype: unknown threshold_dtype 'float16'");
  ExpectError([] { Load(Stump(R"("compare": "ge",)", "0")); }, kiln::ErrorCode::kModelUnsupported,
              "estimator.compare: unknown compare 'ge'");
  ExpectError([] { Load(Stump(R"("unknown_category": "drop",)", "0")); }, kiln::ErrorCode::kModelUnsupported,
              "estimator.unknown_category");
  ExpectError([] { Load(Stump(R"("label_at_zero": 2,)", "0")); }, kiln::ErrorCode::kModelInvalid,
              "estimator.label_at_zero");
  ExpectError([] { Load(Stump("", "0", "[0, 0, 0]", R"({"left": [1, 2], "right": [2]})")); },
              kiln::ErrorCode::kModelInvalid, "estimator.trees[0].categories[0]: a category is listed both left and right");
  ExpectError([] { Load(Stump("", "0", "[0, 0, 0]", R"({"left": [-1], "right": []})")); },
              kiln::ErrorCode::kModelInvalid, "estimator.trees[0].categories[0].left");
  ExpectError([] { Load(Stump("", "0", "[0, 0, 0]", R"({"left": [16777216], "right": []})")); },
              kiln::ErrorCode::kModelInvalid, "estimator.trees[0].categories[0].left");
  ExpectError([] { Load(Stump("", "0", "[0, 0, 0]", R"({"left": [1]})")); }, kiln::ErrorCode::kModelSchema,
              "estimator.trees[0].categories[0]");
  ExpectError([] { Load(Stump("", "0", "[0, 0, 0]", R"({"left": [1], "right": [], "other": 1})")); },
              kiln::ErrorCode::kModelSchema, "estimator.trees[0].categories[0].other");
  Spec short_cats = Stump("", "0");
  short_cats.estimator.replace(short_cats.estimator.find(R"("value")"), 7, R"("categories": [null], "value")");
  ExpectError([&] { Load(short_cats); }, kiln::ErrorCode::kModelInvalid,
              "estimator.trees[0].categories: expected 3 entries, got 1");
}

}  // namespace
}  // namespace kiln_test

namespace kiln_test {
namespace {

// A "staircase" of `depth` splits on x: node d sends x <= d + 0.5 to leaf d, NaN left at odd
// d; the last split's right leaf is `depth`. Two trees: the staircase and a stump, so trees of
// unequal depth share the ensemble. Depth <= 8 runs the complete layout (the stump padded to
// the staircase's depth), deeper the node layout; both, every split rule, must give the same.
Spec Staircase(int depth, const std::string& options) {
  std::string cl, cr, f, t, m, v;
  for (int d = 0; d < depth; ++d) {
    const int node = 2 * d;  // inner node at 2d, its left leaf at 2d+1, next inner node at 2d+2
    cl += std::to_string(node + 1) + ", -1, ";
    cr += std::to_string(node + 2) + ", -1, ";
    f += "0, -2, ";
    t += Num(d + 0.5) + ", 0, ";
    m += std::string(d % 2 ? "1" : "0") + ", 0, ";
    v += "[0], [" + std::to_string(d) + "], ";
  }
  cl += "-1";
  cr += "-1";
  f += "-2";
  t += "0";
  m += "0";
  v += "[" + std::to_string(depth) + "]";
  Spec s;
  s.inputs = NumberInputs({"x"}, {"x"});
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "boost", "n_targets": 1, "init": [0],
      "learning_rate": 1, "link": "identity", )" + options + R"( "trees": [
      {"target": 0, "children_left": [)" + cl + R"(], "children_right": [)" + cr + R"(], "feature": [)" + f +
                R"(], "threshold": [)" + t + R"(], "missing_go_to_left": [)" + m + R"(], "value": [)" + v + R"(]},
      {"target": 0, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2],
       "threshold": [2.5, 0, 0], "missing_go_to_left": [0, 0, 0], "value": [[0], [100], [200]]}]})";
  return s;
}

TEST(TreeKinds, WalksOfEveryDepthAndRuleAgree) {
  for (int depth : {1, 3, 8, 9, 12}) {
    for (const std::string o : {"", R"("threshold_dtype": "float64",)", R"("compare": "lt",)"}) {
      const Spec s = Staircase(depth, o);
      auto model = Load(s);
      // 11 rows: a full block of 8 (rows as lanes) and 3 single rows (trees as lanes).
      std::vector<double> rows, expect;
      for (int i = 0; i < 11; ++i) {
        const double x = i == 5 ? kNaN : i - 0.25;  // i - 0.25 <= d + 0.5 first at d = i
        rows.push_back(x);
        // NaN: right at d = 0, left at d = 1 (leaf 1); with one split, the right leaf (1) too.
        const int stair = i == 5 ? 1 : (i < depth ? i : depth);
        const double stump = i == 5 ? 200 : (x <= 2.5 ? 100 : 200);
        expect.push_back(stair + stump);
      }
      auto ws = model->NewWorkspace();
      std::vector<double> out(rows.size() * model->output_width());
      model->Predict(rows.data(), rows.size(), out.data(), *ws);
      for (size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(out[i * model->output_width()], expect[i]) << "depth " << depth << " options " << o << " row " << i;
        EXPECT_EQ(Predict(*model, {rows[i]})[0], expect[i]) << "one row; depth " << depth << " row " << i;
      }
    }
  }
}

}  // namespace
}  // namespace kiln_test

namespace kiln_test {
namespace {

// LightGBM's missing type Zero (zero_as_missing). Two trees on x: tree A's root has the
// zero_as_missing flag (threshold ta, NaN/zero way left when da), leaves 1 / 2; tree B's root is
// an ordinary split (threshold tb, NaN left when mb), leaves 10 / 20, so one ensemble checks both
// that the flag routes the band and that a node without it in the same kernel does not.
Spec ZeroTrees(const std::string& options, double ta, int da, double tb, int mb) {
  Spec s;
  s.inputs = NumberInputs({"x"}, {"x"});
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "boost", "n_targets": 1, "init": [0],
      "learning_rate": 1, "link": "identity", )" + options + R"( "trees": [
      {"target": 0, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2],
       "threshold": [)" + Num(ta) + R"(, 0, 0], "missing_go_to_left": [)" + std::to_string(da) + R"(, 0, 0],
       "zero_as_missing": [1, 0, 0], "value": [[0], [1], [2]]},
      {"target": 0, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2],
       "threshold": [)" + Num(tb) + R"(, 0, 0], "missing_go_to_left": [)" + std::to_string(mb) + R"(, 0, 0],
       "zero_as_missing": [0, 0, 0], "value": [[0], [10], [20]]}]})";
  return s;
}

// LightGBM 4.x Tree::NumericalDecision written out as in include/LightGBM/tree.h (missing type
// Zero), on the value the kind compares: x cast to float32 unless float64.
bool LightGbmZeroLeft(double x, double thr, bool default_left) {
  const double kZeroThreshold = 1e-35f;  // LightGBM's meta.h: a float literal in a double
  if (std::isnan(x)) x = 0.0;
  if (x >= -kZeroThreshold && x <= kZeroThreshold) return default_left;
  return x <= thr;
}

TEST(TreeKinds, ZeroAsMissingAtTheEdges) {
  const double z = static_cast<double>(1e-35f);  // 1.0000000180025095e-35
  EXPECT_EQ(z, 1.0000000180025095e-35);
  const double f_denorm = static_cast<double>(std::numeric_limits<float>::denorm_min());
  const std::vector<double> xs = {0.0, -0.0, 1e-36, -1e-36, 1e-35, -1e-35, z, -z,
                                  std::nextafter(z, 1.0), std::nextafter(-z, -1.0),
                                  static_cast<double>(std::nextafter(1e-35f, 1.0f)),
                                  -static_cast<double>(std::nextafter(1e-35f, 1.0f)),
                                  std::numeric_limits<double>::denorm_min(), -std::numeric_limits<double>::denorm_min(),
                                  f_denorm, -f_denorm, std::numeric_limits<double>::min(),
                                  kNaN, -kNaN, 0.5, std::nextafter(0.5, 1.0), std::nextafter(0.5, 0.0), -0.5,
                                  1e-30, -1e-30, 1e300, -1e300};
  // Thresholds: either side of the band, on its edges (LightGBM writes kZeroThreshold as a
  // threshold), and 0.5 for values on the threshold.
  for (const double ta : {-1.0, 0.5, z, -z, 0.0}) {
    for (int da : {0, 1}) {
      for (const bool f64 : {true, false}) {
        const Spec s = ZeroTrees(f64 ? R"("threshold_dtype": "float64",)" : "", ta, da, 1e-36, 1);
        auto model = Load(s);
        std::vector<double> expect;
        for (double x : xs) {
          const double seen = f64 ? x : static_cast<double>(static_cast<float>(x));  // the float32 kinds' cast
          // float32 kinds compare (double)x_f <= threshold (docs/model-format.md).
          const double thr_a = ta, thr_b = 1e-36;
          const double a = LightGbmZeroLeft(seen, thr_a, da != 0) ? 1 : 2;
          const double b = std::isnan(seen) ? 10 : (seen <= thr_b ? 10 : 20);  // ordinary node: NaN left (mb)
          expect.push_back(a + b);
        }
        // Every value: as one row (trees as lanes) and in blocks of 8 rows (rows as lanes).
        auto ws = model->NewWorkspace();
        std::vector<double> out(xs.size());
        model->Predict(xs.data(), xs.size(), out.data(), *ws);
        for (size_t i = 0; i < xs.size(); ++i) {
          const std::string what = "x " + Num(xs[i]) + " ta " + Num(ta) + " da " + std::to_string(da) +
                                   (f64 ? " float64" : " float32");
          EXPECT_EQ(out[i], expect[i]) << what;
          EXPECT_EQ(Predict(*model, {xs[i]})[0], expect[i]) << "one row; " << what;
        }
      }
    }
  }
}

TEST(TreeKinds, ZeroAsMissingFixedCases) {
  // Written out, independent of the reference above: threshold -1, zero/NaN way left (1), so
  // every band value and NaN gives 1 and everything else compares its way right (2).
  const double z = 1.0000000180025095e-35;
  auto model = Load(ZeroTrees(R"("threshold_dtype": "float64",)", -1.0, 1, 100.0, 0));
  for (double x : {0.0, -0.0, 1e-36, -1e-36, 1e-35, -1e-35, z, -z, 4.9e-324, -4.9e-324, 1e-45, kNaN}) {
    EXPECT_EQ(Predict(*model, {x})[0], std::isnan(x) ? 21.0 : 11.0) << Num(x);
  }
  for (double x : {std::nextafter(z, 1.0), std::nextafter(-z, -1.0), 1e-34, -1e-34, -0.5}) {
    EXPECT_EQ(Predict(*model, {x})[0], 12.0) << Num(x);
  }
  EXPECT_EQ(Predict(*model, {-1.0})[0], 11.0);  // on the threshold: left
  EXPECT_EQ(Predict(*model, {std::nextafter(-1.0, -2.0)})[0], 11.0);
  // The same values without the flag compare: 0 > -1 goes right.
  Spec plain = ZeroTrees(R"("threshold_dtype": "float64",)", -1.0, 1, 100.0, 0);
  const std::string flag = R"("zero_as_missing": [1, 0, 0])";
  plain.estimator.replace(plain.estimator.find(flag), flag.size(), R"("zero_as_missing": [0, 0, 0])");
  EXPECT_EQ(Predict(*Load(plain), {0.0})[0], 12.0);
  EXPECT_EQ(Predict(*Load(plain), {kNaN})[0], 21.0);
}

TEST(TreeKinds, ZeroAsMissingRefusedAtCategoricalSplits) {
  Spec s = Stump("", "0", "[0, 0, 0]", R"({"left": [1], "right": []})");
  s.estimator.replace(s.estimator.find(R"("value")"), 7, R"("zero_as_missing": [1, 0, 0], "value")");
  ExpectError([&] { Load(s); }, kiln::ErrorCode::kModelInvalid,
              "estimator.trees[0].zero_as_missing[0]: node 0 is categorical");
  Spec bad = Stump("", "0");
  bad.estimator.replace(bad.estimator.find(R"("value")"), 7, R"("zero_as_missing": [2, 0, 0], "value")");
  ExpectError([&] { Load(bad); }, kiln::ErrorCode::kModelInvalid, "estimator.trees[0].zero_as_missing");
}

}  // namespace
}  // namespace kiln_test
