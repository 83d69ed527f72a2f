#include "json_reader.h"

#include <cmath>
#include <cstdlib>

namespace kiln::internal {

namespace {

bool IsIdentifier(std::string_view k) {
  if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
  for (char ch : k) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '_';
    if (!ok) return false;
  }
  return true;
}

std::string Got(const Json& j) { return std::string(", got ") + j.type_name(); }

}  // namespace

std::string KeyPath(const std::string& path, std::string_view key) {
  if (IsIdentifier(key)) return path.empty() ? std::string(key) : path + "." + std::string(key);
  // replace: a key taken from raw text (FindNonFiniteNumber scans input nlohmann refused) may be
  // invalid UTF-8, which dump() would otherwise throw on (type_error 316, not a kiln::Error).
  return path + "[" + Json(std::string(key)).dump(-1, ' ', false, Json::error_handler_t::replace) + "]";
}

std::string IndexPath(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

void Throw(ErrorCode code, const std::string& path, const std::string& what) {
  throw Error(code, (path.empty() ? std::string("model") : path) + ": " + what);
}

std::string NumberText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return Json(v).dump();
}

std::string FindNonFiniteNumber(std::string_view text, std::string* token) {
  struct Level {
    bool object;
    size_t index;
    std::string key;
  };
  std::vector<Level> stack;
  bool expect_key = false;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '{' || c == '[') {
      stack.push_back({c == '{', 0, {}});
      expect_key = c == '{';
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
      expect_key = false;
    } else if (c == ',') {
      if (!stack.empty()) {
        if (stack.back().object) {
          expect_key = true;
        } else {
          ++stack.back().index;
        }
      }
    } else if (c == ':') {
      expect_key = false;
    } else if (c == '"') {
      std::string raw;
      for (++i; i < n && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < n) raw += text[i++];
        raw += text[i];
      }
      if (expect_key && !stack.empty()) {
        // Keys are reported as written (escapes are rare in model keys).
        stack.back().key = raw;
      }
    } else if (c == 'N' || c == 'I' || (c == '-' && i + 1 < n && text[i + 1] == 'I')) {
      // Python's json.dump writes NaN / Infinity / -Infinity by default; JSON has no such tokens.
      size_t j = i + 1;
      while (j < n && ((text[j] >= 'a' && text[j] <= 'z') || (text[j] >= 'A' && text[j] <= 'Z'))) ++j;
      const std::string tok(text.substr(i, j - i));
      if (tok == "NaN" || tok == "Infinity" || tok == "-Infinity") {
        std::string path;
        for (const Level& l : stack) path = l.object ? KeyPath(path, l.key) : IndexPath(path, l.index);
        if (token) *token = tok;
        return path.empty() ? "model" : path;
      }
      i = j - 1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i;
      while (j < n && (text[j] == '-' || text[j] == '+' || text[j] == '.' || text[j] == 'e' || text[j] == 'E' ||
                       (text[j] >= '0' && text[j] <= '9'))) {
        ++j;
      }
      const std::string tok(text.substr(i, j - i));
      const double d = std::strtod(tok.c_str(), nullptr);
      if (!std::isfinite(d)) {
        std::string path;
        for (const Level& l : stack) path = l.object ? KeyPath(path, l.key) : IndexPath(path, l.index);
        if (token) *token = tok;
        return path.empty() ? "model" : path;
      }
      i = j - 1;
    }
  }
  return {};
}

double JVal::Number() const {
  if (!j_->is_number()) Fail(ErrorCode::kModelSchema, "expected a number" + Got(*j_));
  return j_->get<double>();
}

double JVal::Finite() const {
  const double d = Number();
  if (!std::isfinite(d)) Fail(ErrorCode::kModelInvalid, "expected a finite number");
  return d;
}

