// Tests of ringkit/byte_ring.hpp: the compile-time contract (concepts.hpp), make_byte_ring, and
// the first half of the byte ring contract (views, commit/consume, vectored slices), typed over
// every ring kind (support/ring_kinds.hpp): the two-segment ByteRing, the mirrored ring and the
// mirrored ring's plain fallback. The second half (positions near 2^64, closing, moves, the
// random-operation oracle) is in byte_ring_lifetime_test.cpp.
#include <ringkit/byte_ring.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <sys/uio.h>

#include <gtest/gtest.h>

#include <ringkit/concepts.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/result.hpp>
#include <ringkit/segments.hpp>

#include "support/pattern.hpp"
#include "support/ring_helpers.hpp"
#include "support/ring_kinds.hpp"

namespace {

using ringkit::ByteReader;
using ringkit::ByteWriter;
using ringkit::ConstSegments;
using ringkit::Errc;
using ringkit::MutableSegments;
using ringkit::segments_of;
using ringkit::SliceResult;
using ringkit_test::advance_empty;
using ringkit_test::AllRingKinds;
using ringkit_test::concat;
using ringkit_test::fill;
using ringkit_test::KindName;
using ringkit_test::kSeed;
using ringkit_test::kTop;
using ringkit_test::matches_pattern;
using ringkit_test::read_pattern;
using ringkit_test::same_segments;
using ringkit_test::storage_base;
using ringkit_test::write_pattern;

// ---------------------------------------------------------------------------------------------
// Compile-time contract

static_assert(ringkit::byte_writer<ByteWriter>);
static_assert(ringkit::byte_reader<ByteReader>);
static_assert(ringkit::byte_writer<ringkit::MirrorByteWriter>);
static_assert(ringkit::byte_reader<ringkit::MirrorByteReader>);
static_assert(!ringkit::byte_writer<ByteReader>);
static_assert(!ringkit::byte_reader<ByteWriter>);
static_assert(!ringkit::byte_writer<int>);

static_assert(!std::is_copy_constructible_v<ByteWriter>);
static_assert(!std::is_copy_assignable_v<ByteWriter>);
static_assert(!std::is_copy_constructible_v<ByteReader>);
static_assert(!std::is_copy_assignable_v<ByteReader>);
static_assert(std::is_nothrow_move_constructible_v<ByteWriter>);
static_assert(std::is_nothrow_move_assignable_v<ByteWriter>);
static_assert(std::is_nothrow_move_constructible_v<ByteReader>);
static_assert(std::is_nothrow_move_assignable_v<ByteReader>);
static_assert(std::is_nothrow_default_constructible_v<ByteWriter>);
static_assert(std::is_nothrow_default_constructible_v<ByteReader>);

struct Three {
  char c[3];
};
struct Sixteen {
  std::uint64_t a, b;
};
static_assert(ringkit::ring_element<std::byte>);
static_assert(ringkit::ring_element<int>);
static_assert(ringkit::ring_element<std::uint64_t>);
static_assert(ringkit::ring_element<Sixteen>);
static_assert(ringkit::ring_element<std::array<char, 4096>>);
static_assert(!ringkit::ring_element<Three>);                   // 4096 % 3 != 0
static_assert(!ringkit::ring_element<std::array<char, 8192>>);  // larger than a page
static_assert(!ringkit::ring_element<std::string>);             // not trivially copyable
static_assert(!ringkit::ring_element<std::unique_ptr<int>>);

struct SsizeCallback {
  ssize_t operator()(std::span<iovec>, std::size_t) const { return 0; }
};
struct IntCallback {
  int operator()(std::span<iovec>, std::size_t) const { return 0; }
};
struct VoidCallback {
  void operator()(std::span<iovec>, std::size_t) const {}
};
struct WrongArgsCallback {
  ssize_t operator()(int) const { return 0; }
};
static_assert(ringkit::slice_callback<SsizeCallback>);
static_assert(ringkit::slice_callback<IntCallback>);
static_assert(!ringkit::slice_callback<VoidCallback>);
static_assert(!ringkit::slice_callback<WrongArgsCallback>);

// Errc is the 1-byte hot-path type and converts to std::error_code.
static_assert(sizeof(Errc) == 1);
static_assert(static_cast<int>(Errc::ok) == 0);
static_assert(std::is_error_code_enum_v<Errc>);
static_assert(ringkit::is_ok(Errc::ok));
static_assert(!ringkit::is_ok(Errc::over_commit));

// ---------------------------------------------------------------------------------------------
// make_byte_ring

TEST(MakeByteRing, RejectsInvalidCapacities) {
  for (const std::size_t cap :
       {std::size_t{0}, std::size_t{3}, std::size_t{1000}, std::size_t{4097},
        ringkit::kMaxByteRingCapacity + 1, ringkit::kMaxByteRingCapacity * 2, SIZE_MAX}) {
    SCOPED_TRACE(cap);
    auto ring = ringkit::make_byte_ring(cap);
    ASSERT_FALSE(ring);
    EXPECT_FALSE(ring.has_value());
    EXPECT_EQ(ring.error(), Errc::invalid_capacity);
    EXPECT_TRUE(&ring.error().category() == &ringkit::error_category());
    EXPECT_STREQ(ring.error().category().name(), "ringkit");
    EXPECT_NE(ring.message().find("capacity"), std::string::npos) << ring.message();
    EXPECT_STRNE(ring.context(), "");
    EXPECT_THROW((void)ring.value(), std::system_error);
  }
}

TEST(MakeByteRing, InvalidCapacityThrowsSystemErrorWithTheCode) {
  auto ring = ringkit::make_byte_ring(1000);
  try {
    (void)std::move(ring).value();
    FAIL() << "value() did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_capacity);
    EXPECT_NE(std::string(e.what()).find("capacity"), std::string::npos) << e.what();
  }
}

TEST(MakeByteRing, AcceptsEveryPowerOfTwoWithPageAlignedStorage) {
  for (std::size_t cap = 1; cap <= (std::size_t{1} << 22); cap <<= 1) {
    SCOPED_TRACE(cap);
    auto ring = ringkit::make_byte_ring(cap);
    ASSERT_TRUE(ring) << ring.message();
    EXPECT_EQ(ring->writer.capacity(), cap);
    EXPECT_EQ(ring->reader.capacity(), cap);
    EXPECT_FALSE(ring->writer.mirrored());
    EXPECT_FALSE(ring->reader.mirrored());
    const MutableSegments free = ring->writer.writable_segments();
    ASSERT_EQ(free.count(), 1U);
    EXPECT_EQ(free.bytes(), cap);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(free.first().data()) % 4096, 0U);
  }
}

