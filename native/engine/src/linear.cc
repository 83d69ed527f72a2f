#include "linear.h"

#include <algorithm>
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
static_assert(L == 4, "Lanes, SumLanes and the final pairwise add are written for 4 lanes");
static_assert(kLinearBlockRows == L, "a block's rows are the lanes of the link's vectors");

// kDotLanes doubles, lane by lane: a vector register with GCC/Clang (one ymm with AVX2, two xmm
// otherwise), plain arrays elsewhere. Every operation is lane-wise or a fixed shuffle, so both
// give the same bits.
#if defined(__GNUC__) || defined(__clang__)
typedef double Lanes __attribute__((vector_size(L * sizeof(double))));
typedef float FloatLanes __attribute__((vector_size(L * sizeof(float))));
typedef uint64_t LaneBits __attribute__((vector_size(L * sizeof(uint64_t))));
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
KILN_INLINE void Store(float* p, Lanes v) {  // each lane rounded to float
  const FloatLanes f = __builtin_convertvector(v, FloatLanes);
  std::memcpy(p, &f, sizeof f);
}
KILN_INLINE Lanes Splat(double x) { return Lanes{x, x, x, x}; }
KILN_INLINE LaneBits SplatBits(uint64_t b) { return LaneBits{b, b, b, b}; }
KILN_INLINE LaneBits Bits(Lanes v) {
  LaneBits b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
KILN_INLINE Lanes FromBits(LaneBits b) {
  Lanes v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
// All ones in the lanes where a < b (a <= b), zero elsewhere, and where either is NaN.
KILN_INLINE LaneBits Less(Lanes a, Lanes b) { return reinterpret_cast<LaneBits>(a < b); }
KILN_INLINE LaneBits LessEq(Lanes a, Lanes b) { return reinterpret_cast<LaneBits>(a <= b); }
KILN_INLINE uint64_t Lane(LaneBits b, size_t l) { return b[l]; }
// Fixed shuffles of two vectors: [a0 b0 a2 b2], [a1 b1 a3 b3], [a0 a1 b0 b1], [a2 a3 b2 b3].
#if defined(__clang__)
KILN_INLINE Lanes Evens(Lanes a, Lanes b) { return __builtin_shufflevector(a, b, 0, 4, 2, 6); }
KILN_INLINE Lanes Odds(Lanes a, Lanes b) { return __builtin_shufflevector(a, b, 1, 5, 3, 7); }
KILN_INLINE Lanes Lows(Lanes a, Lanes b) { return __builtin_shufflevector(a, b, 0, 1, 4, 5); }
KILN_INLINE Lanes Highs(Lanes a, Lanes b) { return __builtin_shufflevector(a, b, 2, 3, 6, 7); }
#else
typedef int64_t LaneIndex __attribute__((vector_size(L * sizeof(int64_t))));
KILN_INLINE Lanes Evens(Lanes a, Lanes b) { return __builtin_shuffle(a, b, LaneIndex{0, 4, 2, 6}); }
KILN_INLINE Lanes Odds(Lanes a, Lanes b) { return __builtin_shuffle(a, b, LaneIndex{1, 5, 3, 7}); }
KILN_INLINE Lanes Lows(Lanes a, Lanes b) { return __builtin_shuffle(a, b, LaneIndex{0, 1, 4, 5}); }
KILN_INLINE Lanes Highs(Lanes a, Lanes b) { return __builtin_shuffle(a, b, LaneIndex{2, 3, 6, 7}); }
#endif
// Two doubles: half of a Lanes. On Zen 1 a 256-bit lane-crossing shuffle (vperm2f128) is 8 µops;
// taking a vector apart into halves (vextractf128) and storing or adding halves is 1 µop each.
typedef double Half __attribute__((vector_size(2 * sizeof(double))));
KILN_INLINE Half LowHalf(Lanes v) { return Half{v[0], v[1]}; }
KILN_INLINE Half HighHalf(Lanes v) { return Half{v[2], v[3]}; }
KILN_INLINE Lanes Join(Half lo, Half hi) { return Lanes{lo[0], lo[1], hi[0], hi[1]}; }
KILN_INLINE void StoreHalf(double* p, Half h) { std::memcpy(p, &h, sizeof h); }
// Keeps the compiler from merging a half's extraction with the shuffles around it back into one
// lane-crossing two-vector shuffle (GCC's generic tuning does).
KILN_INLINE Half Opaque(Half h) {
  asm("" : "+x"(h));
  return h;
}
#else
struct Lanes {
  double v[L] = {};
  double operator[](size_t l) const { return v[l]; }
  friend Lanes operator+(Lanes a, Lanes b) { for (size_t l = 0; l < L; ++l) a.v[l] += b.v[l]; return a; }
  friend Lanes operator-(Lanes a, Lanes b) { for (size_t l = 0; l < L; ++l) a.v[l] -= b.v[l]; return a; }
  friend Lanes operator*(Lanes a, Lanes b) { for (size_t l = 0; l < L; ++l) a.v[l] *= b.v[l]; return a; }
  friend Lanes operator/(Lanes a, Lanes b) { for (size_t l = 0; l < L; ++l) a.v[l] /= b.v[l]; return a; }
  friend Lanes operator-(Lanes a) { for (size_t l = 0; l < L; ++l) a.v[l] = -a.v[l]; return a; }
  Lanes& operator+=(Lanes b) { return *this = *this + b; }
};
struct LaneBits {
  uint64_t v[L] = {};
  friend LaneBits operator&(LaneBits a, LaneBits b) { for (size_t l = 0; l < L; ++l) a.v[l] &= b.v[l]; return a; }
  friend LaneBits operator|(LaneBits a, LaneBits b) { for (size_t l = 0; l < L; ++l) a.v[l] |= b.v[l]; return a; }
  friend LaneBits operator~(LaneBits a) { for (size_t l = 0; l < L; ++l) a.v[l] = ~a.v[l]; return a; }
  friend LaneBits operator+(LaneBits a, LaneBits b) { for (size_t l = 0; l < L; ++l) a.v[l] += b.v[l]; return a; }
  friend LaneBits operator-(LaneBits a, LaneBits b) { for (size_t l = 0; l < L; ++l) a.v[l] -= b.v[l]; return a; }
  friend LaneBits operator<<(LaneBits a, int s) { for (size_t l = 0; l < L; ++l) a.v[l] <<= s; return a; }
  LaneBits& operator&=(LaneBits b) { return *this = *this & b; }
};
template <class T>
KILN_INLINE Lanes Load(const T* p) {
  Lanes r;
  for (size_t l = 0; l < L; ++l) r.v[l] = static_cast<double>(p[l]);
  return r;
}
KILN_INLINE void Store(double* p, Lanes v) { std::memcpy(p, v.v, sizeof v.v); }
KILN_INLINE void Store(float* p, Lanes v) {
  for (size_t l = 0; l < L; ++l) p[l] = static_cast<float>(v.v[l]);
}
KILN_INLINE Lanes Splat(double x) { return Lanes{{x, x, x, x}}; }
KILN_INLINE LaneBits SplatBits(uint64_t b) { return LaneBits{{b, b, b, b}}; }
KILN_INLINE LaneBits Bits(Lanes v) {
  LaneBits b;
  std::memcpy(b.v, v.v, sizeof b.v);
  return b;
}
KILN_INLINE Lanes FromBits(LaneBits b) {
  Lanes v;
  std::memcpy(v.v, b.v, sizeof v.v);
  return v;
}
KILN_INLINE LaneBits Less(Lanes a, Lanes b) {
  LaneBits m;
  for (size_t l = 0; l < L; ++l) m.v[l] = a.v[l] < b.v[l] ? ~uint64_t{0} : 0;
  return m;
}
KILN_INLINE LaneBits LessEq(Lanes a, Lanes b) {
  LaneBits m;
  for (size_t l = 0; l < L; ++l) m.v[l] = a.v[l] <= b.v[l] ? ~uint64_t{0} : 0;
  return m;
}
KILN_INLINE uint64_t Lane(LaneBits b, size_t l) { return b.v[l]; }
KILN_INLINE Lanes Evens(Lanes a, Lanes b) { return Lanes{{a.v[0], b.v[0], a.v[2], b.v[2]}}; }
KILN_INLINE Lanes Odds(Lanes a, Lanes b) { return Lanes{{a.v[1], b.v[1], a.v[3], b.v[3]}}; }
KILN_INLINE Lanes Lows(Lanes a, Lanes b) { return Lanes{{a.v[0], a.v[1], b.v[0], b.v[1]}}; }
KILN_INLINE Lanes Highs(Lanes a, Lanes b) { return Lanes{{a.v[2], a.v[3], b.v[2], b.v[3]}}; }
struct Half {
  double v[2] = {};
  double operator[](size_t l) const { return v[l]; }
  friend Half operator+(Half a, Half b) { return Half{{a.v[0] + b.v[0], a.v[1] + b.v[1]}}; }
};
KILN_INLINE Half LowHalf(Lanes v) { return Half{{v.v[0], v.v[1]}}; }
KILN_INLINE Half HighHalf(Lanes v) { return Half{{v.v[2], v.v[3]}}; }
KILN_INLINE Lanes Join(Half lo, Half hi) { return Lanes{{lo.v[0], lo.v[1], hi.v[0], hi.v[1]}}; }
KILN_INLINE void StoreHalf(double* p, Half h) { std::memcpy(p, h.v, sizeof h.v); }
KILN_INLINE Half Opaque(Half h) { return h; }
#endif

KILN_INLINE Lanes Abs(Lanes v) { return FromBits(Bits(v) & SplatBits(0x7fffffffffffffffULL)); }  // NaN stays NaN
// a in the lanes where m is set, b elsewhere.
KILN_INLINE Lanes Select(LaneBits m, Lanes a, Lanes b) { return FromBits((Bits(a) & m) | (Bits(b) & ~m)); }
// a < b ? c : d lane by lane (one blend instead of Select's three logic operations).
#if defined(__GNUC__) || defined(__clang__)
KILN_INLINE Lanes IfLess(Lanes a, Lanes b, Lanes c, Lanes d) { return a < b ? c : d; }
#else
KILN_INLINE Lanes IfLess(Lanes a, Lanes b, Lanes c, Lanes d) { return Select(Less(a, b), c, d); }
#endif
// -|v|: the sign bit set (one operation).
KILN_INLINE Lanes NegAbs(Lanes v) { return FromBits(Bits(v) | SplatBits(0x8000000000000000ULL)); }
// Whether any lane of m is set.
KILN_INLINE bool AnyLane(LaneBits m) {
  uint64_t a[L];
  std::memcpy(a, &m, sizeof a);
  return ((a[0] | a[1]) | (a[2] | a[3])) != 0;
}

// The four vectors' lane sums [sum a0, sum a1, sum a2, sum a3], each (l0 + l1) + (l2 + l3): the
// order linear.h defines, in two shuffle-and-add steps for four rows instead of two per row.
KILN_INLINE Lanes SumLanes(Lanes a0, Lanes a1, Lanes a2, Lanes a3) {
  const Lanes s01 = Evens(a0, a1) + Odds(a0, a1);  // [a0_0+a0_1, a1_0+a1_1, a0_2+a0_3, a1_2+a1_3]
  const Lanes s23 = Evens(a2, a3) + Odds(a2, a3);
  return Join(LowHalf(s01) + Opaque(HighHalf(s01)), LowHalf(s23) + Opaque(HighHalf(s23)));
}

// ExpNonPositive (linear.h). Cody-Waite: k * kLn2Hi is exact for |k| < 2^21 (kLn2Hi has 32
// significant bits) and x - k * kLn2Hi is exact (Sterbenz); the polynomial is exp's Taylor series
// to r^13 (the rest, r^14 / 14! * e^|r|, is under 6e-18 for |r| <= ln2/2); 2^k is applied as
// 2^(k + 600), exact and normal for k >= -1077, then 2^-600, which rounds only a subnormal
// result. exp rounds to 0 below -745.2: the clamp at -746 keeps k in range and gives 0 there.
constexpr double kExpMin = -746.0;
constexpr double kLog2e = 0x1.71547652b82fep0;
constexpr double kRoundShift = 0x1.8p52;            // adding it rounds to an integer
constexpr double kLn2Hi = 0x1.62e42feep-1;          // fdlibm's ln2HI
constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;    // ln2 - kLn2Hi (fdlibm's ln2LO)
constexpr uint64_t kScaleBias = 600;
constexpr double kUnscale = 0x1p-600;
// From here up, one multiply by 2^k gives the same bits as the two above: x >= -707 means
// k >= -1020, so 2^k and e * 2^k (e >= 0.7) are normal and both ways are exact. A block of rows
// with every x here (any score within +-707 for expit) takes one multiply and no clamp.
constexpr double kExpOneScaleMin = -707.0;

// G independent vectors at once, step by step (each step's G operations side by side, so the
// out-of-order core always has independent work; written one vector after another, the
// compiler keeps each vector's chain of ~20 dependent operations together). Lane-wise the same
// operations in the same order as for one vector: the same bits.
template <size_t G>
KILN_INLINE void ExpLanesG(const Lanes* xin, Lanes* y) {
  Lanes x[G], t[G], r[G], r2[G], r4[G], r8[G], p[G];
  // One vector (one row, a lone block, softmax) keeps the clamp: the test would cost what it saves.
  bool one_scale = false;
  if constexpr (G > 1) {
    LaneBits low = Less(xin[0], Splat(kExpOneScaleMin));
    for (size_t g = 1; g < G; ++g) low |= Less(xin[g], Splat(kExpOneScaleMin));
    one_scale = !AnyLane(low);  // NaN compares false: it stays NaN either way
  }
  for (size_t g = 0; g < G; ++g) x[g] = one_scale ? xin[g] : IfLess(xin[g], Splat(kExpMin), Splat(kExpMin), xin[g]);
  for (size_t g = 0; g < G; ++g) t[g] = x[g] * Splat(kLog2e) + Splat(kRoundShift);
  for (size_t g = 0; g < G; ++g) {
    const Lanes k = t[g] - Splat(kRoundShift);
    r[g] = (x[g] - k * Splat(kLn2Hi)) - k * Splat(kLn2Lo);
  }
  // p = sum_{j=2..13} r^(j-2) / j!, by Estrin's scheme: a dependency chain of 4 multiply-adds
  // instead of Horner's 11.
  for (size_t g = 0; g < G; ++g) r2[g] = r[g] * r[g];
  for (size_t g = 0; g < G; ++g) r4[g] = r2[g] * r2[g];
  for (size_t g = 0; g < G; ++g) r8[g] = r4[g] * r4[g];
  for (size_t g = 0; g < G; ++g) {
    const Lanes q0 = Splat(1.0 / 2.0) + Splat(1.0 / 6.0) * r[g];
    const Lanes q1 = Splat(1.0 / 24.0) + Splat(1.0 / 120.0) * r[g];
    const Lanes q2 = Splat(1.0 / 720.0) + Splat(1.0 / 5040.0) * r[g];
    const Lanes q3 = Splat(1.0 / 40320.0) + Splat(1.0 / 362880.0) * r[g];
    const Lanes q4 = Splat(1.0 / 3628800.0) + Splat(1.0 / 39916800.0) * r[g];
    const Lanes q5 = Splat(1.0 / 479001600.0) + Splat(1.0 / 6227020800.0) * r[g];
    p[g] = ((q0 + q1 * r2[g]) + (q2 + q3 * r2[g]) * r4[g]) + (q4 + q5 * r2[g]) * r8[g];
  }
  for (size_t g = 0; g < G; ++g) {
    const Lanes e = Splat(1.0) + (r[g] + r2[g] * p[g]);
    // t's low bits hold k (two's complement) on top of the shift's bits: k + bias goes to the exponent field.
    if (one_scale) {
      y[g] = e * FromBits((Bits(t[g]) - Bits(Splat(kRoundShift)) + SplatBits(1023)) << 52);
    } else {
      const LaneBits scale = (Bits(t[g]) - Bits(Splat(kRoundShift)) + SplatBits(1023 + kScaleBias)) << 52;
      y[g] = (e * FromBits(scale)) * Splat(kUnscale);
    }
  }
}

KILN_INLINE Lanes ExpLanes(Lanes x) {
  Lanes y;
  ExpLanesG<1>(&x, &y);
  return y;
}

// Numerically stable expit, Expit's formula (head.h) with ExpLanes: exp(x) / (1 + exp(x)) below 0,
// 1 / (1 + exp(-x)) from 0. G vectors side by side, as ExpLanesG.
template <size_t G>
KILN_INLINE void ExpitLanesG(const Lanes* x, Lanes* p) {
  Lanes a[G], z[G];
  for (size_t g = 0; g < G; ++g) a[g] = NegAbs(x[g]);
  ExpLanesG<G>(a, z);
  for (size_t g = 0; g < G; ++g) p[g] = IfLess(x[g], Splat(0.0), z[g], Splat(1.0)) / (Splat(1.0) + z[g]);
}

KILN_INLINE Lanes ExpitLanes(Lanes x) {
  Lanes p;
  ExpitLanesG<1>(&x, &p);
  return p;
}

// Rows i < m of the c <= 4 output columns col[0 .. c-1] (one lane per row) -> out[i * c + j]:
// a full block of 4 columns transposes in registers and stores whole rows.
KILN_INLINE void StoreRows4(Lanes c0, Lanes c1, Lanes c2, Lanes c3, double* out) {
  // Rows 0 and 1 from the columns' low halves, rows 2 and 3 from their high halves, a half row
  // per two-double unpack: no lane-crossing shuffle.
  for (size_t h = 0; h < 2; ++h) {
    Half a, b, c, d;
    if (h == 0) {
      a = LowHalf(c0), b = LowHalf(c1), c = LowHalf(c2), d = LowHalf(c3);
    } else {
      a = Opaque(HighHalf(c0)), b = Opaque(HighHalf(c1)), c = Opaque(HighHalf(c2)), d = Opaque(HighHalf(c3));
    }
    double* row = out + 2 * h * L;
    StoreHalf(row, Half{a[0], b[0]});
    StoreHalf(row + 2, Half{c[0], d[0]});
    StoreHalf(row + L, Half{a[1], b[1]});
    StoreHalf(row + L + 2, Half{c[1], d[1]});
  }
}

KILN_INLINE void StoreRows(const Lanes* col, size_t c, size_t m, double* out) {
  if (c == L && m == L) {
    StoreRows4(col[0], col[1], col[2], col[3], out);
    return;
  }
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < c; ++j) out[i * c + j] = col[j][i];
  }
}

