// Unit tests of the SPSC and MPSC channels (ringkit/channel.hpp), typed over
// {spsc, mpsc} x {mirrored, fallback (MirrorMode::never)}: the non-blocking calls, checked counts,
// batches contiguous across the wrap, counters near 2^64, the blocking calls (timeouts, end of
// stream, a gone peer), MPSC producer copies, and that a blocked side sleeps instead of spinning.
// No timing assertion has an upper bound: elapsed time is only checked against a timeout from
// below.
#include <ringkit/channel.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <numeric>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/mirror_queue.hpp>
#include <ringkit/result.hpp>

namespace ringkit {
inline void PrintTo(Errc e, std::ostream* os) {
  *os << "Errc(" << static_cast<int>(e) << ": " << describe(e) << ")";
}
}  // namespace ringkit

namespace {

using namespace std::chrono_literals;
using ringkit::Errc;
using ringkit::MirrorMode;
using ringkit::MirrorRegion;
using ringkit::RingOptions;
using Clock = std::chrono::steady_clock;
using u64 = std::uint64_t;

/// The channel families under test.
enum class Flavor { spsc, mpsc, ordered_mpsc };

/// One channel kind: SPSC, MPSC (lanes) or ordered MPSC, on mirrored storage (required) or the
/// plain fallback.
template <Flavor F, MirrorMode Mode>
struct Kind {
  static constexpr Flavor kFlavor = F;
  static constexpr bool kMpsc = F != Flavor::spsc;
  static constexpr MirrorMode kMode = Mode;
  static constexpr bool kMirrored = Mode != MirrorMode::never;
  template <class T>
  static auto make(std::size_t capacity, std::uint64_t start = 0) {
    const RingOptions o{.mode = Mode, .initial_position = start};
    if constexpr (F == Flavor::mpsc) {
      return ringkit::make_mpsc<T>(capacity, o);
    } else if constexpr (F == Flavor::ordered_mpsc) {
      return ringkit::make_ordered_mpsc<T>(capacity, o);
    } else {
      return ringkit::make_spsc<T>(capacity, o);
    }
  }
};

using SpscMirrored = Kind<Flavor::spsc, MirrorMode::required>;
using SpscFallback = Kind<Flavor::spsc, MirrorMode::never>;
using MpscMirrored = Kind<Flavor::mpsc, MirrorMode::required>;
using MpscFallback = Kind<Flavor::mpsc, MirrorMode::never>;
using OrderedMirrored = Kind<Flavor::ordered_mpsc, MirrorMode::required>;
using OrderedFallback = Kind<Flavor::ordered_mpsc, MirrorMode::never>;

struct KindName {
  template <class K>
  static std::string GetName(int /*index*/) {
    const char* flavor = K::kFlavor == Flavor::spsc   ? "spsc_"
                         : K::kFlavor == Flavor::mpsc ? "mpsc_"
                                                      : "ordered_mpsc_";
    return std::string(flavor) + (K::kMirrored ? "mirrored" : "fallback");
  }
};

/// Consumer's view of its producer(s).
template <class Consumer>
bool peer_alive(const Consumer& c) {
  return c.peer_alive();
}

/// Makes channel `ch` (with `tx`/`rx` references) of the test's kind; a mirrored kind the
/// kernel cannot map skips the test, anything else fails it.
#define MAKE_CHANNEL_OR_SKIP(ch, T, capacity, start)                                        \
  auto ch##_result = TypeParam::template make<T>((capacity), (start));                      \
  if (!ch##_result) {                                                                       \
    if (TypeParam::kMirrored) GTEST_SKIP() << "mirroring: " << ch##_result.message();       \
    FAIL() << ch##_result.message();                                                        \
  }                                                                                         \
  auto& ch = *ch##_result; /* NOLINT(bugprone-macro-parentheses): names the new variable */ \
  auto& tx = (ch).producer;                                                                 \
  auto& rx = (ch).consumer;                                                                 \
  ASSERT_EQ(tx.mirrored(), TypeParam::kMirrored);                                           \
  ASSERT_EQ(rx.mirrored(), TypeParam::kMirrored)

template <class K>
class ChannelTyped : public ::testing::Test {};
using AllKinds = ::testing::Types<SpscMirrored, SpscFallback, MpscMirrored, MpscFallback,
                                  OrderedMirrored, OrderedFallback>;
TYPED_TEST_SUITE(ChannelTyped, AllKinds, KindName);

double thread_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::vector<u64> iota_vec(u64 first, std::size_t n) {
  std::vector<u64> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Non-blocking calls
// ---------------------------------------------------------------------------------------------

TYPED_TEST(ChannelTyped, TryPushTryPopFullAndEmpty) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 100, 0);
  const std::size_t cap = tx.capacity();
  EXPECT_GE(cap, 100U);
  EXPECT_EQ(cap & (cap - 1), 0U);
  EXPECT_EQ(rx.capacity(), cap);
  EXPECT_TRUE(tx.valid());
  EXPECT_TRUE(rx.valid());
  EXPECT_TRUE(tx.peer_alive());
  EXPECT_TRUE(peer_alive(rx));

