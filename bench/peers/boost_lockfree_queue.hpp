// bench/peers/boost_lockfree_queue.hpp: boost::lockfree::queue<T> as an mpsc_queue.
//
// A fixed-capacity queue (capacity<N>: its node pool is an array, push() fails instead of
// allocating when the pool is exhausted); push / pop. The pool has N nodes, one of which is
// the queue's dummy node. Producer handles are plain pointers to the queue. Defines
// RINGKIT_BENCH_HAVE_BOOST_LOCKFREE_QUEUE. Thread safety: as mpsc_queue says.
#pragma once

#if __has_include(<boost/lockfree/queue.hpp>)
#define RINGKIT_BENCH_HAVE_BOOST_LOCKFREE_QUEUE 1

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string_view>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <boost/lockfree/policies.hpp>
#include <boost/lockfree/queue.hpp>
#pragma GCC diagnostic pop

#include "peers/interfaces.hpp"

namespace ringkit::bench {

template <class T, std::size_t N>
class BoostLockfreeQueue {
 public:
  static constexpr std::string_view kName = "boost_queue";
  static constexpr std::size_t kCapacity = N;
  using Queue = boost::lockfree::queue<T, boost::lockfree::capacity<N>>;

  class Producer {
   public:
    explicit Producer(Queue& q) noexcept : queue_(&q) {}
    bool try_push(const T& v) noexcept { return queue_->push(v); }
    /// No bulk call: one push per element until one fails.
    std::size_t push_bulk(std::span<const T> src) noexcept {
      std::size_t n = 0;
      while (n < src.size() && queue_->push(src[n])) ++n;
      return n;
    }

   private:
    Queue* queue_;
  };
  using producer_type = Producer;

  BoostLockfreeQueue(std::size_t capacity, std::size_t /*producers*/)
      : queue_(std::make_unique<Queue>()) {
    if (capacity != kCapacity) throw std::invalid_argument("boost_queue: capacity is fixed");
  }

  Producer make_producer() noexcept { return Producer(*queue_); }
  bool try_pop(T& v) noexcept { return queue_->pop(v); }
  /// No bulk call: one pop per element until one fails.
  std::size_t pop_bulk(std::span<T> out) noexcept {
    std::size_t n = 0;
    while (n < out.size() && queue_->pop(out[n])) ++n;
    return n;
  }

 private:
  std::unique_ptr<Queue> queue_;
};

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_BOOST_LOCKFREE_QUEUE 0
#endif
