// RecordScanner: one JSON record body into the slot-encoded row. It must give exactly the JS
// path's row (JSON.parse + the encoder; numbers as V8 rounds them, -0 kept) for the plain case
// and decline everything else (the server then answers with its JSON.parse path's error), so
// both directions are tested. test/record-scanner.test.mjs compares against JSON.parse itself.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kiln/record_scanner.h"

namespace {

using kiln::BodyShape;
using kiln::InputSpec;
using kiln::InputType;
using kiln::RecordScanner;

std::vector<InputSpec> Inputs() {
  std::vector<InputSpec> in(4);
  in[0].name = "a";
  in[1].name = "b b";  // a space, as in "mean radius"
  in[1].nullable = true;
  in[2].name = "colour";
  in[2].type = InputType::kStringCategory;
  in[2].nullable = true;
  in[2].vocabulary = {"red", "gr\xC3\xBCn", "blue"};
  in[3].name = "n";
  in[3].type = InputType::kNumberCategory;
  return in;
}

const RecordScanner& Scanner() {
  static const RecordScanner scanner(Inputs());
  return scanner;
}

struct Scanned {
  bool ok = false;
  std::vector<double> row;
};

Scanned Scan(const std::string& body) {
  Scanned s;
  s.row.assign(Scanner().width(), 12345.0);
  s.ok = Scanner().Scan(body, s.row.data());
  return s;
}

uint64_t Bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Bit-for-bit (so -0 differs from 0); any NaN equals any NaN (the encoder's missing value).
void ExpectRow(const std::string& body, const std::vector<double>& want) {
  const Scanned s = Scan(body);
  ASSERT_TRUE(s.ok) << body;
  ASSERT_EQ(s.row.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(s.row[i])) << body << " slot " << i;
    } else {
      EXPECT_EQ(Bits(s.row[i]), Bits(want[i])) << body << " slot " << i << ": " << s.row[i] << " vs " << want[i];
    }
  }
}

// The number `text` as the value of input "a" (the others fixed).
std::string WithA(const std::string& text) { return "{\"a\": " + text + ", \"b b\": 1, \"colour\": \"red\", \"n\": 2}"; }

TEST(RecordScanner, InOrderAndReordered) {
  ExpectRow(R"({"a": 1, "b b": -2.5e-3, "colour": "blue", "n": 7})", {1, -2.5e-3, 2, 7});
  ExpectRow(R"({"n": 7, "colour": "blue", "b b": -2.5e-3, "a": 1})", {1, -2.5e-3, 2, 7});
  ExpectRow(R"({"colour": "gr)"
            "\xC3\xBC"
            R"(n", "a": 0, "n": 3, "b b": 4})",
            {0, 4, 1, 3});
}

TEST(RecordScanner, WhitespaceEverywhere) {
  ExpectRow(" \t\r\n{ \n\"a\"\t:\r1 ,\n\"b b\" :2,\"colour\":\"red\"\n,\"n\" : 3 } \n\t\r", {1, 2, 0, 3});
  ExpectRow(R"({"a":1,"b b":2,"colour":"red","n":3})", {1, 2, 0, 3});
}

TEST(RecordScanner, NullsAbsentNullablesUnseenCategories) {
  ExpectRow(R"({"a": 0.1, "b b": null, "n": 3, "colour": "purple"})", {0.1, kNaN, kiln::kUnknownCategory, 3});
  ExpectRow(R"({"a": 1, "n": 2})", {1, kNaN, kNaN, 2});
  ExpectRow(R"({"n": 2, "colour": null, "a": 1})", {1, kNaN, kNaN, 2});
  ExpectRow(R"({"a": 1, "n": 2, "colour": ""})", {1, kNaN, kiln::kUnknownCategory, 2});
  ExpectRow("{\"a\": 1, \"n\": 2, \"colour\": \"\xE2\x82\xAC\"}", {1, kNaN, kiln::kUnknownCategory, 2});  // valid UTF-8
}