  u64 out = 0;
  EXPECT_FALSE(rx.try_pop(out));
  EXPECT_FALSE(rx.try_pop().has_value());
  for (u64 i = 0; i < cap; ++i) ASSERT_TRUE(tx.try_push(i)) << i;
  EXPECT_FALSE(tx.try_push(cap)) << "pushed into a full channel";
  for (u64 i = 0; i < cap; ++i) {
    ASSERT_TRUE(rx.try_pop(out));
    ASSERT_EQ(out, i);
  }
  EXPECT_FALSE(rx.try_pop(out));
  ASSERT_TRUE(tx.try_push(7));
  EXPECT_EQ(rx.try_pop(), std::optional<u64>(7));
}

TYPED_TEST(ChannelTyped, PushSliceAndPopSliceCopyWhatFits) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  const std::size_t cap = tx.capacity();
  const auto src = iota_vec(0, cap + 10);
  EXPECT_EQ(tx.push_slice(std::span<const u64>()), 0U);
  ASSERT_EQ(tx.push_slice(std::span(src).first(10)), 10U);
  ASSERT_EQ(tx.push_slice(std::span(src).subspan(10)), cap - 10) << "only what fits";
  EXPECT_EQ(tx.push_slice(std::span(src).first(1)), 0U) << "full";

  std::vector<u64> out(cap + 5, ~u64{0});
  EXPECT_EQ(rx.pop_slice(std::span<u64>()), 0U);
  ASSERT_EQ(rx.pop_slice(std::span(out).first(3)), 3U);
  ASSERT_EQ(rx.pop_slice(std::span(out).subspan(3)), cap - 3) << "only what is there";
  for (std::size_t i = 0; i < cap; ++i) ASSERT_EQ(out[i], i);
  EXPECT_EQ(out[cap], ~u64{0}) << "pop_slice wrote past what it returned";
  EXPECT_EQ(rx.pop_slice(std::span(out)), 0U) << "empty";
}

TYPED_TEST(ChannelTyped, ReadableSliceAndAdvance) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  EXPECT_TRUE(rx.readable().empty());
  const auto src = iota_vec(100, 10);
  ASSERT_EQ(tx.push_slice(src), 10U);
  auto s = rx.readable();
  ASSERT_EQ(s.size(), 10U);
  EXPECT_TRUE(std::ranges::equal(s, src));
  EXPECT_EQ(rx.consume(0), Errc::ok);
  EXPECT_EQ(rx.consume(3), Errc::ok);
  EXPECT_EQ(rx.consume(8), Errc::over_consume);
  EXPECT_EQ(rx.consume(~std::size_t{0}), Errc::over_consume);
  s = rx.readable();
  ASSERT_EQ(s.size(), 7U) << "an over-consume removed elements";
  EXPECT_EQ(s[0], 103U);
  EXPECT_EQ(rx.consume(7), Errc::ok);
  EXPECT_TRUE(rx.readable().empty());
  EXPECT_EQ(rx.consume(1), Errc::over_consume);
  // consume() sees elements pushed after the last readable().
  ASSERT_TRUE(tx.try_push(1));
  ASSERT_TRUE(tx.try_push(2));
  EXPECT_EQ(rx.consume(2), Errc::ok);
  EXPECT_FALSE(rx.try_pop().has_value());
}

TYPED_TEST(ChannelTyped, PushSliceIsContiguousAcrossTheWrap) {
  // Start 3 slots before the wrap; one batch of capacity() elements crosses it.
  const std::size_t want = 4096 / sizeof(u64);
  MAKE_CHANNEL_OR_SKIP(ch, u64, want, want - 3);
  const std::size_t cap = tx.capacity();
  ASSERT_EQ(cap, want);
  const auto src = iota_vec(1000, cap);
  ASSERT_EQ(tx.push_slice(src), cap) << "a batch of capacity() fits an empty channel";

  auto s = rx.readable();
  if (TypeParam::kMirrored) {
    ASSERT_EQ(s.size(), cap) << "mirrored: one span covering the wrap";
    EXPECT_TRUE(std::ranges::equal(s, src));
    EXPECT_EQ(rx.consume(cap), Errc::ok);
  } else {
    ASSERT_EQ(s.size(), 3U) << "fallback: the slice ends at the wrap";
    EXPECT_TRUE(std::ranges::equal(s, std::span(src).first(3)));
    ASSERT_EQ(rx.consume(3), Errc::ok);
    s = rx.readable();
    ASSERT_EQ(s.size(), cap - 3);
    EXPECT_TRUE(std::ranges::equal(s, std::span(src).subspan(3)));
    ASSERT_EQ(rx.consume(cap - 3), Errc::ok);
  }
  // pop_slice copies a wrapped batch whole in both layouts.
  ASSERT_EQ(tx.push_slice(src), cap);
  std::vector<u64> out(cap);
  ASSERT_EQ(rx.pop_slice(out), cap);
  EXPECT_EQ(out, src);
}

