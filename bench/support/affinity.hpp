// bench/support/affinity.hpp: pinning benchmark threads to CPUs (not API; benchmarks only).
//
// pin_current_thread(cpu) binds the calling thread to one CPU with pthread_setaffinity_np, as
// rigtorp's pinThread does; ScopedPin does the same and restores the previous mask when it goes
// out of scope, so a benchmark that pins the runner thread leaves the next benchmark unpinned.
// A failed pin (CPU absent, restricted cpuset) is reported, never fatal: the benchmark runs
// unpinned and says so in its label. Thread safety: each call affects only the calling thread.
#pragma once

#include <pthread.h>
#include <sched.h>

namespace ringkit::bench {

/// The CPUs the two-thread benchmarks use (the reference machine has exactly two).
inline constexpr int kProducerCpu = 0;
inline constexpr int kConsumerCpu = 1;

/// Binds the calling thread to `cpu`; returns false (and leaves the mask alone) on failure.
inline bool pin_current_thread(int cpu) noexcept {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set) == 0;
}

/// Pins the calling thread to `cpu` for the lifetime of the object, then restores its old mask.
class ScopedPin {
 public:
  explicit ScopedPin(int cpu) noexcept {
    saved_ok_ = ::pthread_getaffinity_np(::pthread_self(), sizeof(saved_), &saved_) == 0;
    pinned_ = pin_current_thread(cpu);
  }
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;
  ~ScopedPin() {
    if (pinned_ && saved_ok_) ::pthread_setaffinity_np(::pthread_self(), sizeof(saved_), &saved_);
  }
  /// True when the thread is bound to the requested CPU.
  [[nodiscard]] bool pinned() const noexcept { return pinned_; }

 private:
  cpu_set_t saved_{};
  bool saved_ok_ = false;
  bool pinned_ = false;
};

/// A spin-wait hint for busy loops (PAUSE on x86, YIELD on aarch64).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace ringkit::bench
