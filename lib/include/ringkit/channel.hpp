// ringkit/channel.hpp: SPSC and MPSC channels of trivially copyable T on mirrored rings.
//
// make_spsc<T>(capacity) -> {SpscProducer, SpscConsumer}: move-only single-owner halves.
// make_mpsc<T>(capacity) -> {MpscProducer, MpscConsumer}: producers are cheap copyable handles
// (one per thread), the consumer is move-only.
//
//   auto [tx, rx] = *ringkit::make_spsc<Order>(4096);
//   tx.push_slice(batch);                          // one copy, contiguous even across the wrap
//   for (const Order& o : rx.readable()) handle(o);
//   (void)rx.consume(n);
//
// Non-blocking calls (try_push, push_slice, try_pop, readable/consume) never wait and are
// the hot path. Blocking calls (push, pop, and the *_for variants with a timeout) spin briefly,
// then sleep on a futex, so an idle side uses ~0% CPU; the hot path pays only a compiler barrier
// and one relaxed load of a read-mostly word for that (see detail/wait.hpp). A side whose peer
// is gone is told so: pop() returns false once every producer is gone and the ring is drained;
// push() returns false when the consumer is gone.
//
// Storage is mirrored when possible (mirrored() says so): slices are whole across the wrap.
// On fallback storage, readable()/writable() end at the wrap while push_slice() and
// pop_slice() still copy everything that fits. T: ring_element (trivially copyable, sizeof(T)
// divides 4 KiB); capacity is rounded up to a power of two, and to whole pages unless
// MirrorMode::never is asked for.
//
// Thread safety: SpscProducer/SpscConsumer/MpscConsumer are single-owner; each MpscProducer
// handle is single-owner, and any number of handles (copies) may push concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include <ringkit/concepts.hpp>
#include <ringkit/detail/config.hpp>
#include <ringkit/detail/cursor.hpp>
#include <ringkit/detail/typed_storage.hpp>
#include <ringkit/detail/wait.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror_queue.hpp>
#include <ringkit/result.hpp>

namespace ringkit {
namespace detail {

using Clock = std::chrono::steady_clock;

[[nodiscard]] inline Clock::time_point deadline_after(std::chrono::nanoseconds t) noexcept {
  const auto now = Clock::now();
  if (t.count() < 0) return now;
  if (t >= Clock::time_point::max() - now) return Clock::time_point::max();
  return now + t;
}

/// Shared state of an SPSC channel.
template <class T>
struct SpscCore {
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> tail{0};  // producer stores (R1)
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> head{0};  // consumer stores (R2)
  // Read on every publish, written only around sleeps: a read-mostly line of its own.
  alignas(kFalseSharingRange) WaitSlot data_ready;      // consumer sleeps here
  WaitSlot space_ready;                                 // producer sleeps here
  alignas(kFalseSharingRange) TypedStorage<T> storage;  // immutable after creation
  std::atomic<bool> producer_open{true};
  std::atomic<bool> consumer_open{true};

  /// The cursor pair: the producer publishes tail, the consumer head.
  PositionPair positions() noexcept { return {&tail, &head}; }
  /// (A4) acquire: pairs with (R3) in the producer's close (HalfLink), so everything pushed
  /// before the close is visible once this returns false.
  [[nodiscard]] bool producers_alive() const noexcept {
    return producer_open.load(std::memory_order_acquire);
  }
};

/// Shared state of an MPSC channel.
template <class T>
struct MpscCore {
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> reserve{0};  // producers CAS (C1)
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> commit{
      0};  // producers advance in order (R1)
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> head{0};  // consumer stores (R2)
  alignas(kFalseSharingRange) WaitSlot data_ready;                 // consumer sleeps here
  WaitSlot space_ready;                                            // producers sleep here (full)
  alignas(kFalseSharingRange) TypedStorage<T> storage;             // immutable after creation
  // done[s & (capacity - 1)] == e: the reservation [s, e) is written but not yet committed
  // (see MpscProducer's design note). Starts at the initial position: "nothing done".
  std::unique_ptr<std::atomic<std::uint64_t>[]> done;
  std::atomic<std::uint32_t> producers{1};  // live producer handles
  std::atomic<bool> consumer_open{true};

