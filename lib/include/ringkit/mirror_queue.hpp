// ringkit/mirror_queue.hpp: MirrorQueue<T>, a single-threaded typed ring on mirrored memory.
//
// The elements live in a MirrorRegion, so any run of up to capacity() elements starting
// anywhere is one contiguous span: reserve(n) hands out n free slots in one piece even across
// the wrap, readable() shows every element at once. Producer side: reserve(n) or
// writable() -> fill -> commit(n), or try_push(v). Consumer side: readable() /
// operator[] / iteration -> consume(n), or try_pop(). Every count is checked (Errc).
//
//   auto q = *ringkit::MirrorQueue<Msg>::create(1024);
//   if (auto s = q.reserve(3); !s.empty()) { fill(s); (void)q.commit(3); }
//   for (const Msg& m : q) handle(m);
//   (void)q.consume(q.size());
//
// Capacity is rounded up to a power of two, and to whole pages unless MirrorMode::never is asked
// for (capacity() says what it got).
// Fallback: when mirroring is refused (MirrorMode::automatic) or MirrorMode::never is asked for,
// mirrored() is false and slices end at the wrap (reserve(n) fails when n free slots are not
// contiguous; readable() shows the part before the wrap). T: trivially copyable, with
// sizeof(T) dividing 4 KiB (ring_element).
//
// Thread safety: thread-compatible (one thread at a time; use the channels across threads).
#pragma once

#include <algorithm>
#include <cassert>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <ringkit/concepts.hpp>
#include <ringkit/detail/config.hpp>
#include <ringkit/detail/cursor.hpp>
#include <ringkit/detail/typed_storage.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>

namespace ringkit {

template <ring_element T>
class MirrorQueue {
 public:
  using value_type = T;

  /// Random-access iterator over the elements, front to back (valid while unmodified).
  template <class Elem>
  class Iter {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using iterator_concept = std::random_access_iterator_tag;
    using value_type = std::remove_const_t<Elem>;
    using difference_type = std::ptrdiff_t;
    using pointer = Elem*;
    using reference = Elem&;

    Iter() noexcept = default;
    Iter(Elem* data, std::size_t mask, std::uint64_t pos) noexcept
        : data_(data), mask_(mask), pos_(pos) {}
    reference operator*() const noexcept { return data_[static_cast<std::size_t>(pos_) & mask_]; }
    pointer operator->() const noexcept { return &**this; }
    reference operator[](difference_type i) const noexcept { return *(*this + i); }
    Iter& operator++() noexcept {
      ++pos_;
      return *this;
    }
    Iter operator++(int) noexcept {
      Iter t = *this;
      ++pos_;
      return t;
    }
    Iter& operator--() noexcept {
      --pos_;
      return *this;
    }
    Iter operator--(int) noexcept {
      Iter t = *this;
      --pos_;
      return t;
    }
    Iter& operator+=(difference_type d) noexcept {
      pos_ += static_cast<std::uint64_t>(d);
      return *this;
    }
    Iter& operator-=(difference_type d) noexcept {
      pos_ -= static_cast<std::uint64_t>(d);
      return *this;
    }
    friend Iter operator+(Iter a, difference_type d) noexcept { return a += d; }
    friend Iter operator+(difference_type d, Iter a) noexcept { return a += d; }
    friend Iter operator-(Iter a, difference_type d) noexcept { return a -= d; }
    friend difference_type operator-(const Iter& a, const Iter& b) noexcept {
      return static_cast<difference_type>(a.pos_ - b.pos_);
    }
    friend bool operator==(const Iter& a, const Iter& b) noexcept { return a.pos_ == b.pos_; }
    friend auto operator<=>(const Iter& a, const Iter& b) noexcept {
      return static_cast<difference_type>(a.pos_ - b.pos_) <=> 0;
    }

   private:
    Elem* data_ = nullptr;
    std::size_t mask_ = 0;
    std::uint64_t pos_ = 0;
  };
  using iterator = Iter<T>;
  using const_iterator = Iter<const T>;

  MirrorQueue() noexcept = default;

  /// A queue of at least `min_capacity` elements. Errors: Errc::invalid_capacity; with
  /// MirrorMode::required, the mapping's error (context() names the call).
  [[nodiscard]] static Result<MirrorQueue> create(std::size_t min_capacity,
                                                  const RingOptions& options = {}) {
    auto st = detail::TypedStorage<T>::create(min_capacity, options.mode, options.region);
    if (!st) return unexpected(st.error(), st.context());
    MirrorQueue q;
    q.storage_ = std::move(*st);
    q.data_ = q.storage_.data();
    q.cap_ = q.storage_.capacity();
    q.mirrored_ = q.storage_.mirrored();
    q.head_ = options.initial_position;
    q.tail_ = options.initial_position;
    return q;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(tail_ - head_);
  }
  [[nodiscard]] std::size_t free_space() const noexcept { return cap_ - size(); }
  [[nodiscard]] bool empty() const noexcept { return tail_ == head_; }
  [[nodiscard]] bool full() const noexcept { return size() == cap_; }
  /// True when the storage is double-mapped (every slice is whole).
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }

  /// `n` contiguous free slots at the back, or an empty span when fewer are free (or, when
  /// !mirrored(), fewer are free before the wrap). Nothing is published until commit().
  /// Invalidated by commit(), consume(), try_push(), try_pop().
  [[nodiscard]] std::span<T> reserve(std::size_t n) noexcept RINGKIT_LIFETIMEBOUND {
    const std::span<T> all = writable();
    if (n == 0 || n > all.size()) return {};
    return all.first(n);
  }
  /// All free slots in one span (when !mirrored(): up to the wrap).
  [[nodiscard]] std::span<T> writable() noexcept RINGKIT_LIFETIMEBOUND {
    const std::size_t free = free_space();
    if (free == 0) return {};
    const detail::Run r = detail::ring_run(tail_, free, cap_, mirrored_);
    return {data_ + r.index, r.first};
  }
  /// Appends the first `n` reserved slots. Errc::over_commit (nothing appended) if n > free.
  [[nodiscard]] Errc commit(std::size_t n) noexcept {
    if (n > free_space()) return Errc::over_commit;
    tail_ = tail_ + n;
    return Errc::ok;
  }
  /// Drops `n` elements from the front. Errc::over_consume (nothing dropped) if n > size().
  [[nodiscard]] Errc consume(std::size_t n) noexcept {
    if (n > size()) return Errc::over_consume;
    head_ = head_ + n;
    return Errc::ok;
  }
  /// Every element, front to back, in one span (when !mirrored(): up to the wrap).
  [[nodiscard]] std::span<T> readable() noexcept RINGKIT_LIFETIMEBOUND {
    const std::size_t n = size();
    if (n == 0) return {};
    const detail::Run r = detail::ring_run(head_, n, cap_, mirrored_);
    return {data_ + r.index, r.first};
  }
  [[nodiscard]] std::span<const T> readable() const noexcept RINGKIT_LIFETIMEBOUND {
    return const_cast<MirrorQueue*>(this)->readable();  // NOLINT(*-const-cast)
  }

  /// Element `i` from the front; precondition i < size() (asserted in debug builds).
  [[nodiscard]] T& operator[](std::size_t i) noexcept RINGKIT_LIFETIMEBOUND {
    assert(i < size());
    return data_[index(head_ + i)];
  }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept RINGKIT_LIFETIMEBOUND {
    assert(i < size());
    return data_[index(head_ + i)];
  }
  /// Checked access: element `i` from the front, or nullptr when i >= size().
  [[nodiscard]] T* at(std::size_t i) noexcept RINGKIT_LIFETIMEBOUND {
    return i < size() ? &data_[index(head_ + i)] : nullptr;
  }

  [[nodiscard]] iterator begin() noexcept { return {data_, cap_ - 1, head_}; }
  [[nodiscard]] iterator end() noexcept { return {data_, cap_ - 1, tail_}; }
  [[nodiscard]] const_iterator begin() const noexcept { return {data_, cap_ - 1, head_}; }
  [[nodiscard]] const_iterator end() const noexcept { return {data_, cap_ - 1, tail_}; }

  /// Appends `v`; false when full.
  [[nodiscard]] bool try_push(const T& v) noexcept {
    if (full()) return false;
    std::memcpy(static_cast<void*>(&data_[index(tail_)]), &v, sizeof(T));
    tail_ = tail_ + 1;
    return true;
  }
  /// Removes the front element into `out`; false when empty.
  [[nodiscard]] bool try_pop(T& out) noexcept {
    if (empty()) return false;
    std::memcpy(static_cast<void*>(&out), &data_[index(head_)], sizeof(T));
    head_ = head_ + 1;
    return true;
  }
  /// Removes and returns the front element; std::nullopt when empty.
  [[nodiscard]] std::optional<T> try_pop() noexcept {
    T v{};
    if (!try_pop(v)) return std::nullopt;
    return v;
  }

  /// Counter of the back (elements ever committed + initial position; wraps at 2^64).
  [[nodiscard]] std::uint64_t tail_position() const noexcept { return tail_; }
  /// Counter of the front.
  [[nodiscard]] std::uint64_t head_position() const noexcept { return head_; }

 private:
  [[nodiscard]] std::size_t index(std::uint64_t pos) const noexcept {
    return static_cast<std::size_t>(pos) & (cap_ - 1);
  }
  // Single-threaded: plain positions (no cursor pair needed), the shared wrap arithmetic, and
  // members that a move leaves empty (rule of zero).
  detail::TypedStorage<T> storage_;
  detail::Moved<T*> data_;
  detail::Moved<std::size_t> cap_;
  detail::Moved<bool> mirrored_;
  detail::Moved<std::uint64_t> head_;
  detail::Moved<std::uint64_t> tail_;
};

}  // namespace ringkit