int64_t JVal::Int(int64_t lo, int64_t hi) const {
  if (j_->is_number_unsigned()) {
    const uint64_t u = j_->get<uint64_t>();
    if (hi < 0 || u > static_cast<uint64_t>(hi)) {
      Fail(ErrorCode::kModelInvalid, std::to_string(u) + " is out of range [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "]");
    }
    const int64_t v = static_cast<int64_t>(u);
    if (v < lo) {
      Fail(ErrorCode::kModelInvalid, std::to_string(u) + " is out of range [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "]");
    }
    return v;
  }
  int64_t v = 0;
  if (j_->is_number_integer()) {
    v = j_->get<int64_t>();
  } else if (j_->is_number_float()) {
    const double d = j_->get<double>();
    if (!std::isfinite(d) || d != std::floor(d)) Fail(ErrorCode::kModelSchema, "expected an integer, got " + NumberText(d));
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
      Fail(ErrorCode::kModelInvalid, NumberText(d) + " is out of range [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "]");
    }
    return static_cast<int64_t>(d);
  } else {
    Fail(ErrorCode::kModelSchema, "expected an integer" + Got(*j_));
  }
  if (v < lo || v > hi) {
    Fail(ErrorCode::kModelInvalid,
         std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v;
}

bool JVal::Bool() const {
  if (!j_->is_boolean()) Fail(ErrorCode::kModelSchema, "expected a boolean" + Got(*j_));
  return j_->get<bool>();
}

const std::string& JVal::Str() const {
  if (!j_->is_string()) Fail(ErrorCode::kModelSchema, "expected a string" + Got(*j_));
  return j_->get_ref<const std::string&>();
}

void JVal::RequireObject() const {
  if (!j_->is_object()) Fail(ErrorCode::kModelSchema, "expected an object" + Got(*j_));
}

size_t JVal::ArraySize(size_t max_len, const char* what) const {
  if (!j_->is_array()) Fail(ErrorCode::kModelSchema, "expected an array" + Got(*j_));
  const size_t n = j_->size();
  if (n > max_len) {
    Fail(ErrorCode::kModelLimit, std::to_string(n) + " " + what + " exceed the limit of " + std::to_string(max_len));
  }
  return n;
}

void JVal::Finites(std::vector<double>& out, size_t expected) const {
  const size_t n = ArraySize();
  if (expected != npos && n != expected) {
    Fail(ErrorCode::kModelInvalid, "expected " + std::to_string(expected) + " values, got " + std::to_string(n));
  }
  out.reserve(out.size() + n);
  for (size_t i = 0; i < n; ++i) {
    const Json& e = (*j_)[i];
    if (!e.is_number()) Throw(ErrorCode::kModelSchema, IndexPath(path_, i), "expected a number" + Got(e));
    const double d = e.get<double>();
    if (!std::isfinite(d)) Throw(ErrorCode::kModelInvalid, IndexPath(path_, i), "expected a finite number");
    out.push_back(d);
  }
}

void JVal::Ints(std::vector<int64_t>& out, int64_t lo, int64_t hi, size_t expected) const {
  const size_t n = ArraySize();
  if (expected != npos && n != expected) {
    Fail(ErrorCode::kModelInvalid, "expected " + std::to_string(expected) + " values, got " + std::to_string(n));
  }
  out.reserve(out.size() + n);
  for (size_t i = 0; i < n; ++i) {
    const Json& e = (*j_)[i];
    if (e.is_number_integer() && !e.is_number_unsigned()) {  // fast path
      const int64_t v = e.get<int64_t>();
      if (v >= lo && v <= hi) {
        out.push_back(v);
        continue;
      }
    }
    out.push_back(At(i).Int(lo, hi));
  }
}

JObj::JObj(const JVal& v, std::initializer_list<std::string_view> allowed) : j_(&v.json()), path_(v.path()) {
  v.RequireObject();
  for (auto it = j_->begin(); it != j_->end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) {
      if (it.key() == a) {
        known = true;
        break;
      }
    }
    if (!known) Throw(ErrorCode::kModelSchema, KeyPath(path_, it.key()), "unknown key");
  }
}

bool JObj::Has(std::string_view key) const { return j_->find(std::string(key)) != j_->end(); }

JVal JObj::Get(std::string_view key) const {
  auto it = j_->find(std::string(key));
  if (it == j_->end()) Throw(ErrorCode::kModelSchema, path_, "missing key '" + std::string(key) + "'");
  return JVal(*it, KeyPath(path_, key));
}

std::optional<JVal> JObj::Opt(std::string_view key) const {
  auto it = j_->find(std::string(key));
  if (it == j_->end()) return std::nullopt;
  return JVal(*it, KeyPath(path_, key));
}

std::optional<JVal> JObj::OptNonNull(std::string_view key) const {
  auto v = Opt(key);
  if (v && v->IsNull()) return std::nullopt;
  return v;
}

}  // namespace kiln::internal
