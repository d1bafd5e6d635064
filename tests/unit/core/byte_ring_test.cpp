// Tests of ringkit/byte_ring.hpp (and the vocabulary it returns: Segments, Errc, Result, the
// concepts). The contract tests are typed over every ring kind (tests/support/ring_kinds.hpp):
// the two-segment ByteRing, the mirrored ring and the mirrored ring's plain fallback.
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
#include "support/ring_kinds.hpp"

namespace {

using ringkit::ByteReader;
using ringkit::ByteWriter;
using ringkit::ConstSegments;
using ringkit::Errc;
using ringkit::MutableSegments;
using ringkit::Result;
using ringkit::segments_of;
using ringkit::SliceResult;
using ringkit_test::AllRingKinds;
using ringkit_test::KindName;
using ringkit_test::matches_pattern;
using ringkit_test::Rng;

constexpr std::uint64_t kSeed = 0x5eed'0000'b17e'0001ULL;
constexpr std::uint64_t kTop = UINT64_MAX;

// ---------------------------------------------------------------------------------------------
// Helpers

/// All bytes of `s`, in order.
template <class Byte>
std::vector<std::byte> concat(const ringkit::Segments<Byte>& s) {
  std::vector<std::byte> out;
  for (const auto& part : s) out.insert(out.end(), part.begin(), part.end());
  return out;
}

/// Fills `s` with stream bytes starting at `offset`.
void fill(const MutableSegments& s, std::uint64_t offset) {
  for (const auto& part : s) {
    ringkit_test::fill_pattern(kSeed, offset, part);
    offset += part.size();
  }
}

/// Stream bytes [offset, offset + n).
std::vector<std::byte> pattern(std::uint64_t offset, std::size_t n) {
  std::vector<std::byte> v(n);
  ringkit_test::fill_pattern(kSeed, offset, v);
  return v;
}

/// Same segments (count, addresses and sizes).
template <class Byte>
::testing::AssertionResult same_segments(const ringkit::Segments<Byte>& a,
                                         const ringkit::Segments<Byte>& b) {
  if (a.count() != b.count()) {
    return ::testing::AssertionFailure() << "count " << a.count() << " vs " << b.count();
  }
  for (std::size_t i = 0; i < a.count(); ++i) {
    if (a[i].data() != b[i].data() || a[i].size() != b[i].size()) {
      return ::testing::AssertionFailure()
             << "segment " << i << " differs: size " << a[i].size() << " vs " << b[i].size();
    }
  }
  return ::testing::AssertionSuccess();
}

/// Address of storage index 0, from a half whose free space starts at `position`.
template <class Writer>
const std::byte* storage_base(Writer& w) {
  const MutableSegments free = w.writable_segments();
  const std::size_t idx = static_cast<std::size_t>(w.position()) & (w.capacity() - 1);
  return free.first().data() - idx;
}

/// Writes stream bytes [offset, offset + n) with write(); returns what write() returned.
template <class Writer>
std::size_t write_pattern(Writer& w, std::uint64_t offset, std::size_t n) {
  const auto data = pattern(offset, n);
  return w.write(std::span<const std::byte>(data));
}

/// Reads `n` bytes and checks they are stream bytes [offset, offset + n).
template <class Reader>
::testing::AssertionResult read_pattern(Reader& r, std::uint64_t offset, std::size_t n) {
  std::vector<std::byte> got(n);
  const std::size_t k = r.read(std::span<std::byte>(got));
  if (k != n) return ::testing::AssertionFailure() << "read " << k << " of " << n << " bytes";
  return matches_pattern(kSeed, offset, got);
}

/// Moves both positions to `offset` bytes past the start (ring empty afterwards).
template <class Ring>
void advance_empty(Ring& ring, std::size_t offset) {
  while (offset != 0) {
    const std::size_t n = std::min(offset, ring.writer.capacity());
    ASSERT_EQ(write_pattern(ring.writer, 0, n), n);
    ASSERT_EQ(ring.reader.consume(n), Errc::ok);
    offset -= n;
  }
}

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

TYPED_TEST(ByteRingContract, CountersWrapAt2Pow64) {
  const std::size_t cap = this->cap();
  for (const std::uint64_t start :
       {kTop - 100, kTop - cap / 2 + 1, kTop, kTop - 1, kTop - 4 * cap}) {
    SCOPED_TRACE(start);
    RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, start);
    auto& w = ring.writer;
    auto& r = ring.reader;
    Rng rng(start);
    std::uint64_t written = 0, consumed = 0;
    const std::uint64_t volume = 6 * static_cast<std::uint64_t>(cap) + 300;
    int step = 0;
    while (consumed < volume) {
      // Produce through write(), writable()+commit() or io_slices(), in turn.
      const std::size_t want = std::min<std::uint64_t>(rng.between(1, cap), volume - written);
      if (want != 0) {
        std::size_t did = 0;
        switch (step % 3) {
          case 0:
            did = write_pattern(w, written, want);
            break;
          case 1: {
            const MutableSegments free = w.writable_segments();
            did = std::min(want, free.bytes());
            fill(free, written);
            EXPECT_EQ(w.commit(did), Errc::ok);
            break;
          }
          default: {
            const SliceResult s = w.io_slices([&](std::span<iovec> iov, std::size_t total) {
              std::uint64_t off = written;
              for (const iovec& v : iov) {
                ringkit_test::fill_pattern(
                    kSeed, off,
                    std::span<std::byte>(static_cast<std::byte*>(v.iov_base), v.iov_len));
                off += v.iov_len;
              }
              return static_cast<ssize_t>(std::min(want, total));
            });
            did = s.bytes;
            break;
          }
        }
        written += did;
      }
      EXPECT_EQ(w.position(), start + written);
      EXPECT_EQ(w.size_hint(), written - consumed);
      EXPECT_EQ(r.size_hint(), written - consumed);
      // Consume through read(), readable_segments()+consume() or io_slices(), in turn.
      const std::size_t take = std::min<std::uint64_t>(rng.between(1, cap), written - consumed);
      switch (step % 3) {
        case 0: {
          EXPECT_TRUE(read_pattern(r, consumed, take));
          break;
        }
        case 1: {
          const std::vector<std::byte> data = concat(r.readable_segments());
          ASSERT_EQ(data.size(), written - consumed);  // a view shows everything
          EXPECT_TRUE(matches_pattern(kSeed, consumed, std::span(data).first(take)));
          EXPECT_EQ(r.consume(take), Errc::ok);
          break;
        }
        default: {
          if (take == 0) break;
          const SliceResult s = r.io_slices([&](std::span<iovec> iov, std::size_t) {
            std::vector<std::byte> got;
            for (const iovec& v : iov) {
              const auto* p = static_cast<const std::byte*>(v.iov_base);
              got.insert(got.end(), p, p + v.iov_len);
            }
            EXPECT_TRUE(matches_pattern(kSeed, consumed, got));
            return static_cast<ssize_t>(take);
          });
          EXPECT_EQ(s.bytes, take);
          break;
        }
      }
      consumed += take;
      EXPECT_EQ(r.position(), start + consumed);
      ++step;
      if (::testing::Test::HasFailure()) return;
    }
    // The counters did wrap: the positions are now small.
    EXPECT_LT(w.position(), start);
    EXPECT_EQ(w.position(), start + volume);
    EXPECT_EQ(r.position(), start + volume);
  }
}

