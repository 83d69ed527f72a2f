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

// Linear models score rows a block at a time: the block's dot products are independent chains of
// adds that overlap (4 cover the add latency at one add per cycle), their lane sums reduce
// together in one transpose-and-add, and the link runs once per block with one lane per row.
inline constexpr size_t kLinearBlockRows = kDotLanes;

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
// The bound sums |fl(w x)|, which equals fl(|w| |x|) (rounding is symmetric in sign), so it
// reuses the dot product's products.
//
// A cheaper sufficient check comes first for full blocks of 4 rows: the box. Feature j's limit
// B_j (from the scaler's mean and scale, see FoldScaler) is written as the top 16 bits of a
// double (sign, exponent, 4 mantissa bits), top_j; a row is inside the box when every value's top
// 16 bits are <= top_j, i.e. 0 <= x_j < B_j, and then sum_j |w x| < sum_j |w| B_j <= room[q]:
// its bound passes. Only non-negative values can be inside (the words compare unsigned, so no
// absolute value is taken: a sign bit is a large word); NaN and inf never are. A block with a row outside is checked the exact way,
// so which rows fold, and their bits, are what the bound alone gives.
struct FoldedScaler {
  size_t stride = 0;          // n_features rounded up to kDotLanes
  std::vector<double> w;      // k x stride, zero after n_features (the kernel's last partial load)
  std::vector<double> b;      // k x kDotLanes: b[q] in each lane (a vector load, no broadcast)
  std::vector<double> room;   // k x kDotLanes: kFoldMaxRawError / gamma - fixed[q], likewise
  std::vector<uint64_t> box;  // stride: top_j << 48 | 0xffffffffffff (all ones past n_features); empty: no box
  bool empty() const { return w.empty(); }
};

// The largest top_j of the box: the top 16 bits of the largest finite double (any finite x >= 0).
inline constexpr uint64_t kBoxMaxTop = 0x7fef;

// Fills `out` for a scaler (mean, scale) in front of lm; leaves it empty when no row could be
// folded within kFoldMaxRawError, or a folded coefficient is not finite.
void FoldScaler(const LinearModel& lm, const double* mean, const double* scale, FoldedScaler& out);

// Scores rows r .. n_rows-1 of the caller's matrix (n_features values each, float64 or float32)
// with the scaler folded in and writes their output rows (width values each, through
// WriteLinearRows), kLinearBlockRows at a time. Stops at the first block holding a row that is not
// foldable (a non-finite value, or a bound over kFoldMaxRawError) and returns its first row, with
// the block's class-major raw scores in raw[q * kLinearBlockRows + i] and ok[i] per row (a row
// not ok has an unspecified raw: the caller scores it the exact way, then writes the block).
// Returns n_rows once every row is written.
size_t FoldedPredict(const LinearModel& lm, const FoldedScaler& f, const RawHead& head, const double* rows, size_t r,
                     size_t n_rows, double* out, size_t width, double* raw, bool* ok);
size_t FoldedPredict(const LinearModel& lm, const FoldedScaler& f, const RawHead& head, const float* rows, size_t r,
                     size_t n_rows, double* out, size_t width, double* raw, bool* ok);

// Output rows of m <= kLinearBlockRows rows from class-major raw scores raw[q * kLinearBlockRows + i]:
// what RawHead::Write gives, with the links evaluated one lane per row by ExpNonPositive.
void WriteLinearRows(const RawHead& head, const double* raw, size_t m, double* out, size_t width);

// exp(x) for x <= 0 (or NaN), as the linear links compute it, one lane per row: Cody-Waite
// reduction x = k ln2 + r, |r| <= ln2/2, the degree-13 Taylor polynomial of exp(r) (truncation
// under 0.08 ulp), scaled by 2^k with one rounding (subnormal results included). Within 2 ulp of
// exp (measured max in linear_test). Only IEEE adds and multiplies, no FMA: every build and CPU
// gives the same bits, so a row's probabilities never depend on the machine or its batch.
double ExpNonPositive(double x);

// A standard scaler over m contiguous input rows of n values, straight from the caller's matrix:
// z[i * n + j] = (double(rows[i * n + j]) - mean[j]) / scale[j], the same two roundings as the
// program's kSub and kDiv ops, so z is bit-identical to what they produce. Returns false if any
// value is not finite (z is then unspecified: the caller takes the checked path, which reports it).
bool ScaleRows(const double* rows, size_t m, size_t n, const double* mean, const double* scale, double* z);
bool ScaleRows(const float* rows, size_t m, size_t n, const double* mean, const double* scale, double* z);
// The same into float: z[i * n + j] = float((double(rows[i * n + j]) - mean[j]) / scale[j]), the
// program's two roundings then the cast the float32 trees compare in (bit-identical to casting the
// program's output). Returns false if any scaled value is not finite, as above.
bool ScaleRows(const double* rows, size_t m, size_t n, const double* mean, const double* scale, float* z);
bool ScaleRows(const float* rows, size_t m, size_t n, const double* mean, const double* scale, float* z);
// No transform: z[i * n + j] = rows[i * n + j] in the type the trees compare in. Returns false if
// any value is not finite, as above (the caller's checked path reports it or routes the NaN).
bool CastRows(const double* rows, size_t m, size_t n, float* z);
bool CastRows(const float* rows, size_t m, size_t n, float* z);
bool CastRows(const double* rows, size_t m, size_t n, double* z);
bool CastRows(const float* rows, size_t m, size_t n, double* z);

// Parses the `estimator` object of kind "linear" (LIMIT / SCHEMA / INVALID as the spec says).
void ParseLinear(const JVal& v, LinearModel& out);

}  // namespace kiln::internal
