// Unit tests of the ring allocator (ringkit/ring_allocator.hpp): every allocation scenario (exact
// fit, split, merge, skip to the start, straddling the end of a mirrored store, head_in_use,
// never_fits, alignment 16..4096) on mirrored and plain stores, FixedBuf/ExtBuf/FrozenBuf
// contracts, the reference crate's ExtBuf bug as a regression test, ExtBuf relocation,
// allocator_busy, teardown with live buffers and the thread-local allocator.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/ring_allocator.hpp>  // first: the header is self-contained

#include "support/pattern.hpp"

namespace {

using ringkit::Errc;
using ringkit::ExtBuf;
using ringkit::FixedBuf;
using ringkit::FrozenBuf;
using ringkit::MirrorMode;
using ringkit::RingAllocator;
using ringkit_test::fill_pattern;
using ringkit_test::first_mismatch;

constexpr std::size_t kHdr = 16;

static_assert(!std::is_copy_constructible_v<FixedBuf>);
static_assert(std::is_nothrow_move_constructible_v<FixedBuf>);
static_assert(!std::is_copy_constructible_v<ExtBuf>);
static_assert(std::is_copy_constructible_v<FrozenBuf>);
static_assert(std::is_trivially_copyable_v<ringkit::RawFixedBuf>);

RingAllocator make(std::size_t bytes, MirrorMode mode) {
  auto a = RingAllocator::create(bytes, {.mode = mode});
  EXPECT_TRUE(a.has_value()) << a.error().message();
  return std::move(*a);
}

FixedBuf alloc_ok(RingAllocator& a, std::size_t n, std::size_t align = 16) {
  FixedBuf b;
  const Errc e = a.allocate(n, b, align);
  EXPECT_EQ(e, Errc::ok) << ringkit::describe(e) << " n=" << n;
  return b;
}

void fill(FixedBuf& b, std::uint64_t seed) {
  fill_pattern(seed, 0, b.writable());
  ASSERT_EQ(b.commit(b.spare()), Errc::ok);
}

bool intact(const FixedBuf& b, std::uint64_t seed) {
  return !first_mismatch(seed, 0, b.span()).has_value();
}

class RingAllocatorModes : public ::testing::TestWithParam<MirrorMode> {
 protected:
  [[nodiscard]] bool mirrored() const { return GetParam() == MirrorMode::required; }
};

INSTANTIATE_TEST_SUITE_P(Store, RingAllocatorModes,
                         ::testing::Values(MirrorMode::required, MirrorMode::never),
                         [](const auto& param_info) {
                           return param_info.param == MirrorMode::required ? std::string("mirrored")
                                                                           : std::string("plain");
                         });

TEST(RingAllocator, CreateRoundsToPagesAndRejectsZero) {
  auto a = make(100, MirrorMode::never);
  EXPECT_EQ(a.capacity(), ringkit::MirrorRegion::page_size());
  EXPECT_FALSE(a.mirrored());
  auto bad = RingAllocator::create(0);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), Errc::invalid_capacity);
  RingAllocator empty;
  FixedBuf b;
  EXPECT_EQ(empty.allocate(1, b), Errc::never_fits);
  EXPECT_EQ(empty.max_size(), 0U);
}

TEST_P(RingAllocatorModes, MirroredWhenAsked) {
  auto a = make(8192, GetParam());
  EXPECT_EQ(a.mirrored(), mirrored());
  EXPECT_EQ(a.capacity(), 8192U);
}

TEST_P(RingAllocatorModes, SplitThenExactFitReusesTheRegion) {
  auto a = make(4096, GetParam());
  FixedBuf x = alloc_ok(a, 100);  // split: 16 + 112 bytes in use, the rest one free region
  EXPECT_EQ(x.capacity(), 112U);
  auto st = a.stats();
  EXPECT_EQ(st.live_buffers, 1U);
  EXPECT_EQ(st.bytes_in_use, 128U);
  EXPECT_EQ(st.free_regions, 1U);
  std::byte* const base = x.data() - kHdr;
  FixedBuf y = alloc_ok(a, 4096 - 128 - kHdr);  // exact fit of the remaining free region
  EXPECT_EQ(y.data(), base + 128 + kHdr);
  st = a.stats();
  EXPECT_EQ(st.free_regions, 0U);
  EXPECT_EQ(st.bytes_in_use, 4096U);
  x.reset();
  FixedBuf z = alloc_ok(a, 112);  // exact fit of x's old region (the head wrapped to 0)
  EXPECT_EQ(z.data(), base + kHdr);
  EXPECT_EQ(a.stats().free_regions, 0U);
}

