// bench/peers/moodycamel.hpp: moodycamel's ReaderWriterQueue (element_queue) and ConcurrentQueue
// (mpsc_queue).
//
// MoodycamelRwq<T>: ReaderWriterQueue<T>(capacity) allocates its blocks up front; try_enqueue
// never allocates (fails when full), try_dequeue. Its capacity is at least the requested one.
// MoodycamelCq<T>: ConcurrentQueue<T>(capacity, producers, 0) pre-sizes the block pool for that
// many explicit producers; each producer handle holds a ProducerToken (try_enqueue(token, v),
// which never allocates: it fails when no block is free) and the consumer uses a ConsumerToken
// (try_dequeue(token, v)): the queue's fastest documented use. Order is FIFO per producer.
// Pre-sizing alone is not enough: an explicit producer keeps every block it ever took, and its
// block index may grow past the whole pool, so a producer that runs ahead (2 producers share a
// core here) takes the entire pool for good and the other one fails forever (observed: one
// producer pushed 0 of 2M elements). make_producer() therefore primes each token with
// `capacity` elements (then drains them): every producer owns capacity / 32 blocks before the
// run, and the queue holds at least `capacity` elements per producer. Bulk: try_enqueue_bulk
// (all or nothing) and try_dequeue_bulk with the tokens.
// MoodycamelCqNoTokens<T>: the same queue used without tokens, as most code does:
// ConcurrentQueue<T>(capacity, 0, producers) pre-sizes blocks for that many implicit producers;
// try_enqueue(v) / try_enqueue_bulk, try_dequeue(v) / try_dequeue_bulk (the consumer visits the
// producers' sub-queues itself).
// Defines RINGKIT_BENCH_HAVE_MOODYCAMEL_RWQ and RINGKIT_BENCH_HAVE_MOODYCAMEL_CQ.
// Thread safety: as element_queue / mpsc_queue say.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "peers/interfaces.hpp"

#if __has_include(<readerwriterqueue/readerwriterqueue.h>)
#define RINGKIT_BENCH_HAVE_MOODYCAMEL_RWQ 1

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wcast-align"
#include <readerwriterqueue/readerwriterqueue.h>
#pragma GCC diagnostic pop

namespace ringkit::bench {

template <class T>
class MoodycamelRwq {
 public:
  static constexpr std::string_view kName = "moodycamel_rwq";

  explicit MoodycamelRwq(std::size_t capacity) : queue_(capacity) {}

  bool try_push(const T& v) noexcept { return queue_.try_enqueue(v); }
  bool try_pop(T& v) noexcept { return queue_.try_dequeue(v); }

 private:
  moodycamel::ReaderWriterQueue<T> queue_;
};

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_MOODYCAMEL_RWQ 0
#endif

#if __has_include(<concurrentqueue/concurrentqueue.h>)
#define RINGKIT_BENCH_HAVE_MOODYCAMEL_CQ 1

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wcast-align"
#include <concurrentqueue/concurrentqueue.h>
#pragma GCC diagnostic pop

namespace ringkit::bench {

template <class T>
class MoodycamelCq {
 public:
  static constexpr std::string_view kName = "moodycamel_cq";
  using Queue = moodycamel::ConcurrentQueue<T>;

  class Producer {
   public:
    explicit Producer(Queue& q) : queue_(&q), token_(q) {}
    bool try_push(const T& v) noexcept { return queue_->try_enqueue(token_, v); }
    std::size_t push_bulk(std::span<const T> src) noexcept {
      return queue_->try_enqueue_bulk(token_, src.data(), src.size()) ? src.size() : 0;
    }
    /// Takes blocks for `n` elements from the pool (kept by this producer), then empties them.
    void prime(std::size_t n) {
      for (std::size_t i = 0; i < n && queue_->try_enqueue(token_, T{}); ++i) {
      }
      T drained;
      while (queue_->try_dequeue_from_producer(token_, drained)) {
      }
    }

   private:
    Queue* queue_;
    moodycamel::ProducerToken token_;
  };
  using producer_type = Producer;

  MoodycamelCq(std::size_t capacity, std::size_t producers)
      : queue_(std::make_unique<Queue>(capacity, producers, 0)),
        consumer_(*queue_),
        capacity_(capacity) {}

  Producer make_producer() {
    Producer p(*queue_);
    p.prime(capacity_);
    return p;
  }
  bool try_pop(T& v) noexcept { return queue_->try_dequeue(consumer_, v); }
  std::size_t pop_bulk(std::span<T> out) noexcept {
    return queue_->try_dequeue_bulk(consumer_, out.data(), out.size());
  }

 private:
  std::unique_ptr<Queue> queue_;
  moodycamel::ConsumerToken consumer_;
  std::size_t capacity_;
};

template <class T>
class MoodycamelCqNoTokens {
 public:
  static constexpr std::string_view kName = "moodycamel_cq_notok";
  using Queue = moodycamel::ConcurrentQueue<T>;

  class Producer {
   public:
    explicit Producer(Queue& q) noexcept : queue_(&q) {}
    bool try_push(const T& v) noexcept { return queue_->try_enqueue(v); }
    std::size_t push_bulk(std::span<const T> src) noexcept {
      return queue_->try_enqueue_bulk(src.data(), src.size()) ? src.size() : 0;
    }

   private:
    Queue* queue_;
  };
  using producer_type = Producer;

  MoodycamelCqNoTokens(std::size_t capacity, std::size_t producers)
      : queue_(std::make_unique<Queue>(capacity, 0, producers)) {}

  Producer make_producer() noexcept { return Producer(*queue_); }
  bool try_pop(T& v) noexcept { return queue_->try_dequeue(v); }
  std::size_t pop_bulk(std::span<T> out) noexcept {
    return queue_->try_dequeue_bulk(out.data(), out.size());
  }

 private:
  std::unique_ptr<Queue> queue_;
};

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_MOODYCAMEL_CQ 0
#endif
