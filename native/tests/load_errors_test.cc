// Every class of bad model file is refused with its error code and the JSON path.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::ErrorCode;

const char* kTree = R"({"kind": "tree_ensemble", "n_features": 2, "aggregate": "average", "n_targets": 1, "trees": [
    {"children_left": CL, "children_right": CR, "feature": FE, "threshold": [0.5, 0, 0, 0, 0],
     "value": [[0], [1], [2], [3], [4]]}]})";

Spec TreeSpec(const std::string& cl, const std::string& cr, const std::string& fe = "[0, 1, -2, -2, -2]") {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  std::string e = kTree;
  e.replace(e.find("CL"), 2, cl);
  e.replace(e.find("CR"), 2, cr);
  e.replace(e.find("FE"), 2, fe);
  s.estimator = e;
  return s;
}

TEST(LoadErrors, ValidTreeSpecLoads) {
  auto m = Load(TreeSpec("[1, 3, -1, -1, -1]", "[2, 4, -1, -1, -1]"));
  EXPECT_EQ(Predict(*m, {1, 0})[0], 2.0);
  EXPECT_EQ(Predict(*m, {0, 0})[0], 3.0);
  EXPECT_EQ(Predict(*m, {0, 2})[0], 4.0);
}

TEST(LoadErrors, TruncatedJson) {
  const std::string text = ModelJson(Spec{});
  ExpectError([&] { kiln::Model::LoadString(text.substr(0, text.size() / 2)); }, ErrorCode::kModelParse, "byte");
  ExpectError([&] { kiln::Model::LoadString(""); }, ErrorCode::kModelParse);
}

TEST(LoadErrors, NotAnObject) {
  ExpectError([] { kiln::Model::LoadString("[1, 2]"); }, ErrorCode::kModelSchema, "expected an object");
}

TEST(LoadErrors, FormatAndVersion) {
  std::string text = ModelJson(Spec{});
  std::string v2 = text;
  v2.replace(v2.find("\"format_version\": 1"), 19, "\"format_version\": 2");
  ExpectError([&] { kiln::Model::LoadString(v2); }, ErrorCode::kModelVersion, "format_version: 2 is not supported");
  std::string wrong = text;
  wrong.replace(wrong.find("kiln.model"), 10, "kiln.other");
  ExpectError([&] { kiln::Model::LoadString(wrong); }, ErrorCode::kModelVersion, "format");
}

TEST(LoadErrors, UnknownKeys) {
  std::string text = ModelJson(Spec{});
  text.insert(text.find("\"name\""), "\"nmae\": \"x\", ");
  ExpectError([&] { kiln::Model::LoadString(text); }, ErrorCode::kModelSchema, "nmae: unknown key");
  Spec s;
  s.transform = R"({"kind": "max_abs_scaler", "scale": [1], "with_mean": true})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "transform.with_mean: unknown key");
  s = TreeSpec("[1, 3, -1, -1, -1]", "[2, 4, -1, -1, -1]");
  s.estimator.replace(s.estimator.find("\"value\""), 7, "\"impurity\": [], \"value\"");
  ExpectLoadError(s, ErrorCode::kModelSchema, "estimator.trees[0].impurity: unknown key");
}

TEST(LoadErrors, DuplicateKeys) {
  Spec s;
  s.transform = R"({"kind": "pipeline", "steps": [{"kind": "passthrough"},
      {"kind": "max_abs_scaler", "scale": [2], "scale": [4]}]})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "transform.steps[1].scale: duplicate key");
  s = Spec{};
  s.verification = R"({"rows": [[1, {"a": 1}], {"input": {"x": 1, "x": 2}}]})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "verification.rows[1].input.x: duplicate key");
}

TEST(LoadErrors, MissingKey) {
  Spec s;
  s.estimator = R"({"kind": "linear", "n_features": 1, "coef": [[1]], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "estimator: missing key 'intercept'");
}

TEST(LoadErrors, WrongTypes) {
  Spec s;
  s.estimator = R"({"kind": "linear", "n_features": 1, "coef": [["1"]], "intercept": [0], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "estimator.coef[0][0]: expected a number, got string");
  s.estimator = R"({"kind": "linear", "n_features": 1.5, "coef": [[1]], "intercept": [0], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "estimator.n_features: expected an integer");
  s = Spec{};
  s.inputs = R"([{"name": "x", "type": "number", "nullable": "no"}])";
  ExpectLoadError(s, ErrorCode::kModelSchema, "inputs[0].nullable: expected a boolean");
}

