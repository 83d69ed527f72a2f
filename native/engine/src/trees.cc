#include "trees.h"

#include <atomic>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "json_reader.h"
#include "spec_limits.h"

// The AVX2 walks are compiled for AVX2 with a target pragma (the rest of the file, and the
// build, stay at the x86-64-v2 baseline) and picked at load when the CPU has AVX2.
#include "avx2_region.h"

namespace kiln::internal {

float ThresholdToFloat(double t) {
  if (t == std::numeric_limits<double>::infinity()) return std::numeric_limits<float>::infinity();
  if (t >= static_cast<double>(FLT_MAX)) return FLT_MAX;
  if (t < -static_cast<double>(FLT_MAX)) return -std::numeric_limits<float>::infinity();
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

float ThresholdToFloatUp(double t) { return -ThresholdToFloat(-t); }

TreeIsa BestTreeIsa() {
#if KILN_HAVE_AVX2_REGION
  static const TreeIsa best = __builtin_cpu_supports("avx2") ? TreeIsa::kAvx2 : TreeIsa::kScalar;
  return best;
#else
  return TreeIsa::kScalar;
#endif
}

namespace {
std::atomic<int> g_tree_isa_override{-1};  // SetTreeIsa: -1, or a TreeIsa
}  // namespace

void SetTreeIsa(std::optional<TreeIsa> isa) { g_tree_isa_override.store(isa ? static_cast<int>(*isa) : -1); }

namespace {

constexpr int64_t kWide = int64_t{1} << 40;

enum class UnknownCategory : uint8_t { kMissing, kLeft, kRight };

// ---- the block walk, one instantiation per split rule and aggregate

// The split rule of one ensemble kind: T the type x and the threshold are compared in, kLess
// `<` (else `<=`), kMissing NaN routed by kNodeMissingLeft (else it compares its way right),
// kCat some node is categorical, kZero some node has zero_as_missing (LightGBM's missing type
// Zero; only such models pay for the band test).
template <class T, bool kLess, bool kMissing, bool kCat, bool kZero = false>
struct SplitRule {
  using Value = T;
  static constexpr bool kLessThan = kLess;
  static constexpr bool kHasMissing = kMissing;
  static constexpr bool kHasCat = kCat;
  static constexpr bool kHasZero = kZero;
};

// The numeric split of one node: whether x goes left (1) or right (0). NaN compares false; the
// rule's flags add the NaN and zero-band routes (LightGBM's Tree::NumericalDecision: a value in
// [-kZeroBand, kZeroBand], or NaN, goes the default way at a Zero-type node).
template <class Rule>
inline uint32_t NumericGoesLeft(typename Rule::Value v, typename Rule::Value thr, uint32_t aux) {
  using T = typename Rule::Value;
  uint32_t left;
  if constexpr (Rule::kLessThan) {
    left = v < thr;  // NaN compares false: goes right
  } else {
    left = v <= thr;
  }
  if constexpr (Rule::kHasMissing) {
    left |= static_cast<uint32_t>(v != v) & (aux & kNodeMissingLeft);
  }
  if constexpr (Rule::kHasZero) {
    // kZeroBand is a float widened, so the compare is exact in float32 as in float64.
    const uint32_t zero = static_cast<uint32_t>(v >= -static_cast<T>(kZeroBand) && v <= static_cast<T>(kZeroBand)) &
                          ((aux & kNodeZeroMissing) != 0);
    left ^= (left ^ (aux & kNodeMissingLeft)) & (0u - zero);
  }
  return left;
}

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

template <class T>
const NodeT<T>* NodesOf(const TreeEnsemble& e) {
  if constexpr (std::is_same_v<T, float>) {
    return e.nodes.data();
  } else {
    return e.nodes_d.data();
  }
}

// Per tree: the most inner nodes on a root-to-leaf path (the steps a walk of that tree needs).
template <class T>
std::vector<uint32_t> TreeDepths(const TreeEnsemble& e) {
  const NodeT<T>* nodes = NodesOf<T>(e);
  std::vector<uint32_t> depths;
  depths.reserve(e.roots.size());
  std::vector<std::pair<uint32_t, uint32_t>> stack;  // (node, inner nodes above it)
  for (uint32_t root : e.roots) {
    uint32_t depth = 0;
    stack.assign(1, {root, 0});
    while (!stack.empty()) {
      const auto [i, d] = stack.back();
      stack.pop_back();
      const NodeT<T>& n = nodes[i];
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

// Walks kTreeBlockRows lanes at once, each lane from node at[l] over the features x[l], for
// `depth` steps; at[l] ends on the lane's leaf. A lane is a (row, tree) pair: several rows
// through one tree (batches) or one row through several trees (a single row).
template <class Rule>
inline void Walk(const TreeEnsemble& e, uint32_t depth, const typename Rule::Value* const* x, uint32_t* at) {
  using T = typename Rule::Value;
  const NodeT<T>* nodes = NodesOf<T>(e);
  // Selects are written as masks: compilers otherwise turn them back into branches, which
  // mispredict on half the steps.
  for (uint32_t step = 0; step < depth; ++step) {
    uint32_t at_leaf = ~0u;  // all ones while every lane is on a leaf
    for (size_t l = 0; l < kTreeBlockRows; ++l) {
      const uint32_t i = at[l];
      const NodeT<T>& n = nodes[i];
      const int32_t f = n.feature;
      // A leaf's feature is INT32_MIN (kLeafFeature): masked, feature 0, read and unused.
      const T v = x[l][static_cast<uint32_t>(f) & 0x7fffffffu];
      uint32_t left = NumericGoesLeft<Rule>(v, n.thr, n.aux);
      if constexpr (Rule::kHasCat) {
        // Rare enough to branch on. NaN at a categorical node goes by its missing flag, whatever
        // the rule (an unknown category goes by kNodeUnknownLeft).
        if (f >= 0 && (n.aux & kNodeCategorical) != 0) {
          left = v != v ? (n.aux & kNodeMissingLeft)
                        : CategoryGoesLeft(e.cat_splits[n.aux >> kNodeCatShift], e.cat_words.data(), v, n.aux);
        }
      }
      const uint32_t next = n.right ^ ((n.right ^ (i + 1)) & (0u - left));
      const uint32_t leaf_mask = static_cast<uint32_t>(f >> 31);  // all ones at a leaf
      if constexpr (Rule::kHasMissing || Rule::kHasZero || Rule::kHasCat) {
        // A leaf's aux (its leaf offset) could read as a NaN or zero-band route: stay explicitly.
        at[l] = next ^ ((next ^ i) & leaf_mask);
      } else {
        // A leaf's NaN threshold compares false for every value: it goes right, to itself.
        at[l] = next;
      }
      at_leaf &= leaf_mask;
    }
    // Trees of uneven depth (leaf-wise growth: HistGradientBoosting, LightGBM) often end early
    // for every lane; a well-predicted branch, taken once per walk.
    if (at_leaf) break;
  }
}

// Aggregation policies: Start sets a row's n_targets scores, Add adds tree t's leaf (its
// leaf_values offset) to them, Finish completes them.
// kNT: n_targets when known at compile time (0: read from e), so the loops unroll and a caller's
// local sums can stay in registers.
struct AverageAgg {
  // 0 + v_1 + ... + v_T, then / T.
  template <uint32_t kNT = 0>
  static void Start(const TreeEnsemble& e, double* acc) {
    const uint32_t nt = kNT ? kNT : e.n_targets;
    for (uint32_t k = 0; k < nt; ++k) acc[k] = 0.0;
  }
  template <uint32_t kNT = 0>
  static void Add(const TreeEnsemble& e, size_t, uint32_t leaf, double* acc) {
    const double* lv = e.leaf_values.data() + leaf;
    const uint32_t nt = kNT ? kNT : e.n_targets;
    for (uint32_t k = 0; k < nt; ++k) acc[k] += lv[k];
  }
  template <uint32_t kNT = 0>
  static void Finish(const TreeEnsemble& e, double* acc) {
    const double t = static_cast<double>(e.roots.size());
    const uint32_t nt = kNT ? kNT : e.n_targets;
    for (uint32_t k = 0; k < nt; ++k) acc[k] /= t;
  }
};

struct BoostAgg {
  // init, then raw[target] += learning_rate * v per tree in order.
  template <uint32_t kNT = 0>
  static void Start(const TreeEnsemble& e, double* acc) {
    const uint32_t nt = kNT ? kNT : e.n_targets;
    for (uint32_t k = 0; k < nt; ++k) acc[k] = e.init[k];
  }
  // One target: every tree's target is 0 (validated at load), so the index is a constant.
  template <uint32_t kNT = 0>
  static void Add(const TreeEnsemble& e, size_t t, uint32_t leaf, double* acc) {
    acc[kNT == 1 ? 0 : e.targets[t]] += e.leaf_values[leaf];
  }
  template <uint32_t kNT = 0>
  static void Finish(const TreeEnsemble&, double*) {}
};

// Scores of `blocks` full blocks (blocks * kTreeBlockRows <= kTreeMaxTileRows rows, row r's features
// at x + r * stride) into acc (rows x n_targets): the rows of a block are the lanes; tree after
// tree, each tree walked by every block of the tile before the next, so its nodes come from L1
// after the first block. Each row adds its trees in tree order, whatever the tile's size.
template <class Rule, class Agg>
void ScoreTile(const TreeEnsemble& e, const typename Rule::Value* x, size_t stride, size_t blocks, double* acc) {
  using T = typename Rule::Value;
  constexpr size_t B = kTreeBlockRows;
  const size_t nt = e.n_targets;
  const size_t rows = blocks * B;
  const NodeT<T>* nodes = NodesOf<T>(e);
  const T* xs[kTreeMaxTileRows];
  for (size_t r = 0; r < rows; ++r) {
    xs[r] = x + r * stride;
    Agg::Start(e, acc + r * nt);
  }
  uint32_t at[B];
  const size_t n_trees = e.roots.size();
  for (size_t t = 0; t < n_trees; ++t) {
    const uint32_t root = e.roots[t];
    const uint32_t depth = e.depths[t];
    for (size_t b = 0; b < rows; b += B) {
      for (size_t r = 0; r < B; ++r) at[r] = root;
      Walk<Rule>(e, depth, xs + b, at);
      for (size_t r = 0; r < B; ++r) Agg::Add(e, t, nodes[at[r]].aux, acc + (b + r) * nt);
    }
  }
  for (size_t r = 0; r < rows; ++r) Agg::Finish(e, acc + r * nt);
}

// Scores of kTreeBlockRows rows (row r's features at x + r * stride) into acc (kTreeBlockRows x
// n_targets): the rows are the lanes, tree after tree (a tile of one block).
template <class Rule, class Agg>
void ScoreBlock(const TreeEnsemble& e, const typename Rule::Value* x, size_t stride, double* acc) {
  ScoreTile<Rule, Agg>(e, x, stride, 1, acc);
}

// Scores of one row into acc (n_targets): the lanes are kTreeBlockRows consecutive trees; their
// leaves are then added in tree order.
template <class Rule, class Agg>
void ScoreRow(const TreeEnsemble& e, const typename Rule::Value* x, double* acc) {
  using T = typename Rule::Value;
  constexpr size_t B = kTreeBlockRows;
  const NodeT<T>* nodes = NodesOf<T>(e);
  const T* xs[B];
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
      depth = e.depths[t] > depth ? e.depths[t] : depth;
    }
    Walk<Rule>(e, depth, xs, at);
    for (size_t l = 0; l < lanes; ++l) Agg::Add(e, t0 + l, nodes[at[l]].aux, acc);
  }
  Agg::Finish(e, acc);
}

// ---- the complete layout (TreeEnsemble::complete_depth)

template <class T>
const CompleteNodeT<T>* CompleteNodesOf(const TreeEnsemble& e) {
  if constexpr (std::is_same_v<T, float>) {
    return e.complete_nodes.data();
  } else {
    return e.complete_nodes_d.data();
  }
}

// Whether v goes left at node n of the complete layout (1) or right (0): the rule's compare, NaN
// comparing false (right), then NaN by the node's flag.
template <class Rule>
inline uint32_t CompleteGoesLeft(const CompleteNodeT<typename Rule::Value>& n, typename Rule::Value v) {
  uint32_t left;
  if constexpr (Rule::kLessThan) {
    left = v < n.thr;
  } else {
    left = v <= n.thr;
  }
  if constexpr (Rule::kHasMissing) left |= static_cast<uint32_t>(v != v) & (n.fm >> 31);
  return left;
}

// Walks kTreeBlockRows lanes complete_depth steps, lane l in the tree at tree[l] over the
// features x[l]; at[l] starts at 0 and ends on the leaf's slot (2^D - 1 + leaf).
template <class Rule>
inline void WalkComplete(uint32_t depth, const CompleteNodeT<typename Rule::Value>* const* tree,
                         const typename Rule::Value* const* x, uint32_t* at) {
  using T = typename Rule::Value;
  for (uint32_t step = 0; step < depth; ++step) {
    for (size_t l = 0; l < kTreeBlockRows; ++l) {
      const uint32_t k = at[l];
      const CompleteNodeT<T>& n = tree[l][k];
      at[l] = 2 * k + 2 - CompleteGoesLeft<Rule>(n, x[l][n.fm & ~kCompleteMissingLeft]);
    }
  }
}

template <class Rule, class Agg>
void ScoreBlockComplete(const TreeEnsemble& e, const typename Rule::Value* x, size_t stride, double* acc) {
  using T = typename Rule::Value;
  constexpr size_t B = kTreeBlockRows;
  const size_t nt = e.n_targets;
  const uint32_t depth = e.complete_depth;
  const size_t inner = (size_t{1} << depth) - 1;
  const CompleteNodeT<T>* nodes = CompleteNodesOf<T>(e);
  const T* xs[B];
  for (size_t r = 0; r < B; ++r) {
    xs[r] = x + r * stride;
    Agg::Start(e, acc + r * nt);
  }
  const CompleteNodeT<T>* tree[B];
  uint32_t at[B];
  const size_t n_trees = e.roots.size();
  for (size_t t = 0; t < n_trees; ++t) {
    for (size_t r = 0; r < B; ++r) {
      tree[r] = nodes + t * inner;
      at[r] = 0;
    }
    WalkComplete<Rule>(depth, tree, xs, at);
    const uint32_t* leaves = e.complete_leaves.data() + t * (inner + 1) - inner;
    for (size_t r = 0; r < B; ++r) Agg::Add(e, t, leaves[at[r]], acc + r * nt);
  }
  for (size_t r = 0; r < B; ++r) Agg::Finish(e, acc + r * nt);
}

// ---- one row through complete trees at a compile-time depth (every complete layout: depth <= 8)
//
// The single-row path: with the depth a template constant the trees of a lane group share one
// base pointer (tree l's node k at a constant offset from it) and the lanes' indices stay in
// registers. The runtime-depth walk this replaced kept a pointer per lane (tree and row), spilled
// to the stack and reloaded at every step: ~54 instructions per depth-3 tree against ~22 here, and
// RF100 (depth 8) ~11,900 walk instructions per row against ~6,400 (7 per node visited).
// The complete layout needs no leaf test: a tree shallower than the ensemble has its leaves
// copied down to the last level, so every tree takes exactly kDepth steps.
// Boosting with one raw score and depth <= kShallowLeafMaxDepth adds each tree's leaf from
// shallow_leaf (the leaf values by slot); other aggregates add through the policies into sums
// kept in registers when n_targets is 1 or 2 (kNT; with acc in memory every add waits on the
// previous one's store: 100 trees x 2 targets in a chain). Trees in order either way, so scores
// are bit-identical to the other walks.
//
// kRowLanes = 8: trees walked side by side, so 8 chains of dependent loads (node, then the row's
//   value at its feature) overlap; the 8 indices, the base and the row pointer fit the registers.
//   GBM100 (depth 3): 16 lanes slower; RF100 one row: 4 lanes slower than the old walk
//   (docs/benchmarks.md "How the engine walks trees").
// kShallowLeafMaxDepth = 3: the leaf table by slot holds 2^D doubles per tree (64 bytes at depth 3,
//   GradientBoosting's default); deeper trees look the leaf up through complete_leaves, off the
//   walk's critical path.
constexpr size_t kRowLanes = 8;
// kDeepRowLanes = 16: trees deeper than 3 first go 16 at a time (the indices no longer all fit the
//   registers, but twice the loads in flight): RF100 one row from JS, native call 1,516-1,553 ns
//   against 1,617-1,621 with 8 (3 alternated runs); the last trees go 8, then 1, at a time.
constexpr size_t kDeepRowLanes = 16;
constexpr uint32_t kShallowLeafMaxDepth = 3;

// k: 64-bit, so a node's address is one base + index * 8 + constant (no zero-extension per step).
template <class Rule, uint32_t kDepth, size_t kLanes>
inline __attribute__((always_inline)) void WalkRow(const CompleteNodeT<typename Rule::Value>* base,
                                                   const typename Rule::Value* x, size_t* k) {
  using T = typename Rule::Value;
  constexpr size_t kInner = (size_t{1} << kDepth) - 1;
  for (uint32_t step = 0; step < kDepth; ++step) {
    for (size_t l = 0; l < kLanes; ++l) {
      const CompleteNodeT<T>& n = base[l * kInner + k[l]];
      k[l] = 2 * k[l] + 2 - CompleteGoesLeft<Rule>(n, x[n.fm & ~kCompleteMissingLeft]);
    }
  }
}

// kNT: n_targets when the caller knows it (1, or 2 for averages), else 0 (read from e, the sums
// in acc).
template <class Rule, class Agg, uint32_t kDepth, uint32_t kNT>
void ScoreRowDepth(const TreeEnsemble& e, const typename Rule::Value* x, double* acc) {
  using T = typename Rule::Value;
  constexpr size_t kInner = (size_t{1} << kDepth) - 1;
  constexpr size_t L = kRowLanes;
  const CompleteNodeT<T>* nodes = CompleteNodesOf<T>(e);
  const size_t n_trees = e.roots.size();
  const size_t full = n_trees / L * L;
  // k ends on the leaf's slot in the complete layout (kInner + leaf).
  if constexpr (std::is_same_v<Agg, BoostAgg> && kNT == 1 && kDepth <= kShallowLeafMaxDepth) {
    if (!e.shallow_leaf.empty()) {
      const double* leaf = e.shallow_leaf.data() - kInner;  // tree t's slot k at leaf[t * (kInner + 1) + k]
      double sum = e.init[0];
      const CompleteNodeT<T>* base = nodes;
      for (size_t t0 = 0; t0 < full; t0 += L, base += L * kInner, leaf += L * (kInner + 1)) {
        size_t k[L] = {};
        WalkRow<Rule, kDepth, L>(base, x, k);
        for (size_t l = 0; l < L; ++l) sum += leaf[l * (kInner + 1) + k[l]];
      }
      for (size_t t = full; t < n_trees; ++t, base += kInner, leaf += kInner + 1) {
        size_t k[1] = {};
        WalkRow<Rule, kDepth, 1>(base, x, k);
        sum += leaf[k[0]];
      }
      acc[0] = sum;
      return;
    }
  }
  double local[kNT ? kNT : 1];
  double* sums = kNT ? local : acc;
  Agg::template Start<kNT>(e, sums);
  // The group's base pointer steps on (nodes + t0 * kInner recomputed per group costs an add per
  // node load: the compiler keeps nodes and the offset apart).
  const CompleteNodeT<T>* base = nodes;
  const uint32_t* leaf = e.complete_leaves.data() - kInner;  // tree t's slot k at leaf[t * (kInner + 1) + k]
  size_t t = 0;
  // Groups of G trees from tree t on, while G remain (the trees stay in order).
  const auto groups = [&](auto lanes) {
    constexpr size_t G = decltype(lanes)::value;
    for (; n_trees - t >= G; t += G, base += G * kInner, leaf += G * (kInner + 1)) {
      size_t k[G] = {};
      WalkRow<Rule, kDepth, G>(base, x, k);
      for (size_t l = 0; l < G; ++l) Agg::template Add<kNT>(e, t + l, leaf[l * (kInner + 1) + k[l]], sums);
    }
  };
  if constexpr (kDepth > kShallowLeafMaxDepth) groups(std::integral_constant<size_t, kDeepRowLanes>{});
  groups(std::integral_constant<size_t, L>{});
  groups(std::integral_constant<size_t, 1>{});
  Agg::template Finish<kNT>(e, sums);
  if constexpr (kNT != 0) {
    for (uint32_t j = 0; j < kNT; ++j) acc[j] = local[j];
  }
}

// The instantiation for the ensemble's n_targets: sums in registers for one target, or two
// averaged (boosting's two-target sums are indexed by each tree's target at run time).
template <class Rule, class Agg, uint32_t kDepth>
void ScoreRowDepthAny(const TreeEnsemble& e, const typename Rule::Value* x, double* acc) {
  if (e.n_targets == 1) return ScoreRowDepth<Rule, Agg, kDepth, 1>(e, x, acc);
  if constexpr (std::is_same_v<Agg, AverageAgg>) {
    if (e.n_targets == 2) return ScoreRowDepth<Rule, Agg, kDepth, 2>(e, x, acc);
  }
  ScoreRowDepth<Rule, Agg, kDepth, 0>(e, x, acc);
}

// One row through the complete layout: an instantiation per depth (a well-predicted switch).
template <class Rule, class Agg>
void ScoreRowCompleteAny(const TreeEnsemble& e, const typename Rule::Value* x, double* acc) {
  switch (e.complete_depth) {
    case 1: return ScoreRowDepthAny<Rule, Agg, 1>(e, x, acc);
    case 2: return ScoreRowDepthAny<Rule, Agg, 2>(e, x, acc);
    case 3: return ScoreRowDepthAny<Rule, Agg, 3>(e, x, acc);
    case 4: return ScoreRowDepthAny<Rule, Agg, 4>(e, x, acc);
    case 5: return ScoreRowDepthAny<Rule, Agg, 5>(e, x, acc);
    case 6: return ScoreRowDepthAny<Rule, Agg, 6>(e, x, acc);
    case 7: return ScoreRowDepthAny<Rule, Agg, 7>(e, x, acc);
    default: return ScoreRowDepthAny<Rule, Agg, 8>(e, x, acc);
  }
}
static_assert(kMaxCompleteDepth == 8, "ScoreRowCompleteAny has a case per complete depth");

// Boost with one raw score, shallow complete trees: tree t's leaf values by slot (2^D per tree).
template <class T>
void BuildShallow(TreeEnsemble& e) {
  e.shallow_leaf.clear();
  const uint32_t depth = e.complete_depth;
  if (depth == 0 || depth > kShallowLeafMaxDepth || !e.boost || e.n_targets != 1) return;
  const size_t nl = size_t{1} << depth;
  e.shallow_leaf.resize(e.roots.size() * nl);
  for (size_t i = 0; i < e.shallow_leaf.size(); ++i) e.shallow_leaf[i] = e.leaf_values[e.complete_leaves[i]];
}

// Fills the complete layout of the subtree at node i (of `nodes`) into slot k at level d.
template <class T>
void FillComplete(const TreeEnsemble& e, const NodeT<T>* nodes, uint32_t i, size_t k, uint32_t d,
                  CompleteNodeT<T>* tree, uint32_t* leaves) {
  const uint32_t depth = e.complete_depth;
  const size_t inner = (size_t{1} << depth) - 1;
  const NodeT<T>& n = nodes[i];
  if (d == depth) {  // i is a leaf: depth is the deepest leaf's level
    leaves[k - inner] = n.aux;
    return;
  }
  if (n.feature < 0) {  // a leaf above the last level: both ways lead to a copy of it
    tree[k] = {std::numeric_limits<T>::infinity(), 0u};
    FillComplete(e, nodes, i, 2 * k + 1, d + 1, tree, leaves);
    FillComplete(e, nodes, i, 2 * k + 2, d + 1, tree, leaves);
    return;
  }
  tree[k] = {n.thr, static_cast<uint32_t>(n.feature) | ((n.aux & kNodeMissingLeft) ? kCompleteMissingLeft : 0u)};
  FillComplete(e, nodes, i + 1, 2 * k + 1, d + 1, tree, leaves);
  FillComplete(e, nodes, n.right, 2 * k + 2, d + 1, tree, leaves);
}

// Builds the complete layout when the ensemble qualifies (complete_depth stays 0 otherwise).
template <class T>
void BuildComplete(TreeEnsemble& e, std::vector<CompleteNodeT<T>>& out) {
  uint32_t depth = 0;
  for (uint32_t d : e.depths) depth = d > depth ? d : depth;
  // The complete layout's nodes have no room for categorical splits or the zero band.
  if (e.has_categorical || e.has_zero || depth > kMaxCompleteDepth) return;
  // Padding must not blow up an ensemble of mostly shallow trees with a few deep ones.
  const size_t n_nodes = e.float64 ? e.nodes_d.size() : e.nodes.size();
  if (e.roots.size() * (size_t{2} << depth) > kMaxCompleteGrowth * n_nodes + 1024) return;
  e.complete_depth = depth;
  const size_t inner = (size_t{1} << depth) - 1;
  const size_t n_trees = e.roots.size();
  out.assign(n_trees * inner, {T(0), 0u});
  e.complete_leaves.assign(n_trees * (inner + 1), 0u);
  for (size_t t = 0; t < n_trees; ++t) {
    FillComplete<T>(e, NodesOf<T>(e), e.roots[t], 0, 0, out.data() + t * inner, e.complete_leaves.data() + t * (inner + 1));
  }
}

// Walks: how a tile of full blocks (Tile), a full block (Block) and a single row (Row) go
// through the trees.
template <class Rule, class Agg>
struct NodeWalk {
  static void Tile(const TreeEnsemble& e, const typename Rule::Value* x, size_t stride, size_t blocks, double* acc) {
    ScoreTile<Rule, Agg>(e, x, stride, blocks, acc);
  }
  static void Block(const TreeEnsemble& e, const typename Rule::Value* x, size_t stride, double* acc) {
    ScoreBlock<Rule, Agg>(e, x, stride, acc);
  }
  static void Row(const TreeEnsemble& e, const typename Rule::Value* x, double* acc) { ScoreRow<Rule, Agg>(e, x, acc); }
};
// Block after block: walks whose layouts stay small (shallow complete trees) or whose blocks carry
// per-block setup (the AVX2 walk's transposed rows).
template <class Rule, class Walker>
void TileByBlocks(const TreeEnsemble& e, const typename Rule::Value* x, size_t stride, size_t blocks, double* acc) {
  for (size_t b = 0; b < blocks; ++b) {
    Walker::Block(e, x + b * kTreeBlockRows * stride, stride, acc + b * kTreeBlockRows * e.n_targets);
  }
}

template <class Rule, class Agg>
struct CompleteWalk {
  static void Tile(const TreeEnsemble& e, const typename Rule::Value* x, size_t stride, size_t blocks, double* acc) {
    TileByBlocks<Rule, CompleteWalk>(e, x, stride, blocks, acc);
  }
  static void Block(const TreeEnsemble& e, const typename Rule::Value* x, size_t stride, double* acc) {
    ScoreBlockComplete<Rule, Agg>(e, x, stride, acc);
  }
  static void Row(const TreeEnsemble& e, const typename Rule::Value* x, double* acc) {
    ScoreRowCompleteAny<Rule, Agg>(e, x, acc);
  }
};

// The full blocks of a tile walk the rows as lanes; the last rows of a batch (m not a multiple of
// kTreeBlockRows), or a single row, go one row at a time with trees as lanes.
template <class Rule, class Agg, template <class, class> class Walker>
void ScoreRows(const TreeEnsemble& e, const void* xv, size_t stride, size_t m, double* acc) {
  using T = typename Rule::Value;
  const T* x = static_cast<const T*>(xv);
  const size_t blocks = m / kTreeBlockRows;
  if (blocks > 0) Walker<Rule, Agg>::Tile(e, x, stride, blocks, acc);
  for (size_t i = blocks * kTreeBlockRows; i < m; ++i) {
    Walker<Rule, Agg>::Row(e, x + i * stride, acc + i * e.n_targets);
  }
}

// QuickScorer (trees_qs.h): m <= kQsBlockRows rows at once, a chunk of trees at a time; the exit
// leaves are added in tree order by the walk's policies, so sums are bit-identical. kNT: n_targets
// when 1 or 2 (else 0): the rows' sums then stay in a local array the compiler keeps in registers
// (with n_targets read at run time the adds cost ~200 ns per RF100 row, a third of the scan).
// A full block's rows are added 8 at a time (kTreeBlockRows), each group's sums in registers.
template <class Agg, uint32_t kNT, size_t kRows>
inline void AddQsLeaves(const TreeEnsemble& e, size_t t0, size_t n, const uint32_t* leaf, size_t m, double* sums) {
  const size_t nt = kNT ? kNT : e.n_targets;
  const size_t rows = kRows ? kRows : m;
  // Rows inner: each row's sum is a chain of dependent adds, the rows' chains overlap.
  for (size_t t = 0; t < n; ++t) {
    for (size_t r = 0; r < rows; ++r) Agg::template Add<kNT>(e, t0 + t, leaf[t * kQsBlockRows + r], sums + r * nt);
  }
}
template <class Rule, class Agg, uint32_t kNT>
void ScoreBlockQs(const TreeEnsemble& e, const void* x, size_t stride, size_t m, double* acc) {
  constexpr size_t B = kQsBlockRows;
  const size_t nan = Rule::kHasMissing ? 1 : 0;
  // A block's scan costs about as much for 1 row as for B (~7 walked rows: ~13.5 µs a block against ~1.9 µs a walked row); few rows keep the walk.
  if (m < kQsMinRows) return e.qs.walk[nan](e, x, stride, m, acc);
  const size_t nt = kNT ? kNT : e.n_targets;
  double local[B * (kNT ? kNT : 1)];
  double* sums = kNT ? local : acc;
  uint32_t leaf[B * kQsChunkTrees];
  for (size_t r = 0; r < m; ++r) Agg::Start(e, sums + r * nt);
  const size_t n_trees = e.roots.size();
  for (size_t t0 = 0; t0 < n_trees; t0 += kQsChunkTrees) {
    e.qs.leaves_of[nan](e, t0 / kQsChunkTrees, x, stride, m, leaf);
    const size_t n = n_trees - t0 < kQsChunkTrees ? n_trees - t0 : kQsChunkTrees;
    // A full block's loops have constant counts, so they unroll and the sums stay in registers.
    if (m == B) {
      constexpr size_t G = kTreeBlockRows;
      for (size_t g = 0; g < B; g += G) AddQsLeaves<Agg, kNT, G>(e, t0, n, leaf + g, G, sums + g * nt);
    } else {
      AddQsLeaves<Agg, kNT, 0>(e, t0, n, leaf, m, sums);
    }
  }
  for (size_t r = 0; r < m; ++r) Agg::Finish(e, sums + r * nt);
  if (kNT) std::memcpy(acc, sums, m * nt * sizeof(double));
}
// Any m rows (a tile): block after block, each block's scan over the whole ensemble.
template <class Rule, class Agg, uint32_t kNT>
void ScoreRowsQs(const TreeEnsemble& e, const void* xv, size_t stride, size_t m, double* acc) {
  using T = typename Rule::Value;
  const T* x = static_cast<const T*>(xv);
  for (size_t r0 = 0; r0 < m; r0 += kQsBlockRows) {
    const size_t b = m - r0 < kQsBlockRows ? m - r0 : kQsBlockRows;
    ScoreBlockQs<Rule, Agg, kNT>(e, x + r0 * stride, stride, b, acc + r0 * e.n_targets);
  }
}
template <class Rule, class Agg>
TreeBlockFn PickQs(const TreeEnsemble& e) {
  switch (e.n_targets) {
    case 1: return &ScoreRowsQs<Rule, Agg, 1>;
    case 2: return &ScoreRowsQs<Rule, Agg, 2>;
    default: return &ScoreRowsQs<Rule, Agg, 0>;
  }
}

// ---- AVX2 walk of shallow complete trees (float32 kinds, depth <= kVecMaxDepth)
//
// A block of 8 rows is first transposed feature-major (xt[f * 8 + row]), so one node's test for
// the 8 rows is one contiguous load and one compare against the broadcast threshold. Every node
// of the tree is tested, and each row picks its path's results with blends: no gather, no
// dependent load. Boosting with one raw score sums in two vectors, the leaf values picked with
// dword permutes; other aggregates add each row's leaf with the scalar policies. Either way each
// row adds its trees in tree order, so sums are bit-identical to the scalar walk.
//
// Tunables, measured on a Zen 2 EPYC (docs/benchmarks.md "How the engine walks trees"):
// kVecMaxDepth = 3: testing all 2^D - 1 nodes pays for 7 nodes (GBM100 depth 3: ~2.5x faster
//   per block). Deeper levels need a per-row node fetch: 8-lane gathers (several per level) made
//   RF100 depth 8 1.4x slower than the scalar walk, and a vector top + scalar rest 1.35x slower;
//   deeper trees keep the scalar walk.
// kVecMaxFeatures = 256: the transposed block lives on the stack, 8 rows x 256 x 4 bytes = 8 KB;
//   wider ensembles keep the scalar walk.
// A single row keeps the scalar walk (trees as lanes). Tried on GBM100: a tree's nodes as lanes
//   with the row's features fetched by gathers (1.8x slower) or by permutes (1.25x slower), and
//   8 trees' nodes as lanes with permutes (no faster).
constexpr uint32_t kVecMaxDepth = 3;
constexpr size_t kVecMaxFeatures = 256;

#if KILN_HAVE_AVX2_REGION
KILN_AVX2_BEGIN

#define KILN_VEC_INLINE inline __attribute__((always_inline))

// Node k's test for the 8 rows of a transposed block: all-ones in the lanes that go left (the
// rule's ordered compare, false for NaN, then NaN by the node's flag). `off` is the node's
// feature as a byte offset into xt (feature * 32), `thr` its threshold broadcast.
template <class Rule>
KILN_VEC_INLINE __m256 VecNodeLeft(const char* xt, int32_t off, __m256 thr, int32_t nan_left) {
  const float* col = reinterpret_cast<const float*>(xt + off);
  if constexpr (Rule::kHasMissing) {
    constexpr int kPred = Rule::kLessThan ? _CMP_LT_OQ : _CMP_LE_OQ;
    const __m256 x = _mm256_load_ps(col);
    const __m256 left = _mm256_cmp_ps(x, thr, kPred);
    const __m256 nl = _mm256_castsi256_ps(_mm256_set1_epi32(nan_left));
    return _mm256_or_ps(left, _mm256_and_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), nl));
  } else {
    // thr >= x is x <= thr (thr > x is x < thr), false for NaN: with x second the compare reads
    // the column straight from memory.
    constexpr int kSwapped = Rule::kLessThan ? _CMP_GT_OQ : _CMP_GE_OQ;
    return _mm256_cmp_ps(thr, _mm256_load_ps(col), kSwapped);
  }
}

// The 8 rows x 8 features of `x` from feature f0 (rows `stride` floats apart), transposed into
// xt[(f0 + j) * 8 + row]; only the first `n` (<= 8) features are read (a masked load past them).
KILN_VEC_INLINE void TransposeTile(const float* x, size_t stride, size_t f0, size_t n, float* xt) {
  __m256 r[8];
  if (n == 8) {
    for (size_t i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(x + i * stride + f0);
  } else {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (size_t i = 0; i < 8; ++i) r[i] = _mm256_maskload_ps(x + i * stride + f0, mask);
  }
  __m256 t[8], u[8];
  for (size_t i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (size_t i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (size_t j = 0; j < 4; ++j) {
    _mm256_store_ps(xt + (f0 + j) * 8, _mm256_permute2f128_ps(u[j], u[j + 4], 0x20));
    _mm256_store_ps(xt + (f0 + j + 4) * 8, _mm256_permute2f128_ps(u[j], u[j + 4], 0x31));
  }
}

template <class Rule, class Agg, uint32_t kDepth>
struct CompleteWalkAvx2 {
  static_assert(std::is_same_v<typename Rule::Value, float>, "the AVX2 walk compares in float32");
  static_assert(kTreeBlockRows == 8, "one 256-bit vector holds a block's 8 rows");
  static_assert(kDepth >= 1 && kDepth <= kVecMaxDepth, "the AVX2 walk is written for depths 1 to 3");

  // -P for the 8 rows of the transposed block xt, P a row's path as left turns in binary
  // (4 left0 + 2 left1 + left2 at depth 3): the masks are -1 where a row goes left, so the sums
  // of masks below are -P. The row's leaf slot is 2^D - 1 - P.
  static KILN_VEC_INLINE __m256i NegPath(const char* xt, const float* thr, const int32_t* off, const int32_t* nan_left) {
    const auto node = [&](uint32_t k) {
      return VecNodeLeft<Rule>(xt, off[k], _mm256_broadcast_ss(thr + k), Rule::kHasMissing ? nan_left[k] : 0);
    };
    const __m256 l0 = node(0);
    const __m256i m0 = _mm256_castps_si256(l0);
    if constexpr (kDepth == 1) return m0;
    const __m256 n1 = node(1), n2 = node(2);
    // blendv takes its second operand where the mask is set: the left child's result.
    const __m256i p1 = _mm256_add_epi32(_mm256_add_epi32(m0, m0), _mm256_castps_si256(_mm256_blendv_ps(n2, n1, l0)));
    if constexpr (kDepth == 2) return p1;
    const __m256 a = _mm256_blendv_ps(node(4), node(3), n1);
    const __m256 b = _mm256_blendv_ps(node(6), node(5), n2);
    return _mm256_add_epi32(_mm256_add_epi32(p1, p1), _mm256_castps_si256(_mm256_blendv_ps(b, a, l0)));
  }

  static void Tile(const TreeEnsemble& e, const float* x, size_t stride, size_t blocks, double* acc) {
    TileByBlocks<Rule, CompleteWalkAvx2>(e, x, stride, blocks, acc);
  }

  static void Block(const TreeEnsemble& e, const float* x, size_t stride, double* acc) {
    constexpr size_t B = kTreeBlockRows;
    constexpr size_t kStride = 8;  // BuildVec's vec_stride
    const size_t nt = e.n_targets;
    const size_t nf = e.n_features;
    alignas(32) float xt[kVecMaxFeatures * B];
    for (size_t f0 = 0; f0 < nf; f0 += 8) TransposeTile(x, stride, f0, nf - f0 < 8 ? nf - f0 : 8, xt);
    const char* xb = reinterpret_cast<const char*>(xt);
    const size_t n_trees = e.roots.size();
    const float* thr = e.vec_thr.data();
    const int32_t* off = e.vec_offset.data();
    const int32_t* nan_left = e.vec_nan_left.data();
    if constexpr (std::is_same_v<Agg, BoostAgg>) {
      if (!e.vec_leaf.empty()) {
        // One raw score: the 8 rows' sums stay in two vectors, init + v_1 + ... + v_T as BoostAgg
        // adds them. A tree's (at most 8) leaf values are split into low and high dwords, each
        // picked per row with one permute indexed by -P (vpermd reads its low 3 bits; BuildVec
        // stores leaf slot s at position (s + 9 - 2^D) & 7, which is -P mod 8); unpacking them
        // gives rows 0, 1, 4, 5 in sum_a and 2, 3, 6, 7 in sum_b.
        __m256d sum_a = _mm256_set1_pd(e.init[0]), sum_b = sum_a;
        const __m256i* split = reinterpret_cast<const __m256i*>(e.vec_leaf.data());
        for (size_t t = 0; t < n_trees; ++t, thr += kStride, off += kStride, nan_left += kStride, split += 2) {
          const __m256i path = NegPath(xb, thr, off, nan_left);
          const __m256i lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(split), path);
          const __m256i hi = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(split + 1), path);
          sum_a = _mm256_add_pd(sum_a, _mm256_castsi256_pd(_mm256_unpacklo_epi32(lo, hi)));
          sum_b = _mm256_add_pd(sum_b, _mm256_castsi256_pd(_mm256_unpackhi_epi32(lo, hi)));
        }
        alignas(32) double a[4], b[4];
        _mm256_store_pd(a, sum_a);
        _mm256_store_pd(b, sum_b);
        const double rows[B] = {a[0], a[1], b[0], b[1], a[2], a[3], b[2], b[3]};
        for (size_t r = 0; r < B; ++r) acc[r * nt] = rows[r];
        return;
      }
    }
    for (size_t r = 0; r < B; ++r) Agg::Start(e, acc + r * nt);
    constexpr uint32_t kInner = (uint32_t{1} << kDepth) - 1;
    alignas(32) uint32_t at[B];
    for (size_t t = 0; t < n_trees; ++t, thr += kStride, off += kStride, nan_left += kStride) {
      const __m256i slot = _mm256_add_epi32(NegPath(xb, thr, off, nan_left), _mm256_set1_epi32(kInner));
      _mm256_store_si256(reinterpret_cast<__m256i*>(at), slot);
      const uint32_t* leaves = e.complete_leaves.data() + t * (kInner + 1);
      for (size_t r = 0; r < B; ++r) Agg::Add(e, t, leaves[at[r]], acc + r * nt);
    }
    for (size_t r = 0; r < B; ++r) Agg::Finish(e, acc + r * nt);
  }

  static void Row(const TreeEnsemble& e, const float* x, double* acc) { ScoreRowDepthAny<Rule, Agg, kDepth>(e, x, acc); }
};

// The walk of one depth as ScoreRows' Walker.
template <uint32_t kDepth>
struct Avx2Depth {
  template <class Rule, class Agg>
  using Walk = CompleteWalkAvx2<Rule, Agg, kDepth>;
};
template <class Rule, uint32_t kDepth>
TreeBlockFn PickAvx2Depth(const TreeEnsemble& e) {
  return e.boost ? &ScoreRows<Rule, BoostAgg, Avx2Depth<kDepth>::template Walk>
                 : &ScoreRows<Rule, AverageAgg, Avx2Depth<kDepth>::template Walk>;
}
template <class Rule>
TreeBlockFn PickAvx2(const TreeEnsemble& e) {
  static_assert(kVecMaxDepth == 3, "PickAvx2 has a case per depth");
  switch (e.complete_depth) {
    case 1: return PickAvx2Depth<Rule, 1>(e);
    case 2: return PickAvx2Depth<Rule, 2>(e);
    default: return PickAvx2Depth<Rule, 3>(e);
  }
}

#undef KILN_VEC_INLINE
KILN_AVX2_END
#endif  // KILN_HAVE_AVX2_REGION

// The complete layout as vector arrays, when the AVX2 walk applies (else e.isa stays kScalar).
void BuildVec(TreeEnsemble& e, TreeIsa isa) {
  e.isa = TreeIsa::kScalar;
  e.vec_stride = 0;
  e.vec_thr.clear();
  e.vec_offset.clear();
  e.vec_nan_left.clear();
  e.vec_leaf.clear();
  if (isa != TreeIsa::kAvx2 || e.float64 || e.complete_depth == 0 || e.complete_depth > kVecMaxDepth ||
      e.n_features > kVecMaxFeatures) {
    return;
  }
  const size_t inner = (size_t{1} << e.complete_depth) - 1;
  const size_t vs = 8;  // >= 2^kVecMaxDepth - 1
  const size_t n_trees = e.roots.size();
  e.vec_thr.assign(n_trees * vs, std::numeric_limits<float>::infinity());
  e.vec_offset.assign(n_trees * vs, 0);
  e.vec_nan_left.assign(n_trees * vs, 0);
  for (size_t t = 0; t < n_trees; ++t) {
    for (size_t k = 0; k < inner; ++k) {
      const CompleteNodeT<float>& n = e.complete_nodes[t * inner + k];
      e.vec_thr[t * vs + k] = n.thr;
      e.vec_offset[t * vs + k] = static_cast<int32_t>((n.fm & ~kCompleteMissingLeft) * kTreeBlockRows * sizeof(float));
      e.vec_nan_left[t * vs + k] = (n.fm & kCompleteMissingLeft) ? -1 : 0;
    }
  }
  if (e.boost && e.n_targets == 1) {
    // Per tree 8 doubles' worth: the low dwords of the leaf values, then their high dwords, leaf
    // slot s at position (s + 9 - 2^D) & 7 (CompleteWalkAvx2::NegPath); positions past the 2^D
    // leaves repeat the last leaf (never picked).
    const size_t nl = inner + 1;
    e.vec_leaf.assign(n_trees * 8, 0.0);
    for (size_t t = 0; t < n_trees; ++t) {
      char* out = reinterpret_cast<char*>(e.vec_leaf.data() + t * 8);
      for (size_t p = 0; p < 8; ++p) {
        const size_t s = (p + nl - 1) & 7;
        const double v = e.leaf_values[e.complete_leaves[t * nl + (s < nl ? s : nl - 1)]];
        uint32_t w[2];
        std::memcpy(w, &v, sizeof v);
        std::memcpy(out + 4 * p, &w[0], 4);
        std::memcpy(out + 32 + 4 * p, &w[1], 4);
      }
    }
  }
  e.vec_stride = static_cast<uint32_t>(vs);
  e.isa = TreeIsa::kAvx2;
}

// The instruction set this load uses: SetTreeIsa's, else KILN_TREE_ISA=scalar's, else the best.
TreeIsa LoadTreeIsa() {
  const TreeIsa best = BestTreeIsa();
  const int forced = g_tree_isa_override.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<TreeIsa>(forced) == TreeIsa::kScalar ? TreeIsa::kScalar : best;
  const char* env = std::getenv("KILN_TREE_ISA");
  if (env != nullptr && std::strcmp(env, "scalar") == 0) return TreeIsa::kScalar;
  return best;
}

// The kernel of one split rule and aggregate: the complete layout's when built (never with
// categorical splits or the zero band), else the node walk's.
template <class T, bool kLess, bool kMissing, bool kCat, bool kZero>
TreeBlockFn PickKernel(const TreeEnsemble& e) {
  using R = SplitRule<T, kLess, kMissing, kCat, kZero>;
  if constexpr (!kCat && !kZero) {
    if (e.algo == TreeAlgo::kQuickScorer) return e.boost ? PickQs<R, BoostAgg>(e) : PickQs<R, AverageAgg>(e);
    if (e.complete_depth > 0) {
#if KILN_HAVE_AVX2_REGION
      if constexpr (std::is_same_v<T, float>) {
        if (e.isa == TreeIsa::kAvx2) {
          return PickAvx2<R>(e);
        }
      }
#endif
      return e.boost ? &ScoreRows<R, BoostAgg, CompleteWalk> : &ScoreRows<R, AverageAgg, CompleteWalk>;
    }
  }
  return e.boost ? &ScoreRows<R, BoostAgg, NodeWalk> : &ScoreRows<R, AverageAgg, NodeWalk>;
}
template <class T, bool kLess, bool kMissing, bool kCat>
TreeBlockFn PickKernel(const TreeEnsemble& e) {
  return e.has_zero ? PickKernel<T, kLess, kMissing, kCat, true>(e) : PickKernel<T, kLess, kMissing, kCat, false>(e);
}
template <class T, bool kLess, bool kMissing>
TreeBlockFn PickKernel(const TreeEnsemble& e) {
  return e.has_categorical ? PickKernel<T, kLess, kMissing, true>(e) : PickKernel<T, kLess, kMissing, false>(e);
}
template <class T, bool kLess>
TreeBlockFn PickKernel(const TreeEnsemble& e, bool missing) {
  return missing ? PickKernel<T, kLess, true>(e) : PickKernel<T, kLess, false>(e);
}
template <class T>
void PickKernels(TreeEnsemble& e) {
  for (int nan = 0; nan < 2; ++nan) {
    const bool missing = nan == 1 && e.has_missing;
    // QuickScorer hands blocks of few rows to the walk.
    const TreeAlgo algo = e.algo;
    e.algo = TreeAlgo::kWalk;
    e.qs.walk[nan] = e.less ? PickKernel<T, true>(e, missing) : PickKernel<T, false>(e, missing);
    e.algo = algo;
    e.score[nan] = e.less ? PickKernel<T, true>(e, missing) : PickKernel<T, false>(e, missing);
  }
}

// Rows per tile: as many as kTreeTileBytes holds of their features (T: float or double).
template <class T>
uint32_t TileRows(const TreeEnsemble& e) {
  const size_t row_bytes = (e.n_features == 0 ? 1 : e.n_features) * sizeof(T);
  size_t rows = kTreeTileBytes / row_bytes / kTreeBlockRows * kTreeBlockRows;
  rows = rows < kTreeBlockRows ? kTreeBlockRows : rows > kTreeMaxTileRows ? kTreeMaxTileRows : rows;
  return static_cast<uint32_t>(rows);
}

// Moves the parsed (float64) nodes into their runtime form, lays them out and picks the kernels.
void Finish(TreeEnsemble& e) {
  e.complete_depth = 0;
  e.complete_nodes.clear();
  e.complete_nodes_d.clear();
  e.complete_leaves.clear();
  if (!e.float64) {
    e.nodes.resize(e.nodes_d.size());
    for (size_t i = 0; i < e.nodes_d.size(); ++i) {
      const NodeD& d = e.nodes_d[i];
      const bool split = d.feature >= 0 && (d.aux & kNodeCategorical) == 0;
      const float leaf_or_cat = d.feature < 0 ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
      e.nodes[i] = {split ? (e.less ? ThresholdToFloatUp(d.thr) : ThresholdToFloat(d.thr)) : leaf_or_cat, d.feature,
                    d.right, d.aux};
    }
    std::vector<NodeD>().swap(e.nodes_d);
    e.depths = TreeDepths<float>(e);
    BuildComplete<float>(e, e.complete_nodes);
    BuildShallow<float>(e);
    BuildVec(e, LoadTreeIsa());
    BuildQs(e, LoadTreeIsa());
    PickKernels<float>(e);
    e.tile_rows = TileRows<float>(e);
  } else {
    e.depths = TreeDepths<double>(e);
    BuildComplete<double>(e, e.complete_nodes_d);
    BuildShallow<double>(e);
    BuildVec(e, TreeIsa::kScalar);
    BuildQs(e, TreeIsa::kScalar);
    PickKernels<double>(e);
    e.tile_rows = TileRows<double>(e);
  }
}
constexpr uint32_t kNoParent = 0xFFFFFFFFu;

// Reads `value`: n entries, each an array of `width` finite numbers. Fast path without paths.
void CheckValues(const JVal& val, size_t n, size_t width) {
  const size_t m = val.ArraySize();
  if (m != n) val.Fail(ErrorCode::kModelInvalid, "expected " + std::to_string(n) + " entries, got " + std::to_string(m));
  for (size_t i = 0; i < n; ++i) {
    const Json& e = val.json()[i];
    bool ok = e.is_array() && e.size() == width;
    for (size_t k = 0; ok && k < width; ++k) ok = e[k].is_number() && std::isfinite(e[k].get<double>());
    if (!ok) {
      std::vector<double> tmp;
      val.At(i).Finites(tmp, width);  // throws with the precise path
    }
  }
}

// Reads a list of categories into a bitset of n_words words at words[at..) (zeroed by the caller).
void CategoryBits(const JVal& v, std::vector<uint32_t>& words, size_t at) {
  std::vector<int64_t> cats;
  v.Ints(cats, 0, static_cast<int64_t>(kMaxCategory) - 1);
  for (int64_t c : cats) words[at + static_cast<size_t>(c >> 5)] |= uint32_t{1} << (c & 31);
}

// The optional per-node `categories` entry of node o: null, or {"left": [...], "right": [...]}.
// Returns whether the node is categorical; if so appends its CatSplit and bitsets.
bool ParseCategories(const JVal& cv, TreeEnsemble& out) {
  if (cv.IsNull()) return false;
  JObj c(cv, {"left", "right"});
  JVal l = c.Get("left"), r = c.Get("right");
  int64_t top = -1;
  for (const JVal* side : {&l, &r}) {
    std::vector<int64_t> cats;
    side->Ints(cats, 0, static_cast<int64_t>(kMaxCategory) - 1);
    for (int64_t x : cats) top = x > top ? x : top;
  }
  const size_t n_words = static_cast<size_t>(top + 1 + 31) / 32;
  if (out.cat_words.size() + 2 * n_words > kMaxCategoryWords) {
    cv.Fail(ErrorCode::kModelLimit, "the ensemble's categorical splits exceed " +
                                        std::to_string(kMaxCategoryWords) + " bitset words");
  }
  if (out.cat_splits.size() >= (size_t{1} << (32 - kNodeCatShift))) {
    cv.Fail(ErrorCode::kModelLimit, "too many categorical splits");
  }
  const size_t at = out.cat_words.size();
  out.cat_words.resize(at + 2 * n_words, 0u);
  CategoryBits(l, out.cat_words, at);
  CategoryBits(r, out.cat_words, at + n_words);
  for (size_t w = 0; w < n_words; ++w) {
    if (out.cat_words[at + w] & out.cat_words[at + n_words + w]) {
      cv.Fail(ErrorCode::kModelInvalid, "a category is listed both left and right");
    }
  }
  out.cat_splits.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(n_words)});
  return true;
}

void ParseTree(const JVal& tv, TreeEnsemble& out, double learning_rate, UnknownCategory unknown) {
  JObj t(tv, {"target", "children_left", "children_right", "feature", "threshold", "missing_go_to_left",
              "zero_as_missing", "categories", "value"});
  const int64_t max_target = static_cast<int64_t>(out.n_targets) - 1;
  uint32_t target = 0;
  if (out.boost) {
    target = static_cast<uint32_t>(t.Get("target").Int(0, max_target));
  } else if (auto tg = t.OptNonNull("target")) {
    tg->Int(0, max_target);
  }

  JVal cl = t.Get("children_left");
  const size_t n = cl.ArraySize(kMaxTreeNodes, "nodes");
  if (n == 0) cl.Fail(ErrorCode::kModelInvalid, "a tree needs at least one node");
  JVal cr = t.Get("children_right");
  JVal fv = t.Get("feature");
  std::vector<int64_t> left, right, feature;
  cl.Ints(left, -kWide, kWide, n);
  cr.Ints(right, -kWide, kWide, n);
  fv.Ints(feature, -kWide, kWide, n);
  // A null threshold is +inf (sklearn's missing-vs-rest split: every non-missing value goes left).
  std::vector<double> threshold;
  JVal tv_thr = t.Get("threshold");
  const size_t n_thr = tv_thr.ArraySize();
  if (n_thr != n) {
    tv_thr.Fail(ErrorCode::kModelInvalid, "expected " + std::to_string(n) + " values, got " + std::to_string(n_thr));
  }
  threshold.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Json& e = tv_thr.json()[i];
    if (e.is_null()) {
      threshold.push_back(std::numeric_limits<double>::infinity());
    } else if (e.is_number() && std::isfinite(e.get<double>())) {
      threshold.push_back(e.get<double>());
    } else {
      threshold.push_back(tv_thr.At(i).Finite());  // throws with the element's path
    }
  }
  std::vector<int64_t> missing;
  if (auto mv = t.OptNonNull("missing_go_to_left")) {
    mv->Ints(missing, 0, 1, n);
  } else {
    missing.assign(n, 0);
  }
  std::optional<JVal> zero_v = t.OptNonNull("zero_as_missing");
  std::vector<int64_t> zero;
  if (zero_v) {
    zero_v->Ints(zero, 0, 1, n);
  } else {
    zero.assign(n, 0);
  }
  std::optional<JVal> cats = t.OptNonNull("categories");
  if (cats) {
    const size_t m = cats->ArraySize();
    if (m != n) cats->Fail(ErrorCode::kModelInvalid, "expected " + std::to_string(n) + " entries, got " + std::to_string(m));
  }
  const size_t width = out.boost ? 1 : out.n_targets;
  JVal val = t.Get("value");
  CheckValues(val, n, width);

