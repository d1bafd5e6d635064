// ringkit/event_pool.hpp: fixed-size event slots with generation-checked, refcounted handles.
//
// EventPools holds five size classes of preallocated slots (XS 64 B, S 256 B, M 1 KiB, L 4 KiB,
// XL 16 KiB) and an optional XXL heap fallback for larger events. allocate() copies a message
// into the smallest class that fits and returns an EventRef, which behaves like
// std::shared_ptr<const Event> without a heap allocation: copying it is one atomic increment on
// the slot's refcount, and the last release returns the slot and bumps its 32-bit generation.
// A WeakEventRef's lock() fails once the slot was recycled; an EventToken (trivially copyable,
// 16 bytes) carries one owned reference through make_spsc / make_mpsc or any other ring of
// trivially copyable elements, and EventRef::from_token() rejects a token whose slot no longer
// matches (Errc::stale_handle) instead of dereferencing it.
//
//   auto pools = *ringkit::EventPools::create(ringkit::PoolConfig::production());
//   ringkit::EventRef ev = *pools.allocate(message, kQuoteType);   // one copy into the slot
//   auto w = *pools.allocate_uninit(max_len);                      // or decode in place:
//   std::size_t n = decode_into(w.writable());
//   ringkit::EventRef ev2 = *std::move(w).publish(n);
//   tx.push(std::move(ev2).into_token());                           // through a channel ...
//   ringkit::EventRef got = *ringkit::EventRef::from_token(rx_token); // ... on another thread
//
// Memory layout (one pool object, two anonymous mappings, never unmapped while any handle,
// token, writer or weak handle exists):
//
//   metadata mapping: [XS meta 0][XS meta 1]...[S meta 0]...[XL meta n][XXL meta 0]...
//                     one 64-byte line per slot: state (generation << 32 | refcount), payload
//                     pointer, size, type, free-list links; nothing else shares the line
//   payload mapping:  [XS slot 0 | 64 B][XS slot 1]...[S slot 0 | 256 B]...[XL slot n | 16 KiB]
//                     page-aligned per class, every slot cache-line aligned; XXL payloads live
//                     on the heap (16-byte aligned), their metadata in the mapping
//
// Thread safety: EventPools is thread-safe (any thread allocates; the object itself must
// outlive the calls made on it, but not the handles). EventRef and WeakEventRef are
// thread-compatible values: distinct copies may be used and destroyed on any threads at once,
// like std::shared_ptr. EventWriter is single-owner. Stats are approximate while threads run.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

#include <ringkit/detail/config.hpp>
#include <ringkit/error.hpp>
#include <ringkit/result.hpp>

namespace ringkit {

/// The size classes; xxl is the heap fallback.
enum class SizeClass : std::uint8_t { xs, s, m, l, xl, xxl };

/// Number of preallocated classes (xs .. xl) and of all classes (with xxl).
inline constexpr std::size_t kFixedClasses = 5;
inline constexpr std::size_t kSizeClasses = 6;

/// Payload bytes of each preallocated class.
inline constexpr std::array<std::size_t, kFixedClasses> kClassBytes{64, 256, 1024, 4096, 16384};

/// The smallest class whose slots hold `len` bytes; SizeClass::xxl above 16 KiB.
[[nodiscard]] constexpr SizeClass size_class_for(std::size_t len) noexcept {
  if (len <= kClassBytes[0]) return SizeClass::xs;
  if (len > kClassBytes[kFixedClasses - 1]) return SizeClass::xxl;
  // Classes grow by 4x from 64 B: (bit width of len - 1) 7..8 -> S, 9..10 -> M, ...
  return static_cast<SizeClass>((std::bit_width(len - 1) - 5) / 2);
}

/// Slot counts and options of an EventPools.
struct PoolConfig {
  /// Slots per class, XS .. XL; each 1 .. 2^24.
  std::array<std::uint32_t, kFixedClasses> slots{2000, 1000, 300, 60, 15};
  /// Whether events above 16 KiB go to the heap (else Errc::too_large).
  bool xxl_enabled = true;
  /// Live XXL events at once (their metadata slots); 1 .. 2^24.
  std::uint32_t xxl_slots = 64;
  /// Largest XXL event; larger is Errc::too_large.
  std::uint32_t xxl_max_bytes = 64U << 20U;
  /// Slots moved per batch between a thread's cache and the shared lists; 0 picks
  /// min(32, max(1, slots / 16)) per class. A thread caches at most 2 batches per class.
  std::uint32_t cache_batch = 0;

