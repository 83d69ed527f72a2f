// LightGBM's text model format (Booster.save_model('m.txt'), format "version=v4") loaded
// directly: the trees become a tree_ensemble with the options LightGBM's predictor needs
// (docs/model-format.md, "LightGBM and XGBoost model files"). Built through the same
// ParseTreeEnsemble as a Kiln file, so every structural check applies.
//
// LightGBM (include/LightGBM/tree.h): inner nodes 0..num_leaves-2, a child c < 0 is leaf ~c.
// decision_type bit 0: categorical; bit 1: default_left; bits 2-3: missing type (0 None: NaN is
// read as 0.0, 1 Zero: NaN is read as 0.0 and |x| <= kZeroThreshold goes the default_left way,
// 2 NaN). Numeric: `x <= threshold` (doubles). Categorical, whatever the missing type: NaN and
// negatives go right, a category in the node's bitset (cat_threshold words
// cat_boundaries[t]..cat_boundaries[t+1], t = threshold) left, any other right.
#include "lightgbm_text.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "library_model.h"
#include "json_reader.h"
#include "model_impl.h"
#include "spec_limits.h"

namespace kiln::internal {
namespace {

[[noreturn]] void Bad(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kModelInvalid, "LightGBM model " + where + ": " + what);
}

using Section = std::unordered_map<std::string, std::string>;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t next = s.find(sep, at);
    if (next == std::string::npos) next = s.size();
    if (next > at) out.push_back(s.substr(at, next - at));
    at = next + 1;
  }
  return out;
}

double ParseDouble(const std::string& t, const std::string& where) {
  const char* b = t.c_str();
  char* e = nullptr;
  const double v = std::strtod(b, &e);
  if (e == b || *e != '\0') Bad(where, "'" + t + "' is not a number");
  return v;
}

int64_t ParseInt(const std::string& t, const std::string& where) {
  const double v = ParseDouble(t, where);
  if (!(v == std::floor(v)) || std::fabs(v) > 9e15) Bad(where, "'" + t + "' is not an integer");
  return static_cast<int64_t>(v);
}

const std::string& Need(const Section& s, const std::string& key, const std::string& where) {
  auto it = s.find(key);
  if (it == s.end()) Bad(where, "missing '" + key + "'");
  return it->second;
}

// A space-separated list of numbers (doubles or integers) under `key`, n of them (SIZE_MAX: any).
template <class T>
std::vector<T> Numbers(const Section& s, const std::string& key, size_t n, const std::string& where) {
  std::vector<T> out;
  for (const std::string& t : Split(Need(s, key, where), ' ')) {
    if constexpr (std::is_same_v<T, double>) {
      out.push_back(ParseDouble(t, where + " " + key));
    } else {
      out.push_back(ParseInt(t, where + " " + key));
    }
  }
  if (n != SIZE_MAX && out.size() != n) {
    Bad(where, key + " has " + std::to_string(out.size()) + " values, expected " + std::to_string(n));
  }
  return out;
}

