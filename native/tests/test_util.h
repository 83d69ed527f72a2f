// Helpers for the engine tests: assemble small model files from JSON fragments, load them,
// predict single rows, and assert on kiln::Error codes and messages.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kiln/model.h"

namespace kiln_test {

inline const double kNaN = std::numeric_limits<double>::quiet_NaN();
inline const double kInf = std::numeric_limits<double>::infinity();

struct Spec {
  std::string inputs = R"([{"name": "x", "type": "number", "nullable": false}])";
  std::string transform = "null";
  std::string estimator = R"({"kind": "linear", "n_features": 1, "coef": [[1]], "intercept": [0], "link": "identity"})";
  std::string output = R"({"task": "regression"})";
  // Only checked for being an object when loading without verification.
  std::string verification = "{}";
};

inline std::string ModelJson(const Spec& s) {
  return std::string(R"({"format": "kiln.model", "format_version": 1, "name": "t", "metadata": {"created": "x"},)") +
         "\n\"inputs\": " + s.inputs + ",\n\"transform\": " + s.transform + ",\n\"estimator\": " + s.estimator +
         ",\n\"output\": " + s.output + ",\n\"verification\": " + s.verification + "}";
}

inline std::shared_ptr<const kiln::Model> Load(const Spec& s, bool verify = false) {
  kiln::LoadOptions o;
  o.verify = verify;
  return kiln::Model::LoadString(ModelJson(s), o);
}

// Number inputs named in order, all non-nullable unless listed in `nullable`.
inline std::string NumberInputs(const std::vector<std::string>& names, const std::vector<std::string>& nullable = {}) {
  std::string s = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    bool n = false;
    for (const auto& x : nullable) n = n || x == names[i];
    s += std::string(i ? ", " : "") + R"({"name": ")" + names[i] + R"(", "type": "number", "nullable": )" +
         (n ? "true" : "false") + "}";
  }
  return s + "]";
}

// An estimator that exposes the final frame: width 1 -> regression on x; width > 1 -> a
// "classifier" with identity coef, link none, decision values = the frame (finite values only).
inline void Probe(Spec& s, size_t width) {
  if (width == 1) {
    s.estimator = R"({"kind": "linear", "n_features": 1, "coef": [[1]], "intercept": [0], "link": "identity"})";
    s.output = R"({"task": "regression"})";
    return;
  }
  std::string coef = "[", icpt = "[", classes = "[";
  for (size_t k = 0; k < width; ++k) {
    coef += k ? ", [" : "[";
    for (size_t j = 0; j < width; ++j) coef += std::string(j ? ", " : "") + (j == k ? "1" : "0");
    coef += "]";
    icpt += std::string(k ? ", " : "") + "0";
    classes += std::string(k ? ", " : "") + std::to_string(k);
  }
  s.estimator = R"({"kind": "linear", "n_features": )" + std::to_string(width) + R"(, "coef": )" + coef +
                R"(], "intercept": )" + icpt + R"(], "link": "none"})";
  s.output = R"({"task": "classification", "classes": )" + classes + R"(], "probabilities": false, "decision": true})";
}

inline std::vector<double> Predict(const kiln::Model& m, const std::vector<double>& row) {
  auto ws = m.NewWorkspace();
  std::vector<double> out(m.output_width());
  m.Predict(row.data(), 1, out.data(), *ws);
  return out;
}

// The frame reaching a Probe() estimator.
inline std::vector<double> Frame(const kiln::Model& m, const std::vector<double>& row) {
  std::vector<double> out = Predict(m, row);
  if (m.task() == kiln::Task::kRegression) return out;
  return std::vector<double>(out.begin() + 1, out.end());
}

// Runs f, expects a kiln::Error with this code whose message contains `needle`; returns it.
// Hostile model text must load or throw kiln::Error (never anything else); a model that loads
// must predict a zero row or throw kiln::Error. Returns whether it loaded.
inline bool LoadsOrFailsCleanly(const std::string& text) {
  try {
    auto m = kiln::Model::LoadString(text);
    std::vector<double> row(m->inputs().size(), 0.0), out(m->output_width());
    auto ws = m->NewWorkspace();
    try {
      m->Predict(row.data(), 1, out.data(), *ws);
    } catch (const kiln::Error&) {
    }
    return true;
  } catch (const kiln::Error&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << "non-kiln exception: " << e.what();
  }
  return false;
}

inline kiln::Error ExpectError(const std::function<void()>& f, kiln::ErrorCode code, const std::string& needle = "") {
  try {
    f();
  } catch (const kiln::Error& e) {
    EXPECT_EQ(kiln::ErrorCodeName(e.code()), std::string(kiln::ErrorCodeName(code))) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected kiln::Error " << kiln::ErrorCodeName(code) << ", got std::exception: " << e.what();
    return kiln::Error(code, "");
  }
  ADD_FAILURE() << "expected kiln::Error " << kiln::ErrorCodeName(code) << ", nothing thrown";
  return kiln::Error(code, "");
}

inline kiln::Error ExpectLoadError(const Spec& s, kiln::ErrorCode code, const std::string& needle = "",
                                   bool verify = false) {
  return ExpectError([&] { Load(s, verify); }, code, needle);
}

}  // namespace kiln_test
