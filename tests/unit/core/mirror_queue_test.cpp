// Unit tests of MirrorQueue<T> (ringkit/mirror_queue.hpp), typed over element sizes 1, 8, 64 and
// 4096 bytes: reserve/commit/release, readable, operator[]/at, iteration, try_push/try_pop,
// checked counts, slices straddling the wrap (one span when mirrored, ending at the wrap on the
// MirrorMode::never fallback), capacity rounding, counters near 2^64, and slot reuse tracking
// (docs/conventions.md rule 17: every slot is reused, and only the capacity()'s worth of slots ever
// is).
#include <ringkit/mirror_queue.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <ranges>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>

#include "support/pattern.hpp"

namespace ringkit {
inline void PrintTo(Errc e, std::ostream* os) {
  *os << "Errc(" << static_cast<int>(e) << ": " << describe(e) << ")";
}
}  // namespace ringkit

namespace {

using ringkit::Errc;
using ringkit::MirrorMode;
using ringkit::MirrorQueue;
using ringkit::MirrorRegion;

/// An element of N bytes that carries a sequence number in all of its bytes.
template <std::size_t N>
struct E {
  std::array<std::byte, N> b;
  friend bool operator==(const E&, const E&) = default;
};

constexpr std::byte seq_byte(std::uint64_t seq, std::size_t i) {
  return ringkit_test::pattern_byte(seq, i);
}

template <class T>
T make(std::uint64_t seq) {
  T e{};
  for (std::size_t i = 0; i < e.b.size(); ++i) e.b[i] = seq_byte(seq, i);
  return e;
}

template <class T>
::testing::AssertionResult holds(const T& e, std::uint64_t seq) {
  for (std::size_t i = 0; i < e.b.size(); ++i) {
    if (e.b[i] != seq_byte(seq, i)) {
      return ::testing::AssertionFailure()
             << "element " << seq << ": byte " << i << " of " << e.b.size() << " differs";
    }
  }
  return ::testing::AssertionSuccess();
}

template <class T>
class MirrorQueueTyped : public ::testing::Test {
 protected:
  /// A queue of at least 4 elements (mirrored when `mode` allows; skips when required fails).
  static std::optional<MirrorQueue<T>> queue(MirrorMode mode, std::uint64_t start = 0,
                                             std::size_t min_capacity = 4) {
    auto q = MirrorQueue<T>::create(min_capacity, {.mode = mode, .initial_position = start});
    if (!q) {
      ADD_FAILURE() << "create: " << q.message();
      return std::nullopt;
    }
    return std::move(*q);
  }
  /// Pushes and pops `n` elements so that the positions move forward by `n`.
  static void consume(MirrorQueue<T>& q, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(q.try_push(make<T>(999'999)));
      ASSERT_TRUE(q.try_pop().has_value());
    }
  }
};

using ElementSizes = ::testing::Types<E<1>, E<8>, E<64>, E<4096>>;

struct SizeName {
  template <class T>
  static std::string GetName(int /*index*/) {
    return std::to_string(sizeof(T)) + "B";
  }
};

TYPED_TEST_SUITE(MirrorQueueTyped, ElementSizes, SizeName);

static_assert(std::ranges::random_access_range<MirrorQueue<E<8>>>);
static_assert(std::ranges::random_access_range<const MirrorQueue<E<8>>>);
static_assert(std::random_access_iterator<MirrorQueue<E<8>>::iterator>);
static_assert(std::random_access_iterator<MirrorQueue<E<8>>::const_iterator>);
static_assert(!std::is_copy_constructible_v<MirrorQueue<E<8>>>);
static_assert(std::is_nothrow_move_constructible_v<MirrorQueue<E<8>>>);

TYPED_TEST(MirrorQueueTyped, CapacityIsRoundedToAPowerOfTwoAndWholePages) {
  using T = TypeParam;
  const std::size_t page = MirrorRegion::page_size();
  for (const std::size_t want : {std::size_t{1}, std::size_t{3}, std::size_t{5}, std::size_t{100},
                                 std::size_t{4097}, std::size_t{10'000}}) {
    SCOPED_TRACE(want);
    for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::never}) {
      auto q = MirrorQueue<T>::create(want, {.mode = mode});
      ASSERT_TRUE(q) << q.message();
      const std::size_t cap = q->capacity();
      EXPECT_GE(cap, want);
      EXPECT_EQ(cap & (cap - 1), 0U) << cap << " is not a power of two";
      if (mode != MirrorMode::never) {
        EXPECT_EQ(cap * sizeof(T) % page, 0U) << cap << " elements are not whole pages";
        // The smallest such capacity: half of it would be too small or not whole pages.
        EXPECT_TRUE(cap / 2 < want || (cap / 2) * sizeof(T) % page != 0) << cap;
      } else {
        EXPECT_LT(cap / 2, want) << "never mode needs no page rounding";
      }
      EXPECT_EQ(q->size(), 0U);
      EXPECT_TRUE(q->empty());
      EXPECT_FALSE(q->full());
      EXPECT_EQ(q->free_space(), cap);
    }
  }
}

TYPED_TEST(MirrorQueueTyped, CreationErrors) {
  using T = TypeParam;
  for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::required, MirrorMode::never}) {
    auto zero = MirrorQueue<T>::create(0, {.mode = mode});
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error(), Errc::invalid_capacity);
    EXPECT_FALSE(zero.message().empty());
    auto huge = MirrorQueue<T>::create(~std::size_t{0} / 2, {.mode = mode});
    ASSERT_FALSE(huge);
    EXPECT_EQ(huge.error(), Errc::invalid_capacity);
  }
  // Huge pages cannot back a small queue when mirroring is required ...
  auto req =
      MirrorQueue<T>::create(4, {.mode = MirrorMode::required, .region = {.huge_pages = true}});
  ASSERT_FALSE(req) << "a " << 4 * sizeof(T) << "-byte queue on huge pages";
  EXPECT_TRUE(req.error() == Errc::not_page_multiple || req.error() == Errc::unsupported)
      << req.message();
  EXPECT_STRNE(req.context(), "");
  EXPECT_FALSE(req.message().empty());
  // ... and automatic falls back instead.
  auto fb =
      MirrorQueue<T>::create(4, {.mode = MirrorMode::automatic, .region = {.huge_pages = true}});
  ASSERT_TRUE(fb) << fb.message();
  EXPECT_TRUE(fb->try_push(make<T>(1)));
  EXPECT_TRUE(holds(*fb->try_pop(), 1));
}

