// ringkit/broadcast.hpp: a one-writer, many-reader broadcast ring of trivially copyable T (the
// LMAX Disruptor's shape): every reader sees every element, in order, from the moment it joins.
//
// BroadcastRing<T, Policy>::create(capacity) makes the shared ring; take_writer() hands out its
// one writer, subscribe() a reader (any number, at any time, from any thread). A reader starts
// at the current sequence (it never sees elements published before it joined) and leaves when
// it is closed or destroyed. Two policies decide what happens when the slowest reader is a whole
// ring behind:
//   BroadcastPolicy::gated      the writer waits: try_publish() fails, publish() blocks
//                               (spin, then futex sleep), publish_for() gives up at a deadline;
//   BroadcastPolicy::overwrite  the writer never waits; a lapped reader's next call returns
//                               RecvStatus::lagged with the number of elements it lost, and it
//                               carries on from the oldest element still in the ring (half a
//                               ring behind the writer if it is lapped again before it read
//                               anything). A slot rewritten during a read is detected and never
//                               returned torn.
// Readers take elements one by one (try_pop/pop/pop_for), in copied batches (read/read_for),
// or in place: readable() shows what is published up to the wrap of the storage, consume(n)
// moves past it (wait_for() waits until there is something).
//
//   auto ring = *ringkit::BroadcastRing<Tick>::create(4096);        // gated
//   auto writer = *ring.take_writer();
//   auto reader = *ring.subscribe();                                // on the reader's thread
//   (void)writer.publish(tick);                                     // waits for the slowest
//   Tick t;
//   while (reader.pop(t)) handle(t);                                // until closed and drained
//
// Closing: ring.close(), writer.close() or the writer's destruction ends the stream: publishing
// fails with Errc::closed, waiting readers and a waiting writer wake up, and every reader
// drains what was published before it sees RecvStatus::closed. The liveness queries use the
// words of every other ringkit ring: a handle's peer_alive() is false once the stream is closed
// (for a reader: the writer is gone or the ring was closed; for the writer: the ring was
// closed, so nothing it publishes can be received); the shared ring's is_open() says the same.
//
// Thread safety: BroadcastRing is a thread-safe shared handle (copies may be used anywhere at
// once). BroadcastWriter and BroadcastReader are move-only and single-owner; each may live on
// its own thread. T: trivially copyable. Capacity is rounded up to a power of two. Sequences are
// 63-bit (they do not wrap in practice: 2^63 elements at 10^9 per second take 292 years).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

#include <ringkit/channel.hpp>
#include <ringkit/detail/config.hpp>
#include <ringkit/detail/typed_storage.hpp>
#include <ringkit/detail/wait.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>

namespace ringkit {

/// What the writer does when the slowest reader is a whole ring behind.
enum class BroadcastPolicy : std::uint8_t {
  gated,      ///< wait for the slowest reader (no element is ever lost)
  overwrite,  ///< never wait; lapped readers lose the oldest elements and are told how many
};

/// Outcome of a reader's try_pop/pop/read call.
enum class RecvStatus : std::uint8_t {
  ok,         ///< `count` elements were delivered
  empty,      ///< nothing published yet (would block)
  lagged,     ///< overwrite only: `count` elements were lost to the writer; nothing delivered
  closed,     ///< the ring is closed and this reader has read everything
  timed_out,  ///< the deadline passed with nothing to deliver
};

/// A reader call's status and count (elements delivered when ok, lost when lagged).
struct [[nodiscard]] RecvResult {
  RecvStatus status = RecvStatus::empty;
  std::uint64_t count = 0;

  /// True when elements were delivered.
  explicit constexpr operator bool() const noexcept { return status == RecvStatus::ok; }
  [[nodiscard]] constexpr bool ok() const noexcept { return status == RecvStatus::ok; }
  [[nodiscard]] constexpr bool lagged() const noexcept { return status == RecvStatus::lagged; }
  [[nodiscard]] constexpr bool closed() const noexcept { return status == RecvStatus::closed; }
  [[nodiscard]] constexpr bool timed_out() const noexcept {
    return status == RecvStatus::timed_out;
  }
  /// Elements lost (lagged), 0 otherwise.
  [[nodiscard]] constexpr std::uint64_t lost() const noexcept {
    return status == RecvStatus::lagged ? count : 0;
  }
};

namespace detail {

/// Cursor value of a reader slot nobody holds.
inline constexpr std::uint64_t kFreeCursor = ~std::uint64_t{0};

/// One reader's cursor (the next sequence it will read), alone in its false-sharing range:
/// the reader stores it on every consume, the writer only reads it when its cache says full.
struct alignas(kFalseSharingRange) BroadcastCursor {
  std::atomic<std::uint64_t> pos{kFreeCursor};
};

/// The readers' cursors: chunks of slots in a list that only grows (slots are reused), so the
/// writer scans it without a lock while readers join (under a mutex) and leave (one store).
class BroadcastRegistry {
 public:
  static constexpr std::size_t kChunkSlots = 8;

  BroadcastRegistry();
  BroadcastRegistry(const BroadcastRegistry&) = delete;
  BroadcastRegistry& operator=(const BroadcastRegistry&) = delete;
  BroadcastRegistry(BroadcastRegistry&&) = delete;
  BroadcastRegistry& operator=(BroadcastRegistry&&) = delete;
  ~BroadcastRegistry();

