// bench/peers/tbb_queue.hpp: tbb::concurrent_bounded_queue<T> as an mpsc_queue.
//
// set_capacity(capacity), then try_push / try_pop (the non-blocking calls; neither waits).
// Producer handles are plain pointers to the queue. The queue allocates its pages as elements
// arrive (TBB's cache-aligned allocator), so it allocates while measured. Needs libtbb: the
// build defines RINGKIT_BENCH_WITH_TBB when find_package(TBB CONFIG) found it and links
// TBB::tbb. Defines RINGKIT_BENCH_HAVE_TBB. Thread safety: as mpsc_queue says.
#pragma once

#if defined(RINGKIT_BENCH_WITH_TBB) && __has_include(<tbb/concurrent_queue.h>)
#define RINGKIT_BENCH_HAVE_TBB 1

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <tbb/concurrent_queue.h>
#pragma GCC diagnostic pop

#include "peers/interfaces.hpp"

namespace ringkit::bench {

template <class T>
class TbbBoundedQueue {
 public:
  static constexpr std::string_view kName = "tbb_bounded";
  using Queue = tbb::concurrent_bounded_queue<T>;

  class Producer {
   public:
    explicit Producer(Queue& q) noexcept : queue_(&q) {}
    bool try_push(const T& v) { return queue_->try_push(v); }
    /// No bulk call: one try_push per element until one fails.
    std::size_t push_bulk(std::span<const T> src) {
      std::size_t n = 0;
      while (n < src.size() && queue_->try_push(src[n])) ++n;
      return n;
    }

   private:
    Queue* queue_;
  };
  using producer_type = Producer;

  TbbBoundedQueue(std::size_t capacity, std::size_t /*producers*/)
      : queue_(std::make_unique<Queue>()) {
    queue_->set_capacity(static_cast<std::ptrdiff_t>(capacity));
  }

  Producer make_producer() noexcept { return Producer(*queue_); }
  bool try_pop(T& v) { return queue_->try_pop(v); }
  /// No bulk call: one try_pop per element until one fails.
  std::size_t pop_bulk(std::span<T> out) {
    std::size_t n = 0;
    while (n < out.size() && queue_->try_pop(out[n])) ++n;
    return n;
  }

 private:
  std::unique_ptr<Queue> queue_;
};

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_TBB 0
#endif
