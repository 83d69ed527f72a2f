// Harness B: the row path. There is no native request-body parser (the server uses JSON.parse
// and the binding encodes typed arrays), so the engine's only JSON-row reader is the
// verification block: input records (numbers, nulls, strings, unknown categories, wrong types)
// and expected outputs. The fuzz input replaces the "verification" value of one of four fixed,
// valid models (chosen by the first byte) covering every input kind and estimator family.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_common.h"

namespace {

const char* const kPrefix[] = {
    // 0: numeric + nullable + string/number categories, boosted trees with missing routing
    R"({"format":"kiln.model","format_version":1,"name":"fz","metadata":{},
"inputs":[{"name":"a","type":"number","nullable":true},{"name":"c","type":"category","dtype":"string","nullable":true},{"name":"z","type":"category","dtype":"number","nullable":false}],
"transform":{"kind":"column_transformer","transformers":[
 {"name":"n","columns":["a"],"transform":{"kind":"pipeline","steps":[{"kind":"simple_imputer","missing_value":null,"fill":[1.5],"indicator":[0]},{"kind":"min_max_scaler","scale":[0.5,1],"min":[0,0],"clip":[0,1]}]}},
 {"name":"c","columns":[1],"transform":{"kind":"one_hot_encoder","categories":[["x","y",null]],"drop":[0],"handle_unknown":"ignore"}},
 {"name":"z","columns":["z"],"transform":{"kind":"ordinal_encoder","categories":[[3,1]],"handle_unknown":"use_encoded_value","unknown_value":-1}}]},
"estimator":{"kind":"tree_ensemble","n_features":5,"aggregate":"boost","n_targets":1,"init":[0.1],"learning_rate":0.5,"link":"logistic","trees":[
 {"target":0,"children_left":[1,3,-1,-1,-1],"children_right":[2,4,-1,-1,-1],"feature":[0,4,-2,-2,-2],"threshold":[0.25,0.5,0,0,0],"missing_go_to_left":[1,0,0,0,0],"value":[[0],[0],[1.5],[-2],[0.75]]}]},
"output":{"task":"classification","classes":["no","yes"],"probabilities":true,"decision":true},
"verification":)",
    // 1: linear multinomial on numbers with standard scaling
    R"({"format":"kiln.model","format_version":1,"name":"fz","metadata":{},
"inputs":[{"name":"a","type":"number","nullable":false},{"name":"b","type":"number","nullable":false}],
"transform":{"kind":"standard_scaler","mean":[1,2],"scale":[2,4]},
"estimator":{"kind":"linear","n_features":2,"coef":[[1,-1],[0.5,0.5],[-1,2]],"intercept":[0,1,-1],"link":"softmax"},
"output":{"task":"classification","classes":[0,1,2],"probabilities":true,"decision":true},
"verification":)",
    // 2: regression with one-hot on strings, handle_unknown=error
    R"({"format":"kiln.model","format_version":1,"name":"fz","metadata":{},
"inputs":[{"name":"s","type":"category","dtype":"string","nullable":false},{"name":"x","type":"number","nullable":true}],
"transform":{"kind":"column_transformer","transformers":[
 {"name":"s","columns":["s"],"transform":{"kind":"one_hot_encoder","categories":[["p","q"]],"handle_unknown":"error"}},
 {"name":"x","columns":["x"],"transform":{"kind":"simple_imputer","missing_value":null,"fill":[0]}}]},
"estimator":{"kind":"linear","n_features":3,"coef":[[1,2,3]],"intercept":[0.5],"link":"identity"},
"output":{"task":"regression"},
"verification":)",
    // 3: averaged forest, no transform
    R"({"format":"kiln.model","format_version":1,"name":"fz","metadata":{},
"inputs":[{"name":"a","type":"number","nullable":false}],"transform":null,
"estimator":{"kind":"tree_ensemble","n_features":1,"aggregate":"average","n_targets":2,"trees":[
 {"children_left":[1,-1,-1],"children_right":[2,-1,-1],"feature":[0,-2,-2],"threshold":[0.5,0,0],"value":[[0.5,0.5],[1,0],[0,1]]}]},
"output":{"task":"classification","classes":["a","b"],"probabilities":true,"decision":false},
"verification":)",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text = kPrefix[data[0] % 4];
  text.append(reinterpret_cast<const char*>(data + 1), size - 1);
  text.push_back('}');
  // KILN_FUZZ_DUMP=file: write the composed model text (what native/tests/fuzz_regressions keeps).
  if (const char* dump = std::getenv("KILN_FUZZ_DUMP")) {
    if (FILE* f = std::fopen(dump, "wb")) {
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
    }
  }
  kiln_fuzz::LoadAndExercise(text, data, size);
  return 0;
}
