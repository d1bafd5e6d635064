// ringkit/message_store.hpp: one place to put decoded messages, whatever their size, and one
// read-only refcounted handle to them.
//
// A MessageStore owns event pools (ringkit/event_pool.hpp) and a ring allocator
// (ringkit/ring_allocator.hpp) and picks the storage by size, so a caller (a frame decoder, a
// feed server) never chooses:
//
//   size <= 16 KiB (XL)         an event-pool slot            (lock-free, any thread frees it)
//   size  > 16 KiB              a ring-allocator buffer       (frozen: read-only, refcounted)
//   ring full or too small      the pools' XXL heap fallback, only if PoolConfig::xxl_enabled
//
// Either way the message is copied once (copy()) or written in place (allocate() ->
// writable() -> publish(n)), and comes back as a MessageRef: data()/size() with no dispatch,
// copy = one atomic increment on the slot's or the region's refcount, the last release frees
// the storage on whatever thread it happens.
//
//   auto store = *ringkit::MessageStore::create({});
//   ringkit::MessageRef m = *store.copy(frame);                     // one copy
//   auto w = *store.allocate(len);  std::memcpy(w.writable().data(), src, len);
//   ringkit::MessageRef m2 = *std::move(w).publish(len);           // or in place
//
// Exhaustion is backpressure, never a silent drop: copy()/allocate() fail with a retryable
// Errc (pool_exhausted, head_in_use: retry after releases, is_retryable() says so) or a final
// one (too_large, never_fits: this message can never be stored). Nothing is half-allocated.
//
// Thread safety: MessageStore is single-owner (the ring allocator it holds is used by one
// thread; one store per connection or per worker). MessageRef is a thread-compatible value like
// std::shared_ptr: copies may be used and destroyed on any threads at once. MessageWriter is
// single-owner. Every MessageRef, and the memory it points to, stays valid after the store is
// destroyed (the pools and the ring store are kept alive by their live handles).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include <ringkit/error.hpp>
#include <ringkit/event_pool.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>
#include <ringkit/ring_allocator.hpp>

