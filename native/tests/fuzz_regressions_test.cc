// Replays every input the libFuzzer harnesses (native/fuzz, scripts/fuzz.sh) ever crashed on:
// each file in native/tests/fuzz_regressions/ is a complete model text that must load or throw
// kiln::Error (never another exception, a crash, or — under KILN_SANITIZE — a sanitizer report);
// when it loads, predicting a row must succeed or throw kiln::Error. Plus one named test per
// finding asserting the exact error now reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/model.h"
#include "test_util.h"

namespace kiln_test {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(KILN_SOURCE_DIR) / "native" / "tests" / "fuzz_regressions";

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<fs::path> Files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kDir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FuzzRegressions, EveryInputLoadsOrThrowsKilnError) {
  const auto files = Files();
  ASSERT_FALSE(files.empty()) << kDir;
  for (const auto& p : files) {
    SCOPED_TRACE(p.filename().string());
    LoadsOrFailsCleanly(ReadAll(p));
  }
}

kiln::Error LoadError(const std::string& file) {
  try {
    kiln::Model::LoadString(ReadAll(kDir / file));
  } catch (const kiln::Error& e) {
    return e;
  }
  ADD_FAILURE() << file << " loaded";
  return kiln::Error(kiln::ErrorCode::kModelIo, "");
}

// Finding 1 (both harnesses): text nlohmann refuses is rescanned to name a NaN/Infinity/1e999
// token's JSON path; a key there with invalid UTF-8 made KeyPath's dump() throw
// nlohmann::type_error out of the catch handler — std::terminate in a server worker.
TEST(FuzzRegressions, InvalidUtf8KeyBeforeNonFiniteNumber) {
  const kiln::Error e = LoadError("verification-invalid-utf8-key-nonfinite.json");
  EXPECT_EQ(e.code(), kiln::ErrorCode::kModelInvalid) << e.what();
  EXPECT_NE(std::string(e.what()).find("verification.tolerance[\"abs"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("-Infinity"), std::string::npos) << e.what();
  const kiln::Error e2 = LoadError("model-load-invalid-utf8-key-overflow.json");
  EXPECT_EQ(e2.code(), kiln::ErrorCode::kModelParse) << e2.what();
  // Direct form: an invalid-UTF-8 key on the path to a NaN literal.
  const std::string text = std::string("{\"format\": \"kiln.model\", \"x\xff\": [NaN]}");
  try {
    kiln::Model::LoadString(text);
    ADD_FAILURE() << "loaded";
  } catch (const kiln::Error& err) {
    EXPECT_EQ(err.code(), kiln::ErrorCode::kModelInvalid) << err.what();
  }
}

// Finding 2 (review while fuzzing; libFuzzer's 64 KiB inputs stayed under the stack): nesting was
// unbounded, and re-serialising metadata (nlohmann's recursive dump) overflowed the stack on a
// ~200 KB file of "[[[[...". Now: the document may nest kMaxJsonDepth = 256 levels (root = 1).
std::string WithDeepMetadata(size_t arrays) {
  std::string text = ModelJson(Spec{});
  const std::string from = R"("metadata": {"created": "x"})";
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos);
  text.replace(at, from.size(), "\"metadata\": {\"deep\": " + std::string(arrays, '[') + std::string(arrays, ']') + "}");
  return text;
}

TEST(FuzzRegressions, JsonNestingIsLimited) {
  kiln::LoadOptions o;
  o.verify = false;
  // root object (1) + metadata object (2) + 254 arrays = 256 levels: at the limit, loads.
  EXPECT_NO_THROW(kiln::Model::LoadString(WithDeepMetadata(254), o));
  for (size_t arrays : {size_t{255}, size_t{100000}, size_t{1000000}}) {
    SCOPED_TRACE(arrays);
    try {
      kiln::Model::LoadString(WithDeepMetadata(arrays), o);
      ADD_FAILURE() << "loaded";
    } catch (const kiln::Error& e) {
      EXPECT_EQ(e.code(), kiln::ErrorCode::kModelLimit) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("metadata.deep[0]", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find("JSON nested deeper than the limit of 256 levels"), std::string::npos);
    }
  }
}

// Finding 3 (timing the limit tests under ASan): nlohmann's callback parser rescans the parent
// container after every object it closes, so n objects in one array cost O(n^2): 200,000 "{}"
// (600 KB) took 12 s of CPU, 500,000 about 75 s. Now a SAX handler over the plain DOM builder.
TEST(FuzzRegressions, ManyObjectsInOneArrayParseInLinearTime) {
  std::string text = ModelJson(Spec{});
  const std::string from = R"("metadata": {"created": "x"})";
  std::string objs;
  objs.reserve(3 * 500000);
  for (int i = 0; i < 500000; ++i) objs += i ? ",{}" : "{}";
  text.replace(text.find(from), from.size(), "\"metadata\": {\"many\": [" + objs + "]}");
  kiln::LoadOptions o;
  o.verify = false;
  const auto t0 = std::chrono::steady_clock::now();
  auto m = kiln::Model::LoadString(text, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(m->metadata_json().size(), std::string("{\"many\":[]}").size() + 3 * 500000 - 1);
  EXPECT_LT(secs, 15.0);  // ~0.1 s in a release build, a few s under ASan; was ~75 s
}

TEST(FuzzRegressions, DuplicateKeysStillRefusedWithPath) {
  std::string text = ModelJson(Spec{});
  const std::string from = R"("metadata": {"created": "x"})";
  text.replace(text.find(from), from.size(), R"("metadata": {"a": [1, {"k": 1, "k": 2}]})");
  try {
    kiln::Model::LoadString(text);
    ADD_FAILURE() << "loaded";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.code(), kiln::ErrorCode::kModelSchema);
    EXPECT_EQ(std::string(e.what()).rfind("metadata.a[1].k: duplicate key", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace kiln_test