TYPED_TEST(ChannelTyped, CountersNear2Pow64) {
  const std::size_t want = 4096 / sizeof(u64);
  const u64 start = ~u64{0} - want / 2 - 5;
  MAKE_CHANNEL_OR_SKIP(ch, u64, want, start);
  const std::size_t cap = tx.capacity();
  u64 pushed = 0;
  u64 popped = 0;
  std::vector<u64> buf(cap);
  for (int step = 0; step < 200; ++step) {
    const std::size_t n = 1 + static_cast<std::size_t>(step * 37) % cap;
    const auto src = iota_vec(pushed, n);
    pushed += tx.push_slice(src);
    switch (step % 3) {
      case 0: {
        const std::size_t got =
            rx.pop_slice(std::span(buf).first(1 + (static_cast<std::size_t>(step) * 11) % cap));
        for (std::size_t i = 0; i < got; ++i) ASSERT_EQ(buf[i], popped + i) << step;
        popped += got;
        break;
      }
      case 1: {
        const auto s = rx.readable();
        for (std::size_t i = 0; i < s.size(); ++i) ASSERT_EQ(s[i], popped + i) << step;
        const std::size_t k = s.size() / 2 + (s.empty() ? 0 : 1);
        ASSERT_EQ(rx.consume(k), Errc::ok);
        popped += k;
        break;
      }
      default: {
        u64 v = 0;
        while (rx.try_pop(v)) ASSERT_EQ(v, popped++) << step;
      }
    }
  }
  EXPECT_GT(pushed, cap) << "the counters did not wrap";
  u64 v = 0;
  while (rx.try_pop(v)) ASSERT_EQ(v, popped++);
  EXPECT_EQ(popped, pushed);
}

TYPED_TEST(ChannelTyped, MovedFromAndDefaultHalvesAreSafe) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  ASSERT_TRUE(tx.try_push(1));
  auto tx2 = std::move(tx);
  auto rx2 = std::move(rx);
  // NOLINTBEGIN(bugprone-use-after-move): the moved-from state is specified
  EXPECT_FALSE(tx.valid());
  EXPECT_EQ(tx.capacity(), 0U);
  EXPECT_FALSE(tx.peer_alive());
  EXPECT_FALSE(tx.try_push(1));
  const u64 two[2]{1, 2};
  EXPECT_EQ(tx.push_slice(two), 0U);
  EXPECT_FALSE(tx.push(1)) << "push() on a moved-from producer must not block";
  EXPECT_FALSE(tx.push_for(1, 1ms));
  tx.close();
  EXPECT_FALSE(rx.valid());
  EXPECT_EQ(rx.capacity(), 0U);
  EXPECT_FALSE(peer_alive(rx));
  EXPECT_FALSE(rx.try_pop().has_value());
  u64 out = 0;
  EXPECT_FALSE(rx.pop(out)) << "pop() on a moved-from consumer must not block";
  EXPECT_FALSE(rx.pop_for(out, 1ms));
  std::vector<u64> buf(4);
  EXPECT_EQ(rx.pop_slice(buf), 0U);
  EXPECT_TRUE(rx.readable().empty());
  EXPECT_EQ(rx.consume(1), Errc::over_consume);
  rx.close();
  // NOLINTEND(bugprone-use-after-move)

  // The moved-to halves carry on.
  ASSERT_TRUE(tx2.try_push(2));
  EXPECT_EQ(rx2.try_pop(), std::optional<u64>(1));
  EXPECT_EQ(rx2.try_pop(), std::optional<u64>(2));

  // Default-constructed halves too.
  std::remove_cvref_t<decltype(tx2)> dtx;
  std::remove_cvref_t<decltype(rx2)> drx;
  EXPECT_FALSE(dtx.valid());
  EXPECT_FALSE(dtx.try_push(1));
  EXPECT_FALSE(dtx.push(1));
  EXPECT_FALSE(drx.try_pop(out));
  EXPECT_FALSE(drx.pop(out));
  EXPECT_EQ(drx.consume(1), Errc::over_consume);
}

// ---------------------------------------------------------------------------------------------
// Blocking calls
// ---------------------------------------------------------------------------------------------

TYPED_TEST(ChannelTyped, PopForTimesOutOnAnEmptyChannel) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  u64 out = 0;
  const auto t0 = Clock::now();
  EXPECT_FALSE(rx.pop_for(out, 50ms));
  EXPECT_GE(ms_since(t0), 50.0) << "pop_for returned before its timeout";
  EXPECT_FALSE(rx.pop_for(out, 0ms));
  EXPECT_FALSE(rx.pop_for(out, -5ms));
  ASSERT_TRUE(tx.try_push(9));
  EXPECT_TRUE(rx.pop_for(out, 50ms));
  EXPECT_EQ(out, 9U);
  ASSERT_TRUE(tx.try_push(10));
  EXPECT_TRUE(rx.pop_for(out, 0ms)) << "a zero timeout still takes what is there";
  EXPECT_EQ(out, 10U);
}

