// Linear estimator: dot products, links, labels and output layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

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

namespace kiln_test {
namespace {

// ExpNonPositive against expl (x86-64: 64-bit mantissa, so its own error is ~1/2048 of a double ulp).
double UlpError(double y, long double ref) {
  const double r = static_cast<double>(ref);
  if (r == 0.0) return y == 0.0 ? 0.0 : std::fabs(y) / std::numeric_limits<double>::denorm_min();
  int e;
  std::frexp(r, &e);  // r = m * 2^e, 0.5 <= m < 1: ulp 2^(e - 53), never below the subnormal step
  const double ulp = std::ldexp(1.0, std::max(e - 53, -1074));
  return static_cast<double>(std::fabs(static_cast<long double>(y) - ref) / ulp);
}

TEST(LinearExp, WithinTwoUlpOfExpDownToSubnormals) {
  using kiln::internal::ExpNonPositive;
  if (std::numeric_limits<long double>::digits < 64) GTEST_SKIP() << "no extended-precision reference";
  double worst = 0.0, worst_x = 0.0;
  auto check = [&](double x) {
    const double err = UlpError(ExpNonPositive(x), std::exp(static_cast<long double>(x)));
    if (err > worst) worst = err, worst_x = x;
  };
  uint64_t s = 12345;  // LCG: the same points every run
  auto next = [&s] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) * 0x1p-53;
  };
  for (int i = 0; i < 400000; ++i) check(-746.0 * next());       // the whole range
  for (int i = 0; i < 200000; ++i) check(-2.0 * next());         // where expit and softmax mostly are
  for (int i = 0; i < 100000; ++i) check(-708.0 - 38.0 * next());  // subnormal results
  for (int k = 0; k <= 1075; ++k) check(-0.6931471805599453 * (k + 0.5));  // reduction edges
  std::printf("ExpNonPositive: max %.3f ulp at x = %.17g\n", worst, worst_x);
  EXPECT_LE(worst, 2.0) << "at x = " << worst_x;
  EXPECT_EQ(ExpNonPositive(0.0), 1.0);
  EXPECT_EQ(ExpNonPositive(-0.0), 1.0);
  EXPECT_EQ(ExpNonPositive(-746.0), 0.0);
  EXPECT_EQ(ExpNonPositive(-kInf), 0.0);
  EXPECT_GT(ExpNonPositive(-745.0), 0.0);  // 4.9e-324, the smallest subnormal
  EXPECT_TRUE(std::isnan(ExpNonPositive(kNaN)));
}

// A standard scaler then a logistic regression or softmax classifier (the folded path), n features.
Spec ScaledClassifier(int n, int k, const std::string& link) {
  Spec s;
  std::vector<std::string> names;
  std::string mean = "[", scale = "[", coef = "[", icpt = "[";
  for (int j = 0; j < n; ++j) {
    names.push_back("f" + std::to_string(j));
    mean += (j ? ", " : "") + std::to_string(0.3 * j - 1.0);
    scale += (j ? ", " : "") + std::to_string(0.5 + 0.25 * j);
  }
  for (int q = 0; q < k; ++q) {
    coef += std::string(q ? ", " : "") + "[";
    for (int j = 0; j < n; ++j) coef += (j ? ", " : "") + std::to_string(0.7 * std::sin(1.3 * (j + 1) * (q + 1)));
    coef += "]";
    icpt += (q ? ", " : "") + std::to_string(0.1 * q - 0.2);
  }
  s.inputs = NumberInputs(names);
  s.transform = R"({"kind": "standard_scaler", "mean": )" + mean + "], \"scale\": " + scale + "]}";
  s.estimator = R"({"kind": "linear", "n_features": )" + std::to_string(n) + R"(, "coef": )" + coef +
                R"(], "intercept": )" + icpt + R"(], "link": ")" + link + R"("})";
  std::string classes = "[";
  for (int c = 0; c < (k == 1 ? 2 : k); ++c) classes += (c ? ", " : "") + std::to_string(c);
  s.output = R"({"task": "classification", "classes": )" + classes + R"(], "probabilities": true, "decision": true})";
  return s;
}

