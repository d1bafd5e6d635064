// Unit tests of ChunkedList<T, ChunkElems> (ringkit/chunked_list.hpp): push_back/append,
// operator[] and checked at(), iteration and std::ranges algorithms, chunk(), clear(), move,
// appends across chunk boundaries, and stable addresses while the list grows.
#include <ringkit/chunked_list.hpp>  // first: the header is self-contained

#include "support/pattern.hpp"

// The rest, grouped.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <ranges>
#include <span>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace {

using ringkit::ChunkedList;

static_assert(std::ranges::random_access_range<ChunkedList<int>>);
static_assert(std::ranges::random_access_range<const ChunkedList<int>>);
static_assert(std::ranges::sized_range<ChunkedList<int>> ||
              std::sized_sentinel_for<ChunkedList<int>::iterator, ChunkedList<int>::iterator>);
static_assert(std::random_access_iterator<ChunkedList<int>::iterator>);
static_assert(std::random_access_iterator<ChunkedList<int>::const_iterator>);
static_assert(!std::is_copy_constructible_v<ChunkedList<int>>);
static_assert(std::is_nothrow_move_constructible_v<ChunkedList<int>>);

// Default chunk sizes: one page of elements, at least 64.
static_assert(ChunkedList<std::uint64_t>::kChunkElems == 512);
static_assert(ChunkedList<char>::kChunkElems == 4096);
struct Big {
  std::array<std::byte, 1000> b;
};
static_assert(ChunkedList<Big>::kChunkElems == 64);

/// A value that identifies its index (and is not trivially equal to it).
std::uint64_t val(std::size_t i) { return ringkit_test::mix64(i + 12345); }

TEST(ChunkedList, DefaultConstructedIsEmpty) {
  ChunkedList<std::uint64_t, 64> l;
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.size(), 0U);
  EXPECT_EQ(l.capacity(), 0U);
  EXPECT_EQ(l.chunk_count(), 0U);
  EXPECT_EQ(l.at(0), nullptr);
  EXPECT_EQ(l.begin(), l.end());
  EXPECT_TRUE(l.chunk(0).empty());
  const auto& cl = l;
  EXPECT_EQ(cl.at(0), nullptr);
  EXPECT_EQ(cl.begin(), cl.end());
}

TEST(ChunkedList, PushBackIndexAndCheckedAt) {
  ChunkedList<std::uint64_t, 64> l;
  for (std::size_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(l.push_back(val(i)));
    ASSERT_EQ(l.size(), i + 1);
  }
  EXPECT_EQ(l.chunk_count(), (1000 + 63) / 64);
  EXPECT_EQ(l.capacity(), l.chunk_count() * 64);
  for (std::size_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(l[i], val(i));
    ASSERT_NE(l.at(i), nullptr);
    ASSERT_EQ(*l.at(i), val(i));
    ASSERT_EQ(l.at(i), &l[i]);
  }
  EXPECT_EQ(l.at(1000), nullptr) << "at() past the end";
  EXPECT_EQ(l.at(l.capacity()), nullptr);
  EXPECT_EQ(l.at(~std::size_t{0}), nullptr);
  const auto& cl = l;
  EXPECT_EQ(cl.at(999), &l[999]);
  EXPECT_EQ(cl.at(1000), nullptr);
  EXPECT_EQ(cl[5], val(5));

  // Writes through operator[], at() and iterators stick.
  l[3] = 7;
  *l.at(4) = 8;
  *(l.begin() + 5) = 9;
  EXPECT_EQ(cl[3], 7U);
  EXPECT_EQ(cl[4], 8U);
  EXPECT_EQ(cl[5], 9U);
}

