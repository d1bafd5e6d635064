// ringkit/byte_ring.hpp: single-producer/single-consumer byte ring with split halves.
//
// make_byte_ring(capacity) returns a ByteWriter and a ByteReader that share one page-aligned
// buffer (capacity: a power of two). Each half is single-owner; the two halves may live on
// different threads, and the storage is freed when both are gone. writable()/readable() return
// the free/filled bytes as at most two spans, in order, valid until the next commit()/consume()
// on the same half. io_slices() hands them to readv/writev as iovecs and commits/consumes what
// the call returned; it does not call back when there is nothing to offer (ring_full /
// ring_empty), so a zero-byte readv is never mistaken for EOF.
//
//   auto [writer, reader] = *ringkit::make_byte_ring(64 * 1024);
//   writer.io_slices([&](std::span<iovec> iov, std::size_t) {
//     return ::readv(fd, iov.data(), static_cast<int>(iov.size()));
//   });
//
// Layout (capacity C, counters are free-running 64-bit and wrap at 2^64):
//
//   shared core:  | tail (writer stores) | head (reader stores) | data*, C (immutable) |
//                   one cache line each -- no false sharing between the two counters
//   storage:      [ ....filled.... | ....free.... | ...filled... ]   index = counter & (C-1)
//                   ^head&(C-1)      ^tail&(C-1)
//
// Each half keeps its own counter in a private field and a cached copy of the other half's
// counter, reloaded (acquire) only when the cache says full/empty or a request does not fit in
// the cached space; publishing is one release store. The halves are also the mirrored ring's
// (ringkit/mirror_ring.hpp): one template, two layouts. Thread safety: single-owner per half.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include <sys/uio.h>

#include <ringkit/concepts.hpp>
#include <ringkit/detail/config.hpp>
#include <ringkit/error.hpp>
#include <ringkit/mirror.hpp>
#include <ringkit/result.hpp>
#include <ringkit/segments.hpp>

namespace ringkit {

/// Options of make_byte_ring().
struct ByteRingOptions {
  /// Starting value of both position counters. Counters are free-running and wrap at 2^64; a
  /// non-zero start resumes a stream's numbering (and lets tests exercise the wrap).
  std::uint64_t initial_position = 0;
};

namespace detail {

struct AlignedStorageDelete {
  void operator()(std::byte* p) const noexcept;
};
using AlignedStorage = std::unique_ptr<std::byte, AlignedStorageDelete>;

/// State shared by the two halves of a byte ring.
struct ByteRingCore {
  // Each counter has its own cache line: the writer stores tail, the reader stores head, and
  // each only loads the other's when its cached copy runs out.
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> tail{0};  // bytes ever written (+ start)
  alignas(kFalseSharingRange) std::atomic<std::uint64_t> head{0};  // bytes ever consumed (+ start)
  // Immutable after creation (own line, read-shared by both halves).
  alignas(kFalseSharingRange) std::byte* data = nullptr;
  std::size_t capacity = 0;
  bool mirrored = false;   // data()[i] aliases data()[i + capacity]
  AlignedStorage storage;  // plain rings
  MirrorRegion region;     // mirrored rings
  // Set once when a half is closed or destroyed; read rarely (end-of-stream checks).
  std::atomic<bool> writer_open{true};
  std::atomic<bool> reader_open{true};
};

/// Internal access to a half's storage for adapters that own both halves of one ring
/// (ringkit::net's DynamicBuffer): not API.
struct RingAccess;

/// Creates the shared core with plain page-aligned storage (mirror == nullptr) or a mirror
/// region per mirror's mode. Capacity must be a power of two (mirrored: >= the page size).
[[nodiscard]] Result<std::shared_ptr<ByteRingCore>> make_byte_ring_core(std::size_t capacity,
                                                                        std::uint64_t start,
                                                                        const MirrorMode* mode,
                                                                        const MirrorOptions& mo);

/// The producer half. `Mirror` selects the view type: two segments (ByteWriter) or one
/// contiguous span (MirrorByteWriter). Move-only; a moved-from, closed or default-constructed
/// writer has capacity() == 0 and offers nothing. Single-owner.
// alignas: the cached head and the private tail are written on every call; keeping the writer
// on its own cache line stops false sharing with a reader object placed next to it.
template <bool Mirror>
class alignas(kFalseSharingRange) BasicByteWriter {
  friend struct RingAccess;

