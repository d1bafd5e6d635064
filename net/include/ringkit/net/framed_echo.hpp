// ringkit/net/framed_echo.hpp: a length-prefixed frame echo server on io_uring or Asio.
//
// Each connection decodes length-prefixed frames from its input ring (the length decoder of
// ringkit/framing.hpp, zero-copy on the ring's view) and echoes every frame back re-encoded
// with the LengthPrepender into its output ring, from which whole batches of frames leave in
// one send. It is the server of the framing integration tests and of the framed loopback
// benchmark, and a template for a framed service: replace the echo with your handler.
//
//   auto srv = *ringkit::net::FramedEchoServer::start({.backend = ProxyBackend::uring});
//   ... connect to srv->port(), send 4-byte big-endian length + payload, read it back ...
//   auto st = srv->stats();   // frames, errors, connections
//   srv->stop();
//
// Backends: io_uring (io::FramedReader recv() into a mirrored ring, or a two-segment ring with
// `mirrored = false`; send() from the output ring) and Asio (net::async_read_frame on a
// net::DynamicRing, async_write_some_from the output ring). Both behave the same: when the
// output ring cannot take the next frame the connection stops reading (backpressure; the frame
// stays in the input ring); a decoder error (e.g. Errc::frame_too_long for an HTTP request sent
// to a binary port) or a socket error closes that connection only and counts it in `errors`
// (nothing is logged); a clean EOF on a frame boundary is answered with shutdown(SHUT_WR) once
// every echo has left, and counts in `completed`. With `copy_messages` every frame is first
// copied into the worker's MessageStore (copy mode: io::FramedReader's store, or copy_frame() on
// the Asio path) and echoed from the stored message.
//
// Thread safety: start/stop/port/stats are thread-safe; the workers are internal threads (one
// SO_REUSEPORT listener and event loop per thread).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ringkit/framing.hpp>
#include <ringkit/net/proxy.hpp>
#include <ringkit/result.hpp>

namespace ringkit::net {

/// Options of FramedEchoServer::start().
struct FramedEchoOptions {
  /// An IPv4 or IPv6 address or a host name (ringkit/net/tcp.hpp), resolved once at start.
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: an ephemeral port (see FramedEchoServer::port())
  ProxyBackend backend = ProxyBackend::uring;
  unsigned threads = 1;
  /// Input and output ring per connection (a power of two, >= the page size); also bounds the
  /// largest frame: a frame whose header and payload do not fit is a per-stream error.
  std::size_t ring_size = std::size_t{64} * 1024;
  /// io_uring backend: mirrored rings (one span per frame); false: two-segment rings, whose
  /// frames may straddle the wrap. The Asio backend always uses mirrored rings.
  bool mirrored = true;
  /// The frame format (decoder) and, with the same width and order, the echo's header.
  LengthFieldOptions framing{};
  /// Copy each frame into the worker's MessageStore before echoing it (copy mode).
  bool copy_messages = false;
};

/// A snapshot of the counters.
struct FramedEchoStats {
  std::uint64_t connections = 0;  ///< connections accepted
  std::uint64_t active = 0;       ///< connections open now
  std::uint64_t frames = 0;       ///< frames decoded and echoed
  std::uint64_t bytes_in = 0;     ///< bytes of the decoded frames, headers included
  std::uint64_t bytes_out = 0;    ///< bytes sent
  std::uint64_t completed = 0;    ///< connections that ended with a clean EOF, all echoed
  std::uint64_t errors = 0;       ///< connections closed on a decoder, store or socket error
  /// The Errc of the last per-stream decoder or store error (Errc::ok if none yet).
  Errc last_error = Errc::ok;
};

class FramedEchoServer {
 public:
  FramedEchoServer(const FramedEchoServer&) = delete;
  FramedEchoServer& operator=(const FramedEchoServer&) = delete;
  FramedEchoServer(FramedEchoServer&&) = delete;
  FramedEchoServer& operator=(FramedEchoServer&&) = delete;
  /// stop().
  ~FramedEchoServer();

  /// Binds (SO_REUSEPORT, one listener per thread) and starts the workers. Errors: bind/listen
  /// errno, io_uring setup, Errc::invalid_argument (threads, ring_size), Errc::unsupported (a
  /// backend that was not built).
  [[nodiscard]] static Result<std::unique_ptr<FramedEchoServer>> start(
      const FramedEchoOptions& options);
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] FramedEchoStats stats() const noexcept;
  /// Stops accepting, closes every connection, joins the workers. Idempotent.
  void stop();

  /// Internal: the counters the workers update (relaxed).
  struct Shared {
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> active{0};
    std::atomic<std::uint64_t> frames{0};
    std::atomic<std::uint64_t> bytes_in{0};
    std::atomic<std::uint64_t> bytes_out{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<Errc> last_error{Errc::ok};
    FramedEchoOptions options;
  };

 private:
  FramedEchoServer() = default;
  std::uint16_t port_ = 0;
  std::shared_ptr<Shared> shared_;
  std::vector<std::thread> threads_;
};

}  // namespace ringkit::net
