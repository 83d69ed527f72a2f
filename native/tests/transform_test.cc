// Every transform step kind, with expected numbers worked out by hand.
#include <gtest/gtest.h>

#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::ErrorCode;

TEST(Scalers, StandardScalerSubtractsThenDivides) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.transform = R"({"kind": "standard_scaler", "mean": [1, 2], "scale": [2, 4]})";
  Probe(s, 2);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {5, 10}), (std::vector<double>{2, 2}));
  EXPECT_EQ(Frame(*m, {1, -2}), (std::vector<double>{0, -1}));
}

TEST(Scalers, StandardScalerTwoOperationsNotFused) {
  // (x - mean) / scale as two roundings: 0.3 - 0.1 = 0.19999999999999998, / 0.7.
  Spec s;
  s.transform = R"({"kind": "standard_scaler", "mean": [0.1], "scale": [0.7]})";
  auto m = Load(s);
  volatile double d = 0.3 - 0.1;
  EXPECT_EQ(Frame(*m, {0.3})[0], d / 0.7);
}

TEST(Scalers, StandardScalerNullMeanAndNaNPassThrough) {
  Spec s;
  s.inputs = NumberInputs({"x"}, {"x"});
  s.transform = R"({"kind": "standard_scaler", "mean": null, "scale": [4]})";
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {2})[0], 0.5);
  EXPECT_TRUE(std::isnan(Frame(*m, {kNaN})[0]));
}

TEST(Scalers, RobustScaler) {
  Spec s;
  s.transform = R"({"kind": "robust_scaler", "center": [3], "scale": [0.5]})";
  EXPECT_EQ(Frame(*Load(s), {4})[0], 2.0);
  s.transform = R"({"kind": "robust_scaler", "center": [3], "scale": null})";
  EXPECT_EQ(Frame(*Load(s), {4})[0], 1.0);
}

TEST(Scalers, MinMaxScalerWithClip) {
  Spec s;
  s.transform = R"({"kind": "min_max_scaler", "scale": [0.5], "min": [-1], "clip": [0, 1]})";
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {3})[0], 0.5);
  EXPECT_EQ(Frame(*m, {10})[0], 1.0);
  EXPECT_EQ(Frame(*m, {-4})[0], 0.0);
  s.transform = R"({"kind": "min_max_scaler", "scale": [0.5], "min": [-1], "clip": null})";
  EXPECT_EQ(Frame(*Load(s), {10})[0], 4.0);
}

TEST(Scalers, MaxAbsScaler) {
  Spec s;
  s.transform = R"({"kind": "max_abs_scaler", "scale": [4]})";
  EXPECT_EQ(Frame(*Load(s), {-2})[0], -0.5);
}

TEST(Normalizer, Norms) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  Probe(s, 2);
  s.transform = R"({"kind": "normalizer", "norm": "l1"})";
  EXPECT_EQ(Frame(*Load(s), {3, -1}), (std::vector<double>{0.75, -0.25}));
  s.transform = R"({"kind": "normalizer", "norm": "l2"})";
  EXPECT_EQ(Frame(*Load(s), {3, 4}), (std::vector<double>{0.6, 0.8}));
  EXPECT_EQ(Frame(*Load(s), {0, 0}), (std::vector<double>{0, 0}));
  // Below sklearn's 10 * eps threshold the row is left unchanged.
  EXPECT_EQ(Frame(*Load(s), {1e-16, 0}), (std::vector<double>{1e-16, 0}));
  s.transform = R"({"kind": "normalizer", "norm": "max"})";
  EXPECT_EQ(Frame(*Load(s), {3, -6}), (std::vector<double>{0.5, -1}));
}

TEST(Binarizer, StrictlyGreater) {
  Spec s;
  s.inputs = NumberInputs({"a", "b", "c"});
  s.transform = R"({"kind": "binarizer", "threshold": 1})";
  Probe(s, 3);
  EXPECT_EQ(Frame(*Load(s), {0.5, 1, 2}), (std::vector<double>{0, 0, 1}));
}

TEST(Imputer, NumericNullWithIndicator) {
  Spec s;
  s.inputs = NumberInputs({"x"}, {"x"});
  s.transform = R"({"kind": "simple_imputer", "missing_value": null, "fill": [7.5], "indicator": [0]})";
  Probe(s, 2);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {kNaN}), (std::vector<double>{7.5, 1}));
  EXPECT_EQ(Frame(*m, {3}), (std::vector<double>{3, 0}));
}

TEST(Imputer, NumericMissingValueAndDroppedColumn) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.transform = R"({"kind": "simple_imputer", "missing_value": -1, "fill": [null, 2], "indicator": [0, 1]})";
  Probe(s, 3);  // b imputed, then indicators for a and b
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {-1, -1}), (std::vector<double>{2, 1, 1}));
  EXPECT_EQ(Frame(*m, {5, 6}), (std::vector<double>{6, 0, 0}));
}

