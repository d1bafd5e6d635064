// Tests of ringkit/net/asio.hpp: buffer sequences, DynamicRing (DynamicBuffer_v2) and the
// async helpers, with real Asio sockets on loopback (ephemeral ports).
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <asio.hpp>
#include <gtest/gtest.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/net/asio.hpp>

namespace {

using ringkit::ByteRing;
using ringkit::MirrorByteRing;
using ringkit::net::ConstRingBuffers;
using ringkit::net::DynamicRing;
using ringkit::net::MutableRingBuffers;
using ringkit::net::RingDynamicBuffer;

static_assert(asio::is_const_buffer_sequence<ConstRingBuffers>::value);
static_assert(asio::is_mutable_buffer_sequence<MutableRingBuffers>::value);
static_assert(asio::is_const_buffer_sequence<MutableRingBuffers>::value);
static_assert(asio::is_dynamic_buffer_v2<RingDynamicBuffer<ByteRing>>::value);
static_assert(asio::is_dynamic_buffer_v2<RingDynamicBuffer<MirrorByteRing>>::value);
static_assert(std::is_copy_constructible_v<RingDynamicBuffer<ByteRing>>);

struct TwoSegment {
  using Ring = ByteRing;
  static Ring make(std::size_t cap) { return *ringkit::make_byte_ring(cap); }
};
struct Mirrored {
  using Ring = MirrorByteRing;
  static Ring make(std::size_t cap) { return *ringkit::make_mirror_byte_ring(cap); }
};
struct MirrorFallback {
  using Ring = MirrorByteRing;
  static Ring make(std::size_t cap) {
    return *ringkit::make_mirror_byte_ring(cap, {.mode = ringkit::MirrorMode::never});
  }
};

template <class K>
class AsioRingTest : public ::testing::Test {};
using Kinds = ::testing::Types<TwoSegment, Mirrored, MirrorFallback>;
TYPED_TEST_SUITE(AsioRingTest, Kinds);

std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

TYPED_TEST(AsioRingTest, BufferSequencesEmptyOneAndWrapped) {
  auto ring = TypeParam::make(4096);
  // Empty: no buffers at all.
  EXPECT_EQ(asio::buffer_size(ringkit::net::readable_buffers(ring.reader)), 0U);
  EXPECT_EQ(ringkit::net::readable_buffers(ring.reader).count(), 0U);
  auto wb = ringkit::net::writable_buffers(ring.writer);
  EXPECT_EQ(asio::buffer_size(wb), 4096U);
  EXPECT_EQ(wb.count(), 1U);

  // One segment.
  const auto data = pattern(3000, 1);
  ASSERT_EQ(ring.writer.write(data), 3000U);
  auto rb = ringkit::net::readable_buffers(ring.reader);
  EXPECT_EQ(rb.count(), 1U);
  EXPECT_EQ(asio::buffer_size(rb), 3000U);
  std::vector<std::byte> out(3000);
  EXPECT_EQ(asio::buffer_copy(asio::buffer(out), rb), 3000U);
  EXPECT_EQ(out, data);
  ASSERT_EQ(ring.reader.consume(3000), ringkit::Errc::ok);

  // Wrapped: 2000 bytes starting at offset 3000 of a 4096 ring.
  const auto data2 = pattern(2000, 2);
  ASSERT_EQ(ring.writer.write(data2), 2000U);
  rb = ringkit::net::readable_buffers(ring.reader);
  EXPECT_EQ(rb.count(), ring.reader.mirrored() ? 1U : 2U);
  EXPECT_EQ(asio::buffer_size(rb), 2000U);
  out.assign(2000, std::byte{0});
  EXPECT_EQ(asio::buffer_copy(asio::buffer(out), rb), 2000U);
  EXPECT_EQ(out, data2);
  for (const auto& b : rb) EXPECT_NE(b.size(), 0U);  // never an empty buffer

  wb = ringkit::net::writable_buffers(ring.writer);
  EXPECT_EQ(asio::buffer_size(wb), 4096U - 2000U);
  for (const auto& b : wb) EXPECT_NE(b.size(), 0U);
  // Iteration order: the first buffer starts at the write position.
  std::size_t total = 0;
  for (auto it = asio::buffer_sequence_begin(wb); it != asio::buffer_sequence_end(wb); ++it) {
    total += it->size();
  }
  EXPECT_EQ(total, asio::buffer_size(wb));
}

TYPED_TEST(AsioRingTest, DynamicBufferModel) {
  DynamicRing<typename TypeParam::Ring> ring(TypeParam::make(4096));
  auto db = ring.dynamic_buffer();
  auto copy = db;  // copies alias the same ring
  EXPECT_EQ(db.size(), 0U);
  EXPECT_EQ(db.max_size(), 4096U);
  EXPECT_EQ(db.capacity(), 4096U);
  db.grow(100);
  EXPECT_EQ(copy.size(), 100U);
  const auto data = pattern(100, 3);
  EXPECT_EQ(asio::buffer_copy(db.data(0, 100), asio::buffer(data)), 100U);
  db.shrink(40);  // removes grown bytes from the end
  EXPECT_EQ(db.size(), 60U);
  db.consume(10);
  EXPECT_EQ(db.size(), 50U);
  std::vector<std::byte> out(50);
  EXPECT_EQ(asio::buffer_copy(asio::buffer(out), std::as_const(db).data(0, 50)), 50U);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + 10));
  // data(pos, n) clamps to size().
  EXPECT_EQ(asio::buffer_size(db.data(40, 100)), 10U);
  EXPECT_EQ(asio::buffer_size(db.data(50, 1)), 0U);
  // Misuse: grow past capacity throws length_error and changes nothing.
  EXPECT_THROW(db.grow(4096), std::length_error);
  EXPECT_EQ(db.size(), 50U);
  // consume more than size empties the buffer.
  db.consume(1000);
  EXPECT_EQ(db.size(), 0U);
  EXPECT_EQ(ring.reader().size_hint(), 0U);
}