TEST_P(RingAllocatorModes, MergesFollowingFreeRegions) {
  auto a = make(4096, GetParam());
  std::vector<FixedBuf> bufs;
  bufs.reserve(8);
  for (int i = 0; i < 8; ++i) bufs.push_back(alloc_ok(a, 512 - kHdr));  // fills the store
  std::byte* const base = bufs[0].data() - kHdr;
  FixedBuf more;
  EXPECT_EQ(a.allocate(1, more), Errc::head_in_use);
  for (int i = 0; i < 4; ++i) bufs[i].reset();
  EXPECT_EQ(a.stats().free_regions, 4U);    // released, not merged yet
  FixedBuf big = alloc_ok(a, 2048 - kHdr);  // merges the four released regions
  EXPECT_EQ(big.data(), base + kHdr);
  EXPECT_EQ(a.stats().free_regions, 0U);
}

TEST_P(RingAllocatorModes, MergeStopsAtARegionInUse) {
  auto a = make(4096, GetParam());
  std::vector<FixedBuf> bufs;
  bufs.reserve(8);
  for (int i = 0; i < 8; ++i) bufs.push_back(alloc_ok(a, 512 - kHdr));
  bufs[0].reset();
  bufs[1].reset();  // bufs[2] stays: a merge from 0 gets at most 1024 bytes
  FixedBuf b;
  EXPECT_EQ(a.allocate(1024, b), Errc::head_in_use);
  EXPECT_FALSE(b);
  FixedBuf c = alloc_ok(a, 1024 - kHdr);
  fill(c, 7);
  EXPECT_TRUE(intact(c, 7));
  fill(bufs[2], 3);
  EXPECT_TRUE(intact(bufs[2], 3));
}

TEST_P(RingAllocatorModes, WrapsAtTheEnd) {
  auto a = make(4096, GetParam());
  FixedBuf first = alloc_ok(a, 3000);  // [0, 3024)
  std::byte* const base = first.data() - kHdr;
  FixedBuf second = alloc_ok(a, 500);  // [3024, 3552)
  first.reset();
  // 2000 bytes: a mirrored store merges across the end (the tail [3552, 4096) and [0, 3024)),
  // so the buffer straddles the end; a plain store leaves the tail free and starts at 0.
  FixedBuf w = alloc_ok(a, 2000);
  if (mirrored()) {
    EXPECT_EQ(w.data(), base + 3552 + kHdr);
    fill(w, 11);
    // The part past the end is the start of the store (the mirror view).
    const std::size_t before_end = 4096 - (3552 + kHdr);
    EXPECT_EQ(std::memcmp(base, w.data() + before_end, w.size() - before_end), 0);
  } else {
    EXPECT_EQ(w.data(), base + kHdr);
    fill(w, 11);
  }
  EXPECT_TRUE(intact(w, 11));
}

TEST_P(RingAllocatorModes, HeadInUseUntilReleased) {
  auto a = make(4096, GetParam());
  FixedBuf x = alloc_ok(a, 2000);
  FixedBuf y = alloc_ok(a, 2000);
  FixedBuf z;
  EXPECT_EQ(a.allocate(100, z), Errc::head_in_use);
  EXPECT_EQ(a.allocate(100, z), Errc::head_in_use);
  EXPECT_EQ(a.stats().failed_head_in_use, 2U);
  const auto oldest = a.oldest_live();
  ASSERT_TRUE(oldest.has_value());
  EXPECT_EQ(oldest->offset, 0U);  // x blocks the head
  x.reset();
  EXPECT_EQ(a.allocate(100, z), Errc::ok);
  EXPECT_EQ(a.oldest_live()->offset, 2016U);  // y is now the oldest
}

