// XGBoost's JSON model format (Booster.save_model('m.json'), XGBoost 1.0 and later) loaded
// directly: the trees become a tree_ensemble with the options XGBoost's predictor needs
// (docs/model-format.md, "XGBoost model files"), built through the same ParseTreeEnsemble as a
// Kiln file, so every structural check applies.
//
// XGBoost (src/tree/, include/xgboost/tree_model.h): every input is read as float32; an inner
// node sends NaN the default_left way and `x < split_condition` (float32) left; at a leaf
// split_conditions holds the leaf value (learning rate included). Tree i adds to output group
// tree_info[i]. base_score is the intercept in output space (a "[..]" vector since 3.x, a scalar
// before): the margin is logit(base_score) for binary:logistic and base_score itself for
// multi:softprob and reg:squarederror.
//
// Categorical splits (enable_categorical=True; src/common/categorical.h, Decision): NaN goes
// the default_left way; a value whose category (the float32 truncated toward zero) is in the
// node's set goes RIGHT; anything else (not in the set, negative, >= 2^24, infinite) goes left.
// One-hot splits (max_cat_to_onehot) are the same with a one-category set. In Kiln terms:
// categories {"left": [], "right": set} with unknown_category "left". A categorical input is
// the category's integer code (pandas: cat.codes at fit time); the file holds no category names.
#include "xgboost_json.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <vector>

#include "library_model.h"
#include "model_impl.h"
#include "spec_limits.h"
#include "trees.h"

namespace kiln::internal {
namespace {

[[noreturn]] void Bad(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kModelInvalid, "XGBoost model " + where + ": " + what);
}

[[noreturn]] void Unsupported(const std::string& what) {
  throw Error(ErrorCode::kModelUnsupported, "XGBoost model: " + what);
}

const Json& Need(const Json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key)) Bad(where, std::string("missing '") + key + "'");
  return obj[key];
}

const Json& NeedArray(const Json& obj, const char* key, size_t n, const std::string& where) {
  const Json& a = Need(obj, key, where);
  if (!a.is_array()) Bad(where, std::string(key) + " is not an array");
  if (n != SIZE_MAX && a.size() != n) {
    Bad(where, std::string(key) + " has " + std::to_string(a.size()) + " entries, expected " + std::to_string(n));
  }
  return a;
}

// XGBoost writes its parameters as strings ("30", "[6.274165E-1]").
double Number(const Json& v, const std::string& where) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;  // default_left in some 1.x files
  if (!v.is_string()) Bad(where, "expected a number");
  const std::string& s = v.get_ref<const std::string&>();
  char* e = nullptr;
  const double d = std::strtod(s.c_str(), &e);
  if (e == s.c_str() || *e != '\0') Bad(where, "'" + s + "' is not a number");
  return d;
}

int64_t Int(const Json& v, const std::string& where, int64_t lo, int64_t hi) {
  const double d = Number(v, where);
  if (!(d == std::floor(d)) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    Bad(where, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int64_t>(d);
}

// A float32 as XGBoost holds it (the JSON text round-trips float32, not double).
double F32(const Json& v, const std::string& where) {
  const double d = Number(v, where);
  if (!std::isfinite(d)) Bad(where, "expected a finite number");
  return static_cast<double>(static_cast<float>(d));
}

std::vector<double> BaseScore(const Json& param) {
  std::string s = Need(param, "base_score", "learner_model_param").is_string()
                      ? param["base_score"].get<std::string>()
                      : std::to_string(Number(param["base_score"], "base_score"));
  std::vector<double> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == '[' || c == ']' || c == ' ') continue;
    if (c != ',') {
      cur.push_back(c);
    } else if (!cur.empty()) {
      out.push_back(F32(Json(cur), "learner_model_param.base_score"));
      cur.clear();
    }
  }
  if (out.empty()) Bad("learner_model_param", "base_score is empty");
  return out;
}

