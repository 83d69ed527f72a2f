// KBinsDiscretizer: compile + kernel. A value's bin is the number of inner bin edges <= x:
// sklearn (1.1 and later) bins with np.searchsorted(bin_edges[1:-1], x, side="right"), so the
// outer edges never matter (values beyond them land in the first / last bin). NaN sorts after
// every edge, as in numpy: it lands in the last bin.
#include <algorithm>

#include "compile.h"

namespace kiln::internal {

namespace {
// Engine guard: the edge offsets live in Program::pi (int32).
constexpr size_t kMaxEdges = size_t{1} << 30;
}  // namespace

Frame CompileBins(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "edges", "encode"});
  c.RequireNumeric(in, v.path());
  JVal encode = o.Get("encode");
  uint8_t flag = 0;
  if (encode.Str() == "onehot") {
    flag |= kBinsOneHot;
  } else if (encode.Str() != "ordinal") {
    encode.Fail(ErrorCode::kModelUnsupported, "unknown encode '" + encode.Str() + "' (expected ordinal or onehot)");
  }
  std::vector<double> params;
  JVal edges = o.Get("edges");
  const size_t n = edges.ArraySize(kMaxFrameWidth, "columns");
  if (n != in.size()) {
    edges.Fail(ErrorCode::kModelInvalid,
               "has " + std::to_string(n) + " entries but the frame has " + std::to_string(in.size()) + " columns");
  }
  std::vector<int32_t> offsets{0};
  size_t width = 0;
  for (size_t j = 0; j < n; ++j) {
    JVal ej = edges.At(j);
    const size_t before = params.size();
    ej.Finites(params);
    for (size_t k = before + 1; k < params.size(); ++k) {
      if (!(params[k - 1] <= params[k])) ej.At(k - before).Fail(ErrorCode::kModelInvalid, "edges must be sorted ascending");
    }
    if (params.size() > kMaxEdges) edges.Fail(ErrorCode::kModelLimit, "too many bin edges");
    offsets.push_back(static_cast<int32_t>(params.size()));
    width += (flag & kBinsOneHot) ? params.size() - before + 1 : 1;
  }
  if (width > kMaxFrameWidth) {
    v.Fail(ErrorCode::kModelLimit, "produces more than the limit of " + std::to_string(kMaxFrameWidth) + " columns");
  }
  Program& prog = c.prog();
  Op op{OpKind::kBins, flag};
  op.n = static_cast<uint32_t>(n);
  std::vector<uint32_t> slots(n);
  for (size_t j = 0; j < n; ++j) slots[j] = in[j].slot;
  op.in = c.AddInSlots(slots);
  op.out = c.NewSlots(width, v.path());
  op.p = c.AddParams(params);
  op.q = static_cast<uint32_t>(prog.pi.size());
  prog.pi.insert(prog.pi.end(), offsets.begin(), offsets.end());
  prog.ops.push_back(op);
  Frame out(width);
  for (size_t j = 0; j < width; ++j) out[j].slot = op.out + static_cast<uint32_t>(j);
  return out;
}

namespace {
template <bool kOneHot>
void Bins(const Op& op, const Program& p, double* s) {
  const uint32_t* in = p.in_slots.data() + op.in;
  const double* edges = p.pd.data() + op.p;
  const int32_t* off = p.pi.data() + op.q;
  double* out = s + op.out;
  for (uint32_t j = 0; j < op.n; ++j) {
    const double x = s[in[j]];
    const double* lo = edges + off[j];
    const double* hi = edges + off[j + 1];
    // First edge > x; NaN compares greater than no edge, so it gets the last bin (numpy's order).
    const auto b = static_cast<uint32_t>(std::upper_bound(lo, hi, x) - lo);
    if constexpr (kOneHot) {
      const uint32_t n_bins = static_cast<uint32_t>(hi - lo) + 1;
      for (uint32_t k = 0; k < n_bins; ++k) out[k] = k == b ? 1.0 : 0.0;
      out += n_bins;
    } else {
      out[j] = static_cast<double>(b);
    }
  }
}
}  // namespace

void RunBins(const Op& op, const Program& p, double* s) {
  if (op.flag & kBinsOneHot) {
    Bins<true>(op, p, s);
  } else {
    Bins<false>(op, p, s);
  }
}

}  // namespace kiln::internal
