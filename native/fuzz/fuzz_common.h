// Shared by the libFuzzer harnesses: after a model loads, predict a few rows built from the fuzz
// input (every slot kind, specials included) through both Predict overloads, and poke
// CategoryCode. Anything other than success or kiln::Error is a finding (libFuzzer reports the
// uncaught exception / sanitizer report / abort).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/model.h"

namespace kiln_fuzz {

inline void Exercise(const kiln::Model& m, const uint8_t* data, size_t size) {
  const auto& inputs = m.inputs();
  const size_t n_in = inputs.size();
  constexpr size_t kRows = 4;
  static const double kSpecials[] = {0.0,  1.0,   -1.0, 0.5,  1e300, -1e300, 5e-324, -0.0,
                                     3.0,  255.0, 1e9,  -2.0, std::numeric_limits<double>::quiet_NaN(),
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity(), 2.5};
  std::vector<double> rows(kRows * n_in);
  size_t pos = 0;
  auto next = [&]() -> uint8_t { return size == 0 ? 0 : data[(pos++) % size]; };
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t i = 0; i < n_in; ++i) {
      const uint8_t b = next();
      double v;
      if (inputs[i].type == kiln::InputType::kStringCategory) {
        // Mostly the slot contract (a vocabulary code, kUnknownCategory or NaN, what the binding
        // passes); 1 in 5 anything, which Predict must refuse as KILN_INPUT_SHAPE, not read with.
        const size_t nv = inputs[i].vocabulary.size();
        if (b % 5 == 4) {
          v = kSpecials[(b / 5) % (sizeof(kSpecials) / sizeof(kSpecials[0]))];
        } else if (b % 5 == 0) {
          v = kiln::kUnknownCategory;
        } else if (b % 5 == 1) {
          v = std::numeric_limits<double>::quiet_NaN();
        } else {
          v = nv == 0 ? kiln::kUnknownCategory : static_cast<double>(b % nv);
        }
      } else {
        v = kSpecials[b % (sizeof(kSpecials) / sizeof(kSpecials[0]))];
      }
      rows[r * n_in + i] = v;
    }
  }
  std::vector<double> out(kRows * m.output_width() + 1);
  auto ws = m.NewWorkspace();
  try {
    m.Predict(rows.data(), kRows, out.data(), *ws);
  } catch (const kiln::Error&) {
  }
  bool numeric = true;
  for (const auto& in : inputs) numeric = numeric && in.type != kiln::InputType::kStringCategory;
  if (numeric) {
    std::vector<float> frows(rows.begin(), rows.end());
    try {
      m.Predict(frows.data(), kRows, out.data(), *ws);
    } catch (const kiln::Error&) {
    }
  }
  // Safe rows: zeros / first category, which a well-formed model should usually accept.
  std::fill(rows.begin(), rows.end(), 0.0);
  try {
    m.Predict(rows.data(), 1, out.data(), *ws);
  } catch (const kiln::Error&) {
  }
  const std::string_view probe(reinterpret_cast<const char*>(data), size < 16 ? size : 16);
  for (size_t i = 0; i < n_in; ++i) (void)m.CategoryCode(i, probe);
  (void)m.metadata_json();
  (void)m.class_labels_json();
}

// The harnesses' common step: load `text`; a kiln::Error ends the input (printed when
// KILN_FUZZ_DEBUG is set), a model that loads is exercised with the fuzz bytes.
inline void LoadAndExercise(std::string_view text, const uint8_t* data, size_t size) {
  std::shared_ptr<const kiln::Model> m;
  try {
    m = kiln::Model::LoadString(text);
  } catch (const kiln::Error& e) {
    if (std::getenv("KILN_FUZZ_DEBUG")) std::fprintf(stderr, "%s: %s\n", e.code_name(), e.what());
    return;
  }
  Exercise(*m, data, size);
}

}  // namespace kiln_fuzz
