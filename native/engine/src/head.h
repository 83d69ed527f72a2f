// Turning raw scores into the output row: links (expit / softmax), labels, decision values.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kiln/model.h"

namespace kiln::internal {

enum class Link : uint8_t { kIdentity, kNone, kLogistic, kSoftmax };

class JVal;
// "identity" | "none" | "logistic" | "softmax"; anything else -> KILN_MODEL_UNSUPPORTED.
Link ParseLink(const JVal& v);

// Numerically stable logistic sigmoid (scipy.special.expit).
inline double Expit(double x) {
  if (x < 0.0) {
    const double z = std::exp(x);
    return z / (1.0 + z);
  }
  return 1.0 / (1.0 + std::exp(-x));
}

// numpy.argmax: first maximum.
inline size_t ArgMax(const double* v, size_t n) {
  size_t best = 0;
  for (size_t k = 1; k < n; ++k) {
    if (v[k] > v[best]) best = k;
  }
  return best;
}

// Output writer for estimators that produce raw scores (linear, boosted trees).
struct RawHead {
  Task task = Task::kRegression;
  Link link = Link::kIdentity;
  uint32_t k = 1;            // raw scores
  uint32_t n_classes = 0;
  bool probabilities = false;
  bool decision = false;
  bool label_ge = false;     // K=1 label: raw >= 0 (boosting) instead of raw > 0 (linear)

  // raw: k scores. out: the output row.
  void Write(const double* raw, double* out) const {
    if (task == Task::kRegression) {
      out[0] = raw[0];
      return;
    }
    size_t label;
    if (k == 1) {
      label = (label_ge ? raw[0] >= 0.0 : raw[0] > 0.0) ? 1 : 0;
    } else {
      label = ArgMax(raw, k);
    }
    out[0] = static_cast<double>(label);
    double* o = out + 1;
    if (probabilities) {
      if (link == Link::kLogistic) {
        if (k == 1) {
          const double p = Expit(raw[0]);
          o[0] = 1.0 - p;
          o[1] = p;
        } else {  // one-vs-rest: expit each, then divide by their sum
          double sum = 0.0;
          for (uint32_t c = 0; c < k; ++c) o[c] = Expit(raw[c]);
          for (uint32_t c = 0; c < k; ++c) sum += o[c];
          for (uint32_t c = 0; c < k; ++c) o[c] /= sum;
        }
      } else {  // softmax (sklearn.utils.extmath.softmax: subtract max, exp, divide by sum)
        if (k == 1) {
          const double a = -raw[0], b = raw[0];
          const double m = a > b ? a : b;
          const double ea = std::exp(a - m), eb = std::exp(b - m);
          const double sum = ea + eb;
          o[0] = ea / sum;
          o[1] = eb / sum;
        } else {
          double m = raw[0];
          for (uint32_t c = 1; c < k; ++c) m = raw[c] > m ? raw[c] : m;
          double sum = 0.0;
          for (uint32_t c = 0; c < k; ++c) o[c] = std::exp(raw[c] - m);
          for (uint32_t c = 0; c < k; ++c) sum += o[c];
          for (uint32_t c = 0; c < k; ++c) o[c] /= sum;
        }
      }
      o += n_classes;
    }
    if (decision) {
      for (uint32_t c = 0; c < k; ++c) o[c] = raw[c];
    }
  }
};

}  // namespace kiln::internal
