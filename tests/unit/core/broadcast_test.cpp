// Unit tests of the broadcast ring (ringkit/broadcast.hpp): both policies, full and empty,
// views, exact lag accounting, backpressure values, join/leave, close and timeouts.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/broadcast.hpp>  // first: the header is self-contained
#include <ringkit/error.hpp>

namespace {

using ringkit::BroadcastPolicy;
using ringkit::BroadcastRing;
using ringkit::Errc;
using ringkit::RecvResult;
using ringkit::RecvStatus;
using u64 = std::uint64_t;
using namespace std::chrono_literals;

using Gated = BroadcastRing<u64, BroadcastPolicy::gated>;
using Overwrite = BroadcastRing<u64, BroadcastPolicy::overwrite>;

template <class Ring>
Ring make(std::size_t cap) {
  auto r = Ring::create(cap);
  EXPECT_TRUE(r.has_value()) << r.error().message();
  return std::move(*r);
}

void expect_pop(auto& reader, u64 want) {
  u64 v = ~u64{0};
  const RecvResult r = reader.try_pop(v);
  ASSERT_EQ(r.status, RecvStatus::ok) << "expected " << want;
  EXPECT_EQ(r.count, 1U);
  EXPECT_EQ(v, want);
}

TEST(Broadcast, CreateRoundsCapacityAndRejectsZero) {
  EXPECT_EQ(make<Gated>(5).capacity(), 8U);
  EXPECT_EQ(make<Overwrite>(1).capacity(), 1U);
  const auto bad = Gated::create(0);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), Errc::invalid_capacity);
  const auto huge = Gated::create(std::size_t{1} << 62);
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error(), Errc::invalid_capacity);
  EXPECT_FALSE(Gated().valid());
  EXPECT_EQ(Gated().take_writer().error(), Errc::invalid_argument);
  EXPECT_EQ(Gated().subscribe().error(), Errc::invalid_argument);
}

TEST(Broadcast, WriterIsUnique) {
  auto ring = make<Gated>(8);
  auto w = ring.take_writer();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(ring.take_writer().error(), Errc::busy);
  auto moved = std::move(*w);
  EXPECT_FALSE(w->valid());
  EXPECT_TRUE(moved.valid());
  EXPECT_EQ(ring.take_writer().error(), Errc::busy);
}

TEST(Broadcast, GatedFullAndEmpty) {
  auto ring = make<Gated>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  u64 v = 0;
  EXPECT_EQ(r.try_pop(v).status, RecvStatus::empty);
  for (u64 i = 0; i < 8; ++i) EXPECT_TRUE(w.try_publish(i));
  EXPECT_FALSE(w.try_publish(8));  // the reader is a whole ring behind
  EXPECT_TRUE(w.writable().empty());
  EXPECT_EQ(w.commit(1), Errc::over_commit);
  expect_pop(r, 0);
  EXPECT_TRUE(w.try_publish(8));
  EXPECT_FALSE(w.try_publish(9));
  for (u64 i = 1; i <= 8; ++i) expect_pop(r, i);
  EXPECT_EQ(r.try_pop(v).status, RecvStatus::empty);
  EXPECT_EQ(w.sequence(), 9U);
  EXPECT_EQ(r.position(), 9U);
}

TEST(Broadcast, GatedWithoutReadersNeverWaits) {
  auto ring = make<Gated>(4);
  auto w = *ring.take_writer();
  for (u64 i = 0; i < 100; ++i) ASSERT_TRUE(w.try_publish(i));
  EXPECT_EQ(w.backpressure_ratio(), 0.0);
  // A reader joining now starts at the current sequence: no replay of the 100.
  auto r = *ring.subscribe();
  EXPECT_EQ(r.position(), 100U);
  EXPECT_EQ(r.start_position(), 100U);
  u64 v = 0;
  EXPECT_EQ(r.try_pop(v).status, RecvStatus::empty);
  EXPECT_TRUE(w.try_publish(100));
  expect_pop(r, 100);
}

TEST(Broadcast, GatedWaitsForTheSlowestReader) {
  auto ring = make<Gated>(4);
  auto w = *ring.take_writer();
  auto fast = *ring.subscribe();
  auto slow = *ring.subscribe();
  EXPECT_EQ(ring.reader_count(), 2U);
  for (u64 i = 0; i < 4; ++i) ASSERT_TRUE(w.try_publish(i));
  for (u64 i = 0; i < 4; ++i) expect_pop(fast, i);
  EXPECT_FALSE(w.try_publish(4));  // slow has read nothing
  expect_pop(slow, 0);
  EXPECT_TRUE(w.try_publish(4));
  EXPECT_FALSE(w.try_publish(5));
  // Leaving releases the writer: it never waits for a reader that left.
  slow.close();
  EXPECT_EQ(ring.reader_count(), 1U);
  EXPECT_TRUE(w.try_publish(5));
  expect_pop(fast, 4);
  expect_pop(fast, 5);
}

