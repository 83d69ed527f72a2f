// Scalers, normalizer and binarizer: compile + kernels.
#include <cfloat>
#include <cmath>

#include "compile.h"

namespace kiln::internal {

namespace {

void ReadColumnParams(const JVal& v, size_t width, std::vector<double>& out) {
  out.clear();
  v.Finites(out, width);
}

}  // namespace

Frame CompileCenterScale(Compiler& c, const JVal& v, const Frame& in, bool robust) {
  const char* center_key = robust ? "center" : "mean";
  JObj o(v, {"kind", center_key, "scale"});
  JVal center = o.Get(center_key);
  JVal scale = o.Get("scale");
  c.RequireNumeric(in, v.path());
  Frame cur = in;
  std::vector<double> params;
  // sklearn: X -= mean_; X /= scale_ (two operations, in this order).
  if (!center.IsNull()) {
    ReadColumnParams(center, in.size(), params);
    cur = c.Elementwise(OpKind::kSub, cur, params, v.path());
  }
  if (!scale.IsNull()) {
    ReadColumnParams(scale, in.size(), params);
    cur = c.Elementwise(OpKind::kDiv, cur, params, v.path());
  }
  return cur;
}

Frame CompileMinMax(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "scale", "min", "clip"});
  c.RequireNumeric(in, v.path());
  std::vector<double> scale, min;
  ReadColumnParams(o.Get("scale"), in.size(), scale);
  ReadColumnParams(o.Get("min"), in.size(), min);
  std::vector<double> clip;
  if (auto cv = o.OptNonNull("clip")) {
    cv->Finites(clip, 2);
    if (!(clip[0] <= clip[1])) cv->Fail(ErrorCode::kModelInvalid, "clip bounds must satisfy lo <= hi");
  }
  // sklearn: X *= scale_; X += min_; then np.clip(X, lo, hi) when clip=True.
  Frame cur = c.Elementwise(OpKind::kMul, in, scale, v.path());
  cur = c.Elementwise(OpKind::kAdd, cur, min, v.path());
  if (!clip.empty()) cur = c.Elementwise(OpKind::kClip, cur, clip, v.path());
  return cur;
}

Frame CompileMaxAbs(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "scale"});
  c.RequireNumeric(in, v.path());
  std::vector<double> scale;
  ReadColumnParams(o.Get("scale"), in.size(), scale);
  return c.Elementwise(OpKind::kDiv, in, scale, v.path());
}

Frame CompileNormalizer(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "norm"});
  JVal normv = o.Get("norm");
  const std::string& norm = normv.Str();
  OpKind kind;
  if (norm == "l1") {
    kind = OpKind::kNormL1;
  } else if (norm == "l2") {
    kind = OpKind::kNormL2;
  } else if (norm == "max") {
    kind = OpKind::kNormMax;
  } else {
    normv.Fail(ErrorCode::kModelUnsupported, "unknown norm '" + norm + "' (expected l1, l2 or max)");
  }
  c.RequireNumeric(in, v.path());
  Frame out = c.Elementwise(kind, in, {}, v.path());
  for (Col& col : out) col.origin = -1;  // every output mixes every input
  return out;
}

Frame CompileBinarizer(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "threshold"});
  const double t = o.Get("threshold").Finite();
  c.RequireNumeric(in, v.path());
  return c.Elementwise(OpKind::kBinarize, in, {t}, v.path());
}

// ---- kernels ----------------------------------------------------------------------------------

void RunElementwise(const Op& op, const Program& p, double* s) {
  const uint32_t* in = p.in_slots.data() + op.in;
  const double* k = p.pd.data() + op.p;
  double* out = s + op.out;
  const uint32_t n = op.n;
  switch (op.kind) {
    case OpKind::kSub:
      for (uint32_t i = 0; i < n; ++i) out[i] = s[in[i]] - k[i];
      break;
    case OpKind::kDiv:
      for (uint32_t i = 0; i < n; ++i) out[i] = s[in[i]] / k[i];
      break;
    case OpKind::kMul:
      for (uint32_t i = 0; i < n; ++i) out[i] = s[in[i]] * k[i];
      break;
    case OpKind::kAdd:
      for (uint32_t i = 0; i < n; ++i) out[i] = s[in[i]] + k[i];
      break;
    case OpKind::kClip: {
      const double lo = k[0], hi = k[1];
      for (uint32_t i = 0; i < n; ++i) {
        double x = s[in[i]];
        if (x < lo) x = lo;
        if (x > hi) x = hi;
        out[i] = x;
      }
      break;
    }
    case OpKind::kBinarize: {
      const double t = k[0];
      for (uint32_t i = 0; i < n; ++i) out[i] = s[in[i]] > t ? 1.0 : 0.0;
      break;
    }
    default:
      break;
  }
}

void RunNormalize(const Op& op, const Program& p, double* s) {
  const uint32_t* in = p.in_slots.data() + op.in;
  double* out = s + op.out;
  const uint32_t n = op.n;
  double norm = 0.0;
  switch (op.kind) {
    case OpKind::kNormL1:
      for (uint32_t i = 0; i < n; ++i) norm += std::fabs(s[in[i]]);
      break;
    case OpKind::kNormL2:
      for (uint32_t i = 0; i < n; ++i) norm += s[in[i]] * s[in[i]];
      norm = std::sqrt(norm);
      break;
    default:  // kNormMax
      for (uint32_t i = 0; i < n; ++i) {
        const double a = std::fabs(s[in[i]]);
        if (a > norm || a != a) norm = a;
      }
      break;
  }
  // sklearn's _handle_zeros_in_scale: norms below 10 * eps count as zero (row left unchanged).
  if (norm < 10.0 * DBL_EPSILON) norm = 1.0;
  for (uint32_t i = 0; i < n; ++i) out[i] = s[in[i]] / norm;
}

}  // namespace kiln::internal
