#include "trees_qs.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "trees.h"

#include "avx2_region.h"

namespace kiln::internal {

namespace {
std::atomic<int> g_tree_algo_override{-1};  // SetTreeAlgo: -1, or a TreeAlgo
}  // namespace

void SetTreeAlgo(std::optional<TreeAlgo> algo) {
  g_tree_algo_override.store(algo ? static_cast<int>(*algo) : -1);
}

namespace {

template <class T>
const T* ThrOf(const QsLayout& q) {
  if constexpr (std::is_same_v<T, float>) {
    return q.thr.data();
  } else {
    return q.thr_d.data();
  }
}
template <class M>
const M* MaskOf(const QsLayout& q) {
  if constexpr (std::is_same_v<M, uint32_t>) {
    return q.mask32.data();
  } else {
    return q.mask64.data();
  }
}

// The masks of the tree at byte offset `at` (QsLayout::at) in a mask array.
template <class M>
inline M& MaskAt(M* v, uint32_t at) {
  return *reinterpret_cast<M*>(reinterpret_cast<char*>(v) + at);
}

inline uint32_t LowestBit(uint32_t v) { return static_cast<uint32_t>(__builtin_ctz(v)); }
inline uint32_t LowestBit(uint64_t v) { return static_cast<uint32_t>(__builtin_ctzll(v)); }

// The walk's split test (trees.cc NumericGoesLeft without categories or the zero band).
template <class T, bool kLess>
inline bool GoesLeft(T v, T thr) {
  if constexpr (kLess) {
    return v < thr;  // NaN: false
  } else {
    return v <= thr;
  }
}

// Exit leaves of chunk c's trees from their masks v (row r's tree t at v[t * lanes + r]).
template <class M>
inline void ExitLeaves(const TreeEnsemble& e, size_t c, const M* v, size_t lanes, size_t m, uint32_t* leaf) {
  const QsLayout& q = e.qs;
  const size_t t0 = c * kQsChunkTrees;
  const size_t n = std::min(kQsChunkTrees, e.roots.size() - t0);
  for (size_t t = 0; t < n; ++t) {
    const uint32_t* tl = q.leaves.data() + q.leaf_begin[t0 + t];
    for (size_t r = 0; r < m; ++r) leaf[t * kQsBlockRows + r] = tl[LowestBit(v[t * lanes + r])];
  }
}

// Scalar QuickScorer, a row at a time.
template <class T, class M, bool kLess, bool kMissing>
void LeavesScalar(const TreeEnsemble& e, size_t c, const void* xv, size_t stride, size_t m, uint32_t* leaf) {
  constexpr size_t B = kQsBlockRows;
  const QsLayout& q = e.qs;
  const T* thr = ThrOf<T>(q);
  const M* mask = MaskOf<M>(q);
  const uint32_t* at = q.at.data();
  const uint8_t* nan_left = q.nan_left.data();
  const size_t nf = e.n_features;
  const size_t n = std::min(kQsChunkTrees, e.roots.size() - c * kQsChunkTrees);
  const uint32_t* begin = q.begin.data() + c * nf;
  M v[kQsChunkTrees * B];
  for (size_t i = 0; i < n * B; ++i) v[i] = ~M{0};
  for (size_t r = 0; r < m; ++r) {
    const T* x = static_cast<const T*>(xv) + r * stride;
    for (size_t f = 0; f < nf; ++f) {
      const T xf = x[f];
      const uint32_t end = begin[f + 1];
      if (kMissing && xf != xf) {
        // NaN goes right except at the nodes that send it left: not a prefix, so every node.
        for (uint32_t i = begin[f]; i < end; ++i) {
          if (!nan_left[i]) MaskAt(v + r, at[i]) &= mask[i];
        }
        continue;
      }
      for (uint32_t i = begin[f]; i < end && !GoesLeft<T, kLess>(xf, thr[i]); ++i) {
        MaskAt(v + r, at[i]) &= mask[i];
      }
    }
  }
  ExitLeaves<M>(e, c, v, B, m, leaf);
}

#if KILN_HAVE_AVX2_REGION
KILN_AVX2_BEGIN

// V-QuickScorer (float32 kinds): the block's kQsBlockRows rows are the lanes, in vectors of 8.
// Each feature's values of the block are gathered into those vectors, a node's test for all the
// rows is one compare per vector against the broadcast threshold, and its mask is ANDed into the
// rows' masks of its tree where the row goes right. A feature's scan stops when no row does. Rows
// past m repeat row 0, so they add no nodes to the scan.
// Nodes per exit test in the vector scan (see LeavesAvx2): the test (movemask, compare, branch)
// costs as much as a node; testing every 4th saves ~3 instructions a node and wastes at most 3
// nodes per feature.
constexpr uint32_t kQsUnroll = 4;

template <class M, bool kLess, bool kMissing>
void LeavesAvx2(const TreeEnsemble& e, size_t c, const void* xv, size_t stride, size_t m, uint32_t* leaf) {
  constexpr size_t R = kQsBlockRows;
  constexpr size_t V = R / 8;  // vectors of 8 rows
  static_assert(R % 8 == 0, "a 256-bit vector holds 8 float rows");
  constexpr int kPred = kLess ? _CMP_LT_OQ : _CMP_LE_OQ;  // ordered: NaN compares false, goes right
  constexpr size_t kWords = sizeof(M) / sizeof(uint32_t);  // 256-bit vectors per 8 rows' masks
  const QsLayout& q = e.qs;
  const float* thr = q.thr.data();
  const M* mask = MaskOf<M>(q);
  const uint32_t* at = q.at.data();
  const uint8_t* nan_left = q.nan_left.data();
  const size_t nf = e.n_features;
  const size_t n = std::min(kQsChunkTrees, e.roots.size() - c * kQsChunkTrees);
  const uint32_t* begin = q.begin.data() + c * nf;
  const float* x = static_cast<const float*>(xv);
  alignas(32) M v[kQsChunkTrees * R];
  char* vb = reinterpret_cast<char*>(v);
  const __m256i ones = _mm256_set1_epi32(-1);
  for (size_t i = 0; i < n * V * kWords; ++i) _mm256_store_si256(reinterpret_cast<__m256i*>(v) + i, ones);
  // The block feature-major (xt[f * R + r]), once per chunk: a feature's R values are then V
  // vector loads. Wider ensembles gather each feature's values from the rows.
  const float* rows[R];
  for (size_t r = 0; r < R; ++r) rows[r] = x + (r < m ? r : 0) * stride;
  const bool transposed = nf <= kQsMaxFeatures;
  alignas(32) float xt[kQsMaxFeatures * R];
  if (transposed) {
    for (size_t r = 0; r < R; ++r) {
      for (size_t f = 0; f < nf; ++f) xt[f * R + r] = rows[r][f];
    }
  }
  // Node i: the lanes going left (all ones), and its mask ANDed into the other lanes' masks.
  const auto left_at = [&](__m256 xf, size_t i) {
    return _mm256_castps_si256(_mm256_cmp_ps(xf, _mm256_broadcast_ss(thr + i), kPred));
  };
  const auto apply = [&](size_t i, const __m256i* left) {
    __m256i* vt = reinterpret_cast<__m256i*>(vb + at[i]);
    if constexpr (kWords == 1) {
      const __m256i mk = _mm256_set1_epi32(static_cast<int32_t>(mask[i]));
      for (size_t k = 0; k < V; ++k) {
        _mm256_store_si256(vt + k, _mm256_and_si256(_mm256_load_si256(vt + k), _mm256_or_si256(left[k], mk)));
      }
    } else {
      const __m256i mk = _mm256_set1_epi64x(static_cast<int64_t>(mask[i]));
      for (size_t k = 0; k < V; ++k) {
        const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(left[k]));
        const __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(left[k], 1));
        __m256i* w = vt + 2 * k;
        _mm256_store_si256(w, _mm256_and_si256(_mm256_load_si256(w), _mm256_or_si256(lo, mk)));
        _mm256_store_si256(w + 1, _mm256_and_si256(_mm256_load_si256(w + 1), _mm256_or_si256(hi, mk)));
      }
    }
  };
  const auto all_left = [](const __m256i* left) {
    __m256i all = left[0];
    for (size_t k = 1; k < V; ++k) all = _mm256_and_si256(all, left[k]);
    return _mm256_movemask_ps(_mm256_castsi256_ps(all)) == 0xFF;
  };
  for (size_t f = 0; f < nf; ++f) {
    __m256 xf[V];
    for (size_t k = 0; k < V; ++k) {
      if (transposed) {
        xf[k] = _mm256_load_ps(xt + f * R + 8 * k);
      } else {
        const float* const* rk = rows + 8 * k;
        xf[k] = _mm256_setr_ps(rk[0][f], rk[1][f], rk[2][f], rk[3][f], rk[4][f], rk[5][f], rk[6][f], rk[7][f]);
      }
    }
    const size_t end = begin[f + 1];
    size_t i = begin[f];
    __m256i left[V];
    if constexpr (kMissing) {
      __m256i nan[V];
      __m256i any = _mm256_setzero_si256();
      for (size_t k = 0; k < V; ++k) {
        nan[k] = _mm256_castps_si256(_mm256_cmp_ps(xf[k], xf[k], _CMP_UNORD_Q));
        any = _mm256_or_si256(any, nan[k]);
      }
      if (!_mm256_testz_si256(any, any)) {
        // A NaN lane goes left where the node says so: not a prefix, so every node.
        for (; i < end; ++i) {
          const __m256i nl = _mm256_set1_epi32(-static_cast<int32_t>(nan_left[i]));
          for (size_t k = 0; k < V; ++k) left[k] = _mm256_or_si256(left_at(xf[k], i), _mm256_and_si256(nan[k], nl));
          apply(i, left);
        }
        continue;
      }
    }
    // Applying a node where every lane goes left changes nothing, so the exit is tested once per
    // kQsUnroll nodes (at the group's last, the highest threshold).
    for (; i + kQsUnroll <= end; i += kQsUnroll) {
      for (size_t u = 0; u < kQsUnroll; ++u) {
        for (size_t k = 0; k < V; ++k) left[k] = left_at(xf[k], i + u);
        apply(i + u, left);
      }
      if (all_left(left)) break;
    }
    if (i + kQsUnroll > end) {
      for (; i < end; ++i) {
        for (size_t k = 0; k < V; ++k) left[k] = left_at(xf[k], i);
        if (all_left(left)) break;
        apply(i, left);
      }
    }
  }
  if constexpr (kWords == 1) {
    if (q.leaf_step != 0) {
      // The lowest set bit's index, 8 rows at once: v & -v is a power of two, exact as a float
      // (bit 31 as -2^31), whose exponent field is 127 + the index.
      const size_t t0 = c * kQsChunkTrees;
      const __m256i step = _mm256_set1_epi32(static_cast<int32_t>(q.leaf_step));
      const __m256i bias = _mm256_set1_epi32(127);
      const __m256i exp_bits = _mm256_set1_epi32(0xFF);
      for (size_t t = 0; t < n; ++t) {
        const __m256i first = _mm256_set1_epi32(static_cast<int32_t>(q.leaf_first[t0 + t]));
        for (size_t k = 0; k < V; ++k) {
          const __m256i vt = _mm256_load_si256(reinterpret_cast<const __m256i*>(v + t * R) + k);
          const __m256i low = _mm256_and_si256(vt, _mm256_sub_epi32(_mm256_setzero_si256(), vt));
          const __m256i bits = _mm256_castps_si256(_mm256_cvtepi32_ps(low));
          const __m256i j = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 23), exp_bits), bias);
          const __m256i off = _mm256_add_epi32(first, _mm256_mullo_epi32(j, step));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(leaf + t * R) + k, off);
        }
      }
      return;
    }
  }
  ExitLeaves<M>(e, c, v, R, m, leaf);
}

