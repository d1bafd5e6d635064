// Proxy and the server around the relay: option checks, listeners (SO_REUSEPORT, one per
// worker), worker threads, stop with drain.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <arpa/inet.h>

#include <ringkit/net/proxy.hpp>
#include <ringkit/net/tcp.hpp>

#include "fd_budget.hpp"
#include "proxy_workers.hpp"

namespace ringkit::net {

const char* to_string(ProxyBackend b) noexcept {
  return b == ProxyBackend::uring ? "uring" : "asio";
}

namespace detail {

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

#ifndef RINGKIT_HAS_URING
Result<std::unique_ptr<RelayWorker>> make_uring_worker(WorkerSetup) {
  return unexpected(Errc::unsupported, "backend uring (built without liburing)");
}
#endif
#ifndef RINGKIT_HAS_ASIO
Result<std::unique_ptr<RelayWorker>> make_asio_worker(WorkerSetup) {
  return unexpected(Errc::unsupported, "backend asio (built without Asio)");
}
#endif

namespace {

constexpr int kListenBacklog = 4096;

}  // namespace

Result<std::unique_ptr<RelayServer>> RelayServer::start(RelayConfig cfg, const Where& where) {
  // A proxied connection holds two descriptors (client and upstream), an echoed one one.
  const FdFit fit =
      fit_descriptor_limit(cfg.max_conns, cfg.echo ? 1 : 2, where.threads, kListenBacklog, cfg.log);
  cfg.max_conns = fit.max_conns;
  cfg.multishot_accept_below = fit.multishot_accept_below;
  std::unique_ptr<RelayServer> p(new RelayServer());  // NOLINT(*-owning-memory): private ctor
  p->shared_ = std::make_shared<RelayShared>();
  p->shared_->cfg = std::move(cfg);
  for (unsigned t = 0; t < where.threads; ++t) {
    p->shared_->counters.push_back(std::make_unique<RelayCounters>());
  }
  auto addr = resolve_tcp(where.host, where.port);
  if (!addr) return unexpected(addr.error(), where.host_option);
  for (unsigned t = 0; t < where.threads; ++t) {
    auto lis =
        listen_tcp(*addr, {.backlog = kListenBacklog, .reuse_port = true, .non_blocking = true});
    if (!lis) {
      if (lis.error() == std::errc::address_in_use) {
        return unexpected(lis.error(), "bind: port busy");
      }
      return unexpected(lis.error(), lis.context()[0] != '\0' ? lis.context() : "listen");
    }
    if (t == 0) {
      auto bound = local_port(lis->get());
      if (!bound) return unexpected(bound.error(), "getsockname");
      *addr = addr->with_port(*bound);  // the other workers share the port picked here
      p->port_ = *bound;
    }
    WorkerSetup setup{p->shared_, std::move(*lis), t};
    auto w = where.backend == ProxyBackend::uring ? make_uring_worker(std::move(setup))
                                                  : make_asio_worker(std::move(setup));
    if (!w) return unexpected(w.error(), w.context());
    p->workers_.push_back(std::move(*w));
  }
  // Each worker initialises on its own thread; start() returns once every worker is ready to
  // accept (or reports the first failure). Each thread owns its promise; start() the futures.
  std::vector<std::future<Result<void>>> ready;
  ready.reserve(p->workers_.size());
  for (auto& w : p->workers_) {
    RelayWorker* raw = w.get();
    std::promise<Result<void>> done;
    ready.push_back(done.get_future());
    p->threads_.emplace_back([raw, done = std::move(done)]() mutable {
      Result<void> r = raw->init_on_thread();
      const bool ok = r.has_value();
      done.set_value(r);
      if (ok) raw->run();
    });
  }
  Result<void> failed{};
  for (auto& r : ready) {
    Result<void> v = r.get();
    if (!v && failed) failed = v;
  }
  if (!failed) {
    p->stop(std::chrono::milliseconds(0));  // the ready workers see `stopping` and return
    return unexpected(failed.error(), failed.context());
  }
  return p;
}

RelayTotals RelayServer::totals() const noexcept {
  RelayTotals t;
  for (const auto& c : shared_->counters) {
    for (std::size_t i = 0; i < kEnds; ++i) t.ends[i] += load(c->ends[i]);
    t.accepted += load(c->accepted);
    t.active += load(c->active);
    t.bytes_up += load(c->bytes_up);
    t.bytes_down += load(c->bytes_down);
    t.rings_attached += load(c->rings_attached);
    t.accept_errors += load(c->accept_errors);
  }
  return t;
}

void RelayServer::stop(std::chrono::milliseconds drain) {
  // Held across the joins: a concurrent caller waits until the workers are gone.
  const std::lock_guard<std::mutex> lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  shared_->drain_deadline_ns.store(
      now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(drain).count(),
      std::memory_order_relaxed);  // published by (R1)
  // (R1) release: the deadline is visible to a worker that sees stopping ((A1) in tick()).
  shared_->stopping.store(true, std::memory_order_release);
  for (auto& t : threads_) t.join();
  threads_.clear();
  workers_.clear();
}

RelayServer::~RelayServer() { stop(std::chrono::milliseconds(1000)); }

}  // namespace detail

struct Proxy::Impl {
  std::unique_ptr<detail::RelayServer> server;
};

Result<std::unique_ptr<Proxy>> Proxy::start(const ProxyOptions& options) {
  if (auto ok = detail::check_relay_limits(
          options, {.threads = "ProxyOptions::threads must be 1..256",
                    .ring_size = "ProxyOptions::ring_size must be a power of two >= 4096",
                    .max_conns = "ProxyOptions::max_conns must be 1..16777216",
                    .max_ops = "ProxyOptions::max_ops must be 0 or 4..2^30"});
      !ok) {
    return unexpected(ok.error(), ok.context());
  }
  if (options.upstream_port == 0) {
    return unexpected(Errc::invalid_argument, "ProxyOptions::upstream_port must be set");
  }
  detail::RelayConfig cfg;
  // Resolved once, here: every connection goes to this one address.
  auto up = resolve_tcp(options.upstream_host, options.upstream_port);
  if (!up) {
    return unexpected(up.error(),
                      "ProxyOptions::upstream_host: not an IPv4/IPv6 address or a "
                      "name that resolves");
  }
  cfg.upstream = *up;
  cfg.ring_size = options.ring_size;
  cfg.mirrored = options.mirrored;
  cfg.max_conns = options.max_conns;
  cfg.connect_timeout = options.connect_timeout;
  cfg.idle_timeout = options.idle_timeout;
  cfg.max_ops = options.max_ops;
  cfg.log = options.log;
  auto server =
      detail::RelayServer::start(std::move(cfg), {.host = options.listen_host,
                                                  .host_option = "ProxyOptions::listen_host: not "
                                                                 "an IPv4/IPv6 address or a name "
                                                                 "that resolves",
                                                  .port = options.listen_port,
                                                  .backend = options.backend,
                                                  .threads = options.threads});
  if (!server) return unexpected(server.error(), server.context());
  std::unique_ptr<Proxy> p(new Proxy());  // NOLINT(cppcoreguidelines-owning-memory): private ctor
  p->options_ = options;
  p->port_ = (*server)->port();
  p->impl_ = std::make_unique<Impl>(Impl{std::move(*server)});
  return p;
}

std::size_t Proxy::max_conns() const noexcept { return impl_->server->max_conns(); }

ProxyStats Proxy::stats() const noexcept {
  using detail::End;
  const detail::RelayTotals t = impl_->server->totals();
  return {.accepted = t.accepted,
          .active = t.active,
          .completed = t.end(End::completed),
          .rejected = t.end(End::rejected),
          .upstream_refused = t.end(End::upstream_refused),
          .connect_timeouts = t.end(End::connect_timeout),
          .idle_timeouts = t.end(End::idle_timeout),
          .resets = t.end(End::reset),
          .errors = t.end(End::error),
          .submit_failures = t.end(End::submit_failure),
          .aborted = t.end(End::aborted),
          .bytes_up = t.bytes_up,
          .bytes_down = t.bytes_down,
          .rings_attached = t.rings_attached,
          .accept_errors = t.accept_errors};
}

void Proxy::stop(std::chrono::milliseconds drain) { impl_->server->stop(drain); }

Proxy::~Proxy() {
  if (impl_) impl_->server->stop(std::chrono::milliseconds(1000));
}

}  // namespace ringkit::net
