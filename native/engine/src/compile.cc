#include "compile.h"

namespace kiln::internal {

namespace {
constexpr uint32_t kU32Max = 0xFFFFFFFFu;
}

Compiler::Compiler(Program& prog, std::vector<InputSpec>& inputs)
    : prog_(prog), inputs_(inputs), vocab_index_(inputs.size()) {
  prog_.n_slots = static_cast<uint32_t>(inputs.size());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    for (size_t k = 0; k < inputs_[i].vocabulary.size(); ++k) {
      vocab_index_[i].emplace(inputs_[i].vocabulary[k], static_cast<int32_t>(k));
    }
  }
}

Frame Compiler::InputFrame() const {
  Frame f(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    f[i].slot = static_cast<uint32_t>(i);
    f[i].origin = static_cast<int32_t>(i);
    f[i].is_string = inputs_[i].type == InputType::kStringCategory;
    f[i].named = true;
  }
  return f;
}

uint32_t Compiler::NewSlots(size_t n, const std::string& path) {
  if (n > kMaxSlots || prog_.n_slots + n > kMaxSlots) {
    Throw(ErrorCode::kModelLimit, path,
          "the transform needs more than " + std::to_string(kMaxSlots) + " scratch values per row");
  }
  const uint32_t first = prog_.n_slots;
  prog_.n_slots += static_cast<uint32_t>(n);
  return first;
}

uint32_t Compiler::AddInSlots(const std::vector<uint32_t>& slots) {
  if (prog_.in_slots.size() + slots.size() > kU32Max) Throw(ErrorCode::kModelLimit, "transform", "program too large");
  const uint32_t at = static_cast<uint32_t>(prog_.in_slots.size());
  prog_.in_slots.insert(prog_.in_slots.end(), slots.begin(), slots.end());
  return at;
}

uint32_t Compiler::AddParams(const std::vector<double>& values) {
  if (prog_.pd.size() + values.size() > kU32Max) Throw(ErrorCode::kModelLimit, "transform", "program too large");
  const uint32_t at = static_cast<uint32_t>(prog_.pd.size());
  prog_.pd.insert(prog_.pd.end(), values.begin(), values.end());
  return at;
}

int32_t Compiler::Intern(int32_t input, const std::string& s) {
  auto& index = vocab_index_[static_cast<size_t>(input)];
  auto it = index.find(s);
  if (it != index.end()) return it->second;
  auto& vocab = inputs_[static_cast<size_t>(input)].vocabulary;
  if (vocab.size() >= 0x7FFFFFFF) Throw(ErrorCode::kModelLimit, "transform", "vocabulary too large");
  const int32_t code = static_cast<int32_t>(vocab.size());
  vocab.push_back(s);
  index.emplace(s, code);
  return code;
}

std::string Compiler::Describe(const Col& c, size_t j, const std::string& path) const {
  if (c.origin >= 0) return "feature '" + inputs_[static_cast<size_t>(c.origin)].name + "'";
  return "column " + std::to_string(j) + " of " + path;
}

void Compiler::RequireNumeric(const Frame& in, const std::string& path) const {
  for (size_t j = 0; j < in.size(); ++j) {
    if (in[j].is_string) {
      Throw(ErrorCode::kModelInvalid, path,
            "column " + std::to_string(j) + " (" + Describe(in[j], j, path) +
                ") is a string category column; this step needs numbers (encode it first)");
    }
  }
}

Frame Compiler::Elementwise(OpKind kind, const Frame& in, const std::vector<double>& params,
                            const std::string& path) {
  if (in.empty()) return in;
  Op op{kind};
  op.n = static_cast<uint32_t>(in.size());
  std::vector<uint32_t> slots(in.size());
  for (size_t j = 0; j < in.size(); ++j) slots[j] = in[j].slot;
  op.in = AddInSlots(slots);
  op.out = NewSlots(in.size(), path);
  op.p = AddParams(params);
  prog_.ops.push_back(op);
  Frame out(in.size());
  for (size_t j = 0; j < in.size(); ++j) {
    out[j].slot = op.out + static_cast<uint32_t>(j);
    out[j].origin = in[j].origin;
  }
  return out;
}

