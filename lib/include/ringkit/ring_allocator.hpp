// ringkit/ring_allocator.hpp: variable-size buffers carved from one circular backing store.
//
// RingAllocator hands out short-lived buffers of any size (decoded messages too large or too
// irregular for fixed size classes, per-connection scratch) from one page-aligned store, in ring
// order. The allocator object is used by one thread; the buffers it hands out move to any thread
// and are released there, with no lock and no call back into the allocator.
//
//   auto alloc = *ringkit::RingAllocator::create(1 << 20);
//   ringkit::FixedBuf buf;
//   if (alloc.allocate(len, buf) == ringkit::Errc::ok) {   // head_in_use: retry after releases
//     (void)buf.write(bytes);                             // never_fits: never retry
//     tx.push(std::move(buf).into_raw());                 // released on the consumer's thread
//   }
//   ringkit::ExtBuf ext;                                  // grows in place, then finalize()
//   (void)alloc.extend(ext);
//   (void)ext.write(part1); (void)ext.write(part2);
//   ringkit::FrozenBuf msg = std::move(ext).finalize().freeze();   // copy to many readers
//
// Buffers:
//   FixedBuf   move-only, fixed capacity; write()/writable()+commit() append, span() shows the
//              written bytes; released on destruction (any thread).
//   ExtBuf     an open, growable buffer: grows in place by absorbing the free regions that
//              follow it (on a plain store it moves once, with one copy, when it meets the end);
//              finalize() gives back the unused tail and returns a FixedBuf. While an ExtBuf is
//              open the allocator hands out nothing else (Errc::allocator_busy).
//   FrozenBuf  FixedBuf::freeze(): read-only, copyable, shared across threads; the atomic
//              reference count lives in the region header (no second allocation).
//
// Failures never block and say what to do: Errc::head_in_use (the region at the head is still
// in use: retry after releases), Errc::never_fits (larger than the store can ever give, see
// max_size(): do not retry), Errc::allocator_busy (an ExtBuf is open), Errc::invalid_argument
// (alignment not a power of two or above 4096).
//
// Lifetime: the store outlives every buffer. Destroying the RingAllocator while buffers are
// live marks those regions orphaned; the last of them to be released frees the store, on
// whichever thread that happens (no wait, no poll, no leak). thread_ring_allocator() relies on
// this: a thread may exit while its buffers live on elsewhere.
//
// Thread safety: RingAllocator and ExtBuf are single-owner and belong to one thread (an ExtBuf
// is used on its allocator's thread). FixedBuf is single-owner and may move to and be released
// on any thread. FrozenBuf is thread-safe to copy and destroy from any threads at once (its
// bytes are read-only).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

#include <ringkit/detail/config.hpp>
#include <ringkit/detail/typed_storage.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>

