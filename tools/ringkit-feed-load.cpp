// ringkit-feed-load: a NATS-protocol pub/sub load generator that verifies every delivered message.
//
// It speaks the core NATS client protocol (INFO, CONNECT, PUB, SUB, MSG, PING/PONG, +OK/-ERR),
// so it drives nats-server and ringkit's feed server alike. P publishers and S x K subscriber
// connections, spread over --threads epoll loops, all in this process:
//
//   * subscriber connection j (0 <= j < S*K) subscribes to subject feed.<j % K>, so each of the
//     K subjects has S subscribers; publisher i publishes on feed.<i % K>;
//   * every subscription is confirmed (SUB, then PING answered by PONG) before the first PUB;
//   * payload (--size bytes, >= 32): [u64 publisher][u64 sequence][u64 send time, steady clock ns]
//     [the publisher's seeded pattern stream (tests/support/pattern.hpp) at offset seq * size + 24]
//     [u64 checksum: FNV-1a over the 64-bit words before it, then its trailing bytes];
//   * every MSG is checked: subject and sid of the subscription, the size, the checksum, the
//     pattern, the publisher belonging to the subject, and a sequence exactly one past the last
//     one this subscriber saw from that publisher (a jump counts the skipped messages as
//     missing). Latency = receive time - send time, in a log-linear histogram;
//   * flow control: a publisher keeps at most --window messages outstanding, outstanding being
//     published - min over its subject's live subscribers of delivered (the counters are shared
//     atomics), so the run measures the server, not a queue overflowing somewhere. The default
//     (1000) lets the server batch (64 B: ~80 KB per publisher in flight); flat out, the latency
//     is then mostly that queue (Little: ~ window / per-publisher rate). --rate paces each
//     publisher instead (still capped by the window): the latency of a server that keeps up;
//   * at the end publishing stops, each publisher sends a final PING (its PONG means the server
//     has processed every PUB before it), and every live subscriber gets up to 5 s to receive
//     every message published on its subject; what is still missing then is an error.
//
// A subscriber the server cuts off (-ERR 'Slow Consumer', or its connection closed) stops
// counting: its missing messages are slow_consumer_drops, not errors (the -ERR is a
// server_error, a close without one an error). Output: a progress line on a terminal (stderr),
// then "RESULT key=value ..." (or one JSON object with --json). Exit status: 0 when nothing
// failed (errors == 0, server_errors == 0, something delivered), 1 otherwise, 2 bad usage
// (including --size above the server's max_payload).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/epoll.h>
#include <sys/eventfd.h>
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
using ringkit::tools::Histogram;
constexpr const char* kTool = "ringkit-feed-load";
constexpr std::size_t kHeaderBytes = 24;  // publisher, sequence, send time
constexpr std::size_t kMinSize = kHeaderBytes + 8;
constexpr std::size_t kBuildAhead =
    std::size_t{64} * 1024;  // bytes of PUBs a publisher prepares per write
constexpr std::size_t kMaxLine = std::size_t{64} * 1024;  // longest protocol line accepted (INFO)
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kDrainTimeout = std::chrono::seconds(5);
constexpr const char* kConnect =
    "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"ringkit-feed-load\","
    "\"lang\":\"c++\",\"version\":\"1\",\"protocol\":1}\r\n";

void usage() {
  std::printf(
      "usage: ringkit-feed-load --target HOST:PORT [options]\n"
      "\n"
      "  --target HOST:PORT   NATS-protocol server (nats-server, ringkit-feed); HOST: IPv4,\n"
      "                       [IPv6] in brackets, or a name\n"
      "  --pubs P             publisher connections (default 1); publisher i sends on feed.<i%%K>\n"
      "  --subs S             subscribers per subject (default 8)\n"
      "  --subjects K         subjects feed.0 .. feed.<K-1> (default 1); S*K subscriber\n"
      "                       connections in all, connection j subscribed to feed.<j%%K>\n"
      "  --size SIZE          payload bytes (default 64, at least 32)\n"
      "  --rate R             messages/s per publisher (default 0: as fast as the window lets)\n"
      "  --window W           messages a publisher may have outstanding, i.e. published but not\n"
      "                       yet received by every live subscriber of its subject (default 1000;\n"
      "                       at saturation latency ~ window / rate, so for latency use --rate)\n"
      "  --duration DUR       how long to publish (default 5s)\n"
      "  --messages N         publish N messages per publisher instead\n"
      "  --threads T          client threads (default 2)\n"
      "  --label TEXT         name printed in the summary (default the target)\n"
      "  --json               print the summary as JSON\n"
      "  --quiet              no progress line\n"
      "  --help, --version\n");
}

struct Options {
  ringkit::tools::Endpoint target;
  std::size_t pubs = 1;
  std::size_t subs = 8;  // per subject
  std::size_t subjects = 1;
  std::size_t size = 64;
  std::uint64_t rate = 0;
  std::uint64_t window = 1000;
  std::chrono::nanoseconds duration = std::chrono::seconds(5);
  std::uint64_t messages = 0;
  unsigned threads = 2;
  std::string label;
  bool json = false;
  bool quiet = false;
};

