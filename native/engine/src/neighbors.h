// k-nearest-neighbours estimators (KNeighborsClassifier / KNeighborsRegressor), brute force over
// the training rows stored in the model. Distances are computed as sklearn's DistanceMetric does
// (the KD-tree / ball-tree path: euclidean = sqrt of the sum of squared differences in feature
// order), the k smallest kept with sklearn's heap rule (a later row only displaces a strictly
// farther one, so among equal distances the lower training index wins), then voted / averaged
// as KNeighborsClassifier.predict_proba / KNeighborsRegressor.predict do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::internal {

class JVal;

struct NeighborsModel {
  enum class Metric : uint8_t { kEuclidean, kManhattan, kChebyshev, kMinkowski };

  Metric metric = Metric::kEuclidean;
  double p = 2.0;              // minkowski only
  bool distance_weights = false;
  bool classifier = false;
  uint32_t n_features = 0;
  uint32_t n_samples = 0;
  uint32_t k = 0;              // n_neighbors, 1 <= k <= n_samples
  uint32_t n_classes = 0;      // classifier only
  std::vector<double> fit_x;   // n_samples x n_features, row-major
  std::vector<uint32_t> y_class;  // classifier: class index per training row
  std::vector<double> y_value;    // regressor: target per training row

  // Doubles of per-row scratch Raw needs (heap of k distances + k indices + k weights).
  size_t TmpSize() const { return 3 * static_cast<size_t>(k); }
  // Width of raw: the class scores (classifier) or the prediction (regressor).
  uint32_t RawWidth() const { return classifier ? n_classes : 1; }

  // x: n_features values. raw: classifier -> predict_proba row; regressor -> raw[0] = prediction.
  // tmp: TmpSize() doubles. row: for the error message of a distance that overflows.
  void Raw(const double* x, double* raw, double* tmp, size_t row) const;

  template <Metric M>
  void RawT(const double* x, double* raw, double* tmp, size_t row) const;
};

// Parses the `estimator` object of kind "neighbors" (a classifier when it has "n_classes").
void ParseNeighbors(const JVal& v, NeighborsModel& out);

}  // namespace kiln::internal
