// ringkit/segments.hpp: Segments, the at-most-two spans that describe a ring's free or filled
// bytes.
//
// A ring region that wraps is two spans, in order; one that does not is one span. Segments is a
// fixed-size, allocation-free range of std::span whose end() never shows an empty segment
// (Beast's buffers_pair rule), so an unwrapped region is exactly one iovec or one Asio buffer.
// Views are borrowed from the ring half that produced them and are invalidated by the next
// commit()/consume() on that half (and by moving or destroying it).
//
// Thread safety: a value type (thread-compatible); the bytes it points to belong to one half.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <sys/uio.h>

#include <ringkit/error.hpp>

namespace ringkit {

/// Up to two spans of `Byte` (std::byte or const std::byte), never an empty one in [begin, end).
template <class Byte>
class Segments {
 public:
  using value_type = std::span<Byte>;
  using const_iterator = const std::span<Byte>*;
  using iterator = const_iterator;

  constexpr Segments() noexcept = default;
  /// Builds from a first and an optional second part; empty parts are dropped and a lone
  /// non-empty second part moves to the front.
  constexpr Segments(std::span<Byte> first, std::span<Byte> second = {}) noexcept {
    if (!first.empty()) parts_[count_++] = first;
    if (!second.empty()) parts_[count_++] = second;
  }

  [[nodiscard]] constexpr const_iterator begin() const noexcept { return parts_.data(); }
  [[nodiscard]] constexpr const_iterator end() const noexcept { return parts_.data() + count_; }
  /// Number of non-empty segments: 0, 1 or 2.
  [[nodiscard]] constexpr std::size_t count() const noexcept { return count_; }
  /// Same as count(), so the type is a sized range of spans.
  [[nodiscard]] constexpr std::size_t size() const noexcept { return count_; }
  /// True when there are no bytes at all.
  [[nodiscard]] constexpr bool empty() const noexcept { return count_ == 0; }
  /// Total bytes over both segments.
  [[nodiscard]] constexpr std::size_t bytes() const noexcept {
    return parts_[0].size() + parts_[1].size();
  }
  /// Segment `i` (0 or 1); an absent segment is an empty span.
  [[nodiscard]] constexpr std::span<Byte> operator[](std::size_t i) const noexcept {
    return parts_[i];
  }
  [[nodiscard]] constexpr std::span<Byte> first() const noexcept { return parts_[0]; }
  [[nodiscard]] constexpr std::span<Byte> second() const noexcept { return parts_[1]; }

  /// Fills `out` with the non-empty segments as iovecs; returns how many were written.
  [[nodiscard]] constexpr std::size_t to_iovecs(std::span<iovec, 2> out) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
      // iovec has no const variant; writev never writes through iov_base.
      out[i].iov_base = const_cast<std::byte*>(parts_[i].data());  // NOLINT(*-const-cast)
      out[i].iov_len = parts_[i].size();
    }
    return count_;
  }

 private:
  std::array<std::span<Byte>, 2> parts_{};
  std::size_t count_ = 0;
};

using MutableSegments = Segments<std::byte>;
using ConstSegments = Segments<const std::byte>;

namespace detail {
/// memcpy that keeps small copies inline: records of a few bytes are the common case on the
/// hot path, and a call into libc's memcpy costs more than the copy itself there.
inline void copy_bytes(void* dst, const void* src, std::size_t n) noexcept {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (n <= 16) {
    if (n >= 8) {  // two overlapping 8-byte moves
      std::uint64_t a, b;
      __builtin_memcpy(&a, s, 8);
      __builtin_memcpy(&b, s + n - 8, 8);
      __builtin_memcpy(d, &a, 8);
      __builtin_memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
      std::uint32_t a, b;
      __builtin_memcpy(&a, s, 4);
      __builtin_memcpy(&b, s + n - 4, 4);
      __builtin_memcpy(d, &a, 4);
      __builtin_memcpy(d + n - 4, &b, 4);
    } else {
      for (std::size_t i = 0; i < n; ++i) d[i] = s[i];
    }
    return;
  }
  __builtin_memcpy(d, s, n);
}
}  // namespace detail

/// Normalises a ring view to Segments: the two-segment rings return Segments already, the
/// mirrored rings return one span. Generic code (adapters, I/O) calls segments_of(x.readable()).
[[nodiscard]] constexpr MutableSegments segments_of(const MutableSegments& s) noexcept { return s; }
/// Same, for a read view that is already Segments.
[[nodiscard]] constexpr ConstSegments segments_of(const Segments<const std::byte>& s) noexcept {
  return s;
}
/// Same, for one contiguous span of free space (a mirrored ring).
[[nodiscard]] constexpr MutableSegments segments_of(std::span<std::byte> s) noexcept {
  return MutableSegments(s);
}
/// Same, for one contiguous span of data (a mirrored ring).
[[nodiscard]] constexpr ConstSegments segments_of(std::span<const std::byte> s) noexcept {
  return ConstSegments(s);
}

/// What an io_slices() call did: `bytes` committed (writer) or consumed (reader), and why not more.
/// errc is Errc::ok (bytes may be 0 when the callback returned 0, e.g. readv at EOF),
/// ring_full / ring_empty (callback not called: nothing to offer, would block),
/// over_report (callback returned more than offered; nothing committed) or
/// callback_error (callback returned a negative value; nothing committed; errno is the callback's).
struct SliceResult {
  std::size_t bytes = 0;
  Errc errc = Errc::ok;
  explicit constexpr operator bool() const noexcept { return errc == Errc::ok; }
};

}  // namespace ringkit
