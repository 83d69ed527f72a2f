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

PredictArgs ParsePredictArgs(const Napi::CallbackInfo& info, const kiln::Model& model) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) ThrowError(env, kCodeArgument, "expected (input, nRows, out)");
  if (!info[0].IsTypedArray()) ThrowError(env, kCodeArgument, "input must be a Float64Array or Float32Array");
  if (!info[1].IsNumber()) ThrowError(env, kCodeArgument, "nRows must be a number");
  if (!info[2].IsTypedArray()) ThrowError(env, kCodeArgument, "out must be a Float64Array");

  PredictArgs args;
  args.input = info[0].As<Napi::TypedArray>();
  Napi::TypedArray out = info[2].As<Napi::TypedArray>();
  if (out.TypedArrayType() != napi_float64_array) ThrowError(env, kCodeArgument, "out must be a Float64Array");
  args.out = out.As<Napi::Float64Array>();

  const double n_rows = info[1].As<Napi::Number>().DoubleValue();
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
  if (args.input.ElementLength() < need_in) {
    ThrowError(env, kCodeShape,
               "input holds " + std::to_string(args.input.ElementLength()) + " values; " +
                   std::to_string(args.n_rows) + " rows of " + std::to_string(model.inputs().size()) +
                   " inputs need " + std::to_string(need_in));
  }
  if (args.out.ElementLength() < need_out) {
    ThrowError(env, kCodeShape,
               "out holds " + std::to_string(args.out.ElementLength()) + " values; " +
                   std::to_string(args.n_rows) + " rows of " + std::to_string(model.output_width()) +
                   " outputs need " + std::to_string(need_out));
  }

  switch (args.input.TypedArrayType()) {
    case napi_float64_array:
      args.rows_f64 = args.input.As<Napi::Float64Array>().Data();
      break;
    case napi_float32_array:
      args.rows_f32 = args.input.As<Napi::Float32Array>().Data();
      break;
    default:
      ThrowError(env, kCodeArgument, "input must be a Float64Array or Float32Array");
  }
  args.out_data = args.out.Data();
  return args;
}

}  // namespace kiln_binding
