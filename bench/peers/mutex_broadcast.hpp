// bench/peers/mutex_broadcast.hpp: a mutex + condition-variable broadcast queue, the textbook
// way to fan one producer out to N consumers, written to be as fast as that design allows.
//
// One ring of `capacity` elements shared by every reader, one std::mutex, two condition
// variables. The writer copies a whole batch in under one lock acquisition (as much as fits
// before the slowest reader), a reader copies out everything it has not seen under one lock
// acquisition; each side notifies only when the other side is actually waiting (a counter
// under the lock), so an unloaded queue makes no futex calls. Readers are fixed at
// construction (ids 0 .. readers-1). Thread safety: publish() from one writer thread,
// consume(id, ...) from one thread per id, close() from any thread.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

namespace ringkit::bench {

template <class T>
class MutexBroadcast {
 public:
  static constexpr std::string_view kName = "mutex_condvar";

  MutexBroadcast(std::size_t capacity, std::size_t readers)
      : buf_(capacity), cap_(capacity), pos_(readers, 0) {}  // capacity: a power of two

  /// Publishes all of `src`, waiting while the slowest reader is a whole ring behind; false
  /// once closed.
  bool publish(std::span<const T> src) {
    std::size_t done = 0;
    std::unique_lock<std::mutex> lock(m_);
    while (done < src.size()) {
      std::uint64_t slowest = min_pos();
      if (head_ - slowest == cap_) {
        ++writer_waiting_;
        space_.wait(lock, [&] { return closed_ || head_ - min_pos() < cap_; });
        --writer_waiting_;
        if (closed_) return false;
        slowest = min_pos();
      }
      const std::size_t n = std::min<std::size_t>(src.size() - done, cap_ - (head_ - slowest));
      copy_ring_in(head_, src.subspan(done, n));
      head_ += n;
      done += n;
      if (readers_waiting_ != 0) data_.notify_all();
    }
    return true;
  }

  /// Copies out everything reader `id` has not seen (up to out.size()), waiting while there is
  /// nothing; 0 once closed and drained.
  std::size_t consume(std::size_t id, std::span<T> out) {
    std::unique_lock<std::mutex> lock(m_);
    std::uint64_t& pos = pos_[id];
    if (pos == head_) {
      ++readers_waiting_;
      data_.wait(lock, [&] { return closed_ || pos != head_; });
      --readers_waiting_;
      if (pos == head_) return 0;
    }
    const std::size_t n = std::min<std::size_t>(out.size(), head_ - pos);
    copy_ring_out(pos, out.first(n));
    pos += n;
    if (writer_waiting_ != 0) space_.notify_one();
    return n;
  }

  void close() {
    {
      const std::lock_guard<std::mutex> lock(m_);
      closed_ = true;
    }
    data_.notify_all();
    space_.notify_all();
  }

 private:
  // Two memcpy-like copies at most (before and after the wrap).
  void copy_ring_in(std::uint64_t at, std::span<const T> src) {
    const std::size_t idx = static_cast<std::size_t>(at) & (cap_ - 1);
    const std::size_t first = std::min(src.size(), cap_ - idx);
    std::copy_n(src.data(), first, buf_.data() + idx);
    std::copy_n(src.data() + first, src.size() - first, buf_.data());
  }
  void copy_ring_out(std::uint64_t at, std::span<T> out) const {
    const std::size_t idx = static_cast<std::size_t>(at) & (cap_ - 1);
    const std::size_t first = std::min(out.size(), cap_ - idx);
    std::copy_n(buf_.data() + idx, first, out.data());
    std::copy_n(buf_.data(), out.size() - first, out.data() + first);
  }
  [[nodiscard]] std::uint64_t min_pos() const {
    return *std::min_element(pos_.begin(), pos_.end());
  }

  std::mutex m_;
  std::condition_variable data_;
  std::condition_variable space_;
  std::vector<T> buf_;
  std::size_t cap_;
  std::uint64_t head_ = 0;
  std::vector<std::uint64_t> pos_;
  std::size_t readers_waiting_ = 0;
  std::size_t writer_waiting_ = 0;
  bool closed_ = false;
};

}  // namespace ringkit::bench