// One raw score per row (k = 1), G blocks of rows (x[g]: block g's scores; m rows in the last):
// label, then the two probabilities, then the decision value. The G blocks' links are computed
// side by side, so their dependency chains overlap.
template <size_t G>
KILN_INLINE void WriteBinaryRows(const RawHead& h, const Lanes* x, size_t m, double* out) {
  if (m == L && h.probabilities && h.decision && h.link == Link::kLogistic) {
    // sklearn's LogisticRegression with both outputs, the common case: the four columns straight
    // from registers to the rows (the general code below indexes columns at run time, in memory).
    Lanes p[G];
    ExpitLanesG<G>(x, p);
    for (size_t g = 0; g < G; ++g) {
      const LaneBits positive = h.label_ge ? LessEq(Splat(0.0), x[g]) : Less(Splat(0.0), x[g]);
      StoreRows4(Select(positive, Splat(1.0), Splat(0.0)), Splat(1.0) - p[g], p[g], x[g], out + g * L * L);
    }
    return;
  }
  Lanes col[G][L];
  size_t c = 0;
  for (size_t g = 0; g < G; ++g) {
    const LaneBits positive = h.label_ge ? LessEq(Splat(0.0), x[g]) : Less(Splat(0.0), x[g]);
    col[g][c] = Select(positive, Splat(1.0), Splat(0.0));
  }
  ++c;
  if (h.probabilities) {
    if (h.link == Link::kLogistic) {
      Lanes p[G];
      ExpitLanesG<G>(x, p);
      for (size_t g = 0; g < G; ++g) {
        col[g][c] = Splat(1.0) - p[g];
        col[g][c + 1] = p[g];
      }
    } else {  // softmax of (-x, x), less their maximum |x|
      for (size_t g = 0; g < G; ++g) {
        const Lanes mx = Abs(x[g]);
        const Lanes ea = ExpLanes(-x[g] - mx), eb = ExpLanes(x[g] - mx);
        const Lanes sum = ea + eb;
        col[g][c] = ea / sum;
        col[g][c + 1] = eb / sum;
      }
    }
    c += 2;
  }
  if (h.decision) {
    for (size_t g = 0; g < G; ++g) col[g][c] = x[g];
    ++c;
  }
  for (size_t g = 0; g < G; ++g) StoreRows(col[g], c, g + 1 < G ? L : m, out + g * L * c);
}

