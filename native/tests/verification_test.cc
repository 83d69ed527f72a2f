// Verification rows: replayed at load, drift refused with the row, output and both values.
#include <gtest/gtest.h>

#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::ErrorCode;

Spec Logreg(const std::string& rows, const std::string& tol = R"({"absolute": 1e-9, "relative": 1e-9})") {
  Spec s;
  s.inputs = R"([{"name": "size", "type": "number", "nullable": false},
                 {"name": "colour", "type": "category", "dtype": "string", "nullable": true}])";
  s.transform = R"({"kind": "column_transformer", "transformers": [
      {"name": "num", "columns": ["size"], "transform": {"kind": "standard_scaler", "mean": [2], "scale": [4]}},
      {"name": "cat", "columns": ["colour"], "transform": {"kind": "one_hot_encoder", "categories": [["red", null]], "handle_unknown": "ignore"}}]})";
  s.estimator = R"({"kind": "linear", "n_features": 3, "coef": [[2, 1, -1]], "intercept": [0.5], "link": "logistic"})";
  s.output = R"({"task": "classification", "classes": ["small", "big"], "probabilities": true, "decision": true})";
  s.verification = R"({"tolerance": )" + tol + R"(, "rows": )" + rows + "}";
  return s;
}

// size 6 -> (6-2)/4 = 1; red -> raw = 2 + 1 + 0.5 = 3.5
const char* kGoodRow = R"({"input": {"size": 6, "colour": "red"},
    "expected": {"label": "big", "probabilities": [0.029312230751356326, 0.9706877692486436], "decision": [3.5]}})";

TEST(Verification, PassingRowsFillTheReport) {
  // null colour -> the null category: raw = 2 - 1 + 0.5 = 1.5; unseen colour -> all zeros: raw = 2.5
  auto m = Load(Logreg(std::string("[") + kGoodRow + R"(,
      {"input": {"size": 6, "colour": null}, "expected": {"label": "big", "probabilities": [0.18242552380635635, 0.8175744761936437], "decision": 1.5}},
      {"input": {"size": 6, "colour": "blue"}, "expected": {"label": "big", "probabilities": [0.07585818002124355, 0.9241418199787566], "decision": [2.5]}}])"),
                true);
  EXPECT_EQ(m->verification().rows_checked, 3u);
  EXPECT_LE(m->verification().max_abs_error, 1e-15);
}

TEST(Verification, RowsMayStateASubsetOfOutputs) {
  auto m = Load(Logreg(R"([{"input": {"size": 6, "colour": "red"}, "expected": {"label": "big"}},
      {"input": {"size": 6, "colour": "red"}, "expected": {"decision": [3.5]}}])"), true);
  EXPECT_EQ(m->verification().rows_checked, 2u);
  ExpectLoadError(Logreg(R"([{"input": {"size": 6, "colour": "red"}, "expected": {}}])"), ErrorCode::kModelSchema,
                  "verification.rows[0].expected: states no expected output", true);
}

TEST(Verification, DriftIsRefused) {
  const std::string drift = R"([{"input": {"size": 6, "colour": "red"},
      "expected": {"label": "big", "probabilities": [0.029312230751356326, 0.9706877692486436], "decision": [3.5001]}}])";
  ExpectLoadError(Logreg(drift), ErrorCode::kModelVerification,
                  "verification.rows[0]: decision[0]: computed 3.5, expected 3.5001", true);
  const std::string label = R"([{"input": {"size": 6, "colour": "red"}, "expected": {"label": "small",
      "probabilities": [0.029312230751356326, 0.9706877692486436], "decision": [3.5]}}])";
  ExpectLoadError(Logreg(label), ErrorCode::kModelVerification,
                  "verification.rows[0]: label: computed \"big\", expected \"small\"", true);
  // A loose tolerance accepts the drift; verify=false skips the replay.
  Load(Logreg(drift, R"({"absolute": 1e-3, "relative": 0})"), true);
  Load(Logreg(drift), false);
}

TEST(Verification, ToleranceRange) {
  ExpectLoadError(Logreg(std::string("[") + kGoodRow + "]", R"({"absolute": 0.01, "relative": 0})"),
                  ErrorCode::kModelInvalid, "verification.tolerance.absolute: tolerance must be in [0, 1e-3]", true);
}

TEST(Verification, RowInputsMustMatchTheInputs) {
  ExpectLoadError(Logreg(R"([{"input": {"size": 6}, "expected": {"label": "big"}}])"), ErrorCode::kModelSchema,
                  "verification.rows[0].input: missing input 'colour'", true);
  ExpectLoadError(Logreg(R"([{"input": {"size": 6, "colour": "red", "weight": 1}, "expected": {"label": "big"}}])"),
                  ErrorCode::kModelSchema, "verification.rows[0].input.weight: unknown input name", true);
  ExpectLoadError(Logreg(R"([{"input": {"size": "6", "colour": "red"}, "expected": {"label": "big"}}])"),
                  ErrorCode::kModelSchema, "verification.rows[0].input.size: expected a number or null", true);
  ExpectLoadError(Logreg("[]"), ErrorCode::kModelInvalid, "verification.rows: needs at least one row", true);
}

TEST(Verification, RowThatCannotBePredicted) {
  ExpectLoadError(Logreg(R"([{"input": {"size": null, "colour": "red"}, "expected": {"label": "big"}}])"),
                  ErrorCode::kModelVerification, "verification.rows[0]: prediction failed: feature 'size' is required", true);
}

TEST(Verification, NumericLabelsCompareByValue) {
  Spec s;
  s.estimator = R"({"kind": "linear", "n_features": 1, "coef": [[1]], "intercept": [0], "link": "none"})";
  s.output = R"({"task": "classification", "classes": [0, 1], "probabilities": false, "decision": false})";
  s.verification = R"({"tolerance": {"absolute": 0, "relative": 0}, "rows": [
      {"input": {"x": 1}, "expected": {"label": 1.0}}, {"input": {"x": -1}, "expected": {"label": 0}}]})";
  EXPECT_EQ(Load(s, true)->class_labels_json(), (std::vector<std::string>{"0", "1"}));
  s.verification = R"({"tolerance": {"absolute": 0, "relative": 0}, "rows": [{"input": {"x": 1}, "expected": {"label": "1"}}]})";
  ExpectLoadError(s, ErrorCode::kModelVerification, "label: computed 1, expected \"1\"", true);
}

TEST(Verification, RegressionValue) {
  Spec s;
  s.verification = R"({"tolerance": {"absolute": 0, "relative": 1e-6}, "rows": [{"input": {"x": 1000}, "expected": {"value": 1000.0005}}]})";
  EXPECT_EQ(Load(s, true)->verification().max_abs_error, std::fabs(1000.0 - 1000.0005));
  s.verification = R"({"tolerance": {"absolute": 0, "relative": 1e-7}, "rows": [{"input": {"x": 1000}, "expected": {"value": 1000.0005}}]})";
  ExpectLoadError(s, ErrorCode::kModelVerification, "verification.rows[0]: value: computed 1000.0, expected 1000.0005", true);
}

}  // namespace
}  // namespace kiln_test