  /// Claims a free slot and announces it at the current sequence of `published`, so that a
  /// writer scanning concurrently either sees the new cursor or was already past the sequence
  /// the reader starts at (see BroadcastRing's design note). Returns the slot with its
  /// cursor set to the start sequence, or nullptr when out of memory.
  [[nodiscard]] BroadcastCursor* join(const std::atomic<std::uint64_t>& published) noexcept;
  /// Frees `slot` (the writer stops waiting for it).
  void leave(BroadcastCursor* slot) noexcept;
  /// The smallest cursor of the joined readers, or `upper` when smaller or nobody has joined.
  /// `gate`: seq_cst loads, for the writer's gate (pairs with join()); otherwise acquire.
  [[nodiscard]] std::uint64_t min_cursor(std::uint64_t upper, bool gate) const noexcept;
  /// Readers joined now (a hint while readers join or leave).
  [[nodiscard]] std::size_t size_hint() const noexcept {
    return active_.load(std::memory_order_relaxed);  // (X10) a count for reports only
  }

 private:
  struct Chunk {
    BroadcastCursor slots[kChunkSlots];
    std::unique_ptr<Chunk> next_owner;  // the list owns its chunks (join() holds mutex_)
    std::atomic<Chunk*> next{nullptr};  // (R11) published by join(); (A11) in min_cursor()
  };
  Chunk head_;
  std::mutex mutex_;  // serialises join(): claiming a slot and appending chunks
  std::atomic<std::size_t> active_{0};
};

/// Shared state of a broadcast ring.
template <class T>
struct BroadcastCore {
  // The writer's line: `published` is stored on every publish; `open` is read there too.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> published{0};  // (G1)/(O7) stores
  std::atomic<bool> open{true};                                         // (R12) close()
  // Read on every publish / consume, written only around sleeps: a read-mostly line.
  alignas(kFalseSharingRange) WaitSlot data_ready;  // readers sleep here
  WaitSlot space_ready;                             // the gated writer sleeps here
  alignas(kFalseSharingRange) std::atomic<bool> writer_taken{false};
  BroadcastRegistry readers;
  RawStorage storage;
  std::byte* base = nullptr;  // element i of the ring at base + i * sizeof(T)
  std::size_t cap = 0;        // a power of two
  // Overwrite policy: slot i's stamp is 2s + 1 while sequence s is written, 2s + 2 once done.
  std::unique_ptr<std::atomic<std::uint64_t>[]> stamps;

  void close() noexcept {
    // (R12) pairs with (A12) in the readers and the writer: everything published before is
    // visible to whoever sees the ring closed.
    open.store(false, std::memory_order_release);
    data_ready.wake_all();
    space_ready.wake_all();
  }
  [[nodiscard]] bool is_open() const noexcept {
    return open.load(std::memory_order_acquire);  // (A12) pairs with (R12)
  }
};

/// The word the overwrite policy copies an element with: the widest of 8, 4, 2, 1 bytes that
/// divides sizeof(T) (elements sit at multiples of sizeof(T) from a page-aligned base, so every
/// word is naturally aligned, as std::atomic_ref requires).
template <class T>
using BroadcastWord = std::conditional_t<
    sizeof(T) % 8 == 0, std::uint64_t,
    std::conditional_t<sizeof(T) % 4 == 0, std::uint32_t,
                       std::conditional_t<sizeof(T) % 2 == 0, std::uint16_t, std::uint8_t>>>;

template <class T>
inline constexpr std::size_t kBroadcastWords = sizeof(T) / sizeof(BroadcastWord<T>);

[[nodiscard]] constexpr std::uint64_t stamp_writing(std::uint64_t seq) noexcept {
  return 2 * seq + 1;
}
[[nodiscard]] constexpr std::uint64_t stamp_done(std::uint64_t seq) noexcept { return 2 * seq + 2; }

}  // namespace detail

template <class T, BroadcastPolicy Policy>
class BroadcastRing;

/// The one writer of a broadcast ring. Move-only, single-owner; destroying it closes the ring.
template <class T, BroadcastPolicy Policy = BroadcastPolicy::gated>
class alignas(kFalseSharingRange) BroadcastWriter {
  static_assert(std::is_trivially_copyable_v<T>, "BroadcastRing<T>: T must be trivially copyable");

 public:
  static constexpr BroadcastPolicy kPolicy = Policy;
  /// overwrite: writable() offers at most this many elements per call (a staging buffer).
  static constexpr std::size_t kMaxStage = 256;

  BroadcastWriter() noexcept = default;
  BroadcastWriter(BroadcastWriter&& o) noexcept { take(o); }
  BroadcastWriter& operator=(BroadcastWriter&& o) noexcept {
    if (this != &o) {
      close();
      take(o);
    }
    return *this;
  }
  BroadcastWriter(const BroadcastWriter&) = delete;
  BroadcastWriter& operator=(const BroadcastWriter&) = delete;
  ~BroadcastWriter() { close(); }

  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool valid() const noexcept { return core_ != nullptr; }
  /// False once the ring is closed (by anyone) or this handle is empty: nothing published from
  /// now on can be received.
  [[nodiscard]] bool peer_alive() const noexcept { return core_ != nullptr && core_->is_open(); }
  /// The sequence the next published element gets (= elements published so far).
  [[nodiscard]] std::uint64_t sequence() const noexcept { return pos_; }
  /// Readers joined now (a hint while readers join and leave).
  [[nodiscard]] std::size_t reader_count() const noexcept {
    return core_ == nullptr ? 0 : core_->readers.size_hint();
  }