TEST_P(RingAllocatorModes, NeverFitsIsDistinctFromHeadInUse) {
  auto a = make(4096, GetParam());
  EXPECT_EQ(a.max_size(), 4096U - 16);
  EXPECT_EQ(a.max_size(256), 4096U - 256);
  FixedBuf b;
  EXPECT_EQ(a.allocate(4096 - 15, b), Errc::never_fits);
  EXPECT_EQ(a.allocate(std::size_t{1} << 62, b), Errc::never_fits);
  EXPECT_EQ(a.allocate(4096 - 255, b, 256), Errc::never_fits);
  EXPECT_EQ(a.stats().failed_never_fits, 3U);
  // max_size() fits even with the head in the middle of the store.
  FixedBuf x = alloc_ok(a, 1000);
  x.reset();
  b = alloc_ok(a, a.max_size());
  b.reset();
  b = alloc_ok(a, a.max_size(256), 256);
}

TEST_P(RingAllocatorModes, AlignmentUpTo4096) {
  auto a = make(1 << 16, GetParam());
  ringkit_test::Rng rng(5);
  for (std::size_t align = 16; align <= 4096; align *= 2) {
    std::vector<FixedBuf> live;
    for (int i = 0; i < 40; ++i) {
      FixedBuf pre;
      (void)a.allocate(rng.between(1, 300), pre);  // move the head to odd places
      FixedBuf b;
      const Errc e = a.allocate(rng.between(1, 1000), b, align);
      if (e == Errc::head_in_use) {
        live.clear();
        continue;
      }
      ASSERT_EQ(e, Errc::ok);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % align, 0U) << "align " << align;
      fill(b, i);
      live.push_back(std::move(b));
      if (live.size() > 6) live.erase(live.begin());
    }
    for (std::size_t i = 0; i < live.size(); ++i) EXPECT_FALSE(live[i].span().empty());
  }
  FixedBuf b;
  EXPECT_EQ(a.allocate(10, b, 8), Errc::ok);  // below 16 means 16
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 16, 0U);
  EXPECT_EQ(a.allocate(10, b, 48), Errc::invalid_argument);
  EXPECT_EQ(a.allocate(10, b, 8192), Errc::invalid_argument);
  EXPECT_EQ(a.stats().failed_invalid_argument, 2U);
}

TEST(RingAllocator, FixedBufWriteCommitSpare) {
  auto a = make(4096, MirrorMode::never);
  FixedBuf b = alloc_ok(a, 20);  // capacity rounds up to 32
  EXPECT_EQ(b.capacity(), 32U);
  EXPECT_EQ(b.size(), 0U);
  const char msg[] = "hello, ring allocator!!!";  // 25 bytes with the NUL
  EXPECT_EQ(b.write(msg, sizeof msg), sizeof msg);
  EXPECT_EQ(b.spare(), 32 - sizeof msg);
  EXPECT_EQ(b.write(msg, sizeof msg), 32 - sizeof msg);  // partial: as much as fits
  EXPECT_EQ(b.spare(), 0U);
  EXPECT_EQ(b.commit(1), Errc::over_commit);
  EXPECT_EQ(std::memcmp(b.data(), msg, sizeof msg), 0);
  b.clear();
  EXPECT_EQ(b.commit(32), Errc::ok);
  FixedBuf moved = std::move(b);
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_TRUE(moved);
  auto raw = std::move(moved).into_raw();
  EXPECT_FALSE(moved);  // NOLINT(bugprone-use-after-move)
  FixedBuf back = FixedBuf::from_raw(raw);
  EXPECT_EQ(back.size(), 32U);
  EXPECT_EQ(a.stats().live_buffers, 1U);
  back.reset();
  EXPECT_EQ(a.stats().live_buffers, 0U);
  FixedBuf zero = alloc_ok(a, 0);  // a 0-byte request still gets one granule
  EXPECT_EQ(zero.capacity(), 16U);
}

TEST_P(RingAllocatorModes, ExtBufGrowsInPlaceAndFinalizeTrims) {
  auto a = make(1 << 16, GetParam());
  ExtBuf e;
  ASSERT_EQ(a.extend(e, 64), Errc::ok);
  EXPECT_TRUE(a.busy());
  std::byte* const start = e.data();
  std::vector<std::byte> chunk(64);
  for (std::uint64_t off = 0; off < 5000; off += 64) {
    fill_pattern(9, off, chunk);
    ASSERT_EQ(e.write(chunk), Errc::ok);
  }
  EXPECT_EQ(e.data(), start);  // in place
  auto w = e.writable();
  ASSERT_GE(w.size(), 8U);
  fill_pattern(9, e.size(), w.first(8));
  ASSERT_EQ(e.commit(8), Errc::ok);
  EXPECT_EQ(e.commit(e.spare() + 1), Errc::over_commit);
  FixedBuf f = std::move(e).finalize();
  EXPECT_FALSE(a.busy());
  EXPECT_EQ(f.size(), 5064U);
  EXPECT_EQ(f.capacity(), 5072U);
  EXPECT_FALSE(first_mismatch(9, 0, f.span()));
  // The tail went back: the next buffer starts right after.
  FixedBuf next = alloc_ok(a, 10);
  EXPECT_EQ(next.data(), f.data() + f.capacity() + kHdr);
}