// k > 1 raw scores per row, class-major raw[q * 4 + i].
void WriteMultiRows(const RawHead& h, const double* raw, size_t m, double* out, size_t width) {
  const size_t k = h.k;
  for (size_t i = 0; i < m; ++i) {
    size_t label = 0;  // numpy.argmax: first maximum
    for (size_t q = 1; q < k; ++q) {
      if (raw[q * L + i] > raw[label * L + i]) label = q;
    }
    out[i * width] = static_cast<double>(label);
  }
  size_t col = 1;
  if (h.probabilities) {
    // One-vs-rest expit, or softmax (sklearn.utils.extmath.softmax: less the maximum, exp,
    // divide by the sum); each row's sum in class order.
    const bool logistic = h.link == Link::kLogistic;
    Lanes mx = Load(raw);
    for (size_t q = 1; q < k && !logistic; ++q) {
      const Lanes v = Load(raw + q * L);
      mx = Select(Less(mx, v), v, mx);  // v > mx, as ArgMax compares
    }
    Lanes sum = Splat(0.0);
    for (size_t q = 0; q < k; ++q) {
      const Lanes v = Load(raw + q * L);
      const Lanes e = logistic ? ExpitLanes(v) : ExpLanes(v - mx);
      sum += e;
      for (size_t i = 0; i < m; ++i) out[i * width + 1 + q] = e[i];
    }
    for (size_t i = 0; i < m; ++i) {
      for (size_t q = 0; q < k; ++q) out[i * width + 1 + q] /= sum[i];
    }
    col += h.n_classes;
  }
  if (h.decision) {
    for (size_t i = 0; i < m; ++i) {
      for (size_t q = 0; q < k; ++q) out[i * width + col + q] = raw[q * L + i];
    }
  }
}

