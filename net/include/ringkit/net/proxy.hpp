// ringkit/net/proxy.hpp: a TCP proxy core (client <-> upstream) over ringkit byte rings.
//
// Each connection owns two rings: client->upstream and upstream->client (mirrored by default,
// `ring_size` bytes each). A side whose ring is full is not read (backpressure): memory per
// connection is bounded by the two rings whatever the peers do. Half-close is propagated: when
// the client shuts down its write side, the upstream gets shutdown(SHUT_WR) once the ring has
// drained, and the reverse. Any error closes both sides and is counted. An upstream that refuses
// (or does not answer within connect_timeout) closes the client promptly; a connection with no
// traffic for idle_timeout is closed. Connections beyond max_conns are accepted and closed at
// once (counted in `rejected`), so a flood cannot queue in the kernel backlog unseen.
//
// Backends: io_uring (ringkit::io::Uring: readv/sendmsg on the ring halves, multishot accept)
// and Asio (the ringkit::net adapters); same behaviour, same counters. Threads: `threads`
// workers, each with its own SO_REUSEPORT listener and event loop (thread-per-core).
//
//   auto proxy = *ringkit::net::Proxy::start({.listen_port = 0, .upstream_port = 7000});
//   std::printf("listening on %u\n", proxy->port());
//   ...
//   proxy->stop(std::chrono::seconds(5));   // stop accepting, drain, join
//
// Thread safety: start/stop/port/stats are thread-safe; the workers are internal threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ringkit/result.hpp>

namespace ringkit::net {

enum class ProxyBackend : std::uint8_t { uring, asio };

/// Returns "uring" / "asio".
[[nodiscard]] const char* to_string(ProxyBackend b) noexcept;

struct ProxyOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  ///< 0: an ephemeral port (see Proxy::port())
  std::string upstream_host = "127.0.0.1";
  std::uint16_t upstream_port = 0;
  ProxyBackend backend = ProxyBackend::uring;
  unsigned threads = 1;
  std::size_t ring_size = std::size_t{256} * 1024;  ///< per direction; a power of two, >= 4096
  bool mirrored = true;  ///< mirrored rings (fall back to two segments if refused)
  std::size_t max_conns = 10000;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};  ///< 0: never
};

/// Counters, updated by the workers (relaxed; read them as a snapshot).
struct ProxyStats {
  std::atomic<std::uint64_t> accepted{0};          ///< client connections accepted
  std::atomic<std::uint64_t> active{0};            ///< connections open now
  std::atomic<std::uint64_t> completed{0};         ///< closed after a clean close both ways
  std::atomic<std::uint64_t> rejected{0};          ///< closed at once: max_conns reached
  std::atomic<std::uint64_t> upstream_refused{0};  ///< upstream connect failed
  std::atomic<std::uint64_t> connect_timeouts{0};  ///< upstream connect timed out
  std::atomic<std::uint64_t> idle_timeouts{0};     ///< closed for inactivity
  std::atomic<std::uint64_t> errors{0};            ///< closed on a read/write error or reset
  std::atomic<std::uint64_t> bytes_up{0};          ///< client -> upstream bytes delivered
  std::atomic<std::uint64_t> bytes_down{0};        ///< upstream -> client bytes delivered
};

/// A plain copy of ProxyStats.
struct ProxyStatsSnapshot {
  std::uint64_t accepted, active, completed, rejected, upstream_refused, connect_timeouts,
      idle_timeouts, errors, bytes_up, bytes_down;
};

namespace detail {
/// One worker's event loop (implemented per backend).
class ProxyWorker {
 public:
  ProxyWorker() = default;
  ProxyWorker(const ProxyWorker&) = delete;
  ProxyWorker& operator=(const ProxyWorker&) = delete;
  ProxyWorker(ProxyWorker&&) = delete;
  ProxyWorker& operator=(ProxyWorker&&) = delete;
  virtual ~ProxyWorker() = default;
  /// Sets up what must be made on the worker's own thread (e.g. a single-issuer io_uring).
  /// Called on that thread before run(); Proxy::start() waits for it and reports its error.
  [[nodiscard]] virtual Result<void> init_on_thread() { return {}; }
  /// Runs until `stopping` is set and every connection has closed (or `drain_deadline`).
  virtual void run() = 0;
};
}  // namespace detail

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
  /// (Errc::invalid_argument with context naming the option).
  [[nodiscard]] static Result<std::unique_ptr<Proxy>> start(const ProxyOptions& options);

  /// The port the listeners are bound to.
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const ProxyOptions& options() const noexcept { return options_; }
  [[nodiscard]] ProxyStatsSnapshot stats() const noexcept;

  /// Stops accepting, lets open connections finish for up to `drain`, then closes what is left
  /// and joins the workers. Idempotent.
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5000));

  /// Shared with the workers.
  struct Shared {
    ProxyOptions options;
    ProxyStats stats;
    std::atomic<bool> stopping{false};
    std::atomic<std::int64_t> drain_deadline_ns{0};  ///< steady_clock ns; 0 = none yet
  };

 private:
  Proxy() = default;
  ProxyOptions options_;
  std::uint16_t port_ = 0;
  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<detail::ProxyWorker>> workers_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace ringkit::net
