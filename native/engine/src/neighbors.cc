#include "neighbors.h"

#include <cfloat>
#include <cmath>
#include <string>

#include "json_reader.h"
#include "kiln/error.h"
#include "naive_bayes.h"  // PairwiseSum
#include "spec_limits.h"

namespace kiln::internal {

namespace {

// sklearn's DistanceMetric "reduced distance" (rdist): the neighbour search ranks on it, then
// converts the k kept values with _rdist_to_dist. Summed in feature order, as its C loops do.
template <NeighborsModel::Metric M>
inline double RDist(const double* x, const double* y, size_t n, double p) {
  double d = 0.0;
  for (size_t j = 0; j < n; ++j) {
    const double t = x[j] - y[j];
    if constexpr (M == NeighborsModel::Metric::kEuclidean) {
      d += t * t;
    } else if constexpr (M == NeighborsModel::Metric::kManhattan) {
      d += std::fabs(t);
    } else if constexpr (M == NeighborsModel::Metric::kChebyshev) {
      d = std::fmax(d, std::fabs(t));
    } else {
      d += std::pow(std::fabs(t), p);
    }
  }
  return d;
}

template <NeighborsModel::Metric M>
inline double ToDist(double r, double p) {
  if constexpr (M == NeighborsModel::Metric::kEuclidean) {
    return std::sqrt(r);
  } else if constexpr (M == NeighborsModel::Metric::kMinkowski) {
    return std::pow(r, 1.0 / p);
  } else {
    return r;
  }
}

// sklearn.utils._heap.heap_push: a max-heap of the k best so far; `val` enters only when
// strictly smaller than the current worst, so of equal values the one pushed first stays.
inline void HeapPush(double* values, double* indices, size_t size, double val, double idx) {
  if (val >= values[0]) return;
  size_t i = 0;
  for (;;) {
    const size_t c1 = 2 * i + 1, c2 = c1 + 1;
    size_t swap;
    if (c1 >= size) {
      break;
    } else if (c2 >= size) {
      if (values[c1] > val) {
        swap = c1;
      } else {
        break;
      }
    } else if (values[c1] >= values[c2]) {
      if (val < values[c1]) {
        swap = c1;
      } else {
        break;
      }
    } else {
      if (val < values[c2]) {
        swap = c2;
      } else {
        break;
      }
    }
    values[i] = values[swap];
    indices[i] = indices[swap];
    i = swap;
  }
  values[i] = val;
  indices[i] = idx;
}

}  // namespace

template <NeighborsModel::Metric M>
void NeighborsModel::RawT(const double* x, double* raw, double* tmp, size_t row) const {
  const size_t nf = n_features;
  const size_t kk = k;
  double* dist = tmp;        // k reduced distances, then distances
  double* idx = tmp + kk;    // k training row indices (exact as doubles: n_samples < 2^32)
  double* w = tmp + 2 * kk;  // k weights
  for (size_t i = 0; i < kk; ++i) dist[i] = DBL_MAX, idx[i] = -1.0;  // sklearn's heap start
  const double* y = fit_x.data();
  for (size_t s = 0; s < n_samples; ++s, y += nf) {
    HeapPush(dist, idx, kk, RDist<M>(x, y, nf, p), static_cast<double>(s));
  }
  // Ascending distance, ties by index: sklearn's order up to the order among equal distances,
  // which carry equal weights, so every sum below sees the same sequence of values per class.
  for (size_t i = 1; i < kk; ++i) {
    const double d = dist[i], v = idx[i];
    size_t j = i;
    for (; j > 0 && (dist[j - 1] > d || (dist[j - 1] == d && idx[j - 1] > v)); --j) {
      dist[j] = dist[j - 1];
      idx[j] = idx[j - 1];
    }
    dist[j] = d;
    idx[j] = v;
  }
  if (idx[kk - 1] < 0.0) {  // only a distance of DBL_MAX or more (overflow) never enters the heap
    throw Error(ErrorCode::kInputNotFinite,
                "the distance to the training rows overflows (row " + std::to_string(row) + ")", "",
                static_cast<long long>(row));
  }
  for (size_t i = 0; i < kk; ++i) dist[i] = ToDist<M>(dist[i] > 0.0 ? dist[i] : 0.0, p);
  // sklearn _get_weights: w = 1 / dist; in a row where some w is inf (a zero, or subnormal,
  // distance) those neighbours weigh 1 and the others 0. Uniform: every neighbour 1.
  bool any_inf = false;
  for (size_t i = 0; i < kk; ++i) {
    w[i] = distance_weights ? 1.0 / dist[i] : 1.0;
    any_inf |= std::isinf(w[i]);
  }
  if (any_inf) {
    for (size_t i = 0; i < kk; ++i) w[i] = std::isinf(w[i]) ? 1.0 : 0.0;
  }
  if (classifier) {
    // predict_proba: proba[row, class] += weight, neighbour by neighbour; / its sum over classes.
    for (uint32_t c = 0; c < n_classes; ++c) raw[c] = 0.0;
    for (size_t i = 0; i < kk; ++i) raw[y_class[static_cast<size_t>(idx[i])]] += w[i];
    const double sum = PairwiseSum(raw, n_classes);
    for (uint32_t c = 0; c < n_classes; ++c) raw[c] /= sum;
    return;
  }
  // predict: uniform np.mean(y[neigh], axis=1); distance sum(y * w) / sum(w) (numpy sums).
  if (!distance_weights) {
    for (size_t i = 0; i < kk; ++i) w[i] = y_value[static_cast<size_t>(idx[i])];
    raw[0] = PairwiseSum(w, kk) / static_cast<double>(kk);
    return;
  }
  const double den = PairwiseSum(w, kk);
  for (size_t i = 0; i < kk; ++i) w[i] *= y_value[static_cast<size_t>(idx[i])];
  raw[0] = PairwiseSum(w, kk) / den;
}

void NeighborsModel::Raw(const double* x, double* raw, double* tmp, size_t row) const {
  switch (metric) {
    case Metric::kEuclidean:
      return RawT<Metric::kEuclidean>(x, raw, tmp, row);
    case Metric::kManhattan:
      return RawT<Metric::kManhattan>(x, raw, tmp, row);
    case Metric::kChebyshev:
      return RawT<Metric::kChebyshev>(x, raw, tmp, row);
    case Metric::kMinkowski:
      return RawT<Metric::kMinkowski>(x, raw, tmp, row);
  }
}

void ParseNeighbors(const JVal& v, NeighborsModel& out) {
  JObj o(v, {"kind", "n_features", "n_neighbors", "weights", "metric", "p", "fit_X", "n_classes", "y"});
  out.n_features = static_cast<uint32_t>(o.Get("n_features").Int(1, static_cast<int64_t>(kMaxFrameWidth)));
  JVal weights = o.Get("weights");
  if (weights.Str() == "uniform") {
    out.distance_weights = false;
  } else if (weights.Str() == "distance") {
    out.distance_weights = true;
  } else {
    weights.Fail(ErrorCode::kModelUnsupported, "unknown weights '" + weights.Str() + "' (expected uniform or distance)");
  }
  JVal metric = o.Get("metric");
  const std::string& m = metric.Str();
  if (m == "euclidean") {
    out.metric = NeighborsModel::Metric::kEuclidean;
  } else if (m == "manhattan") {
    out.metric = NeighborsModel::Metric::kManhattan;
  } else if (m == "chebyshev") {
    out.metric = NeighborsModel::Metric::kChebyshev;
  } else if (m == "minkowski") {
    out.metric = NeighborsModel::Metric::kMinkowski;
  } else {
    metric.Fail(ErrorCode::kModelUnsupported,
                "unknown metric '" + m + "' (expected euclidean, manhattan, chebyshev or minkowski)");
  }
  if (out.metric == NeighborsModel::Metric::kMinkowski) {
    JVal p = o.Get("p");
    out.p = p.Finite();
    if (!(out.p >= 1.0)) p.Fail(ErrorCode::kModelInvalid, "minkowski p must be >= 1");
  } else if (o.Has("p")) {
    o.Get("p").Fail(ErrorCode::kModelSchema, "only the minkowski metric takes p");
  }

  JVal fit = o.Get("fit_X");
  const size_t n = fit.ArraySize(kMaxNeighborSamples, "training rows");
  if (n == 0) fit.Fail(ErrorCode::kModelInvalid, "needs at least one training row");
  if (n * out.n_features > kMaxNeighborValues) {
    fit.Fail(ErrorCode::kModelLimit, "holds more than the limit of " + std::to_string(kMaxNeighborValues) +
                                         " training values (rows x features)");
  }
  out.n_samples = static_cast<uint32_t>(n);
  out.fit_x.clear();
  out.fit_x.reserve(n * out.n_features);
  for (size_t r = 0; r < n; ++r) fit.At(r).Finites(out.fit_x, out.n_features);

  JVal k = o.Get("n_neighbors");
  const int64_t kv = k.Int(1, static_cast<int64_t>(kMaxNeighbors));
  if (static_cast<size_t>(kv) > n) {
    k.Fail(ErrorCode::kModelInvalid, "n_neighbors = " + std::to_string(kv) + " is more than the " +
                                         std::to_string(n) + " training rows");
  }
  out.k = static_cast<uint32_t>(kv);

  JVal y = o.Get("y");
  if (auto nc = o.Opt("n_classes")) {
    out.classifier = true;
    out.n_classes = static_cast<uint32_t>(nc->Int(1, static_cast<int64_t>(kMaxClasses)));
    std::vector<int64_t> cls;
    y.Ints(cls, 0, static_cast<int64_t>(out.n_classes) - 1, n);
    out.y_class.assign(cls.begin(), cls.end());
  } else {
    out.classifier = false;
    out.n_classes = 0;
    out.y_value.clear();
    y.Finites(out.y_value, n);
  }
}

}  // namespace kiln::internal