// The output rows of m rows from class-major raw scores (RawHead::Write's layout and arithmetic,
// the links one lane per row).
KILN_INLINE void WriteRowsT(const RawHead& h, const double* raw, size_t m, double* out, size_t width) {
  if (h.task == Task::kRegression) {  // width 1
    if (m == L) {
      Store(out, Load(raw));
    } else {
      for (size_t i = 0; i < m; ++i) out[i] = raw[i];
    }
  } else if (h.k == 1) {
    const Lanes x = Load(raw);
    WriteBinaryRows<1>(h, &x, m, out);
  } else {
    WriteMultiRows(h, raw, m, out, width);
  }
}

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

// The last n % L values of a row from p, in lanes of zeros. kReadPast: p[0 .. L-1] may all be read
// (the matrix goes on), and the lanes past the row are masked off; else they are not read. Both
// give the same lanes.
template <bool kReadPast, class T>
KILN_INLINE Lanes LoadTail(const T* p, size_t tail, LaneBits mask) {
  if (kReadPast) return FromBits(Bits(Load(p)) & mask);
  const double a = static_cast<double>(p[0]);  // tail is 1, 2 or 3
  const double b = tail > 1 ? static_cast<double>(p[1]) : 0.0;
  const double c = tail > 2 ? static_cast<double>(p[2]) : 0.0;
  return Lanes{a, b, c, 0.0};
}

