// Tests of the relay's per-worker ring pool (net/src/ring_pool.hpp, private to the library):
// a warm pool makes no ring whatever its size, rings come back empty at offset 0, and trim()
// gives back pages, then mappings, only of rings a whole period unused.
#include "../../../net/src/ring_pool.hpp"

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

namespace {

using ringkit::MirrorByteRing;
using ringkit::net::detail::RingPool;

constexpr std::size_t kRing = 4096;

std::vector<std::unique_ptr<MirrorByteRing>> take_n(RingPool& pool, std::size_t n) {
  std::vector<std::unique_ptr<MirrorByteRing>> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto r = pool.take();
    if (!r) {
      ADD_FAILURE() << "take " << i << ": " << r.message();
      break;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

void give_all(RingPool& pool, std::vector<std::unique_ptr<MirrorByteRing>>& rings) {
  for (auto& r : rings) pool.give(std::move(r));
  rings.clear();
}

TEST(RingPoolTest, AWarmPoolMakesNoRingsAboveItsKeepBound) {
  // More rings in use at once than kKeep: every one given back is kept, so the next peak of the
  // same size makes none (the pool used to unmap all beyond kKeep and map them again).
#ifdef RINGKIT_TEST_SANITIZED
  constexpr std::size_t kPeak = RingPool::kKeep + 200;
#else
  constexpr std::size_t kPeak = RingPool::kKeep + 1000;
#endif
  RingPool pool(kRing, true);
  auto rings = take_n(pool, kPeak);
  ASSERT_EQ(rings.size(), kPeak);
  EXPECT_EQ(pool.made(), kPeak);
  for (int round = 0; round < 3; ++round) {
    give_all(pool, rings);
    EXPECT_EQ(pool.hot(), kPeak);
    pool.trim();  // within the period every ring was in use: nothing is released
    EXPECT_EQ(pool.hot() + pool.cold(), kPeak);
    rings = take_n(pool, kPeak);
    EXPECT_EQ(pool.made(), kPeak) << "round " << round;
  }
  give_all(pool, rings);
}

TEST(RingPoolTest, RingsComeBackEmptyAtOffsetZero) {
  RingPool pool(kRing, true);
  auto r = pool.take();
  ASSERT_TRUE(r);
  std::unique_ptr<MirrorByteRing> ring = std::move(*r);
  const std::array<std::byte, 100> data{};
  ASSERT_EQ(ring->writer.write(data), data.size());
  ASSERT_EQ(ring->reader.consume(40), ringkit::Errc::ok);
  // 60 bytes left unread (a connection closed on an error): they never reach the next user.
  pool.give(std::move(ring));
  auto again = pool.take();
  ASSERT_TRUE(again);
  EXPECT_EQ(pool.made(), 1U);
  EXPECT_EQ((*again)->reader.size_hint(), 0U);
  EXPECT_EQ((*again)->writer.writable().data(), (*again)->reader.mapping().data());
  EXPECT_EQ((*again)->writer.writable().size(), kRing);
}

TEST(RingPoolTest, TrimReleasesPagesThenMappingsOfRingsAPeriodUnused) {
  constexpr std::size_t kPeak = RingPool::kKeep + 300;
  RingPool pool(kRing, true);
  auto rings = take_n(pool, kPeak);
  ASSERT_EQ(rings.size(), kPeak);
  give_all(pool, rings);
  pool.trim();  // the period in which they were taken: all stay hot
  EXPECT_EQ(pool.hot(), kPeak);
  EXPECT_EQ(pool.cold(), 0U);
  pool.trim();  // a period unused: all but the reserve give their pages back
  EXPECT_EQ(pool.hot(), RingPool::kReserve);
  EXPECT_EQ(pool.cold(), kPeak - RingPool::kReserve);
  // Using some cold rings during a period protects that many from the unmapping.
  rings = take_n(pool, RingPool::kReserve + 50);
  give_all(pool, rings);
  pool.trim();  // only cold rings unused for the whole period and beyond kKeep are unmapped
  EXPECT_EQ(pool.hot() + pool.cold(), RingPool::kKeep);
  pool.trim();
  EXPECT_EQ(pool.hot() + pool.cold(), RingPool::kKeep);  // kKeep stay mapped
  rings = take_n(pool, RingPool::kKeep);
  EXPECT_EQ(pool.made(), kPeak);  // taken from the pool, none made
  give_all(pool, rings);
}

}  // namespace