// The dense scan (float32 kinds, blocks without NaN routing): tree by tree, every inner node's
// test for the block's rows (a compare per 8 rows of the transposed block against the broadcast
// threshold) ANDs its mask into the tree's masks held in registers, then the exit leaves. A
// block of 16 rows or more reaches ~97% of a feature's list in the scan above anyway (RF100:
// ~1,990 of 2,048 nodes), and there each node's masks are a load and a store in memory, where
// here they never leave the registers.
template <class M, bool kLess>
void DenseLeavesAvx2(const TreeEnsemble& e, size_t c, const void* xv, size_t stride, size_t m, uint32_t* leaf) {
  constexpr size_t R = kQsBlockRows;
  constexpr size_t V = R / 8;
  constexpr size_t kWords = sizeof(M) / sizeof(uint32_t);
  // thr >= x is x <= thr, thr > x is x < thr; ordered: NaN goes right, as in the walk.
  constexpr int kPred = kLess ? _CMP_GT_OQ : _CMP_GE_OQ;
  const QsLayout& q = e.qs;
  const size_t nf = e.n_features;
  const size_t t0 = c * kQsChunkTrees;
  const size_t n = std::min(kQsChunkTrees, e.roots.size() - t0);
  const float* x = static_cast<const float*>(xv);
  alignas(32) float xt[kQsMaxFeatures * R];
  for (size_t r = 0; r < R; ++r) {
    const float* xr = x + (r < m ? r : 0) * stride;
    for (size_t f = 0; f < nf; ++f) xt[f * R + r] = xr[f];
  }
  const char* xb = reinterpret_cast<const char*>(xt);
  const float* thr = q.dense_thr.data();
  const uint32_t* off = q.dense_off.data();
  const M* mask;
  if constexpr (kWords == 1) {
    mask = q.dense_mask32.data();
  } else {
    mask = q.dense_mask64.data();
  }
  alignas(32) M v[V * 8];
  for (size_t t = 0; t < n; ++t) {
    __m256i acc[V * kWords];
    for (size_t k = 0; k < V * kWords; ++k) acc[k] = _mm256_set1_epi32(-1);
    const size_t end = q.dense_begin[t0 + t + 1];
    for (size_t i = q.dense_begin[t0 + t]; i < end; ++i) {
      const __m256 tb = _mm256_broadcast_ss(thr + i);
      const float* xf = reinterpret_cast<const float*>(xb + off[i]);
      if constexpr (kWords == 1) {
        const __m256i mk = _mm256_set1_epi32(static_cast<int32_t>(mask[i]));
        for (size_t k = 0; k < V; ++k) {
          const __m256i left = _mm256_castps_si256(_mm256_cmp_ps(tb, _mm256_load_ps(xf + 8 * k), kPred));
          acc[k] = _mm256_and_si256(acc[k], _mm256_or_si256(left, mk));
        }
      } else {
        const __m256i mk = _mm256_set1_epi64x(static_cast<int64_t>(mask[i]));
        for (size_t k = 0; k < V; ++k) {
          const __m256i left = _mm256_castps_si256(_mm256_cmp_ps(tb, _mm256_load_ps(xf + 8 * k), kPred));
          const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(left));
          const __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(left, 1));
          acc[2 * k] = _mm256_and_si256(acc[2 * k], _mm256_or_si256(lo, mk));
          acc[2 * k + 1] = _mm256_and_si256(acc[2 * k + 1], _mm256_or_si256(hi, mk));
        }
      }
    }
    if constexpr (kWords == 1) {
      if (q.leaf_step != 0) {
        // The lowest set bit's index (as in LeavesAvx2).
        const __m256i first = _mm256_set1_epi32(static_cast<int32_t>(q.leaf_first[t0 + t]));
        const __m256i step = _mm256_set1_epi32(static_cast<int32_t>(q.leaf_step));
        for (size_t k = 0; k < V; ++k) {
          const __m256i low = _mm256_and_si256(acc[k], _mm256_sub_epi32(_mm256_setzero_si256(), acc[k]));
          const __m256i bits = _mm256_castps_si256(_mm256_cvtepi32_ps(low));
          const __m256i j = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xFF)),
                                             _mm256_set1_epi32(127));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(leaf + t * R) + k,
                              _mm256_add_epi32(first, _mm256_mullo_epi32(j, step)));
        }
        continue;
      }
    }
    for (size_t k = 0; k < V * kWords; ++k) _mm256_store_si256(reinterpret_cast<__m256i*>(v) + k, acc[k]);
    const uint32_t* tl = q.leaves.data() + q.leaf_begin[t0 + t];
    for (size_t r = 0; r < m; ++r) leaf[t * R + r] = tl[LowestBit(v[r])];
  }
}

