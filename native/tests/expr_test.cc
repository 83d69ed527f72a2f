// Feature expressions (docs/expressions.md): values, IEEE edge cases, strings, and every load
// error class (malformed, unknown names, type errors, limits).
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace kiln_test {
namespace {

using kiln::ErrorCode;

const char* kInputs =
    R"([{"name": "a", "type": "number", "nullable": true},
        {"name": "b", "type": "number", "nullable": true},
        {"name": "colour", "type": "category", "dtype": "string", "nullable": true}])";

// Minimal JSON string quoting for test sources (quotes and backslashes).
std::string JsonQuote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

Spec ExprSpec(const std::string& expr, const char* inputs = kInputs) {
  Spec s;
  s.inputs = inputs;
  s.transform = std::string(R"({"kind": "expressions", "outputs": [{"name": "f", "expr": )") +
                JsonQuote(expr) + "}]}";
  return s;
}


double Code(const kiln::Model& m, const std::string& s) {
  const auto& vocab = m.inputs()[2].vocabulary;
  for (size_t k = 0; k < vocab.size(); ++k) {
    if (vocab[k] == s) return static_cast<double>(k);
  }
  return kiln::kUnknownCategory;
}

double Eval(const std::string& expr, double a, double b = 0.0, double colour = kNaN) {
  auto m = Load(ExprSpec(expr));
  return Frame(*m, {a, b, colour})[0];
}

// One expression evaluated on (a, b): the expected value, or NaN for "is NaN".
struct EvalCase {
  const char* expr;
  double a, b, want;
};

void ExpectValues(std::initializer_list<EvalCase> cases) {
  for (const EvalCase& c : cases) {
    SCOPED_TRACE(std::string(c.expr) + " at a=" + std::to_string(c.a) + ", b=" + std::to_string(c.b));
    const double got = Eval(c.expr, c.a, c.b);
    if (std::isnan(c.want)) {
      EXPECT_TRUE(std::isnan(got)) << got;
    } else {
      EXPECT_EQ(got, c.want);
    }
  }
}

TEST(Expr, Arithmetic) {
  volatile double x = 0.1, y = 0.7;
  ExpectValues({
      {"a + b * 2", 1, 3, 7.0},
      {"(a + b) * 2", 1, 3, 8.0},
      {"a - b - 1", 10, 3, 6.0},  // left to right
      {"a / b / 2", 12, 3, 2.0},
      {"-a * -b", 2, 3, 6.0},
      {"--a", 2, 0, 2.0},
      {"1.5e2 + .5", 0, 0, 150.5},
      {"a + 1e-999", 2, 0, 2.0},  // underflows to 0, as Python's float("1e-999")
      {"a * 5e-324", 1, 0, 5e-324},
      {"a / b", 0.1, 0.7, x / y},  // one IEEE division, no reassociation
  });
}

TEST(Expr, Functions) {
  ExpectValues({
      {"log(a)", 2, 0, std::log(2.0)},
      {"log1p(a)", 1e-10, 0, std::log1p(1e-10)},
      {"exp(a)", 0.5, 0, std::exp(0.5)},
      {"sqrt(a)", 2, 0, std::sqrt(2.0)},
      {"abs(a)", -3, 0, 3.0},
      {"square(a)", -3, 0, 9.0},
      {"pow(a, b)", 2, 10, 1024.0},
      {"min(a, b, 0)", 2, 1, 0.0},
      {"max(a, b)", 2, 5, 5.0},
      {"clip(a, 0, 1)", 5, 0, 1.0},
      {"clip(a, 0, 1)", -5, 0, 0.0},
      {"if(a > b, a, b)", 2, 5, 5.0},
      {"if(a, 10, 20)", 0, 0, 20.0},
  });
}

TEST(Expr, LogicAndComparisons) {
  ExpectValues({
      {"a > 1 and b < 1", 2, 0, 1.0},
      {"a > 1 and b < 1", 2, 2, 0.0},
      {"a > 1 or b < 1", 0, 0, 1.0},
      {"not a == b", 1, 1, 0.0},
      {"a >= 1", 1, 0, 1.0},
      {"a != 1", 1, 0, 0.0},
      {"a in (1, 2, -3)", -3, 0, 1.0},
      {"a not in (1, 2)", 3, 0, 1.0},
  });
}

TEST(Expr, DivisionByZeroAndDomainErrorsAreDefinedIEEEResults) {
  ExpectValues({
      {"a / b", 1, 0, kInf},
      {"a / b", -1, 0, -kInf},
      {"a / b", 0, 0, kNaN},
      {"log(a)", 0, 0, -kInf},
      {"log(a)", -1, 0, kNaN},
      {"sqrt(a)", -1, 0, kNaN},
      {"log1p(a)", -1, 0, -kInf},
      {"exp(a)", 1000, 0, kInf},
      {"pow(a, b)", 0, -1, kInf},
      // Guarding a division is the expression's own business.
      {"a / max(b, 1)", 6, 0, 6.0},
      {"if(b == 0, 0, a / b)", 6, 0, 0.0},
  });
}