TYPED_TEST(ByteRingContract, OneWriteStraddlesThe2Pow64Boundary) {
  const std::size_t cap = this->cap();
  const std::uint64_t start = kTop - cap / 2 + 2;  // 2^64 is crossed inside the write
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, start);
  auto& w = ring.writer;
  auto& r = ring.reader;
  ASSERT_EQ(write_pattern(w, 0, cap), cap);
  EXPECT_EQ(w.position(), start + cap);
  EXPECT_LT(w.position(), start);
  EXPECT_EQ(r.size_hint(), cap);
  EXPECT_EQ(w.size_hint(), cap);
  EXPECT_TRUE(w.writable_segments().empty());
  EXPECT_EQ(w.commit(1), Errc::over_commit);
  EXPECT_TRUE(matches_pattern(kSeed, 0, concat(r.readable_segments())));
  EXPECT_EQ(r.consume(cap + 1), Errc::over_consume);
  ASSERT_EQ(r.consume(cap), Errc::ok);
  EXPECT_EQ(r.position(), start + cap);
  EXPECT_EQ(w.writable_segments().bytes(), cap);
}

TYPED_TEST(ByteRingContract, PositionAndSizeHintTrackBothHalves) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 77);
  auto& w = ring.writer;
  auto& r = ring.reader;
  ASSERT_EQ(write_pattern(w, 0, 10), 10U);
  EXPECT_EQ(w.position(), 87U);
  EXPECT_EQ(r.position(), 77U);  // the reader's position moves only when it consumes
  EXPECT_EQ(w.size_hint(), 10U);
  EXPECT_EQ(r.size_hint(), 10U);
  ASSERT_EQ(r.consume(4), Errc::ok);
  EXPECT_EQ(r.position(), 81U);
  EXPECT_EQ(w.size_hint(), 6U);
  EXPECT_EQ(r.size_hint(), 6U);
  EXPECT_EQ(w.commit(1), Errc::ok);
  EXPECT_EQ(w.position(), 88U);
  EXPECT_EQ(r.size_hint(), 7U);
}