TYPED_TEST(MirrorQueueTyped, TryPushTryPopFullAndEmpty) {
  using T = TypeParam;
  for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::never}) {
    auto q = this->queue(mode);
    ASSERT_TRUE(q);
    const std::size_t cap = q->capacity();
    T out;
    EXPECT_FALSE(q->try_pop(out));
    EXPECT_FALSE(q->try_pop().has_value());
    for (std::size_t i = 0; i < cap; ++i) ASSERT_TRUE(q->try_push(make<T>(i))) << i;
    EXPECT_TRUE(q->full());
    EXPECT_EQ(q->size(), cap);
    EXPECT_EQ(q->free_space(), 0U);
    EXPECT_FALSE(q->try_push(make<T>(cap)));
    EXPECT_TRUE(q->reserve(1).empty());
    EXPECT_TRUE(q->writable().empty());
    for (std::size_t i = 0; i < cap; ++i) {
      ASSERT_TRUE(q->try_pop(out));
      ASSERT_TRUE(holds(out, i));
    }
    EXPECT_TRUE(q->empty());
    EXPECT_TRUE(q->readable().empty());
    EXPECT_EQ(q->head_position(), cap);
    EXPECT_EQ(q->tail_position(), cap);
  }
}

TYPED_TEST(MirrorQueueTyped, ReserveCommitReleaseAndAccess) {
  using T = TypeParam;
  auto q = this->queue(MirrorMode::automatic);
  ASSERT_TRUE(q);
  const std::size_t cap = q->capacity();
  EXPECT_TRUE(q->reserve(0).empty());
  EXPECT_TRUE(q->reserve(cap + 1).empty());

  auto s = q->reserve(3);
  ASSERT_EQ(s.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) s[i] = make<T>(i);
  EXPECT_TRUE(q->empty()) << "reserve() must not publish";
  ASSERT_EQ(q->commit(2), Errc::ok);  // only two of the three
  EXPECT_EQ(q->size(), 2U);
  ASSERT_TRUE(holds((*q)[0], 0));
  ASSERT_TRUE(holds((*q)[1], 1));
  ASSERT_NE(q->at(1), nullptr);
  EXPECT_TRUE(holds(*q->at(1), 1));
  EXPECT_EQ(q->at(2), nullptr);
  EXPECT_EQ(q->at(~std::size_t{0}), nullptr);

  // The third reserved slot is the next free one: re-reserving shows it again.
  auto s2 = q->reserve(1);
  ASSERT_EQ(s2.size(), 1U);
  EXPECT_TRUE(holds(s2[0], 2));
  ASSERT_EQ(q->commit(1), Errc::ok);
  const auto r = q->readable();
  ASSERT_EQ(r.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(holds(r[i], i));

  // operator[] writes through.
  (*q)[1] = make<T>(77);
  EXPECT_TRUE(holds(q->readable()[1], 77));

  ASSERT_EQ(q->consume(2), Errc::ok);
  ASSERT_EQ(q->size(), 1U);
  EXPECT_TRUE(holds((*q)[0], 2));
  ASSERT_EQ(q->consume(0), Errc::ok);
  ASSERT_EQ(q->commit(0), Errc::ok);
  EXPECT_EQ(q->size(), 1U);
}

TYPED_TEST(MirrorQueueTyped, CheckedCountsChangeNothing) {
  using T = TypeParam;
  for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::never}) {
    auto q = this->queue(mode);
    ASSERT_TRUE(q);
    const std::size_t cap = q->capacity();
    ASSERT_TRUE(q->try_push(make<T>(0)));
    EXPECT_EQ(q->commit(cap), Errc::over_commit);
    EXPECT_EQ(q->commit(cap + 1), Errc::over_commit);
    EXPECT_EQ(q->commit(~std::size_t{0}), Errc::over_commit);
    EXPECT_EQ(q->size(), 1U);
    EXPECT_EQ(q->tail_position(), 1U);
    EXPECT_EQ(q->consume(2), Errc::over_consume);
    EXPECT_EQ(q->consume(~std::size_t{0}), Errc::over_consume);
    EXPECT_EQ(q->size(), 1U);
    EXPECT_EQ(q->head_position(), 0U);
    EXPECT_TRUE(holds((*q)[0], 0));
    EXPECT_EQ(q->commit(cap - 1), Errc::ok);  // exactly the free space
    EXPECT_TRUE(q->full());
    EXPECT_EQ(q->consume(cap), Errc::ok);
    EXPECT_EQ(q->consume(1), Errc::over_consume);
  }
}