TEST_P(RingAllocatorModes, ExtBufAbsorbsRegionsReleasedLater) {
  auto a = make(4096, GetParam());
  std::vector<FixedBuf> bufs;
  bufs.reserve(8);
  for (int i = 0; i < 8; ++i) bufs.push_back(alloc_ok(a, 512 - kHdr));
  bufs[0].reset();
  ExtBuf e;
  ASSERT_EQ(a.extend(e), Errc::ok);
  EXPECT_EQ(e.capacity(), 512U - kHdr);
  std::vector<std::byte> data(1500);
  fill_pattern(4, 0, data);
  EXPECT_EQ(e.write(data), Errc::head_in_use);  // bufs[1] is in the way
  EXPECT_EQ(e.size(), 0U);
  bufs[1].reset();
  bufs[2].reset();
  bufs[3].reset();
  std::byte* const before = e.data();
  ASSERT_EQ(e.write(data), Errc::ok);
  EXPECT_EQ(e.data(), before);
  FixedBuf f = std::move(e).finalize();
  EXPECT_FALSE(first_mismatch(4, 0, f.span()));
  for (std::size_t i = 4; i < bufs.size(); ++i) fill(bufs[i], i);
  for (std::size_t i = 4; i < bufs.size(); ++i) EXPECT_TRUE(intact(bufs[i], i));
}

TEST_P(RingAllocatorModes, ExtendRewindsOverTheLastRegionOnceFree) {
  auto a = make(1 << 16, GetParam());
  FixedBuf keep = alloc_ok(a, 100);
  ExtBuf e;
  ASSERT_EQ(a.extend(e), Errc::ok);
  std::byte* const first = e.data();
  ASSERT_EQ(e.write("message one", 11), Errc::ok);
  FixedBuf m = std::move(e).finalize();
  m.reset();
  ASSERT_EQ(a.extend(e), Errc::ok);  // m released: the head moves back over it
  EXPECT_EQ(e.data(), first);
  ASSERT_EQ(e.write("message two", 11), Errc::ok);
  m = std::move(e).finalize();
  ASSERT_EQ(a.extend(e), Errc::ok);  // m still live: the next one goes after it
  EXPECT_EQ(e.data(), m.data() + m.capacity() + kHdr);
  FixedBuf n = std::move(e).finalize();
  FixedBuf after = alloc_ok(a, 10);
  EXPECT_EQ(after.data(), n.data() + n.capacity() + kHdr);
  EXPECT_EQ(std::memcmp(m.data(), "message two", 11), 0);
  fill(keep, 5);
  EXPECT_TRUE(intact(keep, 5));
  EXPECT_EQ(a.stats().live_buffers, 4U);
}

TEST(RingAllocator, ExtBufRelocatesAtTheEndOfAPlainStore) {
  auto a = make(8192, MirrorMode::never);
  FixedBuf lead = alloc_ok(a, 4096);  // [0, 4112)
  FixedBuf mid = alloc_ok(a, 2048);   // [4112, 6176)
  std::byte* const base = lead.data() - kHdr;
  lead.reset();  // free space at the start
  ExtBuf e;
  ASSERT_EQ(a.extend(e), Errc::ok);  // takes [6176, 8192)
  EXPECT_EQ(e.data(), base + 6176 + kHdr);
  std::vector<std::byte> data(3000);
  fill_pattern(21, 0, data);
  ASSERT_EQ(e.write(std::span(data).first(1000)), Errc::ok);
  ASSERT_EQ(e.write(std::span(data).subspan(1000)), Errc::ok);  // meets the end: moves to 0
  EXPECT_EQ(e.data(), base + kHdr);
  EXPECT_EQ(e.size(), 3000U);
  FixedBuf f = std::move(e).finalize();
  EXPECT_FALSE(first_mismatch(21, 0, f.span()));
  fill(mid, 2);
  EXPECT_TRUE(intact(mid, 2));
  EXPECT_FALSE(first_mismatch(21, 0, f.span()));
  // The old tail is free again: after mid is gone, the whole rest of the store is usable.
  mid.reset();
  FixedBuf rest = alloc_ok(a, 8192 - 3008 - 2 * kHdr);
  EXPECT_FALSE(first_mismatch(21, 0, f.span()));
}