// Every row of every batch size (whole link groups of 16 rows, blocks of 4, partial blocks, and
// rows whose last load would run past the matrix) equals the row predicted alone, bit for bit,
// in float64 and float32; one row outside the fold's bound in the middle changes no other row.
TEST(LinearScaler, EveryRowEqualsItselfAloneInAnyBatch) {
  struct Case {
    int n, k;
    const char* link;
  };
  for (const Case& c : {Case{6, 1, "logistic"}, Case{8, 1, "logistic"}, Case{5, 1, "softmax"}, Case{7, 3, "softmax"},
                        Case{3, 4, "logistic"}, Case{1, 1, "logistic"}}) {
    auto m = Load(ScaledClassifier(c.n, c.k, c.link));
    const size_t w = m->output_width(), n = static_cast<size_t>(c.n);
    const size_t n_rows = 41;
    std::vector<double> rows(n_rows * n);
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = 3.0 * std::sin(0.7 * static_cast<double>(i) + 0.2);
    rows[9 * n] = 1e15;  // row 9: its bound is far over kFoldMaxRawError, it is scored unfolded
    std::vector<float> rows32(rows.begin(), rows.end());
    std::vector<double> alone(n_rows * w), alone32(n_rows * w);
    auto ws = m->NewWorkspace();
    for (size_t r = 0; r < n_rows; ++r) {
      m->Predict(rows.data() + r * n, 1, alone.data() + r * w, *ws);
      m->Predict(rows32.data() + r * n, 1, alone32.data() + r * w, *ws);
    }
    for (size_t batch : {size_t{2}, size_t{3}, size_t{4}, size_t{5}, size_t{16}, size_t{17}, size_t{21}, n_rows}) {
      std::vector<double> out(n_rows * w, -7.0), out32(n_rows * w, -7.0);
      for (size_t r = 0; r < n_rows; r += batch) {
        const size_t b = std::min(batch, n_rows - r);
        m->Predict(rows.data() + r * n, b, out.data() + r * w, *ws);
        m->Predict(rows32.data() + r * n, b, out32.data() + r * w, *ws);
      }
      for (size_t i = 0; i < out.size(); ++i) {
        ASSERT_EQ(out[i], alone[i]) << c.link << " n=" << c.n << " k=" << c.k << " batch " << batch << " row " << i / w;
        ASSERT_EQ(out32[i], alone32[i]) << c.link << " float32 batch " << batch << " row " << i / w;
      }
    }
    // The link itself: probabilities as RawHead computes them with std::exp, to rounding.
    for (size_t r = 0; r < n_rows; ++r) {
      const double* o = alone.data() + r * w;
      const double* d = o + 1 + (c.k == 1 ? 2 : c.k);
      if (c.k == 1 && std::string(c.link) == "logistic") {
        EXPECT_NEAR(o[2], 1.0 / (1.0 + std::exp(-d[0])), 1e-15);
        EXPECT_NEAR(o[1], 1.0 - o[2], 1e-15);
      } else if (c.k > 1 && std::string(c.link) == "softmax") {
        double mx = d[0], sum = 0.0;
        for (int q = 1; q < c.k; ++q) mx = std::max(mx, d[q]);
        for (int q = 0; q < c.k; ++q) sum += std::exp(d[q] - mx);
        for (int q = 0; q < c.k; ++q) EXPECT_NEAR(o[1 + q], std::exp(d[q] - mx) / sum, 1e-15);
      }
    }
  }
}

}  // namespace
}  // namespace kiln_test