TYPED_TEST(ByteRingContract, ReaderOutlivesTheWriter) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& r = ring.reader;
  ASSERT_EQ(write_pattern(ring.writer, 0, cap / 2), cap / 2);
  EXPECT_TRUE(r.peer_alive());
  { auto gone = std::move(ring.writer); }  // destroyed here
  EXPECT_FALSE(r.peer_alive());
  EXPECT_EQ(r.size_hint(), cap / 2);
  EXPECT_TRUE(read_pattern(r, 0, cap / 2));  // the storage is still there
  EXPECT_TRUE(segments_of(r.readable()).empty());
  EXPECT_EQ(r.io_slices([](std::span<iovec>, std::size_t) { return 0; }).errc, Errc::ring_empty);
}

TYPED_TEST(ByteRingContract, WriterOutlivesTheReader) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  EXPECT_TRUE(w.peer_alive());
  { auto gone = std::move(ring.reader); }
  EXPECT_FALSE(w.peer_alive());
  EXPECT_EQ(write_pattern(w, 0, cap / 2), cap / 2);  // harmless: the storage is still there
  EXPECT_EQ(w.size_hint(), cap / 2);
}

TYPED_TEST(ByteRingContract, CloseEndsTheStreamAndIsIdempotent) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  ASSERT_EQ(write_pattern(w, 0, 3), 3U);
  w.close();
  EXPECT_FALSE(w.valid());
  EXPECT_EQ(w.capacity(), 0U);
  EXPECT_FALSE(r.peer_alive());
  w.close();
  EXPECT_TRUE(read_pattern(r, 0, 3));
  r.close();
  r.close();
  EXPECT_FALSE(r.valid());
  EXPECT_FALSE(r.peer_alive());
  EXPECT_FALSE(w.peer_alive());
}

