// bench/framing_io_bench.cpp: the framed echo server over loopback against a plain Asio server.
//
// BM_framed_echo/<impl>/<conns>/<payload bytes>/<depth>: length-prefixed frames (4-byte
//   big-endian length, then the payload) echoed over loopback TCP (127.0.0.1, ephemeral port) in
//   one process. The benchmark thread (CPU 0) is the client: on each of <conns> connections it
//   sends <depth> frames in one send(), reads all their echoes back, checks every byte (header,
//   connection number, sequence number, payload) and sends the next batch; one item per echoed
//   frame. depth 1 is request/response (one frame in flight per connection: the server sees
//   one frame per read); depth 16 is a pipelining client (a 4 KiB batch: the server sees many
//   frames per read, which is where decoding in place pays). The server runs on one thread
//   pinned to CPU 1:
//     ringkit        net::FramedEchoServer, io_uring backend: io::FramedReader recv()s into a
//                    64 KiB mirrored ring per connection, the length decoder finds each frame in
//                    place, the LengthPrepender re-encodes it into a mirrored output ring, one
//                    send() per batch of frames
//     ringkit_asio   net::FramedEchoServer, Asio backend: async_read_frame on a DynamicRing, the
//                    same encoder and output ring (information: the Asio half of the feature)
//     asio_vector    the common Asio approach: async_read of the 4-byte header into an array,
//                    then async_read of the body into a std::vector<char> allocated per frame,
//                    then one async_write of {header, body} (gather), then the next header
//   Target (issue): ringkit >= 1.3x asio_vector in frames/s at 64 connections x 256 B (reported
//   at both depths).
//
//   framing_io_bench --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//                    --benchmark_report_aggregates_only=true --benchmark_out=f.json
//                    --benchmark_out_format=json
//   tools/bench_ratios.py f.json --target 'framed_echo:asio_vector:64/256/*=1.3'
// ctx_invol counts the involuntary context switches of the process during a run.
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <benchmark/benchmark.h>

#include <ringkit/net/framed_echo.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

#include "support/affinity.hpp"
#include "support/report.hpp"
#include "support/rusage.hpp"

namespace ringkit::bench {
namespace {

constexpr std::size_t kHeader = 4;

void put_be32(std::byte* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (24 - 8 * i));
}

// --- The peer: a plain Asio framed echo (header read, body into a vector, gather write) ----------

class VectorSession : public std::enable_shared_from_this<VectorSession> {
 public:
  explicit VectorSession(asio::ip::tcp::socket s) : sock_(std::move(s)) {}
  void start() { read_header(); }

 private:
  void read_header() {
    auto self = shared_from_this();
    asio::async_read(sock_, asio::buffer(header_), [self](std::error_code ec, std::size_t) {
      if (ec) return;
      const std::size_t len = (std::size_t{self->header_[0]} << 24) |
                              (std::size_t{self->header_[1]} << 16) |
                              (std::size_t{self->header_[2]} << 8) | std::size_t{self->header_[3]};
      if (len > (std::size_t{1} << 20)) return;  // the session ends; the client sees EOF
      self->read_body(len);
    });
  }
  void read_body(std::size_t len) {
    auto self = shared_from_this();
    auto body = std::make_shared<std::vector<char>>(len);  // the allocation per message
    asio::async_read(sock_, asio::buffer(*body), [self, body](std::error_code ec, std::size_t) {
      if (ec) return;
      const std::array<asio::const_buffer, 2> out{asio::buffer(self->header_), asio::buffer(*body)};
      asio::async_write(self->sock_, out, [self, body](std::error_code wec, std::size_t) {
        if (wec) return;
        self->read_header();
      });
    });
  }

  asio::ip::tcp::socket sock_;
  std::array<unsigned char, kHeader> header_{};
};

/// Accepts on `lis` and serves every connection on one io_context until stop().
class VectorServer {
 public:
  explicit VectorServer(UniqueFd lis) : acceptor_(io_) {
    acceptor_.assign(asio::ip::tcp::v4(), lis.release());
  }
  void run() {
    accept();
    io_.run();
  }
  void stop() { io_.stop(); }

 private:
  void accept() {
    acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      std::error_code ignored;
      s.set_option(asio::ip::tcp::no_delay(true), ignored);
      std::make_shared<VectorSession>(std::move(s))->start();
      accept();
    });
  }
  asio::io_context io_{1};
  asio::ip::tcp::acceptor acceptor_;
};

// --- The client ---------------------------------------------------------------------------------

enum class Impl { ringkit, ringkit_asio, asio_vector };

/// One client connection: `depth` frames go out in one send(), their echoes are read back and
/// checked, then the next batch goes out. Frame k of a batch carries (connection, sequence).
struct ClientConn {
  UniqueFd fd;
  std::uint64_t seq = 0;  // sequence number of the batch's first frame
  std::size_t got = 0;
  std::vector<std::byte> tx;
  std::vector<std::byte> rx;
};

