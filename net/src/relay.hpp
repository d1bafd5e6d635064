// Private to net/src: the relay state machine shared by the proxy and the echo server, for both
// backends (io_uring and Asio are thin I/O shims under it, see proxy_uring.cpp / proxy_asio.cpp).
//
// A connection has one or two directions. The proxy has two (client -> upstream, upstream ->
// client) over two sockets; the echo server has one whose source and destination are the same
// socket. Per direction the relay keeps: the ring (attached only while there are bytes to move),
// whether a read and a write are armed, whether the source reached EOF and whether the
// destination was shut down. The rules, identical on both backends because they live here:
//
//   - read: with no ring attached the read is a readiness wait (poll); once the source is
//     readable a ring is taken from the worker's pool and a receive is armed into its free space,
//     and re-armed while the connection is active: after the send of what it brought has emptied
//     the ring (which is then rewound to offset 0, so messages keep landing in the same first
//     pages), or at once while a send lags behind (the destination is the slower side). A
//     connection idle for a whole tick with an empty ring has its receive cancelled (where the
//     backend can cancel one operation) and goes back to a readiness wait, so a quiet connection
//     holds no ring. A full ring is not read (backpressure).
//   - read, multishot (a backend with start_recv_multishot / multishot_recv: io_uring with
//     provided buffers): one receive stays armed per direction and holds no ring; each arrival
//     (on_data) is copied into the ring, taken from the pool if needed. When less than a quarter
//     of the ring is free the receive is cancelled (throttled); arrivals already under way go to
//     the direction's spill, which sends drain into the ring first; the receive is re-armed once
//     the spill is empty and the ring has room. Running out of provided buffers only re-arms.
//     A direction whose arrivals pile up in the ring (8 KiB waiting: a bulk stream) cancels its
//     multishot receive and receives straight into the ring as above, until a receive brings
//     less than 4 KiB or the direction parks: then it returns to multishot.
//   - write: armed whenever the ring holds data; consumes what the kernel took. A completion of
//     zero bytes is impossible for a non-empty send, so it is treated as an error, never ignored.
//   - half-close: source EOF and ring drained -> shutdown(SHUT_WR) of the destination.
//   - the ring goes back to the pool when it is empty and neither a receive nor a send holds it.
//   - end: every direction shut -> `completed`; any error, reset, timeout, failed submission or
//     the end of the drain time closes both sockets, and the connection ends in exactly one
//     counter (counted when it is destroyed, with `active`).
//   - one 100 ms tick per worker enforces connect and idle timeouts and the drain on stop.
//
// The backend calls on_accepted / on_connected / on_readable / on_read / on_data / on_written /
// tick; the relay calls the backend's unopened_socket / open_upstream / start_connect /
// start_poll / start_recv / start_recv_multishot (optional) / start_send / cancel_read /
// shut_send / abort_io / close_listener (CRTP: no virtual calls). A
// start_* returning an error other than Errc::ok closes the connection with `submit_failures` and
// one log line: nothing ever stalls.
//
// Thread safety: one Relay per worker thread, single-owner. The counters are written only by
// their worker and read (relaxed) by stats() on any thread.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <netinet/in.h>

#include <ringkit/detail/config.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/result.hpp>
#include <ringkit/unique_fd.hpp>

#include "fd_budget.hpp"
#include "ring_pool.hpp"