  /// The reference design's profiles: about 0.4, 1.2 and 2.5 MiB (see footprint()).
  [[nodiscard]] static constexpr PoolConfig mobile() noexcept {
    return custom(500, 250, 100, 20, 5);
  }
  [[nodiscard]] static constexpr PoolConfig production() noexcept {
    return custom(2000, 1000, 300, 60, 15);
  }
  [[nodiscard]] static constexpr PoolConfig server() noexcept {
    return custom(4000, 2000, 600, 120, 30);
  }
  [[nodiscard]] static constexpr PoolConfig custom(std::uint32_t xs, std::uint32_t s,
                                                   std::uint32_t m, std::uint32_t l,
                                                   std::uint32_t xl) noexcept {
    PoolConfig c;
    c.slots = {xs, s, m, l, xl};
    return c;
  }
  /// Errc::invalid_argument when a count is out of range, else ok.
  [[nodiscard]] Errc validate() const noexcept;
  /// Bytes an EventPools made from this config maps and owns: payload slabs (page-rounded) +
  /// slot metadata + magazines + the pool object. Not included: XXL payloads (heap, while live) and
  /// each thread's cache (thread_cache_bytes(), shared by the pools that thread uses).
  [[nodiscard]] std::size_t footprint() const noexcept;
};

/// Per-class counters; O(1) to read. While other threads allocate and release, in_use and
/// high_water lag by at most 2 batches per such thread (their caches publish per batch); the
/// calling thread's own operations are always included.
struct PoolStats {
  std::size_t slot_bytes = 0;  ///< payload bytes per slot (0 for xxl)
  std::size_t capacity = 0;    ///< slots in the class
  std::size_t in_use = 0;      ///< slots held by events, writers and tokens
  std::size_t high_water = 0;  ///< largest in_use seen
  std::uint64_t failed = 0;    ///< allocations refused (pool_exhausted) in this class
};

class EventRef;
class WeakEventRef;
class EventWriter;
class EventPools;

namespace detail {

struct PoolCore;         // the pools' shared state (lib/src/event_pool.cpp)
struct EventTestAccess;  // test hook (defined by the unit tests only)

/// A slot's metadata: one cache line, separate from the payload.
// alignas: each slot's refcount is written by whichever threads hold its handles; a line of its
// own keeps that traffic off its neighbours.
struct alignas(kCacheLine) SlotMeta {
  std::atomic<std::uint64_t> state{0};  // generation << 32 | refcount
  std::byte* payload = nullptr;         // fixed classes: immutable; xxl: set per allocation
  PoolCore* core = nullptr;             // immutable
  std::uint32_t size = 0;               // written by the allocating thread before publication
  std::uint32_t type = 0;
  std::uint32_t index = 0;  // immutable
  std::uint8_t cls = 0;     // immutable
  // Set when a WeakEventRef of this generation exists (cleared by the next allocation): only
  // then can the count rise again from 1, so only then does the last drop need an atomic RMW.
  std::atomic<bool> weak{false};
  // Free-list links, used only while the slot is free (see EventPools' design note).
  std::uint32_t next = 0;                    // next slot of the chain (its holder only)
  std::atomic<std::uint32_t> chain_next{0};  // next chain in the shared list (read by racing pops)
  std::uint32_t chain_count = 0;             // slots in the chain this slot heads
};
static_assert(sizeof(SlotMeta) == kCacheLine);

inline constexpr std::uint64_t kRefMask = 0xffff'ffffULL;
/// Largest counted refcount. Above it lies the overflow margin, and from kPinnedFloor the
/// pinned range: a slot whose count overflowed is set to kPinnedValue and never freed.
inline constexpr std::uint32_t kMaxRefs = 1U << 30U;
inline constexpr std::uint32_t kPinnedFloor = 1U << 31U;
inline constexpr std::uint32_t kPinnedValue = 3U << 30U;

[[nodiscard]] constexpr std::uint32_t refs_of(std::uint64_t s) noexcept {
  return static_cast<std::uint32_t>(s & kRefMask);
}
[[nodiscard]] constexpr std::uint32_t generation_of(std::uint64_t s) noexcept {
  return static_cast<std::uint32_t>(s >> 32U);
}

/// Adds one reference. False (nothing added) when the count would pass kMaxRefs; a pinned
/// slot accepts every reference.
[[nodiscard]] inline bool try_add_ref(SlotMeta* m) noexcept {
  // (I1) relaxed like shared_ptr: the caller already holds a reference, so the slot cannot be
  // freed concurrently; no data is published by a copy.
  const std::uint32_t c = refs_of(m->state.fetch_add(1, std::memory_order_relaxed));
  if (c < kMaxRefs) [[likely]]
    return true;
  // (I2) undo; the margin between kMaxRefs and kPinnedFloor absorbs racing increments.
  m->state.fetch_sub(1, std::memory_order_relaxed);
  return c >= kPinnedFloor;
}

/// Drops one reference; true when it was the last (the caller then frees the slot).
[[nodiscard]] inline bool drop_ref(SlotMeta* m) noexcept {
  // (D0) acquire: pairs with every earlier holder's (D1). A count of 1 with no weak handle
  // means this is the only holder and nobody else can change the word (copies need a
  // reference, lock() needs a weak handle, tokens hold references): no RMW is needed, as
  // libstdc++'s shared_ptr skips it when both of its counts are 1.
  if (refs_of(m->state.load(std::memory_order_acquire)) == 1 &&
      !m->weak.load(std::memory_order_relaxed)) [[likely]] {
    return true;  // (D3) weak: a flag set by another holder is ordered before its (D1)
  }
  // (D1) acq_rel: release orders this holder's reads of the payload before the slot's reuse;
  // acquire (on the last drop) sees every other holder's (D1). Pairs with itself.
  const std::uint32_t c = refs_of(m->state.fetch_sub(1, std::memory_order_acq_rel));
  if (c == 1) return true;
  if (c >= kPinnedFloor) [[unlikely]] {
    m->state.fetch_add(1, std::memory_order_relaxed);  // (D2) a pinned count stays put
  }
  return false;
}

/// Pins the slot (its count overflowed): it is never freed from then on.
void pin_slot(SlotMeta* m) noexcept;
/// Returns a slot whose last reference was dropped to its pool (bumps the generation).
void free_slot(SlotMeta* m) noexcept;
/// Adds/drops a reference on the pools' shared state (weak handles).
void core_ref(PoolCore* core) noexcept;
void core_unref(PoolCore* core) noexcept;

}  // namespace detail

/// An owned reference to an event in transit: trivially copyable, for rings and channels.
/// Each token carries exactly one reference, adopted by exactly one EventRef::from_token();
/// a token dropped without from_token() keeps its slot allocated (like a leaked pointer).
/// Copying a token's bytes does not copy the reference: adopt each token once.
struct EventToken {
  detail::PoolCore* pools = nullptr;  ///< keeps the pools alive while the token is in flight
  std::uint32_t slot = 0;             ///< size class << 24 | slot index
  std::uint32_t generation = 0;       ///< the slot's generation when the token was made
};
static_assert(std::is_trivially_copyable_v<EventToken> && sizeof(EventToken) == 16);

/// A refcounted handle to an immutable event; empty when default-constructed or moved from.
class EventRef {
 public:
  EventRef() noexcept = default;
  /// One atomic increment. If the count is full (2^30 references), the slot is pinned instead:
  /// the copy is valid and the event stays readable, but the slot is never freed (and keeps the
  /// pools' memory alive). try_clone() reports the overflow instead of pinning.
  EventRef(const EventRef& o) noexcept : m_(o.m_) {
    if (m_ != nullptr && !detail::try_add_ref(m_)) [[unlikely]]
      detail::pin_slot(m_);
  }
  EventRef(EventRef&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  EventRef& operator=(const EventRef& o) noexcept {
    EventRef copy(o);
    swap(copy);
    return *this;
  }
  EventRef& operator=(EventRef&& o) noexcept {
    EventRef moved(std::move(o));
    swap(moved);
    return *this;
  }
  ~EventRef() { reset(); }

  /// A second reference, or Errc::refcount_overflow (nothing changed) when the count is full.
  [[nodiscard]] Result<EventRef> try_clone() const noexcept {
    if (m_ == nullptr) return EventRef();
    if (!detail::try_add_ref(m_)) return unexpected(Errc::refcount_overflow, "EventRef::try_clone");
    return EventRef(m_);
  }
  /// Drops the reference (the last one frees the slot); the handle becomes empty.
  void reset() noexcept {
    if (m_ != nullptr && detail::drop_ref(m_)) detail::free_slot(m_);
    m_ = nullptr;
  }
  void swap(EventRef& o) noexcept { std::swap(m_, o.m_); }

  [[nodiscard]] explicit operator bool() const noexcept { return m_ != nullptr; }
  /// The event's bytes; valid while this handle (or any reference to the event) lives.
  [[nodiscard]] const std::byte* data() const noexcept RINGKIT_LIFETIMEBOUND { return m_->payload; }
  [[nodiscard]] std::size_t size() const noexcept { return m_->size; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept RINGKIT_LIFETIMEBOUND {
    return {m_->payload, m_->size};
  }
  [[nodiscard]] std::uint32_t type() const noexcept { return m_->type; }
  [[nodiscard]] SizeClass size_class() const noexcept { return static_cast<SizeClass>(m_->cls); }
  /// The slot's generation (changes when the slot is recycled).
  [[nodiscard]] std::uint32_t generation() const noexcept {
    // (S1) stable while a reference is held: only the last release changes it.
    return detail::generation_of(m_->state.load(std::memory_order_relaxed));
  }
  /// References to this event right now (a hint while other threads copy; pinned: >= 2^31).
  [[nodiscard]] std::uint32_t use_count() const noexcept {
    // (S2) a snapshot, like shared_ptr::use_count.
    return m_ == nullptr ? 0 : detail::refs_of(m_->state.load(std::memory_order_relaxed));
  }

  /// Moves this handle's reference into a token (no refcount change); the handle is empty.
  [[nodiscard]] EventToken into_token() && noexcept;
  /// Moves this reference plus `holders - 1` new ones into one token that `holders` receivers
  /// each adopt once (a fan-out to a known number of readers). Errc::refcount_overflow, and
  /// the handle unchanged, if the count would overflow; Errc::invalid_argument if holders == 0
  /// or the handle is empty.
  [[nodiscard]] Result<EventToken> into_shared_token(std::uint32_t holders) && noexcept;
  /// Adopts the reference a token carries. Errc::stale_handle (nothing touched) when the slot
  /// was freed or recycled since, or the token is malformed. Detection needs the pools to
  /// exist (their owner or any handle keeps them): the bytes of a token adopted long ago must
  /// not outlive the pools. A token whose slot is still live cannot be told from a duplicate:
  /// adopt each token once.
  [[nodiscard]] static Result<EventRef> from_token(const EventToken& token) noexcept;

 private:
  friend class EventPools;
  friend class EventWriter;
  friend class WeakEventRef;
  friend struct detail::EventTestAccess;
  explicit EventRef(detail::SlotMeta* m) noexcept : m_(m) {}
  detail::SlotMeta* m_ = nullptr;
};

/// A non-owning handle: lock() succeeds while the event lives and fails once its slot was
/// freed or recycled. Holding one keeps the pools' memory (not the slot) alive.
class WeakEventRef {
 public:
  WeakEventRef() noexcept = default;
  explicit WeakEventRef(const EventRef& ref) noexcept;
  WeakEventRef(const WeakEventRef& o) noexcept;
  WeakEventRef(WeakEventRef&& o) noexcept
      : m_(std::exchange(o.m_, nullptr)), generation_(o.generation_) {}
  WeakEventRef& operator=(const WeakEventRef& o) noexcept {
    WeakEventRef copy(o);
    swap(copy);
    return *this;
  }
  WeakEventRef& operator=(WeakEventRef&& o) noexcept {
    WeakEventRef moved(std::move(o));
    swap(moved);
    return *this;
  }
  ~WeakEventRef() { reset(); }
  void reset() noexcept;
  void swap(WeakEventRef& o) noexcept {
    std::swap(m_, o.m_);
    std::swap(generation_, o.generation_);
  }

  /// A new reference to the event. Errc::stale_handle when it was released or its slot
  /// recycled (or the handle is empty); Errc::refcount_overflow when the count is full.
  [[nodiscard]] Result<EventRef> lock() const noexcept;
  /// True when lock() would fail with stale_handle now (a hint while other threads run).
  [[nodiscard]] bool expired() const noexcept;

 private:
  detail::SlotMeta* m_ = nullptr;
  std::uint32_t generation_ = 0;
};

/// A slot being filled in place (zero-copy decoding): write into writable(), then publish().
/// Destroying it unpublished returns the slot. Move-only, single-owner.
class EventWriter {
 public:
  EventWriter() noexcept = default;
  EventWriter(EventWriter&& o) noexcept : m_(std::exchange(o.m_, nullptr)), cap_(o.cap_) {}
  EventWriter& operator=(EventWriter&& o) noexcept {
    if (this != &o) {
      EventRef drop(std::exchange(m_, std::exchange(o.m_, nullptr)));
      cap_ = o.cap_;
    }
    return *this;
  }
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;
  ~EventWriter() { EventRef drop(std::exchange(m_, nullptr)); }

  [[nodiscard]] explicit operator bool() const noexcept { return m_ != nullptr; }
  /// The slot's bytes (as many as were asked for); invalidated by publish() and destruction.
  [[nodiscard]] std::span<std::byte> writable() const noexcept RINGKIT_LIFETIMEBOUND {
    return m_ == nullptr ? std::span<std::byte>() : std::span<std::byte>(m_->payload, cap_);
  }
  /// Sets the event's type (precondition: the writer is not empty).
  void set_type(std::uint32_t type) noexcept { m_->type = type; }
  /// Publishes all of writable() as the event; the writer becomes empty (an empty writer
  /// publishes an empty EventRef).
  [[nodiscard]] EventRef publish() && noexcept {
    if (m_ == nullptr) return EventRef();
    m_->size = static_cast<std::uint32_t>(cap_);
    return EventRef(std::exchange(m_, nullptr));
  }
  /// Publishes the first `n` bytes of writable(). Errc::over_commit (writer unchanged) if `n`
  /// exceeds writable().size(); Errc::invalid_argument if the writer is empty.
  [[nodiscard]] Result<EventRef> publish(std::size_t n) && noexcept {
    if (m_ == nullptr) return unexpected(Errc::invalid_argument, "EventWriter::publish");
    if (n > cap_) return unexpected(Errc::over_commit, "EventWriter::publish");
    m_->size = static_cast<std::uint32_t>(n);
    return EventRef(std::exchange(m_, nullptr));
  }

 private:
  friend class EventPools;
  EventWriter(detail::SlotMeta* m, std::size_t cap) noexcept : m_(m), cap_(cap) {}
  detail::SlotMeta* m_ = nullptr;
  std::size_t cap_ = 0;
};

/// The owner of a set of size-class pools; see the file comment for the contract.
///
/// Design. Slots are preallocated per class and never unmapped while anything refers to them,
/// so metadata is type-stable: a stale handle or token can always read a slot's state word and
/// compare generations, and a racing pop can always read a link, without use-after-free.
///
/// Lifetime. The shared state (PoolCore) carries one intrusive refcount: one for the owner
/// (this object), one per WeakEventRef, one per thread cache that refers to it, and one per
/// slot outside the shared free lists (held by events, writers, tokens, or sitting in thread
/// caches). Slot references are taken and dropped per batch (one atomic add per 32 slots), so
/// copying an EventRef touches only the slot's own state word. Whoever drops the last
/// reference unmaps the slabs: then no slot is live and no cache refers to the pools. Either
/// order of "owner destroyed" and "thread with a cache exits" is therefore safe: thread exit
/// flushes its caches (dropping their references); the owner's destructor marks the pools
/// closed and flushes its own thread's cache, and other threads evict caches of closed pools
/// at their next slow-path call, at exit, or in flush_thread_cache().
///
/// Allocation. Each thread keeps, per pool (up to 4 pools per thread; further pools evict the
/// last entry) and per class, a stack of up to 2 B free slot indices (B = cache_batch), as
/// DPDK's mempool cache does. allocate pops it; when it is empty, one magazine (an array of up
/// to B indices) is taken from the class's shared list of full magazines (one CAS) and copied
/// in, and the magazine goes to the list of empty ones (one CAS). A release pushes; when 2 B
/// are cached, the older B are copied into an empty magazine that joins the full list. So a
/// slot made on thread A and released on thread B travels back in batches: A and B touch the
/// shared lists twice per B slots each, instead of bouncing one cache line per event (~700 ns
/// per bounce on a two-core VM), and a refill reads the indices from one array instead of
/// chasing links through B slots last written on the other core. Both lists are Treiber stacks
/// whose head packs a 32-bit tag with the top node's index in one 64-bit word (folly
/// IndexedMemPool's scheme): a pop that raced with a pop/push of the same node fails its CAS,
/// so ABA cannot relink a taken node. There are ceil(slots / B) + 4 magazines per class; when
/// no empty one is at hand (batches in transit, partial batches flushed at thread exit), the
/// slots go to a third stack as a chain linked through their metadata, which refills walk.
/// The initial magazines hand out even slots before odd ones, so slots allocated one after the
/// other never share a 128-byte pair of metadata lines (x86 cores fetch lines in such pairs;
/// a producer writing slot k + 1 while a consumer releases slot k made the pair bounce and
/// cost ~1 us per event); batches keep that order as they circulate.
/// Bounded work: every call does O(B) steps plus CAS retries under contention (lock-free).
/// Exhaustion: allocate fails when the caller's cache and the shared lists are empty; slots in
/// other threads' caches (at most 2 B per class per thread) are not stolen.
///
/// Refcount and generation share one 64-bit state word per slot (generation << 32 | count), so
/// WeakEventRef::lock() checks "same generation and count >= 1" and increments in one CAS and
/// can never resurrect a freed slot. Copies use fetch_add and undo when the count passed 2^30;
/// the 2^30 margin below the pinned range makes that race-free for any realistic thread count.
/// XXL events take a metadata slot from their own shared lists (uncached) and a heap payload.
class EventPools {
 public:
  /// Maps the slabs of `config`. Errc::invalid_argument for a bad config; the mmap errno when
  /// the mapping fails.
  [[nodiscard]] static Result<EventPools> create(const PoolConfig& config = PoolConfig());

  EventPools() noexcept = default;
  EventPools(EventPools&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
  EventPools& operator=(EventPools&& o) noexcept;
  EventPools(const EventPools&) = delete;
  EventPools& operator=(const EventPools&) = delete;
  /// Releases the owner's reference; the memory stays while any handle exists.
  ~EventPools();

  /// Copies `bytes` into a slot of the smallest class that fits. Errc::pool_exhausted when that
  /// class has no free slot (counted in stats().failed; retry after releases), Errc::too_large
  /// above 16 KiB with the XXL fallback off or above xxl_max_bytes.
  [[nodiscard]] Result<EventRef> allocate(std::span<const std::byte> bytes,
                                          std::uint32_t type = 0) noexcept;
  /// A slot for `n` bytes to fill in place; errors as allocate().
  [[nodiscard]] Result<EventWriter> allocate_uninit(std::size_t n, std::uint32_t type = 0) noexcept;

  /// Counters of one class (O(1)).
  [[nodiscard]] PoolStats stats(SizeClass c) const noexcept;
  /// Bytes mapped and owned by these pools (PoolConfig::footprint() of their config).
  [[nodiscard]] std::size_t footprint() const noexcept;
  [[nodiscard]] const PoolConfig& config() const noexcept;
  [[nodiscard]] bool valid() const noexcept { return core_ != nullptr; }

  /// Bytes of one thread's cache (thread-local, shared by the up to 4 pools it serves).
  [[nodiscard]] static std::size_t thread_cache_bytes() noexcept;
  /// Returns every slot cached by the calling thread, of all pools, to the shared lists (for
  /// long-lived threads that stop using the pools).
  static void flush_thread_cache() noexcept;

 private:
  [[nodiscard]] detail::SlotMeta* take(std::size_t n, std::uint32_t type, Errc& err) noexcept;
  detail::PoolCore* core_ = nullptr;
};

}  // namespace ringkit
