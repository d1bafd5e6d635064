// The proxy's io_uring backend: one Uring per worker, multishot accept, readv/sendmsg on rings.
#include <cerrno>
#include <chrono>
#include <memory>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ringkit/io/uring.hpp>
#include <ringkit/mirror_ring.hpp>

#include "proxy_workers.hpp"

namespace ringkit::net::detail {
namespace {

using io::IoStatus;
using io::OpResult;

class UringWorker;

// Engine options, for a ring made and run on its worker's thread (init_on_thread()). A proxy's
// re-armed read almost never finds data already there (the peer answers later), so recv polls
// first.
constexpr io::UringOptions kThreadRing{.entries = 1024,
                                       .single_issuer = true,
                                       .max_ops = 16384,
                                       .defer_taskrun = true,
                                       .recv_poll_first = true};

/// One proxied connection. Directions: 0 = client -> upstream, 1 = upstream -> client.
struct Session {
  struct Dir {
    MirrorByteRing ring;
    int src = -1;
    int dst = -1;
    bool reading = false;
    bool writing = false;
    bool src_eof = false;
    bool dst_shut = false;
    io::OpId read_id{};
    io::OpId write_id{};
  };

  UringWorker* worker = nullptr;
  std::size_t index = 0;  // position in the worker's session table
  UniqueFd client;
  UniqueFd upstream;
  Dir dir[2];
  int ops = 0;  // operations in flight that reference this session
  bool connected = false;
  bool closing = false;
  io::OpId connect_id{};
  io::OpId timer_id{};
  std::int64_t last_activity = 0;
};

class UringWorker final : public ProxyWorker {
 public:
  explicit UringWorker(WorkerSetup setup)
      : sh_(std::move(setup.shared)),
        sessions_(),
        lis_(std::move(setup.listener)),
        upstream_(setup.upstream) {}

  Result<void> init_on_thread() override {
    // Made on this thread: a single-issuer ring with deferred task work is cheaper per
    // completion (no task-work interrupts, fewer atomics in the kernel). If the kernel refuses
    // those flags create() drops them; if io_uring itself is unusable, this is the error.
    auto ring = io::Uring::create(kThreadRing);
    if (!ring) return unexpected(ring.error(), ring.context());
    ring_ = std::move(*ring);
    return {};
  }

  void run() override {
    arm_accept();
    arm_tick();
    for (;;) {
      if (!ring_.run_once(std::chrono::milliseconds(50))) break;
      // (A1) acquire: pairs with (R1) in Proxy::stop(), so the drain deadline is visible.
      if (sh_->stopping.load(std::memory_order_acquire)) {
        if (lis_.valid()) {
          if (accept_live_) (void)ring_.cancel(accept_id_);
          lis_.reset();  // no new connections; the cancelled accept completes with an error
        }
        const std::int64_t deadline = sh_->drain_deadline_ns.load(std::memory_order_relaxed);
        if (sessions_.empty()) break;
        if (now_ns() >= deadline) {
          // Drain time is over: close what is left, then wait for their ops to finish.
          for (std::size_t i = sessions_.size(); i-- > 0;) fail(*sessions_[i], nullptr);
          if (sessions_.empty()) break;
        }
      }
    }
    // Destroying the ring abandons the remaining internal ops (tick, accept); sessions are gone.
  }

  // Called by session handlers.
  void pump(Session& s, int d);
  void fail(Session& s, std::atomic<std::uint64_t>* counter);
  void op_done(Session& s) {
    --s.ops;
    maybe_finish(s);
  }

