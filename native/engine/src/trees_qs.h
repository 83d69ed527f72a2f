// QuickScorer (Lucchese et al., SIGIR 2015) and its vectorised form V-QuickScorer: tree
// ensembles scored feature by feature instead of tree by tree.
//
// Every tree's leaves are numbered left to right; a row's state per tree is a bitmask of the
// leaves it can still reach (all ones to start). At load, each feature's inner nodes (over all
// trees) are sorted by threshold, each with its tree and the mask that clears the leaves of its
// left subtree. A row's value of the feature goes right at a prefix of that list (the split test
// is monotone in the threshold), so the scan ANDs masks in ascending order and stops at the first
// node the value goes left at. The exit leaf of a tree is then the lowest leaf still set: the
// leftmost leaf not ruled out is the one a walk reaches. No pointer chasing and no dependent
// loads: one compare and one AND per node the row goes right at.
//
// Exactness: the scans compare with the walk's own thresholds, value type and rule (`<=`, or `<`
// for "lt" kinds), written as "not goes left", so NaN goes right as it does in the walk (it
// compares false). With missing-value routing (kHasMissing) a NaN goes left at the nodes flagged
// so: a feature that is NaN in some row of the block is scanned whole with the full test.
// Categorical splits and LightGBM's zero band are not handled: such ensembles keep the walk.
// The leaves found are added in tree order by the walk's aggregation policies (trees.cc), so
// scores are bit-identical.
//
// On AVX2 a block of kQsBlockRows rows without NaN routing takes the dense scan instead: the same
// masks and exit leaves, but every inner node of a tree tested in turn with the tree's masks kept
// in registers (the per-feature scan's early exit saves little for a block of kQsBlockRows rows,
// and its masks go through memory at every node).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace kiln::internal {

struct TreeEnsemble;
enum class TreeIsa : uint8_t;

// How an ensemble's batches are scored, picked once at load (TreeEnsemble::algo).
enum class TreeAlgo : uint8_t {
  kWalk,         // the block walk of trees.cc (the complete layout, the AVX2 walk or the node walk)
  kQuickScorer,  // trees_qs.cc
};
// The algorithm loads use from now on: `algo` where it applies (kQuickScorer: also the scalar
// kernels), or the automatic choice for nullopt (V-QuickScorer where it applies: AVX2 CPU,
// float32 kinds; else the walk). For tests and for comparing kernels; the environment variable
// KILN_TREE_ALGO=walk forces the walk in the same way. Models already loaded keep theirs.
void SetTreeAlgo(std::optional<TreeAlgo> algo);

// Tunables, measured on a Zen 2 EPYC (docs/benchmarks.md "How the engine walks trees").
// kQsMaxLeaves = 64 leaves: a tree's leaf set is one 32-bit mask (trees of <= 32 leaves: RF100
//   depth 8 has 15-32) or one 64-bit mask; an ensemble with a larger tree keeps the walk (the
//   masks would span several words and the AND per node several instructions).
// kQsBlockRows = 32 rows: a block's rows are four 8-lane vectors, so each node's threshold,
//   offset and mask are loaded once per 32 rows. A block of 16 already reaches ~97% of the nodes
//   in the per-feature scan (RF100: ~1,990 of 2,048; 8 rows: ~1,890), so blocks without NaN
//   routing take the dense scan (every node, tree by tree, masks in registers: DenseLeavesAvx2).
//   RF100 batch, ns per row: 8-row blocks (per-feature scan) 628-649; 16-row blocks 547-550
//   (per-feature scan), 464-477 (dense); 32-row blocks (dense) 421-425.
// kQsChunkTrees = 128 trees: the trees are scored in chunks of this many, each with its own
//   per-feature lists, so a block's leaf masks (32 rows x 128 trees x 4 or 8 bytes = 16 or 32 KB)
//   stay on the stack and in L1 or L2 whatever the ensemble's size.
// kQsMinRows = 7 rows: a block's scan costs about as much for 1 row as for a full block (RF100:
//   ~13.5 us for 32 rows), a row of the walk ~1.9 us, so they break even at ~7 rows (estimated
//   from those two figures, not timed block by block); blocks of fewer rows (single rows, a
//   batch's last rows) keep the walk.
// kQsMaxFeatures = 256 features: the AVX2 scans transpose a block feature-major on the stack
//   (32 rows x 256 x 4 bytes = 32 KB); wider blocks gather each feature's values from the rows
//   (LeavesAvx2) and have no dense scan.
inline constexpr uint32_t kQsMaxLeaves = 64;
inline constexpr size_t kQsMaxFeatures = 256;
inline constexpr size_t kQsBlockRows = 32;
inline constexpr size_t kQsMinRows = 7;
inline constexpr size_t kQsChunkTrees = 128;

