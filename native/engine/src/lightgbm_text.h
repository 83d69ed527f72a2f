// LightGBM's text model format loaded directly (lightgbm_text.cc).
#pragma once

#include <memory>
#include <string_view>

#include "kiln/model.h"

namespace kiln::internal {

// Whether `text` is a LightGBM text model (it starts with the line "tree").
bool LooksLikeLightGbmText(std::string_view text);

// The model: inputs named from feature_names (numbers, nullable), classes 0..K-1 (0/1 for
// binary), probabilities and raw decision values; no verification rows (the file has none).
std::shared_ptr<const Model> LoadLightGbmText(std::string_view text);

}  // namespace kiln::internal