TEST(RecordScanner, NumbersAsJsonParseRoundsThem) {
  struct Case {
    const char* text;
    double value;
  };
  const Case cases[] = {
      {"0", 0.0},
      {"-0", -0.0},
      {"-0.0", -0.0},
      {"-0e5", -0.0},
      {"0.1", 0.1},
      {"17.99", 17.99},
      {"5e-324", 5e-324},                     // smallest subnormal
      {"1e-300", 1e-300},
      {"2.2250738585072014e-308", 2.2250738585072014e-308},
      {"1.7976931348623157e308", 1.7976931348623157e308},
      {"1e21", 1e21},
      {"9007199254740993", 9007199254740992.0},  // 2^53 + 1: ties to even
      {"9007199254740995", 9007199254740996.0},
      {"18446744073709551617", 18446744073709551616.0},
      {"0.30000000000000004", 0.30000000000000004},
      {"0.27760000000000001", 0.27760000000000001},  // 17 significant digits
      {"1.0000000000000002", 1.0000000000000002},
      {"4.9406564584124654e-324", 4.9406564584124654e-324},
      {"1234567890123456789012345678901234567890", 1.2345678901234568e39},
      {"1e5", 1e5},
      {"1E5", 1e5},
      {"1e+5", 1e5},
      {"1e-5", 1e-5},
      {"-1.5E-5", -1.5e-5},
      {"100e-2", 1.0},
      {"0.000001", 1e-6},
  };
  for (const Case& c : cases) ExpectRow(WithA(c.text), {c.value, 1, 0, 2});
}

TEST(RecordScanner, OutOfRangeIsDeclinedOrExact) {
  // JSON.parse gives Infinity (the encoder's KILN_INPUT_NOT_FINITE): declined.
  for (const char* text : {"1e400", "-1e400", "1.8e308"}) EXPECT_FALSE(Scan(WithA(text)).ok) << text;
  // JSON.parse gives 0 (-0): declined, or exactly that.
  for (const char* text : {"1e-400", "-1e-400", "2e-324"}) {
    const Scanned s = Scan(WithA(text));
    if (s.ok) {
      EXPECT_EQ(Bits(s.row[0]), Bits(text[0] == '-' ? -0.0 : 0.0)) << text;
    }
  }
}

TEST(RecordScanner, DeclinesWhatJsonParseRefuses) {
  for (const char* text : {"+1", "01", "-01", "00", "1.", ".5", "-", "1e", "1e+", "1.e5", "0x10", "Infinity", "-Infinity",
                           "NaN", "inf", "nan", "1_000", "--1", "1..2", "1e5.5", "\"1\""}) {
    EXPECT_FALSE(Scan(WithA(text)).ok) << text;
  }
}