TEST(MakeByteRing, DefaultOptionsStartAtPositionZero) {
  auto ring = *ringkit::make_byte_ring(64);
  EXPECT_EQ(ring.writer.position(), 0U);
  EXPECT_EQ(ring.reader.position(), 0U);
  auto resumed = *ringkit::make_byte_ring(64, {.initial_position = 1'000'000});
  EXPECT_EQ(resumed.writer.position(), 1'000'000U);
  EXPECT_EQ(resumed.reader.position(), 1'000'000U);
}

TEST(MakeByteRing, CapacityOneHoldsOneByteAtATime) {
  for (const std::uint64_t start : {std::uint64_t{0}, kTop - 2, kTop}) {
    SCOPED_TRACE(start);
    auto ring = *ringkit::make_byte_ring(1, {.initial_position = start});
    auto& w = ring.writer;
    auto& r = ring.reader;
    EXPECT_EQ(w.capacity(), 1U);
    for (std::uint64_t i = 0; i < 10; ++i) {
      // Small fixed-size buffers on purpose: g++ 12 -O3 used to report a false
      // -Wstringop-overflow (an error here) for them when read()/write() were inlined.
      const std::array<std::byte, 2> two{static_cast<std::byte>(i), std::byte{0xff}};
      ASSERT_EQ(w.write(two), 1U);  // only one fits
      EXPECT_TRUE(w.writable_segments().empty());
      EXPECT_EQ(w.write(two), 0U);
      EXPECT_EQ(w.commit(1), Errc::over_commit);
      EXPECT_EQ(r.size_hint(), 1U);
      const ConstSegments data = r.readable();
      ASSERT_EQ(data.count(), 1U);
      ASSERT_EQ(data.bytes(), 1U);
      EXPECT_EQ(data.first()[0], static_cast<std::byte>(i));
      std::array<std::byte, 2> out{};
      ASSERT_EQ(r.read(out), 1U);
      EXPECT_EQ(out[0], static_cast<std::byte>(i));
      EXPECT_EQ(r.read(out), 0U);
      EXPECT_EQ(r.consume(1), Errc::over_consume);
      EXPECT_EQ(w.position(), start + i + 1);
      EXPECT_EQ(r.position(), start + i + 1);
    }
    // commit()/consume() and io_slices() too.
    const MutableSegments free = w.writable();
    ASSERT_EQ(free.bytes(), 1U);
    free.first()[0] = std::byte{42};
    ASSERT_EQ(w.commit(1), Errc::ok);
    int calls = 0;
    EXPECT_EQ(w.io_slices([&](std::span<iovec>, std::size_t) { return ++calls; }).errc,
              Errc::ring_full);
    EXPECT_EQ(calls, 0);
    const SliceResult s = r.io_slices([&](std::span<iovec> iov, std::size_t total) -> ssize_t {
      ++calls;
      EXPECT_EQ(iov.size(), 1U);
      EXPECT_EQ(total, 1U);
      EXPECT_EQ(*static_cast<const std::byte*>(iov[0].iov_base), std::byte{42});
      return 1;
    });
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(s.bytes, 1U);
    EXPECT_EQ(s.errc, Errc::ok);
  }
}

// ---------------------------------------------------------------------------------------------
// The contract, for every ring kind

