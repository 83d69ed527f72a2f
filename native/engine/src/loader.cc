// Model::LoadFile / LoadString: read (size-limited), parse, check format/version, read inputs,
// compile the transform, read the estimator and output, cross-check, verify.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "compile.h"
#include "json_reader.h"
#include "lightgbm_text.h"
#include "model_impl.h"
#include "spec_limits.h"
#include "xgboost_json.h"

namespace kiln {

namespace internal {
namespace {

std::string ReadModelFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw Error(ErrorCode::kModelIo, "cannot read model file '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::kModelIo, "cannot read model file '" + path + "': not a regular file");
  if (static_cast<unsigned long long>(st.st_size) > kMaxFileBytes) {
    throw Error(ErrorCode::kModelLimit, "model file '" + path + "' is " + std::to_string(st.st_size) +
                                            " bytes, more than the limit of " + std::to_string(kMaxFileBytes));
  }
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error(ErrorCode::kModelIo, "cannot open model file '" + path + "': " + std::strerror(errno));
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const size_t got = std::fread(buf, 1, sizeof buf, f.get());
    if (got > 0) {
      if (text.size() + got > kMaxFileBytes) {
        throw Error(ErrorCode::kModelLimit, "model file '" + path + "' exceeds the limit of " +
                                                std::to_string(kMaxFileBytes) + " bytes");
      }
      text.append(buf, got);
    }
    if (got < sizeof buf) {
      if (std::ferror(f.get())) throw Error(ErrorCode::kModelIo, "error reading model file '" + path + "'");
      break;
    }
  }
  return text;
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!(alnum || (i > 0 && (c == '.' || c == '_' || c == '-')))) return false;
  }
  return true;
}

void CheckFormat(const Json& root) {
  auto f = root.find("format");
  if (f == root.end() || !f->is_string() || f->get_ref<const std::string&>() != "kiln.model") {
    throw Error(ErrorCode::kModelVersion, "format: expected \"kiln.model\"; this is not a Kiln model file");
  }
  auto v = root.find("format_version");
  if (v == root.end()) throw Error(ErrorCode::kModelVersion, "format_version: missing (this engine reads version 1)");
  if (!v->is_number_integer() || v->get<int64_t>() != 1 || (v->is_number_unsigned() && v->get<uint64_t>() != 1)) {
    throw Error(ErrorCode::kModelVersion,
                "format_version: " + v->dump() + " is not supported (this engine reads version 1)");
  }
}

void ParseInputs(const JVal& v, std::vector<InputSpec>& inputs) {
  const size_t n = v.ArraySize(kMaxInputs, "inputs");
  if (n == 0) v.Fail(ErrorCode::kModelInvalid, "a model needs at least one input");
  inputs.resize(n);
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    JObj o(v.At(i), {"name", "type", "dtype", "nullable"});
    InputSpec& in = inputs[i];
    JVal name = o.Get("name");
    in.name = name.Str();
    if (!names.insert(in.name).second) name.Fail(ErrorCode::kModelInvalid, "duplicate input name '" + in.name + "'");
    JVal type = o.Get("type");
    if (type.Str() == "number") {
      in.type = InputType::kNumber;
      if (o.Has("dtype")) o.Get("dtype").Fail(ErrorCode::kModelSchema, "unknown key (dtype is for category inputs)");
    } else if (type.Str() == "category") {
      JVal dtype = o.Get("dtype");
      if (dtype.Str() == "string") {
        in.type = InputType::kStringCategory;
      } else if (dtype.Str() == "number") {
        in.type = InputType::kNumberCategory;
      } else {
        dtype.Fail(ErrorCode::kModelUnsupported, "unknown dtype '" + dtype.Str() + "' (expected string or number)");
      }
    } else {
      type.Fail(ErrorCode::kModelUnsupported, "unknown input type '" + type.Str() + "' (expected number or category)");
    }
    in.nullable = o.Get("nullable").Bool();
  }
}

struct OutputSpec {
  bool probabilities = false;
  bool decision = false;
  std::string classes_path;
  std::string probabilities_path;
  std::string decision_path;
};

