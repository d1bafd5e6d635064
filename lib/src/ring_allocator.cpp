// RingAllocator: the allocation slow path (merge, skip, alignment), ExtBuf growth, teardown,
// diagnostics and the thread-local accessor. The protocol is described in ring_allocator.hpp.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

#include <ringkit/mirror.hpp>
#include <ringkit/ring_allocator.hpp>

namespace ringkit {
namespace detail {

namespace {

constexpr std::size_t kMaxStoreBytes = std::size_t{1} << 40;

/// Free bytes to put in front of a region at `pos` so that its payload is aligned to `align`.
/// The store's base is page-aligned, so offsets and addresses agree modulo align (<= 4096).
[[nodiscard]] std::size_t pad_for(std::size_t pos, std::size_t align) noexcept {
  return (align - ((pos + kHeaderBytes) & (align - 1))) & (align - 1);
}

[[nodiscard]] bool never_fits(std::size_t n, std::size_t align, std::size_t store) noexcept {
  return n > store || round_body(n) + align > store;
}

enum class Gather : std::uint8_t { ok, in_use, end };

/// Grows the free region at `pos` by absorbing the free regions after it until it is at least
/// `need` bytes (or, with `take_all`, as long as the next region is free). A region in use, the
/// whole store, or (plain store) the end of the store stops the merge. Merges are written back
/// even when the result is too short, so the work is not repeated.
[[nodiscard]] Gather gather(RingStore& s, std::size_t pos, std::size_t need, bool take_all,
                            std::size_t& len_out) noexcept {
  RegionHeader* h = s.header(pos);
  // (A2) acquire: pairs with (R1) in release_region(): the last owner's accesses to this region
  // happen before it is merged or reused.
  const std::uint64_t g = guard_of(h).load(std::memory_order_acquire);
  if (guard_in_use(g)) return Gather::in_use;
  const std::size_t orig = guard_len(g);
  std::size_t len = orig;
  Gather result = Gather::ok;
  while (len < s.size && (take_all || len < need)) {
    const std::size_t end = pos + len;
    if (!s.mirrored && end >= s.size) {
      if (len < need) result = Gather::end;
      break;
    }
    // (A2) acquire, as above, on the next guard: a region released concurrently either still
    // looks in use here (the merge stops) or its release is seen in full.
    const std::uint64_t gn = guard_of(s.header(s.wrap(end))).load(std::memory_order_acquire);
    if (guard_in_use(gn)) {
      if (len < need) result = Gather::in_use;
      break;
    }
    len += guard_len(gn);
  }
  if (len != orig) {
    // (S1) relaxed: see take(); the absorbed guards are now payload of this free region.
    guard_of(h).store(len, std::memory_order_relaxed);
    s.last = kNoRegion;  // it may have been absorbed: its guard is payload now
  }
  len_out = len;
  return result;
}

}  // namespace

Errc RingStore::fail(Errc e) noexcept {
  switch (e) {
    case Errc::head_in_use:
      ++failed[0];
      break;
    case Errc::never_fits:
      ++failed[1];
      break;
    case Errc::allocator_busy:
      ++failed[2];
      break;
    default:
      ++failed[3];
      break;
  }
  return e;
}

Errc RingStore::claim(std::size_t n, std::size_t align, bool take_all, RegionSpan& out) noexcept {
  if (align < kGranule) align = kGranule;
  if ((align & (align - 1)) != 0 || align > RingAllocator::kMaxAlign) {
    return fail(Errc::invalid_argument);
  }
  if (never_fits(n, align, size)) return fail(Errc::never_fits);
  const std::size_t body = kHeaderBytes + round_body(n);
  std::size_t pos = head;
  bool restarted = false;
  for (;;) {
    const std::size_t pad = pad_for(pos, align);
    std::size_t len = 0;
    const Gather r = gather(*this, pos, pad + body, take_all, len);
    if (r == Gather::ok) {
      if (pad != 0) {
        // (S1) relaxed: the padding stays a free region of its own.
        guard_of(header(pos)).store(pad, std::memory_order_relaxed);
        pos = wrap(pos + pad);
        len -= pad;
      }
      const std::size_t keep = take_all ? len : body;
      take(pos, len, keep);
      ++allocations;
      out = {pos, keep};
      return Errc::ok;
    }
    // Plain store: the tail [pos, N) stays free and the allocation starts over at offset 0
    // (once; never_fits() guarantees that an entirely free store fits the request).
    if (r == Gather::end && !restarted) {
      pos = 0;
      restarted = true;
      continue;
    }
    return fail(Errc::head_in_use);
  }
}

void RingStore::drop_ref() noexcept {
  // (O4) acq_rel: every reference holder's accesses happen before the store is freed by the
  // last one. Pairs with itself across holders.
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    const std::unique_ptr<RingStore> owner(this);  // NOLINT(cppcoreguidelines-owning-memory)
  }
}

}  // namespace detail

using detail::guard_in_use;
using detail::guard_len;
using detail::guard_of;
using detail::kHeaderBytes;
using detail::kInUse;
using detail::round_body;

