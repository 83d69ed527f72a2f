// Kiln engine: public API. Pure C++17, no Node headers; the N-API binding, the C++ tests and the
// benchmark binary all link this.
//
// Thread-safety contract: a Model is immutable once Load*() returns. Every const member may be
// called from any number of threads at once, provided each thread passes its own Workspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/error.h"

namespace kiln {

enum class InputType : uint8_t {
  kNumber,          // finite double
  kStringCategory,  // string, passed to Predict as its vocabulary code (see below)
  kNumberCategory,  // category spelled as a number, passed as the number
};

// Slot encoding of a string category value in the row matrix handed to Predict().
inline constexpr double kUnknownCategory = -1.0;  // a string the model has never seen
// A missing value (JSON null) is NaN in every slot kind.

struct InputSpec {
  std::string name;
  InputType type = InputType::kNumber;
  bool nullable = false;
  // kStringCategory only: every string any step knows for this column. A row carries the index
  // into this list (as a double), kUnknownCategory, or NaN.
  std::vector<std::string> vocabulary;
};

enum class Task : uint8_t { kClassification, kRegression };

struct LoadOptions {
  // Replay the verification rows before returning the model. Turning this off is for tools that
  // inspect a broken model; serving never does.
  bool verify = true;
};

struct VerificationReport {
  size_t rows_checked = 0;
  double max_abs_error = 0.0;  // largest |computed - expected| over all numbers compared
};

class Workspace;

class Model {
 public:
  // Reads, validates, compiles and (by default) verifies a model file. Throws kiln::Error.
  static std::shared_ptr<const Model> LoadFile(const std::string& path, const LoadOptions& options = {});
  static std::shared_ptr<const Model> LoadString(std::string_view json, const LoadOptions& options = {});

  virtual ~Model() = default;

  virtual const std::string& name() const = 0;
  virtual const std::vector<InputSpec>& inputs() const = 0;
  virtual Task task() const = 0;

  // Classification: the classes in sklearn's order, as JSON text of each value (strings quoted),
  // so callers can rebuild typed labels without the engine caring about label types.
  virtual const std::vector<std::string>& class_labels_json() const = 0;
  virtual bool has_probabilities() const = 0;
  virtual size_t n_decision() const = 0;  // 0 when the model has no decision values

  // Doubles written per row by Predict(): classification: [label index, probabilities
  // (n_classes, if any), decision values (n_decision)]; regression: [value].
  virtual size_t output_width() const = 0;

  // The metadata object of the file, re-serialised as JSON text.
  virtual const std::string& metadata_json() const = 0;
  virtual const VerificationReport& verification() const = 0;

  // Vocabulary code of a string for a kStringCategory input, or kUnknownCategory.
  virtual double CategoryCode(size_t input, std::string_view value) const = 0;

  // One workspace per thread; reusable across calls and rows, so the hot path allocates nothing.
  virtual std::unique_ptr<Workspace> NewWorkspace() const = 0;

  // rows: n_rows x inputs().size(), row-major, slot-encoded as described above.
  // out: n_rows x output_width(). Throws kiln::Error naming the feature and row on bad input;
  // rows before the failing one have been written.
  virtual void Predict(const double* rows, size_t n_rows, double* out, Workspace& ws) const = 0;
  // Same, for callers holding float32 data (numeric-input models; values are widened exactly).
  virtual void Predict(const float* rows, size_t n_rows, double* out, Workspace& ws) const = 0;
};

// Opaque per-thread scratch memory sized for one model.
class Workspace {
 public:
  virtual ~Workspace() = default;
};

}  // namespace kiln
