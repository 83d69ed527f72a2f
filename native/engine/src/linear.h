// Linear estimator: raw[k] = sum_j coef[k][j] * x[j] (in j order) + intercept[k].
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "head.h"

namespace kiln::internal {

class JVal;

struct LinearModel {
  uint32_t n_features = 0;
  uint32_t k = 0;
  std::vector<double> coef;  // k x n_features, row-major
  std::vector<double> intercept;
  Link link = Link::kIdentity;

  void Raw(const double* x, double* raw) const {
    const size_t n = n_features;
    const double* c = coef.data();
    for (uint32_t r = 0; r < k; ++r, c += n) {
      double sum = 0.0;
      for (size_t j = 0; j < n; ++j) sum += c[j] * x[j];
      raw[r] = sum + intercept[r];
    }
  }
};

// Parses the `estimator` object of kind "linear" (LIMIT / SCHEMA / INVALID as the spec says).
void ParseLinear(const JVal& v, LinearModel& out);

}  // namespace kiln::internal
