// Multi-layer perceptron (MLPClassifier / MLPRegressor): dense layers, one hidden activation,
// output link applied by the head (identity / logistic / softmax, as sklearn's out_activation_).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "head.h"

namespace kiln::internal {

class JVal;

struct MlpModel {
  enum class Activation : uint8_t { kIdentity, kRelu, kTanh, kLogistic };

  struct Layer {
    uint32_t n_in = 0, n_out = 0;
    std::vector<double> w;  // n_out x n_in, row-major (sklearn's coefs_[i] transposed)
    std::vector<double> b;  // n_out
  };

  uint32_t n_features = 0;
  uint32_t k = 0;  // outputs of the last layer
  Activation activation = Activation::kRelu;
  Link link = Link::kIdentity;
  std::vector<Layer> layers;
  uint32_t max_hidden = 0;  // widest hidden layer (scratch per row: 2 x max_hidden)

  // x: n_features values; raw: k; tmp: 2 * max_hidden doubles.
  template <Activation A>
  void RawT(const double* x, double* raw, double* tmp) const;
  void Raw(const double* x, double* raw, double* tmp) const;
};

// Parses the `estimator` object of kind "mlp".
void ParseMlp(const JVal& v, MlpModel& out);

}  // namespace kiln::internal
