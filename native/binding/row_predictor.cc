#include "row_predictor.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "kiln/record_scanner.h"
#include "predict_args.h"

namespace kiln_binding {
namespace {

struct RowPredictor {
  std::shared_ptr<const kiln::Model> model;
  std::unique_ptr<kiln::Workspace> workspace;
  Napi::Reference<Napi::Float64Array> row_ref;
  Napi::Reference<Napi::Float64Array> out_ref;
  double* row = nullptr;
  double* out = nullptr;
};

// A plain N-API callback, not a node-addon-api one: the call has no arguments to read, so it asks
// napi_get_cb_info for the data pointer only, where node-addon-api's wrapper builds a
// CallbackInfo (this, and up to 6 arguments copied) on every call. Errors take Guard's path to a
// KilnError and are thrown as a JS exception here, since no node-addon-api wrapper is around to
// turn a C++ Napi::Error into one.
napi_value PredictRow(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  if (napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data) != napi_ok) return nullptr;
  auto* p = static_cast<RowPredictor*>(data);
  try {
    Guard(Napi::Env(env), [p] { p->model->Predict(p->row, 1, p->out, *p->workspace); });
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;  // undefined
}

struct BodyPredictor : RowPredictor {
  explicit BodyPredictor(const kiln::Model& m) : scanner(m.inputs()) {}
  kiln::RecordScanner scanner;
};

// Plain N-API for the same reason as PredictRow. Never throws for a body: anything the scanner
// or the engine refuses is `false`, so errors keep coming from the JS path alone.
napi_value PredictBody(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg = nullptr;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, &data) != napi_ok) return nullptr;
  auto* p = static_cast<BodyPredictor*>(data);
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* bytes = nullptr;
  if (argc < 1 || napi_get_typedarray_info(env, arg, &type, &length, &bytes, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, kCodeArgument, "predictBody(bytes): bytes must be a Uint8Array");
    return nullptr;
  }
  bool ok = false;
  try {
    ok = p->scanner.Scan(std::string_view(static_cast<const char*>(bytes), length), p->row);
    if (ok) p->model->Predict(p->row, 1, p->out, *p->workspace);
  } catch (...) {
    ok = false;  // the JS path predicts the same row again and reports the error
  }
  napi_value result = nullptr;
  napi_get_boolean(env, ok, &result);
  return result;
}

struct RowsPredictor {
  explicit RowsPredictor(const kiln::Model& m) : scanner(m.inputs()) {}
  kiln::RecordScanner scanner;
  std::shared_ptr<const kiln::Model> model;
  std::unique_ptr<kiln::Workspace> workspace;
  std::vector<double> rows;  // scratch, JS thread only
};

// predictBodyRows(bytes, shape, maxRows): plain N-API as above; null for a declined body.
napi_value PredictBodyRows(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3] = {nullptr, nullptr, nullptr};
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, args, nullptr, &data) != napi_ok) return nullptr;
  auto* p = static_cast<RowsPredictor*>(data);
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* bytes = nullptr;
  int32_t shape = 0;
  double max_rows = 0;
  if (argc < 3 || napi_get_typedarray_info(env, args[0], &type, &length, &bytes, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array || napi_get_value_int32(env, args[1], &shape) != napi_ok ||
      napi_get_value_double(env, args[2], &max_rows) != napi_ok || !(max_rows >= 0)) {
    napi_throw_type_error(env, kCodeArgument,
                          "predictBodyRows(bytes, shape, maxRows): a Uint8Array, 0 or 1, a non-negative number");
    return nullptr;
  }
  napi_value result = nullptr;
  napi_get_null(env, &result);
  const size_t n_in = p->scanner.width();
  const size_t width = p->model->output_width();
  try {
    const auto body_shape = shape == 1 ? kiln::BodyShape::kInstances : kiln::BodyShape::kRecordArray;
    const auto limit = static_cast<size_t>(std::min(max_rows, 1e9));
    if (!p->scanner.ScanRows(std::string_view(static_cast<const char*>(bytes), length), body_shape, limit, &p->rows)) {
      return result;
    }
    const size_t n_rows = n_in == 0 ? 0 : p->rows.size() / n_in;
    if (n_rows == 0) return result;  // a model without inputs: the JS path decides
    void* out_data = nullptr;
    napi_value buffer = nullptr;
    napi_value out = nullptr;
    if (napi_create_arraybuffer(env, n_rows * width * sizeof(double), &out_data, &buffer) != napi_ok ||
        napi_create_typedarray(env, napi_float64_array, n_rows * width, buffer, 0, &out) != napi_ok) {
      return nullptr;  // a pending JS exception (out of memory)
    }
    p->model->Predict(p->rows.data(), n_rows, static_cast<double*>(out_data), *p->workspace);
    result = out;
  } catch (...) {
    napi_get_null(env, &result);  // the JS path predicts the same rows again and reports the error
  }
  return result;
}