TYPED_TEST(AsioRingTest, DynamicBufferWrapsAcrossTheEnd) {
  DynamicRing<typename TypeParam::Ring> ring(TypeParam::make(4096));
  auto db = ring.dynamic_buffer();
  for (int round = 0; round < 20; ++round) {
    const auto data = pattern(1500, static_cast<std::uint32_t>(round));
    const std::size_t before = db.size();
    db.grow(1500);
    EXPECT_EQ(asio::buffer_copy(db.data(before, 1500), asio::buffer(data)), 1500U);
    std::vector<std::byte> out(1500);
    EXPECT_EQ(asio::buffer_copy(asio::buffer(out), db.data(before, 1500)), 1500U);
    EXPECT_EQ(out, data);
    db.consume(db.size());
  }
}

/// A connected pair of loopback TCP sockets on one io_context.
struct TcpPair {
  asio::io_context io;
  asio::ip::tcp::socket a{io};
  asio::ip::tcp::socket b{io};
  TcpPair() {
    asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    a.connect(acc.local_endpoint());
    b = acc.accept();
    a.set_option(asio::ip::tcp::no_delay(true));
    b.set_option(asio::ip::tcp::no_delay(true));
  }
};

TYPED_TEST(AsioRingTest, LineProtocolWithAsyncReadUntilAcrossWraps) {
  TcpPair p;
  constexpr int kLines = 5000;
  std::thread sender([&] {
    std::string all;
    for (int i = 0; i < kLines; ++i)
      all += "line " + std::to_string(i) + " " +
             std::string(static_cast<std::size_t>(i % 97), 'x') + "\n";
    asio::error_code ec;
    asio::write(p.a, asio::buffer(all), ec);
    p.a.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  });
  // 4 KiB ring: lines straddle the wrap all the time.
  DynamicRing<typename TypeParam::Ring> ring(TypeParam::make(4096));
  int next = 0;
  bool failed = false;
  std::function<void()> read_line = [&] {
    asio::async_read_until(
        p.b, ring.dynamic_buffer(), '\n', [&](std::error_code ec, std::size_t n) {
          if (ec) {
            if (ec != asio::error::eof) failed = true;
            return;
          }
          std::string got(n, '\0');
          asio::buffer_copy(asio::buffer(got), ring.dynamic_buffer().data(0, n));
          const std::string want = "line " + std::to_string(next) + " " +
                                   std::string(static_cast<std::size_t>(next % 97), 'x') + "\n";
          if (got != want) {
            ADD_FAILURE() << "line " << next << ": got [" << got << "]";
            failed = true;
            return;
          }
          ++next;
          ring.dynamic_buffer().consume(n);
          read_line();
        });
  };
  read_line();
  p.io.run();
  sender.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(next, kLines);
}

