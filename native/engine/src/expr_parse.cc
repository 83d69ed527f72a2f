// Feature expressions: lexer and recursive-descent parser (grammar in docs/expressions.md).
// Recursion is bounded by kMaxExprDepth: every parenthesis, call argument list, membership list
// and unary operator is one nesting level, counted before the parser descends.
#include <cstdlib>
#include <cstring>

#include "expr_ast.h"
#include "json_reader.h"
#include "spec_limits.h"

#if defined(__cpp_lib_to_chars) || (defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11)
#include <charconv>
#include <system_error>
#define KILN_HAVE_FROM_CHARS_DOUBLE 1
#endif

namespace kiln::internal {

namespace {

enum class T : uint8_t { kEnd, kNum, kStr, kName, kPos, kOp, kLParen, kRParen, kComma, kAnd, kOr, kNot, kIn };

struct Token {
  T t = T::kEnd;
  int pos = 0;       // 1-based
  int op = 0;        // kOp: ExprTok code
  double num = 0.0;  // kNum
  int64_t index = 0; // kPos
  std::string text;  // kStr, kName
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

double ParseDouble(const std::string& s) {
#ifdef KILN_HAVE_FROM_CHARS_DOUBLE
  double v = 0.0;
  // Out of range leaves v untouched; strtod then gives inf (refused by the caller) or the
  // underflowed value, as Python's float() does.
  if (std::from_chars(s.data(), s.data() + s.size(), v).ec == std::errc::result_out_of_range) {
    v = std::strtod(s.c_str(), nullptr);
  }
  return v;
#else
  return std::strtod(s.c_str(), nullptr);  // token already validated; "C" locale assumed
#endif
}

class Parser {
 public:
  Parser(const std::string& src, const std::string& path) : src_(src), path_(path) { Next(); }

  std::unique_ptr<ExprNode> Parse() {
    auto e = Or();
    if (tok_.t != T::kEnd) Fail(tok_.pos, "unexpected " + Describe(tok_) + " after a complete expression");
    return e;
  }

 private:
  [[noreturn]] void Fail(int pos, const std::string& what) const {
    Throw(ErrorCode::kModelInvalid, path_, "at character " + std::to_string(pos) + ": " + what);
  }

  std::string Describe(const Token& t) const {
    switch (t.t) {
      case T::kEnd: return "end of expression";
      case T::kNum: return "number";
      case T::kStr: return "string \"" + t.text + "\"";
      case T::kName: return "name '" + t.text + "'";
      case T::kPos: return "column $" + std::to_string(t.index);
      case T::kLParen: return "'('";
      case T::kRParen: return "')'";
      case T::kComma: return "','";
      case T::kAnd: return "'and'";
      case T::kOr: return "'or'";
      case T::kNot: return "'not'";
      case T::kIn: return "'in'";
      case T::kOp: break;
    }
    switch (t.op) {
      case kTokEq: return "'=='";
      case kTokNe: return "'!='";
      case kTokLt: return "'<'";
      case kTokLe: return "'<='";
      case kTokGt: return "'>'";
      case kTokGe: return "'>='";
      default: return std::string("'") + static_cast<char>(t.op) + "'";
    }
  }

