// ringkit-load: an echo load generator that verifies every echoed byte.
//
// N connections (spread over --threads epoll loops) each send a seeded pseudo-random stream cut
// into messages of --size bytes, with up to --depth messages outstanding, and check every byte
// that comes back against the same stream. Latency is per message: from the first byte sent to
// the last byte verified, kept in a log-linear (HDR-style) histogram. Output: a live progress
// line on a terminal, then one summary line "RESULT key=value ..." (or JSON with --json).
// Exit status: 0 when every byte matched and no connection failed, 1 otherwise, 2 bad usage.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ringkit/unique_fd.hpp>
#include <ringkit/version.hpp>

#include "cli.hpp"
#include "latency_histogram.hpp"
#include "support/pattern.hpp"
#include "tcp_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kTool = "ringkit-load";

void usage() {
  std::printf(
      "usage: ringkit-load --target HOST:PORT [options]\n"
      "\n"
      "  --target HOST:PORT   echo server or proxy to load (HOST: IPv4, [IPv6] or a name)\n"
      "  --conns N            connections (default 64)\n"
      "  --size SIZE          message size (default 4KiB)\n"
      "  --depth N            messages in flight per connection (default 1)\n"
      "  --duration DUR       how long to send (default 10s)\n"
      "  --messages N         stop after N messages in total instead\n"
      "  --threads N          client threads (default 1)\n"
      "  --seed N             payload seed (default 1)\n"
      "  --label TEXT         name printed in the summary (default the target)\n"
      "  --json               print the summary as JSON\n"
      "  --quiet              no progress line\n"
      "  --reconnect          short connections: one message each, close, connect again\n"
      "  --help, --version\n");
}

/// Bytes [pos, pos + n) of connection `key`'s stream.
void fill(std::uint64_t key, std::uint64_t pos, unsigned char* dst, std::size_t n) {
  ringkit_test::fill_pattern(key, pos, std::as_writable_bytes(std::span<unsigned char>(dst, n)));
}

using ringkit::tools::Histogram;

struct Options {
  ringkit::tools::Endpoint target;
  std::size_t conns = 64;
  std::size_t size = 4096;
  std::size_t depth = 1;
  std::chrono::nanoseconds duration = std::chrono::seconds(10);
  std::uint64_t messages = 0;
  unsigned threads = 1;
  std::uint64_t seed = 1;
  std::string label;
  bool json = false;
  bool quiet = false;
  /// Short connections: after each verified message, half-close, wait for the server's close,
  /// then connect again (a connection rate; latency then includes nothing of the connect).
  bool reconnect = false;
  ringkit::net::SocketAddress addr;
};

struct Conn {
  ringkit::UniqueFd fd;
  std::uint64_t key = 0;
  std::uint64_t sent = 0;                // bytes written
  std::uint64_t verified = 0;            // bytes received and checked
  std::uint64_t queued = 0;              // bytes of messages started (sent <= queued)
  std::deque<Clock::time_point> starts;  // one per message in flight
  bool dead = false;
  bool closing = false;  // --reconnect: SHUT_WR sent, waiting for the server's EOF
};