  /// Publishes `v`. gated: false when the slowest reader is a whole ring behind; both: false
  /// once the ring is closed.
  [[nodiscard]] bool try_publish(const T& v) noexcept {
    if constexpr (Policy == BroadcastPolicy::gated) {
      if (pos_ - min_cache_ == cap_) [[unlikely]] {
        if (core_ == nullptr) return false;
        refresh();
        if (pos_ - min_cache_ == cap_) return false;
      }
      if (!core_->is_open()) [[unlikely]]
        return false;
      std::memcpy(slot(pos_), &v, sizeof(T));
    } else {
      if (core_ == nullptr || !core_->is_open()) [[unlikely]]
        return false;
      write_slot(pos_, v);
    }
    publish_to(pos_ + 1);
    return true;
  }
  /// Publishes a prefix of `src`; returns its length. gated: as many as fit (0 when full);
  /// overwrite: all of them. 0 once the ring is closed.
  [[nodiscard]] std::size_t try_publish(std::span<const T> src) noexcept {
    if (core_ == nullptr || src.empty() || !core_->is_open()) return 0;
    std::size_t n = src.size();
    if constexpr (Policy == BroadcastPolicy::gated) {
      if (free_cached() < n) refresh();
      n = std::min(n, free_cached());
      if (n == 0) return 0;
      const std::size_t idx = static_cast<std::size_t>(pos_) & (cap_ - 1);
      const std::size_t first = std::min(n, cap_ - idx);
      std::memcpy(slot(pos_), src.data(), first * sizeof(T));
      if (n > first) std::memcpy(core_->base, src.data() + first, (n - first) * sizeof(T));
    } else {
      for (std::size_t i = 0; i < n; ++i) write_slot(pos_ + i, src[i]);
    }
    publish_to(pos_ + n);
    return n;
  }
  /// Publishes `v`, waiting (gated) while the slowest reader is a whole ring behind.
  /// Returns Errc::ok, or Errc::closed once the ring is closed (then nothing is published).
  [[nodiscard]] Errc publish(const T& v) noexcept {
    return publish_until(v, detail::Clock::time_point::max());
  }
  /// Same, waiting at most `timeout`; Errc::timed_out if the ring stayed full.
  [[nodiscard]] Errc publish_for(const T& v, std::chrono::nanoseconds timeout) noexcept {
    return publish_until(v, detail::deadline_after(timeout));
  }

  /// Free slots to fill in place, then commit(n). gated: the space the cached reader minimum
  /// allows, up to the wrap (it may show less than is free, never more; empty when full or
  /// closed). overwrite: a staging buffer of up to kMaxStage elements that commit() copies
  /// into the ring (readers may be reading the ring's slots at any time). Invalidated by the
  /// next call on this writer.
  [[nodiscard]] std::span<T> writable() noexcept RINGKIT_LIFETIMEBOUND {
    if (core_ == nullptr || !core_->is_open()) return {};
    if constexpr (Policy == BroadcastPolicy::gated) {
      if (free_cached() == 0) refresh();
      const std::size_t idx = static_cast<std::size_t>(pos_) & (cap_ - 1);
      return {reinterpret_cast<T*>(slot(pos_)), std::min(free_cached(), cap_ - idx)};
    } else {
      return {reinterpret_cast<T*>(stage_.data()), std::min(cap_, kMaxStage)};
    }
  }
  /// Publishes the first `n` elements of writable(). Errc::over_commit (nothing published) if
  /// `n` exceeds the free space; Errc::closed once the ring is closed.
  [[nodiscard]] Errc commit(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    if (core_ == nullptr) return Errc::over_commit;
    if (!core_->is_open()) return Errc::closed;
    if constexpr (Policy == BroadcastPolicy::gated) {
      if (n > free_cached()) {
        if (n > cap_) return Errc::over_commit;
        refresh();
        if (n > free_cached()) return Errc::over_commit;
      }
    } else {
      if (n > std::min(cap_, kMaxStage)) return Errc::over_commit;
      const auto* staged = reinterpret_cast<const T*>(stage_.data());
      for (std::size_t i = 0; i < n; ++i) write_slot(pos_ + i, staged[i]);
    }
    publish_to(pos_ + n);
    return Errc::ok;
  }

  /// How far behind the slowest reader is, as a fraction of the capacity, in [0, 1] (1 when a
  /// reader of the overwrite policy was lapped). Scans the readers' cursors: O(readers).
  [[nodiscard]] double backpressure_ratio() const noexcept {
    if (core_ == nullptr) return 0.0;
    const std::uint64_t lag = pos_ - core_->readers.min_cursor(pos_, false);
    return lag >= cap_ ? 1.0 : static_cast<double>(lag) / static_cast<double>(cap_);
  }
  /// backpressure_ratio() > 0.8.
  [[nodiscard]] bool is_under_pressure() const noexcept { return backpressure_ratio() > 0.8; }
  /// backpressure_ratio() >= 0.9.
  [[nodiscard]] bool should_throttle() const noexcept { return backpressure_ratio() >= 0.9; }

  /// Ends the stream: readers drain what was published, then see RecvStatus::closed.
  void close() noexcept {
    if (core_ == nullptr) return;
    core_->close();
    core_ = nullptr;
    owner_.reset();
    stage_ = {};
    cap_ = 0;
    pos_ = min_cache_ = 0;
  }

 private:
  friend class BroadcastRing<T, Policy>;
  using Word = detail::BroadcastWord<T>;
  static constexpr std::size_t kWords = detail::kBroadcastWords<T>;

