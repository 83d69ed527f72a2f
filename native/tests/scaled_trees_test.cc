// A StandardScaler in front of a tree ensemble: PredictTrees scales a block of rows straight from
// the caller's matrix into the trees' features (ScaleRows), and boosted trees write their rows
// through the linear head's vector links. Both must give what the checked row-by-row path gives.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../engine/src/linear.h"
#include "test_util.h"

namespace kiln_test {
namespace {

std::string Num(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string List(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + Num(v[i]);
  return s + "]";
}

double Mean(size_t j) { return 0.37 * static_cast<double>(j) - 1.3; }
double Scale(size_t j) { return 0.3 + 0.17 * static_cast<double>(j); }
double Value(size_t i) { return 3.0 * std::sin(0.71 * static_cast<double>(i) + 0.2) + 0.1 * static_cast<double>(i % 7); }

// The scaled value the program gives, as the float32 trees compare it.
double Scaled(double x, size_t j) { return (x - Mean(j)) / Scale(j); }

// Complete trees of depth 2 over features picked by the tree's index; thresholds are values of
// the test rows as the trees see them (scaled or not), rounded to float as sklearn's, so some rows
// sit exactly on a split.
std::string Trees(size_t n, size_t n_trees, size_t n_targets, bool boost, const std::vector<double>& rows,
                  bool scaled) {
  std::string s;
  const size_t n_rows = rows.size() / n;
  for (size_t t = 0; t < n_trees; ++t) {
    const size_t f[3] = {(3 * t) % n, (3 * t + 1) % n, (3 * t + 2) % n};
    double thr[3];
    for (int k = 0; k < 3; ++k) {
      const size_t r = (5 * t + 3 * static_cast<size_t>(k)) % n_rows;
      const double x = rows[r * n + f[k]];
      thr[k] = static_cast<float>(scaled ? Scaled(x, f[k]) : x);
    }
    std::string value = "[";
    for (int node = 0; node < 7; ++node) {
      value += node ? ", [" : "[";
      for (size_t q = 0; q < (boost ? 1 : n_targets); ++q) {  // a boosted tree adds to one target
        const bool leaf = node == 2 || node == 3 || node == 5 || node == 6;
        double v = leaf ? std::cos(1.7 * static_cast<double>(node + 1) * static_cast<double>(t + q + 1)) : 0.0;
        if (!boost) v = leaf ? (q == (t + static_cast<size_t>(node)) % n_targets ? 1.0 : 0.0) : 0.0;
        value += (q ? ", " : "") + Num(v);
      }
      value += "]";
    }
    value += "]";
    s += std::string(t ? ", " : "") + "{" + (boost ? R"("target": )" + std::to_string(t % n_targets) + ", " : "") +
         R"("children_left": [1, 2, -1, -1, 5, -1, -1], "children_right": [4, 3, -1, -1, 6, -1, -1], "feature": [)" +
         std::to_string(f[0]) + ", " + std::to_string(f[1]) + ", -2, -2, " + std::to_string(f[2]) +
         R"(, -2, -2], "threshold": [)" + Num(thr[0]) + ", " + Num(thr[1]) + ", 0, 0, " + Num(thr[2]) +
         R"(, 0, 0], "value": )" + value + "}";
  }
  return s;
}

struct Kind {
  const char* name;
  size_t n;          // inputs
  size_t targets;    // raw scores (boost) or classes (average)
  bool boost;
  const char* link;  // boost: "logistic", "softmax" or "identity" (regression)
  const char* options;
};

// What runs in front of the trees. kIdentity* put a min-max scaler with scale 1 and min 0 first:
// x * 1 + 0 is x (the test values are not -0), but the program is no longer the plain scaler (or
// empty), so rows go the checked way, the program run row by row: the reference.
enum class Pre { kNone, kScaler, kIdentity, kIdentityThenScaler };

// scaled_thresholds: split on the scaled test values (default: when the model has the scaler).
Spec Model(const Kind& k, const std::vector<double>& rows, Pre pre, int scaled_thresholds = -1) {
  const bool scaled = scaled_thresholds < 0 ? pre == Pre::kScaler || pre == Pre::kIdentityThenScaler
                                            : scaled_thresholds != 0;
  Spec s;
  std::vector<std::string> names;
  std::vector<double> mean, scale;
  for (size_t j = 0; j < k.n; ++j) {
    names.push_back("f" + std::to_string(j));
    mean.push_back(Mean(j));
    scale.push_back(Scale(j));
  }
  s.inputs = NumberInputs(names, {"f1"});  // f1 nullable: a NaN there is routed, not refused
  const std::string scaler = R"({"kind": "standard_scaler", "mean": )" + List(mean) + R"(, "scale": )" + List(scale) + "}";
  const std::string identity = R"({"kind": "min_max_scaler", "scale": )" + List(std::vector<double>(k.n, 1.0)) +
                               R"(, "min": )" + List(std::vector<double>(k.n, 0.0)) + "}";
  if (pre == Pre::kScaler) s.transform = scaler;
  if (pre == Pre::kIdentity) s.transform = identity;
  if (pre == Pre::kIdentityThenScaler) s.transform = R"({"kind": "pipeline", "steps": [)" + identity + ", " + scaler + "]}";
  const size_t n_trees = 12;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": )" + std::to_string(k.n) + R"(, "aggregate": ")" +
                (k.boost ? "boost" : "average") + R"(", "n_targets": )" + std::to_string(k.targets) + ", " + k.options;
  if (k.boost) {
    std::vector<double> init;
    for (size_t q = 0; q < k.targets; ++q) init.push_back(0.1 * static_cast<double>(q) - 0.05);
    s.estimator += R"("init": )" + List(init) + R"(, "learning_rate": 0.3, "link": ")" + k.link + R"(", )";
  }
  s.estimator += R"("trees": [)" + Trees(k.n, n_trees, k.targets, k.boost, rows, scaled) + "]}";
  const bool regression = k.boost && std::string(k.link) == "identity";
  if (!regression) {
    const size_t n_classes = k.boost && k.targets == 1 ? 2 : k.targets;
    std::string classes = "[";
    for (size_t c = 0; c < n_classes; ++c) classes += (c ? ", " : "") + std::to_string(c);
    s.output = R"({"task": "classification", "classes": )" + classes + R"(], "probabilities": true, "decision": )" +
               (k.boost ? "true" : "false") + "}";
  }
  return s;
}

const Kind kKinds[] = {
    {"gbm binary", 30, 1, true, "logistic", ""},
    {"gbm binary, 7 inputs (a lane tail)", 7, 1, true, "logistic", ""},
    {"gbm multiclass", 6, 3, true, "softmax", ""},
    {"gbm regression", 5, 1, true, "identity", ""},
    {"gbm float64 thresholds", 9, 1, true, "logistic", R"("threshold_dtype": "float64", )"},
    {"random forest", 10, 3, false, "", ""},
};

std::vector<double> TestRows(size_t n_rows, size_t n) {
  std::vector<double> rows(n_rows * n);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = Value(i);
  return rows;
}

// With the plain scaler, or no transform: every batch size (whole blocks of 8, partial blocks,
// single rows) gives each row what the checked path gives, bit for bit, in float64 and float32:
// the decision values (raw scores) and the probabilities, which both paths compute with the same
// head.
TEST(ScaledTrees, EveryRowEqualsTheCheckedPathInAnyBatch) {
  for (const Kind& k : kKinds) {
    for (const auto& [fast, checked] : {std::pair{Pre::kScaler, Pre::kIdentityThenScaler},
                                        std::pair{Pre::kNone, Pre::kIdentity}}) {
      const size_t n_rows = 29, n = k.n;
      const std::vector<double> rows = TestRows(n_rows, n);
      const std::vector<float> rows32(rows.begin(), rows.end());
      auto m = Load(Model(k, rows, fast));
      auto ref = Load(Model(k, rows, checked));
      const size_t w = m->output_width();
      auto ws = m->NewWorkspace();
      auto rws = ref->NewWorkspace();
      std::vector<double> want(n_rows * w), want32(n_rows * w);
      for (size_t r = 0; r < n_rows; ++r) {
        ref->Predict(rows.data() + r * n, 1, want.data() + r * w, *rws);
        ref->Predict(rows32.data() + r * n, 1, want32.data() + r * w, *rws);
      }
      for (size_t batch : {size_t{1}, size_t{3}, size_t{8}, size_t{9}, size_t{16}, n_rows}) {
        std::vector<double> out(n_rows * w, -7.0), out32(n_rows * w, -7.0);
        for (size_t r = 0; r < n_rows; r += batch) {
          const size_t b = std::min(batch, n_rows - r);
          m->Predict(rows.data() + r * n, b, out.data() + r * w, *ws);
          m->Predict(rows32.data() + r * n, b, out32.data() + r * w, *ws);
        }
        for (size_t i = 0; i < out.size(); ++i) {
          ASSERT_EQ(out[i], want[i]) << k.name << (fast == Pre::kScaler ? " scaled" : " no transform") << " batch "
                                     << batch << " row " << i / w << " col " << i % w;
          ASSERT_EQ(out32[i], want32[i]) << k.name << " float32 batch " << batch << " row " << i / w;
        }
      }
    }
  }
}

// The scaled model equals the same trees without a transform fed the inputs scaled by the test
// (subtract, then divide), bit for bit.
TEST(ScaledTrees, EqualsTheTreesOnInputsScaledByHand) {
  for (const Kind& k : kKinds) {
    const size_t n_rows = 29, n = k.n;
    const std::vector<double> rows = TestRows(n_rows, n);
    auto m = Load(Model(k, rows, Pre::kScaler));
    auto plain = Load(Model(k, rows, Pre::kNone, /*scaled_thresholds=*/1));
    const size_t w = m->output_width();
    std::vector<double> z(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) z[i] = Scaled(rows[i], i % n);
    std::vector<double> want(n_rows * w);
    auto pws = plain->NewWorkspace();
    plain->Predict(z.data(), n_rows, want.data(), *pws);
    std::vector<float> rows32(rows.begin(), rows.end());
    std::vector<double> z32(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) z32[i] = Scaled(static_cast<double>(rows32[i]), i % n);
    std::vector<double> want32(n_rows * w);
    plain->Predict(z32.data(), n_rows, want32.data(), *pws);
    auto ws = m->NewWorkspace();
    std::vector<double> out(n_rows * w), out32(n_rows * w);
    m->Predict(rows.data(), n_rows, out.data(), *ws);
    m->Predict(rows32.data(), n_rows, out32.data(), *ws);
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_EQ(out[i], want[i]) << k.name << " row " << i / w << " col " << i % w;
      ASSERT_EQ(out32[i], want32[i]) << k.name << " float32 row " << i / w;
    }
  }
}

