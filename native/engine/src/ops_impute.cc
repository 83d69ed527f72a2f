// SimpleImputer (+ missing indicators): compile + kernels. The same kernels serve numeric and
// string columns: a string column holds vocabulary codes, and fill / missing strings are
// resolved to codes at load.
#include <cmath>
#include <limits>

#include "compile.h"

namespace kiln::internal {

namespace {

enum class Missing { kNaN, kEq, kNever };

struct OpBuilder {
  OpKind kind;
  std::vector<uint32_t> in;
  std::vector<double> params;
};

uint32_t Emit(Compiler& c, OpBuilder& b, const std::string& path) {
  if (b.in.empty()) return 0;
  Op op{b.kind};
  op.n = static_cast<uint32_t>(b.in.size());
  op.in = c.AddInSlots(b.in);
  op.out = c.NewSlots(b.in.size(), path);
  op.p = c.AddParams(b.params);
  c.prog().ops.push_back(op);
  return op.out;
}

}  // namespace

Frame CompileImputer(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "missing_value", "fill", "indicator"});
  const std::string& path = v.path();
  JVal mv = o.Get("missing_value");
  enum { kNull, kNum, kStr } mv_kind;
  double mv_num = 0.0;
  if (mv.IsNull()) {
    mv_kind = kNull;
  } else if (mv.IsNumber()) {
    mv_kind = kNum;
    mv_num = mv.Finite();
  } else if (mv.IsString()) {
    mv_kind = kStr;
  } else {
    mv.Fail(ErrorCode::kModelSchema, std::string("expected null, a number or a string, got ") + mv.json().type_name());
  }

  // How column j detects a missing value, and the value compared against for kEq.
  auto detect = [&](size_t j, double* eq) -> Missing {
    const Col& col = in[j];
    if (mv_kind == kNull) return Missing::kNaN;
    if (mv_kind == kNum) {
      if (col.is_string) return Missing::kNever;
      *eq = mv_num;
      return Missing::kEq;
    }
    if (!col.is_string) return Missing::kNever;
    *eq = c.Intern(col.origin, mv.Str());
    return Missing::kEq;
  };

  JVal fill = o.Get("fill");
  const size_t n = fill.ArraySize();
  if (n != in.size()) {
    fill.Fail(ErrorCode::kModelInvalid,
              "has " + std::to_string(n) + " entries but the frame has " + std::to_string(in.size()) + " columns");
  }

  OpBuilder nan_op{OpKind::kImputeNaN, {}, {}}, eq_op{OpKind::kImputeEq, {}, {}};
  // Kept column j -> (which op, position in it) or -1 for "unchanged".
  struct Kept { size_t col; int which; size_t pos; };
  std::vector<Kept> kept;
  for (size_t j = 0; j < n; ++j) {
    JVal f = fill.At(j);
    if (f.IsNull()) continue;  // column dropped (statistic was NaN)
    double fill_value = 0.0;
    if (in[j].is_string) {
      if (!f.IsString()) f.Fail(ErrorCode::kModelInvalid, "column " + std::to_string(j) + " is a string column; its fill must be a string");
      fill_value = c.Intern(in[j].origin, f.Str());
    } else {
      if (f.IsString()) f.Fail(ErrorCode::kModelInvalid, "column " + std::to_string(j) + " is numeric; its fill must be a number");
      fill_value = f.Finite();
    }
    double eq = 0.0;
    switch (detect(j, &eq)) {
      case Missing::kNaN:
        kept.push_back({j, 0, nan_op.in.size()});
        nan_op.in.push_back(in[j].slot);
        nan_op.params.push_back(fill_value);
        break;
      case Missing::kEq:
        kept.push_back({j, 1, eq_op.in.size()});
        eq_op.in.push_back(in[j].slot);
        eq_op.params.push_back(eq);
        eq_op.params.push_back(fill_value);
        break;
      case Missing::kNever:
        kept.push_back({j, -1, 0});
        break;
    }
  }

  OpBuilder ind_nan{OpKind::kIndicatorNaN, {}, {}}, ind_eq{OpKind::kIndicatorEq, {}, {}};
  struct Ind { size_t col; int which; size_t pos; };
  std::vector<Ind> inds;
  if (auto iv = o.OptNonNull("indicator")) {
    const size_t m = iv->ArraySize();
    for (size_t k = 0; k < m; ++k) {
      if (in.empty()) iv->At(k).Fail(ErrorCode::kModelInvalid, "the frame has no columns");
      const size_t j = static_cast<size_t>(iv->At(k).Int(0, static_cast<int64_t>(in.size()) - 1));
      double eq = 0.0;
      const Missing how = detect(j, &eq);
      if (how == Missing::kNaN) {
        inds.push_back({j, 0, ind_nan.in.size()});
        ind_nan.in.push_back(in[j].slot);
      } else {
        inds.push_back({j, 1, ind_eq.in.size()});
        ind_eq.in.push_back(in[j].slot);
        // kNever compares against NaN, which equals nothing: a constant 0 column.
        ind_eq.params.push_back(how == Missing::kEq ? eq : std::numeric_limits<double>::quiet_NaN());
      }
    }
  }

  const uint32_t nan_out = Emit(c, nan_op, path);
  const uint32_t eq_out = Emit(c, eq_op, path);
  const uint32_t ind_nan_out = Emit(c, ind_nan, path);
  const uint32_t ind_eq_out = Emit(c, ind_eq, path);

  Frame out;
  out.reserve(kept.size() + inds.size());
  for (const Kept& k : kept) {
    Col col = in[k.col];
    col.named = false;
    if (k.which == 0) col.slot = nan_out + static_cast<uint32_t>(k.pos);
    if (k.which == 1) col.slot = eq_out + static_cast<uint32_t>(k.pos);
    out.push_back(col);
  }
  for (const Ind& k : inds) {
    Col col;
    col.origin = in[k.col].origin;
    col.slot = (k.which == 0 ? ind_nan_out : ind_eq_out) + static_cast<uint32_t>(k.pos);
    out.push_back(col);
  }
  return out;
}

void RunImpute(const Op& op, const Program& p, double* s) {
  const uint32_t* in = p.in_slots.data() + op.in;
  const double* k = p.pd.data() + op.p;
  double* out = s + op.out;
  const uint32_t n = op.n;
  switch (op.kind) {
    case OpKind::kImputeNaN:
      for (uint32_t i = 0; i < n; ++i) {
        const double x = s[in[i]];
        out[i] = std::isnan(x) ? k[i] : x;
      }
      break;
    case OpKind::kImputeEq:
      for (uint32_t i = 0; i < n; ++i) {
        const double x = s[in[i]];
        out[i] = x == k[2 * i] ? k[2 * i + 1] : x;
      }
      break;
    case OpKind::kIndicatorNaN:
      for (uint32_t i = 0; i < n; ++i) out[i] = std::isnan(s[in[i]]) ? 1.0 : 0.0;
      break;
    case OpKind::kIndicatorEq:
      for (uint32_t i = 0; i < n; ++i) out[i] = s[in[i]] == k[i] ? 1.0 : 0.0;
      break;
    default:
      break;
  }
}

}  // namespace kiln::internal