  BroadcastWriter(std::shared_ptr<detail::BroadcastCore<T>> core, detail::RawStorage stage)
      : owner_(std::move(core)),
        core_(owner_.get()),
        stage_(std::move(stage)),
        cap_(core_->cap),
        // (X13) relaxed: take_writer()'s exchange (A13) ordered us after the ring's creation.
        pos_(core_->published.load(std::memory_order_relaxed)),
        min_cache_(pos_) {}

  [[nodiscard]] std::byte* slot(std::uint64_t seq) const noexcept {
    return core_->base + (static_cast<std::size_t>(seq) & (cap_ - 1)) * sizeof(T);
  }
  [[nodiscard]] std::size_t free_cached() const noexcept {
    return cap_ - static_cast<std::size_t>(pos_ - min_cache_);
  }
  /// gated: reloads the readers' minimum cursor (the only place the writer looks at them).
  void refresh() noexcept {
    // (S1) seq_cst: re-stores the unchanged sequence so that this scan and a joining reader's
    // announcement (J2, J3 in BroadcastRegistry::join) form a Dekker pair: either the scan's
    // seq_cst loads (S2) see the new cursor, or the reader's seq_cst load sees this store and
    // starts at or after it. Release/acquire cannot order a store before a later load.
    core_->published.store(pos_, std::memory_order_seq_cst);
    min_cache_ = core_->readers.min_cursor(pos_, true);  // (S2)
  }
  /// overwrite: the seqlock write of one slot.
  void write_slot(std::uint64_t seq, const T& v) noexcept {
    const std::size_t k = static_cast<std::size_t>(seq) & (cap_ - 1);
    Word words[kWords];
    std::memcpy(words, &v, sizeof(T));
    // (O1) relaxed: "sequence `seq` is being written"; ordered before the word stores by their
    // release (O2), which is what a reader's re-check (O6) relies on.
    core_->stamps[k].store(detail::stamp_writing(seq), std::memory_order_relaxed);
    auto* dst = reinterpret_cast<Word*>(core_->base + k * sizeof(T));
    for (std::size_t i = 0; i < kWords; ++i) {
      // (O2) release: a reader whose load (O5) sees this word also sees (O1) in its re-check.
      std::atomic_ref<Word>(dst[i]).store(words[i], std::memory_order_release);
    }
    // (O3) "sequence `seq` is complete"; pairs with (O4) in BroadcastReader::copy_slot().
    core_->stamps[k].store(detail::stamp_done(seq), std::memory_order_release);
  }
  void publish_to(std::uint64_t pos) noexcept {
    pos_ = pos;
    // (G1) publish; pairs with (A1) in BroadcastReader (gated: the elements themselves;
    // overwrite: only the count, the stamps carry the elements).
    core_->published.store(pos_, std::memory_order_release);
    core_->data_ready.notify();
  }
  Errc publish_until(const T& v, detail::Clock::time_point deadline) noexcept {
    for (;;) {
      if (core_ == nullptr || !core_->is_open()) return Errc::closed;
      if (try_publish(v)) return Errc::ok;
      if constexpr (Policy == BroadcastPolicy::overwrite) {
        return Errc::closed;  // try_publish fails only once closed
      } else {
        const bool ready = core_->space_ready.wait(
            [this] {
              refresh();
              return pos_ - min_cache_ != cap_ || !core_->is_open();
            },
            deadline);
        if (!ready) return Errc::timed_out;
      }
    }
  }
  void take(BroadcastWriter& o) noexcept {
    owner_ = std::move(o.owner_);
    core_ = std::exchange(o.core_, nullptr);
    stage_ = std::move(o.stage_);
    cap_ = std::exchange(o.cap_, 0);
    pos_ = std::exchange(o.pos_, 0);
    min_cache_ = std::exchange(o.min_cache_, 0);
  }

  std::shared_ptr<detail::BroadcastCore<T>> owner_;
  detail::BroadcastCore<T>* core_ = nullptr;
  detail::RawStorage stage_;  // overwrite: writable()'s staging buffer
  std::size_t cap_ = 0;
  std::uint64_t pos_ = 0;        // next sequence to publish (published up to here)
  std::uint64_t min_cache_ = 0;  // gated: a lower bound of every reader's cursor
};

/// A reader of a broadcast ring: its own cursor, its own counters. Move-only, single-owner;
/// closing or destroying it leaves the ring (a gated writer stops waiting for it).
template <class T, BroadcastPolicy Policy = BroadcastPolicy::gated>
class alignas(kFalseSharingRange) BroadcastReader {
  static_assert(std::is_trivially_copyable_v<T>, "BroadcastRing<T>: T must be trivially copyable");

 public:
  static constexpr BroadcastPolicy kPolicy = Policy;

