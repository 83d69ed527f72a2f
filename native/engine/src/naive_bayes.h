// Naive Bayes estimators (GaussianNB, MultinomialNB, BernoulliNB): raw[k] is class k's joint log
// likelihood log P(c_k) + log P(x | c_k), computed as sklearn's _joint_log_likelihood does; the
// head's softmax of it is predict_proba (exp(jll - logsumexp(jll))) and its argmax the label.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "head.h"

namespace kiln::internal {

class JVal;

// numpy's pairwise summation (np.add.reduce over a contiguous row): blocks of 8 partial sums up
// to 128 elements, halving above. Matching it keeps sums over many features bit-close to numpy.
double PairwiseSum(const double* a, size_t n);

struct NaiveBayesModel {
  enum class Dist : uint8_t { kGaussian, kMultinomial, kBernoulli };

  Dist dist = Dist::kGaussian;
  uint32_t n_features = 0;
  uint32_t k = 0;
  // Gaussian: theta / var (k x n_features), log_prior[k], norm[k] = -0.5 * sum(log(2 pi var)).
  std::vector<double> theta, var, log_prior, norm;
  // Multinomial: weight = feature_log_prob, bias = class_log_prior.
  // Bernoulli: weight = flp - log(1 - exp(flp)), bias = class_log_prior + sum(log(1 - exp(flp))).
  std::vector<double> weight, bias;
  bool binarize = false;
  double threshold = 0.0;

  // x: n_features values; tmp: n_features doubles of scratch.
  void Raw(const double* x, double* raw, double* tmp) const;
};

// Parses the `estimator` object of kind "naive_bayes".
void ParseNaiveBayes(const JVal& v, NaiveBayesModel& out);

}  // namespace kiln::internal
