// Test support: a seeded pseudo-random byte stream with random access, so a consumer can
// regenerate and check every byte it receives (docs/conventions.md rule 17).
//
// Byte `offset` of stream `seed` is byte (offset % 8) of a 64-bit hash of (seed, offset / 8):
// any chunk of the stream can be produced or checked without generating what came before it, and
// the offset is the stream's own (0-based), independent of ring positions and their 2^64 wrap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace ringkit_test {

/// splitmix64's finaliser: a fast, well-mixed hash of one 64-bit word.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The 8 stream bytes starting at offset `word * 8`, as a little-endian word.
[[nodiscard]] constexpr std::uint64_t pattern_word(std::uint64_t seed,
                                                   std::uint64_t word) noexcept {
  return mix64(seed * 0x2545f4914f6cdd1dULL ^ word);
}

/// Byte `offset` of stream `seed`.
[[nodiscard]] constexpr std::byte pattern_byte(std::uint64_t seed, std::uint64_t offset) noexcept {
  return static_cast<std::byte>(pattern_word(seed, offset >> 3) >> ((offset & 7) * 8));
}

/// Writes stream bytes [offset, offset + out.size()) into `out`.
inline void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::byte> out) {
  std::size_t i = 0;
  while (i < out.size() && ((offset + i) & 7) != 0) {
    out[i] = pattern_byte(seed, offset + i);
    ++i;
  }
  for (; i + 8 <= out.size(); i += 8) {
    const std::uint64_t w = pattern_word(seed, (offset + i) >> 3);
    std::memcpy(out.data() + i, &w, 8);  // x86-64 and aarch64 Linux are little-endian
  }
  for (; i < out.size(); ++i) out[i] = pattern_byte(seed, offset + i);
}

/// Index in `got` of the first byte that differs from stream bytes [offset, ...), if any.
[[nodiscard]] inline std::optional<std::size_t> first_mismatch(std::uint64_t seed,
                                                               std::uint64_t offset,
                                                               std::span<const std::byte> got) {
  std::byte expect[4096];
  for (std::size_t done = 0; done < got.size();) {
    const std::size_t n = got.size() - done < sizeof expect ? got.size() - done : sizeof expect;
    fill_pattern(seed, offset + done, std::span<std::byte>(expect, n));
    if (std::memcmp(expect, got.data() + done, n) != 0) {
      for (std::size_t i = 0; i < n; ++i) {
        if (expect[i] != got[done + i]) return done + i;
      }
    }
    done += n;
  }
  return std::nullopt;
}

/// xorshift64*: a small seeded generator for chunk sizes and operation choices.
class Rng {
 public:
  explicit constexpr Rng(std::uint64_t seed) noexcept : s_(mix64(seed) | 1) {}
  constexpr std::uint64_t next() noexcept {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545f4914f6cdd1dULL;
  }
  /// Uniform-ish in [0, n) (n > 0; the modulo bias is irrelevant here).
  constexpr std::size_t below(std::size_t n) noexcept {
    return static_cast<std::size_t>(next() % n);
  }
  /// Uniform-ish in [lo, hi].
  constexpr std::size_t between(std::size_t lo, std::size_t hi) noexcept {
    return lo + below(hi - lo + 1);
  }

 private:
  std::uint64_t s_;
};

}  // namespace ringkit_test
