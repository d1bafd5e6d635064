// Private to net/src: the per-backend proxy workers.
#pragma once

#include <cstdint>
#include <memory>

#include <netinet/in.h>

#include <ringkit/net/proxy.hpp>
#include <ringkit/result.hpp>
#include <ringkit/unique_fd.hpp>

namespace ringkit::net::detail {

/// Everything a worker needs: shared options/counters, its listener and the upstream address.
struct WorkerSetup {
  std::shared_ptr<Proxy::Shared> shared;
  UniqueFd listener;
  sockaddr_in upstream{};
};

[[nodiscard]] Result<std::unique_ptr<ProxyWorker>> make_uring_worker(WorkerSetup setup);
[[nodiscard]] Result<std::unique_ptr<ProxyWorker>> make_asio_worker(WorkerSetup setup);

/// steady_clock now in nanoseconds.
[[nodiscard]] std::int64_t now_ns() noexcept;

}  // namespace ringkit::net::detail