TEST(RecordScanner, DeclinesEverythingElse) {
  for (const std::string& body : {
           std::string(""),
           std::string(" "),
           std::string("{"),
           std::string(R"({"a": 1, "n": 2)"),                       // truncated
           std::string(R"({"a": 1, "n": 2,})"),                     // trailing comma
           std::string(R"({"a": 1, "n": )"),
           std::string(R"({"a": 1, "n": 2} x)"),                    // trailing bytes
           std::string(R"({"a": 1, "n": 2}})"),
           std::string(R"({"a": 1, "n": 2}{})"),
           std::string("\xEF\xBB\xBF{\"a\": 1, \"n\": 2}"),        // byte order mark
           std::string(R"({"a": 1 "n": 2})"),                       // missing comma
           std::string(R"({"a" 1, "n": 2})"),                       // missing colon
           std::string(R"({a: 1, "n": 2})"),                        // bare key
           std::string(R"({'a': 1, "n": 2})"),
           std::string(R"({"\u0061": 1, "n": 2})"),                 // escape in a key
           std::string(R"({"a": 1, "n": 2, "colour": "r\u0065d"})"),  // escape in a string
           std::string(R"({"a": 1, "n": 2, "colour": "\""})"),
           std::string("{\"a\": 1, \"n\": 2, \"colour\": \"r\ted\"}"),  // raw control character
           std::string(R"({"a": 1, "n": 2, "a": 3})"),              // duplicate key (JSON.parse: last wins)
           std::string(R"({"a": 1, "n": 2, "n": 2})"),
           std::string(R"({"a": 1, "n": 2, "zzz": 1})"),            // unknown key
           std::string(R"({"a": 1, "n": 2, "A": 1})"),
           std::string(R"({"a": 1, "n": 2, "b": 1})"),              // prefix of "b b"
           std::string(R"({"a": 1, "n": 2, "b bb": 1})"),
           std::string(R"({"n": 2})"),                              // required input absent
           std::string(R"({})"),
           std::string(R"({"a": null, "n": 2})"),                   // null for a required input
           std::string(R"({"a": nul, "b b": null, "n": 2})"),
           std::string(R"({"a": 1, "b b": nullx, "n": 2})"),
           std::string(R"({"a": true, "n": 2})"),                   // boolean
           std::string(R"({"a": false, "n": 2})"),
           std::string(R"({"a": [1], "n": 2})"),                    // nested
           std::string(R"({"a": {"v": 1}, "n": 2})"),
           std::string(R"({"a": "1", "n": 2})"),                    // string for a number
           std::string(R"({"a": 1, "n": "2"})"),                    // string for a number category
           std::string(R"({"a": 1, "n": 2, "colour": 3})"),         // number for a string category
           std::string("{\"a\": 1, \"n\": 2, \"colour\": \"\xFF\"}"),          // invalid UTF-8
           std::string("{\"a\": 1, \"n\": 2, \"colour\": \"\xC0\xAF\"}"),      // overlong
           std::string("{\"a\": 1, \"n\": 2, \"colour\": \"\xED\xA0\x80\"}"),  // surrogate
           std::string("{\"a\": 1, \"n\": 2, \"colour\": \"\xE2\x82\"}"),      // truncated sequence
           std::string(R"([{"a": 1, "n": 2}])"),                    // array
           std::string("3"),
           std::string("null"),
           std::string("\"x\""),
           std::string("{\"a\": 1, \"n\": 2\0}", 17),               // NUL byte
       }) {
    EXPECT_FALSE(Scan(body).ok) << body;
  }
}

TEST(RecordScanner, TruncatedBodiesAreDeclined) {
  const std::string full = R"({"a": -1.25e-3, "b b": null, "colour": "blue", "n": 7})";
  ASSERT_TRUE(Scan(full).ok);
  for (size_t len = 0; len < full.size(); ++len) EXPECT_FALSE(Scan(full.substr(0, len)).ok) << full.substr(0, len);
}

TEST(RecordScanner, NamesNeedingEscapesAndRepeatedVocabulary) {
  std::vector<InputSpec> in(3);
  in[0].name = "q\"uote";  // only reachable through an escape: never on the plain path
  in[0].nullable = true;
  in[1].name = "x";
  in[2].name = "c";
  in[2].type = InputType::kStringCategory;
  in[2].vocabulary = {"u", "v", "u"};  // the JS encoder's Map keeps the last index
  const RecordScanner scanner(in);
  std::vector<double> row(3);
  ASSERT_TRUE(scanner.Scan(R"({"x": 1, "c": "u"})", row.data()));
  EXPECT_TRUE(std::isnan(row[0]));
  EXPECT_EQ(row[2], 2.0);
  EXPECT_FALSE(scanner.Scan(R"({"q\"uote": 1, "x": 1, "c": "u"})", row.data()));

  // A vocabulary entry that is not UTF-8 reaches JS altered: every string is declined there.
  in[2].vocabulary = {"u", "\xFF"};
  const RecordScanner odd(in);
  EXPECT_FALSE(odd.Scan(R"({"x": 1, "c": "u"})", row.data()));

  // Two inputs of one name: declined always.
  in[2].name = "x";
  in[2].type = InputType::kNumber;
  const RecordScanner twice(in);
  EXPECT_FALSE(twice.Scan(R"({"x": 1})", row.data()));
}

struct Rows {
  bool ok = false;
  std::vector<double> rows;
};

Rows ScanRows(const std::string& body, BodyShape shape, size_t max_rows = 100) {
  Rows r;
  r.rows.assign(3, 99.0);  // replaced, never appended to
  r.ok = Scanner().ScanRows(body, shape, max_rows, &r.rows);
  return r;
}

