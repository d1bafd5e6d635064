// ringkit/net/proxy.hpp: a TCP proxy (client <-> upstream) over ringkit byte rings.
//
// One relay engine serves both directions of every connection, on either backend (io_uring or
// Asio: same state machine, same counters, same timeouts). Per direction a ring of `ring_size`
// bytes is attached only while there are bytes to move and goes back to the worker's free list
// once drained, so an idle connection holds no ring, and no ring is mapped or unmapped on the
// connection path once the pool is warm. A direction whose ring is full is not read
// (backpressure). Half-close is propagated: when the client shuts down its write side, the
// upstream gets shutdown(SHUT_WR) once the ring has drained, and the reverse. Any error closes
// both sides. Connections beyond max_conns are accepted and closed at once (`rejected`).
// Every connection ends in exactly one counter of ProxyStats (completed, rejected,
// upstream_refused, connect_timeouts, idle_timeouts, resets, errors, submit_failures, aborted);
// an operation that cannot be submitted closes its connection (`submit_failures`) and logs a
// line, it never stalls it.
//
// Threads: `threads` workers, each with its own SO_REUSEPORT listener and event loop.
//
//   auto proxy = *ringkit::net::Proxy::start({.listen_port = 0, .upstream_port = 7000});
//   std::printf("listening on %u\n", proxy->port());
//   ...
//   proxy->stop(std::chrono::seconds(5));   // stop accepting, drain, join
//
// Thread safety: thread-safe. start/stop/port/stats may be called from any thread; stop() may
// be called concurrently and repeatedly (later calls wait for the first). Do not call stop()
// from the `log` callback (it runs on a worker, which stop() joins).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <ringkit/result.hpp>

namespace ringkit::net {

enum class ProxyBackend : std::uint8_t { uring, asio };

/// Returns "uring" / "asio".
[[nodiscard]] const char* to_string(ProxyBackend b) noexcept;

struct ProxyOptions {
  /// IPv4 or IPv6 address or host name (ringkit/net/tcp.hpp), resolved once at start.
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  ///< 0: an ephemeral port (see Proxy::port())
  /// As listen_host; resolved once at start, and every connection goes to that address.
  std::string upstream_host = "127.0.0.1";
  std::uint16_t upstream_port = 0;
  ProxyBackend backend = ProxyBackend::uring;
  unsigned threads = 1;
  std::size_t ring_size = std::size_t{256} * 1024;  ///< per direction; a power of two, >= 4096
  bool mirrored = true;  ///< mirrored rings (fall back to two segments if refused)
  /// Open connections, all workers together. Capped at start to what the descriptor limit
  /// (RLIMIT_NOFILE) can serve at two descriptors a connection, with a log line; see
  /// Proxy::max_conns(). Connections past it are closed at accept and counted in `rejected`.
  std::size_t max_conns = 10000;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};  ///< 0: never
  /// io_uring backend: most operations in flight per worker (its op slab's limit; the Asio
  /// backend has no slab and ignores it). 0, the default, sizes it from max_conns so that every
  /// connection can always arm its reads and writes. A test and tuning knob: with a smaller
  /// value (at least 4: the worker's accept and tick take two), a connection whose operation
  /// finds no slot is closed and counted in `submit_failures`, with a log line.
  std::size_t max_ops = 0;
  /// One line per event worth logging (a failed submission, no ring for a connection, accept
  /// errors). Runs on a worker thread: keep it short; it must not call stop().
  std::function<void(std::string_view)> log{};
};

/// A snapshot of the proxy's counters. Every accepted connection is, at any time, either
/// `active` or in exactly one of the end counters:
/// accepted == active + completed + rejected + upstream_refused + connect_timeouts +
///             idle_timeouts + resets + errors + submit_failures + aborted.
struct ProxyStats {
  std::uint64_t accepted = 0;   ///< client connections accepted
  std::uint64_t active = 0;     ///< connections open now
  std::uint64_t completed = 0;  ///< ended after a clean close both ways
  /// Closed at once: max_conns reached, or no descriptor left for the upstream socket (a burst
  /// of connects outran the descriptor budget; logged once per streak).
  std::uint64_t rejected = 0;
  std::uint64_t upstream_refused = 0;  ///< the upstream connect failed
  std::uint64_t connect_timeouts = 0;  ///< the upstream connect timed out
  std::uint64_t idle_timeouts = 0;     ///< closed for inactivity
  std::uint64_t resets = 0;            ///< a peer reset the connection (ECONNRESET, EPIPE)
  std::uint64_t errors = 0;            ///< another I/O error, or no memory for a ring
  std::uint64_t submit_failures = 0;   ///< an operation could not be submitted
  std::uint64_t aborted = 0;           ///< still open when stop()'s drain time ran out
  std::uint64_t bytes_up = 0;          ///< client -> upstream bytes delivered
  std::uint64_t bytes_down = 0;        ///< upstream -> client bytes delivered
  /// Rings held by connections now (a gauge): a direction holds one only while it has bytes to
  /// move, so a connection quiet for a tick (100 ms) holds none.
  std::uint64_t rings_attached = 0;
  /// Accepts that failed (EMFILE, ENFILE, ENOMEM, ...): not connections, so outside the sum
  /// above; logged once per streak and retried on the next tick (100 ms). max_conns is fitted to
  /// the descriptor limit at start, so this stays 0 unless the descriptors go elsewhere.
  std::uint64_t accept_errors = 0;
};

class Proxy {
 public:
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;
  Proxy(Proxy&&) = delete;
  Proxy& operator=(Proxy&&) = delete;
  /// Stops (drain of up to 1 s) if still running.
  ~Proxy();

  /// Binds the listeners (one per thread, SO_REUSEPORT) and starts the workers. Errors: a busy
  /// port (EADDRINUSE, context names the call), io_uring unavailable, bad options
  /// (Errc::invalid_argument with context naming the ProxyOptions member).
  [[nodiscard]] static Result<std::unique_ptr<Proxy>> start(const ProxyOptions& options);

  /// The port the listeners are bound to.
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const ProxyOptions& options() const noexcept { return options_; }
  /// The connection limit in effect: ProxyOptions::max_conns, or less when the descriptor
  /// limit at start (RLIMIT_NOFILE, less the descriptors already open and a reserve of 64 plus
  /// 8 per worker) cannot hold two descriptors for each.
  [[nodiscard]] std::size_t max_conns() const noexcept;
  [[nodiscard]] ProxyStats stats() const noexcept;

  /// Stops accepting, lets open connections finish for up to `drain`, then closes what is left
  /// (counted in `aborted`) and joins the workers. Idempotent and thread-safe.
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5000));

 private:
  struct Impl;
  Proxy() = default;
  ProxyOptions options_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkit::net
