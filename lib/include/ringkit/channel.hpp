// ringkit/channel.hpp: SPSC and MPSC channels of trivially copyable T on mirrored rings.
//
// make_spsc<T>(capacity) -> {SpscProducer, SpscConsumer}: move-only single-owner halves.
// make_mpsc<T>(capacity) -> {MpscProducer, MpscConsumer}: every producer handle owns a lane (a
// single-producer ring of `capacity` elements); copy or clone() the handle for each producing
// thread. Order is FIFO per handle; the consumer drains the lanes in turn, so no producer's
// preemption holds back another's elements.
// make_ordered_mpsc<T>(capacity) -> {OrderedMpscProducer, OrderedMpscConsumer}: one ring, one
// sequence across all producers (in-order commit); use it when the consumer needs a single
// global order, and make_mpsc otherwise (see MpscProducer for what each design costs).
//
//   auto [tx, rx] = *ringkit::make_spsc<Order>(4096);
//   tx.push_slice(batch);                          // one copy, contiguous even across the wrap
//   for (const Order& o : rx.readable()) handle(o);
//   (void)rx.consume(n);
//
//   auto [tx, rx] = *ringkit::make_mpsc<Order>(4096);   // capacity per producer handle
//   std::thread worker([tx2 = tx]() mutable { (void)tx2.push(Order{}); });  // a copy: a lane
//   Order o;
//   while (rx.pop(o)) handle(o);                   // ends when every handle is gone
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
// Thread safety: SpscProducer/SpscConsumer/MpscConsumer/OrderedMpscConsumer are single-owner;
// each MpscProducer/OrderedMpscProducer handle is single-owner, and any number of handles
// (copies) may push concurrently.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
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

/// Producer handles an MPSC channel serves at once unless make_mpsc is told otherwise, and
/// the most it accepts. Lanes are made when first needed and reused after their handle goes.
inline constexpr std::size_t kMpscDefaultLanes = 64;
inline constexpr std::size_t kMpscMaxLanes = 4096;

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

/// Shared state of a globally ordered MPSC channel (one ring).
template <class T>
struct OrderedMpscCore {
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> reserve{0};  // producers CAS (C1)
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> commit{
      0};  // producers advance in order (R1)
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> head{0};  // consumer stores (R2)
  alignas(kFalseSharingRange) WaitSlot data_ready;                 // consumer sleeps here
  WaitSlot space_ready;                                            // producers sleep here (full)
  alignas(kFalseSharingRange) TypedStorage<T> storage;             // immutable after creation
  // done[s & (capacity - 1)] == e: the reservation [s, e) is written but not yet committed
  // (see OrderedMpscProducer's design note). Starts at the initial position: "nothing done".
  std::unique_ptr<std::atomic<std::uint64_t>[]> done;
  std::atomic<std::uint32_t> producers{1};  // live producer handles
  std::atomic<bool> consumer_open{true};

  /// The consumer's cursor pair: producers publish `commit` (in order), the consumer `head`.
  PositionPair positions() noexcept { return {&commit, &head}; }
  /// (A4) acquire: pairs with (R4) in OrderedMpscProducer::close() (the last handle's decrement).
  [[nodiscard]] bool producers_alive() const noexcept {
    return producers.load(std::memory_order_acquire) != 0;
  }
};

/// One lane of an MPSC channel: a single-producer ring owned by one producer handle at a time.
/// The first line is the owner's (tail, ownership, storage), the second the consumer's (head
/// and the consumer's private cursor on this lane), so the two sides never share a line they
/// write.
template <class T>
struct MpscLane {
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> tail{0};  // the owner stores (R1)
  std::atomic<std::uint32_t> owned{0};  // 1 while a handle owns the lane: (L1) claim, (L2) free
  std::atomic<bool> built{false};       // storage made: (L3) publish, (L4) consumer's look
  TypedStorage<T> storage;              // made by the lane's first owner, before (L3)
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> head{0};  // the consumer stores (R2)
  ConsumerCursor reader;                                           // consumer-private from here on
  const T* reader_data = nullptr;  // storage.data() once the consumer saw (L4)

  PositionPair positions() noexcept { return {&tail, &head}; }
};

