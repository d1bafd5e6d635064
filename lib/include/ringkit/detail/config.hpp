// ringkit/detail/config.hpp: internal configuration constants and macros (not API:
// ringkit::detail).
//
// Included by the public headers; users need not include it themselves.
#pragma once

#include <cstddef>

namespace ringkit {

/// Size of a cache line on the targets ringkit supports (x86-64, aarch64 with 64-byte lines).
/// ringkit uses its own constant, not std::hardware_destructive_interference_size: g++ 12 warns
/// about it in headers (-Winterference-size) and clang 14 + libstdc++ does not declare it.
inline constexpr std::size_t kCacheLine = 64;

/// Distance that keeps hot variables written by different threads (the two counters of a ring,
/// the two halves) from interfering: two cache lines, because x86-64 cores fetch the adjacent
/// line of each 128-byte pair (Intel's spatial prefetcher, AMD's adjacent-line prefetch), so
/// variables only 64 bytes apart still bounce between the cores. Measured on the 2-vCPU EPYC
/// VM: SPSC u64 channel 32 M -> 52-74 M items/s. folly's hardware_destructive_interference_size
/// is 128 on x86-64 for the same reason.
inline constexpr std::size_t kFalseSharingRange = 2 * kCacheLine;

/// Alignment of ring storage. Storage is page-aligned so that readv/writev and io_uring fixed
/// buffers see whole pages; 4 KiB is the smallest page size of every supported target.
inline constexpr std::size_t kStorageAlign = 4096;

}  // namespace ringkit

// RINGKIT_LIFETIMEBOUND marks parameters (or `this`) that returned views borrow from.
#if defined(__clang__) && defined(__has_cpp_attribute)
#if __has_cpp_attribute(clang::lifetimebound)
#define RINGKIT_LIFETIMEBOUND [[clang::lifetimebound]]
#endif
#endif
#ifndef RINGKIT_LIFETIMEBOUND
#define RINGKIT_LIFETIMEBOUND
#endif