TYPED_TEST(MirrorQueueTyped, IterationAndRanges) {
  using T = TypeParam;
  auto q = this->queue(MirrorMode::automatic, 0, 16);
  ASSERT_TRUE(q);
  const std::size_t cap = q->capacity();
  this->consume(*q, cap - 2);  // the elements straddle the wrap
  const std::size_t n = std::min<std::size_t>(cap, 9);
  for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(q->try_push(make<T>(i)));

  std::size_t i = 0;
  for (const T& e : *q) EXPECT_TRUE(holds(e, i++));
  EXPECT_EQ(i, n);
  EXPECT_EQ(std::ranges::distance(*q), static_cast<std::ptrdiff_t>(n));
  EXPECT_EQ(q->end() - q->begin(), static_cast<std::ptrdiff_t>(n));

  std::vector<T> expect;
  for (std::size_t k = 0; k < n; ++k) expect.push_back(make<T>(k));
  EXPECT_TRUE(std::ranges::equal(*q, expect));
  const auto& cq = *q;
  EXPECT_TRUE(std::ranges::equal(cq, expect));
  // Reverse iteration (std::views are unusable with clang 14 + libstdc++ 12, the TSan toolchain).
  EXPECT_TRUE(std::equal(std::make_reverse_iterator(q->end()),
                         std::make_reverse_iterator(q->begin()), expect.rbegin(), expect.rend()));

  auto it = q->begin();
  EXPECT_TRUE(holds(it[n - 1], n - 1));
  EXPECT_TRUE(holds(*(it + 3), 3));
  EXPECT_TRUE(holds(*(q->end() - 1), n - 1));
  EXPECT_LT(it, it + 1);
  EXPECT_GT(q->end(), q->begin());
  EXPECT_EQ(std::ranges::find(*q, make<T>(4)) - q->begin(), 4);

  // Writing through an iterator changes the element.
  *(q->begin() + 2) = make<T>(1234);
  EXPECT_TRUE(holds((*q)[2], 1234));
}

