// Tests of the io_uring acceptor shared by the relay and the feed server
// (net/src/uring_acceptor.hpp, private to the library): multishot takes every pending
// connection; near the budget a single accept plus a synchronous burst never takes more than the
// owner's room; close() refuses new connects.
#include "../../../net/src/uring_acceptor.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/io/uring.hpp>
#include <ringkit/net/tcp.hpp>
#include <ringkit/unique_fd.hpp>

namespace {

using namespace std::chrono_literals;
using ringkit::UniqueFd;
using ringkit::io::Uring;

/// An owner with a fixed room: at most `limit` connections kept (more are taken, then dropped,
/// as a server rejects them).
struct Owner {
  bool multishot = true;
  std::size_t limit = 1000;
  std::vector<UniqueFd> kept;
  std::size_t taken = 0;
  std::vector<std::string> failures;

  [[nodiscard]] bool accept_bursts_fit() const noexcept { return multishot; }
  [[nodiscard]] std::size_t accept_room() const noexcept {
    return kept.size() < limit ? limit - kept.size() : 0;
  }
  void accepted(UniqueFd fd) {
    ++taken;
    if (kept.size() < limit) kept.push_back(std::move(fd));
  }
  void accept_failed(std::string_view why) { failures.emplace_back(why); }
};

using Acceptor = ringkit::net::detail::UringAcceptor<Owner>;

struct Fixture {
  Uring ring;
  UniqueFd listener;
  std::uint16_t port = 0;
  std::vector<UniqueFd> clients;

  /// false if io_uring or the listener is unavailable (the test then fails with `why`).
  bool start(std::string& why) {
    auto r = Uring::create({.entries = 64, .single_issuer = true});
    if (!r) {
      why = "Uring::create: " + r.message();
      return false;
    }
    ring = std::move(*r);
    auto l = ringkit::net::listen_tcp("127.0.0.1", 0);
    if (!l) {
      why = "listen_tcp: " + l.message();
      return false;
    }
    listener = std::move(*l);
    port = *ringkit::net::local_port(listener.get());
    return true;
  }
  /// `n` clients whose connects completed (they wait in the backlog).
  void connect(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      auto c = ringkit::net::connect_tcp("127.0.0.1", port);
      ASSERT_TRUE(c) << c.message();
      clients.push_back(std::move(*c));
    }
  }
  /// Runs the engine until `done()` or 2 s.
  template <class F>
  bool run_until(F done) {
    const auto end = std::chrono::steady_clock::now() + 2s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      if (!ring.run_once(10ms)) return false;
    }
    return true;
  }
};

TEST(UringAcceptorTest, MultishotTakesEveryPendingConnection) {
  Fixture f;
  std::string why;
  ASSERT_TRUE(f.start(why)) << why;
  Owner owner;
  Acceptor acc(owner, f.ring, std::move(f.listener));
  f.connect(40);
  acc.arm();
  EXPECT_TRUE(acc.live());
  ASSERT_TRUE(f.run_until([&] { return owner.taken == 40; })) << owner.taken << " taken";
  EXPECT_TRUE(acc.live());  // one multishot accept stays armed
  EXPECT_TRUE(owner.failures.empty());
  acc.close();
}

TEST(UringAcceptorTest, NearTheBudgetOneAcceptAndABurstWithinTheRoom) {
  // One at a time (no multishot), room for 5: the first completion takes one connection, the
  // burst four more, never a sixth; the next single accept takes the sixth (the owner rejects
  // it, as a server at max_conns does) and no burst follows it.
  Fixture f;
  std::string why;
  ASSERT_TRUE(f.start(why)) << why;
  Owner owner;
  owner.multishot = false;
  owner.limit = 5;
  Acceptor acc(owner, f.ring, std::move(f.listener));
  f.connect(20);
  acc.arm();
  ASSERT_TRUE(f.run_until([&] { return owner.taken >= 1; }));
  EXPECT_EQ(owner.taken, 5U) << "the burst stops at the room";
  EXPECT_EQ(owner.kept.size(), 5U);
  ASSERT_TRUE(f.run_until([&] { return owner.taken >= 6; }));
  for (int i = 0; i < 5; ++i) {
    const std::size_t before = owner.taken;
    (void)f.ring.run_once(1ms);
    EXPECT_LE(owner.taken, before + 1) << "with no room, one connection per completion";
  }
  EXPECT_EQ(owner.kept.size(), 5U);
  // Room again: the next completion bursts through the rest of the backlog.
  owner.limit = 100;
  ASSERT_TRUE(f.run_until([&] { return owner.taken == 20; })) << owner.taken << " taken";
  EXPECT_TRUE(owner.failures.empty());
  acc.close();
}

TEST(UringAcceptorTest, CloseRefusesNewConnectsAndIsIdempotent) {
  Fixture f;
  std::string why;
  ASSERT_TRUE(f.start(why)) << why;
  Owner owner;
  Acceptor acc(owner, f.ring, std::move(f.listener));
  acc.arm();
  acc.close();
  (void)f.ring.run_once(10ms);  // the cancelled accept completes; it is not re-armed
  EXPECT_FALSE(acc.live());
  auto c = ringkit::net::connect_tcp("127.0.0.1", f.port);
  EXPECT_FALSE(c) << "connect after close() succeeded";
  acc.close();
  acc.arm();  // no listener: nothing armed
  EXPECT_FALSE(acc.live());
  EXPECT_TRUE(owner.failures.empty());
}

}  // namespace