// The box check's word operations on a Lanes' bits as 16 x 16-bit words (it reads the top word of
// each double: sign, exponent, 4 mantissa bits): max, and max(a, b) - b, which is 0 where a <= b
// (unsigned) and a - b > 0 elsewhere. Two instructions where a saturating subtraction would be one,
// but GCC's vector code has none and the intrinsics would need the AVX2 build apart.
#if defined(__GNUC__) || defined(__clang__)
typedef uint16_t Words __attribute__((vector_size(L * sizeof(double))));
KILN_INLINE Words AsWords(Lanes v) {
  Words w;
  std::memcpy(&w, &v, sizeof w);
  return w;
}
KILN_INLINE Words MaxWords(Words a, Words b) { return a > b ? a : b; }
KILN_INLINE Words OverWords(Words a, Words b) { return MaxWords(a, b) - b; }
KILN_INLINE bool AnyWord(Words a) {
  uint64_t v[L];
  std::memcpy(v, &a, sizeof v);
  return ((v[0] | v[1]) | (v[2] | v[3])) != 0;
}
#else
struct Words {
  uint16_t v[4 * L] = {};
  Words& operator|=(const Words& b) {
    for (size_t i = 0; i < 4 * L; ++i) v[i] |= b.v[i];
    return *this;
  }
};
KILN_INLINE Words AsWords(Lanes v) {
  Words w;
  std::memcpy(w.v, &v, sizeof w.v);
  return w;
}
KILN_INLINE Words MaxWords(Words a, Words b) {
  for (size_t i = 0; i < 4 * L; ++i) a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
  return a;
}
KILN_INLINE Words OverWords(Words a, Words b) {
  for (size_t i = 0; i < 4 * L; ++i) a.v[i] = a.v[i] > b.v[i] ? static_cast<uint16_t>(a.v[i] - b.v[i]) : 0;
  return a;
}
KILN_INLINE bool AnyWord(Words a) {
  for (size_t i = 0; i < 4 * L; ++i) {
    if (a.v[i] != 0) return true;
  }
  return false;
}
#endif
KILN_INLINE Words LoadWords(const uint64_t* p) {
  Words w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// FoldedBlock's answer when kBox and a row is outside the box: the block is to be checked the exact way.
constexpr unsigned kBoxMiss = 1u << 31;

// R <= 4 rows' folded raw scores, class-major (raw[q * 4 + i]) with the rows' fold check, in one
// pass: each product w x feeds both. Returns the rows within their bound as bits (bit i: row i).
// kBox: the check is the box (FoldedScaler::box) instead of the bound: a word max of the R rows'
// values per 4 features, then what exceeds the features' limits ored in, 3 + 3 instructions per 4
// features where the bound takes 2 per row (8): the same raw scores, and all R rows within their
// bound, or kBoxMiss.
template <size_t R, bool kReadPast, bool kBox, class T>
KILN_INLINE unsigned FoldedBlock(const LinearModel& lm, const FoldedScaler& f, const T* const* x, double* raw) {
  const size_t n = lm.n_features;
  const size_t full = n - n % L;
  const size_t k = lm.k;
  // All ones in the lanes of the last partial load that hold features.
  const LaneBits tail = Less(Lanes{0.0, 1.0, 2.0, 3.0}, Splat(static_cast<double>(n % L)));
  LaneBits ok = ~LaneBits{};
  Words miss{};
  const double* w = f.w.data();
  for (size_t q = 0; q < k; ++q, w += f.stride) {
    const bool box = kBox && q == 0;  // the box is on the inputs: one class's pass checks it
    Lanes acc[L], bound[L];
    for (size_t i = 0; i < L; ++i) acc[i] = bound[i] = Lanes{};
    // One step of 4 features: xv[i] = row i's values.
    const auto step = [&](const Lanes wv, const Lanes* xv, size_t j) {
      for (size_t i = 0; i < R; ++i) {
        const Lanes y = wv * xv[i];
        acc[i] += y;
        if (!kBox) bound[i] += Abs(y);  // |fl(w x)| = fl(|w| |x|)
      }
      if (box) {
        Words m = AsWords(xv[0]);
        if (R == 4) {
          m = MaxWords(MaxWords(m, AsWords(xv[1])), MaxWords(AsWords(xv[2]), AsWords(xv[3])));
        } else {
          for (size_t i = 1; i < R; ++i) m = MaxWords(m, AsWords(xv[i]));
        }
        miss |= OverWords(m, LoadWords(f.box.data() + j));
      }
    };
    size_t j = 0;
    for (; j < full; j += L) {
      Lanes xv[R];
      for (size_t i = 0; i < R; ++i) xv[i] = Load(x[i] + j);
      step(Load(w + j), xv, j);
    }
    if (j < n) {
      Lanes xv[R];
      for (size_t i = 0; i < R; ++i) xv[i] = LoadTail<kReadPast>(x[i] + j, n - j, tail);
      step(Load(w + j), xv, j);  // w is zero past n_features
    }
    Store(raw + q * L, SumLanes(acc[0], acc[1], acc[2], acc[3]) + Load(f.b.data() + q * L));
    // NaN or inf in a row makes its bound NaN or inf: not ok, like a bound that is too large.
    if (!kBox) ok &= LessEq(SumLanes(bound[0], bound[1], bound[2], bound[3]), Load(f.room.data() + q * L));
  }
  if (kBox) return AnyWord(miss) ? kBoxMiss : (1u << R) - 1;
  // The lanes past R hold bounds of 0, always within room (> 0): "all ok" is one test.
  const LaneBits halves = ok & Bits(Highs(FromBits(ok), FromBits(ok)));
  if ((Lane(halves, 0) & Lane(halves, 1)) != 0) return (1u << R) - 1;
  unsigned bits = 0;
  for (size_t i = 0; i < R; ++i) bits |= Lane(ok, i) != 0 ? 1u << i : 0u;
  return bits;
}

// Blocks of a call that may miss the box before the rest of the call checks the exact way only: a
// model whose inputs routinely fall outside it (negative values: the box is one-sided) scores at
// most this many blocks' dot products twice per call, instead of every block.
constexpr size_t kBoxMaxMisses = 4;

// A full block of 4 rows, checked by the box while `use_box` (the exact bound deciding a miss).
template <bool kReadPast, class T>
KILN_INLINE unsigned FullBlock(const LinearModel& lm, const FoldedScaler& f, const T* const* x, double* raw,
                               size_t& misses) {
  if (misses < kBoxMaxMisses) {
    const unsigned bits = FoldedBlock<L, kReadPast, true>(lm, f, x, raw);
    if (bits != kBoxMiss) return bits;
    ++misses;
  }
  return FoldedBlock<L, kReadPast, false>(lm, f, x, raw);
}

// Blocks whose links are computed side by side when rows have one raw score: a block's exp,
// division and stores are a chain of dependent operations longer than the out-of-order window
// covers; independent chains overlap. Measured on breast_cancer_logreg: 4 blocks ~10% faster than
// 1 (22 vs 24 ns/row); 2 and 8 within the noise of 4. With the blocks' exp interleaved step by
// step (ExpLanesG), 4 blocks: 19.3 ns/row vs 21.2 one block's exp after another; 2: 20.0; 8: 19.4
// (engine_bench, 1,000 rows x 501 passes, 2026-11-25).
constexpr size_t kLinkGroupBlocks = 4;

template <class T>
KILN_INLINE size_t FoldedPredictT(const LinearModel& lm, const FoldedScaler& f, const RawHead& h, const T* rows,
                                  size_t r, size_t n_rows, double* out, size_t width, double* raw, bool* ok) {
  const size_t n = lm.n_features;
  const size_t stride = f.stride;
  constexpr size_t G = kLinkGroupBlocks;
  const bool grouped = lm.k == 1 && h.task == Task::kClassification;
  size_t misses = f.box.empty() ? kBoxMaxMisses : 0;  // box misses so far (no box: as if used up)
  for (; r < n_rows; r += L) {
    if (grouped && n_rows - r >= G * L && (n_rows - r - (G * L - 1)) * n >= stride) {
      Lanes x[G];
      bool all = true;
      for (size_t g = 0; g < G; ++g) {
        const T* b = rows + (r + g * L) * n;
        const T* xg[L] = {b, b + n, b + 2 * n, b + 3 * n};
        double raw_g[L];
        all = FullBlock<true>(lm, f, xg, raw_g, misses) == (1u << L) - 1 && all;
        x[g] = Load(raw_g);
      }
      if (all) {
        WriteBinaryRows<G>(h, x, L, out + r * width);
        r += (G - 1) * L;
        continue;
      }
      // Else these blocks go one by one below (scored again, the same way).
    }
    const size_t m = n_rows - r < L ? n_rows - r : L;
    const T* x[L] = {rows + r * n, rows + (r + 1) * n, rows + (r + 2) * n, rows + (r + 3) * n};
    unsigned in_bound;
    // A full load of a row's last values reads up to stride - n values past it: fine inside the
    // matrix, not past its end.
    if (m == L && (n_rows - r - (L - 1)) * n >= stride) {
      in_bound = FullBlock<true>(lm, f, x, raw, misses);
    } else {
      switch (m) {
        case 1: in_bound = FoldedBlock<1, false, false>(lm, f, x, raw); break;
        case 2: in_bound = FoldedBlock<2, false, false>(lm, f, x, raw); break;
        case 3: in_bound = FoldedBlock<3, false, false>(lm, f, x, raw); break;
        default: in_bound = FullBlock<false>(lm, f, x, raw, misses); break;
      }
    }
    if (in_bound != (1u << m) - 1) {
      for (size_t i = 0; i < m; ++i) ok[i] = (in_bound >> i & 1u) != 0;
      return r;
    }
    WriteRowsT(h, raw, m, out + r * width, width);
  }
  return n_rows;
}

KILN_MULTIVERSION size_t FoldedPredictImpl(const LinearModel& lm, const FoldedScaler& f, const RawHead& h,
                                           const double* rows, size_t r, size_t n_rows, double* out, size_t width,
                                           double* raw, bool* ok) {
  return FoldedPredictT(lm, f, h, rows, r, n_rows, out, width, raw, ok);
}

KILN_MULTIVERSION size_t FoldedPredictImpl(const LinearModel& lm, const FoldedScaler& f, const RawHead& h,
                                           const float* rows, size_t r, size_t n_rows, double* out, size_t width,
                                           double* raw, bool* ok) {
  return FoldedPredictT(lm, f, h, rows, r, n_rows, out, width, raw, ok);
}

KILN_MULTIVERSION void WriteLinearRowsImpl(const RawHead& h, const double* raw, size_t m, double* out,
                                           size_t width) {
  WriteRowsT(h, raw, m, out, width);
}

// Z: double (linear), or float (float32 trees: each scaled value rounded once more, as they compare it).
// kScale false: no scaler, the values are only converted (CastRows).
template <bool kScale, class T, class Z>
KILN_INLINE bool ScaleRowsT(const T* rows, size_t m, size_t n, const double* mean, const double* scale, Z* z) {
  // z * 0 is 0 for a finite z and NaN for NaN or +-inf, and a NaN stays in its lane's sum: one
  // check per block instead of a branch per value. (A finite x with z overflowing to inf is sent
  // to the checked path too, which gives the same answer the slow way.)
  Lanes check{};
  double check_tail = 0.0;
  for (size_t i = 0; i < m; ++i, rows += n, z += n) {
    size_t j = 0;
    for (; j + L <= n; j += L) {
      Lanes v = Load(rows + j);
      if constexpr (kScale) v = (v - Load(mean + j)) / Load(scale + j);
      check += v * Lanes{};
      Store(z + j, v);
    }
    for (; j < n; ++j) {
      double v = static_cast<double>(rows[j]);
      if constexpr (kScale) v = (v - mean[j]) / scale[j];
      z[j] = static_cast<Z>(v);
      check_tail += v * 0.0;
    }
  }
  return ((check[0] + check[1]) + (check[2] + check[3])) + check_tail == 0.0;
}

}  // namespace