TEST(LoadErrors, NonFiniteWeight) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.estimator = R"({"kind": "linear", "n_features": 2, "coef": [[1, 1e999]], "intercept": [0], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.coef[0][1]: expected a finite number, got 1e999");
  s = TreeSpec("[1, 3, -1, -1, -1]", "[2, 4, -1, -1, -1]");
  s.estimator.replace(s.estimator.find("0.5"), 3, "-1e999");
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.trees[0].threshold[0]: expected a finite number");
  s = Spec{};
  s.transform = R"({"kind": "standard_scaler", "mean": [1e400], "scale": null})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.mean[0]");
  s = Spec{};
  s.inputs = R"([{"name": "odd \"key\"", "type": "number", "nullable": false}])";
  s.verification = R"({"rows": [{"input": {"odd \"key\"": 1}, "expected": {"value": -2E+999}}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "verification.rows[0].expected.value: expected a finite number, got -2E+999");
}

// Python's json.dump writes NaN and Infinity unless told not to; they are not JSON.
TEST(LoadErrors, NanAndInfinityLiterals) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.estimator = R"({"kind": "linear", "n_features": 2, "coef": [[1, NaN]], "intercept": [0], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.coef[0][1]: expected a finite number, got NaN");
  s.estimator = R"({"kind": "linear", "n_features": 2, "coef": [[1, 2]], "intercept": [-Infinity], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.intercept[0]: expected a finite number, got -Infinity");
  s.estimator = R"({"kind": "linear", "n_features": 2, "coef": [[1, 2]], "intercept": [Nope], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelParse, "not valid JSON");
}

TEST(LoadErrors, SizesDisagree) {
  Spec s;
  s.estimator = R"({"kind": "linear", "n_features": 1, "coef": [[1, 2]], "intercept": [0], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.coef[0]: expected 1 values, got 2");
  s.estimator = R"({"kind": "linear", "n_features": 2, "coef": [[1, 2]], "intercept": [0], "link": "identity"})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.n_features: the estimator expects 2 features but the transform produces 1");
  s = TreeSpec("[1, 3, -1, -1, -1]", "[2, 4, -1, -1]");
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.trees[0].children_right: expected 5 values, got 4");
  s = TreeSpec("[1, 3, -1, -1, -1]", "[2, 4, -1, -1, -1]");
  s.estimator.replace(s.estimator.find("[4]"), 3, "[4, 5]");
  ExpectLoadError(s, ErrorCode::kModelInvalid, "estimator.trees[0].value[4]: expected 1 values, got 2");
}

TEST(LoadErrors, FeatureIndexOutOfRange) {
  ExpectLoadError(TreeSpec("[1, 3, -1, -1, -1]", "[2, 4, -1, -1, -1]", "[0, 2, -2, -2, -2]"), ErrorCode::kModelInvalid,
                  "estimator.trees[0].feature[1]: feature 2 is out of range [0, 2)");
}

TEST(LoadErrors, ChildOutOfRange) {
  ExpectLoadError(TreeSpec("[1, 3, -1, -1, -1]", "[2, 5, -1, -1, -1]"), ErrorCode::kModelInvalid,
                  "estimator.trees[0].children_right[1]: child 5 is out of range [0, 5)");
  ExpectLoadError(TreeSpec("[1, -7, -1, -1, -1]", "[2, 4, -1, -1, -1]"), ErrorCode::kModelInvalid,
                  "estimator.trees[0].children_left[1]: child -7 is out of range");
}

TEST(LoadErrors, ChildPointsBackToAncestor) {
  ExpectLoadError(TreeSpec("[1, 0, -1, -1, -1]", "[2, 4, -1, -1, -1]"), ErrorCode::kModelInvalid,
                  "estimator.trees[0].children_left[1]: node 0 is reached twice (cycle or shared child)");
  ExpectLoadError(TreeSpec("[1, 1, -1, -1, -1]", "[2, 4, -1, -1, -1]"), ErrorCode::kModelInvalid,
                  "node 1 is reached twice");
}

TEST(LoadErrors, SharedChild) {
  ExpectLoadError(TreeSpec("[1, 3, -1, -1, -1]", "[2, 2, -1, -1, -1]"), ErrorCode::kModelInvalid,
                  "estimator.trees[0].children_right[1]: node 2 is reached twice (cycle or shared child)");
}

