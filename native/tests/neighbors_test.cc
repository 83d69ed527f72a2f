// k-nearest neighbours: neighbour choice (sklearn's heap rule on ties), votes and weights worked
// out here by hand, zero distances, metrics, batches, load-time refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::ErrorCode;

const char* kTwoClasses = R"({"task": "classification", "classes": ["a", "b"], "probabilities": true})";
const char* kThreeClasses = R"({"task": "classification", "classes": [0, 1, 2], "probabilities": true})";

// A 2-feature k-NN model; extra: more estimator keys (after the required ones).
Spec Knn(int k, const std::string& weights, const std::string& fit_x, const std::string& y, const std::string& output,
         const std::string& extra = R"("metric": "euclidean")") {
  Spec s;
  s.inputs = NumberInputs({"u", "v"});
  const bool classify = output.find("classification") != std::string::npos;
  const std::string n_classes = output.find("[0, 1, 2]") != std::string::npos ? "3" : "2";
  s.estimator = R"({"kind": "neighbors", "n_features": 2, "n_neighbors": )" + std::to_string(k) + R"(, "weights": ")" +
                weights + R"(", "fit_X": )" + fit_x + R"(, "y": )" + y +
                (classify ? R"(, "n_classes": )" + n_classes : std::string()) + ", " + extra + "}";
  s.output = output;
  return s;
}

TEST(Neighbors, EqualDistancesLowerTrainingRowWins) {
  // Rows 0 and 1 are both at distance 1 from the origin; k = 1 keeps the first one pushed.
  auto m = Load(Knn(1, "uniform", "[[1, 0], [-1, 0], [5, 5]]", "[1, 0, 0]", kTwoClasses));
  auto out = Predict(*m, {0, 0});
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 0);
  EXPECT_EQ(out[2], 1);
  // The same rows in the other order: the other class.
  m = Load(Knn(1, "uniform", "[[-1, 0], [1, 0], [5, 5]]", "[0, 1, 0]", kTwoClasses));
  EXPECT_EQ(Predict(*m, {0, 0})[0], 0);
  // Three rows tied for the last two places (k = 3): the two lower indices are kept.
  m = Load(Knn(3, "uniform", "[[0, 0.5], [0, 2], [2, 0], [0, -2], [-2, 0]]", "[0, 1, 1, 2, 2]", kThreeClasses));
  out = Predict(*m, {0, 0});
  EXPECT_EQ(out[1], 1.0 / 3);
  EXPECT_EQ(out[2], 2.0 / 3);
  EXPECT_EQ(out[3], 0.0);
}

TEST(Neighbors, VoteTieGoesToTheLowerClass) {
  auto m = Load(Knn(2, "uniform", "[[1, 0], [0, 2], [9, 9]]", "[1, 0, 1]", kTwoClasses));
  auto out = Predict(*m, {0, 0});
  EXPECT_EQ(out[0], 0);  // one vote each: argmax keeps the first class
  EXPECT_EQ(out[1], 0.5);
  EXPECT_EQ(out[2], 0.5);
}

TEST(Neighbors, DistanceWeights) {
  auto m = Load(Knn(3, "distance", "[[3, 4], [0, 1], [0, -2], [10, 10]]", "[0, 1, 0, 1]", kTwoClasses));
  auto out = Predict(*m, {0, 0});
  // Neighbours in distance order: row 1 (1, class 1), row 2 (2, class 0), row 0 (5, class 0).
  const double c0 = 1.0 / 2 + 1.0 / 5, c1 = 1.0 / 1;
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], c0 / (c0 + c1));
  EXPECT_EQ(out[2], c1 / (c0 + c1));
}

TEST(Neighbors, ZeroDistanceTakesAllTheWeight) {
  // The query is training row 2: sklearn weighs the zero-distance neighbours 1, the others 0.
  auto m = Load(Knn(3, "distance", "[[0, 0.001], [0, 0.002], [1, 1], [1, 1]]", "[0, 0, 1, 1]", kTwoClasses));
  auto out = Predict(*m, {1, 1});
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 0.0);
  EXPECT_EQ(out[2], 1.0);
  // Two zero-distance rows of different classes share it.
  m = Load(Knn(3, "distance", "[[2, 2], [0, 0.5], [2, 2]]", "[0, 0, 1]", kTwoClasses));
  out = Predict(*m, {2, 2});
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 0.5);
  EXPECT_EQ(out[2], 0.5);
  // Regressor: the mean of the zero-distance targets only.
  m = Load(Knn(3, "distance", "[[2, 2], [0, 0.5], [2, 2]]", "[4, 100, 7]", R"({"task": "regression"})"));
  EXPECT_EQ(Predict(*m, {2, 2})[0], 5.5);
}