TEST(ChunkedList, IterationAndRangesAlgorithms) {
  ChunkedList<std::uint32_t, 64> l;
  std::vector<std::uint32_t> ref(1000);
  std::iota(ref.begin(), ref.end(), 0U);
  std::ranges::reverse(ref);
  ASSERT_EQ(l.append(ref), ref.size());

  std::size_t i = 0;
  for (const std::uint32_t x : l) ASSERT_EQ(x, ref[i++]);
  EXPECT_EQ(i, ref.size());
  EXPECT_TRUE(std::ranges::equal(l, ref));
  EXPECT_EQ(std::ranges::distance(l), 1000);
  EXPECT_EQ(l.end() - l.begin(), 1000);
  // Reverse iteration (std::views are unusable with clang 14 + libstdc++ 12, the TSan toolchain).
  EXPECT_TRUE(std::equal(std::make_reverse_iterator(l.end()), std::make_reverse_iterator(l.begin()),
                         ref.rbegin(), ref.rend()));
  EXPECT_EQ(*std::ranges::find(l, 500U), 500U);
  EXPECT_EQ(std::ranges::find(l, 500U) - l.begin(), 499);
  EXPECT_EQ(std::ranges::count_if(l, [](std::uint32_t x) { return x % 2 == 0; }), 500);
  EXPECT_EQ(*std::ranges::max_element(l), 999U);

  // Mutating algorithms work across chunks too.
  std::ranges::sort(l);
  EXPECT_TRUE(std::ranges::is_sorted(l));
  std::vector<std::uint32_t> sorted(1000);
  std::iota(sorted.begin(), sorted.end(), 0U);
  EXPECT_TRUE(std::ranges::equal(l, sorted));
  EXPECT_TRUE(std::ranges::binary_search(l, 777U));
  std::ranges::fill(l.begin() + 990, l.end(), 1U);
  EXPECT_EQ(l[989], 989U);
  EXPECT_EQ(l[990], 1U);
  EXPECT_EQ(l[999], 1U);

  // Iterator arithmetic.
  auto it = l.begin();
  EXPECT_EQ(it[130], 130U);
  it += 64;
  EXPECT_EQ(*it, 64U);
  EXPECT_EQ(*(it - 1), 63U);
  EXPECT_EQ(*(2 + it), 66U);
  --it;
  EXPECT_EQ(*it, 63U);
  EXPECT_LT(l.begin(), it);
  EXPECT_GT(l.end(), it);

  const auto& cl = l;
  EXPECT_TRUE(std::ranges::equal(cl, l));
  std::vector<std::uint32_t> copy(cl.begin(), cl.end());
  EXPECT_EQ(copy.size(), 1000U);
}

TEST(ChunkedList, Chunks) {
  ChunkedList<std::uint64_t, 64> l;
  for (std::size_t i = 0; i < 150; ++i) ASSERT_TRUE(l.push_back(val(i)));
  ASSERT_EQ(l.chunk_count(), 3U);
  EXPECT_EQ(l.chunk(0).size(), 64U);
  EXPECT_EQ(l.chunk(1).size(), 64U);
  EXPECT_EQ(l.chunk(2).size(), 22U);
  EXPECT_TRUE(l.chunk(3).empty());
  std::size_t i = 0;
  for (std::size_t c = 0; c < l.chunk_count(); ++c) {
    const auto s = l.chunk(c);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.data()) % 4096, 0U) << "chunk " << c;
    EXPECT_EQ(s.data(), &l[c * 64]);
    for (const std::uint64_t x : s) ASSERT_EQ(x, val(i++));
  }
  EXPECT_EQ(i, 150U);
}

TEST(ChunkedList, AppendAcrossChunkBoundaries) {
  ChunkedList<std::uint64_t, 64> l;
  std::vector<std::uint64_t> src(1000);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = val(i);
  EXPECT_EQ(l.append(std::span<const std::uint64_t>()), 0U);
  // Sizes chosen so appends start and end at every offset within a chunk.
  std::size_t done = 0;
  for (std::size_t n : {1U, 62U, 1U, 2U, 64U, 65U, 127U, 128U, 3U, 200U, 347U}) {
    n = std::min(n, src.size() - done);
    ASSERT_EQ(l.append(std::span(src).subspan(done, n)), n);
    done += n;
    ASSERT_EQ(l.size(), done);
  }
  ASSERT_EQ(done, src.size());
  EXPECT_TRUE(std::ranges::equal(l, src));
  EXPECT_EQ(l.chunk_count(), (src.size() + 63) / 64);
}

