// Kiln engine errors: one exception type carrying a stable code. The binding turns it into a JS
// KilnError with the same `code`; the codes are catalogued in src/errors.ts and docs/.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace kiln {

enum class ErrorCode {
  // Loading a model file.
  kModelIo,            // KILN_MODEL_IO
  kModelParse,         // KILN_MODEL_PARSE
  kModelVersion,       // KILN_MODEL_VERSION
  kModelSchema,        // KILN_MODEL_SCHEMA
  kModelUnsupported,   // KILN_MODEL_UNSUPPORTED
  kModelInvalid,       // KILN_MODEL_INVALID
  kModelLimit,         // KILN_MODEL_LIMIT
  kModelVerification,  // KILN_MODEL_VERIFICATION
  // Predicting a row.
  kInputMissing,          // KILN_INPUT_MISSING: null in a non-nullable feature
  kInputNotFinite,        // KILN_INPUT_NOT_FINITE: +-inf (or NaN where null is not allowed)
  kInputUnknownCategory,  // KILN_INPUT_UNKNOWN_CATEGORY: unseen category with handle_unknown=error
  kInputShape,            // KILN_INPUT_SHAPE: buffer sizes that do not fit the model
};

const char* ErrorCodeName(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, std::string feature = {}, long long row = -1)
      : std::runtime_error(message), code_(code), feature_(std::move(feature)), row_(row) {}

  ErrorCode code() const noexcept { return code_; }
  const char* code_name() const noexcept { return ErrorCodeName(code_); }
  // Row errors: the feature at fault and the 0-based row in the batch; empty / -1 otherwise.
  const std::string& feature() const noexcept { return feature_; }
  long long row() const noexcept { return row_; }

 private:
  ErrorCode code_;
  std::string feature_;
  long long row_;
};

}  // namespace kiln