/// Calls every method of an empty (moved-from, closed or default-constructed) writer.
template <class Writer>
void expect_empty_writer(Writer& w) {
  EXPECT_EQ(w.capacity(), 0U);
  EXPECT_FALSE(w.valid());
  EXPECT_FALSE(w.mirrored());
  EXPECT_FALSE(w.peer_alive());
  EXPECT_EQ(w.position(), 0U);
  EXPECT_EQ(w.size_hint(), 0U);
  EXPECT_TRUE(segments_of(w.writable()).empty());
  EXPECT_TRUE(w.writable_segments().empty());
  EXPECT_EQ(w.commit(0), Errc::ok);
  EXPECT_EQ(w.commit(1), Errc::over_commit);
  EXPECT_EQ(w.commit(SIZE_MAX), Errc::over_commit);
  const std::array<std::byte, 4> src{};
  EXPECT_EQ(w.write(src), 0U);
  EXPECT_EQ(w.write(src.data(), 0), 0U);
  EXPECT_EQ(w.write(std::span<const std::byte>{}), 0U);
  bool called = false;
  const SliceResult s = w.io_slices([&](std::span<iovec>, std::size_t) -> ssize_t {
    called = true;
    return 1;
  });
  EXPECT_FALSE(called);
  EXPECT_EQ(s.errc, Errc::ring_full);
  EXPECT_EQ(s.bytes, 0U);
  w.close();
  EXPECT_FALSE(w.valid());
}

/// Calls every method of an empty reader.
template <class Reader>
void expect_empty_reader(Reader& r) {
  EXPECT_EQ(r.capacity(), 0U);
  EXPECT_FALSE(r.valid());
  EXPECT_FALSE(r.mirrored());
  EXPECT_FALSE(r.peer_alive());
  EXPECT_EQ(r.position(), 0U);
  EXPECT_EQ(r.size_hint(), 0U);
  EXPECT_TRUE(segments_of(r.readable()).empty());
  EXPECT_TRUE(r.readable_segments().empty());
  EXPECT_EQ(r.consume(0), Errc::ok);
  EXPECT_EQ(r.consume(1), Errc::over_consume);
  EXPECT_EQ(r.consume(SIZE_MAX), Errc::over_consume);
  std::array<std::byte, 4> dst{};
  EXPECT_EQ(r.read(dst), 0U);
  EXPECT_EQ(r.read(dst.data(), 0), 0U);
  EXPECT_EQ(r.read(std::span<std::byte>{}), 0U);
  EXPECT_EQ(r.peek(dst), 0U);
  bool called = false;
  const SliceResult s = r.io_slices([&](std::span<iovec>, std::size_t) -> ssize_t {
    called = true;
    return 1;
  });
  EXPECT_FALSE(called);
  EXPECT_EQ(s.errc, Errc::ring_empty);
  EXPECT_EQ(s.bytes, 0U);
  r.close();
  EXPECT_FALSE(r.valid());
}

TYPED_TEST(ByteRingContract, MoveConstructionLeavesAnEmptySource) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 1000);
  ASSERT_EQ(write_pattern(ring.writer, 0, 5), 5U);
  auto w2 = std::move(ring.writer);
  auto r2 = std::move(ring.reader);
  expect_empty_writer(ring.writer);  // NOLINT(bugprone-use-after-move): the point of the test
  expect_empty_reader(ring.reader);  // NOLINT(bugprone-use-after-move)
  // The moved-to halves carry on where the originals were.
  EXPECT_TRUE(w2.valid());
  EXPECT_TRUE(r2.peer_alive());
  EXPECT_TRUE(w2.peer_alive());
  EXPECT_EQ(w2.capacity(), cap);
  EXPECT_EQ(w2.position(), 1005U);
  EXPECT_EQ(r2.position(), 1000U);
  ASSERT_EQ(write_pattern(w2, 5, 5), 5U);
  EXPECT_TRUE(read_pattern(r2, 0, 10));
}

