// The proxy's Asio backend: one io_context per worker, the ringkit::net Asio adapters on rings.
#include <chrono>
#include <memory>
#include <vector>

#include <arpa/inet.h>

#include <asio.hpp>

#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/asio.hpp>

#include "proxy_workers.hpp"

namespace ringkit::net::detail {
namespace {

using asio::ip::tcp;

class AsioWorker;

/// One proxied connection. Directions: 0 = client -> upstream, 1 = upstream -> client.
struct AsioSession : std::enable_shared_from_this<AsioSession> {
  struct Dir {
    MirrorByteRing ring;
    bool reading = false;
    bool writing = false;
    bool src_eof = false;
    bool dst_shut = false;
  };
  AsioSession(asio::io_context& io, tcp::socket c)
      : client(std::move(c)), upstream(io), timer(io) {}

  tcp::socket client;
  tcp::socket upstream;
  asio::steady_timer timer;
  Dir dir[2];
  std::size_t index = 0;
  bool connected = false;
  bool closing = false;
  bool finished = false;
  std::int64_t last_activity = 0;

  tcp::socket& src(int d) { return d == 0 ? client : upstream; }
  tcp::socket& dst(int d) { return d == 0 ? upstream : client; }
};

class AsioWorker final : public ProxyWorker {
 public:
  AsioWorker(WorkerSetup setup, asio::io_context& io, tcp::acceptor acc)
      : sh_(std::move(setup.shared)), io_(io), acc_(std::move(acc)), tick_(io) {
    upstream_ = tcp::endpoint(asio::ip::address_v4(ntohl(setup.upstream.sin_addr.s_addr)),
                              ntohs(setup.upstream.sin_port));
  }
  AsioWorker(const AsioWorker&) = delete;
  AsioWorker& operator=(const AsioWorker&) = delete;
  AsioWorker(AsioWorker&&) = delete;
  AsioWorker& operator=(AsioWorker&&) = delete;
  ~AsioWorker() override = default;

  void run() override {
    do_accept();
    arm_tick();
    io_.run();
  }

 private:
  void do_accept() {
    acc_.async_accept([this](std::error_code ec, tcp::socket sock) {
      if (ec) {
        if (ec != asio::error::operation_aborted && acc_.is_open()) do_accept();
        return;
      }
      ProxyStats& st = sh_->stats;
      st.accepted.fetch_add(1, std::memory_order_relaxed);
      if (st.active.load(std::memory_order_relaxed) >= sh_->options.max_conns) {
        st.rejected.fetch_add(1, std::memory_order_relaxed);
        std::error_code ignored;
        sock.close(ignored);
      } else {
        open_session(std::move(sock));
      }
      do_accept();
    });
  }

  void arm_tick() {
    tick_.expires_after(std::chrono::milliseconds(100));
    tick_.async_wait([this](std::error_code ec) {
      if (ec) return;
      on_tick();
    });
  }

  void on_tick() {
    // (A1) acquire: pairs with (R1) in Proxy::stop(), so the drain deadline is visible.
    if (sh_->stopping.load(std::memory_order_acquire)) {
      std::error_code ignored;
      acc_.close(ignored);
      if (sessions_.empty()) {
        io_.stop();
        return;
      }
      if (now_ns() >= sh_->drain_deadline_ns.load(std::memory_order_relaxed)) {
        for (std::size_t i = sessions_.size(); i-- > 0;) fail(*sessions_[i], nullptr);
        if (sessions_.empty()) {
          io_.stop();
          return;
        }
      }
    }
    const auto idle = sh_->options.idle_timeout;
    if (idle.count() > 0) {
      const std::int64_t limit =
          now_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(idle).count();
      for (std::size_t i = sessions_.size(); i-- > 0;) {
        AsioSession& s = *sessions_[i];
        if (!s.closing && s.last_activity < limit) fail(s, &sh_->stats.idle_timeouts);
      }
    }
    arm_tick();
  }

