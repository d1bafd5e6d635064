// ringkit/detail/wait.hpp: internal, not for direct inclusion. Sleeping and waking for the
// blocking channel calls: a futex on a 32-bit atomic with a timeout, and the asymmetric
// (membarrier) barrier that lets the hot path announce work with plain release stores.
//
// Protocol (asymmetric Dekker, as folly's asymmetric barriers and userspace RCU):
//   fast side (publisher):  store X (release); compiler_barrier(); if (load S relaxed) wake(S)
//   slow side (sleeper):    store S = 1;       heavy_barrier();    if (X unchanged) futex_wait(S)
// heavy_barrier() makes every running thread of the process execute a full memory barrier
// (membarrier PRIVATE_EXPEDITED), so at least one side sees the other's store: no lost wakeup,
// and the publisher pays no fence. Without membarrier, heavy_barrier() returns false and
// sleepers use short timed waits instead (bounded latency, still ~0% CPU when idle).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ringkit::detail {

/// Full barrier on every running thread of the process; false when membarrier is unavailable.
[[nodiscard]] bool heavy_barrier() noexcept;

/// Keeps the compiler from reordering the publisher's store after its load (no CPU fence).
inline void compiler_barrier() noexcept { std::atomic_signal_fence(std::memory_order_seq_cst); }

/// Sleeps while `word == expected`, at most `timeout` (nanoseconds; < 0 means no limit).
/// Spurious returns are allowed: callers re-check their condition.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::int64_t timeout_ns) noexcept;

/// Wakes up to `count` sleepers of `word` (INT32_MAX: all).
void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

/// Spin-then-sleep helper for a bounded busy phase: pause instructions, then yields.
class SpinPhase {
 public:
  /// Returns false once the busy phase is over (the caller should sleep).
  bool spin() noexcept {
    if (n_ < kPauses) {
      ++n_;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      return true;
    }
    if (n_ < kPauses + kYields) {
      ++n_;
      yield();
      return true;
    }
    return false;
  }
  void reset() noexcept { n_ = 0; }

 private:
  static void yield() noexcept;
  static constexpr unsigned kPauses = 128;
  static constexpr unsigned kYields = 1;
  unsigned n_ = 0;
};

/// One wait condition ("data ready", "space ready", "my turn to commit"): waiters sleep on a
/// generation word; publishers call notify() after their release store.
struct WaitSlot {
  std::atomic<std::uint32_t> sleepers{0};  // waiters past their spin phase
  std::atomic<std::uint32_t> gen{0};       // bumped on every wake (the futex word)

  /// Publisher side, right after the release store that may satisfy a waiter: a compiler barrier
  /// and one relaxed load on the fast path.
  void notify() noexcept {
    compiler_barrier();
    // (N1) relaxed: paired through heavy_barrier() with the waiter's increment (W1).
    if (sleepers.load(std::memory_order_relaxed) != 0) [[unlikely]]
      wake_all();
  }
  /// Wakes every sleeper unconditionally (closing a channel).
  void wake_all() noexcept {
    gen.fetch_add(1, std::memory_order_relaxed);  // (N2) futex word; no data travels with it
    futex_wake(gen, 0x7fffffff);
  }

  /// Waits until ready() or the deadline: spins briefly, then sleeps. Returns ready()'s last value.
  template <class Ready>
  bool wait(Ready&& ready, std::chrono::steady_clock::time_point deadline) noexcept {
    SpinPhase spin;
    while (spin.spin()) {
      if (ready()) return true;
    }
    // (W1) announce the sleeper before re-checking; heavy_barrier() orders it against (N1).
    sleepers.fetch_add(1, std::memory_order_relaxed);
    bool ok = false;
    for (;;) {
      const std::uint32_t g = gen.load(std::memory_order_relaxed);  // (W2) futex compare value
      const bool fenced = heavy_barrier();
      if (ready()) {
        ok = true;
        break;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      std::int64_t ns =
          deadline == std::chrono::steady_clock::time_point::max()
              ? -1
              : std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
      // Without membarrier a wakeup can be missed: poll every millisecond instead.
      if (!fenced && (ns < 0 || ns > 1'000'000)) ns = 1'000'000;
      futex_wait(gen, g, ns);
    }
    sleepers.fetch_sub(1, std::memory_order_relaxed);
    return ok;
  }
};

}  // namespace ringkit::detail
