// Tests of the io_uring acceptor shared by the relay and the feed server
// (net/src/uring_acceptor.hpp, private to the library): multishot takes every pending
// connection; near the budget a single accept plus a synchronous burst never takes more than the
// owner's room; close() refuses new connects.
#include "../../../net/src/uring_acceptor.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
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

class UringAcceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Uring::create({.entries = 64, .single_issuer = true});
    ASSERT_TRUE(r) << "Uring::create: " << r.message();
    ring_ = std::move(*r);
    auto l = ringkit::net::listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(l) << "listen_tcp: " << l.message();
    listener_ = std::move(*l);
    port_ = *ringkit::net::local_port(listener_.get());
  }
  /// The acceptor over the listener, for owner_ as configured by the test.
  Acceptor& acceptor() {
    acc_ = std::make_unique<Acceptor>(owner_, ring_, std::move(listener_));
    return *acc_;
  }
  /// `n` clients whose connects completed (they wait in the backlog).
  void connect(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      auto c = ringkit::net::connect_tcp("127.0.0.1", port_);
      ASSERT_TRUE(c) << c.message();
      clients_.push_back(std::move(*c));
    }
  }
  /// Runs the engine until `done()` or 2 s.
  template <class F>
  bool run_until(F done) {
    const auto end = std::chrono::steady_clock::now() + 2s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      if (!ring_.run_once(10ms)) return false;
    }
    return true;
  }

  Uring ring_;
  UniqueFd listener_;
  std::uint16_t port_ = 0;
  Owner owner_;
  std::unique_ptr<Acceptor> acc_;  // before clients_: closed first
  std::vector<UniqueFd> clients_;
};

TEST_F(UringAcceptorTest, MultishotTakesEveryPendingConnection) {
  Acceptor& acc = acceptor();
  connect(40);
  acc.arm();
  EXPECT_TRUE(acc.live());
  ASSERT_TRUE(run_until([&] { return owner_.taken == 40; })) << owner_.taken << " taken";
  EXPECT_TRUE(acc.live());  // one multishot accept stays armed
  EXPECT_TRUE(owner_.failures.empty());
  acc.close();
}

TEST_F(UringAcceptorTest, NearTheBudgetOneAcceptAndABurstWithinTheRoom) {
  // One at a time (no multishot), room for 5: the first completion takes one connection, the
  // burst four more, never a sixth; the next single accept takes the sixth (the owner rejects
  // it, as a server at max_conns does) and no burst follows it.
  owner_.multishot = false;
  owner_.limit = 5;
  Acceptor& acc = acceptor();
  connect(20);
  acc.arm();
  ASSERT_TRUE(run_until([&] { return owner_.taken >= 1; }));
  EXPECT_EQ(owner_.taken, 5U) << "the burst stops at the room";
  EXPECT_EQ(owner_.kept.size(), 5U);
  ASSERT_TRUE(run_until([&] { return owner_.taken >= 6; }));
  for (int i = 0; i < 5; ++i) {
    const std::size_t before = owner_.taken;
    (void)ring_.run_once(1ms);
    EXPECT_LE(owner_.taken, before + 1) << "with no room, one connection per completion";
  }
  EXPECT_EQ(owner_.kept.size(), 5U);
  // Room again: the next completion bursts through the rest of the backlog.
  owner_.limit = 100;
  ASSERT_TRUE(run_until([&] { return owner_.taken == 20; })) << owner_.taken << " taken";
  EXPECT_TRUE(owner_.failures.empty());
  acc.close();
}

TEST_F(UringAcceptorTest, CloseRefusesNewConnectsAndIsIdempotent) {
  Acceptor& acc = acceptor();
  acc.arm();
  acc.close();
  (void)ring_.run_once(10ms);  // the cancelled accept completes; it is not re-armed
  EXPECT_FALSE(acc.live());
  auto c = ringkit::net::connect_tcp("127.0.0.1", port_);
  EXPECT_FALSE(c) << "connect after close() succeeded";
  acc.close();
  acc.arm();  // no listener: nothing armed
  EXPECT_FALSE(acc.live());
  EXPECT_TRUE(owner_.failures.empty());
}

}  // namespace