namespace ringkit::net::detail {

/// How a connection ended: each one ends in exactly one of these.
enum class End : std::uint8_t {
  completed,         ///< every direction finished with a clean half-close
  rejected,          ///< closed at accept: the connection or the descriptor limit was reached
  upstream_refused,  ///< the upstream connect failed
  connect_timeout,   ///< the upstream did not answer within the connect timeout
  idle_timeout,      ///< no traffic for the idle timeout
  reset,             ///< a peer reset the connection (ECONNRESET, EPIPE)
  error,             ///< another I/O error, or no ring could be had
  submit_failure,    ///< an operation could not be submitted (op slots or queue exhausted)
  aborted,           ///< still open when the drain time after stop() ran out
};
inline constexpr std::size_t kEnds = 9;

/// One worker's counters: written by that worker only, read by any thread.
struct alignas(ringkit::kFalseSharingRange) RelayCounters {
  std::array<std::atomic<std::uint64_t>, kEnds> ends{};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> bytes_up{0};        ///< proxy: client -> upstream; echo: echoed
  std::atomic<std::uint64_t> bytes_down{0};      ///< proxy: upstream -> client
  std::atomic<std::uint64_t> rings_attached{0};  ///< rings held by connections now (a gauge)
  std::atomic<std::uint64_t> accept_errors{0};   ///< accepts that failed (retried on the tick)
};

/// Adds `n` to a single-writer counter (no read-modify-write instruction needed).
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  // (C1) single writer: relaxed load+store; pairs with (C2) in load(), counters carry no data.
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline void drop(std::atomic<std::uint64_t>& c) noexcept {
  // (C1) as in bump().
  c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}
[[nodiscard]] inline std::uint64_t load(const std::atomic<std::uint64_t>& c) noexcept {
  return c.load(std::memory_order_relaxed);  // (C2) pairs with (C1): a statistic, no data
}

/// Everything the relay needs to know about its server (the same for every worker).
struct RelayConfig {
  bool echo = false;       ///< one direction, source == destination; else proxy to `upstream`
  SocketAddress upstream;  ///< IPv4 or IPv6
  std::size_t ring_size = 0;
  bool mirrored = true;
  std::size_t max_conns = 0;
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds idle_timeout{0};  ///< 0: never
  std::size_t max_ops = 0;                    ///< io_uring op slab limit; 0: from max_conns
  /// Open connections (all workers) from which an io_uring worker accepts one connection at a
  /// time instead of multishot: a multishot accept takes the whole backlog, a descriptor each,
  /// before its handler runs, which must still fit under the descriptor limit. Set at start from
  /// RLIMIT_NOFILE; the default never switches.
  std::size_t multishot_accept_below = SIZE_MAX;
  /// Receives one line per event worth logging; runs on a worker thread.
  std::function<void(std::string_view)> log{};
};

/// Whether a RelayConfig::max_ops value from the options is acceptable: 0 (from max_conns) or
/// room for the worker's own two operations and at least two of a connection's.
[[nodiscard]] constexpr bool valid_max_ops(std::size_t n) noexcept {
  return n == 0 || (n >= 4 && n <= (std::size_t{1} << 30));
}

/// The messages of check_relay_limits, one set per options struct (a Result's context is a
/// static string, so each struct spells its own name in its own literals).
struct RelayLimitTexts {
  const char* threads;
  const char* ring_size;
  const char* max_conns;
  const char* max_ops;
};

/// Checks the limits every relay server's options share (ProxyOptions, EchoOptions): `threads`
/// 1..256, `ring_size` a power of two >= 4096, `max_conns` 1..2^24, `max_ops` valid_max_ops.
template <class Options>
[[nodiscard]] Result<void> check_relay_limits(const Options& o, const RelayLimitTexts& text) {
  if (o.threads == 0 || o.threads > 256) return unexpected(Errc::invalid_argument, text.threads);
  if (o.ring_size < 4096 || (o.ring_size & (o.ring_size - 1)) != 0) {
    return unexpected(Errc::invalid_argument, text.ring_size);
  }
  if (o.max_conns == 0 || o.max_conns > (std::size_t{1} << 24)) {
    return unexpected(Errc::invalid_argument, text.max_conns);
  }
  if (!valid_max_ops(o.max_ops)) return unexpected(Errc::invalid_argument, text.max_ops);
  return {};
}

/// State shared by a server and its workers.
struct RelayShared {
  RelayConfig cfg;
  std::vector<std::unique_ptr<RelayCounters>> counters;  ///< one per worker, fixed at start
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> drain_deadline_ns{0};  ///< steady_clock ns
  std::atomic<std::size_t> open{0};                ///< connections open, all workers
};

/// steady_clock now in nanoseconds.
[[nodiscard]] std::int64_t now_ns() noexcept;

/// What an operation's completion means to the relay (mapped by the backend).
enum class Outcome : std::uint8_t { ok, eof, cancelled, reset, error };

/// A backend that can (start_recv_multishot) and, at run time, does (multishot_recv()) keep one
/// receive armed per direction into buffers of its own, delivering through Relay::on_data.
template <class Io, class Conn>
concept multishot_backend = requires(Io& io, Conn& c) {
  { io.start_recv_multishot(c, 0) } -> std::same_as<Errc>;
  { io.multishot_recv() } -> std::same_as<bool>;
};

/// The relay state machine; `Io` is the backend (derives from Relay<Io, Socket>).
template <class Io, class Socket>
class Relay {
 public:
  struct Dir {
    std::unique_ptr<MirrorByteRing> ring;  ///< attached while there are bytes to move
    std::uint8_t src = 0;                  ///< socket index of the source
    std::uint8_t dst = 0;                  ///< socket index of the destination
    bool reading = false;                  ///< a read (poll or receive) is armed
    bool read_holds_ring = false;  ///< ... and it is a receive into the ring (not a poll/multishot)
    bool throttled = false;  ///< the multishot receive is being cancelled (ring filling or bulk)
    bool bulk = false;  ///< a stream too fast for multishot copies: receive straight into the ring
    bool want_recv = false;  ///< the next read is a receive (source readable)
    bool parking = false;    ///< the receive is being cancelled (idle)
    bool writing = false;
    bool overlap = false;  ///< receives run beside sends (the destination is the slower side)
    bool src_eof = false;
    bool dst_shut = false;
    std::uint64_t read_op = 0;   ///< backend op id (for cancel)
    std::uint64_t write_op = 0;  ///< backend op id (for cancel)
    /// Multishot receive: bytes that arrived after the ring filled (before the cancel took
    /// effect); moved into the ring as sends make room, freed once empty.
    std::vector<std::byte> spill;
  };
  struct Conn {
    Conn(Socket a, Socket b) : sock{std::move(a), std::move(b)} {}
    std::array<Socket, 2> sock;  ///< [0] client, [1] upstream (unused by the echo server)
    std::array<Dir, 2> dir;
    std::uint8_t ndirs = 2;
    bool connected = false;
    bool closing = false;
    End end = End::completed;
    int ops = 0;  ///< operations in flight that reference this connection
    std::uint64_t connect_op = 0;
    std::int64_t last_activity = 0;
    std::int64_t connect_deadline = 0;
    std::size_t index = 0;  ///< position in conns_
  };