OutputSpec ParseOutput(const JVal& v, ModelImpl& m) {
  JObj o(v, {"task", "classes", "probabilities", "decision"});
  OutputSpec spec;
  JVal task = o.Get("task");
  if (task.Str() == "regression") {
    m.task_ = Task::kRegression;
    for (const char* key : {"classes", "probabilities", "decision"}) {
      if (o.Has(key)) o.Get(key).Fail(ErrorCode::kModelSchema, "unknown key for a regression output");
    }
    return spec;
  }
  if (task.Str() != "classification") {
    task.Fail(ErrorCode::kModelUnsupported, "unknown task '" + task.Str() + "' (expected classification or regression)");
  }
  m.task_ = Task::kClassification;
  JVal classes = o.Get("classes");
  spec.classes_path = classes.path();
  const size_t n = classes.ArraySize(kMaxClasses, "classes");
  if (n == 0) classes.Fail(ErrorCode::kModelInvalid, "needs at least one class");
  for (size_t i = 0; i < n; ++i) {
    JVal c = classes.At(i);
    if (c.IsString()) {
      if (i > 0 && !m.classes_are_strings_) c.Fail(ErrorCode::kModelInvalid, "classes mix strings and numbers");
      m.classes_are_strings_ = true;
      m.class_str_.push_back(c.Str());
    } else if (c.IsNumber()) {
      if (i > 0 && m.classes_are_strings_) c.Fail(ErrorCode::kModelInvalid, "classes mix strings and numbers");
      m.class_num_.push_back(c.Finite());
    } else {
      c.Fail(ErrorCode::kModelSchema, std::string("expected a string or a number, got ") + c.json().type_name());
    }
    m.class_json_.push_back(c.json().dump());
  }
  if (auto p = o.Opt("probabilities")) {
    spec.probabilities = p->Bool();
    spec.probabilities_path = p->path();
  }
  if (auto d = o.Opt("decision")) {
    spec.decision = d->Bool();
    spec.decision_path = d->path();
  }
  return spec;
}

// Raw-score width and link of the estimators that write through RawHead like `linear` does.
void RawShape(const ModelImpl& m, uint32_t* k, Link* link) {
  switch (m.mode_) {
    case ModelImpl::Mode::kLinear:
      *k = m.linear_.k, *link = m.linear_.link;
      break;
    case ModelImpl::Mode::kNaiveBayes:
      *k = m.nb_.k, *link = Link::kSoftmax;  // predict_proba = exp(jll - logsumexp(jll)) = softmax(jll)
      break;
    case ModelImpl::Mode::kMlp:
      *k = m.mlp_.k, *link = m.mlp_.link;
      break;
    case ModelImpl::Mode::kNeighbors:  // writes probabilities itself, like averaging ensembles
      *k = m.knn_.RawWidth(), *link = Link::kIdentity;
      break;
    default:
      break;
  }
}

// Cross-checks estimator and output, and sets up the head and output layout.
// linear: the estimator writes raw scores through the head (linear, naive Bayes, MLP).
void ConfigureHead(ModelImpl& m, const OutputSpec& out, const JVal& est, bool linear) {
  const bool boost = !linear && m.trees_.boost;
  uint32_t k = m.trees_.n_targets;
  Link link = m.trees_.link;
  RawShape(m, &k, &link);
  const std::string link_path = KeyPath(est.path(), "link");
  RawHead& h = m.head_;
  h.task = m.task_;
  h.link = link;
  h.k = k;
  if (m.task_ == Task::kRegression) {
    if (link != Link::kIdentity) Throw(ErrorCode::kModelInvalid, link_path, "a regression takes link 'identity'");
    if (k != 1) {
      est.Fail(ErrorCode::kModelInvalid,
               "a regression has exactly one output (got " + std::to_string(k) + " rows/targets)");
    }
    m.output_width_ = 1;
    m.n_decision_ = 0;
    m.probabilities_ = false;
    return;
  }
  const bool averaging = !linear && !boost;
  if (!averaging && link == Link::kIdentity) {
    Throw(ErrorCode::kModelInvalid, link_path, "a classifier needs link none, logistic or softmax");
  }
  const size_t n_classes = averaging ? k : (k == 1 ? 2 : k);
  if (m.class_json_.size() != n_classes) {
    Throw(ErrorCode::kModelInvalid, out.classes_path,
          "has " + std::to_string(m.class_json_.size()) + " classes but the estimator produces " +
              std::to_string(n_classes));
  }
  if (out.probabilities && !averaging && link == Link::kNone) {
    Throw(ErrorCode::kModelInvalid, out.probabilities_path, "link 'none' gives no probabilities");
  }
  if (out.decision && averaging) {
    Throw(ErrorCode::kModelInvalid, out.decision_path, "averaging ensembles give no decision values");
  }
  h.n_classes = static_cast<uint32_t>(n_classes);
  h.probabilities = out.probabilities;
  h.decision = out.decision;
  h.label_ge = boost && m.trees_.label_at_zero == 1;
  m.probabilities_ = out.probabilities;
  m.n_decision_ = out.decision ? k : 0;
  m.output_width_ = 1 + (out.probabilities ? n_classes : 0) + m.n_decision_;
}

