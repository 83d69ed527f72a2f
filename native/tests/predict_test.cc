// Row checks at Predict time, batch behaviour, workspaces and threads.
#include <gtest/gtest.h>

#include <thread>

#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::ErrorCode;

TEST(ErrorCodes, StableNames) {
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kModelIo), "KILN_MODEL_IO");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kModelParse), "KILN_MODEL_PARSE");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kModelVersion), "KILN_MODEL_VERSION");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kModelSchema), "KILN_MODEL_SCHEMA");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kModelUnsupported), "KILN_MODEL_UNSUPPORTED");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kModelInvalid), "KILN_MODEL_INVALID");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kModelLimit), "KILN_MODEL_LIMIT");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kModelVerification), "KILN_MODEL_VERIFICATION");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kInputMissing), "KILN_INPUT_MISSING");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kInputNotFinite), "KILN_INPUT_NOT_FINITE");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kInputUnknownCategory), "KILN_INPUT_UNKNOWN_CATEGORY");
  EXPECT_STREQ(kiln::ErrorCodeName(ErrorCode::kInputShape), "KILN_INPUT_SHAPE");
  EXPECT_STREQ(kiln::Error(ErrorCode::kInputShape, "m").code_name(), "KILN_INPUT_SHAPE");
}

// Inputs: a (number), b (number, nullable), c (string category, non-nullable).
Spec Mixed() {
  Spec s;
  s.inputs = R"([{"name": "a", "type": "number", "nullable": false},
                 {"name": "b", "type": "number", "nullable": true},
                 {"name": "c", "type": "category", "dtype": "string", "nullable": false}])";
  s.transform = R"({"kind": "column_transformer", "transformers": [
      {"name": "num", "columns": ["a", "b"], "transform": {"kind": "simple_imputer", "missing_value": null, "fill": [0, -1]}},
      {"name": "cat", "columns": ["c"], "transform": {"kind": "one_hot_encoder", "categories": [["p", "q"]], "handle_unknown": "error"}}]})";
  s.estimator = R"({"kind": "linear", "n_features": 4, "coef": [[1, 10, 100, 1000]], "intercept": [0], "link": "identity"})";
  return s;
}

TEST(RowChecks, BatchPredictsEveryRow) {
  auto m = Load(Mixed());
  const double p = m->CategoryCode(2, "p"), q = m->CategoryCode(2, "q");
  EXPECT_EQ(m->inputs()[2].vocabulary, (std::vector<std::string>{"p", "q"}));
  std::vector<double> rows = {1, 2, p, 3, kNaN, q};
  std::vector<double> out(2);
  auto ws = m->NewWorkspace();
  m->Predict(rows.data(), 2, out.data(), *ws);
  EXPECT_EQ(out[0], 121.0);
  EXPECT_EQ(out[1], 3.0 - 10 + 1000);
}

TEST(RowChecks, MissingRequiredFeature) {
  auto m = Load(Mixed());
  const double p = m->CategoryCode(2, "p");
  std::vector<double> rows = {1, 2, p, 1, 2, p, kNaN, 2, p};
  std::vector<double> out(3, -7);
  auto ws = m->NewWorkspace();
  auto e = ExpectError([&] { m->Predict(rows.data(), 3, out.data(), *ws); }, ErrorCode::kInputMissing,
                       "feature 'a' is required (row 2)");
  EXPECT_EQ(e.feature(), "a");
  EXPECT_EQ(e.row(), 2);
  EXPECT_EQ(out[0], 121.0);  // rows before the failing one are written
  EXPECT_EQ(out[1], 121.0);
  e = ExpectError([&] { Predict(*m, {1, 2, kNaN}); }, ErrorCode::kInputMissing, "feature 'c' is required (row 0)");
  EXPECT_EQ(e.feature(), "c");
}

TEST(RowChecks, Infinity) {
  auto m = Load(Mixed());
  const double p = m->CategoryCode(2, "p");
  auto e = ExpectError([&] { Predict(*m, {1, -kInf, p}); }, ErrorCode::kInputNotFinite, "feature 'b' must be finite");
  EXPECT_EQ(e.feature(), "b");
  ExpectError([&] { Predict(*m, {kInf, 0, p}); }, ErrorCode::kInputNotFinite, "feature 'a'");
}

TEST(RowChecks, BadCategoryCode) {
  auto m = Load(Mixed());
  ExpectError([&] { Predict(*m, {1, 2, 2}); }, ErrorCode::kInputShape, "feature 'c': 2 is not a vocabulary code");
  ExpectError([&] { Predict(*m, {1, 2, 0.5}); }, ErrorCode::kInputShape, "feature 'c'");
  ExpectError([&] { Predict(*m, {1, 2, -2}); }, ErrorCode::kInputShape, "feature 'c'");
  ExpectError([&] { Predict(*m, {1, 2, kInf}); }, ErrorCode::kInputShape, "feature 'c'");
}