namespace ringkit {

class RingAllocator;
class FixedBuf;
class ExtBuf;
class FrozenBuf;

namespace detail {

/// The 16 bytes in front of every region. Regions tile the store; each starts with one.
struct RegionHeader {
  /// bit 0: in use; bit 1: orphaned (the allocator is gone, see RingStore::refs); bits 4..63:
  /// length of the region in bytes, header included (a multiple of 16), i.e. the offset of the
  /// next guard relative to this one.
  std::uint64_t guard;
  /// FrozenBuf reference count (meaningful only while the region is frozen).
  std::uint64_t refs;
};
static_assert(sizeof(RegionHeader) == 16);

inline constexpr std::uint64_t kInUse = 1;
inline constexpr std::uint64_t kOrphan = 2;
inline constexpr std::uint64_t kFlagMask = 15;
inline constexpr std::size_t kHeaderBytes = sizeof(RegionHeader);
inline constexpr std::size_t kGranule = 16;  ///< region lengths and offsets are multiples of it
inline constexpr std::size_t kNoRegion = static_cast<std::size_t>(-1);

[[nodiscard]] constexpr std::size_t guard_len(std::uint64_t g) noexcept {
  return static_cast<std::size_t>(g & ~kFlagMask);
}
[[nodiscard]] constexpr bool guard_in_use(std::uint64_t g) noexcept { return (g & kInUse) != 0; }
/// Payload bytes of a request rounded to the granule (a 0-byte request gets one granule).
[[nodiscard]] constexpr std::size_t round_body(std::size_t n) noexcept {
  return n == 0 ? kGranule : (n + kGranule - 1) & ~(kGranule - 1);
}
[[nodiscard]] inline std::atomic_ref<std::uint64_t> guard_of(RegionHeader* h) noexcept {
  return std::atomic_ref<std::uint64_t>(h->guard);
}
[[nodiscard]] inline std::atomic_ref<std::uint64_t> refs_of(RegionHeader* h) noexcept {
  return std::atomic_ref<std::uint64_t>(h->refs);
}

/// A region handed out by the allocator (offset of its header and its length).
struct RegionSpan {
  std::size_t pos;
  std::size_t len;
};

/// The store and the allocator's state. Owned by the RingAllocator while it lives, then by the
/// orphaned regions (refs); see ~RingAllocator.
struct RingStore {
  RawStorage memory;
  std::byte* base = nullptr;
  std::size_t size = 0;  ///< N, a multiple of the page size
  bool mirrored = false;

  // Allocator-thread state (RingAllocator and its open ExtBuf).
  std::size_t head = 0;  ///< offset of the guard where the next allocation starts
  /// Offset of the region taken last (just behind the head), or kNoRegion once a merge or an
  /// ExtBuf move may have made it stale. extend() rewinds the head over it when it is free.
  std::size_t last = kNoRegion;
  bool ext_open = false;  ///< an ExtBuf is open
  bool alive = true;      ///< the RingAllocator still exists
  std::uint64_t allocations = 0;
  std::uint64_t failed[4] = {0, 0, 0, 0};  ///< head_in_use, never_fits, allocator_busy, invalid

  /// 1 for the allocator plus 1 per region orphaned at its destruction. Touched only at
  /// teardown, never on the allocation or release path.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> refs{1};

