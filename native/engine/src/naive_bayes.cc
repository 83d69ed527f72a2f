#include "naive_bayes.h"

#include <cmath>

#include "json_reader.h"
#include "spec_limits.h"

namespace kiln::internal {

namespace {
// numpy's PW_BLOCKSIZE (numpy/_core/src/umath/loops_utils.h.src).
constexpr size_t kPairwiseBlock = 128;
constexpr double kPi = 3.141592653589793;

void ReadMatrix(const JVal& v, size_t rows, size_t cols, std::vector<double>& out) {
  const size_t n = v.ArraySize(kMaxClasses, "rows");
  if (n != rows) v.Fail(ErrorCode::kModelInvalid, "expected " + std::to_string(rows) + " rows, got " + std::to_string(n));
  out.clear();
  out.reserve(rows * cols);
  for (size_t r = 0; r < rows; ++r) v.At(r).Finites(out, cols);
}

// x . w + b in feature order.
inline double Dot(const double* w, const double* x, size_t n) {
  double sum = 0.0;
  for (size_t j = 0; j < n; ++j) sum += w[j] * x[j];
  return sum;
}
}  // namespace

double PairwiseSum(const double* a, size_t n) {
  if (n < 8) {
    double res = -0.0;  // numpy starts from -0.0 to keep the sign of zero
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= kPairwiseBlock) {
    double r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return PairwiseSum(a, n2) + PairwiseSum(a + n2, n - n2);
}

void NaiveBayesModel::Raw(const double* x, double* raw, double* tmp) const {
  const size_t n = n_features;
  switch (dist) {
    case Dist::kGaussian:
      for (uint32_t c = 0; c < k; ++c) {
        const double* th = theta.data() + c * n;
        const double* va = var.data() + c * n;
        for (size_t j = 0; j < n; ++j) {
          const double d = x[j] - th[j];
          tmp[j] = (d * d) / va[j];
        }
        // sklearn: n_ij = -0.5 * sum(log(2 pi var)); n_ij -= 0.5 * sum(...); log(prior) + n_ij
        raw[c] = log_prior[c] + (norm[c] - 0.5 * PairwiseSum(tmp, n));
      }
      break;
    case Dist::kMultinomial:
      for (uint32_t c = 0; c < k; ++c) raw[c] = Dot(weight.data() + c * n, x, n) + bias[c];
      break;
    case Dist::kBernoulli: {
      const double* xb = x;
      if (binarize) {
        for (size_t j = 0; j < n; ++j) tmp[j] = x[j] > threshold ? 1.0 : 0.0;
        xb = tmp;
      }
      for (uint32_t c = 0; c < k; ++c) raw[c] = Dot(weight.data() + c * n, xb, n) + bias[c];
      break;
    }
  }
}

void ParseNaiveBayes(const JVal& v, NaiveBayesModel& out) {
  auto dist_it = v.json().find("distribution");
  if (dist_it == v.json().end()) v.Fail(ErrorCode::kModelSchema, "missing key 'distribution'");
  JVal dist(*dist_it, KeyPath(v.path(), "distribution"));
  const std::string& d = dist.Str();
  if (d == "gaussian") {
    out.dist = NaiveBayesModel::Dist::kGaussian;
    JObj o(v, {"kind", "distribution", "n_features", "class_prior", "theta", "var"});
    out.n_features = static_cast<uint32_t>(o.Get("n_features").Int(1, static_cast<int64_t>(kMaxFrameWidth)));
    JVal prior = o.Get("class_prior");
    std::vector<double> p;
    prior.Finites(p);
    if (p.size() < 2 || p.size() > kMaxClasses) prior.Fail(ErrorCode::kModelInvalid, "needs 2 or more classes");
    out.k = static_cast<uint32_t>(p.size());
    ReadMatrix(o.Get("theta"), out.k, out.n_features, out.theta);
    JVal varv = o.Get("var");
    ReadMatrix(varv, out.k, out.n_features, out.var);
    out.log_prior.clear();
    out.norm.clear();
    std::vector<double> logs(out.n_features);
    for (uint32_t c = 0; c < out.k; ++c) {
      if (!(p[c] > 0.0)) prior.At(c).Fail(ErrorCode::kModelInvalid, "class priors must be > 0");
      out.log_prior.push_back(std::log(p[c]));
      for (size_t j = 0; j < out.n_features; ++j) {
        const double s2 = out.var[c * out.n_features + j];
        if (!(s2 > 0.0)) varv.At(c).At(j).Fail(ErrorCode::kModelInvalid, "variances must be > 0");
        logs[j] = std::log(2.0 * kPi * s2);
      }
      out.norm.push_back(-0.5 * PairwiseSum(logs.data(), logs.size()));
    }
    return;
  }
  if (d != "multinomial" && d != "bernoulli") {
    dist.Fail(ErrorCode::kModelUnsupported, "unknown distribution '" + d + "' (expected gaussian, multinomial or bernoulli)");
  }
  const bool bernoulli = d == "bernoulli";
  out.dist = bernoulli ? NaiveBayesModel::Dist::kBernoulli : NaiveBayesModel::Dist::kMultinomial;
  JObj o(v, bernoulli ? std::initializer_list<std::string_view>{"kind", "distribution", "n_features", "class_log_prior",
                                                                 "feature_log_prob", "binarize"}
                      : std::initializer_list<std::string_view>{"kind", "distribution", "n_features", "class_log_prior",
                                                                 "feature_log_prob"});
  out.n_features = static_cast<uint32_t>(o.Get("n_features").Int(1, static_cast<int64_t>(kMaxFrameWidth)));
  JVal clp = o.Get("class_log_prior");
  out.bias.clear();
  clp.Finites(out.bias);
  if (out.bias.size() < 2 || out.bias.size() > kMaxClasses) clp.Fail(ErrorCode::kModelInvalid, "needs 2 or more classes");
  out.k = static_cast<uint32_t>(out.bias.size());
  JVal flp = o.Get("feature_log_prob");
  ReadMatrix(flp, out.k, out.n_features, out.weight);
  if (!bernoulli) return;
  if (auto b = o.OptNonNull("binarize")) {
    out.binarize = true;
    out.threshold = b->Finite();
  }
  // sklearn: neg_prob = log(1 - exp(flp)); jll = X @ (flp - neg_prob).T; jll += clp + neg_prob.sum(axis=1)
  std::vector<double> neg(out.n_features);
  for (uint32_t c = 0; c < out.k; ++c) {
    double* w = out.weight.data() + c * out.n_features;
    for (size_t j = 0; j < out.n_features; ++j) {
      if (!(w[j] < 0.0)) flp.At(c).At(j).Fail(ErrorCode::kModelInvalid, "a Bernoulli log probability must be < 0");
      neg[j] = std::log(1.0 - std::exp(w[j]));
      w[j] = w[j] - neg[j];
    }
    out.bias[c] = out.bias[c] + PairwiseSum(neg.data(), neg.size());
  }
}

}  // namespace kiln::internal