TYPED_TEST(ByteRingContract, MoveAssignmentClosesTheOverwrittenHalf) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(a, TypeParam, cap, 0);
  RINGKIT_MAKE_RING_OR_SKIP(b, TypeParam, cap, 500);
  ASSERT_EQ(write_pattern(b.writer, 0, 4), 4U);
  a.writer = std::move(b.writer);
  EXPECT_FALSE(a.reader.peer_alive());  // a's own writer was closed by the assignment
  EXPECT_TRUE(b.reader.peer_alive());   // b's writer lives on in a.writer
  expect_empty_writer(b.writer);        // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.writer.position(), 504U);
  ASSERT_EQ(write_pattern(a.writer, 4, 4), 4U);
  EXPECT_TRUE(read_pattern(b.reader, 0, 8));

  a.reader = std::move(b.reader);
  EXPECT_TRUE(a.writer.peer_alive());  // it is b's reader now
  expect_empty_reader(b.reader);       // NOLINT(bugprone-use-after-move)
  ASSERT_EQ(write_pattern(a.writer, 8, 2), 2U);
  EXPECT_TRUE(read_pattern(a.reader, 8, 2));

  // Assigning an empty half empties the target and closes what it held.
  a.writer = std::move(b.writer);
  expect_empty_writer(a.writer);
  EXPECT_FALSE(a.reader.peer_alive());
}

TYPED_TEST(ByteRingContract, SelfMoveAssignmentKeepsTheHalf) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, 0);
  auto& w = ring.writer;
  auto& r = ring.reader;
  auto& w_alias = w;
  auto& r_alias = r;
  ASSERT_EQ(write_pattern(w, 0, 3), 3U);
  w = std::move(w_alias);
  r = std::move(r_alias);
  EXPECT_TRUE(w.valid());
  EXPECT_TRUE(r.valid());
  EXPECT_TRUE(r.peer_alive());
  ASSERT_EQ(write_pattern(w, 3, 3), 3U);
  EXPECT_TRUE(read_pattern(r, 0, 6));
}

TYPED_TEST(ByteRingContract, DefaultConstructedHalvesAreEmpty) {
  typename TypeParam::Ring ring;
  expect_empty_writer(ring.writer);
  expect_empty_reader(ring.reader);
}

// A seeded, single-threaded run of random operations against a std::deque oracle (the fuzzer,
// tests/fuzz/byte_ring_fuzz.cpp, does the same with libFuzzer's inputs).
TYPED_TEST(ByteRingContract, RandomOperationsMatchADequeOracle) {
  const std::size_t cap = this->cap();
  RINGKIT_MAKE_RING_OR_SKIP(ring, TypeParam, cap, kTop - 3 * cap);
  auto& w = ring.writer;
  auto& r = ring.reader;
  std::deque<std::byte> oracle;
  std::uint64_t produced = 0;
  Rng rng(7);
  std::vector<std::byte> buf(2 * cap);
  for (int op = 0; op < 20000 && !::testing::Test::HasFailure(); ++op) {
    const std::size_t n = rng.between(0, cap + 2);
    const std::size_t free = cap - oracle.size();
    switch (rng.below(6)) {
      case 0: {  // write
        const auto src = pattern(produced, n);
        const std::size_t did = w.write(std::span<const std::byte>(src));
        ASSERT_EQ(did, std::min(n, free));
        oracle.insert(oracle.end(), src.begin(), src.begin() + static_cast<std::ptrdiff_t>(did));
        produced += did;
        break;
      }
      case 1: {  // commit through writable_segments(), or over-commit
        const MutableSegments seg = w.writable_segments();
        ASSERT_EQ(seg.bytes(), free);  // a view shows all the free space
        fill(seg, produced);
        if (n > free) {
          ASSERT_EQ(w.commit(n), Errc::over_commit);
        } else {
          ASSERT_EQ(w.commit(n), Errc::ok);
          const auto src = pattern(produced, n);
          oracle.insert(oracle.end(), src.begin(), src.end());
          produced += n;
        }
        break;
      }
      case 2: {  // read
        const std::size_t did = r.read(std::span(buf).first(std::min(n, buf.size())));
        ASSERT_EQ(did, std::min(n, oracle.size()));
        ASSERT_TRUE(std::equal(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(did),
                               oracle.begin()));
        oracle.erase(oracle.begin(), oracle.begin() + static_cast<std::ptrdiff_t>(did));
        break;
      }
      case 3: {  // peek
        const std::size_t did = r.peek(std::span(buf).first(std::min(n, buf.size())));
        ASSERT_EQ(did, std::min(n, oracle.size()));
        ASSERT_TRUE(std::equal(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(did),
                               oracle.begin()));
        break;
      }
      case 4: {  // consume, or over-consume
        const Errc e = r.consume(n);
        if (n > oracle.size()) {
          ASSERT_EQ(e, Errc::over_consume);
        } else {
          ASSERT_EQ(e, Errc::ok);
          oracle.erase(oracle.begin(), oracle.begin() + static_cast<std::ptrdiff_t>(n));
        }
        break;
      }
      default: {  // io_slices on the reader, reporting n (possibly too much)
        const std::size_t have = oracle.size();
        const SliceResult s = r.io_slices([&](std::span<iovec>, std::size_t total) -> ssize_t {
          EXPECT_EQ(total, have);
          return static_cast<ssize_t>(n);
        });
        if (have == 0) {
          ASSERT_EQ(s.errc, Errc::ring_empty);
        } else if (n > have) {
          ASSERT_EQ(s.errc, Errc::over_report);
        } else {
          ASSERT_EQ(s.errc, Errc::ok);
          ASSERT_EQ(s.bytes, n);
          oracle.erase(oracle.begin(), oracle.begin() + static_cast<std::ptrdiff_t>(n));
        }
        break;
      }
    }
    ASSERT_EQ(w.size_hint(), oracle.size());
    ASSERT_EQ(r.size_hint(), oracle.size());
    ASSERT_EQ(w.position() - r.position(), oracle.size());
    const auto all = concat(r.readable_segments());
    ASSERT_EQ(all.size(), oracle.size());  // a view shows everything
    ASSERT_TRUE(std::equal(all.begin(), all.end(), oracle.begin()));
  }
}

