// tools/latency_histogram.hpp: the latency histogram shared by the ringkit load generators
// (ringkit-load, ringkit-feed-load); not part of the library.
//
// Log-linear (HDR-style): values below 16 have a bucket each, above that every power of two is
// split into 16 sub-buckets, so a reported quantile is at most 6.25% above the true value (it is
// the upper bound of its bucket, capped at the maximum seen). Fixed size (1024 counters, 8 KiB),
// no allocation: one per thread, merge() them at the end.
// Thread safety: single-owner.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace ringkit::tools {

/// Log-linear latency histogram (16 sub-buckets per power of two: <= 6.25% error).
class Histogram {
 public:
  /// Counts one value (any unit; the tools use nanoseconds).
  void add(std::uint64_t ns) {
    ++counts_[bucket(ns)];
    ++total_;
    max_ = std::max(max_, ns);
  }
  /// Adds every count of `o`.
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }
  [[nodiscard]] std::uint64_t total() const { return total_; }
  /// The largest value added (0 when empty).
  [[nodiscard]] std::uint64_t max() const { return max_; }
  /// Upper bound of the bucket holding the q-quantile (ns).
  [[nodiscard]] std::uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    const auto want = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= want) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static std::size_t bucket(std::uint64_t v) {
    if (v < 16) return static_cast<std::size_t>(v);
    const int msb = 63 - __builtin_clzll(v);
    const auto sub = static_cast<std::size_t>((v >> (msb - 4)) & 15);
    return static_cast<std::size_t>(msb - 3) * 16 + sub;
  }
  static std::uint64_t upper(std::size_t b) {
    if (b < 16) return b;
    const std::size_t msb = b / 16 + 3;
    const std::uint64_t sub = b % 16;
    return ((16 + sub + 1) << (msb - 4)) - 1;
  }
  std::array<std::uint64_t, std::size_t{64} * 16> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace ringkit::tools