// One XGBoost tree as a Kiln tree (JSON, as ParseTreeEnsemble reads it).
Json Tree(const Json& t, uint32_t target, int64_t n_features, const std::string& where) {
  const Json& lc = NeedArray(t, "left_children", SIZE_MAX, where);
  const size_t n = lc.size();
  if (n < 1 || n > kMaxTreeNodes) Bad(where, "node count out of range");
  const Json& rc = NeedArray(t, "right_children", n, where);
  const Json& sc = NeedArray(t, "split_conditions", n, where);
  const Json& si = NeedArray(t, "split_indices", n, where);
  const Json& dl = NeedArray(t, "default_left", n, where);
  // Categorical nodes (split_type 1): node categories_nodes[j] sends the categories
  // categories[categories_segments[j] ..+ categories_sizes[j]] right, every other value left.
  std::vector<Json> cat_right(n);  // null: a numeric split
  bool categorical = false;
  if (t.contains("split_type")) {
    const Json& st = NeedArray(t, "split_type", n, where);
    for (size_t i = 0; i < n; ++i) {
      const int64_t type = Int(st[i], where + " split_type", 0, 1);
      if (type == 1) categorical = true;
    }
    if (categorical) {
      const Json& nodes = NeedArray(t, "categories_nodes", SIZE_MAX, where);
      const Json& seg = NeedArray(t, "categories_segments", nodes.size(), where);
      const Json& sizes = NeedArray(t, "categories_sizes", nodes.size(), where);
      const Json& cats = NeedArray(t, "categories", SIZE_MAX, where);
      // XGBoost's segments are disjoint: bounding their total by the array keeps a file from
      // multiplying one long list over many nodes.
      int64_t listed = 0;
      for (size_t j = 0; j < nodes.size(); ++j) {
        const std::string at = where + " categories_nodes[" + std::to_string(j) + "]";
        const auto node = static_cast<size_t>(Int(nodes[j], at, 0, static_cast<int64_t>(n) - 1));
        if (Int(st[node], at, 0, 1) != 1 || !cat_right[node].is_null()) {
          Bad(at, "is not a categorical node, or is listed twice");
        }
        const int64_t begin = Int(seg[j], at + " segment", 0, static_cast<int64_t>(cats.size()));
        const int64_t size = Int(sizes[j], at + " size", 0, static_cast<int64_t>(cats.size()) - begin);
        listed += size;
        if (listed > static_cast<int64_t>(cats.size())) Bad(at, "category segments overlap");
        Json right = Json::array();
        const auto top = static_cast<int64_t>(kMaxCategory) - 1;
        for (int64_t c = begin; c < begin + size; ++c) {
          right.push_back(Int(cats[static_cast<size_t>(c)], at + " category", 0, top));
        }
        cat_right[node] = std::move(right);
      }
      for (size_t i = 0; i < n; ++i) {
        if (Int(st[i], where + " split_type", 0, 1) == 1 && cat_right[i].is_null()) {
          Bad(where + " node " + std::to_string(i), "is categorical but has no categories_nodes entry");
        }
      }
    }
  }
  if (t.contains("tree_param") && t["tree_param"].contains("size_leaf_vector") &&
      Number(t["tree_param"]["size_leaf_vector"], where + " size_leaf_vector") > 1) {
    Unsupported("vector leaves (multi_strategy='multi_output_tree') are not supported");
  }
  Json left = Json::array(), right = Json::array(), feature = Json::array(), thr = Json::array(),
       missing = Json::array(), value = Json::array(), categories = Json::array();
  const int64_t max_node = static_cast<int64_t>(n) - 1;
  for (size_t i = 0; i < n; ++i) {
    const std::string at = where + " node " + std::to_string(i);
    const int64_t l = Int(lc[i], at + " left_children", -1, max_node);
    if (l == -1) {  // a leaf
      left.push_back(-1), right.push_back(-1), feature.push_back(-1), thr.push_back(0.0), missing.push_back(0);
      value.push_back(Json::array({F32(sc[i], at + " split_conditions")}));
      categories.push_back(nullptr);
      continue;
    }
    left.push_back(l);
    right.push_back(Int(rc[i], at + " right_children", 0, max_node));
    feature.push_back(Int(si[i], at + " split_indices", 0, n_features - 1));
    missing.push_back(Number(dl[i], at + " default_left") != 0 ? 1 : 0);
    value.push_back(Json::array({0.0}));
    if (!cat_right[i].is_null()) {
      thr.push_back(0.0);  // unused: XGBoost writes a meaningless split_condition here
      categories.push_back({{"left", Json::array()}, {"right", std::move(cat_right[i])}});
    } else {
      thr.push_back(F32(sc[i], at + " split_conditions"));
      categories.push_back(nullptr);
    }
  }
  Json out = {{"target", target}, {"children_left", left}, {"children_right", right}, {"feature", feature},
              {"threshold", thr}, {"missing_go_to_left", missing}, {"value", value}};
  if (categorical) out["categories"] = std::move(categories);
  return out;
}

}  // namespace

