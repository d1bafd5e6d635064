// Proxy: option checks, listeners (SO_REUSEPORT, one per worker), worker threads, stop/drain.
#include <cerrno>
#include <chrono>
#include <future>
#include <vector>

#include <arpa/inet.h>

#include <ringkit/net/proxy.hpp>
#include <ringkit/net/tcp.hpp>

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
Result<std::unique_ptr<ProxyWorker>> make_uring_worker(WorkerSetup) {
  return unexpected(Errc::unsupported, "proxy backend uring (built without liburing)");
}
#endif
#ifndef RINGKIT_HAS_ASIO
Result<std::unique_ptr<ProxyWorker>> make_asio_worker(WorkerSetup) {
  return unexpected(Errc::unsupported, "proxy backend asio (built without Asio)");
}
#endif
}  // namespace detail

Result<std::unique_ptr<Proxy>> Proxy::start(const ProxyOptions& options) {
  if (options.threads == 0 || options.threads > 256) {
    return unexpected(Errc::invalid_argument, "--threads must be 1..256");
  }
  if (options.ring_size < 4096 || (options.ring_size & (options.ring_size - 1)) != 0) {
    return unexpected(Errc::invalid_argument, "--ring-size must be a power of two >= 4KiB");
  }
  if (options.max_conns == 0) return unexpected(Errc::invalid_argument, "--max-conns must be > 0");
  if (options.upstream_port == 0) {
    return unexpected(Errc::invalid_argument, "--upstream needs a port");
  }
  sockaddr_in up{};
  up.sin_family = AF_INET;
  up.sin_port = htons(options.upstream_port);
  if (::inet_pton(AF_INET, options.upstream_host.c_str(), &up.sin_addr) != 1) {
    return unexpected(Errc::invalid_argument, "--upstream host must be an IPv4 address");
  }

  std::unique_ptr<Proxy> p(new Proxy());  // NOLINT(cppcoreguidelines-owning-memory): private ctor
  p->options_ = options;
  p->shared_ = std::make_shared<Shared>();
  p->shared_->options = options;
  std::uint16_t port = options.listen_port;
  for (unsigned t = 0; t < options.threads; ++t) {
    auto lis = listen_tcp(options.listen_host, port,
                          {.backlog = 4096, .reuse_port = true, .non_blocking = true});
    if (!lis) {
      if (lis.error() == std::errc::address_in_use) {
        return unexpected(lis.error(), "bind: port busy");
      }
      return unexpected(lis.error(), lis.context()[0] != '\0' ? lis.context() : "listen");
    }
    if (t == 0) {
      auto bound = local_port(lis->get());
      if (!bound) return unexpected(bound.error(), "getsockname");
      port = *bound;
      p->port_ = port;
    }
    detail::WorkerSetup setup{p->shared_, std::move(*lis), up};
    auto w = options.backend == ProxyBackend::uring ? detail::make_uring_worker(std::move(setup))
                                                    : detail::make_asio_worker(std::move(setup));
    if (!w) return unexpected(w.error(), w.context());
    p->workers_.push_back(std::move(*w));
  }
  // Each worker initialises on its own thread; start() returns once every worker is ready to
  // accept (or reports the first failure), so no connection waits for a worker still setting up.
  // Each thread owns its promise (so nothing it touches goes away under it); start() keeps the
  // futures.
  std::vector<std::future<Result<void>>> ready;
  ready.reserve(p->workers_.size());
  for (auto& w : p->workers_) {
    detail::ProxyWorker* raw = w.get();
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

ProxyStatsSnapshot Proxy::stats() const noexcept {
  const ProxyStats& s = shared_->stats;
  constexpr auto kRelaxed = std::memory_order_relaxed;  // counters only; no data travels with them
  return {s.accepted.load(kRelaxed),         s.active.load(kRelaxed),
          s.completed.load(kRelaxed),        s.rejected.load(kRelaxed),
          s.upstream_refused.load(kRelaxed), s.connect_timeouts.load(kRelaxed),
          s.idle_timeouts.load(kRelaxed),    s.errors.load(kRelaxed),
          s.bytes_up.load(kRelaxed),         s.bytes_down.load(kRelaxed)};
}

void Proxy::stop(std::chrono::milliseconds drain) {
  if (stopped_) return;
  stopped_ = true;
  shared_->drain_deadline_ns.store(
      detail::now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(drain).count(),
      std::memory_order_relaxed);
  // (R1) release: the deadline is visible to a worker that sees stopping (A1 in the workers).
  shared_->stopping.store(true, std::memory_order_release);
  for (auto& t : threads_) t.join();
  threads_.clear();
  workers_.clear();
}

Proxy::~Proxy() { stop(std::chrono::milliseconds(1000)); }

}  // namespace ringkit::net
