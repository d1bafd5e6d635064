// tools/tcp_client.hpp: the client side of a TCP connection as the ringkit load generators open it
// (ringkit-load, ringkit-feed-load); not part of the library.
//
// connect_tcp() returns a connected, non-blocking socket with TCP_NODELAY set, or an invalid
// UniqueFd and the errno in `err`. The connect is bounded by `timeout` (an unreachable host fails
// after it instead of after the kernel's two minutes of SYN retries).
// Thread safety: the functions are reentrant.
#pragma once

#include <cerrno>
#include <chrono>
#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

namespace ringkit::tools {

/// A connected non-blocking TCP_NODELAY socket to `addr` (IPv4 or IPv6, from
/// net::resolve_tcp), or an invalid fd with `err` set (ETIMEDOUT when `timeout` passed first).
[[nodiscard]] inline UniqueFd connect_tcp(const net::SocketAddress& addr,
                                          std::chrono::milliseconds timeout, int& err) {
  err = 0;
  UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    err = errno;
    return fd;
  }
  if (::connect(fd.get(), addr.get(), addr.size) != 0) {
    if (errno != EINPROGRESS) {
      err = errno;
      return UniqueFd();
    }
    pollfd p{fd.get(), POLLOUT, 0};
    int r = 0;
    do {
      r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
      err = r == 0 ? ETIMEDOUT : errno;
      return UniqueFd();
    }
    int so = 0;
    socklen_t len = sizeof so;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so, &len) != 0) so = errno;
    if (so != 0) {
      err = so;
      return UniqueFd();
    }
  }
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace ringkit::tools
