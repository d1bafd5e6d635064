// ringkit/net/echo.hpp: an echo server over ringkit rings (an upstream for tests, benchmarks and
// the proxy demo).
//
// It is the proxy's relay engine with source == destination: each connection has one direction
// and one ring (attached while there are bytes to echo, returned to the worker's free list when
// drained); a full ring stops reading (backpressure); EOF from the client is answered with
// shutdown(SHUT_WR) once everything was echoed. Same backends, same timeouts and the same
// end-of-connection accounting as ringkit/net/proxy.hpp.
//
//   auto echo = *ringkit::net::EchoServer::start({.port = 0, .backend = ProxyBackend::uring});
//   ... echo->port() ...;  echo->stop();
//
// Thread safety: thread-safe. start/stop/port/stats may be called from any thread; stop() may
// be called concurrently and repeatedly. Do not call stop() from the `log` callback.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <ringkit/net/proxy.hpp>
#include <ringkit/result.hpp>

namespace ringkit::net {

struct EchoOptions {
  /// An IPv4 or IPv6 address or a host name (ringkit/net/tcp.hpp), resolved once at start.
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  ProxyBackend backend = ProxyBackend::uring;
  unsigned threads = 1;
  std::size_t ring_size = std::size_t{64} * 1024;  ///< a power of two, >= 4096
  /// Open connections, all workers; capped at start to what RLIMIT_NOFILE can serve (one
  /// descriptor each; see EchoServer::max_conns()), with a log line.
  std::size_t max_conns = 100000;
  std::chrono::milliseconds idle_timeout{0};  ///< 0: never
  /// io_uring backend: most operations in flight per worker; 0 sizes it from max_conns. A test
  /// and tuning knob, as ProxyOptions::max_ops (at least 4; past it connections are closed and
  /// counted in `submit_failures`).
  std::size_t max_ops = 0;
  /// One line per event worth logging; runs on a worker thread, must not call stop().
  std::function<void(std::string_view)> log{};
};

/// A snapshot of the echo server's counters. accepted == active + completed + rejected +
/// idle_timeouts + resets + errors + submit_failures + aborted.
struct EchoStats {
  std::uint64_t accepted = 0;
  std::uint64_t active = 0;
  std::uint64_t completed = 0;  ///< the client shut down and got every byte back
  std::uint64_t rejected = 0;   ///< closed at once: max_conns reached
  std::uint64_t idle_timeouts = 0;
  std::uint64_t resets = 0;
  std::uint64_t errors = 0;
  std::uint64_t submit_failures = 0;
  std::uint64_t aborted = 0;  ///< still open at stop()
  std::uint64_t bytes = 0;    ///< bytes echoed
  /// Rings held by connections now (a gauge); a connection quiet for a tick (100 ms) holds none.
  std::uint64_t rings_attached = 0;
  std::uint64_t accept_errors = 0;  ///< accepts that failed (see ProxyStats::accept_errors)
};

class EchoServer {
 public:
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  EchoServer(EchoServer&&) = delete;
  EchoServer& operator=(EchoServer&&) = delete;
  ~EchoServer();

  /// Binds (SO_REUSEPORT, one listener per thread) and starts the workers. Errors as
  /// Proxy::start() (context names the EchoOptions member).
  [[nodiscard]] static Result<std::unique_ptr<EchoServer>> start(const EchoOptions& options);
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The connection limit in effect (EchoOptions::max_conns or what the descriptor limit
  /// allows, as Proxy::max_conns()).
  [[nodiscard]] std::size_t max_conns() const noexcept;
  [[nodiscard]] EchoStats stats() const noexcept;
  /// Stops accepting, closes every connection (counted in `aborted`), joins. Idempotent and
  /// thread-safe.
  void stop();

 private:
  struct Impl;
  EchoServer() = default;
  std::uint16_t port_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkit::net
