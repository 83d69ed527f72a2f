// Harness A: Model::LoadString on arbitrary bytes (parse, schema, compile, verification replay);
// when a model loads, Predict on rows derived from the input. Must load or throw kiln::Error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  kiln_fuzz::LoadAndExercise(text, data, size);
  return 0;
}