  /// The consumer's cursor pair: producers publish `commit` (in order), the consumer `head`.
  PositionPair positions() noexcept { return {&commit, &head}; }
  /// (A4) acquire: pairs with (R4) in MpscProducer::close() (the last handle's decrement).
  [[nodiscard]] bool producers_alive() const noexcept {
    return producers.load(std::memory_order_acquire) != 0;
  }
};

/// Closing a half wakes the other side if it sleeps on the ring.
struct WakeConsumer {
  template <class Core>
  void operator()(Core& c) const noexcept {
    c.data_ready.wake_all();
  }
};
struct WakeProducers {
  template <class Core>
  void operator()(Core& c) const noexcept {
    c.space_ready.wake_all();
  }
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// SPSC
// ---------------------------------------------------------------------------------------------

/// The sending half of an SPSC channel. Move-only, single-owner.
// alignas: the private tail and cached head are written on every push (no false sharing with
// the consumer object if both halves sit side by side).
template <ring_element T>
class alignas(kFalseSharingRange) SpscProducer {
 public:
  SpscProducer() noexcept = default;
  explicit SpscProducer(std::shared_ptr<detail::SpscCore<T>> core) noexcept
      : data_(core->storage.data()),
        mirrored_(core->storage.mirrored()),
        cur_(core->positions(), core->storage.capacity()),
        link_(std::move(core)) {}

  [[nodiscard]] std::size_t capacity() const noexcept { return cur_.capacity(); }
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  [[nodiscard]] bool valid() const noexcept { return cur_.attached(); }
  /// False once the consumer is closed or destroyed.
  [[nodiscard]] bool peer_alive() const noexcept { return link_.peer_alive(); }
  /// Elements currently filled; a hint (the consumer may pop concurrently).
  [[nodiscard]] std::size_t size_hint() const noexcept { return cur_.size_hint(); }

  /// Appends `v`; false when full.
  [[nodiscard]] bool try_push(const T& v) noexcept {
    if (cur_.room_for(1) == 0) [[unlikely]]
      return false;
    std::memcpy(static_cast<void*>(data_.get() + cur_.run(1, true).index), &v, sizeof(T));
    publish(1);
    return true;
  }
  /// Appends as many elements of `src` as fit in one batch; returns how many (0 when full).
  [[nodiscard]] std::size_t push_slice(std::span<const T> src) noexcept {
    const std::size_t n = std::min(cur_.room_for(src.size()), src.size());
    if (n == 0) return 0;
    detail::copy_into_ring(data_.get(), cur_.run(n, mirrored_), src.data());
    publish(n);
    return n;
  }
  /// The free slots in one span (when !mirrored(): up to the wrap); fill, then commit(n).
  /// Invalidated by commit(), the push family, moving; the consumer's concurrent pops only make
  /// the free space grow.
  [[nodiscard]] std::span<T> writable() noexcept RINGKIT_LIFETIMEBOUND {
    const std::size_t free = cur_.room_all();
    if (free == 0) return {};
    const detail::Run r = cur_.run(free, mirrored_);
    return {data_.get() + r.index, r.first};
  }
  /// Publishes the first `n` slots of writable(). Errc::over_commit (nothing published)
  /// if n exceeds the free space.
  [[nodiscard]] Errc commit(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    if (!cur_.fits(n)) return Errc::over_commit;
    publish(n);
    return Errc::ok;
  }

  /// Appends `v`, waiting while full; false if the consumer is gone.
  [[nodiscard]] bool push(const T& v) noexcept {
    return push_until(v, detail::Clock::time_point::max());
  }
  /// Appends `v`, waiting at most `timeout`; false on timeout or if the consumer is gone.
  [[nodiscard]] bool push_for(const T& v, std::chrono::nanoseconds timeout) noexcept {
    return push_until(v, detail::deadline_after(timeout));
  }