// ---------------------------------------------------------------------------------------------
// Segments

TEST(Segments, DefaultIsEmpty) {
  static constexpr ConstSegments s;
  static_assert(s.empty());
  static_assert(s.count() == 0 && s.size() == 0 && s.bytes() == 0);
  static_assert(s.begin() == s.end());
  std::array<iovec, 2> iov{};
  EXPECT_EQ(s.to_iovecs(iov), 0U);
  EXPECT_TRUE(s[0].empty());
  EXPECT_TRUE(s[1].empty());
}

TEST(Segments, EmptySegmentsAreNeverShown) {
  std::array<std::byte, 8> a{}, b{};
  const MutableSegments both(std::span<std::byte>(a).first(3), std::span<std::byte>(b).first(5));
  EXPECT_EQ(both.count(), 2U);
  EXPECT_EQ(both.bytes(), 8U);

  const MutableSegments first_only(std::span<std::byte>(a).first(3), std::span<std::byte>{});
  EXPECT_EQ(first_only.count(), 1U);
  EXPECT_EQ(first_only.end() - first_only.begin(), 1);
  EXPECT_TRUE(first_only.second().empty());

  // A lone second part moves to the front.
  const MutableSegments second_only(std::span<std::byte>{}, std::span<std::byte>(b).first(5));
  ASSERT_EQ(second_only.count(), 1U);
  EXPECT_EQ(second_only.first().data(), b.data());
  EXPECT_EQ(second_only.first().size(), 5U);
  EXPECT_TRUE(second_only.second().empty());

  const MutableSegments none(std::span<std::byte>{}, std::span<std::byte>{});
  EXPECT_TRUE(none.empty());
  int visited = 0;
  for (const auto& part : none) visited += static_cast<int>(part.size()) + 1;
  EXPECT_EQ(visited, 0);

  for (const auto& part : both) EXPECT_FALSE(part.empty());
}

