#include "mlp.h"

#include <cmath>

#include "json_reader.h"
#include "spec_limits.h"

namespace kiln::internal {

namespace {
// Engine guards: layers per network (sklearn has no limit; real models have a handful) and
// weights per layer (64 Mi doubles = 512 MiB).
constexpr size_t kMaxLayers = 64;
constexpr double kMaxLayerWeights = static_cast<double>(size_t{1} << 26);

// out[o] = dot(w[o], in) + b[o] (sklearn: activations @ coefs_[i] + intercepts_[i]).
inline void Dense(const MlpModel::Layer& l, const double* in, double* out) {
  const double* w = l.w.data();
  for (uint32_t o = 0; o < l.n_out; ++o, w += l.n_in) {
    double sum = 0.0;
    for (uint32_t j = 0; j < l.n_in; ++j) sum += w[j] * in[j];
    out[o] = sum + l.b[o];
  }
}

template <MlpModel::Activation A>
inline void Activate(double* v, uint32_t n) {
  using Act = MlpModel::Activation;
  for (uint32_t i = 0; i < n; ++i) {
    if constexpr (A == Act::kRelu) {
      v[i] = v[i] > 0.0 ? v[i] : 0.0;  // np.maximum(X, 0)
    } else if constexpr (A == Act::kTanh) {
      v[i] = std::tanh(v[i]);
    } else if constexpr (A == Act::kLogistic) {
      v[i] = Expit(v[i]);
    }
  }
}
}  // namespace

template <MlpModel::Activation A>
void MlpModel::RawT(const double* x, double* raw, double* tmp) const {
  const double* in = x;
  double* bufs[2] = {tmp, tmp + max_hidden};
  const size_t last = layers.size() - 1;
  for (size_t i = 0; i < last; ++i) {
    double* out = bufs[i & 1];
    Dense(layers[i], in, out);
    Activate<A>(out, layers[i].n_out);
    in = out;
  }
  Dense(layers[last], in, raw);
}

void MlpModel::Raw(const double* x, double* raw, double* tmp) const {
  switch (activation) {
    case Activation::kIdentity:
      RawT<Activation::kIdentity>(x, raw, tmp);
      break;
    case Activation::kRelu:
      RawT<Activation::kRelu>(x, raw, tmp);
      break;
    case Activation::kTanh:
      RawT<Activation::kTanh>(x, raw, tmp);
      break;
    case Activation::kLogistic:
      RawT<Activation::kLogistic>(x, raw, tmp);
      break;
  }
}

void ParseMlp(const JVal& v, MlpModel& out) {
  JObj o(v, {"kind", "n_features", "activation", "layers", "link"});
  out.n_features = static_cast<uint32_t>(o.Get("n_features").Int(1, static_cast<int64_t>(kMaxFrameWidth)));
  JVal act = o.Get("activation");
  const std::string& a = act.Str();
  if (a == "identity") {
    out.activation = MlpModel::Activation::kIdentity;
  } else if (a == "relu") {
    out.activation = MlpModel::Activation::kRelu;
  } else if (a == "tanh") {
    out.activation = MlpModel::Activation::kTanh;
  } else if (a == "logistic") {
    out.activation = MlpModel::Activation::kLogistic;
  } else {
    act.Fail(ErrorCode::kModelUnsupported, "unknown activation '" + a + "' (expected identity, relu, tanh or logistic)");
  }
  JVal link = o.Get("link");
  out.link = ParseLink(link);
  if (out.link == Link::kNone) link.Fail(ErrorCode::kModelInvalid, "an MLP's output link is identity, logistic or softmax");
  JVal layers = o.Get("layers");
  const size_t n = layers.ArraySize(kMaxLayers, "layers");
  if (n == 0) layers.Fail(ErrorCode::kModelInvalid, "needs at least one layer");
  out.layers.assign(n, {});
  out.max_hidden = 0;
  uint32_t width = out.n_features;
  std::vector<double> coef;
  for (size_t i = 0; i < n; ++i) {
    JObj lo(layers.At(i), {"coef", "intercept"});
    MlpModel::Layer& l = out.layers[i];
    l.n_in = width;
    JVal intercept = lo.Get("intercept");
    intercept.Finites(l.b);
    if (l.b.empty() || l.b.size() > kMaxFrameWidth) intercept.Fail(ErrorCode::kModelInvalid, "needs 1 or more units");
    l.n_out = static_cast<uint32_t>(l.b.size());
    // coef is sklearn's coefs_[i]: n_in rows of n_out weights; stored transposed for the dot.
    JVal cv = lo.Get("coef");
    const size_t rows = cv.ArraySize(kMaxFrameWidth, "rows");
    if (rows != l.n_in) {
      cv.Fail(ErrorCode::kModelInvalid, "has " + std::to_string(rows) + " rows but the layer receives " +
                                            std::to_string(l.n_in) + " values");
    }
    if (static_cast<double>(l.n_in) * l.n_out > kMaxLayerWeights) {
      cv.Fail(ErrorCode::kModelLimit, "layer too large");
    }
    coef.clear();
    coef.reserve(static_cast<size_t>(l.n_in) * l.n_out);
    for (size_t r = 0; r < rows; ++r) cv.At(r).Finites(coef, l.n_out);
    l.w.resize(coef.size());
    for (uint32_t r = 0; r < l.n_in; ++r) {
      for (uint32_t c = 0; c < l.n_out; ++c) l.w[static_cast<size_t>(c) * l.n_in + r] = coef[static_cast<size_t>(r) * l.n_out + c];
    }
    if (i + 1 < n && l.n_out > out.max_hidden) out.max_hidden = l.n_out;
    width = l.n_out;
  }
  out.k = width;
}

}  // namespace kiln::internal
