// Feature expressions: the `expressions` step. Each output's source is parsed, its names are
// resolved against the incoming frame, its types are checked (numbers vs string category
// columns) and it is flattened into postfix code for one kExpr op. Everything that can be wrong
// with an expression is found here, at load; running it (expr_run.cc) cannot fail.
#include <algorithm>
#include <unordered_map>

#include "compile.h"
#include "expr_ast.h"

namespace kiln::internal {

namespace {

struct Func {
  const char* name;
  size_t min_args;
  size_t max_args;  // 0: unbounded
  XOp op;
};

// The function table of docs/expressions.md. Variadic min/max/coalesce fold left to right.
constexpr Func kFuncs[] = {
    {"if", 3, 3, XOp::kSelect},   {"min", 2, 0, XOp::kMin},       {"max", 2, 0, XOp::kMax},
    {"clip", 3, 3, XOp::kClip},   {"log", 1, 1, XOp::kLog},       {"log1p", 1, 1, XOp::kLog1p},
    {"exp", 1, 1, XOp::kExp},     {"sqrt", 1, 1, XOp::kSqrt},     {"abs", 1, 1, XOp::kAbs},
    {"square", 1, 1, XOp::kSquare}, {"pow", 2, 2, XOp::kPow},     {"is_null", 1, 1, XOp::kIsNull},
    {"coalesce", 2, 0, XOp::kCoalesce},
};

std::string FuncNames() {
  std::string s;
  for (const Func& f : kFuncs) s += std::string(s.empty() ? "" : ", ") + f.name;
  return s;
}

class Gen {
 public:
  Gen(Compiler& c, const Frame& in) : c_(c), in_(in) {
    for (size_t j = 0; j < in.size(); ++j) {
      if (in[j].named) by_name_.emplace(c.inputs()[static_cast<size_t>(in[j].origin)].name, j);
    }
  }

  // Compiles one output's source, leaving its value on the stack, then stores it in `slot`.
  void Output(const std::string& src, const std::string& path, uint32_t slot) {
    path_ = &path;
    auto root = ParseExpr(src, path);
    Number(*root);
    Emit(XOp::kStore, slot);
    Pop(1);
  }

  uint32_t max_stack() const { return max_depth_; }

 private:
  [[noreturn]] void Fail(const ExprNode& n, const std::string& what) const {
    Throw(ErrorCode::kModelInvalid, *path_, "at character " + std::to_string(n.pos) + ": " + what);
  }

  void Emit(XOp op, uint32_t a = 0, uint32_t n = 0) { c_.prog().xcode.push_back(ExprInstr{op, a, n}); }
  void Push() { max_depth_ = std::max(max_depth_, ++depth_); }
  void Pop(uint32_t k) { depth_ -= k; }

  const Col& Column(const ExprNode& n) {
    if (n.index >= 0) {
      if (static_cast<size_t>(n.index) >= in_.size()) {
        Fail(n, "column $" + std::to_string(n.index) + " does not exist (the frame this step receives has " +
                    std::to_string(in_.size()) + " columns)");
      }
      return in_[static_cast<size_t>(n.index)];
    }
    auto it = by_name_.find(n.text);
    if (it == by_name_.end()) {
      std::string hint;
      if (by_name_.empty()) {
        hint = " (the columns of the frame this step receives have no names; refer to them as $0..$" +
               std::to_string(in_.empty() ? 0 : in_.size() - 1) + ")";
      } else {
        hint = " (known: " + KnownNames() + ")";
      }
      Fail(n, "unknown column '" + n.text + "'" + hint);
    }
    return in_[it->second];
  }

  std::string KnownNames() const {
    std::vector<std::pair<size_t, std::string>> names;
    for (const auto& kv : by_name_) names.emplace_back(kv.second, kv.first);
    std::sort(names.begin(), names.end());
    std::string s;
    for (size_t i = 0; i < names.size() && i < 20; ++i) s += std::string(i ? ", " : "") + names[i].second;
    if (names.size() > 20) s += ", ...";
    return s;
  }

  static std::string Label(const ExprNode& n) {
    return n.index >= 0 ? "$" + std::to_string(n.index) : "'" + n.text + "'";
  }

