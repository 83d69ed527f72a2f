// Feature expressions: the kExpr kernel, a postfix stack machine over the row's scratch buffer.
// Every instruction has a defined IEEE-754 result for every input (docs/expressions.md), so this
// never fails: x / 0 is +-inf or NaN, log(0) is -inf, log(-1) and sqrt(-1) are NaN, as numpy.
#include <cmath>

#include "program.h"

namespace kiln::internal {

namespace {

inline double B(bool v) { return v ? 1.0 : 0.0; }
// numpy's np.minimum / np.maximum: a NaN operand wins.
inline double Min(double a, double b) { return a != a ? a : (b != b ? b : (b < a ? b : a)); }
inline double Max(double a, double b) { return a != a ? a : (b != b ? b : (b > a ? b : a)); }

}  // namespace

void RunExpr(const Op& op, const Program& p, double* s) {
  double* st = s + op.in;  // st[0, sp) is the stack; its depth was bounded at compile time
  uint32_t sp = 0;
  const double* pd = p.pd.data();
  for (const ExprInstr* ip = p.xcode.data() + op.q;; ++ip) {
    switch (ip->op) {
      case XOp::kLoad: st[sp++] = s[ip->a]; break;
      case XOp::kConst: st[sp++] = pd[ip->a]; break;
      case XOp::kNeg: st[sp - 1] = -st[sp - 1]; break;
      case XOp::kNot: st[sp - 1] = B(st[sp - 1] == 0.0); break;
      case XOp::kAdd: --sp; st[sp - 1] = st[sp - 1] + st[sp]; break;
      case XOp::kSub: --sp; st[sp - 1] = st[sp - 1] - st[sp]; break;
      case XOp::kMul: --sp; st[sp - 1] = st[sp - 1] * st[sp]; break;
      case XOp::kDiv: --sp; st[sp - 1] = st[sp - 1] / st[sp]; break;
      case XOp::kEq: --sp; st[sp - 1] = B(st[sp - 1] == st[sp]); break;
      case XOp::kNe: --sp; st[sp - 1] = B(st[sp - 1] != st[sp]); break;
      case XOp::kLt: --sp; st[sp - 1] = B(st[sp - 1] < st[sp]); break;
      case XOp::kLe: --sp; st[sp - 1] = B(st[sp - 1] <= st[sp]); break;
      case XOp::kGt: --sp; st[sp - 1] = B(st[sp - 1] > st[sp]); break;
      case XOp::kGe: --sp; st[sp - 1] = B(st[sp - 1] >= st[sp]); break;
      case XOp::kAnd: --sp; st[sp - 1] = B(st[sp - 1] != 0.0 && st[sp] != 0.0); break;
      case XOp::kOr: --sp; st[sp - 1] = B(st[sp - 1] != 0.0 || st[sp] != 0.0); break;
      case XOp::kMin: --sp; st[sp - 1] = Min(st[sp - 1], st[sp]); break;
      case XOp::kMax: --sp; st[sp - 1] = Max(st[sp - 1], st[sp]); break;
      case XOp::kPow: --sp; st[sp - 1] = std::pow(st[sp - 1], st[sp]); break;
      case XOp::kCoalesce: --sp; if (st[sp - 1] != st[sp - 1]) st[sp - 1] = st[sp]; break;
      case XOp::kLog: st[sp - 1] = std::log(st[sp - 1]); break;
      case XOp::kLog1p: st[sp - 1] = std::log1p(st[sp - 1]); break;
      case XOp::kExp: st[sp - 1] = std::exp(st[sp - 1]); break;
      case XOp::kSqrt: st[sp - 1] = std::sqrt(st[sp - 1]); break;
      case XOp::kAbs: st[sp - 1] = std::fabs(st[sp - 1]); break;
      case XOp::kSquare: st[sp - 1] = st[sp - 1] * st[sp - 1]; break;
      case XOp::kIsNull: st[sp - 1] = B(std::isnan(st[sp - 1])); break;
      case XOp::kSelect: sp -= 2; st[sp - 1] = st[sp - 1] != 0.0 ? st[sp] : st[sp + 1]; break;
      case XOp::kClip: sp -= 2; st[sp - 1] = Min(Max(st[sp - 1], st[sp]), st[sp + 1]); break;
      case XOp::kIn: {
        const double x = st[sp - 1];
        const double* set = pd + ip->a;
        bool hit = false;
        for (uint32_t i = 0; i < ip->n; ++i) hit = hit || x == set[i];
        st[sp - 1] = B(hit);
        break;
      }
      case XOp::kStore: s[ip->a] = st[--sp]; break;
      case XOp::kHalt: return;
    }
  }
}

}  // namespace kiln::internal