TYPED_TEST(ChannelTyped, PushForTimesOutOnAFullChannel) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  const std::size_t cap = tx.capacity();
  for (u64 i = 0; i < cap; ++i) ASSERT_TRUE(tx.try_push(i));
  const auto t0 = Clock::now();
  EXPECT_FALSE(tx.push_for(cap, 50ms));
  EXPECT_GE(ms_since(t0), 50.0) << "push_for returned before its timeout";
  EXPECT_EQ(rx.try_pop(), std::optional<u64>(0));
  EXPECT_TRUE(tx.push_for(cap, 50ms));
  for (u64 i = 1; i <= cap; ++i) ASSERT_EQ(rx.try_pop(), std::optional<u64>(i));
}

TYPED_TEST(ChannelTyped, PopDrainsThenReportsEndOfStream) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  for (u64 i = 0; i < 5; ++i) ASSERT_TRUE(tx.push(i));
  tx.close();
  EXPECT_FALSE(tx.valid());
  EXPECT_FALSE(peer_alive(rx));
  u64 out = 0;
  for (u64 i = 0; i < 5; ++i) {
    ASSERT_TRUE(rx.pop(out)) << "element " << i << " pushed before close() was lost";
    ASSERT_EQ(out, i);
  }
  EXPECT_FALSE(rx.pop(out)) << "pop() after end of stream";
  EXPECT_FALSE(rx.pop_for(out, 10ms));
  EXPECT_FALSE(rx.try_pop(out));
}

TYPED_TEST(ChannelTyped, BlockedPopWakesWhenTheProducerGoes) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  std::atomic<int> result{-1};
  std::thread consumer([&rx, &result] {
    u64 out = 0;
    std::vector<u64> got;
    while (rx.pop(out)) got.push_back(out);
    result.store(got == std::vector<u64>{1, 2, 3} ? 1 : 0);
  });
  ASSERT_TRUE(tx.push(1));
  ASSERT_TRUE(tx.push(2));
  ASSERT_TRUE(tx.push(3));
  std::this_thread::sleep_for(50ms);
  { auto gone = std::move(tx); }  // destroying the producer ends the stream
  consumer.join();
  EXPECT_EQ(result.load(), 1) << "the consumer did not get exactly 1, 2, 3 before the end";
}

TYPED_TEST(ChannelTyped, PushFailsWhenTheConsumerIsGone) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  const std::size_t cap = tx.capacity();
  for (u64 i = 0; i < cap; ++i) ASSERT_TRUE(tx.try_push(i));
  rx.close();
  EXPECT_FALSE(tx.peer_alive());
  EXPECT_FALSE(tx.push(1)) << "push() into a full channel without a consumer";
  EXPECT_FALSE(tx.push_for(1, 1s));
}

TYPED_TEST(ChannelTyped, BlockedPushWakesWhenTheConsumerGoes) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  const std::size_t cap = tx.capacity();
  for (u64 i = 0; i < cap; ++i) ASSERT_TRUE(tx.try_push(i));
  std::atomic<int> result{-1};
  std::thread producer([&tx, &result] { result.store(tx.push(99) ? 1 : 0); });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(result.load(), -1) << "push() into a full channel returned early";
  { auto gone = std::move(rx); }
  producer.join();
  EXPECT_EQ(result.load(), 0) << "push() must return false once the consumer is gone";
}

TYPED_TEST(ChannelTyped, TwoThreadsBlockingPushAndPopInOrder) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, ~u64{0} - 1000);
#ifdef RINGKIT_TEST_SANITIZED
  constexpr u64 kCount = 20'000;
#else
  constexpr u64 kCount = 200'000;
#endif
  std::thread producer([&tx] {
    for (u64 i = 0; i < kCount; ++i) {
      if (!tx.push(i)) return;
    }
    tx.close();
  });
  u64 out = 0;
  u64 expect = 0;
  while (rx.pop(out)) {
    ASSERT_EQ(out, expect) << "out of order";
    ++expect;
  }
  producer.join();
  EXPECT_EQ(expect, kCount);
}

TYPED_TEST(ChannelTyped, TwoThreadsBatches) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 512, 0);
#ifdef RINGKIT_TEST_SANITIZED
  constexpr u64 kCount = 50'000;
#else
  constexpr u64 kCount = 1'000'000;