TEST(ChunkedList, AddressesStayStableWhileGrowing) {
  ChunkedList<std::uint64_t> l;
  constexpr std::size_t kEarly = 1000;
  for (std::size_t i = 0; i < kEarly; ++i) ASSERT_TRUE(l.push_back(val(i)));
  std::vector<const std::uint64_t*> ptrs;
  for (std::size_t i = 0; i < kEarly; ++i) ptrs.push_back(&l[i]);
  const std::span<std::uint64_t> first_chunk = l.chunk(0);

  // 100k more, half one by one and half in batches.
  std::vector<std::uint64_t> batch(1234);
  std::size_t n = kEarly;
  while (n < kEarly + 50'000) ASSERT_TRUE(l.push_back(val(n++)));
  while (n < kEarly + 100'000) {
    const std::size_t k = std::min(batch.size(), kEarly + 100'000 - n);
    for (std::size_t i = 0; i < k; ++i) batch[i] = val(n + i);
    ASSERT_EQ(l.append(std::span(batch).first(k)), k);
    n += k;
  }
  ASSERT_EQ(l.size(), kEarly + 100'000);

  for (std::size_t i = 0; i < kEarly; ++i) {
    ASSERT_EQ(ptrs[i], &l[i]) << "element " << i << " moved";
    ASSERT_EQ(*ptrs[i], val(i)) << "element " << i << " changed";
  }
  EXPECT_EQ(first_chunk.data(), l.chunk(0).data());
  for (std::size_t i = 0; i < l.size(); ++i) ASSERT_EQ(l[i], val(i)) << i;
}

TEST(ChunkedList, ClearFreesAndAllowsReuse) {
  ChunkedList<std::uint64_t, 64> l;
  for (std::size_t i = 0; i < 300; ++i) ASSERT_TRUE(l.push_back(val(i)));
  l.clear();
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.size(), 0U);
  EXPECT_EQ(l.chunk_count(), 0U);
  EXPECT_EQ(l.capacity(), 0U);
  EXPECT_EQ(l.at(0), nullptr);
  EXPECT_EQ(l.begin(), l.end());
  for (std::size_t i = 0; i < 70; ++i) ASSERT_TRUE(l.push_back(val(i + 1)));
  EXPECT_EQ(l.chunk_count(), 2U);
  for (std::size_t i = 0; i < 70; ++i) ASSERT_EQ(l[i], val(i + 1));
}

TEST(ChunkedList, MoveTransfersTheChunks) {
  ChunkedList<std::uint64_t, 64> a;
  for (std::size_t i = 0; i < 100; ++i) ASSERT_TRUE(a.push_back(val(i)));
  const std::uint64_t* p = &a[70];
  ChunkedList<std::uint64_t, 64> b(std::move(a));
  EXPECT_EQ(b.size(), 100U);
  EXPECT_EQ(&b[70], p) << "moving must not copy the elements";
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(a.at(0), nullptr);

  ChunkedList<std::uint64_t, 64> c;
  ASSERT_TRUE(c.push_back(1));
  c = std::move(b);
  EXPECT_EQ(c.size(), 100U);
  EXPECT_EQ(&c[70], p);
  EXPECT_EQ(c[99], val(99));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  // The moved-from list is usable again.
  ASSERT_TRUE(b.push_back(3));
  EXPECT_EQ(b[0], 3U);
}

TEST(ChunkedList, LargeElementsAndOddChunkBytes) {
  // 1000-byte elements: a chunk of 64 is 64000 bytes, rounded up to whole pages.
  ChunkedList<Big> l;
  for (std::size_t i = 0; i < 200; ++i) {
    Big b{};
    b.b.fill(static_cast<std::byte>(i));
    b.b[999] = static_cast<std::byte>(i * 7);
    ASSERT_TRUE(l.push_back(b));
  }
  EXPECT_EQ(l.chunk_count(), 4U);
  for (std::size_t i = 0; i < 200; ++i) {
    ASSERT_EQ(l[i].b[0], static_cast<std::byte>(i));
    ASSERT_EQ(l[i].b[500], static_cast<std::byte>(i));
    ASSERT_EQ(l[i].b[999], static_cast<std::byte>(i * 7));
  }
  // Three-byte elements, chunk of 4 (12 bytes per chunk, padded to a page).
  struct Tiny {
    std::uint8_t x, y, z;
    bool operator==(const Tiny&) const = default;
  };
  ChunkedList<Tiny, 4> t;
  std::vector<Tiny> src;
  for (std::size_t i = 0; i < 37; ++i) {
    src.push_back(Tiny{static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i * 3),
                       static_cast<std::uint8_t>(i * 5)});
  }
  ASSERT_EQ(t.append(src), src.size());
  EXPECT_EQ(t.chunk_count(), 10U);
  EXPECT_TRUE(std::ranges::equal(t, src));
}

}  // namespace