KILN_AVX2_END
#endif  // KILN_HAVE_AVX2_REGION

template <class T, class M, bool kLess, bool kMissing>
QsLeavesFn PickLeaves(bool avx2, bool dense) {
#if KILN_HAVE_AVX2_REGION
  if constexpr (std::is_same_v<T, float>) {
    if constexpr (!kMissing) {
      if (avx2 && dense) return &DenseLeavesAvx2<M, kLess>;
    }
    if (avx2) return &LeavesAvx2<M, kLess, kMissing>;
  }
#endif
  (void)dense;
  (void)avx2;
  return &LeavesScalar<T, M, kLess, kMissing>;
}
template <class T, class M>
void PickLeaves(TreeEnsemble& e, bool avx2) {
  for (int nan = 0; nan < 2; ++nan) {
    const bool missing = nan == 1 && e.has_missing;
    QsLeavesFn& fn = e.qs.leaves_of[nan];
    const bool dense = !e.qs.dense_begin.empty();
    if (e.less) {
      fn = missing ? PickLeaves<T, M, true, true>(avx2, dense) : PickLeaves<T, M, true, false>(avx2, dense);
    } else {
      fn = missing ? PickLeaves<T, M, false, true>(avx2, dense) : PickLeaves<T, M, false, false>(avx2, dense);
    }
  }
}