#endif
  std::thread producer([&tx] {
    u64 next = 0;
    std::vector<u64> batch;
    while (next < kCount) {
      const std::size_t n = std::min<u64>(1 + next % 97, kCount - next);
      batch.resize(n);
      std::iota(batch.begin(), batch.end(), next);
      std::size_t done = 0;
      while (done < n) {
        const std::size_t k = tx.push_slice(std::span(batch).subspan(done));
        if (k == 0) std::this_thread::yield();
        done += k;
      }
      next += n;
    }
  });
  u64 expect = 0;
  std::vector<u64> buf(300);
  while (expect < kCount) {
    std::size_t got = 0;
    if (expect % 2 == 0) {
      got = rx.pop_slice(buf);
      for (std::size_t i = 0; i < got; ++i) ASSERT_EQ(buf[i], expect + i);
    } else {
      const auto s = rx.readable();
      for (std::size_t i = 0; i < s.size(); ++i) ASSERT_EQ(s[i], expect + i);
      got = s.size();
      ASSERT_EQ(rx.consume(got), Errc::ok);
    }
    if (got == 0) std::this_thread::yield();
    expect += got;
  }
  producer.join();
  EXPECT_EQ(expect, kCount);
}

/// A consumer blocked in pop() sleeps: it uses (almost) no CPU while nothing arrives.
TYPED_TEST(ChannelTyped, IdleBlockedConsumerSleeps) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  std::atomic<bool> started{false};
  double cpu_ms = -1;
  double wall_ms = -1;
  bool got = false;
  u64 value = 0;
  std::thread consumer([&] {
    const double c0 = thread_cpu_ms();
    const auto w0 = Clock::now();
    started.store(true, std::memory_order_release);
    got = rx.pop(value);
    wall_ms = ms_since(w0);
    cpu_ms = thread_cpu_ms() - c0;
  });
  while (!started.load(std::memory_order_acquire)) std::this_thread::yield();
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(tx.push(4242));
  consumer.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(value, 4242U);
  EXPECT_GE(wall_ms, 200.0);
  EXPECT_LT(cpu_ms, 50.0) << "the blocked consumer burned CPU while waiting " << wall_ms << " ms";
}

/// Likewise a producer blocked in push() on a full channel.
TYPED_TEST(ChannelTyped, IdleBlockedProducerSleeps) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  const std::size_t cap = tx.capacity();
  for (u64 i = 0; i < cap; ++i) ASSERT_TRUE(tx.try_push(i));
  std::atomic<bool> started{false};
  double cpu_ms = -1;
  double wall_ms = -1;
  bool pushed = false;
  std::thread producer([&] {
    const double c0 = thread_cpu_ms();
    const auto w0 = Clock::now();
    started.store(true, std::memory_order_release);
    pushed = tx.push(cap);
    wall_ms = ms_since(w0);
    cpu_ms = thread_cpu_ms() - c0;
  });
  while (!started.load(std::memory_order_acquire)) std::this_thread::yield();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(rx.try_pop(), std::optional<u64>(0));
  producer.join();
  EXPECT_TRUE(pushed);
  EXPECT_GE(wall_ms, 200.0);
  EXPECT_LT(cpu_ms, 50.0) << "the blocked producer burned CPU while waiting " << wall_ms << " ms";
  for (u64 i = 1; i <= cap; ++i) ASSERT_EQ(rx.try_pop(), std::optional<u64>(i));
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

TEST(Channel, CreationErrorsAndRounding) {
  for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::required, MirrorMode::never}) {
    auto s = ringkit::make_spsc<u64>(0, {.mode = mode});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), Errc::invalid_capacity);
    EXPECT_FALSE(s.message().empty());
    auto m = ringkit::make_mpsc<u64>(0, {.mode = mode});
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), Errc::invalid_capacity);
    auto big = ringkit::make_spsc<u64>(~std::size_t{0} / 4, {.mode = mode});
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error(), Errc::invalid_capacity);
  }
  // Huge pages cannot back a one-page channel when mirroring is required.
  const RingOptions huge{.mode = MirrorMode::required, .region = {.huge_pages = true}};
  auto s = ringkit::make_spsc<u64>(512, huge);
  ASSERT_FALSE(s);
  EXPECT_STRNE(s.context(), "");
  auto m = ringkit::make_mpsc<u64>(512, huge);
  ASSERT_FALSE(m);
  EXPECT_FALSE(m.message().empty());

  // Rounding: a power of two, whole pages when the storage may be mirrored.
  auto a = ringkit::make_spsc<u64>(3);
  ASSERT_TRUE(a) << a.message();
  EXPECT_EQ(a->producer.capacity(), MirrorRegion::page_size() / sizeof(u64));
  auto b = ringkit::make_mpsc<std::uint16_t>(5000);
  ASSERT_TRUE(b) << b.message();
  EXPECT_EQ(b->producer.capacity(), 8192U);
  auto c = ringkit::make_spsc<u64>(3, {.mode = MirrorMode::never});
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->producer.capacity(), 4U);
  EXPECT_FALSE(c->producer.mirrored());
}

// ---------------------------------------------------------------------------------------------
// SPSC and MPSC lanes: writable + commit (a lane is a single-producer ring)
// ---------------------------------------------------------------------------------------------

template <class K>
class SpscTyped : public ::testing::Test {};
using SpscKinds = ::testing::Types<SpscMirrored, SpscFallback, MpscMirrored, MpscFallback>;
TYPED_TEST_SUITE(SpscTyped, SpscKinds, KindName);