  // ---- lexer
  void Next() {
    size_t i = at_;
    while (i < src_.size() && (src_[i] == ' ' || src_[i] == '\t' || src_[i] == '\n' || src_[i] == '\r')) ++i;
    tok_ = Token{};
    tok_.pos = static_cast<int>(i) + 1;
    if (i >= src_.size()) {
      at_ = i;
      return;
    }
    const char c = src_[i];
    if (IsDigit(c) || (c == '.' && i + 1 < src_.size() && IsDigit(src_[i + 1]))) {
      size_t j = i;
      while (j < src_.size() && IsDigit(src_[j])) ++j;
      if (j < src_.size() && src_[j] == '.') {
        ++j;
        while (j < src_.size() && IsDigit(src_[j])) ++j;
      }
      if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
        size_t k = j + 1;
        if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
        if (k >= src_.size() || !IsDigit(src_[k])) Fail(static_cast<int>(j) + 1, "malformed number exponent");
        while (k < src_.size() && IsDigit(src_[k])) ++k;
        j = k;
      }
      if (j < src_.size() && (IsIdentStart(src_[j]) || src_[j] == '.')) {
        Fail(static_cast<int>(j) + 1, "malformed number");
      }
      tok_.t = T::kNum;
      tok_.num = ParseDouble(src_.substr(i, j - i));
      if (!(tok_.num - tok_.num == 0.0)) Fail(tok_.pos, "number out of range");  // overflow to inf
      at_ = j;
      return;
    }
    if (IsIdentStart(c)) {
      size_t j = i;
      while (j < src_.size() && (IsIdentStart(src_[j]) || IsDigit(src_[j]))) ++j;
      tok_.text = src_.substr(i, j - i);
      if (tok_.text == "and") tok_.t = T::kAnd;
      else if (tok_.text == "or") tok_.t = T::kOr;
      else if (tok_.text == "not") tok_.t = T::kNot;
      else if (tok_.text == "in") tok_.t = T::kIn;
      else tok_.t = T::kName;
      at_ = j;
      return;
    }
    if (c == '"' || c == '\'' || c == '`') {  // string literal, or `quoted column name`
      std::string text;
      size_t j = i + 1;
      for (;;) {
        if (j >= src_.size()) Fail(tok_.pos, c == '`' ? "unterminated `name`" : "unterminated string");
        const char d = src_[j];
        if (d == c) break;
        if (d == '\\') {
          if (j + 1 >= src_.size() || (src_[j + 1] != '\\' && src_[j + 1] != '"' && src_[j + 1] != '\'' && src_[j + 1] != '`')) {
            Fail(static_cast<int>(j) + 1, "unknown escape (only \\\\, \\\", \\' and \\` are allowed)");
          }
          text += src_[j + 1];
          j += 2;
          continue;
        }
        text += d;
        ++j;
      }
      tok_.t = c == '`' ? T::kName : T::kStr;
      if (c == '`' && text.empty()) Fail(tok_.pos, "empty `name`");
      tok_.text = std::move(text);
      at_ = j + 1;
      return;
    }
    if (c == '$') {
      size_t j = i + 1;
      if (j >= src_.size() || !IsDigit(src_[j])) Fail(tok_.pos, "expected a column number after '$'");
      int64_t v = 0;
      while (j < src_.size() && IsDigit(src_[j])) {
        if (v > 100000000) Fail(tok_.pos, "column number too large");
        v = v * 10 + (src_[j] - '0');
        ++j;
      }
      tok_.t = T::kPos;
      tok_.index = v;
      at_ = j;
      return;
    }
    auto two = [&](char a, char b) { return c == a && i + 1 < src_.size() && src_[i + 1] == b; };
    tok_.t = T::kOp;
    at_ = i + 1;
    if (two('=', '=')) { tok_.op = kTokEq; at_ = i + 2; return; }
    if (two('!', '=')) { tok_.op = kTokNe; at_ = i + 2; return; }
    if (two('<', '=')) { tok_.op = kTokLe; at_ = i + 2; return; }
    if (two('>', '=')) { tok_.op = kTokGe; at_ = i + 2; return; }
    switch (c) {
      case '<': tok_.op = kTokLt; return;
      case '>': tok_.op = kTokGt; return;
      case '+': case '-': case '*': case '/': tok_.op = c; return;
      case '(': tok_.t = T::kLParen; return;
      case ')': tok_.t = T::kRParen; return;
      case ',': tok_.t = T::kComma; return;
      case '=': Fail(tok_.pos, "'=' is not an operator (compare with '==')");
      default: break;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) Fail(tok_.pos, std::string("unexpected character '") + c + "'");
    Fail(tok_.pos, "unexpected byte " + std::to_string(u) + " (quote names with `...`)");
  }