/// FNV-1a over the little-endian 64-bit words of [p, p + n), then over its trailing bytes.
std::uint64_t checksum(const unsigned char* p, std::size_t n) {
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  std::uint64_t h = 0xcbf29ce484222325ULL;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kPrime;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * kPrime;
  return h;
}

std::uint64_t pattern_seed(std::uint64_t publisher) { return ringkit_test::mix64(publisher + 1); }

void fill_body(std::uint64_t publisher, std::uint64_t seq, std::size_t size, unsigned char* dst) {
  ringkit_test::fill_pattern(
      pattern_seed(publisher), seq * size + kHeaderBytes,
      std::as_writable_bytes(std::span<unsigned char>(dst, size - kHeaderBytes - 8)));
}

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

/// A byte buffer with a consumed front: [head, tail) is pending.
class Buffer {
 public:
  [[nodiscard]] std::size_t size() const { return tail_ - head_; }
  [[nodiscard]] unsigned char* data() { return bytes_.data() + head_; }
  /// Room for `n` more bytes at the tail (moves the pending bytes to the front first).
  unsigned char* reserve(std::size_t n) {
    if (head_ == tail_) head_ = tail_ = 0;
    if (bytes_.size() - tail_ < n && head_ > 0) {
      std::memmove(bytes_.data(), bytes_.data() + head_, tail_ - head_);
      tail_ -= head_;
      head_ = 0;
    }
    if (bytes_.size() - tail_ < n) bytes_.resize(std::max(bytes_.size() * 2, tail_ + n));
    return bytes_.data() + tail_;
  }
  [[nodiscard]] std::size_t room() const { return bytes_.size() - tail_; }
  void commit(std::size_t n) { tail_ += n; }
  void consume(std::size_t n) { head_ += n; }
  void append(std::string_view s) {
    std::memcpy(reserve(s.size()), s.data(), s.size());
    commit(s.size());
  }

 private:
  std::vector<unsigned char> bytes_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

/// Per-publisher state the other threads read.
struct alignas(64) PubShared {
  std::atomic<std::uint64_t> published{0};  // messages queued for the socket; pair: the window
                                            // computations of other threads (acquire)
  std::atomic<bool> done{false};  // final PONG received or connection gone (release; main)
};

/// Per-subscriber state the other threads read.
struct alignas(64) SubShared {
  std::atomic<bool> live{true};  // false once cut off or broken (release; publishers, main)
  std::atomic<bool> cut_off{false};
  /// next[p]: the sequence expected next from publisher p = messages of p accounted for.
  /// Written by the subscriber's thread only (release); read by publishers' window and main.
  std::unique_ptr<std::atomic<std::uint64_t>[]> next;
};

enum class Phase : int { handshake, run, stop, done };

struct Shared {
  explicit Shared(const Options& o)
      : pub(o.pubs), sub(o.subs * o.subjects), subject_subs(o.subjects) {
    for (auto& s : sub) s.next = std::make_unique<std::atomic<std::uint64_t>[]>(o.pubs);
    for (std::size_t j = 0; j < sub.size(); ++j) subject_subs[j % o.subjects].push_back(j);
  }
  std::vector<PubShared> pub;
  std::vector<SubShared> sub;
  std::vector<std::vector<std::size_t>> subject_subs;  // subscriber indices of each subject
  std::atomic<Phase> phase{Phase::handshake};          // main -> workers (release/acquire)
  std::atomic<std::uint64_t> run_start{0};             // now_ns() of run, set before it
  std::atomic<std::size_t> ready{0};                   // connections past the handshake
  std::atomic<std::size_t> failed{0};                  // connections dead before ready
  std::atomic<std::uint64_t> delivered{0};             // valid messages received (progress)
  std::atomic<std::uint64_t> bad_msgs{0};              // corrupt, misrouted or out of order
  std::atomic<std::uint64_t> gap_missing{0};           // messages skipped by a sequence jump
  std::atomic<std::uint64_t> conn_errors{0};  // connect failures, unexpected closes, garbage
  std::atomic<std::uint64_t> closed{0};       // connections the server closed
  std::atomic<std::uint64_t> server_errors{0};
  std::atomic<std::uint64_t> max_payload_refused{0};  // the server's max_payload when < --size
  std::vector<ringkit::UniqueFd> wake;                // one eventfd per worker
  std::unique_ptr<std::atomic<bool>[]> want_wake;     // worker t waits for window progress
  std::mutex report_mu;
  std::set<std::string> seen_errors;  // distinct -ERR texts printed so far
  std::atomic<int> details_left{10};  // verification failures described on stderr
};

void wake(Shared& sh, std::size_t t) {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t w = ::write(sh.wake[t].get(), &one, sizeof one);
}

/// Describes one failure on stderr (the first ten only), as one write so threads do not mix.
template <typename... Args>
void detail(Shared& sh, const char* fmt, Args... args) {
  if (sh.details_left.fetch_sub(1, std::memory_order_relaxed) <= 0) return;
  char text[512];
  std::snprintf(text, sizeof text, fmt, args...);  // NOLINT(cert-err33-c): truncation is fine
  std::fprintf(stderr, "%s: %s\n", kTool, text);
}

struct Conn {
  ringkit::UniqueFd fd;
  bool is_pub = false;
  std::size_t index = 0;  // publisher i or subscriber j
  std::size_t subject = 0;
  std::string subject_name;
  std::string pub_header;  // "PUB feed.k SIZE\r\n"
  Buffer in;
  Buffer out;
  enum class State { wait_info, wait_pong, ready } state = State::wait_info;
  int pings = 0;  // PINGs sent and not yet answered
  bool dead = false;
  bool blocked = false;  // a write returned EAGAIN: waiting for EPOLLOUT
  bool got_err = false;  // the server sent -ERR (a close after it is expected)
  bool final_ping = false;
  std::uint64_t seq = 0;  // publisher: next sequence to build
};

class Worker {
 public:
  Worker(const Options& o, Shared& sh, std::vector<Conn>& conns, std::size_t t, Histogram& hist)
      : o_(o), sh_(sh), conns_(conns), t_(t), hist_(hist), body_(o.size) {}

