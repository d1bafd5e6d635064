// The relay's io_uring backend: one Uring per worker (made on the worker's thread), multishot
// accept, poll / recv / send on ring halves, a 100 ms timeout as the tick. I/O only: every
// decision is the relay's (relay.hpp).
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ringkit/io/uring.hpp>

#include "proxy_workers.hpp"
#include "uring_acceptor.hpp"

namespace ringkit::net::detail {
namespace {

using io::IoStatus;
using io::OpResult;

Outcome outcome_of(const OpResult& r) noexcept {
  switch (r.status) {
    case IoStatus::ok:
    case IoStatus::would_block:  // nothing moved: the relay sees ok with 0 bytes
      return Outcome::ok;
    case IoStatus::eof:
      return Outcome::eof;
    case IoStatus::cancelled:
      return Outcome::cancelled;
    default:
      return r.err == ECONNRESET || r.err == EPIPE ? Outcome::reset : Outcome::error;
  }
}

void no_delay(int fd) noexcept {
  const int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

class UringWorker final : public RelayWorker, public Relay<UringWorker, UniqueFd> {
 public:
  using Base = Relay<UringWorker, UniqueFd>;
  using Conn = Base::Conn;
  /// Op slots beyond the connections' own: the accept and the tick, with room to spare.
  static constexpr std::size_t kInternalOps = 16;
  /// Provided receive buffers per worker (2 MiB): each arrival takes one until its handler has
  /// copied it into the connection's ring; running out only re-arms the receives that saw it.
  static constexpr unsigned kRecvBuffers = 512;
  static constexpr std::size_t kRecvBufferSize = 4096;

  explicit UringWorker(WorkerSetup setup)
      : Base(setup.shared, setup.index), acceptor_(*this, ring_, std::move(setup.listener)) {}

  Result<void> init_on_thread() override {
    // Made on this thread: a single-issuer ring with deferred task work is cheaper per
    // completion. A re-armed receive almost never finds data already there (request/response
    // traffic): it waits for readiness first. The op slab may grow to what max_conns connections
    // can have in flight, so an accepted connection can always arm its reads and writes
    // (unless RelayConfig::max_ops caps it, to test or tune exhaustion).
    const std::size_t max_ops =
        cfg().max_ops != 0 ? cfg().max_ops : kOpsPerConn * cfg().max_conns + kInternalOps;
    // Receives are multishot into the engine's provided buffers where the kernel has buffer
    // rings (one armed receive per direction for the connection's life, no re-arm per message);
    // otherwise a readiness wait, then a receive into the ring.
    const io::UringOptions o{.entries = 1024,
                             .single_issuer = true,
                             .max_ops = max_ops,
                             .defer_taskrun = true,
                             .recv_poll_first = true,
                             .recv_buffers = kRecvBuffers,
                             .recv_buffer_size = kRecvBufferSize};
    auto ring = io::Uring::create(o);
    if (!ring) return unexpected(ring.error(), ring.context());
    ring_ = std::move(*ring);
    return {};
  }

  void run() override {
    acceptor_.arm();
    arm_tick();
    while (!finished()) {
      auto r = ring_.run_once(std::chrono::milliseconds(50));
      if (!r) {
        log("io_uring wait failed: " + r.message());
        break;
      }
      if (!tick_live_) arm_tick();
    }
    // Destroying the engine first abandons the internal ops (tick, accept) before the
    // connections' rings (in the base) go.
  }

  // ---- the relay's backend interface ----
  UniqueFd unopened_socket() noexcept { return {}; }
  std::error_code open_upstream(Conn& c) noexcept {
    c.sock[1] =
        UniqueFd(::socket(cfg().upstream.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!c.sock[1].valid()) return {errno, std::system_category()};
    no_delay(c.sock[1].get());
    return {};
  }
  Errc start_connect(Conn& c) {
    const SocketAddress& up = cfg().upstream;
    auto s = ring_.connect(c.sock[1].get(), up.get(), up.size,
                           [this, &c](const OpResult& r) { on_connected(c, outcome_of(r)); });
    c.connect_op = s.id.value;
    return s.errc;
  }
  Errc start_poll(Conn& c, int d) {
    auto s = ring_.poll(c.sock[c.dir[d].src].get(), POLLIN,
                        [this, &c, d](const OpResult& r) { on_readable(c, d, outcome_of(r)); });
    c.dir[d].read_op = s.id.value;
    return s.errc;
  }
  Errc start_recv(Conn& c, int d) {
    auto& x = c.dir[d];
    auto h = [this, &c, d](const OpResult& r) { on_read(c, d, outcome_of(r), r.bytes); };
    const int fd = c.sock[x.src].get();
    // A mirrored ring's free space is one span: recv (no iovec import); readv otherwise.
    auto s = x.ring->writer.mirrored() ? ring_.recv(fd, x.ring->writer, std::move(h))
                                       : ring_.readv(fd, x.ring->writer, std::move(h));
    x.read_op = s.id.value;
    return s.errc;
  }
  [[nodiscard]] bool multishot_recv() const noexcept { return ring_.has_recv_multishot(); }
  Errc start_recv_multishot(Conn& c, int d) {
    auto s = ring_.recv_multishot(c.sock[c.dir[d].src].get(), [this, &c, d](const OpResult& r) {
      // Out of provided buffers: not the connection's fault; the relay re-arms the receive.
      const Outcome o =
          r.status == IoStatus::error && r.err == ENOBUFS ? Outcome::ok : outcome_of(r);
      on_data(c, d, o, r.data, r.more);
    });
    c.dir[d].read_op = s.id.value;
    return s.errc;
  }
  Errc start_send(Conn& c, int d) {
    auto& x = c.dir[d];
    auto s = ring_.send(c.sock[x.dst].get(), x.ring->reader, [this, &c, d](const OpResult& r) {
      on_written(c, d, outcome_of(r), r.bytes);
    });
    x.write_op = s.id.value;
    return s.errc;
  }
  bool cancel_read(Conn& c, int d) noexcept {
    return c.dir[d].read_op != 0 && ring_.cancel(io::OpId{c.dir[d].read_op}) == Errc::ok;
  }
  void shut_send(Conn& c, int sock) noexcept { (void)::shutdown(c.sock[sock].get(), SHUT_WR); }
  void abort_io(Conn& c) noexcept {
    // Make every op in flight complete promptly; the descriptors close with the connection.
    for (auto& s : c.sock) {
      if (s.valid()) (void)::shutdown(s.get(), SHUT_RDWR);
    }
    for (const std::uint64_t id :
         {c.connect_op, c.dir[0].read_op, c.dir[0].write_op, c.dir[1].read_op, c.dir[1].write_op}) {
      if (id != 0) (void)ring_.cancel(io::OpId{id});  // invalid_argument if already done
    }
  }
  void close_listener() noexcept { acceptor_.close(); }

  // ---- the acceptor's owner interface (uring_acceptor.hpp) ----
  void accepted(UniqueFd fd) {
    no_delay(fd.get());
    on_accepted(std::move(fd));
  }
  using Base::accept_bursts_fit;
  using Base::accept_failed;
  using Base::accept_room;

 private:
  void arm_tick() {
    auto sub = ring_.timeout(kTick, [this](const OpResult&) {
      tick_live_ = false;
      tick();
      // After an accept error, or an accept that could not be re-armed (no op slot): retry.
      acceptor_.arm();
      if (!finished()) arm_tick();
    });
    tick_live_ = static_cast<bool>(sub);
  }

  io::Uring ring_;  // before the acceptor, which submits to it
  UringAcceptor<UringWorker> acceptor_;
  bool tick_live_ = false;
};

}  // namespace

Result<std::unique_ptr<RelayWorker>> make_uring_worker(WorkerSetup setup) {
  return std::unique_ptr<RelayWorker>(std::make_unique<UringWorker>(std::move(setup)));
}

}  // namespace ringkit::net::detail