 private:
  void arm_accept() {
    if (!lis_.valid()) return;
    auto sub = ring_.accept(lis_.get(), [this](const OpResult& r) { on_accept(r); });
    accept_live_ = static_cast<bool>(sub);
    accept_id_ = sub.id;
  }
  void on_accept(const OpResult& r) {
    if (!r.more) accept_live_ = false;
    if (r.ok() && r.fd >= 0) {
      UniqueFd fd(r.fd);
      ProxyStats& st = sh_->stats;
      st.accepted.fetch_add(1, std::memory_order_relaxed);
      // A connection the kernel completed before the listener closed is served (drained)
      // like the others, even if stop() came first: only max_conns rejects.
      if (st.active.load(std::memory_order_relaxed) >= sh_->options.max_conns) {
        st.rejected.fetch_add(1, std::memory_order_relaxed);
      } else {
        open_session(std::move(fd));
      }
    }
    if (!accept_live_ && !sh_->stopping.load(std::memory_order_relaxed)) arm_accept();
  }
  void arm_tick() {
    (void)ring_.timeout(std::chrono::milliseconds(250), [this](const OpResult&) {
      check_idle();
      if (!sh_->stopping.load(std::memory_order_relaxed)) arm_tick();
    });
  }
  void check_idle() {
    const auto idle = sh_->options.idle_timeout;
    if (idle.count() <= 0) return;
    const std::int64_t limit =
        now_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(idle).count();
    for (std::size_t i = sessions_.size(); i-- > 0;) {
      Session& s = *sessions_[i];
      if (!s.closing && s.last_activity < limit) fail(s, &sh_->stats.idle_timeouts);
    }
  }
  void open_session(UniqueFd client);
  void maybe_finish(Session& s);
  void destroy(Session& s) {
    const std::size_t i = s.index;
    if (i + 1 != sessions_.size()) std::swap(sessions_[i], sessions_.back());
    sessions_[i]->index = i;
    sessions_.pop_back();  // frees the session (fds close, rings unmap)
    sh_->stats.active.fetch_sub(1, std::memory_order_relaxed);
  }