namespace ringkit {

/// Which storage holds a message.
enum class MessageSource : std::uint8_t { none, pool, ring };

/// True when a failed store call may succeed later, after releases (pool_exhausted,
/// head_in_use, store_exhausted); false for a message that can never be stored (too_large, never_fits) and for
/// argument errors.
[[nodiscard]] constexpr bool is_retryable(Errc e) noexcept {
  return e == Errc::pool_exhausted || e == Errc::head_in_use || e == Errc::store_exhausted;
}

/// A read-only, refcounted message in a MessageStore: an event-pool slot or a frozen
/// ring-allocator buffer. Empty when default-constructed or moved from.
class MessageRef {
 public:
  MessageRef() noexcept = default;
  /// Adopts an event (no refcount change).
  explicit MessageRef(EventRef e) noexcept : ev_(std::move(e)) {
    if (ev_) {
      data_ = ev_.data();
      size_ = ev_.size();
    }
  }
  /// Adopts a frozen buffer (no refcount change).
  explicit MessageRef(FrozenBuf b) noexcept : fb_(std::move(b)) {
    data_ = fb_.data();
    size_ = fb_.size();
    ring_ = true;
  }
  MessageRef(const MessageRef&) = default;  // one atomic increment in the owner
  MessageRef& operator=(const MessageRef&) = default;
  MessageRef(MessageRef&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        ev_(std::move(o.ev_)),
        fb_(std::move(o.fb_)),
        ring_(std::exchange(o.ring_, false)) {}
  MessageRef& operator=(MessageRef&& o) noexcept {
    if (this != &o) {
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      ev_ = std::move(o.ev_);
      fb_ = std::move(o.fb_);
      ring_ = std::exchange(o.ring_, false);
    }
    return *this;
  }
  ~MessageRef() = default;

  /// The message bytes; valid while this handle (or a copy) lives.
  [[nodiscard]] const std::byte* data() const noexcept RINGKIT_LIFETIMEBOUND { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept RINGKIT_LIFETIMEBOUND {
    return {data_, size_};
  }
  [[nodiscard]] bool empty() const noexcept { return source() == MessageSource::none; }
  [[nodiscard]] explicit operator bool() const noexcept { return !empty(); }
  [[nodiscard]] MessageSource source() const noexcept {
    if (ring_) return MessageSource::ring;
    return ev_ ? MessageSource::pool : MessageSource::none;
  }
  /// The event behind a pool-held message (its type, size class, token), else nullptr.
  [[nodiscard]] const EventRef* event() const noexcept { return ev_ ? &ev_ : nullptr; }
  /// Drops this reference (the storage is freed with the last one).
  void reset() noexcept { *this = MessageRef(); }

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  EventRef ev_;   // pool-held messages
  FrozenBuf fb_;  // ring-held messages (one of the two owners is empty)
  bool ring_ = false;
};

/// A message being written in place (MessageStore::allocate()). Move-only, single-owner;
/// dropping it unpublished frees the storage.
class MessageWriter {
 public:
  MessageWriter() noexcept = default;
  /// The writable bytes (at least the size asked of allocate()); valid until publish() or
  /// destruction.
  [[nodiscard]] std::span<std::byte> writable() const noexcept RINGKIT_LIFETIMEBOUND {
    if (ev_) return ev_.writable();
    if (ring_) return fb_.writable();
    return {};
  }
  [[nodiscard]] MessageSource source() const noexcept {
    if (ring_) return MessageSource::ring;
    return ev_ ? MessageSource::pool : MessageSource::none;
  }
  /// Publishes the first `n` bytes of writable() as a read-only message. Errc::over_commit (and
  /// nothing published, the writer unchanged) if n exceeds writable().size();
  /// Errc::invalid_argument on an empty writer.
  [[nodiscard]] Result<MessageRef> publish(std::size_t n) && noexcept;

 private:
  friend class MessageStore;
  explicit MessageWriter(EventWriter w) noexcept : ev_(std::move(w)) {}
  explicit MessageWriter(FixedBuf b) noexcept : fb_(std::move(b)), ring_(true) {}
  EventWriter ev_;
  FixedBuf fb_;
  bool ring_ = false;
};

/// Options of MessageStore::create().
struct MessageStoreOptions {
  /// Slots per class; xxl_enabled decides whether a message the ring cannot hold may go to
  /// the heap.
  PoolConfig pools = PoolConfig::production();
  /// Ring allocator store for messages above 16 KiB (rounded up to whole pages); 0: none (such
  /// messages go to the XXL fallback or fail with too_large).
  std::size_t ring_bytes = std::size_t{4} << 20U;
  /// Mirrored when possible, so a large message may straddle the end of the ring.
  MirrorMode ring_mode = MirrorMode::automatic;
};

/// Counters of one store (the pools' per-class stats are in pools().stats()).
struct MessageStoreStats {
  std::uint64_t pool_messages = 0;  ///< messages placed in an event-pool slot (XS..XL)
  std::uint64_t ring_messages = 0;  ///< messages placed in the ring allocator
  std::uint64_t heap_messages = 0;  ///< messages placed in the XXL heap fallback
  std::uint64_t retryable_failures = 0;
  std::uint64_t final_failures = 0;
};

/// Picks a pool slot or a ring-allocator buffer by size (see the file comment).
class MessageStore {
 public:
  /// Errors: the pools' configuration errors, the ring store's mapping error (context() names
  /// the call).
  [[nodiscard]] static Result<MessageStore> create(const MessageStoreOptions& options);

  MessageStore() noexcept = default;

  /// Copies `bytes` once into the storage for its size and returns the handle. Errors:
  /// pool_exhausted / head_in_use (retryable), too_large / never_fits (final).
  [[nodiscard]] Result<MessageRef> copy(std::span<const std::byte> bytes,
                                        std::uint32_t type = 0) noexcept;
  /// Storage for a message of `n` bytes written in place; same errors as copy().
  [[nodiscard]] Result<MessageWriter> allocate(std::size_t n, std::uint32_t type = 0) noexcept;

  /// Largest message the store can take now or ever (pool XL, the ring's max, or XXL).
  [[nodiscard]] std::size_t max_message() const noexcept;
  [[nodiscard]] const MessageStoreStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const EventPools& pools() const noexcept { return pools_; }
  /// The ring allocator (nullptr when ring_bytes was 0).
  [[nodiscard]] const RingAllocator* ring() const noexcept { return has_ring_ ? &ring_ : nullptr; }
  [[nodiscard]] bool valid() const noexcept { return pools_.valid(); }

 private:
  [[nodiscard]] Errc count_failure(Errc e) noexcept;

  EventPools pools_;
  RingAllocator ring_;
  bool has_ring_ = false;
  MessageStoreStats stats_;
};

}  // namespace ringkit