TEST(LoadErrors, UnreachableNodeAndLeafWithRightChild) {
  ExpectLoadError(TreeSpec("[1, -1, -1, -1, -1]", "[2, -1, -1, -1, -1]", "[0, -2, -2, -2, -2]"),
                  ErrorCode::kModelInvalid, "node 3 is not reachable from the root");
  ExpectLoadError(TreeSpec("[1, -1, -1, -1, -1]", "[2, 3, -1, -1, -1]"), ErrorCode::kModelInvalid,
                  "estimator.trees[0].children_right[1]: node 1 is a leaf");
}

TEST(LoadErrors, DeepTreeDoesNotRecurse) {
  // A 200,000-deep chain (left spine): validated and walked with explicit stacks only.
  const int n = 400001;
  std::string cl = "[", cr = "[", fe = "[", th = "[", va = "[";
  for (int i = 0; i < n; ++i) {
    const bool inner = i % 2 == 0 && i + 2 < n;
    const std::string sep = i ? "," : "";
    cl += sep + (inner ? std::to_string(i + 2) : "-1");
    cr += sep + (inner ? std::to_string(i + 1) : "-1");
    fe += sep + (inner ? "0" : "-2");
    th += sep + (inner ? "0" : "-2");
    va += sep + "[" + std::to_string(i) + "]";
  }
  Spec s;
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 1, "aggregate": "average", "n_targets": 1, "trees": [
      {"children_left": )" + cl + "], \"children_right\": " + cr + "], \"feature\": " + fe + "], \"threshold\": " + th +
                "], \"value\": " + va + "]}]}";
  auto m = Load(s);
  EXPECT_EQ(Predict(*m, {-1})[0], n - 1.0);  // all the way down the left spine
  EXPECT_EQ(Predict(*m, {1})[0], 1.0);
}

TEST(LoadErrors, UnknownKinds) {
  Spec s;
  s.transform = R"({"kind": "spline_transformer", "degree": 2})";
  ExpectLoadError(s, ErrorCode::kModelUnsupported, "transform.kind: unknown step kind 'spline_transformer'");
  s = Spec{};
  s.estimator = R"({"kind": "svm"})";
  ExpectLoadError(s, ErrorCode::kModelUnsupported, "estimator.kind: unknown estimator kind 'svm'");
  s = Spec{};
  s.estimator = R"({"kind": "linear", "n_features": 1, "coef": [[1]], "intercept": [0], "link": "probit"})";
  ExpectLoadError(s, ErrorCode::kModelUnsupported, "estimator.link: unknown link 'probit'");
  s = Spec{};
  s.transform = R"({"kind": "normalizer", "norm": "l3"})";
  ExpectLoadError(s, ErrorCode::kModelUnsupported, "transform.norm");
}

TEST(LoadErrors, Limits) {
  Spec s;
  std::string t = R"({"kind": "passthrough"})";
  for (int i = 0; i < 32; ++i) t = R"({"kind": "pipeline", "steps": [)" + t + "]}";
  s.transform = t;  // 33 levels
  ExpectLoadError(s, ErrorCode::kModelLimit, "nested deeper than 32");
  std::vector<std::string> names;
  for (int i = 0; i <= 100000; ++i) names.push_back("i" + std::to_string(i));
  s = Spec{};
  s.inputs = NumberInputs(names);
  ExpectLoadError(s, ErrorCode::kModelLimit, "inputs: 100001 inputs exceed the limit of 100000");
}

TEST(LoadErrors, InputsAndNames) {
  Spec s;
  s.inputs = NumberInputs({"x", "x"});
  ExpectLoadError(s, ErrorCode::kModelInvalid, "inputs[1].name: duplicate input name 'x'");
  s.inputs = "[]";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "at least one input");
  std::string text = ModelJson(Spec{});
  text.replace(text.find("\"name\": \"t\""), 11, "\"name\": \"bad name\"");
  ExpectError([&] { kiln::Model::LoadString(text); }, ErrorCode::kModelInvalid, "name: must match");
}

TEST(LoadErrors, FileIo) {
  ExpectError([] { kiln::Model::LoadFile("/nonexistent/kiln/model.json"); }, ErrorCode::kModelIo, "cannot read");
  ExpectError([] { kiln::Model::LoadFile("/tmp"); }, ErrorCode::kModelIo, "not a regular file");
  const std::string path = ::testing::TempDir() + "kiln_load_file_test.json";
  {
    std::ofstream f(path);
    Spec s;
    s.verification = R"({"tolerance": {"absolute": 0, "relative": 0}, "rows": [{"input": {"x": 2}, "expected": {"value": 2}}]})";
    f << ModelJson(s);
  }
  auto m = kiln::Model::LoadFile(path);
  EXPECT_EQ(m->verification().rows_checked, 1u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kiln_test
