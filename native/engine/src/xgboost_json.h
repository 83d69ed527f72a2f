// XGBoost's JSON model format loaded directly (xgboost_json.cc).
#pragma once

#include <memory>

#include "json_reader.h"
#include "kiln/model.h"

namespace kiln::internal {

// Whether the parsed document is an XGBoost model (Booster.save_model('m.json')): an object with
// "learner" and without Kiln's "format".
bool LooksLikeXgboostJson(const Json& root);

// The model: inputs from learner.feature_names (f0..fN-1 when unnamed; numbers, nullable),
// classes 0..K-1 (0/1 for binary), probabilities and margins; no verification rows.
std::shared_ptr<const Model> LoadXgboostJson(const Json& root);

}  // namespace kiln::internal