 public:
  /// What writable() returns: MutableSegments, or one std::span<std::byte> for mirrored rings.
  using view_type = std::conditional_t<Mirror, std::span<std::byte>, MutableSegments>;

  BasicByteWriter() noexcept = default;
  /// Internal: attaches to a core made by make_byte_ring()/make_mirror_byte_ring().
  explicit BasicByteWriter(std::shared_ptr<ByteRingCore> core) noexcept
      : owner_(std::move(core)),
        core_(owner_.get()),
        data_(core_->data),
        cap_(core_->capacity),
        tail_(core_->tail.load(std::memory_order_relaxed)),  // (X3) before the halves are shared
        head_cache_(tail_),
        mirrored_(Mirror && core_->mirrored) {}
  BasicByteWriter(BasicByteWriter&& other) noexcept { take(other); }
  BasicByteWriter& operator=(BasicByteWriter&& other) noexcept {
    if (this != &other) {
      close();
      take(other);
    }
    return *this;
  }
  BasicByteWriter(const BasicByteWriter&) = delete;
  BasicByteWriter& operator=(const BasicByteWriter&) = delete;
  ~BasicByteWriter() { close(); }

  /// Ends the stream: everything committed so far stays readable, then the reader sees
  /// peer_alive() == false. Leaves this writer empty (capacity() == 0). Idempotent.
  void close() noexcept {
    if (core_ == nullptr) return;
    // (R3) end of stream after the last publish; pairs with (A3) in reader's peer_alive().
    core_->writer_open.store(false, std::memory_order_release);
    core_ = nullptr;
    data_ = nullptr;
    cap_ = 0;
    tail_ = head_cache_ = 0;
    mirrored_ = false;
    owner_.reset();
  }

  /// Total bytes the ring holds.
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  /// Bytes written so far plus the initial position (wraps at 2^64).
  [[nodiscard]] std::uint64_t position() const noexcept { return tail_; }
  /// Bytes currently filled; a hint, since the reader may consume concurrently.
  [[nodiscard]] std::size_t size_hint() const noexcept {
    if (cap_ == 0) return 0;
    // (X1) relaxed: a hint only, no bytes are read through it.
    return static_cast<std::size_t>(tail_ - core_->head.load(std::memory_order_relaxed));
  }
  /// True unless moved-from, closed or default-constructed.
  [[nodiscard]] bool valid() const noexcept { return cap_ != 0; }
  /// True when the storage is double-mapped (writable() is then all the free space in one span);
  /// false for plain rings and for mirrored rings that fell back (MirrorMode::automatic).
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  /// True until the reader half is closed or destroyed (writing more is then pointless).
  [[nodiscard]] bool peer_alive() const noexcept {
    // (A4) pairs with (R4) in the reader's close().
    return core_ != nullptr && core_->reader_open.load(std::memory_order_acquire);
  }

  /// The free space: at most two spans in order (ByteWriter), or one contiguous span
  /// (MirrorByteWriter; when !mirrored() it ends at the wrap: io_slices() offers both parts).
  /// Empty when full (would block). Invalidated by commit(), write(), io_slices(), moving.
  [[nodiscard]] view_type writable() noexcept RINGKIT_LIFETIMEBOUND {
    // A view must show everything: reload unless the ring already looks empty (then nothing
    // can be freed). The hot copy paths (write, commit) keep the cache-until-short rule.
    if (cap_ != 0 && tail_ - head_cache_ != 0) refresh();
    if constexpr (Mirror) {
      return free_segments().first();
    } else {
      return free_segments();
    }
  }

