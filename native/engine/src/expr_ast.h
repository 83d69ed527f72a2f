// Feature expressions (docs/expressions.md): the syntax tree and the parser. Parsing happens once
// per expression at load; the tree is type-checked and flattened into postfix code
// (expr_compile.cc) and thrown away, so rows never see source text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::internal {

enum class ExprNodeKind : uint8_t {
  kNumber,  // num
  kString,  // text (a string literal)
  kColumn,  // text = column name, or index >= 0 for a positional reference ($3)
  kUnary,   // op: '-' or 'n' (not); kids[0]
  kBinary,  // a left-to-right chain of one precedence level: kids[0] ops[0] kids[1] ops[1] ...
  kCall,    // text = function name; kids = arguments
  kIn,      // kids[0] = operand, kids[1..] = literals; negated for "not in"
};

struct ExprNode {
  ExprNodeKind kind;
  int pos = 0;  // 1-based character position in the source, for messages
  double num = 0.0;
  std::string text;
  int64_t index = -1;
  int op = 0;                 // kUnary
  std::vector<int> ops;       // kBinary: ExprTok codes, kids.size() - 1 of them
  bool negated = false;
  std::vector<std::unique_ptr<ExprNode>> kids;
};

// Binary operator codes carried in ExprNode::ops.
enum ExprTok : int {
  kTokOr = 256, kTokAnd, kTokEq, kTokNe, kTokLt, kTokLe, kTokGt, kTokGe,
  kTokAdd = '+', kTokSub = '-', kTokMul = '*', kTokDiv = '/',
};

// Parses `src`. Throws kiln::Error with `path` as the JSON path: KILN_MODEL_INVALID for a syntax
// error (naming the character position), KILN_MODEL_LIMIT when the source is longer than
// kMaxExprChars or nests deeper than kMaxExprDepth.
std::unique_ptr<ExprNode> ParseExpr(const std::string& src, const std::string& path);

}  // namespace kiln::internal