Result<RingAllocator> RingAllocator::create(std::size_t bytes,
                                            const RingAllocatorOptions& options) {
  const std::size_t page = MirrorRegion::page_size();
  if (bytes == 0 || bytes > detail::kMaxStoreBytes) {
    return unexpected(Errc::invalid_capacity, "ring allocator size");
  }
  const std::size_t rounded = (bytes + page - 1) / page * page;
  auto store = std::make_unique<detail::RingStore>();
  auto mem = detail::RawStorage::create(rounded, options.mode, options.region);
  if (!mem) return unexpected(mem.error(), mem.context());
  store->memory = std::move(*mem);
  store->base = store->memory.data();
  store->size = rounded;
  store->mirrored = store->memory.mirrored();
  // One free region spanning the store. (S0) relaxed: the store is not shared yet.
  guard_of(store->header(0)).store(rounded, std::memory_order_relaxed);
  return RingAllocator(store.release());
}

void RingAllocator::destroy() noexcept {
  detail::RingStore* s = std::exchange(s_, nullptr);
  if (s == nullptr) return;
  s->alive = false;
  // Orphan every live region: count it first, then mark it; a release that wins the race
  // (clears the in-use bit first) makes the CAS fail and the count is taken back.
  std::size_t pos = s->head;
  for (std::size_t walked = 0; walked < s->size;) {
    auto guard = guard_of(s->header(pos));
    // (O2) acquire: pairs with (R1); a released region is seen free and skipped.
    std::uint64_t g = guard.load(std::memory_order_acquire);
    const std::size_t len = guard_len(g);
    while (guard_in_use(g)) {
      // (O3) relaxed: the CAS below publishes it.
      s->refs.fetch_add(1, std::memory_order_relaxed);
      // (O1) acq_rel on success: publishes (O3) to the releaser's (R1), which sees the orphan
      // bit; acquire on failure: pairs with (R1) of a concurrent release.
      if (guard.compare_exchange_weak(g, g | detail::kOrphan, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        break;
      }
      // (O3') relaxed: taking back our own increment; the allocator still holds its reference.
      s->refs.fetch_sub(1, std::memory_order_relaxed);
    }
    walked += len;
    pos = s->wrap(pos + len);
  }
  s->drop_ref();
}

std::size_t RingAllocator::max_size(std::size_t align) const noexcept {
  if (s_ == nullptr) return 0;
  align = std::max(align, detail::kGranule);
  if ((align & (align - 1)) != 0 || align > kMaxAlign || align + detail::kGranule > s_->size) {
    return 0;
  }
  return s_->size - align;
}

Errc RingAllocator::extend(ExtBuf& out, std::size_t initial, std::size_t align) noexcept {
  out.reset();
  if (s_ == nullptr) return Errc::never_fits;
  detail::RingStore& s = *s_;
  if (s.ext_open) return s.fail(Errc::allocator_busy);
  if (s.last != detail::kNoRegion) {
    // (A5) acquire: pairs with (R1): the last owner of the region behind the head is done.
    const std::uint64_t g = guard_of(s.header(s.last)).load(std::memory_order_acquire);
    if (!guard_in_use(g) && s.wrap(s.last + guard_len(g)) == s.head) s.head = s.last;
  }
  detail::RegionSpan r{};
  if (const Errc e = s.claim(initial, align, true, r); e != Errc::ok) return e;
  s.ext_open = true;
  out.s_ = s_;
  out.pos_ = r.pos;
  out.len_ = r.len;
  out.size_ = 0;
  out.align_ = std::max(align, detail::kGranule);
  return Errc::ok;
}

RingAllocatorStats RingAllocator::stats() const noexcept {
  RingAllocatorStats st;
  if (s_ == nullptr) return st;
  const detail::RingStore& s = *s_;
  st.capacity = s.size;
  st.allocations = s.allocations;
  st.failed_head_in_use = s.failed[0];
  st.failed_never_fits = s.failed[1];
  st.failed_allocator_busy = s.failed[2];
  st.failed_invalid_argument = s.failed[3];
  std::size_t pos = s.head;
  for (std::size_t walked = 0; walked < s.size;) {
    // (A4) acquire: pairs with (R1); only the length and the in-use bit are used.
    const std::uint64_t g = guard_of(s.header(pos)).load(std::memory_order_acquire);
    const std::size_t len = guard_len(g);
    if (guard_in_use(g)) {
      st.bytes_in_use += len;
      ++st.live_buffers;
      if (!st.oldest_live) st.oldest_live = LiveRegion{pos, len};
    } else {
      ++st.free_regions;
    }
    walked += len;
    pos = s.wrap(pos + len);
  }
  return st;
}

std::optional<LiveRegion> RingAllocator::oldest_live() const noexcept {
  if (s_ == nullptr) return std::nullopt;
  const detail::RingStore& s = *s_;
  std::size_t pos = s.head;
  for (std::size_t walked = 0; walked < s.size;) {
    // (A4) acquire, as in stats().
    const std::uint64_t g = guard_of(s.header(pos)).load(std::memory_order_acquire);
    const std::size_t len = guard_len(g);
    if (guard_in_use(g)) return LiveRegion{pos, len};
    walked += len;
    pos = s.wrap(pos + len);
  }
  return std::nullopt;
}

// --- ExtBuf ------------------------------------------------------------------------------------

Errc ExtBuf::grow(std::size_t n) noexcept {
  if (s_ == nullptr) return Errc::never_fits;
  detail::RingStore& s = *s_;
  if (!s.alive) return Errc::closed;
  if (n > s.size || detail::never_fits(size_ + n, align_, s.size)) {
    return s.fail(Errc::never_fits);
  }
  const std::size_t need = kHeaderBytes + round_body(size_ + n);
  const std::size_t target = std::max(need, std::min(2 * len_, s.size));
  std::size_t len = len_;
  while (len < target && len < s.size) {
    const std::size_t end = pos_ + len;
    if (!s.mirrored && end >= s.size) break;
    // (A3) acquire: pairs with (R1): the absorbed region's last owner is done with it.
    const std::uint64_t g = guard_of(s.header(s.wrap(end))).load(std::memory_order_acquire);
    if (guard_in_use(g)) break;
    len += guard_len(g);
  }
  if (len != len_) {
    // (S3) relaxed: our own region, still in use (the bit is kept through every rewrite); only
    // this thread reads its length while it is open.
    guard_of(s.header(pos_)).store(len | kInUse, std::memory_order_relaxed);
    len_ = len;
    s.head = s.wrap(pos_ + len);
  }
  if (len >= need) return Errc::ok;
  if (s.mirrored || pos_ + len < s.size) return s.fail(Errc::head_in_use);

  // Plain store, at its end: move to offset 0 with one copy. The merge from 0 stops at the
  // first region in use, at the latest at this buffer itself, so old and new never overlap.
  const std::size_t pad = detail::pad_for(0, align_);
  std::size_t run = 0;
  if (detail::gather(s, 0, pad + need, true, run) != detail::Gather::ok) {
    return s.fail(Errc::head_in_use);
  }
  std::size_t pos = 0;
  if (pad != 0) {
    // (S1) relaxed: the padding stays a free region of its own.
    guard_of(s.header(0)).store(pad, std::memory_order_relaxed);
    pos = pad;
    run -= pad;
  }
  // (S3) relaxed, as above: the new region is in use from the start.
  guard_of(s.header(pos)).store(run | kInUse, std::memory_order_relaxed);
  std::memcpy(s.base + pos + kHeaderBytes, s.base + pos_ + kHeaderBytes, size_);
  // (S4) relaxed: the old region becomes free; only this thread reads it (A1/A2), later.
  guard_of(s.header(pos_)).store(len_, std::memory_order_relaxed);
  pos_ = pos;
  len_ = run;
  s.head = s.wrap(pos + run);
  s.last = pos;
  return Errc::ok;
}

FixedBuf ExtBuf::finalize() && noexcept {
  if (s_ == nullptr) return {};
  detail::RingStore& s = *s_;
  if (s.alive) {
    const std::size_t keep = kHeaderBytes + round_body(size_);
    if (len_ > keep) {
      // take() splits off the unused tail as a free region and moves the head there.
      s.take(pos_, len_, keep);
      len_ = keep;
    }
    s.ext_open = false;
  }
  FixedBuf out(s.header(pos_), s_, size_, len_ - kHeaderBytes);
  s_ = nullptr;
  pos_ = len_ = size_ = align_ = 0;
  return out;
}

void ExtBuf::reset() noexcept {
  if (s_ == nullptr) return;
  detail::RingStore& s = *s_;
  if (s.alive) {
    // (S4) relaxed: our region becomes free again and the head moves back to it (the chain
    // from it runs through our region to the old head).
    guard_of(s.header(pos_)).store(len_, std::memory_order_relaxed);
    s.head = pos_;
    s.last = detail::kNoRegion;
    s.ext_open = false;
  } else {
    detail::release_region(s.header(pos_), s_);  // the allocator is gone: orphan protocol
  }
  s_ = nullptr;
  pos_ = len_ = size_ = align_ = 0;
}

// --- Thread-local allocator ----------------------------------------------------------------------

namespace {
constexpr std::size_t kDefaultThreadStore = std::size_t{4} << 20;
// (T1) relaxed: a configuration value; no other data is published with it.
std::atomic<std::size_t> g_thread_store_bytes{kDefaultThreadStore};
}  // namespace

void set_thread_ring_allocator_size(std::size_t bytes) noexcept {
  g_thread_store_bytes.store(bytes, std::memory_order_relaxed);  // (T1)
}

std::size_t thread_ring_allocator_size() noexcept {
  return g_thread_store_bytes.load(std::memory_order_relaxed);  // (T1)
}

Result<RingAllocator*> thread_ring_allocator() noexcept {
  thread_local RingAllocator alloc;
  if (alloc.capacity() == 0) {
    auto made = RingAllocator::create(thread_ring_allocator_size());
    if (!made) return unexpected(made.error(), made.context());
    alloc = std::move(*made);
  }
  return &alloc;
}

}  // namespace ringkit