size_t FoldedPredict(const LinearModel& lm, const FoldedScaler& f, const RawHead& head, const double* rows, size_t r,
                     size_t n_rows, double* out, size_t width, double* raw, bool* ok) {
  return FoldedPredictImpl(lm, f, head, rows, r, n_rows, out, width, raw, ok);
}

size_t FoldedPredict(const LinearModel& lm, const FoldedScaler& f, const RawHead& head, const float* rows, size_t r,
                     size_t n_rows, double* out, size_t width, double* raw, bool* ok) {
  return FoldedPredictImpl(lm, f, head, rows, r, n_rows, out, width, raw, ok);
}

void WriteLinearRows(const RawHead& head, const double* raw, size_t m, double* out, size_t width) {
  WriteLinearRowsImpl(head, raw, m, out, width);
}

double ExpNonPositive(double x) { return ExpLanes(Splat(x))[0]; }

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
  f.stride = (n + kDotLanes - 1) / kDotLanes * kDotLanes;
  f.w.assign(k * f.stride, 0.0);
  f.b.resize(k * kDotLanes);
  f.room.resize(k * kDotLanes);
  for (size_t q = 0; q < k; ++q) {
    double b = lm.intercept[q];
    double fixed = std::fabs(lm.intercept[q]);
    for (size_t j = 0; j < n; ++j) {
      const double w = lm.coef[q * n + j] / scale[j];
      if (!std::isfinite(w)) return;
      f.w[q * f.stride + j] = w;
      b -= w * mean[j];
      fixed += std::fabs(w * mean[j]);
    }
    if (!std::isfinite(b)) return;
    const double room = kFoldMaxRawError / gamma - (fixed + std::fabs(b));
    if (!(room > 0.0)) return;  // not even a row of zeros would fold
    for (size_t l = 0; l < kDotLanes; ++l) f.b[q * kDotLanes + l] = b, f.room[q * kDotLanes + l] = room;
  }
  // The box: limits B_j = t * (|mean_j| + scale_j), a feature's typical size, with t as large as
  // sum_j |w[q][j]| B_j <= room[q] allows for every class, less the rounding of the bound as the
  // kernel sums it and of these sums (8 (n + 8) u, over twice both). A row inside the box has
  // sum_j |w x| < that sum, so its bound passes.
  const double shrink = 1.0 - 8.0 * static_cast<double>(n + 8) * u;
  double t = HUGE_VAL;
  for (size_t q = 0; q < k; ++q) {
    double sum = 0.0;
    for (size_t j = 0; j < n; ++j) sum += std::fabs(f.w[q * f.stride + j]) * (std::fabs(mean[j]) + std::fabs(scale[j]));
    if (sum > 0.0) t = std::min(t, f.room[q * kDotLanes] * shrink / sum);
  }
  f.box.assign(f.stride, ~uint64_t{0});  // the lanes past n_features never miss
  for (size_t j = 0; j < n; ++j) {
    bool used = false;
    for (size_t q = 0; q < k; ++q) used = used || f.w[q * f.stride + j] != 0.0;
    uint64_t top = kBoxMaxTop;  // a feature no class uses: any finite x >= 0
    if (used) {
      const double limit = t * (std::fabs(mean[j]) + std::fabs(scale[j]));
      uint64_t bits;
      std::memcpy(&bits, &limit, sizeof bits);
      // x < the double whose top word is limit's (the rest zero) <= limit: x's top word < limit's.
      if (!(limit >= 0.0) || (bits >> 48) == 0) {
        f.box.clear();  // a limit too small to write: no box, every row checked the exact way
        break;
      }
      top = std::min<uint64_t>((bits >> 48) - 1, kBoxMaxTop);
    }
    f.box[j] = top << 48 | 0xFFFFFFFFFFFFULL;
  }
  out = std::move(f);
}