std::shared_ptr<const Model> Build(const Json& root, const LoadOptions& options) {
  JVal rv(root, "");
  rv.RequireObject();
  CheckFormat(root);
  JObj top(rv, {"format", "format_version", "name", "metadata", "inputs", "transform", "estimator", "output",
                "verification"});
  auto m = std::make_shared<ModelImpl>();

  JVal name = top.Get("name");
  m->name_ = name.Str();
  if (!ValidName(m->name_)) name.Fail(ErrorCode::kModelInvalid, "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  JVal md = top.Get("metadata");
  md.RequireObject();
  m->metadata_json_ = md.json().dump();

  ParseInputs(top.Get("inputs"), m->inputs_);

  Compiler compiler(m->program_, m->inputs_);
  Frame frame = compiler.InputFrame();
  JVal transform = top.Get("transform");
  if (!transform.IsNull()) frame = compiler.Step(transform, frame, 1);

  JVal est = top.Get("estimator");
  est.RequireObject();
  auto kind_it = est.json().find("kind");
  if (kind_it == est.json().end()) est.Fail(ErrorCode::kModelSchema, "missing key 'kind'");
  JVal kind(*kind_it, KeyPath(est.path(), "kind"));
  bool linear;
  uint32_t n_features;
  if (kind.Str() == "linear") {
    linear = true;
    ParseLinear(est, m->linear_);
    n_features = m->linear_.n_features;
    m->mode_ = ModelImpl::Mode::kLinear;
  } else if (kind.Str() == "tree_ensemble") {
    linear = false;
    ParseTreeEnsemble(est, m->trees_);
    n_features = m->trees_.n_features;
    m->mode_ = ModelImpl::Mode::kTrees;
  } else if (kind.Str() == "naive_bayes") {
    linear = true;
    ParseNaiveBayes(est, m->nb_);
    n_features = m->nb_.n_features;
    m->mode_ = ModelImpl::Mode::kNaiveBayes;
  } else if (kind.Str() == "mlp") {
    linear = true;
    ParseMlp(est, m->mlp_);
    n_features = m->mlp_.n_features;
    m->mode_ = ModelImpl::Mode::kMlp;
  } else if (kind.Str() == "neighbors") {
    linear = false;
    ParseNeighbors(est, m->knn_);
    n_features = m->knn_.n_features;
    m->mode_ = ModelImpl::Mode::kNeighbors;
  } else {
    kind.Fail(ErrorCode::kModelUnsupported, "unknown estimator kind '" + kind.Str() + "'");
  }

  if (frame.size() != n_features) {
    Throw(ErrorCode::kModelInvalid, KeyPath(est.path(), "n_features"),
          "the estimator expects " + std::to_string(n_features) + " features but the transform produces " +
              std::to_string(frame.size()) + " columns");
  }
  for (size_t j = 0; j < frame.size(); ++j) {
    if (frame[j].is_string) {
      est.Fail(ErrorCode::kModelInvalid, "feature column " + std::to_string(j) + " (" +
                                             compiler.Describe(frame[j], j, "the transform") +
                                             ") is a string category column; the estimator needs numbers");
    }
    m->features_.push_back(frame[j].slot);
  }

  const OutputSpec out = ParseOutput(top.Get("output"), *m);
  ConfigureHead(*m, out, est, linear);
  if (m->mode_ == ModelImpl::Mode::kNeighbors && m->knn_.classifier != (m->task_ == Task::kClassification)) {
    est.Fail(ErrorCode::kModelInvalid, m->knn_.classifier ? "has n_classes (a classifier) but the output is a regression"
                                                          : "has no n_classes (a regressor) but the output is a classification");
  }
  m->Freeze();

  JVal verification = top.Get("verification");
  verification.RequireObject();
  if (options.verify) RunVerification(*m, verification);
  return m;
}

// Parses into a DOM, refusing duplicate object keys (nlohmann would keep the last one silently)
// and nesting deeper than kMaxJsonDepth, naming the JSON path. A SAX handler wrapping nlohmann's
// plain DOM builder: the callback parser (Json::parse with a parser_callback_t) rescans the
// whole parent container after every object it closes, so an array of n objects cost O(n^2) —
// 200,000 "{}" (600 KB) took 12 s of CPU, a file under the 512 MiB limit hours (found while
// fuzzing; native/tests/fuzz_regressions_test.cc).
class KilnSax {
 public:
  explicit KilnSax(Json& root) : dom_(root, true) {}

  bool null() { return Element(), dom_.null(); }
  bool boolean(bool v) { return Element(), dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return Element(), dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Element(), dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& s) { return Element(), dom_.number_float(v, s); }
  bool string(Json::string_t& v) { return Element(), dom_.string(v); }
  bool binary(Json::binary_t& v) { return Element(), dom_.binary(v); }
  bool start_object(size_t n) { return Open(true), dom_.start_object(n); }
  bool start_array(size_t n) { return Open(false), dom_.start_array(n); }
  bool end_object() { return Close(), dom_.end_object(); }
  bool end_array() { return Close(), dom_.end_array(); }
  bool key(Json::string_t& k) {
    Level& top = stack_.back();
    top.key = k;
    if (!top.keys.insert(top.key).second) Throw(ErrorCode::kModelSchema, PathOf(stack_.size()), "duplicate key");
    return dom_.key(k);
  }
  template <class Exception>
  bool parse_error(size_t pos, const std::string& token, const Exception& ex) {
    return dom_.parse_error(pos, token, ex);  // throws ex (its own type: parse_error, out_of_range)
  }

 private:
  struct Level {
    bool object = false;
    size_t count = 0;  // arrays: elements seen so far
    std::string key;   // objects: current key
    std::unordered_set<std::string> keys;
  };

  std::string PathOf(size_t levels) const {
    std::string path;
    for (size_t i = 0; i < levels; ++i) {
      const Level& l = stack_[i];
      path = l.object ? KeyPath(path, l.key) : IndexPath(path, l.count - 1);
    }
    return path;
  }
  void Element() {
    if (!stack_.empty() && !stack_.back().object) ++stack_.back().count;
  }
  void Open(bool object) {
    Element();
    if (stack_.size() >= kMaxJsonDepth) {
      Throw(ErrorCode::kModelLimit, PathOf(stack_.size()),
            "JSON nested deeper than the limit of " + std::to_string(kMaxJsonDepth) + " levels");
    }
    stack_.emplace_back();
    stack_.back().object = object;
  }
  void Close() {
    if (!stack_.empty()) stack_.pop_back();
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  std::vector<Level> stack_;
};

Json ParseJson(std::string_view text) {
  Json root;
  KilnSax sax(root);
  Json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json, /*strict=*/true);
  return root;
}

}  // namespace

