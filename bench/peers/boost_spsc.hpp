// bench/peers/boost_spsc.hpp: boost::lockfree::spsc_queue<char> as a byte_channel.
//
// Bulk push(const T*, n) / pop(T*, n), which copy with std::copy (memmove) and return how many
// elements moved. The queue's capacity is fixed at compile time (capacity<N>, N = 64 KiB, the
// bench's ring size): boost then wraps with a constant instead of a loaded bound. The queue
// object holds its storage inline, so it is heap-allocated. Defines RINGKIT_BENCH_HAVE_BOOST_SPSC.
// Thread safety: write() from one producer thread, read() from one consumer thread.
//
// BoostSpscQueue<T, N> (element_queue, batch_queue): spsc_queue<T, capacity<N>>; push(const T&)
// / pop(T&), and for batches the bulk push(const T*, n) / pop(T*, n), which copy the elements
// out into the caller's scratch. capacity<N> keeps one slot empty: it holds N - 1 elements.
#pragma once

#if __has_include(<boost/lockfree/spsc_queue.hpp>)
#define RINGKIT_BENCH_HAVE_BOOST_SPSC 1

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
#include <boost/lockfree/spsc_queue.hpp>
#pragma GCC diagnostic pop

#include "peers/interfaces.hpp"

namespace ringkit::bench {

class BoostSpscChannel {
 public:
  static constexpr std::string_view kName = "boost_spsc";
  static constexpr std::size_t kCapacity = 64 * 1024;

  explicit BoostSpscChannel(std::size_t capacity) : queue_(std::make_unique<Queue>()) {
    if (capacity != kCapacity)
      throw std::invalid_argument("boost_spsc: capacity is fixed at 64 KiB");
  }

  std::size_t write(const std::byte* src, std::size_t n) noexcept {
    return queue_->push(reinterpret_cast<const char*>(src), n);
  }
  std::size_t read(std::byte* dst, std::size_t n) noexcept {
    return queue_->pop(reinterpret_cast<char*>(dst), n);
  }

 private:
  using Queue = boost::lockfree::spsc_queue<char, boost::lockfree::capacity<kCapacity>>;
  std::unique_ptr<Queue> queue_;
};

static_assert(byte_channel<BoostSpscChannel>);

template <class T, std::size_t N>
class BoostSpscQueue {
 public:
  static constexpr std::string_view kName = "boost_spsc";
  static constexpr std::size_t kCapacity = N;

  explicit BoostSpscQueue(std::size_t capacity) : queue_(std::make_unique<Queue>()) {
    if (capacity != kCapacity) throw std::invalid_argument("boost_spsc: capacity is fixed");
  }

  bool try_push(const T& v) noexcept { return queue_->push(v); }
  bool try_pop(T& v) noexcept { return queue_->pop(v); }
  std::size_t push_batch(std::span<const T> src) noexcept {
    return queue_->push(src.data(), src.size());
  }
  template <class F>
  std::size_t consume_batch(std::span<T> scratch, F&& f) {
    const std::size_t n = queue_->pop(scratch.data(), scratch.size());
    if (n != 0) f(std::span<const T>(scratch.data(), n));
    return n;
  }

 private:
  using Queue = boost::lockfree::spsc_queue<T, boost::lockfree::capacity<N>>;
  std::unique_ptr<Queue> queue_;
};

}  // namespace ringkit::bench

#else
#define RINGKIT_BENCH_HAVE_BOOST_SPSC 0
#endif
