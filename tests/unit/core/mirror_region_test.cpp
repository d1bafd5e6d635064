// Unit tests of MirrorRegion (ringkit/mirror.hpp): the alias invariant data()[i] ==
// data()[i + size()] in both directions and across the seam, argument errors that name the call,
// huge pages (works or a clear error), MAP_POPULATE, move semantics and unmapping, and no
// descriptor leak (the memfd is closed once mapped).
#include <ringkit/mirror.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/result.hpp>

#include "support/pattern.hpp"

namespace {

using ringkit::Errc;
using ringkit::MirrorOptions;
using ringkit::MirrorRegion;

/// Entries of /proc/self/fd (the directory iterator's own descriptor is counted every time).
std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// True when [p, p + len) is mapped (mincore fails with ENOMEM on unmapped pages).
bool is_mapped(const void* p, std::size_t len) {
  const std::size_t page = MirrorRegion::page_size();
  std::vector<unsigned char> vec((len + page - 1) / page);
  return ::mincore(const_cast<void*>(p), len, vec.data()) == 0;  // NOLINT(*-const-cast)
}

/// Number of resident pages in [p, p + len).
std::size_t resident_pages(const void* p, std::size_t len) {
  const std::size_t page = MirrorRegion::page_size();
  std::vector<unsigned char> vec((len + page - 1) / page);
  if (::mincore(const_cast<void*>(p), len, vec.data()) != 0) return 0;  // NOLINT(*-const-cast)
  std::size_t n = 0;
  for (unsigned char v : vec) n += (v & 1U);
  return n;
}

/// A byte that differs between neighbouring offsets and between seeds.
std::byte pattern(std::uint64_t seed, std::size_t i) { return ringkit_test::pattern_byte(seed, i); }

/// Writes through one view and checks through the other, both ways; reports the first mismatch.
::testing::AssertionResult check_alias(const MirrorRegion& r, std::uint64_t seed) {
  const std::size_t n = r.size();
  std::byte* d = r.data();
  for (std::size_t i = 0; i < n; ++i) d[i] = pattern(seed, i);
  for (std::size_t i = 0; i < n; ++i) {
    if (d[i + n] != pattern(seed, i)) {
      return ::testing::AssertionFailure() << "low->high: byte " << i << " of " << n;
    }
  }
  for (std::size_t i = 0; i < n; ++i) d[i + n] = pattern(seed + 1, i);
  for (std::size_t i = 0; i < n; ++i) {
    if (d[i] != pattern(seed + 1, i)) {
      return ::testing::AssertionFailure() << "high->low: byte " << i << " of " << n;
    }
  }
  // A block written across the seam reads back whole and lands at both ends of view 1.
  const std::size_t block = n < 64 ? n : 64;
  std::byte src[64];
  for (std::size_t i = 0; i < block; ++i) src[i] = pattern(seed + 2, i);
  std::memcpy(d + n - block / 2, src, block);
  if (std::memcmp(d + n - block / 2, src, block) != 0) {
    return ::testing::AssertionFailure() << "seam block did not read back";
  }
  if (std::memcmp(d, src + block / 2, block - block / 2) != 0) {
    return ::testing::AssertionFailure() << "seam block's second half is not at data()[0]";
  }
  return ::testing::AssertionSuccess();
}

TEST(MirrorRegion, DefaultConstructedIsEmpty) {
  const MirrorRegion r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.size(), 0U);
  EXPECT_EQ(r.data(), nullptr);
  EXPECT_TRUE(r.mapping().empty());
}

