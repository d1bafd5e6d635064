// TCP helpers: address resolution and socket/bind/listen/connect with every step checked.
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <ringkit/net/tcp.hpp>

namespace ringkit::net {
namespace {

// NOLINTBEGIN(*-reinterpret-cast): sockaddr_storage viewed as the family's sockaddr

/// `host` without the brackets of "[v6]".
std::string_view unbracket(std::string_view host) noexcept {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

/// A numeric IPv4 or IPv6 host, or false.
bool numeric_address(const std::string& host, std::uint16_t port, SocketAddress& out) noexcept {
  out = SocketAddress{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(out.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    out.size = sizeof(sockaddr_in);
    return true;
  }
  out = SocketAddress{};
  auto& v6 = reinterpret_cast<sockaddr_in6&>(out.storage);
  if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    out.size = sizeof(sockaddr_in6);
    return true;
  }
  out = SocketAddress{};
  return false;
}

/// Whether `host` can be a DNS name (letters, digits, '-', '_' and dots, at most 253
/// characters): anything else is refused without a lookup.
bool name_syntax(std::string_view host) noexcept {
  if (host.size() > 253) return false;
  for (const char ch : host) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

struct AddrinfoFree {
  void operator()(addrinfo* a) const noexcept { ::freeaddrinfo(a); }
};

Result<SocketAddress> address_of(int fd, bool peer) {
  SocketAddress a;
  socklen_t len = sizeof a.storage;
  auto* sa = reinterpret_cast<sockaddr*>(&a.storage);
  if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) {
    return unexpected_errno(errno, peer ? "getpeername" : "getsockname");
  }
  a.size = len;
  return a;
}

void set_nodelay(int fd) {
  const int one = 1;
  // Best effort: a failure only costs latency.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

std::uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(storage).sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(storage).sin6_port);
  return 0;
}

SocketAddress SocketAddress::with_port(std::uint16_t p) const noexcept {
  SocketAddress a = *this;
  if (family() == AF_INET) reinterpret_cast<sockaddr_in&>(a.storage).sin_port = htons(p);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6&>(a.storage).sin6_port = htons(p);
  return a;
}

std::string SocketAddress::host() const {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const void* src = nullptr;
  if (family() == AF_INET) src = &reinterpret_cast<const sockaddr_in&>(storage).sin_addr;
  if (family() == AF_INET6) src = &reinterpret_cast<const sockaddr_in6&>(storage).sin6_addr;
  if (src == nullptr || ::inet_ntop(family(), src, buf.data(), buf.size()) == nullptr) return {};
  return buf.data();
}

std::string SocketAddress::to_string() const {
  std::string s = host();
  if (s.empty()) return s;
  s = host_for_port(s);
  s.push_back(':');
  s.append(std::to_string(port()));
  return s;
}

// NOLINTEND(*-reinterpret-cast)

std::string host_for_port(std::string_view host) {
  std::string s;
  const bool v6 = host.find(':') != std::string_view::npos && !host.starts_with('[');
  s.reserve(host.size() + 2);
  if (v6) s.push_back('[');
  s.append(host);
  if (v6) s.push_back(']');
  return s;
}

Result<SocketAddress> resolve_tcp(std::string_view host_in, std::uint16_t port) {
  const std::string host(unbracket(host_in));
  if (host.empty()) return unexpected(Errc::invalid_argument, "resolve_tcp: empty host");
  SocketAddress out;
  if (numeric_address(host, port, out)) return out;
  if (!name_syntax(host)) {
    return unexpected(Errc::invalid_argument,
                      "resolve_tcp: not an IPv4/IPv6 address or a host name");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  const std::unique_ptr<addrinfo, AddrinfoFree> owned(list);
  if (rc == EAI_SYSTEM) return unexpected_errno(errno, "getaddrinfo");
  if (rc == EAI_AGAIN) {
    return unexpected(std::make_error_code(std::errc::resource_unavailable_try_again),
                      "getaddrinfo: temporary failure in name resolution");
  }
  if (rc == EAI_MEMORY) return unexpected(std::make_error_code(std::errc::not_enough_memory));
  if (rc != 0) return unexpected(Errc::invalid_argument, "getaddrinfo: host not found");
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
        a->ai_addrlen > sizeof out.storage) {
      continue;
    }
    std::memcpy(&out.storage, a->ai_addr, a->ai_addrlen);
    out.size = a->ai_addrlen;
    return out.with_port(port);
  }
  return unexpected(Errc::invalid_argument, "getaddrinfo: no IPv4 or IPv6 address");
}

Result<SocketAddress> local_address(int fd) { return address_of(fd, false); }
Result<SocketAddress> peer_address(int fd) { return address_of(fd, true); }

Result<UniqueFd> listen_tcp(const std::string& host, std::uint16_t port,
                            const ListenOptions& options) {
  auto addr = resolve_tcp(host, port);
  if (!addr) return unexpected(addr.error(), addr.context());
  return listen_tcp(*addr, options);
}

Result<UniqueFd> listen_tcp(const SocketAddress& addr, const ListenOptions& options) {
  if (addr.size == 0) return unexpected(Errc::invalid_argument, "listen_tcp: empty address");
  int flags = SOCK_STREAM | SOCK_CLOEXEC;
  if (options.non_blocking) flags |= SOCK_NONBLOCK;
  UniqueFd fd(::socket(addr.family(), flags, 0));
  if (!fd) return unexpected_errno(errno);
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return unexpected_errno(errno);
  }
  if (options.reuse_port &&
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return unexpected_errno(errno);
  }
  if (::bind(fd.get(), addr.get(), addr.size) != 0) return unexpected_errno(errno);
  if (::listen(fd.get(), options.backlog) != 0) return unexpected_errno(errno);
  return fd;
}

Result<UniqueFd> connect_tcp(const std::string& host, std::uint16_t port) {
  auto addr = resolve_tcp(host, port);
  if (!addr) return unexpected(addr.error(), addr.context());
  return connect_tcp(*addr);
}

Result<UniqueFd> connect_tcp(const SocketAddress& addr) {
  if (addr.size == 0) return unexpected(Errc::invalid_argument, "connect_tcp: empty address");
  UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return unexpected_errno(errno);
  int r;
  do {
    r = ::connect(fd.get(), addr.get(), addr.size);
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
  auto a = local_address(fd);
  if (!a) return unexpected(a.error(), a.context());
  return a->port();
}

Result<void> set_non_blocking(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return unexpected_errno(errno);
  const int want = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (want != flags && ::fcntl(fd, F_SETFL, want) != 0) return unexpected_errno(errno);
  return {};
}

}  // namespace ringkit::net
