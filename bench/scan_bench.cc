// Micro-benchmark: ScanBuffer throughput over pseudo-random bytes for body
// signature sets of growing size (plain hex literals that never match), so the
// number measures the prefilter pass alone. Run:
//   build/bin/vigil_scan_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "vigil/engine.h"

namespace {

std::string MakeNdb(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string text;
  char hex[3];
  for (int i = 0; i < n; ++i) {
    text += "Bench.Sig-" + std::to_string(i) + ":0:*:";
    int len = 8 + static_cast<int>(rng() % 25);
    for (int j = 0; j < len; ++j) {
      std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned>(rng() & 0xff));
      text += hex;
    }
    text += '\n';
  }
  return text;
}

std::string MakeData(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string data(size, '\0');
  // Mostly low-entropy text-like bytes, as in real files, so short literal
  // prefixes do occur.
  for (auto& c : data) c = static_cast<char>("etaoinshrdlu \n\0\x01\xff"[rng() % 16]);
  return data;
}

void BM_ScanBuffer(benchmark::State& state) {
  const int sigs = static_cast<int>(state.range(0));
  auto engine = vigil::LoadEngineFromText("bench.ndb", MakeNdb(sigs, 42));
  if (!engine.ok()) {
    state.SkipWithError(engine.status().message().c_str());
    return;
  }
  vigil::Scanner scanner(*engine);
  const std::string data = MakeData(4 << 20, 7);
  vigil::ScanOptions opts;
  for (auto _ : state) benchmark::DoNotOptimize(scanner.ScanBuffer(data, opts));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_ScanBuffer)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
