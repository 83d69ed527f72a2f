// model.bindBodyParser() -> parseBody(bytes, shape, maxRows): the server's predict routes read
// request bodies straight into slot-encoded rows (kiln::RecordParser), without JSON.parse and an
// object per feature.
//
// parseBody returns a new Float64Array of n x inputs.length (shape 0: one record or an array of
// records; shape 1: the KServe V1 {"instances": [...]}), or null when the parser declines: the
// caller then parses the body with JSON.parse and the record encoder, which give the exact error.
// The rows are the caller's own (a request keeps them across its hooks). The returned function
// owns the parser (built once: the input name index and vocabularies) and must only run on its
// JS thread (it reuses one scratch vector).
#pragma once

#include <memory>

#include "binding.h"
#include "kiln/model.h"

namespace kiln_binding {

Napi::Value BindBodyParser(const Napi::CallbackInfo& info, const kiln::Model& model);

}  // namespace kiln_binding