  // A string category column reference, or nullptr.
  const Col* StringColumn(const ExprNode& n) {
    if (n.kind != ExprNodeKind::kColumn) return nullptr;
    const Col& col = Column(n);
    return col.is_string ? &col : nullptr;
  }

  // Emits n as a number (booleans are 1 / 0).
  void Number(const ExprNode& n) {
    switch (n.kind) {
      case ExprNodeKind::kNumber:
        Emit(XOp::kConst, c_.AddParams({n.num}));
        Push();
        return;
      case ExprNodeKind::kString:
        Fail(n, "the string \"" + n.text +
                    "\" is not a number; strings can only be compared with a string category column "
                    "(==, !=, in)");
      case ExprNodeKind::kColumn: {
        const Col& col = Column(n);
        if (col.is_string) {
          Fail(n, "column " + Label(n) +
                      " is a string category column; it can only be compared with strings (==, !=, in) or "
                      "tested with is_null()");
        }
        Emit(XOp::kLoad, col.slot);
        Push();
        return;
      }
      case ExprNodeKind::kUnary:
        Number(*n.kids[0]);
        Emit(n.op == '-' ? XOp::kNeg : XOp::kNot);
        return;
      case ExprNodeKind::kBinary:
        Binary(n);
        return;
      case ExprNodeKind::kIn:
        In(n);
        return;
      case ExprNodeKind::kCall:
        Call(n);
        return;
    }
  }

  static XOp BinaryOp(int op) {
    switch (op) {
      case '+': return XOp::kAdd;
      case '-': return XOp::kSub;
      case '*': return XOp::kMul;
      case '/': return XOp::kDiv;
      case kTokEq: return XOp::kEq;
      case kTokNe: return XOp::kNe;
      case kTokLt: return XOp::kLt;
      case kTokLe: return XOp::kLe;
      case kTokGt: return XOp::kGt;
      case kTokGe: return XOp::kGe;
      case kTokAnd: return XOp::kAnd;
      default: return XOp::kOr;
    }
  }

  void Binary(const ExprNode& n) {
    const int op0 = n.ops[0];
    if (op0 == kTokEq || op0 == kTokNe || op0 == kTokLt || op0 == kTokLe || op0 == kTokGt || op0 == kTokGe) {
      Compare(n);
      return;
    }
    Number(*n.kids[0]);
    for (size_t i = 1; i < n.kids.size(); ++i) {
      Number(*n.kids[i]);
      Emit(BinaryOp(n.ops[i - 1]));
      Pop(1);
    }
  }

  void Compare(const ExprNode& n) {
    const ExprNode& l = *n.kids[0];
    const ExprNode& r = *n.kids[1];
    const Col* ls = StringColumn(l);
    const Col* rs = StringColumn(r);
    const bool lstr = ls || l.kind == ExprNodeKind::kString;
    const bool rstr = rs || r.kind == ExprNodeKind::kString;
    const int op = n.ops[0];
    if (!lstr && !rstr) {
      Number(l);
      Number(r);
      Emit(BinaryOp(op));
      Pop(1);
      return;
    }
    if (op != kTokEq && op != kTokNe) Fail(n, "strings can only be compared with == and != (or in)");
    if (ls && rs) Fail(n, "two string category columns cannot be compared with each other");
    const Col* col = ls ? ls : rs;
    const ExprNode& other = ls ? r : l;
    const ExprNode& col_node = ls ? l : r;
    if (!col) Fail(n, "two strings are compared; one side must be a string category column");
    if (other.kind != ExprNodeKind::kString) {
      Fail(n, "column " + Label(col_node) + " is a string category column; compare it with a string literal");
    }
    Emit(XOp::kLoad, col->slot);
    Push();
    Emit(XOp::kConst, c_.AddParams({static_cast<double>(c_.Intern(col->origin, other.text))}));
    Push();
    Emit(BinaryOp(op));
    Pop(1);
  }