template <class Kind>
class ByteRingContract : public ::testing::Test {
 protected:
  /// A small capacity the kind accepts (16 bytes, or one page for mirrored rings).
  static std::size_t cap() { return std::max<std::size_t>(16, Kind::min_capacity()); }
};
TYPED_TEST_SUITE(ByteRingContract, AllRingKinds, KindName);

TYPED_TEST(ByteRingContract, RejectsInvalidCapacities) {
  for (const std::size_t cap : {std::size_t{0}, std::size_t{3}, std::size_t{1000},
                                ringkit::kMaxByteRingCapacity + 1, SIZE_MAX}) {
    SCOPED_TRACE(cap);
    auto ring = TypeParam::make(cap);
    ASSERT_FALSE(ring);
    EXPECT_EQ(ring.error(), Errc::invalid_capacity);
    EXPECT_FALSE(ring.message().empty());
  }
}

TYPED_TEST(ByteRingContract, NewRingIsEmpty) {
  const std::size_t cap = this->cap();
  for (const std::uint64_t start : {std::uint64_t{0}, std::uint64_t{12345}, kTop - 3}) {
    SCOPED_TRACE(start);
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, start);
    auto& w = ring.writer;
    auto& r = ring.reader;
    EXPECT_EQ(w.capacity(), cap);
    EXPECT_EQ(r.capacity(), cap);
    EXPECT_TRUE(w.valid());
    EXPECT_TRUE(r.valid());
    EXPECT_EQ(w.mirrored(), TypeParam::kMirrored);
    EXPECT_EQ(r.mirrored(), TypeParam::kMirrored);
    EXPECT_TRUE(w.peer_alive());
    EXPECT_TRUE(r.peer_alive());
    EXPECT_EQ(w.position(), start);
    EXPECT_EQ(r.position(), start);
    EXPECT_EQ(w.size_hint(), 0U);
    EXPECT_EQ(r.size_hint(), 0U);

    EXPECT_TRUE(segments_of(r.readable()).empty());
    EXPECT_TRUE(r.readable_segments().empty());
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(r.read(buf), 0U);
    EXPECT_EQ(r.peek(buf), 0U);
    EXPECT_EQ(r.consume(1), Errc::over_consume);
    EXPECT_EQ(r.consume(0), Errc::ok);
    bool called = false;
    const SliceResult s = r.io_slices([&](std::span<iovec>, std::size_t) -> ssize_t {
      called = true;
      return 0;
    });
    EXPECT_FALSE(called);
    EXPECT_EQ(s.errc, Errc::ring_empty);
    EXPECT_EQ(s.bytes, 0U);
    EXPECT_FALSE(s);

    const MutableSegments all = w.writable_segments();
    EXPECT_EQ(all.bytes(), cap);
    EXPECT_TRUE(
        same_segments(segments_of(w.writable()), ringkit_test::expected_view<TypeParam>(all)));
    EXPECT_EQ(w.commit(0), Errc::ok);
    EXPECT_EQ(w.position(), start);
  }
}

TYPED_TEST(ByteRingContract, RewindMovesAnEmptyRingToTheStartOfItsStorage) {
  const std::size_t cap = this->cap();
  // Starts at 0, mid-ring, and just below 2^64 (the rewind then wraps the counters to 0).
  for (const std::uint64_t start : {std::uint64_t{0}, std::uint64_t{5}, kTop - 3}) {
    SCOPED_TRACE(start);
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, start);
    auto& w = ring.writer;
    auto& r = ring.reader;
    const std::byte* base = storage_base(w);
    // Holding bytes: refused, nothing changes.
    ASSERT_EQ(write_pattern(w, 0, 3), 3U);
    EXPECT_FALSE(ringkit::rewind(w, r));
    EXPECT_EQ(w.position(), start + 3);
    EXPECT_EQ(r.position(), start);
    ASSERT_TRUE(read_pattern(r, 0, 3));
    // Empty: both positions move to the next multiple of the capacity (wrapping at 2^64).
    const std::uint64_t mask = cap - 1;
    const std::uint64_t want = (start + 3 + mask) & ~mask;
    EXPECT_TRUE(ringkit::rewind(w, r));
    EXPECT_EQ(w.position(), want);
    EXPECT_EQ(r.position(), want);
    EXPECT_EQ(w.size_hint(), 0U);
    EXPECT_EQ(r.size_hint(), 0U);
    // The whole capacity is free and starts at the start of the storage.
    const MutableSegments free = w.writable_segments();
    EXPECT_EQ(free.bytes(), cap);
    EXPECT_EQ(free.first().data(), base);
    // Already at the start: true, no move.
    EXPECT_TRUE(ringkit::rewind(w, r));
    EXPECT_EQ(w.position(), want);
    // The stream goes on: bytes written now are read back in order, from offset 0.
    ASSERT_EQ(write_pattern(w, 3, cap), cap);
    EXPECT_EQ(r.readable_segments().first().data(), base);
    ASSERT_TRUE(read_pattern(r, 3, cap));
  }
}

