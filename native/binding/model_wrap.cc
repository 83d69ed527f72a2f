#include "model_wrap.h"

#include <string>
#include <utility>

#include "errors.h"
#include "load_worker.h"
#include "predict_args.h"
#include "predict_worker.h"
#include "row_predictor.h"

namespace kiln_binding {
namespace {

using ModelPtr = std::shared_ptr<const kiln::Model>;

// Marks objects made by this class, so a method borrowed onto a foreign object is refused.
constexpr napi_type_tag kModelTypeTag = {0x6b696c6e6d6f6465ULL, 0x9d3c51f0a27e4b18ULL};

const char* InputTypeName(kiln::InputType type) {
  switch (type) {
    case kiln::InputType::kNumber:
      return "number";
    case kiln::InputType::kStringCategory:
    case kiln::InputType::kNumberCategory:
      return "category";
  }
  return "number";
}

Napi::Object InputInfo(Napi::Env env, const kiln::InputSpec& spec) {
  Napi::Object input = Napi::Object::New(env);
  input.Set("name", Napi::String::New(env, spec.name));
  input.Set("type", Napi::String::New(env, InputTypeName(spec.type)));
  if (spec.type == kiln::InputType::kStringCategory) {
    input.Set("dtype", Napi::String::New(env, "string"));
  } else if (spec.type == kiln::InputType::kNumberCategory) {
    input.Set("dtype", Napi::String::New(env, "number"));
  }
  input.Set("nullable", Napi::Boolean::New(env, spec.nullable));
  if (spec.type == kiln::InputType::kStringCategory) {
    Napi::Array vocabulary = Napi::Array::New(env, spec.vocabulary.size());
    for (size_t i = 0; i < spec.vocabulary.size(); ++i) {
      vocabulary.Set(static_cast<uint32_t>(i), Napi::String::New(env, spec.vocabulary[i]));
    }
    input.Set("vocabulary", vocabulary);
  }
  return input;
}

std::string StringArg(const Napi::CallbackInfo& info, const char* what) {
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowError(info.Env(), kCodeArgument, std::string(what) + " must be a string");
  }
  return info[0].As<Napi::String>().Utf8Value();
}

}  // namespace

void ModelWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = DefineClass(env, "Model",
                                           {
                                               StaticMethod<&ModelWrap::LoadFile>("loadFile"),
                                               StaticMethod<&ModelWrap::LoadString>("loadString"),
                                               StaticMethod<&ModelWrap::LoadFileAsync>("loadFileAsync"),
                                           });
  Napi::Object prototype = constructor.Get("prototype").As<Napi::Object>();
  prototype.DefineProperties({
      Napi::PropertyDescriptor::Value("info", Napi::Function::New<Dispatch<&ModelWrap::Info>>(env, "info"),
                                      napi_default_method),
      Napi::PropertyDescriptor::Value(
          "predictInto", Napi::Function::New<Dispatch<&ModelWrap::PredictInto>>(env, "predictInto"),
          napi_default_method),
      Napi::PropertyDescriptor::Value(
          "predictAsync", Napi::Function::New<Dispatch<&ModelWrap::PredictAsync>>(env, "predictAsync"),
          napi_default_method),
      Napi::PropertyDescriptor::Value(
          "bindMatrix", Napi::Function::New<Dispatch<&ModelWrap::BindMatrix>>(env, "bindMatrix"), napi_default_method),
      Napi::PropertyDescriptor::Value("bindRow", Napi::Function::New<Dispatch<&ModelWrap::BindRow>>(env, "bindRow"),
                                      napi_default_method),
      Napi::PropertyDescriptor::Value("bindBody", Napi::Function::New<Dispatch<&ModelWrap::BindBody>>(env, "bindBody"),
                                      napi_default_method),
      Napi::PropertyDescriptor::Value(
          "bindBodyRows", Napi::Function::New<Dispatch<&ModelWrap::BindBodyRows>>(env, "bindBodyRows"),
          napi_default_method),
  });
  GetAddonData(env).model_constructor = Napi::Persistent(constructor);
  exports.Set("Model", constructor);
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    ThrowError(info.Env(), kCodeArgument, "Model cannot be constructed directly; use loadFile() or loadString()");
  }
  model_ = *info[0].As<Napi::External<ModelPtr>>().Data();
  workspace_ = Guard(info.Env(), [&] { return model_->NewWorkspace(); });
  info.This().As<Napi::Object>().TypeTag(&kModelTypeTag);
}