  void run() {
    ringkit::UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = UINT64_MAX;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, sh_.wake[t_].get(), &ev);
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = i;
      ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, conns_[i].fd.get(), &ev);
    }
    epoll_event evs[256];
    for (;;) {
      const Phase phase = sh_.phase.load(std::memory_order_acquire);
      if (phase == Phase::done) break;
      if (phase == Phase::run && run_start_ == 0) {
        run_start_ = sh_.run_start.load(std::memory_order_relaxed);
      }
      int timeout = 100;
      bool window_blocked = pump_publishers(phase, timeout);
      if (window_blocked) {
        // Ask the subscribers' threads for a wake-up, then look again (a Dekker pair with the
        // fence in after_reads(): either they see the flag or we see their progress).
        sh_.want_wake[t_].store(true, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        window_blocked = pump_publishers(phase, timeout);
        if (window_blocked) timeout = std::min(timeout, 20);  // the fallback if a wake is lost
      }
      const int n = ::epoll_wait(ep.get(), evs, 256, timeout);
      progressed_ = false;
      for (int k = 0; k < n; ++k) {
        if (evs[k].data.u64 == UINT64_MAX) {
          std::uint64_t v = 0;
          [[maybe_unused]] const ssize_t r = ::read(sh_.wake[t_].get(), &v, sizeof v);
          continue;
        }
        Conn& c = conns_[evs[k].data.u64];
        if (c.dead) continue;
        if ((evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) receive(c);
        if (!c.dead && (evs[k].events & EPOLLOUT) != 0) {
          c.blocked = false;
          flush(c);
        }
      }
      if (progressed_) after_reads();
    }
  }

 private:
  /// Queues and writes what each publisher may send now; true if one waits for the window.
  bool pump_publishers(Phase phase, int& timeout) {
    bool window_blocked = false;
    for (auto& c : conns_) {
      if (!c.is_pub || c.dead || c.state != Conn::State::ready) continue;
      if (phase == Phase::run) {
        window_blocked |= publish(c, timeout);
      } else if (phase == Phase::stop && !c.final_ping) {
        c.final_ping = true;
        ++c.pings;
        c.out.append("PING\r\n");
      }
      if (!c.blocked) flush(c);
    }
    return window_blocked;
  }

  /// The messages publisher `c` may send now (window, --messages and --rate).
  std::uint64_t allowance(const Conn& c, int& timeout, bool& by_window) {
    std::uint64_t floor = UINT64_MAX;
    for (const std::size_t j : sh_.subject_subs[c.subject]) {
      if (!sh_.sub[j].live.load(std::memory_order_acquire)) continue;
      floor = std::min(floor, sh_.sub[j].next[c.index].load(std::memory_order_acquire));
    }
    std::uint64_t allowed = floor == UINT64_MAX ? o_.window : floor + o_.window - c.seq;
    by_window = allowed == 0;
    if (o_.messages != 0) allowed = std::min(allowed, o_.messages - c.seq);
    if (o_.rate != 0 && allowed != 0) {
      const std::uint64_t elapsed = now_ns() - run_start_;
      const auto due = static_cast<std::uint64_t>(static_cast<double>(elapsed) * 1e-9 *
                                                  static_cast<double>(o_.rate)) +
                       1;
      if (due <= c.seq) {
        const auto at = static_cast<std::uint64_t>(static_cast<double>(c.seq) * 1e9 /
                                                   static_cast<double>(o_.rate));
        const auto ms = static_cast<int>((at - std::min(at, elapsed)) / 1000000 + 1);
        timeout = std::min(timeout, ms);
        return 0;
      }
      allowed = std::min(allowed, due - c.seq);
    }
    return allowed;
  }

  /// Builds and writes PUBs until the allowance or the socket runs out; true if the window
  /// is what stopped it.
  bool publish(Conn& c, int& timeout) {
    const std::size_t wire = c.pub_header.size() + o_.size + 2;
    const std::size_t batch = std::max<std::size_t>(1, kBuildAhead / wire);
    for (;;) {
      if (c.out.size() > 0) flush(c);
      if (c.dead || c.blocked) return false;
      bool by_window = false;
      std::uint64_t n = allowance(c, timeout, by_window);
      if (n == 0) return by_window;
      n = std::min<std::uint64_t>(n, batch);
      unsigned char* p = c.out.reserve(n * wire);
      for (std::uint64_t m = 0; m < n; ++m) {
        std::copy(c.pub_header.begin(), c.pub_header.end(), p);
        unsigned char* msg = p + c.pub_header.size();
        const std::uint64_t head[3] = {c.index, c.seq, now_ns()};
        std::memcpy(msg, head, sizeof head);
        fill_body(c.index, c.seq, o_.size, msg + kHeaderBytes);
        const std::uint64_t sum = checksum(msg, o_.size - 8);
        std::memcpy(msg + o_.size - 8, &sum, 8);
        msg[o_.size] = '\r';
        msg[o_.size + 1] = '\n';
        p += wire;
        ++c.seq;
      }
      c.out.commit(n * wire);
      sh_.pub[c.index].published.store(c.seq, std::memory_order_release);
    }
  }

  void flush(Conn& c) {
    while (!c.dead && c.out.size() > 0) {
      const ssize_t w = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          c.blocked = errno == EAGAIN;
          if (c.blocked) return;
          continue;
        }
        fail(c, "write failed: " + ringkit::tools::errno_text(errno));
        return;
      }
      c.out.consume(static_cast<std::size_t>(w));
    }
  }

  /// The connection ended (`why`); a subscriber is cut off, a publisher is done.
  void fail(Conn& c, const std::string& why, bool by_server = false) {
    if (c.dead) return;
    c.dead = true;
    const bool expected = sh_.phase.load(std::memory_order_acquire) == Phase::done;
    if (by_server) sh_.closed.fetch_add(1, std::memory_order_relaxed);
    if (!expected && !c.got_err) {
      sh_.conn_errors.fetch_add(1, std::memory_order_relaxed);
      detail(sh_, "%s %zu: %s", c.is_pub ? "publisher" : "subscriber", c.index, why.c_str());
    }
    if (c.state != Conn::State::ready) sh_.failed.fetch_add(1, std::memory_order_release);
    if (c.is_pub) {
      sh_.pub[c.index].done.store(true, std::memory_order_release);
    } else {
      if (by_server) sh_.sub[c.index].cut_off.store(true, std::memory_order_relaxed);
      sh_.sub[c.index].live.store(false, std::memory_order_release);
      progressed_ = true;  // a publisher may be waiting for this one
    }
  }

  void receive(Conn& c) {
    std::size_t want = 16384;
    for (;;) {
      unsigned char* dst = c.in.reserve(want);
      const ssize_t r = ::recv(c.fd.get(), dst, c.in.room(), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) fail(c, "read failed: " + ringkit::tools::errno_text(errno), true);
        return;
      }
      if (r == 0) {
        fail(c, "connection closed by the server", true);
        return;
      }
      c.in.commit(static_cast<std::size_t>(r));
      want = parse(c, now_ns());
      if (c.dead) return;
      if (c.out.size() > 0 && !c.blocked) flush(c);
    }
  }

  /// Handles every complete protocol item in c.in; returns the room the next read needs.
  std::size_t parse(Conn& c, std::uint64_t now) {
    for (;;) {
      const auto* base = c.in.data();
      const std::size_t avail = c.in.size();
      const auto* nl = static_cast<const unsigned char*>(std::memchr(base, '\n', avail));
      if (nl == nullptr) {
        if (avail > kMaxLine) fail(c, "protocol line longer than 64 KiB");
        return 16384;
      }
      const std::size_t line_end = static_cast<std::size_t>(nl - base) + 1;
      if (line_end < 2 || base[line_end - 2] != '\r') {
        fail(c, "protocol line not ended by CRLF");
        return 0;
      }
      const std::string_view line(reinterpret_cast<const char*>(base), line_end - 2);
      if (line.rfind("MSG ", 0) == 0) {
        std::size_t bytes = 0;
        if (!msg_size(line, bytes)) {
          bad_line(c, line);
          return 0;
        }
        const std::size_t need = line_end + bytes + 2;
        if (avail < need) return std::max<std::size_t>(16384, need - avail);
        if (base[line_end + bytes] != '\r' || base[line_end + bytes + 1] != '\n') {
          fail(c, "MSG payload not followed by CRLF");
          return 0;
        }
        on_msg(c, line, base + line_end, bytes, now);
        c.in.consume(need);
        continue;
      }
      c.in.consume(line_end);
      if (line == "PING") {
        c.out.append("PONG\r\n");
      } else if (line == "PONG") {
        on_pong(c);
      } else if (line == "+OK") {
      } else if (line.rfind("-ERR", 0) == 0) {
        on_err(c, line);
      } else if (line.rfind("INFO ", 0) == 0) {
        on_info(c, line);
      } else {
        bad_line(c, line);
      }
      if (c.dead) return 0;
    }
  }

  /// The #bytes of "MSG <subject> <sid> [reply] <#bytes>".
  static bool msg_size(std::string_view line, std::size_t& bytes) {
    const auto sp = line.rfind(' ');
    std::uint64_t v = 0;
    if (!ringkit::tools::parse_count(line.substr(sp + 1), v)) return false;
    bytes = static_cast<std::size_t>(v);
    return v <= (64u << 20);
  }

  void bad_line(Conn& c, std::string_view line) {
    const std::string shown(line.substr(0, 80));
    fail(c, "unexpected protocol line '" + shown + "'");
  }

  void on_info(Conn& c, std::string_view line) {
    if (c.state != Conn::State::wait_info) return;  // later INFOs (cluster updates) are ignored
    const auto at = line.find("\"max_payload\":");
    if (at != std::string_view::npos) {
      std::uint64_t v = 0;
      std::size_t used = 0;
      if (ringkit::tools::parse_u64(line.substr(at + 14), v, used) && v < o_.size) {
        sh_.max_payload_refused.store(v, std::memory_order_relaxed);
        c.got_err = true;  // not a connection error: a usage error, reported by main
        fail(c, "max_payload");
        return;
      }
    }
    c.out.append(kConnect);
    if (!c.is_pub) {
      c.out.append("SUB " + c.subject_name + " " + std::to_string(c.index + 1) + "\r\n");
    }
    c.out.append("PING\r\n");
    ++c.pings;
    c.state = Conn::State::wait_pong;
  }

  void on_pong(Conn& c) {
    if (c.pings == 0) {
      fail(c, "PONG without a PING");
      return;
    }
    --c.pings;
    if (c.state == Conn::State::wait_pong) {
      c.state = Conn::State::ready;
      sh_.ready.fetch_add(1, std::memory_order_release);
    } else if (c.is_pub && c.final_ping && c.pings == 0) {
      sh_.pub[c.index].done.store(true, std::memory_order_release);
    }
  }

  void on_err(Conn& c, std::string_view line) {
    sh_.server_errors.fetch_add(1, std::memory_order_relaxed);
    c.got_err = true;
    {
      const std::lock_guard<std::mutex> lock(sh_.report_mu);
      if (sh_.seen_errors.emplace(line).second) {
        std::fprintf(stderr, "%s: server error on %s %zu: %.*s\n", kTool,
                     c.is_pub ? "publisher" : "subscriber", c.index, static_cast<int>(line.size()),
                     line.data());
      }
    }
    if (!c.is_pub && line.find("Slow Consumer") != std::string_view::npos) {
      sh_.sub[c.index].cut_off.store(true, std::memory_order_relaxed);
      sh_.sub[c.index].live.store(false, std::memory_order_release);
      progressed_ = true;
    }
  }

  void on_msg(Conn& c, std::string_view line, const unsigned char* p, std::size_t bytes,
              std::uint64_t now) {
    if (c.is_pub || c.state != Conn::State::ready) {
      bad(c, "MSG on a connection without a confirmed subscription");
      return;
    }
    // "MSG <subject> <sid> [reply] <#bytes>"
    const std::string_view rest = line.substr(4);
    const auto sp1 = rest.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : rest.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || rest.substr(0, sp1) != c.subject_name ||
        rest.substr(sp1 + 1, sp2 - sp1 - 1) != std::to_string(c.index + 1)) {
      bad(c, "MSG for another subscription: '" + std::string(line.substr(0, 80)) + "'");
      return;
    }
    if (bytes != o_.size) {
      bad(c, "MSG of " + std::to_string(bytes) + " bytes, sent " + std::to_string(o_.size));
      return;
    }
    std::uint64_t head[3];
    std::memcpy(head, p, sizeof head);
    std::uint64_t sum = 0;
    std::memcpy(&sum, p + bytes - 8, 8);
    if (checksum(p, bytes - 8) != sum) {
      bad(c, "checksum mismatch");
      return;
    }
    const std::uint64_t pub = head[0];
    const std::uint64_t seq = head[1];
    if (pub >= o_.pubs || pub % o_.subjects != c.subject) {
      bad(c, "message of publisher " + std::to_string(pub) + " on " + c.subject_name);
      return;
    }
    fill_body(pub, seq, o_.size, body_.data());
    if (std::memcmp(body_.data(), p + kHeaderBytes, o_.size - kHeaderBytes - 8) != 0) {
      bad(c, "payload differs from the pattern (publisher " + std::to_string(pub) + " seq " +
                 std::to_string(seq) + ")");
      return;
    }
    auto& next = sh_.sub[c.index].next[pub];
    const std::uint64_t want = next.load(std::memory_order_relaxed);
    if (seq < want) {
      bad(c, "publisher " + std::to_string(pub) + " seq " + std::to_string(seq) +
                 " again or out of order (expected " + std::to_string(want) + ")");
      return;
    }
    if (seq > want) {
      sh_.gap_missing.fetch_add(seq - want, std::memory_order_relaxed);
      detail(sh_,
             "subscriber %zu: publisher %" PRIu64 " seq %" PRIu64 ", expected %" PRIu64 " (%" PRIu64
             " missing)",
             c.index, pub, seq, want, seq - want);
    }
    next.store(seq + 1, std::memory_order_release);
    hist_.add(now > head[2] ? now - head[2] : 0);
    ++delivered_batch_;
    progressed_ = true;
  }

  void bad(Conn& c, const std::string& what) {
    sh_.bad_msgs.fetch_add(1, std::memory_order_relaxed);
    detail(sh_, "subscriber %zu: %s", c.index, what.c_str());
  }

  /// After a round of reads: publish the count and wake threads whose publishers wait.
  void after_reads() {
    sh_.delivered.fetch_add(delivered_batch_, std::memory_order_relaxed);
    delivered_batch_ = 0;
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pair: the fence in run()
    for (std::size_t u = 0; u < sh_.wake.size(); ++u) {
      if (u == t_) continue;  // this thread looks at its publishers next anyway
      if (sh_.want_wake[u].load(std::memory_order_relaxed) &&
          sh_.want_wake[u].exchange(false, std::memory_order_relaxed)) {
        wake(sh_, u);
      }
    }
  }

  const Options& o_;
  Shared& sh_;
  std::vector<Conn>& conns_;
  std::size_t t_;
  Histogram& hist_;
  std::vector<unsigned char> body_;  // the expected pattern of one message
  std::uint64_t run_start_ = 0;
  std::uint64_t delivered_batch_ = 0;
  bool progressed_ = false;
};

