// ringkit/detail/cursor.hpp: internal, not for direct inclusion. The one cursor engine under
// every single-producer/single-consumer ring (byte rings plain and mirrored, the SPSC channel,
// the MPSC channel's consumer) and the one wrap arithmetic under every ring (MirrorQueue too).
//
// Positions are free-running 64-bit counters that wrap at 2^64; the unit is a byte or an
// element. A cursor pair is two shared counters, each written by one side only:
//
//   producer: private `pos_` = tail, cached `peer_` = last observed head
//   consumer: private `pos_` = head, cached `peer_` = last observed tail
//
// A side computes its room (producer: free = capacity - (tail - head); consumer: filled =
// tail - head) from its private position and its cache, and reloads the peer's counter with an
// acquire load only when the cache says the request does not fit (rigtorp's SPSCQueue
// technique): an uncontended ring touches the other side's cache line once per lap, not per
// call. Publishing is one release store of the private position.
//
//   (R1) producer publish (release store of tail)  pairs with (A1) consumer refresh (acquire)
//   (R2) consumer publish (release store of head)  pairs with (A2) producer refresh (acquire)
//
// R1 -> A1 makes the bytes/elements written before the publish visible to the consumer; R2 -> A2
// makes the consumer's last read of a slot happen before the producer overwrites it.
//
// Thread safety: a cursor is single-owner (it is the state of one ring half).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include <ringkit/segments.hpp>

namespace ringkit::detail {

/// A member that a move leaves at its default value, so the ring halves can move by the rule of
/// zero (a moved-from half is empty and offers nothing).
template <class T>
class Moved {
 public:
  constexpr Moved() noexcept = default;
  constexpr Moved(T v) noexcept : v_(v) {}  // NOLINT(google-explicit-constructor): a value
  Moved(const Moved&) = delete;
  Moved& operator=(const Moved&) = delete;
  Moved(Moved&& o) noexcept : v_(std::exchange(o.v_, T{})) {}
  Moved& operator=(Moved&& o) noexcept {
    v_ = std::exchange(o.v_, T{});
    return *this;
  }
  ~Moved() = default;
  Moved& operator=(T v) noexcept {
    v_ = v;
    return *this;
  }
  constexpr operator T() const noexcept { return v_; }  // NOLINT(google-explicit-constructor)
  [[nodiscard]] constexpr T get() const noexcept { return v_; }