// A block holding a NaN (in the nullable input) takes the checked path, the program run row by
// row: its other rows get what they get alone in a fast block, bit for bit, and the NaN row what
// the checked model gives it (routed as the trees say).
TEST(ScaledTrees, BlockWithANaNTakesTheCheckedPathWithTheSameAnswers) {
  for (const Kind& k : kKinds) {
    for (const auto& [fast, checked] : {std::pair{Pre::kScaler, Pre::kIdentityThenScaler},
                                        std::pair{Pre::kNone, Pre::kIdentity}}) {
      const size_t n_rows = 19, n = k.n;
      std::vector<double> rows = TestRows(n_rows, n);
      auto m = Load(Model(k, rows, fast));
      auto ref = Load(Model(k, rows, checked));
      const size_t w = m->output_width();
      auto ws = m->NewWorkspace();
      std::vector<double> alone(n_rows * w);
      for (size_t r = 0; r < n_rows; ++r) m->Predict(rows.data() + r * n, 1, alone.data() + r * w, *ws);
      rows[10 * n + 1] = kNaN;  // row 10, input f1: the second block goes the checked way
      std::vector<double> out(n_rows * w);
      m->Predict(rows.data(), n_rows, out.data(), *ws);
      for (size_t i = 0; i < out.size(); ++i) {
        if (i / w == 10) continue;
        ASSERT_EQ(out[i], alone[i]) << k.name << " row " << i / w;
      }
      const std::vector<double> nan_row =
          Predict(*ref, std::vector<double>(rows.begin() + 10 * n, rows.begin() + 11 * n));
      for (size_t c = 0; c < w; ++c) ASSERT_EQ(out[10 * w + c], nan_row[c]) << k.name << " NaN row, col " << c;
    }
  }
}