TYPED_TEST(MirrorQueueTyped, MirroredSlicesStraddleTheWrapInOneSpan) {
  using T = TypeParam;
  auto qr = MirrorQueue<T>::create(4, {.mode = MirrorMode::required});
  if (!qr) GTEST_SKIP() << "mirroring unavailable: " << qr.message();
  auto& q = *qr;
  ASSERT_TRUE(q.mirrored());
  const std::size_t cap = q.capacity();
  this->consume(q, cap - 1);  // one slot before the wrap

  auto w = q.reserve(cap);
  ASSERT_EQ(w.size(), cap) << "reserve(capacity()) across the wrap";
  EXPECT_EQ(q.writable().size(), cap);
  for (std::size_t i = 0; i < cap; ++i) w[i] = make<T>(i);
  ASSERT_EQ(q.commit(cap), Errc::ok);

  const auto r = q.readable();
  ASSERT_EQ(r.size(), cap);
  EXPECT_EQ(r.data(), w.data());
  for (std::size_t i = 0; i < cap; ++i) {
    ASSERT_TRUE(holds(r[i], i));
    ASSERT_TRUE(holds(q[i], i));
    ASSERT_TRUE(holds(*q.at(i), i));
  }
  // Elements after the wrap are the same bytes seen at both addresses.
  if (cap > 1) {
    EXPECT_EQ(&r[1], &q[1] + cap) << "the slice continues into the second view";
  }
  EXPECT_TRUE(std::ranges::equal(q, r));

  // Release part; the remainder is still one span.
  ASSERT_EQ(q.consume(cap / 2), Errc::ok);
  const auto rest = q.readable();
  ASSERT_EQ(rest.size(), cap - cap / 2);
  for (std::size_t i = 0; i < rest.size(); ++i) ASSERT_TRUE(holds(rest[i], cap / 2 + i));
  const auto free = q.writable();
  EXPECT_EQ(free.size(), cap / 2);
}