// Writes, for rows 0 .. m-1 (m <= kQsBlockRows) of a prepared block and the trees of chunk c,
// each row's exit leaf (its leaf_values offset) to leaf[(t - c * kQsChunkTrees) * kQsBlockRows + r].
using QsLeavesFn = void (*)(const TreeEnsemble& e, size_t c, const void* x, size_t stride, size_t m, uint32_t* leaf);
// The walk's kernel (trees.h TreeBlockFn).
using QsWalkFn = void (*)(const TreeEnsemble& e, const void* x, size_t stride, size_t m, double* acc);

// The QuickScorer layout of an ensemble (TreeEnsemble::qs), when algo is kQuickScorer.
struct QsLayout {
  uint32_t mask_bits = 0;  // 32 or 64
  // Per (chunk c, feature f): its nodes are entries begin[c * n_features + f] .. the next begin,
  // ascending by threshold.
  std::vector<uint32_t> begin;
  std::vector<float> thr;        // float32 kinds: the walk's float thresholds
  std::vector<double> thr_d;     // float64 kinds
  std::vector<uint32_t> at;      // the node's tree within its chunk, times kQsBlockRows: its masks' index
  std::vector<uint8_t> nan_left;  // 1: NaN goes left at the node
  std::vector<uint32_t> mask32;  // mask_bits 32: all ones but the node's left subtree's leaves
  std::vector<uint64_t> mask64;  // mask_bits 64
  std::vector<uint32_t> leaf_begin;  // per tree: its first entry in leaves
  std::vector<uint32_t> leaves;      // per tree, left to right: leaf_values offsets
  // When every tree's leaves lie in leaf_values left to right, leaf_step apart (how the parser
  // stores them): leaf j of tree t is at leaf_first[t] + j * leaf_step, computed 8 rows at a
  // time by the AVX2 kernel. 0: use `leaves`.
  uint32_t leaf_step = 0;
  std::vector<uint32_t> leaf_first;
  // The dense scan's nodes (AVX2, float32 kinds, blocks without NaN routing, at most
  // kQsMaxFeatures features): every tree's inner nodes in tree order, tree t's from
  // dense_begin[t]; the threshold, the byte offset of the feature's values in a block transposed
  // feature-major (feature x kQsBlockRows x 4), and the node's mask (mask32 / mask64 layout).
  std::vector<uint32_t> dense_begin;
  std::vector<float> dense_thr;
  std::vector<uint32_t> dense_off;
  std::vector<uint32_t> dense_mask32;
  std::vector<uint64_t> dense_mask64;
  // [0]: blocks without NaN (or NaN going right everywhere); [1]: NaN routed by the nodes' flags.
  QsLeavesFn leaves_of[2] = {nullptr, nullptr};
  // The walk's kernels, for blocks of fewer than kQsMinRows rows (indexed as leaves_of).
  QsWalkFn walk[2] = {nullptr, nullptr};
};

// Picks the algorithm for a parsed, flattened ensemble (e.depths, e.isa and the nodes set) and
// builds e.qs when it is QuickScorer: e.algo is set either way. isa: the load's instruction set.
void BuildQs(TreeEnsemble& e, TreeIsa isa);

}  // namespace kiln::internal
