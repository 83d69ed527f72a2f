#include "body_parser.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "errors.h"
#include "kiln/record_parser.h"

namespace kiln_binding {
namespace {

struct BodyParser {
  explicit BodyParser(const kiln::Model& model) : parser(model.inputs()) {}
  kiln::RecordParser parser;
  std::vector<double> scratch;  // JS thread only
};

Napi::Value ParseBody(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* p = static_cast<BodyParser*>(info.Data());
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsNumber() || !info[2].IsNumber()) {
    ThrowError(env, kCodeArgument, "parseBody(bytes, shape, maxRows): bytes must be a Uint8Array, shape and maxRows numbers");
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const kiln::BodyShape shape = info[1].As<Napi::Number>().Int32Value() == 1 ? kiln::BodyShape::kInstances
                                                                             : kiln::BodyShape::kRecordOrArray;
  const double max_rows = info[2].As<Napi::Number>().DoubleValue();
  if (!(max_rows >= 0)) ThrowError(env, kCodeArgument, "parseBody: maxRows must be a non-negative number");
  const std::string_view body(reinterpret_cast<const char*>(bytes.Data()), bytes.ElementLength());
  bool is_array = false;  // the caller reads it from the body's first byte
  const bool ok = Guard(env, [&] {
    return p->parser.Parse(body, shape, static_cast<size_t>(std::min(max_rows, 1e15)), &p->scratch, &is_array);
  });
  if (!ok) return env.Null();
  Napi::Float64Array rows = Napi::Float64Array::New(env, p->scratch.size());
  std::copy(p->scratch.begin(), p->scratch.end(), rows.Data());
  return rows;
}

}  // namespace

Napi::Value BindBodyParser(const Napi::CallbackInfo& info, const kiln::Model& model) {
  Napi::Env env = info.Env();
  auto p = Guard(env, [&] { return std::make_unique<BodyParser>(model); });
  Napi::Function fn = Napi::Function::New(env, ParseBody, "parseBody", p.get());
  fn.AddFinalizer([](Napi::Env, BodyParser* data) { delete data; }, p.get());
  p.release();
  return fn;
}

}  // namespace kiln_binding