struct Entry {
  double thr;  // the walk's threshold (float32 kinds: its float, widened exactly)
  uint32_t tree;
  uint32_t chunk_feature;
  uint32_t at;
  bool nan_left;
  uint64_t mask;
};

// Leaves of tree t (nodes from roots[t] up to the next root), and its inner nodes as entries.
template <class T>
void LayOutTree(const TreeEnsemble& e, const NodeT<T>* nodes, size_t n_nodes, size_t t, QsLayout& q,
                std::vector<Entry>& entries) {
  const uint32_t first = e.roots[t];
  const uint32_t last = t + 1 < e.roots.size() ? e.roots[t + 1] : static_cast<uint32_t>(n_nodes);
  // leaves_before[i - first]: leaves in preorder before node i (a left subtree's leaves are
  // those between its first node and its parent's right child).
  std::vector<uint32_t> leaves_before(last - first + 1);
  uint32_t count = 0;
  q.leaf_begin.push_back(static_cast<uint32_t>(q.leaves.size()));
  for (uint32_t i = first; i < last; ++i) {
    leaves_before[i - first] = count;
    if (nodes[i].feature < 0) {
      q.leaves.push_back(nodes[i].aux);
      ++count;
    }
  }
  leaves_before[last - first] = count;
  const uint32_t chunk = static_cast<uint32_t>(t / kQsChunkTrees);
  for (uint32_t i = first; i < last; ++i) {
    const NodeT<T>& n = nodes[i];
    if (n.feature < 0) continue;
    const uint32_t lo = leaves_before[i + 1 - first], hi = leaves_before[n.right - first];
    const uint64_t below_hi = hi >= 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
    const uint64_t below_lo = (uint64_t{1} << lo) - 1;  // lo < hi <= 64
    entries.push_back({static_cast<double>(n.thr), static_cast<uint32_t>(t),
                       chunk * e.n_features + static_cast<uint32_t>(n.feature),
                       static_cast<uint32_t>(t % kQsChunkTrees * kQsBlockRows * (q.mask_bits / 8)),
                       (n.aux & kNodeMissingLeft) != 0, ~(below_hi & ~below_lo)});
  }
}