  const size_t base = out.nodes_d.size();
  if (base + n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    tv.Fail(ErrorCode::kModelLimit, "the ensemble has more than 2^31 nodes");
  }
  out.nodes_d.resize(base + n);
  out.roots.push_back(static_cast<uint32_t>(base));
  out.targets.push_back(target);

  std::vector<uint8_t> seen(n, 0);
  seen[0] = 1;
  struct Item { uint32_t orig; uint32_t parent; };
  std::vector<Item> stack;
  stack.push_back({0, kNoParent});
  size_t next = base;
  const int64_t nn = static_cast<int64_t>(n);
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    const uint32_t idx = static_cast<uint32_t>(next++);
    if (it.parent != kNoParent) out.nodes_d[it.parent].right = idx;
    const size_t o = it.orig;
    NodeD& nd = out.nodes_d[idx];
    if (left[o] == -1) {
      if (right[o] != -1) {
        Throw(ErrorCode::kModelInvalid, IndexPath(cr.path(), o),
              "node " + std::to_string(o) + " is a leaf (children_left is -1) but children_right is " +
                  std::to_string(right[o]));
      }
      if (out.leaf_values.size() + width > std::numeric_limits<uint32_t>::max()) {
        tv.Fail(ErrorCode::kModelLimit, "the ensemble has too many leaf values");
      }
      nd.thr = std::numeric_limits<double>::quiet_NaN();
      nd.feature = kLeafFeature;
      nd.right = idx;
      nd.aux = static_cast<uint32_t>(out.leaf_values.size());
      const Json& e = val.json()[o];
      for (size_t k = 0; k < width; ++k) {
        const double x = e[k].get<double>();
        out.leaf_values.push_back(out.boost ? learning_rate * x : x);
      }
      continue;
    }
    const int64_t l = left[o], r = right[o];
    if (l < 0 || l >= nn) {
      Throw(ErrorCode::kModelInvalid, IndexPath(cl.path(), o),
            "child " + std::to_string(l) + " is out of range [0, " + std::to_string(n) + ")");
    }
    if (r < 0 || r >= nn) {
      Throw(ErrorCode::kModelInvalid, IndexPath(cr.path(), o),
            "child " + std::to_string(r) + " is out of range [0, " + std::to_string(n) + ")");
    }
    if (feature[o] < 0 || feature[o] >= static_cast<int64_t>(out.n_features)) {
      Throw(ErrorCode::kModelInvalid, IndexPath(fv.path(), o),
            "feature " + std::to_string(feature[o]) + " is out of range [0, " + std::to_string(out.n_features) + ")");
    }
    if (seen[static_cast<size_t>(l)]) {
      Throw(ErrorCode::kModelInvalid, IndexPath(cl.path(), o),
            "node " + std::to_string(l) + " is reached twice (cycle or shared child)");
    }
    seen[static_cast<size_t>(l)] = 1;
    if (seen[static_cast<size_t>(r)]) {
      Throw(ErrorCode::kModelInvalid, IndexPath(cr.path(), o),
            "node " + std::to_string(r) + " is reached twice (cycle or shared child)");
    }
    seen[static_cast<size_t>(r)] = 1;
    nd.thr = threshold[o];
    nd.feature = static_cast<int32_t>(feature[o]);
    nd.right = 0;
    nd.aux = missing[o] ? kNodeMissingLeft : 0u;
    if (missing[o]) out.has_missing = true;
    if (zero[o]) {
      nd.aux |= kNodeZeroMissing;
      out.has_zero = true;
    }
    if (cats && ParseCategories(cats->At(o), out)) {
      if (zero[o]) {
        Throw(ErrorCode::kModelInvalid, IndexPath(zero_v->path(), o),
              "node " + std::to_string(o) + " is categorical: zero_as_missing applies to numeric splits only");
      }
      out.has_categorical = true;
      const bool unknown_left = unknown == UnknownCategory::kMissing ? missing[o] != 0 : unknown == UnknownCategory::kLeft;
      nd.aux |= kNodeCategorical | (unknown_left ? kNodeUnknownLeft : 0u) |
                static_cast<uint32_t>((out.cat_splits.size() - 1) << kNodeCatShift);
    }
    stack.push_back({static_cast<uint32_t>(r), idx});
    stack.push_back({static_cast<uint32_t>(l), kNoParent});
  }
  if (next - base != n) {
    size_t k = 0;
    while (k < n && seen[k]) ++k;
    cl.Fail(ErrorCode::kModelInvalid, "node " + std::to_string(k) + " is not reachable from the root");
  }
}

}  // namespace