TEST(Broadcast, JoinWhileFullIsNotOverwritten) {
  auto ring = make<Gated>(4);
  auto w = *ring.take_writer();
  auto a = *ring.subscribe();
  for (u64 i = 0; i < 4; ++i) ASSERT_TRUE(w.try_publish(i));
  auto b = *ring.subscribe();  // starts at 4
  EXPECT_EQ(b.position(), 4U);
  for (u64 i = 0; i < 4; ++i) expect_pop(a, i);
  for (u64 i = 4; i < 8; ++i) ASSERT_TRUE(w.try_publish(i));
  EXPECT_FALSE(w.try_publish(8));  // b gates now
  for (u64 i = 4; i < 8; ++i) expect_pop(b, i);
  for (u64 i = 4; i < 8; ++i) expect_pop(a, i);
  EXPECT_TRUE(w.try_publish(8));
}

TEST(Broadcast, LeavingReaderSlotIsReused) {
  auto ring = make<Gated>(2);
  auto w = *ring.take_writer();
  std::vector<Gated::Reader> readers;
  readers.reserve(20);
  for (int i = 0; i < 20; ++i) readers.push_back(*ring.subscribe());  // several chunks
  EXPECT_EQ(ring.reader_count(), 20U);
  ASSERT_TRUE(w.try_publish(1));
  ASSERT_TRUE(w.try_publish(2));
  EXPECT_FALSE(w.try_publish(3));
  for (auto& r : readers) expect_pop(r, 1);
  EXPECT_TRUE(w.try_publish(3));
  readers.clear();
  EXPECT_EQ(ring.reader_count(), 0U);
  for (u64 i = 0; i < 10; ++i) EXPECT_TRUE(w.try_publish(i));
  auto again = *ring.subscribe();
  EXPECT_EQ(ring.reader_count(), 1U);
  EXPECT_EQ(again.position(), w.sequence());
}

TEST(Broadcast, GatedBatchesViewsAndCommit) {
  auto ring = make<Gated>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  const std::array<u64, 5> five{10, 11, 12, 13, 14};
  EXPECT_EQ(w.try_publish(std::span<const u64>(five)), 5U);
  const auto view = r.readable();
  ASSERT_EQ(view.size(), 5U);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(view[i], 10 + i);
  EXPECT_EQ(r.consume(6), Errc::over_consume);
  EXPECT_EQ(r.consume(3), Errc::ok);
  // 2 unread + 6 free; writable() shows up to the wrap (slots 5..7).
  auto span = w.writable();
  ASSERT_EQ(span.size(), 3U);
  span[0] = 15;
  span[1] = 16;
  span[2] = 17;
  EXPECT_EQ(w.commit(7), Errc::over_commit);  // more than the free space
  EXPECT_EQ(w.commit(3), Errc::ok);
  span = w.writable();  // after the wrap: slots 0..2 are free
  ASSERT_EQ(span.size(), 3U);
  span[0] = 18;
  EXPECT_EQ(w.commit(1), Errc::ok);
  EXPECT_EQ(w.try_publish(std::span<const u64>(five)), 2U);  // only 2 left
  std::array<u64, 16> out{};
  const RecvResult got = r.read(std::span<u64>(out));
  ASSERT_EQ(got.status, RecvStatus::ok);
  ASSERT_EQ(got.count, 8U);  // across the wrap
  const u64 expect[] = {13, 14, 15, 16, 17, 18, 10, 11};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(out[i], expect[i]) << i;
  EXPECT_EQ(r.consume(0), Errc::ok);
  EXPECT_EQ(w.commit(0), Errc::ok);
}