TYPED_TEST(SpscTyped, WritableSliceAndCheckedCommit) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  const std::size_t cap = tx.capacity();
  auto w = tx.writable();
  ASSERT_EQ(w.size(), cap);
  for (std::size_t i = 0; i < 5; ++i) w[i] = 50 + i;
  EXPECT_EQ(rx.size_hint(), 0U) << "writable() must not publish";
  EXPECT_EQ(tx.commit(cap + 1), Errc::over_commit);
  EXPECT_EQ(tx.commit(~std::size_t{0}), Errc::over_commit);
  EXPECT_EQ(rx.size_hint(), 0U) << "an over-commit published elements";
  EXPECT_EQ(tx.commit(0), Errc::ok);
  ASSERT_EQ(tx.commit(5), Errc::ok);
  EXPECT_EQ(rx.size_hint(), 5U);
  EXPECT_EQ(tx.commit(cap - 4), Errc::over_commit);
  EXPECT_EQ(rx.size_hint(), 5U);
  const auto s = rx.readable();
  ASSERT_EQ(s.size(), 5U);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(s[i], 50 + i);
  EXPECT_EQ(tx.writable().size(), cap - 5);
  ASSERT_EQ(tx.commit(cap - 5), Errc::ok);  // exactly the free space (contents unspecified)
  EXPECT_TRUE(tx.writable().empty());
  EXPECT_EQ(tx.commit(1), Errc::over_commit);
}

TYPED_TEST(SpscTyped, WritableSliceAcrossTheWrap) {
  const std::size_t want = 4096 / sizeof(u64);
  MAKE_CHANNEL_OR_SKIP(ch, u64, want, want - 3);
  const std::size_t cap = tx.capacity();
  auto w = tx.writable();
  if (TypeParam::kMirrored) {
    ASSERT_EQ(w.size(), cap) << "mirrored: all free slots in one span";
    std::iota(w.begin(), w.end(), u64{0});
    ASSERT_EQ(tx.commit(cap), Errc::ok);
  } else {
    ASSERT_EQ(w.size(), 3U) << "fallback: the slice ends at the wrap";
    std::iota(w.begin(), w.end(), u64{0});
    ASSERT_EQ(tx.commit(3), Errc::ok);
    auto w2 = tx.writable();
    ASSERT_EQ(w2.size(), cap - 3);
    std::iota(w2.begin(), w2.end(), u64{3});
    ASSERT_EQ(tx.commit(cap - 3), Errc::ok);
  }
  std::vector<u64> out(cap);
  ASSERT_EQ(rx.pop_slice(out), cap);
  EXPECT_EQ(out, iota_vec(0, cap));
}

// ---------------------------------------------------------------------------------------------
// MPSC only: producer handles
// ---------------------------------------------------------------------------------------------

template <class K>
class MpscTyped : public ::testing::Test {};
using MpscKinds = ::testing::Types<MpscMirrored, MpscFallback, OrderedMirrored, OrderedFallback>;
TYPED_TEST_SUITE(MpscTyped, MpscKinds, KindName);

TYPED_TEST(MpscTyped, ProducerCopiesKeepTheChannelOpen) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  auto copy1 = tx;
  std::optional<std::remove_cvref_t<decltype(tx)>> copy2;
  copy2.emplace(copy1);
  EXPECT_TRUE(copy1.valid());
  ASSERT_TRUE(copy2->valid());
  ASSERT_TRUE(tx.try_push(1));
  tx.close();
  EXPECT_TRUE(peer_alive(rx)) << "copies are still alive";
  ASSERT_TRUE(copy1.try_push(2));
  { auto gone = std::move(copy1); }
  EXPECT_TRUE(peer_alive(rx));
  ASSERT_TRUE(copy2->push(3));
  // The ordered channel keeps one sequence; lanes keep each handle's order only.
  std::vector<u64> got(2);
  ASSERT_TRUE(rx.pop_for(got[0], 0ms));
  ASSERT_TRUE(rx.pop_for(got[1], 0ms));
  EXPECT_TRUE(peer_alive(rx)) << "the last copy is still alive";
  copy2.reset();
  EXPECT_FALSE(peer_alive(rx)) << "the last copy is gone";
  got.push_back(0);
  ASSERT_TRUE(rx.pop(got[2])) << "an element was lost when its handle went";
  u64 out = 0;
  EXPECT_FALSE(rx.pop(out));
  if (TypeParam::kFlavor == Flavor::ordered_mpsc) {
    EXPECT_EQ(got, (std::vector<u64>{1, 2, 3}));
  } else {
    std::ranges::sort(got);
    EXPECT_EQ(got, (std::vector<u64>{1, 2, 3}));
  }
}

TYPED_TEST(MpscTyped, BlockedPopWaitsForTheLastCopy) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  std::optional<std::remove_cvref_t<decltype(tx)>> copy;
  copy.emplace(tx);
  std::atomic<int> result{-1};
  std::thread consumer([&rx, &result] {
    u64 out = 0;
    result.store(rx.pop(out) ? 1 : 0);
  });
  tx.close();  // one copy is left
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(result.load(), -1) << "pop() ended while a producer copy was alive";
  copy.reset();
  consumer.join();
  EXPECT_EQ(result.load(), 0) << "pop() must report the end once the last copy is gone";
}

