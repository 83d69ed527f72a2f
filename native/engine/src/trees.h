// Tree ensembles. Every tree is flattened into one node array in DFS preorder, so an inner
// node's left child is always the next node and only the right child is stored.
//
// sklearn casts X to float32 and tests `(double)x_f <= threshold`. With thr_f = the largest
// float <= threshold (ThresholdToFloat), `x_f <= thr_f` is the same test done in float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "head.h"

namespace kiln::internal {

class JVal;

// Node flags in `aux` of an inner node (a leaf's aux is its offset into leaf_values).
inline constexpr uint32_t kNodeMissingLeft = 1;  // NaN goes left
inline constexpr uint32_t kNodeCategorical = 2;  // categorical split: aux >> kNodeCatShift is its CatSplit
inline constexpr uint32_t kNodeUnknownLeft = 4;  // categorical: a value in neither set goes left
inline constexpr uint32_t kNodeCatShift = 3;

// T: the type the feature value and the threshold are compared in (float32 for sklearn's trees
// and XGBoost, float64 for HistGradientBoosting and LightGBM).
template <class T>
struct NodeT {
  T thr;            // unused in leaves and categorical nodes
  int32_t feature;  // < 0: leaf
  uint32_t right;   // absolute index of the right child (left child = this + 1)
  uint32_t aux;     // leaf: offset into leaf_values; inner node: kNode* flags
};
using Node = NodeT<float>;
using NodeD = NodeT<double>;
static_assert(sizeof(Node) == 16, "Node must stay 16 bytes");
static_assert(sizeof(NodeD) == 24, "NodeD must stay 24 bytes");

// A categorical split: two bitsets of n_words words each at words[begin..), categories going
// left then categories going right. A category in neither goes where kNodeUnknownLeft says.
struct CatSplit {
  uint32_t begin;
  uint32_t n_words;
};

// The largest float <= t (t finite or +inf; +inf is the format's null threshold).
float ThresholdToFloat(double t);
// The smallest float >= t: `x_f < ThresholdToFloatUp(t)` is `(double)x_f < t`.
float ThresholdToFloatUp(double t);

struct TreeEnsemble;
// One row through a whole ensemble of a non-default kind (float64, `<`, categorical splits):
// x holds the row's estimator features (doubles); float32 kinds convert them into xf first.
// Leaves the aggregate in raw (n_targets doubles).
using TreeRowFn = void (*)(const TreeEnsemble& e, const double* x, float* xf, double* raw);

struct TreeEnsemble {
  bool boost = false;  // aggregate: "boost" (else "average")
  uint32_t n_features = 0;
  uint32_t n_targets = 0;
  Link link = Link::kIdentity;
  bool has_missing = false;  // some node sends NaN left
  // Options beyond sklearn's trees (docs/model-format.md, tree_ensemble). The default kind
  // (float32, `<=`, no categorical split) runs the Predict* kernels below on `nodes`; any
  // other kind runs `row_fn`, a kernel chosen once at load, on `nodes` or `nodes_d`.
  bool float64 = false;      // threshold_dtype "float64": compare doubles
  bool less = false;         // compare "lt": x < threshold goes left
  bool has_categorical = false;
  int label_at_zero = 1;     // boost, one raw score: the class index when raw == 0
  TreeRowFn row_fn = nullptr;
  std::vector<Node> nodes;
  std::vector<NodeD> nodes_d;        // float64 kinds (and staging while parsing)
  std::vector<CatSplit> cat_splits;
  std::vector<uint32_t> cat_words;
  std::vector<uint32_t> roots;    // per tree
  std::vector<uint32_t> targets;  // per tree (boost)
  // average: n_targets values per leaf; boost: learning_rate * v per leaf (the product sklearn
  // forms before adding, so the sum is bit-identical).
  std::vector<double> leaf_values;
  std::vector<double> init;  // boost: n_targets
};

// The split rule of one ensemble kind, fixed at compile time.
template <class T, bool kLess, bool kMissing, bool kCat>
struct SplitRule {
  using Value = T;
  static constexpr bool kLessThan = kLess;
  static constexpr bool kHasMissing = kMissing;
  static constexpr bool kHasCat = kCat;
};
template <bool kMissing>
using SklearnRule = SplitRule<float, false, kMissing, false>;

// Category c of a non-NaN value v: v truncated toward zero when 0 <= v < 2^32 (how sklearn,
// LightGBM and XGBoost read a category from a number); anything else is in neither set.
template <class T>
inline bool CategoryGoesLeft(const CatSplit& cs, const uint32_t* words, T v, uint32_t aux) {
  if (v >= T(0) && v < T(4294967296.0)) {
    const uint32_t c = static_cast<uint32_t>(v);
    const uint32_t w = c >> 5;
    if (w < cs.n_words) {
      const uint32_t bit = uint32_t{1} << (c & 31u);
      if (words[cs.begin + w] & bit) return true;
      if (words[cs.begin + cs.n_words + w] & bit) return false;
    }
  }
  return (aux & kNodeUnknownLeft) != 0;
}

// Index into leaf_values of the leaf x reaches from node i.
template <class Rule>
inline uint32_t FindLeafT(const NodeT<typename Rule::Value>* nodes, uint32_t i, const typename Rule::Value* x,
                          const CatSplit* cats = nullptr, const uint32_t* words = nullptr) {
  using T = typename Rule::Value;
  for (;;) {
    const NodeT<T>& n = nodes[i];
    if (n.feature < 0) return n.aux;
    const T v = x[n.feature];
    bool left;
    if constexpr (Rule::kHasCat) {
      if (n.aux & kNodeCategorical) {
        left = v != v ? (n.aux & kNodeMissingLeft) != 0
                      : CategoryGoesLeft(cats[n.aux >> kNodeCatShift], words, v, n.aux);
        i = left ? i + 1 : n.right;
        continue;
      }
    }
    if constexpr (Rule::kLessThan) {
      left = v < n.thr;  // NaN compares false: goes right
    } else {
      left = v <= n.thr;
    }
    if constexpr (Rule::kHasMissing) left = left || (v != v && (n.aux & kNodeMissingLeft) != 0);
    i = left ? i + 1 : n.right;
  }
}

// ---- Walking rows through the trees ----
//
// Rows go through the ensemble a block at a time, tree by tree: the rows of a block are
// independent, so their node loads and (unpredictable) compares overlap instead of each row
// waiting on its own chain of loads and branch mispredictions. The walk has no data-dependent
// branch: a row that reached a leaf stays on it for the remaining steps of its tree.
// Every row still adds its trees' leaf values in tree order, so sums are bit-identical to a
// row-at-a-time walk.

// Rows per block. 8 keeps each row's node index in a register-sized array that stays in L1 and
// gives enough independent loads to cover an L2 hit; 16 measured no faster on RF100/GBM100.
inline constexpr size_t kTreeBlockRows = 8;

// Per tree: the most inner nodes on a root-to-leaf path (the steps a walk of that tree needs).
inline std::vector<uint32_t> TreeDepths(const TreeEnsemble& e) {
  std::vector<uint32_t> depths;
  depths.reserve(e.roots.size());
  std::vector<std::pair<uint32_t, uint32_t>> stack;  // (node, inner nodes above it)
  for (uint32_t root : e.roots) {
    uint32_t depth = 0;
    stack.assign(1, {root, 0});
    while (!stack.empty()) {
      const auto [i, d] = stack.back();
      stack.pop_back();
      const Node& n = e.nodes[i];
      if (n.feature < 0) {
        depth = d > depth ? d : depth;
        continue;
      }
      stack.push_back({n.right, d + 1});
      stack.push_back({i + 1, d + 1});
    }
    depths.push_back(depth);
  }
  return depths;
}

// Walks kTreeBlockRows lanes at once, each lane from node at[l] over the float32 features x[l],
// for `depth` steps; at[l] ends on the lane's leaf. A lane is a (row, tree) pair: several rows
// through one tree (batches) or one row through several trees (a single row).
template <bool kMissing>
inline void Walk(const Node* nodes, uint32_t depth, const float* const* x, uint32_t* at) {
  // Selects are written as masks: compilers otherwise turn them back into branches, which
  // mispredict on half the steps.
  for (uint32_t step = 0; step < depth; ++step) {
    for (size_t l = 0; l < kTreeBlockRows; ++l) {
      const uint32_t i = at[l];
      const Node& n = nodes[i];
      const int32_t f = n.feature;
      const float v = x[l][static_cast<uint32_t>(f < 0 ? 0 : f)];  // leaf: any feature, unused
      uint32_t left = v <= n.thr;  // NaN compares false: goes right
      if constexpr (kMissing) left |= static_cast<uint32_t>(v != v) & static_cast<uint32_t>(n.aux != 0);
      const uint32_t next = n.right ^ ((n.right ^ (i + 1)) & (0u - left));
      const uint32_t leaf_mask = static_cast<uint32_t>(f >> 31);  // all ones at a leaf: stay
      at[l] = next ^ ((next ^ i) & leaf_mask);
    }
  }
}

// Aggregation policies: Start sets a row's n_targets scores, Add adds tree t's leaf (its
// leaf_values offset) to them, Finish completes them.
struct AverageAgg {
  // 0 + v_1 + ... + v_T, then / T.
  static void Start(const TreeEnsemble& e, double* acc) {
    for (uint32_t k = 0; k < e.n_targets; ++k) acc[k] = 0.0;
  }
  static void Add(const TreeEnsemble& e, size_t, uint32_t leaf, double* acc) {
    const double* lv = e.leaf_values.data() + leaf;
    for (uint32_t k = 0; k < e.n_targets; ++k) acc[k] += lv[k];
  }
  static void Finish(const TreeEnsemble& e, double* acc) {
    const double t = static_cast<double>(e.roots.size());
    for (uint32_t k = 0; k < e.n_targets; ++k) acc[k] /= t;
  }
};

struct BoostAgg {
  // init, then raw[target] += learning_rate * v per tree in order.
  static void Start(const TreeEnsemble& e, double* acc) {
    for (uint32_t k = 0; k < e.n_targets; ++k) acc[k] = e.init[k];
  }
  static void Add(const TreeEnsemble& e, size_t t, uint32_t leaf, double* acc) {
    acc[e.targets[t]] += e.leaf_values[leaf];
  }
  static void Finish(const TreeEnsemble&, double*) {}
};

// Scores of kTreeBlockRows rows (row r's features at x + r * stride) into acc (kTreeBlockRows x
// n_targets): the rows are the lanes, tree after tree.
template <bool kMissing, class Agg>
inline void ScoreBlock(const TreeEnsemble& e, const uint32_t* depths, const float* x, size_t stride, double* acc) {
  constexpr size_t B = kTreeBlockRows;
  const size_t nt = e.n_targets;
  const Node* nodes = e.nodes.data();
  const float* xs[B];
  for (size_t r = 0; r < B; ++r) {
    xs[r] = x + r * stride;
    Agg::Start(e, acc + r * nt);
  }
  uint32_t at[B];
  const size_t n_trees = e.roots.size();
  for (size_t t = 0; t < n_trees; ++t) {
    for (size_t r = 0; r < B; ++r) at[r] = e.roots[t];
    Walk<kMissing>(nodes, depths[t], xs, at);
    for (size_t r = 0; r < B; ++r) Agg::Add(e, t, nodes[at[r]].aux, acc + r * nt);
  }
  for (size_t r = 0; r < B; ++r) Agg::Finish(e, acc + r * nt);
}

// Scores of one row into acc (n_targets): the lanes are kTreeBlockRows consecutive trees; their
// leaves are then added in tree order.
template <bool kMissing, class Agg>
inline void ScoreRow(const TreeEnsemble& e, const uint32_t* depths, const float* x, double* acc) {
  constexpr size_t B = kTreeBlockRows;
  const Node* nodes = e.nodes.data();
  const float* xs[B];
  for (size_t l = 0; l < B; ++l) xs[l] = x;
  Agg::Start(e, acc);
  uint32_t at[B];
  const size_t n_trees = e.roots.size();
  for (size_t t0 = 0; t0 < n_trees; t0 += B) {
    const size_t lanes = n_trees - t0 < B ? n_trees - t0 : B;
    uint32_t depth = 0;
    for (size_t l = 0; l < B; ++l) {
      const size_t t = t0 + (l < lanes ? l : 0);
      at[l] = e.roots[t];
      depth = depths[t] > depth ? depths[t] : depth;
    }
    Walk<kMissing>(nodes, depth, xs, at);
    for (size_t l = 0; l < lanes; ++l) Agg::Add(e, t0 + l, nodes[at[l]].aux, acc);
  }
  Agg::Finish(e, acc);
}

// Parses, validates and flattens the `estimator` object of kind "tree_ensemble".
void ParseTreeEnsemble(const JVal& v, TreeEnsemble& out);

}  // namespace kiln::internal
