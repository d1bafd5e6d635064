// Tests of ringkit/net/tcp.hpp: address resolution (IPv4, IPv6, localhost), listen/connect/
// accept on loopback (127.0.0.1 and ::1) with ephemeral ports, local_port, set_non_blocking,
// SO_REUSEPORT, and the errors of each.
#include <ringkit/net/tcp.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/unique_fd.hpp>

namespace {

using ringkit::Errc;
using ringkit::UniqueFd;
using ringkit::net::accept_tcp;
using ringkit::net::connect_tcp;
using ringkit::net::host_for_port;
using ringkit::net::listen_tcp;
using ringkit::net::local_address;
using ringkit::net::local_port;
using ringkit::net::peer_address;
using ringkit::net::resolve_tcp;
using ringkit::net::set_non_blocking;
using ringkit::net::SocketAddress;

bool has_flag(int fd, int flag) { return (::fcntl(fd, F_GETFL) & flag) != 0; }
bool cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
int sockopt(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

TEST(Tcp, ListenOnAnEphemeralPortConnectAndAccept) {
  auto listener = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(listener) << listener.message();
  EXPECT_TRUE(cloexec(listener->get()));
  EXPECT_FALSE(has_flag(listener->get(), O_NONBLOCK));
  EXPECT_NE(sockopt(listener->get(), SOL_SOCKET, SO_REUSEADDR), 0);
  EXPECT_NE(sockopt(listener->get(), SOL_SOCKET, SO_ACCEPTCONN), 0);
  const auto port = local_port(listener->get());
  ASSERT_TRUE(port) << port.message();
  EXPECT_NE(*port, 0);

  auto client = connect_tcp("127.0.0.1", *port);
  ASSERT_TRUE(client) << client.message();
  auto server = accept_tcp(listener->get());
  ASSERT_TRUE(server) << server.message();
  for (const int fd : {client->get(), server->get()}) {
    EXPECT_TRUE(cloexec(fd));
    EXPECT_FALSE(has_flag(fd, O_NONBLOCK));  // blocking, as documented
    EXPECT_NE(sockopt(fd, IPPROTO_TCP, TCP_NODELAY), 0);
  }
  // The client's peer is the listener's port; its own port is a different ephemeral one.
  const auto client_port = local_port(client->get());
  ASSERT_TRUE(client_port);
  EXPECT_NE(*client_port, *port);
  EXPECT_EQ(*local_port(server->get()), *port);

  const std::string msg = "ping";
  ASSERT_EQ(::write(client->get(), msg.data(), msg.size()), 4);
  char buf[8] = {};
  ASSERT_EQ(::read(server->get(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), msg);
}

TEST(Tcp, BadHostIsInvalidArgument) {
  // Neither an address nor a name: refused before any lookup.
  for (const char* host : {"", "not an ip", "127.0.0.1 ", "::1::2", "[::1", "1.2.3.4/8", "[]"}) {
    SCOPED_TRACE(host);
    const auto r = resolve_tcp(host, 80);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Errc::invalid_argument);
    EXPECT_FALSE(r.message().empty());
    const auto l = listen_tcp(host, 0);
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error(), Errc::invalid_argument);
    const auto c = connect_tcp(host, 1);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), Errc::invalid_argument);
  }
  // An empty address is refused too.
  EXPECT_EQ(listen_tcp(SocketAddress{}).error(), Errc::invalid_argument);
  EXPECT_EQ(connect_tcp(SocketAddress{}).error(), Errc::invalid_argument);
}

TEST(Tcp, ANameThatDoesNotResolveIsAnError) {
  // ".invalid" never resolves (RFC 6761); without a reachable resolver the lookup fails too.
  const auto r = resolve_tcp("no-such-host.invalid", 80);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error() == Errc::invalid_argument ||
              r.error() == std::errc::resource_unavailable_try_again)
      << r.message();
}

TEST(Tcp, ResolvesIpv4Ipv6AndLocalhost) {
  const auto v4 = resolve_tcp("127.0.0.1", 8080);
  ASSERT_TRUE(v4) << v4.message();
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->size, sizeof(sockaddr_in));
  EXPECT_EQ(v4->port(), 8080);
  EXPECT_EQ(v4->host(), "127.0.0.1");
  EXPECT_EQ(v4->to_string(), "127.0.0.1:8080");
  for (const char* h : {"::1", "[::1]"}) {
    SCOPED_TRACE(h);
    const auto v6 = resolve_tcp(h, 443);
    ASSERT_TRUE(v6) << v6.message();
    EXPECT_EQ(v6->family(), AF_INET6);
    EXPECT_EQ(v6->size, sizeof(sockaddr_in6));
    EXPECT_EQ(v6->port(), 443);
    EXPECT_EQ(v6->host(), "::1");
    EXPECT_EQ(v6->to_string(), "[::1]:443");
  }
  EXPECT_EQ(resolve_tcp("0.0.0.0", 1)->host(), "0.0.0.0");
  EXPECT_EQ(resolve_tcp("::", 1)->to_string(), "[::]:1");
  // localhost comes from /etc/hosts: no resolver involved.
  const auto lh = resolve_tcp("localhost", 7);
  ASSERT_TRUE(lh) << lh.message();
  EXPECT_TRUE(lh->host() == "127.0.0.1" || lh->host() == "::1") << lh->host();
  EXPECT_EQ(lh->port(), 7);
  EXPECT_EQ(SocketAddress{}.family(), AF_UNSPEC);
  EXPECT_EQ(SocketAddress{}.to_string(), "");
  EXPECT_EQ(SocketAddress{}.port(), 0);
}