  /// Ends the stream (the consumer drains what was pushed, then pop() returns false). Leaves
  /// this producer empty. Idempotent.
  void close() noexcept { *this = SpscProducer(); }

 private:
  bool push_until(const T& v, detail::Clock::time_point deadline) noexcept {
    for (;;) {
      if (!peer_alive()) return false;
      if (try_push(v)) return true;
      const bool ready = link_.get()->space_ready.wait(
          [this] {
            cur_.refresh();
            return cur_.room_cached() != 0 || !link_.peer_alive();
          },
          deadline);
      if (!ready) return false;
    }
  }
  void publish(std::size_t n) noexcept {
    cur_.publish(n);  // (R1), see detail/cursor.hpp
    link_.get()->data_ready.notify();
  }

  detail::Moved<T*> data_;
  detail::Moved<bool> mirrored_;
  detail::ProducerCursor cur_;
  detail::HalfLink<detail::SpscCore<T>, &detail::SpscCore<T>::producer_open,
                   &detail::SpscCore<T>::consumer_open, detail::WakeConsumer>
      link_;  // last: a move-assignment closes the old channel after the rest moved
};

/// The receiving half of a channel whose consumer side is single-consumer (SpscConsumer,
/// MpscConsumer): one cursor engine under both. Move-only, single-owner.
template <ring_element T, class Core>
class alignas(kFalseSharingRange) ChannelConsumer {
 public:
  ChannelConsumer() noexcept = default;
  explicit ChannelConsumer(std::shared_ptr<Core> core) noexcept
      : data_(core->storage.data()),
        mirrored_(core->storage.mirrored()),
        cur_(core->positions(), core->storage.capacity()),
        link_(std::move(core)) {}

  [[nodiscard]] std::size_t capacity() const noexcept { return cur_.capacity(); }
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  [[nodiscard]] bool valid() const noexcept { return cur_.attached(); }
  /// False once the producer side is gone (SPSC: the producer closed or was destroyed; MPSC:
  /// every producer handle is gone). What they pushed before stays readable.
  [[nodiscard]] bool peer_alive() const noexcept {
    return link_ && link_.get()->producers_alive();  // (A4) in the core
  }

  /// Removes the front element into `out`; false when empty.
  [[nodiscard]] bool try_pop(T& out) noexcept {
    if (cur_.room_for(1) == 0) [[unlikely]]
      return false;
    std::memcpy(static_cast<void*>(&out), data_.get() + cur_.run(1, true).index, sizeof(T));
    give_back(1);
    return true;
  }
  /// Removes and returns the front element; std::nullopt when empty.
  [[nodiscard]] std::optional<T> try_pop() noexcept {
    T v;
    if (!try_pop(v)) return std::nullopt;
    return v;
  }
  /// Copies up to out.size() elements out and removes them; returns how many.
  [[nodiscard]] std::size_t pop_slice(std::span<T> out) noexcept {
    const std::size_t n = std::min(cur_.room_for(out.size()), out.size());
    if (n == 0) return 0;
    detail::copy_from_ring(out.data(), cur_.run(n, mirrored_), data_.get());
    give_back(n);
    return n;
  }
  /// The available elements in one span (when !mirrored(): up to the wrap); then consume(n).
  /// Always shows everything available (reloads the producer's counter unless full).
  /// Invalidated by consume(), the pop family, moving; producers' concurrent pushes only make
  /// the filled space grow.
  [[nodiscard]] std::span<const T> readable() noexcept RINGKIT_LIFETIMEBOUND {
    const std::size_t avail = cur_.room_all();
    if (avail == 0) return {};
    const detail::Run r = cur_.run(avail, mirrored_);
    return {data_.get() + r.index, r.first};
  }
  /// Removes the first `n` elements. Errc::over_consume (nothing removed) if n > available.
  [[nodiscard]] Errc consume(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    if (!cur_.fits(n)) return Errc::over_consume;
    give_back(n);
    return Errc::ok;
  }
  /// Elements currently filled; a hint, since producers may push concurrently (the same
  /// meaning as the byte rings' size_hint()). readable() is the exact, acquiring view.
  [[nodiscard]] std::size_t size_hint() const noexcept { return cur_.size_hint(); }