TYPED_TEST(MirrorQueueTyped, FallbackSlicesEndAtTheWrap) {
  using T = TypeParam;
  auto q = this->queue(MirrorMode::never);
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->mirrored());
  const std::size_t cap = q->capacity();
  ASSERT_GE(cap, 4U);
  this->consume(*q, cap - 1);  // one slot before the wrap

  EXPECT_EQ(q->writable().size(), 1U);
  EXPECT_TRUE(q->reserve(2).empty()) << "2 free slots are not contiguous here";
  EXPECT_TRUE(q->reserve(cap).empty());
  auto one = q->reserve(1);
  ASSERT_EQ(one.size(), 1U);
  one[0] = make<T>(0);
  ASSERT_EQ(q->commit(1), Errc::ok);
  auto after = q->writable();
  ASSERT_EQ(after.size(), cap - 1) << "after the wrap the free slots start at index 0";
  for (std::size_t i = 0; i < after.size(); ++i) after[i] = make<T>(1 + i);
  ASSERT_EQ(q->commit(cap - 1), Errc::ok);
  EXPECT_TRUE(q->full());

  const auto r = q->readable();
  ASSERT_EQ(r.size(), 1U) << "the readable slice ends at the wrap";
  EXPECT_TRUE(holds(r[0], 0));
  for (std::size_t i = 0; i < cap; ++i) ASSERT_TRUE(holds((*q)[i], i)) << i;
  std::size_t i = 0;
  for (const T& e : *q) ASSERT_TRUE(holds(e, i++));
  ASSERT_EQ(q->consume(1), Errc::ok);
  EXPECT_EQ(q->readable().size(), cap - 1);
  EXPECT_TRUE(holds(q->readable()[0], 1));

  // try_push/try_pop cross the wrap one element at a time.
  T out;
  for (std::size_t k = 1; k < cap; ++k) {
    ASSERT_TRUE(q->try_pop(out));
    ASSERT_TRUE(holds(out, k));
    ASSERT_TRUE(q->try_push(make<T>(cap + k)));
  }
  for (std::size_t k = 1; k < cap; ++k) {
    ASSERT_TRUE(q->try_pop(out));
    ASSERT_TRUE(holds(out, cap + k));
  }
  EXPECT_TRUE(q->empty());
}

TYPED_TEST(MirrorQueueTyped, CountersNear2Pow64) {
  using T = TypeParam;
  for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::never}) {
    SCOPED_TRACE(static_cast<int>(mode));
    const std::uint64_t start = ~std::uint64_t{0} - 2;  // 3 pushes to the counter wrap
    auto q = this->queue(mode, start, 8);
    ASSERT_TRUE(q);
    const std::size_t cap = q->capacity();
    EXPECT_EQ(q->head_position(), start);
    EXPECT_EQ(q->tail_position(), start);
    std::uint64_t pushed = 0;
    std::uint64_t popped = 0;
    for (int round = 0; round < 5; ++round) {
      // Fill with a mix of reserve/commit and try_push, then check and drain half.
      while (!q->full()) {
        auto s = q->reserve(1);
        if (!s.empty() && pushed % 2 == 0) {
          s[0] = make<T>(pushed++);
          ASSERT_EQ(q->commit(1), Errc::ok);
        } else {
          ASSERT_TRUE(q->try_push(make<T>(pushed++)));
        }
      }
      ASSERT_EQ(q->size(), cap);
      EXPECT_EQ(q->tail_position() - q->head_position(), cap);
      EXPECT_EQ(std::distance(q->begin(), q->end()), static_cast<std::ptrdiff_t>(cap));
      std::uint64_t k = popped;
      for (const T& e : *q) ASSERT_TRUE(holds(e, k++));
      for (std::size_t i = 0; i < cap; ++i) ASSERT_TRUE(holds((*q)[i], popped + i));
      if (q->mirrored()) {
        const auto r = q->readable();
        ASSERT_EQ(r.size(), cap);
        for (std::size_t i = 0; i < cap; ++i) ASSERT_TRUE(holds(r[i], popped + i));
      }
      const std::size_t drop = cap / 2 + 1;
      ASSERT_EQ(q->consume(drop), Errc::ok);
      popped += drop;
    }
    EXPECT_EQ(q->tail_position(), start + pushed);
    EXPECT_LT(q->tail_position(), start) << "the counter did not wrap";
  }
}