// The box (FoldedScaler::box): the cheap check full blocks try before the exact bound.
namespace kiln_test {
namespace {

using kiln::internal::FoldedScaler;
using kiln::internal::LinearModel;
using kiln::internal::RawHead;

uint64_t Top(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b >> 48;
}

// The largest double whose top 16 bits are `top`: the box's corner in that feature.
double Corner(uint64_t top) {
  const uint64_t b = top << 48 | 0xFFFFFFFFFFFFULL;
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

struct BoxModel {
  LinearModel lm;
  std::vector<double> mean, scale;
  FoldedScaler f;
  RawHead head;  // regression: the raw score is the output
};

// n features, k classes, values of breast_cancer's spread: means 0.05 .. 900, scales 0.01 .. 350.
BoxModel MakeBoxModel(size_t n, size_t k) {
  BoxModel m;
  m.lm.n_features = static_cast<uint32_t>(n);
  m.lm.k = static_cast<uint32_t>(k);
  for (size_t q = 0; q < k; ++q) {
    for (size_t j = 0; j < n; ++j) m.lm.coef.push_back(std::sin(1.7 * static_cast<double>(q * n + j) + 0.4));
    m.lm.intercept.push_back(0.3 - 0.2 * static_cast<double>(q));
  }
  for (size_t j = 0; j < n; ++j) {
    const double e = std::pow(10.0, -1.3 + 4.25 * static_cast<double>(j % 7) / 6.0);
    m.mean.push_back(e);
    m.scale.push_back(0.4 * e * (1.0 + 0.1 * static_cast<double>(j % 3)));
  }
  kiln::internal::FoldScaler(m.lm, m.mean.data(), m.scale.data(), m.f);
  m.head.k = static_cast<uint32_t>(k);
  return m;
}

// The exact bound of one row as the kernel checks it, in long double: sum_j |w x| <= room, every class.
bool WithinRoom(const BoxModel& m, const double* x) {
  for (size_t q = 0; q < m.lm.k; ++q) {
    long double sum = 0;
    for (size_t j = 0; j < m.lm.n_features; ++j) sum += std::fabs(static_cast<long double>(m.f.w[q * m.f.stride + j]) * x[j]);
    if (!(sum <= m.f.room[q * kiln::internal::kDotLanes])) return false;
  }
  return true;
}

// FoldedPredict over n_rows rows (k = 1: regression head): the first row it leaves to the exact path.
size_t Fold(const BoxModel& m, const std::vector<double>& rows, size_t n_rows, std::vector<double>& out, bool* ok) {
  out.assign(n_rows, -7.0);
  double raw[kiln::internal::kLinearBlockRows * 4];
  return kiln::internal::FoldedPredict(m.lm, m.f, m.head, rows.data(), 0, n_rows, out.data(), 1, raw, ok);
}

TEST(LinearBox, TheBoxCornerIsWithinTheBound) {
  for (const auto& [n, k] : {std::pair<size_t, size_t>{30, 1}, {7, 1}, {5, 3}, {1, 1}}) {
    const BoxModel m = MakeBoxModel(n, k);
    ASSERT_FALSE(m.f.box.empty()) << n;
    std::vector<double> corner(n);
    for (size_t j = 0; j < n; ++j) {
      const uint64_t top = m.f.box[j] >> 48;
      corner[j] = Corner(top);
      // The box is not empty, and not so loose it is useless: at least 4x the feature's mean.
      EXPECT_GE(corner[j], 4.0 * m.mean[j]) << "feature " << j;
    }
    // Every row the box takes is within the bound (the corner is the largest such row).
    EXPECT_TRUE(WithinRoom(m, corner.data())) << "n=" << n << " k=" << k;
    for (size_t j = n; j < m.f.stride; ++j) EXPECT_EQ(m.f.box[j], ~uint64_t{0});  // past n_features
  }
}

TEST(LinearBox, OutsideTheBoxTheExactBoundDecides) {
  const size_t n = 30;
  const BoxModel m = MakeBoxModel(n, 1);
  std::vector<double> base(n);
  for (size_t j = 0; j < n; ++j) base[j] = m.mean[j] * (1.0 + 0.05 * std::cos(static_cast<double>(j)));
  // 4 blocks of 4 rows: in the box; one value past its box but the row within its bound; a negative
  // value (never in the box) within the bound; a value far past the bound (not folded).
  std::vector<double> rows;
  for (size_t r = 0; r < 16; ++r) rows.insert(rows.end(), base.begin(), base.end());
  const double past = Corner((m.f.box[3] >> 48) + 1);  // the smallest value past feature 3's box
  rows[5 * n + 3] = 2.0 * past;
  rows[9 * n + 4] = -m.mean[4];
  rows[14 * n + 2] = 1e12 * m.mean[2];
  ASSERT_GT(Top(rows[5 * n + 3]), m.f.box[3] >> 48);
  ASSERT_TRUE(WithinRoom(m, &rows[5 * n]));
  ASSERT_TRUE(WithinRoom(m, &rows[9 * n]));
  ASSERT_FALSE(WithinRoom(m, &rows[14 * n]));
  std::vector<double> out, alone;
  bool ok[4] = {};
  // The first three blocks fold (the box, then the bound for blocks 2 and 3); block 4 stops at row 14.
  ASSERT_EQ(Fold(m, rows, 16, out, ok), 12u);
  EXPECT_TRUE(ok[0] && ok[1] && !ok[2] && ok[3]);
  // Each folded row equals itself scored alone (one row: the bound only, never the box).
  for (size_t r = 0; r < 12; ++r) {
    const std::vector<double> one(rows.begin() + static_cast<long>(r * n), rows.begin() + static_cast<long>((r + 1) * n));
    bool ok1[4] = {};
    ASSERT_EQ(Fold(m, one, 1, alone, ok1), 1u) << "row " << r;
    EXPECT_EQ(out[r], alone[0]) << "row " << r;
  }
}

TEST(LinearBox, RowsNeverInTheBoxStillFoldByTheBound) {
  // Every block misses the box (a negative value in each row): more misses than kBoxMaxMisses, so
  // the call goes on with the bound alone; every row folds and equals itself alone.
  const size_t n = 7, n_rows = 41;
  const BoxModel m = MakeBoxModel(n, 1);
  std::vector<double> rows(n_rows * n);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = m.mean[i % n] * (i % n == 2 ? -1.0 : 1.0 + 0.01 * static_cast<double>(i % 5));
  for (size_t r = 0; r < n_rows; ++r) ASSERT_TRUE(WithinRoom(m, &rows[r * n]));
  std::vector<double> out, alone;
  bool ok[4] = {};
  ASSERT_EQ(Fold(m, rows, n_rows, out, ok), n_rows);
  for (size_t r = 0; r < n_rows; ++r) {
    const std::vector<double> one(rows.begin() + static_cast<long>(r * n), rows.begin() + static_cast<long>((r + 1) * n));
    bool ok1[4] = {};
    ASSERT_EQ(Fold(m, one, 1, alone, ok1), 1u);
    EXPECT_EQ(out[r], alone[0]) << "row " << r;
  }
}

TEST(LinearBox, NoBoxWhenALimitIsTooSmallToWrite) {
  BoxModel m = MakeBoxModel(4, 1);
  m.mean[1] = 0.0;
  m.scale[1] = 1e-312;  // subnormal: the limit t * scale has top 16 bits 0
  m.lm.coef[1] = 1e-5;  // w = coef / scale = 1e307, still finite: the fold itself stands
  kiln::internal::FoldScaler(m.lm, m.mean.data(), m.scale.data(), m.f);
  ASSERT_FALSE(m.f.empty());
  EXPECT_TRUE(m.f.box.empty());
  std::vector<double> rows = {1, 0, 1, 1, 2, 0, 2, 2, 3, 0, 3, 3, 4, 0, 4, 4};
  std::vector<double> out;
  bool ok[4] = {};
  EXPECT_EQ(Fold(m, rows, 4, out, ok), 4u);  // the bound alone
}

}  // namespace
}  // namespace kiln_test
