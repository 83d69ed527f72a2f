#include "load_worker.h"

#include <exception>
#include <utility>

namespace kiln_binding {

LoadWorker::LoadWorker(Napi::Env env, std::string path, Wrap wrap)
    : Napi::AsyncWorker(env, "kiln:load"),
      path_(std::move(path)),
      wrap_(std::move(wrap)),
      deferred_(Napi::Promise::Deferred::New(env)) {}

void LoadWorker::Execute() {
  try {
    model_ = kiln::Model::LoadFile(path_);
  } catch (const kiln::Error& e) {
    error_ = ErrorInfo::From(e);
    SetError(error_.message);
  } catch (const std::exception& e) {
    error_ = {kCodeInternal, e.what(), {}, -1};
    SetError(error_.message);
  }
}

void LoadWorker::OnOK() {
  Napi::Env env = Env();
  try {
    deferred_.Resolve(wrap_(env, std::move(model_)));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void LoadWorker::OnError(const Napi::Error& error) {
  if (error_.code.empty()) error_ = {kCodeInternal, error.Message(), {}, -1};
  deferred_.Reject(MakeError(Env(), error_).Value());
}

}  // namespace kiln_binding