  [[nodiscard]] RegionHeader* header(std::size_t pos) const noexcept {
    return reinterpret_cast<RegionHeader*>(base + pos);  // pos < size, a multiple of 16
  }
  [[nodiscard]] std::size_t wrap(std::size_t pos) const noexcept {
    return pos >= size ? pos - size : pos;
  }
  Errc fail(Errc e) noexcept;
  /// Finds (merging free regions as it goes) and claims a region for `body` payload bytes
  /// aligned to `align` at or after the head; the region is marked in use and may be longer
  /// than asked when `take_all` (an ExtBuf takes the whole free run).
  [[nodiscard]] Errc claim(std::size_t body, std::size_t align, bool take_all,
                           RegionSpan& out) noexcept;
  /// Marks [pos, pos + len) in use, splitting off what follows `keep` bytes as a free region.
  void take(std::size_t pos, std::size_t len, std::size_t keep) noexcept;
  /// Frees the store when the last reference goes.
  void drop_ref() noexcept;
};

inline void RingStore::take(std::size_t pos, std::size_t len, std::size_t keep) noexcept {
  if (len > keep) {
    // (S1) relaxed: a new free guard inside bytes this thread owns (their last owner's release
    // was acquired by A1/A2); only this thread reads it, later.
    guard_of(header(wrap(pos + keep))).store(len - keep, std::memory_order_relaxed);
  }
  // (S2) relaxed: the buffer carrying this region reaches its owner through a synchronising
  // transport, which publishes this store before the owner's (R1).
  guard_of(header(pos)).store(keep | kInUse, std::memory_order_relaxed);
  head = wrap(pos + keep);
  last = pos;
}

/// Releases a region from any thread: clears its in-use bit (R1) and, when the allocator is
/// gone, drops the region's reference to the store.
inline void release_region(RegionHeader* h, RingStore* s) noexcept {
  // (R1) release: publishes every access to the payload before the region can be reused;
  // pairs with (A1)/(A2) in RingStore::claim() and (A3) in ExtBuf::reserve(). acquire: when
  // the orphan bit is set, pairs with (O1) in ~RingAllocator so its reference count is seen.
  // The in-use bit is set (we own the region), so subtracting it clears just that bit; unlike
  // fetch_and, fetch_sub returns the old value in one instruction (lock xadd, no CAS loop).
  const std::uint64_t old = guard_of(h).fetch_sub(kInUse, std::memory_order_acq_rel);
  if ((old & kOrphan) != 0) [[unlikely]]
    s->drop_ref();
}

}  // namespace detail

/// A trivially copyable form of a FixedBuf for transports that need one (e.g. a channel);
/// FixedBuf::from_raw() takes ownership back. Exactly one FixedBuf must be made from it.
struct RawFixedBuf {
  detail::RegionHeader* header = nullptr;
  detail::RingStore* store = nullptr;
  std::size_t size = 0;
  std::size_t capacity = 0;
};

/// A trivially copyable form of one FrozenBuf reference (FrozenBuf::into_raw()/from_raw()).
struct RawFrozenBuf {
  detail::RegionHeader* header = nullptr;
  detail::RingStore* store = nullptr;
  std::size_t size = 0;
};

/// A fixed-capacity buffer from a RingAllocator; move-only, released on destruction (any thread).
class FixedBuf {
 public:
  FixedBuf() noexcept = default;
  FixedBuf(FixedBuf&& o) noexcept
      : h_(std::exchange(o.h_, nullptr)),
        s_(std::exchange(o.s_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        cap_(std::exchange(o.cap_, 0)) {}
  FixedBuf& operator=(FixedBuf&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
      s_ = std::exchange(o.s_, nullptr);
      size_ = std::exchange(o.size_, 0);
      cap_ = std::exchange(o.cap_, 0);
    }
    return *this;
  }
  FixedBuf(const FixedBuf&) = delete;
  FixedBuf& operator=(const FixedBuf&) = delete;
  ~FixedBuf() { reset(); }

  /// True when the buffer holds a region.
  [[nodiscard]] explicit operator bool() const noexcept { return h_ != nullptr; }
  /// Start of the payload (aligned as requested); nullptr when empty.
  [[nodiscard]] std::byte* data() const noexcept RINGKIT_LIFETIMEBOUND {
    return h_ == nullptr ? nullptr : reinterpret_cast<std::byte*>(h_ + 1);
  }
  /// Bytes written so far.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Payload bytes of the region (at least what was asked for, rounded up to 16).
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  /// Bytes that can still be written.
  [[nodiscard]] std::size_t spare() const noexcept { return cap_ - size_; }
  /// The written bytes. Valid while the buffer holds its region (moves keep it valid).
  [[nodiscard]] std::span<std::byte> span() const noexcept RINGKIT_LIFETIMEBOUND {
    return {data(), size_};
  }
  /// The spare bytes, to fill in place and then commit().
  [[nodiscard]] std::span<std::byte> writable() const noexcept RINGKIT_LIFETIMEBOUND {
    return {data() + size_, cap_ - size_};
  }
  /// Appends the first `n` bytes of writable(). Returns Errc::over_commit (and appends nothing)
  /// if `n` exceeds spare().
  [[nodiscard]] Errc commit(std::size_t n) noexcept {
    if (n > cap_ - size_) return Errc::over_commit;
    size_ += n;
    return Errc::ok;
  }
  /// Appends as much of `src` as fits; returns the number of bytes copied.
  [[nodiscard]] std::size_t write(std::span<const std::byte> src) noexcept {
    const std::size_t n = src.size() < cap_ - size_ ? src.size() : cap_ - size_;
    if (n != 0) std::memcpy(data() + size_, src.data(), n);
    size_ += n;
    return n;
  }
  /// Same as write(span), for raw memory.
  [[nodiscard]] std::size_t write(const void* src, std::size_t len) noexcept {
    return write(std::span<const std::byte>(static_cast<const std::byte*>(src), len));
  }
  /// Forgets the written bytes (the capacity stays).
  void clear() noexcept { size_ = 0; }

  /// Releases the region now (no-op when empty).
  void reset() noexcept {
    if (h_ != nullptr) {
      detail::release_region(h_, s_);
      h_ = nullptr;
      s_ = nullptr;
      size_ = cap_ = 0;
    }
  }

  /// Turns the buffer into a read-only, shareable FrozenBuf of its written bytes.
  [[nodiscard]] FrozenBuf freeze() && noexcept;

  /// Gives up ownership as a trivially copyable RawFixedBuf (see from_raw()).
  [[nodiscard]] RawFixedBuf into_raw() && noexcept {
    const RawFixedBuf r{h_, s_, size_, cap_};
    h_ = nullptr;
    s_ = nullptr;
    size_ = cap_ = 0;
    return r;
  }
  /// Takes ownership of a buffer given up with into_raw().
  [[nodiscard]] static FixedBuf from_raw(const RawFixedBuf& r) noexcept {
    return FixedBuf(r.header, r.store, r.size, r.capacity);
  }

 private:
  friend class RingAllocator;
  friend class ExtBuf;
  FixedBuf(detail::RegionHeader* h, detail::RingStore* s, std::size_t size,
           std::size_t cap) noexcept
      : h_(h), s_(s), size_(size), cap_(cap) {}

  detail::RegionHeader* h_ = nullptr;
  detail::RingStore* s_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

/// Read-only bytes of a frozen region, shared by reference counting (the count is in the region
/// header). Copies and destruction are thread-safe; the last one releases the region.
class FrozenBuf {
 public:
  FrozenBuf() noexcept = default;
  FrozenBuf(const FrozenBuf& o) noexcept : h_(o.h_), s_(o.s_), size_(o.size_) {
    // (F1) relaxed: a new reference is made from an existing one, which keeps the region alive;
    // nothing is published. Pairs with nothing; ordered against (F2) by the refcount itself.
    if (h_ != nullptr) detail::refs_of(h_).fetch_add(1, std::memory_order_relaxed);
  }
  FrozenBuf(FrozenBuf&& o) noexcept
      : h_(std::exchange(o.h_, nullptr)),
        s_(std::exchange(o.s_, nullptr)),
        size_(std::exchange(o.size_, 0)) {}
  FrozenBuf& operator=(const FrozenBuf& o) noexcept {
    if (this != &o) {
      // (F1) relaxed, as in the copy constructor; taken before dropping ours, so assigning a
      // handle of the same region never frees it.
      if (o.h_ != nullptr) detail::refs_of(o.h_).fetch_add(1, std::memory_order_relaxed);
      reset();
      h_ = o.h_;
      s_ = o.s_;
      size_ = o.size_;
    }
    return *this;
  }
  FrozenBuf& operator=(FrozenBuf&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
      s_ = std::exchange(o.s_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~FrozenBuf() { reset(); }

  /// True when the handle refers to a region.
  [[nodiscard]] explicit operator bool() const noexcept { return h_ != nullptr; }
  [[nodiscard]] const std::byte* data() const noexcept RINGKIT_LIFETIMEBOUND {
    return h_ == nullptr ? nullptr : reinterpret_cast<const std::byte*>(h_ + 1);
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// The bytes; valid while this handle (or any copy) refers to the region.
  [[nodiscard]] std::span<const std::byte> span() const noexcept RINGKIT_LIFETIMEBOUND {
    return {data(), size_};
  }
  /// Number of handles sharing the region (a snapshot; 0 when empty).
  [[nodiscard]] std::uint64_t use_count() const noexcept {
    // (F3) relaxed: a diagnostic snapshot.
    return h_ == nullptr ? 0 : detail::refs_of(h_).load(std::memory_order_relaxed);
  }

  /// Gives up this reference as a trivially copyable RawFrozenBuf (see from_raw()).
  [[nodiscard]] RawFrozenBuf into_raw() && noexcept {
    const RawFrozenBuf r{h_, s_, size_};
    h_ = nullptr;
    s_ = nullptr;
    size_ = 0;
    return r;
  }
  /// Takes back a reference given up with into_raw() (exactly once per into_raw()).
  [[nodiscard]] static FrozenBuf from_raw(const RawFrozenBuf& r) noexcept {
    return FrozenBuf(r.header, r.store, r.size);
  }

  /// Drops this reference; the last one releases the region.
  void reset() noexcept {
    if (h_ == nullptr) return;
    // (F2) acq_rel: the release half orders this handle's reads before the region is freed; the
    // acquire half (on the last reference) sees every other handle's reads finished. The region
    // is then released with (R1).
    if (detail::refs_of(h_).fetch_sub(1, std::memory_order_acq_rel) == 1) {
      detail::release_region(h_, s_);
    }
    h_ = nullptr;
    s_ = nullptr;
    size_ = 0;
  }

 private:
  friend class FixedBuf;
  FrozenBuf(detail::RegionHeader* h, detail::RingStore* s, std::size_t size) noexcept
      : h_(h), s_(s), size_(size) {}

  detail::RegionHeader* h_ = nullptr;
  detail::RingStore* s_ = nullptr;
  std::size_t size_ = 0;
};

inline FrozenBuf FixedBuf::freeze() && noexcept {
  if (h_ == nullptr) return {};
  // (F0) relaxed: the region is exclusively ours; handing the FrozenBuf to other threads needs
  // a synchronising transport, which publishes this store with it.
  detail::refs_of(h_).store(1, std::memory_order_relaxed);
  FrozenBuf f(h_, s_, size_);
  h_ = nullptr;
  s_ = nullptr;
  size_ = cap_ = 0;
  return f;
}

/// An open, growable buffer at the allocator's head. Single-owner, used on the allocator's
/// thread. While it is open the allocator refuses other allocations (Errc::allocator_busy).
class ExtBuf {
 public:
  ExtBuf() noexcept = default;
  ExtBuf(ExtBuf&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)),
        pos_(std::exchange(o.pos_, 0)),
        len_(std::exchange(o.len_, 0)),
        size_(std::exchange(o.size_, 0)),
        align_(std::exchange(o.align_, 0)) {}
  ExtBuf& operator=(ExtBuf&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
      pos_ = std::exchange(o.pos_, 0);
      len_ = std::exchange(o.len_, 0);
      size_ = std::exchange(o.size_, 0);
      align_ = std::exchange(o.align_, 0);
    }
    return *this;
  }
  ExtBuf(const ExtBuf&) = delete;
  ExtBuf& operator=(const ExtBuf&) = delete;
  ~ExtBuf() { reset(); }

  /// True while the buffer is open.
  [[nodiscard]] explicit operator bool() const noexcept { return s_ != nullptr; }
  /// Start of the payload. Invalidated by reserve() and write() (the buffer may move).
  [[nodiscard]] std::byte* data() const noexcept RINGKIT_LIFETIMEBOUND {
    return s_ == nullptr ? nullptr : s_->base + pos_ + detail::kHeaderBytes;
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Payload bytes of the region right now (grows with reserve()/write()).
  [[nodiscard]] std::size_t capacity() const noexcept {
    return s_ == nullptr ? 0 : len_ - detail::kHeaderBytes;
  }
  [[nodiscard]] std::size_t spare() const noexcept { return capacity() - size_; }
  /// The written bytes. Invalidated by reserve(), write() and finalize().
  [[nodiscard]] std::span<std::byte> span() const noexcept RINGKIT_LIFETIMEBOUND {
    return {data(), size_};
  }
  /// The spare bytes, to fill in place and then commit(). Invalidated like span().
  [[nodiscard]] std::span<std::byte> writable() const noexcept RINGKIT_LIFETIMEBOUND {
    return {data() + size_, spare()};
  }
  /// Appends the first `n` bytes of writable(); Errc::over_commit (nothing appended) if `n`
  /// exceeds spare().
  [[nodiscard]] Errc commit(std::size_t n) noexcept {
    if (n > spare()) return Errc::over_commit;
    size_ += n;
    return Errc::ok;
  }
  /// Makes spare() at least `n`: absorbs the free regions that follow in place, or (plain store,
  /// at the end of the store) moves the bytes once to the store's start. Errors: head_in_use (a
  /// region in use is in the way: retry after releases), never_fits (size() + n can never fit),
  /// closed (the allocator is gone). Amortised O(1) per byte: the region at least doubles.
  [[nodiscard]] Errc reserve(std::size_t n) noexcept {
    if (n <= spare()) return Errc::ok;
    return grow(n);
  }
  /// Appends all of `src` (growing as reserve() does), or nothing and the reason.
  [[nodiscard]] Errc write(std::span<const std::byte> src) noexcept {
    if (src.size() > spare()) {
      if (const Errc e = grow(src.size()); e != Errc::ok) return e;
    }
    if (src.empty()) return Errc::ok;
    std::memcpy(data() + size_, src.data(), src.size());
    size_ += src.size();
    return Errc::ok;
  }
  /// Same as write(span), for raw memory.
  [[nodiscard]] Errc write(const void* src, std::size_t len) noexcept {
    return write(std::span<const std::byte>(static_cast<const std::byte*>(src), len));
  }

  /// Closes the buffer: the unused tail goes back to the allocator and the written bytes become
  /// a FixedBuf (capacity() = size() rounded up to 16). Empty when the ExtBuf is not open.
  [[nodiscard]] FixedBuf finalize() && noexcept;
  /// Abandons the buffer and its bytes (no-op when not open).
  void reset() noexcept;

 private:
  friend class RingAllocator;
  [[nodiscard]] Errc grow(std::size_t n) noexcept;

  detail::RingStore* s_ = nullptr;
  std::size_t pos_ = 0;  ///< offset of the region's guard
  std::size_t len_ = 0;  ///< region length (header included)
  std::size_t size_ = 0;
  std::size_t align_ = 0;
};

/// Options of RingAllocator::create().
struct RingAllocatorOptions {
  /// automatic: mirrored when possible (a buffer may straddle the end of the store); never:
  /// plain store (regions stop at the end, allocation skips to the start); required: mirrored
  /// or fail.
  MirrorMode mode = MirrorMode::automatic;
  MirrorOptions region{};
};

/// A live region, as reported by RingAllocator::oldest_live().
struct LiveRegion {
  std::size_t offset = 0;  ///< of its header in the store
  std::size_t bytes = 0;   ///< region length, header included
};

/// RingAllocator::stats(): a snapshot (buffers released concurrently may still count as live).
struct RingAllocatorStats {
  std::size_t capacity = 0;      ///< store bytes (N)
  std::size_t bytes_in_use = 0;  ///< bytes of live regions, headers and alignment included
  std::size_t live_buffers = 0;  ///< live regions (FixedBuf, FrozenBuf groups, an open ExtBuf)
  std::size_t free_regions = 0;  ///< free regions not yet merged
  std::uint64_t allocations = 0;
  std::uint64_t failed_head_in_use = 0;
  std::uint64_t failed_never_fits = 0;
  std::uint64_t failed_allocator_busy = 0;
  std::uint64_t failed_invalid_argument = 0;
  std::optional<LiveRegion> oldest_live;
};

/// Allocates variable-size buffers in ring order from one store (see the file comment).
///
/// Design. The store is a circle of N bytes tiled by regions. Each region starts with a 16-byte
/// header whose guard word holds the region's length (so the offset of the next guard is
/// (pos + length) mod N: offsets, never pointers) and an in-use bit. The allocator keeps one
/// cursor, the head, always on a guard, and allocates there:
///   exact fit   the head region is free and just as long: mark it in use.
///   split       it is longer: mark the front in use and write a free guard after it.
///   merge       it is shorter: absorb the following free regions (their guards become payload)
///               until it is long enough; a region in use stops the merge.
///   skip        plain store only: the merge meets the end of the store; leave the tail free
///               and retry once from offset 0 (a mirrored store merges across the end instead,
///               and the buffer straddles it: the mirror makes it contiguous).
///   fail        the head (or the region stopping the merge) is in use: head_in_use. A request
///               above max_size() fails with never_fits before looking.
/// Alignment above 16 puts a free padding region in front of the allocated one.
///
/// Memory ordering. Only two parties ever write a guard: the allocator (free regions and the
/// region it is allocating or growing) and the owner of a live region, who only clears its
/// in-use bit, once, with a release RMW (R1). The allocator reads every guard it might take
/// with an acquire load (A1/A2/A3), so the last owner's payload accesses happen before reuse.
/// A region released concurrently simply looks in use until the allocator sees it free; the
/// allocator never merges, writes or reads the payload of a region it saw in use. The length
/// of a live region is immutable (only an ExtBuf changes its own, on the allocator's thread,
/// and keeps the in-use bit set through every rewrite), so walking the chain (stats) is safe.
///
/// Teardown. ~RingAllocator walks the chain once and sets the orphan bit on every live guard
/// with a CAS (O1), counting them in the store's reference count first; a releaser whose RMW
/// (R1) sees the orphan bit drops a reference, and the last reference frees the store. Live
/// buffers thus keep the store alive, with no per-allocation reference counting.
///
///   store, N bytes (page-aligned; mirrored: mapped again at base + N)
///   0                                                                                   N
///   +---+-----------+---+------+---+----------------------+---+---------------+---+-----+
///   | G | payload   | G | free | G | payload              | G | free          | G | ... |
///   +---+-----------+---+------+---+----------------------+---+---------------+---+-----+
///     | in use, len   | len      | in use, len              ^ head: next allocation here
///     +-------------->+--------->+------------------------->+  guard len = offset of next G
///   G = RegionHeader (16 B): guard u64 = length | orphan << 1 | in_use; refs u64 (FrozenBuf)
///   mirrored: the last region may run past N; its next guard is at (pos + len) - N.
class RingAllocator {
 public:
  static constexpr std::size_t kDefaultAlign = 16;
  static constexpr std::size_t kMaxAlign = 4096;

  /// An empty allocator (every allocation fails with never_fits).
  RingAllocator() noexcept = default;
  RingAllocator(RingAllocator&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  RingAllocator& operator=(RingAllocator&& o) noexcept {
    if (this != &o) {
      destroy();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  RingAllocator(const RingAllocator&) = delete;
  RingAllocator& operator=(const RingAllocator&) = delete;
  /// Frees the store now if no buffer is live, else hands it to the live buffers (the last one
  /// released frees it). An open ExtBuf can no longer grow (Errc::closed) but can finalize().
  ~RingAllocator() { destroy(); }

  /// Makes an allocator over a store of `bytes` rounded up to a whole number of pages.
  /// Errors: invalid_capacity (0 or above 2^40 bytes), the storage's errors (mode required).
  [[nodiscard]] static Result<RingAllocator> create(std::size_t bytes,
                                                    const RingAllocatorOptions& options = {});

  /// Allocates a FixedBuf of at least `n` bytes (rounded up to 16) whose data() is aligned to
  /// `align` (a power of two up to 4096; smaller than 16 means 16). On failure `out` is left
  /// empty and the reason returned: head_in_use, never_fits, allocator_busy, invalid_argument.
  /// O(1) plus the free regions merged.
  [[nodiscard]] Errc allocate(std::size_t n, FixedBuf& out,
                              std::size_t align = kDefaultAlign) noexcept {
    out.reset();
    if (s_ == nullptr) return Errc::never_fits;
    detail::RingStore& s = *s_;
    if (s.ext_open) return s.fail(Errc::allocator_busy);
    const std::size_t need = detail::kHeaderBytes + detail::round_body(n);
    if (align <= kDefaultAlign && n < s.size) [[likely]] {
      detail::RegionHeader* h = s.header(s.head);
      // (A1) acquire: pairs with (R1) in release_region(): the last owner's payload accesses
      // happen before this region is reused.
      const std::uint64_t g = detail::guard_of(h).load(std::memory_order_acquire);
      if (!detail::guard_in_use(g) && detail::guard_len(g) >= need) {
        s.take(s.head, detail::guard_len(g), need);
        ++s.allocations;
        out = FixedBuf(h, s_, 0, need - detail::kHeaderBytes);
        return Errc::ok;
      }
    }
    detail::RegionSpan r{};
    const Errc e = s.claim(n, align, false, r);
    if (e != Errc::ok) return e;
    out = FixedBuf(s.header(r.pos), s_, 0, r.len - detail::kHeaderBytes);
    return Errc::ok;
  }

  /// Opens an ExtBuf at the head with at least `initial` bytes of capacity (it takes the whole
  /// free run there). When the region allocated last (just behind the head) is already free
  /// again, the head first moves back over it, so building a message right after the previous
  /// one was consumed reuses the same, cache-hot memory. Errors as allocate();
  /// Errc::allocator_busy when one is already open.
  [[nodiscard]] Errc extend(ExtBuf& out, std::size_t initial = 0,
                            std::size_t align = kDefaultAlign) noexcept;

  /// Largest n that allocate(n, out, align) can ever satisfy; 0 when nothing fits (an empty
  /// allocator, or a one-page store with 4096-byte alignment).
  [[nodiscard]] std::size_t max_size(std::size_t align = kDefaultAlign) const noexcept;
  /// Store bytes (N).
  [[nodiscard]] std::size_t capacity() const noexcept { return s_ == nullptr ? 0 : s_->size; }
  /// True when the store is mirrored (buffers may straddle its end).
  [[nodiscard]] bool mirrored() const noexcept { return s_ != nullptr && s_->mirrored; }
  /// True while an ExtBuf is open.
  [[nodiscard]] bool busy() const noexcept { return s_ != nullptr && s_->ext_open; }

  /// Counters and a walk of the store. O(regions in the store).
  [[nodiscard]] RingAllocatorStats stats() const noexcept;
  /// The oldest live region: the first in use at or after the head (allocation follows the
  /// head, so this is the one that blocks it). O(free regions before it).
  [[nodiscard]] std::optional<LiveRegion> oldest_live() const noexcept;

 private:
  explicit RingAllocator(detail::RingStore* s) noexcept : s_(s) {}
  void destroy() noexcept;

  detail::RingStore* s_ = nullptr;
};

/// Sets the store size of thread_ring_allocator() for threads that have not created theirs yet
/// (default 4 MiB). Thread-safe.
void set_thread_ring_allocator_size(std::size_t bytes) noexcept;
/// The store size the next thread_ring_allocator() will be created with.
[[nodiscard]] std::size_t thread_ring_allocator_size() noexcept;
/// The calling thread's own RingAllocator (mirrored when possible), created on first use. It is
/// destroyed at thread exit; buffers still live elsewhere keep its store until they are
/// released (see ~RingAllocator). The pointer is valid until the thread exits. Errors: those of
/// create() (a failed creation is retried on the next call).
[[nodiscard]] Result<RingAllocator*> thread_ring_allocator() noexcept;

}  // namespace ringkit