  BroadcastReader() noexcept = default;
  BroadcastReader(BroadcastReader&& o) noexcept { take(o); }
  BroadcastReader& operator=(BroadcastReader&& o) noexcept {
    if (this != &o) {
      close();
      take(o);
    }
    return *this;
  }
  BroadcastReader(const BroadcastReader&) = delete;
  BroadcastReader& operator=(const BroadcastReader&) = delete;
  ~BroadcastReader() { close(); }

  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool valid() const noexcept { return core_ != nullptr; }
  /// False once the writer is gone or the ring is closed (what was published stays readable),
  /// or the handle is empty.
  [[nodiscard]] bool peer_alive() const noexcept { return core_ != nullptr && core_->is_open(); }
  /// The sequence of the next element this reader reads.
  [[nodiscard]] std::uint64_t position() const noexcept { return pos_; }
  /// The sequence this reader started at (the writer's sequence when it joined).
  [[nodiscard]] std::uint64_t start_position() const noexcept { return start_; }
  /// Elements published and not yet read (may exceed capacity() in overwrite mode: those
  /// beyond it are already lost).
  [[nodiscard]] std::uint64_t lag() const noexcept {
    if (core_ == nullptr) return 0;
    // (A1) pairs with (G1).
    const std::uint64_t pub = core_->published.load(std::memory_order_acquire);
    return pub > pos_ ? pub - pos_ : 0;
  }
  /// lag() as a fraction of the capacity, in [0, 1].
  [[nodiscard]] double backpressure_ratio() const noexcept {
    const std::uint64_t l = lag();
    return l >= cap_ ? (cap_ == 0 ? 0.0 : 1.0) : static_cast<double>(l) / static_cast<double>(cap_);
  }
  /// backpressure_ratio() > 0.8.
  [[nodiscard]] bool is_under_pressure() const noexcept { return backpressure_ratio() > 0.8; }
  /// backpressure_ratio() >= 0.9.
  [[nodiscard]] bool should_throttle() const noexcept { return backpressure_ratio() >= 0.9; }
  /// overwrite: how many times this reader was lapped (lagged results and lagged consumes).
  [[nodiscard]] std::uint64_t lapped_count() const noexcept { return lapped_; }
  /// overwrite: elements this reader lost to the writer, in total. Always
  /// position() - start_position() == elements delivered + lost_count().
  [[nodiscard]] std::uint64_t lost_count() const noexcept { return lost_; }

  /// Takes the next element into `out`: ok(1), empty, lagged(n), or closed (closed and
  /// drained). overwrite, lagged(n): n elements were lost and the reader moved on to the oldest
  /// element left. If it is lapped again before it delivered anything, it resumes half a ring
  /// (capacity() / 2) behind the writer instead: a reader slower than the writer would
  /// otherwise sit on the slot the writer rewrites next, where every copy tears and every
  /// attempt takes the writer's cache lines away (measured: the writer's cost per element
  /// doubled with two such readers).
  [[nodiscard]] RecvResult try_pop(T& out) noexcept { return read(std::span<T>(&out, 1)); }
  /// Copies up to out.size() elements out: ok(n), or as try_pop(). overwrite: every element
  /// is checked against its stamp, so none is ever torn; a lap found after some elements were
  /// copied ends the batch early (ok) and is reported by the next call.
  [[nodiscard]] RecvResult read(std::span<T> out) noexcept {
    if (core_ == nullptr) return {RecvStatus::closed, 0};
    if (out.empty()) return {RecvStatus::ok, 0};
    if constexpr (Policy == BroadcastPolicy::gated) {
      std::size_t avail = avail_cached();
      if (avail < out.size()) {
        refresh();
        avail = avail_cached();
        if (avail == 0) {
          if (core_->is_open()) return {RecvStatus::empty, 0};  // (A12) then (A1) below
          refresh();
          avail = avail_cached();
          if (avail == 0) return {RecvStatus::closed, 0};
        }
      }
      const std::size_t n = std::min(avail, out.size());
      const std::size_t idx = static_cast<std::size_t>(pos_) & (cap_ - 1);
      const std::size_t first = std::min(n, cap_ - idx);
      std::memcpy(static_cast<void*>(out.data()), slot(pos_), first * sizeof(T));
      if (n > first)
        std::memcpy(static_cast<void*>(out.data() + first), core_->base, (n - first) * sizeof(T));
      advance(n);
      return {RecvStatus::ok, n};
    } else {
      view_ = 0;  // a readable() view is invalidated by any other call
      std::size_t n = 0;
      bool drained_closed = false;
      while (n < out.size()) {
        const Copy c = copy_slot(out[n]);
        if (c == Copy::ok) {
          ++pos_;
          ++n;
          chasing_ = false;
          continue;
        }
        if (n != 0) break;  // deliver what we have; the next call reports the rest
        if (c == Copy::lapped) return skip_lapped();
        // Not written yet: closed and drained, or just empty. Read `open` first, then look
        // again: everything published before close() is then visible (A12 after O3).
        if (drained_closed) return {RecvStatus::closed, 0};
        if (core_->is_open()) return {RecvStatus::empty, 0};
        drained_closed = true;
      }
      store_cursor();
      return {RecvStatus::ok, n};
    }
  }
  /// Takes the next element, waiting while none is published (spin, then sleep). Never
  /// returns empty; lagged as try_pop(); closed once closed and drained.
  [[nodiscard]] RecvResult pop(T& out) noexcept {
    return read_until(std::span<T>(&out, 1), detail::Clock::time_point::max());
  }
  /// Same, waiting at most `timeout`: RecvStatus::timed_out if nothing came.
  [[nodiscard]] RecvResult pop_for(T& out, std::chrono::nanoseconds timeout) noexcept {
    return read_until(std::span<T>(&out, 1), detail::deadline_after(timeout));
  }
  /// read() that waits (at most `timeout`) until at least one element is published.
  [[nodiscard]] RecvResult read_for(std::span<T> out, std::chrono::nanoseconds timeout) noexcept {
    return read_until(out, detail::deadline_after(timeout));
  }

