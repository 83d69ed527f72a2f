#include "trees.h"

#include <cfloat>
#include <cmath>
#include <limits>

#include "json_reader.h"
#include "spec_limits.h"

namespace kiln::internal {

float ThresholdToFloat(double t) {
  if (t == std::numeric_limits<double>::infinity()) return std::numeric_limits<float>::infinity();
  if (t >= static_cast<double>(FLT_MAX)) return FLT_MAX;
  if (t < -static_cast<double>(FLT_MAX)) return -std::numeric_limits<float>::infinity();
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

namespace {

constexpr int64_t kWide = int64_t{1} << 40;
constexpr uint32_t kNoParent = 0xFFFFFFFFu;

// Reads `value`: n entries, each an array of `width` finite numbers. Fast path without paths.
void CheckValues(const JVal& val, size_t n, size_t width) {
  const size_t m = val.ArraySize();
  if (m != n) val.Fail(ErrorCode::kModelInvalid, "expected " + std::to_string(n) + " entries, got " + std::to_string(m));
  for (size_t i = 0; i < n; ++i) {
    const Json& e = val.json()[i];
    bool ok = e.is_array() && e.size() == width;
    for (size_t k = 0; ok && k < width; ++k) ok = e[k].is_number() && std::isfinite(e[k].get<double>());
    if (!ok) {
      std::vector<double> tmp;
      val.At(i).Finites(tmp, width);  // throws with the precise path
    }
  }
}

void ParseTree(const JVal& tv, TreeEnsemble& out, double learning_rate) {
  JObj t(tv, {"target", "children_left", "children_right", "feature", "threshold", "missing_go_to_left", "value"});
  const int64_t max_target = static_cast<int64_t>(out.n_targets) - 1;
  uint32_t target = 0;
  if (out.boost) {
    target = static_cast<uint32_t>(t.Get("target").Int(0, max_target));
  } else if (auto tg = t.OptNonNull("target")) {
    tg->Int(0, max_target);
  }

  JVal cl = t.Get("children_left");
  const size_t n = cl.ArraySize(kMaxTreeNodes, "nodes");
  if (n == 0) cl.Fail(ErrorCode::kModelInvalid, "a tree needs at least one node");
  JVal cr = t.Get("children_right");
  JVal fv = t.Get("feature");
  std::vector<int64_t> left, right, feature;
  cl.Ints(left, -kWide, kWide, n);
  cr.Ints(right, -kWide, kWide, n);
  fv.Ints(feature, -kWide, kWide, n);
  // A null threshold is +inf (sklearn's missing-vs-rest split: every non-missing value goes left).
  std::vector<double> threshold;
  JVal tv_thr = t.Get("threshold");
  const size_t n_thr = tv_thr.ArraySize();
  if (n_thr != n) {
    tv_thr.Fail(ErrorCode::kModelInvalid, "expected " + std::to_string(n) + " values, got " + std::to_string(n_thr));
  }
  threshold.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Json& e = tv_thr.json()[i];
    if (e.is_null()) {
      threshold.push_back(std::numeric_limits<double>::infinity());
    } else if (e.is_number() && std::isfinite(e.get<double>())) {
      threshold.push_back(e.get<double>());
    } else {
      threshold.push_back(tv_thr.At(i).Finite());  // throws with the element's path
    }
  }
  std::vector<int64_t> missing;
  if (auto mv = t.OptNonNull("missing_go_to_left")) {
    mv->Ints(missing, 0, 1, n);
  } else {
    missing.assign(n, 0);
  }
  const size_t width = out.boost ? 1 : out.n_targets;
  JVal val = t.Get("value");
  CheckValues(val, n, width);

  const size_t base = out.nodes.size();
  if (base + n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    tv.Fail(ErrorCode::kModelLimit, "the ensemble has more than 2^31 nodes");
  }
  out.nodes.resize(base + n);
  out.roots.push_back(static_cast<uint32_t>(base));
  out.targets.push_back(target);

  std::vector<uint8_t> seen(n, 0);
  seen[0] = 1;
  struct Item { uint32_t orig; uint32_t parent; };
  std::vector<Item> stack;
  stack.push_back({0, kNoParent});
  size_t next = base;
  const int64_t nn = static_cast<int64_t>(n);
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    const uint32_t idx = static_cast<uint32_t>(next++);
    if (it.parent != kNoParent) out.nodes[it.parent].right = idx;
    const size_t o = it.orig;
    Node& nd = out.nodes[idx];
    if (left[o] == -1) {
      if (right[o] != -1) {
        Throw(ErrorCode::kModelInvalid, IndexPath(cr.path(), o),
              "node " + std::to_string(o) + " is a leaf (children_left is -1) but children_right is " +
                  std::to_string(right[o]));
      }
      if (out.leaf_values.size() + width > std::numeric_limits<uint32_t>::max()) {
        tv.Fail(ErrorCode::kModelLimit, "the ensemble has too many leaf values");
      }
      nd.thr = 0.0f;
      nd.feature = -1;
      nd.right = 0;
      nd.aux = static_cast<uint32_t>(out.leaf_values.size());
      const Json& e = val.json()[o];
      for (size_t k = 0; k < width; ++k) {
        const double x = e[k].get<double>();
        out.leaf_values.push_back(out.boost ? learning_rate * x : x);
      }
      continue;
    }
    const int64_t l = left[o], r = right[o];
    if (l < 0 || l >= nn) {
      Throw(ErrorCode::kModelInvalid, IndexPath(cl.path(), o),
            "child " + std::to_string(l) + " is out of range [0, " + std::to_string(n) + ")");
    }
    if (r < 0 || r >= nn) {
      Throw(ErrorCode::kModelInvalid, IndexPath(cr.path(), o),
            "child " + std::to_string(r) + " is out of range [0, " + std::to_string(n) + ")");
    }
    if (feature[o] < 0 || feature[o] >= static_cast<int64_t>(out.n_features)) {
      Throw(ErrorCode::kModelInvalid, IndexPath(fv.path(), o),
            "feature " + std::to_string(feature[o]) + " is out of range [0, " + std::to_string(out.n_features) + ")");
    }
    if (seen[static_cast<size_t>(l)]) {
      Throw(ErrorCode::kModelInvalid, IndexPath(cl.path(), o),
            "node " + std::to_string(l) + " is reached twice (cycle or shared child)");
    }
    seen[static_cast<size_t>(l)] = 1;
    if (seen[static_cast<size_t>(r)]) {
      Throw(ErrorCode::kModelInvalid, IndexPath(cr.path(), o),
            "node " + std::to_string(r) + " is reached twice (cycle or shared child)");
    }
    seen[static_cast<size_t>(r)] = 1;
    nd.thr = ThresholdToFloat(threshold[o]);
    nd.feature = static_cast<int32_t>(feature[o]);
    nd.right = 0;
    nd.aux = missing[o] ? 1u : 0u;
    if (missing[o]) out.has_missing = true;
    stack.push_back({static_cast<uint32_t>(r), idx});
    stack.push_back({static_cast<uint32_t>(l), kNoParent});
  }
  if (next - base != n) {
    size_t k = 0;
    while (k < n && seen[k]) ++k;
    cl.Fail(ErrorCode::kModelInvalid, "node " + std::to_string(k) + " is not reachable from the root");
  }
}

}  // namespace

