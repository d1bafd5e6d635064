// bench/support/report.hpp: the counters every benchmark reports (not API; benchmarks only).
//
// report() sets items/s and bytes/s, the involuntary context switches of the process during the
// run (ctx_invol, see support/rusage.hpp) and the label "unpinned" when pinning failed, the way
// byte_ring_bench.cpp does. Thread safety: call from the benchmark thread after the timed loop.
#pragma once

#include <cstdint>

#include <benchmark/benchmark.h>

#include "support/rusage.hpp"

namespace ringkit::bench {

/// Reports `items` items and `bytes` bytes for the whole run (0 bytes: no bytes/s), the
/// involuntary context switches since `switches_before`, and "unpinned" unless `pinned`.
inline void report_run(benchmark::State& state, std::int64_t items, std::int64_t bytes,
                       std::int64_t switches_before, bool pinned) {
  state.SetItemsProcessed(items);
  if (bytes != 0) state.SetBytesProcessed(bytes);
  state.counters["ctx_invol"] =
      benchmark::Counter(static_cast<double>(involuntary_switches() - switches_before));
  if (!pinned) state.SetLabel("unpinned");
}

}  // namespace ringkit::bench
