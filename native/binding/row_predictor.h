// model.bindRow(row, out) -> predictRow(): the one-row fast path.
//
// A single-row call from JS is dominated by fixed costs, not by the engine: reading and checking
// three arguments, the type tag of `this`, a dynamic workspace check. bindRow() pays those once:
// it checks a Float64Array of n_inputs and one of output_width and returns a function of no
// arguments that predicts row -> out. The function owns what it needs (the model, its own
// Workspace, strong references to both arrays, which are never detached: the TS Model keeps them
// private) and frees it when the function is collected.
#pragma once

#include "binding.h"
#include "kiln/model.h"

namespace kiln_binding {

Napi::Value BindRow(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model);

// model.bindBody(row, out) -> predictBody(bytes): the server's one-record body path. `bytes` (a
// Uint8Array, the request body) is scanned by kiln::RecordScanner into `row` and predicted into
// `out` in one call; it returns true, or false when the scanner declines the body or the engine
// refuses the row (the caller then takes its JSON.parse path, which gives the exact error). Same
// ownership and plain N-API callback as predictRow.
Napi::Value BindBody(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model);

// model.bindBodyRows() -> predictBodyRows(bytes, shape, maxRows): the same for a body of several
// records (shape 0: [record, ...], the friendly route; 1: {"instances": [...]}, KServe V1), at
// most maxRows of them: a new Float64Array of the output rows, or null when declined.
Napi::Value BindBodyRows(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model);

// model.bindMatrix() -> predictMatrix(input, nRows, out): predictInto() without the per-call `this`
// type-tag check and unwrap (two private-symbol lookups), on a workspace of its own.
Napi::Value BindMatrix(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model);

}  // namespace kiln_binding
