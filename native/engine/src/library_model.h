// The common tail of loading a training library's own model file (LightGBM text, XGBoost JSON):
// once the inputs, task and tree ensemble are set, the rest of the model is the same.
#pragma once

#include <cstddef>

#include "model_impl.h"

namespace kiln::internal {

// Compiles the input frame, picks the tree mode and fills the head: classes 0..K-1 (0/1 when
// k == 1) with probabilities and k raw scores as decision values, binary label `p > 0.5`
// (raw > 0). Then freezes `m`. Needs m.inputs_, m.task_ and m.trees_ set.
void FinishLibraryTreeModel(ModelImpl& m, Link link, size_t k);

}  // namespace kiln::internal
