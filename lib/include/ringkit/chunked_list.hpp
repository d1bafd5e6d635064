// ringkit/chunked_list.hpp: ChunkedList<T, ChunkElems>, append-only storage with stable addresses.
//
// Elements live in fixed-size, page-aligned chunks of ChunkElems elements (a power of two), so
// growing never moves an element (pointers and spans into the list stay valid) and never copies
// the data (no reallocation stall: a full chunk is followed by a fresh one). Indexing is O(1):
// chunk = i >> log2(ChunkElems), slot = i & (ChunkElems - 1). Only the small table of chunk
// pointers grows geometrically.
//
//   ringkit::ChunkedList<Tick, 4096> log;
//   if (!log.push_back(t)) { /* out of memory */ }
//   for (const Tick& x : log) ...;   const Tick* p = log.at(i);   // nullptr when i >= size()
//
// Growth reports allocation failure as a return value (push_back/append), never by throwing.
// T is trivially copyable. Thread safety: thread-compatible.
#pragma once

#include <algorithm>
#include <bit>
#include <cassert>
#include <compare>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <ringkit/detail/config.hpp>

namespace ringkit {

namespace detail {
struct ChunkDelete {
  void operator()(std::byte* p) const noexcept { ::operator delete (p, std::align_val_t{4096}); }
};
}  // namespace detail

template <class T, std::size_t ChunkElems = 4096 / sizeof(T) < 64 ? 64 : 4096 / sizeof(T)>
class ChunkedList {
  static_assert(std::is_trivially_copyable_v<T>, "ChunkedList<T>: T must be trivially copyable");
  static_assert(ChunkElems > 0 && std::has_single_bit(ChunkElems),
                "ChunkedList: ChunkElems must be a power of two");
  static constexpr std::size_t kShift = static_cast<std::size_t>(std::countr_zero(ChunkElems));
  static constexpr std::size_t kMask = ChunkElems - 1;

 public:
  using value_type = T;
  static constexpr std::size_t kChunkElems = ChunkElems;

  template <class List, class Elem>
  class Iter {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using iterator_concept = std::random_access_iterator_tag;
    using value_type = std::remove_const_t<Elem>;
    using difference_type = std::ptrdiff_t;
    using pointer = Elem*;
    using reference = Elem&;

    Iter() noexcept = default;
    Iter(List* list, std::size_t i) noexcept : list_(list), i_(i) {}
    reference operator*() const noexcept { return (*list_)[i_]; }
    pointer operator->() const noexcept { return &(*list_)[i_]; }
    reference operator[](difference_type d) const noexcept {
      return (*list_)[i_ + static_cast<std::size_t>(d)];
    }
    Iter& operator++() noexcept {
      ++i_;
      return *this;
    }
    Iter operator++(int) noexcept {
      Iter t = *this;
      ++i_;
      return t;
    }
    Iter& operator--() noexcept {
      --i_;
      return *this;
    }
    Iter operator--(int) noexcept {
      Iter t = *this;
      --i_;
      return t;
    }
    Iter& operator+=(difference_type d) noexcept {
      i_ += static_cast<std::size_t>(d);
      return *this;
    }
    Iter& operator-=(difference_type d) noexcept {
      i_ -= static_cast<std::size_t>(d);
      return *this;
    }
    friend Iter operator+(Iter a, difference_type d) noexcept { return a += d; }
    friend Iter operator+(difference_type d, Iter a) noexcept { return a += d; }
    friend Iter operator-(Iter a, difference_type d) noexcept { return a -= d; }
    friend difference_type operator-(const Iter& a, const Iter& b) noexcept {
      return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
    }
    friend bool operator==(const Iter& a, const Iter& b) noexcept { return a.i_ == b.i_; }
    friend auto operator<=>(const Iter& a, const Iter& b) noexcept { return a.i_ <=> b.i_; }

   private:
    List* list_ = nullptr;
    std::size_t i_ = 0;
  };
  using iterator = Iter<ChunkedList, T>;
  using const_iterator = Iter<const ChunkedList, const T>;