struct Shared {
  std::atomic<std::uint64_t> msgs{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<bool> stop_sending{false};
  std::atomic<bool> give_up{false};      // in-flight messages are no longer awaited
  std::atomic<unsigned> finished{0};     // workers that returned
  std::atomic<std::uint64_t> budget{0};  // messages left to start when --messages is used
  bool limited = false;
};

void worker(const Options& o, Shared& sh, std::vector<Conn>& conns, Histogram& hist) {
  ringkit::UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, conns[i].fd.get(), &ev);
  }
  std::vector<unsigned char> out(std::max<std::size_t>(o.size, 65536)), in(65536), want(65536);
  auto start_messages = [&](Conn& c) {
    while (!c.dead && c.starts.size() < o.depth &&
           !sh.stop_sending.load(std::memory_order_relaxed)) {
      if (sh.limited) {
        std::uint64_t b = sh.budget.load(std::memory_order_relaxed);
        do {
          if (b == 0) return;
        } while (!sh.budget.compare_exchange_weak(b, b - 1, std::memory_order_relaxed));
      }
      c.starts.push_back(Clock::now());
      c.queued += o.size;
    }
  };
  auto flush = [&](Conn& c) {
    while (!c.dead && c.sent < c.queued) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), c.queued - c.sent));
      fill(c.key, c.sent, out.data(), n);
      const ssize_t w = ::send(c.fd.get(), out.data(), n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN) return;
        c.dead = true;
        sh.errors.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      c.sent += static_cast<std::uint64_t>(w);
    }
  };
  auto receive = [&](Conn& c) {
    for (;;) {
      const ssize_t r = ::recv(c.fd.get(), in.data(), in.size(), 0);
      if (r < 0) {
        if (errno == EAGAIN) return;
        c.dead = true;
        sh.errors.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (r == 0) {  // the server closed while we expected data
        if (!c.starts.empty()) sh.errors.fetch_add(1, std::memory_order_relaxed);
        if (c.closing && c.starts.empty()) {
          c.closing = false;
          c.fd.reset();  // a clean end: reconnect() makes the next connection
          return;
        }
        c.dead = true;
        return;
      }
      const auto n = static_cast<std::size_t>(r);
      if (c.verified + n > c.sent) {  // more than we sent: corrupt stream
        sh.errors.fetch_add(1, std::memory_order_relaxed);
        c.dead = true;
        return;
      }
      fill(c.key, c.verified, want.data(), n);
      if (std::memcmp(in.data(), want.data(), n) != 0) {
        sh.errors.fetch_add(1, std::memory_order_relaxed);
        c.dead = true;
        return;
      }
      const std::uint64_t before = c.verified / o.size;
      c.verified += n;
      sh.bytes.fetch_add(n, std::memory_order_relaxed);
      const std::uint64_t after = c.verified / o.size;
      const auto now = Clock::now();
      for (std::uint64_t m = before; m < after && !c.starts.empty(); ++m) {
        hist.add(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.starts.front()).count()));
        c.starts.pop_front();
        sh.msgs.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  // --reconnect: a new connection (new stream) in the slot of one that ended cleanly.
  auto reconnect = [&](Conn& c, std::size_t i) {
    ringkit::UniqueFd fd(::socket(o.addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), o.addr.get(), o.addr.size) != 0) {
      sh.errors.fetch_add(1, std::memory_order_relaxed);
      c.dead = true;
      return;
    }
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
    c.fd = std::move(fd);
    c.key = ringkit_test::mix64(c.key + conns.size()) & 0xffffffffffffULL;
    c.sent = c.verified = c.queued = 0;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
  };
  auto after_io = [&](Conn& c, std::size_t i) {
    if (o.reconnect && !c.dead) {
      if (!c.closing && c.fd && c.sent > 0 && c.starts.empty() && c.verified == c.sent) {
        ::shutdown(c.fd.get(), SHUT_WR);
        c.closing = true;
        return;
      }
      if (!c.fd) {
        if (sh.stop_sending.load(std::memory_order_relaxed)) return;
        reconnect(c, i);
      }
    }
    if (c.closing) return;
    start_messages(c);
    flush(c);
  };
  for (auto& c : conns) {
    start_messages(c);
    flush(c);
  }
  epoll_event evs[256];
  for (;;) {
    bool busy = false;
    for (auto& c : conns) {
      if (!c.dead && !c.starts.empty()) busy = true;
    }
    const bool stopping = sh.stop_sending.load(std::memory_order_relaxed) ||
                          (sh.limited && sh.budget.load(std::memory_order_relaxed) == 0);
    if ((!busy && stopping) || sh.give_up.load(std::memory_order_relaxed)) break;
    const int n = ::epoll_wait(ep.get(), evs, 256, 100);
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[evs[k].data.u64];
      if (c.dead || !c.fd) continue;
      if ((evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) receive(c);
      after_io(c, evs[k].data.u64);
    }
  }
  sh.finished.fetch_add(1, std::memory_order_release);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringkit;
  Options o;
  bool have_target = false;
  tools::Args a(kTool, argc, argv);
  while (a.next()) {
    const std::string& n = a.name();
    if (n == "--help" || n == "-h") {
      usage();
      return 0;
    } else if (n == "--version") {
      std::printf("ringkit-load %s\n", ringkit::kVersionString);
      return 0;
    } else if (n == "--target") {
      o.target = a.endpoint_value();
      have_target = true;
    } else if (n == "--conns") {
      o.conns = a.count_value();
    } else if (n == "--size") {
      o.size = a.size_value();
    } else if (n == "--depth") {
      o.depth = a.count_value();
    } else if (n == "--duration") {
      o.duration = a.duration_value();
    } else if (n == "--messages") {
      o.messages = a.count_value();
    } else if (n == "--threads") {
      o.threads = static_cast<unsigned>(a.count_value());
    } else if (n == "--seed") {
      o.seed = a.count_value();
    } else if (n == "--label") {
      o.label = a.value();
    } else if (n == "--json") {
      o.json = true;
    } else if (n == "--reconnect") {
      o.reconnect = true;
    } else if (n == "--quiet") {
      o.quiet = true;
    } else {
      a.unknown();
    }
  }
  if (!have_target) tools::usage_error(kTool, "--target HOST:PORT is required");
  if (o.conns == 0 || o.conns > 100000) tools::usage_error(kTool, "--conns must be 1..100000");
  if (o.size == 0 || o.size > (64u << 20)) tools::usage_error(kTool, "--size must be 1B..64MiB");
  if (o.depth == 0 || o.depth > 1024) tools::usage_error(kTool, "--depth must be 1..1024");
  if (o.threads == 0 || o.threads > 64) tools::usage_error(kTool, "--threads must be 1..64");
  if (o.label.empty())
    o.label = ringkit::net::host_for_port(o.target.host) + ":" + std::to_string(o.target.port);
  tools::raise_fd_limit(std::uint64_t{o.conns} + 64 + 2 * std::uint64_t{o.threads});
  tools::install_stop_signals();

  const auto resolved = ringkit::net::resolve_tcp(o.target.host, o.target.port);
  if (!resolved) {
    tools::usage_error(kTool,
                       "--target: cannot resolve '" + o.target.host + "': " + resolved.message());
  }
  const ringkit::net::SocketAddress addr = *resolved;
  o.addr = addr;
  const unsigned threads = static_cast<unsigned>(std::min<std::size_t>(o.threads, o.conns));
  std::vector<std::vector<Conn>> per(threads);
  for (std::size_t i = 0; i < o.conns; ++i) {
    int err = 0;
    UniqueFd fd = tools::connect_tcp(addr, std::chrono::seconds(10), err);
    if (!fd) {
      std::fprintf(stderr, "%s: connect to %s:%u failed: %s\n", kTool,
                   ringkit::net::host_for_port(o.target.host).c_str(), o.target.port,
                   ringkit::tools::errno_text(err).c_str());
      return 1;
    }
    Conn c;
    c.fd = std::move(fd);
    c.key = ringkit_test::mix64(o.seed * 1000003 + i) & 0xffffffffffffULL;
    per[i % threads].push_back(std::move(c));
  }
  Shared sh;
  if (o.messages != 0) {
    sh.limited = true;
    sh.budget = o.messages;
  }
  std::vector<Histogram> hists(threads);
  const auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] { worker(o, sh, per[t], hists[t]); });
  }
  const bool tty = !o.quiet && ::isatty(STDERR_FILENO) == 1;
  auto last = t0;
  std::uint64_t last_bytes = 0;
  const auto deadline = t0 + o.duration;
  Clock::time_point stop_at{};
  while (sh.finished.load(std::memory_order_acquire) < threads) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = Clock::now();
    if (!sh.stop_sending && ((!sh.limited && now >= deadline) || tools::g_signal != 0)) {
      sh.stop_sending = true;
      stop_at = now;
    }
    if (sh.limited && sh.budget.load() == 0 && stop_at == Clock::time_point{}) stop_at = now;
    // In-flight messages get 5 s to come back after the stop; then they count as errors.
    if (stop_at != Clock::time_point{} && now - stop_at > std::chrono::seconds(5)) {
      sh.give_up = true;
    }
    if (!o.quiet && now - last >= std::chrono::seconds(1)) {
      const std::uint64_t b = sh.bytes.load();
      const double secs = std::chrono::duration<double>(now - last).count();
      std::fprintf(stderr, "%s  %-24s %8.1f MB/s  %9" PRIu64 " msgs  %" PRIu64 " errors%s",
                   tty ? "\r" : "", o.label.c_str(),
                   static_cast<double>(b - last_bytes) / secs / 1e6, sh.msgs.load(),
                   sh.errors.load(), tty ? "   " : "\n");
      last = now;
      last_bytes = b;
    }
  }
  for (auto& t : ts) t.join();
  if (tty) std::fprintf(stderr, "\n");
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  Histogram h;
  for (const auto& x : hists) h.merge(x);
  std::uint64_t stalled = 0;
  for (auto& v : per) {
    // A connection that died was counted once when it failed; only live connections' unanswered
    // messages are stalls (counting a dead one's in-flight messages again double-counted it).
    for (auto& c : v) {
      if (!c.dead) stalled += c.starts.size();
    }
  }
  const std::uint64_t msgs = sh.msgs.load();
  const std::uint64_t bytes = sh.bytes.load();
  const std::uint64_t errors = sh.errors.load() + stalled;
  const double mbs = static_cast<double>(bytes) / secs / 1e6;
  const double mps = static_cast<double>(msgs) / secs;
  const double p50 = static_cast<double>(h.quantile(0.50)) / 1e3;
  const double p99 = static_cast<double>(h.quantile(0.99)) / 1e3;
  const double p999 = static_cast<double>(h.quantile(0.999)) / 1e3;
  if (o.json) {
    std::printf(
        "{\"label\":\"%s\",\"conns\":%zu,\"size\":%zu,\"depth\":%zu,\"seconds\":%.3f,"
        "\"msgs\":%" PRIu64
        ",\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,\"p50_us\":%.1f,"
        "\"p99_us\":%.1f,\"p999_us\":%.1f,\"bytes_verified\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
        o.label.c_str(), o.conns, o.size, o.depth, secs, msgs, mps, mbs, p50, p99, p999, bytes,
        errors);
  } else {
    std::printf("RESULT label=%s conns=%zu size=%zu depth=%zu seconds=%.2f msgs=%" PRIu64
                " msgs_per_s=%.0f mb_per_s=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f"
                " bytes_verified=%" PRIu64 " errors=%" PRIu64 "\n",
                o.label.c_str(), o.conns, o.size, o.depth, secs, msgs, mps, mbs, p50, p99, p999,
                bytes, errors);
  }
  return errors == 0 && msgs > 0 ? 0 : 1;
}