TYPED_TEST(ByteRingContract, RewindRefusesHalvesOfDifferentRingsAndEmptyHalves) {
  RINGKIT_MAKE_RING_OR_SKIP(a, TypeParam, this->cap());
  RINGKIT_MAKE_RING_OR_SKIP(b, TypeParam, this->cap());
  ASSERT_EQ(write_pattern(a.writer, 0, 1), 1U);
  ASSERT_TRUE(read_pattern(a.reader, 0, 1));
  EXPECT_FALSE(ringkit::rewind(a.writer, b.reader));
  EXPECT_EQ(a.writer.position(), 1U);
  EXPECT_EQ(b.reader.position(), 0U);
  auto moved = std::move(a.writer);
  EXPECT_FALSE(ringkit::rewind(a.writer, a.reader));  // moved-from writer
  EXPECT_EQ(a.reader.position(), 1U);
  EXPECT_TRUE(ringkit::rewind(moved, a.reader));
  EXPECT_EQ(a.reader.position(), this->cap());
}

TYPED_TEST(ByteRingContract, StorageIsPageAligned) {
  for (const std::uint64_t start : {std::uint64_t{0}, kTop - 5}) {
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, this->cap(), start);
    const auto* base = storage_base(ring.writer);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(base) % 4096, 0U);
  }
}

TYPED_TEST(ByteRingContract, FullRingOffersNothingToTheWriter) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  ASSERT_EQ(write_pattern(w, 0, cap), cap);
  EXPECT_TRUE(segments_of(w.writable()).empty());
  EXPECT_TRUE(w.writable_segments().empty());
  EXPECT_EQ(write_pattern(w, cap, 1), 0U);
  EXPECT_EQ(w.write(nullptr, 0), 0U);
  EXPECT_EQ(w.commit(1), Errc::over_commit);
  EXPECT_EQ(w.commit(0), Errc::ok);
  bool called = false;
  const SliceResult s = w.io_slices([&](std::span<iovec>, std::size_t) -> ssize_t {
    called = true;
    return 0;
  });
  EXPECT_FALSE(called);
  EXPECT_EQ(s.errc, Errc::ring_full);
  EXPECT_EQ(s.bytes, 0U);
  EXPECT_EQ(w.size_hint(), cap);
  EXPECT_EQ(r.size_hint(), cap);
  EXPECT_EQ(w.position(), cap);
  EXPECT_EQ(r.readable_segments().bytes(), cap);
  EXPECT_TRUE(read_pattern(r, 0, cap));
  EXPECT_EQ(w.writable_segments().bytes(), cap);
}

TYPED_TEST(ByteRingContract, PartialWriteAndPartialRead) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  // A write larger than the free space copies what fits.
  EXPECT_EQ(write_pattern(w, 0, cap + cap / 2), cap);
  // A read larger than the data copies what is there.
  std::vector<std::byte> big(2 * cap);
  ASSERT_EQ(r.read(big.data(), big.size()), cap);
  EXPECT_TRUE(matches_pattern(kSeed, 0, std::span(big).first(cap)));
  // Mixed sizes around the wrap.
  ASSERT_EQ(write_pattern(w, cap, cap / 2 + 1), cap / 2 + 1);
  EXPECT_TRUE(read_pattern(r, cap, 3));
  ASSERT_EQ(write_pattern(w, cap + cap / 2 + 1, cap), cap - (cap / 2 + 1) + 3);
  const std::size_t filled = r.size_hint();
  EXPECT_EQ(filled, cap);
  ASSERT_EQ(r.read(big.data(), big.size()), filled);
  EXPECT_TRUE(matches_pattern(kSeed, cap + 3, std::span(big).first(filled)));
  EXPECT_EQ(r.read(big.data(), 0), 0U);
  EXPECT_EQ(r.read(big.data(), big.size()), 0U);
}

TYPED_TEST(ByteRingContract, PeekDoesNotConsume) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  advance_empty(ring, cap - 3);  // the data below wraps
  const std::size_t n = cap / 2;
  ASSERT_EQ(write_pattern(w, 0, n), n);
  std::vector<std::byte> buf(2 * cap);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.peek(std::span(buf).first(n / 2)), n / 2);
    EXPECT_TRUE(matches_pattern(kSeed, 0, std::span(buf).first(n / 2)));
    EXPECT_EQ(r.peek(buf), n);  // more than there is: what is there
    EXPECT_TRUE(matches_pattern(kSeed, 0, std::span(buf).first(n)));
    EXPECT_EQ(r.size_hint(), n);
    EXPECT_EQ(r.position(), cap - 3);
    EXPECT_EQ(w.size_hint(), n);
  }
  EXPECT_TRUE(read_pattern(r, 0, n));
  EXPECT_EQ(r.peek(buf), 0U);
}

