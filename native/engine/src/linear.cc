#include "linear.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include "json_reader.h"
#include "spec_limits.h"

// The kernels are built twice on x86-64 ELF targets, for the x86-64-v2 baseline and for AVX2,
// and the loader picks one per CPU at run time (GCC/Clang function multiversioning): prebuilt
// binaries must run on CPUs without AVX2, so -march cannot ask for it. Both versions compute the
// same IEEE operations in the same order (no FMA: -ffp-contract=off), so they give equal results.
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__SANITIZE_ADDRESS__)
#define KILN_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define KILN_MULTIVERSION
#endif
#if defined(__GNUC__) || defined(__clang__)
#define KILN_INLINE inline __attribute__((always_inline))
#else
#define KILN_INLINE inline
#endif

// The lane helpers pass 32-byte vectors by value; they are always inlined, so the ABI note GCC
// gives for the non-AVX build of such a signature never applies.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace kiln::internal {
namespace {

constexpr size_t L = kDotLanes;
static_assert(L == 4, "Lanes and the final pairwise add are written for 4 lanes");

// kDotLanes doubles, lane by lane: a vector register with GCC/Clang (one ymm with AVX2, two xmm
// otherwise), plain arrays elsewhere. Every operation is lane-wise, so both give the same bits.
#if defined(__GNUC__) || defined(__clang__)
typedef double Lanes __attribute__((vector_size(L * sizeof(double))));
typedef float FloatLanes __attribute__((vector_size(L * sizeof(float))));
KILN_INLINE Lanes Load(const double* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
KILN_INLINE Lanes Load(const float* p) {
  FloatLanes v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, Lanes);
}
KILN_INLINE void Store(double* p, Lanes v) { std::memcpy(p, &v, sizeof v); }
typedef uint64_t LaneBits __attribute__((vector_size(L * sizeof(uint64_t))));
KILN_INLINE Lanes Abs(Lanes v) {  // clears the sign bits (a NaN stays NaN)
  LaneBits b;
  std::memcpy(&b, &v, sizeof b);
  b &= 0x7fffffffffffffffULL;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
#else
struct Lanes {
  double v[L] = {};
  double operator[](size_t l) const { return v[l]; }
  friend Lanes operator+(Lanes a, Lanes b) { for (size_t l = 0; l < L; ++l) a.v[l] += b.v[l]; return a; }
  friend Lanes operator-(Lanes a, Lanes b) { for (size_t l = 0; l < L; ++l) a.v[l] -= b.v[l]; return a; }
  friend Lanes operator*(Lanes a, Lanes b) { for (size_t l = 0; l < L; ++l) a.v[l] *= b.v[l]; return a; }
  friend Lanes operator/(Lanes a, Lanes b) { for (size_t l = 0; l < L; ++l) a.v[l] /= b.v[l]; return a; }
  Lanes& operator+=(Lanes b) { return *this = *this + b; }
};
template <class T>
KILN_INLINE Lanes Load(const T* p) {
  Lanes r;
  for (size_t l = 0; l < L; ++l) r.v[l] = static_cast<double>(p[l]);
  return r;
}
KILN_INLINE void Store(double* p, Lanes v) { std::memcpy(p, v.v, sizeof v.v); }
KILN_INLINE Lanes Abs(Lanes v) {
  for (size_t l = 0; l < L; ++l) v.v[l] = std::fabs(v.v[l]);
  return v;
}
#endif

// R rows' dot products with one coefficient row c, in the lane order linear.h defines.
template <size_t R>
KILN_INLINE void DotRows(const double* c, size_t n, const double* const* x, double* sums) {
  Lanes acc[R];
  for (size_t i = 0; i < R; ++i) acc[i] = Lanes{};
  size_t j = 0;
  for (; j + L <= n; j += L) {
    const Lanes cv = Load(c + j);
    for (size_t i = 0; i < R; ++i) acc[i] += cv * Load(x[i] + j);
  }
  for (size_t i = 0; i < R; ++i) {
    double a[L];
    for (size_t l = 0; l < L; ++l) a[l] = acc[i][l];
    for (size_t l = 0; j + l < n; ++l) a[l] += c[j + l] * x[i][j + l];
    sums[i] = (a[0] + a[1]) + (a[2] + a[3]);
  }
}

template <size_t R>
KILN_INLINE void RawBlock(const LinearModel& lm, const double* const* x, double* raw) {
  const size_t n = lm.n_features;
  const size_t k = lm.k;
  const double* c = lm.coef.data();
  double sums[R];
  for (size_t q = 0; q < k; ++q, c += n) {
    DotRows<R>(c, n, x, sums);
    for (size_t i = 0; i < R; ++i) raw[i * k + q] = sums[i] + lm.intercept[q];
  }
}

KILN_MULTIVERSION void RawRowsImpl(const LinearModel& lm, const double* const* x, size_t n_rows, double* raw) {
  constexpr size_t B = 4;  // rows per block: 4 independent chains cover the add latency
  size_t i = 0;
  for (; i + B <= n_rows; i += B) RawBlock<B>(lm, x + i, raw + i * lm.k);
  for (; i < n_rows; ++i) RawBlock<1>(lm, x + i, raw + i * lm.k);
}

// R rows' folded dot products with w and their bound sums with |w| (same lane order).
template <size_t R, class T>
KILN_INLINE void FoldedBlock(const LinearModel& lm, const FoldedScaler& f, const T* rows, double* raw, bool* ok) {
  const size_t n = lm.n_features;
  const size_t k = lm.k;
  for (size_t i = 0; i < R; ++i) ok[i] = true;
  for (size_t q = 0; q < k; ++q) {
    const double* w = f.w.data() + q * n;
    const double* wa = f.w_abs.data() + q * n;
    Lanes acc[R], bound[R];
    for (size_t i = 0; i < R; ++i) acc[i] = bound[i] = Lanes{};
    size_t j = 0;
    for (; j + L <= n; j += L) {
      const Lanes wv = Load(w + j);
      const Lanes wav = Load(wa + j);
      for (size_t i = 0; i < R; ++i) {
        const Lanes x = Load(rows + i * n + j);
        acc[i] += wv * x;
        bound[i] += wav * Abs(x);
      }
    }
    for (size_t i = 0; i < R; ++i) {
      double a[L], e[L];
      for (size_t l = 0; l < L; ++l) a[l] = acc[i][l], e[l] = bound[i][l];
      for (size_t l = 0; j + l < n; ++l) {
        const double x = static_cast<double>(rows[i * n + j + l]);
        a[l] += w[j + l] * x;
        e[l] += wa[j + l] * std::fabs(x);
      }
      raw[i * k + q] = ((a[0] + a[1]) + (a[2] + a[3])) + f.b[q];
      // NaN or inf in the row makes the bound NaN or inf: not ok, like a bound that is too large.
      ok[i] = ok[i] && ((e[0] + e[1]) + (e[2] + e[3])) <= f.room[q];
    }
  }
}

template <class T>
KILN_INLINE void FoldedRowsT(const LinearModel& lm, const FoldedScaler& f, const T* rows, size_t m, double* raw,
                             bool* ok) {
  const size_t n = lm.n_features;
  if (m == 4) {
    FoldedBlock<4>(lm, f, rows, raw, ok);
    return;
  }
  for (size_t i = 0; i < m; ++i) FoldedBlock<1>(lm, f, rows + i * n, raw + i * lm.k, ok + i);
}

KILN_MULTIVERSION void FoldedRowsImpl(const LinearModel& lm, const FoldedScaler& f, const double* rows, size_t m,
                                      double* raw, bool* ok) {
  FoldedRowsT(lm, f, rows, m, raw, ok);
}

KILN_MULTIVERSION void FoldedRowsImpl(const LinearModel& lm, const FoldedScaler& f, const float* rows, size_t m,
                                      double* raw, bool* ok) {
  FoldedRowsT(lm, f, rows, m, raw, ok);
}

template <class T>
KILN_INLINE bool ScaleRowsT(const T* rows, size_t m, size_t n, const double* mean, const double* scale, double* z) {
  // z * 0 is 0 for a finite z and NaN for NaN or +-inf, and a NaN stays in its lane's sum: one
  // check per block instead of a branch per value. (A finite x with z overflowing to inf is sent
  // to the checked path too, which gives the same answer the slow way.)
  Lanes check{};
  double check_tail = 0.0;
  for (size_t i = 0; i < m; ++i, rows += n, z += n) {
    size_t j = 0;
    for (; j + L <= n; j += L) {
      const Lanes v = (Load(rows + j) - Load(mean + j)) / Load(scale + j);
      check += v * Lanes{};
      Store(z + j, v);
    }
    for (; j < n; ++j) {
      z[j] = (static_cast<double>(rows[j]) - mean[j]) / scale[j];
      check_tail += z[j] * 0.0;
    }
  }
  return ((check[0] + check[1]) + (check[2] + check[3])) + check_tail == 0.0;
}

}  // namespace

void FoldedRows(const LinearModel& lm, const FoldedScaler& f, const double* rows, size_t m, double* raw, bool* ok) {
  FoldedRowsImpl(lm, f, rows, m, raw, ok);
}

void FoldedRows(const LinearModel& lm, const FoldedScaler& f, const float* rows, size_t m, double* raw, bool* ok) {
  FoldedRowsImpl(lm, f, rows, m, raw, ok);
}

void FoldScaler(const LinearModel& lm, const double* mean, const double* scale, FoldedScaler& out) {
  out = FoldedScaler{};
  const size_t n = lm.n_features;
  const size_t k = lm.k;
  // Both evaluations' worst-case rounding (Higham's gamma_m = m u / (1 - m u)): the folded one
  // (w, the n-term b, the n-term dot) within gamma_{n+2} * (sum|w x| + sum|w mean| + |intercept|
  // + |b|), the exact one (two roundings per z, the n-term dot) within gamma_{n+3} of the same
  // sums; doubled again for the rounding of the bound itself and the pairwise lane adds.
  const double u = 0.5 * 2.220446049250313e-16;
  const double m = static_cast<double>(n + 3);
  const double gamma = 4.0 * (m * u / (1.0 - m * u));
  FoldedScaler f;
  f.w.resize(k * n);
  f.w_abs.resize(k * n);
  f.b.resize(k);
  f.room.resize(k);
  for (size_t q = 0; q < k; ++q) {
    double b = lm.intercept[q];
    double fixed = std::fabs(lm.intercept[q]);
    for (size_t j = 0; j < n; ++j) {
      const double w = lm.coef[q * n + j] / scale[j];
      if (!std::isfinite(w)) return;
      f.w[q * n + j] = w;
      f.w_abs[q * n + j] = std::fabs(w);
      b -= w * mean[j];
      fixed += std::fabs(w * mean[j]);
    }
    if (!std::isfinite(b)) return;
    f.b[q] = b;
    f.room[q] = kFoldMaxRawError / gamma - (fixed + std::fabs(b));
    if (!(f.room[q] > 0.0)) return;  // not even a row of zeros would fold
  }
  out = std::move(f);
}

void LinearModel::RawRows(const double* const* x, size_t n_rows, double* raw) const {
  RawRowsImpl(*this, x, n_rows, raw);
}

KILN_MULTIVERSION bool ScaleRows(const double* rows, size_t m, size_t n, const double* mean, const double* scale,
                                 double* z) {
  return ScaleRowsT(rows, m, n, mean, scale, z);
}

KILN_MULTIVERSION bool ScaleRows(const float* rows, size_t m, size_t n, const double* mean, const double* scale,
                                 double* z) {
  return ScaleRowsT(rows, m, n, mean, scale, z);
}

Link ParseLink(const JVal& v) {
  const std::string& s = v.Str();
  if (s == "identity") return Link::kIdentity;
  if (s == "none") return Link::kNone;
  if (s == "logistic") return Link::kLogistic;
  if (s == "softmax") return Link::kSoftmax;
  v.Fail(ErrorCode::kModelUnsupported, "unknown link '" + s + "'");
}

void ParseLinear(const JVal& v, LinearModel& out) {
  JObj o(v, {"kind", "n_features", "coef", "intercept", "link"});
  out.n_features = static_cast<uint32_t>(o.Get("n_features").Int(0, static_cast<int64_t>(kMaxFrameWidth)));
  out.link = ParseLink(o.Get("link"));
  JVal coef = o.Get("coef");
  const size_t k = coef.ArraySize(kMaxClasses, "coef rows");
  if (k == 0) coef.Fail(ErrorCode::kModelInvalid, "needs at least one row");
  out.k = static_cast<uint32_t>(k);
  out.coef.clear();
  out.coef.reserve(k * out.n_features);
  for (size_t r = 0; r < k; ++r) coef.At(r).Finites(out.coef, out.n_features);
  out.intercept.clear();
  o.Get("intercept").Finites(out.intercept, k);
}

}  // namespace kiln::internal
