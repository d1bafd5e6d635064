// Private to net/src: fitting a server's connection limit to the process's descriptor limit.
//
// Every server (the relay under Proxy and EchoServer, FeedServer) holds a fixed number of
// descriptors per connection. Past RLIMIT_NOFILE an accept fails with EMFILE and leaves the
// client waiting in the backlog (or an upstream socket fails and the connection is lost as an
// error), so each server lowers its max_conns at start to what the limit holds, says so once,
// and rejects the excess at accept. A multishot io_uring accept takes a whole backlog (a
// descriptor each) before any handler runs, so near the limit a server accepts one at a time,
// with a bounded synchronous burst after each (kAcceptBurst, accept_room()).
// Thread-safety: plain functions, called at start on the caller's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace ringkit::net::detail {

struct FdFit {
  std::size_t max_conns;  ///< the limit to serve: the one asked for, or what fits
  /// Open connections from which a multishot accept's burst (two backlogs of connections, each
  /// of `fds_per_conn` descriptors once handled) would no longer fit: accept one at a time above.
  std::size_t multishot_accept_below;
};

/// Connections a server takes per accept completion at most (the first plus synchronous
/// accepts; as haproxy's maxaccept): one per completion would wait behind every other
/// completion of the event loop each time.
inline constexpr int kAcceptBurst = 64;

/// Connections that may still be accepted with `open` open before `max_conns` rejects them.
[[nodiscard]] constexpr std::size_t accept_room(std::size_t open, std::size_t max_conns) noexcept {
  return open < max_conns ? max_conns - open : 0;
}

/// Fits `max_conns` to the soft RLIMIT_NOFILE now (less the descriptors open and a reserve of
/// 64 + 8 per worker), logging one line through `log` (if set) when it lowers it.
[[nodiscard]] FdFit fit_descriptor_limit(std::size_t max_conns, std::size_t fds_per_conn,
                                         unsigned threads, int backlog,
                                         const std::function<void(std::string_view)>& log);

}  // namespace ringkit::net::detail