[[nodiscard]] bool send_batch(ClientConn& c, std::size_t index, std::size_t frame,
                              std::size_t depth) {
  for (std::size_t k = 0; k < depth; ++k) {
    const std::uint64_t id[2] = {index, c.seq + k};
    std::memcpy(c.tx.data() + k * frame + kHeader, id, sizeof id);
  }
  std::size_t off = 0;
  while (off < c.tx.size()) {
    const ssize_t n = ::send(c.fd.get(), c.tx.data() + off, c.tx.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

void bm_framed_echo(benchmark::State& state, Impl impl) {
  ::signal(SIGPIPE, SIG_IGN);
  const auto conns = static_cast<std::size_t>(state.range(0));
  const auto payload = static_cast<std::size_t>(state.range(1));
  const auto depth = static_cast<std::size_t>(state.range(2));
  const std::size_t frame = kHeader + payload;
  if (payload < 16) {
    state.SkipWithError("payload must hold the 16-byte (connection, sequence) tag");
    return;
  }

  // The server: its threads inherit the affinity of the thread that creates them (CPU 1).
  std::uint16_t port = 0;
  std::unique_ptr<net::FramedEchoServer> framed;
  std::unique_ptr<VectorServer> vec;
  std::thread vec_thread;
  bool server_pinned = false;
  {
    const ScopedPin on_server_cpu(kConsumerCpu);
    server_pinned = on_server_cpu.pinned();
    if (impl == Impl::asio_vector) {
      auto lis = net::listen_tcp("127.0.0.1", 0);
      if (!lis) {
        state.SkipWithError(("listen: " + lis.message()).c_str());
        return;
      }
      port = *net::local_port(lis->get());
      vec = std::make_unique<VectorServer>(std::move(*lis));
      vec_thread = std::thread([&] { vec->run(); });
    } else {
      auto s = net::FramedEchoServer::start(
          {.backend = impl == Impl::ringkit ? net::ProxyBackend::uring : net::ProxyBackend::asio});
      if (!s) {
        state.SkipWithError(("server: " + s.message()).c_str());
        return;
      }
      framed = std::move(*s);
      port = framed->port();
    }
  }
  auto stop_server = [&] {
    if (framed) framed->stop();
    if (vec) {
      vec->stop();
      vec_thread.join();
    }
  };

  std::vector<ClientConn> clients(conns);
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  for (std::size_t i = 0; i < conns; ++i) {
    auto c = net::connect_tcp("127.0.0.1", port);
    if (!c) {
      stop_server();
      state.SkipWithError(("connect: " + c.message()).c_str());
      return;
    }
    clients[i].fd = std::move(*c);
    clients[i].rx.resize(frame * depth);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, clients[i].fd.get(), &ev);
  }
  std::vector<std::byte> proto(frame);
  put_be32(proto.data(), static_cast<std::uint32_t>(payload));
  for (std::size_t i = kHeader + 16; i < frame; ++i) proto[i] = static_cast<std::byte>(i * 131);
  for (auto& c : clients) {
    for (std::size_t k = 0; k < depth; ++k) c.tx.insert(c.tx.end(), proto.begin(), proto.end());
  }

  const ScopedPin pin(kProducerCpu);
  bool bad = false;
  for (std::size_t i = 0; i < conns && !bad; ++i) bad = !send_batch(clients[i], i, frame, depth);
  const std::int64_t switches = involuntary_switches();
  std::int64_t items = 0;
  std::array<epoll_event, 128> evs{};
  for (auto _ : state) {
    // One iteration: `conns` x `depth` frames echoed (any mix of connections).
    std::size_t done = 0;
    while (done < conns * depth && !bad) {
      const int n = ::epoll_wait(ep.get(), evs.data(), static_cast<int>(evs.size()), 2000);
      if (n <= 0) {
        bad = true;
        break;
      }
      for (int k = 0; k < n && !bad; ++k) {
        const std::size_t i = evs[static_cast<std::size_t>(k)].data.u64;
        ClientConn& c = clients[i];
        const ssize_t r = ::recv(c.fd.get(), c.rx.data() + c.got, c.rx.size() - c.got, 0);
        if (r <= 0) {
          bad = true;
          break;
        }
        c.got += static_cast<std::size_t>(r);
        if (c.got < c.rx.size()) continue;
        // The whole batch is back: every frame must be the one sent, in order.
        for (std::size_t f = 0; f < depth && !bad; ++f) {
          const std::byte* got = c.rx.data() + f * frame;
          const std::uint64_t id[2] = {i, c.seq + f};
          bad = std::memcmp(got, proto.data(), kHeader) != 0 ||
                std::memcmp(got + kHeader, id, sizeof id) != 0 ||
                std::memcmp(got + kHeader + 16, proto.data() + kHeader + 16,
                            frame - kHeader - 16) != 0;
        }
        if (bad) break;
        c.got = 0;
        c.seq += depth;
        done += depth;
        bad = !send_batch(c, i, frame, depth);
      }
    }
    items += static_cast<std::int64_t>(done);
    if (bad) {
      state.SkipWithError("echo mismatch, timeout or connection failure");
      break;
    }
  }
  const std::int64_t switches_after = involuntary_switches();
  clients.clear();
  stop_server();
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * static_cast<std::int64_t>(frame) * 2);
  state.counters["ctx_invol"] = benchmark::Counter(static_cast<double>(switches_after - switches));
  if (!pin.pinned() || !server_pinned) state.SetLabel("unpinned");
}

}  // namespace

void register_all() {
  const std::pair<Impl, const char*> impls[] = {{Impl::ringkit, "ringkit"},
                                                {Impl::ringkit_asio, "ringkit_asio"},
                                                {Impl::asio_vector, "asio_vector"}};
  for (const auto& [impl, name] : impls) {
    const std::string base = std::string("BM_framed_echo/") + name;
    benchmark::RegisterBenchmark(base.c_str(),
                                 [impl = impl](benchmark::State& s) { bm_framed_echo(s, impl); })
        ->Args({64, 256, 1})
        ->Args({64, 256, 16})
        ->ArgNames({"", "", ""})
        ->UseRealTime()
        ->MeasureProcessCPUTime();
  }
}

}  // namespace ringkit::bench