// One LightGBM tree as a Kiln tree (JSON, as ParseTreeEnsemble reads it).
Json Tree(const Section& s, uint32_t target, const std::string& where, bool& categorical) {
  if (s.count("is_linear") && Need(s, "is_linear", where) != "0") {
    throw Error(ErrorCode::kModelUnsupported, "LightGBM model " + where + ": linear trees are not supported");
  }
  const int64_t leaves = ParseInt(Need(s, "num_leaves", where), where + " num_leaves");
  if (leaves < 1 || static_cast<size_t>(leaves) > kMaxTreeNodes / 2) Bad(where, "num_leaves out of range");
  const size_t nl = static_cast<size_t>(leaves), ni = nl - 1;
  std::vector<double> leaf_value = Numbers<double>(s, "leaf_value", nl, where);
  Json left = Json::array(), right = Json::array(), feature = Json::array(), thr = Json::array(),
       missing = Json::array(), zero = Json::array(), cats = Json::array(), value = Json::array();
  bool any_zero = false;
  if (ni > 0) {
    std::vector<int64_t> lc = Numbers<int64_t>(s, "left_child", ni, where);
    std::vector<int64_t> rc = Numbers<int64_t>(s, "right_child", ni, where);
    std::vector<int64_t> sf = Numbers<int64_t>(s, "split_feature", ni, where);
    std::vector<int64_t> dt = Numbers<int64_t>(s, "decision_type", ni, where);
    std::vector<double> th = Numbers<double>(s, "threshold", ni, where);
    std::vector<int64_t> bounds, words;
    if (ParseInt(Need(s, "num_cat", where), where + " num_cat") > 0) {
      bounds = Numbers<int64_t>(s, "cat_boundaries", SIZE_MAX, where);
      words = Numbers<int64_t>(s, "cat_threshold", SIZE_MAX, where);
    }
    auto child = [&](int64_t c) -> int64_t {
      if (c < 0) {
        const int64_t leaf = ~c;
        if (leaf >= leaves) Bad(where, "leaf " + std::to_string(leaf) + " out of range");
        return static_cast<int64_t>(ni) + leaf;
      }
      if (c >= static_cast<int64_t>(ni)) Bad(where, "node " + std::to_string(c) + " out of range");
      return c;
    };
    for (size_t i = 0; i < ni; ++i) {
      left.push_back(child(lc[i]));
      right.push_back(child(rc[i]));
      feature.push_back(sf[i]);
      const int64_t d = dt[i];
      if (d & 1) {  // categorical
        categorical = true;
        if (!(th[i] >= 0.0 && th[i] < 1e9)) Bad(where, "categorical split " + std::to_string(i) + " has no valid threshold");
        const int64_t t = static_cast<int64_t>(th[i]);
        if (t < 0 || t + 1 >= static_cast<int64_t>(bounds.size()) || bounds[t] < 0 || bounds[t] > bounds[t + 1] ||
            bounds[t + 1] > static_cast<int64_t>(words.size())) {
          Bad(where, "categorical split " + std::to_string(i) + " has no valid cat_boundaries entry");
        }
        Json in_left = Json::array();
        for (int64_t w = bounds[t]; w < bounds[t + 1]; ++w) {
          for (int b = 0; b < 32; ++b) {
            if ((static_cast<uint64_t>(words[w]) >> b) & 1u) in_left.push_back((w - bounds[t]) * 32 + b);
          }
        }
        cats.push_back({{"left", in_left}, {"right", Json::array()}});
        thr.push_back(0.0);
        missing.push_back(0);  // NaN goes right
        zero.push_back(0);
        continue;
      }
      const int missing_type = static_cast<int>((d >> 2) & 3);
      // +inf: LightGBM's split of missing values from all others (every number goes left).
      if (th[i] == std::numeric_limits<double>::infinity()) {
        thr.push_back(nullptr);
      } else if (std::isfinite(th[i])) {
        thr.push_back(th[i]);
      } else {
        Bad(where, "threshold " + std::to_string(i) + " is not finite");
      }
      // None: NaN is read as 0.0, so it goes where 0 goes; Zero (NaN read as 0.0, then in the
      // zero band) and NaN: the default_left bit.
      missing.push_back(missing_type == 0 ? (0.0 <= th[i] ? 1 : 0) : ((d & 2) ? 1 : 0));
      zero.push_back(missing_type == 1 ? 1 : 0);
      any_zero = any_zero || missing_type == 1;
      cats.push_back(nullptr);
    }
  }
  for (size_t j = 0; j < nl; ++j) {
    left.push_back(-1);
    right.push_back(-1);
    feature.push_back(-1);
    thr.push_back(0.0);
    missing.push_back(0);
    zero.push_back(0);
    cats.push_back(nullptr);
    if (!std::isfinite(leaf_value[j])) Bad(where, "leaf_value " + std::to_string(j) + " is not finite");
  }
  for (size_t i = 0; i < ni; ++i) value.push_back(Json::array({0.0}));  // inner nodes: unused
  for (double v : leaf_value) value.push_back(Json::array({v}));
  Json t = {{"target", target}, {"children_left", left}, {"children_right", right}, {"feature", feature},
            {"threshold", thr}, {"missing_go_to_left", missing}, {"value", value}};
  if (any_zero) t["zero_as_missing"] = zero;
  if (categorical) t["categories"] = cats;
  return t;
}

}  // namespace

bool LooksLikeLightGbmText(std::string_view text) {
  return text.substr(0, 5) == "tree\n" || text.substr(0, 6) == "tree\r\n";
}