void LinearModel::RawRows(const double* const* x, size_t n_rows, double* raw) const {
  RawRowsImpl(*this, x, n_rows, raw);
}

KILN_MULTIVERSION bool ScaleRows(const double* rows, size_t m, size_t n, const double* mean, const double* scale,
                                 double* z) {
  return ScaleRowsT<true>(rows, m, n, mean, scale, z);
}

KILN_MULTIVERSION bool ScaleRows(const float* rows, size_t m, size_t n, const double* mean, const double* scale,
                                 double* z) {
  return ScaleRowsT<true>(rows, m, n, mean, scale, z);
}

KILN_MULTIVERSION bool ScaleRows(const double* rows, size_t m, size_t n, const double* mean, const double* scale,
                                 float* z) {
  return ScaleRowsT<true>(rows, m, n, mean, scale, z);
}

KILN_MULTIVERSION bool ScaleRows(const float* rows, size_t m, size_t n, const double* mean, const double* scale,
                                 float* z) {
  return ScaleRowsT<true>(rows, m, n, mean, scale, z);
}

KILN_MULTIVERSION bool CastRows(const double* rows, size_t m, size_t n, float* z) {
  return ScaleRowsT<false>(rows, m, n, nullptr, nullptr, z);
}

KILN_MULTIVERSION bool CastRows(const float* rows, size_t m, size_t n, float* z) {
  return ScaleRowsT<false>(rows, m, n, nullptr, nullptr, z);
}

KILN_MULTIVERSION bool CastRows(const double* rows, size_t m, size_t n, double* z) {
  return ScaleRowsT<false>(rows, m, n, nullptr, nullptr, z);
}

KILN_MULTIVERSION bool CastRows(const float* rows, size_t m, size_t n, double* z) {
  return ScaleRowsT<false>(rows, m, n, nullptr, nullptr, z);
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
