// KBinsDiscretizer and PolynomialFeatures steps, expected numbers worked out by hand.
#include <gtest/gtest.h>

#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::ErrorCode;

TEST(KBins, OrdinalIsSearchsortedRight) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"}, {"a"});
  s.transform = R"({"kind": "kbins_discretizer", "edges": [[1, 2, 2, 3], []], "encode": "ordinal"})";
  Probe(s, 2);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {0.5, 7}), (std::vector<double>{0, 0}));  // below the first edge; constant column
  EXPECT_EQ(Frame(*m, {1, 7})[0], 1);                            // on an edge: the bin above it
  EXPECT_EQ(Frame(*m, {std::nextafter(1.0, 0.0), 7})[0], 0);
  EXPECT_EQ(Frame(*m, {2, 7})[0], 3);                            // repeated edge: after both
  EXPECT_EQ(Frame(*m, {2.5, 7})[0], 3);
  EXPECT_EQ(Frame(*m, {3, 7})[0], 4);
  EXPECT_EQ(Frame(*m, {1e300, 7})[0], 4);                        // beyond the fitted range: last bin
  EXPECT_EQ(Frame(*m, {kNaN, 7})[0], 4);                         // numpy sorts NaN last
}

TEST(KBins, OneHotColumnsPerInput) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.transform = R"({"kind": "kbins_discretizer", "edges": [[0], [10, 20]], "encode": "onehot"})";
  Probe(s, 5);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {-1, 15}), (std::vector<double>{1, 0, 0, 1, 0}));
  EXPECT_EQ(Frame(*m, {0, 20}), (std::vector<double>{0, 1, 0, 0, 1}));
}

TEST(KBins, LoadErrors) {
  Spec s;
  s.transform = R"({"kind": "kbins_discretizer", "edges": [[2, 1]], "encode": "ordinal"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.edges[0][1]: edges must be sorted ascending");
  s.transform = R"({"kind": "kbins_discretizer", "edges": [[1], [2]], "encode": "ordinal"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.edges: has 2 entries but the frame has 1 columns");
  s.transform = R"({"kind": "kbins_discretizer", "edges": [[1]], "encode": "onehot-sparse"})";
  ExpectLoadError(s, ErrorCode::kModelUnsupported, "unknown encode 'onehot-sparse'");
  s.transform = R"({"kind": "kbins_discretizer", "edges": [[null]], "encode": "ordinal"})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "transform.edges[0][0]");
  s.transform = R"({"kind": "kbins_discretizer", "edges": [[1]], "encode": "ordinal", "strategy": "uniform"})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "transform.strategy: unknown key");
}

TEST(PolynomialFeatures, TermsInPowersOrder) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.transform = R"({"kind": "polynomial_features", "powers": [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2], [2, 1]]})";
  Probe(s, 7);
  EXPECT_EQ(Frame(*Load(s), {3, 5}), (std::vector<double>{1, 3, 5, 9, 15, 25, 45}));
}

TEST(PolynomialFeatures, FactorsMultipliedFromTheHighestFeatureDown) {
  // sklearn computes x0*x1*x2 as (x2*x1)*x0; with these values the other groupings round differently.
  const double x0 = 0.1, x1 = 0.7, x2 = 3.3;
  volatile double a = x2 * x1;
  const double sklearn = a * x0;
  volatile double b = x0 * x1;
  ASSERT_NE(sklearn, b * x2) << "pick values where the grouping matters";
  Spec s;
  s.inputs = NumberInputs({"a", "b", "c"});
  s.transform = R"({"kind": "polynomial_features", "powers": [[1, 1, 1]]})";
  EXPECT_EQ(Frame(*Load(s), {x0, x1, x2})[0], sklearn);
}

TEST(PolynomialFeatures, LoadErrors) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.transform = R"({"kind": "polynomial_features", "powers": [[2, 2]]})";
  ExpectLoadError(s, ErrorCode::kModelUnsupported, "transform.powers[0]: total degree 4 is more than 3");
  s.transform = R"({"kind": "polynomial_features", "powers": [[4, 0]]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.powers[0][0]");
  s.transform = R"({"kind": "polynomial_features", "powers": [[1]]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.powers[0]: expected 2 values, got 1");
  s.transform = R"({"kind": "polynomial_features", "powers": []})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "needs at least one term");
}

}  // namespace
}  // namespace kiln_test