  static constexpr std::chrono::milliseconds kTick{100};
  /// Multishot arrivals waiting in the ring from which a direction turns bulk (two provided
  /// buffers' worth), and the direct receive below which it turns back.
  static constexpr std::size_t kBulkEnter = 8192;
  static constexpr std::size_t kBulkLeave = 4096;
  static constexpr std::uint64_t kTrimTicks = 10;  ///< RingPool::trim() once a second

  Relay(std::shared_ptr<RelayShared> sh, std::size_t worker)
      : sh_(std::move(sh)),
        cfg_(sh_->cfg),
        ctr_(*sh_->counters[worker]),
        pool_(cfg_.ring_size, cfg_.mirrored) {}

  /// The worker is done: stop() was called and every connection has ended.
  [[nodiscard]] bool finished() const noexcept { return stopped_ && conns_.empty(); }
  [[nodiscard]] std::size_t connections() const noexcept { return conns_.size(); }
  /// Most operations one connection has in flight at once (connect + two reads + two writes).
  static constexpr std::size_t kOpsPerConn = 5;

  // ---- called by the backend ----

  /// A new client connection (the socket is open).
  void on_accepted(Socket s) {
    accept_failing_ = false;
    bump(ctr_.accepted);
    // (O1) relaxed: a limit, not a synchronisation; pairs with (O2) in destroy().
    if (sh_->open.fetch_add(1, std::memory_order_relaxed) >= cfg_.max_conns) {
      sh_->open.fetch_sub(1, std::memory_order_relaxed);  // (O1)
      bump(ctr_.ends[static_cast<std::size_t>(End::rejected)]);
      return;  // `s` closes here
    }
    std::unique_ptr<Conn> owned;
    try {
      owned = std::make_unique<Conn>(std::move(s), self().unopened_socket());
      conns_.push_back(nullptr);
    } catch (const std::bad_alloc&) {
      sh_->open.fetch_sub(1, std::memory_order_relaxed);  // (O1)
      bump(ctr_.ends[static_cast<std::size_t>(End::error)]);
      log("out of memory for a connection");
      return;
    }
    Conn& c = *owned;
    c.index = conns_.size() - 1;
    conns_.back() = std::move(owned);
    bump(ctr_.active);
    c.last_activity = now_ns();
    if (cfg_.echo) {
      c.ndirs = 1;
      c.dir[0].src = 0;
      c.dir[0].dst = 0;
      c.connected = true;
      pump(c, 0);
      maybe_destroy(c);
      return;
    }
    c.dir[0].src = 0;
    c.dir[0].dst = 1;
    c.dir[1].src = 1;
    c.dir[1].dst = 0;
    c.connect_deadline =
        c.last_activity +
        std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.connect_timeout).count();
    if (const std::error_code ec = self().open_upstream(c)) {
      // Out of descriptors (a multishot accept's burst can outrun the budget fitted at start):
      // a capacity limit like max_conns, so `rejected`, logged once per streak.
      const bool no_fds =
          ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system;
      if (!no_fds) {
        log("upstream socket: " + ec.message());
      } else if (!fds_out_) {
        log("upstream socket: " + ec.message() +
            " (connections are rejected until descriptors are free; see rejected)");
      }
      fds_out_ = no_fds;
      close(c, no_fds ? End::rejected : End::error);
      maybe_destroy(c);
      return;
    }
    fds_out_ = false;
    const Errc e = self().start_connect(c);
    if (e != Errc::ok) {
      submit_failed(c, e, "connect");
    } else {
      ++c.ops;
    }
    maybe_destroy(c);
  }