/// docs/conventions.md rule 17: track the slots handed out. Every slot of the ring is reused, each
/// equally often, and nothing outside [data, data + capacity) of the first view is ever a push
/// target.
TYPED_TEST(MirrorQueueTyped, SlotReuseTracking) {
  using T = TypeParam;
  for (const MirrorMode mode : {MirrorMode::automatic, MirrorMode::never}) {
    SCOPED_TRACE(static_cast<int>(mode));
    auto q = this->queue(mode, ~std::uint64_t{0} - 1, 8);
    ASSERT_TRUE(q);
    const std::size_t cap = q->capacity();
    const std::size_t rounds = cap >= 1024 ? 3 : 16;
    std::map<const T*, std::size_t> uses;
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < rounds * cap; ++i) {
      auto s = q->reserve(1);
      ASSERT_EQ(s.size(), 1U);
      ++uses[s.data()];
      s[0] = make<T>(seq);
      ASSERT_EQ(q->commit(1), Errc::ok);
      // Keep a few elements in flight so head and tail differ.
      if (q->size() > 3) {
        T out;
        ASSERT_TRUE(q->try_pop(out));
        ASSERT_TRUE(holds(out, seq - 3));
      }
      ++seq;
    }
    ASSERT_EQ(uses.size(), cap) << "slots handed out != capacity()";
    const T* lo = uses.begin()->first;
    const T* hi = uses.rbegin()->first;
    EXPECT_EQ(static_cast<std::size_t>(hi - lo), cap - 1) << "slots are not one array";
    for (const auto& [slot, count] : uses) {
      EXPECT_EQ(count, rounds) << "slot " << (slot - lo) << " reused unevenly";
    }
  }
}

TYPED_TEST(MirrorQueueTyped, MoveLeavesAnEmptyQueue) {
  using T = TypeParam;
  auto q = this->queue(MirrorMode::automatic);
  ASSERT_TRUE(q);
  const std::size_t cap = q->capacity();
  ASSERT_TRUE(q->try_push(make<T>(5)));
  ASSERT_TRUE(q->try_push(make<T>(6)));

  MirrorQueue<T> moved(std::move(*q));
  EXPECT_EQ(moved.capacity(), cap);
  EXPECT_EQ(moved.size(), 2U);
  EXPECT_TRUE(holds(moved[0], 5));
  EXPECT_TRUE(holds(moved[1], 6));

  auto& gone = *q;  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(gone.capacity(), 0U);
  EXPECT_EQ(gone.size(), 0U);
  EXPECT_TRUE(gone.empty());
  EXPECT_FALSE(gone.try_push(make<T>(1)));
  EXPECT_FALSE(gone.try_pop().has_value());
  EXPECT_TRUE(gone.reserve(1).empty());
  EXPECT_TRUE(gone.readable().empty());
  EXPECT_EQ(gone.commit(1), Errc::over_commit);
  EXPECT_EQ(gone.consume(1), Errc::over_consume);
  EXPECT_EQ(gone.at(0), nullptr);
  EXPECT_EQ(gone.begin(), gone.end());

  MirrorQueue<T> assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.size(), 2U);
  EXPECT_TRUE(holds(*assigned.try_pop(), 5));
  EXPECT_EQ(moved.capacity(), 0U);  // NOLINT(bugprone-use-after-move)
}

TEST(MirrorQueue, DefaultConstructedIsEmpty) {
  MirrorQueue<std::uint64_t> q;
  EXPECT_EQ(q.capacity(), 0U);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.try_push(1));
  EXPECT_FALSE(q.try_pop().has_value());
  EXPECT_TRUE(q.writable().empty());
  EXPECT_EQ(q.commit(1), Errc::over_commit);
}

TEST(MirrorQueue, ReadmeStyleBatchUse) {
  auto q = MirrorQueue<std::uint32_t>::create(1024);
  ASSERT_TRUE(q) << q.message();
  std::uint32_t next = 0;
  std::uint32_t expect = 0;
  for (int round = 0; round < 100; ++round) {
    const std::size_t n = 1 + static_cast<std::size_t>(round * 37) % q->capacity();
    if (auto s = q->reserve(n); !s.empty()) {
      for (auto& x : s) x = next++;
      ASSERT_EQ(q->commit(n), Errc::ok);
    }
    std::size_t seen = 0;
    for (const std::uint32_t x : *q) {
      ASSERT_EQ(x, expect + seen);
      ++seen;
      if (seen == n / 2 + 1) break;
    }
    ASSERT_EQ(q->consume(seen), Errc::ok);
    expect += static_cast<std::uint32_t>(seen);
  }
}

}  // namespace
