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

struct Node {
  float thr;        // ThresholdToFloat(threshold); unused in leaves
  int32_t feature;  // < 0: leaf
  uint32_t right;   // absolute index of the right child (left child = this + 1)
  uint32_t aux;     // leaf: offset into leaf_values; inner node: missing_go_to_left (0/1)
};
static_assert(sizeof(Node) == 16, "Node must stay 16 bytes");

// The largest float <= t (t finite or +inf; +inf is the format's null threshold).
float ThresholdToFloat(double t);

struct TreeEnsemble {
  bool boost = false;  // aggregate: "boost" (else "average")
  uint32_t n_features = 0;
  uint32_t n_targets = 0;
  Link link = Link::kIdentity;
  bool has_missing = false;  // some node sends NaN left
  std::vector<Node> nodes;
  std::vector<uint32_t> roots;    // per tree
  std::vector<uint32_t> targets;  // per tree (boost)
  // average: n_targets values per leaf; boost: learning_rate * v per leaf (the product sklearn
  // forms before adding, so the sum is bit-identical).
  std::vector<double> leaf_values;
  std::vector<double> init;  // boost: n_targets
};

template <bool kMissing>
inline uint32_t FindLeaf(const Node* nodes, uint32_t i, const float* x) {
  for (;;) {
    const Node& n = nodes[i];
    if (n.feature < 0) return n.aux;
    const float v = x[n.feature];
    bool left = v <= n.thr;  // NaN compares false: goes right
    if constexpr (kMissing) left = left || (v != v && n.aux != 0);
    i = left ? i + 1 : n.right;
  }
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
