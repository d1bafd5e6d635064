// Event pools: slab setup, the shared chain lists, the per-thread caches and the pools'
// lifetime (the design note is at the top of class EventPools in ringkit/event_pool.hpp).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include <sys/mman.h>

#include <ringkit/detail/mapping.hpp>
#include <ringkit/event_pool.hpp>

namespace ringkit {
namespace detail {
namespace {

constexpr std::uint32_t kNil = 0xffff'ffffU;
constexpr std::size_t kCachedPools = 4;
constexpr std::uint32_t kMaxBatch = 32;
constexpr std::uint32_t kMaxSlots = 1U << 24U;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kXxl = static_cast<std::size_t>(SizeClass::xxl);
/// Magazines per class beyond those the slots fill: room for batches in transit.
constexpr std::uint32_t kSpareMagazines = 4;

[[nodiscard]] constexpr std::size_t round_up(std::size_t n, std::size_t a) noexcept {
  return (n + a - 1) / a * a;
}

/// A Treiber stack of nodes named by index (slot chains, magazines). The head word packs a
/// tag (high 32 bits, bumped by every push and pop) with the top node's index + 1 (low 32
/// bits, 0 = empty), so a CAS against a head that was popped and pushed again meanwhile fails
/// (folly IndexedMemPool's scheme). `Link` is the node's atomic link to the node below.
template <class Node, std::atomic<std::uint32_t> Node::*Link>
class TaggedStack {
 public:
  /// Pushes node `idx`; everything the caller wrote to it before is published with it.
  void push(Node* nodes, std::uint32_t idx) noexcept {
    std::uint64_t old = head_.load(std::memory_order_relaxed);  // (L0) retried by (L1)
    for (;;) {
      // (L4) relaxed: published by (L1); read by racing pops at (L3).
      (nodes[idx].*Link).store(static_cast<std::uint32_t>(old), std::memory_order_relaxed);
      const std::uint64_t desired = (((old >> 32U) + 1) << 32U) | (std::uint64_t{idx} + 1);
      // (L1) release: publishes the node's contents and the slots' last uses; pairs with
      // (L2)/(L5) in pop().
      if (head_.compare_exchange_weak(old, desired, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return;
      }
    }
  }
  /// Pops the top node; kNil when empty.
  [[nodiscard]] std::uint32_t pop(Node* nodes) noexcept {
    // (L2) acquire: pairs with (L1), so the top node's link below is the pushed one.
    std::uint64_t old = head_.load(std::memory_order_acquire);
    for (;;) {
      const auto enc = static_cast<std::uint32_t>(old);
      if (enc == 0) return kNil;
      const std::uint32_t idx = enc - 1;
      // (L3) may be stale if another thread took this node meanwhile: the tag makes the CAS
      // below fail then. Nodes are type-stable, so the read itself is always safe.
      const std::uint32_t next = (nodes[idx].*Link).load(std::memory_order_relaxed);
      const std::uint64_t desired = (((old >> 32U) + 1) << 32U) | next;
      // (L5) acquire: pairs with (L1) of the push that made this node the top.
      if (head_.compare_exchange_weak(old, desired, std::memory_order_acquire,
                                      std::memory_order_acquire)) {
        return idx;
      }
    }
  }

 private:
  // alignas: every thread's batch transfers CAS this word; keep it off the other counters.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> head_{0};
};

/// A batch of free slot indices moved as one unit between thread caches (DPDK's mempool
/// cache flush/refill, Bonwick's magazines). Indices in an array, so a refill reads one or
/// two lines instead of chasing links through slots last written on another core.
struct Magazine {
  std::atomic<std::uint32_t> next{0};  // TaggedStack link
  std::uint32_t count = 0;
  std::array<std::uint32_t, kMaxBatch> slots{};
};

using MagazineStack = TaggedStack<Magazine, &Magazine::next>;
/// Slot chains (linked through SlotMeta::next, described by the head's chain_count): the
/// fallback when no empty magazine is at hand, and the XXL class's list.
using ChainStack = TaggedStack<SlotMeta, &SlotMeta::chain_next>;

/// Stores max(target, v).
void store_max(std::atomic<std::int64_t>& target, std::int64_t v) noexcept {
  // (H1) relaxed: a statistic, no data is published through it.
  std::int64_t cur = target.load(std::memory_order_relaxed);
  while (cur < v && !target.compare_exchange_weak(cur, v, std::memory_order_relaxed,
                                                  std::memory_order_relaxed)) {
  }
}

}  // namespace

struct ClassState {
  SlotMeta* meta = nullptr;
  std::byte* payload = nullptr;
  std::uint32_t capacity = 0;
  std::uint32_t slot_bytes = 0;
  std::uint32_t batch = 1;
  Magazine* mags = nullptr;  // ceil(capacity / batch) + kSpareMagazines
  MagazineStack full;        // magazines holding free slots
  MagazineStack empty;       // magazines holding none
  ChainStack loose;          // free slots in chains (see ChainStack)
  // alignas: updated once per batch by every thread; off the list head's line.
  alignas(kFalseSharingRange) std::atomic<std::int64_t> in_use{0};
  std::atomic<std::int64_t> high_water{0};
  std::atomic<std::uint64_t> failed{0};
};

struct PoolCore {
  // alignas: refs changes once per batch transfer; the rest is read-mostly.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> refs{1};
  alignas(kFalseSharingRange) std::atomic<bool> closed{false};
  PoolConfig config;
  std::size_t footprint = 0;
  Mapping meta_map;
  Mapping payload_map;
  std::array<ClassState, kSizeClasses> classes;
  std::unique_ptr<std::unique_ptr<std::byte[]>[]> xxl_buffers;  // owner of each XXL payload
  std::unique_ptr<Magazine[]> magazines;                        // all classes' magazines
};

namespace {

void destroy(PoolCore* core) noexcept { std::unique_ptr<PoolCore> owner(core); }

/// Drops `n` references; the last one destroys the pools (nothing refers to them any more).
void unref(PoolCore* core, std::uint64_t n) noexcept {
  // (P2) acq_rel: the last drop sees every other holder's (P2) before unmapping.
  if (core->refs.fetch_sub(n, std::memory_order_acq_rel) == n) destroy(core);
}
void add_refs(PoolCore* core, std::uint64_t n) noexcept {
  // (P1) relaxed: the caller already holds a reference (owner, cache entry or slot).
  core->refs.fetch_add(n, std::memory_order_relaxed);
}

// --- Thread caches ---------------------------------------------------------------------------

/// One thread's free slots of one class: a stack of up to 2 batches of slot indices.
struct ClassCache {
  SlotMeta* meta = nullptr;      // the class's metadata array (copied from ClassState)
  std::byte* payload = nullptr;  // the class's payload slab (copied from ClassState)
  std::uint32_t slot_bytes = 0;  // (copied from ClassState)
  std::uint32_t batch = 1;       // the class's batch size (copied from ClassState)
  std::uint32_t count = 0;       // slots[0, count) are free
  std::int64_t pending = 0;      // allocations - releases not yet added to ClassState::in_use
  std::int64_t peak = 0;         // largest `pending` since the last publication
  std::array<std::uint32_t, std::size_t{2} * kMaxBatch> slots{};
};

struct CacheEntry {
  PoolCore* core = nullptr;  // holds one reference while set
  std::array<ClassCache, kFixedClasses> cls{};
};

void publish_stats(ClassState& cs, ClassCache& c) noexcept {
  if (c.pending == 0 && c.peak == 0) return;
  // (T1) relaxed: statistics only.
  const std::int64_t before = cs.in_use.fetch_add(c.pending, std::memory_order_relaxed);
  store_max(cs.high_water, before + c.peak);
  c.pending = 0;
  c.peak = 0;
}

/// Moves `n` free slots to the class's shared lists: batches into empty magazines (one CAS
/// each way), or as slot chains when no empty magazine is at hand. The caller drops their
/// references afterwards.
void return_slots(ClassState& cs, const std::uint32_t* idx, std::uint32_t n) noexcept {
  while (n != 0) {
    const std::uint32_t k = std::min(n, cs.batch);
    const std::uint32_t mag = cs.empty.pop(cs.mags);
    if (mag != kNil) {
      Magazine& g = cs.mags[mag];
      g.count = k;  // published by (L1)
      std::copy_n(idx, k, g.slots.begin());
      cs.full.push(cs.mags, mag);
    } else {
      for (std::uint32_t i = 0; i + 1 < k; ++i) cs.meta[idx[i]].next = idx[i + 1];
      cs.meta[idx[0]].chain_count = k;  // published by (L1)
      cs.loose.push(cs.meta, idx[0]);
    }
    idx += k;
    n -= k;
  }
}

/// Takes one batch of free slots from the class's shared lists into `out` (room for a
/// batch); returns how many (0 when none is free). The caller adds their references.
[[nodiscard]] std::uint32_t take_slots(ClassState& cs, std::uint32_t* out) noexcept {
  const std::uint32_t mag = cs.full.pop(cs.mags);
  if (mag != kNil) {
    Magazine& g = cs.mags[mag];
    const std::uint32_t n = g.count;
    std::copy_n(g.slots.begin(), n, out);
    cs.empty.push(cs.mags, mag);
    return n;
  }
  std::uint32_t i = cs.loose.pop(cs.meta);
  if (i == kNil) return 0;
  const std::uint32_t n = cs.meta[i].chain_count;
  for (std::uint32_t k = 0; k < n; ++k) {
    out[k] = i;
    i = cs.meta[i].next;
  }
  return n;
}

/// Flushes an entry's slots to the shared lists and drops its reference.
void evict(CacheEntry& e) noexcept {
  PoolCore* core = std::exchange(e.core, nullptr);
  if (core == nullptr) return;
  for (std::size_t cls = 0; cls < kFixedClasses; ++cls) {
    ClassCache& c = e.cls[cls];
    publish_stats(core->classes[cls], c);
    if (c.count != 0) {
      return_slots(core->classes[cls], c.slots.data(), c.count);
      unref(core, c.count);  // never the last: the entry's own reference is still held
    }
    c = ClassCache{};  // meta and batch are set again by make_entry()
  }
  unref(core, 1);
}

struct ThreadCache {
  std::array<CacheEntry, kCachedPools> entries{};
  constexpr ThreadCache() noexcept = default;
  ThreadCache(const ThreadCache&) = delete;
  ThreadCache& operator=(const ThreadCache&) = delete;
  ThreadCache(ThreadCache&&) = delete;
  ThreadCache& operator=(ThreadCache&&) = delete;
  ~ThreadCache();
};

enum class TlsState : std::uint8_t { unborn, live, dead };
constinit thread_local TlsState tls_state = TlsState::unborn;
thread_local ThreadCache tls_cache;

ThreadCache::~ThreadCache() {
  // Releases that run after this (other thread_local destructors) take the uncached path.
  tls_state = TlsState::dead;
  for (CacheEntry& e : entries) evict(e);
}

/// The calling thread's cache, or nullptr once it was destroyed (thread exit).
[[nodiscard]] ThreadCache* thread_cache() noexcept {
  if (tls_state == TlsState::live) [[likely]]
    return &tls_cache;
  if (tls_state == TlsState::dead) return nullptr;
  tls_state = TlsState::live;
  return &tls_cache;  // first use constructs it and registers its destructor
}

/// Evicts cached entries of pools whose owner is gone (except `keep`).
void sweep_closed(ThreadCache& tc, const PoolCore* keep) noexcept {
  for (CacheEntry& e : tc.entries) {
    // (C2) pairs with (C1) in ~EventPools: a closed pool no longer needs a cache here.
    if (e.core != nullptr && e.core != keep && e.core->closed.load(std::memory_order_acquire)) {
      evict(e);
    }
  }
}

/// Creates the calling thread's entry for `core` (find_entry()'s slow path).
[[gnu::noinline]] CacheEntry* make_entry(PoolCore* core) noexcept {
  ThreadCache* tc = thread_cache();
  if (tc == nullptr) return nullptr;
  for (CacheEntry& e : tc->entries) {
    if (e.core == core) return &e;  // the thread cache was just constructed
  }
  sweep_closed(*tc, core);
  CacheEntry* slot = nullptr;
  for (CacheEntry& e : tc->entries) {
    if (e.core == nullptr) {
      slot = &e;
      break;
    }
  }
  if (slot == nullptr) {
    slot = &tc->entries.back();  // more pools than entries: the last one makes room
    evict(*slot);
  }
  add_refs(core, 1);
  slot->core = core;
  for (std::size_t cls = 0; cls < kFixedClasses; ++cls) {
    slot->cls[cls].meta = core->classes[cls].meta;
    slot->cls[cls].payload = core->classes[cls].payload;
    slot->cls[cls].slot_bytes = core->classes[cls].slot_bytes;
    slot->cls[cls].batch = core->classes[cls].batch;
  }
  return slot;
}

/// The calling thread's entry for `core`, created if needed; nullptr when uncached.
/// The caller holds a reference to `core`.
[[gnu::always_inline]] inline CacheEntry* find_entry(PoolCore* core) noexcept {
  if (tls_state == TlsState::live) [[likely]] {
    for (CacheEntry& e : tls_cache.entries) {
      if (e.core == core) [[likely]]
        return &e;
    }
  }
  return make_entry(core);
}

[[nodiscard]] CacheEntry* existing_entry(const PoolCore* core) noexcept {
  if (tls_state != TlsState::live) return nullptr;
  for (CacheEntry& e : tls_cache.entries) {
    if (e.core == core) return &e;
  }
  return nullptr;
}

/// Refills an empty cache with one batch from the shared lists; false when none is free.
[[gnu::noinline]] bool refill(CacheEntry& e, std::size_t cls) noexcept {
  PoolCore* core = e.core;
  ClassCache& c = e.cls[cls];
  ClassState& cs = core->classes[cls];
  publish_stats(cs, c);
  if (ThreadCache* tc = thread_cache()) sweep_closed(*tc, core);
  c.count = take_slots(cs, c.slots.data());
  if (c.count == 0) return false;
  add_refs(core, c.count);
  return true;
}

[[gnu::always_inline]] inline SlotMeta* take_cached(CacheEntry& e, std::size_t cls) noexcept {
  ClassCache& c = e.cls[cls];
  if (c.count == 0) [[unlikely]] {
    if (!refill(e, cls)) return nullptr;
  }
  SlotMeta* m = c.meta + c.slots[--c.count];
  if (c.count != 0) {
    // The next slot's lines were last written by whichever thread released it: start
    // fetching them for writing now, so the next allocation does not wait for them.
    const std::uint32_t next = c.slots[c.count - 1];
    __builtin_prefetch(c.meta + next, 1);
    __builtin_prefetch(c.payload + std::size_t{next} * c.slot_bytes, 1);
  }
  ++c.pending;
  c.peak = std::max(c.peak, c.pending);
  return m;
}

/// Makes room in a full cache: its older batch goes to the shared lists.
[[gnu::noinline]] void spill(CacheEntry& e, std::size_t cls) noexcept {
  ClassCache& c = e.cls[cls];
  ClassState& cs = e.core->classes[cls];
  publish_stats(cs, c);
  return_slots(cs, c.slots.data(), c.batch);
  unref(e.core, c.batch);  // never the last: the entry's own reference is still held
  c.count -= c.batch;
  std::copy_n(c.slots.begin() + c.batch, c.count, c.slots.begin());  // keep the recent ones
}

/// Pushes a free slot onto the cache (which has room).
[[gnu::always_inline]] inline void push_loaded(ClassCache& c, SlotMeta* m) noexcept {
  c.slots[c.count++] = m->index;
  --c.pending;
}

[[gnu::always_inline]] inline void release_cached(CacheEntry& e, SlotMeta* m) noexcept {
  ClassCache& c = e.cls[m->cls];
  if (c.count >= 2 * c.batch) [[unlikely]]
    spill(e, m->cls);
  push_loaded(c, m);
}

/// Takes one slot straight from the shared lists (XXL, or no cache: the thread is exiting).
[[nodiscard]] SlotMeta* take_uncached(PoolCore* core, std::size_t cls) noexcept {
  ClassState& cs = core->classes[cls];
  std::array<std::uint32_t, kMaxBatch> got{};
  const std::uint32_t n = take_slots(cs, got.data());
  if (n == 0) return nullptr;
  return_slots(cs, got.data(), n - 1);  // all but the last one go back
  add_refs(core, 1);
  const std::int64_t before = cs.in_use.fetch_add(1, std::memory_order_relaxed);  // (T1)
  store_max(cs.high_water, before + 1);
  return &cs.meta[got[n - 1]];
}

void release_uncached(PoolCore* core, SlotMeta* m) noexcept {
  ClassState& cs = core->classes[m->cls];
  return_slots(cs, &m->index, 1);
  cs.in_use.fetch_sub(1, std::memory_order_relaxed);  // (T1)
  unref(core, 1);  // may be the last reference: nothing touches `core` after this
}

[[nodiscard]] std::uint32_t auto_batch(std::uint32_t slots) noexcept {
  return std::clamp<std::uint32_t>(slots / 16, 1, kMaxBatch);
}

}  // namespace

void pin_slot(SlotMeta* m) noexcept {
  // (I3) relaxed: only the count's range changes; the slot's data is not published here.
  std::uint64_t s = m->state.load(std::memory_order_relaxed);
  while (refs_of(s) < kPinnedFloor &&
         !m->state.compare_exchange_weak(s, (s & ~kRefMask) | kPinnedValue,
                                         std::memory_order_relaxed, std::memory_order_relaxed)) {
  }
}

namespace {
/// free_slot() for everything but a push onto a non-full cached chain.
[[gnu::noinline]] void free_slot_slow(SlotMeta* m) noexcept {
  PoolCore* core = m->core;
  if (m->cls == kXxl) {
    core->xxl_buffers[m->index].reset();
    m->payload = nullptr;
    release_uncached(core, m);
    return;
  }
  // (C3) relaxed: a hint only; a closed pool's slots skip the cache (no speed needed there).
  if (!core->closed.load(std::memory_order_relaxed)) [[likely]] {
    if (CacheEntry* e = find_entry(core)) [[likely]] {
      release_cached(*e, m);
      return;
    }
  }
  release_uncached(core, m);
}
}  // namespace

void free_slot(SlotMeta* m) noexcept {
  PoolCore* core = m->core;
  // (G1) relaxed: the count is 0, so lock() (W1) and from_token() (T2) already fail; the new
  // generation reaches the next owner through the free list's (L1)/(L5).
  const std::uint64_t s = m->state.load(std::memory_order_relaxed);
  m->state.store(std::uint64_t{generation_of(s) + 1U} << 32U, std::memory_order_relaxed);
  // Fast path: this thread caches the pool and the class's loaded chain has room.
  if (tls_state == TlsState::live && m->cls != kXxl &&
      !core->closed.load(std::memory_order_relaxed)) [[likely]] {  // (C3)
    for (CacheEntry& e : tls_cache.entries) {
      if (e.core != core) continue;
      ClassCache& c = e.cls[m->cls];
      if (c.count >= 2 * c.batch) break;
      push_loaded(c, m);
      return;
    }
  }
  free_slot_slow(m);
}

void core_ref(PoolCore* core) noexcept { add_refs(core, 1); }
void core_unref(PoolCore* core) noexcept { unref(core, 1); }

}  // namespace detail

// --- PoolConfig ------------------------------------------------------------------------------

Errc PoolConfig::validate() const noexcept {
  for (const std::uint32_t n : slots) {
    if (n == 0 || n > detail::kMaxSlots) return Errc::invalid_argument;
  }
  if (xxl_slots == 0 || xxl_slots > detail::kMaxSlots) return Errc::invalid_argument;
  return Errc::ok;
}

namespace {
[[nodiscard]] std::size_t meta_bytes(const PoolConfig& c) noexcept {
  std::size_t n = c.xxl_slots;
  for (const std::uint32_t s : c.slots) n += s;
  return detail::round_up(n * sizeof(detail::SlotMeta), detail::kPage);
}
[[nodiscard]] std::uint32_t class_batch(const PoolConfig& c, std::size_t cls) noexcept {
  if (cls >= kFixedClasses) return 1;
  if (c.cache_batch != 0) return std::min(c.cache_batch, detail::kMaxBatch);
  return detail::auto_batch(c.slots[cls]);
}
[[nodiscard]] std::uint32_t magazines_for(std::uint32_t capacity, std::uint32_t batch) noexcept {
  return (capacity + batch - 1) / batch + detail::kSpareMagazines;
}
[[nodiscard]] std::size_t total_magazines(const PoolConfig& c) noexcept {
  std::size_t n = magazines_for(c.xxl_slots, 1);
  for (std::size_t cls = 0; cls < kFixedClasses; ++cls) {
    n += magazines_for(c.slots[cls], class_batch(c, cls));
  }
  return n;
}
[[nodiscard]] std::size_t class_payload_bytes(const PoolConfig& c, std::size_t cls) noexcept {
  return detail::round_up(std::size_t{c.slots[cls]} * kClassBytes[cls], detail::kPage);
}
}  // namespace

std::size_t PoolConfig::footprint() const noexcept {
  std::size_t payload = 0;
  for (std::size_t c = 0; c < kFixedClasses; ++c) payload += class_payload_bytes(*this, c);
  return payload + meta_bytes(*this) + sizeof(detail::PoolCore) +
         std::size_t{xxl_slots} * sizeof(std::unique_ptr<std::byte[]>) +
         total_magazines(*this) * sizeof(detail::Magazine);
}

// --- EventRef / WeakEventRef -----------------------------------------------------------------

EventToken EventRef::into_token() && noexcept {
  EventToken t;
  if (m_ == nullptr) return t;
  t.pools = m_->core;
  t.slot = (std::uint32_t{m_->cls} << 24U) | m_->index;
  t.generation = generation();
  m_ = nullptr;
  return t;
}

Result<EventToken> EventRef::into_shared_token(std::uint32_t holders) && noexcept {
  if (m_ == nullptr || holders == 0) {
    return unexpected(Errc::invalid_argument, "EventRef::into_shared_token");
  }
  if (holders > detail::kMaxRefs) {
    return unexpected(Errc::refcount_overflow, "EventRef::into_shared_token");
  }
  if (holders > 1) {
    const std::uint32_t extra = holders - 1;
    // (I1) relaxed, as a copy.
    const std::uint32_t c = detail::refs_of(m_->state.fetch_add(extra, std::memory_order_relaxed));
    if (c >= detail::kPinnedFloor) {
      m_->state.fetch_sub(extra, std::memory_order_relaxed);  // (I2) pinned: no count needed
    } else if (std::uint64_t{c} + extra > detail::kMaxRefs) {
      m_->state.fetch_sub(extra, std::memory_order_relaxed);  // (I2) undo
      return unexpected(Errc::refcount_overflow, "EventRef::into_shared_token");
    }
  }
  return std::move(*this).into_token();
}

Result<EventRef> EventRef::from_token(const EventToken& token) noexcept {
  detail::PoolCore* core = token.pools;
  const std::size_t cls = token.slot >> 24U;
  const std::uint32_t idx = token.slot & 0xff'ffffU;
  if (core == nullptr || cls >= kSizeClasses || idx >= core->classes[cls].capacity) {
    return unexpected(Errc::stale_handle, "EventRef::from_token");
  }
  const detail::ClassState& cs = core->classes[cls];
  detail::SlotMeta* m = &cs.meta[idx];
  // The payload's address follows from the token: fetch it while the state word is loaded.
  if (cs.payload != nullptr) __builtin_prefetch(cs.payload + std::size_t{idx} * cs.slot_bytes);
  // (T2) acquire: pairs with (G2) of the allocation the token came from.
  const std::uint64_t s = m->state.load(std::memory_order_acquire);
  if (detail::generation_of(s) != token.generation || detail::refs_of(s) == 0) {
    return unexpected(Errc::stale_handle, "EventRef::from_token");
  }
  return EventRef(m);
}

WeakEventRef::WeakEventRef(const EventRef& ref) noexcept : m_(ref.m_) {
  if (m_ == nullptr) return;
  generation_ = ref.generation();
  // (D3) relaxed: read by drop_ref() after its (D0) acquire, which is ordered after this
  // holder's own later (D1); the flag only ever goes from false to true in a generation.
  m_->weak.store(true, std::memory_order_relaxed);
  detail::core_ref(m_->core);
}

WeakEventRef::WeakEventRef(const WeakEventRef& o) noexcept : m_(o.m_), generation_(o.generation_) {
  if (m_ != nullptr) detail::core_ref(m_->core);
}

void WeakEventRef::reset() noexcept {
  if (m_ != nullptr) detail::core_unref(m_->core);
  m_ = nullptr;
}

Result<EventRef> WeakEventRef::lock() const noexcept {
  if (m_ == nullptr) return unexpected(Errc::stale_handle, "WeakEventRef::lock");
  std::uint64_t s = m_->state.load(std::memory_order_relaxed);  // (W0) checked by (W1)
  for (;;) {
    const std::uint32_t c = detail::refs_of(s);
    if (detail::generation_of(s) != generation_ || c == 0) {
      return unexpected(Errc::stale_handle, "WeakEventRef::lock");
    }
    if (c >= detail::kMaxRefs) {
      if (c >= detail::kPinnedFloor) return EventRef(m_);  // pinned: never freed
      return unexpected(Errc::refcount_overflow, "WeakEventRef::lock");
    }
    // (W1) acquire: increments only from "same generation, count >= 1", so a freed slot is
    // never resurrected; pairs with (G2), making the event's bytes visible.
    if (m_->state.compare_exchange_weak(s, s + 1, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      return EventRef(m_);
    }
  }
}

bool WeakEventRef::expired() const noexcept {
  if (m_ == nullptr) return true;
  const std::uint64_t s = m_->state.load(std::memory_order_relaxed);  // (W2) a hint
  return detail::generation_of(s) != generation_ || detail::refs_of(s) == 0;
}

// --- EventPools ------------------------------------------------------------------------------

Result<EventPools> EventPools::create(const PoolConfig& config) {
  if (config.validate() != Errc::ok) return unexpected(Errc::invalid_argument, "PoolConfig");
  auto core = std::make_unique<detail::PoolCore>();
  core->config = config;
  core->footprint = config.footprint();
  auto metas = detail::Mapping::create(meta_bytes(config));
  if (!metas) return unexpected(metas.error(), metas.context());
  std::size_t payload_total = 0;
  for (std::size_t c = 0; c < kFixedClasses; ++c) payload_total += class_payload_bytes(config, c);
  auto payload = detail::Mapping::create(payload_total);
  if (!payload) return unexpected(payload.error(), payload.context());
  core->meta_map = std::move(*metas);
  core->payload_map = std::move(*payload);
  core->xxl_buffers = std::make_unique<std::unique_ptr<std::byte[]>[]>(config.xxl_slots);

  core->magazines = std::make_unique<detail::Magazine[]>(total_magazines(config));
  auto* meta = reinterpret_cast<detail::SlotMeta*>(core->meta_map.data());
  detail::Magazine* mags = core->magazines.get();
  std::byte* slab = core->payload_map.data();
  for (std::size_t c = 0; c < kSizeClasses; ++c) {
    detail::ClassState& cs = core->classes[c];
    const bool fixed = c < kFixedClasses;
    cs.capacity = fixed ? config.slots[c] : config.xxl_slots;
    cs.slot_bytes = fixed ? static_cast<std::uint32_t>(kClassBytes[c]) : 0;
    cs.batch = class_batch(config, c);
    cs.meta = meta;
    cs.mags = mags;
    cs.payload = fixed ? slab : nullptr;
    for (std::uint32_t i = 0; i < cs.capacity; ++i) {
      detail::SlotMeta* m = std::construct_at(meta + i);
      m->payload = fixed ? slab + std::size_t{i} * cs.slot_bytes : nullptr;
      m->core = core.get();
      m->index = i;
      m->cls = static_cast<std::uint8_t>(c);
      m->next = i + 1;
    }
    // Every slot in a magazine of `batch`, pushed last-first so that the lowest slots are used
    // first; the spare magazines start empty.
    const std::uint32_t filled = (cs.capacity + cs.batch - 1) / cs.batch;
    const std::uint32_t total = magazines_for(cs.capacity, cs.batch);
    for (std::uint32_t k = total; k-- > 0;) {
      detail::Magazine& g = mags[k];
      if (k >= filled) {
        cs.empty.push(mags, k);
        continue;
      }
      const std::uint32_t first = k * cs.batch;
      g.count = std::min(cs.capacity, first + cs.batch) - first;
      // Even slots first, then odd ones: slots taken one after the other never share a
      // 128-byte line pair of metadata (nor of XS payload), which the adjacent-line
      // prefetcher would make bounce between a producer and a consumer core. Slots keep that
      // order as they travel between caches in batches.
      const std::uint32_t half = (cs.capacity + 1) / 2;
      for (std::uint32_t i = 0; i < g.count; ++i) {
        const std::uint32_t p = first + g.count - 1 - i;
        g.slots[i] = p < half ? 2 * p : 2 * (p - half) + 1;
      }
      cs.full.push(mags, k);
    }
    meta += cs.capacity;
    mags += total;
    if (fixed) slab += class_payload_bytes(config, c);
  }
  EventPools pools;
  pools.core_ = core.release();  // owned through its intrusive refcount from here on
  return pools;
}

EventPools& EventPools::operator=(EventPools&& o) noexcept {
  if (this != &o) {
    EventPools old(std::move(*this));
    core_ = std::exchange(o.core_, nullptr);
  }
  return *this;
}

EventPools::~EventPools() {
  if (core_ == nullptr) return;
  // (C1) release: pairs with (C2) in other threads' sweeps.
  core_->closed.store(true, std::memory_order_release);
  if (detail::CacheEntry* e = detail::existing_entry(core_)) detail::evict(*e);
  detail::unref(core_, 1);
}

[[gnu::always_inline]] inline detail::SlotMeta* EventPools::take(std::size_t n, std::uint32_t type,
                                                                 Errc& err) noexcept {
  detail::PoolCore* core = core_;
  if (core == nullptr) {
    err = Errc::invalid_argument;
    return nullptr;
  }
  const auto cls = static_cast<std::size_t>(size_class_for(n));
  detail::SlotMeta* m = nullptr;
  if (cls == detail::kXxl) [[unlikely]] {
    if (!core->config.xxl_enabled || n > core->config.xxl_max_bytes) {
      err = Errc::too_large;
      return nullptr;
    }
    m = detail::take_uncached(core, cls);
    if (m != nullptr) {
      std::unique_ptr<std::byte[]> buf;
      try {
        buf = std::make_unique_for_overwrite<std::byte[]>(n);
      } catch (const std::bad_alloc&) {
        detail::release_uncached(core, m);  // the owner's reference keeps `core` alive
        m = nullptr;
      }
      if (m != nullptr) {
        m->payload = buf.get();
        core->xxl_buffers[m->index] = std::move(buf);
      }
    }
  } else if (detail::CacheEntry* e = detail::find_entry(core)) [[likely]] {
    m = detail::take_cached(*e, cls);
  } else {
    m = detail::take_uncached(core, cls);
  }
  if (m == nullptr) [[unlikely]] {
    core->classes[cls].failed.fetch_add(1, std::memory_order_relaxed);  // (T1)
    err = Errc::pool_exhausted;
    return nullptr;
  }
  m->size = static_cast<std::uint32_t>(n);
  m->type = type;
  return m;
}

namespace {
/// Makes a taken slot live with one reference.
void activate(detail::SlotMeta* m) noexcept {
  m->weak.store(false, std::memory_order_relaxed);  // (D3) new generation; published by (G2)
  // (G2) release: publishes size, type and the payload written so far to lock() (W1) and
  // from_token() (T2). The count is 0 here, so nothing else writes the word.
  m->state.store(m->state.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}
}  // namespace

Result<EventRef> EventPools::allocate(std::span<const std::byte> bytes,
                                      std::uint32_t type) noexcept {
  Errc err = Errc::ok;
  detail::SlotMeta* m = take(bytes.size(), type, err);
  if (m == nullptr) [[unlikely]]
    return unexpected(err, "EventPools::allocate");
  if (!bytes.empty()) std::memcpy(m->payload, bytes.data(), bytes.size());
  activate(m);
  return EventRef(m);
}

Result<EventWriter> EventPools::allocate_uninit(std::size_t n, std::uint32_t type) noexcept {
  Errc err = Errc::ok;
  detail::SlotMeta* m = take(n, type, err);
  if (m == nullptr) [[unlikely]]
    return unexpected(err, "EventPools::allocate_uninit");
  activate(m);
  return EventWriter(m, n);
}

PoolStats EventPools::stats(SizeClass c) const noexcept {
  PoolStats st;
  if (core_ == nullptr) return st;
  const auto cls = static_cast<std::size_t>(c);
  const detail::ClassState& cs = core_->classes[cls];
  // (T1) relaxed reads: approximate while other threads run.
  std::int64_t in_use = cs.in_use.load(std::memory_order_relaxed);
  std::int64_t high = cs.high_water.load(std::memory_order_relaxed);
  if (cls < kFixedClasses) {
    if (const detail::CacheEntry* e = detail::existing_entry(core_)) {
      high = std::max(high, in_use + e->cls[cls].peak);
      in_use += e->cls[cls].pending;
    }
  }
  st.slot_bytes = cs.slot_bytes;
  st.capacity = cs.capacity;
  st.in_use = static_cast<std::size_t>(std::clamp<std::int64_t>(in_use, 0, cs.capacity));
  st.high_water = static_cast<std::size_t>(std::clamp<std::int64_t>(high, 0, cs.capacity));
  st.failed = cs.failed.load(std::memory_order_relaxed);
  return st;
}

std::size_t EventPools::footprint() const noexcept {
  return core_ == nullptr ? 0 : core_->footprint;
}

const PoolConfig& EventPools::config() const noexcept {
  static constexpr PoolConfig kNone{};
  return core_ == nullptr ? kNone : core_->config;
}

std::size_t EventPools::thread_cache_bytes() noexcept { return sizeof(detail::ThreadCache); }

void EventPools::flush_thread_cache() noexcept {
  if (detail::tls_state != detail::TlsState::live) return;
  for (detail::CacheEntry& e : detail::tls_cache.entries) detail::evict(e);
}

}  // namespace ringkit
