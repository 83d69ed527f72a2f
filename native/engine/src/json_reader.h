// Typed, path-aware access to the parsed model JSON. Every accessor throws kiln::Error whose
// message starts with the JSON path of the offending value, e.g.
//   estimator.trees[3].threshold[7]: expected a finite number
// Internal to the engine's loader: nlohmann/json never appears in a public header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/error.h"

namespace kiln::internal {

using Json = nlohmann::json;

// "a.b" / "a[\"odd key\"]" / "a[3]". An empty path is the document root.
std::string KeyPath(const std::string& path, std::string_view key);
std::string IndexPath(const std::string& path, size_t index);

[[noreturn]] void Throw(ErrorCode code, const std::string& path, const std::string& what);

// JSON path of the first number token in `text` that is not finite: one that overflows a double
// (1e999), or a NaN / Infinity / -Infinity literal (not JSON, but what Python writes by default);
// the token itself goes to `token`. Empty path when there is none. Used to name the value
// nlohmann refuses while parsing.
std::string FindNonFiniteNumber(std::string_view text, std::string* token);

// Shortest text that round-trips a double (for messages).
std::string NumberText(double v);

// A JSON value plus the path it was reached by.
class JVal {
 public:
  JVal(const Json& j, std::string path) : j_(&j), path_(std::move(path)) {}

  const Json& json() const { return *j_; }
  const std::string& path() const { return path_; }
  bool IsNull() const { return j_->is_null(); }
  bool IsNumber() const { return j_->is_number(); }
  bool IsString() const { return j_->is_string(); }

  double Number() const;                         // SCHEMA unless a number
  double Finite() const;                         // ... and INVALID unless finite
  int64_t Int(int64_t lo, int64_t hi) const;     // SCHEMA unless integral; INVALID outside [lo, hi]
  bool Bool() const;                             // SCHEMA unless a boolean
  const std::string& Str() const;                // SCHEMA unless a string
  void RequireObject() const;                    // SCHEMA unless an object

  // SCHEMA unless an array; LIMIT when longer than max_len (what names the limit).
  size_t ArraySize(size_t max_len = SIZE_MAX, const char* what = "elements") const;
  JVal At(size_t i) const { return JVal((*j_)[i], IndexPath(path_, i)); }

  // Bulk readers: element paths are only built on error. expected: required length or npos.
  void Finites(std::vector<double>& out, size_t expected = npos) const;
  void Ints(std::vector<int64_t>& out, int64_t lo, int64_t hi, size_t expected = npos) const;

  [[noreturn]] void Fail(ErrorCode code, const std::string& what) const { Throw(code, path_, what); }

  static constexpr size_t npos = static_cast<size_t>(-1);

 private:
  const Json* j_;
  std::string path_;
};

// An object whose keys are checked against an allow-list (unknown key -> SCHEMA).
class JObj {
 public:
  JObj(const JVal& v, std::initializer_list<std::string_view> allowed);

  const std::string& path() const { return path_; }
  bool Has(std::string_view key) const;
  JVal Get(std::string_view key) const;                 // SCHEMA when missing
  std::optional<JVal> Opt(std::string_view key) const;  // nullopt when missing
  // Absent or null -> nullopt.
  std::optional<JVal> OptNonNull(std::string_view key) const;
  [[noreturn]] void Fail(ErrorCode code, const std::string& what) const { Throw(code, path_, what); }

 private:
  const Json* j_;
  std::string path_;
};

}  // namespace kiln::internal
