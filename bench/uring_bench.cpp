// bench/uring_bench.cpp: the io_uring engine against epoll + read_some/write_some.
//
// BM_echo/<impl>/<conns>/<msg bytes>: loopback TCP echo. The benchmark thread (CPU 0) is the
//   client: it keeps one message in flight on each of <conns> connections (depth 1), verifies
//   every echoed byte, and counts one item per echoed message. The server thread (CPU 1) echoes
//   through one 64 KiB ring per connection:
//     uring        Uring::readv -> Uring::writev on a MirrorByteRing (one iovec)
//     uring_fixed  the same with the rings' double mappings registered (READ_FIXED/WRITE_FIXED)
//     uring_recv   Uring::recv (poll-first) -> Uring::send on a ring created on the server
//                  thread with SINGLE_ISSUER + DEFER_TASKRUN: what the proxy's workers use
//     epoll        epoll_wait + io::read_some / io::send_some on the same rings (non-blocking)
//   Target (issue): uring >= 1.1x epoll in messages/s at 64 connections x 4 KiB.
//
//   uring_bench --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
//               --benchmark_report_aggregates_only=true --benchmark_out=u.json
//               --benchmark_out_format=json
//   tools/bench_ratios.py u.json
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <ringkit/io/uring.hpp>
#include <ringkit/io/vectored.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

#include "support/affinity.hpp"
#include "support/rusage.hpp"

namespace ringkit::bench {
namespace {

constexpr std::size_t kRingBytes = std::size_t{64} * 1024;

enum class Impl { uring, uring_fixed, uring_recv, epoll };

struct Conn {
  UniqueFd fd;
  MirrorByteRing ring;
  bool reading = false;
  bool writing = false;
};

/// The echo server: accepts `n` connections on `lis`, then echoes until `stop`.
class Server {
 public:
  Server(Impl impl, int lis, std::size_t n) : impl_(impl), lis_(lis), n_(n) {}

  void run(std::atomic<bool>& stop, std::atomic<bool>& ready, std::atomic<bool>& failed) {
    (void)pin_current_thread(kConsumerCpu);
    for (std::size_t i = 0; i < n_; ++i) {
      auto fd = net::accept_tcp(lis_);
      if (!fd) {
        failed = true;
        ready = true;
        return;
      }
      auto ring = make_mirror_byte_ring(kRingBytes);
      if (!ring) {
        failed = true;
        ready = true;
        return;
      }
      conns_.push_back(std::make_unique<Conn>(Conn{std::move(*fd), std::move(*ring)}));
    }
    ready = true;
    if (impl_ == Impl::epoll) {
      run_epoll(stop, failed);
    } else {
      run_uring(stop, failed);
    }
  }

 private:
  void run_uring(std::atomic<bool>& stop, std::atomic<bool>& failed) {
    const bool sock = impl_ == Impl::uring_recv;
    auto u = io::Uring::create(
        {.entries = 512, .single_issuer = sock, .defer_taskrun = sock, .recv_poll_first = sock});
    if (!u) {
      failed = true;
      return;
    }
    if (impl_ == Impl::uring_fixed) {
      std::vector<iovec> bufs;
      for (auto& c : conns_) bufs.push_back(io::fixed_buffer(c->ring.writer));
      if (!u->register_buffers(bufs)) {
        failed = true;
        return;
      }
    }
    for (auto& c : conns_) arm(*u, *c, failed);
    while (!stop.load(std::memory_order_relaxed) && !failed) {
      if (!u->run_once(std::chrono::milliseconds(50))) failed = true;
    }
  }
  void arm(io::Uring& u, Conn& c, std::atomic<bool>& failed) {
    const bool sock = impl_ == Impl::uring_recv;
    if (!c.reading && c.ring.writer.size_hint() < kRingBytes) {
      auto on_read = [this, &u, &c, &failed](const io::OpResult& r) {
        c.reading = false;
        if (!r.ok()) return;  // eof / error at shutdown
        arm(u, c, failed);
      };
      c.reading = (sock ? u.recv(c.fd.get(), c.ring.writer, std::move(on_read))
                        : u.readv(c.fd.get(), c.ring.writer, std::move(on_read)))
                      .errc == Errc::ok;
    }
    if (!c.writing && c.ring.reader.size_hint() > 0) {
      auto on_write = [this, &u, &c, &failed](const io::OpResult& r) {
        c.writing = false;
        if (!r.ok()) return;
        arm(u, c, failed);
      };
      c.writing = (sock ? u.send(c.fd.get(), c.ring.reader, std::move(on_write))
                        : u.writev(c.fd.get(), c.ring.reader, std::move(on_write)))
                      .errc == Errc::ok;
    }
  }
  void run_epoll(std::atomic<bool>& stop, std::atomic<bool>& failed) {
    UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      if (!net::set_non_blocking(conns_[i]->fd.get())) failed = true;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
      ev.data.u64 = i;
      if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, conns_[i]->fd.get(), &ev) != 0) failed = true;
    }
    epoll_event evs[128];
    while (!stop.load(std::memory_order_relaxed) && !failed) {
      const int n = ::epoll_wait(ep.get(), evs, 128, 50);
      for (int k = 0; k < n; ++k) {
        Conn& c = *conns_[evs[k].data.u64];
        // Edge-triggered: read until would_block (or the ring is full), write until drained.
        for (;;) {
          const auto r = io::read_some(c.fd.get(), c.ring.writer);
          const auto w = io::send_some(c.fd.get(), c.ring.reader);
          if (r.status != io::IoStatus::ok && w.status != io::IoStatus::ok) break;
        }
      }
    }
  }

  Impl impl_;
  int lis_;
  std::size_t n_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