  void Expect(T t, const char* what) {
    if (tok_.t != t) Fail(tok_.pos, std::string("expected ") + what + " but found " + Describe(tok_));
    Next();
  }

  // One nesting level; refuses to descend past kMaxExprDepth.
  struct Nest {
    Nest(Parser& p, int pos) : p_(p) {
      if (++p_.depth_ > static_cast<int>(kMaxExprDepth)) {
        Throw(ErrorCode::kModelLimit, p_.path_,
              "at character " + std::to_string(pos) + ": the expression nests deeper than the limit of " +
                  std::to_string(kMaxExprDepth) + " (parentheses, calls and unary operators)");
      }
    }
    ~Nest() { --p_.depth_; }
    Parser& p_;
  };

  static std::unique_ptr<ExprNode> NewNode(ExprNodeKind k, int pos) {
    auto n = std::make_unique<ExprNode>();
    n->kind = k;
    n->pos = pos;
    return n;
  }

  // Left-to-right chain of one precedence level.
  template <typename Sub, typename Match>
  std::unique_ptr<ExprNode> Chain(Sub sub, Match match) {
    auto first = (this->*sub)();
    int op = 0;
    if (!(op = match(tok_))) return first;
    auto n = NewNode(ExprNodeKind::kBinary, first->pos);
    n->kids.push_back(std::move(first));
    while ((op = match(tok_)) != 0) {
      Next();
      n->ops.push_back(op);
      n->kids.push_back((this->*sub)());
    }
    return n;
  }

  std::unique_ptr<ExprNode> Or() {
    return Chain(&Parser::And, [](const Token& t) { return t.t == T::kOr ? int{kTokOr} : 0; });
  }
  std::unique_ptr<ExprNode> And() {
    return Chain(&Parser::Not, [](const Token& t) { return t.t == T::kAnd ? int{kTokAnd} : 0; });
  }
  std::unique_ptr<ExprNode> Not() {
    if (tok_.t != T::kNot) return Compare();
    const int pos = tok_.pos;
    Nest nest(*this, pos);
    Next();
    auto n = NewNode(ExprNodeKind::kUnary, pos);
    n->op = 'n';
    n->kids.push_back(Not());
    return n;
  }

  static bool IsCompare(const Token& t) {
    return t.t == T::kOp && (t.op == kTokEq || t.op == kTokNe || t.op == kTokLt || t.op == kTokLe ||
                             t.op == kTokGt || t.op == kTokGe);
  }

  std::unique_ptr<ExprNode> Compare() {
    auto left = Sum();
    if (IsCompare(tok_)) {
      auto n = NewNode(ExprNodeKind::kBinary, left->pos);
      n->ops.push_back(tok_.op);
      Next();
      n->kids.push_back(std::move(left));
      n->kids.push_back(Sum());
      if (IsCompare(tok_) || tok_.t == T::kIn || tok_.t == T::kNot) {
        Fail(tok_.pos, "comparisons cannot be chained (write (a < b) and (b < c))");
      }
      return n;
    }
    bool negated = false;
    int pos = tok_.pos;
    if (tok_.t == T::kNot) {
      Next();
      if (tok_.t != T::kIn) Fail(tok_.pos, "expected 'in' after 'not' but found " + Describe(tok_));
      negated = true;
    }
    if (tok_.t != T::kIn) return left;
    Nest nest(*this, pos);
    Next();
    auto n = NewNode(ExprNodeKind::kIn, pos);
    n->negated = negated;
    n->kids.push_back(std::move(left));
    Expect(T::kLParen, "'(' after 'in'");
    for (;;) {
      auto lit = Literal();
      n->kids.push_back(std::move(lit));
      if (tok_.t == T::kComma) {
        Next();
        if (tok_.t == T::kRParen) break;  // trailing comma, as in Python
        continue;
      }
      break;
    }
    Expect(T::kRParen, "',' or ')' in the 'in' list");
    if (IsCompare(tok_) || tok_.t == T::kIn || tok_.t == T::kNot) {
      Fail(tok_.pos, "comparisons cannot be chained");
    }
    return n;
  }