  /// The free space as Segments for both ring kinds: one span when mirrored(), else up to two
  /// (a mirrored ring in fallback shows both parts here). Generic code (adapters) uses this.
  [[nodiscard]] MutableSegments writable_segments() noexcept RINGKIT_LIFETIMEBOUND {
    // A view must show everything: reload unless the ring already looks empty (then nothing
    // can be freed). The hot copy paths (write, commit) keep the cache-until-short rule.
    if (cap_ != 0 && tail_ - head_cache_ != 0) refresh();
    return free_segments();
  }

  /// Publishes the first `n` bytes of the free space to the reader.
  /// Returns Errc::over_commit and publishes nothing if `n` exceeds the free space.
  [[nodiscard]] Errc commit(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    if (n > free_cached()) [[unlikely]] {
      if (n > cap_) return Errc::over_commit;
      refresh();
      if (n > free_cached()) return Errc::over_commit;
    }
    publish(n);
    return Errc::ok;
  }

  /// Copies as much of `src` as fits and publishes it; returns the bytes copied (0 when full).
  [[nodiscard]] std::size_t write(std::span<const std::byte> src) noexcept {
    std::size_t free = free_cached();
    if (free < src.size()) [[unlikely]] {
      if (cap_ == 0) return 0;
      refresh();
      free = free_cached();
    }
    const std::size_t n = free < src.size() ? free : src.size();
    if (n == 0) return 0;
    const std::size_t idx = static_cast<std::size_t>(tail_) & (cap_ - 1);
    if (Mirror && mirrored_) {
      copy_bytes(data_ + idx, src.data(), n);
    } else {
      const std::size_t first = n < cap_ - idx ? n : cap_ - idx;
      copy_bytes(data_ + idx, src.data(), first);
      if (n != first) [[unlikely]]
        std::memcpy(data_, src.data() + first,
                    n - first);  // not copy_bytes: g++ 12 -O3 misreports -Wstringop-overflow
    }
    publish(n);
    return n;
  }
  /// Same as write(span), for raw memory.
  [[nodiscard]] std::size_t write(const void* src, std::size_t len) noexcept {
    return write(std::span<const std::byte>(static_cast<const std::byte*>(src), len));
  }

  /// Offers the free space to `f(std::span<iovec> iov, std::size_t total)` and commits what `f`
  /// returns (e.g. readv's result); one iovec when mirrored(), else up to two. `f` is not called
  /// when the ring is full (ring_full). A negative return commits nothing (callback_error); more
  /// than `total` commits nothing (over_report). The cached head is refreshed first so `f` sees
  /// all the free space.
  template <slice_callback F>
  [[nodiscard]] SliceResult io_slices(F&& f) {
    if (cap_ == 0) return {0, Errc::ring_full};
    if (tail_ - head_cache_ != 0) refresh();  // an empty ring cannot gain space
    const MutableSegments seg = free_segments();
    if (seg.empty()) return {0, Errc::ring_full};
    iovec iov[2];
    const std::size_t count = seg.to_iovecs(std::span<iovec, 2>(iov));
    const std::size_t total = seg.bytes();
    const auto r = static_cast<std::ptrdiff_t>(std::invoke(f, std::span<iovec>(iov, count), total));
    if (r < 0) return {0, Errc::callback_error};
    if (static_cast<std::size_t>(r) > total) return {0, Errc::over_report};
    if (r > 0) publish(static_cast<std::size_t>(r));
    return {static_cast<std::size_t>(r), Errc::ok};
  }