TEST(RingAllocator, ExtBufMirroredStraddlesInsteadOfMoving) {
  auto a = make(8192, MirrorMode::required);
  FixedBuf lead = alloc_ok(a, 6000);
  std::byte* const base = lead.data() - kHdr;
  lead.reset();
  FixedBuf mid = alloc_ok(a, 1000);  // [6016, 7040)
  ExtBuf e;
  ASSERT_EQ(a.extend(e), Errc::ok);  // [7040, ...) merged across the end up to mid
  EXPECT_EQ(e.data(), base + 7040 + kHdr);
  std::vector<std::byte> data(5000);
  fill_pattern(8, 0, data);
  ASSERT_EQ(e.write(data), Errc::ok);
  EXPECT_EQ(e.data(), base + 7040 + kHdr);
  std::vector<std::byte> more(2200);
  EXPECT_EQ(e.write(more), Errc::head_in_use);  // mid is in the way
  FixedBuf f = std::move(e).finalize();
  EXPECT_FALSE(first_mismatch(8, 0, f.span()));
}

TEST_P(RingAllocatorModes, AllocatorBusyWhileAnExtBufIsOpen) {
  auto a = make(8192, GetParam());
  ExtBuf e;
  ASSERT_EQ(a.extend(e), Errc::ok);
  FixedBuf b;
  EXPECT_EQ(a.allocate(10, b), Errc::allocator_busy);
  ExtBuf e2;
  EXPECT_EQ(a.extend(e2), Errc::allocator_busy);
  EXPECT_EQ(a.stats().failed_allocator_busy, 2U);
  EXPECT_EQ(a.stats().live_buffers, 1U);
  ExtBuf moved = std::move(e);
  EXPECT_TRUE(a.busy());
  moved.reset();  // abandoned: the region is free and the head moves back
  EXPECT_FALSE(a.busy());
  EXPECT_EQ(a.allocate(10, b), Errc::ok);
  EXPECT_EQ(a.stats().live_buffers, 1U);
}