  /// Removes the front element into `out`, waiting while empty; false once the producer side
  /// is gone and everything it pushed has been popped.
  [[nodiscard]] bool pop(T& out) noexcept {
    return pop_until(out, detail::Clock::time_point::max());
  }
  /// Same with a timeout; false on timeout or end of stream.
  [[nodiscard]] bool pop_for(T& out, std::chrono::nanoseconds timeout) noexcept {
    return pop_until(out, detail::deadline_after(timeout));
  }

  /// Stops receiving (the producers' push() then returns false). Leaves this consumer empty.
  /// Idempotent.
  void close() noexcept { *this = ChannelConsumer(); }

 private:
  bool pop_until(T& out, detail::Clock::time_point deadline) noexcept {
    for (;;) {
      if (!link_) return false;
      if (try_pop(out)) return true;
      // Read "gone" before re-checking the ring: everything pushed before the producers left
      // is then visible (A4 happens after their last publish).
      if (!peer_alive()) return try_pop(out);
      const bool ready = link_.get()->data_ready.wait(
          [this] {
            cur_.refresh();
            return cur_.room_cached() != 0 || !link_.get()->producers_alive();
          },
          deadline);
      if (!ready) return false;
    }
  }
  void give_back(std::size_t n) noexcept {
    cur_.publish(n);  // (R2), see detail/cursor.hpp
    link_.get()->space_ready.notify();
  }