 private:
  T v_{};
};

/// Where a run of `n` units starting at position `pos` lies in a ring of `cap` units (a power of
/// two): [index, index + first) then [0, n - first). `contiguous` (mirrored storage): the whole
/// run is at index, because the storage repeats after cap.
struct Run {
  std::size_t index = 0;
  std::size_t first = 0;
  std::size_t second = 0;
};
[[nodiscard]] constexpr Run ring_run(std::uint64_t pos, std::size_t n, std::size_t cap,
                                     bool contiguous) noexcept {
  const std::size_t idx = static_cast<std::size_t>(pos) & (cap - 1);
  const std::size_t first = contiguous || n <= cap - idx ? n : cap - idx;
  return {idx, first, n - first};
}

/// Copies `n` units into / out of ring storage at a run (one copy when contiguous).
template <class T>
void copy_into_ring(T* data, const Run& run, const T* src) noexcept {
  copy_bytes(data + run.index, src, run.first * sizeof(T));
  if (run.second != 0) [[unlikely]]  // not copy_bytes: g++ 12 -O3 misreports -Wstringop-overflow
    std::memcpy(static_cast<void*>(data), src + run.first, run.second * sizeof(T));
}
template <class T>
void copy_from_ring(T* dst, const Run& run, const T* data) noexcept {
  copy_bytes(dst, data + run.index, run.first * sizeof(T));
  if (run.second != 0) [[unlikely]]
    std::memcpy(static_cast<void*>(dst + run.first), data, run.second * sizeof(T));
}

/// The two shared counters of a cursor pair; each on its own false-sharing range (see
/// kFalseSharingRange in config.hpp), placed by the ring's core.
struct PositionPair {
  std::atomic<std::uint64_t>* tail = nullptr;  // producer stores (R1)
  std::atomic<std::uint64_t>* head = nullptr;  // consumer stores (R2)
};

/// One side of a cursor pair. `Producer`: room is free space; else room is filled space.
template <bool Producer>
class Cursor {
 public:
  Cursor() noexcept = default;
  /// Attaches to the counters of a ring of `cap` units (a power of two) before the ring is shared.
  Cursor(PositionPair p, std::size_t cap) noexcept
      : mine_(Producer ? p.tail : p.head), peer_(Producer ? p.head : p.tail), cap_(cap) {
    // (X1) relaxed: the halves are not shared yet; both counters hold the initial position.
    pos_ = mine_.get()->load(std::memory_order_relaxed);
    peer_pos_ = pos_.get();
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool attached() const noexcept { return cap_ != 0; }
  /// This side's position (units ever published plus the initial position).
  [[nodiscard]] std::uint64_t position() const noexcept { return pos_; }
  /// Room known without touching the peer's counter (may understate it, never overstates).
  [[nodiscard]] std::size_t room_cached() const noexcept {
    const auto used = static_cast<std::size_t>(Producer ? pos_ - peer_pos_ : peer_pos_ - pos_);
    return Producer ? cap_ - used : used;
  }
  /// Reloads the peer's counter: (A2) for the producer, pairs with (R2) in the consumer's
  /// publish(); (A1) for the consumer, pairs with (R1) in the producer's publish().
  void refresh() noexcept { peer_pos_ = peer_.get()->load(std::memory_order_acquire); }
  /// Room for a request of `want` units: reloads the peer only when the cache says it is short.
  [[nodiscard]] std::size_t room_for(std::size_t want) noexcept {
    std::size_t room = room_cached();
    if (room < want && cap_ != 0) [[unlikely]] {
      refresh();
      room = room_cached();
    }
    return room;
  }
  /// All the room there is, for a view that must show everything (a parser waiting for the rest
  /// of a frame keeps asking): reloads unless the room is already the whole ring.
  [[nodiscard]] std::size_t room_all() noexcept {
    if (cap_ != 0 && room_cached() != cap_) refresh();
    return room_cached();
  }
  /// True when `n` units fit (checked commit/consume); reloads the peer when the cache is short.
  [[nodiscard]] bool fits(std::size_t n) noexcept {
    if (n <= room_cached()) return true;
    if (n > cap_) return false;
    refresh();
    return n <= room_cached();
  }
  /// Hands `n` units to the peer: (R1) for the producer, pairs with (A1) in the consumer's
  /// refresh(); (R2) for the consumer, pairs with (A2) in the producer's refresh().
  void publish(std::size_t n) noexcept {
    pos_ = pos_.get() + n;
    mine_.get()->store(pos_, std::memory_order_release);
  }
  /// Filled units as a hint (the peer may move concurrently): no data is read through it.
  [[nodiscard]] std::size_t size_hint() const noexcept {
    if (cap_ == 0) return 0;
    // (X2) relaxed: a hint only.
    const std::uint64_t peer = peer_.get()->load(std::memory_order_relaxed);
    return static_cast<std::size_t>(Producer ? pos_ - peer : peer - pos_);
  }
  /// The counter this side stores, and the peer's (two sides belong to one ring when one's
  /// own counter is the other's peer counter).
  [[nodiscard]] const std::atomic<std::uint64_t>* own_counter() const noexcept { return mine_; }
  [[nodiscard]] const std::atomic<std::uint64_t>* peer_counter() const noexcept { return peer_; }
  /// Moves this side to position `p` and takes `p` as the peer's position too. Only for the
  /// owner of both sides of an empty ring on one thread, moving both to the same `p` (rewind()).
  void jump(std::uint64_t p) noexcept {
    pos_ = p;
    peer_pos_ = p;
    // (X3) release, as publish(): the peer side is moved by the same thread right after.
    mine_.get()->store(p, std::memory_order_release);
  }
  /// Where `n` units starting at this side's position lie.
  [[nodiscard]] Run run(std::size_t n, bool contiguous) const noexcept {
    return ring_run(pos_, n, cap_, contiguous);
  }

 private:
  Moved<std::atomic<std::uint64_t>*> mine_;
  Moved<const std::atomic<std::uint64_t>*> peer_;
  Moved<std::size_t> cap_;
  Moved<std::uint64_t> pos_;       // private copy of this side's counter (only this side stores it)
  Moved<std::uint64_t> peer_pos_;  // last observed value of the peer's counter
};

using ProducerCursor = Cursor<true>;
using ConsumerCursor = Cursor<false>;

/// What a half does right after it closes (e.g. wake the peer sleeping on the ring).
struct NoWake {
  template <class Core>
  void operator()(Core& /*core*/) const noexcept {}
};

/// A ring half's share of the ring's shared core, and the half's own "open" flag. Closing
/// (close(), destruction, or being overwritten by a move) stores false to the flag with release
/// order — (R3), pairs with (A3) in the peer's peer_alive() — then runs Wake on the core, and
/// drops the share; the core is freed with its last half. Moves leave the source empty, so the
/// halves move by the rule of zero.
template <class Core, std::atomic<bool> Core::*Mine, std::atomic<bool> Core::*Peer = nullptr,
          class Wake = NoWake>
class HalfLink {
 public:
  HalfLink() noexcept = default;
  explicit HalfLink(std::shared_ptr<Core> core) noexcept : owner_(std::move(core)) {}
  HalfLink(const HalfLink&) = delete;
  HalfLink& operator=(const HalfLink&) = delete;
  HalfLink(HalfLink&& o) noexcept = default;
  HalfLink& operator=(HalfLink&& o) noexcept {
    if (this != &o) {
      close();
      owner_ = std::move(o.owner_);
    }
    return *this;
  }
  ~HalfLink() { close(); }

  [[nodiscard]] Core* get() const noexcept { return owner_.get(); }
  [[nodiscard]] explicit operator bool() const noexcept { return owner_ != nullptr; }
  /// (A3) acquire: pairs with the peer's (R3) close, so everything the peer published before
  /// closing is visible once this returns false.
  [[nodiscard]] bool peer_alive() const noexcept {
    static_assert(Peer != nullptr, "this half's peer liveness is not a flag");
    return owner_ != nullptr && ((*owner_).*Peer).load(std::memory_order_acquire);
  }
  /// Idempotent.
  void close() noexcept {
    if (owner_ == nullptr) return;
    ((*owner_).*Mine).store(false, std::memory_order_release);  // (R3) see the class comment
    Wake{}(*owner_);
    owner_.reset();
  }

 private:
  std::shared_ptr<Core> owner_;
};

}  // namespace ringkit::detail
