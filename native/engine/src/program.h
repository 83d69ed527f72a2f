// The compiled transform: a flat list of ops over one scratch buffer of doubles per row.
// Slots [0, n_inputs) hold the row's inputs; every op reads slots and writes fresh output slots
// (never in place), so a column can be read by several ops. Ops carry offsets into the flat
// parameter arrays below; running a row allocates nothing and makes no virtual call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/model.h"

namespace kiln::internal {

enum class OpKind : uint8_t {
  kSub,           // out[i] = x[i] - pd[p+i]
  kDiv,           // out[i] = x[i] / pd[p+i]
  kMul,           // out[i] = x[i] * pd[p+i]
  kAdd,           // out[i] = x[i] + pd[p+i]
  kClip,          // out[i] = min(max(x[i], pd[p]), pd[p+1]) (NaN stays NaN)
  kBinarize,      // out[i] = x[i] > pd[p] ? 1 : 0
  kImputeNaN,     // out[i] = isnan(x[i]) ? pd[p+i] : x[i]
  kImputeEq,      // out[i] = x[i] == pd[p+2i] ? pd[p+2i+1] : x[i]
  kIndicatorNaN,  // out[i] = isnan(x[i]) ? 1 : 0
  kIndicatorEq,   // out[i] = x[i] == pd[p+i] ? 1 : 0
  kNormL1,        // whole frame / sum|x|
  kNormL2,        // whole frame / sqrt(sum x^2)
  kNormMax,       // whole frame / max|x|
  kOneHot,        // per-column records enc[q, q+n); flag: handle_unknown=error
  kOrdinal,       // per-column records enc[q, q+n); flag: handle_unknown=error;
                  // pd[p] = unknown_value, pd[p+1] = encoded_missing_value
  kBins,          // KBinsDiscretizer (ops_bins.cc): per column j, bin = number of edges <= x;
                  // column j's edges are pd[p+pi[q+j], p+pi[q+j+1]); flag kBinsOneHot
  kPolyTerms,     // PolynomialFeatures (ops_poly.cc): pi[q] = m terms, then 3 input indices per
                  // term (-1 = none); out[t] = their product (multiplied in the stored order), or 1
  kExpr,          // feature expressions: runs xcode[q, ...) up to kHalt; its value stack lives
                  // in scratch slots [in, in + stack depth) (so running allocates nothing)
};

// Postfix instructions of a feature expression (expr_compile.cc, expr_run.cc).
enum class XOp : uint8_t {
  kLoad,      // push s[a]
  kConst,     // push pd[a]
  kNeg, kNot,                          // unary
  kAdd, kSub, kMul, kDiv,              // binary, IEEE
  kEq, kNe, kLt, kLe, kGt, kGe,        // 1 / 0, IEEE (NaN compares unequal)
  kAnd, kOr,                           // truthiness: x != 0 (NaN is true, as numpy's)
  kMin, kMax, kPow, kCoalesce,         // binary; min/max propagate NaN (np.minimum/maximum)
  kLog, kLog1p, kExp, kSqrt, kAbs, kSquare, kIsNull,  // unary
  kSelect,    // (c, a, b) -> c != 0 ? a : b
  kClip,      // (x, lo, hi) -> minimum(maximum(x, lo), hi)
  kIn,        // (x) -> 1 if x == one of pd[a, a + n) else 0
  kStore,     // pop into s[a]
  kHalt,
};

struct ExprInstr {
  XOp op;
  uint32_t a = 0;
  uint32_t n = 0;
};

// Op::flag of kBins: one-hot the bin index (n_bins columns per input) instead of writing it.
inline constexpr uint8_t kBinsOneHot = 1;

struct Op {
  OpKind kind;
  uint8_t flag = 0;
  uint32_t n = 0;    // input columns
  uint32_t in = 0;   // offset into Program::in_slots (n entries)
  uint32_t out = 0;  // first output slot (outputs are contiguous)
  uint32_t p = 0;    // offset into Program::pd
  uint32_t q = 0;    // offset into Program::enc
};

// One encoded column of a one-hot / ordinal encoder.
struct EncCol {
  uint32_t slot = 0;         // input slot
  uint32_t out = 0;          // first output slot of this column
  bool is_string = false;    // slot holds a vocabulary code
  int32_t null_idx = -1;     // category index of null (NaN), or -1
  int32_t drop = -1;         // one-hot: dropped category index, or -1
  uint32_t n_cat = 0;        // number of categories (including null)
  // String column: pi[lookup, lookup + lookup_len) maps vocabulary code -> category index (-1).
  // Numeric column: pd[lookup, lookup + lookup_len) sorted non-null category values and
  // pi[lookup_idx, ...) their category indices.
  uint32_t lookup = 0;
  uint32_t lookup_len = 0;
  uint32_t lookup_idx = 0;
  int32_t origin = -1;       // input this column comes from (for messages), or -1
  uint32_t desc = 0;         // Program::descs entry describing the column (for messages)
};

struct Program {
  std::vector<Op> ops;
  std::vector<uint32_t> in_slots;
  std::vector<double> pd;
  std::vector<int32_t> pi;
  std::vector<EncCol> enc;
  std::vector<std::string> descs;
  std::vector<ExprInstr> xcode;
  uint32_t n_slots = 0;

  // Runs every op on one row's scratch buffer. row and inputs are only used for error messages.
  void Run(double* s, size_t row, const std::vector<InputSpec>& inputs) const;
};

// Kernels (ops_*.cc).
void RunElementwise(const Op& op, const Program& p, double* s);
void RunNormalize(const Op& op, const Program& p, double* s);
void RunImpute(const Op& op, const Program& p, double* s);
void RunOneHot(const Op& op, const Program& p, double* s, size_t row, const std::vector<InputSpec>& inputs);
void RunExpr(const Op& op, const Program& p, double* s);
void RunOrdinal(const Op& op, const Program& p, double* s, size_t row, const std::vector<InputSpec>& inputs);
void RunBins(const Op& op, const Program& p, double* s);
void RunPolyTerms(const Op& op, const Program& p, double* s);

}  // namespace kiln::internal