TYPED_TEST(ByteRingContract, CommitAndConsumeExactSizes) {
  const std::size_t cap = this->cap();
  for (const std::size_t offset : {std::size_t{0}, cap / 3, cap - 1}) {
    SCOPED_TRACE(offset);
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
    auto& w = ring.writer;
    auto& r = ring.reader;
    advance_empty(ring, offset);
    // Fill the whole free space through the views and commit exactly that.
    const MutableSegments free = w.writable_segments();
    ASSERT_EQ(free.bytes(), cap);
    fill(free, 0);
    ASSERT_EQ(w.commit(cap), Errc::ok);
    EXPECT_EQ(w.position(), offset + cap);
    EXPECT_EQ(r.size_hint(), cap);
    const ConstSegments data = r.readable_segments();
    ASSERT_EQ(data.bytes(), cap);
    EXPECT_TRUE(matches_pattern(kSeed, 0, concat(data)));
    ASSERT_EQ(r.consume(cap), Errc::ok);
    EXPECT_EQ(r.position(), offset + cap);
    EXPECT_EQ(r.size_hint(), 0U);
    EXPECT_EQ(w.size_hint(), 0U);
    // Commit in pieces through writable(), consume in pieces through readable().
    std::uint64_t written = 0;
    while (written < cap) {
      const MutableSegments view = segments_of(w.writable());
      ASSERT_FALSE(view.empty());
      const std::size_t k = std::min<std::size_t>(view.bytes(), 5);
      fill(view, cap + written);
      ASSERT_EQ(w.commit(k), Errc::ok);
      written += k;
    }
    std::uint64_t consumed = 0;
    while (consumed < cap) {
      const std::vector<std::byte> view = concat(segments_of(r.readable()));
      ASSERT_FALSE(view.empty());
      const std::size_t k = std::min<std::size_t>(view.size(), 7);
      EXPECT_TRUE(matches_pattern(kSeed, cap + consumed, std::span(view).first(k)));
      ASSERT_EQ(r.consume(k), Errc::ok);
      consumed += k;
    }
    EXPECT_TRUE(r.readable_segments().empty());
  }
}

TYPED_TEST(ByteRingContract, OverCommitPublishesNothing) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, kTop - cap / 2);
  auto& w = ring.writer;
  auto& r = ring.reader;
  const std::size_t filled = cap / 4;
  ASSERT_EQ(write_pattern(w, 0, filled), filled);
  const std::size_t free = cap - filled;
  const std::uint64_t wpos = w.position();
  const std::uint64_t rpos = r.position();
  for (const std::size_t n : {free + 1, cap, cap + 1, 2 * cap, SIZE_MAX}) {
    SCOPED_TRACE(n);
    EXPECT_EQ(w.commit(n), Errc::over_commit);
    EXPECT_EQ(w.position(), wpos);
    EXPECT_EQ(r.position(), rpos);
    EXPECT_EQ(w.size_hint(), filled);
    EXPECT_EQ(r.size_hint(), filled);
    EXPECT_EQ(r.readable_segments().bytes(), filled);
  }
  EXPECT_EQ(w.writable_segments().bytes(), free);
  fill(w.writable_segments(), filled);
  EXPECT_EQ(w.commit(free), Errc::ok);
  EXPECT_TRUE(read_pattern(r, 0, cap));
}

TYPED_TEST(ByteRingContract, OverConsumeReleasesNothing) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, kTop - cap / 2);
  auto& w = ring.writer;
  auto& r = ring.reader;
  const std::size_t filled = cap / 2 + 1;
  ASSERT_EQ(write_pattern(w, 0, filled), filled);
  const std::uint64_t rpos = r.position();
  for (const std::size_t n : {filled + 1, cap, cap + 1, 2 * cap, SIZE_MAX}) {
    SCOPED_TRACE(n);
    EXPECT_EQ(r.consume(n), Errc::over_consume);
    EXPECT_EQ(r.position(), rpos);
    EXPECT_EQ(r.size_hint(), filled);
    EXPECT_EQ(w.size_hint(), filled);
    EXPECT_EQ(w.writable_segments().bytes(), cap - filled);
  }
  EXPECT_TRUE(read_pattern(r, 0, filled));
}

