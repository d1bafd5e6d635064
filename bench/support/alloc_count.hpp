// bench/support/alloc_count.hpp: a process-wide count of heap allocations, for benchmarks that
// report allocations per message (not API; benchmarks only).
//
// Replaces the global operator new/delete family, so include it in EXACTLY ONE translation unit
// of a benchmark binary. heap_allocations() is the number of operator new calls so far
// (relaxed: a statistic read around a timed loop). Thread safety: thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace ringkit::bench {
namespace alloc_detail {
inline std::atomic<std::uint64_t> g_count{0};

inline void* counted_alloc(std::size_t n) {
  g_count.fetch_add(1, std::memory_order_relaxed);      // statistic only: no ordering needed
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;  // NOLINT(*-no-malloc)
  throw std::bad_alloc();
}
inline void* counted_alloc(std::size_t n, std::align_val_t al) {
  g_count.fetch_add(1, std::memory_order_relaxed);  // statistic only
  const auto a = static_cast<std::size_t>(al);
  const std::size_t size = ((n == 0 ? 1 : n) + a - 1) / a * a;  // aligned_alloc: a multiple of a
  if (void* p = std::aligned_alloc(a, size)) return p;          // NOLINT(*-no-malloc)
  throw std::bad_alloc();
}
}  // namespace alloc_detail

/// operator new calls in the whole process so far.
[[nodiscard]] inline std::uint64_t heap_allocations() noexcept {
  return alloc_detail::g_count.load(std::memory_order_relaxed);  // statistic only
}
}  // namespace ringkit::bench

void* operator new(std::size_t n) { return ringkit::bench::alloc_detail::counted_alloc(n); }
void* operator new[](std::size_t n) { return ringkit::bench::alloc_detail::counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ringkit::bench::alloc_detail::counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ringkit::bench::alloc_detail::counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t al) {
  return ringkit::bench::alloc_detail::counted_alloc(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al) {
  return ringkit::bench::alloc_detail::counted_alloc(n, al);
}
void operator delete(void* p) noexcept { std::free(p); }                      // NOLINT(*-no-malloc)
void operator delete[](void* p) noexcept { std::free(p); }                    // NOLINT(*-no-malloc)
void operator delete(void* p, std::size_t) noexcept { std::free(p); }         // NOLINT(*-no-malloc)
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }       // NOLINT(*-no-malloc)
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }    // NOLINT
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }  // NOLINT
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }    // NOLINT
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }  // NOLINT
