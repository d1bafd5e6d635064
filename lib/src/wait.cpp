// Futex waits and the membarrier-based heavy barrier used by the blocking channel calls.
#include <cerrno>
#include <climits>
#include <ctime>

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ringkit/detail/wait.hpp>

namespace ringkit::detail {
namespace {

long sys_membarrier(int cmd) noexcept { return ::syscall(__NR_membarrier, cmd, 0U, 0); }

/// 0: expedited private (registered), 1: global (slow but works), 2: unavailable.
int membarrier_kind() noexcept {
  static const int kKind = [] {
    const long mask = sys_membarrier(MEMBARRIER_CMD_QUERY);
    if (mask < 0) return 2;
    if ((mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
        sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0) {
      return 0;
    }
    if ((mask & MEMBARRIER_CMD_GLOBAL) != 0) return 1;
    return 2;
  }();
  return kKind;
}

}  // namespace

bool heavy_barrier() noexcept {
  switch (membarrier_kind()) {
    case 0:
      return sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
    case 1:
      return sys_membarrier(MEMBARRIER_CMD_GLOBAL) == 0;
    default:
      return false;
  }
}

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::int64_t timeout_ns) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    tsp = &ts;
  }
  // EAGAIN (value changed), EINTR and ETIMEDOUT all mean "re-check"; nothing to report.
  (void)::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
                  tsp, nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  (void)::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count,
                  nullptr, nullptr, 0);
}

void SpinPhase::yield() noexcept { ::sched_yield(); }

}  // namespace ringkit::detail
