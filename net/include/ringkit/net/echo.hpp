// ringkit/net/echo.hpp: an echo server over ringkit rings (the upstream of the proxy demo).
//
// Each connection reads into one ring and writes it back from the same ring (readv/sendmsg on
// the halves with io_uring, or the Asio adapters); a full ring stops reading (backpressure);
// EOF from the client is answered with shutdown(SHUT_WR) once everything was echoed.
//
//   auto echo = *ringkit::net::EchoServer::start({.port = 0, .backend = ProxyBackend::uring});
//   ... echo->port() ...;  echo->stop();
//
// Thread safety: start/stop/port/stats are thread-safe; workers are internal threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ringkit/net/proxy.hpp>
#include <ringkit/result.hpp>

namespace ringkit::net {

struct EchoOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  ProxyBackend backend = ProxyBackend::uring;
  unsigned threads = 1;
  std::size_t ring_size = std::size_t{64} * 1024;
};

class EchoServer {
 public:
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  EchoServer(EchoServer&&) = delete;
  EchoServer& operator=(EchoServer&&) = delete;
  ~EchoServer();

  /// Binds (SO_REUSEPORT, one listener per thread) and starts the workers.
  [[nodiscard]] static Result<std::unique_ptr<EchoServer>> start(const EchoOptions& options);
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// Bytes echoed so far, connections accepted so far.
  [[nodiscard]] std::uint64_t bytes() const noexcept;
  [[nodiscard]] std::uint64_t connections() const noexcept;
  /// Stops accepting, closes every connection, joins. Idempotent.
  void stop();

  struct Shared {
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::uint64_t> connections{0};
    std::size_t ring_size = 0;
  };

 private:
  EchoServer() = default;
  std::uint16_t port_ = 0;
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
};

}  // namespace ringkit::net