TEST(MirrorRegion, PageSizes) {
  EXPECT_EQ(MirrorRegion::page_size(), static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  const std::size_t huge = MirrorRegion::huge_page_size();
  if (huge != 0) {
    EXPECT_EQ(huge % MirrorRegion::page_size(), 0U) << huge;
    EXPECT_EQ(huge & (huge - 1), 0U) << "huge page size " << huge << " is not a power of two";
  }
}

TEST(MirrorRegion, AliasInvariantForSeveralSizes) {
  const std::size_t page = MirrorRegion::page_size();
  for (const std::size_t bytes :
       {page, 2 * page, 3 * page, 16 * page, std::size_t{64} << 10, std::size_t{1} << 20}) {
    SCOPED_TRACE(bytes);
    auto r = MirrorRegion::create(bytes);
    ASSERT_TRUE(r) << r.message();
    EXPECT_FALSE(r->empty());
    EXPECT_EQ(r->size(), bytes);
    EXPECT_EQ(r->mapping().data(), r->data());
    EXPECT_EQ(r->mapping().size(), 2 * bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(r->data()) % page, 0U);
    EXPECT_TRUE(check_alias(*r, bytes));
  }
}

TEST(MirrorRegion, FreshRegionIsZeroed) {
  const std::size_t bytes = 4 * MirrorRegion::page_size();
  auto r = MirrorRegion::create(bytes);
  ASSERT_TRUE(r) << r.message();
  for (std::size_t i = 0; i < 2 * bytes; ++i) {
    ASSERT_EQ(r->data()[i], std::byte{0}) << i;
  }
}

TEST(MirrorRegion, RegionsAreIndependent) {
  const std::size_t bytes = 2 * MirrorRegion::page_size();
  auto a = MirrorRegion::create(bytes);
  auto b = MirrorRegion::create(bytes);
  ASSERT_TRUE(a && b) << a.message() << " / " << b.message();
  std::memset(a->data(), 0xAA, bytes);
  std::memset(b->data(), 0x55, bytes);
  for (std::size_t i = 0; i < 2 * bytes; ++i) {
    ASSERT_EQ(a->data()[i], std::byte{0xAA}) << i;
    ASSERT_EQ(b->data()[i], std::byte{0x55}) << i;
  }
}

TEST(MirrorRegion, ZeroBytesIsInvalidArgument) {
  auto r = MirrorRegion::create(0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::invalid_argument);
  EXPECT_EQ(r.error().category(), ringkit::error_category());
  EXPECT_NE(std::string(r.context()).find("MirrorRegion::create"), std::string::npos)
      << r.context();
  EXPECT_NE(r.message().find("MirrorRegion::create"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find(ringkit::describe(Errc::invalid_argument)), std::string::npos)
      << r.message();
}

TEST(MirrorRegion, AbsurdSizeIsInvalidArgument) {
  auto r = MirrorRegion::create(std::size_t{1} << 62);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::invalid_argument);
  EXPECT_FALSE(r.message().empty());
}

TEST(MirrorRegion, NotAPageMultipleIsAClearError) {
  const std::size_t page = MirrorRegion::page_size();
  for (const std::size_t bytes : {std::size_t{1}, page / 2, page + 1, 3 * page - 8}) {
    SCOPED_TRACE(bytes);
    auto r = MirrorRegion::create(bytes);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Errc::not_page_multiple);
    EXPECT_NE(r.message().find("MirrorRegion::create"), std::string::npos) << r.message();
    EXPECT_NE(r.message().find(ringkit::describe(Errc::not_page_multiple)), std::string::npos)
        << r.message();
  }
}

TEST(MirrorRegion, ValueThrowsSystemErrorNamingTheCall) {
  auto r = MirrorRegion::create(MirrorRegion::page_size() + 1);
  ASSERT_FALSE(r);
  try {
    (void)r.value();
    FAIL() << "value() of an error did not throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), Errc::not_page_multiple);
    EXPECT_NE(std::string(e.what()).find("MirrorRegion::create"), std::string::npos) << e.what();
  }
}

/// Huge pages either work (and alias like small pages) or fail with a clear, named error.
TEST(MirrorRegion, HugePagesWorkOrFailClearly) {
  const std::size_t huge = MirrorRegion::huge_page_size();
  const std::size_t bytes = huge != 0 ? huge : std::size_t{2} << 20;
  const std::size_t fds_before = open_fd_count();
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto r = MirrorRegion::create(bytes, MirrorOptions{.huge_pages = true});
    if (r) {
      EXPECT_EQ(r->size(), bytes);
      EXPECT_TRUE(check_alias(*r, 7));
    } else {
      EXPECT_NE(r.error(), std::error_code{});
      EXPECT_STRNE(r.context(), "") << "the error does not name the failing call";
      EXPECT_GT(r.message().size(), std::string(r.context()).size() + 2) << r.message();
      if (huge == 0) {
        EXPECT_EQ(r.error(), Errc::unsupported) << r.message();
      }
    }
  }
  EXPECT_EQ(open_fd_count(), fds_before) << "failed huge-page creations leaked descriptors";
}

TEST(MirrorRegion, HugePagesNeedAHugePageMultiple) {
  const std::size_t huge = MirrorRegion::huge_page_size();
  auto r = MirrorRegion::create(MirrorRegion::page_size(), MirrorOptions{.huge_pages = true});
  ASSERT_FALSE(r) << "a one-page region with huge pages cannot exist";
  if (huge == 0) {
    EXPECT_EQ(r.error(), Errc::unsupported) << r.message();
  } else {
    EXPECT_EQ(r.error(), Errc::not_page_multiple) << r.message();
  }
  EXPECT_NE(r.message().find("MirrorRegion::create"), std::string::npos) << r.message();
}