void ExpectRows(const Rows& r, const std::vector<std::vector<double>>& want) {
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.rows.size(), want.size() * Scanner().width());
  for (size_t row = 0; row < want.size(); ++row) {
    for (size_t i = 0; i < want[row].size(); ++i) {
      const double got = r.rows[row * Scanner().width() + i];
      if (std::isnan(want[row][i])) {
        EXPECT_TRUE(std::isnan(got)) << "row " << row << " slot " << i;
      } else {
        EXPECT_EQ(Bits(got), Bits(want[row][i])) << "row " << row << " slot " << i;
      }
    }
  }
}

TEST(RecordScanner, ArraysOfRecords) {
  ExpectRows(ScanRows(R"([{"a": 1, "n": 2}, {"n": 4, "colour": "red", "a": -0}])", BodyShape::kRecordArray),
             {{1, kNaN, kNaN, 2}, {-0.0, kNaN, 0, 4}});
  ExpectRows(ScanRows(" [ {\"a\":1,\"n\":2} ] \n", BodyShape::kRecordArray), {{1, kNaN, kNaN, 2}});
  const std::string two = R"([{"a": 1, "n": 2}, {"a": 3, "n": 4}])";
  EXPECT_TRUE(ScanRows(two, BodyShape::kRecordArray, 2).ok);
  EXPECT_FALSE(ScanRows(two, BodyShape::kRecordArray, 1).ok);  // over the row limit
  for (const char* body : {"[]", "[ ]", "{\"a\": 1, \"n\": 2}", "[{\"a\": 1, \"n\": 2},]", "[{\"a\": 1, \"n\": 2}",
                           "[{\"a\": 1, \"n\": 2}] x", "[{\"a\": 1, \"n\": 2}, 3]", "[{\"a\": 1, \"n\": 2}, {\"n\": 2}]",
                           "[[{\"a\": 1, \"n\": 2}]]", "[{\"a\": 1, \"n\": 2} {\"a\": 1, \"n\": 2}]", "[null]"}) {
    EXPECT_FALSE(ScanRows(body, BodyShape::kRecordArray).ok) << body;
  }
}

TEST(RecordScanner, InstancesEnvelope) {
  ExpectRows(ScanRows(R"({"signature_name": "serving_default", "instances": [{"a": 1, "n": 2}, {"a": 5, "n": 6}]})",
                      BodyShape::kInstances),
             {{1, kNaN, kNaN, 2}, {5, kNaN, kNaN, 6}});
  ExpectRows(ScanRows(R"( { "instances" : [{"a": 1, "n": 2}] , "signature_name":"" } )", BodyShape::kInstances),
             {{1, kNaN, kNaN, 2}});
  // What the V1 schema or the encoder refuses, or what needs JSON.parse, is declined.
  for (const char* body : {R"({"a": 1, "n": 2})", R"([{"a": 1, "n": 2}])", R"({"instances": []})", R"({})",
                           R"({"instances": [{"a": 1, "n": 2}], "other": 1})", R"({"instances": {"a": 1, "n": 2}})",
                           R"({"instances": [{"a": 1, "n": 2}], "instances": [{"a": 1, "n": 2}]})",
                           R"({"signature_name": 3, "instances": [{"a": 1, "n": 2}]})", R"({"signature_name": "x"})",
                           R"({"signature_name": "x\"y", "instances": [{"a": 1, "n": 2}]})",
                           R"({"instanc\u0065s": [{"a": 1, "n": 2}]})", R"({"instances": [{"a": 1, "n": 2}],})",
                           R"({"instances": [{"a": 1, "n": 2}]} 1)", R"({"instances": [{"a": 1, "n": 2}])"}) {
    EXPECT_FALSE(ScanRows(body, BodyShape::kInstances).ok) << body;
  }
  const std::string full = R"({"instances": [{"a": -1.25e-3, "b b": null, "colour": "blue", "n": 7}], "signature_name": "s"})";
  ASSERT_TRUE(ScanRows(full, BodyShape::kInstances).ok);
  for (size_t len = 0; len < full.size(); ++len) EXPECT_FALSE(ScanRows(full.substr(0, len), BodyShape::kInstances).ok) << len;
}

}  // namespace