TEST(Neighbors, Regressor) {
  const std::string fit = "[[0, 1], [0, 3], [4, 0], [0, -10]]", y = "[10, 20, 40, 1000]";
  auto m = Load(Knn(3, "uniform", fit, y, R"({"task": "regression"})"));
  EXPECT_EQ(Predict(*m, {0, 0})[0], (10.0 + 20.0 + 40.0) / 3);
  m = Load(Knn(3, "distance", fit, y, R"({"task": "regression"})"));
  const double w0 = 1.0, w1 = 1.0 / 3, w2 = 1.0 / 4;
  EXPECT_DOUBLE_EQ(Predict(*m, {0, 0})[0], (10 * w0 + 20 * w1 + 40 * w2) / (w0 + w1 + w2));
}

TEST(Neighbors, Metrics) {
  // From (0, 0): row 0 (3, 3) and row 1 (0, 5). Euclidean 4.24 / 5, manhattan 6 / 5,
  // chebyshev 3 / 5, minkowski p = 4: 3.57 / 5. k = 1 picks the nearer.
  const std::string fit = "[[3, 3], [0, 5]]", y = "[0, 1]";
  auto label = [&](const std::string& metric) {
    return Predict(*Load(Knn(1, "uniform", fit, y, kTwoClasses, metric)), {0, 0})[0];
  };
  EXPECT_EQ(label(R"("metric": "euclidean")"), 0);
  EXPECT_EQ(label(R"("metric": "manhattan")"), 1);
  EXPECT_EQ(label(R"("metric": "chebyshev")"), 0);
  EXPECT_EQ(label(R"("metric": "minkowski", "p": 4)"), 0);
  EXPECT_EQ(label(R"("metric": "minkowski", "p": 1)"), 1);
  // Distance weights see the metric's distance: manhattan 6 and 5.
  auto m = Load(Knn(2, "distance", fit, y, kTwoClasses, R"("metric": "manhattan")"));
  auto out = Predict(*m, {0, 0});
  EXPECT_EQ(out[1], (1.0 / 6) / (1.0 / 6 + 1.0 / 5));
  m = Load(Knn(2, "distance", fit, y, kTwoClasses, R"("metric": "minkowski", "p": 3)"));
  out = Predict(*m, {0, 0});
  const double d0 = std::pow(27.0 + 27.0, 1.0 / 3), d1 = std::pow(125.0, 1.0 / 3);
  EXPECT_EQ(out[1], (1.0 / d0) / (1.0 / d0 + 1.0 / d1));
}

TEST(Neighbors, BatchEqualsRowByRow) {
  auto m = Load(Knn(3, "distance", "[[0, 0], [1, 0], [0, 1], [1, 1], [2, 2], [3, 1]]", "[0, 1, 2, 0, 1, 2]",
                    kThreeClasses));
  const std::vector<double> rows = {0.1, 0.2, 1, 1, 2.5, 1.5, -1, 0, 3, 1, 0.5, 0.5};
  std::vector<double> out(6 * m->output_width());
  auto ws = m->NewWorkspace();
  m->Predict(rows.data(), 6, out.data(), *ws);
  for (size_t r = 0; r < 6; ++r) {
    auto one = Predict(*m, {rows[2 * r], rows[2 * r + 1]});
    for (size_t j = 0; j < one.size(); ++j) EXPECT_EQ(out[r * one.size() + j], one[j]) << r << " " << j;
  }
}