TEST(MirrorRegion, PopulateFaultsThePagesIn) {
  const std::size_t pages = 16;
  const std::size_t bytes = pages * MirrorRegion::page_size();
  auto r = MirrorRegion::create(bytes, MirrorOptions{.populate = true});
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(resident_pages(r->data(), bytes), pages);
  EXPECT_EQ(resident_pages(r->data() + bytes, bytes), pages);
  EXPECT_TRUE(check_alias(*r, 3));
}

TEST(MirrorRegion, MoveConstructionTransfersTheMapping) {
  const std::size_t bytes = 2 * MirrorRegion::page_size();
  auto r = MirrorRegion::create(bytes);
  ASSERT_TRUE(r) << r.message();
  std::byte* const base = r->data();
  base[5] = std::byte{42};

  MirrorRegion moved(std::move(*r));
  EXPECT_EQ(moved.data(), base);
  EXPECT_EQ(moved.size(), bytes);
  EXPECT_EQ(moved.data()[bytes + 5], std::byte{42});
  EXPECT_TRUE(r->empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(r->data(), nullptr);
  EXPECT_EQ(r->size(), 0U);
  r->reset();  // no-op on the moved-from region
  EXPECT_TRUE(is_mapped(base, 2 * bytes));
  EXPECT_TRUE(check_alias(moved, 11));
}

TEST(MirrorRegion, MoveAssignmentUnmapsTheOldMapping) {
  const std::size_t bytes = 2 * MirrorRegion::page_size();
  auto a = MirrorRegion::create(bytes);
  auto b = MirrorRegion::create(2 * bytes);
  ASSERT_TRUE(a && b) << a.message() << " / " << b.message();
  std::byte* const old_a = a->data();
  std::byte* const old_b = b->data();

  *a = std::move(*b);
  EXPECT_EQ(a->data(), old_b);
  EXPECT_EQ(a->size(), 2 * bytes);
  EXPECT_TRUE(b->empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(is_mapped(old_a, 2 * bytes)) << "the replaced mapping is still mapped";
  EXPECT_TRUE(check_alias(*a, 5));

  // Self-assignment through a reference keeps the mapping.
  MirrorRegion& same = *a;
  *a = std::move(same);
  EXPECT_EQ(a->data(), old_b);
  EXPECT_EQ(a->size(), 2 * bytes);
  EXPECT_TRUE(is_mapped(old_b, 4 * bytes));
}

TEST(MirrorRegion, ResetAndDestructionUnmap) {
  const std::size_t bytes = 4 * MirrorRegion::page_size();
  std::byte* base = nullptr;
  {
    auto r = MirrorRegion::create(bytes);
    ASSERT_TRUE(r) << r.message();
    base = r->data();
    EXPECT_TRUE(is_mapped(base, 2 * bytes));
  }
  EXPECT_FALSE(is_mapped(base, 2 * bytes)) << "destructor did not unmap";

  auto r = MirrorRegion::create(bytes);
  ASSERT_TRUE(r) << r.message();
  base = r->data();
  r->reset();
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(r->data(), nullptr);
  EXPECT_FALSE(is_mapped(base, 2 * bytes)) << "reset() did not unmap";
  r->reset();  // idempotent
}

TEST(MirrorRegion, NoDescriptorLeak) {
  const std::size_t page = MirrorRegion::page_size();
  const std::size_t before = open_fd_count();
  {
    std::vector<MirrorRegion> regions;
    regions.reserve(100);
    for (std::size_t i = 0; i < 100; ++i) {
      auto r = MirrorRegion::create((1 + i % 8) * page);
      ASSERT_TRUE(r) << "region " << i << ": " << r.message();
      r->data()[i] = std::byte{1};
      regions.push_back(std::move(*r));
    }
    // The memfd is closed once mapped, so live regions hold no descriptors either.
    EXPECT_EQ(open_fd_count(), before) << "live regions hold descriptors";
    for (std::size_t i = 0; i < regions.size(); ++i) {
      ASSERT_EQ(regions[i].data()[regions[i].size() + i], std::byte{1}) << i;
    }
  }
  EXPECT_EQ(open_fd_count(), before);
  // Failing creations leak nothing either.
  for (int i = 0; i < 100; ++i) {
    auto r = MirrorRegion::create(page + 1);
    ASSERT_FALSE(r);
  }
  EXPECT_EQ(open_fd_count(), before);
}

}  // namespace