TEST(Broadcast, BackpressureRatios) {
  auto ring = make<Gated>(1024);
  auto w = *ring.take_writer();
  auto slow = *ring.subscribe();
  auto fast = *ring.subscribe();
  EXPECT_EQ(slow.backpressure_ratio(), 0.0);
  EXPECT_EQ(w.backpressure_ratio(), 0.0);
  u64 v = 0;
  const auto publish_to = [&](u64 n) {
    while (w.sequence() < n) ASSERT_TRUE(w.try_publish(w.sequence()));
    while (fast.try_pop(v)) {
    }
  };
  publish_to(512);
  EXPECT_DOUBLE_EQ(slow.backpressure_ratio(), 0.5);
  EXPECT_DOUBLE_EQ(w.backpressure_ratio(), 0.5);
  EXPECT_EQ(fast.backpressure_ratio(), 0.0);
  EXPECT_EQ(fast.lag(), 0U);
  publish_to(819);  // 0.7998
  EXPECT_FALSE(slow.is_under_pressure());
  EXPECT_FALSE(w.is_under_pressure());
  publish_to(820);  // 0.8008
  EXPECT_TRUE(slow.is_under_pressure());
  EXPECT_TRUE(w.is_under_pressure());
  EXPECT_FALSE(slow.should_throttle());
  publish_to(921);  // 0.8994
  EXPECT_FALSE(slow.should_throttle());
  EXPECT_FALSE(w.should_throttle());
  publish_to(922);  // 0.9004
  EXPECT_TRUE(slow.should_throttle());
  EXPECT_TRUE(w.should_throttle());
  publish_to(1024);
  EXPECT_EQ(slow.backpressure_ratio(), 1.0);
  EXPECT_EQ(w.backpressure_ratio(), 1.0);
  EXPECT_EQ(slow.lag(), 1024U);
  ASSERT_TRUE(slow.try_pop(v));
  EXPECT_DOUBLE_EQ(w.backpressure_ratio(), 1023.0 / 1024.0);
}

TEST(Broadcast, OverwriteNeverWaitsAndCountsLagExactly) {
  auto ring = make<Overwrite>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  for (u64 i = 0; i < 20; ++i) ASSERT_TRUE(w.try_publish(i * 3));
  EXPECT_EQ(r.lag(), 20U);
  EXPECT_EQ(r.backpressure_ratio(), 1.0);
  EXPECT_EQ(w.backpressure_ratio(), 1.0);
  u64 v = 0;
  RecvResult res = r.try_pop(v);
  ASSERT_EQ(res.status, RecvStatus::lagged);
  EXPECT_TRUE(res.lagged());
  EXPECT_FALSE(res.closed());
  EXPECT_FALSE(static_cast<bool>(res));
  EXPECT_EQ(res.lost(), 12U);  // 0..11 were overwritten; 12..19 are left
  EXPECT_EQ(r.lapped_count(), 1U);
  EXPECT_EQ(r.lost_count(), 12U);
  for (u64 i = 12; i < 20; ++i) expect_pop(r, i * 3);
  EXPECT_EQ(r.try_pop(v).status, RecvStatus::empty);
  // delivered + lost == published since join
  EXPECT_EQ(r.position() - r.start_position(), 8 + r.lost_count());
  // A batch read stops before a lap and reports it on the next call.
  for (u64 i = 20; i < 40; ++i) ASSERT_TRUE(w.try_publish(i * 3));
  std::array<u64, 4> out{};
  res = r.read(std::span<u64>(out));
  ASSERT_EQ(res.status, RecvStatus::lagged);
  EXPECT_EQ(res.count, 12U);
  res = r.read(std::span<u64>(out));
  ASSERT_EQ(res.status, RecvStatus::ok);
  ASSERT_EQ(res.count, 4U);
  for (u64 i = 0; i < 4; ++i) EXPECT_EQ(out[i], (32 + i) * 3);
  EXPECT_EQ(r.lost_count(), 24U);
  EXPECT_EQ(r.lapped_count(), 2U);
}

TEST(Broadcast, OverwriteReaderLappedTwiceStopsChasingTheWriter) {
  auto ring = make<Overwrite>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  const auto publish_to = [&](u64 n) {
    while (w.sequence() < n) ASSERT_TRUE(w.try_publish(w.sequence()));
  };
  publish_to(20);
  u64 v = 0;
  RecvResult res = r.try_pop(v);
  ASSERT_EQ(res.status, RecvStatus::lagged);
  EXPECT_EQ(res.count, 12U);  // to the oldest: 12
  publish_to(40);             // lapped again before reading anything
  res = r.try_pop(v);
  ASSERT_EQ(res.status, RecvStatus::lagged);
  EXPECT_EQ(res.count, 24U);  // half a ring behind the writer: 36
  for (u64 i = 36; i < 40; ++i) expect_pop(r, i);
  publish_to(60);  // lapped after delivering: back to the oldest
  res = r.try_pop(v);
  ASSERT_EQ(res.status, RecvStatus::lagged);
  EXPECT_EQ(res.count, 12U);  // 40 .. 51 lost
  expect_pop(r, 52);
  EXPECT_EQ(r.lost_count(), 48U);
  EXPECT_EQ(r.lapped_count(), 3U);
  EXPECT_EQ(r.position() - r.start_position(), 5 + r.lost_count());
}

