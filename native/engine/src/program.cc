#include "program.h"

namespace kiln::internal {

void Program::Run(double* s, size_t row, const std::vector<InputSpec>& inputs) const {
  for (const Op& op : ops) {
    switch (op.kind) {
      case OpKind::kSub:
      case OpKind::kDiv:
      case OpKind::kMul:
      case OpKind::kAdd:
      case OpKind::kClip:
      case OpKind::kBinarize:
        RunElementwise(op, *this, s);
        break;
      case OpKind::kImputeNaN:
      case OpKind::kImputeEq:
      case OpKind::kIndicatorNaN:
      case OpKind::kIndicatorEq:
        RunImpute(op, *this, s);
        break;
      case OpKind::kNormL1:
      case OpKind::kNormL2:
      case OpKind::kNormMax:
        RunNormalize(op, *this, s);
        break;
      case OpKind::kOneHot:
        RunOneHot(op, *this, s, row, inputs);
        break;
      case OpKind::kOrdinal:
        RunOrdinal(op, *this, s, row, inputs);
        break;
      case OpKind::kBins:
        RunBins(op, *this, s);
        break;
      case OpKind::kPolyTerms:
        RunPolyTerms(op, *this, s);
        break;
      case OpKind::kExpr:
        RunExpr(op, *this, s);
        break;
    }
  }
}

}  // namespace kiln::internal
