// Test support: one traits struct per byte ring kind, so typed tests cover every kind and a new
// kind is one line in the type lists.
//
//   struct Kind {
//     using Ring = ...;                       // {writer, reader}
//     static constexpr const char* kName;
//     static constexpr bool kMirrored;        // one contiguous span across the wrap
//     static constexpr bool kViewsEndAtWrap;  // readable()/writable() stop at the wrap (fallback)
//     static std::size_t min_capacity();
//     static ringkit::Result<Ring> make(std::size_t capacity, std::uint64_t start = 0);
//   };
//
// MirroredRing asks for MirrorMode::required; a test gets an error (and skips) where the kernel
// refuses the mapping. MirrorFallbackRing is the mirrored ring's plain two-segment fallback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>

#include <gtest/gtest.h>

#include <ringkit/byte_ring.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/mirror_ring.hpp>
#include <ringkit/result.hpp>
#include <ringkit/segments.hpp>

#include "support/pattern.hpp"

namespace ringkit {
/// GoogleTest prints Errc by name and message instead of as a raw byte.
inline void PrintTo(Errc e, std::ostream* os) {
  *os << "Errc(" << static_cast<int>(e) << ": " << describe(e) << ")";
}
}  // namespace ringkit

namespace ringkit_test {

/// Succeeds when `got` equals bytes [offset, offset + got.size()) of stream `seed`; otherwise
/// names the first mismatching stream offset and both bytes.
[[nodiscard]] inline ::testing::AssertionResult matches_pattern(std::uint64_t seed,
                                                                std::uint64_t offset,
                                                                std::span<const std::byte> got) {
  const auto m = first_mismatch(seed, offset, got);
  if (!m) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "first mismatch at stream offset " << offset + *m << " (byte " << *m << " of "
         << got.size() << "): got " << static_cast<int>(got[*m]) << ", expected "
         << static_cast<int>(pattern_byte(seed, offset + *m));
}

struct TwoSegmentRing {
  using Ring = ringkit::ByteRing;
  static constexpr const char* kName = "two_segment";
  static constexpr bool kMirrored = false;
  static constexpr bool kViewsEndAtWrap = false;
  static std::size_t min_capacity() { return 1; }
  static ringkit::Result<Ring> make(std::size_t capacity, std::uint64_t start = 0) {
    return ringkit::make_byte_ring(capacity, {.initial_position = start});
  }
};

struct MirroredRing {
  using Ring = ringkit::MirrorByteRing;
  static constexpr const char* kName = "mirrored";
  static constexpr bool kMirrored = true;
  static constexpr bool kViewsEndAtWrap = false;
  static std::size_t min_capacity() { return ringkit::MirrorRegion::page_size(); }
  static ringkit::Result<Ring> make(std::size_t capacity, std::uint64_t start = 0) {
    return ringkit::make_mirror_byte_ring(
        capacity, {.mode = ringkit::MirrorMode::required, .initial_position = start});
  }
};

struct MirrorFallbackRing {
  using Ring = ringkit::MirrorByteRing;
  static constexpr const char* kName = "mirror_fallback";
  static constexpr bool kMirrored = false;
  static constexpr bool kViewsEndAtWrap = true;
  static std::size_t min_capacity() { return 1; }
  static ringkit::Result<Ring> make(std::size_t capacity, std::uint64_t start = 0) {
    return ringkit::make_mirror_byte_ring(
        capacity, {.mode = ringkit::MirrorMode::never, .initial_position = start});
  }
};

/// Every ring kind; typed tests use this list.
using AllRingKinds = ::testing::Types<TwoSegmentRing, MirroredRing, MirrorFallbackRing>;

/// Names typed-test instances by kind ("two_segment", ...) instead of 0, 1, 2.
struct KindName {
  template <class Kind>
  static std::string GetName(int /*index*/) {
    return Kind::kName;
  }
};

/// What a half's view (readable()/writable()) must show given all of its bytes as Segments:
/// everything for two-segment and mirrored rings, the part before the wrap for the fallback.
template <class Kind, class Byte>
[[nodiscard]] ringkit::Segments<Byte> expected_view(const ringkit::Segments<Byte>& all) {
  if constexpr (Kind::kViewsEndAtWrap) {
    return ringkit::Segments<Byte>(all.first());
  } else {
    return all;
  }
}

}  // namespace ringkit_test

/// Makes `ring` (a Kind::Ring&) of kind `Kind` from the remaining arguments. A mirrored ring the
/// kernel refuses to map skips the test with the reason; any other failure fails it.
#define RINGKIT_MAKE_RING_OR_SKIP(ring, Kind, ...)                                     \
  auto ring##_result = Kind::make(__VA_ARGS__);                                        \
  if (!ring##_result) {                                                                \
    if (Kind::kMirrored) {                                                             \
      GTEST_SKIP() << Kind::kName << " ring unavailable: " << ring##_result.message(); \
    }                                                                                  \
    FAIL() << Kind::kName << " ring: " << ring##_result.message();                     \
  }                                                                                    \
  auto& ring = *ring##_result
