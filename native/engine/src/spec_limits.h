// Limits from the format spec (docs/model-format.md, "Limits"), exceeded -> KILN_MODEL_LIMIT.
#pragma once

#include <cstddef>

namespace kiln::internal {

inline constexpr size_t kMaxFileBytes = size_t{512} << 20;
inline constexpr size_t kMaxInputs = 100000;
inline constexpr size_t kMaxFrameWidth = 1000000;
inline constexpr size_t kMaxTrees = 100000;
inline constexpr size_t kMaxTreeNodes = 10000000;
inline constexpr size_t kMaxClasses = 100000;
inline constexpr int kMaxDepth = 32;
// Categorical tree splits: a category is an integer in [0, kMaxCategory); all of an ensemble's
// split bitsets together hold at most kMaxCategoryWords 32-bit words (256 MiB).
inline constexpr size_t kMaxCategory = size_t{1} << 24;
inline constexpr size_t kMaxCategoryWords = size_t{1} << 26;
// k-nearest neighbours (the estimator stores its training rows): rows, rows x features values
// (64 Mi doubles = 512 MiB, the size of the largest file), and n_neighbors (each prediction keeps
// 3 x n_neighbors doubles of scratch).
inline constexpr size_t kMaxNeighborSamples = size_t{1} << 26;
inline constexpr size_t kMaxNeighborValues = size_t{1} << 26;
inline constexpr size_t kMaxNeighbors = 100000;
// Feature expressions (docs/expressions.md): source length and nesting depth (parentheses, calls,
// membership lists and unary operators). Generous for hand-written features; the depth bound
// also bounds the parser's recursion.
inline constexpr size_t kMaxExprChars = 16384;
inline constexpr size_t kMaxExprDepth = 64;

// Engine guard (not in the spec): JSON nesting of the whole document, arrays and objects counted.
// The deepest legal model (kMaxDepth nested steps) needs ~100 levels; without a bound a file of
// a few hundred KB of "[[[[..." overflows the stack when metadata is re-serialised (found by
// fuzzing, native/tests/fuzz_regressions).
inline constexpr size_t kMaxJsonDepth = 256;

// Engine guard (not in the spec): scratch slots per row, 64 Mi doubles = 512 MiB per workspace.
inline constexpr size_t kMaxSlots = size_t{1} << 26;

}  // namespace kiln::internal