std::string XgboostNanAsNull(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || text[i] != '{') return {};
  i = text.find_first_not_of(" \t\r\n", i + 1);
  if (i == std::string_view::npos || text.substr(i, 9) != "\"learner\"") return {};
  std::string out;
  out.reserve(text.size() + text.size() / 64);
  bool in_string = false;
  for (size_t j = 0; j < text.size(); ++j) {
    const char c = text[j];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && j + 1 < text.size()) {
        out.push_back(text[++j]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c == 'N' && text.substr(j, 3) == "NaN") {
      out += "null";
      j += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool LooksLikeXgboostJson(const Json& root) {
  return root.is_object() && root.contains("learner") && !root.contains("format");
}

std::shared_ptr<const Model> LoadXgboostJson(const Json& root) {
  const Json& learner = Need(root, "learner", "document");
  std::string version = "unknown";
  if (root.contains("version") && root["version"].is_array()) {
    const Json& v = root["version"];
    if (v.size() != 3) Bad("document", "version is not [major, minor, patch]");
    const int64_t major = Int(v[0], "version", 0, 1000);
    version = std::to_string(major) + "." + std::to_string(Int(v[1], "version", 0, 1000)) + "." +
              std::to_string(Int(v[2], "version", 0, 1000));
    if (major < 1 || major > 3) {
      throw Error(ErrorCode::kModelVersion, "XGBoost model version " + version + " is not supported (1.x to 3.x are)");
    }
  }
  const Json& param = Need(learner, "learner_model_param", "learner");
  const Json& gb = Need(learner, "gradient_booster", "learner");
  const std::string booster = Need(gb, "name", "gradient_booster").is_string() ? gb["name"].get<std::string>() : "";
  if (booster != "gbtree") Unsupported("booster '" + booster + "' is not supported (gbtree is)");
  const Json& model = Need(gb, "model", "gradient_booster");
  const Json& objective = Need(Need(learner, "objective", "learner"), "name", "objective");
  const std::string obj = objective.is_string() ? objective.get<std::string>() : "";

  auto m = std::make_shared<ModelImpl>();
  m->name_ = "xgboost";
  m->metadata_json_ = Json({{"source", {{"library", "xgboost"}, {"format", "json"}, {"version", version}}}}).dump();
  const int64_t n_features = Int(Need(param, "num_feature", "learner_model_param"), "num_feature", 1,
                                 static_cast<int64_t>(kMaxInputs));
  std::vector<std::string> names;
  if (learner.contains("feature_names") && learner["feature_names"].is_array() && !learner["feature_names"].empty()) {
    for (const Json& nm : NeedArray(learner, "feature_names", static_cast<size_t>(n_features), "learner")) {
      if (!nm.is_string()) Bad("learner", "feature_names must be strings");
      names.push_back(nm.get<std::string>());
    }
  } else {
    for (int64_t i = 0; i < n_features; ++i) names.push_back("f" + std::to_string(i));
  }
  std::unordered_set<std::string> seen;
  for (const std::string& nm : names) {
    if (!seen.insert(nm).second) Bad("learner", "duplicate feature name '" + nm + "'");
    m->inputs_.push_back({nm, InputType::kNumber, true, {}});
  }

  Link link;
  int64_t k = 1;
  if (obj == "binary:logistic") {
    link = Link::kLogistic;
    m->task_ = Task::kClassification;
  } else if (obj == "multi:softprob") {
    link = Link::kSoftmax;
    m->task_ = Task::kClassification;
    k = Int(Need(param, "num_class", "learner_model_param"), "num_class", 2, static_cast<int64_t>(kMaxClasses));
  } else if (obj == "reg:squarederror") {
    link = Link::kIdentity;
    m->task_ = Task::kRegression;
  } else {
    Unsupported("objective '" + obj + "' is not supported (binary:logistic, multi:softprob, reg:squarederror are)");
  }
  if (param.contains("num_target") && Number(param["num_target"], "num_target") > 1) {
    Unsupported("multi-target models are not supported");
  }
  std::vector<double> init = BaseScore(param);
  if (init.size() == 1 && k > 1) init.assign(static_cast<size_t>(k), init[0]);
  if (init.size() != static_cast<size_t>(k)) Bad("learner_model_param", "base_score does not have one entry per class");
  if (link == Link::kLogistic) {
    if (!(init[0] > 0.0 && init[0] < 1.0)) Bad("learner_model_param", "base_score must lie in (0, 1) for binary:logistic");
    init[0] = std::log(init[0] / (1.0 - init[0]));
  }

  const Json& trees = NeedArray(model, "trees", SIZE_MAX, "gradient_booster.model");
  const Json& info = NeedArray(model, "tree_info", trees.size(), "gradient_booster.model");
  if (trees.empty()) Bad("gradient_booster.model", "has no trees");
  Json est = {{"kind", "tree_ensemble"}, {"n_features", n_features}, {"aggregate", "boost"}, {"n_targets", k},
              {"init", init}, {"learning_rate", 1.0},
              {"link", link == Link::kLogistic ? "logistic" : link == Link::kSoftmax ? "softmax" : "identity"},
              {"threshold_dtype", "float32"}, {"compare", "lt"}, {"unknown_category", "left"}, {"label_at_zero", 0}};
  Json tree_list = Json::array();
  for (size_t i = 0; i < trees.size(); ++i) {
    const std::string where = "tree " + std::to_string(i);
    const auto target = static_cast<uint32_t>(Int(info[i], where + " tree_info", 0, k - 1));
    tree_list.push_back(Tree(trees[i], target, n_features, where));
  }
  est["trees"] = std::move(tree_list);
  ParseTreeEnsemble(JVal(est, "xgboost"), m->trees_);

  FinishLibraryTreeModel(*m, link, static_cast<size_t>(k));
  return m;
}

}  // namespace kiln::internal
