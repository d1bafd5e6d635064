// EchoServer: the relay (relay.hpp) with one direction whose source is its destination.
#include <chrono>
#include <memory>

#include <ringkit/net/echo.hpp>

#include "proxy_workers.hpp"

namespace ringkit::net {

struct EchoServer::Impl {
  std::unique_ptr<detail::RelayServer> server;
};

Result<std::unique_ptr<EchoServer>> EchoServer::start(const EchoOptions& options) {
  if (auto ok = detail::check_relay_limits(
          options, {.threads = "EchoOptions::threads must be 1..256",
                    .ring_size = "EchoOptions::ring_size must be a power of two >= 4096",
                    .max_conns = "EchoOptions::max_conns must be 1..16777216",
                    .max_ops = "EchoOptions::max_ops must be 0 or 4..2^30"});
      !ok) {
    return unexpected(ok.error(), ok.context());
  }
  detail::RelayConfig cfg;
  cfg.echo = true;
  cfg.ring_size = options.ring_size;
  cfg.max_conns = options.max_conns;
  cfg.idle_timeout = options.idle_timeout;
  cfg.max_ops = options.max_ops;
  cfg.log = options.log;
  auto server =
      detail::RelayServer::start(std::move(cfg), {.host = options.host,
                                                  .host_option = "EchoOptions::host: not an "
                                                                 "IPv4/IPv6 address or a name that "
                                                                 "resolves",
                                                  .port = options.port,
                                                  .backend = options.backend,
                                                  .threads = options.threads});
  if (!server) return unexpected(server.error(), server.context());
  std::unique_ptr<EchoServer> s(new EchoServer());  // NOLINT(cppcoreguidelines-owning-memory)
  s->port_ = (*server)->port();
  s->impl_ = std::make_unique<Impl>(Impl{std::move(*server)});
  return s;
}

std::size_t EchoServer::max_conns() const noexcept { return impl_->server->max_conns(); }

EchoStats EchoServer::stats() const noexcept {
  using detail::End;
  const detail::RelayTotals t = impl_->server->totals();
  return {.accepted = t.accepted,
          .active = t.active,
          .completed = t.end(End::completed),
          .rejected = t.end(End::rejected),
          .idle_timeouts = t.end(End::idle_timeout),
          .resets = t.end(End::reset),
          .errors = t.end(End::error),
          .submit_failures = t.end(End::submit_failure),
          .aborted = t.end(End::aborted),
          .bytes = t.bytes_up,
          .rings_attached = t.rings_attached,
          .accept_errors = t.accept_errors};
}

void EchoServer::stop() { impl_->server->stop(std::chrono::milliseconds(0)); }

EchoServer::~EchoServer() {
  if (impl_) stop();
}

}  // namespace ringkit::net