 private:
  void take(BasicByteWriter& o) noexcept {
    owner_ = std::move(o.owner_);
    core_ = std::exchange(o.core_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    tail_ = std::exchange(o.tail_, 0);
    head_cache_ = std::exchange(o.head_cache_, 0);
    mirrored_ = std::exchange(o.mirrored_, false);
  }
  [[nodiscard]] std::size_t free_cached() const noexcept {
    return cap_ - static_cast<std::size_t>(tail_ - head_cache_);
  }
  void refresh() noexcept {
    // (A2) observe freed space; pairs with (R2) in the reader's give_back().
    head_cache_ = core_->head.load(std::memory_order_acquire);
  }
  void publish(std::size_t n) noexcept {
    tail_ += n;
    // (R1) publish the bytes; pairs with (A1) in the reader's refresh().
    core_->tail.store(tail_, std::memory_order_release);
  }
  [[nodiscard]] MutableSegments free_segments() const noexcept {
    const std::size_t free = free_cached();
    if (free == 0) return {};
    const std::size_t idx = static_cast<std::size_t>(tail_) & (cap_ - 1);
    if (Mirror && mirrored_) return {std::span<std::byte>(data_ + idx, free)};
    const std::size_t first = free < cap_ - idx ? free : cap_ - idx;
    return {std::span<std::byte>(data_ + idx, first), std::span<std::byte>(data_, free - first)};
  }

  std::shared_ptr<ByteRingCore> owner_;
  ByteRingCore* core_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t cap_ = 0;
  std::uint64_t tail_ = 0;        // private copy of core_->tail (only this half stores it)
  std::uint64_t head_cache_ = 0;  // last observed core_->head
  bool mirrored_ = false;
};

/// The consumer half; see BasicByteWriter. Move-only; a moved-from, closed or
/// default-constructed reader has capacity() == 0 and offers nothing. Single-owner.
// alignas: see BasicByteWriter.
template <bool Mirror>
class alignas(kFalseSharingRange) BasicByteReader {
  friend struct RingAccess;

 public:
  /// What readable() returns: ConstSegments, or one std::span<const std::byte> (mirrored rings).
  using view_type = std::conditional_t<Mirror, std::span<const std::byte>, ConstSegments>;

  BasicByteReader() noexcept = default;
  /// Internal: attaches to a core made by make_byte_ring()/make_mirror_byte_ring().
  explicit BasicByteReader(std::shared_ptr<ByteRingCore> core) noexcept
      : owner_(std::move(core)),
        core_(owner_.get()),
        data_(core_->data),
        cap_(core_->capacity),
        head_(core_->head.load(std::memory_order_relaxed)),  // (X4) before the halves are shared
        tail_cache_(head_),
        mirrored_(Mirror && core_->mirrored) {}
  BasicByteReader(BasicByteReader&& other) noexcept { take(other); }
  BasicByteReader& operator=(BasicByteReader&& other) noexcept {
    if (this != &other) {
      close();
      take(other);
    }
    return *this;
  }
  BasicByteReader(const BasicByteReader&) = delete;
  BasicByteReader& operator=(const BasicByteReader&) = delete;
  ~BasicByteReader() { close(); }

  /// Stops reading: the writer then sees peer_alive() == false. Leaves this reader empty
  /// (capacity() == 0). Idempotent.
  void close() noexcept {
    if (core_ == nullptr) return;
    // (R4) pairs with (A4) in the writer's peer_alive().
    core_->reader_open.store(false, std::memory_order_release);
    core_ = nullptr;
    data_ = nullptr;
    cap_ = 0;
    head_ = tail_cache_ = 0;
    mirrored_ = false;
    owner_.reset();
  }

  /// Total bytes the ring holds.
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  /// Bytes consumed so far plus the initial position (wraps at 2^64).
  [[nodiscard]] std::uint64_t position() const noexcept { return head_; }
  /// Bytes currently filled; a hint, since the writer may commit concurrently.
  [[nodiscard]] std::size_t size_hint() const noexcept {
    if (cap_ == 0) return 0;
    // (X2) relaxed: a hint only, no bytes are read through it.
    return static_cast<std::size_t>(core_->tail.load(std::memory_order_relaxed) - head_);
  }
  /// True unless moved-from, closed or default-constructed.
  [[nodiscard]] bool valid() const noexcept { return cap_ != 0; }
  /// True when the storage is double-mapped (readable() is then all the data in one span).
  [[nodiscard]] bool mirrored() const noexcept { return mirrored_; }
  /// True until the writer half is closed or destroyed. Everything the writer committed before
  /// closing is visible once this returns false, so a reader that sees !peer_alive() and then
  /// an empty ring has reached the end of the stream.
  [[nodiscard]] bool peer_alive() const noexcept {
    // (A3) pairs with (R3) in the writer's close().
    return core_ != nullptr && core_->writer_open.load(std::memory_order_acquire);
  }