/// Shared state of an MPSC channel of lanes.
template <class T>
struct MpscCore {
  std::unique_ptr<MpscLane<T>[]> lanes;  // lane_limit of them, fixed at creation
  std::size_t lane_limit = 0;
  std::size_t lane_capacity = 0;             // elements per lane (a power of two)
  MirrorMode lane_mode = MirrorMode::never;  // every lane takes the first lane's layout
  MirrorOptions region;
  // Read-mostly: the consumer reads lane_count on each scan, producers data_ready's sleepers
  // word on each publish; written only when a lane is first made or around sleeps.
  alignas(kFalseSharingRange) std::atomic<std::size_t> lane_count{0};  // lanes [0, n) may exist
  WaitSlot data_ready;   // the consumer sleeps here (every lane empty)
  WaitSlot space_ready;  // producers sleep here (their lane full)
  alignas(kFalseSharingRange) std::atomic<std::uint32_t> producers{0};  // live handles
  std::atomic<bool> consumer_open{true};

  /// (A4) acquire: pairs with (R4) in the handles' close (the last decrement), so everything
  /// every handle published is visible once this returns false.
  [[nodiscard]] bool producers_alive() const noexcept {
    return producers.load(std::memory_order_acquire) != 0;
  }

  /// Claims a free lane for a new handle (making its storage on first use with `mode`) and
  /// counts the handle. Errc::pool_exhausted when every lane is owned; the storage's error.
  [[nodiscard]] Result<MpscLane<T>*> claim_lane(MirrorMode mode) noexcept {
    for (std::size_t i = 0; i < lane_limit; ++i) {
      MpscLane<T>& lane = lanes[i];
      // (L0) relaxed peek: skips owned lanes without writing their line; (L1) decides.
      if (lane.owned.load(std::memory_order_relaxed) != 0) continue;
      std::uint32_t expected = 0;
      // (L1) acquire: pairs with (L2) in the previous owner's close, so its tail, and the
      // storage it made, are visible to the new owner.
      if (!lane.owned.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                              std::memory_order_relaxed)) {
        continue;
      }
      // (L3') relaxed: only owners write `built`, and ownership passes through (L1)/(L2).
      if (!lane.built.load(std::memory_order_relaxed)) {
        auto st = TypedStorage<T>::create(lane_capacity, mode, region);
        if (!st) {
          lane.owned.store(0, std::memory_order_release);  // (L2) nothing written
          return unexpected(st.error(), st.context());
        }
        lane.storage = std::move(*st);
        // (L3) release: publishes the storage to the consumer's (L4).
        lane.built.store(true, std::memory_order_release);
        // (L5) release: raises the consumer's scan bound; pairs with (L6) in next_lane().
        std::size_t n = lane_count.load(std::memory_order_relaxed);
        while (n < i + 1 && !lane_count.compare_exchange_weak(n, i + 1, std::memory_order_release,
                                                              std::memory_order_relaxed)) {
        }
      }
      // (X5) relaxed: a handle is made from a live one (or before the channel is shared),
      // which keeps the count above zero.
      producers.fetch_add(1, std::memory_order_relaxed);
      return &lane;
    }
    return unexpected(Errc::pool_exhausted, "MPSC channel: every lane has a producer handle");
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

/// The blocking pop of every consumer (SPSC and MPSC): try_pop(); when empty, read "gone"
/// (alive()) BEFORE trying once more, so everything pushed before the producers left is
/// visible (A4 happens after their last publish); else sleep on the core's data_ready until
/// has_data() or the producers are gone, or the deadline passes. `core` is null for an empty
/// consumer (false at once).
template <class Core, class TryPop, class Alive, class HasData>
[[nodiscard]] bool pop_until(Core* core, TryPop&& try_pop, Alive&& alive, HasData&& has_data,
                             Clock::time_point deadline) noexcept {
  if (core == nullptr) return false;
  for (;;) {
    if (try_pop()) return true;
    if (!alive()) return try_pop();
    const bool ready =
        core->data_ready.wait([&] { return has_data() || !core->producers_alive(); }, deadline);
    if (!ready) return false;
  }
}

/// The producer side of one single-producer ring of elements, written once for the SPSC
/// producer and the MPSC producer's lane. `Derived` provides peer_alive() and, to this class,
/// data_ready() (notified after every publish) and space_ready() (slept on while full). The
/// moved-from state is empty (every member is a Moved or a cursor).
template <class T, class Derived>
class ElementWriter {
 public:
  [[nodiscard]] std::size_t capacity() const noexcept { return cur_.capacity(); }
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  [[nodiscard]] bool valid() const noexcept { return cur_.attached(); }
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
  /// Appends as many elements of `src` as fit in one batch (one publish: they reach the
  /// consumer together and in order); returns how many (0 when full).
  [[nodiscard]] std::size_t push_slice(std::span<const T> src) noexcept {
    const std::size_t n = std::min(cur_.room_for(src.size()), src.size());
    if (n == 0) return 0;
    copy_into_ring(data_.get(), cur_.run(n, mirrored_), src.data());
    publish(n);
    return n;
  }
  /// Appends every element of `src` in one batch, or none (false when they do not all fit now).
  [[nodiscard]] bool try_push_all(std::span<const T> src) noexcept {
    if (src.empty()) return cur_.attached();
    if (src.size() > cur_.capacity() || cur_.room_for(src.size()) < src.size()) return false;
    copy_into_ring(data_.get(), cur_.run(src.size(), mirrored_), src.data());
    publish(src.size());
    return true;
  }
  /// The free slots in one span (when !mirrored(): up to the wrap); fill, then commit(n).
  /// Invalidated by commit(), the push family, moving; the consumer's concurrent pops only make
  /// the free space grow.
  [[nodiscard]] std::span<T> writable() noexcept RINGKIT_LIFETIMEBOUND {
    const std::size_t free = cur_.room_all();
    if (free == 0) return {};
    const Run r = cur_.run(free, mirrored_);
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
  [[nodiscard]] bool push(const T& v) noexcept { return push_until(v, Clock::time_point::max()); }
  /// Appends `v`, waiting at most `timeout`; false on timeout or if the consumer is gone.
  [[nodiscard]] bool push_for(const T& v, std::chrono::nanoseconds timeout) noexcept {
    return push_until(v, deadline_after(timeout));
  }

 protected:
  ElementWriter() noexcept = default;
  ElementWriter(T* data, bool mirrored, ProducerCursor cur) noexcept
      : data_(data), mirrored_(mirrored), cur_(std::move(cur)) {}

 private:
  [[nodiscard]] Derived& self() noexcept { return static_cast<Derived&>(*this); }
  bool push_until(const T& v, Clock::time_point deadline) noexcept {
    for (;;) {
      if (!self().peer_alive()) return false;
      if (try_push(v)) return true;
      const bool ready = self().space_ready().wait(
          [this] {
            cur_.refresh();
            return cur_.room_cached() != 0 || !self().peer_alive();
          },
          deadline);
      if (!ready) return false;
    }
  }
  void publish(std::size_t n) noexcept {
    cur_.publish(n);  // (R1), see detail/cursor.hpp
    self().data_ready().notify();
  }

  Moved<T*> data_;
  Moved<bool> mirrored_;
  ProducerCursor cur_;
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// SPSC
// ---------------------------------------------------------------------------------------------

/// The sending half of an SPSC channel. Move-only, single-owner. The push family, writable()
/// and commit() are detail::ElementWriter's.
// alignas: the private tail and cached head are written on every push (no false sharing with
// the consumer object if both halves sit side by side).
template <ring_element T>
class alignas(kFalseSharingRange) SpscProducer : public detail::ElementWriter<T, SpscProducer<T>> {
  using Writer = detail::ElementWriter<T, SpscProducer<T>>;
  friend Writer;

 public:
  SpscProducer() noexcept = default;
  explicit SpscProducer(std::shared_ptr<detail::SpscCore<T>> core) noexcept
      : Writer(core->storage.data(), core->storage.mirrored(),
               detail::ProducerCursor(core->positions(), core->storage.capacity())),
        link_(std::move(core)) {}

  /// False once the consumer is closed or destroyed.
  [[nodiscard]] bool peer_alive() const noexcept { return link_.peer_alive(); }

  /// Ends the stream (the consumer drains what was pushed, then pop() returns false). Leaves
  /// this producer empty. Idempotent.
  void close() noexcept { *this = SpscProducer(); }

 private:
  [[nodiscard]] detail::WaitSlot& data_ready() const noexcept { return link_.get()->data_ready; }
  [[nodiscard]] detail::WaitSlot& space_ready() const noexcept { return link_.get()->space_ready; }

  detail::HalfLink<detail::SpscCore<T>, &detail::SpscCore<T>::producer_open,
                   &detail::SpscCore<T>::consumer_open, detail::WakeConsumer>
      link_;  // last (after the base): a move-assignment closes the old channel after the rest
              // moved
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
    return detail::pop_until(
        link_ ? link_.get() : nullptr, [&] { return try_pop(out); }, [&] { return peer_alive(); },
        [&] {
          cur_.refresh();
          return cur_.room_cached() != 0;
        },
        deadline);
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
// MPSC: one lane per producer handle
// ---------------------------------------------------------------------------------------------

template <ring_element T>
class MpscConsumer;

/// A sending handle of an MPSC channel: copy it (or clone() it) for each producing thread.
///
/// Design: every handle owns a lane, a single-producer ring of capacity() elements run by the
/// same cursor engine as the SPSC channel (detail/cursor.hpp). A handle claims a free lane from
/// the channel's fixed table of max_producers lanes when it is made (make_mpsc, copy, clone)
/// and frees it when it closes; a lane's storage is made on its first claim and kept for the
/// next owner, so memory is bounded by max_producers x capacity x sizeof(T), of which only the
/// lanes ever in use at once are made. A push is an SPSC push: the element copy, one release
/// store of the lane's tail, and one relaxed load of the read-mostly word the consumer sleeps
/// on. No read-modify-write, no counter shared with the other producers.
///
/// The consumer (MpscConsumer) drains the lanes in turn: it loads one lane's tail (acquire),
/// drains that snapshot with any mix of pops, pop_slice and readable()/consume(), and only then
/// moves on to the next lane that has data. A snapshot does not grow while the consumer is on
/// the lane, so every lane gets at most one snapshot (<= capacity) per round and a fast
/// producer cannot starve the others; snapshots end where a publish ended, so a push_slice
/// batch reaches the consumer whole, never interleaved with another handle's elements. The
/// "which lanes have data" signal is the lanes' own tails: one load per lane visited, each on
/// the line its producer writes anyway, so producers never write a shared line for it; a scan
/// bound (lane_count) keeps lanes never made out of the scan.
///
/// What a preempted producer costs:
///   ordered channel (make_ordered_mpsc: one ring, reservations committed in order): a
///     producer preempted between its reservation and its commit holds the commit cursor: every
///     element reserved after it, by any producer, stays invisible to the consumer until the
///     scheduler runs it again (a time slice, milliseconds). The others fill the ring and then
///     spin or sleep; on a core with more producers than it can run at once this is the common
///     case, and the consumer starves.
///   lanes (this channel): a preempted producer delays only its own unpublished batch. The
///     other lanes stay independent and the consumer keeps draining them; the preempted lane's
///     published elements are drained as well. The price: memory per lane instead of one shared
///     ring, a consumer scan of one load per made lane when it looks for data, and FIFO order
///     per handle only (no order across handles).
///
/// Lifetime: the handle count ends the stream; close() frees the lane (L2), then decrements
/// the count (R4). Elements left in a closed handle's lane stay readable; a handle that later
/// claims the lane appends after them (its own FIFO order starts there).
template <ring_element T>
class alignas(kFalseSharingRange) MpscProducer : public detail::ElementWriter<T, MpscProducer<T>> {
  using Writer = detail::ElementWriter<T, MpscProducer<T>>;
  friend Writer;

 public:
  MpscProducer() noexcept = default;
  /// A handle on `lane`, which `core` has claimed for it (detail::MpscCore::claim_lane()).
  MpscProducer(std::shared_ptr<detail::MpscCore<T>> core, detail::MpscLane<T>* lane) noexcept
      : Writer(lane->storage.data(), lane->storage.mirrored(), lane_cursor(*core, *lane)),
        link_(std::move(core), lane) {}
  /// A new handle with a lane of its own. It is empty (valid() false, pushes fail) when every
  /// lane has a handle or the lane's storage cannot be made: clone() says why.
  MpscProducer(const MpscProducer& o) noexcept : MpscProducer(o.clone().value_or(MpscProducer())) {}
  MpscProducer(MpscProducer&&) noexcept = default;
  MpscProducer& operator=(const MpscProducer& o) noexcept {
    if (this != &o) *this = MpscProducer(o);
    return *this;
  }
  MpscProducer& operator=(MpscProducer&&) noexcept = default;
  ~MpscProducer() = default;

  /// A new handle with a lane of its own. Errors: Errc::pool_exhausted (every one of the
  /// channel's max_producers lanes has a handle), Errc::invalid_argument (this handle is
  /// empty), or the lane storage's error.
  [[nodiscard]] Result<MpscProducer> clone() const noexcept {
    if (!link_) return unexpected(Errc::invalid_argument, "MpscProducer::clone: empty handle");
    auto lane = link_.core()->claim_lane(link_.core()->lane_mode);
    if (!lane) return unexpected(lane.error(), lane.context());
    return MpscProducer(link_.share(), *lane);
  }

  /// False once the consumer is closed or destroyed.
  [[nodiscard]] bool peer_alive() const noexcept {
    // (A3) pairs with (R3) in the consumer's close (HalfLink).
    return link_ && link_.core()->consumer_open.load(std::memory_order_acquire);
  }

  /// Drops this handle (its lane goes back to the channel; what it pushed stays readable);
  /// when the last handle goes, the consumer sees the end of the stream. Idempotent.
  void close() noexcept { *this = MpscProducer(); }

 private:
  /// This handle's share of the channel and of its lane; closing frees both (see the class
  /// comment). Move-only; a move leaves the source empty.
  class LaneLink {
   public:
    LaneLink() noexcept = default;
    LaneLink(std::shared_ptr<detail::MpscCore<T>> core, detail::MpscLane<T>* lane) noexcept
        : core_(std::move(core)), lane_(lane) {}
    LaneLink(const LaneLink&) = delete;
    LaneLink& operator=(const LaneLink&) = delete;
    LaneLink(LaneLink&& o) noexcept
        : core_(std::move(o.core_)), lane_(std::exchange(o.lane_, nullptr)) {}
    LaneLink& operator=(LaneLink&& o) noexcept {
      if (this != &o) {
        close();
        core_ = std::move(o.core_);
        lane_ = std::exchange(o.lane_, nullptr);
      }
      return *this;
    }
    ~LaneLink() { close(); }

    [[nodiscard]] explicit operator bool() const noexcept { return core_ != nullptr; }
    [[nodiscard]] detail::MpscCore<T>* core() const noexcept { return core_.get(); }
    [[nodiscard]] std::shared_ptr<detail::MpscCore<T>> share() const noexcept { return core_; }

   private:
    void close() noexcept {
      if (core_ == nullptr) return;
      // (L2) release: hands the lane (its last tail) to the next owner's (L1).
      lane_->owned.store(0, std::memory_order_release);
      // (R4) acq_rel: the last handle's decrement publishes every handle's pushes (they are
      // ordered before the decrements); pairs with (A4) in the consumer's peer_alive().
      if (core_->producers.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        core_->data_ready.wake_all();
      }
      core_.reset();
      lane_ = nullptr;
    }

    std::shared_ptr<detail::MpscCore<T>> core_;
    detail::MpscLane<T>* lane_ = nullptr;
  };

  /// The producer cursor of a freshly claimed lane, which may still hold elements of a
  /// previous owner: its tail was read after (L1), and its head is reloaded (A2).
  [[nodiscard]] static detail::ProducerCursor lane_cursor(const detail::MpscCore<T>& core,
                                                          detail::MpscLane<T>& lane) noexcept {
    detail::ProducerCursor cur(lane.positions(), core.lane_capacity);
    cur.refresh();
    return cur;
  }
  [[nodiscard]] detail::WaitSlot& data_ready() const noexcept { return link_.core()->data_ready; }
  [[nodiscard]] detail::WaitSlot& space_ready() const noexcept { return link_.core()->space_ready; }

  LaneLink
      link_;  // last (after the base): a move-assignment frees the old lane after the rest moved
};

/// The receiving half of an MPSC channel: drains the producers' lanes in turn (see
/// MpscProducer's design note). Move-only, single-owner.
///
/// readable() shows the current lane's elements; consume(n) removes from that lane (and may
/// see elements pushed to it after the readable()). pop_slice() fills its buffer from as many
/// lanes as it takes. Order is FIFO per producer handle.
template <ring_element T>
class alignas(kFalseSharingRange) MpscConsumer {
 public:
  MpscConsumer() noexcept = default;
  explicit MpscConsumer(std::shared_ptr<detail::MpscCore<T>> core) noexcept
      : lanes_(core->lanes.get()),
        cap_(core->lane_capacity),
        mirrored_(core->lane_mode != MirrorMode::never),
        link_(std::move(core)) {}

  /// Elements per producer lane.
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  [[nodiscard]] bool valid() const noexcept { return cap_ != 0; }
  /// False once every producer handle is gone. What they pushed stays readable.
  [[nodiscard]] bool peer_alive() const noexcept {
    return link_ && link_.get()->producers_alive();  // (A4) in the core
  }

  /// Removes the next element into `out`; false when every lane is empty.
  [[nodiscard]] bool try_pop(T& out) noexcept {
    detail::MpscLane<T>* l = current();
    if (l == nullptr) [[unlikely]]
      return false;
    std::memcpy(static_cast<void*>(&out), l->reader_data + l->reader.run(1, true).index, sizeof(T));
    give_back(*l, 1);
    return true;
  }
  /// Removes and returns the next element; std::nullopt when every lane is empty.
  [[nodiscard]] std::optional<T> try_pop() noexcept {
    T v;
    if (!try_pop(v)) return std::nullopt;
    return v;
  }
  /// Copies up to out.size() elements out (from as many lanes as it takes) and removes them;
  /// returns how many.
  [[nodiscard]] std::size_t pop_slice(std::span<T> out) noexcept {
    std::size_t done = 0;
    while (done < out.size()) {
      detail::MpscLane<T>* l = current();
      if (l == nullptr) break;
      const std::size_t n = std::min(l->reader.room_cached(), out.size() - done);
      detail::copy_from_ring(out.data() + done, l->reader.run(n, mirrored_), l->reader_data);
      give_back(*l, n);
      done += n;
    }
    return done;
  }
  /// The current lane's available elements in one span (when !mirrored(): up to the wrap);
  /// then consume(n). Moves to the next lane with data when the current one is drained.
  /// Invalidated by consume(), the pop family, moving; the producer's concurrent pushes only
  /// make the lane's filled space grow.
  [[nodiscard]] std::span<const T> readable() noexcept RINGKIT_LIFETIMEBOUND {
    detail::MpscLane<T>* l = current();
    if (l == nullptr) return {};
    const detail::Run r = l->reader.run(l->reader.room_cached(), mirrored_);
    return {l->reader_data + r.index, r.first};
  }
  /// Removes the first `n` elements of the current lane (readable()'s). Errc::over_consume
  /// (nothing removed) if n exceeds what that lane holds.
  [[nodiscard]] Errc consume(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    detail::MpscLane<T>* l = current();
    if (l == nullptr || !l->reader.fits(n)) return Errc::over_consume;
    give_back(*l, n);
    return Errc::ok;
  }
  /// Elements currently filled in every lane; a hint, since producers push concurrently.
  [[nodiscard]] std::size_t size_hint() const noexcept {
    if (!link_) return 0;
    // (X6) relaxed, as the loads of `built` and of the tails: a hint, no element is read.
    const std::size_t n = link_.get()->lane_count.load(std::memory_order_relaxed);
    std::size_t sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const detail::MpscLane<T>& l = lanes_.get()[i];
      if (l.built.load(std::memory_order_relaxed)) sum += l.reader.size_hint();  // (X6)
    }
    return sum;
  }

  /// Removes the next element into `out`, waiting while every lane is empty; false once every
  /// producer handle is gone and everything they pushed has been popped.
  [[nodiscard]] bool pop(T& out) noexcept {
    return pop_until(out, detail::Clock::time_point::max());
  }
  /// Same with a timeout; false on timeout or end of stream.
  [[nodiscard]] bool pop_for(T& out, std::chrono::nanoseconds timeout) noexcept {
    return pop_until(out, detail::deadline_after(timeout));
  }

  /// Stops receiving (the producers' push() then returns false). Leaves this consumer empty.
  /// Idempotent.
  void close() noexcept { *this = MpscConsumer(); }

 private:
  bool pop_until(T& out, detail::Clock::time_point deadline) noexcept {
    return detail::pop_until(
        link_ ? link_.get() : nullptr, [&] { return try_pop(out); }, [&] { return peer_alive(); },
        [&] { return current() != nullptr; }, deadline);
  }
  /// The lane to read from: the current one while its snapshot lasts, else the next with data.
  [[nodiscard]] detail::MpscLane<T>* current() noexcept {
    if (cap_ == 0) return nullptr;
    detail::MpscLane<T>* l = lanes_.get() + cur_.get();
    if (l->reader.room_cached() != 0) [[likely]]
      return l;
    return next_lane();
  }
  /// Looks at each made lane once, starting after the current one (which comes last), and
  /// stops at the first with data: its snapshot becomes current. nullptr when all are empty.
  [[nodiscard]] detail::MpscLane<T>* next_lane() noexcept {
    // (L6) acquire: pairs with (L5) in claim_lane(); `built` (L4) is what guards the storage.
    const std::size_t n = link_.get()->lane_count.load(std::memory_order_acquire);
    const std::size_t from = cur_;
    for (std::size_t k = 1; k <= n; ++k) {
      std::size_t i = from + k;
      if (i >= n) i -= n;  // from < n: lane_count only grows
      detail::MpscLane<T>& l = lanes_.get()[i];
      if (l.reader_data == nullptr) [[unlikely]] {
        // (L4) acquire: pairs with (L3) in claim_lane(): the storage is made.
        if (!l.built.load(std::memory_order_acquire)) continue;
        l.reader_data = l.storage.data();
      }
      l.reader.refresh();  // (A1) pairs with the owner's (R1)
      if (l.reader.room_cached() != 0) {
        cur_ = i;
        return &l;
      }
    }
    return nullptr;
  }
  void give_back(detail::MpscLane<T>& l, std::size_t n) noexcept {
    l.reader.publish(n);  // (R2), see detail/cursor.hpp
    link_.get()->space_ready.notify();
  }

  detail::Moved<detail::MpscLane<T>*> lanes_;
  detail::Moved<std::size_t> cur_;  // the current lane
  detail::Moved<std::size_t> cap_;
  detail::Moved<bool> mirrored_;
  detail::HalfLink<detail::MpscCore<T>, &detail::MpscCore<T>::consumer_open, nullptr,
                   detail::WakeProducers>
      link_;  // last
};

/// A producer handle and the consumer of an MPSC channel: `auto [tx, rx] = *make_mpsc<T>(n);`
template <ring_element T>
struct MpscChannel {
  MpscProducer<T> producer;
  MpscConsumer<T> consumer;
};

/// Creates an MPSC channel whose producer handles each get a lane of at least `capacity`
/// elements, for up to `max_producers` handles at once (1 .. kMpscMaxLanes). Memory: at most
/// max_producers x capacity() elements, made lane by lane as handles need them (the first
/// lane now). Every lane takes the first lane's layout (mirrored or not). Errors:
/// Errc::invalid_capacity, Errc::invalid_argument (max_producers); with MirrorMode::required,
/// the mapping's error.
template <ring_element T>
[[nodiscard]] Result<MpscChannel<T>> make_mpsc(std::size_t capacity,
                                               const RingOptions& options = {},
                                               std::size_t max_producers = kMpscDefaultLanes) {
  if (max_producers == 0 || max_producers > kMpscMaxLanes) {
    return unexpected(Errc::invalid_argument, "make_mpsc: max_producers");
  }
  const std::size_t cap = detail::round_ring_capacity(capacity, sizeof(T), options.mode);
  if (cap == 0) return unexpected(Errc::invalid_capacity, "ring capacity");
  std::shared_ptr<detail::MpscCore<T>> core;
  try {
    core = std::make_shared<detail::MpscCore<T>>();
    core->lanes = std::make_unique<detail::MpscLane<T>[]>(max_producers);
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "make_mpsc");
  }
  core->lane_limit = max_producers;
  core->lane_capacity = cap;
  core->region = options.region;
  for (std::size_t i = 0; i < max_producers; ++i) {
    detail::MpscLane<T>& lane = core->lanes[i];
    // (X7) relaxed: not shared yet.
    lane.tail.store(options.initial_position, std::memory_order_relaxed);
    lane.head.store(options.initial_position, std::memory_order_relaxed);
    lane.reader = detail::ConsumerCursor(lane.positions(), cap);
  }
  auto first = core->claim_lane(options.mode);
  if (!first) return unexpected(first.error(), first.context());
  core->lane_mode = (*first)->storage.mirrored() ? MirrorMode::required : MirrorMode::never;
  MpscChannel<T> ch{MpscProducer<T>(core, *first), MpscConsumer<T>(core)};
  return ch;
}

// ---------------------------------------------------------------------------------------------
// MPSC, globally ordered: one ring, one sequence across producers
// ---------------------------------------------------------------------------------------------

/// A sending handle of a globally ordered MPSC channel: copy it for each producing thread.
/// Every element of every handle takes one place in a single sequence; when only per-producer
/// order matters, make_mpsc (lanes) is faster with more producers than cores: see
/// MpscProducer for what a preempted producer costs in each design.
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
class alignas(kFalseSharingRange) OrderedMpscProducer {
 public:
  OrderedMpscProducer() noexcept = default;
  explicit OrderedMpscProducer(std::shared_ptr<detail::OrderedMpscCore<T>> core) noexcept
      : owner_(std::move(core)),
        core_(owner_.get()),
        data_(core_->storage.data()),
        cap_(core_->storage.capacity()),
        mirrored_(core_->storage.mirrored()),
        head_cache_(core_->head.load(std::memory_order_relaxed)) {}  // (X4) a stale head is safe
  OrderedMpscProducer(const OrderedMpscProducer& o) noexcept
      : owner_(o.owner_),
        core_(o.core_),
        data_(o.data_),
        cap_(o.cap_),
        mirrored_(o.mirrored_),
        head_cache_(o.head_cache_) {
    // (X5) relaxed: a new handle is made from a live one, which keeps the count above zero.
    if (core_ != nullptr) core_->producers.fetch_add(1, std::memory_order_relaxed);
  }
  OrderedMpscProducer(OrderedMpscProducer&& o) noexcept { take(o); }
  OrderedMpscProducer& operator=(const OrderedMpscProducer& o) noexcept {
    if (this != &o) {
      OrderedMpscProducer copy(o);
      *this = std::move(copy);
    }
    return *this;
  }
  OrderedMpscProducer& operator=(OrderedMpscProducer&& o) noexcept {
    if (this != &o) {
      close();
      take(o);
    }
    return *this;
  }
  ~OrderedMpscProducer() { close(); }

  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  [[nodiscard]] bool valid() const noexcept { return core_ != nullptr; }
  /// False once the consumer is closed or destroyed.
  [[nodiscard]] bool peer_alive() const noexcept {
    // (A3) pairs with (R3) in OrderedMpscConsumer::close().
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
    // (A4) in OrderedMpscConsumer::peer_alive().
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
    // (A2) observe released slots; pairs with (R2) in OrderedMpscConsumer::give_back().
    head_cache_ = core_->head.load(std::memory_order_acquire);
  }
  void commit_in_order(std::uint64_t r, std::size_t n) noexcept {
    std::uint64_t c = r;
    // (R1) publish [r, r + n) if it is our turn; seq_cst: the Dekker pair with (M1)/(M2) in
    // the design note. Pairs (release) with (A1) in OrderedMpscConsumer::refresh().
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
  void take(OrderedMpscProducer& o) noexcept {
    owner_ = std::move(o.owner_);
    core_ = std::exchange(o.core_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    mirrored_ = std::exchange(o.mirrored_, false);
    head_cache_ = std::exchange(o.head_cache_, 0);
  }

  std::shared_ptr<detail::OrderedMpscCore<T>> owner_;
  detail::OrderedMpscCore<T>* core_ = nullptr;
  T* data_ = nullptr;
  std::size_t cap_ = 0;
  bool mirrored_ = false;
  std::uint64_t head_cache_ = 0;
};

/// The receiving half of a globally ordered MPSC channel. Move-only, single-owner.
template <ring_element T>
using OrderedMpscConsumer = ChannelConsumer<T, detail::OrderedMpscCore<T>>;

/// A producer handle and the consumer of a globally ordered MPSC channel:
/// `auto [tx, rx] = *make_ordered_mpsc<T>(n);`
template <ring_element T>
struct OrderedMpscChannel {
  OrderedMpscProducer<T> producer;
  OrderedMpscConsumer<T> consumer;
};

/// Creates a globally ordered MPSC channel of at least `capacity` elements. Errors:
/// Errc::invalid_capacity; with MirrorMode::required, the mapping's error.
template <ring_element T>
[[nodiscard]] Result<OrderedMpscChannel<T>> make_ordered_mpsc(std::size_t capacity,
                                                              const RingOptions& options = {}) {
  auto st = detail::TypedStorage<T>::create(capacity, options.mode, options.region);
  if (!st) return unexpected(st.error(), st.context());
  std::shared_ptr<detail::OrderedMpscCore<T>> core;
  try {
    core = std::make_shared<detail::OrderedMpscCore<T>>();
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "make_ordered_mpsc");
  }
  core->storage = std::move(*st);
  const std::size_t cap = core->storage.capacity();
  try {
    core->done = std::make_unique<std::atomic<std::uint64_t>[]>(cap);
  } catch (const std::bad_alloc&) {
    return unexpected_errno(ENOMEM, "make_ordered_mpsc");
  }
  // (X7) not shared yet. A mark equal to the start position means "nothing done" everywhere.
  for (std::size_t i = 0; i < cap; ++i) {
    core->done[i].store(options.initial_position, std::memory_order_relaxed);
  }
  core->reserve.store(options.initial_position, std::memory_order_relaxed);
  core->commit.store(options.initial_position, std::memory_order_relaxed);
  core->head.store(options.initial_position, std::memory_order_relaxed);
  OrderedMpscChannel<T> ch{OrderedMpscProducer<T>(core), OrderedMpscConsumer<T>(std::move(core))};
  return ch;
}

// The channel halves model the typed-channel concepts (checked for a representative element).
static_assert(element_producer<SpscProducer<std::uint64_t>, std::uint64_t>);
static_assert(element_consumer<SpscConsumer<std::uint64_t>, std::uint64_t>);
static_assert(element_producer<MpscProducer<std::uint64_t>, std::uint64_t>);
static_assert(element_consumer<MpscConsumer<std::uint64_t>, std::uint64_t>);
static_assert(element_producer<OrderedMpscProducer<std::uint64_t>, std::uint64_t>);
static_assert(element_consumer<OrderedMpscConsumer<std::uint64_t>, std::uint64_t>);

}  // namespace ringkit