  void open_session(tcp::socket sock) {
    const ProxyOptions& o = sh_->options;
    const RingOptions ro{.mode = o.mirrored ? MirrorMode::automatic : MirrorMode::never};
    auto up = make_mirror_byte_ring(o.ring_size, ro);
    auto down = make_mirror_byte_ring(o.ring_size, ro);
    if (!up || !down) {
      sh_->stats.errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto s = std::make_shared<AsioSession>(io_, std::move(sock));
    s->dir[0].ring = std::move(*up);
    s->dir[1].ring = std::move(*down);
    s->last_activity = now_ns();
    s->index = sessions_.size();
    std::error_code ignored;
    s->client.set_option(tcp::no_delay(true), ignored);
    sessions_.push_back(s);
    sh_->stats.active.fetch_add(1, std::memory_order_relaxed);

    s->timer.expires_after(o.connect_timeout);
    s->timer.async_wait([this, s](std::error_code ec) {
      if (!ec && !s->connected && !s->closing) fail(*s, &sh_->stats.connect_timeouts);
    });
    s->upstream.async_connect(upstream_, [this, s](std::error_code ec) {
      if (s->closing) return;
      s->timer.cancel();
      if (ec) {
        fail(*s, &sh_->stats.upstream_refused);
        return;
      }
      std::error_code ignored2;
      s->upstream.set_option(tcp::no_delay(true), ignored2);
      s->connected = true;
      pump(s, 0);
      pump(s, 1);
    });
  }

  void pump(const std::shared_ptr<AsioSession>& s, int d) {
    if (s->closing || !s->connected) return;
    AsioSession::Dir& x = s->dir[d];
    if (!x.reading && !x.src_eof && x.ring.writer.size_hint() < x.ring.writer.capacity()) {
      x.reading = true;
      async_read_some_into(s->src(d), x.ring.writer, [this, s, d](std::error_code ec, std::size_t) {
        AsioSession::Dir& y = s->dir[d];
        y.reading = false;
        if (s->closing) return;
        if (ec == asio::error::eof) {
          y.src_eof = true;
        } else if (ec) {
          fail(*s, &sh_->stats.errors);
          return;
        } else {
          s->last_activity = now_ns();
        }
        pump(s, d);
      });
    }
    if (!x.writing && x.ring.reader.size_hint() > 0) {
      x.writing = true;
      async_write_some_from(s->dst(d), x.ring.reader,
                            [this, s, d](std::error_code ec, std::size_t n) {
                              s->dir[d].writing = false;
                              if (s->closing) return;
                              if (ec) {
                                fail(*s, &sh_->stats.errors);
                                return;
                              }
                              s->last_activity = now_ns();
                              (d == 0 ? sh_->stats.bytes_up : sh_->stats.bytes_down)
                                  .fetch_add(n, std::memory_order_relaxed);
                              pump(s, d);
                            });
    }
    if (x.src_eof && !x.writing && !x.dst_shut && x.ring.reader.size_hint() == 0) {
      std::error_code ignored;
      s->dst(d).shutdown(tcp::socket::shutdown_send, ignored);
      x.dst_shut = true;
      if (s->dir[0].dst_shut && s->dir[1].dst_shut) finish(*s, true);
    }
  }

  void fail(AsioSession& s, std::atomic<std::uint64_t>* counter) {
    if (s.closing) return;
    s.closing = true;
    if (counter != nullptr) counter->fetch_add(1, std::memory_order_relaxed);
    finish(s, false);
  }

  /// Closes both sockets (pending handlers complete with operation_aborted and drop their
  /// references) and removes the session from the table.
  void finish(AsioSession& s, bool clean) {
    if (s.finished) return;
    s.finished = true;
    s.closing = true;
    if (clean) sh_->stats.completed.fetch_add(1, std::memory_order_relaxed);
    std::error_code ignored;
    s.timer.cancel();
    s.client.close(ignored);
    s.upstream.close(ignored);
    const std::size_t i = s.index;
    std::shared_ptr<AsioSession> keep = std::move(sessions_[i]);  // `s` lives until return
    if (i + 1 != sessions_.size()) {
      sessions_[i] = std::move(sessions_.back());
      sessions_[i]->index = i;
    }
    sessions_.pop_back();
    sh_->stats.active.fetch_sub(1, std::memory_order_relaxed);
  }

  std::shared_ptr<Proxy::Shared> sh_;
  asio::io_context& io_;
  tcp::acceptor acc_;
  asio::steady_timer tick_;
  tcp::endpoint upstream_;
  std::vector<std::shared_ptr<AsioSession>> sessions_;
};

/// Owns the io_context the worker runs on (declared first so it outlives the worker's objects).
class AsioWorkerHolder final : public ProxyWorker {
 public:
  explicit AsioWorkerHolder(WorkerSetup setup) : io_(1) {
    tcp::acceptor acc(io_);
    acc.assign(tcp::v4(), setup.listener.release());
    worker_ = std::make_unique<AsioWorker>(std::move(setup), io_, std::move(acc));
  }
  AsioWorkerHolder(const AsioWorkerHolder&) = delete;
  AsioWorkerHolder& operator=(const AsioWorkerHolder&) = delete;
  AsioWorkerHolder(AsioWorkerHolder&&) = delete;
  AsioWorkerHolder& operator=(AsioWorkerHolder&&) = delete;
  ~AsioWorkerHolder() override { worker_.reset(); }
  void run() override { worker_->run(); }

 private:
  asio::io_context io_;
  std::unique_ptr<AsioWorker> worker_;
};

}  // namespace

Result<std::unique_ptr<ProxyWorker>> make_asio_worker(WorkerSetup setup) {
  try {
    return std::unique_ptr<ProxyWorker>(std::make_unique<AsioWorkerHolder>(std::move(setup)));
  } catch (const std::system_error& e) {
    return unexpected(e.code(), "asio acceptor");
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "asio worker");
  }
}

}  // namespace ringkit::net::detail