  // A literal of an 'in' list: a string or an optionally negated number.
  std::unique_ptr<ExprNode> Literal() {
    const int pos = tok_.pos;
    if (tok_.t == T::kStr) {
      auto n = NewNode(ExprNodeKind::kString, pos);
      n->text = tok_.text;
      Next();
      return n;
    }
    bool neg = false;
    if (tok_.t == T::kOp && tok_.op == '-') {
      neg = true;
      Next();
    }
    if (tok_.t != T::kNum) Fail(tok_.pos, "expected a string or a number in the 'in' list but found " + Describe(tok_));
    auto n = NewNode(ExprNodeKind::kNumber, pos);
    n->num = neg ? -tok_.num : tok_.num;
    Next();
    return n;
  }

  std::unique_ptr<ExprNode> Sum() {
    return Chain(&Parser::Product, [](const Token& t) { return t.t == T::kOp && (t.op == '+' || t.op == '-') ? t.op : 0; });
  }
  std::unique_ptr<ExprNode> Product() {
    return Chain(&Parser::Unary, [](const Token& t) { return t.t == T::kOp && (t.op == '*' || t.op == '/') ? t.op : 0; });
  }

  std::unique_ptr<ExprNode> Unary() {
    if (tok_.t == T::kOp && (tok_.op == '-' || tok_.op == '+')) {
      const int pos = tok_.pos;
      const bool minus = tok_.op == '-';
      Nest nest(*this, pos);
      Next();
      auto operand = Unary();
      if (!minus) return operand;
      auto n = NewNode(ExprNodeKind::kUnary, pos);
      n->op = '-';
      n->kids.push_back(std::move(operand));
      return n;
    }
    return Primary();
  }

  std::unique_ptr<ExprNode> Primary() {
    const int pos = tok_.pos;
    switch (tok_.t) {
      case T::kNum: {
        auto n = NewNode(ExprNodeKind::kNumber, pos);
        n->num = tok_.num;
        Next();
        return n;
      }
      case T::kStr: {
        auto n = NewNode(ExprNodeKind::kString, pos);
        n->text = tok_.text;
        Next();
        return n;
      }
      case T::kPos: {
        auto n = NewNode(ExprNodeKind::kColumn, pos);
        n->index = tok_.index;
        Next();
        return n;
      }
      case T::kName: {
        std::string name = tok_.text;
        const bool quoted = src_[static_cast<size_t>(pos - 1)] == '`';
        Next();
        if (tok_.t != T::kLParen || quoted) {
          auto n = NewNode(ExprNodeKind::kColumn, pos);
          n->text = std::move(name);
          return n;
        }
        Nest nest(*this, pos);
        Next();
        auto n = NewNode(ExprNodeKind::kCall, pos);
        n->text = std::move(name);
        if (tok_.t != T::kRParen) {
          for (;;) {
            n->kids.push_back(Or());
            if (tok_.t != T::kComma) break;
            Next();
          }
        }
        Expect(T::kRParen, "',' or ')' after a function argument");
        return n;
      }
      case T::kLParen: {
        Nest nest(*this, pos);
        Next();
        auto e = Or();
        Expect(T::kRParen, "')'");
        return e;
      }
      default:
        Fail(pos, "expected a number, a column, a function call or '(' but found " + Describe(tok_));
    }
  }

  const std::string& src_;
  const std::string& path_;
  size_t at_ = 0;
  int depth_ = 0;
  Token tok_;
};

}  // namespace

std::unique_ptr<ExprNode> ParseExpr(const std::string& src, const std::string& path) {
  if (src.size() > kMaxExprChars) {
    Throw(ErrorCode::kModelLimit, path,
          "the expression is " + std::to_string(src.size()) + " characters long, more than the limit of " +
              std::to_string(kMaxExprChars));
  }
  Parser p(src, path);
  return p.Parse();
}

}  // namespace kiln::internal