TYPED_TEST(AsioRingTest, BinaryEcho64MiBVerified) {
#ifdef RINGKIT_TEST_SANITIZED
  constexpr std::size_t kTotal = std::size_t{8} << 20;
#else
  constexpr std::size_t kTotal = std::size_t{64} << 20;
#endif
  TcpPair p;
  // Echo side (b): async_read_some_into the ring, async_write_some_from it, until EOF.
  auto ring = TypeParam::make(64 * 1024);
  bool eof = false;
  bool reading = false, writing = false;
  std::error_code failure;
  std::function<void()> pump = [&] {
    if (!reading && !eof && ring.writer.size_hint() < ring.writer.capacity()) {
      reading = true;
      ringkit::net::async_read_some_into(p.b, ring.writer, [&](std::error_code ec, std::size_t) {
        reading = false;
        if (ec == asio::error::eof) {
          eof = true;
        } else if (ec) {
          failure = ec;
          return;
        }
        pump();
      });
    }
    if (!writing && ring.reader.size_hint() > 0) {
      writing = true;
      ringkit::net::async_write_some_from(p.b, ring.reader, [&](std::error_code ec, std::size_t) {
        writing = false;
        if (ec) {
          failure = ec;
          return;
        }
        pump();
      });
    }
    if (eof && !writing && ring.reader.size_hint() == 0) {
      std::error_code ignored;
      p.b.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    }
  };
  pump();
  std::thread echo([&] { p.io.run(); });

  // Client side (a), blocking, on its own thread pair: send a seeded stream, verify the echo.
  std::thread sender([&] {
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> chunk(8192);
    std::size_t sent = 0;
    std::error_code ec;
    while (sent < kTotal && !ec) {
      for (auto& w : chunk) w = rng();
      sent += asio::write(p.a, asio::buffer(chunk), ec);
    }
    p.a.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  });
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> want(8192), got(8192);
  std::size_t received = 0;
  std::error_code ec;
  while (received < kTotal) {
    for (auto& w : want) w = rng();
    const std::size_t n = asio::read(p.a, asio::buffer(got), ec);
    ASSERT_EQ(n, got.size() * 8) << ec.message() << " after " << received;
    ASSERT_EQ(std::memcmp(got.data(), want.data(), n), 0) << "mismatch after " << received;
    received += n;
  }
  sender.join();
  echo.join();
  EXPECT_FALSE(failure) << failure.message();
  EXPECT_EQ(received, kTotal);
}

TEST(AsioRing, SyncReadAndWriteWithDynamicBuffer) {
  TcpPair p;
  DynamicRing ring(*ringkit::make_mirror_byte_ring(8192));
  const auto data = pattern(6000, 9);
  asio::write(p.a, asio::buffer(data));
  const std::size_t n = asio::read(p.b, ring.dynamic_buffer(), asio::transfer_exactly(6000));
  ASSERT_EQ(n, 6000U);
  ASSERT_EQ(ring.dynamic_buffer().size(), 6000U);
  EXPECT_EQ(std::memcmp(ring.data().data(), data.data(), 6000), 0);  // one contiguous span
  // asio::write from the dynamic buffer consumes it.
  EXPECT_EQ(asio::write(p.b, ring.dynamic_buffer()), 6000U);
  EXPECT_EQ(ring.dynamic_buffer().size(), 0U);
  std::vector<std::byte> back(6000);
  asio::read(p.a, asio::buffer(back));
  EXPECT_EQ(back, data);
}

TEST(AsioRing, ReadUntilPastCapacityFailsCleanly) {
  TcpPair p;
  DynamicRing ring(*ringkit::make_byte_ring(1024));
  const std::string no_newline(4000, 'z');
  asio::write(p.a, asio::buffer(no_newline));
  asio::error_code ec;
  asio::read_until(p.b, ring.dynamic_buffer(), '\n', ec);
  EXPECT_EQ(ec, asio::error::not_found);  // Asio's own report of a full dynamic buffer
  EXPECT_EQ(ring.dynamic_buffer().size(), 1024U);
}

}  // namespace