Frame Compiler::Step(const JVal& v, const Frame& in, int depth) {
  if (depth > kMaxDepth) v.Fail(ErrorCode::kModelLimit, "steps are nested deeper than " + std::to_string(kMaxDepth));
  v.RequireObject();
  auto kind_it = v.json().find("kind");
  if (kind_it == v.json().end()) v.Fail(ErrorCode::kModelSchema, "missing key 'kind'");
  const std::string& kind = JVal(*kind_it, KeyPath(v.path(), "kind")).Str();

  Frame out;
  if (kind == "pipeline") {
    out = Pipeline(v, in, depth);
  } else if (kind == "column_transformer") {
    out = ColumnTransformer(v, in, depth);
  } else if (kind == "passthrough") {
    JObj o(v, {"kind"});
    out = in;
  } else if (kind == "standard_scaler") {
    out = CompileCenterScale(*this, v, in, false);
  } else if (kind == "robust_scaler") {
    out = CompileCenterScale(*this, v, in, true);
  } else if (kind == "min_max_scaler") {
    out = CompileMinMax(*this, v, in);
  } else if (kind == "max_abs_scaler") {
    out = CompileMaxAbs(*this, v, in);
  } else if (kind == "simple_imputer") {
    out = CompileImputer(*this, v, in);
  } else if (kind == "one_hot_encoder") {
    out = CompileOneHot(*this, v, in);
  } else if (kind == "ordinal_encoder") {
    out = CompileOrdinal(*this, v, in);
  } else if (kind == "normalizer") {
    out = CompileNormalizer(*this, v, in);
  } else if (kind == "binarizer") {
    out = CompileBinarizer(*this, v, in);
  } else if (kind == "kbins_discretizer") {
    out = CompileBins(*this, v, in);
  } else if (kind == "polynomial_features") {
    out = CompilePolyTerms(*this, v, in);
  } else if (kind == "expressions") {
    out = CompileExpressions(*this, v, in);
  } else {
    Throw(ErrorCode::kModelUnsupported, KeyPath(v.path(), "kind"), "unknown step kind '" + kind + "'");
  }
  if (out.size() > kMaxFrameWidth) {
    v.Fail(ErrorCode::kModelLimit, "produces " + std::to_string(out.size()) + " columns, more than the limit of " +
                                       std::to_string(kMaxFrameWidth));
  }
  return out;
}

Frame Compiler::Pipeline(const JVal& v, const Frame& in, int depth) {
  JObj o(v, {"kind", "steps"});
  JVal steps = o.Get("steps");
  const size_t n = steps.ArraySize();
  Frame cur = in;
  for (size_t i = 0; i < n; ++i) cur = Step(steps.At(i), cur, depth + 1);
  return cur;
}

Frame Compiler::ColumnTransformer(const JVal& v, const Frame& in, int depth) {
  JObj o(v, {"kind", "transformers"});
  JVal list = o.Get("transformers");
  const size_t n = list.ArraySize();
  std::unordered_map<std::string, size_t> by_name;
  bool by_name_built = false;
  Frame out;
  for (size_t t = 0; t < n; ++t) {
    JObj tr(list.At(t), {"name", "columns", "transform"});
    tr.Get("name").Str();
    JVal cols = tr.Get("columns");
    const size_t m = cols.ArraySize();
    Frame sub;
    sub.reserve(m);
    for (size_t k = 0; k < m; ++k) {
      JVal c = cols.At(k);
      if (c.IsString()) {
        if (!by_name_built) {
          for (size_t j = 0; j < in.size(); ++j) {
            if (in[j].named) by_name.emplace(inputs_[static_cast<size_t>(in[j].origin)].name, j);
          }
          by_name_built = true;
        }
        auto it = by_name.find(c.Str());
        if (it == by_name.end()) {
          c.Fail(ErrorCode::kModelInvalid, "no column named '" + c.Str() + "' in the frame this step receives" +
                                               (by_name.empty() ? " (its columns have no names)" : ""));
        }
        sub.push_back(in[it->second]);
      } else {
        if (in.empty()) c.Fail(ErrorCode::kModelInvalid, "the frame this step receives has no columns");
        sub.push_back(in[static_cast<size_t>(c.Int(0, static_cast<int64_t>(in.size()) - 1))]);
      }
    }
    Frame part = Step(tr.Get("transform"), sub, depth + 1);
    out.insert(out.end(), part.begin(), part.end());
    if (out.size() > kMaxFrameWidth) {
      v.Fail(ErrorCode::kModelLimit, "produces more than the limit of " + std::to_string(kMaxFrameWidth) + " columns");
    }
  }
  for (Col& c : out) c.named = false;  // columns made by a step have no names
  return out;
}

}  // namespace kiln::internal