template <class T>
void Build(TreeEnsemble& e, uint32_t mask_bits, bool avx2) {
  QsLayout& q = e.qs;
  q.mask_bits = mask_bits;
  const NodeT<T>* nodes;
  size_t n_nodes;
  if constexpr (std::is_same_v<T, float>) {
    nodes = e.nodes.data();
    n_nodes = e.nodes.size();
  } else {
    nodes = e.nodes_d.data();
    n_nodes = e.nodes_d.size();
  }
  std::vector<Entry> entries;
  for (size_t t = 0; t < e.roots.size(); ++t) LayOutTree<T>(e, nodes, n_nodes, t, q, entries);
  const uint32_t step = e.boost ? 1u : e.n_targets;
  q.leaf_step = step;
  for (size_t t = 0; t < e.roots.size(); ++t) {
    const uint32_t* tl = q.leaves.data() + q.leaf_begin[t];
    const size_t n = (t + 1 < e.roots.size() ? q.leaf_begin[t + 1] : q.leaves.size()) - q.leaf_begin[t];
    q.leaf_first.push_back(tl[0]);
    for (size_t j = 0; j < n; ++j) {
      if (tl[j] != tl[0] + j * step) q.leaf_step = 0;
    }
  }
  if constexpr (std::is_same_v<T, float>) {
    if (avx2 && e.n_features <= kQsMaxFeatures) {
      // The dense scan's nodes: entries are still in tree order.
      q.dense_begin.assign(e.roots.size() + 1, 0u);
      for (const Entry& en : entries) {
        const uint32_t f = en.chunk_feature % e.n_features;
        ++q.dense_begin[en.tree + 1];
        q.dense_thr.push_back(static_cast<float>(en.thr));
        q.dense_off.push_back(static_cast<uint32_t>(f * kQsBlockRows * sizeof(float)));
        if (mask_bits == 32) {
          q.dense_mask32.push_back(static_cast<uint32_t>(en.mask));
        } else {
          q.dense_mask64.push_back(en.mask);
        }
      }
      for (size_t t = 0; t < e.roots.size(); ++t) q.dense_begin[t + 1] += q.dense_begin[t];
    }
  }
  // Ties in a feature's threshold may go in any order: a value goes the same way at both.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.chunk_feature != b.chunk_feature ? a.chunk_feature < b.chunk_feature : a.thr < b.thr;
  });
  const size_t n_chunks = (e.roots.size() + kQsChunkTrees - 1) / kQsChunkTrees;
  const size_t n_lists = n_chunks * e.n_features;
  q.begin.assign(n_lists + 1, 0u);
  for (const Entry& en : entries) ++q.begin[en.chunk_feature + 1];
  for (size_t k = 0; k < n_lists; ++k) q.begin[k + 1] += q.begin[k];
  for (const Entry& en : entries) {
    if constexpr (std::is_same_v<T, float>) {
      q.thr.push_back(static_cast<float>(en.thr));
    } else {
      q.thr_d.push_back(en.thr);
    }
    q.at.push_back(en.at);
    q.nan_left.push_back(en.nan_left ? 1 : 0);
    if (mask_bits == 32) {
      q.mask32.push_back(static_cast<uint32_t>(en.mask));
    } else {
      q.mask64.push_back(en.mask);
    }
  }
}