  ChunkedList() noexcept = default;
  ChunkedList(ChunkedList&& o) noexcept
      : chunks_(std::move(o.chunks_)), size_(std::exchange(o.size_, 0)) {}
  ChunkedList& operator=(ChunkedList&& o) noexcept {
    if (this != &o) {
      chunks_ = std::move(o.chunks_);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ChunkedList(const ChunkedList&) = delete;
  ChunkedList& operator=(const ChunkedList&) = delete;
  ~ChunkedList() = default;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// Elements that fit without allocating another chunk.
  [[nodiscard]] std::size_t capacity() const noexcept { return chunks_.size() * ChunkElems; }
  [[nodiscard]] std::size_t chunk_count() const noexcept { return chunks_.size(); }

  /// Appends `v`; false (nothing appended) when a new chunk cannot be allocated.
  [[nodiscard]] bool push_back(const T& v) noexcept {
    if (size_ == capacity() && !grow()) return false;
    std::memcpy(static_cast<void*>(slot(size_)), &v, sizeof(T));
    ++size_;
    return true;
  }
  /// Appends every element of `src` (chunk by chunk, one memcpy each); returns how many were
  /// appended: src.size(), or fewer when memory ran out.
  [[nodiscard]] std::size_t append(std::span<const T> src) noexcept {
    std::size_t done = 0;
    while (done < src.size()) {
      if (size_ == capacity() && !grow()) break;
      const std::size_t room = ChunkElems - (size_ & kMask);
      const std::size_t n = std::min(room, src.size() - done);
      std::memcpy(static_cast<void*>(slot(size_)), src.data() + done, n * sizeof(T));
      size_ += n;
      done += n;
    }
    return done;
  }

  /// Element `i`; precondition i < size() (asserted in debug builds).
  [[nodiscard]] T& operator[](std::size_t i) noexcept RINGKIT_LIFETIMEBOUND {
    assert(i < size_);
    return *slot(i);
  }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept RINGKIT_LIFETIMEBOUND {
    assert(i < size_);
    return *slot(i);
  }
  /// Checked access: element `i`, or nullptr when i >= size().
  [[nodiscard]] T* at(std::size_t i) noexcept RINGKIT_LIFETIMEBOUND {
    return i < size_ ? slot(i) : nullptr;
  }
  [[nodiscard]] const T* at(std::size_t i) const noexcept RINGKIT_LIFETIMEBOUND {
    return i < size_ ? slot(i) : nullptr;
  }
  /// The elements of chunk `c` that are in use (contiguous).
  [[nodiscard]] std::span<T> chunk(std::size_t c) noexcept RINGKIT_LIFETIMEBOUND {
    if (c >= chunks_.size()) return {};
    const std::size_t first = c * ChunkElems;
    const std::size_t n = size_ > first ? std::min(ChunkElems, size_ - first) : 0;
    return {reinterpret_cast<T*>(chunks_[c].get()), n};
  }

  [[nodiscard]] iterator begin() noexcept { return {this, 0}; }
  [[nodiscard]] iterator end() noexcept { return {this, size_}; }
  [[nodiscard]] const_iterator begin() const noexcept { return {this, 0}; }
  [[nodiscard]] const_iterator end() const noexcept { return {this, size_}; }

  /// Removes every element and frees every chunk.
  void clear() noexcept {
    chunks_.clear();
    size_ = 0;
  }

 private:
  [[nodiscard]] T* slot(std::size_t i) const noexcept {
    return reinterpret_cast<T*>(chunks_[i >> kShift].get()) + (i & kMask);
  }
  bool grow() noexcept {
    constexpr std::size_t kBytes = (ChunkElems * sizeof(T) + 4095) & ~std::size_t{4095};
    std::unique_ptr<std::byte, detail::ChunkDelete> c(
        static_cast<std::byte*>(::operator new (kBytes, std::align_val_t{4096}, std::nothrow)));
    if (!c) return false;
    try {
      chunks_.push_back(std::move(c));
    } catch (const std::bad_alloc&) {
      return false;
    }
    return true;
  }

  std::vector<std::unique_ptr<std::byte, detail::ChunkDelete>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace ringkit