TEST(Expr, NullPropagationAndDefaults) {
  ExpectValues({
      {"a + 1", kNaN, 0, kNaN},
      {"min(a, 1)", kNaN, 0, kNaN},  // np.minimum propagates NaN
      {"max(1, a)", kNaN, 0, kNaN},
      {"clip(a, 0, 1)", kNaN, 0, kNaN},
      {"is_null(a)", kNaN, 0, 1.0},
      {"is_null(a)", 0, 0, 0.0},
      {"coalesce(a, b, 7)", kNaN, kNaN, 7.0},
      {"coalesce(a, b, 7)", kNaN, 2, 2.0},
      {"a == a", kNaN, 0, 0.0},  // IEEE: NaN is unequal to itself
      {"a != 1", kNaN, 0, 1.0},
      {"a < 1", kNaN, 0, 0.0},
      {"if(a, 1, 2)", kNaN, 0, 1.0},  // NaN is truthy, as bool(nan) and np.where
      {"not a", kNaN, 0, 0.0},
  });
}

TEST(Expr, StringCategoriesResolveToVocabularyCodesAtLoad) {
  auto m = Load(ExprSpec("colour == \"red\""));
  const double red = Code(*m, "red");
  ASSERT_GE(red, 0.0);  // the literal was added to the input's vocabulary
  EXPECT_EQ(Frame(*m, {0, 0, red})[0], 1.0);
  EXPECT_EQ(Frame(*m, {0, 0, kiln::kUnknownCategory})[0], 0.0);
  EXPECT_EQ(Frame(*m, {0, 0, kNaN})[0], 0.0);

  auto in = Load(ExprSpec("colour in ('red', \"blue\")"));
  EXPECT_EQ(Frame(*in, {0, 0, Code(*in, "blue")})[0], 1.0);
  EXPECT_EQ(Frame(*in, {0, 0, kiln::kUnknownCategory})[0], 0.0);
  auto not_in = Load(ExprSpec("colour not in ('red')"));
  EXPECT_EQ(Frame(*not_in, {0, 0, kNaN})[0], 1.0);
  auto ne = Load(ExprSpec("'red' != colour"));
  EXPECT_EQ(Frame(*ne, {0, 0, Code(*ne, "red")})[0], 0.0);
  auto null = Load(ExprSpec("is_null(colour)"));
  EXPECT_EQ(Frame(*null, {0, 0, kNaN})[0], 1.0);
}

TEST(Expr, QuotedAndPositionalColumns) {
  const char* inputs = R"([{"name": "mean radius", "type": "number", "nullable": false},
                            {"name": "x", "type": "number", "nullable": false}])";
  EXPECT_EQ(Frame(*Load(ExprSpec("`mean radius` * 2 + $1", inputs)), {3, 1})[0], 7.0);
}

TEST(Expr, SeveralOutputsAfterAnotherStepByPosition) {
  Spec s;
  s.inputs = NumberInputs({"a", "b"});
  s.transform = R"j({"kind": "pipeline", "steps": [
      {"kind": "standard_scaler", "mean": [1, 1], "scale": [2, 2]},
      {"kind": "expressions", "outputs": [{"name": "p", "expr": "$0 * $1"}, {"name": "q", "expr": "log1p(abs($1))"}]}]})j";
  Probe(s, 2);
  auto m = Load(s);
  EXPECT_EQ(Frame(*m, {5, 3}), (std::vector<double>{2.0, std::log1p(1.0)}));
}

// Expressions refused at load with KILN_MODEL_INVALID and a message containing `needle`.
struct LoadErrorCase {
  const char* expr;
  const char* needle;
};

void ExpectInvalid(std::initializer_list<LoadErrorCase> cases) {
  for (const LoadErrorCase& c : cases) {
    SCOPED_TRACE(c.expr);
    ExpectLoadError(ExprSpec(c.expr), ErrorCode::kModelInvalid, c.needle);
  }
}

TEST(ExprLoad, Malformed) {
  for (const char* bad : {"a +", "(a", "a b", "max(a,", "a = 1", "1..2", "2e", "a < b < 1", "'open", "a ? 1",
                          "not", "a in 1", "a in ()", "$", "\xC3\xA9"}) {
    ExpectLoadError(ExprSpec(bad), ErrorCode::kModelInvalid, "transform.outputs[0].expr: at character");
  }
  ExpectInvalid({
      {"a +", "at character 4: expected a number"},
      {"a < b < 1", "cannot be chained"},
      {"a + 1e999", "at character 5: number out of range"},
  });
}