TYPED_TEST(MpscTyped, CopyAssignmentReleasesTheOldHandle) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  auto other_result = TypeParam::template make<u64>(64, 0);
  ASSERT_TRUE(other_result) << other_result.message();
  auto& other = *other_result;
  auto a = tx;         // 2 handles on ch
  a = other.producer;  // a leaves ch (1 handle left) and joins other (2 handles)
  tx.close();          // ch: none left
  EXPECT_FALSE(peer_alive(rx)) << "copy-assignment did not release the old channel";
  other.producer.close();
  EXPECT_TRUE(peer_alive(other.consumer));
  ASSERT_TRUE(a.try_push(5));
  EXPECT_EQ(other.consumer.try_pop(), std::optional<u64>(5));
  auto& self = a;
  a = self;  // self-assignment keeps the handle
  EXPECT_TRUE(a.valid());
  EXPECT_TRUE(peer_alive(other.consumer));
  a.close();
  EXPECT_FALSE(peer_alive(other.consumer));
}

TYPED_TEST(MpscTyped, TryPushAllIsAllOrNothing) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  const std::size_t cap = tx.capacity();
  EXPECT_TRUE(tx.try_push_all(std::span<const u64>()));
  EXPECT_FALSE(tx.try_push_all(iota_vec(0, cap + 1))) << "more than the capacity";
  ASSERT_TRUE(tx.try_push_all(iota_vec(0, cap - 2)));
  EXPECT_FALSE(tx.try_push_all(iota_vec(100, 3)));
  std::vector<u64> out(cap);
  ASSERT_EQ(rx.pop_slice(out), cap - 2) << "a failed try_push_all pushed something";
  EXPECT_TRUE(std::ranges::equal(std::span(out).first(cap - 2), iota_vec(0, cap - 2)));
  ASSERT_TRUE(tx.try_push_all(iota_vec(100, 3)));
  EXPECT_EQ(rx.pop_slice(out), 3U);
}

/// Two producers push tagged batches concurrently; each batch arrives whole and in order.
TYPED_TEST(MpscTyped, ConcurrentBatchesStayTogether) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
#ifdef RINGKIT_TEST_SANITIZED
  constexpr u64 kBatches = 2'000;
#else
  constexpr u64 kBatches = 50'000;
#endif
  constexpr std::size_t kBatch = 7;
  auto run = [](std::remove_cvref_t<decltype(tx)> p, u64 id) {
    std::vector<u64> batch(kBatch);
    for (u64 b = 0; b < kBatches; ++b) {
      for (std::size_t i = 0; i < kBatch; ++i) batch[i] = (id << 60) | (b * kBatch + i);
      while (!p.try_push_all(batch)) std::this_thread::yield();
    }
  };
  std::thread t1(run, tx, 1);
  std::thread t2(run, tx, 2);
  tx.close();
  u64 next[3] = {0, 0, 0};
  u64 out = 0;
  u64 total = 0;
  while (rx.pop(out)) {
    const u64 id = out >> 60;
    ASSERT_TRUE(id == 1 || id == 2) << out;
    const u64 seq = out & ((u64{1} << 60) - 1);
    ASSERT_EQ(seq, next[id]) << "producer " << id;
    ++next[id];
    ++total;
    if (seq % kBatch != kBatch - 1) {
      // The rest of the batch follows immediately.
      for (std::size_t i = seq % kBatch + 1; i < kBatch; ++i) {
        ASSERT_TRUE(rx.pop(out));
        ASSERT_EQ(out, (id << 60) | next[id]) << "a batch was split";
        ++next[id];
        ++total;
      }
    }
  }
  t1.join();
  t2.join();
  EXPECT_EQ(total, 2 * kBatches * kBatch);
  EXPECT_EQ(next[1], kBatches * kBatch);
  EXPECT_EQ(next[2], kBatches * kBatch);
}

// ---------------------------------------------------------------------------------------------
// MPSC lanes only: one lane per handle, lanes drained in turn
// ---------------------------------------------------------------------------------------------

template <class K>
class LaneTyped : public ::testing::Test {};
using LaneKinds = ::testing::Types<MpscMirrored, MpscFallback>;
TYPED_TEST_SUITE(LaneTyped, LaneKinds, KindName);

/// A handle that stopped half-way (filled writable(), not committed: what a preempted producer
/// leaves) holds back nothing of the other handles.
TYPED_TEST(LaneTyped, AnUnfinishedProducerBlocksNoOtherHandle) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  auto other = tx;
  ASSERT_TRUE(other.valid());
  auto w = tx.writable();
  ASSERT_FALSE(w.empty());
  w[0] = 111;  // written, not committed
  ASSERT_TRUE(other.try_push(5));
  ASSERT_TRUE(other.try_push(6));
  EXPECT_EQ(rx.try_pop(), std::optional<u64>(5));
  EXPECT_EQ(rx.try_pop(), std::optional<u64>(6));
  EXPECT_FALSE(rx.try_pop().has_value());
  ASSERT_EQ(tx.commit(1), Errc::ok);
  EXPECT_EQ(rx.try_pop(), std::optional<u64>(111));
}

