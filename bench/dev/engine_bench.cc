// Engine-only timing and callgrind driver (no Node): predicts a CSV of rows (bench/dev/rows.mjs)
// through one model, batch after batch, and prints the median ns per row of process CPU time
// (CLOCK_PROCESS_CPUTIME_ID: on a shared machine wall time mostly measures the other tenants).
//   engine_bench MODEL.json ROWS.csv [batch=10000] [repeats=21]
// KILN_BENCH_OUT=FILE writes the last pass's outputs (raw float64, row-major) there, to compare two
// builds' answers bit for bit (sha256sum FILE).
// Under callgrind use repeats=1: the instruction count of one pass is what to compare.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/model.h"

static double CpuNs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: engine_bench MODEL.json ROWS.csv [batch] [repeats]\n");
    return 2;
  }
  auto model = kiln::Model::LoadFile(argv[1]);
  std::vector<double> rows;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);) {
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) rows.push_back(std::strtod(cell.c_str(), nullptr));
  }
  const size_t width = model->inputs().size();
  const size_t n = rows.size() / width;
  const size_t batch = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : n;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 21;
  std::vector<double> out(n * model->output_width());
  auto ws = model->NewWorkspace();
  std::vector<double> ns;
  double check = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    const double t0 = CpuNs();
    for (size_t r = 0; r < n; r += batch) {
      const size_t m = std::min(batch, n - r);
      model->Predict(rows.data() + r * width, m, out.data() + r * model->output_width(), *ws);
    }
    ns.push_back((CpuNs() - t0) / static_cast<double>(n));
    check += out[out.size() - 1];
  }
  if (const char* path = std::getenv("KILN_BENCH_OUT")) {
    std::ofstream dump(path, std::ios::binary);
    dump.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(double)));
  }
  std::sort(ns.begin(), ns.end());
  std::printf("%s rows=%zu batch=%zu median %.1f ns/row (min %.1f) [check %.17g]\n", model->name().c_str(), n, batch,
              ns[ns.size() / 2], ns[0], check);
  return 0;
}
