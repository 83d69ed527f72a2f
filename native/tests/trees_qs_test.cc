// QuickScorer (trees_qs.cc) against the block walk, bit for bit: random ensembles whose trees
// have 1 .. 64 leaves, both compare rules, float32 and float64 thresholds, NaN routing on and
// off, boost and average with one or several targets, more trees than one chunk; rows with NaN,
// +-0, +-inf and values on and one step either side of thresholds; full and partial blocks and
// single rows; the AVX2 (V-QuickScorer's per-feature and dense scans) and scalar kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "../engine/src/json_reader.h"
#include "../engine/src/trees.h"

namespace kiln_test {
namespace {

using kiln::internal::BestTreeIsa;
using kiln::internal::Json;
using kiln::internal::JVal;
using kiln::internal::ParseTreeEnsemble;
using kiln::internal::SetTreeAlgo;
using kiln::internal::SetTreeIsa;
using kiln::internal::TreeAlgo;
using kiln::internal::TreeEnsemble;
using kiln::internal::TreeIsa;

constexpr size_t B = kiln::internal::kTreeBlockRows;
constexpr size_t QB = kiln::internal::kQsBlockRows;

struct Shape {
  bool boost;
  bool less;
  bool float64;
  bool missing;  // some nodes send NaN left
  size_t n_targets;
  size_t n_trees;
  uint32_t max_leaves;
};

// A random binary tree of exactly `leaves` leaves appended to the tree arrays j; returns its index.
int64_t Grow(Json& j, std::mt19937_64& rng, const Shape& s, size_t n_features, uint32_t leaves,
             std::vector<double>& thresholds) {
  const int64_t i = static_cast<int64_t>(j["children_left"].size());
  j["children_left"].push_back(-1);
  j["children_right"].push_back(-1);
  j["feature"].push_back(-2);
  j["threshold"].push_back(-2.0);
  j["missing_go_to_left"].push_back(0);
  std::vector<double> v(s.boost ? 1 : s.n_targets);
  for (double& x : v) x = std::uniform_real_distribution<double>(-3, 3)(rng);
  j["value"].push_back(v);
  if (leaves == 1) return i;
  const size_t f = rng() % n_features;
  double thr = std::uniform_real_distribution<double>(-2, 2)(rng);
  switch (rng() % 6) {
    case 0: thr = static_cast<float>(thr); break;  // exactly a float: rows land on it
    case 1: thr = 0.0; break;
    case 2: thr = -0.0; break;
    case 3: thr = static_cast<double>(static_cast<int>(thr * 4)) / 4; break;  // ties across nodes
    default: break;
  }
  thresholds.push_back(thr);
  j["feature"][i] = f;
  // A null threshold (+inf) now and then: every non-NaN value goes left.
  if (rng() % 40 == 0) {
    j["threshold"][i] = nullptr;
  } else {
    j["threshold"][i] = thr;
  }
  j["missing_go_to_left"][i] = s.missing ? static_cast<int>(rng() % 2) : 0;
  const uint32_t left_leaves = 1 + static_cast<uint32_t>(rng() % (leaves - 1));
  const int64_t l = Grow(j, rng, s, n_features, left_leaves, thresholds);
  const int64_t r = Grow(j, rng, s, n_features, leaves - left_leaves, thresholds);
  j["children_left"][i] = l;
  j["children_right"][i] = r;
  return i;
}

Json RandomEnsemble(std::mt19937_64& rng, const Shape& s, size_t n_features, std::vector<double>& thresholds) {
  Json o;
  o["kind"] = "tree_ensemble";
  o["n_features"] = n_features;
  o["aggregate"] = s.boost ? "boost" : "average";
  o["n_targets"] = s.n_targets;
  if (s.boost) {
    std::vector<double> init(s.n_targets);
    for (double& x : init) x = std::uniform_real_distribution<double>(-1, 1)(rng);
    o["init"] = init;
    o["learning_rate"] = 0.1;
    o["link"] = s.n_targets == 1 ? "logistic" : "softmax";
  }
  o["compare"] = s.less ? "lt" : "le";
  o["threshold_dtype"] = s.float64 ? "float64" : "float32";
  o["trees"] = Json::array();
  for (size_t t = 0; t < s.n_trees; ++t) {
    Json j;
    j["target"] = t % s.n_targets;
    for (const char* k : {"children_left", "children_right", "feature", "threshold", "missing_go_to_left", "value"}) {
      j[k] = Json::array();
    }
    // The last tree has the most leaves allowed, the others any count up to it.
    const uint32_t leaves = t + 1 == s.n_trees ? s.max_leaves : 1 + static_cast<uint32_t>(rng() % s.max_leaves);
    Grow(j, rng, s, n_features, leaves, thresholds);
    o["trees"].push_back(j);
  }
  return o;
}

TreeEnsemble Parse(const Json& j, TreeIsa isa, std::optional<TreeAlgo> algo) {
  SetTreeIsa(isa);
  SetTreeAlgo(algo);
  TreeEnsemble e;
  ParseTreeEnsemble(JVal(j, "estimator"), e);
  SetTreeIsa(std::nullopt);
  SetTreeAlgo(std::nullopt);
  return e;
}

// A feature value: mostly on a threshold or one step either side (in the compare type), else
// +-0, +-inf, NaN or a random value.
template <class T>
T RandomValue(std::mt19937_64& rng, const std::vector<double>& thresholds, bool with_nan) {
  constexpr T inf = std::numeric_limits<T>::infinity();
  const uint64_t pick = rng() % 16;
  if (pick < 8 && !thresholds.empty()) {
    const T f = static_cast<T>(thresholds[rng() % thresholds.size()]);
    switch (rng() % 3) {
      case 0: return f;
      case 1: return std::nextafter(f, inf);
      default: return std::nextafter(f, -inf);
    }
  }
  switch (pick) {
    case 8: return T(0);
    case 9: return -T(0);
    case 10: return with_nan ? std::numeric_limits<T>::quiet_NaN() : T(1);
    case 11: return (rng() % 2) ? inf : -inf;
    default: return std::uniform_real_distribution<T>(-3, 3)(rng);
  }
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Scores n rows through both ensembles in calls of `per_call` rows (the last call the rest) with
// the kernel the engine would pick for the call, and compares every score's bits: calls of 1-3
// rows take the walk (kQsMinRows), larger ones full and partial blocks of the scans (the dense
// scan for blocks without NaN routing on AVX2).
template <class T>
void CheckRows(const TreeEnsemble& walk, const TreeEnsemble& qs, std::mt19937_64& rng,
               const std::vector<double>& thresholds, size_t n, bool with_nan) {
  const size_t nf = walk.n_features;
  const size_t nt = walk.n_targets;
  std::vector<T> x(n * nf);
  for (T& v : x) v = RandomValue<T>(rng, thresholds, with_nan);
  std::vector<double> a(n * nt), b(n * nt);
  for (size_t per_call : {size_t{1}, size_t{3}, B, QB / 2, QB, n}) {
    for (size_t r0 = 0; r0 < n; r0 += per_call) {
      const size_t m = n - r0 < per_call ? n - r0 : per_call;
      const T* xb = x.data() + r0 * nf;
      bool any_nan = false;
      for (size_t i = 0; i < m * nf; ++i) any_nan |= std::isnan(xb[i]);
      walk.score[any_nan](walk, xb, nf, m, a.data());
      qs.score[any_nan](qs, xb, nf, m, b.data());
      for (size_t i = 0; i < m * nt; ++i) {
        ASSERT_TRUE(SameBits(a[i], b[i])) << "row " << r0 + i / nt << " target " << i % nt << " (calls of "
                                          << per_call << " rows): walk " << a[i] << " quickscorer " << b[i];
      }
    }
  }
}

std::string Describe(const Shape& s, size_t nf, TreeIsa isa) {
  return std::string(s.boost ? "boost" : "average") + (s.less ? " lt" : " le") + (s.float64 ? " f64" : " f32") +
         (s.missing ? " missing" : "") + " targets " + std::to_string(s.n_targets) + " trees " +
         std::to_string(s.n_trees) + " leaves " + std::to_string(s.max_leaves) + " features " + std::to_string(nf) +
         (isa == TreeIsa::kAvx2 ? " avx2" : " scalar");
}

TEST(TreeQuickScorer, MatchesWalkBitForBitOnRandomEnsembles) {
  std::mt19937_64 rng(20261125);
  size_t checked = 0, skipped = 0;
  const std::vector<Shape> shapes = {
      {false, false, false, true, 2, 40, 32},  // RandomForest-like: average, le, NaN routing
      {false, false, false, false, 2, 30, 64},
      {false, true, false, false, 1, 20, 33},
      {true, false, false, true, 1, 50, 31},  // GradientBoosting-like
      {true, true, false, true, 3, 45, 64},   // XGBoost-like: lt, several targets
      {true, false, true, true, 1, 40, 31},   // HistGradientBoosting-like: float64
      {false, true, true, false, 2, 25, 64},
      {true, false, false, false, 1, 300, 20},  // more than one chunk of trees
      {false, false, false, true, 1, 10, 1},   // stumps of one leaf only
      {false, false, false, false, 1, 15, 2},
  };
  for (const Shape& s : shapes) {
    for (size_t nf : {1u, 7u, 30u}) {
      std::vector<double> thresholds;
      const Json j = RandomEnsemble(rng, s, nf, thresholds);
      const TreeEnsemble walk = Parse(j, TreeIsa::kScalar, TreeAlgo::kWalk);
      ASSERT_EQ(walk.algo, TreeAlgo::kWalk);
      for (TreeIsa isa : {TreeIsa::kScalar, BestTreeIsa()}) {
        const TreeEnsemble qs = Parse(j, isa, TreeAlgo::kQuickScorer);
        SCOPED_TRACE(Describe(s, nf, isa));
        if (qs.isa == TreeIsa::kAvx2) {  // stumps of depth 1: the AVX2 all-nodes walk keeps them
          ASSERT_EQ(qs.algo, TreeAlgo::kWalk);
          ++skipped;
          continue;
        }
        ASSERT_EQ(qs.algo, TreeAlgo::kQuickScorer);
        ASSERT_EQ(qs.qs.mask_bits, s.max_leaves <= 32 ? 32u : 64u);
        for (bool with_nan : {false, true}) {
          for (size_t n : {1u, 3u, 7u, 8u, 9u, 17u, 40u, 64u}) {
            SCOPED_TRACE("rows " + std::to_string(n) + (with_nan ? " with NaN" : ""));
            if (s.float64) {
              CheckRows<double>(walk, qs, rng, thresholds, n, with_nan);
            } else {
              CheckRows<float>(walk, qs, rng, thresholds, n, with_nan);
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(skipped, BestTreeIsa() == TreeIsa::kAvx2 ? 3u : 0u);
  EXPECT_EQ(checked, (10u * 3u * 2u - skipped) * 2u * 8u);
}

// Values exactly on a threshold, a block's lanes (and each as a single row): the leaves' order and
// the masks' bits at the 32- and 64-leaf limits (a comb: each leaf reached by one value).
TEST(TreeQuickScorer, CombReachesEveryLeaf) {
  for (uint32_t leaves : {32u, 64u}) {
    for (bool less : {false, true}) {
      // Node k (k < leaves - 1) tests x0 against k; its left child is leaf k, its right node k+1.
      Json t;
      for (uint32_t k = 0; k + 1 < leaves; ++k) {
        t["children_left"].push_back(2 * k + 1);
        t["children_right"].push_back(2 * k + 2);
        t["feature"].push_back(0);
        t["threshold"].push_back(static_cast<double>(k));
        t["value"].push_back(std::vector<double>{-1.0});
        t["children_left"].push_back(-1);
        t["children_right"].push_back(-1);
        t["feature"].push_back(-2);
        t["threshold"].push_back(-2.0);
        t["value"].push_back(std::vector<double>{static_cast<double>(k)});
      }
      for (const char* k : {"children_left", "children_right"}) t[k].push_back(-1);
      t["feature"].push_back(-2);
      t["threshold"].push_back(-2.0);
      t["value"].push_back(std::vector<double>{static_cast<double>(leaves - 1)});
      Json o = {{"kind", "tree_ensemble"}, {"n_features", 1}, {"aggregate", "average"}, {"n_targets", 1},
                {"compare", less ? "lt" : "le"}, {"trees", Json::array({t})}};
      for (TreeIsa isa : {TreeIsa::kScalar, BestTreeIsa()}) {
        const TreeEnsemble e = Parse(o, isa, TreeAlgo::kQuickScorer);
        ASSERT_EQ(e.algo, TreeAlgo::kQuickScorer);
        for (uint32_t k = 0; k < leaves; ++k) {
          // On threshold k: le goes left to leaf k, lt goes right to node k + 1.
          const float x[B] = {static_cast<float>(k), static_cast<float>(k) - 0.5f, static_cast<float>(k) + 0.5f,
                              static_cast<float>(k), -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(), -0.0f};
          double acc[B];
          e.score[1](e, x, 1, B, acc);
          const double top = leaves - 1;
          const double on = less ? std::fmin(k + 1.0, top) : k;
          const double want[B] = {on, static_cast<double>(k), std::fmin(k + 1.0, top), on, 0, top, top, less ? 1.0 : 0.0};
          for (size_t r = 0; r < B; ++r) {
            EXPECT_EQ(acc[r], want[r]) << "leaves " << leaves << (less ? " lt" : " le") << " k " << k << " lane " << r;
            // The same value as a single row (the walk).
            double one = -1;
            e.score[1](e, x + r, 1, 1, &one);
            EXPECT_EQ(one, want[r]) << "leaves " << leaves << (less ? " lt" : " le") << " k " << k << " row " << r;
          }
        }
      }
    }
  }
}

// A tree of 65 leaves, categorical splits and the zero band keep the walk; so do shallow
// complete float32 trees on an AVX2 CPU (the all-nodes walk); KILN_TREE_ALGO=walk forces it.
TEST(TreeQuickScorer, PicksTheWalkWhereItDoesNotApply) {
  std::mt19937_64 rng(5);
  std::vector<double> thresholds;
  Shape s{false, false, false, false, 1, 4, 65};
  EXPECT_EQ(Parse(RandomEnsemble(rng, s, 5, thresholds), TreeIsa::kScalar, TreeAlgo::kQuickScorer).algo,
            TreeAlgo::kWalk);
  s.max_leaves = 64;
  const Json j = RandomEnsemble(rng, s, 5, thresholds);
  EXPECT_EQ(Parse(j, TreeIsa::kScalar, TreeAlgo::kQuickScorer).algo, TreeAlgo::kQuickScorer);
  EXPECT_EQ(Parse(j, TreeIsa::kScalar, TreeAlgo::kWalk).algo, TreeAlgo::kWalk);

  Json zero = j;
  zero["trees"][0]["zero_as_missing"] = std::vector<int>(zero["trees"][0]["feature"].size(), 1);
  EXPECT_EQ(Parse(zero, TreeIsa::kScalar, TreeAlgo::kQuickScorer).algo, TreeAlgo::kWalk);

  Json cat = j;
  std::vector<Json> cats(cat["trees"][0]["feature"].size(), nullptr);
  for (size_t i = 0; i < cats.size(); ++i) {
    if (cat["trees"][0]["feature"][i].get<int>() >= 0) {
      cats[i] = Json{{"left", {0, 2}}, {"right", {1}}};
      break;
    }
  }
  cat["trees"][0]["categories"] = cats;
  EXPECT_EQ(Parse(cat, TreeIsa::kScalar, TreeAlgo::kQuickScorer).algo, TreeAlgo::kWalk);

  // Depth 3 complete trees (GradientBoosting's): 8 leaves each.
  const Json stumps = Json::parse(R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "average",
    "n_targets": 1, "trees": [{"children_left": [1, 2, -1, -1, 5, -1, -1], "children_right": [4, 3, -1, -1, 6, -1, -1],
    "feature": [0, 0, -2, -2, 0, -2, -2], "threshold": [0.5, 0.25, -2, -2, 0.75, -2, -2],
    "value": [[0], [0], [1], [2], [0], [3], [4]]}]})");
  const TreeEnsemble shallow = Parse(stumps, BestTreeIsa(), TreeAlgo::kQuickScorer);
  EXPECT_EQ(shallow.algo, BestTreeIsa() == TreeIsa::kAvx2 ? TreeAlgo::kWalk : TreeAlgo::kQuickScorer);

  // Automatically: V-QuickScorer on an AVX2 CPU for float32 kinds only (the scalar kernels are
  // slower than the walk).
  const TreeAlgo vqs = BestTreeIsa() == TreeIsa::kAvx2 ? TreeAlgo::kQuickScorer : TreeAlgo::kWalk;
  TreeEnsemble e;
  ASSERT_EQ(setenv("KILN_TREE_ALGO", "walk", 1), 0);
  ParseTreeEnsemble(JVal(j, "estimator"), e);
  EXPECT_EQ(e.algo, TreeAlgo::kWalk);
  ASSERT_EQ(unsetenv("KILN_TREE_ALGO"), 0);
  ParseTreeEnsemble(JVal(j, "estimator"), e);
  EXPECT_EQ(e.algo, vqs);
  EXPECT_EQ(Parse(j, TreeIsa::kScalar, std::nullopt).algo, TreeAlgo::kWalk);
  Json f64 = j;
  f64["threshold_dtype"] = "float64";
  EXPECT_EQ(Parse(f64, BestTreeIsa(), std::nullopt).algo, TreeAlgo::kWalk);
  EXPECT_EQ(Parse(f64, BestTreeIsa(), TreeAlgo::kQuickScorer).algo, TreeAlgo::kQuickScorer);
}

}  // namespace
}  // namespace kiln_test