std::shared_ptr<const Model> LoadLightGbmText(std::string_view text) {
  // Sections: the header (up to the first "Tree=" line), one per tree, the rest ignored.
  Section header;
  std::vector<Section> trees;
  Section* cur = &header;
  bool ended = false;
  size_t at = 0;
  while (at < text.size() && !ended) {
    size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    std::string line(text.substr(at, eol - at));
    at = eol + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "end of trees") {
      ended = true;
    } else if (line.rfind("Tree=", 0) == 0) {
      if (trees.size() >= kMaxTrees) throw Error(ErrorCode::kModelLimit, "LightGBM model has more than the limit of " + std::to_string(kMaxTrees) + " trees");
      trees.emplace_back();
      cur = &trees.back();
    } else {
      const size_t eq = line.find('=');
      if (eq != std::string::npos) (*cur)[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  if (!ended) Bad("text", "no 'end of trees' line (truncated?)");
  if (trees.empty()) Bad("text", "has no trees");
  const std::string& version = Need(header, "version", "header");
  if (version != "v2" && version != "v3" && version != "v4") {
    throw Error(ErrorCode::kModelVersion, "LightGBM model version '" + version + "' is not supported (v2, v3, v4 are)");
  }

  auto m = std::make_shared<ModelImpl>();
  m->name_ = "lightgbm";
  m->metadata_json_ = Json({{"source", {{"library", "lightgbm"}, {"format", "text"}, {"version", version}}}}).dump();
  const int64_t n_features = ParseInt(Need(header, "max_feature_idx", "header"), "header max_feature_idx") + 1;
  if (n_features < 1 || static_cast<size_t>(n_features) > kMaxInputs) Bad("header", "max_feature_idx out of range");
  std::vector<std::string> names = Split(Need(header, "feature_names", "header"), ' ');
  if (names.size() != static_cast<size_t>(n_features)) Bad("header", "feature_names does not list max_feature_idx + 1 names");
  std::unordered_set<std::string> seen;
  for (const std::string& nm : names) {
    if (!seen.insert(nm).second) Bad("header", "duplicate feature name '" + nm + "'");
    m->inputs_.push_back({nm, InputType::kNumber, true, {}});
  }

  // Objective -> task and link.
  const std::vector<std::string> objective = Split(Need(header, "objective", "header"), ' ');
  const std::string obj = objective.empty() ? "" : objective[0];
  const int64_t k = ParseInt(Need(header, "num_tree_per_iteration", "header"), "header num_tree_per_iteration");
  if (k < 1 || static_cast<size_t>(k) > kMaxClasses) Bad("header", "num_tree_per_iteration out of range");
  if (header.count("average_output")) {
    throw Error(ErrorCode::kModelUnsupported, "LightGBM model: random-forest mode (average_output) is not supported");
  }
  Link link;
  if (obj == "binary") {
    for (size_t i = 1; i < objective.size(); ++i) {
      if (objective[i].rfind("sigmoid:", 0) == 0 && ParseDouble(objective[i].substr(8), "objective") != 1.0) {
        throw Error(ErrorCode::kModelUnsupported, "LightGBM model: objective '" + Need(header, "objective", "") +
                                                      "' (only sigmoid:1)");
      }
    }
    link = Link::kLogistic;
    m->task_ = Task::kClassification;
  } else if (obj == "multiclass" || obj == "softmax") {
    link = Link::kSoftmax;
    m->task_ = Task::kClassification;
  } else if (obj == "regression" || obj == "regression_l1" || obj == "huber" || obj == "fair" || obj == "quantile" ||
             obj == "mape") {
    link = Link::kIdentity;
    m->task_ = Task::kRegression;
  } else {
    throw Error(ErrorCode::kModelUnsupported, "LightGBM model: objective '" + obj +
                                                  "' is not supported (binary, multiclass and identity-output "
                                                  "regression objectives are)");
  }
  if ((link == Link::kSoftmax) != (k > 1)) Bad("header", "num_tree_per_iteration does not match the objective");

  Json est = {{"kind", "tree_ensemble"}, {"n_features", n_features}, {"aggregate", "boost"}, {"n_targets", k},
              {"init", std::vector<double>(static_cast<size_t>(k), 0.0)}, {"learning_rate", 1.0},
              {"link", link == Link::kLogistic ? "logistic" : link == Link::kSoftmax ? "softmax" : "identity"},
              {"threshold_dtype", "float64"}, {"unknown_category", "right"}, {"label_at_zero", 0}};
  Json tree_list = Json::array();
  for (size_t i = 0; i < trees.size(); ++i) {
    bool categorical = false;
    tree_list.push_back(Tree(trees[i], static_cast<uint32_t>(i % static_cast<size_t>(k)),
                             "tree " + std::to_string(i), categorical));
  }
  est["trees"] = std::move(tree_list);
  ParseTreeEnsemble(JVal(est, "lightgbm"), m->trees_);

  FinishLibraryTreeModel(*m, link, static_cast<size_t>(k));
  return m;
}

}  // namespace kiln::internal
