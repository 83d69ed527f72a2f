#include "predict_worker.h"

#include <exception>
#include <utility>

namespace kiln_binding {

PredictWorker::PredictWorker(Napi::Env env, std::shared_ptr<const kiln::Model> model, const PredictArgs& args)
    : Napi::AsyncWorker(env, "kiln:predict"),
      model_(std::move(model)),
      deferred_(Napi::Promise::Deferred::New(env)),
      input_ref_(Napi::Persistent(Napi::Object(env, args.input))),
      out_ref_(Napi::Persistent(Napi::Object(env, args.out))),
      rows_f64_(args.rows_f64),
      rows_f32_(args.rows_f32),
      n_rows_(args.n_rows),
      out_(args.out_data) {}

void PredictWorker::Execute() {
  try {
    if (n_rows_ == 0) return;
    std::unique_ptr<kiln::Workspace> workspace = model_->NewWorkspace();
    if (rows_f64_ != nullptr) {
      model_->Predict(rows_f64_, n_rows_, out_, *workspace);
    } else {
      model_->Predict(rows_f32_, n_rows_, out_, *workspace);
    }
  } catch (const kiln::Error& e) {
    error_ = ErrorInfo::From(e);
    SetError(error_.message);
  } catch (const std::exception& e) {
    error_ = {kCodeInternal, e.what(), {}, -1};
    SetError(error_.message);
  }
}

void PredictWorker::OnOK() { deferred_.Resolve(out_ref_.Value()); }

void PredictWorker::OnError(const Napi::Error& error) {
  if (error_.code.empty()) error_ = {kCodeInternal, error.Message(), {}, -1};
  deferred_.Reject(MakeError(Env(), error_).Value());
}

}  // namespace kiln_binding
