#include "linear.h"

#include "json_reader.h"
#include "spec_limits.h"

namespace kiln::internal {

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
