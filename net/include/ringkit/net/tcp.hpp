// ringkit/net/tcp.hpp: small TCP socket helpers for loopback tests, tools and the proxy core.
//
// Every call returns ringkit::Result with the failing call's errno (system category); nothing
// throws, prints or exits. Sockets are created SOCK_CLOEXEC and owned by UniqueFd.
//
//   auto lis = *ringkit::net::listen_tcp("127.0.0.1", 0);      // ephemeral port
//   auto port = *ringkit::net::local_port(lis.get());
//   auto cli = *ringkit::net::connect_tcp("127.0.0.1", port);
//
// Thread safety: the functions are thread-safe; each socket is single-owner.
#pragma once

#include <cstdint>
#include <string>

#include <ringkit/result.hpp>
#include <ringkit/unique_fd.hpp>

namespace ringkit::net {

/// Options of listen_tcp().
struct ListenOptions {
  int backlog = 1024;
  bool reuse_port = false;    ///< SO_REUSEPORT, for one listener per thread
  bool non_blocking = false;  ///< O_NONBLOCK on the listening socket
};

/// Binds and listens on `host`:`port` (IPv4 dotted quad; port 0 picks an ephemeral port).
/// SO_REUSEADDR is always set.
[[nodiscard]] Result<UniqueFd> listen_tcp(const std::string& host, std::uint16_t port,
                                          const ListenOptions& options = {});

/// Connects (blocking) to `host`:`port`; the returned socket is blocking with TCP_NODELAY.
[[nodiscard]] Result<UniqueFd> connect_tcp(const std::string& host, std::uint16_t port);

/// Accepts one connection (blocking unless `listener` is non-blocking: then EAGAIN is an error
/// with that errno). The result is CLOEXEC, with TCP_NODELAY.
[[nodiscard]] Result<UniqueFd> accept_tcp(int listener);

/// The local port a socket is bound to.
[[nodiscard]] Result<std::uint16_t> local_port(int fd);

/// Sets or clears O_NONBLOCK.
[[nodiscard]] Result<void> set_non_blocking(int fd, bool on = true);

}  // namespace ringkit::net
