// Parses a JSON request body of named-feature records straight into slot-encoded rows (the
// layout kiln::Model::Predict reads), for the server's predict routes: no JSON tree, no object
// per feature.
//
// It accepts only the plain valid case: well-formed JSON holding records whose keys are all model
// inputs (each at most once), each value a finite number (number inputs and number categories),
// a string (string categories; an unseen string is kUnknownCategory) or null (nullable inputs),
// and absent keys only for nullable inputs. For anything else it declines (returns false) without
// saying why: the caller then parses the body its general way, which produces the exact error it
// always produced. So this parser changes speed, never answers or error messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kiln/model.h"

namespace kiln {

enum class BodyShape : uint8_t {
  kRecordOrArray,  // {record} or [{record}, ...]  (the friendly predict route)
  kInstances,      // {"instances": [{record}, ...], "signature_name"?: string}  (KServe V1)
};

class RecordParser {
 public:
  explicit RecordParser(const std::vector<InputSpec>& inputs);

  // Appends the body's rows (width() doubles each) to `rows` and sets `*is_array` (false: the
  // body was one bare record). Declines (false, `rows` unspecified) for anything but the plain
  // valid case described above, for no rows, and for more than `max_rows` rows. Thread-safe.
  bool Parse(std::string_view body, BodyShape shape, size_t max_rows, std::vector<double>* rows,
             bool* is_array) const;

  size_t width() const { return slots_.size(); }

 private:
  struct Slot {
    std::string name;
    InputType type;
    bool nullable;
    std::unordered_map<std::string, double> codes;  // kStringCategory: vocabulary -> code
  };
  friend class RecordSax;
  // Index of the input named `key`; `hint` is tried first (records usually list the inputs in
  // the model's order). width() when there is none.
  size_t Find(const std::string& key, size_t hint) const;

  std::vector<Slot> slots_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace kiln