TYPED_TEST(ByteRingContract, WrappedDataIsTwoSegmentsInOrder) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  const std::byte* base = storage_base(w);
  advance_empty(ring, 3 * cap / 4);
  ASSERT_EQ(write_pattern(w, 0, cap / 2), cap / 2);  // [3C/4, C) + [0, C/4)

  const ConstSegments data = r.readable_segments();
  EXPECT_EQ(data.bytes(), cap / 2);
  if (TypeParam::kMirrored) {
    ASSERT_EQ(data.count(), 1U);
    EXPECT_EQ(data.first().data(), base + 3 * cap / 4);
    EXPECT_EQ(data.first().size(), cap / 2);  // runs into the second mapping
  } else {
    ASSERT_EQ(data.count(), 2U);
    EXPECT_EQ(data.first().data(), base + 3 * cap / 4);
    EXPECT_EQ(data.first().size(), cap / 4);
    EXPECT_EQ(data.second().data(), base);
    EXPECT_EQ(data.second().size(), cap / 4);
    EXPECT_EQ(data[1].data(), base);
  }
  EXPECT_TRUE(matches_pattern(kSeed, 0, concat(data)));
  EXPECT_TRUE(
      same_segments(segments_of(r.readable()), ringkit_test::expected_view<TypeParam>(data)));

  // The writer's free space [C/4, 3C/4) does not wrap.
  const MutableSegments free = w.writable_segments();
  ASSERT_EQ(free.count(), 1U);
  EXPECT_EQ(free.first().data(), base + cap / 4);
  EXPECT_EQ(free.bytes(), cap / 2);
  EXPECT_TRUE(
      same_segments(segments_of(w.writable()), ringkit_test::expected_view<TypeParam>(free)));
  EXPECT_TRUE(read_pattern(r, 0, cap / 2));
}

TYPED_TEST(ByteRingContract, WrappedFreeSpaceIsTwoSegmentsInOrder) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  const std::byte* base = storage_base(w);
  // head at C/2, tail at 3C/4: the free space is [3C/4, C) + [0, C/2).
  ASSERT_EQ(write_pattern(w, 0, 3 * cap / 4), 3 * cap / 4);
  ASSERT_EQ(r.consume(cap / 2), Errc::ok);
  const MutableSegments free = w.writable_segments();
  EXPECT_EQ(free.bytes(), 3 * cap / 4);
  if (TypeParam::kMirrored) {
    ASSERT_EQ(free.count(), 1U);
    EXPECT_EQ(free.first().data(), base + 3 * cap / 4);
  } else {
    ASSERT_EQ(free.count(), 2U);
    EXPECT_EQ(free.first().data(), base + 3 * cap / 4);
    EXPECT_EQ(free.first().size(), cap / 4);
    EXPECT_EQ(free.second().data(), base);
    EXPECT_EQ(free.second().size(), cap / 2);
  }
  EXPECT_TRUE(
      same_segments(segments_of(w.writable()), ringkit_test::expected_view<TypeParam>(free)));
  fill(free, 3 * cap / 4);
  ASSERT_EQ(w.commit(free.bytes()), Errc::ok);
  EXPECT_TRUE(read_pattern(r, cap / 2, cap));
}

TYPED_TEST(ByteRingContract, WriterIoSlicesCommitsWhatTheCallbackReports) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  std::uint64_t produced = 0;
  // Copies stream bytes into the iovecs and reports `ret` (clamped copy, any report).
  const auto offer = [&](ssize_t ret, std::size_t* seen_total = nullptr,
                         std::size_t* seen_count = nullptr) {
    return w.io_slices([&](std::span<iovec> iov, std::size_t total) -> ssize_t {
      if (seen_total != nullptr) *seen_total = total;
      if (seen_count != nullptr) *seen_count = iov.size();
      std::size_t sum = 0;
      std::uint64_t off = produced;
      for (const iovec& v : iov) {
        EXPECT_NE(v.iov_len, 0U);  // never an empty iovec
        ringkit_test::fill_pattern(
            kSeed, off, std::span<std::byte>(static_cast<std::byte*>(v.iov_base), v.iov_len));
        off += v.iov_len;
        sum += v.iov_len;
      }
      EXPECT_EQ(sum, total);
      return ret;
    });
  };

  std::size_t total = 0, count = 0;
  SliceResult s = offer(static_cast<ssize_t>(cap / 2), &total, &count);
  EXPECT_EQ(total, cap);
  EXPECT_EQ(count, 1U);
  EXPECT_TRUE(s);
  EXPECT_EQ(s.errc, Errc::ok);
  EXPECT_EQ(s.bytes, cap / 2);
  produced += cap / 2;
  EXPECT_EQ(r.size_hint(), cap / 2);
  EXPECT_EQ(w.position(), cap / 2);

  // 0: ok, nothing committed (readv at EOF).
  s = offer(0);
  EXPECT_TRUE(s);
  EXPECT_EQ(s.bytes, 0U);
  EXPECT_EQ(w.position(), cap / 2);

  // Negative: callback_error, nothing committed.
  s = offer(-1);
  EXPECT_FALSE(s);
  EXPECT_EQ(s.errc, Errc::callback_error);
  EXPECT_EQ(s.bytes, 0U);
  EXPECT_EQ(w.position(), cap / 2);
  EXPECT_EQ(r.size_hint(), cap / 2);

  // More than offered: over_report, nothing committed.
  for (const ssize_t over : {static_cast<ssize_t>(cap / 2 + 1), static_cast<ssize_t>(cap),
                             static_cast<ssize_t>(SSIZE_MAX)}) {
    s = offer(over);
    EXPECT_FALSE(s);
    EXPECT_EQ(s.errc, Errc::over_report);
    EXPECT_EQ(s.bytes, 0U);
    EXPECT_EQ(w.position(), cap / 2);
    EXPECT_EQ(r.size_hint(), cap / 2);
  }

  // Free space wrapping: two iovecs (one for a mirrored ring), total = all the free space.
  ASSERT_TRUE(read_pattern(r, 0, cap / 2));
  s = offer(static_cast<ssize_t>(cap / 4), &total, &count);  // tail at 3C/4, head at C/2
  produced += cap / 4;
  ASSERT_TRUE(read_pattern(r, cap / 2, cap / 4 - 1));  // head at 3C/4 - 1
  s = offer(static_cast<ssize_t>(cap - 1), &total, &count);
  EXPECT_EQ(total, cap - 1);
  EXPECT_EQ(count, TypeParam::kMirrored ? 1U : 2U);
  EXPECT_EQ(s.bytes, cap - 1);
  EXPECT_EQ(s.errc, Errc::ok);
  produced += cap - 1;
  EXPECT_EQ(r.size_hint(), cap);
  EXPECT_TRUE(read_pattern(r, 3 * cap / 4 - 1, cap));

  // Full: not called.
  ASSERT_EQ(write_pattern(w, 0, cap), cap);
  bool called = false;
  s = w.io_slices([&](std::span<iovec>, std::size_t) -> ssize_t {
    called = true;
    return 0;
  });
  EXPECT_FALSE(called);
  EXPECT_EQ(s.errc, Errc::ring_full);
}

