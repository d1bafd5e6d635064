// bench/support/frames.hpp: a seeded stream of length-prefixed frames and the one decoder that
// every framed-parse implementation uses (not API; benchmarks only).
//
// Frame i: a 4-byte little-endian payload length L (min_payload <= L <= max_payload, drawn
// uniformly), then L payload bytes. The first and the last 16 payload bytes are four 64-bit
// words derived from (seed, i); the bytes between are pseudo-random filler.
//
//   | L (4 B, LE) | w0 w1 (16 B) | filler ... | w2 w3 (16 B) |
//
// FrameStream pre-generates whole frames up to a target size; the benchmarks replay it in a
// loop, so frame i of the stream is frame i % frames() of the replay. FrameDecoder::decode(view)
// walks one contiguous view, checks every complete frame (length bounds, the four words of the
// expected frame index) and returns the bytes of the complete frames; a trailing incomplete
// frame is left for the next call. A bad frame sets failed() and stops the walk.
// Thread safety: FrameStream is immutable after construction; a FrameDecoder is single-owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "support/pattern.hpp"

namespace ringkit::bench {

inline constexpr std::size_t kFrameHeaderBytes = 4;
inline constexpr std::size_t kFrameTagBytes = 16;  // checked bytes at each end of a payload

/// SplitMix64: the test stream's hash (tests/support/pattern.hpp).
using ringkit_test::mix64;

/// Word `k` (0..3) of frame `index` in a stream made with `seed`.
[[nodiscard]] constexpr std::uint64_t frame_word(std::uint64_t seed, std::uint64_t index,
                                                 unsigned k) noexcept {
  return mix64(seed ^ (index * 4 + k));
}

[[nodiscard]] inline std::uint32_t load_le32(const std::byte* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

[[nodiscard]] inline std::uint64_t load_u64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

/// Whole frames, pre-generated from a seed.
class FrameStream {
 public:
  FrameStream(std::size_t min_payload, std::size_t max_payload, std::size_t target_bytes,
              std::uint64_t seed)
      : min_(min_payload), max_(max_payload), seed_(seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::size_t> length(min_payload, max_payload);
    bytes_.reserve(target_bytes + kFrameHeaderBytes + max_payload);
    while (bytes_.size() < target_bytes) {
      const std::size_t len = length(rng);
      const std::size_t at = bytes_.size();
      bytes_.resize(at + kFrameHeaderBytes + len);
      std::byte* f = bytes_.data() + at;
      for (std::size_t i = 0; i < kFrameHeaderBytes; ++i) {
        f[i] = static_cast<std::byte>((len >> (8 * i)) & 0xFF);
      }
      std::byte* payload = f + kFrameHeaderBytes;
      for (std::size_t i = 0; i < len; i += 8) {
        const std::uint64_t r = rng();
        std::memcpy(payload + i, &r, len - i < 8 ? len - i : 8);
      }
      const std::uint64_t w[4] = {frame_word(seed, frames_, 0), frame_word(seed, frames_, 1),
                                  frame_word(seed, frames_, 2), frame_word(seed, frames_, 3)};
      std::memcpy(payload, w, kFrameTagBytes);
      std::memcpy(payload + len - kFrameTagBytes, w + 2, kFrameTagBytes);
      ++frames_;
    }
  }

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t frames() const noexcept { return frames_; }
  [[nodiscard]] std::size_t min_payload() const noexcept { return min_; }
  [[nodiscard]] std::size_t max_payload() const noexcept { return max_; }
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }

 private:
  std::vector<std::byte> bytes_;
  std::size_t frames_ = 0;
  std::size_t min_;
  std::size_t max_;
  std::uint64_t seed_;
};

/// Decodes and checks the frames of a replayed FrameStream, in order.
class FrameDecoder {
 public:
  explicit FrameDecoder(const FrameStream& stream) noexcept
      : min_(stream.min_payload()),
        max_(stream.max_payload()),
        seed_(stream.seed()),
        frames_per_stream_(stream.frames()) {}

  /// Decodes every complete frame at the start of `view` (contiguous); returns their bytes.
  /// Stops at an incomplete frame, or at a bad one (then failed() is true).
  [[nodiscard]] std::size_t decode(std::span<const std::byte> view) noexcept {
    const std::byte* p = view.data();
    const std::size_t size = view.size();
    std::size_t used = 0;
    while (size - used >= kFrameHeaderBytes) {
      const std::size_t len = load_le32(p + used);
      if (len < min_ || len > max_) [[unlikely]] {
        failed_ = true;
        break;
      }
      const std::size_t total = kFrameHeaderBytes + len;
      if (total > size - used) break;  // incomplete: wait for more bytes
      const std::byte* payload = p + used + kFrameHeaderBytes;
      if (!tags_ok(payload, len)) [[unlikely]] {
        failed_ = true;
        break;
      }
      used += total;
      ++frames_;
      if (++index_ == frames_per_stream_) index_ = 0;
    }
    return used;
  }

  /// Total size (header included) of the frame whose 4-byte header is at `header`; 0 when the
  /// length is out of bounds (and failed() is then true).
  [[nodiscard]] std::size_t frame_size(const std::byte* header) noexcept {
    const std::size_t len = load_le32(header);
    if (len < min_ || len > max_) [[unlikely]] {
      failed_ = true;
      return 0;
    }
    return kFrameHeaderBytes + len;
  }

  /// True after a frame failed its checks.
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  /// Frames decoded so far.
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }

 private:
  [[nodiscard]] bool tags_ok(const std::byte* payload, std::size_t len) const noexcept {
    const std::byte* tail = payload + len - kFrameTagBytes;
    return load_u64(payload) == frame_word(seed_, index_, 0) &&
           load_u64(payload + 8) == frame_word(seed_, index_, 1) &&
           load_u64(tail) == frame_word(seed_, index_, 2) &&
           load_u64(tail + 8) == frame_word(seed_, index_, 3);
  }

  std::size_t min_;
  std::size_t max_;
  std::uint64_t seed_;
  std::uint64_t frames_per_stream_;
  std::uint64_t index_ = 0;
  std::uint64_t frames_ = 0;
  bool failed_ = false;
};

}  // namespace ringkit::bench
