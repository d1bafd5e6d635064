// TCP helpers: socket/bind/listen/connect with every step checked.
#include <cerrno>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <ringkit/net/tcp.hpp>

namespace ringkit::net {
namespace {

Result<sockaddr_in> make_addr(const std::string& host, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return unexpected(Errc::invalid_argument);
  }
  return addr;
}

void set_nodelay(int fd) {
  const int one = 1;
  // Best effort: a failure only costs latency.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

Result<UniqueFd> listen_tcp(const std::string& host, std::uint16_t port,
                            const ListenOptions& options) {
  auto addr = make_addr(host, port);
  if (!addr) return unexpected(addr.error());
  int flags = SOCK_STREAM | SOCK_CLOEXEC;
  if (options.non_blocking) flags |= SOCK_NONBLOCK;
  UniqueFd fd(::socket(AF_INET, flags, 0));
  if (!fd) return unexpected_errno(errno);
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return unexpected_errno(errno);
  }
  if (options.reuse_port &&
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return unexpected_errno(errno);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    return unexpected_errno(errno);
  }
  if (::listen(fd.get(), options.backlog) != 0) return unexpected_errno(errno);
  return fd;
}

Result<UniqueFd> connect_tcp(const std::string& host, std::uint16_t port) {
  auto addr = make_addr(host, port);
  if (!addr) return unexpected(addr.error());
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return unexpected_errno(errno);
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return unexpected_errno(errno);
  set_nodelay(fd.get());
  return fd;
}

Result<UniqueFd> accept_tcp(int listener) {
  int r;
  do {
    r = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return unexpected_errno(errno);
  UniqueFd fd(r);
  set_nodelay(fd.get());
  return fd;
}

Result<std::uint16_t> local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return unexpected_errno(errno);
  }
  return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

Result<void> set_non_blocking(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return unexpected_errno(errno);
  const int want = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (want != flags && ::fcntl(fd, F_SETFL, want) != 0) return unexpected_errno(errno);
  return {};
}

}  // namespace ringkit::net