void ParseTreeEnsemble(const JVal& v, TreeEnsemble& out) {
  JObj o(v, {"kind", "n_features", "aggregate", "n_targets", "init", "learning_rate", "link", "threshold_dtype",
             "compare", "unknown_category", "label_at_zero", "trees"});
  out.n_features = static_cast<uint32_t>(o.Get("n_features").Int(0, static_cast<int64_t>(kMaxFrameWidth)));
  JVal agg = o.Get("aggregate");
  if (agg.Str() == "average") {
    out.boost = false;
  } else if (agg.Str() == "boost") {
    out.boost = true;
  } else {
    agg.Fail(ErrorCode::kModelUnsupported, "unknown aggregate '" + agg.Str() + "' (expected average or boost)");
  }
  JVal nt = o.Get("n_targets");
  const int64_t n_targets = nt.Int(1, std::numeric_limits<int32_t>::max());
  if (static_cast<size_t>(n_targets) > kMaxClasses) {
    nt.Fail(ErrorCode::kModelLimit, std::to_string(n_targets) + " targets exceed the limit of " + std::to_string(kMaxClasses));
  }
  out.n_targets = static_cast<uint32_t>(n_targets);

  double learning_rate = 1.0;
  if (out.boost) {
    out.init.clear();
    o.Get("init").Finites(out.init, out.n_targets);
    learning_rate = o.Get("learning_rate").Finite();
    JVal lv = o.Get("link");
    out.link = ParseLink(lv);
    if (out.link == Link::kNone) lv.Fail(ErrorCode::kModelUnsupported, "boosting supports identity, logistic or softmax");
  } else {
    // Meaningless for averaging; accepted when well-typed, and ignored.
    if (auto iv = o.OptNonNull("init")) {
      std::vector<double> ignored;
      iv->Finites(ignored);
    }
    if (auto lr = o.OptNonNull("learning_rate")) lr->Finite();
    if (auto lv = o.OptNonNull("link")) {
      if (ParseLink(*lv) != Link::kIdentity) lv->Fail(ErrorCode::kModelInvalid, "averaging ensembles take no link");
    }
    out.link = Link::kIdentity;
  }

  out.float64 = false;
  if (auto d = o.OptNonNull("threshold_dtype")) {
    if (d->Str() == "float64") {
      out.float64 = true;
    } else if (d->Str() != "float32") {
      d->Fail(ErrorCode::kModelUnsupported, "unknown threshold_dtype '" + d->Str() + "' (expected float32 or float64)");
    }
  }
  out.less = false;
  if (auto c = o.OptNonNull("compare")) {
    if (c->Str() == "lt") {
      out.less = true;
    } else if (c->Str() != "le") {
      c->Fail(ErrorCode::kModelUnsupported, "unknown compare '" + c->Str() + "' (expected le or lt)");
    }
  }
  UnknownCategory unknown = UnknownCategory::kMissing;
  if (auto u = o.OptNonNull("unknown_category")) {
    if (u->Str() == "left") {
      unknown = UnknownCategory::kLeft;
    } else if (u->Str() == "right") {
      unknown = UnknownCategory::kRight;
    } else if (u->Str() != "missing") {
      u->Fail(ErrorCode::kModelUnsupported,
              "unknown unknown_category '" + u->Str() + "' (expected missing, left or right)");
    }
  }
  out.label_at_zero = 1;
  if (auto z = o.OptNonNull("label_at_zero")) out.label_at_zero = static_cast<int>(z->Int(0, 1));

  JVal trees = o.Get("trees");
  const size_t t = trees.ArraySize(kMaxTrees, "trees");
  if (t == 0) trees.Fail(ErrorCode::kModelInvalid, "needs at least one tree");
  out.nodes.clear();
  out.nodes_d.clear();
  out.roots.clear();
  out.targets.clear();
  out.leaf_values.clear();
  out.cat_splits.clear();
  out.cat_words.clear();
  out.has_missing = false;
  out.has_categorical = false;
  out.has_zero = false;
  for (size_t i = 0; i < t; ++i) ParseTree(trees.At(i), out, learning_rate, unknown);
  Finish(out);
}

}  // namespace kiln::internal