TEST(Tcp, HostForPortBracketsIpv6) {
  EXPECT_EQ(host_for_port("::1"), "[::1]");
  EXPECT_EQ(host_for_port("[::1]"), "[::1]");
  EXPECT_EQ(host_for_port("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(host_for_port("localhost"), "localhost");
}

TEST(Tcp, Ipv6ListenConnectAcceptAndAddresses) {
  auto listener = listen_tcp("::1", 0);
  if (!listener && (listener.error() == std::errc::address_not_available ||
                    listener.error() == std::errc::address_family_not_supported)) {
    GTEST_SKIP() << "no IPv6 loopback: " << listener.message();
  }
  ASSERT_TRUE(listener) << listener.message();
  const auto port = *local_port(listener->get());
  EXPECT_NE(port, 0);
  EXPECT_EQ(local_address(listener->get())->to_string(), "[::1]:" + std::to_string(port));
  auto client = connect_tcp("[::1]", port);
  ASSERT_TRUE(client) << client.message();
  auto server = accept_tcp(listener->get());
  ASSERT_TRUE(server) << server.message();
  EXPECT_NE(sockopt(server->get(), IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_EQ(peer_address(client->get())->to_string(), "[::1]:" + std::to_string(port));
  EXPECT_EQ(peer_address(server->get())->host(), "::1");
  const std::string msg = "ping6";
  ASSERT_EQ(::write(client->get(), msg.data(), msg.size()), 5);
  char buf[8] = {};
  ASSERT_EQ(::read(server->get(), buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), msg);
  // An IPv4 client cannot reach an IPv6-only loopback listener.
  EXPECT_FALSE(connect_tcp("127.0.0.1", port));
}

TEST(Tcp, ConnectToAClosedPortIsRefused) {
  std::uint16_t port = 0;
  {
    auto l = listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(l);
    port = *local_port(l->get());
  }  // closed again: nothing listens there now
  const auto c = connect_tcp("127.0.0.1", port);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), std::errc::connection_refused);
  EXPECT_TRUE(c.error().category() == std::system_category());
}

TEST(Tcp, SecondListenerOnAPortInUseFails) {
  auto first = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(first);
  const auto port = *local_port(first->get());
  const auto second = listen_tcp("127.0.0.1", port);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), std::errc::address_in_use);
}

TEST(Tcp, ReusePortLetsListenersShareAPort) {
  auto first = listen_tcp("127.0.0.1", 0, {.reuse_port = true});
  ASSERT_TRUE(first) << first.message();
  EXPECT_NE(sockopt(first->get(), SOL_SOCKET, SO_REUSEPORT), 0);
  const auto port = *local_port(first->get());
  auto second = listen_tcp("127.0.0.1", port, {.reuse_port = true});
  ASSERT_TRUE(second) << second.message();
  EXPECT_EQ(*local_port(second->get()), port);
  // A connection lands on one of them.
  auto client = connect_tcp("127.0.0.1", port);
  ASSERT_TRUE(client) << client.message();
  ASSERT_TRUE(set_non_blocking(first->get()));
  ASSERT_TRUE(set_non_blocking(second->get()));
  int accepted = 0;
  for (int i = 0; i < 1000 && accepted == 0; ++i) {
    for (const int l : {first->get(), second->get()}) {
      if (auto s = accept_tcp(l)) ++accepted;
    }
    if (accepted == 0) std::this_thread::yield();
  }
  EXPECT_EQ(accepted, 1);
}

TEST(Tcp, NonBlockingListenerAcceptWouldBlock) {
  auto listener = listen_tcp("127.0.0.1", 0, {.non_blocking = true});
  ASSERT_TRUE(listener) << listener.message();
  EXPECT_TRUE(has_flag(listener->get(), O_NONBLOCK));
  const auto s = accept_tcp(listener->get());
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error() == std::errc::resource_unavailable_try_again ||
              s.error() == std::errc::operation_would_block)
      << s.message();
}

TEST(Tcp, SetNonBlockingTogglesTheFlag) {
  auto listener = listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(listener);
  const int fd = listener->get();
  ASSERT_TRUE(set_non_blocking(fd));
  EXPECT_TRUE(has_flag(fd, O_NONBLOCK));
  ASSERT_TRUE(set_non_blocking(fd, true));  // already set: still fine
  EXPECT_TRUE(has_flag(fd, O_NONBLOCK));
  ASSERT_TRUE(set_non_blocking(fd, false));
  EXPECT_FALSE(has_flag(fd, O_NONBLOCK));
  ASSERT_TRUE(set_non_blocking(fd, false));
  EXPECT_FALSE(has_flag(fd, O_NONBLOCK));
}

TEST(Tcp, BadDescriptorsAreErrors) {
  const auto nb = set_non_blocking(-1);
  ASSERT_FALSE(nb);
  EXPECT_EQ(nb.error(), std::errc::bad_file_descriptor);
  EXPECT_THROW(nb.value(), std::system_error);
  const auto port = local_port(-1);
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error(), std::errc::bad_file_descriptor);
  const auto acc = accept_tcp(-1);
  ASSERT_FALSE(acc);
  EXPECT_EQ(acc.error(), std::errc::bad_file_descriptor);
  // A descriptor that is not a socket.
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  const UniqueFd r(p[0]), w(p[1]);
  const auto not_sock = local_port(r.get());
  ASSERT_FALSE(not_sock);
  EXPECT_EQ(not_sock.error(), std::errc::not_a_socket);
  EXPECT_FALSE(accept_tcp(r.get()));
}

}  // namespace
