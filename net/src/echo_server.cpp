// EchoServer: io_uring and Asio backends over one ring per connection.
#include <chrono>
#include <memory>
#include <vector>

#include <sys/socket.h>

#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/echo.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

#ifdef RINGKIT_HAS_URING
#include <ringkit/io/uring.hpp>
#endif
#ifdef RINGKIT_HAS_ASIO
#include <asio.hpp>

#include <ringkit/net/asio.hpp>
#endif

namespace ringkit::net {
namespace {

#ifdef RINGKIT_HAS_URING
struct UConn {
  UniqueFd fd;
  MirrorByteRing ring;
  std::size_t index = 0;
  int ops = 0;
  bool reading = false, writing = false, eof = false, closing = false;
};

void run_uring(EchoServer::Shared& sh, UniqueFd lis, io::Uring ring_arg) {
  std::vector<std::unique_ptr<UConn>> conns;
  io::Uring ring = std::move(ring_arg);  // after conns: the engine goes first at exit
  std::function<void(UConn&)> pump;
  auto drop = [&](UConn& c) {
    const std::size_t i = c.index;
    if (i + 1 != conns.size()) std::swap(conns[i], conns.back());
    conns[i]->index = i;
    conns.pop_back();
  };
  auto done = [&](UConn& c) {
    if (--c.ops == 0 && c.closing) drop(c);
  };
  pump = [&](UConn& c) {
    if (c.closing) return;
    if (!c.reading && !c.eof) {
      if (ring.readv(c.fd.get(), c.ring.writer, [&, pc = &c](const io::OpResult& r) {
            pc->reading = false;
            if (r.status == io::IoStatus::eof)
              pc->eof = true;
            else if (!r.ok())
              pc->closing = true;
            pump(*pc);
            done(*pc);
          })) {
        c.reading = true;
        ++c.ops;
      }
    }
    if (!c.writing) {
      if (ring.send(c.fd.get(), c.ring.reader, [&, pc = &c](const io::OpResult& r) {
            pc->writing = false;
            if (r.ok()) {
              sh.bytes.fetch_add(r.bytes, std::memory_order_relaxed);
            } else {
              pc->closing = true;
            }
            pump(*pc);
            done(*pc);
          })) {
        c.writing = true;
        ++c.ops;
      }
    }
    if (c.eof && !c.writing && c.ring.reader.size_hint() == 0) {
      ::shutdown(c.fd.get(), SHUT_WR);
      c.closing = true;
    }
    if (c.closing) ::shutdown(c.fd.get(), SHUT_RDWR);
  };
  std::function<void()> arm_accept = [&] {
    (void)ring.accept(lis.get(), [&](const io::OpResult& r) {
      if (r.ok() && r.fd >= 0) {
        UniqueFd fd(r.fd);
        auto mr = make_mirror_byte_ring(sh.ring_size);
        if (mr && !sh.stopping.load(std::memory_order_relaxed)) {
          sh.connections.fetch_add(1, std::memory_order_relaxed);
          auto c = std::make_unique<UConn>(UConn{std::move(fd), std::move(*mr)});
          c->index = conns.size();
          UConn& ref = *c;
          conns.push_back(std::move(c));
          pump(ref);
          if (ref.ops == 0) drop(ref);
        }
      }
      if (!r.more && !sh.stopping.load(std::memory_order_relaxed)) arm_accept();
    });
  };
  arm_accept();
  while (!sh.stopping.load(std::memory_order_acquire)) {  // (A1) pairs with (R1) in stop()
    if (!ring.run_once(std::chrono::milliseconds(50))) break;
  }
  // Close everything and let the in-flight ops complete before the rings go away.
  for (auto& c : conns) {
    c->closing = true;
    ::shutdown(c->fd.get(), SHUT_RDWR);
  }
  for (int i = 0; i < 200 && !conns.empty(); ++i) {
    if (!ring.run_once(std::chrono::milliseconds(10))) break;
  }
}
#endif

#ifdef RINGKIT_HAS_ASIO
struct AConn : std::enable_shared_from_this<AConn> {
  explicit AConn(asio::ip::tcp::socket s, MirrorByteRing r)
      : sock(std::move(s)), ring(std::move(r)) {}
  asio::ip::tcp::socket sock;
  MirrorByteRing ring;
  bool reading = false, writing = false, eof = false, closing = false;
};

void pump_asio(EchoServer::Shared& sh, const std::shared_ptr<AConn>& c) {
  if (c->closing) return;
  if (!c->reading && !c->eof && c->ring.writer.size_hint() < c->ring.writer.capacity()) {
    c->reading = true;
    async_read_some_into(c->sock, c->ring.writer, [&sh, c](std::error_code ec, std::size_t) {
      c->reading = false;
      if (ec == asio::error::eof) {
        c->eof = true;
      } else if (ec) {
        c->closing = true;
      }
      pump_asio(sh, c);
    });
  }
  if (!c->writing && c->ring.reader.size_hint() > 0) {
    c->writing = true;
    async_write_some_from(c->sock, c->ring.reader, [&sh, c](std::error_code ec, std::size_t n) {
      c->writing = false;
      if (ec) {
        c->closing = true;
      } else {
        sh.bytes.fetch_add(n, std::memory_order_relaxed);
      }
      pump_asio(sh, c);
    });
  }
  std::error_code ignored;
  if (c->eof && !c->writing && c->ring.reader.size_hint() == 0) {
    c->sock.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    c->closing = true;
  }
  if (c->closing) c->sock.close(ignored);
}

void run_asio(EchoServer::Shared& sh, UniqueFd lis) {
  asio::io_context io(1);
  asio::ip::tcp::acceptor acc(io);
  acc.assign(asio::ip::tcp::v4(), lis.release());
  std::function<void()> do_accept = [&] {
    acc.async_accept([&](std::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      auto mr = make_mirror_byte_ring(sh.ring_size);
      if (mr) {
        sh.connections.fetch_add(1, std::memory_order_relaxed);
        std::error_code ignored;
        s.set_option(asio::ip::tcp::no_delay(true), ignored);
        pump_asio(sh, std::make_shared<AConn>(std::move(s), std::move(*mr)));
      }
      do_accept();
    });
  };
  do_accept();
  asio::steady_timer tick(io);
  std::function<void()> arm = [&] {
    tick.expires_after(std::chrono::milliseconds(50));
    tick.async_wait([&](std::error_code ec) {
      if (ec) return;
      if (sh.stopping.load(std::memory_order_acquire)) {  // (A1) pairs with (R1) in stop()
        io.stop();
        return;
      }
      arm();
    });
  };
  arm();
  io.run();
}
#endif

}  // namespace

Result<std::unique_ptr<EchoServer>> EchoServer::start(const EchoOptions& options) {
  if (options.threads == 0 || options.threads > 256) {
    return unexpected(Errc::invalid_argument, "--threads must be 1..256");
  }
  std::unique_ptr<EchoServer> s(new EchoServer());  // NOLINT(cppcoreguidelines-owning-memory)
  s->shared_ = std::make_shared<Shared>();
  s->shared_->ring_size = options.ring_size;
  std::uint16_t port = options.port;
  for (unsigned t = 0; t < options.threads; ++t) {
    auto lis =
        listen_tcp(options.host, port, {.backlog = 4096, .reuse_port = true, .non_blocking = true});
    if (!lis) return unexpected(lis.error(), "bind");
    if (t == 0) {
      port = *local_port(lis->get());
      s->port_ = port;
    }
    std::shared_ptr<Shared> sh = s->shared_;
    if (options.backend == ProxyBackend::uring) {
#ifdef RINGKIT_HAS_URING
      auto ring = io::Uring::create({.entries = 1024, .max_ops = 16384});
      if (!ring) return unexpected(ring.error(), ring.context());
      s->threads_.emplace_back([sh, l = std::move(*lis), r = std::move(*ring)]() mutable {
        run_uring(*sh, std::move(l), std::move(r));
      });
#else
      return unexpected(Errc::unsupported, "echo backend uring");
#endif
    } else {
#ifdef RINGKIT_HAS_ASIO
      s->threads_.emplace_back(
          [sh, l = std::move(*lis)]() mutable { run_asio(*sh, std::move(l)); });
#else
      return unexpected(Errc::unsupported, "echo backend asio");
#endif
    }
  }
  return s;
}

std::uint64_t EchoServer::bytes() const noexcept {
  return shared_->bytes.load(std::memory_order_relaxed);
}
std::uint64_t EchoServer::connections() const noexcept {
  return shared_->connections.load(std::memory_order_relaxed);
}

void EchoServer::stop() {
  if (!shared_) return;
  shared_->stopping.store(true, std::memory_order_release);  // (R1)
  for (auto& t : threads_) t.join();
  threads_.clear();
}

EchoServer::~EchoServer() { stop(); }

}  // namespace ringkit::net