TEST(Segments, IterationAndIndexingInOrder) {
  std::array<std::byte, 8> a{}, b{};
  const MutableSegments s(std::span<std::byte>(a).subspan(6), std::span<std::byte>(b).first(4));
  std::vector<std::size_t> sizes;
  std::vector<const std::byte*> starts;
  for (const std::span<std::byte>& part : s) {
    sizes.push_back(part.size());
    starts.push_back(part.data());
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 4}));
  EXPECT_EQ(starts, (std::vector<const std::byte*>{a.data() + 6, b.data()}));
  EXPECT_EQ(s[0].data(), a.data() + 6);
  EXPECT_EQ(s[1].data(), b.data());
  EXPECT_EQ(s.size(), s.count());
}

TEST(Segments, ToIovecs) {
  std::array<std::byte, 8> a{}, b{};
  std::array<iovec, 2> iov{};
  const ConstSegments two(std::span<const std::byte>(a).first(7),
                          std::span<const std::byte>(b).first(1));
  ASSERT_EQ(two.to_iovecs(iov), 2U);
  EXPECT_EQ(iov[0].iov_base, static_cast<void*>(a.data()));
  EXPECT_EQ(iov[0].iov_len, 7U);
  EXPECT_EQ(iov[1].iov_base, static_cast<void*>(b.data()));
  EXPECT_EQ(iov[1].iov_len, 1U);

  iov = {};
  const ConstSegments one(std::span<const std::byte>{}, std::span<const std::byte>(b));
  ASSERT_EQ(one.to_iovecs(iov), 1U);
  EXPECT_EQ(iov[0].iov_base, static_cast<void*>(b.data()));
  EXPECT_EQ(iov[0].iov_len, 8U);
  EXPECT_EQ(iov[1].iov_base, nullptr);  // untouched
}

TEST(Segments, SegmentsOfNormalisesBothViewKinds) {
  std::array<std::byte, 8> a{};
  EXPECT_EQ(ringkit::segments_of(std::span<std::byte>(a)).count(), 1U);
  EXPECT_EQ(ringkit::segments_of(std::span<const std::byte>(a)).bytes(), 8U);
  EXPECT_TRUE(ringkit::segments_of(std::span<std::byte>{}).empty());
  const MutableSegments s(std::span<std::byte>(a).first(2), std::span<std::byte>(a).last(2));
  EXPECT_TRUE(same_segments(ringkit::segments_of(s), s));
}

// ---------------------------------------------------------------------------------------------
// Errc and its std::error_category

constexpr Errc kAllErrc[] = {Errc::ok,
                             Errc::invalid_capacity,
                             Errc::over_commit,
                             Errc::over_consume,
                             Errc::over_report,
                             Errc::ring_full,
                             Errc::ring_empty,
                             Errc::callback_error,
                             Errc::invalid_argument,
                             Errc::not_page_multiple,
                             Errc::unsupported,
                             Errc::busy,
                             Errc::pool_exhausted,
                             Errc::too_large,
                             Errc::stale_handle,
                             Errc::refcount_overflow,
                             Errc::head_in_use,
                             Errc::never_fits,
                             Errc::allocator_busy,
                             Errc::closed,
                             Errc::timed_out,
                             Errc::lagged,            Errc::queue_full};

TEST(Errc, ConvertsToErrorCodeInTheRingkitCategory) {
  for (const Errc e : kAllErrc) {
    SCOPED_TRACE(static_cast<int>(e));
    const std::error_code ec = e;  // implicit, via is_error_code_enum
    EXPECT_EQ(ec.value(), static_cast<int>(e));
    EXPECT_EQ(&ec.category(), &ringkit::error_category());
    EXPECT_STREQ(ec.category().name(), "ringkit");
    EXPECT_FALSE(ec.message().empty());
    EXPECT_EQ(ec.message(), ringkit::describe(e));
    EXPECT_EQ(ec, e);
    EXPECT_EQ(ec, ringkit::make_error_code(e));
    EXPECT_EQ(static_cast<bool>(ec), e != Errc::ok);  // ok is "no error"
  }
}

TEST(Errc, MessagesAreDistinct) {
  std::vector<std::string> seen;
  for (const Errc e : kAllErrc) {
    const std::string m = ringkit::describe(e);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), m), 0) << m;
    seen.push_back(m);
  }
}

