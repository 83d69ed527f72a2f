// kiln_bench: the engine alone, no Node. Times Model::Predict on the rows `kiln bench` prepared
// (one row per call, then batches), and prints one JSON object on stdout.
//
//   kiln_bench <model.json> <rows.f64> <n_features> [--time-ms N] [--repeats N] [--batches 1,100,10000]
//              [--threads N]
//
// rows.f64: row-major little-endian doubles, n_rows x n_features. Each figure is the median of
// --repeats timed runs of about --time-ms / repeats each, so a burst of noise from the other
// processes on a shared machine moves one run, not the figure.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kiln/model.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model_path;
  std::string rows_path;
  size_t n_features = 0;
  double time_ms = 2000;  // total measuring time per figure, split over the repeats
  int repeats = 5;        // odd, so the median is one run
  std::vector<size_t> batches = {1, 100, 10000};
  unsigned threads = 2;   // for the threaded large-batch figure
};

std::vector<size_t> ParseList(const char* text) {
  std::vector<size_t> out;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    unsigned long v = std::strtoul(p, &end, 10);
    if (end == p || v == 0) throw std::runtime_error(std::string("bad --batches list: ") + text);
    out.push_back(v);
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

Options ParseArgs(int argc, char** argv) {
  if (argc < 4) throw std::runtime_error("usage: kiln_bench <model.json> <rows.f64> <n_features> [--time-ms N] [--repeats N] [--batches 1,100,10000] [--threads N]");
  Options o;
  o.model_path = argv[1];
  o.rows_path = argv[2];
  o.n_features = std::strtoul(argv[3], nullptr, 10);
  for (int i = 4; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--time-ms")) o.time_ms = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) o.repeats = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--batches")) o.batches = ParseList(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) o.threads = std::max(1, std::atoi(argv[i + 1]));
    else throw std::runtime_error(std::string("unknown option ") + argv[i]);
  }
  return o;
}

std::vector<double> ReadRows(const std::string& path, size_t n_features) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read " + path);
  const auto bytes = static_cast<size_t>(in.tellg());
  if (n_features == 0 || bytes % (sizeof(double) * n_features) != 0) throw std::runtime_error(path + ": not whole rows");
  std::vector<double> rows(bytes / sizeof(double));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(rows.data()), static_cast<std::streamsize>(bytes));
  return rows;
}

// Median over repeats of (elapsed ns / rows predicted); each repeat calls `step` (which predicts
// `rows_per_step` rows) until its share of the time is used.
template <typename Step>
double MedianNsPerRow(const Options& o, size_t rows_per_step, Step step) {
  for (int i = 0; i < 3; i++) step();  // warm caches and branch predictors
  const auto slice = std::chrono::duration<double, std::milli>(o.time_ms / o.repeats);
  std::vector<double> runs;
  for (int r = 0; r < o.repeats; r++) {
    size_t steps = 0;
    const auto start = Clock::now();
    auto now = start;
    do {
      for (int k = 0; k < 8; k++) step();  // amortise the clock read
      steps += 8;
      now = Clock::now();
    } while (now - start < slice);
    runs.push_back(std::chrono::duration<double, std::nano>(now - start).count() / double(steps * rows_per_step));
  }
  std::nth_element(runs.begin(), runs.begin() + runs.size() / 2, runs.end());
  return runs[runs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = ParseArgs(argc, argv);
    const auto model = kiln::Model::LoadFile(o.model_path);
    if (model->inputs().size() != o.n_features) throw std::runtime_error("model inputs differ from the rows' width");
    const std::vector<double> rows = ReadRows(o.rows_path, o.n_features);
    const size_t n_rows = rows.size() / o.n_features;
    const size_t width = model->output_width();
    auto ws = model->NewWorkspace();

    // One row per call, walking through the rows so the branch predictor cannot learn one path.
    std::vector<double> out(width * std::max<size_t>(n_rows, 1));
    size_t next = 0;
    const double one_row = MedianNsPerRow(o, 1, [&] {
      model->Predict(rows.data() + next * o.n_features, 1, out.data(), *ws);
      next = next + 1 == n_rows ? 0 : next + 1;
    });

    std::string batches_json;
    for (size_t batch : o.batches) {
      const size_t b = std::min(batch, n_rows);
      size_t start = 0;
      const double ns = MedianNsPerRow(o, b, [&] {
        model->Predict(rows.data() + start * o.n_features, b, out.data(), *ws);
        start = start + 2 * b > n_rows ? 0 : start + b;
      });
      batches_json += (batches_json.empty() ? "" : ",") + std::string("\"") + std::to_string(batch) + "\":" + std::to_string(ns);
    }

    // The largest batch split over threads, one workspace each: does the engine scale?
    std::vector<std::unique_ptr<kiln::Workspace>> spaces;
    for (unsigned t = 0; t < o.threads; t++) spaces.push_back(model->NewWorkspace());
    const size_t per = n_rows / o.threads;
    const double threaded = MedianNsPerRow(o, per * o.threads, [&] {
      std::vector<std::thread> pool;
      for (unsigned t = 0; t < o.threads; t++) {
        pool.emplace_back([&, t] { model->Predict(rows.data() + t * per * o.n_features, per, out.data() + t * per * width, *spaces[t]); });
      }
      for (auto& th : pool) th.join();
    });

    std::printf("{\"model\":\"%s\",\"rows\":%zu,\"features\":%zu,\"oneRowNs\":%.3f,\"batchNsPerRow\":{%s},\"threads\":%u,\"threadedNsPerRow\":%.3f,\"threadedRows\":%zu}\n",
                model->name().c_str(), n_rows, o.n_features, one_row, batches_json.c_str(), o.threads, threaded, per * o.threads);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_bench: %s\n", e.what());
    return 1;
  }
}