std::shared_ptr<const Model> LoadText(std::string_view text, const LoadOptions& options) {
  if (text.size() > kMaxFileBytes) {
    throw Error(ErrorCode::kModelLimit, "model text is " + std::to_string(text.size()) +
                                            " bytes, more than the limit of " + std::to_string(kMaxFileBytes));
  }
  if (LooksLikeLightGbmText(text)) return LoadLightGbmText(text);
  Json root;
  try {
    root = ParseJson(text);
  } catch (const Json::out_of_range& e) {
    // nlohmann refuses numbers that overflow a double (1e999) while parsing: a non-finite
    // weight, which the format calls invalid.
    std::string token;
    const std::string path = FindNonFiniteNumber(text, &token);
    if (e.id == 406 && !path.empty()) {
      throw Error(ErrorCode::kModelInvalid, path + ": expected a finite number, got " + token);
    }
    throw Error(ErrorCode::kModelParse, std::string("model is not valid JSON: ") + e.what());
  } catch (const Json::parse_error& e) {
    std::string token;
    const std::string path = FindNonFiniteNumber(text, &token);
    if (token == "NaN") {  // an XGBoost 1.x / 2.x file with categorical splits
      const std::string fixed = XgboostNanAsNull(text);
      if (!fixed.empty()) return LoadText(fixed, options);
    }
    if (!path.empty() && !token.empty() && (token[0] == 'N' || token.back() == 'y')) {
      throw Error(ErrorCode::kModelInvalid, path + ": expected a finite number, got " + token +
                                                " (not JSON; the exporter writes null where NaN is meaningful)");
    }
    throw Error(ErrorCode::kModelParse, "model is not valid JSON (byte " + std::to_string(e.byte) + "): " + e.what());
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kModelParse, std::string("model is not valid JSON: ") + e.what());
  }
  try {
    if (LooksLikeXgboostJson(root)) return LoadXgboostJson(root);
    return Build(root, options);
  } catch (const Json::exception& e) {  // defensive: an access we did not guard
    throw Error(ErrorCode::kModelSchema, std::string("model does not match the format: ") + e.what());
  }
}

std::string ReadFileForLoad(const std::string& path) { return ReadModelFile(path); }

}  // namespace internal

std::shared_ptr<const Model> Model::LoadFile(const std::string& path, const LoadOptions& options) {
  return internal::LoadText(internal::ReadFileForLoad(path), options);
}

std::shared_ptr<const Model> Model::LoadString(std::string_view json, const LoadOptions& options) {
  return internal::LoadText(json, options);
}

}  // namespace kiln