TYPED_TEST(ByteRingContract, ReaderIoSlicesConsumesWhatTheCallbackReports) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  std::uint64_t consumed = 0;
  const auto take = [&](ssize_t ret, std::size_t* seen_total = nullptr,
                        std::size_t* seen_count = nullptr) {
    return r.io_slices([&](std::span<iovec> iov, std::size_t total) -> ssize_t {
      if (seen_total != nullptr) *seen_total = total;
      if (seen_count != nullptr) *seen_count = iov.size();
      std::vector<std::byte> got;
      for (const iovec& v : iov) {
        EXPECT_NE(v.iov_len, 0U);
        const auto* p = static_cast<const std::byte*>(v.iov_base);
        got.insert(got.end(), p, p + v.iov_len);
      }
      EXPECT_EQ(got.size(), total);
      EXPECT_TRUE(matches_pattern(kSeed, consumed, got));
      return ret;
    });
  };

  ASSERT_EQ(write_pattern(w, 0, cap / 2), cap / 2);
  std::size_t total = 0, count = 0;
  SliceResult s = take(3, &total, &count);
  EXPECT_EQ(total, cap / 2);
  EXPECT_EQ(count, 1U);
  EXPECT_TRUE(s);
  EXPECT_EQ(s.bytes, 3U);
  consumed += 3;
  EXPECT_EQ(r.position(), 3U);
  EXPECT_EQ(w.size_hint(), cap / 2 - 3);

  s = take(0);
  EXPECT_TRUE(s);
  EXPECT_EQ(s.bytes, 0U);
  EXPECT_EQ(r.position(), 3U);

  s = take(-1);
  EXPECT_EQ(s.errc, Errc::callback_error);
  EXPECT_EQ(s.bytes, 0U);
  EXPECT_EQ(r.position(), 3U);

  for (const ssize_t over : {static_cast<ssize_t>(cap / 2 - 2), static_cast<ssize_t>(SSIZE_MAX)}) {
    s = take(over);
    EXPECT_EQ(s.errc, Errc::over_report);
    EXPECT_EQ(s.bytes, 0U);
    EXPECT_EQ(r.position(), 3U);
    EXPECT_EQ(w.size_hint(), cap / 2 - 3);
  }

  // Data wrapping: head at C/2, tail at C/2 + 3C/4.
  s = take(static_cast<ssize_t>(cap / 2 - 3));
  EXPECT_EQ(s.bytes, cap / 2 - 3);
  consumed += cap / 2 - 3;
  ASSERT_EQ(write_pattern(w, cap / 2, 3 * cap / 4), 3 * cap / 4);
  s = take(static_cast<ssize_t>(3 * cap / 4), &total, &count);
  EXPECT_EQ(total, 3 * cap / 4);
  EXPECT_EQ(count, TypeParam::kMirrored ? 1U : 2U);
  EXPECT_EQ(s.bytes, total);
  EXPECT_EQ(r.size_hint(), 0U);

  // Empty: not called.
  bool called = false;
  s = r.io_slices([&](std::span<iovec>, std::size_t) -> ssize_t {
    called = true;
    return 0;
  });
  EXPECT_FALSE(called);
  EXPECT_EQ(s.errc, Errc::ring_empty);
}

