// Stable names of the error codes (they are part of the JS API; see error.h).
#include "kiln/error.h"

namespace kiln {

const char* ErrorCodeName(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kModelIo: return "KILN_MODEL_IO";
    case ErrorCode::kModelParse: return "KILN_MODEL_PARSE";
    case ErrorCode::kModelVersion: return "KILN_MODEL_VERSION";
    case ErrorCode::kModelSchema: return "KILN_MODEL_SCHEMA";
    case ErrorCode::kModelUnsupported: return "KILN_MODEL_UNSUPPORTED";
    case ErrorCode::kModelInvalid: return "KILN_MODEL_INVALID";
    case ErrorCode::kModelLimit: return "KILN_MODEL_LIMIT";
    case ErrorCode::kModelVerification: return "KILN_MODEL_VERIFICATION";
    case ErrorCode::kInputMissing: return "KILN_INPUT_MISSING";
    case ErrorCode::kInputNotFinite: return "KILN_INPUT_NOT_FINITE";
    case ErrorCode::kInputUnknownCategory: return "KILN_INPUT_UNKNOWN_CATEGORY";
    case ErrorCode::kInputShape: return "KILN_INPUT_SHAPE";
  }
  return "KILN_UNKNOWN";
}

}  // namespace kiln