TEST(Imputer, StringColumnThenOneHot) {
  Spec s;
  s.inputs = R"([{"name": "colour", "type": "category", "dtype": "string", "nullable": true}])";
  s.transform = R"({"kind": "pipeline", "steps": [
      {"kind": "simple_imputer", "missing_value": null, "fill": ["missing"]},
      {"kind": "one_hot_encoder", "categories": [["blue", "missing", "red"]], "handle_unknown": "ignore"}]})";
  Probe(s, 3);
  auto m = Load(s);
  // Vocabulary: first appearance in a depth-first walk of the transform.
  EXPECT_EQ(m->inputs()[0].vocabulary, (std::vector<std::string>{"missing", "blue", "red"}));
  EXPECT_EQ(Frame(*m, {kNaN}), (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(Frame(*m, {m->CategoryCode(0, "red")}), (std::vector<double>{0, 0, 1}));
  EXPECT_EQ(Frame(*m, {kiln::kUnknownCategory}), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(m->CategoryCode(0, "purple"), kiln::kUnknownCategory);
  EXPECT_EQ(m->CategoryCode(5, "red"), kiln::kUnknownCategory);  // no such input
}

TEST(Imputer, StringMissingValue) {
  Spec s;
  s.inputs = R"([{"name": "c", "type": "category", "dtype": "string", "nullable": false}])";
  s.transform = R"({"kind": "pipeline", "steps": [
      {"kind": "simple_imputer", "missing_value": "?", "fill": ["b"], "indicator": [0]},
      {"kind": "ordinal_encoder", "categories": [["a", "b"], [1, 0]], "handle_unknown": "error"},
      {"kind": "passthrough"}]})";
  Probe(s, 2);
  auto m = Load(s);
  // The indicator (1 / 0) goes through the second column's numeric categories [1, 0].
  EXPECT_EQ(Frame(*m, {m->CategoryCode(0, "?")}), (std::vector<double>{1, 0}));
  EXPECT_EQ(Frame(*m, {m->CategoryCode(0, "a")}), (std::vector<double>{0, 1}));
}

TEST(OneHot, NumericCategoriesKeepSklearnOrder) {
  Spec s;
  s.inputs = R"([{"name": "zip", "type": "category", "dtype": "number", "nullable": true}])";
  s.transform = R"({"kind": "one_hot_encoder", "categories": [[30, 10, 20, null]], "handle_unknown": "ignore"})";
  Probe(s, 4);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {10}), (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(Frame(*m, {30}), (std::vector<double>{1, 0, 0, 0}));
  EXPECT_EQ(Frame(*m, {kNaN}), (std::vector<double>{0, 0, 0, 1}));
  EXPECT_EQ(Frame(*m, {25}), (std::vector<double>{0, 0, 0, 0}));
}

TEST(OneHot, DropAndUnknownError) {
  Spec s;
  s.inputs = R"([{"name": "shape", "type": "category", "dtype": "string", "nullable": false}])";
  s.transform = R"({"kind": "one_hot_encoder", "categories": [["a", "b", "c"]], "drop": [1], "handle_unknown": "error"})";
  Probe(s, 2);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {m->CategoryCode(0, "a")}), (std::vector<double>{1, 0}));
  EXPECT_EQ(Frame(*m, {m->CategoryCode(0, "b")}), (std::vector<double>{0, 0}));
  EXPECT_EQ(Frame(*m, {m->CategoryCode(0, "c")}), (std::vector<double>{0, 1}));
  auto e = ExpectError([&] { Frame(*m, {kiln::kUnknownCategory}); }, ErrorCode::kInputUnknownCategory,
                       "feature 'shape'");
  EXPECT_EQ(e.feature(), "shape");
  EXPECT_EQ(e.row(), 0);
}

TEST(OneHot, UnknownNamesTheStringWhenKnownElsewhere) {
  // "c" is in the vocabulary (second encoder) but not in the first encoder's categories.
  Spec s;
  s.inputs = R"([{"name": "k", "type": "category", "dtype": "string", "nullable": false}])";
  s.transform = R"({"kind": "column_transformer", "transformers": [
      {"name": "x", "columns": ["k"], "transform": {"kind": "one_hot_encoder", "categories": [["a"]], "handle_unknown": "error"}},
      {"name": "y", "columns": [0], "transform": {"kind": "one_hot_encoder", "categories": [["a", "c"]], "handle_unknown": "ignore"}}]})";
  Probe(s, 3);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {m->CategoryCode(0, "a")}), (std::vector<double>{1, 1, 0}));
  ExpectError([&] { Frame(*m, {m->CategoryCode(0, "c")}); }, ErrorCode::kInputUnknownCategory,
              "feature 'k': unknown category \"c\"");
}