  detail::Moved<const T*> data_;
  detail::Moved<bool> mirrored_;
  detail::ConsumerCursor cur_;
  detail::HalfLink<Core, &Core::consumer_open, nullptr, detail::WakeProducers> link_;  // last
};

/// The receiving half of an SPSC channel. Move-only, single-owner.
template <ring_element T>
using SpscConsumer = ChannelConsumer<T, detail::SpscCore<T>>;

/// Both halves of an SPSC channel: `auto [tx, rx] = *make_spsc<T>(n);`
template <ring_element T>
struct SpscChannel {
  SpscProducer<T> producer;
  SpscConsumer<T> consumer;
};

/// Creates an SPSC channel of at least `capacity` elements. Errors: Errc::invalid_capacity;
/// with MirrorMode::required, the mapping's error.
template <ring_element T>
[[nodiscard]] Result<SpscChannel<T>> make_spsc(std::size_t capacity,
                                               const RingOptions& options = {}) {
  auto st = detail::TypedStorage<T>::create(capacity, options.mode, options.region);
  if (!st) return unexpected(st.error(), st.context());
  std::shared_ptr<detail::SpscCore<T>> core;
  try {
    core = std::make_shared<detail::SpscCore<T>>();
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "make_spsc");
  }
  core->storage = std::move(*st);
  core->tail.store(options.initial_position, std::memory_order_relaxed);  // (X3) not shared yet
  core->head.store(options.initial_position, std::memory_order_relaxed);  // (X3)
  SpscChannel<T> ch{SpscProducer<T>(core), SpscConsumer<T>(std::move(core))};
  return ch;
}

// ---------------------------------------------------------------------------------------------
// MPSC
// ---------------------------------------------------------------------------------------------

/// A sending handle of an MPSC channel: copy it for each producing thread.
///
/// Design: producers reserve slots by CAS on a free-running 64-bit reserve cursor (C1): a
/// reservation of n slots at counter r succeeds only if r + n - head <= capacity, so the
/// cursor never laps the consumer and counters never wrap into ambiguity (the ABA of wrapped
/// indices cannot happen). Each producer copies its elements into its slots (one memcpy, even
/// across the wrap, when mirrored), then commits IN ORDER: the commit cursor only ever moves
/// from the start of a reservation to its end, so the consumer always sees a gap-free prefix
/// [head, commit). A batch (push_slice) is one reservation and one commit.
///
/// Nobody waits for a slower producer. If commit == r the producer moves it to r + n (CAS);
/// otherwise an earlier reservation is still being written, so it records "[r, r + n) done"
/// in done[r & mask] and leaves: whoever moves commit to r later also moves it on over every
/// reservation already marked done ("helping", as the LMAX Disruptor's availability buffer
/// lets its consumer skip ahead). A producer stalled between reserve and commit (preempted)
/// delays only the consumer's view of later elements, never another producer: waiting in
/// turn would form a convoy when producers share a core (each would be preempted holding a
/// reservation the other needs, one context switch per element). A mark is only read at the
/// current commit value c and counts only if c < e <= c + capacity: an older mark in that
/// slot ends at or before c, and a newer reservation there cannot exist while c is unread.
/// The mark store and the commit load (and the commit CAS and the next mark load) form a
/// store->load pair on two variables (Dekker), so those four accesses are seq_cst: otherwise a
/// producer could mark just as the helper looked, each miss the other, and the element would
/// never be committed. head is cached per handle and reloaded (A2) only when the cached view
/// says full.
template <ring_element T>
class alignas(kFalseSharingRange) MpscProducer {
 public:
  MpscProducer() noexcept = default;
  explicit MpscProducer(std::shared_ptr<detail::MpscCore<T>> core) noexcept
      : owner_(std::move(core)),
        core_(owner_.get()),
        data_(core_->storage.data()),
        cap_(core_->storage.capacity()),
        mirrored_(core_->storage.mirrored()),
        head_cache_(core_->head.load(std::memory_order_relaxed)) {}  // (X4) a stale head is safe
  MpscProducer(const MpscProducer& o) noexcept
      : owner_(o.owner_),
        core_(o.core_),
        data_(o.data_),
        cap_(o.cap_),
        mirrored_(o.mirrored_),
        head_cache_(o.head_cache_) {
    // (X5) relaxed: a new handle is made from a live one, which keeps the count above zero.
    if (core_ != nullptr) core_->producers.fetch_add(1, std::memory_order_relaxed);
  }
  MpscProducer(MpscProducer&& o) noexcept { take(o); }
  MpscProducer& operator=(const MpscProducer& o) noexcept {
    if (this != &o) {
      MpscProducer copy(o);
      *this = std::move(copy);
    }
    return *this;
  }
  MpscProducer& operator=(MpscProducer&& o) noexcept {
    if (this != &o) {
      close();
      take(o);
    }
    return *this;
  }
  ~MpscProducer() { close(); }

  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  [[nodiscard]] bool valid() const noexcept { return core_ != nullptr; }
  /// False once the consumer is closed or destroyed.
  [[nodiscard]] bool peer_alive() const noexcept {
    // (A3) pairs with (R3) in MpscConsumer::close().
    return core_ != nullptr && core_->consumer_open.load(std::memory_order_acquire);
  }

