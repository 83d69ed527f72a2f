// Compiles the `transform` step tree into a flat Program. Frames are tracked at compile time as
// lists of slots; ColumnTransformer selections and passthrough cost nothing at run time.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "json_reader.h"
#include "program.h"
#include "spec_limits.h"

namespace kiln::internal {

struct Col {
  uint32_t slot = 0;
  int32_t origin = -1;     // input index the column derives from, or -1
  bool is_string = false;  // slot holds a vocabulary code of inputs[origin]
  bool named = false;      // still the input column itself (selectable by name)
};
using Frame = std::vector<Col>;

class Compiler {
 public:
  Compiler(Program& prog, std::vector<InputSpec>& inputs);

  Frame InputFrame() const;
  // Compiles one step (depth: 1 for the transform root).
  Frame Step(const JVal& step, const Frame& in, int depth);

  // ---- helpers for the ops_*.cc compilers ----
  Program& prog() { return prog_; }
  const std::vector<InputSpec>& inputs() const { return inputs_; }
  uint32_t NewSlots(size_t n, const std::string& path);
  uint32_t AddInSlots(const std::vector<uint32_t>& slots);
  uint32_t AddParams(const std::vector<double>& values);
  // Vocabulary code of s for input `input` (added on first sight).
  int32_t Intern(int32_t input, const std::string& s);
  // INVALID naming the step unless every column is numeric.
  void RequireNumeric(const Frame& in, const std::string& path) const;
  // Element-wise op over the whole frame; returns the new frame (same origins, numeric).
  Frame Elementwise(OpKind kind, const Frame& in, const std::vector<double>& params, const std::string& path);
  // Human description of a column for messages ("feature 'colour'" / "column 2 of <path>").
  std::string Describe(const Col& c, size_t j, const std::string& path) const;

 private:
  Frame Pipeline(const JVal& v, const Frame& in, int depth);
  Frame ColumnTransformer(const JVal& v, const Frame& in, int depth);

  Program& prog_;
  std::vector<InputSpec>& inputs_;
  std::vector<std::unordered_map<std::string, int32_t>> vocab_index_;
};

// Step compilers (ops_*.cc). v is the step object (kind already read).
Frame CompileCenterScale(Compiler& c, const JVal& v, const Frame& in, bool robust);
Frame CompileMinMax(Compiler& c, const JVal& v, const Frame& in);
Frame CompileMaxAbs(Compiler& c, const JVal& v, const Frame& in);
Frame CompileNormalizer(Compiler& c, const JVal& v, const Frame& in);
Frame CompileBinarizer(Compiler& c, const JVal& v, const Frame& in);
Frame CompileImputer(Compiler& c, const JVal& v, const Frame& in);
Frame CompileOneHot(Compiler& c, const JVal& v, const Frame& in);
Frame CompileOrdinal(Compiler& c, const JVal& v, const Frame& in);
Frame CompileBins(Compiler& c, const JVal& v, const Frame& in);
Frame CompilePolyTerms(Compiler& c, const JVal& v, const Frame& in);
Frame CompileExpressions(Compiler& c, const JVal& v, const Frame& in);  // expr_compile.cc

}  // namespace kiln::internal
