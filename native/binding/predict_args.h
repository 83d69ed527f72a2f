// Validation of the (input, nRows, out) triple shared by predictInto() and predictAsync().
//
// The TypeScript layer validates everything with precise messages before it gets here; these are
// the cheap guards that keep a wrong call from reading or writing outside a buffer.
#pragma once

#include <cstddef>

#include "binding.h"
#include "kiln/model.h"

namespace kiln_binding {

struct PredictArgs {
  napi_value input = nullptr;  // Float64Array or Float32Array, >= n_rows * n_inputs elements
  napi_value out = nullptr;    // Float64Array, >= n_rows * output_width elements
  const double* rows_f64 = nullptr;  // exactly one of rows_f64 / rows_f32 is set
  const float* rows_f32 = nullptr;
  size_t n_rows = 0;
  double* out_data = nullptr;
};

// Reads info[0..2]; throws KilnError KILN_ARGUMENT (wrong types) or KILN_INPUT_SHAPE (buffers
// too small for n_rows).
PredictArgs ParsePredictArgs(const Napi::CallbackInfo& info, const kiln::Model& model);

}  // namespace kiln_binding