  std::shared_ptr<Proxy::Shared> sh_;
  // Sessions are declared before the engine so that the engine is destroyed first: no kernel
  // operation can outlive the ring memory it points into.
  std::vector<std::unique_ptr<Session>> sessions_;
  UniqueFd lis_;
  sockaddr_in upstream_;
  io::Uring ring_;
  bool accept_live_ = false;
  io::OpId accept_id_{};
};

void UringWorker::open_session(UniqueFd client) {
  const ProxyOptions& o = sh_->options;
  const RingOptions ro{.mode = o.mirrored ? MirrorMode::automatic : MirrorMode::never};
  auto up = make_mirror_byte_ring(o.ring_size, ro);
  auto down = make_mirror_byte_ring(o.ring_size, ro);
  UniqueFd upstream(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!up || !down || !upstream) {
    sh_->stats.errors.fetch_add(1, std::memory_order_relaxed);
    return;  // client closes with `client`
  }
  const int one = 1;
  (void)::setsockopt(upstream.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  (void)::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto s = std::make_unique<Session>();
  s->worker = this;
  s->client = std::move(client);
  s->upstream = std::move(upstream);
  s->dir[0].ring = std::move(*up);
  s->dir[1].ring = std::move(*down);
  s->dir[0].src = s->client.get();
  s->dir[0].dst = s->upstream.get();
  s->dir[1].src = s->upstream.get();
  s->dir[1].dst = s->client.get();
  s->last_activity = now_ns();
  s->index = sessions_.size();
  Session& ref = *s;
  sessions_.push_back(std::move(s));
  sh_->stats.active.fetch_add(1, std::memory_order_relaxed);

  auto c = ring_.connect(ref.upstream.get(), reinterpret_cast<const sockaddr*>(&upstream_),
                         sizeof upstream_, [this, &ref](const OpResult& r) {
                           ref.connect_id = {};
                           if (!ref.closing) {
                             if (r.ok()) {
                               ref.connected = true;
                               if (ref.timer_id.valid()) (void)ring_.cancel(ref.timer_id);
                               pump(ref, 0);
                               pump(ref, 1);
                             } else if (r.status != IoStatus::cancelled) {
                               fail(ref, &sh_->stats.upstream_refused);
                             }
                           }
                           op_done(ref);
                         });
  if (!c) {
    fail(ref, &sh_->stats.errors);
    return;
  }
  ref.connect_id = c.id;
  ++ref.ops;
  auto t = ring_.timeout(o.connect_timeout, [this, &ref](const OpResult& r) {
    ref.timer_id = {};
    if (r.ok() && !ref.connected && !ref.closing) fail(ref, &sh_->stats.connect_timeouts);
    op_done(ref);
  });
  if (t) {
    ref.timer_id = t.id;
    ++ref.ops;
  }
}

void UringWorker::pump(Session& s, int d) {
  if (s.closing || !s.connected) return;
  Session::Dir& x = s.dir[d];
  if (!x.reading && !x.src_eof) {
    auto on_read = [this, &s, d](const OpResult& r) {
      Session::Dir& y = s.dir[d];
      y.reading = false;
      if (!s.closing) {
        if (r.ok()) {
          s.last_activity = now_ns();
        } else if (r.status == IoStatus::eof) {
          y.src_eof = true;
        } else if (r.status != IoStatus::cancelled) {
          fail(s, &sh_->stats.errors);
        }
        pump(s, d);
      }
      op_done(s);
    };
    // A mirrored ring's free space is one span: recv (no iovec import); readv otherwise.
    auto sub = x.ring.writer.mirrored() ? ring_.recv(x.src, x.ring.writer, std::move(on_read))
                                        : ring_.readv(x.src, x.ring.writer, std::move(on_read));
    if (sub) {
      x.reading = true;
      x.read_id = sub.id;
      ++s.ops;
    }
  }
  if (!x.writing) {
    auto sub = ring_.send(x.dst, x.ring.reader, [this, &s, d](const OpResult& r) {
      Session::Dir& y = s.dir[d];
      y.writing = false;
      if (!s.closing) {
        if (r.ok()) {
          s.last_activity = now_ns();
          (d == 0 ? sh_->stats.bytes_up : sh_->stats.bytes_down)
              .fetch_add(r.bytes, std::memory_order_relaxed);
        } else if (r.status != IoStatus::cancelled && r.status != IoStatus::would_block) {
          fail(s, &sh_->stats.errors);
        }
        pump(s, d);
      }
      op_done(s);
    });
    if (sub) {
      x.writing = true;
      x.write_id = sub.id;
      ++s.ops;
    }
  }
  // Half-close: the source is done and everything it sent has been delivered.
  if (x.src_eof && !x.writing && !x.dst_shut && x.ring.reader.size_hint() == 0) {
    ::shutdown(x.dst, SHUT_WR);
    x.dst_shut = true;
  }
}

void UringWorker::fail(Session& s, std::atomic<std::uint64_t>* counter) {
  if (s.closing) return;
  s.closing = true;
  if (counter != nullptr) counter->fetch_add(1, std::memory_order_relaxed);
  // Make every in-flight op complete promptly, then free the session in maybe_finish().
  ::shutdown(s.client.get(), SHUT_RDWR);
  ::shutdown(s.upstream.get(), SHUT_RDWR);
  for (const io::OpId id : {s.connect_id, s.timer_id, s.dir[0].read_id, s.dir[1].read_id,
                            s.dir[0].write_id, s.dir[1].write_id}) {
    if (id.valid()) (void)ring_.cancel(id);  // invalid_argument if already done: fine
  }
  maybe_finish(s);
}

void UringWorker::maybe_finish(Session& s) {
  if (s.ops != 0) return;
  if (!s.closing) {
    const bool done = s.dir[0].dst_shut && s.dir[1].dst_shut;
    if (!done) return;
    sh_->stats.completed.fetch_add(1, std::memory_order_relaxed);
  }
  destroy(s);
}

}  // namespace

Result<std::unique_ptr<ProxyWorker>> make_uring_worker(WorkerSetup setup) {
  return std::unique_ptr<ProxyWorker>(std::make_unique<UringWorker>(std::move(setup)));
}

}  // namespace ringkit::net::detail