TEST(Ordinal, UnknownAndMissing) {
  Spec s;
  s.inputs = R"([{"name": "g", "type": "category", "dtype": "string", "nullable": true},
                 {"name": "h", "type": "category", "dtype": "string", "nullable": true}])";
  s.transform = R"({"kind": "ordinal_encoder", "categories": [["lo", "mid", "hi"], ["p", null]],
      "handle_unknown": "use_encoded_value", "unknown_value": -1, "encoded_missing_value": 9})";
  Probe(s, 2);
  auto m = Load(s);
  const double hi = m->CategoryCode(0, "hi"), p = m->CategoryCode(1, "p");
  EXPECT_EQ(Frame(*m, {hi, p}), (std::vector<double>{2, 0}));
  EXPECT_EQ(Frame(*m, {kiln::kUnknownCategory, kNaN}), (std::vector<double>{-1, 9}));
  EXPECT_EQ(Frame(*m, {kNaN, kiln::kUnknownCategory}), (std::vector<double>{-1, -1}));  // no null category in g
}

TEST(Ordinal, NumericColumnAndError) {
  Spec s;
  s.inputs = NumberInputs({"n"});
  s.transform = R"({"kind": "ordinal_encoder", "categories": [[2.5, -1, 7]], "handle_unknown": "error"})";
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {7})[0], 2.0);
  EXPECT_EQ(Frame(*m, {-1})[0], 1.0);
  ExpectError([&] { Frame(*m, {3}); }, ErrorCode::kInputUnknownCategory, "feature 'n': unknown category 3");
}

TEST(ColumnTransformer, SelectByNameAndIndexReadTwice) {
  Spec s;
  s.inputs = NumberInputs({"a", "b", "c"});
  s.transform = R"({"kind": "column_transformer", "transformers": [
      {"name": "raw", "columns": ["c", "a"], "transform": {"kind": "passthrough"}},
      {"name": "scaled", "columns": [0], "transform": {"kind": "pipeline", "steps": [
          {"kind": "standard_scaler", "mean": [1], "scale": [2]},
          {"kind": "binarizer", "threshold": 0}]}},
      {"name": "remainder", "columns": [1], "transform": {"kind": "passthrough"}}]})";
  Probe(s, 4);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {5, 6, 7}), (std::vector<double>{7, 5, 1, 6}));
  EXPECT_EQ(Frame(*m, {-5, 6, 7}), (std::vector<double>{7, -5, 0, 6}));
}

TEST(ColumnTransformer, NestedSelectsByNameInsideSubFrame) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.transform = R"({"kind": "column_transformer", "transformers": [
      {"name": "outer", "columns": ["b", "a"], "transform": {"kind": "column_transformer", "transformers": [
          {"name": "inner", "columns": ["a"], "transform": {"kind": "max_abs_scaler", "scale": [2]}}]}}]})";
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {3, 4})[0], 1.5);
}

TEST(ColumnTransformer, NameOnUnnamedFrameIsInvalid) {
  Spec s;
  s.inputs = NumberInputs({"a"});
  s.transform = R"({"kind": "pipeline", "steps": [{"kind": "max_abs_scaler", "scale": [2]},
      {"kind": "column_transformer", "transformers": [{"name": "t", "columns": ["a"], "transform": {"kind": "passthrough"}}]}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.steps[1].transformers[0].columns[0]: no column named 'a'");
}

TEST(ColumnTransformer, IndexOutOfRange) {
  Spec s;
  s.transform = R"({"kind": "column_transformer", "transformers": [{"name": "t", "columns": [1], "transform": {"kind": "passthrough"}}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.transformers[0].columns[0]: 1 is out of range");
}

TEST(StringColumns, NumericStepRefusesStringColumn) {
  Spec s;
  s.inputs = R"([{"name": "colour", "type": "category", "dtype": "string", "nullable": false}])";
  s.transform = R"({"kind": "pipeline", "steps": [{"kind": "passthrough"}, {"kind": "standard_scaler", "mean": [0], "scale": [1]}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.steps[1]: column 0 (feature 'colour') is a string category column");
}

TEST(StringColumns, EstimatorRefusesStringColumn) {
  Spec s;
  s.inputs = R"([{"name": "colour", "type": "category", "dtype": "string", "nullable": false}])";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator: feature column 0 (feature 'colour') is a string category column");
}

TEST(StringColumns, NumberCategoryForStringColumnIsInvalid) {
  Spec s;
  s.inputs = R"([{"name": "colour", "type": "category", "dtype": "string", "nullable": false}])";
  s.transform = R"({"kind": "one_hot_encoder", "categories": [["a", 3]], "handle_unknown": "ignore"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.categories[0][1]");
}

TEST(StringColumns, ImputerFillTypeMustMatch) {
  Spec s;
  s.inputs = R"([{"name": "colour", "type": "category", "dtype": "string", "nullable": true}])";
  s.transform = R"({"kind": "simple_imputer", "missing_value": null, "fill": [0]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.fill[0]");
}

}  // namespace
}  // namespace kiln_test
