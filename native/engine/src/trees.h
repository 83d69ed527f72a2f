// Tree ensembles. Every tree is flattened into one node array in DFS preorder, so an inner
// node's left child is always the next node and only the right child is stored.
//
// sklearn casts X to float32 and tests `(double)x_f <= threshold`. With thr_f = the largest
// float <= threshold (ThresholdToFloat), `x_f <= thr_f` is the same test done in float32.
#pragma once

#include <cstddef>
#include <cstdint>
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
// gathers the estimator's features from the program slots s[slots[j]] into xf (float32 kinds)
// or xd (float64 kinds), walks every tree and leaves the aggregate in raw (n_targets doubles).
using TreeRowFn = void (*)(const TreeEnsemble& e, const double* s, const uint32_t* slots, size_t nf, float* xf,
                           double* xd, double* raw);

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

template <bool kMissing>
inline uint32_t FindLeaf(const Node* nodes, uint32_t i, const float* x) {
  return FindLeafT<SklearnRule<kMissing>>(nodes, i, x);
}

// acc: n_targets doubles; gets (0 + v_1 + ... + v_T) / T.
template <bool kMissing>
inline void PredictAverage(const TreeEnsemble& e, const float* x, double* acc) {
  const uint32_t v = e.n_targets;
  for (uint32_t k = 0; k < v; ++k) acc[k] = 0.0;
  const Node* nodes = e.nodes.data();
  const double* values = e.leaf_values.data();
  for (uint32_t root : e.roots) {
    const double* lv = values + FindLeaf<kMissing>(nodes, root, x);
    for (uint32_t k = 0; k < v; ++k) acc[k] += lv[k];
  }
  const double t = static_cast<double>(e.roots.size());
  for (uint32_t k = 0; k < v; ++k) acc[k] /= t;
}

// raw: n_targets doubles; gets init, then raw[target] += learning_rate * v per tree in order.
template <bool kMissing>
inline void PredictBoost(const TreeEnsemble& e, const float* x, double* raw) {
  for (uint32_t k = 0; k < e.n_targets; ++k) raw[k] = e.init[k];
  const Node* nodes = e.nodes.data();
  const double* values = e.leaf_values.data();
  const size_t n = e.roots.size();
  for (size_t t = 0; t < n; ++t) raw[e.targets[t]] += values[FindLeaf<kMissing>(nodes, e.roots[t], x)];
}

// Parses, validates and flattens the `estimator` object of kind "tree_ensemble".
void ParseTreeEnsemble(const JVal& v, TreeEnsemble& out);

}  // namespace kiln::internal