  void on_connected(Conn& c, Outcome o) {
    --c.ops;
    c.connect_op = 0;
    if (!c.closing) {
      if (o == Outcome::ok) {
        c.connected = true;
        c.last_activity = now_ns();
        pump(c, 0);
        pump(c, 1);
      } else {
        close(c, End::upstream_refused);
      }
    }
    maybe_destroy(c);
  }

  /// A readiness wait on direction `d`'s source completed.
  void on_readable(Conn& c, int d, Outcome o) {
    --c.ops;
    Dir& x = c.dir[d];
    x.reading = false;
    x.read_op = 0;
    if (!c.closing) {
      if (o == Outcome::ok) {
        x.want_recv = true;
        pump(c, d);
      } else {
        close(c, end_of(o));
      }
    }
    maybe_destroy(c);
  }

  /// A receive on direction `d` completed; `n` bytes were committed to its ring.
  void on_read(Conn& c, int d, Outcome o, std::size_t n) {
    --c.ops;
    Dir& x = c.dir[d];
    x.reading = false;
    x.read_op = 0;
    const bool parked = x.parking;
    x.parking = false;
    if (!c.closing) {
      if (o == Outcome::ok) {
        if (n > 0) c.last_activity = now_ns();
        x.want_recv = n > 0;  // 0 bytes (nothing there after all): wait for readiness
        if (n < kBulkLeave)
          x.bulk = false;  // small again: back to multishot (if the backend has it)
        pump(c, d);
      } else {
        if (o == Outcome::cancelled && parked) {
          x.want_recv = false;  // idle: readiness, no ring
          x.bulk = false;
        }
        read_ended(c, d, o, parked);
      }
    }
    maybe_destroy(c);
  }

  /// A multishot receive on direction `d` delivered `data` (valid only during this call) or
  /// ended (`more` false: eof, cancelled, an error; ok with no data when the backend ran out of
  /// buffers: it is re-armed).
  void on_data(Conn& c, int d, Outcome o, std::span<const std::byte> data, bool more) {
    Dir& x = c.dir[d];
    const bool throttled = x.throttled;
    if (!more) {
      --c.ops;
      x.reading = false;
      x.read_op = 0;
      x.throttled = false;
    }
    if (!c.closing) {
      if (o == Outcome::ok) {
        if (!data.empty() && !take_in(c, d, data)) return maybe_destroy(c);
        pump(c, d);
      } else {
        read_ended(c, d, o, throttled);  // throttled: re-armed once sends have made room
      }
    }
    maybe_destroy(c);
  }