// The reference crate (ringal) cleared an extendable buffer's in-use bit when it grew, so later
// allocations overwrote the finalized buffer. Grow an ExtBuf by absorbing a region released
// later, fill it exactly (finalize() then has no tail to give back and rewrites nothing), keep
// it, and churn 200+ allocations round the store up to it: its bytes never change, and the
// allocator stops at it (head_in_use, oldest_live) instead of reusing it.
TEST_P(RingAllocatorModes, RegressionGrownBufferSurvivesChurn) {
  constexpr std::size_t kStore = 1 << 20;
  auto a = make(kStore, GetParam());
  FixedBuf x = alloc_ok(a, 1024 - kHdr);           // [0, 1024)
  FixedBuf y = alloc_ok(a, 4096 - kHdr);           // [1024, 5120)
  FixedBuf z = alloc_ok(a, kStore - 5120 - kHdr);  // [5120, N): the head wraps to 0
  std::byte* const base = x.data() - kHdr;
  x.reset();
  ExtBuf e;
  ASSERT_EQ(a.extend(e, 16), Errc::ok);
  ASSERT_EQ(e.capacity(), 1024 - kHdr);
  std::vector<std::byte> chunk(100);
  std::uint64_t off = 0;
  for (; off + chunk.size() <= e.capacity(); off += chunk.size()) {
    fill_pattern(77, off, chunk);
    ASSERT_EQ(e.write(chunk), Errc::ok);
  }
  fill_pattern(77, off, chunk);
  EXPECT_EQ(e.write(chunk), Errc::head_in_use);  // y is in the way
  y.reset();
  for (; off + chunk.size() <= 5120 - kHdr; off += chunk.size()) {
    fill_pattern(77, off, chunk);
    ASSERT_EQ(e.write(chunk), Errc::ok);
  }
  const std::size_t rest = 5120 - kHdr - off;  // fill the grown region exactly
  fill_pattern(77, off, e.writable().first(rest));
  ASSERT_EQ(e.commit(rest), Errc::ok);
  ASSERT_EQ(e.spare(), 0U);
  ASSERT_EQ(e.data(), base + kHdr);  // grown in place
  const FixedBuf kept = std::move(e).finalize();
  ASSERT_EQ(kept.size(), 5120 - kHdr);
  z.reset();

  ringkit_test::Rng rng(3);
  std::vector<FixedBuf> window;
  int made = 0;
  std::size_t bytes = 0;
  for (;;) {
    FixedBuf b;
    const Errc r = a.allocate(rng.between(1, 6000), b);
    if (r == Errc::head_in_use) {
      if (window.empty()) break;  // only the kept buffer is left in the way
      window.erase(window.begin());
      continue;
    }
    ASSERT_EQ(r, Errc::ok);
    ++made;
    bytes += b.capacity() + kHdr;
    std::memset(b.writable().data(), 0xAB, b.spare());  // overwrite all of it
    ASSERT_EQ(b.commit(b.spare()), Errc::ok);
    window.push_back(std::move(b));
    if (window.size() > 5) window.erase(window.begin());
    ASSERT_FALSE(first_mismatch(77, 0, kept.span())) << "after allocation " << made;
  }
  EXPECT_GE(made, 200);
  EXPECT_GE(bytes, kStore - 5120 - 6016);  // went all the way round
  const auto oldest = a.oldest_live();
  ASSERT_TRUE(oldest.has_value());
  EXPECT_EQ(oldest->offset, 0U);
  EXPECT_EQ(oldest->bytes, 5120U);
  ASSERT_FALSE(first_mismatch(77, 0, kept.span()));
}

TEST(RingAllocator, FrozenBufCopiesAcrossThreads) {
  auto a = make(1 << 16, MirrorMode::automatic);
  FixedBuf b = alloc_ok(a, 3000);
  fill(b, 31);
  FrozenBuf f = std::move(b).freeze();
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(f.use_count(), 1U);
  EXPECT_EQ(f.size(), 3008U);
  std::atomic<int> bad{0};
  {
    std::vector<std::thread> readers;
    readers.reserve(4);
    for (int t = 0; t < 4; ++t) {
      readers.emplace_back([copy = f, &bad] {  // one copy per thread
        for (int i = 0; i < 2000; ++i) {
          // copy + destroy on this thread: the copy is what is under test
          FrozenBuf local = copy;  // NOLINT(performance-unnecessary-copy-initialization)
          FrozenBuf other;
          other = local;
          if (first_mismatch(31, 0, other.span().first(64))) bad.fetch_add(1);
        }
        if (first_mismatch(31, 0, copy.span())) bad.fetch_add(1);
      });
    }
    for (auto& t : readers) t.join();
  }
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(f.use_count(), 1U);
  EXPECT_EQ(a.stats().live_buffers, 1U);
  f.reset();
  EXPECT_EQ(a.stats().live_buffers, 0U);
  FixedBuf empty;
  EXPECT_FALSE(std::move(empty).freeze());
}

TEST(RingAllocator, AllocatorDestroyedWhileBuffersLive) {
  FixedBuf fixed;
  FrozenBuf frozen;
  ExtBuf ext;
  {
    auto a = make(1 << 16, MirrorMode::automatic);
    fixed = alloc_ok(a, 1000);
    fill(fixed, 1);
    FixedBuf f = alloc_ok(a, 2000);
    fill(f, 2);
    frozen = std::move(f).freeze();
    FixedBuf gone = alloc_ok(a, 100);  // released before the allocator: not orphaned
    gone.reset();
    ASSERT_EQ(a.extend(ext, 10), Errc::ok);
    ASSERT_EQ(ext.write("abc", 3), Errc::ok);
  }
  // The store lives on; the ExtBuf can no longer grow but finalizes.
  EXPECT_TRUE(intact(fixed, 1));
  EXPECT_FALSE(first_mismatch(2, 0, frozen.span()));
  std::vector<std::byte> big(1 << 17);
  EXPECT_EQ(ext.write(big), Errc::closed);
  FixedBuf from_ext = std::move(ext).finalize();
  EXPECT_EQ(from_ext.size(), 3U);
  FrozenBuf copy = frozen;
  std::thread([f = std::move(fixed)]() mutable { f.reset(); }).join();  // released elsewhere
  frozen.reset();
  EXPECT_FALSE(first_mismatch(2, 0, copy.span()));
  copy.reset();
  from_ext.reset();  // the last one frees the store (ASan: no leak, no use after free)
}

