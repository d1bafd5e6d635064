// Fitting a server's connection limit to RLIMIT_NOFILE (see fd_budget.hpp).
#include "fd_budget.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

#include <sys/resource.h>

namespace ringkit::net::detail {

namespace {

/// How many connections of `fds_per_conn` descriptors each fit under `limit` descriptors with
/// `open_now` open and `reserve` kept for everything else. Never below 1.
std::size_t fd_budget_conns(std::uint64_t limit, std::uint64_t open_now, std::uint64_t reserve,
                            std::size_t fds_per_conn) noexcept {
  const std::uint64_t used = open_now + reserve;
  const std::uint64_t n =
      limit > used ? (limit - used) / std::max<std::size_t>(fds_per_conn, 1) : 0;
  return static_cast<std::size_t>(std::max<std::uint64_t>(n, 1));
}

/// Descriptors open in this process now (the entries of /proc/self/fd), or 0 if unreadable.
std::uint64_t open_descriptors() noexcept {
  std::error_code ec;
  std::uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return ec ? 0 : n;
}

}  // namespace

FdFit fit_descriptor_limit(std::size_t max_conns, std::size_t fds_per_conn, unsigned threads,
                           int backlog, const std::function<void(std::string_view)>& log) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
    return {.max_conns = max_conns, .multishot_accept_below = SIZE_MAX};
  }
  // Each worker needs a few descriptors of its own (listener, io_uring or epoll, eventfd,
  // timers), and the rest of the process some more.
  const std::uint64_t reserve = 64 + std::uint64_t{8} * threads;
  const std::size_t fit = fd_budget_conns(rl.rlim_cur, open_descriptors(), reserve, fds_per_conn);
  // A multishot accept can take a full backlog (backlog + 1 connections) in one go, and each
  // then takes its other descriptors; connections arriving while the kernel's accept loop runs
  // are taken in the same go. Below this many open connections twice the backlog still fits
  // (measured: wrk -c9000 reconnecting at once outran a margin of one backlog; what outruns
  // twice is rejected, see End::rejected).
  const auto burst = 2 * (static_cast<std::size_t>(std::max(backlog, 0)) + 1);
  const FdFit out{.max_conns = std::min(max_conns, fit),
                  .multishot_accept_below = fit > burst ? fit - burst : 0};
  if (max_conns > fit && log) {
    log("max_conns " + std::to_string(max_conns) + " needs " +
        std::to_string(max_conns * fds_per_conn) +
        " descriptors but the descriptor limit (RLIMIT_NOFILE) is " + std::to_string(rl.rlim_cur) +
        ": serving at most " + std::to_string(fit) +
        " connections at a time; more are closed at accept and counted as rejected");
  }
  return out;
}

}  // namespace ringkit::net::detail
