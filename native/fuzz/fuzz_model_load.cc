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
  std::shared_ptr<const kiln::Model> m;
  try {
    m = kiln::Model::LoadString(text);
  } catch (const kiln::Error& e) {
    if (std::getenv("KILN_FUZZ_DEBUG")) std::fprintf(stderr, "%s: %s\n", e.code_name(), e.what());
    return 0;
  }
  kiln_fuzz::Exercise(*m, data, size);
  return 0;
}