Napi::Object ModelWrap::NewInstance(Napi::Env env, ModelPtr model) {
  // The External points at a local that lives for the duration of the synchronous New() call.
  return GetAddonData(env).model_constructor.New({Napi::External<ModelPtr>::New(env, &model)});
}

Napi::Value ModelWrap::LoadFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = StringArg(info, "path");
  ModelPtr model = Guard(env, [&] { return kiln::Model::LoadFile(path); });
  return NewInstance(env, std::move(model));
}

Napi::Value ModelWrap::LoadString(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string json = StringArg(info, "json");
  ModelPtr model = Guard(env, [&] { return kiln::Model::LoadString(json); });
  return NewInstance(env, std::move(model));
}

Napi::Value ModelWrap::LoadFileAsync(const Napi::CallbackInfo& info) {
  auto* worker = new LoadWorker(info.Env(), StringArg(info, "path"), &ModelWrap::NewInstance);  // deletes itself
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

template <ModelWrap::Method method>
Napi::Value ModelWrap::Dispatch(const Napi::CallbackInfo& info) {
  Napi::Value self = info.This();
  if (!self.IsObject() || !self.As<Napi::Object>().CheckTypeTag(&kModelTypeTag)) {
    ThrowError(info.Env(), kCodeArgument, "method called on an object that is not a Kiln model");
  }
  return (Unwrap(self.As<Napi::Object>())->*method)(info);
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, [&] {
    const kiln::Model& m = *model_;
    Napi::Object out = Napi::Object::New(env);
    out.Set("name", Napi::String::New(env, m.name()));
    out.Set("task", Napi::String::New(
                        env, m.task() == kiln::Task::kClassification ? "classification" : "regression"));

    const auto& inputs = m.inputs();
    Napi::Array input_list = Napi::Array::New(env, inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) input_list.Set(static_cast<uint32_t>(i), InputInfo(env, inputs[i]));
    out.Set("inputs", input_list);

    // Labels stay JSON text here; JS parses them so strings and numbers keep their types.
    const auto& classes = m.class_labels_json();
    Napi::Array class_list = Napi::Array::New(env, classes.size());
    for (size_t i = 0; i < classes.size(); ++i) {
      class_list.Set(static_cast<uint32_t>(i), Napi::String::New(env, classes[i]));
    }
    out.Set("classesJson", class_list);

    out.Set("hasProbabilities", Napi::Boolean::New(env, m.has_probabilities()));
    out.Set("nDecision", Napi::Number::New(env, static_cast<double>(m.n_decision())));
    out.Set("outputWidth", Napi::Number::New(env, static_cast<double>(m.output_width())));
    out.Set("metadata", Napi::String::New(env, m.metadata_json()));

    Napi::Object verification = Napi::Object::New(env);
    verification.Set("rowsChecked", Napi::Number::New(env, static_cast<double>(m.verification().rows_checked)));
    verification.Set("maxAbsError", Napi::Number::New(env, m.verification().max_abs_error));
    out.Set("verification", verification);
    return out;
  });
}

Napi::Value ModelWrap::PredictInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const PredictArgs args = ParsePredictArgs(info, *model_);
  if (args.n_rows == 0) return env.Undefined();
  Guard(env, [&] {
    if (args.rows_f64 != nullptr) {
      model_->Predict(args.rows_f64, args.n_rows, args.out_data, *workspace_);
    } else {
      model_->Predict(args.rows_f32, args.n_rows, args.out_data, *workspace_);
    }
  });
  return env.Undefined();
}

Napi::Value ModelWrap::PredictAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const PredictArgs args = ParsePredictArgs(info, *model_);
  auto* worker = new PredictWorker(env, model_, args);  // deletes itself when done
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value ModelWrap::BindRow(const Napi::CallbackInfo& info) { return kiln_binding::BindRow(info, model_); }

Napi::Value ModelWrap::BindBody(const Napi::CallbackInfo& info) { return kiln_binding::BindBody(info, model_); }

Napi::Value ModelWrap::BindBodyRows(const Napi::CallbackInfo& info) {
  return kiln_binding::BindBodyRows(info, model_);
}

Napi::Value ModelWrap::BindMatrix(const Napi::CallbackInfo& info) { return kiln_binding::BindMatrix(info, model_); }

}  // namespace kiln_binding
