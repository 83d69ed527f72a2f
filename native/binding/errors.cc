#include "errors.h"

namespace kiln_binding {

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsFunction()) {
    ThrowError(env, kCodeArgument, "setErrorClass expects the KilnError constructor");
  }
  GetAddonData(env).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Error MakeError(Napi::Env env, const ErrorInfo& error) {
  Napi::Object details = Napi::Object::New(env);
  if (!error.feature.empty()) details.Set("feature", Napi::String::New(env, error.feature));
  if (error.row >= 0) details.Set("row", Napi::Number::New(env, static_cast<double>(error.row)));

  const Napi::FunctionReference& error_class = GetAddonData(env).error_class;
  if (!error_class.IsEmpty()) {
    Napi::Object instance = error_class.New(
        {Napi::String::New(env, error.code), Napi::String::New(env, error.message), details});
    return Napi::Error(env, instance);
  }
  Napi::Error plain = Napi::Error::New(env, error.message);
  plain.Set("code", Napi::String::New(env, error.code));
  if (!error.feature.empty()) plain.Set("feature", details.Get("feature"));
  if (error.row >= 0) plain.Set("row", details.Get("row"));
  return plain;
}

void ThrowError(Napi::Env env, const char* code, const std::string& message) {
  throw MakeError(env, {code, message, {}, -1});
}

}  // namespace kiln_binding
