// OneHotEncoder and OrdinalEncoder: compile + kernels. String columns look their vocabulary code
// up in a per-column table built at load; numeric columns binary-search the sorted categories
// (exact equality). NaN (missing) maps to the null category when there is one.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "compile.h"

namespace kiln::internal {

namespace {

// Engine guard: total size of the code -> category tables.
constexpr size_t kMaxLookupEntries = size_t{1} << 28;

// Reads `categories` (one array per column) into EncCol records appended to prog.enc.
// Returns the index of the first record.
uint32_t ParseCategories(Compiler& c, const JVal& cats, const Frame& in, const std::string& path) {
  Program& prog = c.prog();
  const size_t n = cats.ArraySize();
  if (n != in.size()) {
    cats.Fail(ErrorCode::kModelInvalid,
              "has " + std::to_string(n) + " entries but the frame has " + std::to_string(in.size()) + " columns");
  }
  const uint32_t first = static_cast<uint32_t>(prog.enc.size());
  for (size_t j = 0; j < n; ++j) {
    JVal cj = cats.At(j);
    const size_t m = cj.ArraySize(kMaxFrameWidth, "categories");
    EncCol e;
    e.slot = in[j].slot;
    e.is_string = in[j].is_string;
    e.origin = in[j].origin;
    e.n_cat = static_cast<uint32_t>(m);
    e.desc = static_cast<uint32_t>(prog.descs.size());
    prog.descs.push_back(c.Describe(in[j], j, path));
    if (e.is_string) {
      std::vector<int32_t> codes(m, -1);
      int32_t max_code = -1;
      for (size_t k = 0; k < m; ++k) {
        JVal x = cj.At(k);
        if (x.IsNull()) {
          if (e.null_idx >= 0) x.Fail(ErrorCode::kModelInvalid, "null appears twice");
          e.null_idx = static_cast<int32_t>(k);
        } else if (x.IsString()) {
          codes[k] = c.Intern(in[j].origin, x.Str());
          max_code = std::max(max_code, codes[k]);
        } else {
          x.Fail(ErrorCode::kModelInvalid, std::string("column ") + std::to_string(j) +
                                               " is a string column; its categories must be strings or null, got " +
                                               x.json().type_name());
        }
      }
      const size_t len = static_cast<size_t>(max_code + 1);
      if (prog.pi.size() + len > kMaxLookupEntries) {
        cj.Fail(ErrorCode::kModelLimit, "category lookup tables exceed the engine limit");
      }
      e.lookup = static_cast<uint32_t>(prog.pi.size());
      e.lookup_len = static_cast<uint32_t>(len);
      prog.pi.resize(prog.pi.size() + len, -1);
      for (size_t k = 0; k < m; ++k) {
        if (codes[k] < 0) continue;
        int32_t& slot = prog.pi[e.lookup + static_cast<uint32_t>(codes[k])];
        if (slot >= 0) cj.At(k).Fail(ErrorCode::kModelInvalid, "duplicate category \"" + cj.At(k).Str() + "\"");
        slot = static_cast<int32_t>(k);
      }
    } else {
      std::vector<std::pair<double, int32_t>> vals;
      vals.reserve(m);
      for (size_t k = 0; k < m; ++k) {
        JVal x = cj.At(k);
        if (x.IsNull()) {
          if (e.null_idx >= 0) x.Fail(ErrorCode::kModelInvalid, "null appears twice");
          e.null_idx = static_cast<int32_t>(k);
        } else if (x.IsNumber()) {
          vals.emplace_back(x.Finite(), static_cast<int32_t>(k));
        } else {
          x.Fail(ErrorCode::kModelInvalid, std::string("column ") + std::to_string(j) +
                                               " is numeric; its categories must be numbers or null, got " +
                                               x.json().type_name());
        }
      }
      std::sort(vals.begin(), vals.end());
      for (size_t k = 1; k < vals.size(); ++k) {
        if (vals[k].first == vals[k - 1].first) {
          cj.At(static_cast<size_t>(vals[k].second))
              .Fail(ErrorCode::kModelInvalid, "duplicate category " + NumberText(vals[k].first));
        }
      }
      if (prog.pi.size() + vals.size() > kMaxLookupEntries) {
        cj.Fail(ErrorCode::kModelLimit, "category lookup tables exceed the engine limit");
      }
      e.lookup = static_cast<uint32_t>(prog.pd.size());
      e.lookup_idx = static_cast<uint32_t>(prog.pi.size());
      e.lookup_len = static_cast<uint32_t>(vals.size());
      std::vector<double> sorted(vals.size());
      for (size_t k = 0; k < vals.size(); ++k) {
        sorted[k] = vals[k].first;
        prog.pi.push_back(vals[k].second);
      }
      c.AddParams(sorted);
    }
    prog.enc.push_back(e);
  }
  return first;
}

std::vector<uint32_t> Slots(const Frame& in) {
  std::vector<uint32_t> s(in.size());
  for (size_t j = 0; j < in.size(); ++j) s[j] = in[j].slot;
  return s;
}

inline int32_t Lookup(const Program& p, const EncCol& c, double v) {
  if (v != v) return c.null_idx;
  if (c.is_string) {
    if (!(v >= 0.0 && v < static_cast<double>(c.lookup_len))) return -1;
    return p.pi[c.lookup + static_cast<uint32_t>(v)];
  }
  const double* b = p.pd.data() + c.lookup;
  const double* e = b + c.lookup_len;
  const double* it = std::lower_bound(b, e, v);
  if (it == e || *it != v) return -1;
  return p.pi[c.lookup_idx + static_cast<uint32_t>(it - b)];
}

[[noreturn]] __attribute__((noinline, cold)) void UnknownCategory(const Program& p, const EncCol& c, double v,
                                                                  size_t row, const std::vector<InputSpec>& inputs) {
  const bool named = c.origin >= 0 && static_cast<size_t>(c.origin) < inputs.size();
  const std::string feature = named ? inputs[static_cast<size_t>(c.origin)].name : p.descs[c.desc];
  std::string what;
  if (std::isnan(v)) {
    what = "a missing value is not one of its categories";
  } else if (c.is_string) {
    const auto& vocab = named ? inputs[static_cast<size_t>(c.origin)].vocabulary : std::vector<std::string>{};
    if (v >= 0.0 && v < static_cast<double>(vocab.size())) {
      what = "unknown category \"" + vocab[static_cast<size_t>(v)] + "\"";
    } else {
      what = "unknown category";
    }
  } else {
    what = "unknown category " + NumberText(v);
  }
  const std::string head = named ? "feature '" + feature + "'" : feature;
  throw Error(ErrorCode::kInputUnknownCategory, head + ": " + what + " (row " + std::to_string(row) + ")", feature,
              static_cast<long long>(row));
}

}  // namespace

Frame CompileOneHot(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "categories", "drop", "handle_unknown"});
  JVal hu = o.Get("handle_unknown");
  bool error_on_unknown;
  if (hu.Str() == "error") {
    error_on_unknown = true;
  } else if (hu.Str() == "ignore") {
    error_on_unknown = false;
  } else {
    hu.Fail(ErrorCode::kModelUnsupported, "unknown handle_unknown '" + hu.Str() + "' (expected error or ignore)");
  }
  Program& prog = c.prog();
  const uint32_t first = ParseCategories(c, o.Get("categories"), in, v.path());
  if (auto dv = o.OptNonNull("drop")) {
    const size_t n = dv->ArraySize();
    if (n != in.size()) {
      dv->Fail(ErrorCode::kModelInvalid,
               "has " + std::to_string(n) + " entries but the frame has " + std::to_string(in.size()) + " columns");
    }
    for (size_t j = 0; j < n; ++j) {
      JVal d = dv->At(j);
      if (d.IsNull()) continue;
      EncCol& e = prog.enc[first + j];
      if (e.n_cat == 0) d.Fail(ErrorCode::kModelInvalid, "column has no categories to drop");
      e.drop = static_cast<int32_t>(d.Int(0, static_cast<int64_t>(e.n_cat) - 1));
    }
  }
  size_t width = 0;
  for (size_t j = 0; j < in.size(); ++j) {
    const EncCol& e = prog.enc[first + j];
    width += e.n_cat - (e.drop >= 0 ? 1 : 0);
  }
  if (width > kMaxFrameWidth) {
    v.Fail(ErrorCode::kModelLimit, "produces " + std::to_string(width) + " columns, more than the limit of " +
                                       std::to_string(kMaxFrameWidth));
  }
  Op op{OpKind::kOneHot};
  op.flag = error_on_unknown ? 1 : 0;
  op.n = static_cast<uint32_t>(in.size());
  op.in = c.AddInSlots(Slots(in));
  op.out = c.NewSlots(width, v.path());
  op.q = first;
  uint32_t at = op.out;
  for (size_t j = 0; j < in.size(); ++j) {
    EncCol& e = prog.enc[first + j];
    e.out = at;
    at += e.n_cat - (e.drop >= 0 ? 1 : 0);
  }
  if (!in.empty()) prog.ops.push_back(op);
  Frame out(width);
  for (size_t k = 0; k < width; ++k) out[k].slot = op.out + static_cast<uint32_t>(k);
  return out;
}

