// The concrete Model: compiled transform program + one estimator + output head. Immutable after
// the loader has built it; Predict() touches only the caller's Workspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "head.h"
#include "kiln/model.h"
#include "linear.h"
#include "mlp.h"
#include "naive_bayes.h"
#include "program.h"
#include "trees.h"

namespace kiln::internal {

class JVal;

class WorkspaceImpl final : public Workspace {
 public:
  std::vector<double> scratch;  // Program slots
  std::vector<double> feat;     // gathered estimator features (linear, float64 trees)
  std::vector<float> xf;        // gathered float32 features (trees)
  std::vector<double> raw;      // raw scores / averaged outputs
  std::vector<double> est_tmp;  // per-row scratch of the estimator (naive Bayes, MLP)
};

class ModelImpl final : public Model {
 public:
  const std::string& name() const override { return name_; }
  const std::vector<InputSpec>& inputs() const override { return inputs_; }
  Task task() const override { return task_; }
  const std::vector<std::string>& class_labels_json() const override { return class_json_; }
  bool has_probabilities() const override { return probabilities_; }
  size_t n_decision() const override { return n_decision_; }
  size_t output_width() const override { return output_width_; }
  const std::string& metadata_json() const override { return metadata_json_; }
  const VerificationReport& verification() const override { return report_; }
  double CategoryCode(size_t input, std::string_view value) const override;
  std::unique_ptr<Workspace> NewWorkspace() const override;
  void Predict(const double* rows, size_t n_rows, double* out, Workspace& ws) const override;
  void Predict(const float* rows, size_t n_rows, double* out, Workspace& ws) const override;

  // ---- built by the loader (loader.cc), then frozen ----
  enum class Mode : uint8_t { kLinear, kAverage, kAverageMissing, kBoost, kBoostMissing, kTreeKernel, kNaiveBayes, kMlp };

  std::string name_;
  std::string metadata_json_;
  std::vector<InputSpec> inputs_;
  Task task_ = Task::kRegression;
  std::vector<std::string> class_json_;
  bool classes_are_strings_ = false;
  std::vector<std::string> class_str_;
  std::vector<double> class_num_;
  bool probabilities_ = false;
  size_t n_decision_ = 0;
  size_t output_width_ = 1;
  VerificationReport report_;

  Program program_;
  std::vector<uint32_t> features_;  // estimator input slots, in frame order
  bool features_contiguous_ = false;
  uint32_t features_base_ = 0;
  Mode mode_ = Mode::kLinear;
  LinearModel linear_;
  TreeEnsemble trees_;
  NaiveBayesModel nb_;
  MlpModel mlp_;
  RawHead head_;

  // Call once everything above is set: builds the per-input checks and vocabulary lookups.
  void Freeze();

 private:
  struct InputCheck {
    bool is_string;
    bool nullable;
    double vocab_size;
  };

  template <class T>
  void PredictT(const T* rows, size_t n_rows, double* out, Workspace& ws) const;
  template <class T, class Eval>
  void Loop(const T* rows, size_t n_rows, double* out, WorkspaceImpl& ws, const Eval& eval) const;
  template <class T>
  void LoadRow(const T* row, size_t r, double* s) const;
  [[noreturn]] void BadInput(size_t input, double v, size_t row) const;

  std::vector<InputCheck> checks_;
  std::vector<std::unordered_map<std::string_view, uint32_t>> vocab_lookup_;
  size_t raw_size_ = 1;
  size_t est_tmp_size_ = 0;
};

// verify.cc: replays the `verification` block; throws KILN_MODEL_VERIFICATION on drift.
void RunVerification(ModelImpl& m, const JVal& block);

}  // namespace kiln::internal