TEST(RingAllocator, AllocatorDestroyedWithOpenExtBufThatIsAbandoned) {
  ExtBuf ext;
  {
    auto a = make(4096, MirrorMode::never);
    ASSERT_EQ(a.extend(ext), Errc::ok);
  }
  ext.reset();  // frees the store
  EXPECT_FALSE(ext);
}

TEST(RingAllocator, MovedAllocatorKeepsWorking) {
  auto a = make(4096, MirrorMode::never);
  FixedBuf x = alloc_ok(a, 100);
  RingAllocator b = std::move(a);
  EXPECT_EQ(a.capacity(), 0U);  // NOLINT(bugprone-use-after-move)
  FixedBuf y = alloc_ok(b, 100);
  EXPECT_EQ(y.data(), x.data() + 112 + kHdr);
  b = RingAllocator();  // destroyed with x and y live
  fill(x, 1);
  EXPECT_TRUE(intact(x, 1));
}

TEST(RingAllocator, ThreadAllocatorOutlivedByItsBuffers) {
  EXPECT_EQ(ringkit::thread_ring_allocator_size(), std::size_t{4} << 20);
  ringkit::set_thread_ring_allocator_size(1 << 16);
  std::vector<FixedBuf> handed;
  std::vector<FrozenBuf> frozen;
  std::size_t cap = 0;
  std::thread worker([&] {
    auto a = ringkit::thread_ring_allocator();
    ASSERT_TRUE(a.has_value());
    auto again = ringkit::thread_ring_allocator();
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*a, *again);
    cap = (*a)->capacity();
    for (int i = 0; i < 10; ++i) {
      FixedBuf b;
      ASSERT_EQ((*a)->allocate(1000, b), Errc::ok);
      fill(b, 100 + i);
      if (i % 2 == 0) {
        handed.push_back(std::move(b));
      } else {
        frozen.push_back(std::move(b).freeze());
      }
    }
  });  // the thread exits: its allocator is destroyed while the buffers live here
  worker.join();
  ringkit::set_thread_ring_allocator_size(std::size_t{4} << 20);
  EXPECT_EQ(cap, std::size_t{1} << 16);
  for (std::size_t i = 0; i < handed.size(); ++i) EXPECT_TRUE(intact(handed[i], 100 + 2 * i));
  for (std::size_t i = 0; i < frozen.size(); ++i) {
    EXPECT_FALSE(first_mismatch(100 + 2 * i + 1, 0, frozen[i].span()));
  }
  handed.clear();
  std::thread([f = std::move(frozen)]() mutable { f.clear(); }).join();  // last release elsewhere
  auto mine = ringkit::thread_ring_allocator();
  ASSERT_TRUE(mine.has_value());
  FixedBuf b;
  EXPECT_EQ((*mine)->allocate(10, b), Errc::ok);
}

TEST(RingAllocator, StatsCountBytesBuffersAndFailures) {
  auto a = make(4096, MirrorMode::never);
  FixedBuf x = alloc_ok(a, 100);
  FixedBuf y = alloc_ok(a, 200);
  auto st = a.stats();
  EXPECT_EQ(st.capacity, 4096U);
  EXPECT_EQ(st.allocations, 2U);
  EXPECT_EQ(st.live_buffers, 2U);
  EXPECT_EQ(st.bytes_in_use, 128U + 224U);
  ASSERT_TRUE(st.oldest_live.has_value());
  EXPECT_EQ(st.oldest_live->offset, 0U);
  EXPECT_EQ(st.oldest_live->bytes, 128U);
  x.reset();
  y.reset();
  st = a.stats();
  EXPECT_EQ(st.live_buffers, 0U);
  EXPECT_EQ(st.bytes_in_use, 0U);
  EXPECT_FALSE(st.oldest_live.has_value());
  EXPECT_FALSE(a.oldest_live().has_value());
}

}  // namespace