  /// Waits (spin, then sleep) until something is published past position(), for batch
  /// readers that then take readable(): ok(n) with n = lag() at that moment, closed once the
  /// ring is closed and this reader has read everything, or timed_out.
  [[nodiscard]] RecvResult wait_for(std::chrono::nanoseconds timeout) noexcept {
    if (core_ == nullptr) return {RecvStatus::closed, 0};
    const auto deadline = detail::deadline_after(timeout);
    for (;;) {
      const bool open = core_->is_open();  // (A12) before (A1): see read()
      if (has_data()) return {RecvStatus::ok, pub_cache_ - pos_};
      if (!open) return {RecvStatus::closed, 0};
      const bool ready =
          core_->data_ready.wait([this] { return has_data() || !core_->is_open(); }, deadline);
      if (!ready) return {RecvStatus::timed_out, 0};
    }
  }

  /// The published elements from position() on, up to the wrap of the storage (the rest
  /// follows on the next call), in place; then consume(n). Invalidated by the next call on
  /// this reader.
  /// gated: the elements are stable until consume(); the writer cannot touch them.
  /// overwrite: the view is NOT a snapshot. The writer may rewrite any of its slots at any
  /// moment (it never waits), and reading a slot while it is rewritten is a data race: use the
  /// view only while the writer is known not to publish (stopped, or closed), or accept that
  /// what you read may be garbage until consume(n) says otherwise. consume(n) returns
  /// Errc::lagged if the writer had started to overwrite any of those n elements by then:
  /// discard what you read. If the reader was already lapped, the view starts at the oldest
  /// element left and the loss is counted in lost_count(). For race-free, stamp-checked copies
  /// use try_pop()/read().
  [[nodiscard]] std::span<const T> readable() noexcept RINGKIT_LIFETIMEBOUND {
    if (core_ == nullptr) return {};
    refresh();
    if constexpr (Policy == BroadcastPolicy::overwrite) {
      if (pub_cache_ - pos_ > cap_) {
        lose(pub_cache_ - cap_ - pos_);
        store_cursor();
      }
    }
    const std::size_t idx = static_cast<std::size_t>(pos_) & (cap_ - 1);
    view_ = std::min(avail_cached(), cap_ - idx);
    return {reinterpret_cast<const T*>(slot(pos_)), view_};
  }
  /// Moves past the first `n` elements of readable(). Errc::over_consume (nothing moved) if
  /// `n` exceeds it. overwrite: Errc::lagged (the reader still moves past them, and they count
  /// as lost) if the writer had begun overwriting any of them.
  [[nodiscard]] Errc consume(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    if constexpr (Policy == BroadcastPolicy::gated) {
      if (n > avail_cached()) return Errc::over_consume;
      advance(n);
      return Errc::ok;
    } else {
      if (core_ == nullptr || n > view_) return Errc::over_consume;
      view_ -= n;
      const std::size_t k = static_cast<std::size_t>(pos_) & (cap_ - 1);
      // (O4) pairs with (O3): the oldest viewed slot still holds pos_, so the writer has not
      // begun to overwrite any of the n (it rewrites slots in sequence order).
      const bool intact =
          core_->stamps[k].load(std::memory_order_acquire) == detail::stamp_done(pos_);
      if (!intact) {
        lose(n);
        store_cursor();
        return Errc::lagged;
      }
      pos_ += n;
      chasing_ = false;
      store_cursor();
      return Errc::ok;
    }
  }

  /// Leaves the ring: a gated writer no longer waits for this reader.
  void close() noexcept {
    if (core_ == nullptr) return;
    core_->readers.leave(cursor_);
    core_->space_ready.notify();  // a gated writer may have been waiting for this reader
    core_ = nullptr;
    cursor_ = nullptr;
    owner_.reset();
    cap_ = 0;
    view_ = 0;
  }

 private:
  friend class BroadcastRing<T, Policy>;
  using Word = detail::BroadcastWord<T>;
  static constexpr std::size_t kWords = detail::kBroadcastWords<T>;
  enum class Copy : std::uint8_t { ok, not_yet, lapped };

  BroadcastReader(std::shared_ptr<detail::BroadcastCore<T>> core,
                  detail::BroadcastCursor* cursor) noexcept
      : owner_(std::move(core)),
        core_(owner_.get()),
        cursor_(cursor),
        cap_(core_->cap),
        // (X14) relaxed: join() stored it on this thread.
        pos_(cursor->pos.load(std::memory_order_relaxed)),
        start_(pos_),
        pub_cache_(pos_) {}