  /// Appends `v`; false when full.
  [[nodiscard]] bool try_push(const T& v) noexcept {
    return push_slice(std::span<const T>(&v, 1)) == 1;
  }
  /// Appends as many elements of `src` as fit, in one reservation and one commit (they stay
  /// together and in order); returns how many (0 when full).
  [[nodiscard]] std::size_t push_slice(std::span<const T> src) noexcept {
    if (core_ == nullptr || src.empty()) return 0;
    std::uint64_t r = core_->reserve.load(std::memory_order_relaxed);  // (C0) CAS seed
    std::size_t n = 0;
    for (;;) {
      n = std::min(src.size(), free_at(r));
      if (n < src.size()) {
        refresh();
        // Reload the cursor after head (A2 orders it): head <= reserve, so free_at() is exact.
        r = core_->reserve.load(std::memory_order_relaxed);  // (C0)
        n = std::min(src.size(), free_at(r));
        if (n == 0) return 0;
      }
      // (C1) relaxed: the reservation orders nothing by itself; slots are protected by (A2)
      // (they were released by the consumer) and published by (R1).
      if (core_->reserve.compare_exchange_weak(r, r + n, std::memory_order_relaxed,
                                               std::memory_order_relaxed)) {
        break;
      }
    }
    detail::copy_into_ring(data_, detail::ring_run(r, n, cap_, mirrored_), src.data());
    commit_in_order(r, n);
    return n;
  }
  /// Appends every element of `src` or none (false when they do not all fit now).
  [[nodiscard]] bool try_push_all(std::span<const T> src) noexcept {
    if (core_ == nullptr || src.size() > cap_) return false;
    if (src.empty()) return true;
    std::uint64_t r = core_->reserve.load(std::memory_order_relaxed);  // (C0)
    for (;;) {
      if (free_at(r) < src.size()) {
        refresh();
        r = core_->reserve.load(std::memory_order_relaxed);  // (C0) after head, see push_slice
        if (free_at(r) < src.size()) return false;
      }
      if (core_->reserve.compare_exchange_weak(r, r + src.size(), std::memory_order_relaxed,
                                               std::memory_order_relaxed)) {  // (C1)
        break;
      }
    }
    detail::copy_into_ring(data_, detail::ring_run(r, src.size(), cap_, mirrored_), src.data());
    commit_in_order(r, src.size());
    return true;
  }

  /// Appends `v`, waiting while full; false if the consumer is gone.
  [[nodiscard]] bool push(const T& v) noexcept {
    return push_until(v, detail::Clock::time_point::max());
  }
  /// Same with a timeout; false on timeout or if the consumer is gone.
  [[nodiscard]] bool push_for(const T& v, std::chrono::nanoseconds timeout) noexcept {
    return push_until(v, detail::deadline_after(timeout));
  }

  /// Drops this handle; when the last handle goes, the consumer sees the end of the stream.
  void close() noexcept {
    if (core_ == nullptr) return;
    // (R4) acq_rel: the last producer's decrement publishes every earlier commit; pairs with
    // (A4) in MpscConsumer::peer_alive().
    if (core_->producers.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      core_->data_ready.wake_all();
    }
    core_ = nullptr;
    data_ = nullptr;
    cap_ = 0;
    head_cache_ = 0;
    owner_.reset();
  }

