// Mutated model files must either load or throw kiln::Error: never crash, never another exception.
// (Run under -fsanitize=address,undefined to also catch undefined behaviour.)
#include <gtest/gtest.h>

#include <random>

#include "test_util.h"

namespace kiln_test {
namespace {

std::string Seed() {
  Spec s;
  s.inputs = R"([{"name": "a", "type": "number", "nullable": true},
                 {"name": "c", "type": "category", "dtype": "string", "nullable": true},
                 {"name": "z", "type": "category", "dtype": "number", "nullable": false}])";
  s.transform = R"({"kind": "column_transformer", "transformers": [
      {"name": "n", "columns": ["a"], "transform": {"kind": "pipeline", "steps": [
          {"kind": "simple_imputer", "missing_value": null, "fill": [1.5], "indicator": [0]},
          {"kind": "min_max_scaler", "scale": [0.5, 1], "min": [0, 0], "clip": [0, 1]}]}},
      {"name": "c", "columns": [1], "transform": {"kind": "one_hot_encoder", "categories": [["x", "y", null]], "drop": [0], "handle_unknown": "ignore"}},
      {"name": "z", "columns": ["z"], "transform": {"kind": "ordinal_encoder", "categories": [[3, 1]], "handle_unknown": "use_encoded_value", "unknown_value": -1}}]})";
  s.estimator = R"({"kind": "tree_ensemble", "n_features": 5, "aggregate": "boost", "n_targets": 1, "init": [0.1],
      "learning_rate": 0.5, "link": "logistic", "trees": [
      {"target": 0, "children_left": [1, 3, -1, -1, -1], "children_right": [2, 4, -1, -1, -1], "feature": [0, 4, -2, -2, -2],
       "threshold": [0.25, 0.5, 0, 0, 0], "missing_go_to_left": [1, 0, 0, 0, 0], "value": [[0], [0], [1.5], [-2], [0.75]]}]})";
  s.output = R"({"task": "classification", "classes": ["no", "yes"], "probabilities": true, "decision": true})";
  s.verification = R"({"tolerance": {"absolute": 1e-9, "relative": 1e-9}, "rows": [
      {"input": {"a": 0.1, "c": "y", "z": 3}, "expected": {"label": "no", "decision": [-0.9]}}]})";
  return ModelJson(s);
}

TEST(Fuzz, SeedLoads) { EXPECT_NO_THROW(kiln::Model::LoadString(Seed())); }

TEST(Fuzz, MutationsLoadOrThrowKilnError) {
  const std::string seed = Seed();
  const std::string alphabet = "{}[],:\"0123456789-+.eE nultrfase-1";
  const std::vector<std::string> tokens = {"-1", "0", "1", "5", "1e999", "null", "\"x\"", "[]", "{}", "true", "-2",
                                           "2147483648", "0.5", "[[0]]"};
  std::mt19937 rng(7);
  int loaded = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string text = seed;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits; ++k) {
      const size_t pos = rng() % text.size();
      switch (rng() % 4) {
        case 0: text[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(pos, 1 + rng() % 8); break;
        case 2: text.insert(pos, tokens[rng() % tokens.size()]); break;
        default: {  // replace a number with a token
          size_t p = text.find_first_of("0123456789", pos);
          if (p == std::string::npos) break;
          size_t q = text.find_first_not_of("0123456789.e-", p);
          text.replace(p, q - p, tokens[rng() % tokens.size()]);
        }
      }
    }
    SCOPED_TRACE(text);
    if (LoadsOrFailsCleanly(text)) ++loaded;
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace kiln_test
