// Private to net/src: the server around the relay (listeners, worker threads, stop and drain)
// and the per-backend workers. Shared by Proxy and EchoServer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <ringkit/net/proxy.hpp>
#include <ringkit/result.hpp>
#include <ringkit/unique_fd.hpp>

#include "relay.hpp"

namespace ringkit::net::detail {

/// One worker's event loop (implemented per backend).
class RelayWorker {
 public:
  RelayWorker() = default;
  RelayWorker(const RelayWorker&) = delete;
  RelayWorker& operator=(const RelayWorker&) = delete;
  RelayWorker(RelayWorker&&) = delete;
  RelayWorker& operator=(RelayWorker&&) = delete;
  virtual ~RelayWorker() = default;
  /// Sets up what must be made on the worker's own thread (e.g. a single-issuer io_uring).
  [[nodiscard]] virtual Result<void> init_on_thread() { return {}; }
  /// Runs until `stopping` is set and every connection has ended (or the drain ran out).
  virtual void run() = 0;
};

/// What a worker is made from.
struct WorkerSetup {
  std::shared_ptr<RelayShared> shared;
  UniqueFd listener;
  std::size_t index = 0;  ///< which RelayShared::counters entry is this worker's
};

[[nodiscard]] Result<std::unique_ptr<RelayWorker>> make_uring_worker(WorkerSetup setup);
[[nodiscard]] Result<std::unique_ptr<RelayWorker>> make_asio_worker(WorkerSetup setup);

/// Sum of every worker's counters.
struct RelayTotals {
  std::uint64_t ends[kEnds]{};
  std::uint64_t accepted = 0, active = 0, bytes_up = 0, bytes_down = 0, rings_attached = 0,
                accept_errors = 0;
  [[nodiscard]] std::uint64_t end(End e) const noexcept { return ends[static_cast<int>(e)]; }
};

/// Listeners (SO_REUSEPORT, one per worker), worker threads, stop with drain.
/// Thread-safe: stop() may be called from any thread, concurrently; later calls wait for the
/// first to finish. It must not be called from the log callback (a worker thread).
class RelayServer {
 public:
  struct Where {
    std::string host;
    const char* host_option = "host";  ///< names `host` in a resolve error (a string literal)
    std::uint16_t port = 0;
    ProxyBackend backend = ProxyBackend::uring;
    unsigned threads = 1;
  };
  [[nodiscard]] static Result<std::unique_ptr<RelayServer>> start(RelayConfig cfg,
                                                                  const Where& where);
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;
  RelayServer(RelayServer&&) = delete;
  RelayServer& operator=(RelayServer&&) = delete;
  ~RelayServer();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The connection limit in effect: RelayConfig::max_conns, or what the descriptor limit can
  /// serve when that is less (see fd_budget.hpp).
  [[nodiscard]] std::size_t max_conns() const noexcept { return shared_->cfg.max_conns; }
  [[nodiscard]] RelayTotals totals() const noexcept;
  void stop(std::chrono::milliseconds drain);

 private:
  RelayServer() = default;
  std::uint16_t port_ = 0;
  std::shared_ptr<RelayShared> shared_;
  std::vector<std::unique_ptr<RelayWorker>> workers_;
  std::vector<std::thread> threads_;
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace ringkit::net::detail
