// The JS `Model` handle: an ObjectWrap around std::shared_ptr<const kiln::Model>.
//
// Contract: a kiln::Model is immutable once loaded, and every const member may run on any number
// of threads at once as long as each thread brings its own kiln::Workspace. So the wrapper shares
// the model freely (async workers hold their own shared_ptr, each with a fresh Workspace), and the
// synchronous path reuses the one Workspace owned by this wrapper: it only ever runs on the JS
// thread that owns the wrapper, and Predict() never calls back into JS, so it cannot re-enter.
#pragma once

#include <memory>

#include "binding.h"
#include "kiln/model.h"

namespace kiln_binding {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

  // Not callable from JS: the only argument accepted is the External the factories pass.
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  // Model.loadFile(path) / Model.loadString(json): load, validate and verify; throw KilnError.
  static Napi::Value LoadFile(const Napi::CallbackInfo& info);
  static Napi::Value LoadString(const Napi::CallbackInfo& info);
  // Model.loadFileAsync(path) -> Promise<Model>: the same, on the thread pool.
  static Napi::Value LoadFileAsync(const Napi::CallbackInfo& info);
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<const kiln::Model> model);

  // info(): a plain object describing the model (see native.ts for its TS type).
  Napi::Value Info(const Napi::CallbackInfo& info);
  // predictInto(input, nRows, out): synchronous, zero copy, no allocation; returns undefined.
  Napi::Value PredictInto(const Napi::CallbackInfo& info);
  // predictAsync(input, nRows, out): Promise<out>, on the thread pool.
  Napi::Value PredictAsync(const Napi::CallbackInfo& info);
  // bindRow(row, out) -> predictRow(): see row_predictor.h.
  Napi::Value BindMatrix(const Napi::CallbackInfo& info);
  Napi::Value BindRow(const Napi::CallbackInfo& info);
  // bindBody(row, out) -> predictBody(bytes): see row_predictor.h.
  Napi::Value BindBody(const Napi::CallbackInfo& info);
  // bindBodyRows() -> predictBodyRows(bytes, shape, maxRows): see row_predictor.h.
  Napi::Value BindBodyRows(const Napi::CallbackInfo& info);

  // Prototype methods go through Dispatch, which checks the type tag of `this` before unwrapping
  // it, so a method borrowed onto a foreign object throws a KilnError instead of misreading it.
  using Method = Napi::Value (ModelWrap::*)(const Napi::CallbackInfo&);
  template <Method method>
  static Napi::Value Dispatch(const Napi::CallbackInfo& info);

  std::shared_ptr<const kiln::Model> model_;
  std::unique_ptr<kiln::Workspace> workspace_;  // for the synchronous path only
};

}  // namespace kiln_binding
