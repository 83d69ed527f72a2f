#include "predict_args.h"

#include <cmath>
#include <limits>
#include <string>

#include "errors.h"

namespace kiln_binding {
namespace {

// Largest integer a JS number holds exactly; row counts above it cannot come from JS honestly.
constexpr double kMaxSafeInteger = 9007199254740991.0;

bool MulOverflows(size_t a, size_t b, size_t* product) {
  if (a != 0 && b > std::numeric_limits<size_t>::max() / a) return true;
  *product = a * b;
  return false;
}

}  // namespace

// Plain N-API calls, one napi_get_typedarray_info per array (it also refuses a non-typed-array): the node-addon-api wrappers ask V8
// for the same typed array's type, length and data again at each accessor, which made up most
// of a one-row call.
PredictArgs ParsePredictArgs(const Napi::CallbackInfo& info, const kiln::Model& model) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) ThrowError(env, kCodeArgument, "expected (input, nRows, out)");
  PredictArgs args;
  args.input = info[0];
  args.out = info[2];

  napi_typedarray_type in_type;
  size_t in_length = 0;
  void* in_data = nullptr;
  if (napi_get_typedarray_info(env, args.input, &in_type, &in_length, &in_data, nullptr, nullptr) != napi_ok ||
      (in_type != napi_float64_array && in_type != napi_float32_array)) {
    ThrowError(env, kCodeArgument, "input must be a Float64Array or Float32Array");
  }
  double n_rows = 0;
  if (napi_get_value_double(env, info[1], &n_rows) != napi_ok) ThrowError(env, kCodeArgument, "nRows must be a number");
  napi_typedarray_type out_type;
  size_t out_length = 0;
  void* out_data = nullptr;
  if (napi_get_typedarray_info(env, args.out, &out_type, &out_length, &out_data, nullptr, nullptr) != napi_ok ||
      out_type != napi_float64_array) {
    ThrowError(env, kCodeArgument, "out must be a Float64Array");
  }

  if (!(n_rows >= 0) || n_rows > kMaxSafeInteger || std::floor(n_rows) != n_rows) {
    ThrowError(env, kCodeArgument, "nRows must be a non-negative integer");
  }
  args.n_rows = static_cast<size_t>(n_rows);

  size_t need_in = 0;
  size_t need_out = 0;
  if (MulOverflows(args.n_rows, model.inputs().size(), &need_in) ||
      MulOverflows(args.n_rows, model.output_width(), &need_out)) {
    ThrowError(env, kCodeShape, "nRows is too large");
  }
  if (in_length < need_in) {
    ThrowError(env, kCodeShape,
               "input holds " + std::to_string(in_length) + " values; " + std::to_string(args.n_rows) + " rows of " +
                   std::to_string(model.inputs().size()) + " inputs need " + std::to_string(need_in));
  }
  if (out_length < need_out) {
    ThrowError(env, kCodeShape,
               "out holds " + std::to_string(out_length) + " values; " + std::to_string(args.n_rows) + " rows of " +
                   std::to_string(model.output_width()) + " outputs need " + std::to_string(need_out));
  }
  if (in_type == napi_float64_array) {
    args.rows_f64 = static_cast<const double*>(in_data);
  } else {
    args.rows_f32 = static_cast<const float*>(in_data);
  }
  args.out_data = static_cast<double*>(out_data);
  return args;
}

}  // namespace kiln_binding
