// predictAsync(): one batch predicted on the libuv thread pool.
//
// The fixed async pattern: everything JS is read on the main thread in the constructor (typed
// array data pointers, persistent references that keep both arrays alive until the worker is
// done); Execute() touches no JS and uses its own kiln::Workspace; OnOK()/OnError() settle the
// promise on the main thread. Results are written straight into the caller's `out` array.
//
// Caller contract (documented in the TS API): the arrays must not be detached (transferred) or
// written to while the promise is pending.
#pragma once

#include <memory>

#include "binding.h"
#include "errors.h"
#include "kiln/model.h"
#include "predict_args.h"

namespace kiln_binding {

class PredictWorker : public Napi::AsyncWorker {
 public:
  PredictWorker(Napi::Env env, std::shared_ptr<const kiln::Model> model, const PredictArgs& args);

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  // Shared ownership: the model outlives the JS wrapper if that is collected mid-flight.
  std::shared_ptr<const kiln::Model> model_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference input_ref_;
  Napi::ObjectReference out_ref_;
  const double* rows_f64_;
  const float* rows_f32_;
  size_t n_rows_;
  double* out_;
  ErrorInfo error_;  // filled by Execute() on failure
};

}  // namespace kiln_binding