// Values the fast paths do not take: inf, or NaN in a non-nullable input, is refused for its row,
// after the rows before it are written; a finite value whose scaled value overflows is compared
// as inf.
TEST(ScaledTrees, NotFiniteValuesAreReportedForTheirRow) {
  const Kind& k = kKinds[0];
  for (Pre pre : {Pre::kScaler, Pre::kNone}) {
    const size_t n_rows = 13, n = k.n;
    std::vector<double> rows = TestRows(n_rows, n);
    auto m = Load(Model(k, rows, pre));
    const size_t w = m->output_width();
    auto ws = m->NewWorkspace();
    std::vector<double> alone(n_rows * w);
    for (size_t r = 0; r < n_rows; ++r) m->Predict(rows.data() + r * n, 1, alone.data() + r * w, *ws);
    for (double bad : {kInf, -kInf, kNaN}) {
      std::vector<double> bad_rows = rows;
      bad_rows[11 * n + 4] = bad;  // row 11, input f4 (not nullable)
      std::vector<double> out(n_rows * w, -7.0);
      try {
        m->Predict(bad_rows.data(), n_rows, out.data(), *ws);
        FAIL() << "no error for " << bad;
      } catch (const kiln::Error& e) {
        EXPECT_EQ(e.code(), std::isnan(bad) ? kiln::ErrorCode::kInputMissing : kiln::ErrorCode::kInputNotFinite);
        EXPECT_NE(std::string(e.what()).find("(row 11)"), std::string::npos) << e.what();
      }
      for (size_t i = 0; i < 11 * w; ++i) ASSERT_EQ(out[i], alone[i]) << "row " << i / w << " before the bad one";
    }
  }
  std::vector<double> rows = TestRows(13, k.n);
  auto m = Load(Model(k, rows, Pre::kScaler));
  auto ref = Load(Model(k, rows, Pre::kIdentityThenScaler));
  rows[2 * k.n + 0] = 1e308;  // (1e308 - mean) / 0.3 overflows to inf: the checked path, its answer
  const size_t w = m->output_width();
  std::vector<double> out(13 * w);
  auto ws = m->NewWorkspace();
  m->Predict(rows.data(), 13, out.data(), *ws);
  const std::vector<double> row2 = Predict(*ref, std::vector<double>(rows.begin() + 2 * k.n, rows.begin() + 3 * k.n));
  for (size_t c = 0; c < w; ++c) EXPECT_EQ(out[2 * w + c], row2[c]);
}

