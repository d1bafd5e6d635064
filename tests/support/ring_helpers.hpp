// Test support: helpers shared by the byte ring suites (stream-pattern writes and reads, segment
// comparisons, seeking a ring to a position). The data is the splitmix stream of
// support/pattern.hpp with seed kSeed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include <ringkit/error.hpp>
#include <ringkit/segments.hpp>

#include "support/pattern.hpp"
#include "support/ring_kinds.hpp"

namespace ringkit_test {

inline constexpr std::uint64_t kSeed = 0x5eed'0000'b17e'0001ULL;
inline constexpr std::uint64_t kTop = UINT64_MAX;

/// All bytes of `s`, in order.
template <class Byte>
std::vector<std::byte> concat(const ringkit::Segments<Byte>& s) {
  std::vector<std::byte> out;
  for (const auto& part : s) out.insert(out.end(), part.begin(), part.end());
  return out;
}

/// Fills `s` with stream bytes starting at `offset`.
inline void fill(const ringkit::MutableSegments& s, std::uint64_t offset) {
  for (const auto& part : s) {
    fill_pattern(kSeed, offset, part);
    offset += part.size();
  }
}

/// Stream bytes [offset, offset + n).
inline std::vector<std::byte> pattern(std::uint64_t offset, std::size_t n) {
  std::vector<std::byte> v(n);
  fill_pattern(kSeed, offset, v);
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
  const ringkit::MutableSegments free = w.writable_segments();
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
    ASSERT_EQ(ring.reader.consume(n), ringkit::Errc::ok);
    offset -= n;
  }
}

}  // namespace ringkit_test
