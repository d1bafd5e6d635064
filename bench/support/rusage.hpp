// bench/support/rusage.hpp: process-wide scheduler counters, to flag disturbed benchmark runs
// (not API; benchmarks only).
//
// On a shared machine a pinned, spinning thread that gets preempted ruins a two-thread run. The
// benchmarks report the involuntary context switches of the whole process during the run as a
// counter (ctx_invol), so a slow repetition can be told apart from a slow implementation.
// Thread safety: thread-safe (getrusage(RUSAGE_SELF)).
#pragma once

#include <cstdint>

#include <sys/resource.h>

namespace ringkit::bench {

/// Involuntary context switches of all threads of this process so far.
[[nodiscard]] inline std::int64_t involuntary_switches() noexcept {
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return ru.ru_nivcsw;
}

}  // namespace ringkit::bench