TEST(Broadcast, OverwriteViewsAndStaleConsume) {
  auto ring = make<Overwrite>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  for (u64 i = 0; i < 6; ++i) ASSERT_TRUE(w.try_publish(i));
  auto view = r.readable();
  ASSERT_EQ(view.size(), 6U);
  EXPECT_EQ(view[5], 5U);
  EXPECT_EQ(r.consume(7), Errc::over_consume);
  EXPECT_EQ(r.consume(2), Errc::ok);
  EXPECT_EQ(r.position(), 2U);
  // The writer laps the rest of the view before it is consumed: consume says so.
  for (u64 i = 6; i < 12; ++i) ASSERT_TRUE(w.try_publish(i));  // overwrites 0..3
  EXPECT_EQ(r.consume(2), Errc::lagged);                       // 2, 3 are gone
  EXPECT_EQ(r.lost_count(), 2U);
  EXPECT_EQ(r.consume(2), Errc::ok);  // 4, 5 still intact
  EXPECT_EQ(r.consume(1), Errc::over_consume);
  // Lapped before readable(): the view starts at the oldest element left.
  for (u64 i = 12; i < 30; ++i) ASSERT_TRUE(w.try_publish(i));
  view = r.readable();
  EXPECT_EQ(r.position(), 22U);
  EXPECT_EQ(r.lost_count(), 2U + 16U);
  ASSERT_EQ(view.size(), 2U);  // 22, 23 up to the wrap
  EXPECT_EQ(view[0], 22U);
  EXPECT_EQ(r.consume(2), Errc::ok);
  view = r.readable();
  ASSERT_EQ(view.size(), 6U);
  EXPECT_EQ(view[0], 24U);
  EXPECT_EQ(r.consume(6), Errc::ok);
  EXPECT_EQ(r.position() - r.start_position(), 2 + 2 + 2 + 6 + r.lost_count());
}

TEST(Broadcast, OverwriteWritableStagesAndCommits) {
  auto ring = make<Overwrite>(4);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  auto span = w.writable();
  ASSERT_EQ(span.size(), 4U);
  for (u64 i = 0; i < 3; ++i) span[i] = 100 + i;
  EXPECT_EQ(w.commit(5), Errc::over_commit);
  EXPECT_EQ(w.commit(3), Errc::ok);
  for (u64 i = 0; i < 3; ++i) expect_pop(r, 100 + i);
  const std::array<u64, 6> six{1, 2, 3, 4, 5, 6};
  EXPECT_EQ(w.try_publish(std::span<const u64>(six)), 6U);  // never refused
  u64 v = 0;
  const RecvResult res = r.try_pop(v);
  ASSERT_EQ(res.status, RecvStatus::lagged);
  EXPECT_EQ(res.count, 2U);
  for (u64 i = 3; i <= 6; ++i) expect_pop(r, i);
}

/// Elements whose size is not a multiple of 8 use narrower words; all must round-trip.
struct Odd3 {
  std::uint8_t b[3];
};
struct Odd12 {
  std::uint32_t a, b, c;
};

template <class T, class Make>
void round_trip_overwrite(Make make_elem) {
  auto ring = *BroadcastRing<T, BroadcastPolicy::overwrite>::create(4);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  for (u64 round = 0; round < 10; ++round) {
    for (u64 i = 0; i < 3; ++i) ASSERT_TRUE(w.try_publish(make_elem(round * 3 + i)));
    for (u64 i = 0; i < 3; ++i) {
      T got{};
      ASSERT_EQ(r.try_pop(got).status, RecvStatus::ok);
      const T want = make_elem(round * 3 + i);
      EXPECT_EQ(std::memcmp(&got, &want, sizeof(T)), 0);
    }
  }
}

TEST(Broadcast, OverwriteOddElementSizes) {
  round_trip_overwrite<Odd3>([](u64 i) {
    return Odd3{{static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i + 1),
                 static_cast<std::uint8_t>(i * 7)}};
  });
  round_trip_overwrite<Odd12>([](u64 i) {
    return Odd12{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(~i),
                 static_cast<std::uint32_t>(i * 31)};
  });
}

