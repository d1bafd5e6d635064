// bench/support/echo.hpp: the line-echo benchmark shared by asio_bench.cpp (standalone Asio) and
// asio_bench_boost.cpp (Boost.Asio, Beast) (not API; benchmarks only).
//
// Standalone Asio and Boost.Asio cannot be included in one translation unit (both define the
// same global-namespace helpers, e.g. asio_execution_set_done_fn), so each flavour's buffers are
// instantiated in their own TU; both TUs share this file, so the session, the client and the
// measurement are the same code for every impl. bm_asio_echo<Buffer> is documented in
// asio_bench.cpp. allocations() is the process-wide count of operator new calls, defined in
// asio_bench.cpp next to the replaced operators.
// Thread safety: as each piece says.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <benchmark/benchmark.h>

#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

#include "peers/interfaces.hpp"
#include "support/affinity.hpp"
#include "support/report.hpp"
#include "support/rusage.hpp"

namespace ringkit::bench {

/// Heap allocations (operator new calls) of the whole process so far. Thread-safe.
[[nodiscard]] std::uint64_t allocations() noexcept;

inline constexpr std::size_t kEchoBufferBytes = 64 * 1024;  // every impl's buffer capacity
inline constexpr std::size_t kEchoBatchBytes = 16 * 1024;   // client bytes per iteration
inline constexpr std::int64_t kEchoMessageSizes[] = {64, 1024};
inline constexpr int kEchoWarmupBatches = 8;
inline constexpr std::size_t kEchoNumberDigits = 16;  // hex message number starting each line

/// One connection's server side: read a line, write it back from the buffer, consume it, repeat.
/// Ends at EOF or on an error (then it closes the socket, so the client sees it at once).
template <echo_buffer Buffer>
class EchoSession {
 public:
  using Net = typename Buffer::net;

  EchoSession(typename Net::io_context& io, UniqueFd fd, std::size_t capacity)
      : socket_(io), buf_(capacity) {
    Net::assign(socket_, fd.get());
    (void)fd.release();  // the socket owns it now
  }

  void start() { read(); }
  /// True if the session ended with anything but a clean EOF before a line.
  [[nodiscard]] bool failed() const noexcept { return failed_; }

 private:
  void read() {
    buf_.async_read_line(socket_, [this](const auto& ec, std::size_t n) {
      if (ec) return finish(ec);
      Net::async_write(socket_, buf_.line(n), [this, n](const auto& wec, std::size_t) {
        if (wec) return finish(wec);
        buf_.consume(n);
        read();
      });
    });
  }
  template <class ErrorCode>
  void finish(const ErrorCode& ec) {
    if (!Net::is_eof(ec)) failed_ = true;
    ErrorCode ignored;
    socket_.close(ignored);
  }

  typename Net::socket socket_;
  Buffer buf_;
  bool failed_ = false;
};

/// Writes the hex message number `no` into the first kEchoNumberDigits bytes of `msg`.
inline void stamp(char* msg, std::uint64_t no) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < kEchoNumberDigits; ++i) {
    msg[kEchoNumberDigits - 1 - i] = kHex[(no >> (4 * i)) & 0xF];
  }
}