 private:
  bool push_until(const T& v, detail::Clock::time_point deadline) noexcept {
    for (;;) {
      if (!peer_alive()) return false;
      if (try_push(v)) return true;
      const bool ready = core_->space_ready.wait(
          [this] {
            refresh();
            return free_at(core_->reserve.load(std::memory_order_relaxed)) != 0 ||  // (C0)
                   !core_->consumer_open.load(std::memory_order_acquire);           // (A3)
          },
          deadline);
      if (!ready) return false;
    }
  }
  /// Free slots for a reservation at counter `r` according to the cached head (0 if stale).
  [[nodiscard]] std::size_t free_at(std::uint64_t r) const noexcept {
    const std::uint64_t used = r - head_cache_;
    return used >= cap_ ? 0 : cap_ - static_cast<std::size_t>(used);
  }
  void refresh() noexcept {
    // (A2) observe released slots; pairs with (R2) in MpscConsumer::give_back().
    head_cache_ = core_->head.load(std::memory_order_acquire);
  }
  void commit_in_order(std::uint64_t r, std::size_t n) noexcept {
    std::uint64_t c = r;
    // (R1) publish [r, r + n) if it is our turn; seq_cst: the Dekker pair with (M1)/(M2) in
    // the design note. Pairs (release) with (A1) in MpscConsumer::refresh().
    if (!core_->commit.compare_exchange_strong(c, r + n, std::memory_order_seq_cst,
                                               std::memory_order_seq_cst)) [[unlikely]] {
      // Not our turn (c < r): leave a mark for whoever commits up to r. (M1) seq_cst store:
      // releases our elements to the helper's (M2) and pairs with its commit CAS.
      core_->done[r & (cap_ - 1)].store(r + n, std::memory_order_seq_cst);
      // (M3) seq_cst: the helper may have committed up to r before our mark was visible.
      c = core_->commit.load(std::memory_order_seq_cst);
      if (!help_from(c)) return;  // someone else will see our mark
    } else {
      (void)help_from(r + n);
    }
    core_->data_ready.notify();
  }
  /// Moves commit over every reservation marked done starting at `c` (the value this thread
  /// last saw or stored); true if it moved commit at least once.
  bool help_from(std::uint64_t c) noexcept {
    bool moved = false;
    for (;;) {
      // (M2) seq_cst: acquires the marked elements (pairs with M1); see the design note.
      const std::uint64_t e = core_->done[c & (cap_ - 1)].load(std::memory_order_seq_cst);
      if (e - c - 1 >= cap_) return moved;  // not c < e <= c + capacity: not done yet
      // (R1) as above; a failed CAS means another helper moved it: continue from there.
      if (core_->commit.compare_exchange_strong(c, e, std::memory_order_seq_cst,
                                                std::memory_order_seq_cst)) {
        c = e;
        moved = true;
      }
    }
  }
  void take(MpscProducer& o) noexcept {
    owner_ = std::move(o.owner_);
    core_ = std::exchange(o.core_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    mirrored_ = std::exchange(o.mirrored_, false);
    head_cache_ = std::exchange(o.head_cache_, 0);
  }

  std::shared_ptr<detail::MpscCore<T>> owner_;
  detail::MpscCore<T>* core_ = nullptr;
  T* data_ = nullptr;
  std::size_t cap_ = 0;
  bool mirrored_ = false;
  std::uint64_t head_cache_ = 0;
};

/// The receiving half of an MPSC channel. Move-only, single-owner.
template <ring_element T>
using MpscConsumer = ChannelConsumer<T, detail::MpscCore<T>>;

/// A producer handle and the consumer of an MPSC channel: `auto [tx, rx] = *make_mpsc<T>(n);`
template <ring_element T>
struct MpscChannel {
  MpscProducer<T> producer;
  MpscConsumer<T> consumer;
};

/// Creates an MPSC channel of at least `capacity` elements. Errors: Errc::invalid_capacity;
/// with MirrorMode::required, the mapping's error.
template <ring_element T>
[[nodiscard]] Result<MpscChannel<T>> make_mpsc(std::size_t capacity,
                                               const RingOptions& options = {}) {
  auto st = detail::TypedStorage<T>::create(capacity, options.mode, options.region);
  if (!st) return unexpected(st.error(), st.context());
  std::shared_ptr<detail::MpscCore<T>> core;
  try {
    core = std::make_shared<detail::MpscCore<T>>();
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "make_mpsc");
  }
  core->storage = std::move(*st);
  const std::size_t cap = core->storage.capacity();
  try {
    core->done = std::make_unique<std::atomic<std::uint64_t>[]>(cap);
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "make_mpsc");
  }
  // (X7) not shared yet. A mark equal to the start position means "nothing done" everywhere.
  for (std::size_t i = 0; i < cap; ++i) {
    core->done[i].store(options.initial_position, std::memory_order_relaxed);
  }
  core->reserve.store(options.initial_position, std::memory_order_relaxed);
  core->commit.store(options.initial_position, std::memory_order_relaxed);
  core->head.store(options.initial_position, std::memory_order_relaxed);
  MpscChannel<T> ch{MpscProducer<T>(core), MpscConsumer<T>(std::move(core))};
  return ch;
}

// The channel halves model the typed-channel concepts (checked for a representative element).
static_assert(element_producer<SpscProducer<std::uint64_t>, std::uint64_t>);
static_assert(element_consumer<SpscConsumer<std::uint64_t>, std::uint64_t>);
static_assert(element_producer<MpscProducer<std::uint64_t>, std::uint64_t>);
static_assert(element_consumer<MpscConsumer<std::uint64_t>, std::uint64_t>);

}  // namespace ringkit
