// PolynomialFeatures: compile + kernel. The model stores sklearn's powers_ (one row per output
// column). sklearn builds a degree-d term as (a degree d-1 term over features >= i) * x_i, i the
// term's lowest feature, so x0*x1*x2 = (x2*x1)*x0 and x0^2*x1 = (x1*x0)*x0: the factors are
// multiplied from the highest feature index down. Compiling to that order gives sklearn's
// rounding exactly, not just the same product.
#include "compile.h"

namespace kiln::internal {

namespace {
// Format limit: a term's total degree (PolynomialFeatures degree <= 3).
constexpr int64_t kMaxPolyDegree = 3;
}  // namespace

Frame CompilePolyTerms(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "powers"});
  c.RequireNumeric(in, v.path());
  JVal powers = o.Get("powers");
  const size_t m = powers.ArraySize(kMaxFrameWidth, "terms");
  if (m == 0) powers.Fail(ErrorCode::kModelInvalid, "needs at least one term");
  std::vector<int32_t> terms{static_cast<int32_t>(m)};
  std::vector<int64_t> row;
  for (size_t t = 0; t < m; ++t) {
    JVal pt = powers.At(t);
    row.clear();
    pt.Ints(row, 0, kMaxPolyDegree, in.size());
    int64_t degree = 0;
    for (int64_t e : row) degree += e;
    if (degree > kMaxPolyDegree) {
      pt.Fail(ErrorCode::kModelUnsupported, "total degree " + std::to_string(degree) + " is more than " +
                                                std::to_string(kMaxPolyDegree));
    }
    size_t filled = 0;
    for (size_t j = in.size(); j-- > 0;) {
      for (int64_t e = 0; e < row[j]; ++e) terms.push_back(static_cast<int32_t>(j)), ++filled;
    }
    for (; filled < kMaxPolyDegree; ++filled) terms.push_back(-1);
  }
  Program& prog = c.prog();
  Op op{OpKind::kPolyTerms};
  op.n = static_cast<uint32_t>(in.size());
  std::vector<uint32_t> slots(in.size());
  for (size_t j = 0; j < in.size(); ++j) slots[j] = in[j].slot;
  op.in = c.AddInSlots(slots);
  op.out = c.NewSlots(m, v.path());
  op.q = static_cast<uint32_t>(prog.pi.size());
  prog.pi.insert(prog.pi.end(), terms.begin(), terms.end());
  prog.ops.push_back(op);
  Frame out(m);
  for (size_t t = 0; t < m; ++t) out[t].slot = op.out + static_cast<uint32_t>(t);
  return out;
}

void RunPolyTerms(const Op& op, const Program& p, double* s) {
  const uint32_t* in = p.in_slots.data() + op.in;
  const int32_t* f = p.pi.data() + op.q;
  const auto m = static_cast<uint32_t>(f[0]);
  ++f;
  double* out = s + op.out;
  for (uint32_t t = 0; t < m; ++t, f += kMaxPolyDegree) {
    if (f[0] < 0) {
      out[t] = 1.0;
      continue;
    }
    double v = s[in[f[0]]];
    if (f[1] >= 0) v *= s[in[f[1]]];
    if (f[2] >= 0) v *= s[in[f[2]]];
    out[t] = v;
  }
}

}  // namespace kiln::internal