void ParseTreeEnsemble(const JVal& v, TreeEnsemble& out) {
  JObj o(v, {"kind", "n_features", "aggregate", "n_targets", "init", "learning_rate", "link", "trees"});
  out.n_features = static_cast<uint32_t>(o.Get("n_features").Int(0, static_cast<int64_t>(kMaxFrameWidth)));
  JVal agg = o.Get("aggregate");
  if (agg.Str() == "average") {
    out.boost = false;
  } else if (agg.Str() == "boost") {
    out.boost = true;
  } else {
    agg.Fail(ErrorCode::kModelUnsupported, "unknown aggregate '" + agg.Str() + "' (expected average or boost)");
  }
  JVal nt = o.Get("n_targets");
  const int64_t n_targets = nt.Int(1, std::numeric_limits<int32_t>::max());
  if (static_cast<size_t>(n_targets) > kMaxClasses) {
    nt.Fail(ErrorCode::kModelLimit, std::to_string(n_targets) + " targets exceed the limit of " + std::to_string(kMaxClasses));
  }
  out.n_targets = static_cast<uint32_t>(n_targets);

  double learning_rate = 1.0;
  if (out.boost) {
    out.init.clear();
    o.Get("init").Finites(out.init, out.n_targets);
    learning_rate = o.Get("learning_rate").Finite();
    JVal lv = o.Get("link");
    out.link = ParseLink(lv);
    if (out.link == Link::kNone) lv.Fail(ErrorCode::kModelUnsupported, "boosting supports identity, logistic or softmax");
  } else {
    // Meaningless for averaging; accepted when well-typed, and ignored.
    if (auto iv = o.OptNonNull("init")) {
      std::vector<double> ignored;
      iv->Finites(ignored);
    }
    if (auto lr = o.OptNonNull("learning_rate")) lr->Finite();
    if (auto lv = o.OptNonNull("link")) {
      if (ParseLink(*lv) != Link::kIdentity) lv->Fail(ErrorCode::kModelInvalid, "averaging ensembles take no link");
    }
    out.link = Link::kIdentity;
  }

  JVal trees = o.Get("trees");
  const size_t t = trees.ArraySize(kMaxTrees, "trees");
  if (t == 0) trees.Fail(ErrorCode::kModelInvalid, "needs at least one tree");
  out.nodes.clear();
  out.roots.clear();
  out.targets.clear();
  out.leaf_values.clear();
  out.has_missing = false;
  for (size_t i = 0; i < t; ++i) ParseTree(trees.At(i), out, learning_rate);
}

}  // namespace kiln::internal
