// Harness C: the request-body scanner (kiln::RecordScanner), differential. The fuzz input is a
// body (read as one record, as an array of records and as V1 instances) for a fixed set of inputs (number, nullable number, string category, number category,
// names with a space and non-ASCII bytes). Whenever the scanner accepts, nlohmann/json (a
// separate, strict RFC 8259 parser) must parse the same bytes into an object of known keys whose
// values give the same row (for arrays and instances: the same envelope and rows): numbers equal, strings their vocabulary code, nulls and absent
// nullable inputs NaN. Anything else aborts (a finding). Declining is always allowed.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/record_scanner.h"

namespace {

std::vector<kiln::InputSpec> Inputs() {
  std::vector<kiln::InputSpec> in(5);
  in[0].name = "mean radius";
  in[1].name = "b";
  in[1].nullable = true;
  in[2].name = "colour";
  in[2].type = kiln::InputType::kStringCategory;
  in[2].nullable = true;
  in[2].vocabulary = {"red", "gr\xC3\xBCn", "", "blue"};
  in[3].name = "n";
  in[3].type = kiln::InputType::kNumberCategory;
  in[4].name = "\xC3\xA9t\xC3\xA9";
  in[4].nullable = true;
  return in;
}

[[noreturn]] void Finding(const char* what, std::string_view body) {
  std::fprintf(stderr, "record scanner: %s\nbody: %.*s\n", what, static_cast<int>(body.size()), body.data());
  std::abort();
}

// The row the JS path would give for one parsed record: checks `row` against it.
void CheckRecord(const std::vector<kiln::InputSpec>& inputs, const nlohmann::json& doc, const double* row,
                 std::string_view body) {
  if (!doc.is_object()) Finding("accepted a non-object", body);
  std::vector<bool> seen(inputs.size(), false);
  for (const auto& [key, value] : doc.items()) {
    size_t i = 0;
    while (i < inputs.size() && inputs[i].name != key) ++i;
    if (i == inputs.size()) Finding("accepted an unknown key", body);
    seen[i] = true;
    const kiln::InputSpec& in = inputs[i];
    if (value.is_null()) {
      if (!in.nullable || !std::isnan(row[i])) Finding("null not NaN of a nullable input", body);
    } else if (value.is_string()) {
      if (in.type != kiln::InputType::kStringCategory) Finding("accepted a string for a number", body);
      double code = kiln::kUnknownCategory;
      for (size_t v = 0; v < in.vocabulary.size(); ++v) {
        if (in.vocabulary[v] == value.get<std::string>()) code = static_cast<double>(v);
      }
      if (row[i] != code) Finding("wrong vocabulary code", body);
    } else if (value.is_number()) {
      if (in.type == kiln::InputType::kStringCategory) Finding("accepted a number for a string category", body);
      // nlohmann reads "-0" as the integer 0, so zeros compare by value; -0 is GoogleTest's.
      if (!(row[i] == value.get<double>())) Finding("number differs", body);
    } else {
      Finding("accepted a value of another type", body);
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!seen[i] && !(inputs[i].nullable && std::isnan(row[i]))) Finding("absent input not NaN, or required", body);
  }
}

nlohmann::json ParseOrFinding(std::string_view body) {
  try {
    return nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::exception&) {
    Finding("accepted what nlohmann refuses", body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<kiln::InputSpec> inputs = Inputs();
  static const kiln::RecordScanner scanner(inputs);
  constexpr size_t kMaxRows = 4;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const size_t width = scanner.width();
  std::vector<double> row(width);
  if (scanner.Scan(body, row.data())) CheckRecord(inputs, ParseOrFinding(body), row.data(), body);

  // The same bytes as an array of records and as V1 instances.
  std::vector<double> rows;
  for (const kiln::BodyShape shape : {kiln::BodyShape::kRecordArray, kiln::BodyShape::kInstances}) {
    if (!scanner.ScanRows(body, shape, kMaxRows, &rows)) continue;
    const nlohmann::json doc = ParseOrFinding(body);
    const nlohmann::json* records = &doc;
    if (shape == kiln::BodyShape::kInstances) {
      if (!doc.is_object() || !doc.contains("instances")) Finding("instances: no envelope", body);
      for (const auto& [key, value] : doc.items()) {
        if (key == "signature_name" ? !value.is_string() : key != "instances") Finding("instances: other member", body);
      }
      records = &doc["instances"];
    }
    if (!records->is_array() || records->empty() || records->size() > kMaxRows) Finding("rows: not 1..max records", body);
    if (rows.size() != records->size() * width) Finding("rows: wrong count", body);
    for (size_t r = 0; r < records->size(); ++r) CheckRecord(inputs, (*records)[r], rows.data() + r * width, body);
  }
  return 0;
}
