#include "library_model.h"

#include <string>

#include "compile.h"

namespace kiln::internal {

void FinishLibraryTreeModel(ModelImpl& m, Link link, size_t k) {
  Compiler compiler(m.program_, m.inputs_);
  for (const Col& c : compiler.InputFrame()) m.features_.push_back(c.slot);
  m.mode_ = ModelImpl::Mode::kTrees;
  RawHead& h = m.head_;
  h.task = m.task_;
  h.link = link;
  h.k = static_cast<uint32_t>(k);
  if (m.task_ == Task::kClassification) {
    const size_t n_classes = k == 1 ? 2 : k;
    for (size_t c = 0; c < n_classes; ++c) {
      m.class_num_.push_back(static_cast<double>(c));
      m.class_json_.push_back(std::to_string(c));
    }
    h.n_classes = static_cast<uint32_t>(n_classes);
    h.probabilities = true;
    h.decision = true;
    h.label_ge = false;  // LightGBM and XGBoost: class 1 when p > 0.5, i.e. raw > 0
    m.probabilities_ = true;
    m.n_decision_ = k;
    m.output_width_ = 1 + n_classes + m.n_decision_;
  }
  m.Freeze();
}

}  // namespace kiln::internal