TEST(ExprLoad, UnknownNames) {
  ExpectInvalid({
      {"a + nope", "at character 5: unknown column 'nope' (known: a, b, colour)"},
      {"lg(a)", "unknown function 'lg'"},
      {"$3", "column $3 does not exist"},
      {"log(a, b)", "log() takes 1 argument, got 2"},
      {"min(a)", "min() takes at least 2 arguments, got 1"},
  });
  Spec s;
  s.inputs = NumberInputs({"a"});
  s.transform = R"({"kind": "pipeline", "steps": [{"kind": "max_abs_scaler", "scale": [1]},
                   {"kind": "expressions", "outputs": [{"name": "f", "expr": "a"}]}]})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "have no names; refer to them as $0..$0");
}

TEST(ExprLoad, TypeErrors) {
  ExpectInvalid({
      {"colour + 1", "column 'colour' is a string category column"},
      {"colour == 1", "compare it with a string literal"},
      {"a == 'red'", "one side must be a string category column"},
      {"colour < 'red'", "only be compared with == and !="},
      {"colour in (1, 2)", "must hold strings"},
      {"a in ('x')", "the list must hold numbers"},
      {"'red'", "is not a number"},
      {"colour", "string category column"},
  });
}

TEST(ExprLoad, Limits) {
  std::string deep(200, '(');
  deep += "a" + std::string(200, ')');
  ExpectLoadError(ExprSpec(deep), ErrorCode::kModelLimit, "nests deeper than the limit of 64");
  ExpectLoadError(ExprSpec(std::string(10000, '-') + "a"), ErrorCode::kModelLimit, "nests deeper");
  std::string ok(60, '(');
  ok += "a" + std::string(60, ')');
  EXPECT_EQ(Frame(*Load(ExprSpec(ok)), {4, 0, kNaN})[0], 4.0);
  std::string sum = "a";  // long flat chains are not nesting
  for (int i = 0; i < 2000; ++i) sum += " + a";
  EXPECT_EQ(Frame(*Load(ExprSpec(sum)), {1, 0, kNaN})[0], 2001.0);
  ExpectLoadError(ExprSpec(std::string(20000, ' ') + "a"), ErrorCode::kModelLimit, "more than the limit of 16384");
}

TEST(ExprLoad, StepShape) {
  Spec s;
  s.transform = R"({"kind": "expressions", "outputs": []})";
  ExpectLoadError(s, ErrorCode::kModelInvalid, "transform.outputs: needs at least one output");
  s.transform = R"({"kind": "expressions", "outputs": [{"name": "f", "expr": 1}]})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "transform.outputs[0].expr");
  s.transform = R"({"kind": "expressions", "outputs": [{"name": "f", "exp": "x"}]})";
  ExpectLoadError(s, ErrorCode::kModelSchema, "unknown key");
}

TEST(ExprLoad, HostileSourcesLoadOrFailCleanly) {
  for (const char* src : {"((((", "))))", "a in (", "`", "``", "\"\\q\"", "1e999", "$99999999999",
                          "max(,)", "if()", "not not not a", "- - - -", "a not b", "a not in", "`a` (1)"}) {
    LoadsOrFailsCleanly(ModelJson(ExprSpec(src)));
  }
}

TEST(ExprLoad, RandomTokenSoupLoadsOrFailsCleanlyAndRunsOnHostileRows) {
  // Deterministic token soup: every source must load or throw kiln::Error, and a loaded one must
  // run on rows of zeros, NaN, +-inf, unseen codes and huge values without failing.
  const char* toks[] = {"a", "b", "colour", "$0", "$2", "$9", "1", "0", "-", "+", "*", "/", "(", ")", ",",
                        "==", "!=", "<", ">=", "and", "or", "not", "in", "'red'", "\"blue\"", "if", "min",
                        "max", "clip", "log", "pow", "is_null", "coalesce", "1e308", ".5", "`a`", "sqrt"};
  const size_t n_toks = sizeof toks / sizeof toks[0];
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; };
  const std::vector<std::vector<double>> rows = {
      {0, 0, 0}, {kNaN, kNaN, kNaN}, {kInf, -kInf, kiln::kUnknownCategory}, {1e308, -1e-308, 0}};
  int loaded = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string src;
    const size_t len = 1 + next() % 14;
    for (size_t k = 0; k < len; ++k) src += std::string(k ? " " : "") + toks[next() % n_toks];
    try {
      auto m = Load(ExprSpec(src));
      ++loaded;
      for (const auto& r : rows) Frame(*m, r);
    } catch (const kiln::Error&) {
    }
  }
  EXPECT_GT(loaded, 50);  // the soup reaches the code generator and the kernel, not only the parser
}

}  // namespace
}  // namespace kiln_test
