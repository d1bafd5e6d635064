// net/src/asio_listener.hpp: the Asio protocol (tcp::v4 or tcp::v6) of a listening socket made
// by net::listen_tcp, for handing it to an asio acceptor (internal to ringkit_net).
// Thread safety: a pure function of the socket.
#pragma once

#include <asio.hpp>

#include <ringkit/net/tcp.hpp>

namespace ringkit::net::detail {

/// tcp::v6() for an IPv6 socket, else tcp::v4() (also when getsockname fails: assign() then
/// reports the socket's own error).
[[nodiscard]] inline asio::ip::tcp protocol_of(int fd) {
  const auto bound = local_address(fd);
  return bound && bound->family() == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
}

}  // namespace ringkit::net::detail
