// ringkit/net/tcp.hpp: TCP addresses and socket helpers for the servers, tools and tests.
//
// A host is an IPv4 address ("127.0.0.1", "0.0.0.0"), an IPv6 address with or without
// brackets ("::1", "[::1]", "::" for every address, dual-stack where the system allows it), or
// a name ("localhost"), resolved once by resolve_tcp() with getaddrinfo: the first address in
// the system's order. Every call returns ringkit::Result with the failing call's errno (system
// category); nothing throws, prints or exits. Sockets are created SOCK_CLOEXEC and owned by
// UniqueFd.
//
//   auto lis = *ringkit::net::listen_tcp("127.0.0.1", 0);      // ephemeral port
//   auto port = *ringkit::net::local_port(lis.get());
//   auto cli = *ringkit::net::connect_tcp("127.0.0.1", port);
//   auto v6 = *ringkit::net::listen_tcp("::1", 0);               // IPv6 loopback
//
// Thread safety: the functions are thread-safe (resolve_tcp() may block on a name lookup: call
// it at setup, not on an event loop); each socket is single-owner; SocketAddress is a value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include <ringkit/result.hpp>
#include <ringkit/unique_fd.hpp>

namespace ringkit::net {

/// An IPv4 or IPv6 socket address, as bind/connect take it.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t size = 0;  ///< 0: empty (no address)

  [[nodiscard]] const sockaddr* get() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage);  // NOLINT(*-reinterpret-cast): sockets API
  }
  /// AF_INET, AF_INET6, or AF_UNSPEC when empty.
  [[nodiscard]] int family() const noexcept { return size == 0 ? AF_UNSPEC : storage.ss_family; }
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// The address as text: "127.0.0.1", "::1" ("" when empty).
  [[nodiscard]] std::string host() const;
  /// A copy with the port set to `port` (an empty address stays empty).
  [[nodiscard]] SocketAddress with_port(std::uint16_t port) const noexcept;
  /// "127.0.0.1:80", "[::1]:80" ("" when empty).
  [[nodiscard]] std::string to_string() const;
};

/// The address of `host`:`port` (see the header comment for what a host may be). A name is
/// looked up with getaddrinfo (blocking). Errors: invalid_argument for an empty host, a host
/// that is neither an address nor a name (spaces, "::1::2"), a name that does not resolve or
/// resolves to no IPv4/IPv6 address; resource_unavailable_try_again when the lookup could not
/// reach a resolver; the errno of a failed lookup.
[[nodiscard]] Result<SocketAddress> resolve_tcp(std::string_view host, std::uint16_t port);

/// The address the socket is bound to (getsockname) or connected to (getpeername).
[[nodiscard]] Result<SocketAddress> local_address(int fd);
[[nodiscard]] Result<SocketAddress> peer_address(int fd);

/// `host` as it is written before ":port": brackets around an IPv6 address ("[::1]").
[[nodiscard]] std::string host_for_port(std::string_view host);

/// Options of listen_tcp().
struct ListenOptions {
  int backlog = 1024;
  bool reuse_port = false;    ///< SO_REUSEPORT, for one listener per thread
  bool non_blocking = false;  ///< O_NONBLOCK on the listening socket
};

/// Binds and listens on `host`:`port` (resolved by resolve_tcp; port 0 picks an ephemeral
/// port). SO_REUSEADDR is always set.
[[nodiscard]] Result<UniqueFd> listen_tcp(const std::string& host, std::uint16_t port,
                                          const ListenOptions& options = {});
[[nodiscard]] Result<UniqueFd> listen_tcp(const SocketAddress& address,
                                          const ListenOptions& options = {});

/// Connects (blocking) to `host`:`port`; the returned socket is blocking with TCP_NODELAY.
[[nodiscard]] Result<UniqueFd> connect_tcp(const std::string& host, std::uint16_t port);
[[nodiscard]] Result<UniqueFd> connect_tcp(const SocketAddress& address);

/// Accepts one connection (blocking unless `listener` is non-blocking: then EAGAIN is an error
/// with that errno). The result is CLOEXEC, with TCP_NODELAY.
[[nodiscard]] Result<UniqueFd> accept_tcp(int listener);

/// The local port a socket is bound to.
[[nodiscard]] Result<std::uint16_t> local_port(int fd);

/// Sets or clears O_NONBLOCK.
[[nodiscard]] Result<void> set_non_blocking(int fd, bool on = true);

}  // namespace ringkit::net