// The most leaves of any tree.
template <class T>
uint32_t MaxLeaves(const TreeEnsemble& e, const NodeT<T>* nodes, size_t n_nodes) {
  uint32_t most = 0, count = 0;
  size_t t = 0;
  for (size_t i = 0; i < n_nodes; ++i) {
    if (t < e.roots.size() && i == e.roots[t]) {
      most = count > most ? count : most;
      count = 0;
      ++t;
    }
    count += nodes[i].feature < 0;
  }
  return count > most ? count : most;
}

// The algorithm this load asks for: SetTreeAlgo's, else KILN_TREE_ALGO=walk's, else nullopt
// (automatic).
std::optional<TreeAlgo> LoadTreeAlgo() {
  const int forced = g_tree_algo_override.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<TreeAlgo>(forced);
  const char* env = std::getenv("KILN_TREE_ALGO");
  if (env != nullptr && std::strcmp(env, "walk") == 0) return TreeAlgo::kWalk;
  return std::nullopt;
}

}  // namespace

void BuildQs(TreeEnsemble& e, TreeIsa isa) {
  e.algo = TreeAlgo::kWalk;
  e.qs = QsLayout{};
  const std::optional<TreeAlgo> asked = LoadTreeAlgo();
  if (asked == TreeAlgo::kWalk) return;
  // Automatically only V-QuickScorer (AVX2, float32 kinds): the scalar QuickScorer measured
  // slower than the walk on RF100 (~1,680 against ~1,545 ns per batch row); it runs when asked
  // for (tests), and float64 kinds have not been timed.
  if (!asked && (isa != TreeIsa::kAvx2 || e.float64)) return;
  // Not handled: categorical splits and the zero band. Shallow complete float32 trees have the
  // AVX2 all-nodes walk (e.isa kAvx2), which tests their few nodes faster.
  if (e.has_categorical || e.has_zero || e.isa == TreeIsa::kAvx2) return;
  const uint32_t leaves = e.float64 ? MaxLeaves<double>(e, e.nodes_d.data(), e.nodes_d.size())
                                    : MaxLeaves<float>(e, e.nodes.data(), e.nodes.size());
  if (leaves > kQsMaxLeaves) return;
  const bool avx2 = isa == TreeIsa::kAvx2;
  const uint32_t bits = leaves <= 32 ? 32 : 64;
  if (e.float64) {
    Build<double>(e, bits, avx2);
    bits == 32 ? PickLeaves<double, uint32_t>(e, avx2) : PickLeaves<double, uint64_t>(e, avx2);
  } else {
    Build<float>(e, bits, avx2);
    bits == 32 ? PickLeaves<float, uint32_t>(e, avx2) : PickLeaves<float, uint64_t>(e, avx2);
  }
  e.algo = TreeAlgo::kQuickScorer;
}

}  // namespace kiln::internal
