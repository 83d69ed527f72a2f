// Turning engine errors into JS KilnError instances.
#pragma once

#include <string>

#include "binding.h"
#include "kiln/error.h"

namespace kiln_binding {

// Codes raised by the binding itself (the engine's codes come from kiln::ErrorCodeName).
inline constexpr const char* kCodeArgument = "KILN_ARGUMENT";  // bad API argument
inline constexpr const char* kCodeShape = "KILN_INPUT_SHAPE";  // buffer sizes that do not fit
inline constexpr const char* kCodeInternal = "KILN_INTERNAL";  // anything not a kiln::Error

// A plain, JS-free copy of an error, so a worker thread can capture it in Execute() and the
// main thread can build the JS object later.
struct ErrorInfo {
  std::string code;
  std::string message;
  std::string feature;  // empty: none
  long long row = -1;   // -1: none

  static ErrorInfo From(const kiln::Error& e) { return {e.code_name(), e.what(), e.feature(), e.row()}; }
};

// setErrorClass(KilnError): stores the constructor in the env's AddonData.
Napi::Value SetErrorClass(const Napi::CallbackInfo& info);

// new KilnError(code, message, {feature, row}) (or a plain Error with `code` before
// setErrorClass), wrapped so it can be thrown from C++ or passed to Deferred::Reject.
Napi::Error MakeError(Napi::Env env, const ErrorInfo& error);

[[noreturn]] void ThrowError(Napi::Env env, const char* code, const std::string& message);

// Runs `body` and converts kiln::Error / std::exception into a thrown KilnError. Napi::Error
// (already a JS error) passes through untouched.
template <typename F>
auto Guard(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const kiln::Error& e) {
    throw MakeError(env, ErrorInfo::From(e));
  } catch (const std::exception& e) {
    throw MakeError(env, {kCodeInternal, e.what(), {}, -1});
  }
}

}  // namespace kiln_binding