template <class Ring>
void close_drains_then_reports_closed() {
  auto ring = make<Ring>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  for (u64 i = 0; i < 3; ++i) ASSERT_TRUE(w.try_publish(i));
  EXPECT_TRUE(r.peer_alive());
  w.close();
  EXPECT_FALSE(w.valid());
  EXPECT_FALSE(w.peer_alive());
  EXPECT_FALSE(ring.is_open());
  EXPECT_FALSE(r.peer_alive());
  for (u64 i = 0; i < 3; ++i) expect_pop(r, i);
  u64 v = 0;
  EXPECT_EQ(r.try_pop(v).status, RecvStatus::closed);
  EXPECT_EQ(r.pop(v).status, RecvStatus::closed);
  EXPECT_EQ(r.pop_for(v, 1ms).status, RecvStatus::closed);
  EXPECT_EQ(ring.subscribe().error(), Errc::closed);
  EXPECT_EQ(ring.take_writer().error(), Errc::closed);
}

TEST(Broadcast, CloseDrainsThenReportsClosedGated) { close_drains_then_reports_closed<Gated>(); }
TEST(Broadcast, CloseDrainsThenReportsClosedOverwrite) {
  close_drains_then_reports_closed<Overwrite>();
}

TEST(Broadcast, RingCloseStopsTheWriter) {
  auto ring = make<Gated>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  ASSERT_TRUE(w.try_publish(7));
  ring.close();
  ring.close();  // idempotent
  EXPECT_FALSE(w.try_publish(8));
  EXPECT_EQ(w.publish(8), Errc::closed);
  EXPECT_EQ(w.publish_for(8, 1ms), Errc::closed);
  EXPECT_EQ(w.commit(1), Errc::closed);
  EXPECT_TRUE(w.writable().empty());
  const std::array<u64, 2> two{1, 2};
  EXPECT_EQ(w.try_publish(std::span<const u64>(two)), 0U);
  expect_pop(r, 7);
  u64 v = 0;
  EXPECT_EQ(r.try_pop(v).status, RecvStatus::closed);
}

TEST(Broadcast, WriterDestructionCloses) {
  auto ring = make<Overwrite>(8);
  auto r = *ring.subscribe();
  {
    auto w = *ring.take_writer();
    ASSERT_TRUE(w.try_publish(1));
  }
  expect_pop(r, 1);
  u64 v = 0;
  EXPECT_EQ(r.try_pop(v).status, RecvStatus::closed);
}

TEST(Broadcast, LaggedIsDistinctFromClosed) {
  auto ring = make<Overwrite>(4);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  for (u64 i = 0; i < 10; ++i) ASSERT_TRUE(w.try_publish(i));
  w.close();
  u64 v = 0;
  RecvResult res = r.pop(v);
  EXPECT_EQ(res.status, RecvStatus::lagged);
  EXPECT_EQ(res.count, 6U);
  for (u64 i = 6; i < 10; ++i) {
    res = r.pop(v);
    ASSERT_EQ(res.status, RecvStatus::ok);
    EXPECT_EQ(v, i);
  }
  EXPECT_EQ(r.pop(v).status, RecvStatus::closed);
}

TEST(Broadcast, Timeouts) {
  auto ring = make<Gated>(2);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  u64 v = 0;
  EXPECT_EQ(r.pop_for(v, 2ms).status, RecvStatus::timed_out);
  std::array<u64, 2> out{};
  EXPECT_EQ(r.read_for(std::span<u64>(out), 1ms).status, RecvStatus::timed_out);
  EXPECT_EQ(w.publish_for(1, 1ms), Errc::ok);
  EXPECT_EQ(w.publish_for(2, 1ms), Errc::ok);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(w.publish_for(3, 5ms), Errc::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 5ms);
  EXPECT_EQ(w.publish_for(3, -1ms), Errc::timed_out);  // a negative timeout does not wait
  const RecvResult got = r.read_for(std::span<u64>(out), 1ms);
  ASSERT_EQ(got.status, RecvStatus::ok);
  EXPECT_EQ(got.count, 2U);
  EXPECT_EQ(w.publish_for(3, 1ms), Errc::ok);
}