TYPED_TEST(ByteRingContract, IoSlicesOffersEverythingEvenAfterAnEarlierLook) {
  // io_slices() reloads the other half's counter, so the callback sees all the space/data even
  // when the half's cached view is older.
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  ASSERT_EQ(write_pattern(w, 0, cap / 4), cap / 4);
  EXPECT_EQ(r.readable_segments().bytes(), cap / 4);  // the reader caches the tail here
  ASSERT_EQ(write_pattern(w, cap / 4, cap / 4), cap / 4);
  std::size_t offered = 0;
  const SliceResult s = r.io_slices([&](std::span<iovec>, std::size_t total) -> ssize_t {
    offered = total;
    return 0;
  });
  EXPECT_TRUE(s);
  EXPECT_EQ(offered, cap / 2);

  ASSERT_EQ(write_pattern(w, cap / 2, cap / 2), cap / 2);  // full: the writer caches the head
  EXPECT_TRUE(w.writable_segments().empty());
  ASSERT_EQ(r.consume(cap / 2), Errc::ok);
  offered = 0;
  const SliceResult t = w.io_slices([&](std::span<iovec>, std::size_t total) -> ssize_t {
    offered = total;
    return 0;
  });
  EXPECT_TRUE(t);
  EXPECT_EQ(offered, cap / 2);
}

// Regression (fixed in 2cbd098): readable() reloaded the writer's counter only when its cached
// view was empty, so a reader that looked, found an incomplete record and waited for more never
// saw the bytes committed after its first look (mirror_ring.hpp's parse-then-consume example
// hung). readable()/readable_segments() show every byte committed before the call.
TYPED_TEST(ByteRingContract, ReadableShowsBytesCommittedAfterAnEarlierLook) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  ASSERT_EQ(write_pattern(w, 0, 5), 5U);
  EXPECT_EQ(segments_of(r.readable()).bytes(), 5U);  // an incomplete record: look, keep it
  ASSERT_EQ(write_pattern(w, 5, 5), 5U);             // the rest of it arrives
  EXPECT_EQ(r.size_hint(), 10U);
  EXPECT_EQ(segments_of(r.readable()).bytes(), 10U);
  EXPECT_EQ(r.readable_segments().bytes(), 10U);
}

// Regression, the writer's side: writable() reloaded the reader's counter only when its cached
// view was full, so a writer waiting for room for a whole record never saw the space freed since.
TYPED_TEST(ByteRingContract, WritableShowsSpaceFreedAfterAnEarlierLook) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  ASSERT_EQ(write_pattern(w, 0, cap - 4), cap - 4);
  EXPECT_EQ(w.writable_segments().bytes(), 4U);  // too small for an 8-byte record: wait
  ASSERT_EQ(r.consume(cap - 4), Errc::ok);       // the reader frees everything
  EXPECT_EQ(w.size_hint(), 0U);
  EXPECT_EQ(w.writable_segments().bytes(), cap);
}

// The same two regressions across threads: each side waits (bounded by a count, not a time) for
// the view to grow to a whole record while the other side trickles bytes in or out.
TYPED_TEST(ByteRingContract, ViewsGrowWhileTheOtherThreadTrickles) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, kTop - 7);
  auto& w = ring.writer;
  auto& r = ring.reader;
  constexpr long kMaxPolls = 20'000'000;
  const std::size_t record = cap / 2;
  // The fallback's readable()/writable() stop at the wrap; its _segments() forms show both parts.
  const auto data_view = [&] {
    return TypeParam::kViewsEndAtWrap ? r.readable_segments() : segments_of(r.readable());
  };
  const auto free_view = [&] {
    return TypeParam::kViewsEndAtWrap ? w.writable_segments() : segments_of(w.writable());
  };
  // Reader waits for a whole record; the writer sends it in 16 pieces.
  std::thread writer_thread([&] {
    for (std::size_t off = 0; off < record;) {
      const std::size_t n = std::min<std::size_t>(record / 16 + 1, record - off);
      const std::size_t did = write_pattern(w, off, n);
      off += did;
      if (did == 0) std::this_thread::yield();
    }
  });
  long polls = 0;
  while (data_view().bytes() < record && polls < kMaxPolls) {
    ++polls;
    std::this_thread::yield();
  }
  writer_thread.join();
  ASSERT_LT(polls, kMaxPolls) << "readable() never showed the whole record";
  EXPECT_TRUE(matches_pattern(kSeed, 0, concat(r.readable_segments())));

  // Writer waits for the whole ring to be free; the reader drains in 16 pieces.
  ASSERT_EQ(write_pattern(w, record, cap - record), cap - record);  // full
  EXPECT_TRUE(w.writable_segments().empty());
  std::thread reader_thread([&] {
    for (std::size_t left = cap; left != 0;) {
      const std::size_t n = std::min<std::size_t>(cap / 16 + 1, left);
      if (r.consume(n) == Errc::ok) {
        left -= n;
      } else {
        std::this_thread::yield();
      }
    }
  });
  polls = 0;
  while (free_view().bytes() < cap && polls < kMaxPolls) {
    ++polls;
    std::this_thread::yield();
  }
  reader_thread.join();
  ASSERT_LT(polls, kMaxPolls) << "writable() never showed the freed space";
}

}  // namespace
