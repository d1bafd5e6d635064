// Tests of ringkit/segments.hpp: the two-segment view (iteration, indexing, iovecs,
// segments_of).
#include <ringkit/segments.hpp>  // first: the header is self-contained

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

using ringkit::ConstSegments;
using ringkit::MutableSegments;
using ringkit_test::same_segments;

// ---------------------------------------------------------------------------------------------
// Segments

TEST(Segments, DefaultIsEmpty) {
  static constexpr ConstSegments kEmpty;
  static_assert(kEmpty.empty());
  static_assert(kEmpty.count() == 0 && kEmpty.size() == 0 && kEmpty.bytes() == 0);
  static_assert(kEmpty.begin() == kEmpty.end());
  std::array<iovec, 2> iov{};
  EXPECT_EQ(kEmpty.to_iovecs(iov), 0U);
  EXPECT_TRUE(kEmpty[0].empty());
  EXPECT_TRUE(kEmpty[1].empty());
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

}  // namespace
