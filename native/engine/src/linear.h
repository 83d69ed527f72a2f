// Linear estimator: raw[q] = sum_j coef[q][j] * x[j] + intercept[q].
//
// Summation order (one definition for every path, so a row's answer never depends on its batch or
// on the CPU): kDotLanes interleaved partial sums, lane l adding the terms j with j % kDotLanes == l
// in j order, then (lane0 + lane1) + (lane2 + lane3), then the intercept. It differs from a strict
// j-order sum by rounding only (~1e-16 relative), as sklearn's BLAS dot does in its own order; the
// lanes let the compiler keep them in one vector register instead of a chain of dependent adds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "head.h"

namespace kiln::internal {

class JVal;

// Partial sums per dot product: one AVX2 register of doubles (two SSE2 registers).
inline constexpr size_t kDotLanes = 4;

struct LinearModel {
  uint32_t n_features = 0;
  uint32_t k = 0;
  std::vector<double> coef;  // k x n_features, row-major
  std::vector<double> intercept;
  Link link = Link::kIdentity;

  // Rows x[0 .. n_rows-1] (n_features values each) -> raw[i * k + q]. Any n_rows; blocks of 4 rows
  // are scored together (independent add chains), the rest one at a time, with the same results.
  void RawRows(const double* const* x, size_t n_rows, double* raw) const;
  void Raw(const double* x, double* raw) const { RawRows(&x, 1, raw); }
};

// How far folding the standard scaler into the coefficients may move a raw score (absolute, at
// most): 100x below the 1e-9 tolerance of the parity suite and of the exporter's verification
// block, so folding can never be what fails them. Rows whose error bound is larger are scored the
// exact way (scale, then dot).
inline constexpr double kFoldMaxRawError = 1e-11;

// The scaler folded in: raw[q] = sum_j w[q][j] * x[j] + b[q] with w = coef / scale and
// b = intercept - sum_j w * mean. No division per value, but the rounding differs from scaling
// first, by at most gamma * (sum_j |w x| + fixed[q]) (both evaluations' worst-case error, see
// FoldScaler); a row is folded only if that is <= kFoldMaxRawError, i.e. sum_j |w x| <= room[q].
struct FoldedScaler {
  std::vector<double> w;      // k x n_features
  std::vector<double> w_abs;  // |w|
  std::vector<double> b;      // k
  std::vector<double> room;   // k: kFoldMaxRawError / gamma - fixed[q]
  bool empty() const { return w.empty(); }
};

// Fills `out` for a scaler (mean, scale) in front of lm; leaves it empty when no row could be
// folded within kFoldMaxRawError, or a folded coefficient is not finite.
void FoldScaler(const LinearModel& lm, const double* mean, const double* scale, FoldedScaler& out);

// Folded raw scores of m <= 4 contiguous rows (n_features values each, float64 or float32) -> raw[i * k + q];
// ok[i] = false when row i holds a non-finite value or its bound is over kFoldMaxRawError (its
// raw is then unspecified: the caller scores it the exact way).
void FoldedRows(const LinearModel& lm, const FoldedScaler& f, const double* rows, size_t m, double* raw, bool* ok);
void FoldedRows(const LinearModel& lm, const FoldedScaler& f, const float* rows, size_t m, double* raw, bool* ok);

// A standard scaler over m contiguous input rows of n values, straight from the caller's matrix:
// z[i * n + j] = (double(rows[i * n + j]) - mean[j]) / scale[j], the same two roundings as the
// program's kSub and kDiv ops, so z is bit-identical to what they produce. Returns false if any
// value is not finite (z is then unspecified: the caller takes the checked path, which reports it).
bool ScaleRows(const double* rows, size_t m, size_t n, const double* mean, const double* scale, double* z);
bool ScaleRows(const float* rows, size_t m, size_t n, const double* mean, const double* scale, double* z);

// Parses the `estimator` object of kind "linear" (LIMIT / SCHEMA / INVALID as the spec says).
void ParseLinear(const JVal& v, LinearModel& out);

}  // namespace kiln::internal