/// Prints the summary; returns the exit status.
struct Summary {
  double secs = 0;
  std::uint64_t published = 0, expected = 0, delivered = 0, missing = 0, drops = 0;
  std::uint64_t errors = 0, bad_msgs = 0, conn_errors = 0, closed = 0, server_errors = 0;
  Histogram h;
};

int report(const Options& o, const Summary& r) {
  const double mps = r.secs > 0 ? static_cast<double>(r.delivered) / r.secs : 0;
  const double mbs = mps * static_cast<double>(o.size) / 1e6;
  const double p50 = static_cast<double>(r.h.quantile(0.50)) / 1e3;
  const double p99 = static_cast<double>(r.h.quantile(0.99)) / 1e3;
  const double p999 = static_cast<double>(r.h.quantile(0.999)) / 1e3;
  const double mx = static_cast<double>(r.h.max()) / 1e3;
  if (o.json) {
    std::printf(
        "{\"label\":\"%s\",\"pubs\":%zu,\"subs\":%zu,\"subjects\":%zu,\"sub_conns\":%zu,"
        "\"size\":%zu,\"window\":%" PRIu64 ",\"rate\":%" PRIu64
        ",\"seconds\":%.3f,\"published\":%" PRIu64 ",\"expected\":%" PRIu64
        ",\"delivered\":%" PRIu64
        ",\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
        "\"p999_us\":%.1f,\"max_us\":%.1f,\"errors\":%" PRIu64 ",\"missing\":%" PRIu64
        ",\"bad_msgs\":%" PRIu64 ",\"conn_errors\":%" PRIu64 ",\"closed\":%" PRIu64
        ",\"slow_consumer_drops\":%" PRIu64 ",\"server_errors\":%" PRIu64 "}\n",
        o.label.c_str(), o.pubs, o.subs, o.subjects, o.subs * o.subjects, o.size, o.window, o.rate,
        r.secs, r.published, r.expected, r.delivered, mps, mbs, p50, p99, p999, mx, r.errors,
        r.missing, r.bad_msgs, r.conn_errors, r.closed, r.drops, r.server_errors);
  } else {
    std::printf("RESULT label=%s pubs=%zu subs=%zu subjects=%zu size=%zu window=%" PRIu64
                " rate=%" PRIu64 " seconds=%.2f published=%" PRIu64 " delivered=%" PRIu64
                " msgs_per_s=%.0f mb_per_s=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f"
                " max_us=%.1f errors=%" PRIu64 " missing=%" PRIu64 " bad_msgs=%" PRIu64
                " conn_errors=%" PRIu64 " closed=%" PRIu64 " slow_consumer_drops=%" PRIu64
                " server_errors=%" PRIu64 "\n",
                o.label.c_str(), o.pubs, o.subs, o.subjects, o.size, o.window, o.rate, r.secs,
                r.published, r.delivered, mps, mbs, p50, p99, p999, mx, r.errors, r.missing,
                r.bad_msgs, r.conn_errors, r.closed, r.drops, r.server_errors);
  }
  std::fflush(stdout);
  return r.errors == 0 && r.server_errors == 0 && r.delivered > 0 ? 0 : 1;
}

