// Tests of ringkit/byte_ring.hpp, second half of the byte ring contract, typed over every ring
// kind: positions that wrap at 2^64, size hints, closing either half, moves and default
// construction, and a random-operation oracle (a std::deque). First half: byte_ring_test.cpp.
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

using ringkit::Errc;
using ringkit::MutableSegments;
using ringkit::segments_of;
using ringkit::SliceResult;
using ringkit_test::AllRingKinds;
using ringkit_test::concat;
using ringkit_test::fill;
using ringkit_test::KindName;
using ringkit_test::kSeed;
using ringkit_test::kTop;
using ringkit_test::matches_pattern;
using ringkit_test::pattern;
using ringkit_test::read_pattern;
using ringkit_test::Rng;
using ringkit_test::write_pattern;

// ---------------------------------------------------------------------------------------------
// The contract, for every ring kind

template <class Kind>
class ByteRingContract : public ::testing::Test {
 protected:
  /// A small capacity the kind accepts (16 bytes, or one page for mirrored rings).
  static std::size_t cap() { return std::max<std::size_t>(16, Kind::min_capacity()); }
};
TYPED_TEST_SUITE(ByteRingContract, AllRingKinds, KindName);

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

}  // namespace