  /// A send on direction `d` completed; `n` bytes were consumed from its ring.
  void on_written(Conn& c, int d, Outcome o, std::size_t n) {
    --c.ops;
    Dir& x = c.dir[d];
    x.writing = false;
    x.write_op = 0;
    if (!c.closing) {
      if (o == Outcome::ok && n > 0) {
        c.last_activity = now_ns();
        bump(d == 0 ? ctr_.bytes_up : ctr_.bytes_down, n);
        x.overlap = x.ring->reader.size_hint() > 0;  // bytes left behind: the destination lags
        pump(c, d);
      } else if (o == Outcome::ok) {
        log("a send of a non-empty ring completed with 0 bytes; closing the connection");
        close(c, End::error);
      } else {
        close(c, end_of(o));
      }
    }
    maybe_destroy(c);
  }

  /// Every kTick: timeouts, and the drain once stop() was called.
  void tick() {
    const std::int64_t now = now_ns();
    if (++ticks_ % kTrimTicks == 0) pool_.trim();
    // (A1) acquire: pairs with (R1) in RelayServer::stop(), so the drain deadline is visible.
    if (!stopped_ && sh_->stopping.load(std::memory_order_acquire)) {
      stopped_ = true;
      self().close_listener();
    }
    const bool drain_over =
        stopped_ && now >= sh_->drain_deadline_ns.load(std::memory_order_relaxed);
    const std::int64_t idle_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.idle_timeout).count();
    constexpr std::int64_t tick_ns = std::chrono::nanoseconds(kTick).count();
    // Backwards: destroying one moves the last into its place.
    for (std::size_t i = conns_.size(); i-- > 0;) {
      Conn& c = *conns_[i];
      if (c.closing) continue;
      if (drain_over) {
        close(c, End::aborted);
      } else if (!c.connected && now >= c.connect_deadline) {
        close(c, End::connect_timeout);
      } else if (idle_ns > 0 && now - c.last_activity >= idle_ns) {
        close(c, End::idle_timeout);
      } else if (c.connected && now - c.last_activity >= tick_ns) {
        park_idle(c);
      }
      maybe_destroy(c);
    }
  }

  /// Logs one line through the configured callback (if any).
  void log(std::string_view what) const {
    if (cfg_.log) {
      try {
        cfg_.log(what);
      } catch (...) {  // a logger's failure must not take the worker down
      }
    }
  }

 protected:
  std::vector<std::unique_ptr<Conn>>& conns() noexcept { return conns_; }
  const RelayConfig& cfg() const noexcept { return cfg_; }
  RelayShared& shared() noexcept { return *sh_; }
  /// An accept failed (EMFILE, ENFILE, ENOMEM, ...): counted, logged once per streak of
  /// failures; the backend retries it on the next tick. Ignored once stopping (the listener
  /// closes).
  void accept_failed(std::string_view why) {
    if (stopped_) return;
    bump(ctr_.accept_errors);
    if (!accept_failing_) log(std::string(why) + " (retried every tick; see accept_errors)");
    accept_failing_ = true;
  }
  /// Connections that may still be accepted now (all workers) before max_conns rejects them.
  [[nodiscard]] std::size_t accept_room() const noexcept {
    return detail::accept_room(sh_->open.load(std::memory_order_relaxed), cfg_.max_conns);  // (O1)
  }
  /// Whether a multishot accept's burst still fits the descriptor budget (see
  /// RelayConfig::multishot_accept_below).
  [[nodiscard]] bool accept_bursts_fit() const noexcept {
    return sh_->open.load(std::memory_order_relaxed) < cfg_.multishot_accept_below;  // (O1)
  }

 private:
  Io& self() noexcept { return static_cast<Io&>(*this); }

  static End end_of(Outcome o) noexcept { return o == Outcome::reset ? End::reset : End::error; }

  /// A read on direction `d` ended without data: a cancel the relay asked for (`asked`) or EOF
  /// carries on, anything else closes the connection.
  void read_ended(Conn& c, int d, Outcome o, bool asked) {
    if (o == Outcome::cancelled && asked) {
      pump(c, d);
    } else if (o == Outcome::eof) {
      c.dir[d].src_eof = true;
      pump(c, d);
    } else {
      close(c, end_of(o));
    }
  }

  void submit_failed(Conn& c, Errc e, const char* what) {
    std::string line = "submission of ";
    line += what;
    line += " failed (";
    line += describe(e);
    line += "); closing the connection";
    log(line);
    close(c, End::submit_failure);
  }

  // Discipline: close() only marks the connection and aborts its I/O; it is destroyed by the
  // maybe_destroy() that ends every entry point (on_*, tick), never in the middle of one.

  /// Arms what direction `d` can do now; closes the connection if a submission fails.
  //
  // Receives and sends: while the destination keeps up (every send empties the ring), the next
  // receive is armed when the send completes, not beside it. The ring is then empty and is
  // rewound, so each message lands at the start of the ring: a connection keeps reusing the same
  // first pages (cache-hot, and the only ones resident) instead of cycling through ring_size.
  // Once a send leaves bytes behind (the destination is the slower side) receives run beside
  // sends, buffering up to the whole ring, until a send empties it again.
  void pump(Conn& c, int d) {
    if (c.closing || !c.connected) return;
    Dir& x = c.dir[d];
    if (!x.spill.empty() && x.ring) unspill(x);
    const bool has_data = x.ring && x.ring->reader.size_hint() > 0;
    if (!x.writing && has_data) {
      const Errc e = self().start_send(c, d);
      if (e != Errc::ok) return submit_failed(c, e, "send");
      x.writing = true;
      ++c.ops;
    }
    if (!x.reading && !x.src_eof) {
      if (multishot() && !x.bulk) {
        // One receive stays armed while the ring has room; it holds no ring.
        if (x.spill.empty() && !nearly_full(x)) {
          const Errc e = arm_multishot(c, d);
          if (e != Errc::ok) return submit_failed(c, e, "receive");
          x.reading = true;
          x.read_holds_ring = false;
          ++c.ops;
        }
      } else if (!x.want_recv) {
        const Errc e = self().start_poll(c, d);
        if (e != Errc::ok) return submit_failed(c, e, "poll");
        x.reading = true;
        x.read_holds_ring = false;
        ++c.ops;
      } else if ((!x.writing || x.overlap) && x.spill.empty()) {
        if (!x.ring && !attach_ring(c, x)) return;
        if (!x.writing && !has_data) {
          (void)rewind(x.ring->writer, x.ring->reader);  // nothing refers to it: cannot fail
        }
        if (x.ring->writer.size_hint() < x.ring->writer.capacity()) {
          const Errc e = self().start_recv(c, d);
          if (e != Errc::ok) return submit_failed(c, e, "receive");
          x.reading = true;
          x.read_holds_ring = true;
          ++c.ops;
        }
      }
    }
    if (x.src_eof && !x.writing && !x.dst_shut && !has_data && x.spill.empty()) {
      self().shut_send(c, x.dst);
      x.dst_shut = true;
    }
    // Nothing to move and nothing holds the ring: back to the pool.
    if (x.ring && !x.writing && !has_data && x.spill.empty() && !(x.reading && x.read_holds_ring)) {
      release_ring(x);
    }
  }

  /// Whether the backend keeps one receive armed per direction (see multishot_backend).
  bool multishot() noexcept {
    if constexpr (multishot_backend<Io, Conn>) {
      return self().multishot_recv();
    } else {
      return false;
    }
  }
  Errc arm_multishot(Conn& c, int d) {
    if constexpr (multishot_backend<Io, Conn>) {
      return self().start_recv_multishot(c, d);
    } else {
      return Errc::invalid_argument;  // unreachable: multishot() is false
    }
  }

  /// Takes a ring from the pool for `x`; false (the connection is closed) if none can be had.
  bool attach_ring(Conn& c, Dir& x) {
    auto r = pool_.take();
    if (!r) {
      log(std::string("no ring for a connection: ") + r.message());
      close(c, End::error);
      return false;
    }
    x.ring = std::move(*r);
    bump(ctr_.rings_attached);
    return true;
  }

  /// Whether a multishot receive should stop (or not be re-armed): less than a quarter of the
  /// ring is free. The receives already under way when it is cancelled land in the spill.
  static bool nearly_full(const Dir& x) noexcept {
    return x.ring &&
           x.ring->writer.capacity() - x.ring->writer.size_hint() < x.ring->writer.capacity() / 4;
  }

  /// Moves what fits of the spill into the ring.
  static void unspill(Dir& x) noexcept {
    const std::size_t n = x.ring->writer.write(std::span<const std::byte>(x.spill));
    if (n == x.spill.size()) {
      std::vector<std::byte>().swap(x.spill);  // give the memory back
    } else {
      x.spill.erase(x.spill.begin(), x.spill.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }

  /// Copies received bytes into direction `d`'s ring (attached if needed), the rest into its
  /// spill, and throttles the multishot receive when the ring is nearly full. False if the
  /// connection had to be closed (no ring, no memory).
  bool take_in(Conn& c, int d, std::span<const std::byte> data) {
    Dir& x = c.dir[d];
    c.last_activity = now_ns();
    if (!x.ring && !attach_ring(c, x)) return false;
    if (x.spill.empty()) data = data.subspan(x.ring->writer.write(data));
    if (!data.empty()) {
      try {
        x.spill.insert(x.spill.end(), data.begin(), data.end());
      } catch (const std::bad_alloc&) {
        log("out of memory for received bytes; closing the connection");
        close(c, End::error);
        return false;
      }
    }
    if (x.reading && !x.throttled) {
      if (x.ring->reader.size_hint() >= kBulkEnter) {
        // Arrivals pile up faster than sends drain them: a bulk stream. Receiving it straight
        // into the ring saves a copy and a completion per provided buffer.
        x.bulk = true;
        x.want_recv = true;
        x.throttled = self().cancel_read(c, d);
      } else if (nearly_full(x)) {
        x.throttled = self().cancel_read(c, d);
      }
    }
    return true;
  }

  /// An idle direction whose receive holds an empty ring: cancel the receive (its completion
  /// re-arms a readiness wait and returns the ring), if the backend can cancel just that op.
  void park_idle(Conn& c) {
    for (std::uint8_t d = 0; d < c.ndirs; ++d) {
      Dir& x = c.dir[d];
      if (x.reading && x.read_holds_ring && !x.parking && !x.writing && x.ring &&
          x.ring->reader.size_hint() == 0) {
        x.parking = self().cancel_read(c, d);
      }
    }
  }

  void release_ring(Dir& x) noexcept {
    pool_.give(std::move(x.ring));
    drop(ctr_.rings_attached);
  }

  void close(Conn& c, End why) {
    if (c.closing) return;
    c.closing = true;
    c.end = why;
    self().abort_io(c);  // every op in flight completes promptly
  }

  void maybe_destroy(Conn& c) {
    if (c.ops != 0) return;
    if (!c.closing) {
      for (std::uint8_t d = 0; d < c.ndirs; ++d) {
        if (!c.dir[d].dst_shut) return;
      }
      c.end = End::completed;
    }
    destroy(c);
  }

  void destroy(Conn& c) {
    for (Dir& x : c.dir) {
      if (x.ring) release_ring(x);
    }
    const End end = c.end;
    const std::size_t i = c.index;
    std::unique_ptr<Conn> gone = std::move(conns_[i]);
    if (i + 1 != conns_.size()) {
      conns_[i] = std::move(conns_.back());
      conns_[i]->index = i;
    }
    conns_.pop_back();
    // The connection's descriptors are closed before it leaves `active`: a reader that sees the
    // count drop (a test counting open descriptors, a caller waiting to restart) never sees its
    // sockets still open.
    gone.reset();
    bump(ctr_.ends[static_cast<std::size_t>(end)]);
    drop(ctr_.active);
    sh_->open.fetch_sub(1, std::memory_order_relaxed);  // (O2) pairs with (O1)
  }

  std::shared_ptr<RelayShared> sh_;
  const RelayConfig& cfg_;
  RelayCounters& ctr_;
  RingPool pool_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::uint64_t ticks_ = 0;
  bool stopped_ = false;
  bool accept_failing_ = false;  ///< the last accept failed (one log line per streak)
  bool fds_out_ = false;         ///< the last upstream socket failed for lack of descriptors (idem)
};

}  // namespace ringkit::net::detail