  /// The filled bytes: at most two spans in order (ByteReader), or one contiguous span
  /// (MirrorByteReader; when !mirrored() it ends at the wrap: io_slices() offers both parts).
  /// Empty when empty (would block). Invalidated by consume(), read(), io_slices(), moving.
  [[nodiscard]] view_type readable() noexcept RINGKIT_LIFETIMEBOUND {
    // A view must show everything (a parser waiting for the rest of a frame keeps calling it):
    // reload unless the ring already looks full. read/consume keep the cache-until-short rule.
    if (cap_ != 0 && tail_cache_ - head_ != cap_) refresh();
    if constexpr (Mirror) {
      return filled_segments().first();
    } else {
      return filled_segments();
    }
  }

  /// The filled bytes as Segments for both ring kinds: one span when mirrored(), else up to
  /// two (a mirrored ring in fallback shows both parts here). Generic code uses this.
  [[nodiscard]] ConstSegments readable_segments() noexcept RINGKIT_LIFETIMEBOUND {
    // A view must show everything (a parser waiting for the rest of a frame keeps calling it):
    // reload unless the ring already looks full. read/consume keep the cache-until-short rule.
    if (cap_ != 0 && tail_cache_ - head_ != cap_) refresh();
    return filled_segments();
  }

  /// Releases the first `n` filled bytes to the writer.
  /// Returns Errc::over_consume and releases nothing if `n` exceeds the filled bytes.
  [[nodiscard]] Errc consume(std::size_t n) noexcept {
    if (n == 0) return Errc::ok;
    if (n > avail_cached()) [[unlikely]] {
      if (n > cap_) return Errc::over_consume;
      refresh();
      if (n > avail_cached()) return Errc::over_consume;
    }
    give_back(n);
    return Errc::ok;
  }

  /// Copies up to dst.size() bytes out and consumes them; returns the bytes copied (0 when empty).
  [[nodiscard]] std::size_t read(std::span<std::byte> dst) noexcept {
    const std::size_t n = copy_out(dst);
    if (n != 0) give_back(n);
    return n;
  }
  /// Same as read(span), for raw memory.
  [[nodiscard]] std::size_t read(void* dst, std::size_t len) noexcept {
    return read(std::span<std::byte>(static_cast<std::byte*>(dst), len));
  }
  /// Copies up to dst.size() bytes out without consuming them; returns the bytes copied.
  [[nodiscard]] std::size_t peek(std::span<std::byte> dst) noexcept { return copy_out(dst); }

  /// Offers the filled bytes to `f(std::span<iovec> iov, std::size_t total)` and consumes what
  /// `f` returns (e.g. writev's result); one iovec when mirrored(), else up to two. `f` is not
  /// called when the ring is empty (ring_empty). A negative return consumes nothing
  /// (callback_error); more than `total` consumes nothing (over_report). The cached tail is
  /// refreshed first so `f` sees all the data.
  template <slice_callback F>
  [[nodiscard]] SliceResult io_slices(F&& f) {
    if (cap_ == 0) return {0, Errc::ring_empty};
    if (tail_cache_ - head_ != cap_) refresh();  // a full ring cannot gain data
    const ConstSegments seg = filled_segments();
    if (seg.empty()) return {0, Errc::ring_empty};
    iovec iov[2];
    const std::size_t count = seg.to_iovecs(std::span<iovec, 2>(iov));
    const std::size_t total = seg.bytes();
    const auto r = static_cast<std::ptrdiff_t>(std::invoke(f, std::span<iovec>(iov, count), total));
    if (r < 0) return {0, Errc::callback_error};
    if (static_cast<std::size_t>(r) > total) return {0, Errc::over_report};
    if (r > 0) give_back(static_cast<std::size_t>(r));
    return {static_cast<std::size_t>(r), Errc::ok};
  }

