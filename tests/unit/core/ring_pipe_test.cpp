// Unit tests of the duplex pipe (ringkit/ring_pipe.hpp).
#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/ring_pipe.hpp>  // first: the header is self-contained

namespace {

struct Request {
  std::uint32_t id;
  std::uint32_t arg;
};
struct Reply {
  std::uint64_t id;
  std::uint64_t result;
};

TEST(RingPipe, CarriesEachDirectionWithItsOwnType) {
  auto pipe = ringkit::make_ring_pipe<Request, Reply>(16);
  ASSERT_TRUE(pipe.has_value()) << pipe.error().message();
  auto& [client, server] = *pipe;
  EXPECT_TRUE(client.valid());
  EXPECT_TRUE(server.valid());
  EXPECT_GE(client.sender.capacity(), 16U);
  EXPECT_GE(server.sender.capacity(), 16U);
  ASSERT_TRUE(client.sender.try_push(Request{1, 20}));
  ASSERT_TRUE(client.sender.try_push(Request{2, 30}));
  Request q{};
  ASSERT_TRUE(server.receiver.try_pop(q));
  EXPECT_EQ(q.id, 1U);
  ASSERT_TRUE(server.sender.try_push(Reply{q.id, q.arg * 2ULL}));
  Reply a{};
  ASSERT_TRUE(client.receiver.try_pop(a));
  EXPECT_EQ(a.id, 1U);
  EXPECT_EQ(a.result, 40U);
  EXPECT_FALSE(client.receiver.try_pop(a));  // nothing else sent back yet
  ASSERT_TRUE(server.receiver.try_pop(q));
  EXPECT_EQ(q.id, 2U);
}

TEST(RingPipe, DirectionsAreIndependentWhenFull) {
  auto pipe = *ringkit::make_ring_pipe<std::uint64_t, std::uint64_t>(
      8, {.mode = ringkit::MirrorMode::never});
  const std::size_t cap = pipe.left.sender.capacity();
  for (std::uint64_t i = 0; i < cap; ++i) ASSERT_TRUE(pipe.left.sender.try_push(i));
  EXPECT_FALSE(pipe.left.sender.try_push(99));
  EXPECT_TRUE(pipe.right.sender.try_push(7));  // the other direction still has room
  std::uint64_t v = 0;
  ASSERT_TRUE(pipe.left.receiver.try_pop(v));
  EXPECT_EQ(v, 7U);
}

TEST(RingPipe, ClosingAnEndEndsBothDirections) {
  auto pipe = *ringkit::make_ring_pipe<std::uint32_t, std::uint64_t>(8);
  ASSERT_TRUE(pipe.left.sender.try_push(5));
  pipe.left.close();
  EXPECT_FALSE(pipe.left.valid());
  std::uint32_t v = 0;
  ASSERT_TRUE(pipe.right.receiver.pop(v));  // drains first
  EXPECT_EQ(v, 5U);
  EXPECT_FALSE(pipe.right.receiver.pop(v));  // then the end of the stream
  EXPECT_FALSE(pipe.right.sender.peer_alive());
  EXPECT_FALSE(pipe.right.sender.push(1));
}

TEST(RingPipe, PingPongAcrossThreads) {
  auto pipe = *ringkit::make_ring_pipe<std::uint64_t, std::uint64_t>(64);
  constexpr std::uint64_t kRounds = 20000;
  std::thread echo([end = std::move(pipe.right)]() mutable {
    std::uint64_t v = 0;
    while (end.receiver.pop(v)) {
      if (!end.sender.push(v * 3 + 1)) return;
    }
  });
  for (std::uint64_t i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(pipe.left.sender.push(i));
    std::uint64_t r = 0;
    ASSERT_TRUE(pipe.left.receiver.pop(r));
    ASSERT_EQ(r, i * 3 + 1);
  }
  pipe.left.close();
  echo.join();
}

TEST(RingPipe, InvalidCapacityIsReported) {
  const auto bad = ringkit::make_ring_pipe<std::uint64_t, std::uint32_t>(0);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), ringkit::Errc::invalid_capacity);
}

}  // namespace