  [[nodiscard]] std::byte* slot(std::uint64_t seq) const noexcept {
    return core_->base + (static_cast<std::size_t>(seq) & (cap_ - 1)) * sizeof(T);
  }
  [[nodiscard]] std::size_t avail_cached() const noexcept {
    return static_cast<std::size_t>(std::min<std::uint64_t>(pub_cache_ - pos_, cap_));
  }
  void refresh() noexcept {
    // (A1) observe published elements; pairs with (G1) in BroadcastWriter::publish_to().
    pub_cache_ = core_->published.load(std::memory_order_acquire);
  }
  void store_cursor() noexcept {
    // (C1) release: our copies of the slots before pos_ are done; pairs with the writer's scan
    // (S2) in BroadcastRegistry::min_cursor(), after which it may rewrite them.
    cursor_->pos.store(pos_, std::memory_order_release);
  }
  void advance(std::size_t n) noexcept {
    pos_ += n;
    store_cursor();
    core_->space_ready.notify();
  }
  void lose(std::uint64_t n) noexcept {
    pos_ += n;
    lost_ += n;
    ++lapped_;
  }
  /// overwrite: the seqlock read of the slot of pos_.
  Copy copy_slot(T& out) noexcept {
    const std::size_t k = static_cast<std::size_t>(pos_) & (cap_ - 1);
    const std::uint64_t want = detail::stamp_done(pos_);
    // (O4) pairs with (O3) in BroadcastWriter::write_slot(): the words of `pos_` are visible.
    const std::uint64_t before = core_->stamps[k].load(std::memory_order_acquire);
    if (before != want) return before > want ? Copy::lapped : Copy::not_yet;
    Word words[kWords];
    auto* src = reinterpret_cast<Word*>(core_->base + k * sizeof(T));
    for (std::size_t i = 0; i < kWords; ++i) {
      // (O5) acquire: pairs with (O2); a word of a newer sequence brings its (O1) along, and
      // keeps the re-check (O6) from moving up.
      words[i] = std::atomic_ref<Word>(src[i]).load(std::memory_order_acquire);
    }
    // (O6) relaxed re-check: still `want` means no word came from a later write (each such
    // word would make that write's O1 visible here), so the copy is whole.
    if (core_->stamps[k].load(std::memory_order_relaxed) != want) return Copy::lapped;
    std::memcpy(static_cast<void*>(&out), words, sizeof(T));
    return Copy::ok;
  }
  /// overwrite: the slot of pos_ was rewritten; move to the oldest element left.
  RecvResult skip_lapped() noexcept {
    refresh();  // (A1)
    std::uint64_t oldest = pub_cache_ > cap_ ? pub_cache_ - cap_ : 0;
    // Lapped again before delivering anything: resume half a ring behind the writer instead.
    if (chasing_ && pub_cache_ > cap_ / 2) oldest = pub_cache_ - cap_ / 2;
    chasing_ = true;
    const std::uint64_t to = std::max(pos_ + 1, oldest);
    const std::uint64_t n = to - pos_;
    lose(n);
    store_cursor();
    return {RecvStatus::lagged, n};
  }
  [[nodiscard]] bool has_data() noexcept {
    refresh();
    return pub_cache_ != pos_;
  }
  RecvResult read_until(std::span<T> out, detail::Clock::time_point deadline) noexcept {
    for (;;) {
      const RecvResult r = read(out);
      if (r.status != RecvStatus::empty) return r;
      const bool ready =
          core_->data_ready.wait([this] { return has_data() || !core_->is_open(); }, deadline);
      if (!ready) return {RecvStatus::timed_out, 0};
    }
  }
  void take(BroadcastReader& o) noexcept {
    owner_ = std::move(o.owner_);
    core_ = std::exchange(o.core_, nullptr);
    cursor_ = std::exchange(o.cursor_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    pos_ = std::exchange(o.pos_, 0);
    start_ = std::exchange(o.start_, 0);
    pub_cache_ = std::exchange(o.pub_cache_, 0);
    view_ = std::exchange(o.view_, 0);
    lapped_ = std::exchange(o.lapped_, 0);
    lost_ = std::exchange(o.lost_, 0);
    chasing_ = std::exchange(o.chasing_, false);
  }

  std::shared_ptr<detail::BroadcastCore<T>> owner_;
  detail::BroadcastCore<T>* core_ = nullptr;
  detail::BroadcastCursor* cursor_ = nullptr;
  std::size_t cap_ = 0;
  std::uint64_t pos_ = 0;        // next sequence to read
  std::uint64_t start_ = 0;      // sequence at join
  std::uint64_t pub_cache_ = 0;  // last published sequence seen
  std::size_t view_ = 0;         // overwrite: size of the last readable() not yet consumed
  std::uint64_t lapped_ = 0;
  std::uint64_t lost_ = 0;
  bool chasing_ = false;  // overwrite: lapped, and nothing delivered since
};

/// The shared handle of a broadcast ring: hands out its writer and its readers.
///
/// Design (memory-order protocol). One writer publishes sequence s into slot s & (capacity-1)
/// and then stores published = s + 1 (G1, release). Each reader owns a cursor (the next
/// sequence it reads) on its own false-sharing range, which only it stores (C1, release, after
/// its copies) and which the writer reads only to gate; readers never write anything the
/// writer or other readers read on their hot paths, so readers do not slow each other down.
///
/// gated: the writer may write sequence s only when s < min(cursors) + capacity. It keeps that
/// minimum in a private cache (as rigtorp's SPSC queue caches the reader index) and rescans
/// the cursors only when the cache says full, so an unloaded ring costs the writer one memcpy,
/// one release store and the wake-up check per element, whatever the number of readers. Reads
/// are plain memcpy after an acquire load of `published` (A1); the reader's release of its
/// cursor (C1) orders its copy before the writer's reuse of the slot (S2). A reader that
/// leaves stores a free marker: the next scan ignores it, so the writer never waits for it.
/// Joining races with the writer's cached minimum: a reader that reads published = P and
/// starts at P must not have slot P overwritten because a scan ran before its cursor was
/// visible. join() therefore stores its cursor (J2, seq_cst) and then reloads `published`
/// (J3, seq_cst), and every scan first re-stores `published` (S1, seq_cst) and then loads the
/// cursors with seq_cst (S2). In the single total order of seq_cst operations, either the
/// scan's load follows J2 (the scan sees the reader, so the new minimum is at most its start)
/// or J3 follows S1 (the reader starts at or after the sequence the scan saw, which bounds
/// that scan's minimum). This costs one locked store per rescan, never per element.
///
/// overwrite: the writer never looks at the cursors. Each slot has a stamp, a seqlock made of
/// atomics so it is defined under the C++ memory model (Boehm, "Can seqlocks get along with
/// programming language memory models?", 2012): the writer stores 2s+1 (O1), the element as
/// release stores of its words through std::atomic_ref (O2), then 2s+2 (O3,
/// release). A reader loads the stamp with acquire (O4); 2s+2 means the slot holds its
/// sequence s, a larger value that it was lapped, a smaller one that s is not written yet (so
/// the read path needs no load of `published`). It then loads the words with acquire (O5) and
/// the stamp again (O6). If any word came from a later write, that write's O1 happens-before
/// O6 (O2 release read by O5 acquire), so O6 sees a different stamp and the copy is dropped:
/// a torn element is never returned. Release stores and acquire loads are plain moves on
/// x86-64; the cost is that words are copied one by one (no vector moves) and that readers
/// read lines the writer is writing. A lapped reader skips to max(s + 1, published -
/// capacity), the oldest element left (half a ring behind the writer if it was lapped again
/// before it delivered anything: see try_pop()), counts the skipped elements and returns
/// lagged(n); so for every reader, elements delivered + elements lost = sequences published
/// since it joined.
///
/// Blocking calls use detail::WaitSlot (spin, then futex sleep): readers sleep on data_ready,
/// the gated writer on space_ready; each publish and consume pays one relaxed load to see
/// whether anyone sleeps.
template <class T, BroadcastPolicy Policy = BroadcastPolicy::gated>
class BroadcastRing {
  static_assert(std::is_trivially_copyable_v<T>, "BroadcastRing<T>: T must be trivially copyable");

