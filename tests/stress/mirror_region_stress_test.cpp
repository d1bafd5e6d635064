// Stress test of MirrorRegion creation (ringkit/mirror.hpp): four threads create at least 10,000
// regions in total, each of a random size (1..32 pages, some with MAP_POPULATE); every region is
// written through one view and checked through the other (both ways and across the seam), some
// are handed to another thread before being checked and destroyed. Afterwards no descriptor and
// no memfd mapping may be left. memfds have no shared names, so concurrent creators never collide.
// Bounded by counts; no timing assertions.
#include <ringkit/mirror.hpp>  // first: the header is self-contained

// The rest, grouped.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/result.hpp>

#include "support/pattern.hpp"

namespace {

using ringkit::MirrorOptions;
using ringkit::MirrorRegion;

constexpr std::size_t kThreads = 4;
constexpr std::size_t kPerThread = 2'500;  // 10,000 in total, sanitized builds included

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// Mappings of ringkit's memfds still in the address space.
std::size_t memfd_mappings() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(maps, line)) n += line.find("ringkit-mirror") != std::string::npos ? 1 : 0;
  return n;
}

using ringkit_test::mix64;

/// A region plus the seed of the words written into it.
struct Stamped {
  MirrorRegion region;
  std::uint64_t seed = 0;
};

/// Writes one word per 256 bytes through view 1 (offsets vary with the seed).
void stamp(const MirrorRegion& r, std::uint64_t seed) {
  const std::size_t n = r.size();
  for (std::size_t off = (seed % 31) * 8; off + 8 <= n; off += 256) {
    const std::uint64_t w = mix64(seed ^ off);
    std::memcpy(r.data() + off, &w, 8);
  }
}

/// Checks the stamp through view 2, then writes through view 2 and checks through view 1, and
/// finally writes a block across the seam. Returns "" or the first problem.
std::string verify(const MirrorRegion& r, std::uint64_t seed) {
  const std::size_t n = r.size();
  std::byte* d = r.data();
  for (std::size_t off = (seed % 31) * 8; off + 8 <= n; off += 256) {
    std::uint64_t got = 0;
    std::memcpy(&got, d + n + off, 8);
    if (got != mix64(seed ^ off)) {
      std::ostringstream os;
      os << "view 2 at offset " << off << " of " << n << " differs from view 1";
      return os.str();
    }
  }
  for (std::size_t off = 128; off + 8 <= n; off += 1024) {
    const std::uint64_t w = mix64(~seed ^ off);
    std::memcpy(d + n + off, &w, 8);
    std::uint64_t got = 0;
    std::memcpy(&got, d + off, 8);
    if (got != w) return "view 1 does not see a write through view 2 at " + std::to_string(off);
  }
  std::uint64_t seam[4] = {mix64(seed), mix64(seed + 1), mix64(seed + 2), mix64(seed + 3)};
  std::memcpy(d + n - 16, seam, sizeof seam);
  if (std::memcmp(d, seam + 2, 16) != 0) return "the seam block is not continued at data()[0]";
  return {};
}

