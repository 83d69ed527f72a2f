// Model.loadFileAsync(path): reading, compiling and verifying a model on the thread pool, so a
// server can load a large model without stalling its event loop.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "binding.h"
#include "errors.h"
#include "kiln/model.h"

namespace kiln_binding {

class LoadWorker : public Napi::AsyncWorker {
 public:
  using Wrap = std::function<Napi::Object(Napi::Env, std::shared_ptr<const kiln::Model>)>;

  LoadWorker(Napi::Env env, std::string path, Wrap wrap);

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override;  // no JS here
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  std::string path_;
  Wrap wrap_;  // builds the JS wrapper on the main thread
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<const kiln::Model> model_;
  ErrorInfo error_;
};

}  // namespace kiln_binding