  void In(const ExprNode& n) {
    const ExprNode& x = *n.kids[0];
    const Col* scol = StringColumn(x);
    std::vector<double> set;
    for (size_t i = 1; i < n.kids.size(); ++i) {
      const ExprNode& lit = *n.kids[i];
      if (scol) {
        if (lit.kind != ExprNodeKind::kString) {
          Fail(lit, "column " + Label(x) + " is a string category column; its 'in' list must hold strings");
        }
        set.push_back(static_cast<double>(c_.Intern(scol->origin, lit.text)));
      } else {
        if (lit.kind != ExprNodeKind::kNumber) {
          Fail(lit, x.kind == ExprNodeKind::kString ? "the left side of 'in' must be a column or a number"
                                                    : "a number is tested against a string list; the list must hold numbers");
        }
        set.push_back(lit.num);
      }
    }
    if (scol) {
      Emit(XOp::kLoad, scol->slot);
      Push();
    } else {
      Number(x);
    }
    Emit(XOp::kIn, c_.AddParams(set), static_cast<uint32_t>(set.size()));
    if (n.negated) Emit(XOp::kNot);
  }

  void Call(const ExprNode& n) {
    const Func* f = nullptr;
    for (const Func& g : kFuncs) {
      if (n.text == g.name) f = &g;
    }
    if (!f) Fail(n, "unknown function '" + n.text + "' (known: " + FuncNames() + ")");
    const size_t argc = n.kids.size();
    if (argc < f->min_args || (f->max_args && argc > f->max_args)) {
      std::string want = f->max_args == f->min_args ? std::to_string(f->min_args)
                         : f->max_args == 0          ? "at least " + std::to_string(f->min_args)
                                                     : std::to_string(f->min_args) + " to " + std::to_string(f->max_args);
      Fail(n, n.text + "() takes " + want + " argument" + (want == "1" ? "" : "s") + ", got " + std::to_string(argc));
    }
    if (f->op == XOp::kIsNull) {
      if (const Col* scol = StringColumn(*n.kids[0])) {
        Emit(XOp::kLoad, scol->slot);  // a missing string is NaN like a missing number
        Push();
      } else {
        Number(*n.kids[0]);
      }
      Emit(XOp::kIsNull);
      return;
    }
    Number(*n.kids[0]);
    if (f->op == XOp::kSelect || f->op == XOp::kClip) {
      Number(*n.kids[1]);
      Number(*n.kids[2]);
      Emit(f->op);
      Pop(2);
      return;
    }
    if (f->min_args == 1) {
      Emit(f->op);
      return;
    }
    for (size_t i = 1; i < argc; ++i) {  // min / max / pow / coalesce, folded left
      Number(*n.kids[i]);
      Emit(f->op);
      Pop(1);
    }
  }

  Compiler& c_;
  const Frame& in_;
  const std::string* path_ = nullptr;
  std::unordered_map<std::string, size_t> by_name_;
  uint32_t depth_ = 0;
  uint32_t max_depth_ = 0;
};

}  // namespace

Frame CompileExpressions(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "outputs"});
  JVal outs = o.Get("outputs");
  const size_t n = outs.ArraySize(kMaxFrameWidth, "outputs");
  if (n == 0) outs.Fail(ErrorCode::kModelInvalid, "needs at least one output");
  Program& prog = c.prog();
  Op op{OpKind::kExpr};
  op.n = static_cast<uint32_t>(n);
  op.out = c.NewSlots(n, v.path());
  op.q = static_cast<uint32_t>(prog.xcode.size());
  Gen gen(c, in);
  for (size_t i = 0; i < n; ++i) {
    JObj e(outs.At(i), {"name", "expr"});
    e.Get("name").Str();
    JVal src = e.Get("expr");
    gen.Output(src.Str(), src.path(), op.out + static_cast<uint32_t>(i));
  }
  prog.xcode.push_back(ExprInstr{XOp::kHalt});
  op.in = c.NewSlots(std::max<uint32_t>(gen.max_stack(), 1), v.path());  // the value stack
  prog.ops.push_back(op);
  Frame out(n);
  for (size_t i = 0; i < n; ++i) out[i].slot = op.out + static_cast<uint32_t>(i);
  return out;
}

}  // namespace kiln::internal
