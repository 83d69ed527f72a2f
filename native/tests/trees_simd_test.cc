// The AVX2 tree walk against the scalar walk and against a direct walk of the model's own arrays:
// random ensembles (both compare rules, NaN routing, boost and average), random rows with NaN,
// +-0, +-inf and values on and around thresholds, full and partial blocks, both kernel variants
// (with and without NaN routing). Every score must be bit-identical.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <cstdlib>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "../engine/src/json_reader.h"
#include "../engine/src/trees.h"

namespace kiln_test {
namespace {

using kiln::internal::BestTreeIsa;
using kiln::internal::Json;
using kiln::internal::JVal;
using kiln::internal::ParseTreeEnsemble;
using kiln::internal::SetTreeIsa;
using kiln::internal::TreeEnsemble;
using kiln::internal::TreeIsa;

constexpr size_t B = kiln::internal::kTreeBlockRows;
const float kNaNf = std::numeric_limits<float>::quiet_NaN();
const float kInff = std::numeric_limits<float>::infinity();

struct Tree {
  std::vector<int64_t> left, right, feature, missing;
  std::vector<double> threshold;
  std::vector<std::vector<double>> value;
  int64_t target = 0;
};

struct Ensemble {
  bool boost = true;
  bool less = false;
  bool float64 = false;  // threshold_dtype float64: rows compared as doubles
  size_t n_features = 0;
  size_t n_targets = 1;
  double learning_rate = 0.1;
  std::vector<double> init;
  std::vector<Tree> trees;
};

// Appends a subtree of at most `depth` levels below; returns its node index.
int64_t Grow(Tree& t, std::mt19937_64& rng, const Ensemble& en, uint32_t depth, std::vector<double>& thresholds) {
  const int64_t i = static_cast<int64_t>(t.left.size());
  t.left.push_back(-1);
  t.right.push_back(-1);
  t.feature.push_back(-2);
  t.missing.push_back(0);
  t.threshold.push_back(-2.0);
  const size_t width = en.boost ? 1 : en.n_targets;
  std::vector<double> v(width);
  for (double& x : v) x = std::uniform_real_distribution<double>(-3, 3)(rng);
  t.value.push_back(v);
  // Leaves above the last level exercise the complete layout's copied leaves.
  if (depth == 0 || rng() % 6 == 0) return i;
  t.feature[i] = static_cast<int64_t>(rng() % en.n_features);
  double thr = std::uniform_real_distribution<double>(-2, 2)(rng);
  switch (rng() % 4) {
    case 0: thr = static_cast<float>(thr); break;  // exactly a float: rows land on it
    case 1: thr = 0.0; break;
    default: break;
  }
  t.threshold[i] = thr;
  thresholds.push_back(thr);
  t.missing[i] = static_cast<int64_t>(rng() % 2);
  const int64_t l = Grow(t, rng, en, depth - 1, thresholds);
  const int64_t r = Grow(t, rng, en, depth - 1, thresholds);
  t.left[i] = l;
  t.right[i] = r;
  return i;
}

Ensemble Random(std::mt19937_64& rng, bool boost, bool less, size_t n_targets, uint32_t depth, size_t n_trees,
                size_t n_features, std::vector<double>& thresholds) {
  Ensemble en;
  en.boost = boost;
  en.less = less;
  en.n_features = n_features;
  en.n_targets = n_targets;
  for (size_t k = 0; k < n_targets; ++k) en.init.push_back(std::uniform_real_distribution<double>(-1, 1)(rng));
  for (size_t i = 0; i < n_trees; ++i) {
    Tree t;
    t.target = static_cast<int64_t>(i % n_targets);
    Grow(t, rng, en, depth, thresholds);
    en.trees.push_back(std::move(t));
  }
  // One tree of the full depth on every path, so the ensemble's depth is `depth`.
  Tree t;
  std::mt19937_64 full(rng());
  std::function<int64_t(uint32_t)> grow_full = [&](uint32_t d) -> int64_t {
    const int64_t i = static_cast<int64_t>(t.left.size());
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.feature.push_back(d == 0 ? -2 : static_cast<int64_t>(full() % n_features));
    t.missing.push_back(static_cast<int64_t>(full() % 2));
    t.threshold.push_back(d == 0 ? -2.0 : std::uniform_real_distribution<double>(-1, 1)(full));
    if (d > 0) thresholds.push_back(t.threshold.back());
    t.value.push_back(std::vector<double>(boost ? 1 : n_targets, static_cast<double>(i)));
    if (d == 0) return i;
    const int64_t l = grow_full(d - 1);
    const int64_t r = grow_full(d - 1);
    t.left[i] = l;
    t.right[i] = r;
    return i;
  };
  grow_full(depth);
  en.trees.push_back(std::move(t));
  return en;
}

Json ToJson(const Ensemble& en) {
  Json o;
  o["kind"] = "tree_ensemble";
  o["n_features"] = en.n_features;
  o["aggregate"] = en.boost ? "boost" : "average";
  o["n_targets"] = en.n_targets;
  if (en.boost) {
    o["init"] = en.init;
    o["learning_rate"] = en.learning_rate;
    o["link"] = en.n_targets == 1 ? "logistic" : "softmax";
  }
  o["compare"] = en.less ? "lt" : "le";
  if (en.float64) o["threshold_dtype"] = "float64";
  o["trees"] = Json::array();
  for (const Tree& t : en.trees) {
    Json j;
    j["target"] = t.target;
    j["children_left"] = t.left;
    j["children_right"] = t.right;
    j["feature"] = t.feature;
    j["threshold"] = t.threshold;
    j["missing_go_to_left"] = t.missing;
    j["value"] = t.value;
    o["trees"].push_back(j);
  }
  return o;
}

// The model's own arrays walked directly, as sklearn / XGBoost do: the float32 value widened to
// double against the double threshold; NaN by missing_go_to_left; the leaf value times the
// learning rate added to the target's raw score in tree order (average: summed, then / T).
template <class T>
std::vector<double> Reference(const Ensemble& en, const T* x) {
  std::vector<double> acc = en.boost ? en.init : std::vector<double>(en.n_targets, 0.0);
  for (const Tree& t : en.trees) {
    int64_t i = 0;
    while (t.left[static_cast<size_t>(i)] != -1) {
      const size_t n = static_cast<size_t>(i);
      const T v = x[t.feature[n]];
      bool left;
      if (std::isnan(v)) {
        left = t.missing[n] != 0;
      } else {
        left = en.less ? static_cast<double>(v) < t.threshold[n] : static_cast<double>(v) <= t.threshold[n];
      }
      i = left ? t.left[n] : t.right[n];
    }
    const std::vector<double>& v = t.value[static_cast<size_t>(i)];
    if (en.boost) {
      acc[static_cast<size_t>(t.target)] += en.learning_rate * v[0];
    } else {
      for (size_t k = 0; k < en.n_targets; ++k) acc[k] += v[k];
    }
  }
  if (!en.boost) {
    for (double& a : acc) a /= static_cast<double>(en.trees.size());
  }
  return acc;
}

TreeEnsemble Parse(const Json& j, TreeIsa isa) {
  SetTreeIsa(isa);
  TreeEnsemble e;
  ParseTreeEnsemble(JVal(j, "estimator"), e);
  SetTreeIsa(std::nullopt);
  return e;
}

// A feature value: mostly near the thresholds (on them, one float either side), else edge values.
float RandomValue(std::mt19937_64& rng, const std::vector<double>& thresholds, bool with_nan) {
  const uint64_t pick = rng() % 16;
  if (pick < 8 && !thresholds.empty()) {
    const float f = static_cast<float>(thresholds[rng() % thresholds.size()]);
    switch (rng() % 3) {
      case 0: return f;
      case 1: return std::nextafter(f, kInff);
      default: return std::nextafter(f, -kInff);
    }
  }
  switch (pick) {
    case 8: return 0.0f;
    case 9: return -0.0f;
    case 10: return with_nan ? kNaNf : 1.0f;
    case 11: return (rng() % 2) ? kInff : -kInff;
    default: return std::uniform_real_distribution<float>(-3, 3)(rng);
  }
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Scores n rows through both ensembles' kernels, a block at a time, and checks them against each
// other and against Reference().
void CheckRows(const Ensemble& en, const TreeEnsemble& scalar, const TreeEnsemble& vec, std::mt19937_64& rng,
               const std::vector<double>& thresholds, size_t n, bool with_nan) {
  const size_t nf = en.n_features;
  const size_t nt = en.n_targets;
  std::vector<float> x(n * nf);
  for (float& v : x) v = RandomValue(rng, thresholds, with_nan);
  std::vector<double> a(B * nt), b(B * nt);
  for (size_t r0 = 0; r0 < n; r0 += B) {
    const size_t m = n - r0 < B ? n - r0 : B;
    const float* xb = x.data() + r0 * nf;
    bool any_nan = false;
    for (size_t i = 0; i < m * nf; ++i) any_nan |= std::isnan(xb[i]);
    scalar.score[any_nan](scalar, xb, nf, m, a.data());
    vec.score[any_nan](vec, xb, nf, m, b.data());
    for (size_t i = 0; i < m; ++i) {
      const std::vector<double> ref = Reference(en, xb + i * nf);
      for (size_t k = 0; k < nt; ++k) {
        ASSERT_TRUE(SameBits(a[i * nt + k], ref[k])) << "scalar row " << r0 + i << " target " << k << ": "
                                                     << a[i * nt + k] << " vs " << ref[k];
        ASSERT_TRUE(SameBits(b[i * nt + k], ref[k])) << "vector row " << r0 + i << " target " << k << ": "
                                                     << b[i * nt + k] << " vs " << ref[k];
      }
    }
  }
}

struct Case {
  bool boost;
  bool less;
  size_t n_targets;
};

TEST(TreeSimd, MatchesScalarAndReferenceOnRandomEnsembles) {
  std::mt19937_64 rng(20261125);
  const bool avx2 = BestTreeIsa() == TreeIsa::kAvx2;
  size_t vector_models = 0;
  for (const Case c : {Case{true, false, 1}, Case{true, true, 1}, Case{true, false, 3}, Case{false, false, 2},
                       Case{false, true, 1}}) {
    for (uint32_t depth : {1u, 2u, 3u, 4u, 6u}) {
      for (size_t n_features : {1u, 5u, 30u}) {
        std::vector<double> thresholds;
        const Ensemble en = Random(rng, c.boost, c.less, c.n_targets, depth, 1 + rng() % 40, n_features, thresholds);
        const Json j = ToJson(en);
        const TreeEnsemble scalar = Parse(j, TreeIsa::kScalar);
        const TreeEnsemble vec = Parse(j, TreeIsa::kAvx2);
        ASSERT_EQ(scalar.isa, TreeIsa::kScalar);
        ASSERT_EQ(scalar.complete_depth, depth);
        // The AVX2 walk takes every complete float32 ensemble of depth <= 3 on an AVX2 CPU.
        ASSERT_EQ(vec.isa, avx2 && depth <= 3 ? TreeIsa::kAvx2 : TreeIsa::kScalar) << "depth " << depth;
        vector_models += vec.isa == TreeIsa::kAvx2;
        for (bool with_nan : {false, true}) {
          for (size_t n : {1u, 7u, 8u, 9u, 16u, 61u}) {
            SCOPED_TRACE("boost " + std::to_string(c.boost) + " lt " + std::to_string(c.less) + " targets " +
                         std::to_string(c.n_targets) + " depth " + std::to_string(depth) + " features " +
                         std::to_string(n_features) + " rows " + std::to_string(n) + " nan " + std::to_string(with_nan));
            CheckRows(en, scalar, vec, rng, thresholds, n, with_nan);
          }
        }
      }
    }
  }
  if (avx2) {
    EXPECT_EQ(vector_models, 5u * 3u * 3u);
  }
}

// KILN_TREE_ISA=scalar forces the scalar walk for loads without SetTreeIsa (how the Node tests
// run the fallback path); SetTreeIsa(kAvx2) never picks AVX2 on a CPU without it.
TEST(TreeSimd, EnvironmentForcesScalar) {
  std::vector<double> thresholds;
  std::mt19937_64 rng(7);
  const Json j = ToJson(Random(rng, true, false, 1, 3, 10, 4, thresholds));
  TreeEnsemble e;
  ASSERT_EQ(setenv("KILN_TREE_ISA", "scalar", 1), 0);
  ParseTreeEnsemble(JVal(j, "estimator"), e);
  EXPECT_EQ(e.isa, TreeIsa::kScalar);
  ASSERT_EQ(unsetenv("KILN_TREE_ISA"), 0);
  ParseTreeEnsemble(JVal(j, "estimator"), e);
  EXPECT_EQ(e.isa, BestTreeIsa());
  EXPECT_EQ(Parse(j, TreeIsa::kAvx2).isa, BestTreeIsa());
}

// A NaN in one row of a block routes by each node's flag in every lane; the other rows of the
// block are unaffected.
TEST(TreeSimd, NanRoutesByNodeFlagInEveryLane) {
  // Depth 2: root on feature 0 (NaN left), children on feature 1 (NaN right at node 1, left at 2).
  const Json j = Json::parse(R"({"kind": "tree_ensemble", "n_features": 2, "aggregate": "boost", "n_targets": 1,
    "init": [0], "learning_rate": 1, "link": "identity", "trees": [{"target": 0,
    "children_left": [1, 2, -1, -1, 5, -1, -1], "children_right": [4, 3, -1, -1, 6, -1, -1],
    "feature": [0, 1, -2, -2, 1, -2, -2], "threshold": [0.5, 0.25, -2, -2, 0.75, -2, -2],
    "missing_go_to_left": [1, 0, 0, 0, 1, 0, 0], "value": [[0], [0], [1], [2], [0], [3], [4]]}]})");
  for (TreeIsa isa : {TreeIsa::kScalar, TreeIsa::kAvx2}) {
    const TreeEnsemble e = Parse(j, isa);
    const float rows[B][2] = {{kNaNf, 0.0f},  {kNaNf, kNaNf}, {0.5f, 0.25f},  {0.5f, kNaNf},
                              {1.0f, 0.75f},  {1.0f, kNaNf},  {-0.0f, 0.3f}, {1.0f, 0.8f}};
    const double want[B] = {1, 2, 1, 2, 3, 3, 2, 4};
    double acc[B];
    e.score[1](e, rows, 2, B, acc);
    for (size_t r = 0; r < B; ++r) EXPECT_EQ(acc[r], want[r]) << "row " << r << " isa " << static_cast<int>(isa);
  }
}

// ---- tiles (TreeEnsemble::tile_rows): a tile's blocks go through each tree before the next tree

// Scores n rows three ways, all bit-identical to Reference(): tiles of tile_rows rows in one
// call (ScoreTile), blocks of kTreeBlockRows (a tile of one block), one row per call (ScoreRow,
// trees as lanes).
template <class T>
void CheckTiles(const Ensemble& en, const TreeEnsemble& e, std::mt19937_64& rng, const std::vector<double>& thresholds,
                size_t n, bool with_nan) {
  const size_t nf = en.n_features;
  const size_t nt = en.n_targets;
  std::vector<T> x(n * nf);
  for (T& v : x) {
    v = static_cast<T>(RandomValue(rng, thresholds, with_nan));
    // float64 kinds: values between two floats too, on the thresholds' own double values.
    if (std::is_same_v<T, double> && rng() % 4 == 0 && !thresholds.empty()) {
      v = static_cast<T>(thresholds[rng() % thresholds.size()]);
    }
  }
  const auto nan_in = [&](size_t r0, size_t m) {
    bool any = false;
    for (size_t i = r0 * nf; i < (r0 + m) * nf; ++i) any |= std::isnan(static_cast<double>(x[i]));
    return any;
  };
  std::vector<double> tile(n * nt), block(n * nt), row(n * nt);
  const size_t kTile = e.tile_rows;
  for (size_t r0 = 0; r0 < n; r0 += kTile) {
    const size_t m = n - r0 < kTile ? n - r0 : kTile;
    e.score[nan_in(r0, m)](e, x.data() + r0 * nf, nf, m, tile.data() + r0 * nt);
  }
  for (size_t r0 = 0; r0 < n; r0 += B) {
    const size_t m = n - r0 < B ? n - r0 : B;
    e.score[nan_in(r0, m)](e, x.data() + r0 * nf, nf, m, block.data() + r0 * nt);
  }
  for (size_t r = 0; r < n; ++r) e.score[nan_in(r, 1)](e, x.data() + r * nf, nf, 1, row.data() + r * nt);
  for (size_t r = 0; r < n; ++r) {
    const std::vector<double> ref = Reference(en, x.data() + r * nf);
    for (size_t k = 0; k < nt; ++k) {
      const size_t i = r * nt + k;
      ASSERT_TRUE(SameBits(tile[i], ref[k])) << "tile row " << r << " target " << k << ": " << tile[i] << " vs " << ref[k];
      ASSERT_TRUE(SameBits(block[i], ref[k])) << "block row " << r << " target " << k;
      ASSERT_TRUE(SameBits(row[i], ref[k])) << "row " << r << " target " << k;
    }
  }
}

// Deep trees (past kMaxCompleteDepth: the node walk), float32 and float64, boost with one and
// several targets (classes' trees interleaved), average with several, NaN, full and partial tiles.
TEST(TreeTile, TiledWalkMatchesBlocksRowsAndReference) {
  std::mt19937_64 rng(20261125 + 5);
  size_t node_walks = 0;
  for (const Case c : {Case{true, false, 1}, Case{true, false, 10}, Case{true, true, 3}, Case{false, false, 3},
                       Case{false, true, 1}}) {
    for (bool float64 : {false, true}) {
      for (uint32_t depth : {2u, 9u, 12u}) {
        std::vector<double> thresholds;
        // 3,000 features: tiles of 16 (float32) or 8 (float64) rows; else of kTreeMaxTileRows.
        const size_t n_features = depth == 9 ? 3000 : 1 + rng() % 40;
        Ensemble en = Random(rng, c.boost, c.less, c.n_targets, depth, 20 + rng() % 60, n_features, thresholds);
        en.float64 = float64;
        const TreeEnsemble e = Parse(ToJson(en), BestTreeIsa());
        ASSERT_EQ(e.float64, float64);
        ASSERT_EQ(e.tile_rows, depth != 9 ? kiln::internal::kTreeMaxTileRows : float64 ? 8u : 16u);
        node_walks += e.complete_depth == 0;
        const size_t kTile = e.tile_rows;
        for (bool with_nan : {false, true}) {
          for (size_t n : {size_t{1}, size_t{8}, size_t{13}, kTile - 1, kTile, kTile + 8, 2 * kTile + 5}) {
            SCOPED_TRACE("boost " + std::to_string(c.boost) + " lt " + std::to_string(c.less) + " targets " +
                         std::to_string(c.n_targets) + " float64 " + std::to_string(float64) + " depth " +
                         std::to_string(depth) + " rows " + std::to_string(n) + " nan " + std::to_string(with_nan));
            if (float64) {
              CheckTiles<double>(en, e, rng, thresholds, n, with_nan);
            } else {
              CheckTiles<float>(en, e, rng, thresholds, n, with_nan);
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(node_walks, 5u * 2u * 2u);  // depth 9 and 12 exceed the complete layout
}

// ---- one row through the complete layout at a compile-time depth (ScoreRowDepth, trees as
// lanes, every depth 1 to kMaxCompleteDepth), and batches of shallow trees by the AVX2 block walk
// of that depth (CompleteWalkAvx2)

// Tree counts making whole groups of kRowLanes = 8 (and of kDeepRowLanes = 16 past depth 3), a
// remainder, both; depths 1 to 8 (trees with leaves above the last level: the layout's copied leaves), boost with one target
// (the leaf table by slot up to depth 3, the register sum after), average with one and two targets
// (sums in registers), boost with 3 and average with 3 (the policies' sums in acc), float32 and
// float64, both compare rules, both ISAs; one row per call and batches of 17 to 40 rows (several
// blocks, a partial block: its last row takes the one-row walk), each row against Reference().
TEST(TreeRowDepth, RowsAndBlocksMatchReference) {
  std::mt19937_64 rng(20261125 + 3);
  size_t leaf_tables = 0;
  for (const Case c : {Case{true, false, 1}, Case{true, true, 1}, Case{true, false, 3}, Case{false, true, 2},
                       Case{false, false, 1}, Case{false, false, 3}}) {
    for (bool float64 : {false, true}) {
      for (uint32_t depth = 1; depth <= kiln::internal::kMaxCompleteDepth; ++depth) {
        // Depths above 3 take groups of 16 trees, then 8, then one at a time (kDeepRowLanes).
        const std::vector<size_t> counts = depth <= 3 ? std::vector<size_t>{1, 2, 4, 7, 8, 9, 12, 16, 19}
                                                      : std::vector<size_t>{1, 7, 9, 16, 17, 24, 25, 33};
        for (size_t n_trees : counts) {
          std::vector<double> thresholds;
          // Random() adds one tree of the full depth to the n_trees - 1 random ones.
          Ensemble en = Random(rng, c.boost, c.less, c.n_targets, depth, n_trees - 1, 1 + rng() % 12, thresholds);
          en.float64 = float64;
          for (TreeIsa isa : {TreeIsa::kScalar, TreeIsa::kAvx2}) {
            const TreeEnsemble e = Parse(ToJson(en), isa);
            ASSERT_EQ(e.complete_depth, depth);
            ASSERT_EQ(e.roots.size(), n_trees);
            ASSERT_EQ(!e.shallow_leaf.empty(), c.boost && c.n_targets == 1 && depth <= 3);
            leaf_tables += !e.shallow_leaf.empty();
            for (bool with_nan : {false, true}) {
              SCOPED_TRACE("boost " + std::to_string(c.boost) + " lt " + std::to_string(c.less) + " targets " +
                           std::to_string(c.n_targets) + " float64 " + std::to_string(float64) + " depth " +
                           std::to_string(depth) + " trees " + std::to_string(n_trees) + " isa " +
                           std::to_string(static_cast<int>(isa)) + " nan " + std::to_string(with_nan));
              // CheckTiles: one call for the whole batch (40 rows: 5 blocks; 24: 3; 17: 2 and a
              // row), blocks of 8, and one row per call.
              for (size_t n : {size_t{1}, size_t{17}, size_t{24}, size_t{40}}) {
                if (float64) {
                  CheckTiles<double>(en, e, rng, thresholds, n, with_nan);
                } else {
                  CheckTiles<float>(en, e, rng, thresholds, n, with_nan);
                }
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(leaf_tables, 0u);
}

}  // namespace
}  // namespace kiln_test