TEST(Errc, UnknownValuesStillHaveAMessage) {
  const std::error_code ec(200, ringkit::error_category());
  EXPECT_FALSE(ec.message().empty());
  EXPECT_STRNE(ringkit::describe(static_cast<Errc>(200)), "");
}

TEST(Errc, ErrorCodeFromAHotPathResult) {
  auto ring = *ringkit::make_byte_ring(16);
  const std::error_code ok = ring.writer.commit(0);
  EXPECT_FALSE(ok);
  const std::error_code bad = ring.writer.commit(17);
  EXPECT_TRUE(bad);
  EXPECT_EQ(bad, Errc::over_commit);
  EXPECT_NE(bad, std::errc::invalid_argument);  // not the generic category
}

// ---------------------------------------------------------------------------------------------
// Result<T>

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return ringkit::unexpected(Errc::invalid_argument, "parse_digit");
  return c - '0';
}

TEST(Result, HoldsAValue) {
  const Result<int> r = parse_digit('7');
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(r.value(), 7);
  EXPECT_EQ(r.value_or(-1), 7);
  EXPECT_FALSE(r.error());
  EXPECT_STREQ(r.context(), "");
  EXPECT_EQ(r.message(), "");
}

TEST(Result, HoldsAnErrorWithContext) {
  const Result<int> r = parse_digit('x');
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), Errc::invalid_argument);
  EXPECT_EQ(r.value_or(-1), -1);
  EXPECT_STREQ(r.context(), "parse_digit");
  EXPECT_EQ(r.message(), std::string("parse_digit: ") + ringkit::describe(Errc::invalid_argument));
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("parse_digit"), std::string::npos) << e.what();
  }
}

TEST(Result, ErrnoErrorsKeepTheSystemCategory) {
  const Result<int> r = ringkit::unexpected_errno(ENOENT, "open");
  EXPECT_EQ(r.error(), std::error_code(ENOENT, std::system_category()));
  EXPECT_EQ(r.error(), std::errc::no_such_file_or_directory);
  EXPECT_NE(r.message().find("open: "), std::string::npos);
  const Result<int> bare = ringkit::unexpected(std::make_error_code(std::errc::timed_out));
  EXPECT_STREQ(bare.context(), "");
  EXPECT_EQ(bare.message(), bare.error().message());
  EXPECT_THROW((void)bare.value(), std::system_error);
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r);
  EXPECT_EQ(**r, 5);
  EXPECT_EQ(*r->get(), 5);
  std::unique_ptr<int> taken = std::move(r).value();
  EXPECT_EQ(*taken, 5);

  Result<std::unique_ptr<int>> e = ringkit::unexpected(Errc::busy);
  std::unique_ptr<int> fallback = std::move(e).value_or(std::make_unique<int>(9));
  EXPECT_EQ(*fallback, 9);

  Result<std::string> in_place(std::in_place, 3, 'a');
  EXPECT_EQ(*in_place, "aaa");
  EXPECT_EQ(in_place->size(), 3U);
}

TEST(Result, VoidResult) {
  const Result<void> ok;
  EXPECT_TRUE(ok);
  EXPECT_TRUE(ok.has_value());
  EXPECT_NO_THROW(ok.value());
  EXPECT_FALSE(ok.error());
  EXPECT_STREQ(ok.context(), "");
  EXPECT_EQ(ok.message(), "");

  const Result<void> bad = ringkit::unexpected(Errc::unsupported, "feature");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), Errc::unsupported);
  EXPECT_STREQ(bad.context(), "feature");
  EXPECT_EQ(bad.message(), std::string("feature: ") + ringkit::describe(Errc::unsupported));
  EXPECT_THROW(bad.value(), std::system_error);
  const Result<void> bare = ringkit::unexpected_errno(EBADF);
  EXPECT_EQ(bare.message(), std::error_code(EBADF, std::system_category()).message());
  EXPECT_THROW(bare.value(), std::system_error);
}

}  // namespace