TEST(MirrorRegionStress, ConcurrentCreationFromFourThreads) {
  const std::size_t fds_before = open_fd_count();
  const std::size_t maps_before = memfd_mappings();
  const std::size_t page = MirrorRegion::page_size();

  std::mutex handoff_mutex;
  std::vector<Stamped> handoff;  // regions created by one thread, checked by another
  std::mutex error_mutex;
  std::string first_error;
  std::atomic<std::size_t> created{0};
  std::atomic<bool> go{false};

  auto report = [&](std::string e) {
    const std::lock_guard<std::mutex> lock(error_mutex);
    if (first_error.empty()) first_error = std::move(e);
  };

  auto worker = [&](std::size_t id) {
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    std::uint64_t rng = mix64(id + 1);
    std::vector<Stamped> held;  // a few live at once, destroyed out of order
    for (std::size_t i = 0; i < kPerThread; ++i) {
      rng = mix64(rng);
      const std::size_t pages = 1 + rng % 32;
      const MirrorOptions opt{.populate = (rng >> 8) % 5 == 0};
      auto r = MirrorRegion::create(pages * page, opt);
      if (!r) {
        report("thread " + std::to_string(id) + " creation " + std::to_string(i) + ": " +
               r.message());
        return;
      }
      created.fetch_add(1, std::memory_order_relaxed);
      if (r->size() != pages * page) {
        report("size() " + std::to_string(r->size()) + " for " + std::to_string(pages) + " pages");
        return;
      }
      const std::uint64_t seed = rng ^ (std::uint64_t{id} << 56);
      stamp(*r, seed);
      Stamped s{std::move(*r), seed};
      switch ((rng >> 16) % 4) {
        case 0: {  // hand it to whichever thread comes next
          const std::lock_guard<std::mutex> lock(handoff_mutex);
          handoff.push_back(std::move(s));
          break;
        }
        case 1:  // keep it alive a while
          held.push_back(std::move(s));
          break;
        default:  // check and destroy now
          if (auto e = verify(s.region, s.seed); !e.empty()) return report(std::move(e));
      }
      if (held.size() > 6) {  // destroy one from the middle
        const std::size_t k = (rng >> 24) % held.size();
        if (auto e = verify(held[k].region, held[k].seed); !e.empty()) return report(std::move(e));
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
      }
      Stamped other;
      {
        const std::lock_guard<std::mutex> lock(handoff_mutex);
        if (!handoff.empty() && (rng >> 32) % 2 == 0) {
          other = std::move(handoff.back());
          handoff.pop_back();
        }
      }
      if (!other.region.empty()) {
        if (auto e = verify(other.region, other.seed); !e.empty()) return report(std::move(e));
      }
    }
    for (const Stamped& s : held) {
      if (auto e = verify(s.region, s.seed); !e.empty()) return report(std::move(e));
    }
  };

  std::vector<std::thread> threads;
  for (std::size_t id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  for (const Stamped& s : handoff) {
    const std::string e = verify(s.region, s.seed);
    EXPECT_EQ(e, "");
  }
  handoff.clear();

  EXPECT_EQ(first_error, "");
  EXPECT_EQ(created.load(), kThreads * kPerThread);
  EXPECT_GE(created.load(), 10'000U);
  EXPECT_EQ(open_fd_count(), fds_before) << "descriptors leaked";
  EXPECT_EQ(memfd_mappings(), maps_before) << "memfd mappings leaked";
}

/// Creation and destruction of the same size in a tight loop from all threads: address reuse
/// (a new region mapped where another thread's just went away) must never mix two regions up.
TEST(MirrorRegionStress, ReuseOfFreedAddressesFromFourThreads) {
  const std::size_t fds_before = open_fd_count();
  const std::size_t bytes = 4 * MirrorRegion::page_size();
  std::atomic<bool> failed{false};
  std::atomic<std::size_t> created{0};
  auto worker = [&](std::size_t id) {
    for (std::size_t i = 0; i < kPerThread && !failed.load(std::memory_order_relaxed); ++i) {
      auto r = MirrorRegion::create(bytes);
      if (!r) {
        failed.store(true);
        return;
      }
      created.fetch_add(1, std::memory_order_relaxed);
      const auto tag = static_cast<std::byte>(id * 64 + i % 64);
      std::memset(r->data(), static_cast<int>(tag), bytes);
      // Every byte of both views carries this thread's tag (a fresh region starts zeroed, and
      // no other thread's region may share its pages).
      for (std::size_t off = 0; off < 2 * bytes; off += 512) {
        if (r->data()[off] != tag) {
          failed.store(true);
          return;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  for (auto& t : threads) t.join();
  EXPECT_FALSE(failed.load()) << "a region failed to create or did not hold its own tag";
  EXPECT_EQ(created.load(), kThreads * kPerThread);
  EXPECT_EQ(open_fd_count(), fds_before);
}

}  // namespace
