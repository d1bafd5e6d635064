// bench/support/backoff.hpp: back-off for the benchmarks' busy loops (not API; benchmarks only).
//
// A thread whose try_push/try_pop failed calls pause(): the first kSpinLimit consecutive
// failures cost one PAUSE each (cpu_relax), every later one also yields the CPU
// (std::this_thread::yield), so a thread that shares its core with the thread it waits for (3
// threads on 2 cores in the MPSC runs, or a partner preempted by other work on a shared
// machine) lets that thread run instead of burning its time slice. reset() after a success.
// Thread safety: one object per thread.
#pragma once

#include <cstdint>
#include <thread>

#include "support/affinity.hpp"

namespace ringkit::bench {

class Backoff {
 public:
  /// Consecutive failures that only spin before each further failure also yields.
  static constexpr std::uint32_t kSpinLimit = 1024;

  /// Waits a little before the caller retries.
  void pause() noexcept {
    if (spins_ < kSpinLimit) {
      ++spins_;
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  /// Starts over after a success.
  void reset() noexcept { spins_ = 0; }

 private:
  std::uint32_t spins_ = 0;
};

}  // namespace ringkit::bench