[[nodiscard]] inline bool send_all(int fd, const char* p, std::size_t n) noexcept {
  while (n != 0) {
    const ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

[[nodiscard]] inline bool recv_all(int fd, char* p, std::size_t n) noexcept {
  while (n != 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;  // EOF (the server gave up), timeout or error
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

/// The client's batches: `count` messages of `size` bytes, numbered from `next`.
class Batches {
 public:
  explicit Batches(std::size_t size)
      : size_(size), count_(kEchoBatchBytes / size), tx_(kEchoBatchBytes) {
    for (std::size_t m = 0; m < count_; ++m) {
      char* msg = tx_.data() + m * size_;
      for (std::size_t i = kEchoNumberDigits; i + 1 < size_; ++i) {
        msg[i] = static_cast<char>('a' + (i + m) % 26);
      }
      msg[size_ - 1] = '\n';
    }
    rx_.resize(kEchoBatchBytes);
  }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

  /// Sends the next batch and checks its echo byte for byte.
  [[nodiscard]] bool round_trip(int fd) {
    for (std::size_t m = 0; m < count_; ++m) stamp(tx_.data() + m * size_, next_++);
    const std::size_t bytes = count_ * size_;
    if (!send_all(fd, tx_.data(), bytes) || !recv_all(fd, rx_.data(), bytes)) return false;
    return std::memcmp(tx_.data(), rx_.data(), bytes) == 0;
  }

 private:
  std::size_t size_;
  std::size_t count_;
  std::uint64_t next_ = 0;
  std::vector<char> tx_;
  std::vector<char> rx_;
};

/// A connected pair on loopback: the client's blocking socket and the accepted server socket.
struct Connection {
  UniqueFd client;
  UniqueFd server;
};

/// Connects `c`; on failure returns the failing step and its error.
[[nodiscard]] inline std::string connect_pair(Connection& c) {
  auto listener = net::listen_tcp("127.0.0.1", 0);
  if (!listener) return "listen: " + listener.message();
  auto port = net::local_port(listener->get());
  if (!port) return "local_port: " + port.message();
  auto client = net::connect_tcp("127.0.0.1", *port);
  if (!client) return "connect: " + client.message();
  auto server = net::accept_tcp(listener->get());
  if (!server) return "accept: " + server.message();
  // A safety net: a client waiting for an echo that never comes fails after 10 s.
  const timeval timeout{10, 0};
  ::setsockopt(client->get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  c.client = std::move(*client);
  c.server = std::move(*server);
  return {};
}

template <echo_buffer Buffer>
void bm_asio_echo(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  Connection conn;
  if (const std::string why = connect_pair(conn); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  typename Buffer::net::io_context io(1);
  std::unique_ptr<EchoSession<Buffer>> session;
  try {
    session = std::make_unique<EchoSession<Buffer>>(io, std::move(conn.server), kEchoBufferBytes);
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("setup failed: ") + e.what()).c_str());
    return;
  }
  session->start();
  std::atomic<bool> server_pinned{false};
  std::thread server([&] {
    server_pinned.store(pin_current_thread(kConsumerCpu), std::memory_order_relaxed);
    io.run();
  });

  const ScopedPin pin(kProducerCpu);
  Batches batches(size);
  bool ok = true;
  for (int i = 0; i < kEchoWarmupBatches && ok; ++i) ok = batches.round_trip(conn.client.get());

  const std::int64_t switches = involuntary_switches();
  const std::uint64_t allocs_before = allocations();
  if (ok) {
    for (auto _ : state) {
      if (!batches.round_trip(conn.client.get())) [[unlikely]] {
        ok = false;
        break;
      }
    }
  }
  const std::uint64_t allocs = allocations() - allocs_before;

  ::shutdown(conn.client.get(), SHUT_WR);  // the server sees EOF and its io_context runs dry
  server.join();
  if (!ok || session->failed()) {
    state.SkipWithError(session->failed() ? "server session failed"
                                          : "echo mismatch, short echo or timeout");
  }
  const auto messages = static_cast<std::int64_t>(state.iterations() * batches.count());
  state.counters["allocs_per_msg"] = benchmark::Counter(
      messages == 0 ? 0.0 : static_cast<double>(allocs) / static_cast<double>(messages));
  report_run(state, messages, messages * static_cast<std::int64_t>(size), switches,
             pin.pinned() && server_pinned.load(std::memory_order_relaxed));
}

template <echo_buffer Buffer>
void register_echo() {
  auto* b = benchmark::RegisterBenchmark(
      (std::string("BM_asio_echo/") + std::string(Buffer::kName)).c_str(), bm_asio_echo<Buffer>);
  for (const std::int64_t size : kEchoMessageSizes) b->Arg(size);
  b->UseRealTime()->MeasureProcessCPUTime();
}

/// Registers the Boost.Asio-based impls (defined in asio_bench_boost.cpp when it is built).
void register_boost_echo();

}  // namespace ringkit::bench