/// The consumer leaves a lane once the snapshot it took is drained, so a producer that keeps
/// pushing cannot starve another lane.
TYPED_TEST(LaneTyped, LanesAreDrainedInTurn) {
  MAKE_CHANNEL_OR_SKIP(ch, u64, 64, 0);
  auto b = tx;
  ASSERT_EQ(tx.push_slice(iota_vec(0, 10)), 10U);
  ASSERT_TRUE(b.try_push(1000));
  // Whichever lane comes first, its snapshot is drained before the other lane is served, and
  // elements pushed meanwhile wait for the next round.
  u64 first = 0;
  ASSERT_TRUE(rx.try_pop(first));
  const bool a_first = first == 0;
  if (a_first) {
    ASSERT_EQ(tx.push_slice(iota_vec(10, 10)), 10U);  // after the snapshot was taken
    for (u64 i = 1; i < 10; ++i) ASSERT_EQ(rx.try_pop(), std::optional<u64>(i));
    EXPECT_EQ(rx.try_pop(), std::optional<u64>(1000)) << "lane b starved by lane a";
    for (u64 i = 10; i < 20; ++i) ASSERT_EQ(rx.try_pop(), std::optional<u64>(i));
  } else {
    ASSERT_EQ(first, 1000U);
    ASSERT_TRUE(b.try_push(1001));
    for (u64 i = 0; i < 10; ++i) ASSERT_EQ(rx.try_pop(), std::optional<u64>(i));
    EXPECT_EQ(rx.try_pop(), std::optional<u64>(1001));
  }
  EXPECT_FALSE(rx.try_pop().has_value());
  // readable() shows one lane; pop_slice fills from several.
  ASSERT_EQ(tx.push_slice(iota_vec(0, 3)), 3U);
  ASSERT_EQ(b.push_slice(iota_vec(100, 4)), 4U);
  EXPECT_EQ(rx.size_hint(), 7U);
  const auto s = rx.readable();
  EXPECT_TRUE(s.size() == 3 || s.size() == 4) << s.size();
  std::vector<u64> out(16);
  EXPECT_EQ(rx.pop_slice(out), 7U);
  EXPECT_EQ(rx.size_hint(), 0U);
}

/// max_producers bounds the handles alive at once; a freed lane is reused, and what its old
/// handle pushed is delivered before what the new one pushes.
TYPED_TEST(LaneTyped, LanesAreBoundedAndReused) {
  auto r = ringkit::make_mpsc<u64>(64, {.mode = TypeParam::kMode}, 2);
  if (!r && TypeParam::kMirrored) GTEST_SKIP() << "mirroring: " << r.message();
  ASSERT_TRUE(r) << r.message();
  auto& tx = r->producer;
  auto& rx = r->consumer;
  auto second = tx.clone();
  ASSERT_TRUE(second) << second.message();
  auto third = tx.clone();
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), Errc::pool_exhausted);
  auto copy = tx;  // a copy cannot get a lane either: it is empty
  EXPECT_FALSE(copy.valid());
  EXPECT_FALSE(copy.try_push(1));
  EXPECT_FALSE(copy.push(1)) << "push() on an empty copy must not block";
  EXPECT_EQ(copy.clone().error(), Errc::invalid_argument);

  ASSERT_TRUE(second->try_push(7));
  ASSERT_TRUE(second->try_push(8));
  second->close();
  auto fourth = tx.clone();
  ASSERT_TRUE(fourth) << "the closed handle's lane was not freed: " << fourth.message();
  EXPECT_EQ(fourth->size_hint(), 2U) << "the reused lane holds 7, 8 of its old handle";
  ASSERT_TRUE(fourth->try_push(9));
  std::vector<u64> got;
  u64 v = 0;
  while (rx.try_pop(v)) got.push_back(v);
  EXPECT_EQ(got, (std::vector<u64>{7, 8, 9}));
  tx.close();
  fourth->close();
  EXPECT_FALSE(rx.peer_alive());
  EXPECT_FALSE(rx.pop(v));
}

TEST(Channel, MpscLaneLimits) {
  auto zero = ringkit::make_mpsc<u64>(64, {}, 0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error(), Errc::invalid_argument);
  auto many = ringkit::make_mpsc<u64>(64, {}, ringkit::kMpscMaxLanes + 1);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error(), Errc::invalid_argument);
  auto ordered = ringkit::make_ordered_mpsc<u64>(0);
  ASSERT_FALSE(ordered);
  EXPECT_EQ(ordered.error(), Errc::invalid_capacity);
}

}  // namespace