 private:
  void take(BasicByteReader& o) noexcept {
    owner_ = std::move(o.owner_);
    core_ = std::exchange(o.core_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    head_ = std::exchange(o.head_, 0);
    tail_cache_ = std::exchange(o.tail_cache_, 0);
    mirrored_ = std::exchange(o.mirrored_, false);
  }
  [[nodiscard]] std::size_t avail_cached() const noexcept {
    return static_cast<std::size_t>(tail_cache_ - head_);
  }
  void refresh() noexcept {
    // (A1) observe published bytes; pairs with (R1) in the writer's publish().
    tail_cache_ = core_->tail.load(std::memory_order_acquire);
  }
  void give_back(std::size_t n) noexcept {
    head_ += n;
    // (R2) hand the space back; pairs with (A2) in the writer's refresh().
    core_->head.store(head_, std::memory_order_release);
  }
  [[nodiscard]] std::size_t copy_out(std::span<std::byte> dst) noexcept {
    std::size_t avail = avail_cached();
    if (avail < dst.size()) {
      if (cap_ == 0) return 0;
      refresh();
      avail = avail_cached();
    }
    const std::size_t n = avail < dst.size() ? avail : dst.size();
    if (n == 0) return 0;
    const std::size_t idx = static_cast<std::size_t>(head_) & (cap_ - 1);
    if (Mirror && mirrored_) {
      copy_bytes(dst.data(), data_ + idx, n);
    } else {
      const std::size_t first = n < cap_ - idx ? n : cap_ - idx;
      copy_bytes(dst.data(), data_ + idx, first);
      if (n != first) [[unlikely]]
        std::memcpy(dst.data() + first, data_, n - first);  // see write()
    }
    return n;
  }
  [[nodiscard]] ConstSegments filled_segments() const noexcept {
    const std::size_t avail = avail_cached();
    if (avail == 0) return {};
    const std::size_t idx = static_cast<std::size_t>(head_) & (cap_ - 1);
    if (Mirror && mirrored_) return {std::span<const std::byte>(data_ + idx, avail)};
    const std::size_t first = avail < cap_ - idx ? avail : cap_ - idx;
    return {std::span<const std::byte>(data_ + idx, first),
            std::span<const std::byte>(data_, avail - first)};
  }

  std::shared_ptr<ByteRingCore> owner_;
  ByteRingCore* core_ = nullptr;
  const std::byte* data_ = nullptr;
  std::size_t cap_ = 0;
  std::uint64_t head_ = 0;        // private copy of core_->head (only this half stores it)
  std::uint64_t tail_cache_ = 0;  // last observed core_->tail
  bool mirrored_ = false;
};

struct RingAccess {
  /// Start of the ring's storage (nullptr for an empty half).
  template <bool M>
  [[nodiscard]] static std::byte* storage(const BasicByteWriter<M>& w) noexcept {
    return w.data_;
  }
  template <bool M>
  [[nodiscard]] static const std::byte* storage(const BasicByteReader<M>& r) noexcept {
    return r.data_;
  }
};

}  // namespace detail

/// The producer half of a two-segment byte ring.
using ByteWriter = detail::BasicByteWriter<false>;
/// The consumer half of a two-segment byte ring.
using ByteReader = detail::BasicByteReader<false>;

/// The two halves of one byte ring: `auto [writer, reader] = *make_byte_ring(cap);`
struct ByteRing {
  ByteWriter writer;
  ByteReader reader;
};

/// Largest capacity make_byte_ring() accepts.
inline constexpr std::size_t kMaxByteRingCapacity = std::size_t{1} << 40;

/// Creates a byte ring of `capacity` bytes (a power of two, 1 .. kMaxByteRingCapacity) with
/// page-aligned storage. Errors: Errc::invalid_capacity; ENOMEM (system category).
[[nodiscard]] Result<ByteRing> make_byte_ring(std::size_t capacity,
                                              const ByteRingOptions& options = {});

static_assert(byte_writer<ByteWriter>);
static_assert(byte_reader<ByteReader>);

}  // namespace ringkit
