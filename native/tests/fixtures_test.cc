// Loads (and verifies) every Kiln model file found in the repository's fixtures and models/
// directories: hand-written fixtures today, exporter output from real sklearn when present.
// A file whose name contains "broken" must be refused. KILN_TEST_MODEL_DIRS (':'-separated)
// adds directories, e.g. the output of models/build.py written elsewhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kiln/model.h"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> ModelFiles() {
  std::vector<fs::path> files;
  const fs::path root = KILN_SOURCE_DIR;
  std::vector<fs::path> dirs = {root / "models", root / "test/fixtures", root / "native/tests/fixtures"};
  if (const char* extra = std::getenv("KILN_TEST_MODEL_DIRS")) {
    std::stringstream ss(extra);
    for (std::string d; std::getline(ss, d, ':');) {
      if (!d.empty()) dirs.emplace_back(d);
    }
  }
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (fs::recursive_directory_iterator it(dir, ec), end; it != end; it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file() || it->path().extension() != ".json") continue;
      if (it->file_size() > (64u << 20)) continue;
      std::ifstream f(it->path());
      std::string head(4096, '\0');
      f.read(head.data(), static_cast<std::streamsize>(head.size()));
      if (head.find("\"kiln.model\"") != std::string::npos) files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Fixtures, EveryModelFileLoadsAndVerifies) {
  const auto files = ModelFiles();
  if (files.empty()) GTEST_SKIP() << "no model files in the tree";
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.string());
    const bool broken = p.filename().string().find("broken") != std::string::npos;
    try {
      auto m = kiln::Model::LoadFile(p.string());
      EXPECT_FALSE(broken) << "a broken fixture loaded";
      EXPECT_GT(m->verification().rows_checked, 0u);
      // Each verification is exact to its tolerance; print the worst error for the record.
      std::cout << "[ loaded   ] " << p.string() << ": "
                << m->verification().rows_checked << " rows, max |error| " << m->verification().max_abs_error
                << "\n";
    } catch (const kiln::Error& e) {
      EXPECT_TRUE(broken) << e.code_name() << ": " << e.what();
      if (broken) std::cout << "[ refused  ] " << p.filename().string() << ": " << e.code_name() << "\n";
    }
  }
}

}  // namespace