TEST(Broadcast, WaitForReportsWhatIsReadable) {
  auto ring = make<Gated>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  EXPECT_EQ(r.wait_for(1ms).status, RecvStatus::timed_out);
  ASSERT_TRUE(w.try_publish(1));
  ASSERT_TRUE(w.try_publish(2));
  RecvResult res = r.wait_for(1ms);
  ASSERT_EQ(res.status, RecvStatus::ok);
  EXPECT_EQ(res.count, 2U);
  EXPECT_EQ(r.readable().size(), 2U);
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    w.close();
  });
  ASSERT_EQ(r.consume(2), Errc::ok);
  EXPECT_EQ(r.wait_for(std::chrono::seconds(30)).status, RecvStatus::closed);  // woken by close
  t.join();
  EXPECT_EQ(Gated::Reader().wait_for(1ms).status, RecvStatus::closed);
}

TEST(Broadcast, BlockedReaderWakesOnPublishAndOnClose) {
  auto ring = make<Gated>(8);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  std::atomic<int> phase{0};
  std::thread t([&] {
    u64 v = 0;
    const RecvResult a = r.pop(v);
    EXPECT_EQ(a.status, RecvStatus::ok);
    EXPECT_EQ(v, 42U);
    phase.store(1);
    EXPECT_EQ(r.pop(v).status, RecvStatus::closed);
    phase.store(2);
  });
  std::this_thread::sleep_for(20ms);  // let the reader go to sleep (no assertion on timing)
  EXPECT_EQ(w.publish(42), Errc::ok);
  while (phase.load() != 1) std::this_thread::yield();
  std::this_thread::sleep_for(20ms);
  w.close();
  t.join();
  EXPECT_EQ(phase.load(), 2);
}

TEST(Broadcast, BlockedWriterWakesOnConsumeLeaveAndClose) {
  auto ring = make<Gated>(2);
  auto w = *ring.take_writer();
  auto r = *ring.subscribe();
  ASSERT_TRUE(w.try_publish(0));
  ASSERT_TRUE(w.try_publish(1));
  std::thread t([&] {
    EXPECT_EQ(w.publish(2), Errc::ok);  // woken by the consume
    EXPECT_EQ(w.publish(3), Errc::ok);  // woken by the reader leaving
    EXPECT_EQ(w.publish(4), Errc::ok);  // no readers: no wait
    EXPECT_EQ(w.publish(5), Errc::ok);
  });
  std::this_thread::sleep_for(20ms);
  expect_pop(r, 0);
  std::this_thread::sleep_for(20ms);
  r.close();
  t.join();

  auto r2 = *ring.subscribe();
  ASSERT_TRUE(w.try_publish(6));
  ASSERT_TRUE(w.try_publish(7));
  std::thread t2([&] { EXPECT_EQ(w.publish(8), Errc::closed); });  // woken by ring.close()
  std::this_thread::sleep_for(20ms);
  ring.close();
  t2.join();
  expect_pop(r2, 6);
  expect_pop(r2, 7);
  u64 v = 0;
  EXPECT_EQ(r2.try_pop(v).status, RecvStatus::closed);
}

TEST(Broadcast, MovedHandlesAreEmpty) {
  auto ring = make<Gated>(4);
  auto r = *ring.subscribe();
  auto r2 = std::move(r);
  EXPECT_FALSE(r.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is under test
  EXPECT_EQ(r.capacity(), 0U);
  u64 v = 0;
  EXPECT_EQ(r.try_pop(v).status, RecvStatus::closed);
  EXPECT_TRUE(r.readable().empty());
  EXPECT_EQ(r.lag(), 0U);
  EXPECT_EQ(ring.reader_count(), 1U);
  r2 = Gated::Reader();
  EXPECT_EQ(ring.reader_count(), 0U);
  Gated::Writer w;
  EXPECT_FALSE(w.try_publish(1));
  EXPECT_EQ(w.publish(1), Errc::closed);
  EXPECT_EQ(w.commit(1), Errc::over_commit);
  EXPECT_EQ(w.backpressure_ratio(), 0.0);
}

TEST(Broadcast, RecvResultAccessors) {
  constexpr RecvResult kOk{RecvStatus::ok, 3};
  static_assert(kOk.ok() && static_cast<bool>(kOk) && kOk.lost() == 0);
  constexpr RecvResult kLag{RecvStatus::lagged, 5};
  static_assert(kLag.lagged() && !kLag.ok() && kLag.lost() == 5 && !kLag.closed());
  constexpr RecvResult kTimedOut{RecvStatus::timed_out, 0};
  static_assert(kTimedOut.timed_out() && !kTimedOut.closed());
}

}  // namespace
