// The one main() of every benchmark binary: each bench/*_bench.cpp defines
// ringkit::bench::register_all() (its run-time registrations: peers found at run time, argument
// grids) and links this file. SIGPIPE is ignored so that a failed pump surfaces as EPIPE
// instead of killing the run.
#include <csignal>

#include <benchmark/benchmark.h>

namespace ringkit::bench {
void register_all();
}  // namespace ringkit::bench

int main(int argc, char** argv) {
  (void)std::signal(SIGPIPE, SIG_IGN);
  ringkit::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