Frame CompileOrdinal(Compiler& c, const JVal& v, const Frame& in) {
  JObj o(v, {"kind", "categories", "handle_unknown", "unknown_value", "encoded_missing_value"});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  JVal hu = o.Get("handle_unknown");
  bool error_on_unknown;
  double unknown_value = nan;
  if (hu.Str() == "error") {
    error_on_unknown = true;
  } else if (hu.Str() == "use_encoded_value") {
    error_on_unknown = false;
    JVal uv = o.Get("unknown_value");
    if (!uv.IsNull()) unknown_value = uv.Finite();
  } else {
    hu.Fail(ErrorCode::kModelUnsupported,
            "unknown handle_unknown '" + hu.Str() + "' (expected error or use_encoded_value)");
  }
  if (error_on_unknown) {
    if (auto uv = o.OptNonNull("unknown_value")) uv->Number();  // type-checked, unused
  }
  double missing_value = nan;
  if (auto mv = o.OptNonNull("encoded_missing_value")) missing_value = mv->Finite();

  Program& prog = c.prog();
  const uint32_t first = ParseCategories(c, o.Get("categories"), in, v.path());
  if (in.empty()) return {};
  Op op{OpKind::kOrdinal};
  op.flag = error_on_unknown ? 1 : 0;
  op.n = static_cast<uint32_t>(in.size());
  op.in = c.AddInSlots(Slots(in));
  op.out = c.NewSlots(in.size(), v.path());
  op.p = c.AddParams({unknown_value, missing_value});
  op.q = first;
  for (size_t j = 0; j < in.size(); ++j) prog.enc[first + j].out = op.out + static_cast<uint32_t>(j);
  prog.ops.push_back(op);
  Frame out(in.size());
  for (size_t j = 0; j < in.size(); ++j) {
    out[j].slot = op.out + static_cast<uint32_t>(j);
    out[j].origin = in[j].origin;
  }
  return out;
}

