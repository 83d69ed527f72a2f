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
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kiln/model.h"

namespace kiln {

// Bodies of several records (ScanRows).
enum class BodyShape : uint8_t {
  kRecordArray,  // [record, ...]  (the friendly predict route)
  kInstances,    // {"instances": [record, ...], "signature_name"?: string}  (KServe V1)
};

class RecordScanner {
 public:
  explicit RecordScanner(const std::vector<InputSpec>& inputs);

  // Writes the record in `body` as row[0 .. width()). True: the row is the JS path's row, bit for
  // bit. False: declined (row unspecified). Thread-safe (const, no scratch state).
  bool Scan(std::string_view body, double* row) const;

  // Replaces *rows with the body's records, width() doubles each, as Scan writes one. Declines
  // (false) also for no records or more than max_rows (the routes answer those with an error or
  // send them to the thread pool), and, for kInstances, for any member but one "instances" and
  // at most one "signature_name" string without escapes (the V1 schema's other refusals).
  bool ScanRows(std::string_view body, BodyShape shape, size_t max_rows, std::vector<double>* rows) const;

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
  // One record from the '{' at p into row: the byte after its '}', or nullptr (declined).
  const char* ScanObject(const char* p, const char* end, double* row) const;
  // An array of records from the '[' at p, appended to *rows: the byte after its ']', or nullptr.
  const char* ScanArray(const char* p, const char* end, size_t max_rows, std::vector<double>* rows) const;

  std::vector<Slot> slots_;
  std::unordered_map<std::string_view, size_t> index_;  // key -> slot, for keys out of order
  bool usable_ = true;  // false: two inputs share a name (every body is declined)
};

}  // namespace kiln