/// The options; `done` set when the run is over already (--help, --version).
Options parse_options(int argc, char** argv, bool& done) {
  Options o;
  bool have_target = false;
  ringkit::tools::Args a(kTool, argc, argv);
  while (a.next()) {
    const std::string& n = a.name();
    if (n == "--help" || n == "-h") {
      usage();
      done = true;
      return o;
    } else if (n == "--version") {
      std::printf("%s %s\n", kTool, ringkit::kVersionString);
      done = true;
      return o;
    } else if (n == "--target") {
      o.target = a.endpoint_value();
      have_target = true;
    } else if (n == "--pubs") {
      o.pubs = a.count_value();
    } else if (n == "--subs") {
      o.subs = a.count_value();
    } else if (n == "--subjects") {
      o.subjects = a.count_value();
    } else if (n == "--size") {
      o.size = a.size_value();
    } else if (n == "--rate") {
      o.rate = a.count_value();
    } else if (n == "--window") {
      o.window = a.count_value();
    } else if (n == "--duration") {
      o.duration = a.duration_value();
    } else if (n == "--messages") {
      o.messages = a.count_value();
    } else if (n == "--threads") {
      o.threads = static_cast<unsigned>(a.count_value());
    } else if (n == "--label") {
      o.label = a.value();
    } else if (n == "--json") {
      o.json = true;
    } else if (n == "--quiet") {
      o.quiet = true;
    } else {
      a.unknown();
    }
  }
  using ringkit::tools::usage_error;
  if (!have_target) usage_error(kTool, "--target HOST:PORT is required");
  if (o.pubs == 0 || o.pubs > 10000) usage_error(kTool, "--pubs must be 1..10000");
  if (o.subs == 0 || o.subs > 10000) usage_error(kTool, "--subs must be 1..10000");
  if (o.subjects == 0 || o.subjects > o.pubs) {
    usage_error(kTool, "--subjects must be 1..--pubs (every subject needs a publisher)");
  }
  if (o.subs * o.subjects + o.pubs > 100000) {
    usage_error(kTool, "--subs x --subjects + --pubs must be at most 100000 connections");
  }
  if (o.size < kMinSize || o.size > (64u << 20)) {
    usage_error(kTool, "--size must be 32B..64MiB (24 header bytes and an 8-byte checksum)");
  }
  if (o.window == 0 || o.window > 10000000) usage_error(kTool, "--window must be 1..10000000");
  if (o.rate > 100000000) usage_error(kTool, "--rate must be at most 100000000");
  if (o.threads == 0 || o.threads > 64) usage_error(kTool, "--threads must be 1..64");
  if (o.duration <= std::chrono::nanoseconds::zero() && o.messages == 0) {
    usage_error(kTool, "--duration must be positive");
  }
  if (o.label.empty())
    o.label = ringkit::net::host_for_port(o.target.host) + ":" + std::to_string(o.target.port);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringkit;
  bool done = false;
  const Options o = parse_options(argc, argv, done);
  if (done) return 0;
  tools::install_stop_signals();
  const auto resolved = ringkit::net::resolve_tcp(o.target.host, o.target.port);
  if (!resolved) {
    tools::usage_error(kTool,
                       "--target: cannot resolve '" + o.target.host + "': " + resolved.message());
  }
  const ringkit::net::SocketAddress addr = *resolved;
  const std::size_t sub_conns = o.subs * o.subjects;
  const std::size_t total = sub_conns + o.pubs;
  const auto threads = static_cast<unsigned>(std::min<std::size_t>(o.threads, total));
  Shared sh(o);
  Summary r;
  // Connections: subscriber j on thread j % T, publisher i on thread i % T.
  std::vector<std::vector<Conn>> per(threads);
  for (std::size_t k = 0; k < total; ++k) {
    int err = 0;
    UniqueFd fd = tools::connect_tcp(addr, kConnectTimeout, err);
    if (!fd) {
      std::fprintf(stderr, "%s: connect to %s:%u failed: %s\n", kTool,
                   ringkit::net::host_for_port(o.target.host).c_str(), o.target.port,
                   tools::errno_text(err).c_str());
      r.conn_errors = r.errors = 1;
      return report(o, r);
    }
    Conn c;
    c.fd = std::move(fd);
    c.is_pub = k >= sub_conns;
    c.index = c.is_pub ? k - sub_conns : k;
    c.subject = c.index % o.subjects;
    c.subject_name = "feed." + std::to_string(c.subject);
    c.pub_header = "PUB " + c.subject_name + " " + std::to_string(o.size) + "\r\n";
    per[c.index % threads].push_back(std::move(c));
  }
  for (unsigned t = 0; t < threads; ++t) {
    sh.wake.emplace_back(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }
  sh.want_wake = std::make_unique<std::atomic<bool>[]>(threads);
  std::vector<Histogram> hists(threads);
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] { Worker(o, sh, per[t], t, hists[t]).run(); });
  }
  auto set_phase = [&](Phase p) {
    sh.phase.store(p, std::memory_order_release);
    for (unsigned t = 0; t < threads; ++t) wake(sh, t);
  };
  auto finish = [&] {
    set_phase(Phase::done);
    for (auto& t : ts) t.join();
  };

  // 1. Every connection: INFO, CONNECT, (SUB), PING answered.
  const auto hs_deadline = Clock::now() + kHandshakeTimeout;
  while (sh.ready.load(std::memory_order_acquire) + sh.failed.load(std::memory_order_acquire) <
             total &&
         Clock::now() < hs_deadline && tools::g_signal == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (const std::uint64_t mp = sh.max_payload_refused.load(); mp != 0) {
    finish();
    tools::usage_error(kTool, "--size " + std::to_string(o.size) + " is above the server's " +
                                  "max_payload " + std::to_string(mp));
  }
  const std::size_t ready = sh.ready.load(std::memory_order_acquire);
  if (ready < total) {
    std::fprintf(stderr, "%s: %zu of %zu connections did not complete the handshake\n", kTool,
                 total - ready, total);
    finish();
    r.conn_errors = std::max<std::uint64_t>(sh.conn_errors.load(), total - ready);
    r.server_errors = sh.server_errors.load();
    r.errors = r.conn_errors;
    return report(o, r);
  }

  // 2. Publish until the duration (or --messages) is done.
  const auto t0 = Clock::now();
  sh.run_start.store(now_ns(), std::memory_order_relaxed);
  set_phase(Phase::run);
  const bool tty = !o.quiet && ::isatty(STDERR_FILENO) == 1;
  auto last = t0;
  std::uint64_t last_delivered = 0;
  auto all_published = [&] {
    if (o.messages == 0) return false;
    for (const auto& p : sh.pub) {
      if (p.published.load(std::memory_order_acquire) < o.messages && !p.done.load()) return false;
    }
    return true;
  };
  auto progress = [&](Clock::time_point now) {
    if (!tty || now - last < std::chrono::seconds(1)) return;
    const std::uint64_t d = sh.delivered.load(std::memory_order_relaxed);
    const double secs = std::chrono::duration<double>(now - last).count();
    std::fprintf(stderr,
                 "\r  %-24s %10.0f msgs/s delivered  %12" PRIu64 " msgs  %" PRIu64 " errors   ",
                 o.label.c_str(), static_cast<double>(d - last_delivered) / secs, d,
                 sh.bad_msgs.load() + sh.conn_errors.load() + sh.gap_missing.load());
    last = now;
    last_delivered = d;
  };
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto now = Clock::now();
    progress(now);
    if (tools::g_signal != 0 || all_published() || (o.messages == 0 && now - t0 >= o.duration)) {
      break;
    }
  }

  // 3. Stop: a final PING per publisher, then every live subscriber catches up (bounded).
  set_phase(Phase::stop);
  const auto drain_deadline = Clock::now() + kDrainTimeout;
  auto caught_up = [&] {
    for (const auto& p : sh.pub) {
      if (!p.done.load(std::memory_order_acquire)) return false;
    }
    for (std::size_t j = 0; j < sub_conns; ++j) {
      if (!sh.sub[j].live.load(std::memory_order_acquire)) continue;
      for (std::size_t i = j % o.subjects; i < o.pubs; i += o.subjects) {
        if (sh.sub[j].next[i].load(std::memory_order_acquire) <
            sh.pub[i].published.load(std::memory_order_acquire)) {
          return false;
        }
      }
    }
    return true;
  };
  while (!caught_up() && Clock::now() < drain_deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    progress(Clock::now());
  }
  const auto t1 = Clock::now();
  finish();
  if (tty) std::fprintf(stderr, "\n");

  // 4. Account.
  r.secs = std::chrono::duration<double>(t1 - t0).count();
  for (const auto& x : hists) r.h.merge(x);
  for (std::size_t i = 0; i < o.pubs; ++i) {
    const std::uint64_t n = sh.pub[i].published.load();
    r.published += n;
    r.expected += n * o.subs;
  }
  for (std::size_t j = 0; j < sub_conns; ++j) {
    std::uint64_t lost = 0;
    for (std::size_t i = j % o.subjects; i < o.pubs; i += o.subjects) {
      const std::uint64_t got = sh.sub[j].next[i].load();
      const std::uint64_t sent = sh.pub[i].published.load();
      lost += sent > got ? sent - got : 0;
    }
    if (sh.sub[j].cut_off.load()) {
      r.drops += lost;
    } else {
      r.missing += lost;
    }
  }
  const std::uint64_t skipped = sh.gap_missing.load();
  if (r.missing != 0) {
    std::fprintf(stderr, "%s: %" PRIu64 " messages not received by the end\n", kTool, r.missing);
  }
  if (skipped != 0) {
    std::fprintf(stderr, "%s: %" PRIu64 " messages skipped (sequence jumps)\n", kTool, skipped);
  }
  r.missing += skipped;
  r.delivered = r.h.total();
  r.bad_msgs = sh.bad_msgs.load();
  r.conn_errors = sh.conn_errors.load();
  r.closed = sh.closed.load();
  r.server_errors = sh.server_errors.load();
  for (const auto& p : sh.pub) {
    if (!p.done.load()) ++r.conn_errors;  // no final PONG within the drain deadline
  }
  r.errors = r.missing + r.bad_msgs + r.conn_errors;
  return report(o, r);
}