// ---- kernels ----------------------------------------------------------------------------------

void RunOneHot(const Op& op, const Program& p, double* s, size_t row, const std::vector<InputSpec>& inputs) {
  const EncCol* cols = p.enc.data() + op.q;
  for (uint32_t j = 0; j < op.n; ++j) {
    const EncCol& c = cols[j];
    double* o = s + c.out;
    const uint32_t width = c.n_cat - (c.drop >= 0 ? 1u : 0u);
    for (uint32_t k = 0; k < width; ++k) o[k] = 0.0;
    const double v = s[c.slot];
    const int32_t idx = Lookup(p, c, v);
    if (idx < 0) {
      if (op.flag) UnknownCategory(p, c, v, row, inputs);
      continue;
    }
    if (idx == c.drop) continue;
    o[(c.drop >= 0 && idx > c.drop) ? idx - 1 : idx] = 1.0;
  }
}

void RunOrdinal(const Op& op, const Program& p, double* s, size_t row, const std::vector<InputSpec>& inputs) {
  const EncCol* cols = p.enc.data() + op.q;
  const double unknown_value = p.pd[op.p];
  const double missing_value = p.pd[op.p + 1];
  for (uint32_t j = 0; j < op.n; ++j) {
    const EncCol& c = cols[j];
    const double v = s[c.slot];
    double r;
    if (v != v && c.null_idx >= 0) {
      r = missing_value;
    } else {
      const int32_t idx = Lookup(p, c, v);
      if (idx >= 0) {
        r = static_cast<double>(idx);
      } else {
        if (op.flag) UnknownCategory(p, c, v, row, inputs);
        r = unknown_value;
      }
    }
    s[c.out] = r;
  }
}

}  // namespace kiln::internal
