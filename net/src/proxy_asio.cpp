// The relay's Asio backend: one io_context per worker, async_wait / the ringkit::net ring
// adapters, a 100 ms steady_timer as the tick. I/O only: every decision is the relay's
// (relay.hpp).
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include <arpa/inet.h>

#include <asio.hpp>

#include <ringkit/net/asio.hpp>

#include "asio_listener.hpp"
#include "proxy_workers.hpp"

namespace ringkit::net::detail {
namespace {

using asio::ip::tcp;

Outcome outcome_of(const std::error_code& ec) noexcept {
  if (!ec) return Outcome::ok;
  if (ec == asio::error::eof) return Outcome::eof;
  if (ec == asio::error::operation_aborted) return Outcome::cancelled;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    return Outcome::reset;
  }
  return Outcome::error;
}

/// Holds the io_context in a base constructed before (and destroyed after) the relay's
/// connections, whose sockets refer to it.
struct IoHolder {
  asio::io_context io{1};
};

class AsioWorker final : public RelayWorker,
                         private IoHolder,
                         public Relay<AsioWorker, tcp::socket> {
 public:
  using Base = Relay<AsioWorker, tcp::socket>;
  using Conn = Base::Conn;

  explicit AsioWorker(WorkerSetup setup) : Base(setup.shared, setup.index), acc_(io), tick_(io) {
    const tcp protocol = protocol_of(setup.listener.get());
    acc_.assign(protocol, setup.listener.release());
    acc_.non_blocking(true);  // the accept burst's synchronous accepts stop at would_block
    const SocketAddress& up = cfg().upstream;
    std::memcpy(upstream_.data(), up.get(), up.size);  // asio's endpoint is the sockaddr
    upstream_.resize(up.size);
  }

  void run() override {
    do_accept();
    arm_tick();
    io.run();
  }

  // ---- the relay's backend interface ----
  tcp::socket unopened_socket() { return tcp::socket(io); }
  std::error_code open_upstream(Conn& c) {
    std::error_code ec;
    c.sock[1].open(upstream_.protocol(), ec);
    if (!ec) c.sock[1].set_option(tcp::no_delay(true), ec);
    return ec;
  }
  Errc start_connect(Conn& c) {
    c.sock[1].async_connect(upstream_,
                            [this, &c](std::error_code ec) { on_connected(c, outcome_of(ec)); });
    return Errc::ok;
  }
  Errc start_poll(Conn& c, int d) {
    c.sock[c.dir[d].src].async_wait(tcp::socket::wait_read, [this, &c, d](std::error_code ec) {
      on_readable(c, d, outcome_of(ec));
    });
    return Errc::ok;
  }
  Errc start_recv(Conn& c, int d) {
    auto& x = c.dir[d];
    async_read_some_into(
        c.sock[x.src], x.ring->writer,
        [this, &c, d](std::error_code ec, std::size_t n) { on_read(c, d, outcome_of(ec), n); });
    return Errc::ok;
  }
  Errc start_send(Conn& c, int d) {
    auto& x = c.dir[d];
    async_write_some_from(
        c.sock[x.dst], x.ring->reader,
        [this, &c, d](std::error_code ec, std::size_t n) { on_written(c, d, outcome_of(ec), n); });
    return Errc::ok;
  }
  /// Asio cancels every operation of a socket at once, so an idle receive is cancelled only
  /// while no send is in flight on its socket (the other direction's, or the echo's own).
  bool cancel_read(Conn& c, int d) noexcept {
    const std::uint8_t src = c.dir[d].src;
    for (std::uint8_t k = 0; k < c.ndirs; ++k) {
      if (c.dir[k].dst == src && c.dir[k].writing) return false;
    }
    std::error_code ec;
    (void)c.sock[src].cancel(ec);
    return !ec;
  }
  void shut_send(Conn& c, int sock) noexcept {
    std::error_code ignored;
    (void)c.sock[sock].shutdown(tcp::socket::shutdown_send, ignored);
  }
  void abort_io(Conn& c) noexcept {
    // Closing makes every op in flight complete with operation_aborted.
    std::error_code ignored;
    for (auto& s : c.sock) (void)s.close(ignored);
  }
  void close_listener() noexcept {
    std::error_code ignored;
    (void)acc_.close(ignored);
  }

 private:
  void do_accept() {
    if (!acc_.is_open()) return;
    accept_live_ = true;
    acc_.async_accept([this](std::error_code ec, tcp::socket sock) {
      accept_live_ = false;
      if (ec) {
        if (ec != asio::error::operation_aborted && acc_.is_open()) {
          accept_failed("accept failed: " + ec.message());  // e.g. EMFILE: retried by the next tick
        }
        return;
      }
      take(std::move(sock));
      // Drain the backlog (up to kAcceptBurst per completion, fd_budget.hpp): a burst of
      // thousands of connects would otherwise take seconds to be accepted.
      for (int i = 1; i < kAcceptBurst && acc_.is_open(); ++i) {
        tcp::socket more = acc_.accept(ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec) {
          accept_failed("accept failed: " + ec.message());  // e.g. EMFILE: retried by the next tick
          return;
        }
        take(std::move(more));
      }
      do_accept();
    });
  }
  void take(tcp::socket sock) {
    std::error_code ignored;
    (void)sock.set_option(tcp::no_delay(true), ignored);
    on_accepted(std::move(sock));
  }
  void arm_tick() {
    tick_.expires_after(kTick);
    tick_.async_wait([this](std::error_code ec) {
      if (ec) return;
      tick();
      if (finished()) {
        io.stop();
        return;
      }
      if (!accept_live_) do_accept();
      arm_tick();
    });
  }

  tcp::acceptor acc_;
  asio::steady_timer tick_;
  tcp::endpoint upstream_;
  bool accept_live_ = false;
};

}  // namespace

Result<std::unique_ptr<RelayWorker>> make_asio_worker(WorkerSetup setup) {
  try {
    return std::unique_ptr<RelayWorker>(std::make_unique<AsioWorker>(std::move(setup)));
  } catch (const std::system_error& e) {
    return unexpected(e.code(), "asio acceptor");
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "asio worker");
  }
}

}  // namespace ringkit::net::detail