Napi::Float64Array Float64Arg(const Napi::CallbackInfo& info, size_t i, size_t need, const char* what) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    ThrowError(env, kCodeArgument, std::string(what) + " must be a Float64Array");
  }
  Napi::Float64Array array = info[i].As<Napi::Float64Array>();
  if (array.ElementLength() < need) {
    ThrowError(env, kCodeShape,
               std::string(what) + " holds " + std::to_string(array.ElementLength()) + " values; needs " +
                   std::to_string(need));
  }
  return array;
}

// The matrix form: (input, nRows, out) checked by ParsePredictArgs, on the function's own model
// and workspace (no `this` to type-check and unwrap).
struct MatrixPredictor {
  std::shared_ptr<const kiln::Model> model;
  std::unique_ptr<kiln::Workspace> workspace;
};

Napi::Value PredictMatrix(const Napi::CallbackInfo& info) {
  auto* p = static_cast<MatrixPredictor*>(info.Data());
  const PredictArgs args = ParsePredictArgs(info, *p->model);
  if (args.n_rows == 0) return Napi::Value();
  Guard(info.Env(), [&] {
    if (args.rows_f64 != nullptr) {
      p->model->Predict(args.rows_f64, args.n_rows, args.out_data, *p->workspace);
    } else {
      p->model->Predict(args.rows_f32, args.n_rows, args.out_data, *p->workspace);
    }
  });
  return Napi::Value();  // undefined
}

}  // namespace

Napi::Value BindMatrix(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model) {
  Napi::Env env = info.Env();
  auto p = std::make_unique<MatrixPredictor>();
  p->workspace = Guard(env, [&] { return model->NewWorkspace(); });
  p->model = std::move(model);
  Napi::Function fn = Napi::Function::New(env, PredictMatrix, "predictMatrix", p.get());
  fn.AddFinalizer([](Napi::Env, MatrixPredictor* data) { delete data; }, p.get());
  p.release();
  return fn;
}

namespace {

// A plain N-API function over `p`, which it owns and frees when the function is collected.
template <typename T>
Napi::Value PlainFunction(Napi::Env env, const char* name, napi_callback callback, std::unique_ptr<T> p) {
  napi_value raw_fn = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, p.get(), &raw_fn),
                       Napi::Value());
  Napi::Function fn(env, raw_fn);
  fn.AddFinalizer([](Napi::Env, T* data) { delete data; }, p.get());
  p.release();
  return fn;
}

// bindRow / bindBody: the (row, out) arrays checked and held, the model and a workspace of its own.
template <typename T>
Napi::Value BindRowArrays(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model,
                          std::unique_ptr<T> p, const char* name, napi_callback callback) {
  Napi::Env env = info.Env();
  Napi::Float64Array row = Float64Arg(info, 0, model->inputs().size(), "row");
  Napi::Float64Array out = Float64Arg(info, 1, model->output_width(), "out");
  p->workspace = Guard(env, [&] { return model->NewWorkspace(); });
  p->model = std::move(model);
  p->row_ref = Napi::Persistent(row);
  p->out_ref = Napi::Persistent(out);
  p->row = row.Data();
  p->out = out.Data();
  return PlainFunction(env, name, callback, std::move(p));
}

}  // namespace

Napi::Value BindRow(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model) {
  return BindRowArrays(info, std::move(model), std::make_unique<RowPredictor>(), "predictRow", PredictRow);
}

Napi::Value BindBody(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model) {
  auto p = Guard(info.Env(), [&] { return std::make_unique<BodyPredictor>(*model); });
  return BindRowArrays(info, std::move(model), std::move(p), "predictBody", PredictBody);
}

Napi::Value BindBodyRows(const Napi::CallbackInfo& info, std::shared_ptr<const kiln::Model> model) {
  Napi::Env env = info.Env();
  auto p = Guard(env, [&] { return std::make_unique<RowsPredictor>(*model); });
  p->workspace = Guard(env, [&] { return model->NewWorkspace(); });
  p->model = std::move(model);
  return PlainFunction(env, "predictBodyRows", PredictBodyRows, std::move(p));
}

}  // namespace kiln_binding
