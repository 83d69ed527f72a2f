// Kiln N-API addon: registers the exports, nothing else.
//
//   setErrorClass(KilnError)   called once by src/native.ts
//   Model.loadFile(path) / Model.loadString(json) -> Model
//   model.info() / model.predictInto(...) / model.predictAsync(...)
#include "binding.h"
#include "errors.h"
#include "model_wrap.h"

namespace kiln_binding {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  exports.Set("setErrorClass", Napi::Function::New<SetErrorClass>(env, "setErrorClass"));
  ModelWrap::Init(env, exports);
  return exports;
}

}  // namespace kiln_binding

// The macro pastes the function name into an identifier, so it needs an unqualified name.
static Napi::Object InitKiln(Napi::Env env, Napi::Object exports) { return kiln_binding::Init(env, exports); }

NODE_API_MODULE(kiln, InitKiln)
