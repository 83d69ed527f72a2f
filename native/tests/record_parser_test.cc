// RecordParser: request bodies of named-feature records into slot-encoded rows. It must give
// exactly the JS encoder's row for the plain valid case and decline everything else (the server
// then answers with its general path's error), so both directions are tested here.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kiln/record_parser.h"

namespace {

using kiln::BodyShape;
using kiln::InputSpec;
using kiln::InputType;
using kiln::RecordParser;

std::vector<InputSpec> Inputs() {
  std::vector<InputSpec> in(4);
  in[0].name = "a";
  in[1].name = "b";
  in[1].nullable = true;
  in[2].name = "color";
  in[2].type = InputType::kStringCategory;
  in[2].nullable = true;
  in[2].vocabulary = {"red", "gr\xC3\xBCn", "blue"};
  in[3].name = "n";
  in[3].type = InputType::kNumberCategory;
  return in;
}

struct Parsed {
  bool ok = false;
  bool is_array = false;
  std::vector<double> rows;
};

Parsed Parse(const std::string& body, BodyShape shape = BodyShape::kRecordOrArray, size_t max_rows = 100) {
  static const RecordParser parser(Inputs());
  Parsed p;
  p.ok = parser.Parse(body, shape, max_rows, &p.rows, &p.is_array);
  return p;
}

void ExpectRow(const std::vector<double>& rows, size_t row, const std::vector<double>& want) {
  ASSERT_GE(rows.size(), (row + 1) * want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const double got = rows[row * want.size() + i];
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got)) << "slot " << i;
    } else {
      EXPECT_EQ(got, want[i]) << "slot " << i;
      EXPECT_EQ(std::signbit(got), std::signbit(want[i])) << "slot " << i;
    }
  }
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(RecordParser, OneRecordInAnyKeyOrder) {
  Parsed p = Parse(R"({"n": 7, "color": "blue", "b": -2.5e-3, "a": 1})");
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p.is_array);
  EXPECT_EQ(p.rows.size(), 4u);
  ExpectRow(p.rows, 0, {1, -2.5e-3, 2, 7});
}

TEST(RecordParser, NullsAbsentNullablesAndUnknownCategories) {
  Parsed p = Parse(" {\"a\": 0.1, \"b\": null, \"n\": 3, \"color\": \"purple\"}\n");
  ASSERT_TRUE(p.ok);
  ExpectRow(p.rows, 0, {0.1, kNaN, kiln::kUnknownCategory, 3});
  p = Parse(R"({"a": 1, "n": 2})");
  ASSERT_TRUE(p.ok);
  ExpectRow(p.rows, 0, {1, kNaN, kNaN, 2});
  p = Parse(R"({"a": 1, "n": 2, "color": "gr\u00fcn"})");  // escapes decode to the vocabulary's UTF-8
  ASSERT_TRUE(p.ok);
  ExpectRow(p.rows, 0, {1, kNaN, 1, 2});
}

TEST(RecordParser, NumbersRoundLikeJsonParse) {
  // Integers beyond 2^53 and uint64 round to the nearest double (ties to even), as JSON.parse does.
  Parsed p = Parse(R"({"a": 9007199254740993, "b": 18446744073709551617, "n": -0.0})");
  ASSERT_TRUE(p.ok);
  ExpectRow(p.rows, 0, {9007199254740992.0, 18446744073709551616.0, kNaN, -0.0});
  p = Parse(R"({"a": 1e-400, "n": 0.30000000000000004})");
  ASSERT_TRUE(p.ok);
  ExpectRow(p.rows, 0, {0.0, kNaN, kNaN, 0.30000000000000004});
}

TEST(RecordParser, ArraysOfRecords) {
  Parsed p = Parse(R"([{"a": 1, "n": 2}, {"a": 3, "n": 4, "color": "red"}])");
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.is_array);
  ASSERT_EQ(p.rows.size(), 8u);
  ExpectRow(p.rows, 0, {1, kNaN, kNaN, 2});
  ExpectRow(p.rows, 1, {3, kNaN, 0, 4});
  p = Parse(R"([{"a": 1, "n": 2}])");
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.is_array);
  EXPECT_EQ(p.rows.size(), 4u);
}

TEST(RecordParser, InstancesEnvelope) {
  Parsed p = Parse(R"({"signature_name": "serving_default", "instances": [{"a": 1, "n": 2}, {"a": 5, "n": 6}]})",
                   BodyShape::kInstances);
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.is_array);
  ExpectRow(p.rows, 1, {5, kNaN, kNaN, 6});
  EXPECT_TRUE(Parse(R"({"instances": [{"a": 1, "n": 2}], "signature_name": "x"})", BodyShape::kInstances).ok);
  // What the V1 schema or encoder refuses is declined.
  for (const char* body : {R"({"a": 1, "n": 2})", R"([{"a": 1, "n": 2}])", R"({"instances": []})",
                           R"({"instances": [{"a": 1, "n": 2}], "other": 1})", R"({"instances": {"a": 1, "n": 2}})",
                           R"({"instances": [{"a": 1, "n": 2}], "instances": [{"a": 1, "n": 2}]})",
                           R"({"signature_name": 3, "instances": [{"a": 1, "n": 2}]})", R"({"signature_name": "x"})"}) {
    EXPECT_FALSE(Parse(body, BodyShape::kInstances).ok) << body;
  }
}

TEST(RecordParser, DeclinesEverythingTheEncoderWouldRefuse) {
  for (const char* body : {
           "",                                           // empty
           "{\"a\": 1, \"n\": 2",                        // truncated
           "{\"a\": 1, \"n\": 2} x",                     // trailing garbage
           "\xEF\xBB\xBF{\"a\": 1, \"n\": 2}",           // byte order mark (JSON.parse refuses it)
           R"({"a": NaN, "n": 2})", R"({"a": Infinity, "n": 2})", R"({"a": 1e999, "n": 2})",
           R"({"a": "1", "n": 2})",                      // wrong type
           R"({"a": true, "n": 2})", R"({"a": [1], "n": 2})", R"({"a": {"v": 1}, "n": 2})",
           R"({"a": 1, "n": "2"})",                      // number category given a string
           R"({"a": 1, "n": 2, "color": 3})",            // string category given a number
           R"({"a": null, "n": 2})",                     // null for a required input
           R"({"n": 2})",                                // required input absent
           R"({"a": 1, "n": 2, "zzz": 1})",              // unknown feature
           R"({"a": 1, "n": 2, "a": 3})",                // repeated feature (JSON.parse: last wins)
           R"({"a": -0, "n": 2})",                       // integer -0 (nlohmann drops the sign)
           R"({"a": 1, "n": 2, "color": "\ud800"})",     // lone surrogate
           "{\"a\": 1, \"n\": 2, \"color\": \"\xFF\"}",  // invalid UTF-8
           "[]", "[[]]", "[1]", "[{\"a\": 1, \"n\": 2}, 3]", "3", "null", "\"x\"",
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
       }) {
    EXPECT_FALSE(Parse(body).ok) << body;
  }
}

TEST(RecordParser, RowLimit) {
  const std::string two = R"([{"a": 1, "n": 2}, {"a": 3, "n": 4}])";
  EXPECT_TRUE(Parse(two, BodyShape::kRecordOrArray, 2).ok);
  EXPECT_FALSE(Parse(two, BodyShape::kRecordOrArray, 1).ok);
}

}  // namespace
