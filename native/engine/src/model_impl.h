// The concrete Model: compiled transform program + one estimator + output head. Immutable after
// the loader has built it; Predict() touches only the caller's Workspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "head.h"
#include "kiln/model.h"
#include "linear.h"
#include "mlp.h"
#include "naive_bayes.h"
#include "neighbors.h"
#include "program.h"
#include "trees.h"

namespace kiln::internal {

class JVal;

// kLinearBlockRows (linear.h): linear models score rows a block at a time.
// Workspace raw holds kTreeBlockRows rows; a linear block keeps its raw scores twice (row-major, class-major).
static_assert(2 * kLinearBlockRows <= kTreeBlockRows, "the scratch and raw blocks are sized for kTreeBlockRows");

class WorkspaceImpl final : public Workspace {
 public:
  std::vector<double> scratch;  // Program slots
  std::vector<double> feat;     // gathered estimator features (linear, float64 trees)
  std::vector<float> xf;        // features of a block of rows, float32 trees
  std::vector<double> xd;       // features of a block of rows, float64 trees
  std::vector<double> raw;      // raw scores / averaged outputs (trees: a block of rows)
  std::vector<double> est_tmp;  // per-row scratch of the estimator (naive Bayes, MLP, k-NN)
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
  enum class Mode : uint8_t { kLinear, kTrees, kNaiveBayes, kMlp, kNeighbors };

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
  NeighborsModel knn_;
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
  // Loads, checks and transforms rows r0 .. r0+m-1 into scratch rows of program_.n_slots.
  // Returns how many rows are ready: m, or the index of the first bad row, whose error is left
  // in `failure` (rethrown once the rows before it are written, as Predict promises).
  template <class T>
  size_t PrepareRows(const T* rows, size_t r0, size_t m, double* scratch, std::exception_ptr& failure) const;
  // One row at a time: estimators without a block kernel (naive Bayes, MLP, k-NN).
  template <class T, class Eval>
  void PredictRows(const T* rows, size_t n_rows, double* out, WorkspaceImpl& ws, const Eval& eval) const;
  void ScaleRow(double* s) const;
  template <class T>
  void PredictLinear(const T* rows, size_t n_rows, double* out, WorkspaceImpl& ws) const;
  void WriteBoostRows(const double* acc, size_t m, double* out, double* raw_t) const;
  template <class T>
  void PredictTrees(const T* rows, size_t n_rows, double* out, WorkspaceImpl& ws) const;
  template <class T>
  void LoadRow(const T* row, size_t r, double* s) const;
  [[noreturn]] void BadInput(size_t input, double v, size_t row) const;

  std::vector<InputCheck> checks_;
  std::vector<std::unordered_map<std::string_view, uint32_t>> vocab_lookup_;
  size_t raw_size_ = 1;
  size_t raw_rows_ = kTreeBlockRows;    // Workspace raw holds this many rows (trees: a tile)
  size_t est_tmp_size_ = 0;
  bool numeric_inputs_ = false;         // no string category input (LoadRow's fast check)
  bool scaler_ = false;                 // program_ is a plain standard scaler (see Freeze)
  size_t tree_xf_size_ = 0;  // Workspace xf / xd: a tile of rows' features (float32 / float64 trees)
  size_t tree_xd_size_ = 0;
  bool scaled_linear_ = false;          // ... and a linear estimator reads all of its outputs in order
  bool scaled_trees_ = false;           // ... and a tree ensemble does
  bool direct_trees_ = false;           // no transform; a tree ensemble reads every input in order
  FoldedScaler folded_;                 // that scaler folded into the coefficients, when in bounds
};

// verify.cc: replays the `verification` block; throws KILN_MODEL_VERIFICATION on drift.
void RunVerification(ModelImpl& m, const JVal& block);

}  // namespace kiln::internal