TEST(Neighbors, OverflowingDistanceIsAnInputError) {
  // (1e200 - -1e200)^2 is inf: fewer than k = 2 rows have a finite distance.
  auto m = Load(Knn(2, "uniform", "[[1e200, 0], [0, 0]]", "[0, 1]", kTwoClasses));
  ExpectError([&] { Predict(*m, {-1e200, 0}); }, ErrorCode::kInputNotFinite, "overflows (row 0)");
  // From (1, 0) row 0 is at an infinite distance, row 1 at 1: with k = 1 that is enough.
  m = Load(Knn(1, "uniform", "[[1e200, 0], [0, 0]]", "[0, 1]", kTwoClasses));
  EXPECT_EQ(Predict(*m, {1, 0})[0], 1);
}

TEST(Neighbors, ExportedModelVerifies) {
  // The fuzz seed is a real export (scaler + KNeighborsClassifier, minkowski p=3, distance
  // weights, 13 iris rows): its verification rows hold sklearn's answers.
  auto m = kiln::Model::LoadFile(std::string(KILN_SOURCE_DIR) + "/native/fuzz/seeds/model_load/knn_minkowski_distance.json");
  EXPECT_GT(m->verification().rows_checked, 0u);
  EXPECT_LE(m->verification().max_abs_error, 1e-12);
}

TEST(Neighbors, LoadErrors) {
  const std::string fit = "[[0, 0], [1, 1]]";
  ExpectLoadError(Knn(3, "uniform", fit, "[0, 1]", kTwoClasses), ErrorCode::kModelInvalid,
                  "estimator.n_neighbors: n_neighbors = 3 is more than the 2 training rows");
  ExpectLoadError(Knn(0, "uniform", fit, "[0, 1]", kTwoClasses), ErrorCode::kModelInvalid, "estimator.n_neighbors");
  ExpectLoadError(Knn(1, "uniform", fit, "[0, 2]", kTwoClasses), ErrorCode::kModelInvalid, "estimator.y");
  ExpectLoadError(Knn(1, "uniform", fit, "[0]", kTwoClasses), ErrorCode::kModelInvalid, "expected 2 values");
  ExpectLoadError(Knn(1, "uniform", "[[0, 0], [1]]", "[0, 1]", kTwoClasses), ErrorCode::kModelInvalid,
                  "estimator.fit_X[1]");
  ExpectLoadError(Knn(1, "uniform", "[]", "[]", kTwoClasses), ErrorCode::kModelInvalid, "at least one training row");
  ExpectLoadError(Knn(1, "gaussian", fit, "[0, 1]", kTwoClasses), ErrorCode::kModelUnsupported, "unknown weights");
  ExpectLoadError(Knn(1, "uniform", fit, "[0, 1]", kTwoClasses, R"("metric": "cosine")"),
                  ErrorCode::kModelUnsupported, "unknown metric 'cosine'");
  ExpectLoadError(Knn(1, "uniform", fit, "[0, 1]", kTwoClasses, R"("metric": "minkowski", "p": 0.5)"),
                  ErrorCode::kModelInvalid, "p must be >= 1");
  ExpectLoadError(Knn(1, "uniform", fit, "[0, 1]", kTwoClasses, R"("metric": "euclidean", "p": 2)"),
                  ErrorCode::kModelSchema, "only the minkowski metric takes p");
  // Classifier estimator, regression output, and the reverse; class count mismatch.
  Spec s = Knn(1, "uniform", fit, "[0, 1]", kTwoClasses);
  s.output = R"({"task": "regression"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid);
  s = Knn(1, "uniform", fit, "[0.5, 1]", R"({"task": "regression"})");
  s.output = kTwoClasses;
  ExpectLoadError(s, ErrorCode::kModelInvalid);
  s = Knn(1, "uniform", fit, "[0, 1]", kTwoClasses);
  s.output = kThreeClasses;
  ExpectLoadError(s, ErrorCode::kModelInvalid, "classes");
  // Non-finite training values and targets.
  ExpectLoadError(Knn(1, "uniform", "[[0, 0], [1, NaN]]", "[0, 1]", kTwoClasses), ErrorCode::kModelInvalid,
                  "estimator.fit_X[1][1]: expected a finite number");
  ExpectLoadError(Knn(1, "uniform", fit, "[0, 1e999]", R"({"task": "regression"})"), ErrorCode::kModelInvalid,
                  "estimator.y[1]: expected a finite number");
}

}  // namespace
}  // namespace kiln_test
