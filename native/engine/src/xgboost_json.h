// XGBoost's JSON model format loaded directly (xgboost_json.cc).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "json_reader.h"
#include "kiln/model.h"

namespace kiln::internal {

// Whether the parsed document is an XGBoost model (Booster.save_model('m.json')): an object with
// "learner" and without Kiln's "format".
bool LooksLikeXgboostJson(const Json& root);

// The model: inputs from learner.feature_names (f0..fN-1 when unnamed; numbers, nullable),
// classes 0..K-1 (0/1 for binary), probabilities and margins; no verification rows.
std::shared_ptr<const Model> LoadXgboostJson(const Json& root);

// XGBoost before 3.0 writes a categorical node's (unused) split_condition as a bare NaN token,
// which is not JSON. For text that opens as an XGBoost document ({"learner": ...), returns it with
// every NaN token outside strings replaced by null (the loader reads no number there); for any
// other text, an empty string.
std::string XgboostNanAsNull(std::string_view text);

}  // namespace kiln::internal