 public:
  using value_type = T;
  using Writer = BroadcastWriter<T, Policy>;
  using Reader = BroadcastReader<T, Policy>;
  static constexpr BroadcastPolicy kPolicy = Policy;

  BroadcastRing() noexcept = default;

  /// Creates a ring of at least `capacity` elements (rounded up to a power of two).
  /// Errors: Errc::invalid_capacity (0 or too large); ENOMEM.
  [[nodiscard]] static Result<BroadcastRing> create(std::size_t capacity) {
    if (capacity == 0 || capacity > (std::size_t{1} << 40) / sizeof(T))
      return unexpected(Errc::invalid_capacity, "broadcast capacity");
    const std::size_t cap = std::bit_ceil(capacity);
    auto st = detail::RawStorage::create(cap * sizeof(T), MirrorMode::never, {});
    if (!st) return unexpected(st.error(), st.context());
    BroadcastRing ring;
    try {
      ring.core_ = std::make_shared<detail::BroadcastCore<T>>();
      if constexpr (Policy == BroadcastPolicy::overwrite)
        ring.core_->stamps = std::make_unique<std::atomic<std::uint64_t>[]>(cap);
    } catch (const std::bad_alloc&) {
      return unexpected_errno(ENOMEM, "BroadcastRing::create");
    }
    ring.core_->storage = std::move(*st);
    ring.core_->base = ring.core_->storage.data();
    ring.core_->cap = cap;
    return ring;
  }

  [[nodiscard]] bool valid() const noexcept { return core_ != nullptr; }
  [[nodiscard]] std::size_t capacity() const noexcept { return core_ ? core_->cap : 0; }
  /// False once the ring is closed.
  [[nodiscard]] bool is_open() const noexcept { return core_ != nullptr && core_->is_open(); }
  /// Readers joined now (a hint while readers join and leave).
  [[nodiscard]] std::size_t reader_count() const noexcept {
    return core_ ? core_->readers.size_hint() : 0;
  }

  /// The ring's one writer. Errors: Errc::busy if it was already taken (even if it is gone
  /// since), Errc::closed once closed, Errc::invalid_argument on an empty handle, ENOMEM.
  [[nodiscard]] Result<Writer> take_writer() const {
    if (core_ == nullptr) return unexpected(Errc::invalid_argument, "take_writer");
    if (!core_->is_open()) return unexpected(Errc::closed, "take_writer");
    detail::RawStorage stage;
    if constexpr (Policy == BroadcastPolicy::overwrite) {
      auto st = detail::RawStorage::create(std::min(core_->cap, Writer::kMaxStage) * sizeof(T),
                                           MirrorMode::never, {});
      if (!st) return unexpected(st.error(), st.context());
      stage = std::move(*st);
    }
    // (A13) acq_rel: exactly one caller wins; orders its writer after any earlier one's use.
    if (core_->writer_taken.exchange(true, std::memory_order_acq_rel))
      return unexpected(Errc::busy, "take_writer");
    return Writer(core_, std::move(stage));
  }
  /// Joins a new reader at the current sequence (it sees only elements published after this).
  /// Errors: Errc::closed once closed, Errc::invalid_argument on an empty handle, ENOMEM.
  [[nodiscard]] Result<Reader> subscribe() const {
    if (core_ == nullptr) return unexpected(Errc::invalid_argument, "subscribe");
    if (!core_->is_open()) return unexpected(Errc::closed, "subscribe");
    detail::BroadcastCursor* c = core_->readers.join(core_->published);
    if (c == nullptr) return unexpected_errno(ENOMEM, "subscribe");
    return Reader(core_, c);
  }
  /// Closes the ring: publishing fails with Errc::closed, every waiting reader and a waiting
  /// writer wake up, readers drain and then see RecvStatus::closed. Idempotent.
  void close() const noexcept {
    if (core_ != nullptr) core_->close();
  }

 private:
  std::shared_ptr<detail::BroadcastCore<T>> core_;
};

}  // namespace ringkit