// ScaleRows into float: each value is the double subtract-then-divide rounded to float, whatever
// the row count and lane tail; any value that is not finite (input or scaled) is reported.
TEST(ScaledTrees, ScaleRowsToFloatEqualsTheCastOfTheDoubleScaling) {
  for (size_t n : {size_t{1}, size_t{4}, size_t{7}, size_t{30}}) {
    for (size_t m : {size_t{1}, size_t{3}, size_t{8}}) {
      std::vector<double> mean(n), scale(n), rows(m * n);
      for (size_t j = 0; j < n; ++j) {
        mean[j] = Mean(j);
        scale[j] = Scale(j);
      }
      for (size_t i = 0; i < rows.size(); ++i) rows[i] = Value(i) * 1e3;
      std::vector<float> rows32(rows.begin(), rows.end());
      std::vector<float> z(m * n), z32(m * n);
      std::vector<double> zd(m * n);
      ASSERT_TRUE(kiln::internal::ScaleRows(rows.data(), m, n, mean.data(), scale.data(), z.data()));
      ASSERT_TRUE(kiln::internal::ScaleRows(rows32.data(), m, n, mean.data(), scale.data(), z32.data()));
      ASSERT_TRUE(kiln::internal::ScaleRows(rows.data(), m, n, mean.data(), scale.data(), zd.data()));
      std::vector<float> c(m * n), c32(m * n);
      std::vector<double> cd(m * n), cd32(m * n);
      ASSERT_TRUE(kiln::internal::CastRows(rows.data(), m, n, c.data()));
      ASSERT_TRUE(kiln::internal::CastRows(rows32.data(), m, n, c32.data()));
      ASSERT_TRUE(kiln::internal::CastRows(rows.data(), m, n, cd.data()));
      ASSERT_TRUE(kiln::internal::CastRows(rows32.data(), m, n, cd32.data()));
      for (size_t i = 0; i < m * n; ++i) {
        ASSERT_EQ(c[i], static_cast<float>(rows[i])) << "n=" << n << " i=" << i;
        ASSERT_EQ(c32[i], rows32[i]) << "n=" << n << " i=" << i;
        ASSERT_EQ(cd[i], rows[i]) << "n=" << n << " i=" << i;
        ASSERT_EQ(cd32[i], static_cast<double>(rows32[i])) << "n=" << n << " i=" << i;
      }
      for (size_t i = 0; i < m * n; ++i) {
        const double want = (rows[i] - mean[i % n]) / scale[i % n];
        const double want32 = (static_cast<double>(rows32[i]) - mean[i % n]) / scale[i % n];
        ASSERT_EQ(std::memcmp(&zd[i], &want, sizeof want), 0) << "n=" << n << " i=" << i;
        ASSERT_EQ(z[i], static_cast<float>(want)) << "n=" << n << " i=" << i;
        ASSERT_EQ(z32[i], static_cast<float>(want32)) << "n=" << n << " i=" << i;
      }
      for (double bad : {kNaN, kInf, -kInf, 1e308}) {
        for (size_t at : {size_t{0}, m * n - 1}) {  // first value, and the last (a tail lane when n % 4)
          if (bad == 1e308 && at != 0) continue;   // finite once scaled there (scale > 1)
          std::vector<double> b = rows;
          b[at] = bad;
          EXPECT_FALSE(kiln::internal::ScaleRows(b.data(), m, n, mean.data(), scale.data(), z.data()))
              << "n=" << n << " m=" << m << " value " << bad;
          if (bad != 1e308) {
            EXPECT_FALSE(kiln::internal::CastRows(b.data(), m, n, c.data())) << "n=" << n << " m=" << m << " " << bad;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln_test