TEST(RowChecks, UnknownCategoryNamesTheFeature) {
  auto m = Load(Mixed());
  auto e = ExpectError([&] { Predict(*m, {1, 2, kiln::kUnknownCategory}); }, ErrorCode::kInputUnknownCategory,
                       "feature 'c': unknown category (row 0)");
  EXPECT_EQ(e.feature(), "c");
  EXPECT_EQ(e.row(), 0);
}

TEST(RowChecks, UnknownCategoryInsideImputedColumnStillNamesInput) {
  Spec s;
  s.inputs = R"([{"name": "zip", "type": "category", "dtype": "number", "nullable": true}])";
  s.transform = R"({"kind": "pipeline", "steps": [
      {"kind": "simple_imputer", "missing_value": null, "fill": [100]},
      {"kind": "one_hot_encoder", "categories": [[100, 200]], "handle_unknown": "error"}]})";
  Probe(s, 2);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {kNaN}), (std::vector<double>{1, 0}));
  auto e = ExpectError([&] { Frame(*m, {300}); }, ErrorCode::kInputUnknownCategory, "feature 'zip': unknown category 300");
  EXPECT_EQ(e.feature(), "zip");
}

TEST(RowChecks, MissingCategoryWithoutNullCategoryIsUnknown) {
  Spec s;
  s.inputs = R"([{"name": "k", "type": "category", "dtype": "string", "nullable": true}])";
  s.transform = R"({"kind": "one_hot_encoder", "categories": [["a", "b"]], "handle_unknown": "error"})";
  Probe(s, 2);
  auto m = Load(s);
  ExpectError([&] { Frame(*m, {kNaN}); }, ErrorCode::kInputUnknownCategory, "feature 'k': a missing value");
}

TEST(Workspaces, ForeignOrWrongWorkspaceIsRefused) {
  auto small = Load(Spec{});
  auto big = Load(Mixed());
  auto ws = small->NewWorkspace();
  std::vector<double> row = {1, 2, 0};
  double out;
  ExpectError([&] { big->Predict(row.data(), 1, &out, *ws); }, ErrorCode::kInputShape, "workspace");
  auto ws_big = big->NewWorkspace();
  ExpectError([&] { big->Predict(static_cast<const double*>(nullptr), 1, &out, *ws_big); }, ErrorCode::kInputShape);
  big->Predict(static_cast<const double*>(nullptr), 0, nullptr, *ws_big);  // zero rows: nothing to do
}

TEST(Threads, TwoThreadsWithOwnWorkspacesAgree) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"}, {"b"});
  s.transform = R"({"kind": "column_transformer", "transformers": [
      {"name": "n", "columns": [0, 1], "transform": {"kind": "pipeline", "steps": [
          {"kind": "simple_imputer", "missing_value": null, "fill": [0, 0.5], "indicator": [1]},
          {"kind": "standard_scaler", "mean": [0.1, 0.2, 0.3], "scale": [1.5, 2.5, 3.5]}]}}]})";
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 3, "aggregate": "boost", "n_targets": 1, "init": [0.5],
      "learning_rate": 0.3, "link": "logistic", "trees": [
      {"target": 0, "children_left": [1, 3, -1, -1, -1], "children_right": [2, 4, -1, -1, -1], "feature": [0, 1, -2, -2, -2],
       "threshold": [0.25, -0.1, 0, 0, 0], "value": [[0], [0], [1.5], [-2], [0.75]]},
      {"target": 0, "children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [2, -2, -2],
       "threshold": [0.1, 0, 0], "value": [[0], [-0.5], [0.5]]}]})";
  s.output = R"({"task": "classification", "classes": ["no", "yes"], "probabilities": true, "decision": true})";
  auto m = Load(s);
  const size_t n = 20000, w = m->output_width();
  std::vector<double> rows(2 * n);
  for (size_t i = 0; i < n; ++i) {
    rows[2 * i] = std::sin(static_cast<double>(i)) * 2;
    rows[2 * i + 1] = i % 7 == 0 ? kNaN : std::cos(static_cast<double>(i) * 0.37);
  }
  std::vector<double> expected(n * w);
  {
    auto ws = m->NewWorkspace();
    m->Predict(rows.data(), n, expected.data(), *ws);
  }
  std::vector<double> r1(n * w), r2(n * w);
  auto run = [&](std::vector<double>* out) {
    auto ws = m->NewWorkspace();
    for (int rep = 0; rep < 5; ++rep) {
      for (size_t i = 0; i < n; i += 100) m->Predict(rows.data() + 2 * i, 100, out->data() + w * i, *ws);
    }
  };
  std::thread t1(run, &r1), t2(run, &r2);
  t1.join();
  t2.join();
  EXPECT_EQ(r1, expected);
  EXPECT_EQ(r2, expected);
}

}  // namespace
}  // namespace kiln_test
