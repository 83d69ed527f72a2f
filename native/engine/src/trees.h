// Tree ensembles. Every tree is flattened into one node array in DFS preorder, so an inner
// node's left child is always the next node and only the right child is stored.
//
// sklearn casts X to float32 and tests `(double)x_f <= threshold`. With thr_f = the largest
// float <= threshold (ThresholdToFloat), `x_f <= thr_f` is the same test done in float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "head.h"
#include "trees_qs.h"

namespace kiln::internal {

class JVal;

// Node flags in `aux` of an inner node (a leaf's aux is its offset into leaf_values).
inline constexpr uint32_t kNodeMissingLeft = 1;  // NaN goes left
inline constexpr uint32_t kNodeCategorical = 2;  // categorical split: aux >> kNodeCatShift is its CatSplit
inline constexpr uint32_t kNodeUnknownLeft = 4;  // categorical: a value in neither set goes left
inline constexpr uint32_t kNodeZeroMissing = 8;  // numeric: |x| <= kZeroBand also goes the NaN way
inline constexpr uint32_t kNodeCatShift = 4;

// LightGBM's kZeroThreshold (include/LightGBM/meta.h: `const double kZeroThreshold = 1e-35f`, a
// float literal widened, so 1.0000000180025095e-35): at a node of missing type Zero
// (zero_as_missing), a value in [-kZeroBand, kZeroBand] is "zero" and goes the missing way.
inline constexpr double kZeroBand = static_cast<double>(1e-35f);

// T: the type the feature value and the threshold are compared in (float32 for sklearn's trees
// and XGBoost, float64 for HistGradientBoosting and LightGBM).
// A leaf is its own right child with a NaN threshold and feature kLeafFeature: the plain numeric
// walk (no NaN, zero-band or categorical routes) then stays on it with no leaf test, every value
// comparing false against NaN, and reads feature 0 (kLeafFeature masked to 31 bits).
template <class T>
struct NodeT {
  T thr;            // leaf: NaN; unused in categorical nodes
  int32_t feature;  // < 0: leaf (kLeafFeature)
  uint32_t right;   // absolute index of the right child (left child = this + 1); leaf: itself
  uint32_t aux;     // leaf: offset into leaf_values; inner node: kNode* flags
};
inline constexpr int32_t kLeafFeature = INT32_MIN;
using Node = NodeT<float>;
using NodeD = NodeT<double>;
static_assert(sizeof(Node) == 16, "Node must stay 16 bytes");
static_assert(sizeof(NodeD) == 24, "NodeD must stay 24 bytes");

// A node of the complete layout (see TreeEnsemble::complete_depth): the feature in the low 31
// bits of `fm`, kCompleteMissingLeft set when NaN goes left.
template <class T>
struct CompleteNodeT {
  T thr;
  uint32_t fm;
};
inline constexpr uint32_t kCompleteMissingLeft = 0x80000000u;
static_assert(sizeof(CompleteNodeT<float>) == 8, "CompleteNodeT<float> must stay 8 bytes");

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

// The instruction set a tree ensemble's kernels were picked for (once, at load).
enum class TreeIsa : uint8_t {
  kScalar,  // the x86-64-v2 baseline or another architecture: scalar lanes
  kAvx2,    // x86-64 with AVX2: blocks of shallow complete float32 trees in 256-bit vectors
};
// The best the CPU running this process offers (kScalar off x86-64).
TreeIsa BestTreeIsa();
// The instruction set loads use from now on: `isa` (clamped to BestTreeIsa()), or BestTreeIsa()
// for nullopt. For tests and for comparing kernels; the environment variable KILN_TREE_ISA=scalar
// forces the scalar kernels in the same way. Models already loaded keep theirs.
void SetTreeIsa(std::optional<TreeIsa> isa);

struct TreeEnsemble;
// Scores rows 0 .. m-1 (m <= TreeEnsemble::tile_rows) of a prepared tile into acc (m x n_targets): row r's
// estimator features at x + r * stride, as float for float32 kinds and double for float64 ones.
using TreeBlockFn = void (*)(const TreeEnsemble& e, const void* x, size_t stride, size_t m, double* acc);

struct TreeEnsemble {
  bool boost = false;  // aggregate: "boost" (else "average")
  uint32_t n_features = 0;
  uint32_t n_targets = 0;
  Link link = Link::kIdentity;
  bool has_missing = false;  // some node sends NaN left
  // Options beyond sklearn's trees (docs/model-format.md, tree_ensemble). Every kind runs the
  // block walk below, its split rule and aggregate compiled in: `score`, picked once at load.
  bool float64 = false;      // threshold_dtype "float64": compare doubles (nodes_d), else float32 (nodes)
  bool less = false;         // compare "lt": x < threshold goes left
  bool has_categorical = false;
  bool has_zero = false;     // some node has zero_as_missing: the kernels test the zero band
  int label_at_zero = 1;     // boost, one raw score: the class index when raw == 0
  // [0]: a block without NaN; [1]: a block with a NaN (routes NaN by the nodes' flags; the same
  // kernel as [0] when no node sends NaN left, since NaN then compares its way right).
  TreeBlockFn score[2] = {nullptr, nullptr};
  // Rows per call of score (kTreeTileBytes): a multiple of kTreeBlockRows, <= kTreeMaxTileRows.
  uint32_t tile_rows = 8;
  std::vector<uint32_t> depths;  // per tree: the most inner nodes on a root-to-leaf path
  // Complete layout, for ensembles of shallow trees without categorical splits: every tree
  // padded to complete_depth levels (D) in breadth-first order, children of node k at 2k+1 and
  // 2k+2, a leaf above level D copied into every slot below it. A walk is then D steps with no
  // leaf test and no child index to load: 2^D - 1 nodes and 2^D leaves per tree. 0: not used.
  uint32_t complete_depth = 0;
  std::vector<CompleteNodeT<float>> complete_nodes;    // float32 kinds
  std::vector<CompleteNodeT<double>> complete_nodes_d;  // float64 kinds
  std::vector<uint32_t> complete_leaves;                // leaf_values offsets
  // Boost with one raw score and complete_depth <= 3 (trees.cc kShallowLeafMaxDepth): tree t's
  // leaf values by slot, 2^D per tree, for the single-row walk (ScoreRowDepth).
  std::vector<double> shallow_leaf;
  // The complete layout again as arrays for vector loads, when the AVX2 walk applies (isa is
  // kAvx2: float32 kinds, depth <= 3): tree t's node k at t * vec_stride + k (vec_stride 8, the
  // last slot unused); vec_offset is the node's feature as a byte offset into the walk's
  // transposed block (feature * 8 rows * 4 bytes); vec_nan_left is ~0 when NaN goes left.
  TreeIsa isa = TreeIsa::kScalar;
  uint32_t vec_stride = 0;
  std::vector<float> vec_thr;
  std::vector<int32_t> vec_offset;
  std::vector<int32_t> vec_nan_left;
  // Boost with one raw score: per tree its 8 leaf values, split in dwords (trees.cc BuildVec).
  std::vector<double> vec_leaf;
  // Batches by QuickScorer (trees_qs.h) or the walk, picked once at load (BuildQs).
  TreeAlgo algo = TreeAlgo::kWalk;
  QsLayout qs;
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

// Rows go through the ensemble a block at a time, tree by tree (a batch's blocks a tile at a time,
// see kTreeTileBytes): the rows of a block are
// independent, so their node loads and (unpredictable) compares overlap instead of each row
// waiting on its own chain of loads and branch mispredictions. The walk has no data-dependent
// branch on a threshold split: a row that reached a leaf stays on it for the remaining steps
// of its tree. Every row still adds its trees' leaf values in tree order, so sums are
// bit-identical to a row-at-a-time walk. Kernels: trees.cc (ScoreTile, ScoreRow).

// Rows per block. 8 keeps each row's node index in a register-sized array that stays in L1 and
// gives enough independent loads to cover an L2 hit; 16 measured no faster on RF100/GBM100.
inline constexpr size_t kTreeBlockRows = 8;

// Tiles: batches reach the kernels a tile of rows at a time, and the node walk takes all of a
// tile's blocks through one tree before the next tree, so a tree's nodes are fetched from memory
// once per tile instead of once per block (ScoreTile). The per-row sums stay in tree order, so
// scores are unchanged. Ensembles that outgrow L2 gain: 500 trees of depth 10 (6 MB of nodes)
// ran 3.6x faster with tiles of 512 rows than of 8 (figures in docs/benchmarks.md, "How the
// engine walks trees"). A tile's rows (TreeEnsemble::tile_rows) are as many as fit their features
// in kTreeTileBytes (the tile's features stay in L2 next to the tree being walked; digits_histgb,
// 64 float64 features, slowed past 512 rows = 256 KB), at most kTreeMaxTileRows (a larger tile
// gained < 5% on the 6 MB forest), at least one block.
inline constexpr size_t kTreeTileBytes = 256 * 1024;
inline constexpr size_t kTreeMaxTileRows = 512;
static_assert(kTreeMaxTileRows % kTreeBlockRows == 0, "a tile is whole blocks");

// Deepest trees given the complete layout: 255 nodes + 256 leaves (2 KB + 1 KB) per float32
// tree keep RF100 of depth 8 within L2. Deeper trees (leaf-wise boosters) walk `nodes`.
inline constexpr uint32_t kMaxCompleteDepth = 8;
// The complete layout is also not built when its slots (2^(D+1) per tree) exceed this many times
// the ensemble's nodes (+1024): RF100 depth 8 (bootstrapped, 4,196 nodes) needs 12x.
inline constexpr size_t kMaxCompleteGrowth = 16;

// Parses, validates and flattens the `estimator` object of kind "tree_ensemble".
void ParseTreeEnsemble(const JVal& v, TreeEnsemble& out);

}  // namespace kiln::internal