void bm_echo(benchmark::State& state, Impl impl) {
  ::signal(SIGPIPE, SIG_IGN);
  const auto conns = static_cast<std::size_t>(state.range(0));
  const auto msg = static_cast<std::size_t>(state.range(1));
  auto lis = net::listen_tcp("127.0.0.1", 0);
  if (!lis) {
    state.SkipWithError("listen failed");
    return;
  }
  const auto port = *net::local_port(lis->get());
  std::vector<UniqueFd> clients;
  for (std::size_t i = 0; i < conns; ++i) {
    auto c = net::connect_tcp("127.0.0.1", port);
    if (!c) {
      state.SkipWithError("connect failed");
      return;
    }
    clients.push_back(std::move(*c));
  }
  Server server(impl, lis->get(), conns);
  std::atomic<bool> stop{false}, ready{false}, failed{false};
  std::thread srv([&] { server.run(stop, ready, failed); });
  while (!ready.load()) std::this_thread::yield();
  if (failed.load()) {
    stop = true;
    srv.join();
    state.SkipWithError("server setup failed (io_uring unavailable?)");
    return;
  }
  const ScopedPin pin(kProducerCpu);
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  for (std::size_t i = 0; i < conns; ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, clients[i].get(), &ev);
  }
  // Each message carries its connection and sequence number in its first 16 bytes.
  std::vector<std::byte> out(msg), in(msg);
  for (std::size_t i = 0; i < msg; ++i) out[i] = static_cast<std::byte>(i * 131 + 17);
  std::vector<std::uint64_t> seq(conns, 0);
  std::vector<std::size_t> got(conns, 0);
  std::vector<std::vector<std::byte>> inbuf(conns, std::vector<std::byte>(msg));
  auto send_msg = [&](std::size_t c) {
    std::uint64_t hdr[2] = {c, seq[c]};
    std::memcpy(out.data(), hdr, std::min(msg, sizeof hdr));
    std::size_t off = 0;
    while (off < msg) {
      const ssize_t n = ::write(clients[c].get(), out.data() + off, msg - off);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  const std::int64_t switches = involuntary_switches();
  for (std::size_t c = 0; c < conns; ++c) send_msg(c);
  epoll_event evs[128];
  std::int64_t items = 0;
  bool bad = false;
  for (auto _ : state) {
    // One iteration: `conns` messages echoed (any mix of connections).
    std::size_t done = 0;
    while (done < conns && !bad) {
      const int n = ::epoll_wait(ep.get(), evs, 128, 1000);
      if (n <= 0) {
        bad = true;
        break;
      }
      for (int k = 0; k < n; ++k) {
        const std::size_t c = evs[k].data.u64;
        const ssize_t r = ::read(clients[c].get(), inbuf[c].data() + got[c], msg - got[c]);
        if (r <= 0) {
          bad = true;
          break;
        }
        got[c] += static_cast<std::size_t>(r);
        if (got[c] < msg) continue;
        std::uint64_t hdr[2] = {c, seq[c]};
        if (std::memcmp(inbuf[c].data(), hdr, std::min(msg, sizeof hdr)) != 0 ||
            std::memcmp(inbuf[c].data() + sizeof hdr, out.data() + sizeof hdr, msg - sizeof hdr) !=
                0) {
          bad = true;
          break;
        }
        got[c] = 0;
        ++seq[c];
        ++done;
        if (!send_msg(c)) bad = true;
      }
    }
    items += static_cast<std::int64_t>(done);
    if (bad) {
      state.SkipWithError("echo mismatch or connection failure");
      break;
    }
  }
  stop = true;
  clients.clear();
  srv.join();
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * static_cast<std::int64_t>(msg) * 2);
  state.counters["ctx_invol"] =
      benchmark::Counter(static_cast<double>(involuntary_switches() - switches));
  if (!pin.pinned()) state.SetLabel("unpinned");
}

}  // namespace

void register_all() {
  const std::pair<Impl, const char*> impls[] = {{Impl::uring, "uring"},
                                                {Impl::uring_fixed, "uring_fixed"},
                                                {Impl::uring_recv, "uring_recv"},
                                                {Impl::epoll, "epoll"}};
  for (const auto& [impl, name] : impls) {
    const std::string base = std::string("BM_echo/") + name;
    benchmark::RegisterBenchmark(base.c_str(),
                                 [impl = impl](benchmark::State& s) { bm_echo(s, impl); })
        ->Args({64, 4096})
        ->Args({8, 65536})
        ->ArgNames({"", ""})
        ->UseRealTime()
        ->MeasureProcessCPUTime();
  }
}

}  // namespace ringkit::bench
