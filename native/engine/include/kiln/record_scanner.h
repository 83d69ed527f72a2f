// Scans a JSON request body holding one record (a flat object of named features) straight into
// the slot-encoded row kiln::Model::Predict reads, for the server's predict routes: no JSON
// tree, no JS object, one pass over the bytes.
//
// It takes only the plain case and declines everything else (returns false, never throws, says
// not why): the caller then parses the body its general way (JSON.parse and the JS encoder),
// which gives the exact answer or error it always gave. So it changes speed, never results.
// The plain case: one JSON object, JSON whitespace anywhere between tokens; keys without escapes,
// each a model input, each at most once; values a number (number inputs and number categories:
// strict JSON grammar, finite, no underflow to zero), a string without escapes (string
// categories: its vocabulary code, or kUnknownCategory for a valid UTF-8 string the model has
// never seen), or null (nullable inputs: NaN); absent keys only for nullable inputs (NaN).
// Numbers convert as JSON.parse does (correctly rounded, -0 kept).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kiln/model.h"

namespace kiln {

class RecordScanner {
 public:
  explicit RecordScanner(const std::vector<InputSpec>& inputs);

  // Writes the record in `body` as row[0 .. width()). True: the row is the JS path's row, bit for
  // bit. False: declined (row unspecified). Thread-safe (const, no scratch state).
  bool Scan(std::string_view body, double* row) const;

  size_t width() const { return slots_.size(); }

 private:
  struct Slot {
    std::string key;  // the name's UTF-8 bytes, as they appear between quotes without escapes
    bool matchable;   // false: the name needs an escape in JSON, so a plain key never names it
    InputType type;
    bool nullable;
    bool strings_ok = true;  // kStringCategory: false when a vocabulary entry is not valid UTF-8
    std::unordered_map<std::string_view, double> codes;  // kStringCategory: vocabulary -> code
    std::vector<std::string> vocabulary;                 // owns the views in `codes`
  };
  std::vector<Slot> slots_;
  std::unordered_map<std::string_view, size_t> index_;  // key -> slot, for keys out of order
  bool usable_ = true;  // false: two inputs share a name (every body is declined)
};

}  // namespace kiln
