// Common include for every binding translation unit.
//
// Error mode: C++ exceptions (NAPI_CPP_EXCEPTIONS), applied everywhere. A Napi::Error thrown in
// a callback becomes a JS exception; every entry point also catches kiln::Error and
// std::exception and turns them into a KilnError (see errors.h), so no engine exception ever
// reaches node-addon-api's generic handler.
#pragma once

#ifndef NAPI_CPP_EXCEPTIONS
#define NAPI_CPP_EXCEPTIONS
#endif
#include <napi.h>

namespace kiln_binding {

// Per-environment state (one per main thread / worker thread that loads the addon), owned by
// the env through SetInstanceData and freed when the env is torn down.
struct AddonData {
  Napi::FunctionReference model_constructor;
  // The JS KilnError class, handed over once by setErrorClass(). Empty until then; errors fall
  // back to a plain Error with a `code` property.
  Napi::FunctionReference error_class;
};

inline AddonData& GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace kiln_binding
